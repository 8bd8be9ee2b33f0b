//! start / stop / monitor / reload / validate decisions over the [`Host`] seams. Every observed
//! state maps to an outcome here, in one place, so the decisions are unit-tested with a fake
//! host that records effects in order, and run for real with the netlink one.
//!
//! Two promises shape this module. `stop` returning success means the address is on no
//! interface this node can see and no process of ours will announce it again, so it ends the
//! resident process before anything else and looks at every interface at the end. And no wait
//! outlives the operation: each operation gets a [`Deadline`] from its timeout, and every wait
//! (DAD, probes, a foreground burst, ending the resident process) is bounded by what is left.

pub mod operate;
mod seams;
#[cfg(test)]
mod tests;

pub use seams::{
    AddressRequest, Addresses, Assigned, Clock, Connections, Host, Link, LinkLayer, Links,
    PrefixRoutes, Processes, Record, Records, Wire,
};

use crate::clients::{self, Client};
use crate::error::{Error, Kind, Result};
use crate::ocf::Status;
use crate::packet::MacAddr;
use crate::params::{
    self, broadcast_address, network_or_broadcast, virtual_interface_name, Lifetime, Meta, Params,
};
use crate::resident::{AddressTemplate, Plan};
use crate::resolve::{covers, place, RouteKind, Wanted};
use log::{debug, info, warn};
use std::net::IpAddr;
use std::time::Duration;

/// How long an address may stay tentative before monitor calls it a failure: DAD takes
/// DupAddrDetectTransmits x RetransTimer (1 s by default) after a random delay of up to 1 s.
pub const DAD_GRACE: Duration = Duration::from_secs(5);

/// rtm_protocol of the routes the kernel makes for addresses (RTPROT_KERNEL).
const RTPROT_KERNEL: u8 = 2;

/// Rounds sent when another machine is seen claiming the address (a short burst).
pub const DEFENCE_ROUNDS: u32 = 3;

const DAD_POLL: Duration = Duration::from_millis(10);

/// When the current operation must have finished its waits: its timeout less a margin, so the
/// agent answers before Pacemaker gives up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Duration,
}

impl Deadline {
    /// The clock counts from when the operation began (the process start, for the real
    /// host), so time spent before the agent runs (waiting for the resource lock, say) counts
    /// against the same timeout.
    pub fn for_operation(meta: &Meta) -> Deadline {
        Deadline {
            at: params::operation_budget(meta),
        }
    }

    pub fn remaining<C: Clock>(&self, clock: &mut C) -> Duration {
        self.at.saturating_sub(clock.now())
    }
}

/// Where the managed address lives on this node.
#[derive(Debug, Clone)]
struct Target {
    link: Link,
    prefix_len: u8,
    /// The metric of the route that placed the address, when one did (IPv6 addresses are
    /// added with it).
    route_metric: Option<u32>,
    /// The interface came from this node's routes, not from `nic`: what is wrong with it is
    /// this node's problem (OCF_ERR_INSTALLED), not the configuration's everywhere.
    found_by_routes: bool,
}

impl Target {
    /// Where an address already on `link` lives.
    fn found(link: Link, prefix_len: u8) -> Target {
        Target {
            link,
            prefix_len,
            route_metric: None,
            found_by_routes: false,
        }
    }
}

/// A configured nic that does not exist is something this node lacks (OCF_ERR_INSTALLED).
fn configured_link<H: Links>(host: &mut H, nic: &str) -> Result<Link> {
    host.link_by_name(nic)?
        .ok_or_else(|| Error::absent(format!("nic {nic} does not exist on this node")))
}

/// Places the address: a loopback one on lo, others on the configured interface, on the
/// first usable standby adapter, or on the interface the routes point to.
fn locate<H: Links>(host: &mut H, p: &Params) -> Result<Target> {
    if params::is_loopback(p.ip) {
        return on_loopback(host, p);
    }
    match p.nics.as_slice() {
        [] => place_by_routes(host, p),
        [nic] => {
            let link = configured_link(host, nic)?;
            place_on(host, p, link)
        }
        nics => choose_standby(host, p, nics),
    }
}

/// A loopback address goes on lo with the loopback network's prefix (unless cidr_netmask
/// says otherwise), as IPaddr2's findif places 127.x by the local table's route; lo announces
/// nothing. The main table, which `place` reads, has no route for it.
fn on_loopback<H: Links>(host: &mut H, p: &Params) -> Result<Target> {
    let link = configured_link(host, params::LOOPBACK_NIC)?;
    Ok(Target {
        link,
        prefix_len: p.prefix.unwrap_or(params::LOOPBACK_PREFIX),
        route_metric: None,
        found_by_routes: false,
    })
}

/// What the parameters ask of placement, on `nic` if given.
fn wanted(p: &Params, nic: Option<u32>) -> Wanted {
    Wanted {
        ip: p.ip,
        nic,
        prefix: p.prefix,
        proto: p.proto,
    }
}

/// A configured interface: the prefix is the configured one or its covering route's.
fn place_on<H: Links>(host: &mut H, p: &Params, link: Link) -> Result<Target> {
    // With the prefix given, an IPv4 address needs nothing from the routes; an IPv6 one
    // takes the covering route's metric.
    if let (Some(prefix_len), IpAddr::V4(_)) = (p.prefix, p.ip) {
        return Ok(Target {
            link,
            prefix_len,
            route_metric: None,
            found_by_routes: false,
        });
    }
    let routes = host.routes(p.ip)?;
    let placement =
        place(&wanted(p, Some(link.index)), &routes).ok_or_else(|| no_route(p, Some(&link)))?;
    Ok(Target {
        link,
        prefix_len: placement.prefix_len,
        route_metric: placement.metric,
        found_by_routes: false,
    })
}

/// No covering route (of `proto`, if set) places the address, on `nic` when one was given:
/// this node's routes, not the configuration, so another node may place it (findif's failure).
fn no_route(p: &Params, nic: Option<&Link>) -> Error {
    let wanted = match p.prefix {
        Some(len) => format!("{}/{len}", p.ip),
        None => p.ip.to_string(),
    };
    let of_proto = match p.proto {
        Some(proto) => format!(" of proto {proto}"),
        None => String::new(),
    };
    Error::unplaced(match nic {
        Some(link) => format!(
            "no route{of_proto} on {} covers {wanted}: set cidr_netmask, or check the nic",
            link.name
        ),
        None => format!(
            "no interface found for {wanted} on this node: no link-scope route{of_proto} covers it; set nic and cidr_netmask"
        ),
    })
}

