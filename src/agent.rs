//! start / stop / monitor / validate decisions over a [`Host`], the seam between the agent's
//! logic and the kernel. Every observed state maps to an outcome here, in one place, so the
//! decisions are unit-tested with a fake host and run for real with the netlink one.

use crate::error::{Error, Result};
use crate::ocf::Status;
use crate::packet::MacAddr;
use crate::params::{
    broadcast_address, network_or_broadcast, virtual_interface_name, Lifetime, Meta, Params,
    DAD_ALLOWANCE_MS, TIMEOUT_MARGIN_MS,
};
use crate::resolve::{place, Route};
use crate::schedule::{BurstPlan, Sending};
use log::{debug, info, warn};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// An interface as the agent needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mac: Option<MacAddr>,
    /// IFF_UP: administratively up.
    pub up: bool,
    /// IFF_LOWER_UP: the cable (or veth peer) is there.
    pub carrier: bool,
    /// Ethernet without IFF_NOARP: announcements make sense.
    pub announces: bool,
}

/// One address found on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub prefix_len: u8,
    pub tentative: bool,
    pub dadfailed: bool,
    /// Time since the kernel last updated the address (IFA_CACHEINFO), when known.
    pub age: Option<Duration>,
}

/// How long an address may stay tentative before monitor calls it a failure: DAD takes
/// DupAddrDetectTransmits x RetransTimer (1 s by default) after a random delay of up to 1 s.
pub const DAD_GRACE: Duration = Duration::from_secs(5);

/// Everything needed to add the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRequest {
    pub ifindex: u32,
    pub ip: IpAddr,
    pub prefix_len: u8,
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    pub nodad: bool,
    pub noprefixroute: bool,
    pub preferred_lft: Lifetime,
}

/// What start recorded, so stop and monitor find the address when the route that placed it
/// is gone (e.g. noprefixroute and the base address removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub ip: IpAddr,
    pub nic: String,
    pub prefix_len: u8,
}

