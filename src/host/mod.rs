//! The only code that touches the kernel: netlink, raw sockets, processes and the state
//! directory. [`SystemHost`] implements the agent's [`Host`] over them.

mod addrscan;
pub mod attrd;
pub mod netlink;
pub mod node;
pub mod port;
pub mod process;
pub mod resident;
pub mod sockdiag;
pub mod state;
pub mod system;
pub mod tools;
pub mod trace;

use crate::agent::{
    AddressRequest, Addresses, Assigned, Clock, Connections, Link, Links, PrefixRoutes, Processes,
    Record, Records, Wire,
};
use crate::error::{Error, Result};
use crate::packet::MacAddr;
use crate::resident::{Launch, LogTargets, Plan, Request};
use crate::resolve::Route;
use log::{info, warn};
use netlink::Netlink;
use port::Port;
use process::{Ending, Wanted};
use state::{Resident, StateDir};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long ending a resident may take when the operation set no deadline (tools, tests).
const DEFAULT_PATIENCE: Duration = Duration::from_secs(5);
/// How long a running resident may take to answer on its control socket.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(2);

/// Ends every resident process of this resource and records that none runs. The recorded one
/// is ended if it is still ours; when the state cannot vouch (no state, garbled, or a record
/// that names another process), /proc is searched for unrecorded ones too. A resident that
/// may still send is an error; failing to write the state is not (stop must not fail over
/// bookkeeping).
fn end_residents_of(state: &StateDir, wanted: &Wanted, patience: Duration) -> Result<()> {
    let mut saved = end_unrecorded(state, wanted, patience)?;
    if saved.resident != Resident::Absent {
        saved.resident = Resident::Absent;
        if let Err(e) = state.save(&saved) {
            warn!("{}", e.reason);
        }
    }
    Ok(())
}

/// Ends every resident as `end_residents_of` does, without recording it; returns the state
/// as it was read.
fn end_unrecorded(state: &StateDir, wanted: &Wanted, patience: Duration) -> Result<state::State> {
    let saved = state.load();
    let vouched = match saved.resident {
        Resident::Absent => true,
        Resident::Unknown => false,
        Resident::Recorded(id) => match process::end(&id, wanted, true, patience)? {
            Ending::Gone | Ending::Ended => true,
            Ending::NotOurs => false,
        },
    };
    if !vouched {
        for stray in process::find(wanted) {
            warn!(
                "ending resident process {} of {}, which the state did not record",
                stray.pid, wanted.resource
            );
            process::end(&stray, wanted, false, patience)?;
        }
    }
    // A killed resident cannot remove its own control socket.
    state.remove_control_socket();
    Ok(saved)
}

/// For stop when the address does not even parse: ends this resource's residents, whatever
/// address they serve. Needs no netlink.
pub fn end_residents_without_address(state: &StateDir, patience: Duration) -> Result<()> {
    end_residents_of(state, &Wanted::new(state, None, true), patience)
}

/// For stop and monitor when the configured network namespace's name is gone (`ip netns
/// del` while a resident holds the namespace alive): enters the namespace this resource's
/// resident runs in, recorded or found by our state directory, so the operation acts there.
/// The namespace stays alive while this process is in it, also after the resident is ended.
/// False when no resident of ours runs anywhere.
pub fn enter_resident_namespace(state: &StateDir, ip: IpAddr) -> Result<bool> {
    let wanted = Wanted::new(state, Some(ip), false);
    let recorded = match state.load().resident {
        Resident::Recorded(id) if process::is_running(&id, &wanted) => Some(id.pid),
        _ => None,
    };
    let Some(pid) = recorded.or_else(|| process::find(&wanted).first().map(|r| r.pid)) else {
        return Ok(false);
    };
    let path = format!("/proc/{pid}/ns/net");
    let namespace = std::fs::File::open(&path).map_err(|e| {
        Error::kernel(
            format!("cannot open the network namespace of resident process {pid} ({path})"),
            e,
        )
    })?;
    // SAFETY: setns on a descriptor we hold open; floatip has no other thread yet.
    if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::kernel(
            format!("cannot enter the network namespace of resident process {pid}"),
            e,
        ));
    }
    info!("entered the network namespace of resident process {pid}");
    Ok(true)
}