fn place_by_routes<H: Links>(host: &mut H, p: &Params) -> Result<Target> {
    let routes = host.routes(p.ip)?;
    let placement = place(&wanted(p, None), &routes).ok_or_else(|| no_route(p, None))?;
    let link = host.link_by_index(placement.ifindex)?.ok_or_else(|| {
        Error::generic(format!(
            "interface {} vanished while placing {}",
            placement.ifindex, p.ip
        ))
    })?;
    Ok(Target {
        link,
        prefix_len: placement.prefix_len,
        route_metric: placement.metric,
        found_by_routes: true,
    })
}

/// Standby adapters: the first that exists, is up with carrier and is on the address's subnet.
fn choose_standby<H: Links>(host: &mut H, p: &Params, nics: &[String]) -> Result<Target> {
    standby_adapters(host, nics)?;
    let mut why = Vec::new();
    // The kind that says most about this node: a placement failure (findif's) over a down
    // link (IPaddr2 4.17's) over a missing adapter.
    let mut kind = Kind::Absent;
    for name in nics {
        let Some(link) = host.link_by_name(name)? else {
            why.push(format!("{name} does not exist"));
            continue;
        };
        if let Some(problem) = link_problem(&link) {
            why.push(problem);
            if kind == Kind::Absent {
                kind = Kind::LinkDown;
            }
            continue;
        }
        match place_on(host, p, link) {
            Ok(target) => {
                info!("using {} of nic {}", target.link.name, nics.join(","));
                return Ok(target);
            }
            Err(e) => {
                kind = Kind::Unplaced;
                why.push(e.reason);
            }
        }
    }
    let reason = format!(
        "no usable interface in nic {} on this node: {}",
        nics.join(","),
        why.join("; ")
    );
    Err(Error::new(kind, reason))
}

/// The prefix that identifies this resource's address: configured, else recorded. None means
/// "whatever the interface holds" (no cidr_netmask and the record lost).
fn expected_prefix(p: &Params, recorded: Option<&Record>) -> Option<u8> {
    p.prefix.or(recorded.map(|r| r.prefix_len))
}

/// The record, if it is about this address and an interface this configuration allows.
fn matching_record<H: Links + Records>(host: &mut H, p: &Params) -> Option<Record> {
    let virtual_name = p.vmac.map(|_| virtual_interface_name(p.ip));
    let record = host.recorded().filter(|r| r.ip == p.ip)?;
    if virtual_name.as_deref() == Some(record.nic.as_str())
        || p.nics.is_empty()
        || p.nics.contains(&record.nic)
    {
        return Some(record);
    }
    // `nic` may name the interface by an alternative name; the record has its own name.
    let recorded = host.link_by_name(&record.nic).ok().flatten()?;
    for name in &p.nics {
        if let Ok(Some(link)) = host.link_by_name(name) {
            if link.index == recorded.index {
                return Some(record);
            }
        }
    }
    None
}

/// The interfaces this resource's address may be on, most likely first: the recorded one, the
/// virtual interface, every listed adapter, the placement. Missing ones are left out.
fn candidate_links<H: Links + Records>(host: &mut H, p: &Params) -> Result<Vec<Link>> {
    let mut names: Vec<String> = Vec::new();
    if let Some(r) = matching_record(host, p) {
        names.push(r.nic);
    }
    if p.vmac.is_some() {
        names.push(virtual_interface_name(p.ip));
    }
    names.extend(p.nics.iter().cloned());
    let mut links: Vec<Link> = Vec::new();
    for name in names {
        if links.iter().any(|l| l.name == name) {
            continue;
        }
        // By index: an alternative name and the interface's own name are one interface.
        if let Some(link) = host.link_by_name(&name)? {
            if !links.iter().any(|l| l.index == link.index) {
                links.push(link);
            }
        }
    }
    // Renamed since start: the same interfaces under new names.
    for index in matching_record(host, p).map_or_else(Vec::new, |r| r.adapters) {
        if !links.iter().any(|l| l.index == index) {
            if let Some(link) = host.link_by_index(index)? {
                links.push(link);
            }
        }
    }
    if p.nics.is_empty() && p.vmac.is_none() {
        match locate(host, p) {
            Ok(target) if !links.iter().any(|l| l.index == target.link.index) => {
                links.push(target.link)
            }
            Ok(_) => {}
            Err(e) => debug!("cannot place {}: {}", p.ip, e.reason),
        }
    }
    Ok(links)
}