/// The kernel and process operations the agent needs. Implemented by `host::SystemHost`.
pub trait Host {
    fn link_by_name(&mut self, name: &str) -> Result<Option<Link>>;
    fn link_by_index(&mut self, index: u32) -> Result<Option<Link>>;
    /// Routes of the main table in the address family of `ip`.
    fn routes(&mut self, ip: IpAddr) -> Result<Vec<Route>>;
    /// The address on this interface only (the cost must not grow with other interfaces).
    fn address(&mut self, ifindex: u32, ip: IpAddr) -> Result<Option<Assigned>>;
    /// Any interface that holds `ip` (used only on the rare paths: start finding a conflict).
    fn interface_holding(&mut self, ip: IpAddr) -> Result<Option<u32>>;
    fn add_address(&mut self, request: &AddressRequest) -> Result<()>;
    fn delete_address(&mut self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Result<()>;
    /// Sends one announcement round for `ip` from `link`.
    fn announce(&mut self, link: &Link, ip: IpAddr) -> Result<()>;
    /// Sends a refresh round: the announcement round plus a unicast answer to every neighbour
    /// this node knows on the link.
    fn refresh(&mut self, link: &Link, ip: IpAddr) -> Result<()>;
    /// Sends duplicate-address probes for `ip` and listens for `wait`: the MAC of another
    /// machine that claims it, if any. Failing to send is an error, not "nobody answered".
    fn probe(&mut self, link: &Link, ip: IpAddr, wait: Duration) -> Result<Option<MacAddr>>;
    /// Starts a detached process that follows `plan` (and defends the address if asked).
    fn spawn_burst(&mut self, link: &Link, ip: IpAddr, plan: BurstPlan, defend: bool)
        -> Result<()>;
    /// Whether this resource's background process is alive.
    fn burst_running(&mut self) -> bool;
    /// The macvlan `name` on `lower` with `mac`, created (up) if missing.
    fn ensure_virtual_interface(&mut self, lower: &Link, name: &str, mac: MacAddr) -> Result<Link>;
    /// Makes an interface speak ARP only for its own addresses (see host::system::isolate_arp).
    fn isolate_arp(&mut self, link: &Link) -> Result<()>;
    /// Removes the macvlan `name` if it is ours (has `mac`); a missing one is fine.
    fn delete_virtual_interface(&mut self, name: &str, mac: MacAddr) -> Result<()>;
    /// Ends this resource's background burst, if one runs, and waits until it is gone. With
    /// `lost_track_of`, also any unrecorded burst for that address in this network namespace
    /// when the state no longer records one (the state directory was removed or garbled).
    fn end_burst(&mut self, lost_track_of: Option<IpAddr>) -> Result<()>;
    fn record(&mut self, record: &Record) -> Result<()>;
    fn recorded(&mut self) -> Option<Record>;
    fn forget(&mut self) -> Result<()>;
    fn sleep(&mut self, duration: Duration);
}

/// Where the managed address lives on this node.
#[derive(Debug, Clone)]
struct Target {
    link: Link,
    prefix_len: u8,
}

/// A configured nic that does not exist is something this node lacks (OCF_ERR_INSTALLED).
fn configured_link<H: Host>(host: &mut H, nic: &str) -> Result<Link> {
    host.link_by_name(nic)?
        .ok_or_else(|| Error::installed(format!("nic {nic} does not exist on this node")))
}

/// Places the address: on the configured interface, on the first usable standby adapter,
/// or on the interface the routes point to.
fn locate<H: Host>(host: &mut H, p: &Params) -> Result<Target> {
    match p.nics.as_slice() {
        [] => place_by_routes(host, p),
        [nic] => {
            let link = configured_link(host, nic)?;
            place_on(host, p, link)
        }
        nics => choose_standby(host, p, nics),
    }
}

/// A configured interface: the prefix is the configured one or its covering route's.
fn place_on<H: Host>(host: &mut H, p: &Params, link: Link) -> Result<Target> {
    if let Some(prefix_len) = p.prefix {
        return Ok(Target { link, prefix_len });
    }
    let routes = host.routes(p.ip)?;
    let placement = place(p.ip, Some(link.index), None, &routes).map_err(|e| {
        Error::new(
            e.status,
            e.reason.replace("on nic", &format!("on {}", link.name)),
        )
    })?;
    Ok(Target {
        link,
        prefix_len: placement.prefix_len,
    })
}

fn place_by_routes<H: Host>(host: &mut H, p: &Params) -> Result<Target> {
    let routes = host.routes(p.ip)?;
    let placement = place(p.ip, None, p.prefix, &routes)?;
    let link = host.link_by_index(placement.ifindex)?.ok_or_else(|| {
        Error::generic(format!(
            "interface {} vanished while placing {}",
            placement.ifindex, p.ip
        ))
    })?;
    Ok(Target {
        link,
        prefix_len: placement.prefix_len,
    })
}

/// Standby adapters: the first that exists, is up with carrier and is on the address's subnet.
fn choose_standby<H: Host>(host: &mut H, p: &Params, nics: &[String]) -> Result<Target> {
    let mut why = Vec::new();
    let mut any_exists = false;
    for name in nics {
        let Some(link) = host.link_by_name(name)? else {
            why.push(format!("{name} does not exist"));
            continue;
        };
        any_exists = true;
        if let Some(problem) = link_problem(&link) {
            why.push(problem);
            continue;
        }
        match place_on(host, p, link) {
            Ok(target) => {
                info!("using {} of nic {}", target.link.name, nics.join(","));
                return Ok(target);
            }
            Err(e) => why.push(e.reason),
        }
    }
    let reason = format!(
        "no usable interface in nic {}: {}",
        nics.join(","),
        why.join("; ")
    );
    Err(if any_exists {
        Error::generic(reason)
    } else {
        Error::installed(reason)
    })
}

/// For stop and monitor: where the managed address is. What start recorded comes first; then
/// the virtual interface, the standby adapter holding it, or the placement.
fn locate_managed<H: Host>(host: &mut H, p: &Params) -> Result<Option<Target>> {
    let virtual_name = p.vmac.map(|_| virtual_interface_name(p.ip));
    let recorded = host.recorded().filter(|r| {
        r.ip == p.ip
            && (virtual_name.as_deref() == Some(r.nic.as_str())
                || p.nics.is_empty()
                || p.nics.contains(&r.nic))
    });
    if let Some(r) = recorded {
        if let Some(link) = host.link_by_name(&r.nic)? {
            return Ok(Some(Target {
                link,
                prefix_len: p.prefix.unwrap_or(r.prefix_len),
            }));
        }
    }
    if let Some(name) = virtual_name {
        return holding_target(host, p, &[name]);
    }
    if p.nics.len() > 1 {
        return holding_target(host, p, &p.nics);
    }
    match locate(host, p) {
        Ok(target) => Ok(Some(target)),
        Err(e) => {
            debug!("cannot place {}: {}", p.ip, e.reason);
            Ok(None)
        }
    }
}

/// The first of these interfaces that holds the address.
fn holding_target<H: Host>(host: &mut H, p: &Params, names: &[String]) -> Result<Option<Target>> {
    for name in names {
        if let Some(link) = host.link_by_name(name)? {
            if let Some(a) = host.address(link.index, p.ip)? {
                return Ok(Some(Target {
                    link,
                    prefix_len: p.prefix.unwrap_or(a.prefix_len),
                }));
            }
        }
    }
    Ok(None)
}

fn link_problem(link: &Link) -> Option<String> {
    if !link.up {
        Some(format!(
            "link down on NIC {} (administratively down)",
            link.name
        ))
    } else if !link.carrier {
        Some(format!("link down on NIC {} (no carrier)", link.name))
    } else {
        None
    }
}

/// The kernel label: `nic:label`.
fn kernel_label(p: &Params, link: &Link) -> Result<Option<String>> {
    let Some(label) = &p.label else {
        return Ok(None);
    };
    let full = format!("{}:{label}", link.name);
    if full.len() > crate::params::IFNAME_MAX {
        return Err(Error::configured(format!(
            "invalid iflabel \"{label}\": {full} exceeds the kernel's 15-character label limit"
        )));
    }
    Ok(Some(full))
}

/// With a prefix found from the routes, the address may turn out to be its subnet's network
/// or broadcast address, which the parameters alone could not show.
fn check_host_address(p: &Params, prefix_len: u8) -> Result<()> {
    if let IpAddr::V4(v4) = p.ip {
        if let Some(why) = network_or_broadcast(v4, prefix_len) {
            return Err(Error::configured(format!("invalid ip \"{v4}\": {why}")));
        }
    }
    Ok(())
}

/// validate-all beyond syntax: the node can place the address (check level 10, the default).
pub fn validate_environment<H: Host>(host: &mut H, p: &Params) -> Result<()> {
    let target = locate(host, p)?;
    check_host_address(p, target.prefix_len)?;
    kernel_label(p, &target.link)?;
    Ok(())
}

pub fn start<H: Host>(host: &mut H, p: &Params, meta: &Meta) -> Result<()> {
    let placed = locate(host, p)?;
    check_host_address(p, placed.prefix_len)?;
    if p.check_link_status {
        if let Some(problem) = link_problem(&placed.link) {
            return Err(Error::generic(problem));
        }
    }
    // Where the address lives apart from the interface that carries it on the segment (a
    // macvlan, or one adapter among several), the others must not answer ARP for it.
    if p.ip.is_ipv4() && p.vmac.is_some() {
        host.isolate_arp(&placed.link)?;
    }
    if p.ip.is_ipv4() && p.nics.len() > 1 {
        for name in &p.nics {
            if let Some(adapter) = host.link_by_name(name)? {
                host.isolate_arp(&adapter)?;
            }
        }
    }
    let Some(mac) = p.vmac else {
        return start_on(host, p, meta, &placed);
    };
    // vmac: the address lives on a macvlan of the placed interface, with the virtual MAC.
    let name = virtual_interface_name(p.ip);
    let link = host.ensure_virtual_interface(&placed.link, &name, mac)?;
    let target = Target {
        link,
        prefix_len: placed.prefix_len,
    };
    let started = start_on(host, p, meta, &target);
    if started.is_err() {
        // Nothing half-configured: no virtual interface without its address.
        let _ = host.delete_virtual_interface(&name, mac);
    }
    started
}

fn start_on<H: Host>(host: &mut H, p: &Params, meta: &Meta, target: &Target) -> Result<()> {
    let link = &target.link;
    let label = kernel_label(p, link)?;
    match host.address(link.index, p.ip)? {
        Some(a) if a.prefix_len == target.prefix_len && !a.dadfailed => {
            info!(
                "{}/{} is already on {}; announcing it again",
                p.ip, a.prefix_len, link.name
            );
        }
        Some(a) if a.prefix_len != target.prefix_len => {
            return Err(Error::generic(format!(
                "{} is already on {} as /{}, not /{}: it is not this resource's address, so it is left alone",
                p.ip, link.name, a.prefix_len, target.prefix_len
            )));
        }
        found => {
            if found.is_some() {
                // Our own address that failed DAD earlier: try again from scratch.
                host.delete_address(link.index, p.ip, target.prefix_len)?;
            } else if let Some(other) = host.interface_holding(p.ip)? {
                let name = host
                    .link_by_index(other)?
                    .map(|l| l.name)
                    .unwrap_or_else(|| other.to_string());
                if !(p.lvs_support && name == "lo") {
                    return Err(Error::generic(format!(
                        "{} is already assigned to {name}; not adding it to {} as well",
                        p.ip, link.name
                    )));
                }
                // lvs_support parks the address on lo at stop; take it back.
                host.delete_address(other, p.ip, 32)?;
            }
            if p.probe_before_start {
                if let Some(theirs) = other_owner(host, p, link)? {
                    return Err(Error::generic(format!(
                        "{} is already in use by {theirs} (it answered a duplicate-address probe on {}); not taking it",
                        p.ip, link.name
                    )));
                }
            }
            add(host, p, meta, target, label)?;
        }
    }
    let recorded = host.record(&Record {
        ip: p.ip,
        nic: link.name.clone(),
        prefix_len: target.prefix_len,
    });
    if let Err(e) =
        recorded.and_then(|()| announce_burst(host, p, link, p.announce.count, Sending::Round))
    {
        // Nothing half-configured: an address nobody was told about is taken back.
        let _ = host.delete_address(link.index, p.ip, target.prefix_len);
        let _ = host.forget();
        return Err(e);
    }
    Ok(())
}

fn add<H: Host>(
    host: &mut H,
    p: &Params,
    meta: &Meta,
    target: &Target,
    label: Option<String>,
) -> Result<()> {
    let link = &target.link;
    let broadcast = match p.ip {
        IpAddr::V4(v4) => broadcast_address(v4, target.prefix_len, p.broadcast),
        IpAddr::V6(_) => None,
    };
    host.add_address(&AddressRequest {
        ifindex: link.index,
        ip: p.ip,
        prefix_len: target.prefix_len,
        label,
        broadcast,
        nodad: p.nodad,
        noprefixroute: p.noprefixroute,
        preferred_lft: p.preferred_lft,
    })?;
    info!("added {}/{} to {}", p.ip, target.prefix_len, link.name);
    if p.is_ipv6() && !p.nodad {
        wait_for_dad(host, p, meta, target)?;
    }
    // Re-check after adding, as IPaddr2 does: a racing delete must not pass as success.
    match host.address(link.index, p.ip)? {
        Some(a) if !a.dadfailed => Ok(()),
        _ => Err(Error::generic(format!(
            "{} vanished from {} right after it was added",
            p.ip, link.name
        ))),
    }
}

const DAD_POLL: Duration = Duration::from_millis(10);

fn wait_for_dad<H: Host>(host: &mut H, p: &Params, meta: &Meta, target: &Target) -> Result<()> {
    let link = &target.link;
    let budget_ms = meta
        .timeout_ms
        .saturating_sub(TIMEOUT_MARGIN_MS)
        .max(DAD_ALLOWANCE_MS);
    let polls = budget_ms / DAD_POLL.as_millis() as u64;
    for _ in 0..polls {
        match host.address(link.index, p.ip)? {
            Some(a) if a.dadfailed => {
                let _ = host.delete_address(link.index, p.ip, target.prefix_len);
                return Err(Error::generic(format!(
                    "duplicate address detected: another node on {}'s link already uses {}",
                    link.name, p.ip
                )));
            }
            Some(a) if !a.tentative => return Ok(()),
            Some(_) => host.sleep(DAD_POLL),
            None => {
                return Err(Error::generic(format!(
                    "{} vanished from {} during DAD",
                    p.ip, link.name
                )))
            }
        }
    }
    let _ = host.delete_address(link.index, p.ip, target.prefix_len);
    Err(Error::generic(format!(
        "duplicate address detection for {} did not finish within {budget_ms}ms",
        p.ip
    )))
}

/// Rounds sent when another machine is seen claiming the address (a short burst).
pub const DEFENCE_ROUNDS: u32 = 3;

/// Sends `count` rounds: the first now (of kind `first`), the rest from a background process
/// or in the foreground, and leaves the background process refreshing and defending the
/// address if asked. Any earlier burst of this resource is ended first, so two never overlap.
fn announce_burst<H: Host>(
    host: &mut H,
    p: &Params,
    link: &Link,
    count: u32,
    first: Sending,
) -> Result<()> {
    if !link.announces {
        info!(
            "{} does not use ARP/ND; {} is not announced",
            link.name, p.ip
        );
        return Ok(());
    }
    host.end_burst(None)?;
    match first {
        Sending::Round => host.announce(link, p.ip)?,
        Sending::Refresh => host.refresh(link, p.ip)?,
    }
    info!("announced {} on {} (round 1 of {count})", p.ip, link.name);
    let rest = count.saturating_sub(1);
    let mut plan = background_plan(p, rest);
    let interval = plan.interval;
    if !p.announce.background {
        for _ in 0..rest {
            host.sleep(interval);
            host.announce(link, p.ip)?;
        }
        debug!("sent {count} rounds for {} in the foreground", p.ip);
        plan.rounds = 0;
    }
    if plan.is_empty() {
        return Ok(());
    }
    host.spawn_burst(link, p.ip, plan, p.announce.defend)
}

/// What the background process does: `rounds` more rounds, then refreshes if asked.
fn background_plan(p: &Params, rounds: u32) -> BurstPlan {
    BurstPlan {
        rounds,
        interval: Duration::from_millis(u64::from(p.announce.interval_ms)),
        refresh_every: (p.announce.refresh_interval_s > 0)
            .then(|| Duration::from_secs(u64::from(p.announce.refresh_interval_s))),
    }
}

/// Probes for another owner; the reason names its MAC.
fn other_owner<H: Host>(host: &mut H, p: &Params, link: &Link) -> Result<Option<MacAddr>> {
    if !link.announces {
        return Ok(None);
    }
    host.probe(
        link,
        p.ip,
        Duration::from_millis(u64::from(p.announce.probe_wait_ms)),
    )
}

fn mac_of(link: &Link) -> String {
    link.mac
        .map_or_else(|| "no MAC".to_string(), |m| m.to_string())
}

pub fn stop<H: Host>(host: &mut H, p: &Params) -> Result<()> {
    // Before the address goes: after stop returns, this node must never announce it again.
    // A burst that cannot be ended is no reason to fail (and get fenced): it re-checks the
    // address before every round, and the address is about to go.
    if let Err(e) = host.end_burst(Some(p.ip)) {
        warn!("{}", e.reason);
    }
    let Some(target) = locate_managed(host, p)? else {
        info!("{} is not placed on this node; nothing to stop", p.ip);
        if let Some(mac) = p.vmac {
            host.delete_virtual_interface(&virtual_interface_name(p.ip), mac)?;
        }
        forget_quietly(host);
        return Ok(());
    };
    let link = &target.link;
    match host.address(link.index, p.ip)? {
        None => info!("{} is not on {}; already stopped", p.ip, link.name),
        Some(a) if a.prefix_len != target.prefix_len => {
            warn!(
                "{} is on {} as /{}, not /{}: not this resource's address, left alone",
                p.ip, link.name, a.prefix_len, target.prefix_len
            );
        }
        Some(_) => {
            host.delete_address(link.index, p.ip, target.prefix_len)?;
            if host
                .address(link.index, p.ip)?
                .is_some_and(|a| a.prefix_len == target.prefix_len)
            {
                return Err(Error::generic(format!(
                    "{} is still on {} after deleting it",
                    p.ip, link.name
                )));
            }
            info!("removed {}/{} from {}", p.ip, target.prefix_len, link.name);
        }
    }
    if p.lvs_support {
        park_on_loopback(host, p)?;
    }
    if let Some(mac) = p.vmac {
        host.delete_virtual_interface(&virtual_interface_name(p.ip), mac)?;
    }
    forget_quietly(host);
    Ok(())
}

/// The record only helps later operations find the address; failing to drop it must not fail
/// a stop whose address is gone.
fn forget_quietly<H: Host>(host: &mut H) {
    if let Err(e) = host.forget() {
        warn!("{}", e.reason);
    }
}

/// lvs_support: keep the address on lo as /32 so LVS direct-routing traffic is still accepted.
fn park_on_loopback<H: Host>(host: &mut H, p: &Params) -> Result<()> {
    let lo = host
        .link_by_name("lo")?
        .ok_or_else(|| Error::generic("lvs_support: no loopback interface"))?;
    if host.address(lo.index, p.ip)?.is_none() {
        host.add_address(&AddressRequest {
            ifindex: lo.index,
            ip: p.ip,
            prefix_len: 32,
            label: None,
            broadcast: None,
            nodad: true,
            noprefixroute: false,
            preferred_lft: Lifetime::Forever,
        })?;
        info!("lvs_support: kept {}/32 on lo", p.ip);
    }
    Ok(())
}

/// monitor: Success or NotRunning, or an error for a failed resource.
/// monitor: Success or NotRunning, or an error for a failed resource. `deep` (check level 10)
/// also probes the link for another machine answering for the address.
pub fn monitor<H: Host>(host: &mut H, p: &Params, meta: &Meta, deep: bool) -> Result<Status> {
    let Some(target) = locate_managed(host, p)? else {
        return Ok(Status::NotRunning);
    };
    let link = &target.link;
    let assigned = match host.address(link.index, p.ip)? {
        None => return Ok(Status::NotRunning),
        Some(a) if a.prefix_len != target.prefix_len => {
            warn!(
                "{} is on {} as /{}, expected /{}",
                p.ip, link.name, a.prefix_len, target.prefix_len
            );
            return Ok(Status::NotRunning);
        }
        Some(a) => a,
    };
    if assigned.dadfailed {
        return Err(Error::generic(format!(
            "duplicate address detected: {} on {} failed DAD",
            p.ip, link.name
        )));
    }
    if assigned.tentative && assigned.age.is_none_or(|age| age < DAD_GRACE) {
        // DAD restarts after a link flap; a short window of it is normal.
        info!("{} on {} is tentative (DAD in progress)", p.ip, link.name);
    } else if assigned.tentative {
        return Err(Error::generic(format!(
            "{} on {} has been tentative for over {}s: DAD does not complete",
            p.ip,
            link.name,
            DAD_GRACE.as_secs()
        )));
    }
    if p.check_link_status {
        if let Some(problem) = link_problem(link) {
            return Err(Error::generic(problem));
        }
    }
    if deep {
        if let Some(theirs) = other_owner(host, p, link)? {
            warn!(
                "conflict: {} is claimed by {theirs} while this node ({}) holds it on {}",
                p.ip,
                mac_of(link),
                link.name
            );
            if p.announce.defend {
                announce_burst(host, p, link, DEFENCE_ROUNDS, Sending::Refresh)?;
            }
            return Err(Error::generic(format!(
                "{} is also answered by {theirs} on {}'s link (this node is {}){}",
                p.ip,
                link.name,
                mac_of(link),
                if p.announce.defend {
                    "; announced again"
                } else {
                    ""
                }
            )));
        }
    }
    let recurring = meta.interval_ms > 0;
    if recurring && p.announce.refresh_count > 0 {
        announce_burst(host, p, link, p.announce.refresh_count, Sending::Refresh)?;
    } else if recurring
        && p.announce.refresh_interval_s > 0
        && link.announces
        && !host.burst_running()
    {
        // The refresher should live as long as the resource; bring it back if it died.
        warn!(
            "the refresh process for {} was not running; restarting it",
            p.ip
        );
        host.spawn_burst(link, p.ip, background_plan(p, 0), p.announce.defend)?;
    }
    Ok(Status::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{parse, virtual_interface_name, RawParams};
    use crate::resolve::RouteKind;
    use std::collections::BTreeMap;

    /// A host in memory: links, addresses, and a log of what was sent and spawned.
    #[derive(Default)]
    struct FakeHost {
        links: Vec<Link>,
        routes: Vec<Route>,
        addresses: BTreeMap<(u32, IpAddr), Assigned>,
        rounds_sent: u32,
        bursts_spawned: Vec<u32>,
        bursts_ended: u32,
        record: Option<Record>,
        dad_polls_until_done: u32,
        dad_fails: bool,
        end_burst_fails: bool,
        refreshes_sent: u32,
        other_owner: Option<MacAddr>,
        probes: u32,
        burst_alive: bool,
    }

    impl FakeHost {
        fn lab() -> FakeHost {
            let eth0 = Link {
                index: 2,
                name: "eth0".into(),
                mac: Some(MacAddr(2, 0, 0, 0, 0, 1)),
                up: true,
                carrier: true,
                announces: true,
            };
            FakeHost {
                links: vec![
                    Link {
                        index: 1,
                        name: "lo".into(),
                        mac: None,
                        announces: false,
                        ..eth0.clone()
                    },
                    eth0,
                ],
                routes: vec![Route {
                    destination: "198.51.100.0".parse().unwrap(),
                    prefix_len: 24,
                    ifindex: Some(2),
                    kind: RouteKind::Unicast,
                    link_scope: true,
                    has_gateway: false,
                }],
                ..FakeHost::default()
            }
        }
    }

    impl Host for FakeHost {
        fn link_by_name(&mut self, name: &str) -> Result<Option<Link>> {
            Ok(self.links.iter().find(|l| l.name == name).cloned())
        }
        fn link_by_index(&mut self, index: u32) -> Result<Option<Link>> {
            Ok(self.links.iter().find(|l| l.index == index).cloned())
        }
        fn routes(&mut self, _ip: IpAddr) -> Result<Vec<Route>> {
            Ok(self.routes.clone())
        }
        fn address(&mut self, ifindex: u32, ip: IpAddr) -> Result<Option<Assigned>> {
            let entry = self.addresses.get_mut(&(ifindex, ip));
            if let Some(a) = entry {
                if a.tentative {
                    if self.dad_polls_until_done == 0 {
                        a.tentative = false;
                        a.dadfailed = self.dad_fails;
                    } else {
                        self.dad_polls_until_done -= 1;
                    }
                }
                return Ok(Some(*a));
            }
            Ok(None)
        }
        fn interface_holding(&mut self, ip: IpAddr) -> Result<Option<u32>> {
            Ok(self
                .addresses
                .keys()
                .find(|(_, a)| *a == ip)
                .map(|(i, _)| *i))
        }
        fn add_address(&mut self, r: &AddressRequest) -> Result<()> {
            let tentative = r.ip.is_ipv6() && !r.nodad;
            self.addresses.insert(
                (r.ifindex, r.ip),
                Assigned {
                    prefix_len: r.prefix_len,
                    tentative,
                    dadfailed: false,
                    age: None,
                },
            );
            Ok(())
        }
        fn delete_address(&mut self, ifindex: u32, ip: IpAddr, _prefix_len: u8) -> Result<()> {
            self.addresses.remove(&(ifindex, ip));
            Ok(())
        }
        fn announce(&mut self, _link: &Link, _ip: IpAddr) -> Result<()> {
            self.rounds_sent += 1;
            Ok(())
        }
        fn refresh(&mut self, _link: &Link, _ip: IpAddr) -> Result<()> {
            self.rounds_sent += 1;
            self.refreshes_sent += 1;
            Ok(())
        }
        fn probe(&mut self, _link: &Link, _ip: IpAddr, _wait: Duration) -> Result<Option<MacAddr>> {
            self.probes += 1;
            Ok(self.other_owner)
        }
        fn spawn_burst(
            &mut self,
            _link: &Link,
            _ip: IpAddr,
            plan: BurstPlan,
            _defend: bool,
        ) -> Result<()> {
            self.bursts_spawned.push(plan.rounds);
            self.burst_alive = true;
            Ok(())
        }
        fn burst_running(&mut self) -> bool {
            self.burst_alive
        }
        fn isolate_arp(&mut self, _link: &Link) -> Result<()> {
            Ok(())
        }
        fn ensure_virtual_interface(
            &mut self,
            lower: &Link,
            name: &str,
            mac: MacAddr,
        ) -> Result<Link> {
            if let Some(existing) = self.links.iter().find(|l| l.name == name) {
                return Ok(existing.clone());
            }
            let link = Link {
                index: 100 + self.links.len() as u32,
                name: name.to_string(),
                mac: Some(mac),
                ..lower.clone()
            };
            self.links.push(link.clone());
            Ok(link)
        }
        fn delete_virtual_interface(&mut self, name: &str, mac: MacAddr) -> Result<()> {
            self.links
                .retain(|l| !(l.name == name && l.mac == Some(mac)));
            Ok(())
        }
        fn end_burst(&mut self, _lost_track_of: Option<IpAddr>) -> Result<()> {
            self.bursts_ended += 1;
            if self.end_burst_fails {
                return Err(Error::generic("burst process did not exit"));
            }
            Ok(())
        }
        fn record(&mut self, record: &Record) -> Result<()> {
            self.record = Some(record.clone());
            Ok(())
        }
        fn recorded(&mut self) -> Option<Record> {
            self.record.clone()
        }
        fn forget(&mut self) -> Result<()> {
            self.record = None;
            Ok(())
        }
        fn sleep(&mut self, _duration: Duration) {}
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        let mut raw = RawParams::new();
        for (k, v) in pairs {
            raw.set(k, *v);
        }
        parse(&raw, &Meta::default()).unwrap()
    }

    fn vip() -> IpAddr {
        "198.51.100.50".parse().unwrap()
    }

    #[test]
    fn start_adds_announces_once_and_backgrounds_the_rest() {
        let mut host = FakeHost::lab();
        start(
            &mut host,
            &params(&[("ip", "198.51.100.50")]),
            &Meta::default(),
        )
        .unwrap();
        assert_eq!(host.addresses[&(2, vip())].prefix_len, 24);
        assert_eq!(host.rounds_sent, 1);
        assert_eq!(host.bursts_spawned, vec![4]);
        assert_eq!(host.record.as_ref().unwrap().nic, "eth0");
    }

    #[test]
    fn start_twice_succeeds_and_announces_again() {
        let mut host = FakeHost::lab();
        let p = params(&[("ip", "198.51.100.50")]);
        start(&mut host, &p, &Meta::default()).unwrap();
        start(&mut host, &p, &Meta::default()).unwrap();
        assert_eq!(host.rounds_sent, 2);
        assert_eq!(host.addresses.len(), 1);
    }

    #[test]
    fn foreground_burst_sends_every_round_itself() {
        let mut host = FakeHost::lab();
        let p = params(&[
            ("ip", "198.51.100.50"),
            ("arp_bg", "false"),
            ("arp_count", "3"),
        ]);
        start(&mut host, &p, &Meta::default()).unwrap();
        assert_eq!(host.rounds_sent, 3);
        assert!(host.bursts_spawned.is_empty());
    }

    #[test]
    fn missing_nic_is_not_installed() {
        let mut host = FakeHost::lab();
        let err = start(
            &mut host,
            &params(&[("ip", "198.51.100.50"), ("nic", "eth9")]),
            &Meta::default(),
        )
        .unwrap_err();
        assert_eq!(err.status, Status::ErrInstalled);
        assert!(host.addresses.is_empty());
    }

    #[test]
    fn start_refuses_a_foreign_prefix_and_leaves_it() {
        let mut host = FakeHost::lab();
        host.addresses.insert(
            (2, vip()),
            Assigned {
                prefix_len: 16,
                tentative: false,
                dadfailed: false,
                age: None,
            },
        );
        let err = start(
            &mut host,
            &params(&[("ip", "198.51.100.50")]),
            &Meta::default(),
        )
        .unwrap_err();
        assert_eq!(err.status, Status::ErrGeneric);
        assert_eq!(host.addresses[&(2, vip())].prefix_len, 16);
    }

    #[test]
    fn start_refuses_an_address_held_by_another_interface() {
        let mut host = FakeHost::lab();
        host.links.push(Link {
            index: 3,
            name: "eth1".into(),
            ..host.links[1].clone()
        });
        host.addresses.insert(
            (3, vip()),
            Assigned {
                prefix_len: 24,
                tentative: false,
                dadfailed: false,
                age: None,
            },
        );
        let err = start(
            &mut host,
            &params(&[("ip", "198.51.100.50")]),
            &Meta::default(),
        )
        .unwrap_err();
        assert!(err.reason.contains("eth1"), "{}", err.reason);
        assert!(!host.addresses.contains_key(&(2, vip())));
    }

    #[test]
    fn start_on_a_link_without_carrier_fails_without_adding() {
        let mut host = FakeHost::lab();
        host.links[1].carrier = false;
        let err = start(
            &mut host,
            &params(&[("ip", "198.51.100.50")]),
            &Meta::default(),
        )
        .unwrap_err();
        assert!(
            err.reason.contains("link down on NIC eth0"),
            "{}",
            err.reason
        );
        assert!(host.addresses.is_empty());
    }

    #[test]
    fn ipv6_dad_failure_removes_the_address() {
        let mut host = FakeHost::lab();
        host.routes.push(Route {
            destination: "2001:db8:100::".parse().unwrap(),
            prefix_len: 64,
            ifindex: Some(2),
            kind: RouteKind::Unicast,
            link_scope: false,
            has_gateway: false,
        });
        host.dad_polls_until_done = 3;
        host.dad_fails = true;
        let err = start(
            &mut host,
            &params(&[("ip", "2001:db8:100::50")]),
            &Meta::default(),
        )
        .unwrap_err();
        assert!(
            err.reason.contains("duplicate address detected"),
            "{}",
            err.reason
        );
        assert!(host.addresses.is_empty());
        assert_eq!(host.rounds_sent, 0);
    }

    #[test]
    fn stop_ends_the_burst_before_deleting_and_is_idempotent() {
        let mut host = FakeHost::lab();
        let p = params(&[("ip", "198.51.100.50")]);
        start(&mut host, &p, &Meta::default()).unwrap();
        let ended_before = host.bursts_ended;
        stop(&mut host, &p).unwrap();
        assert!(host.bursts_ended > ended_before);
        assert!(host.addresses.is_empty());
        stop(&mut host, &p).unwrap();
    }

    #[test]
    fn stop_leaves_a_foreign_prefix_alone() {
        let mut host = FakeHost::lab();
        host.addresses.insert(
            (2, vip()),
            Assigned {
                prefix_len: 16,
                tentative: false,
                dadfailed: false,
                age: None,
            },
        );
        stop(
            &mut host,
            &params(&[("ip", "198.51.100.50"), ("cidr_netmask", "24")]),
        )
        .unwrap();
        assert!(host.addresses.contains_key(&(2, vip())));
    }

    #[test]
    fn stop_with_a_missing_nic_succeeds() {
        let mut host = FakeHost::lab();
        stop(
            &mut host,
            &params(&[("ip", "198.51.100.50"), ("nic", "eth9")]),
        )
        .unwrap();
    }

    #[test]
    fn lvs_support_parks_the_address_on_lo() {
        let mut host = FakeHost::lab();
        let p = params(&[("ip", "198.51.100.50"), ("lvs_support", "true")]);
        start(&mut host, &p, &Meta::default()).unwrap();
        stop(&mut host, &p).unwrap();
        assert_eq!(host.addresses[&(1, vip())].prefix_len, 32);
        start(&mut host, &p, &Meta::default()).unwrap();
        assert!(!host.addresses.contains_key(&(1, vip())));
    }

    #[test]
    fn monitor_codes() {
        let mut host = FakeHost::lab();
        let p = params(&[("ip", "198.51.100.50")]);
        assert_eq!(
            monitor(&mut host, &p, &Meta::default(), false).unwrap(),
            Status::NotRunning
        );
        start(&mut host, &p, &Meta::default()).unwrap();
        assert_eq!(
            monitor(&mut host, &p, &Meta::default(), false).unwrap(),
            Status::Success
        );
        host.links[1].carrier = false;
        let err = monitor(&mut host, &p, &Meta::default(), false).unwrap_err();
        assert_eq!(err.status, Status::ErrGeneric);
        assert!(err.reason.contains("link down on NIC"));
        let lenient = params(&[("ip", "198.51.100.50"), ("check_link_status", "false")]);
        assert_eq!(
            monitor(&mut host, &lenient, &Meta::default(), false).unwrap(),
            Status::Success
        );
    }

    #[test]
    fn monitor_falls_back_to_the_record_when_no_route_places_the_address() {
        let mut host = FakeHost::lab();
        let p = params(&[("ip", "198.51.100.50")]);
        start(&mut host, &p, &Meta::default()).unwrap();
        host.routes.clear();
        assert_eq!(
            monitor(&mut host, &p, &Meta::default(), false).unwrap(),
            Status::Success
        );
    }

    #[test]
    fn recurring_monitor_refreshes_only_when_asked() {
        let mut host = FakeHost::lab();
        let p = params(&[("ip", "198.51.100.50"), ("arp_count_refresh", "2")]);
        start(&mut host, &p, &Meta::default()).unwrap();
        let sent = host.rounds_sent;
        monitor(&mut host, &p, &Meta::default(), false).unwrap();
        assert_eq!(host.rounds_sent, sent, "a probe never announces");
        let recurring = Meta {
            interval_ms: 10_000,
            ..Meta::default()
        };
        monitor(&mut host, &p, &recurring, false).unwrap();
        assert_eq!(host.rounds_sent, sent + 1);
        assert_eq!(host.bursts_spawned.last(), Some(&1));
    }

    #[test]
    fn monitor_tolerates_a_short_dad_but_not_a_stuck_one() {
        let mut host = FakeHost::lab();
        let p = params(&[
            ("ip", "198.51.100.50"),
            ("nic", "eth0"),
            ("cidr_netmask", "24"),
        ]);
        let tentative = |age| Assigned {
            prefix_len: 24,
            tentative: true,
            dadfailed: false,
            age: Some(age),
        };
        host.dad_polls_until_done = u32::MAX;
        host.addresses
            .insert((2, vip()), tentative(Duration::from_secs(1)));
        assert_eq!(
            monitor(&mut host, &p, &Meta::default(), false).unwrap(),
            Status::Success
        );
        host.addresses
            .insert((2, vip()), tentative(Duration::from_secs(60)));
        let err = monitor(&mut host, &p, &Meta::default(), false).unwrap_err();
        assert!(err.reason.contains("tentative"), "{}", err.reason);
    }

    #[test]
    fn stop_succeeds_when_the_burst_cannot_be_ended_but_the_address_goes() {
        let mut host = FakeHost::lab();
        let p = params(&[("ip", "198.51.100.50")]);
        start(&mut host, &p, &Meta::default()).unwrap();
        host.end_burst_fails = true;
        stop(&mut host, &p).unwrap();
        assert!(host.addresses.is_empty());
    }

    const ZOMBIE: MacAddr = MacAddr(2, 0, 0, 0, 0, 0x66);

    #[test]
    fn run_arping_refuses_an_address_someone_answers_for() {
        let mut host = FakeHost::lab();
        host.other_owner = Some(ZOMBIE);
        let p = params(&[("ip", "198.51.100.50"), ("run_arping", "true")]);
        let err = start(&mut host, &p, &Meta::default()).unwrap_err();
        assert_eq!(err.status, Status::ErrGeneric);
        assert!(err.reason.contains("02:00:00:00:00:66"), "{}", err.reason);
        assert!(host.addresses.is_empty(), "nothing added");
        host.other_owner = None;
        start(&mut host, &p, &Meta::default()).unwrap();
        assert_eq!(host.probes, 2);
    }

    #[test]
    fn deep_monitor_reports_and_defends_against_another_owner() {
        let mut host = FakeHost::lab();
        let p = params(&[("ip", "198.51.100.50")]);
        start(&mut host, &p, &Meta::default()).unwrap();
        assert_eq!(
            monitor(&mut host, &p, &Meta::default(), true).unwrap(),
            Status::Success
        );
        host.other_owner = Some(ZOMBIE);
        let refreshes = host.refreshes_sent;
        assert_eq!(
            monitor(&mut host, &p, &Meta::default(), false).unwrap(),
            Status::Success,
            "level 0 does not probe"
        );
        let err = monitor(&mut host, &p, &Meta::default(), true).unwrap_err();
        assert!(
            err.reason.contains("02:00:00:00:00:66") && err.reason.contains("announced again"),
            "{}",
            err.reason
        );
        assert_eq!(host.refreshes_sent, refreshes + 1, "defended at once");
        assert_eq!(host.bursts_spawned.last(), Some(&(DEFENCE_ROUNDS - 1)));
        let passive = params(&[("ip", "198.51.100.50"), ("conflict_defend", "false")]);
        let err = monitor(&mut host, &passive, &Meta::default(), true).unwrap_err();
        assert!(!err.reason.contains("announced again"));
        assert_eq!(
            host.refreshes_sent,
            refreshes + 1,
            "no defence when asked not to"
        );
    }

    #[test]
    fn refresh_process_is_restarted_by_a_recurring_monitor() {
        let mut host = FakeHost::lab();
        let p = params(&[
            ("ip", "198.51.100.50"),
            ("arp_count", "1"),
            ("arp_refresh_interval", "10"),
        ]);
        start(&mut host, &p, &Meta::default()).unwrap();
        assert_eq!(
            host.bursts_spawned,
            vec![0],
            "a refresh-only process after the single round"
        );
        host.burst_alive = false;
        let recurring = Meta {
            interval_ms: 10_000,
            ..Meta::default()
        };
        monitor(&mut host, &p, &recurring, false).unwrap();
        assert_eq!(host.bursts_spawned, vec![0, 0]);
        monitor(&mut host, &p, &recurring, false).unwrap();
        assert_eq!(host.bursts_spawned.len(), 2, "not while it runs");
    }

    fn with_eth1(mut host: FakeHost) -> FakeHost {
        let eth1 = Link {
            index: 3,
            name: "eth1".into(),
            mac: Some(MacAddr(2, 0, 0, 0, 0, 3)),
            ..host.links[1].clone()
        };
        host.links.push(eth1);
        host.routes.push(Route {
            ifindex: Some(3),
            ..host.routes[0].clone()
        });
        host
    }

    #[test]
    fn standby_adapters_take_the_first_usable_and_move_when_it_fails() {
        let mut host = with_eth1(FakeHost::lab());
        let p = params(&[("ip", "198.51.100.50"), ("nic", "eth0,eth1")]);
        start(&mut host, &p, &Meta::default()).unwrap();
        assert!(host.addresses.contains_key(&(2, vip())), "eth0 first");
        host.links[1].carrier = false;
        let err = monitor(&mut host, &p, &Meta::default(), false).unwrap_err();
        assert!(
            err.reason.contains("link down on NIC eth0"),
            "{}",
            err.reason
        );
        // Pacemaker's local recovery: stop, then start, which picks the survivor.
        stop(&mut host, &p).unwrap();
        assert!(host.addresses.is_empty());
        start(&mut host, &p, &Meta::default()).unwrap();
        assert!(host.addresses.contains_key(&(3, vip())), "moved to eth1");
        assert_eq!(
            monitor(&mut host, &p, &Meta::default(), false).unwrap(),
            Status::Success
        );
        host.links[2].carrier = false;
        stop(&mut host, &p).unwrap();
        let err = start(&mut host, &p, &Meta::default()).unwrap_err();
        assert!(
            err.reason.contains("no usable interface in nic eth0,eth1"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn vmac_puts_the_address_on_a_virtual_interface_and_stop_removes_both() {
        let mut host = FakeHost::lab();
        let p = params(&[("ip", "198.51.100.50"), ("vmac", "auto")]);
        start(&mut host, &p, &Meta::default()).unwrap();
        let name = virtual_interface_name(vip());
        let vlink = host
            .links
            .iter()
            .find(|l| l.name == name)
            .cloned()
            .expect("macvlan created");
        assert_eq!(vlink.mac, p.vmac);
        assert!(host.addresses.contains_key(&(vlink.index, vip())));
        assert_eq!(host.record.as_ref().unwrap().nic, name);
        assert_eq!(
            monitor(&mut host, &p, &Meta::default(), false).unwrap(),
            Status::Success
        );
        stop(&mut host, &p).unwrap();
        assert!(host.addresses.is_empty());
        assert!(host.links.iter().all(|l| l.name != name), "macvlan removed");
        assert_eq!(
            monitor(&mut host, &p, &Meta::default(), false).unwrap(),
            Status::NotRunning
        );
    }

    #[test]
    fn a_failed_vmac_start_leaves_no_virtual_interface() {
        let mut host = FakeHost::lab();
        host.other_owner = Some(ZOMBIE);
        let p = params(&[
            ("ip", "198.51.100.50"),
            ("vmac", "auto"),
            ("run_arping", "true"),
        ]);
        assert!(start(&mut host, &p, &Meta::default()).is_err());
        assert!(host.links.iter().all(|l| !l.name.starts_with("fip")));
    }
}