pub struct SystemHost {
    netlink: Netlink,
    state: StateDir,
    port: Option<Port>,
    epoch: Instant,
    /// The managed address, to recognise this resource's residents.
    ip: IpAddr,
    /// When the operation's waits must end (see `with_deadline`).
    deadline: Option<Instant>,
    /// The network_namespace the operation runs in, recorded for `floatip status`.
    netns: Option<String>,
}

impl SystemHost {
    fn port(&mut self, link: &Link) -> Result<&mut Port> {
        if self.port.is_none() {
            self.port = Some(Port::open(link)?);
        }
        Ok(self.port.as_mut().expect("opened above"))
    }

    /// A host for one operation that began at `began` (the agent's clock counts from there).
    pub fn new(state: StateDir, ip: IpAddr, began: Instant) -> Result<SystemHost> {
        Ok(SystemHost {
            netlink: Netlink::open()?,
            state,
            port: None,
            epoch: began,
            ip,
            deadline: None,
            netns: None,
        })
    }

    /// The operation's deadline, for the waits the agent does not bound itself (ending an
    /// earlier resident just before a new one starts, a control request).
    pub fn with_deadline(mut self, deadline: Instant) -> SystemHost {
        self.deadline = Some(deadline);
        self.netlink.set_deadline(deadline);
        self
    }

    pub fn with_namespace(mut self, netns: Option<String>) -> SystemHost {
        self.netns = netns;
        self
    }

    fn patience(&self) -> Duration {
        self.deadline.map_or(DEFAULT_PATIENCE, |d| {
            d.saturating_duration_since(Instant::now())
        })
    }

    fn wanted(&self) -> Wanted {
        Wanted::new(&self.state, Some(self.ip), true)
    }
}

impl Links for SystemHost {
    fn link_by_name(&mut self, name: &str) -> Result<Option<Link>> {
        self.netlink.link_by_name(name)
    }

    fn link_by_index(&mut self, index: u32) -> Result<Option<Link>> {
        self.netlink.link_by_index(index)
    }

    fn routes(&mut self, ip: IpAddr) -> Result<Vec<Route>> {
        self.netlink.routes(ip)
    }

    fn isolate_arp(&mut self, link: &Link) -> Result<()> {
        system::isolate_arp(&link.name)
    }
    fn ignore_routes_when_link_down(&mut self, link: &Link, ip: IpAddr) -> Result<()> {
        system::ignore_routes_when_link_down(&link.name, ip.is_ipv6())
    }

    fn ensure_virtual_interface(
        &mut self,
        lower: &Link,
        name: &str,
        mac: MacAddr,
    ) -> Result<(Link, bool)> {
        match self.netlink.link_by_name(name)? {
            Some(existing) if existing.mac == Some(mac) => Ok((existing, false)),
            Some(_) => Err(Error::generic(format!(
                "interface {name} exists with another MAC than vmac {mac}; not touching it"
            ))),
            None => {
                self.netlink.add_macvlan(lower.index, name, mac)?;
                log::info!("created virtual interface {name} ({mac}) on {}", lower.name);
                let link = self.netlink.link_by_name(name)?.ok_or_else(|| {
                    Error::generic(format!("virtual interface {name} vanished after creation"))
                })?;
                Ok((link, true))
            }
        }
    }