/// Where the managed address is now, for monitor and reload: the first candidate interface
/// holding it that is up with carrier, else the first holding it (so that, with standby
/// adapters, "link down" means no usable listed adapter holds it).
fn find_managed<H: Host>(host: &mut H, p: &Params) -> Result<Option<(Target, Assigned)>> {
    let recorded = matching_record(host, p);
    let wanted = expected_prefix(p, recorded.as_ref());
    let mut found_elsewhere = None;
    let mut unusable = None;
    for link in candidate_links(host, p)? {
        if let Some(a) = host.address(link.index, p.ip)? {
            if wanted.is_none_or(|w| w == a.prefix_len) {
                let prefix_len = a.prefix_len;
                if link.usable() {
                    return Ok(Some((Target::found(link, prefix_len), a)));
                }
                unusable.get_or_insert((Target::found(link, prefix_len), a));
                continue;
            }
            found_elsewhere.get_or_insert((link.name.clone(), a.prefix_len));
        }
    }
    if unusable.is_some() {
        return Ok(unusable);
    }
    if let (Some((name, len)), Some(w)) = (found_elsewhere, wanted) {
        warn!(
            "{} is on {name} as /{len}, expected /{w}: not this resource's address",
            p.ip
        );
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

/// Whether the interface's own name comes from this node rather than the configuration: found
/// by the routes, or named in `nic` by an alternative name. What fails over it is this node's
/// problem, not the configuration's everywhere (OCF_ERR_CONFIGURED, which would keep
/// Pacemaker from trying the other nodes).
fn name_is_node_local(p: &Params, target: &Target) -> bool {
    target.found_by_routes
        || (!p.nics.is_empty() && p.vmac.is_none() && !p.nics.contains(&target.link.name))
}

/// The kernel label: `nic:label`.
fn kernel_label(p: &Params, target: &Target) -> Result<Option<String>> {
    let Some(label) = &p.label else {
        return Ok(None);
    };
    let full = format!("{}:{label}", target.link.name);
    if full.len() > crate::params::IFNAME_MAX {
        let reason = format!(
            "invalid iflabel \"{label}\": {full} exceeds the kernel's 15-character label limit"
        );
        return Err(if name_is_node_local(p, target) {
            Error::unplaced(format!("{reason} (the interface's name on this node)"))
        } else {
            Error::configured(reason)
        });
    }
    Ok(Some(full))
}

/// With a prefix found from this node's routes, the address may turn out to be its subnet's
/// network or broadcast address, which the parameters alone could not show (a configured
/// prefix is checked with the parameters). A placement failure, as findif's are.
fn check_host_address(p: &Params, prefix_len: u8) -> Result<()> {
    if let IpAddr::V4(v4) = p.ip {
        if let Some(why) = network_or_broadcast(v4, prefix_len) {
            return Err(Error::unplaced(format!(
                "invalid ip \"{v4}\": {why} (the prefix of this node's route)"
            )));
        }
    }
    Ok(())
}

/// Why nothing is announced on `link`, for links that take no announcement. Said once per
/// operation, so that nothing silently sends nothing.
fn no_announcement(link: &Link) -> Option<String> {
    match link.layer {
        _ if link.announces => None,
        LinkLayer::Layer3 => Some(format!(
            "{} is a layer-3 device: no ARP/ND announcement is needed",
            link.name
        )),
        LinkLayer::Ethernet => Some(format!(
            "{} does not use ARP (NOARP, or no MAC address): no ARP/ND announcement is needed",
            link.name
        )),
        LinkLayer::Infiniband | LinkLayer::Other(_) => Some(format!(
            "{} cannot be announced on by floatip: nothing is announced",
            link.name
        )),
    }
}

/// Links whose announcements floatip cannot send are refused before anything is added:
/// IPoIB (ARP with 20-byte hardware addresses, which IPaddr2 sends with ipoibarping) and other
/// non-Ethernet hardware types. Layer-3 devices need none and are fine.
fn check_link_layer(p: &Params, target: &Target) -> Result<()> {
    let link = &target.link;
    let reason = match link.layer {
        LinkLayer::Ethernet | LinkLayer::Layer3 => return Ok(()),
        LinkLayer::Infiniband => format!(
            "{} is an InfiniBand (IPoIB) interface: floatip cannot send IPoIB ARP announcements (IPaddr2 sends them with ipoibarping), so it does not manage addresses there",
            link.name
        ),
        LinkLayer::Other(kind) => format!(
            "{} has hardware type {kind}, whose ARP floatip cannot send, so it does not manage addresses there",
            link.name
        ),
    };
    Err(if name_is_node_local(p, target) {
        Error::unsupported(format!("{reason} (found on this node)"))
    } else {
        Error::configured(format!("invalid nic: {reason}"))
    })
}

/// validate-all beyond syntax: start's waits fit its timeout, and the node can place the
/// address (check level 10, the default).
pub fn validate_environment<H: Host>(host: &mut H, p: &Params, meta: &Meta) -> Result<()> {
    params::check_fits(p, meta)?;
    let target = locate(host, p)?;
    check_host_address(p, target.prefix_len)?;
    check_link_layer(p, &target)?;
    kernel_label(p, &target)?;
    Ok(())
}

pub fn start<H: Host>(host: &mut H, p: &Params, meta: &Meta) -> Result<()> {
    params::check_fits(p, meta)?;
    let deadline = Deadline::for_operation(meta);
    // Whatever announced this address before (a resident process left by an earlier start,
    // or one the state lost track of) ends first, so two never act at once.
    let patience = deadline.remaining(host);
    host.end_residents(patience)?;
    let placed = locate(host, p)?;
    check_host_address(p, placed.prefix_len)?;
    check_link_layer(p, &placed)?;
    if p.check_link_status {
        // This node's link (as IPaddr2 4.17's DOWN/LOWERLAYERDOWN check): another node's may
        // be up.
        if let Some(problem) = link_problem(&placed.link) {
            return Err(Error::link_down(problem));
        }
    }
    // Where the address lives apart from the interface that carries it on the segment (a
    // macvlan, or one adapter among several), the others must not answer ARP for it.
    if p.ip.is_ipv4() && p.vmac.is_some() {
        host.isolate_arp(&placed.link)?;
    }
    // Standby adapters share a segment: only the holder speaks ARP for the address, and
    // replies follow the address when the holder loses carrier.
    if p.nics.len() > 1 {
        for name in &p.nics {
            if let Some(adapter) = host.link_by_name(name)? {
                if p.ip.is_ipv4() {
                    host.isolate_arp(&adapter)?;
                }
                host.ignore_routes_when_link_down(&adapter, p.ip)?;
            }
        }
    }
    let Some(mac) = p.vmac else {
        return start_on(host, p, meta, &deadline, &placed);
    };
    // vmac: the address lives on a macvlan of the placed interface, with the virtual MAC.
    let name = virtual_interface_name(p.ip);
    let (link, created) = host.ensure_virtual_interface(&placed.link, &name, mac)?;
    let target = Target {
        link,
        found_by_routes: false,
        ..placed
    };
    let started = start_on(host, p, meta, &deadline, &target);
    if started.is_err() && created {
        // Nothing half-configured: no virtual interface this start made without its address.
        if let Err(e) = host.delete_virtual_interface(&name, mac) {
            warn!("{}", e.reason);
        }
    }
    started
}

/// What start found on the interface before it acted.
enum Found {
    /// This resource's address, healthy: announced again, not re-added.
    Ours,
    /// Nothing (or our own address after a failed DAD, removed): this start adds it.
    Absent,
}

fn start_on<H: Host>(
    host: &mut H,
    p: &Params,
    meta: &Meta,
    deadline: &Deadline,
    target: &Target,
) -> Result<()> {
    let link = &target.link;
    let label = kernel_label(p, target)?;
    let found = match host.address(link.index, p.ip)? {
        Some(a) if a.prefix_len != target.prefix_len => {
            return Err(Error::conflict(format!(
                "{} is already on {} as /{}, not /{}: it is not this resource's address, so it is left alone",
                p.ip, link.name, a.prefix_len, target.prefix_len
            )));
        }
        Some(a) if a.dadfailed => {
            // Our own address that failed DAD earlier: try again from scratch.
            host.delete_address(link.index, p.ip, target.prefix_len)?;
            Found::Absent
        }
        Some(_) => {
            info!(
                "{}/{} is already on {}; announcing it again",
                p.ip, target.prefix_len, link.name
            );
            Found::Ours
        }
        None => {
            take_back_or_refuse_other_holders(host, p, link)?;
            Found::Absent
        }
    };
    let added = matches!(found, Found::Absent);
    if added && p.probe_before_start {
        let wait = probe_wait(host, p, deadline);
        if let Some(theirs) = other_owner(host, p, link, wait)? {
            return Err(Error::conflict(format!(
                "{} is already in use by {theirs} (it answered a duplicate-address probe on {}); not taking it",
                p.ip, link.name
            )));
        }
    }
    // The label goes on before the address, as IPaddr2 does it, so that no connection this
    // node opens in between takes the floating address as its source.
    let labelled = label_address(host, p)?;
    let finished = finish_start(host, p, meta, deadline, target, label, added);
    if finished.is_err() && labelled {
        remove_address_label(host, p);
    }
    finished
}

/// start after the checks: add the address if it was absent, record it, announce it.
fn finish_start<H: Host>(
    host: &mut H,
    p: &Params,
    meta: &Meta,
    deadline: &Deadline,
    target: &Target,
    label: Option<String>,
    added: bool,
) -> Result<()> {
    let link = &target.link;
    if added {
        add(host, p, deadline, target, label)?;
    }
    let adapters = recorded_adapters(host, p, link)?;
    let announced = host
        .record(&Record {
            ip: p.ip,
            nic: link.name.clone(),
            prefix_len: target.prefix_len,
            adapters,
        })
        .and_then(|()| announce_after_start(host, p, meta, deadline, target));
    if let Err(e) = announced {
        // Nothing half-configured: an address this start added and nobody was told about is
        // taken back; one that was there before is left as it was.
        if added {
            if let Err(undo) = host.delete_address(link.index, p.ip, target.prefix_len) {
                warn!("{}", undo.reason);
            }
            forget_quietly(host);
        }
        return Err(e);
    }
    Ok(())
}

/// The interfaces the address may be on while this start lasts, by index: where it was put,
/// and the standby adapters the resident may move it to.
fn recorded_adapters<H: Links>(host: &mut H, p: &Params, link: &Link) -> Result<Vec<u32>> {
    let mut indexes = vec![link.index];
    if p.nics.len() > 1 {
        for nic in &p.nics {
            if let Some(standby) = host.link_by_name(nic)? {
                if !indexes.contains(&standby.index) {
                    indexes.push(standby.index);
                }
            }
        }
    }
    Ok(indexes)
}

/// lvs_ipv6_addrlabel (IPaddr2 4.15, default true): the address label for ip/128, so that
/// RFC 6724 source selection (rule 6, matching labels) prefers the node's fixed address for
/// its own outgoing connections. True when this call added it.
fn label_address<H: Addresses>(host: &mut H, p: &Params) -> Result<bool> {
    let (Some(value), IpAddr::V6(ip)) = (p.address_label, p.ip) else {
        return Ok(false);
    };
    match host.address_label(ip)? {
        Some(existing) => {
            if existing != value {
                // Someone else's (or an older configuration's): IPaddr2 warns and goes on too.
                warn!(
                    "{ip}/128 already has address label {existing}, not lvs_ipv6_addrlabel_value {value}; it is left as it is"
                );
            }
            Ok(false)
        }
        None => {
            host.add_address_label(ip, value)?;
            info!("added address label {value} for {ip}/128 (lvs_ipv6_addrlabel): this node's own connections keep their fixed source address");
            Ok(true)
        }
    }
}

/// Removes exactly this resource's label: ip/128 with lvs_ipv6_addrlabel_value, not a label
/// of another value (the kernel would delete by prefix alone). A missing one is fine; a
/// failure is logged, since a label without its address changes nothing.
fn remove_address_label<H: Addresses>(host: &mut H, p: &Params) {
    let (Some(value), IpAddr::V6(ip)) = (p.address_label, p.ip) else {
        return;
    };
    let removed = match host.address_label(ip) {
        Ok(Some(existing)) if existing == value => host.delete_address_label(ip, value),
        Ok(Some(existing)) => {
            debug!("{ip}/128 has address label {existing}, not {value}: not ours, left alone");
            return;
        }
        Ok(None) => return,
        Err(e) => Err(e),
    };
    match removed {
        Ok(()) => info!("removed address label {value} of {ip}/128"),
        Err(e) => warn!("{}", e.reason),
    }
}

/// Before adding: the address on another interface is someone else's, except on lo where
/// lvs_support parks it at stop.
fn take_back_or_refuse_other_holders<H: Host>(host: &mut H, p: &Params, link: &Link) -> Result<()> {
    for (other, assigned) in host.holders(p.ip)? {
        let name = host
            .link_by_index(other)?
            .map(|l| l.name)
            .unwrap_or_else(|| other.to_string());
        if p.lvs_support && name == "lo" {
            host.delete_address(other, p.ip, assigned.prefix_len)?;
            continue;
        }
        return Err(Error::conflict(format!(
            "{} is already assigned to {name}; not adding it to {} as well",
            p.ip, link.name
        )));
    }
    Ok(())
}

/// The address as start adds it (and reload replaces it) on `target`.
fn address_request(p: &Params, target: &Target, label: Option<String>) -> AddressRequest {
    AddressRequest {
        ifindex: target.link.index,
        ip: p.ip,
        prefix_len: target.prefix_len,
        label,
        broadcast: broadcast_of(p, target.prefix_len),
        nodad: p.nodad,
        noprefixroute: p.noprefixroute,
        preferred_lft: p.preferred_lft,
        // `metric` first; else, for IPv6 (IPaddr2 4.15), the placing route's, so the prefix
        // route is that route, not a second one with the kernel's default metric that would
        // shadow or duplicate it.
        route_metric: p
            .route_metric
            .or(target.route_metric.filter(|_| p.is_ipv6())),
    }
}

fn add<H: Host>(
    host: &mut H,
    p: &Params,
    deadline: &Deadline,
    target: &Target,
    label: Option<String>,
) -> Result<()> {
    let link = &target.link;
    host.add_address(&address_request(p, target, label))?;
    info!("added {}/{} to {}", p.ip, target.prefix_len, link.name);
    if p.is_ipv6() && !p.nodad {
        if link.usable() {
            wait_for_dad(host, p, deadline, target)?;
        } else {
            // DAD does not run on a link that is down; it completes when the link comes up.
            info!(
                "{} stays tentative until {} is up with carrier",
                p.ip, link.name
            );
        }
    }
    // Re-check after adding, as IPaddr2 does: a racing delete must not pass as success.
    match host.address(link.index, p.ip)? {
        Some(a) if !a.dadfailed && a.prefix_len == target.prefix_len => Ok(()),
        _ => {
            if let Err(e) = host.delete_address(link.index, p.ip, target.prefix_len) {
                warn!("{}", e.reason);
            }
            Err(Error::generic(format!(
                "{} vanished from {} right after it was added",
                p.ip, link.name
            )))
        }
    }
}

fn broadcast_of(p: &Params, prefix_len: u8) -> Option<std::net::Ipv4Addr> {
    match p.ip {
        IpAddr::V4(v4) => broadcast_address(v4, prefix_len, p.broadcast),
        IpAddr::V6(_) => None,
    }
}

fn wait_for_dad<H: Host>(
    host: &mut H,
    p: &Params,
    deadline: &Deadline,
    target: &Target,
) -> Result<()> {
    let link = &target.link;
    let began = host.now();
    loop {
        match host.address(link.index, p.ip)? {
            Some(a) if a.dadfailed => {
                if let Err(e) = host.delete_address(link.index, p.ip, target.prefix_len) {
                    warn!("{}", e.reason);
                }
                return Err(Error::generic(format!(
                    "duplicate address detected: another node on {}'s link already uses {}",
                    link.name, p.ip
                )));
            }
            Some(a) if !a.tentative => return Ok(()),
            Some(_) => {}
            None => {
                return Err(Error::generic(format!(
                    "{} vanished from {} during DAD",
                    p.ip, link.name
                )))
            }
        }
        let left = deadline.remaining(host);
        if left.is_zero() {
            break;
        }
        host.sleep(DAD_POLL.min(left));
    }
    if let Err(e) = host.delete_address(link.index, p.ip, target.prefix_len) {
        warn!("{}", e.reason);
    }
    let waited = host.now().saturating_sub(began);
    Err(Error::timeout(format!(
        "duplicate address detection for {} did not finish within {}ms (what the start timeout left)",
        p.ip,
        waited.as_millis()
    )))
}

/// The first round before start returns (when the link can carry it), the rest by the
/// resident process or, without arp_bg, here within the deadline.
fn announce_after_start<H: Host>(
    host: &mut H,
    p: &Params,
    meta: &Meta,
    deadline: &Deadline,
    target: &Target,
) -> Result<()> {
    let link = &target.link;
    let mut owed = p.announce.count;
    let mut sent_first = false;
    let mut tickle_again = Vec::new();
    if let Some(why) = no_announcement(link) {
        info!("{why}");
        owed = 0;
    } else if !link.usable() {
        // check_link_status=false on a link that is down: the resident process announces
        // when it comes up.
        info!(
            "{} is not up with carrier; {} will be announced when it is",
            link.name, p.ip
        );
    } else {
        host.announce(link, p.ip)?;
        info!("announced {} on {} (round 1 of {owed})", p.ip, link.name);
        sent_first = true;
        owed -= 1;
        // A failover's clients: told right after the first announcement (before any
        // foreground rounds), once more by the resident (a client answers invalid segments
        // only so often).
        tickle_again = tickle_clients(host, p, meta, deadline);
        if !p.announce.background {
            owed = foreground_rounds(host, p, deadline, link, owed)?;
        }
    }
    // Start's burst is the one arp_repeat_delay repeats (only when it went out).
    let plan = Plan {
        second_wave: sent_first,
        tickle_again,
        ..resident_plan(host, p, meta, target, owed)?
    };
    if plan.has_work() {
        host.start_resident(&plan)?;
    }
    Ok(())
}

/// How long start may wait for Pacemaker's attribute manager to hand over the client list.
const CLIENTS_READ_PATIENCE: Duration = Duration::from_millis(1500);

/// tickle_clients, under Pacemaker: reads the client list the address's last owner kept for
/// this node and tickles each client it names (only those the trust rules let through, see
/// `clients::decode`); returns them for the second round. Nothing here fails a start: a list
/// that cannot be read or trusted is logged and left.
fn tickle_clients<H: Host>(
    host: &mut H,
    p: &Params,
    meta: &Meta,
    deadline: &Deadline,
) -> Vec<Client> {
    if !p.tickle_clients {
        return Vec::new();
    }
    let Some(node) = meta.node.as_deref() else {
        debug!("not under Pacemaker: no client list to read, none kept");
        return Vec::new();
    };
    // At most half of what the operation has left: the rest of start must fit too.
    let patience = CLIENTS_READ_PATIENCE.min(deadline.remaining(host) / 2);
    let name = clients::attribute_name(&meta.resource);
    let (text, unix_now) = match host.recorded_clients(&name, node, patience) {
        Ok(Some(found)) => found,
        Ok(None) => {
            debug!(
                "no client list for {} (no earlier owner recorded one)",
                p.ip
            );
            return Vec::new();
        }
        Err(e) => {
            info!("no client list to tickle: {}", e.reason);
            return Vec::new();
        }
    };
    let clients = match clients::decode(p.ip, &text, unix_now) {
        Ok((clients, 0)) => clients,
        Ok((clients, dropped)) => {
            warn!(
                "ignored {dropped} entries of the client list for {} that cannot be clients of it",
                p.ip
            );
            clients
        }
        Err(refused) => {
            warn!("the client list for {} is ignored: {refused}", p.ip);
            return Vec::new();
        }
    };
    if clients.is_empty() {
        return clients;
    }
    let pairs: Vec<_> = clients.iter().map(|c| c.pair(p.ip)).collect();
    match host.tickle(&pairs) {
        Ok(sent) => info!(
            "tickled {sent} of {} client(s) of {} (the last owner's connections)",
            pairs.len(),
            p.ip
        ),
        Err(e) => warn!("cannot tickle the clients of {}: {}", p.ip, e.reason),
    }
    clients
}

/// arp_bg=false: the rounds after the first, sent here. Whatever the deadline leaves no room
/// for (start took longer than planned, e.g. a slow DAD) goes to the resident process rather
/// than being dropped. Returns the rounds still owed.
fn foreground_rounds<H: Host>(
    host: &mut H,
    p: &Params,
    deadline: &Deadline,
    link: &Link,
    mut owed: u32,
) -> Result<u32> {
    let interval = Duration::from_millis(u64::from(p.announce.interval_ms));
    while owed > 0 {
        if deadline.remaining(host) <= interval {
            warn!(
                "{owed} rounds for {} do not fit in the start timeout; the background process sends them",
                p.ip
            );
            break;
        }
        host.sleep(interval);
        host.announce(link, p.ip)?;
        owed -= 1;
    }
    Ok(owed)
}

/// The resident process's plan for this resource with the address on `target`. On a link
/// that takes no announcements there are none to send, refresh or repeat; what is left is
/// watching standby adapters or the link.
fn resident_plan<H: Links>(
    host: &mut H,
    p: &Params,
    meta: &Meta,
    target: &Target,
    rounds: u32,
) -> Result<Plan> {
    let adapters = if p.nics.len() > 1 {
        standby_adapters(host, &p.nics)?
    } else {
        vec![target.link.name.clone()]
    };
    let announces = target.link.announces;
    Ok(Plan {
        resource: meta.resource.clone(),
        node: meta.node.clone(),
        ip: p.ip,
        prefix_len: target.prefix_len,
        address: AddressTemplate {
            label: p.label.clone(),
            broadcast: broadcast_of(p, target.prefix_len),
            nodad: p.nodad,
            noprefixroute: p.noprefixroute,
            preferred_lft: match p.preferred_lft {
                Lifetime::Forever => None,
                Lifetime::Seconds(s) => Some(s),
            },
        },
        adapters,
        rounds: if announces { rounds } else { 0 },
        burst_rounds: p.announce.count,
        interval_ms: p.announce.interval_ms,
        refresh_every_ms: (announces && p.announce.refresh_interval_s > 0)
            .then(|| u64::from(p.announce.refresh_interval_s) * 1000),
        defend: announces && p.announce.defend,
        repeat_after_ms: (announces && p.announce.repeat_delay_s > 0)
            .then(|| u64::from(p.announce.repeat_delay_s) * 1000),
        second_wave: false,
        failback_delay_ms: p.failback_delay_ms,
        link_watch: p.link_watch,
        // Under Pacemaker only: without a cluster there is no one to share the list with.
        record_clients: p.tickle_clients && meta.node.is_some(),
        tickle_again: Vec::new(),
    })
}

/// Standby adapters under their interfaces' own names: a user may list an alternative name,
/// and the resident follows the kernel's link notices, which carry the primary one (issue 15
/// found no take-over for an altname). One not present keeps the name given; two names of
/// one interface are a configuration error.
fn standby_adapters<H: Links>(host: &mut H, nics: &[String]) -> Result<Vec<String>> {
    let mut seen: Vec<(u32, &str)> = Vec::new();
    let mut names = Vec::with_capacity(nics.len());
    for nic in nics {
        let Some(link) = host.link_by_name(nic)? else {
            names.push(nic.clone());
            continue;
        };
        if let Some((_, other)) = seen.iter().find(|(index, _)| *index == link.index) {
            return Err(Error::configured(format!(
                "invalid nic {}: {other} and {nic} are one interface ({}); list each adapter once",
                nics.join(","),
                link.name
            )));
        }
        seen.push((link.index, nic));
        names.push(link.name);
    }
    Ok(names)
}

/// How long a probe may listen: arp_probe_wait, but never past the deadline.
fn probe_wait<H: Clock>(host: &mut H, p: &Params, deadline: &Deadline) -> Duration {
    Duration::from_millis(u64::from(p.announce.probe_wait_ms)).min(deadline.remaining(host))
}

/// Probes for another owner; the reason names its MAC.
fn other_owner<H: Wire>(
    host: &mut H,
    p: &Params,
    link: &Link,
    wait: Duration,
) -> Result<Option<MacAddr>> {
    if !link.announces || !link.usable() {
        return Ok(None);
    }
    host.probe(link, p.ip, wait)
}

fn mac_of(link: &Link) -> String {
    link.mac
        .map_or_else(|| "no MAC".to_string(), |m| m.to_string())
}

/// stop: ends every process of ours for this resource first (after stop returns none may
/// announce), then removes the address wherever this resource may have put it, then looks at
/// every interface: success only if the address is on none of them (lo under lvs_support
/// excepted, which is that option's purpose).
pub fn stop<H: Host>(host: &mut H, p: &Params, meta: &Meta) -> Result<()> {
    let deadline = Deadline::for_operation(meta);
    let patience = deadline.remaining(host);
    host.end_residents(patience)?;
    // With lvs_support the address stays on lo and goes on serving its connections.
    let resets = p.reset_connections && !p.lvs_support;
    if resets {
        reset_connections(host, p.ip);
    }
    let recorded = matching_record(host, p);
    let wanted = expected_prefix(p, recorded.as_ref());
    let mut removed = false;
    for link in candidate_links(host, p)? {
        let Some(a) = host.address(link.index, p.ip)? else {
            continue;
        };
        if wanted.is_some_and(|w| w != a.prefix_len) {
            continue;
        }
        let priority = if p.is_ipv6() {
            host.route_priority(link.index, p.ip)?
        } else {
            None
        };
        host.delete_address(link.index, p.ip, a.prefix_len)?;
        removed = true;
        info!("removed {}/{} from {}", p.ip, a.prefix_len, link.name);
        if let Some(priority) = priority {
            // What is left of its route is no longer the address's: a warning, not a failed
            // stop, which would get the node fenced over a route.
            if let Err(e) = drop_own_prefix_route(host, p.ip, &link, a.prefix_len, priority) {
                warn!("{}", e.reason);
            }
        }
    }
    if resets && removed {
        // A client that reconnected between the first reset and the removal.
        reset_connections(host, p.ip);
    }
    // The label goes with the address, as in IPaddr2, and only where this resource ran: a
    // stop on a node it never started on leaves an administrator's label alone.
    if removed || recorded.is_some() {
        remove_address_label(host, p);
    }
    let still_held = left_behind(host, p)?;
    if p.lvs_support {
        park_on_loopback(host, p)?;
    }
    if let Some(mac) = p.vmac {
        host.delete_virtual_interface(&virtual_interface_name(p.ip), mac)?;
    }
    if !still_held.is_empty() {
        return Err(Error::generic(format!(
            "{} is still on {}: not this resource's address as configured, so it was left alone; remove it by hand or fix the parameters",
            p.ip,
            still_held.join(", ")
        )));
    }
    forget_quietly(host);
    Ok(())
}

/// reset_connections: the address's TCP connections are reset so that each client reconnects
/// at once to wherever the address goes. Best effort: a stop never fails over it.
fn reset_connections<H: Connections>(host: &mut H, ip: IpAddr) {
    match host.reset_connections(ip) {
        Ok(0) => {}
        Ok(n) => info!("reset {n} TCP connection(s) to {ip}; their clients reconnect at once"),
        Err(e) => warn!("{}; its TCP connections are left to time out", e.reason),
    }
}

/// Every interface still holding the address after stop removed its own, as "name as /len";
/// lo under lvs_support is that option's purpose, not left behind.
fn left_behind<H: Host>(host: &mut H, p: &Params) -> Result<Vec<String>> {
    let mut held = Vec::new();
    for (ifindex, a) in host.holders(p.ip)? {
        let name = host
            .link_by_index(ifindex)?
            .map_or_else(|| ifindex.to_string(), |l| l.name);
        if p.lvs_support && name == "lo" {
            continue;
        }
        held.push(format!("{name} as /{}", a.prefix_len));
    }
    Ok(held)
}

/// The record only helps later operations find the address; failing to drop it must not fail
/// a stop whose address is gone.
fn forget_quietly<H: Records>(host: &mut H) {
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
            route_metric: None,
        })?;
        info!("lvs_support: kept {}/32 on lo", p.ip);
    }
    Ok(())
}

