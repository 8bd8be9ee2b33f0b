//! The only code that touches the kernel: netlink, raw sockets, processes and the state
//! directory. [`SystemHost`] implements the agent's [`Host`] over them.

pub mod burst;
pub mod netlink;
pub mod port;
pub mod state;
pub mod system;
pub mod tools;

use crate::agent::{
    AddressRequest, Addresses, Assigned, Clock, Link, Links, Processes, Record, Records, Wire,
};
use crate::error::{Error, Result};
use crate::packet::MacAddr;
use crate::resident::Plan;
use crate::resolve::Route;
use crate::schedule::BurstPlan;
use netlink::Netlink;
use port::Port;
use state::StateDir;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long stop waits for a killed burst process to be gone.
const BURST_EXIT_PATIENCE: Duration = Duration::from_secs(5);

/// Ends the burst the state records, if any, and forgets it; true if one was recorded.
/// Needs no netlink, so stop can use it even when the parameters never validated.
pub fn end_recorded_burst(state: &StateDir) -> Result<bool> {
    let mut saved = state.load();
    let state::Resident::Recorded(recorded) = saved.resident else {
        return Ok(false);
    };
    burst::end(
        burst::BurstId {
            pid: recorded.pid,
            start_time: recorded.start_time,
        },
        BURST_EXIT_PATIENCE,
    )?;
    saved.resident = state::Resident::Absent;
    state.save(&saved)?;
    Ok(true)
}

/// For stop and monitor when the configured network namespace's name is gone: enters the
/// namespace this resource's resident process still runs in, if any; false when none does.
pub fn enter_resident_namespace(_state: &StateDir) -> Result<bool> {
    Ok(false)
}

pub struct SystemHost {
    netlink: Netlink,
    state: StateDir,
    port: Option<Port>,
    epoch: Instant,
    /// The managed address, to find a burst worker the state lost track of.
    ip: IpAddr,
}

impl SystemHost {
    fn port(&mut self, link: &Link) -> Result<&mut Port> {
        if self.port.is_none() {
            self.port = Some(Port::open(link)?);
        }
        Ok(self.port.as_mut().expect("opened above"))
    }

    pub fn new(state: StateDir, ip: IpAddr) -> Result<SystemHost> {
        Ok(SystemHost {
            netlink: Netlink::open()?,
            state,
            port: None,
            epoch: Instant::now(),
            ip,
        })
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

// Until the resident process lands, the plan runs on the burst worker: its rounds, interval,
// refreshes and defence on the plan's first adapter.
impl Processes for SystemHost {
    fn start_resident(&mut self, plan: &Plan) -> Result<()> {
        self.end_residents(BURST_EXIT_PATIENCE)?;
        let Some(link) = self.netlink.link_by_name(&plan.adapters[0])? else {
            return Err(Error::generic(format!(
                "{} vanished before its background process started",
                plan.adapters[0]
            )));
        };
        let burst = BurstPlan {
            rounds: plan.rounds,
            interval: plan.interval(),
            refresh_every: plan.refresh_every_ms.map(Duration::from_millis),
        };
        if burst.is_empty() {
            return Ok(());
        }
        let (state_dir, instance) = (
            self.state.dir().to_string_lossy().into_owned(),
            self.state.name().to_string(),
        );
        let worker = burst::WorkerArgs {
            ifindex: link.index,
            ip: plan.ip,
            plan: burst,
            defend: plan.defend,
            state_dir,
            instance,
        };
        // The worker takes over our open socket (see Port::adopt for why).
        let inherited = self
            .port
            .as_ref()
            .filter(|p| p.link_index() == link.index)
            .map(Port::raw_fd);
        let pending = burst::spawn(&worker, inherited)?;
        let mut state = self.state.load();
        state.resident = match pending.id {
            Some(id) => state::Resident::Recorded(state::ResidentId {
                pid: id.pid,
                start_time: id.start_time,
                exe: state::FileId { dev: 0, ino: 0 },
            }),
            None => state::Resident::Unknown,
        };
        // Recorded before it may send; if recording fails, dropping `pending` ends it.
        self.state.save(&state)?;
        pending.release()
    }

    fn update_resident(&mut self, _plan: &Plan) -> Result<bool> {
        Ok(false)
    }

    fn resident_running(&mut self) -> bool {
        match self.state.load().resident {
            state::Resident::Recorded(r) => burst::is_alive(burst::BurstId {
                pid: r.pid,
                start_time: r.start_time,
            }),
            _ => false,
        }
    }

    fn end_residents(&mut self, patience: Duration) -> Result<()> {
        let mut saved = self.state.load();
        if let state::Resident::Recorded(recorded) = saved.resident {
            burst::end(
                burst::BurstId {
                    pid: recorded.pid,
                    start_time: recorded.start_time,
                },
                patience,
            )?;
            saved.resident = state::Resident::Absent;
            self.state.save(&saved)?;
        }
        if saved.record.is_none() {
            // Nothing recorded at all: look for a worker the state no longer knows about.
            for stray in burst::find_workers(self.ip) {
                log::warn!(
                    "ending unrecorded burst process {} for {}",
                    stray.pid,
                    self.ip
                );
                burst::end(stray, patience)?;
            }
        }
        Ok(())
    }
}

impl Records for SystemHost {
    fn record(&mut self, record: &Record) -> Result<()> {
        let mut state = self.state.load();
        state.record = Some(record.clone());
        self.state.save(&state)
    }

    fn recorded(&mut self) -> Option<Record> {
        self.state.load().record
    }

    fn forget(&mut self) -> Result<()> {
        let mut state = self.state.load();
        state.record = None;
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