    fn delete_virtual_interface(&mut self, name: &str, mac: MacAddr) -> Result<()> {
        match self.netlink.link_by_name(name)? {
            Some(link) if link.mac == Some(mac) => {
                self.netlink.delete_link(link.index, name)?;
                log::info!("removed virtual interface {name}");
                Ok(())
            }
            Some(_) => {
                log::warn!("interface {name} has another MAC than vmac {mac}; left alone");
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl PrefixRoutes for SystemHost {
    fn route_priority(&mut self, ifindex: u32, ip: IpAddr) -> Result<Option<u32>> {
        self.netlink.route_priority(ifindex, ip)
    }

    fn replace_address(&mut self, request: &AddressRequest) -> Result<()> {
        self.netlink.replace_address(request)
    }

    fn prefix_priorities(&mut self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Result<Vec<u32>> {
        self.netlink.prefix_priorities(ifindex, ip, prefix_len)
    }

    fn add_prefix_route(
        &mut self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
        metric: u32,
    ) -> Result<()> {
        self.netlink
            .add_prefix_route(ifindex, ip, prefix_len, metric)
    }

    fn delete_prefix_route(
        &mut self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
        metric: u32,
    ) -> Result<()> {
        self.netlink
            .delete_prefix_route(ifindex, ip, prefix_len, metric)
    }
}

impl Addresses for SystemHost {
    fn address(&mut self, ifindex: u32, ip: IpAddr) -> Result<Option<Assigned>> {
        self.netlink.address(ifindex, ip)
    }

    fn holders(&mut self, ip: IpAddr) -> Result<Vec<(u32, Assigned)>> {
        self.netlink.holders(ip)
    }

    fn add_address(&mut self, request: &AddressRequest) -> Result<()> {
        self.netlink.add_address(request)
    }

    fn delete_address(&mut self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Result<()> {
        self.netlink.delete_address(ifindex, ip, prefix_len)
    }

    fn address_label(&mut self, ip: Ipv6Addr) -> Result<Option<u32>> {
        self.netlink.address_label(ip)
    }

    fn add_address_label(&mut self, ip: Ipv6Addr, label: u32) -> Result<()> {
        self.netlink.add_address_label(ip, label)
    }

    fn delete_address_label(&mut self, ip: Ipv6Addr, label: u32) -> Result<()> {
        self.netlink.delete_address_label(ip, label)
    }
}

impl Wire for SystemHost {
    fn announce(&mut self, link: &Link, ip: IpAddr) -> Result<()> {
        self.port(link)?.round(ip)
    }

    fn refresh(&mut self, link: &Link, ip: IpAddr) -> Result<()> {
        let neighbours = self.netlink.neighbours(link.index, ip)?;
        self.port(link)?.refresh(ip, &neighbours)
    }

    fn probe(&mut self, link: &Link, ip: IpAddr, wait: Duration) -> Result<Option<MacAddr>> {
        let own = self.netlink.own_macs()?;
        let mut port = Port::open(link)?;
        let begin = Instant::now();
        // Two probes, the second a third of the way in, in case the first is lost.
        port.probe(ip)?;
        if let Some(theirs) = port.claimant(ip, begin + wait / 3, true, &own) {
            return Ok(Some(theirs));
        }
        port.probe(ip)?;
        Ok(port.claimant(ip, begin + wait, true, &own))
    }
}

impl Processes for SystemHost {
    fn start_resident(&mut self, plan: &Plan) -> Result<()> {
        // The resident refuses what it would refuse from anyone: say why here, not silently.
        plan.validate()
            .map_err(|why| Error::generic(format!("cannot start the background process: {why}")))?;
        let mut saved = end_unrecorded(&self.state, &self.wanted(), self.patience())?;
        // A start in progress: if this process dies before the resident is recorded, the
        // state cannot vouch, and the next operation searches for it.
        saved.resident = Resident::Unknown;
        self.state.save(&saved)?;
        let executor = process::executor_pidfd();
        // The agent's open socket goes to the resident (see Port::adopt for why).
        let socket = self.port.as_ref().map(|p| (p.link_index(), p.as_fd()));
        // Under Pacemaker the executor's parent is the cluster, found at once; by hand the
        // resident searches for it (see Launch::find_cluster).
        let cluster = executor
            .as_ref()
            .and_then(|_| process::this_nodes_cluster());
        // The cluster's default log file only under its executor (the cluster is found there).
        let log_targets = LogTargets::from_env(|name| std::env::var(name).ok(), executor.is_some());
        let attrd = attrd::Attrd::from_env();
        let launch = Launch {
            plan: plan.clone(),
            state_dir: self.state.dir().to_path_buf(),
            socket_ifindex: socket.map(|(index, _)| index),
            executor: executor.is_some(),
            cluster,
            find_cluster: executor.is_none(),
            crm_resource: std::env::var_os("FLOATIP_CRM_RESOURCE")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            attrd_updater: Some(attrd.updater),
            crm_node: Some(attrd.crm_node),
            debug: log::log_enabled!(log::Level::Debug),
            log: log_targets,
        };
        let args = process::resident_args(&plan.resource, plan.ip, self.state.identity());
        let pending = process::spawn(&launch, &args, socket.map(|(_, fd)| fd), executor)?;
        saved.resident = Resident::Recorded(pending.id);
        // Recorded before it may act; if recording fails, dropping `pending` ends it.
        self.state.save(&saved)?;
        log::debug!("started resident process {}", pending.id.pid);
        pending.release()
    }

    fn update_resident(&mut self, plan: &Plan) -> Result<bool> {
        let Resident::Recorded(id) = self.state.load().resident else {
            return Ok(false);
        };
        if !process::is_running(&id, &self.wanted()) {
            return Ok(false);
        }
        let request = Request::Plan(Box::new(plan.clone()));
        match process::ask(
            &self.state,
            &request,
            Some(id.pid),
            CONTROL_TIMEOUT.min(self.patience()),
        ) {
            Ok(reply) if reply.ok => Ok(true),
            Ok(reply) => {
                info!(
                    "resident process {} did not take the new plan ({}); replacing it",
                    id.pid,
                    reply.error.unwrap_or_default()
                );
                Ok(false)
            }
            Err(e) => {
                warn!("{}; replacing resident process {}", e.reason, id.pid);
                Ok(false)
            }
        }
    }

    fn resident_running(&mut self) -> bool {
        match self.state.load().resident {
            Resident::Recorded(id) => process::is_running(&id, &self.wanted()),
            _ => false,
        }
    }

    fn end_residents(&mut self, patience: Duration) -> Result<()> {
        end_residents_of(&self.state, &self.wanted(), patience)
    }
}

impl Connections for SystemHost {
    fn reset_connections(&mut self, ip: IpAddr) -> Result<usize> {
        let outcome = sockdiag::reset_connections(ip, self.patience())?;
        if outcome.unsupported > 0 {
            return Err(Error::generic(format!(
                "this kernel cannot reset TCP connections (SOCK_DESTROY, CONFIG_INET_DIAG_DESTROY): {} of {ip}'s were not reset",
                outcome.unsupported
            )));
        }
        Ok(outcome.reset)
    }

    fn recorded_clients(
        &mut self,
        name: &str,
        node: &str,
        patience: Duration,
    ) -> Result<Option<(String, u64)>> {
        let text = attrd::Attrd::from_env().read_own(name, node, patience)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(text.map(|t| (t, now)))
    }

    fn tickle(&mut self, pairs: &[(SocketAddr, SocketAddr)]) -> Result<usize> {
        sockdiag::send_tickles(pairs)
    }
}

impl Records for SystemHost {
    fn record(&mut self, record: &Record) -> Result<()> {
        let mut state = self.state.load();
        state.record = Some(record.clone());
        state.netns = self.netns.clone();
        self.state.save(&state)
    }

    fn recorded(&mut self) -> Option<Record> {
        self.state.load().record
    }

    fn forget(&mut self) -> Result<()> {
        let mut state = self.state.load();
        state.record = None;
        state.netns = None;
        self.state.save(&state)
    }
}

impl Clock for SystemHost {
    fn now(&mut self) -> Duration {
        self.epoch.elapsed()
    }

    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}