/// monitor: Success, NotRunning, or an error for a failed resource. `deep` (check level 10)
/// also probes the link for another machine answering for the address: the address is
/// announced again and the result is OCF_DEGRADED with a reason naming that machine, since a
/// restart here would not resolve the conflict.
pub fn monitor<H: Host>(host: &mut H, p: &Params, meta: &Meta, deep: bool) -> Result<Status> {
    let deadline = Deadline::for_operation(meta);
    let Some((target, assigned)) = find_managed(host, p)? else {
        return Ok(Status::NotRunning);
    };
    let link = &target.link;
    if assigned.dadfailed {
        return Err(Error::generic(format!(
            "duplicate address detected: {} on {} failed DAD",
            p.ip, link.name
        )));
    }
    let link_down_allowed = !p.check_link_status && !link.usable();
    if assigned.tentative && (link_down_allowed || assigned.age.is_none_or(|age| age < DAD_GRACE)) {
        // DAD restarts after a link flap and waits while the link is down.
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
        // No usable interface holds it (find_managed prefers a usable holder among standby
        // adapters): to a monitor it is not running here (ocf::exit_status).
        if let Some(problem) = link_problem(link) {
            return Err(Error::link_down(problem));
        }
    }
    let recurring = meta.interval_ms > 0;
    log_monitor_notes(p, link, deep, recurring);
    if deep {
        let wait = probe_wait(host, p, &deadline);
        if let Some(theirs) = other_owner(host, p, link, wait)? {
            return Err(conflict(host, p, meta, &target, theirs));
        }
    }
    if recurring && link.usable() {
        if link.announces && p.announce.refresh_count > 0 {
            announce_now(host, p, meta, &target, p.announce.refresh_count)?;
        } else {
            let plan = resident_plan(host, p, meta, &target, 0)?;
            if plan.watches() && !host.resident_running() {
                // The resident process should live as long as the resource; bring it back.
                warn!(
                    "the background process for {} was not running; restarting it",
                    p.ip
                );
                host.start_resident(&plan)?;
            }
        }
    }
    Ok(Status::Success)
}

/// What a monitor says about where the address is and, when probes or refreshes were asked
/// for, why none go out. Log lines only: nothing here decides (the mutants config leaves it
/// out for that reason).
fn log_monitor_notes(p: &Params, link: &Link, deep: bool, recurring: bool) {
    if p.nics.len() > 1 {
        info!("{} is on {} of nic {}", p.ip, link.name, p.nics.join(","));
    }
    if deep || (recurring && p.announce.refresh_count > 0) {
        if let Some(why) = no_announcement(link) {
            info!("{why}");
        }
    }
}

/// Another machine answered for the address: defend it (unless conflict_defend=false) and
/// report the conflict (OCF_DEGRADED to a monitor) with a reason naming that machine. A failure to defend is logged, not
/// turned into a failed monitor: the conflict is the news.
fn conflict<H: Host>(
    host: &mut H,
    p: &Params,
    meta: &Meta,
    target: &Target,
    theirs: MacAddr,
) -> Error {
    let link = &target.link;
    warn!(
        "conflict: {} is claimed by {theirs} while this node ({}) holds it on {}",
        p.ip,
        mac_of(link),
        link.name
    );
    let defended = p.announce.defend
        && match announce_now(host, p, meta, target, DEFENCE_ROUNDS) {
            Ok(()) => true,
            Err(e) => {
                warn!("could not announce {} again: {}", p.ip, e.reason);
                false
            }
        };
    Error::conflict(format!(
        "{} is also answered by {theirs} on {}'s link (this node is {}){}",
        p.ip,
        link.name,
        mac_of(link),
        if defended { "; announced again" } else { "" }
    ))
}

/// `rounds` rounds now: the first a refresh round sent here, the rest by the resident process
/// (handed a plan that owes them, or started for them).
fn announce_now<H: Host>(
    host: &mut H,
    p: &Params,
    meta: &Meta,
    target: &Target,
    rounds: u32,
) -> Result<()> {
    // Best effort: a frame the egress queue cannot take now (ENOBUFS) is no failed resource;
    // the rounds after it go out from the resident all the same.
    if let Err(e) = host.refresh(&target.link, p.ip) {
        warn!("could not refresh {} now: {}", p.ip, e.reason);
    }
    let plan = resident_plan(host, p, meta, target, rounds.saturating_sub(1))?;
    if !plan.has_work() || host.update_resident(&plan)? {
        return Ok(());
    }
    host.start_resident(&plan)
}

/// The metric the kernel gives an IPv6 prefix route for an address's priority (0: its
/// default, IP6_RT_PRIO_ADDRCONF).
const IPV6_DEFAULT_PREFIX_METRIC: u32 = 256;

fn ipv6_route_metric(priority: u32) -> u32 {
    if priority == 0 {
        IPV6_DEFAULT_PREFIX_METRIC
    } else {
        priority
    }
}

/// The metrics of the kernel's own prefix routes (proto kernel) of exactly `ip`/`prefix_len`
/// via `link`.
fn kernel_prefix_routes<H: Links>(
    host: &mut H,
    ip: IpAddr,
    link: &Link,
    prefix_len: u8,
) -> Result<Vec<u32>> {
    Ok(host
        .routes(ip)?
        .iter()
        .filter(|r| r.kind == RouteKind::Unicast && r.protocol == RTPROT_KERNEL)
        .filter(|r| r.ifindex == Some(link.index) && r.prefix_len == prefix_len)
        .filter(|r| covers(r.destination, prefix_len, ip))
        .map(|r| r.metric)
        .collect())
}

/// The kernel keeps an IPv6 address's prefix route when it deletes the address while
/// another address of the prefix is on the interface, whatever that one's own metric
/// (check_cleanup_prefix_route): the route of a `metric` no remaining address has would stay
/// behind. It goes, and only it (proto kernel, that metric).
fn drop_own_prefix_route<H: Host>(
    host: &mut H,
    ip: IpAddr,
    link: &Link,
    prefix_len: u8,
    priority: u32,
) -> Result<()> {
    let metric = ipv6_route_metric(priority);
    if !kernel_prefix_routes(host, ip, link, prefix_len)?.contains(&metric) {
        return Ok(());
    }
    let wanted = host.prefix_priorities(link.index, ip, prefix_len)?;
    if wanted.iter().any(|p| ipv6_route_metric(*p) == metric) {
        return Ok(());
    }
    host.delete_prefix_route(link.index, ip, prefix_len, metric)?;
    info!(
        "removed the prefix route of {ip}/{prefix_len} on {} with metric {metric}, which no address there has any more",
        link.name
    );
    Ok(())
}

/// reload-agent's `metric`: the running address's prefix route takes the new metric in place
/// (the address is replaced, never removed, so nothing that uses it notices). Only a set
/// metric is applied: without it the metric start gives an IPv6 address is its placing
/// route's, which cannot be told apart from the address's own route while it is there, so
/// a removed metric waits for the next start.
fn apply_metric<H: Host>(host: &mut H, p: &Params, target: &Target) -> Result<()> {
    let Some(metric) = p.route_metric else {
        return Ok(());
    };
    let link = &target.link;
    let Some(now) = host.route_priority(link.index, p.ip)? else {
        return Ok(());
    };
    if now == metric {
        return Ok(());
    }
    let ipv6 = p.is_ipv6() && !p.noprefixroute;
    let before = if ipv6 {
        kernel_prefix_routes(host, p.ip, link, target.prefix_len)?
    } else {
        Vec::new()
    };
    let label = kernel_label(p, target)?;
    host.replace_address(&address_request(p, target, label))?;
    if ipv6 {
        settle_ipv6_prefix_routes(host, p.ip, target, &before, now)?;
    }
    info!(
        "the prefix route of {}/{} on {} now has metric {metric} (was {now})",
        p.ip, target.prefix_len, link.name
    );
    Ok(())
}

/// After an IPv6 address's priority changed in place: the kernel replaces the first prefix
/// route it finds on the interface (modify_prefix_route), which may be another address's
/// (the node's own, say) while the address's old one stays. What the other addresses had is
/// put back, and the old route goes unless an address still has its metric.
fn settle_ipv6_prefix_routes<H: Host>(
    host: &mut H,
    ip: IpAddr,
    target: &Target,
    before: &[u32],
    old_priority: u32,
) -> Result<()> {
    let (link, prefix_len) = (&target.link, target.prefix_len);
    let after = kernel_prefix_routes(host, ip, link, prefix_len)?;
    let wanted: Vec<u32> = host
        .prefix_priorities(link.index, ip, prefix_len)?
        .into_iter()
        .map(ipv6_route_metric)
        .collect();
    for metric in before {
        if wanted.contains(metric) && !after.contains(metric) {
            host.add_prefix_route(link.index, ip, prefix_len, *metric)?;
            warn!(
                "put back the prefix route of {ip}/{prefix_len} on {} with metric {metric}, which the kernel took when the metric changed",
                link.name
            );
        }
    }
    let old = ipv6_route_metric(old_priority);
    if after.contains(&old) && !wanted.contains(&old) {
        host.delete_prefix_route(link.index, ip, prefix_len, old)?;
    }
    Ok(())
}

/// reload-agent: the running resident process takes the new plan (a reloadable parameter
/// takes effect without moving the address); one is started or ended if the new parameters
/// need one where the old did not, or the reverse.
pub fn reload<H: Host>(host: &mut H, p: &Params, meta: &Meta) -> Result<()> {
    let deadline = Deadline::for_operation(meta);
    let Some((target, _)) = find_managed(host, p)? else {
        info!(
            "{} is not on this node; the new settings apply at the next start",
            p.ip
        );
        return Ok(());
    };
    apply_metric(host, p, &target)?;
    let plan = resident_plan(host, p, meta, &target, 0)?;
    // A running process takes the plan even when it brings no lasting work: it finishes
    // what it owes (a pending second wave) and then exits by itself.
    if !host.update_resident(&plan)? {
        if plan.has_work() {
            host.start_resident(&plan)?;
        } else {
            let patience = deadline.remaining(host);
            host.end_residents(patience)?;
        }
    }
    info!("reloaded: {}", p.reloadable_settings());
    Ok(())
}
