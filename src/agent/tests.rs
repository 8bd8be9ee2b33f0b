//! Decisions against a host in memory that records every effect in order, so promises that
//! are orderings ("end the resident process before deleting the address") are asserted as
//! orderings.

use super::*;
use crate::error::Kind;
use crate::params::{parse, virtual_interface_name, RawParams};
use crate::resident::machine::{
    Effect as ResidentEffect, Event as ResidentEvent, Found as FoundAddress, Machine,
};
use crate::resolve::{Route, RouteKind};
use std::collections::BTreeMap;
use std::net::{Ipv6Addr, SocketAddr};

/// What the agent did to the host, in order.
#[derive(Debug, Clone, PartialEq)]
enum Effect {
    Added(u32, u8),
    Deleted(u32, u8),
    Announced(u32),
    Refreshed(u32),
    Probed(u32, Duration),
    ResidentStarted(Plan),
    ResidentUpdated(Plan),
    /// A round the resident's machine sent, from this interface, at this time.
    ResidentSent(u32, Duration),
    ResidentsEnded(Duration),
    Recorded(Record),
    Forgot,
    VirtualCreated(String),
    VirtualDeleted(String),
    ArpIsolated(String),
    LinkDownRoutesIgnored(String),
    AddressLabelAdded(Ipv6Addr, u32),
    AddressLabelRemoved(Ipv6Addr, u32),
    ConnectionsReset,
    Tickled(Vec<(SocketAddr, SocketAddr)>),
    /// The resident's second round of tickles: how many, when.
    ResidentTickled(usize, Duration),
}

/// A host in memory: links, routes, addresses, a clock that moves only when slept on, and the
/// log of effects.
#[derive(Default)]
struct FakeHost {
    links: Vec<Link>,
    routes: Vec<Route>,
    addresses: BTreeMap<(u32, IpAddr), Assigned>,
    record: Option<Record>,
    /// The plan of the resident process while it runs (a test sets None to kill it).
    resident: Option<Plan>,
    /// The resident's real state machine, driven by the fake clock: the agent and the
    /// resident are tested together.
    machine: Option<Machine>,
    effects: Vec<Effect>,
    clock: Duration,
    /// Address reads before a tentative address settles (u32::MAX: never).
    dad_polls_until_done: u32,
    dad_fails: bool,
    end_residents_fails: bool,
    /// A delete that reports success and leaves the address (a kernel that lies).
    delete_is_ignored: bool,
    announce_fails: bool,
    /// The kernel cannot reset connections (no SOCK_DESTROY).
    reset_fails: bool,
    refresh_fails: bool,
    other_owner: Option<MacAddr>,
    /// Every address request, in order (the effects keep only interface and prefix).
    requests: Vec<AddressRequest>,
    /// `ip addrlabel`: prefix/128 -> label.
    address_labels: BTreeMap<Ipv6Addr, u32>,
    /// Alternative names -> interface index (`ip link property add ... altname`).
    altnames: BTreeMap<String, u32>,
    /// What a successful add leaves in the kernel, when a race changes it: None, nothing
    /// (deleted at once); Some(len), the address with another prefix.
    add_lands_as: Option<Option<u8>>,
    /// The client list Pacemaker's attribute manager holds for this node.
    client_list: Option<String>,
}

const ETH0: u32 = 2;
const ETH1: u32 = 3;
const LO: u32 = 1;

impl FakeHost {
    fn lab() -> FakeHost {
        let eth0 = Link {
            index: ETH0,
            name: "eth0".into(),
            mac: Some(MacAddr(2, 0, 0, 0, 0, 1)),
            up: true,
            carrier: true,
            announces: true,
            layer: LinkLayer::Ethernet,
        };
        FakeHost {
            links: vec![
                Link {
                    index: LO,
                    name: "lo".into(),
                    mac: None,
                    announces: false,
                    layer: LinkLayer::Layer3,
                    ..eth0.clone()
                },
                eth0,
            ],
            routes: vec![route("198.51.100.0", 24, ETH0, true)],
            ..FakeHost::default()
        }
    }

    fn with_eth1(mut self) -> FakeHost {
        self.links.push(Link {
            index: ETH1,
            name: "eth1".into(),
            mac: Some(MacAddr(2, 0, 0, 0, 0, 3)),
            ..self.links[1].clone()
        });
        self.routes.push(route("198.51.100.0", 24, ETH1, true));
        self
    }

    fn with_ipv6(mut self) -> FakeHost {
        self.routes.push(route("2001:db8:100::", 64, ETH0, false));
        self
    }

    fn link_mut(&mut self, index: u32) -> &mut Link {
        self.links.iter_mut().find(|l| l.index == index).unwrap()
    }

    fn holds(&self, ifindex: u32, ip: IpAddr) -> Option<u8> {
        self.addresses.get(&(ifindex, ip)).map(|a| a.prefix_len)
    }

    fn put(&mut self, ifindex: u32, ip: IpAddr, prefix_len: u8) {
        self.addresses.insert((ifindex, ip), settled(prefix_len));
    }

    fn position(&self, wanted: impl Fn(&Effect) -> bool) -> Option<usize> {
        self.effects.iter().position(wanted)
    }

    fn count(&self, wanted: impl Fn(&Effect) -> bool) -> usize {
        self.effects.iter().filter(|e| wanted(e)).count()
    }

    fn sent_rounds(&self) -> usize {
        self.count(|e| matches!(e, Effect::Announced(_) | Effect::Refreshed(_)))
    }
}

fn settled(prefix_len: u8) -> Assigned {
    Assigned {
        prefix_len,
        tentative: false,
        dadfailed: false,
        age: None,
    }
}

fn route(dst: &str, prefix_len: u8, ifindex: u32, link_scope: bool) -> Route {
    Route {
        destination: dst.parse().unwrap(),
        prefix_len,
        ifindex: Some(ifindex),
        kind: RouteKind::Unicast,
        link_scope,
        has_gateway: false,
        protocol: 2,
        metric: 0,
    }
}

impl Links for FakeHost {
    fn link_by_name(&mut self, name: &str) -> Result<Option<Link>> {
        // As the kernel: the interface's own name, or one of its alternative names.
        let index = self.altnames.get(name).copied();
        Ok(self
            .links
            .iter()
            .find(|l| l.name == name || Some(l.index) == index)
            .cloned())
    }
    fn link_by_index(&mut self, index: u32) -> Result<Option<Link>> {
        Ok(self.links.iter().find(|l| l.index == index).cloned())
    }
    fn routes(&mut self, _ip: IpAddr) -> Result<Vec<Route>> {
        Ok(self.routes.clone())
    }
    fn ensure_virtual_interface(
        &mut self,
        lower: &Link,
        name: &str,
        mac: MacAddr,
    ) -> Result<(Link, bool)> {
        if let Some(existing) = self.links.iter().find(|l| l.name == name) {
            return Ok((existing.clone(), false));
        }
        let link = Link {
            index: 100 + self.links.len() as u32,
            name: name.to_string(),
            mac: Some(mac),
            ..lower.clone()
        };
        self.links.push(link.clone());
        self.effects.push(Effect::VirtualCreated(name.to_string()));
        Ok((link, true))
    }
    fn delete_virtual_interface(&mut self, name: &str, mac: MacAddr) -> Result<()> {
        let before = self.links.len();
        self.links
            .retain(|l| !(l.name == name && l.mac == Some(mac)));
        if self.links.len() < before {
            self.effects.push(Effect::VirtualDeleted(name.to_string()));
        }
        Ok(())
    }
    fn isolate_arp(&mut self, link: &Link) -> Result<()> {
        self.effects.push(Effect::ArpIsolated(link.name.clone()));
        Ok(())
    }
    fn ignore_routes_when_link_down(&mut self, link: &Link, _ip: IpAddr) -> Result<()> {
        self.effects
            .push(Effect::LinkDownRoutesIgnored(link.name.clone()));
        Ok(())
    }
}

impl Addresses for FakeHost {
    fn address(&mut self, ifindex: u32, ip: IpAddr) -> Result<Option<Assigned>> {
        let Some(a) = self.addresses.get_mut(&(ifindex, ip)) else {
            return Ok(None);
        };
        if a.tentative && !a.dadfailed {
            if self.dad_polls_until_done == 0 {
                a.tentative = false;
                a.dadfailed = self.dad_fails;
            } else if self.dad_polls_until_done != u32::MAX {
                self.dad_polls_until_done -= 1;
            }
        }
        Ok(Some(*a))
    }
    fn holders(&mut self, ip: IpAddr) -> Result<Vec<(u32, Assigned)>> {
        Ok(self
            .addresses
            .iter()
            .filter(|((_, a), _)| *a == ip)
            .map(|((i, _), assigned)| (*i, *assigned))
            .collect())
    }
    fn add_address(&mut self, r: &AddressRequest) -> Result<()> {
        let tentative = r.ip.is_ipv6() && !r.nodad;
        let prefix_len = match self.add_lands_as {
            None => Some(r.prefix_len),
            Some(raced) => raced,
        };
        if let Some(prefix_len) = prefix_len {
            self.addresses.insert(
                (r.ifindex, r.ip),
                Assigned {
                    tentative,
                    ..settled(prefix_len)
                },
            );
        }
        self.effects.push(Effect::Added(r.ifindex, r.prefix_len));
        self.requests.push(r.clone());
        Ok(())
    }
    fn delete_address(&mut self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Result<()> {
        if !self.delete_is_ignored {
            self.addresses.remove(&(ifindex, ip));
        }
        self.effects.push(Effect::Deleted(ifindex, prefix_len));
        Ok(())
    }
    fn address_label(&mut self, ip: Ipv6Addr) -> Result<Option<u32>> {
        Ok(self.address_labels.get(&ip).copied())
    }
    fn add_address_label(&mut self, ip: Ipv6Addr, label: u32) -> Result<()> {
        if self.address_labels.insert(ip, label).is_some() {
            return Err(Error::generic("File exists"));
        }
        self.effects.push(Effect::AddressLabelAdded(ip, label));
        Ok(())
    }
    fn delete_address_label(&mut self, ip: Ipv6Addr, label: u32) -> Result<()> {
        // As the kernel: by prefix, whatever the label.
        if self.address_labels.remove(&ip).is_some() {
            self.effects.push(Effect::AddressLabelRemoved(ip, label));
        }
        Ok(())
    }
}

impl Wire for FakeHost {
    fn announce(&mut self, link: &Link, _ip: IpAddr) -> Result<()> {
        if self.announce_fails || !link.usable() {
            return Err(Error::generic(format!(
                "cannot send on {}: Network is down",
                link.name
            )));
        }
        self.effects.push(Effect::Announced(link.index));
        Ok(())
    }
    fn refresh(&mut self, link: &Link, _ip: IpAddr) -> Result<()> {
        if self.refresh_fails {
            return Err(Error::generic(format!(
                "cannot send on {}: No buffer space available (os error 105)",
                link.name
            )));
        }
        self.effects.push(Effect::Refreshed(link.index));
        Ok(())
    }
    fn probe(&mut self, link: &Link, _ip: IpAddr, wait: Duration) -> Result<Option<MacAddr>> {
        self.effects.push(Effect::Probed(link.index, wait));
        self.clock += wait;
        Ok(self.other_owner)
    }
}

impl FakeHost {
    /// Lets the clock run `ms` milliseconds between operations, the resident acting meanwhile.
    fn advance(&mut self, ms: u64) {
        self.clock += Duration::from_millis(ms);
        self.run_resident();
    }

    /// Runs the resident's machine up to the clock, as its event loop would: timers only
    /// (the links do not change by themselves here).
    fn run_resident(&mut self) {
        if self.resident.is_none() {
            self.machine = None;
        }
        for _ in 0..100_000 {
            let Some(machine) = self.machine.as_mut() else {
                return;
            };
            let Some(at) = machine.next_wakeup().filter(|at| *at <= self.clock) else {
                return;
            };
            let effects = machine.handle(at, ResidentEvent::Tick);
            self.perform_resident(at, effects);
        }
        panic!("the resident's machine keeps asking to be woken at once");
    }

    fn perform_resident(&mut self, at: Duration, effects: Vec<ResidentEffect>) {
        for effect in effects {
            match effect {
                ResidentEffect::LookUpLink { index } => {
                    let link = self.links.iter().find(|l| l.index == index).cloned();
                    if let Some(machine) = self.machine.as_mut() {
                        let answer = ResidentEvent::LinkLookedUp { index, link };
                        let effects = machine.handle(at, answer);
                        self.perform_resident(at, effects);
                    }
                }
                // One segment: every probe is heard.
                ResidentEffect::ProbeSegment { id, .. } => {
                    if let Some(machine) = self.machine.as_mut() {
                        let heard = ResidentEvent::SegmentProbed { id, heard: true };
                        let effects = machine.handle(at, heard);
                        self.perform_resident(at, effects);
                    }
                }
                ResidentEffect::Send { index, .. } => {
                    self.effects.push(Effect::ResidentSent(index, at));
                }
                ResidentEffect::Tickle(clients) => {
                    self.effects
                        .push(Effect::ResidentTickled(clients.len(), at));
                }
                ResidentEffect::Exit(_) => {
                    self.machine = None;
                    self.resident = None;
                }
                _ => {}
            }
        }
    }

    fn resident_sends(&self) -> Vec<Duration> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::ResidentSent(_, at) => Some(*at),
                _ => None,
            })
            .collect()
    }
}

impl Processes for FakeHost {
    fn start_resident(&mut self, plan: &Plan) -> Result<()> {
        self.resident = Some(plan.clone());
        self.effects.push(Effect::ResidentStarted(plan.clone()));
        let found: Vec<(u32, FoundAddress)> = self
            .addresses
            .iter()
            .filter(|((_, ip), _)| *ip == plan.ip)
            .map(|((index, _), a)| {
                let found = FoundAddress {
                    prefix_len: a.prefix_len,
                    tentative: a.tentative,
                    dadfailed: a.dadfailed,
                };
                (*index, found)
            })
            .collect();
        let (machine, first) = Machine::new(plan.clone(), &self.links, &found, self.clock);
        self.machine = Some(machine);
        self.perform_resident(self.clock, first);
        Ok(())
    }
    fn update_resident(&mut self, plan: &Plan) -> Result<bool> {
        self.run_resident();
        if self.resident.is_none() {
            return Ok(false);
        }
        self.resident = Some(plan.clone());
        self.effects.push(Effect::ResidentUpdated(plan.clone()));
        if let Some(machine) = self.machine.as_mut() {
            let effects = machine.handle(self.clock, ResidentEvent::NewPlan(plan.clone()));
            self.perform_resident(self.clock, effects);
        }
        Ok(true)
    }
    fn resident_running(&mut self) -> bool {
        self.run_resident();
        self.resident.is_some()
    }
    fn end_residents(&mut self, patience: Duration) -> Result<()> {
        self.effects.push(Effect::ResidentsEnded(patience));
        if self.end_residents_fails {
            return Err(Error::generic("background process 4242 did not exit"));
        }
        self.resident = None;
        self.machine = None;
        Ok(())
    }
}

impl Connections for FakeHost {
    fn reset_connections(&mut self, _ip: IpAddr) -> Result<usize> {
        self.effects.push(Effect::ConnectionsReset);
        if self.reset_fails {
            return Err(Error::generic("this kernel cannot reset TCP connections"));
        }
        Ok(1)
    }
    fn recorded_clients(
        &mut self,
        _name: &str,
        _node: &str,
        _patience: Duration,
    ) -> Result<Option<(String, u64)>> {
        Ok(self.client_list.clone().map(|t| (t, CLIENTS_NOW)))
    }
    fn tickle(&mut self, pairs: &[(SocketAddr, SocketAddr)]) -> Result<usize> {
        self.effects.push(Effect::Tickled(pairs.to_vec()));
        Ok(pairs.len())
    }
}

/// The wall clock when a fake host reads a client list.
const CLIENTS_NOW: u64 = 1_800_000_000;

/// Issue 17: stop resets the address's connections before the address goes and once more
/// right after; never with lvs_support (the address stays on lo, serving), never when
/// turned off, and a kernel that cannot is no failed stop.
#[test]
fn stop_resets_the_connections_before_and_after_removing_the_address() {
    let mut host = FakeHost::lab();
    host.put(ETH0, vip(), 24);
    stop(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    let reset_at: Vec<usize> = host
        .effects
        .iter()
        .enumerate()
        .filter(|(_, e)| **e == Effect::ConnectionsReset)
        .map(|(i, _)| i)
        .collect();
    let deleted = host
        .position(|e| matches!(e, Effect::Deleted(ETH0, 24)))
        .unwrap();
    assert_eq!(reset_at.len(), 2, "{:?}", host.effects);
    assert!(reset_at[0] < deleted && deleted < reset_at[1]);
    // Nothing removed (not here): the first reset only.
    let mut host = FakeHost::lab();
    stop(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    assert_eq!(host.count(|e| *e == Effect::ConnectionsReset), 1);
    for off in [
        &[("ip", "198.51.100.50"), ("reset_connections", "false")][..],
        &[("ip", "198.51.100.50"), ("lvs_support", "true")][..],
    ] {
        let mut host = FakeHost::lab();
        host.put(ETH0, vip(), 24);
        stop(&mut host, &params(off), &meta()).unwrap();
        assert_eq!(host.count(|e| *e == Effect::ConnectionsReset), 0, "{off:?}");
    }
    let mut host = FakeHost::lab();
    host.put(ETH0, vip(), 24);
    host.reset_fails = true;
    stop(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    assert!(host.addresses.is_empty(), "the address goes all the same");
}

impl Records for FakeHost {
    fn record(&mut self, record: &Record) -> Result<()> {
        self.record = Some(record.clone());
        self.effects.push(Effect::Recorded(record.clone()));
        Ok(())
    }
    fn recorded(&mut self) -> Option<Record> {
        self.record.clone()
    }
    fn forget(&mut self) -> Result<()> {
        self.record = None;
        self.effects.push(Effect::Forgot);
        Ok(())
    }
}

impl Clock for FakeHost {
    fn now(&mut self) -> Duration {
        self.clock
    }
    fn sleep(&mut self, duration: Duration) {
        self.clock += duration;
    }
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut raw = RawParams::new();
    for (k, v) in pairs {
        assert!(raw.set(k, *v), "{k}");
    }
    parse(&raw, &Meta::default()).unwrap()
}

fn vip() -> IpAddr {
    "198.51.100.50".parse().unwrap()
}

fn vip6() -> IpAddr {
    "2001:db8:100::50".parse().unwrap()
}

fn meta() -> Meta {
    Meta::default()
}

fn with_timeout(ms: u64) -> Meta {
    Meta {
        timeout_ms: ms,
        ..Meta::default()
    }
}

fn recurring() -> Meta {
    Meta {
        interval_ms: 10_000,
        ..Meta::default()
    }
}

const ZOMBIE: MacAddr = MacAddr(2, 0, 0, 0, 0, 0x66);

// ---------------------------------------------------------------- start

#[test]
fn start_adds_records_announces_once_then_hands_the_rest_to_the_resident() {
    let mut host = FakeHost::lab();
    start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    let record = Record {
        ip: vip(),
        nic: "eth0".into(),
        prefix_len: 24,
        adapters: vec![ETH0],
    };
    let plan = match host.effects.last() {
        Some(Effect::ResidentStarted(plan)) => plan.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        host.effects,
        vec![
            Effect::ResidentsEnded(Duration::from_millis(18_000)),
            Effect::Added(ETH0, 24),
            Effect::Recorded(record),
            Effect::Announced(ETH0),
            Effect::ResidentStarted(plan.clone()),
        ]
    );
    assert_eq!(plan.rounds, 4, "arp_count 5: one sent, four owed");
    assert_eq!(plan.adapters, vec!["eth0".to_string()]);
    assert_eq!(plan.burst_rounds, 5);
    assert_eq!(plan.interval_ms, 200);
    assert!(plan.defend);
    assert_eq!(
        plan.address.broadcast,
        Some("198.51.100.255".parse().unwrap())
    );
}

#[test]
fn a_second_start_announces_again_without_touching_a_healthy_address() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50")]);
    start(&mut host, &p, &meta()).unwrap();
    host.effects.clear();
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(
        host.count(|e| matches!(e, Effect::Added(..) | Effect::Deleted(..))),
        0,
        "{:?}",
        host.effects
    );
    assert_eq!(host.count(|e| matches!(e, Effect::Announced(_))), 1);
    let ended = host.position(|e| matches!(e, Effect::ResidentsEnded(_)));
    let announced = host.position(|e| matches!(e, Effect::Announced(_)));
    assert!(ended < announced, "the old resident ends first");
}

#[test]
fn an_address_whose_dad_failed_is_replaced_not_announced() {
    let mut host = FakeHost::lab().with_ipv6();
    host.addresses.insert(
        (ETH0, vip6()),
        Assigned {
            dadfailed: true,
            ..settled(64)
        },
    );
    let p = params(&[("ip", "2001:db8:100::50"), ("nodad", "true")]);
    start(&mut host, &p, &meta()).unwrap();
    let deleted = host.position(|e| *e == Effect::Deleted(ETH0, 64)).unwrap();
    let added = host.position(|e| *e == Effect::Added(ETH0, 64)).unwrap();
    let announced = host
        .position(|e| matches!(e, Effect::Announced(_)))
        .unwrap();
    assert!(deleted < added && added < announced, "{:?}", host.effects);
    assert!(!host.addresses[&(ETH0, vip6())].dadfailed);
}

#[test]
fn foreground_burst_sends_every_round_itself_interval_apart() {
    let mut host = FakeHost::lab();
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("arp_bg", "false"),
        ("arp_count", "3"),
        ("arp_interval", "500"),
    ]);
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.sent_rounds(), 3);
    assert_eq!(host.clock, Duration::from_millis(1000));
    assert!(
        host.resident.is_none(),
        "nothing left for a background process"
    );
}

#[test]
fn a_foreground_burst_never_outlasts_the_start_timeout() {
    let mut host = FakeHost::lab();
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("arp_bg", "false"),
        ("arp_count", "5"),
        ("arp_interval", "1000"),
    ]);
    // Fits on paper (4 s of waits in 8 s), but this start is slow: the clock jumps.
    host.clock = Duration::ZERO;
    let meta = with_timeout(8_000);
    let deadline = Deadline::for_operation(&meta);
    let link = host.links[1].clone();
    host.clock = Duration::from_millis(4_500);
    let owed = foreground_rounds(&mut host, &p, &deadline, &link, 4).unwrap();
    assert!(
        host.clock <= Duration::from_millis(6_000),
        "{:?}",
        host.clock
    );
    assert!(owed > 0, "what does not fit is owed, not dropped");
}

#[test]
fn start_refuses_waits_that_cannot_fit_its_timeout() {
    let mut host = FakeHost::lab();
    for (pairs, timeout) in [
        (
            vec![
                ("ip", "198.51.100.50"),
                ("run_arping", "true"),
                ("arp_probe_wait", "10000"),
            ],
            3_000,
        ),
        (
            vec![
                ("ip", "198.51.100.50"),
                ("arp_bg", "false"),
                ("arp_count", "4"),
                ("arp_interval", "1000"),
            ],
            3_000,
        ),
        (vec![("ip", "2001:db8:100::50")], 3_000),
    ] {
        let p = params(&pairs);
        let err = start(&mut host, &p, &with_timeout(timeout)).unwrap_err();
        assert_eq!(err.kind, Kind::Configured, "{pairs:?}");
        let err = validate_environment(&mut host, &p, &with_timeout(timeout)).unwrap_err();
        assert_eq!(err.kind, Kind::Configured, "{pairs:?}");
        assert!(host.addresses.is_empty());
    }
}

#[test]
fn missing_nic_is_not_installed() {
    let mut host = FakeHost::lab();
    let err = start(
        &mut host,
        &params(&[("ip", "198.51.100.50"), ("nic", "eth9")]),
        &meta(),
    )
    .unwrap_err();
    assert_eq!(err.kind, Kind::Absent);
    assert!(host.addresses.is_empty());
}

#[test]
fn start_refuses_a_foreign_prefix_and_leaves_it() {
    let mut host = FakeHost::lab();
    host.put(ETH0, vip(), 16);
    let err = start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap_err();
    assert_eq!(err.kind, Kind::Conflict);
    assert_eq!(host.holds(ETH0, vip()), Some(16));
    assert_eq!(host.count(|e| matches!(e, Effect::Deleted(..))), 0);
}

#[test]
fn start_refuses_an_address_held_by_another_interface() {
    let mut host = FakeHost::lab().with_eth1();
    host.put(ETH1, vip(), 24);
    let err = start(
        &mut host,
        &params(&[("ip", "198.51.100.50"), ("nic", "eth0")]),
        &meta(),
    )
    .unwrap_err();
    assert!(err.reason.contains("eth1"), "{}", err.reason);
    assert_eq!(host.holds(ETH0, vip()), None);
    assert_eq!(host.holds(ETH1, vip()), Some(24));
}

#[test]
fn start_on_a_link_without_carrier_fails_without_adding() {
    let mut host = FakeHost::lab();
    host.link_mut(ETH0).carrier = false;
    let err = start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap_err();
    assert!(
        err.reason.contains("link down on NIC eth0"),
        "{}",
        err.reason
    );
    assert!(host.addresses.is_empty());
}

#[test]
fn a_failed_start_removes_only_what_it_added() {
    // The address was there before this start: a failure leaves it.
    let mut host = FakeHost::lab();
    host.put(ETH0, vip(), 24);
    host.announce_fails = true;
    start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap_err();
    assert_eq!(host.holds(ETH0, vip()), Some(24));
    assert_eq!(host.count(|e| matches!(e, Effect::Deleted(..))), 0);
    // This start added it: a failure takes it back and forgets the record.
    let mut host = FakeHost::lab();
    host.announce_fails = true;
    start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap_err();
    assert_eq!(host.holds(ETH0, vip()), None);
    assert_eq!(host.record, None);
}

#[test]
fn with_check_link_status_false_start_on_a_down_link_adds_and_defers_the_announcement() {
    let mut host = FakeHost::lab();
    host.put(ETH0, vip(), 24);
    host.link_mut(ETH0).up = false;
    let p = params(&[("ip", "198.51.100.50"), ("check_link_status", "false")]);
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(ETH0, vip()), Some(24), "the address stays");
    assert_eq!(host.count(|e| matches!(e, Effect::Announced(_))), 0);
    let plan = host
        .resident
        .clone()
        .expect("a resident owes the whole burst");
    assert_eq!(plan.rounds, 5);
    // And on a link that is down from the start: added, and announced later.
    let mut host = FakeHost::lab();
    host.link_mut(ETH0).carrier = false;
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(ETH0, vip()), Some(24));
    assert_eq!(host.resident.as_ref().map(|p| p.rounds), Some(5));
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
}

#[test]
fn ipv6_dad_failure_removes_the_address_and_announces_nothing() {
    let mut host = FakeHost::lab().with_ipv6();
    host.dad_polls_until_done = 3;
    host.dad_fails = true;
    let err = start(&mut host, &params(&[("ip", "2001:db8:100::50")]), &meta()).unwrap_err();
    assert!(
        err.reason.contains("duplicate address detected"),
        "{}",
        err.reason
    );
    assert!(host.addresses.is_empty());
    assert_eq!(host.sent_rounds(), 0);
    assert!(host.resident.is_none());
}

#[test]
fn dad_waits_no_longer_than_the_start_timeout_allows() {
    let mut host = FakeHost::lab().with_ipv6();
    host.dad_polls_until_done = u32::MAX;
    let err = start(
        &mut host,
        &params(&[("ip", "2001:db8:100::50")]),
        &with_timeout(5_000),
    )
    .unwrap_err();
    assert!(err.reason.contains("did not finish"), "{}", err.reason);
    assert!(
        host.clock <= Duration::from_millis(5_000 - 1_250),
        "waited {:?}",
        host.clock
    );
    assert!(host.addresses.is_empty());
}

#[test]
fn run_arping_refuses_an_address_someone_answers_for() {
    let mut host = FakeHost::lab();
    host.other_owner = Some(ZOMBIE);
    let p = params(&[("ip", "198.51.100.50"), ("run_arping", "true")]);
    let err = start(&mut host, &p, &meta()).unwrap_err();
    assert_eq!(err.kind, Kind::Conflict);
    assert!(err.reason.contains("02:00:00:00:00:66"), "{}", err.reason);
    assert!(host.addresses.is_empty(), "nothing added");
    host.other_owner = None;
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.count(|e| matches!(e, Effect::Probed(..))), 2);
    let probed = host.position(|e| matches!(e, Effect::Probed(..))).unwrap();
    let added = host.position(|e| matches!(e, Effect::Added(..))).unwrap();
    assert!(probed < added, "probe before adding");
}

// ---------------------------------------------------------------- stop

#[test]
fn stop_ends_the_resident_before_deleting_and_is_idempotent() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50")]);
    start(&mut host, &p, &meta()).unwrap();
    host.effects.clear();
    stop(&mut host, &p, &meta()).unwrap();
    assert_eq!(
        host.effects,
        vec![
            Effect::ResidentsEnded(Duration::from_millis(18_000)),
            Effect::ConnectionsReset,
            Effect::Deleted(ETH0, 24),
            Effect::ConnectionsReset,
            Effect::Forgot,
        ]
    );
    assert!(host.addresses.is_empty());
    stop(&mut host, &p, &meta()).unwrap();
}

#[test]
fn stop_fails_when_the_resident_may_still_announce() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50")]);
    start(&mut host, &p, &meta()).unwrap();
    host.end_residents_fails = true;
    let err = stop(&mut host, &p, &meta()).unwrap_err();
    assert_eq!(err.kind, Kind::Other);
    assert_eq!(host.count(|e| matches!(e, Effect::Deleted(..))), 0);
}

#[test]
fn stop_fails_when_a_delete_silently_leaves_the_address() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50")]);
    start(&mut host, &p, &meta()).unwrap();
    host.delete_is_ignored = true;
    let err = stop(&mut host, &p, &meta()).unwrap_err();
    assert!(err.reason.contains("still on eth0"), "{}", err.reason);
}

#[test]
fn stop_leaves_a_foreign_prefix_alone_but_does_not_claim_success() {
    let mut host = FakeHost::lab();
    host.put(ETH0, vip(), 16);
    let p = params(&[("ip", "198.51.100.50"), ("cidr_netmask", "24")]);
    let err = stop(&mut host, &p, &meta()).unwrap_err();
    assert!(err.reason.contains("eth0 as /16"), "{}", err.reason);
    assert_eq!(host.holds(ETH0, vip()), Some(16));
}

#[test]
fn stop_looks_at_every_interface() {
    let mut host = FakeHost::lab().with_eth1();
    let p = params(&[("ip", "198.51.100.50"), ("nic", "eth0")]);
    start(&mut host, &p, &meta()).unwrap();
    host.put(ETH1, vip(), 24);
    let err = stop(&mut host, &p, &meta()).unwrap_err();
    assert!(err.reason.contains("eth1"), "{}", err.reason);
    assert_eq!(host.holds(ETH0, vip()), None, "its own address is removed");
}

#[test]
fn stop_with_a_missing_nic_succeeds() {
    let mut host = FakeHost::lab();
    stop(
        &mut host,
        &params(&[("ip", "198.51.100.50"), ("nic", "eth9")]),
        &meta(),
    )
    .unwrap();
}

#[test]
fn stop_removes_the_address_from_whichever_standby_adapter_holds_it() {
    let mut host = FakeHost::lab().with_eth1();
    let p = params(&[("ip", "198.51.100.50"), ("nic", "eth0,eth1")]);
    start(&mut host, &p, &meta()).unwrap();
    // The resident moved it to the standby, and the record still says eth0.
    host.addresses.remove(&(ETH0, vip()));
    host.put(ETH1, vip(), 24);
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    stop(&mut host, &p, &meta()).unwrap();
    assert!(host.addresses.is_empty());
}

#[test]
fn stop_waits_for_the_resident_no_longer_than_its_timeout() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50")]);
    start(&mut host, &p, &meta()).unwrap();
    host.effects.clear();
    stop(&mut host, &p, &with_timeout(4_000)).unwrap();
    assert_eq!(
        host.effects[0],
        Effect::ResidentsEnded(Duration::from_millis(3_000))
    );
}

#[test]
fn lvs_support_parks_the_address_on_lo() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50"), ("lvs_support", "true")]);
    start(&mut host, &p, &meta()).unwrap();
    stop(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(LO, vip()), Some(32));
    assert_eq!(host.holds(ETH0, vip()), None);
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(LO, vip()), None);
    assert_eq!(host.holds(ETH0, vip()), Some(24));
}

// ---------------------------------------------------------------- monitor

#[test]
fn monitor_codes() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50")]);
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::NotRunning
    );
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    host.link_mut(ETH0).carrier = false;
    let err = monitor(&mut host, &p, &meta(), false).unwrap_err();
    assert_eq!(err.kind, Kind::LinkDown);
    assert!(err.reason.contains("link down on NIC"));
    let lenient = params(&[("ip", "198.51.100.50"), ("check_link_status", "false")]);
    assert_eq!(
        monitor(&mut host, &lenient, &meta(), false).unwrap(),
        Status::Success
    );
}

#[test]
fn monitor_fails_a_dadfailed_address() {
    let mut host = FakeHost::lab().with_ipv6();
    host.addresses.insert(
        (ETH0, vip6()),
        Assigned {
            dadfailed: true,
            ..settled(64)
        },
    );
    let err = monitor(
        &mut host,
        &params(&[("ip", "2001:db8:100::50")]),
        &meta(),
        false,
    )
    .unwrap_err();
    assert!(err.reason.contains("failed DAD"), "{}", err.reason);
}

#[test]
fn monitor_falls_back_to_the_record_when_no_route_places_the_address() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50")]);
    start(&mut host, &p, &meta()).unwrap();
    host.routes.clear();
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
}

#[test]
fn recurring_monitor_refreshes_only_when_asked() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50"), ("arp_count_refresh", "2")]);
    start(&mut host, &p, &meta()).unwrap();
    host.resident = None;
    let sent = host.sent_rounds();
    monitor(&mut host, &p, &meta(), false).unwrap();
    assert_eq!(host.sent_rounds(), sent, "a probe never announces");
    monitor(&mut host, &p, &recurring(), false).unwrap();
    assert_eq!(host.sent_rounds(), sent + 1);
    assert_eq!(host.resident.as_ref().map(|p| p.rounds), Some(1));
}

/// Finding 2 of issue 15: with arp_repeat_delay, the resident exits after its second wave;
/// recurring monitors must not bring it back for work that was owed once.
#[test]
fn recurring_monitors_after_the_second_wave_start_nothing() {
    let mut host = FakeHost::lab();
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("arp_count", "3"),
        ("arp_interval", "200"),
        ("arp_repeat_delay", "2"),
    ]);
    start(&mut host, &p, &meta()).unwrap();
    let began = host.clock;
    for _ in 0..3 {
        host.advance(10_000);
        assert_eq!(
            monitor(&mut host, &p, &recurring(), false).unwrap(),
            Status::Success
        );
    }
    let at = |ms: u64| began + Duration::from_millis(ms);
    assert_eq!(
        host.resident_sends(),
        vec![at(200), at(400), at(2_000), at(2_200), at(2_400)],
        "start's burst (its first round sent by start), then one second wave"
    );
    assert_eq!(host.count(|e| matches!(e, Effect::Announced(_))), 1);
    assert_eq!(
        host.count(|e| matches!(e, Effect::ResidentStarted(_))),
        1,
        "the monitors started no other process"
    );
    assert!(
        !host.resident_running(),
        "it exited with nothing left to do"
    );
}

/// The same monitors do bring back a process whose work lasts (refresh, standby, link_watch).
#[test]
fn a_recurring_monitor_restarts_a_process_with_lasting_work() {
    let mut host = FakeHost::lab();
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("arp_repeat_delay", "2"),
        ("link_watch", "true"),
    ]);
    start(&mut host, &p, &meta()).unwrap();
    host.advance(10_000);
    assert!(host.resident_running(), "watching the link");
    host.resident = None;
    monitor(&mut host, &p, &recurring(), false).unwrap();
    let restarted: Vec<Plan> = host
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::ResidentStarted(plan) => Some(plan.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(restarted.len(), 2);
    assert!(restarted[0].second_wave, "start's burst is repeated");
    assert!(
        !restarted[1].second_wave,
        "a monitor's restart owes no wave"
    );
    host.effects.clear();
    host.advance(10_000);
    assert_eq!(host.resident_sends(), vec![], "and sends none");
}

/// Issue 15, finding 11: a refresh round the egress queue cannot take is logged, not a
/// failed monitor (Pacemaker would restart a healthy address).
#[test]
fn a_refresh_that_cannot_be_sent_does_not_fail_the_monitor() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50"), ("arp_count_refresh", "3")]);
    start(&mut host, &p, &meta()).unwrap();
    host.refresh_fails = true;
    host.effects.clear();
    assert_eq!(
        monitor(&mut host, &p, &recurring(), false).unwrap(),
        Status::Success
    );
    assert_eq!(
        host.resident.as_ref().map(|plan| plan.rounds),
        Some(2),
        "the rounds after it are still owed"
    );
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
        tentative: true,
        age: Some(age),
        ..settled(24)
    };
    host.dad_polls_until_done = u32::MAX;
    host.addresses
        .insert((ETH0, vip()), tentative(Duration::from_secs(1)));
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    host.addresses
        .insert((ETH0, vip()), tentative(Duration::from_secs(60)));
    let err = monitor(&mut host, &p, &meta(), false).unwrap_err();
    assert!(err.reason.contains("tentative"), "{}", err.reason);
}

#[test]
fn deep_monitor_defends_and_reports_another_owner_as_degraded() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50")]);
    start(&mut host, &p, &meta()).unwrap();
    host.resident = None;
    assert_eq!(
        monitor(&mut host, &p, &meta(), true).unwrap(),
        Status::Success
    );
    host.other_owner = Some(ZOMBIE);
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success,
        "level 0 does not probe"
    );
    host.effects.clear();
    let err = monitor(&mut host, &p, &meta(), true).unwrap_err();
    assert_eq!(err.kind, Kind::Conflict);
    assert!(
        err.reason.contains("02:00:00:00:00:66") && err.reason.contains("announced again"),
        "{}",
        err.reason
    );
    let refreshed = host.position(|e| matches!(e, Effect::Refreshed(_)));
    assert!(refreshed.is_some(), "defended at once: {:?}", host.effects);
    assert_eq!(
        host.resident.as_ref().map(|p| p.rounds),
        Some(DEFENCE_ROUNDS - 1)
    );
    let passive = params(&[("ip", "198.51.100.50"), ("conflict_defend", "false")]);
    host.effects.clear();
    let err = monitor(&mut host, &passive, &meta(), true).unwrap_err();
    assert_eq!(err.kind, Kind::Conflict);
    assert!(!err.reason.contains("announced again"));
    assert_eq!(host.sent_rounds(), 0, "no defence when asked not to");
}

#[test]
fn a_deep_monitor_probe_never_outlasts_the_monitor_timeout() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50"), ("arp_probe_wait", "10000")]);
    start(&mut host, &p, &meta()).unwrap();
    host.effects.clear();
    monitor(&mut host, &p, &with_timeout(3_000), true).unwrap();
    assert_eq!(
        host.effects,
        vec![Effect::Probed(ETH0, Duration::from_millis(2_250))]
    );
}

#[test]
fn a_deep_monitor_defence_hands_the_running_resident_its_rounds() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50"), ("arp_refresh_interval", "10")]);
    start(&mut host, &p, &meta()).unwrap();
    host.other_owner = Some(ZOMBIE);
    host.effects.clear();
    monitor(&mut host, &p, &meta(), true).unwrap_err();
    assert!(
        host.effects.iter().any(
            |e| matches!(e, Effect::ResidentUpdated(plan) if plan.rounds == DEFENCE_ROUNDS - 1)
        ),
        "{:?}",
        host.effects
    );
    assert_eq!(
        host.count(|e| matches!(e, Effect::ResidentStarted(_))),
        0,
        "the running one took it"
    );
}

#[test]
fn the_resident_is_restarted_by_a_recurring_monitor_when_it_should_run() {
    let mut host = FakeHost::lab();
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("arp_count", "1"),
        ("arp_refresh_interval", "10"),
    ]);
    start(&mut host, &p, &meta()).unwrap();
    let plan = host.resident.clone().expect("a refresh-only resident");
    assert_eq!((plan.rounds, plan.refresh_every_ms), (0, Some(10_000)));
    host.resident = None;
    monitor(&mut host, &p, &recurring(), false).unwrap();
    assert_eq!(host.count(|e| matches!(e, Effect::ResidentStarted(_))), 2);
    monitor(&mut host, &p, &recurring(), false).unwrap();
    assert_eq!(
        host.count(|e| matches!(e, Effect::ResidentStarted(_))),
        2,
        "not while it runs"
    );
    // A probe never starts one.
    host.resident = None;
    monitor(&mut host, &p, &meta(), false).unwrap();
    assert_eq!(host.count(|e| matches!(e, Effect::ResidentStarted(_))), 2);
}

// ---------------------------------------------------------------- standby adapters, vmac

#[test]
fn standby_adapters_take_the_first_usable_and_move_when_it_fails() {
    let mut host = FakeHost::lab().with_eth1();
    let p = params(&[("ip", "198.51.100.50"), ("nic", "eth0,eth1")]);
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(ETH0, vip()), Some(24), "eth0 first");
    assert_eq!(
        host.resident.as_ref().map(|p| p.adapters.clone()),
        Some(vec!["eth0".to_string(), "eth1".to_string()]),
        "the resident watches both"
    );
    host.link_mut(ETH0).carrier = false;
    let err = monitor(&mut host, &p, &meta(), false).unwrap_err();
    assert!(
        err.reason.contains("link down on NIC eth0"),
        "{}",
        err.reason
    );
    // Pacemaker's local recovery: stop, then start, which picks the survivor.
    stop(&mut host, &p, &meta()).unwrap();
    assert!(host.addresses.is_empty());
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(ETH1, vip()), Some(24), "moved to eth1");
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    host.link_mut(ETH1).carrier = false;
    stop(&mut host, &p, &meta()).unwrap();
    let err = start(&mut host, &p, &meta()).unwrap_err();
    assert!(
        err.reason.contains("no usable interface in nic eth0,eth1"),
        "{}",
        err.reason
    );
    assert_eq!(
        host.count(|e| matches!(e, Effect::ArpIsolated(_))),
        4,
        "each successful start isolates both adapters"
    );
}

#[test]
fn vmac_puts_the_address_on_a_virtual_interface_and_stop_removes_both() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50"), ("vmac", "auto")]);
    start(&mut host, &p, &meta()).unwrap();
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
    assert_eq!(host.resident.as_ref().unwrap().adapters, vec![name.clone()]);
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    stop(&mut host, &p, &meta()).unwrap();
    assert!(host.addresses.is_empty());
    assert!(host.links.iter().all(|l| l.name != name), "macvlan removed");
    let deleted = host
        .position(|e| matches!(e, Effect::Deleted(i, _) if *i == vlink.index))
        .unwrap();
    let removed = host
        .position(|e| *e == Effect::VirtualDeleted(name.clone()))
        .unwrap();
    assert!(deleted < removed);
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::NotRunning
    );
}

#[test]
fn a_failed_vmac_start_removes_the_virtual_interface_only_if_it_made_it() {
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("vmac", "auto"),
        ("run_arping", "true"),
    ]);
    let mut host = FakeHost::lab();
    host.other_owner = Some(ZOMBIE);
    assert!(start(&mut host, &p, &meta()).is_err());
    assert!(host.links.iter().all(|l| !l.name.starts_with("fip")));
    // One that was already there (an earlier start's) stays.
    let mut host = FakeHost::lab();
    start(
        &mut host,
        &params(&[("ip", "198.51.100.50"), ("vmac", "auto")]),
        &meta(),
    )
    .unwrap();
    host.other_owner = Some(ZOMBIE);
    host.addresses.clear();
    assert!(start(&mut host, &p, &meta()).is_err());
    assert!(host.links.iter().any(|l| l.name.starts_with("fip")));
}

// ---------------------------------------------------------------- reload

#[test]
fn reload_hands_the_running_resident_the_new_plan_without_touching_the_address() {
    let mut host = FakeHost::lab();
    start(
        &mut host,
        &params(&[("ip", "198.51.100.50"), ("arp_refresh_interval", "10")]),
        &meta(),
    )
    .unwrap();
    host.effects.clear();
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("arp_refresh_interval", "3"),
        ("conflict_defend", "false"),
    ]);
    reload(&mut host, &p, &meta()).unwrap();
    let plan = host.resident.clone().unwrap();
    assert_eq!(plan.refresh_every_ms, Some(3_000));
    assert!(!plan.defend);
    assert_eq!(plan.rounds, 0, "a reload owes no burst");
    assert!(
        host.effects
            .iter()
            .all(|e| matches!(e, Effect::ResidentUpdated(_))),
        "{:?}",
        host.effects
    );
}

#[test]
fn reload_starts_or_ends_the_resident_as_the_new_plan_needs() {
    let mut host = FakeHost::lab();
    let quiet = params(&[("ip", "198.51.100.50"), ("arp_count", "1")]);
    start(&mut host, &quiet, &meta()).unwrap();
    assert!(host.resident.is_none());
    let refreshing = params(&[
        ("ip", "198.51.100.50"),
        ("arp_count", "1"),
        ("arp_refresh_interval", "5"),
    ]);
    reload(&mut host, &refreshing, &meta()).unwrap();
    assert!(host.resident.is_some());
    reload(&mut host, &quiet, &meta()).unwrap();
    assert!(host.resident.is_none());
    // Not here: nothing to do.
    stop(&mut host, &quiet, &meta()).unwrap();
    host.effects.clear();
    reload(&mut host, &refreshing, &meta()).unwrap();
    assert!(host.effects.is_empty(), "{:?}", host.effects);
}

// ---------------------------------------------------------------- upstream IPaddr2 (4.15-4.18)

/// Every code that depends on this node's routes or interfaces: OCF_ERR_INSTALLED (5) for
/// what this node lacks (the interface, its link, a kind of link floatip can serve),
/// OCF_ERR_GENERIC (1) when its routes cannot place the address (as findif returns) or for
/// what happened at run time, OCF_ERR_CONFIGURED (6) only for what is wrong everywhere.
#[test]
fn kinds_of_node_local_and_configuration_faults() {
    type Setup = fn(&mut FakeHost);
    /// What goes wrong, the parameters, how the node differs from the lab, the kind (whose
    /// code for each action `ocf::exit`'s table test checks).
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Setup, Kind);
    let nothing: Setup = |_| {};
    let cases: &[Case] = &[
        (
            "no route places the address",
            &[("ip", "203.0.113.50")],
            nothing,
            Kind::Unplaced,
        ),
        (
            "no route of the wanted proto",
            &[("ip", "198.51.100.50"), ("proto", "static")],
            nothing,
            Kind::Unplaced,
        ),
        (
            "nic given without cidr_netmask and no route on it",
            &[("ip", "203.0.113.50"), ("nic", "eth0")],
            nothing,
            Kind::Unplaced,
        ),
        (
            "the nic does not exist here",
            &[("ip", "198.51.100.50"), ("nic", "eth9")],
            nothing,
            Kind::Absent,
        ),
        (
            "the link is down here",
            &[("ip", "198.51.100.50")],
            |h| h.link_mut(ETH0).carrier = false,
            Kind::LinkDown,
        ),
        (
            "no standby adapter is usable here",
            &[("ip", "198.51.100.50"), ("nic", "eth0,eth1")],
            |h| {
                *h = FakeHost::lab().with_eth1();
                h.link_mut(ETH0).up = false;
                h.link_mut(ETH1).carrier = false;
            },
            Kind::LinkDown,
        ),
        (
            "this node's route makes it a network address",
            &[("ip", "198.51.100.0")],
            nothing,
            Kind::Unplaced,
        ),
        (
            "IPv6 prefix shorter than this node's route",
            &[("ip", "2001:db8:100::50"), ("cidr_netmask", "48")],
            |h| *h = FakeHost::lab().with_ipv6(),
            Kind::Unplaced,
        ),
        (
            "label too long on the interface the routes found",
            &[("ip", "198.51.100.50"), ("iflabel", "abcdefghij")],
            |h| h.link_mut(ETH0).name = "enp0s31f6".into(),
            Kind::Unplaced,
        ),
        (
            "IPoIB found by the routes",
            &[("ip", "198.51.100.50")],
            |h| h.link_mut(ETH0).layer = LinkLayer::Infiniband,
            Kind::Unsupported,
        ),
        (
            "IPoIB named in nic",
            &[("ip", "198.51.100.50"), ("nic", "eth0")],
            |h| h.link_mut(ETH0).layer = LinkLayer::Infiniband,
            Kind::Configured,
        ),
        (
            "another hardware type named in nic",
            &[("ip", "198.51.100.50"), ("nic", "eth0")],
            |h| h.link_mut(ETH0).layer = LinkLayer::Other(804),
            Kind::Configured,
        ),
        (
            "a foreign prefix already holds the address",
            &[("ip", "198.51.100.50")],
            |h| h.put(ETH0, vip(), 16),
            Kind::Conflict,
        ),
    ];
    for (what, pairs, setup, want) in cases {
        let p = params(pairs);
        let mut host = FakeHost::lab();
        setup(&mut host);
        let before = host.addresses.clone();
        let err = start(&mut host, &p, &meta()).expect_err(what);
        assert_eq!(err.kind, *want, "start, {what}: {}", err.reason);
        assert_eq!(host.addresses, before, "{what}: nothing added");
        let mut host = FakeHost::lab();
        setup(&mut host);
        // validate-all judges placement, not the link's state at this moment.
        if !what.contains("foreign prefix") && !what.contains("link is down") {
            let err = validate_environment(&mut host, &p, &meta()).expect_err(what);
            assert_eq!(err.kind, *want, "validate-all, {what}: {}", err.reason);
        }
    }
}

#[test]
fn proto_places_the_address_by_routes_of_that_protocol_only() {
    let mut host = FakeHost::lab().with_eth1();
    // A static /25 on eth1 would win on prefix length and on dump order.
    host.routes = vec![
        Route {
            protocol: 4,
            ..route("198.51.100.0", 25, ETH1, true)
        },
        route("198.51.100.0", 24, ETH0, true),
    ];
    let kernel = params(&[("ip", "198.51.100.50"), ("proto", "kernel")]);
    start(&mut host, &kernel, &meta()).unwrap();
    assert_eq!(host.holds(ETH0, vip()), Some(24));
    stop(&mut host, &kernel, &meta()).unwrap();
    start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    assert_eq!(
        host.holds(ETH1, vip()),
        Some(25),
        "without proto: the static route"
    );
}

#[test]
fn equal_routes_go_to_the_lowest_metric() {
    let mut host = FakeHost::lab().with_eth1();
    host.routes = vec![
        Route {
            metric: 200,
            ..route("198.51.100.0", 24, ETH0, true)
        },
        Route {
            metric: 100,
            ..route("198.51.100.0", 24, ETH1, true)
        },
    ];
    start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    assert_eq!(host.holds(ETH1, vip()), Some(24));
}

#[test]
fn ipv6_addresses_are_added_with_the_placing_routes_metric() {
    let mut host = FakeHost::lab();
    host.routes = vec![
        Route {
            metric: 1024,
            ..route("2001:db8:100::", 64, ETH0, false)
        },
        Route {
            metric: 100,
            ..route("198.51.100.0", 24, ETH0, true)
        },
    ];
    start(
        &mut host,
        &params(&[("ip", "2001:db8:100::50"), ("nodad", "true")]),
        &meta(),
    )
    .unwrap();
    assert_eq!(host.requests[0].route_metric, Some(1024));
    // With nic and cidr_netmask given, the covering route on that nic still lends its metric.
    let mut host2 = FakeHost::lab();
    host2.routes = host.routes.clone();
    let given = params(&[
        ("ip", "2001:db8:100::50"),
        ("nic", "eth0"),
        ("cidr_netmask", "64"),
        ("nodad", "true"),
    ]);
    start(&mut host2, &given, &meta()).unwrap();
    assert_eq!(host2.requests[0].route_metric, Some(1024));
    // IPv4 keeps the kernel's default, as IPaddr2 does.
    start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    assert_eq!(host.requests[1].route_metric, None);
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn ipv6_start_labels_the_address_first_and_stop_removes_exactly_that_label() {
    let mut host = FakeHost::lab().with_ipv6();
    let p = params(&[("ip", "2001:db8:100::50"), ("nodad", "true")]);
    start(&mut host, &p, &meta()).unwrap();
    let labelled = host.position(|e| matches!(e, Effect::AddressLabelAdded(..)));
    let added = host.position(|e| matches!(e, Effect::Added(..)));
    assert!(labelled.is_some() && labelled < added, "{:?}", host.effects);
    assert_eq!(
        host.effects[labelled.unwrap()],
        Effect::AddressLabelAdded(v6("2001:db8:100::50"), 99)
    );
    // A second start finds its label and adds nothing.
    host.effects.clear();
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(
        host.count(|e| matches!(e, Effect::AddressLabelAdded(..))),
        0
    );
    stop(&mut host, &p, &meta()).unwrap();
    assert_eq!(
        host.count(|e| *e == Effect::AddressLabelRemoved(v6("2001:db8:100::50"), 99)),
        1
    );
    assert!(host.address_labels.is_empty());
    // A stop with nothing of ours here leaves an administrator's label alone.
    host.address_labels.insert(v6("2001:db8:100::50"), 99);
    stop(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.address_labels.len(), 1);
}

#[test]
fn a_label_of_another_value_is_left_alone() {
    let mut host = FakeHost::lab().with_ipv6();
    host.address_labels.insert(v6("2001:db8:100::50"), 7);
    let p = params(&[("ip", "2001:db8:100::50"), ("nodad", "true")]);
    start(&mut host, &p, &meta()).unwrap();
    stop(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.address_labels.get(&v6("2001:db8:100::50")), Some(&7));
    assert_eq!(
        host.count(|e| matches!(
            e,
            Effect::AddressLabelAdded(..) | Effect::AddressLabelRemoved(..)
        )),
        0
    );
}

#[test]
fn a_failed_start_takes_back_the_label_it_added() {
    let mut host = FakeHost::lab().with_ipv6();
    host.dad_fails = true;
    let p = params(&[("ip", "2001:db8:100::50")]);
    start(&mut host, &p, &meta()).unwrap_err();
    assert!(host.address_labels.is_empty(), "{:?}", host.effects);
    assert!(host.addresses.is_empty());
}

#[test]
fn no_label_for_ipv4_or_when_turned_off() {
    let mut host = FakeHost::lab().with_ipv6();
    start(
        &mut host,
        &params(&[("ip", "198.51.100.50"), ("lvs_ipv6_addrlabel", "true")]),
        &meta(),
    )
    .unwrap();
    start(
        &mut host,
        &params(&[
            ("ip", "2001:db8:100::50"),
            ("nodad", "true"),
            ("lvs_ipv6_addrlabel", "false"),
        ]),
        &meta(),
    )
    .unwrap();
    assert!(host.address_labels.is_empty());
    let valued = params(&[
        ("ip", "2001:db8:100::51"),
        ("nodad", "true"),
        ("lvs_ipv6_addrlabel_value", "1234"),
    ]);
    start(&mut host, &valued, &meta()).unwrap();
    assert_eq!(
        host.address_labels.get(&v6("2001:db8:100::51")),
        Some(&1234)
    );
}

#[test]
fn nic_may_be_an_alternative_name() {
    let mut host = FakeHost::lab();
    let long = "a-very-long-alternative-name-of-eth0";
    host.altnames.insert(long.into(), ETH0);
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("nic", long),
        ("cidr_netmask", "24"),
    ]);
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(ETH0, vip()), Some(24));
    assert_eq!(
        host.record.as_ref().unwrap().nic,
        "eth0",
        "the interface's own name"
    );
    assert_eq!(
        monitor(&mut host, &p, &recurring(), false).unwrap(),
        Status::Success
    );
    // The record is found through the alternative name even when no route places the address.
    host.routes.clear();
    let no_prefix = params(&[("ip", "198.51.100.50"), ("nic", long)]);
    assert_eq!(
        monitor(&mut host, &no_prefix, &meta(), false).unwrap(),
        Status::Success
    );
    stop(&mut host, &no_prefix, &meta()).unwrap();
    assert!(host.addresses.is_empty());
    // A label is built on the interface's own name.
    host.routes = FakeHost::lab().routes;
    let labelled = params(&[("ip", "198.51.100.50"), ("nic", long), ("iflabel", "vip")]);
    start(&mut host, &labelled, &meta()).unwrap();
    assert_eq!(
        host.requests.last().unwrap().label.as_deref(),
        Some("eth0:vip")
    );
}

fn tun(host: &mut FakeHost) {
    let eth0 = host.link_mut(ETH0);
    eth0.name = "tun0".into();
    eth0.mac = None;
    eth0.announces = false;
    eth0.layer = LinkLayer::Layer3;
}

#[test]
fn layer_3_devices_take_the_address_without_announcements() {
    let mut host = FakeHost::lab();
    tun(&mut host);
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("arp_refresh_interval", "5"),
        ("arp_repeat_delay", "5"),
        ("arp_count_refresh", "2"),
    ]);
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(ETH0, vip()), Some(24));
    monitor(&mut host, &p, &recurring(), true).unwrap();
    assert_eq!(host.sent_rounds(), 0, "{:?}", host.effects);
    assert_eq!(host.count(|e| matches!(e, Effect::Probed(..))), 0);
    assert!(
        host.resident.is_none(),
        "nothing to send, refresh or repeat"
    );
    stop(&mut host, &p, &meta()).unwrap();
    assert!(host.addresses.is_empty());
}

#[test]
fn ipoib_is_refused_before_anything_is_added() {
    let mut host = FakeHost::lab();
    host.link_mut(ETH0).layer = LinkLayer::Infiniband;
    host.link_mut(ETH0).announces = false;
    let p = params(&[("ip", "198.51.100.50"), ("nic", "eth0")]);
    let err = validate_environment(&mut host, &p, &meta()).unwrap_err();
    assert_eq!(err.kind, Kind::Configured);
    assert!(err.reason.contains("IPoIB"), "{}", err.reason);
    assert!(start(&mut host, &p, &meta()).is_err());
    assert!(
        host.effects
            .iter()
            .all(|e| matches!(e, Effect::ResidentsEnded(_))),
        "{:?}",
        host.effects
    );
    // stop and monitor still work there: an address someone put on it can be taken away.
    host.put(ETH0, vip(), 24);
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    stop(&mut host, &p, &meta()).unwrap();
    assert!(host.addresses.is_empty());
}

// ---------------------------------------------------------------- what mutation testing found

#[test]
fn a_record_counts_only_for_its_address_and_an_allowed_interface() {
    // A stale record of another address on eth1 does not make eth1 this address's home.
    let mut host = FakeHost::lab().with_eth1();
    host.put(ETH1, vip(), 24);
    host.record = Some(Record {
        ip: "198.51.100.60".parse().unwrap(),
        nic: "eth1".into(),
        prefix_len: 24,
        adapters: Vec::new(),
    });
    let p = params(&[("ip", "198.51.100.50")]);
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::NotRunning,
        "the routes place it on eth0, where it is not"
    );
    // Nor does a record of this address on an interface the configuration no longer lists.
    host.record = Some(Record {
        ip: vip(),
        nic: "eth1".into(),
        prefix_len: 24,
        adapters: Vec::new(),
    });
    let on_eth0 = params(&[("ip", "198.51.100.50"), ("nic", "eth0")]);
    assert_eq!(
        monitor(&mut host, &on_eth0, &meta(), false).unwrap(),
        Status::NotRunning
    );
}

#[test]
fn a_configured_nic_is_the_only_place_looked_at_besides_the_record() {
    let mut host = FakeHost::lab().with_eth1();
    host.put(ETH0, vip(), 24);
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("nic", "eth1"),
        ("cidr_netmask", "24"),
    ]);
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::NotRunning,
        "the routes would say eth0, but nic says eth1"
    );
}

#[test]
fn a_stale_record_does_not_hide_the_address_where_the_routes_place_it() {
    let mut host = FakeHost::lab().with_eth1();
    host.put(ETH0, vip(), 24);
    host.record = Some(Record {
        ip: vip(),
        nic: "eth1".into(),
        prefix_len: 24,
        adapters: Vec::new(),
    });
    let p = params(&[("ip", "198.51.100.50")]);
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    stop(&mut host, &p, &meta()).unwrap();
    assert!(host.addresses.is_empty());
}

#[test]
fn the_label_reaches_the_kernel_as_nic_colon_label_up_to_fifteen_bytes() {
    let mut host = FakeHost::lab();
    start(
        &mut host,
        &params(&[("ip", "198.51.100.50"), ("iflabel", "0123456789")]),
        &meta(),
    )
    .unwrap();
    assert_eq!(
        host.requests.last().and_then(|r| r.label.clone()),
        Some("eth0:0123456789".to_string()),
        "15 bytes: accepted"
    );
    let mut host = FakeHost::lab();
    host.links[1].name = "eth00".into();
    host.links[1].index = ETH0;
    // Valid on its own (a one-letter nic would fit), too long on this node's interface.
    let err = start(
        &mut host,
        &params(&[("ip", "198.51.100.50"), ("iflabel", "0123456789")]),
        &meta(),
    )
    .unwrap_err();
    assert!(err.reason.contains("eth00:0123456789"), "{}", err.reason);
    assert!(host.addresses.is_empty());
    let mut host = FakeHost::lab();
    start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    assert_eq!(
        host.requests.last().unwrap().label,
        None,
        "no label unless asked"
    );
}

#[test]
fn a_route_derived_prefix_that_makes_ip_its_broadcast_address_is_refused() {
    let mut host = FakeHost::lab();
    let err = start(&mut host, &params(&[("ip", "198.51.100.255")]), &meta()).unwrap_err();
    assert!(err.reason.contains("broadcast address"), "{}", err.reason);
    assert!(host.addresses.is_empty());
    assert!(validate_environment(&mut host, &params(&[("ip", "198.51.100.0")]), &meta()).is_err());
}

#[test]
fn arp_is_isolated_only_where_the_address_lives_apart_from_its_segment() {
    for (pairs, isolated) in [
        (vec![("ip", "198.51.100.50")], vec![]),
        (vec![("ip", "198.51.100.50"), ("nic", "eth0")], vec![]),
        (
            vec![
                ("ip", "2001:db8:100::50"),
                ("nic", "eth0,eth1"),
                ("cidr_netmask", "64"),
                ("nodad", "true"),
            ],
            vec![],
        ),
        (
            vec![("ip", "198.51.100.50"), ("nic", "eth0,eth1")],
            vec!["eth0", "eth1"],
        ),
        (
            vec![("ip", "198.51.100.50"), ("vmac", "auto")],
            vec!["eth0"],
        ),
    ] {
        let mut host = FakeHost::lab().with_eth1().with_ipv6();
        start(&mut host, &params(&pairs), &meta()).unwrap();
        let got: Vec<String> = host
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::ArpIsolated(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(got, isolated, "{pairs:?}");
    }
}

/// Issue 15, finding 1: with standby adapters, every listed adapter stops routing while it
/// has no carrier (its own setting, for the address's family), before the address is added;
/// nothing else does.
#[test]
fn standby_adapters_ignore_their_routes_while_down_before_the_address_goes_on() {
    for (pairs, wanted) in [
        (
            vec![("ip", "198.51.100.50"), ("nic", "eth0,eth1")],
            vec!["eth0", "eth1"],
        ),
        (
            vec![
                ("ip", "2001:db8:100::50"),
                ("nic", "eth1,eth0"),
                ("cidr_netmask", "64"),
            ],
            vec!["eth1", "eth0"],
        ),
        (vec![("ip", "198.51.100.50"), ("nic", "eth0")], vec![]),
        (vec![("ip", "198.51.100.50")], vec![]),
    ] {
        let mut host = FakeHost::lab().with_eth1().with_ipv6();
        start(&mut host, &params(&pairs), &meta()).unwrap();
        let got: Vec<String> = host
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::LinkDownRoutesIgnored(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(got, wanted, "{pairs:?}");
        if !wanted.is_empty() {
            let set = host
                .position(|e| matches!(e, Effect::LinkDownRoutesIgnored(_)))
                .unwrap();
            let added = host.position(|e| matches!(e, Effect::Added(..))).unwrap();
            assert!(set < added, "{:?}", host.effects);
        }
    }
}

/// Issue 15, finding 3: the resident knows adapters by the kernel's names for them, so an
/// alternative name in nic reaches it as the interface's own name; two names of one
/// interface are refused by validate-all and start alike.
#[test]
fn standby_adapters_named_by_alternative_names() {
    let long = "a-very-long-alternative-name-of-eth1";
    let mut host = FakeHost::lab().with_eth1();
    host.altnames.insert(long.into(), ETH1);
    host.altnames.insert("uplink0".into(), ETH0);
    let p = params(&[("ip", "198.51.100.50"), ("nic", &format!("uplink0,{long}"))]);
    start(&mut host, &p, &meta()).unwrap();
    let plan = host.resident.clone().unwrap();
    assert_eq!(plan.adapters, vec!["eth0", "eth1"]);
    assert_eq!(host.holds(ETH0, vip()), Some(24));

    let mut host = FakeHost::lab().with_eth1();
    host.altnames.insert("uplink0".into(), ETH0);
    let twice = params(&[("ip", "198.51.100.50"), ("nic", "eth0,uplink0")]);
    let err = validate_environment(&mut host, &twice, &meta()).unwrap_err();
    assert_eq!(err.kind, Kind::Configured);
    assert!(
        err.reason
            .contains("eth0 and uplink0 are one interface (eth0)"),
        "{}",
        err.reason
    );
    let err = start(&mut host, &twice, &meta()).unwrap_err();
    assert_eq!(err.kind, Kind::Configured);
    assert!(host.effects.iter().all(|e| !matches!(e, Effect::Added(..))));
}

#[test]
fn an_address_on_lo_is_someone_elses_without_lvs_support() {
    let mut host = FakeHost::lab();
    host.put(LO, vip(), 32);
    let p = params(&[("ip", "198.51.100.50")]);
    let err = start(&mut host, &p, &meta()).unwrap_err();
    assert!(err.reason.contains("lo"), "{}", err.reason);
    assert_eq!(host.holds(LO, vip()), Some(32));
    let err = stop(&mut host, &p, &meta()).unwrap_err();
    assert!(err.reason.contains("lo as /32"), "{}", err.reason);
    assert_eq!(host.holds(LO, vip()), Some(32), "left alone");
}

#[test]
fn lvs_support_excuses_lo_only() {
    let mut host = FakeHost::lab().with_eth1();
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("nic", "eth0"),
        ("lvs_support", "true"),
    ]);
    start(&mut host, &p, &meta()).unwrap();
    host.put(ETH1, vip(), 24);
    let err = stop(&mut host, &p, &meta()).unwrap_err();
    assert!(err.reason.contains("eth1"), "{}", err.reason);
}

#[test]
fn a_start_whose_address_vanishes_or_changes_at_once_fails_and_cleans_up() {
    for raced in [None, Some(16)] {
        let mut host = FakeHost::lab();
        host.add_lands_as = Some(raced);
        let err = start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap_err();
        assert!(err.reason.contains("vanished"), "{raced:?}: {}", err.reason);
        assert_eq!(host.sent_rounds(), 0, "{raced:?}: nothing announced");
        assert!(host.resident.is_none());
    }
}

#[test]
fn dad_that_completes_lets_start_go_on_at_once() {
    let mut host = FakeHost::lab().with_ipv6();
    host.dad_polls_until_done = 3;
    start(&mut host, &params(&[("ip", "2001:db8:100::50")]), &meta()).unwrap();
    assert!(host.clock < Duration::from_millis(100), "{:?}", host.clock);
    assert_eq!(host.count(|e| matches!(e, Effect::Announced(_))), 1);
}

#[test]
fn the_plan_names_the_virtual_interface_and_converts_seconds() {
    let mut host = FakeHost::lab();
    start(
        &mut host,
        &params(&[
            ("ip", "198.51.100.50"),
            ("nic", "eth0"),
            ("vmac", "auto"),
            ("arp_repeat_delay", "3"),
            ("arp_refresh_interval", "7"),
        ]),
        &meta(),
    )
    .unwrap();
    let plan = host.resident.clone().unwrap();
    assert_eq!(plan.adapters, vec![virtual_interface_name(vip())]);
    assert_eq!(plan.repeat_after_ms, Some(3_000));
    assert_eq!(plan.refresh_every_ms, Some(7_000));
    let mut host = FakeHost::lab();
    start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    let plan = host.resident.clone().unwrap();
    assert_eq!((plan.repeat_after_ms, plan.refresh_every_ms), (None, None));
}

#[test]
fn no_probe_on_a_link_that_cannot_carry_it() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50"), ("check_link_status", "false")]);
    start(&mut host, &p, &meta()).unwrap();
    host.link_mut(ETH0).carrier = false;
    host.other_owner = Some(ZOMBIE);
    host.effects.clear();
    assert_eq!(
        monitor(&mut host, &p, &meta(), true).unwrap(),
        Status::Success
    );
    assert_eq!(host.count(|e| matches!(e, Effect::Probed(..))), 0);
}

#[test]
fn a_conflict_names_both_macs() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50")]);
    start(&mut host, &p, &meta()).unwrap();
    host.other_owner = Some(ZOMBIE);
    let err = monitor(&mut host, &p, &meta(), true).unwrap_err();
    assert!(
        err.reason.contains("this node is 02:00:00:00:00:01"),
        "{}",
        err.reason
    );
}

#[test]
fn a_tentative_address_is_judged_by_its_age_unless_the_link_is_allowed_down() {
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("nic", "eth0"),
        ("cidr_netmask", "24"),
        ("check_link_status", "false"),
    ]);
    let tentative = |age| Assigned {
        tentative: true,
        age: Some(age),
        ..settled(24)
    };
    let mut host = FakeHost::lab();
    host.dad_polls_until_done = u32::MAX;
    host.addresses.insert((ETH0, vip()), tentative(DAD_GRACE));
    let err = monitor(&mut host, &p, &meta(), false).unwrap_err();
    assert!(
        err.reason.contains("tentative"),
        "at the grace: {}",
        err.reason
    );
    host.addresses.insert(
        (ETH0, vip()),
        tentative(DAD_GRACE - Duration::from_millis(10)),
    );
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    // Down with check_link_status=false: DAD cannot run, so it waits, however long.
    host.addresses
        .insert((ETH0, vip()), tentative(Duration::from_secs(600)));
    host.link_mut(ETH0).carrier = false;
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    host.link_mut(ETH0).carrier = true;
    assert!(
        monitor(&mut host, &p, &meta(), false).is_err(),
        "up again: stuck"
    );
    let strict = params(&[
        ("ip", "198.51.100.50"),
        ("nic", "eth0"),
        ("cidr_netmask", "24"),
    ]);
    host.link_mut(ETH0).carrier = false;
    let err = monitor(&mut host, &strict, &meta(), false).unwrap_err();
    assert!(
        err.reason.contains("tentative") || err.reason.contains("link down"),
        "{}",
        err.reason
    );
}

#[test]
fn a_recurring_monitor_sends_nothing_unless_asked() {
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50")]);
    start(&mut host, &p, &meta()).unwrap();
    host.resident = None;
    host.effects.clear();
    assert_eq!(
        monitor(&mut host, &p, &recurring(), false).unwrap(),
        Status::Success
    );
    assert!(host.effects.is_empty(), "{:?}", host.effects);
}

#[test]
fn with_vmac_the_address_on_the_lower_interface_is_not_this_resources() {
    let mut host = FakeHost::lab();
    host.put(ETH0, vip(), 24);
    let p = params(&[("ip", "198.51.100.50"), ("vmac", "auto")]);
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::NotRunning,
        "it lives on the macvlan, not on eth0"
    );
}

#[test]
fn a_label_too_long_for_the_vmac_interface_is_wrong_everywhere() {
    // fipXXXXXXXX is the same on every node: the configuration is at fault (6).
    let mut host = FakeHost::lab();
    let err = start(
        &mut host,
        &params(&[
            ("ip", "198.51.100.50"),
            ("vmac", "auto"),
            ("iflabel", "abcd"),
        ]),
        &meta(),
    )
    .unwrap_err();
    assert_eq!(err.kind, Kind::Configured, "{}", err.reason);
}

#[test]
fn a_label_too_long_only_for_this_nodes_name_behind_an_altname_is_node_local() {
    // nic=lan fits the label; this node's lan is enp0s31f6, which does not: other nodes may
    // be fine, so not 6.
    let mut host = FakeHost::lab();
    host.links[1].name = "enp0s31f6".into();
    host.altnames.insert("lan".into(), ETH0);
    let err = start(
        &mut host,
        &params(&[
            ("ip", "198.51.100.50"),
            ("nic", "lan"),
            ("cidr_netmask", "24"),
            ("iflabel", "0123456789"),
        ]),
        &meta(),
    )
    .unwrap_err();
    assert_eq!(err.kind, Kind::Unplaced, "{}", err.reason);
    assert!(host.addresses.is_empty());
}

#[test]
fn stop_removes_the_label_with_the_address_even_when_the_record_was_lost() {
    let mut host = FakeHost::lab().with_ipv6();
    let p = params(&[("ip", "2001:db8:100::50"), ("nodad", "true")]);
    start(&mut host, &p, &meta()).unwrap();
    host.record = None;
    stop(&mut host, &p, &meta()).unwrap();
    assert!(host.address_labels.is_empty(), "{:?}", host.effects);
}

#[test]
fn an_adapter_renamed_after_start_is_still_found_by_monitor_and_stop() {
    let mut host = FakeHost::lab().with_eth1();
    let p = params(&[("ip", "198.51.100.50"), ("nic", "eth0,eth1")]);
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.record.as_ref().unwrap().adapters, vec![ETH0, ETH1]);
    // The resident moved the address to eth1, which is then renamed wan1.
    host.addresses.remove(&(ETH0, vip()));
    host.put(ETH1, vip(), 24);
    host.link_mut(ETH1).name = "wan1".into();
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    stop(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(ETH1, vip()), None, "removed under its new name");
    // The holder that start put it on, renamed, too.
    start(
        &mut host,
        &params(&[("ip", "198.51.100.50"), ("nic", "eth0")]),
        &meta(),
    )
    .unwrap();
    host.link_mut(ETH0).name = "lan0".into();
    let on_eth0 = params(&[("ip", "198.51.100.50"), ("nic", "eth0")]);
    assert_eq!(
        monitor(&mut host, &on_eth0, &meta(), false).unwrap(),
        Status::Success
    );
    stop(&mut host, &on_eth0, &meta()).unwrap();
    assert!(host.addresses.is_empty());
}

// ---------------------------------------------------------------- operate (OCF policy)

use super::operate::{operate, Capability, Failure, Node, Operation, STOP_LOCK_SHARE};
use crate::ocf::Action;

/// A node around the fake host: capabilities it has, namespaces that exist, a lock that
/// may be held by someone else, and a log of what the policy asked of it.
struct FakeNode {
    host: FakeHost,
    capabilities: Vec<Capability>,
    namespaces: Vec<String>,
    resident_namespace: bool,
    /// The lock is free after this many failed attempts (u32::MAX: never).
    lock_busy_for: u32,
    holders: Vec<(i32, bool)>,
    time_left: Duration,
    calls: Vec<String>,
    opened_host: bool,
}

impl FakeNode {
    fn new(host: FakeHost) -> FakeNode {
        FakeNode {
            host,
            capabilities: vec![Capability::NetAdmin, Capability::NetRaw],
            namespaces: Vec::new(),
            resident_namespace: false,
            lock_busy_for: 0,
            holders: Vec::new(),
            time_left: Duration::from_secs(18),
            calls: Vec::new(),
            opened_host: false,
        }
    }
}

impl Node for FakeNode {
    type Host = FakeHost;

    fn require(&mut self, action: Action, needed: &[Capability]) -> Result<()> {
        self.calls
            .push(format!("require {} {needed:?}", action.name()));
        match needed.iter().find(|c| !self.capabilities.contains(c)) {
            Some(missing) => Err(Error::perm(format!("{} lacks {missing:?}", action.name()))),
            None => Ok(()),
        }
    }

    fn enter_namespace(&mut self, name: &str) -> Result<()> {
        self.calls.push(format!("enter {name}"));
        if self.namespaces.iter().any(|n| n == name) {
            Ok(())
        } else {
            Err(Error::absent(format!(
                "network namespace {name} does not exist"
            )))
        }
    }

    fn enter_resident_namespace(&mut self, _ip: IpAddr) -> Result<bool> {
        self.calls.push("enter the resident's namespace".into());
        Ok(self.resident_namespace)
    }

    fn lock(&mut self, patience: Duration) -> Result<()> {
        self.calls.push(format!("lock {}ms", patience.as_millis()));
        if self.lock_busy_for > 0 {
            self.lock_busy_for = self.lock_busy_for.saturating_sub(1);
            return Err(Error::generic("the lock is held"));
        }
        Ok(())
    }

    fn lock_holders(&mut self) -> Vec<i32> {
        self.holders.iter().map(|(pid, _)| *pid).collect()
    }

    fn end_operation(&mut self, pid: i32, patience: Duration) -> Result<bool> {
        self.calls
            .push(format!("end {pid} within {}ms", patience.as_millis()));
        let ours = self.holders.iter().any(|&(p, ours)| p == pid && ours);
        if ours {
            self.lock_busy_for = 0;
        }
        Ok(ours)
    }

    fn end_residents_without_address(&mut self, _patience: Duration) -> Result<()> {
        self.calls.push("end residents without address".into());
        Ok(())
    }

    fn time_left(&mut self) -> Duration {
        self.time_left
    }

    fn host(&mut self, _p: &Params) -> Result<&mut FakeHost> {
        self.opened_host = true;
        Ok(&mut self.host)
    }
}

fn raw(pairs: &[(&str, &str)]) -> RawParams {
    let mut raw = RawParams::new();
    for (k, v) in pairs {
        assert!(raw.set(k, *v), "{k}");
    }
    raw
}

fn run_op(
    node: &mut FakeNode,
    action: Action,
    pairs: &[(&str, &str)],
    meta: &Meta,
) -> std::result::Result<Status, Failure> {
    let raw = raw(pairs);
    operate(
        node,
        &Operation {
            action,
            raw: &raw,
            meta,
            check_level: None,
        },
    )
}

#[test]
fn stop_waits_a_third_of_its_budget_for_the_lock_then_ends_the_holder_and_wins() {
    let mut node = FakeNode::new(FakeHost::lab());
    node.host.put(ETH0, vip(), 24);
    node.lock_busy_for = 1;
    node.holders = vec![(4242, true)];
    let vip_only = [("ip", "198.51.100.50")];
    assert_eq!(
        run_op(&mut node, Action::Stop, &vip_only, &meta()).unwrap(),
        Status::Success
    );
    let third = (Duration::from_secs(18) / STOP_LOCK_SHARE).as_millis();
    assert_eq!(
        node.calls[1..],
        [
            format!("lock {third}ms"),
            format!("end 4242 within {third}ms"),
            format!("lock {third}ms"),
        ]
    );
    assert!(node.host.addresses.is_empty(), "and the address is gone");

    // Held by something not ours: stop goes on without the lock, and still succeeds.
    let mut node = FakeNode::new(FakeHost::lab());
    node.host.put(ETH0, vip(), 24);
    node.lock_busy_for = u32::MAX;
    node.holders = vec![(77, false)];
    assert_eq!(
        run_op(&mut node, Action::Stop, &vip_only, &meta()).unwrap(),
        Status::Success
    );
    assert!(node.host.addresses.is_empty());
    // Other actions wait their whole budget and fail when the lock stays held.
    let mut node = FakeNode::new(FakeHost::lab());
    node.lock_busy_for = u32::MAX;
    assert!(run_op(&mut node, Action::Start, &vip_only, &meta()).is_err());
    assert!(node.calls.contains(&"lock 18000ms".to_string()));
    assert!(
        node.host.addresses.is_empty(),
        "nothing added without the lock"
    );
}

#[test]
fn each_action_asks_for_the_capabilities_it_uses_and_no_more() {
    let vip_only = [("ip", "198.51.100.50")];
    let asked = |action: Action, pairs: &[(&str, &str)], meta: &Meta| {
        let mut node = FakeNode::new(FakeHost::lab());
        let _ = run_op(&mut node, action, pairs, meta);
        node.calls[0].clone()
    };
    assert_eq!(
        asked(Action::Start, &vip_only, &meta()),
        "require start [NetAdmin, NetRaw]"
    );
    assert_eq!(
        asked(Action::Stop, &vip_only, &meta()),
        "require stop [NetAdmin]"
    );
    assert_eq!(
        asked(Action::Monitor, &vip_only, &meta()),
        "require monitor []"
    );
    assert_eq!(
        asked(Action::Monitor, &vip_only, &recurring()),
        "require monitor []",
        "a recurring monitor without refresh sends nothing"
    );
    let refreshing = [("ip", "198.51.100.50"), ("arp_count_refresh", "2")];
    assert_eq!(
        asked(Action::Monitor, &refreshing, &recurring()),
        "require monitor [NetRaw]"
    );
    assert_eq!(
        asked(Action::Monitor, &refreshing, &meta()),
        "require monitor []",
        "a probe never refreshes"
    );
    // Without CAP_NET_RAW start is refused before anything changes; stop still works.
    let mut node = FakeNode::new(FakeHost::lab());
    node.capabilities = vec![Capability::NetAdmin];
    let refused = run_op(&mut node, Action::Start, &vip_only, &meta()).unwrap_err();
    assert_eq!(refused.status, Status::ErrPerm);
    assert!(!node.opened_host);
    node.host.put(ETH0, vip(), 24);
    assert_eq!(
        run_op(&mut node, Action::Stop, &vip_only, &meta()).unwrap(),
        Status::Success
    );
}

#[test]
fn a_missing_namespace_means_nothing_of_ours_is_there_unless_a_resident_holds_it() {
    let in_ns = [("ip", "198.51.100.50"), ("network_namespace", "blue")];
    let mut node = FakeNode::new(FakeHost::lab());
    assert_eq!(
        run_op(&mut node, Action::Stop, &in_ns, &meta()).unwrap(),
        Status::Success
    );
    assert_eq!(
        run_op(&mut node, Action::Monitor, &in_ns, &meta()).unwrap(),
        Status::NotRunning
    );
    assert!(!node.opened_host, "nothing looked at outside the namespace");
    let start = run_op(&mut node, Action::Start, &in_ns, &meta()).unwrap_err();
    assert_eq!(start.status, Status::ErrInstalled);
    // The name is gone but a resident still holds the namespace: stop acts in it.
    let mut node = FakeNode::new(FakeHost::lab());
    node.resident_namespace = true;
    node.host.put(ETH0, vip(), 24);
    assert_eq!(
        run_op(&mut node, Action::Stop, &in_ns, &meta()).unwrap(),
        Status::Success
    );
    assert!(node.host.addresses.is_empty());
}

#[test]
fn monitor_maps_a_missing_nic_to_not_running_and_says_why_unless_probing() {
    let on_eth9 = [("ip", "198.51.100.50"), ("nic", "eth9")];
    let mut node = FakeNode::new(FakeHost::lab());
    assert_eq!(
        run_op(&mut node, Action::Monitor, &on_eth9, &meta()).unwrap(),
        Status::NotRunning,
        "a probe: 7, no reason needed"
    );
    let recurring = run_op(&mut node, Action::Monitor, &on_eth9, &recurring()).unwrap_err();
    assert_eq!(recurring.status, Status::NotRunning);
    assert!(recurring.reason.contains("198.51.100.50 is not assigned"));
}

#[test]
fn stop_with_an_address_that_does_not_parse_ends_residents_and_succeeds() {
    let mut node = FakeNode::new(FakeHost::lab());
    assert_eq!(
        run_op(
            &mut node,
            Action::Stop,
            &[("ip", "198.51.100.500")],
            &meta()
        )
        .unwrap(),
        Status::Success
    );
    assert!(node
        .calls
        .contains(&"end residents without address".to_string()));
    assert!(!node.opened_host);
    let start = run_op(
        &mut node,
        Action::Start,
        &[("ip", "198.51.100.500")],
        &meta(),
    )
    .unwrap_err();
    assert_eq!(start.status, Status::ErrConfigured);
}

#[test]
fn validate_all_below_level_10_and_notify_touch_nothing() {
    let raw = raw(&[("ip", "198.51.100.50")]);
    let mut node = FakeNode::new(FakeHost::lab());
    let light = Operation {
        action: Action::ValidateAll,
        raw: &raw,
        meta: &meta(),
        check_level: Some(0),
    };
    assert_eq!(operate(&mut node, &light).unwrap(), Status::Success);
    let notify = Operation {
        action: Action::Notify,
        ..light
    };
    assert_eq!(operate(&mut node, &notify).unwrap(), Status::Success);
    assert!(!node.opened_host);
    assert!(node.calls.iter().all(|c| !c.starts_with("lock")));
}

#[test]
fn without_a_record_every_listed_standby_adapter_is_looked_at() {
    // The record is lost (a state directory on tmpfs, say) after the resident moved the
    // address to the second adapter: monitor and stop still find it there, by the list alone.
    let mut host = FakeHost::lab().with_eth1();
    let p = params(&[("ip", "198.51.100.50"), ("nic", "eth0,eth1")]);
    start(&mut host, &p, &meta()).unwrap();
    host.addresses.remove(&(ETH0, vip()));
    host.put(ETH1, vip(), 24);
    host.record = None;
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    stop(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(ETH1, vip()), None);
}

// ---------------------------------------------------------------- issue 16: today's IPaddr2 codes

#[test]
fn a_start_no_route_places_is_not_installed_and_validate_all_keeps_findifs_code() {
    for pairs in [
        &[("ip", "203.0.113.50")][..],
        &[("ip", "198.51.100.50"), ("proto", "static")],
        &[("ip", "203.0.113.50"), ("nic", "eth0")],
        &[("ip", "198.51.100.0")],
        &[("ip", "2001:db8:100::50"), ("cidr_netmask", "48")],
    ] {
        let mut node = FakeNode::new(FakeHost::lab().with_ipv6());
        let start = run_op(&mut node, Action::Start, pairs, &meta()).unwrap_err();
        assert_eq!(start.status, Status::ErrInstalled, "{pairs:?}: {start}");
        assert!(node.host.addresses.is_empty());
        let validate = run_op(&mut node, Action::ValidateAll, pairs, &meta()).unwrap_err();
        assert_eq!(validate.status, Status::ErrGeneric, "{pairs:?}: {validate}");
        assert_eq!(validate.reason, start.reason);
    }
}

#[test]
fn the_reason_names_the_nic_the_routes_do_not_cover_without_rewriting_text() {
    let mut node = FakeNode::new(FakeHost::lab().with_eth1());
    node.host.routes.retain(|r| r.ifindex != Some(ETH1));
    let e = run_op(
        &mut node,
        Action::Start,
        &[
            ("ip", "198.51.100.50"),
            ("nic", "eth1"),
            ("proto", "kernel"),
        ],
        &meta(),
    )
    .unwrap_err();
    assert_eq!(e.kind, Some(Kind::Unplaced));
    assert!(
        e.reason
            .starts_with("no route of proto 2 on eth1 covers 198.51.100.50:"),
        "{}",
        e.reason
    );
}

#[test]
fn a_down_link_is_not_installed_to_start_and_not_running_to_a_monitor() {
    let p = [("ip", "198.51.100.50")];
    let mut node = FakeNode::new(FakeHost::lab());
    node.host.link_mut(ETH0).carrier = false;
    let start = run_op(&mut node, Action::Start, &p, &meta()).unwrap_err();
    assert_eq!(start.status, Status::ErrInstalled);
    assert_eq!(start.reason, "link down on NIC eth0 (no carrier)");
    node.host.link_mut(ETH0).carrier = true;
    assert_eq!(
        run_op(&mut node, Action::Start, &p, &meta()).unwrap(),
        Status::Success
    );
    node.host.link_mut(ETH0).up = false;
    let monitor = run_op(&mut node, Action::Monitor, &p, &recurring()).unwrap_err();
    assert_eq!(monitor.status, Status::NotRunning);
    assert_eq!(
        monitor.reason,
        "link down on NIC eth0 (administratively down)"
    );
    assert_eq!(
        run_op(&mut node, Action::Monitor, &p, &meta()).unwrap(),
        Status::NotRunning,
        "a probe: 7 as well"
    );
    // check_link_status=false: the link is not looked at.
    let lenient = [("ip", "198.51.100.50"), ("check_link_status", "false")];
    assert_eq!(
        run_op(&mut node, Action::Monitor, &lenient, &recurring()).unwrap(),
        Status::Success
    );
    // A nic that vanished: not running (floatip's deliberate 7; IPaddr2 says 1).
    let gone = run_op(
        &mut node,
        Action::Monitor,
        &[("ip", "198.51.100.50"), ("nic", "eth9")],
        &recurring(),
    )
    .unwrap_err();
    assert_eq!(gone.status, Status::NotRunning);
    assert_eq!(gone.reason, "198.51.100.50 is not assigned on this node");
    // "Not running" is what a monitor found, not an error of some kind.
    assert_eq!((monitor.kind, gone.kind), (None, None));
}

#[test]
fn with_standby_adapters_link_down_means_no_usable_listed_adapter_holds_it() {
    let p = [("ip", "198.51.100.50"), ("nic", "eth0,eth1")];
    let mut node = FakeNode::new(FakeHost::lab().with_eth1());
    run_op(&mut node, Action::Start, &p, &meta()).unwrap();
    // A moment when both hold it (a move half done): the usable one counts.
    node.host.put(ETH1, vip(), 24);
    node.host.link_mut(ETH0).carrier = false;
    assert_eq!(
        run_op(&mut node, Action::Monitor, &p, &recurring()).unwrap(),
        Status::Success
    );
    // Only the down adapter holds it: not running.
    node.host.addresses.remove(&(ETH1, vip()));
    let e = run_op(&mut node, Action::Monitor, &p, &recurring()).unwrap_err();
    assert_eq!(e.status, Status::NotRunning);
    assert!(e.reason.contains("link down on NIC eth0"), "{}", e.reason);
    // Every adapter down: start finds none (5), validate-all too.
    node.host.link_mut(ETH1).up = false;
    let start = run_op(&mut node, Action::Start, &p, &meta()).unwrap_err();
    assert_eq!(
        (start.kind, start.status),
        (Some(Kind::LinkDown), Status::ErrInstalled)
    );
}

#[test]
fn an_ipv6_prefix_longer_than_the_nodes_route_starts_without_nic() {
    let p = params(&[
        ("ip", "2001:db8:100::50"),
        ("cidr_netmask", "80"),
        ("nodad", "true"),
    ]);
    let mut host = FakeHost::lab().with_ipv6();
    start(&mut host, &p, &meta()).unwrap();
    assert_eq!(host.holds(ETH0, vip6()), Some(80));
    assert_eq!(
        monitor(&mut host, &p, &meta(), false).unwrap(),
        Status::Success
    );
    stop(&mut host, &p, &meta()).unwrap();
    assert!(host.addresses.is_empty());
}

#[test]
fn with_vmac_and_one_nic_the_record_names_only_the_virtual_interface() {
    // The record lists where the address may be while this start lasts: the macvlan it was
    // put on. The nic under it is no adapter the address moves to (standby adapters are).
    let mut host = FakeHost::lab();
    let p = params(&[("ip", "198.51.100.50"), ("nic", "eth0"), ("vmac", "auto")]);
    start(&mut host, &p, &meta()).unwrap();
    let vlink = host
        .link_by_name(&virtual_interface_name(vip()))
        .unwrap()
        .expect("macvlan created");
    let record = host.record.clone().unwrap();
    assert_eq!(
        (record.nic, record.adapters),
        (vlink.name, vec![vlink.index])
    );
}

#[test]
fn an_ipv4_address_that_vanishes_at_once_is_not_blamed_on_dad() {
    // IPv4 has no duplicate address detection: the reason says what happened.
    let mut host = FakeHost::lab();
    host.add_lands_as = Some(None);
    let err = start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap_err();
    assert_eq!(err.kind, Kind::Other);
    assert!(
        err.reason.contains("right after it was added") && !err.reason.contains("DAD"),
        "{}",
        err.reason
    );
}

fn op_at_level(
    node: &mut FakeNode,
    action: Action,
    pairs: &[(&str, &str)],
    meta: &Meta,
    check_level: Option<u32>,
) -> std::result::Result<Status, Failure> {
    let raw = raw(pairs);
    operate(
        node,
        &Operation {
            action,
            raw: &raw,
            meta,
            check_level,
        },
    )
}

#[test]
fn a_monitor_with_a_broken_setting_still_reports_the_address_start_refuses_it() {
    let broken = [("ip", "198.51.100.50"), ("arp_interval", "soon")];
    let mut node = FakeNode::new(FakeHost::lab());
    node.host.put(ETH0, vip(), 24);
    assert_eq!(
        run_op(&mut node, Action::Monitor, &broken, &recurring()).unwrap(),
        Status::Success,
        "a running address is not lost over a setting that does not identify it"
    );
    let start = run_op(&mut node, Action::Start, &broken, &meta()).unwrap_err();
    assert_eq!(start.status, Status::ErrConfigured);
}

#[test]
fn a_deep_monitor_through_operate_probes_and_reports_another_owner() {
    let mut node = FakeNode::new(FakeHost::lab());
    node.host.put(ETH0, vip(), 24);
    node.host.other_owner = Some(ZOMBIE);
    let vip_only = [("ip", "198.51.100.50")];
    let deep = op_at_level(
        &mut node,
        Action::Monitor,
        &vip_only,
        &recurring(),
        Some(10),
    );
    assert_eq!(deep.unwrap_err().status, Status::Degraded);
    assert_eq!(node.calls[0], "require monitor [NetRaw]");
    assert!(
        node.calls.iter().any(|c| c.starts_with("lock")),
        "it may announce"
    );
    // Below level 10 nothing is probed.
    let mut node = FakeNode::new(FakeHost::lab());
    node.host.put(ETH0, vip(), 24);
    node.host.other_owner = Some(ZOMBIE);
    let shallow = op_at_level(&mut node, Action::Monitor, &vip_only, &recurring(), Some(0));
    assert_eq!(shallow.unwrap(), Status::Success);
    assert_eq!(node.host.count(|e| matches!(e, Effect::Probed(..))), 0);
}

#[test]
fn validate_all_at_the_default_level_and_at_10_checks_this_node() {
    let vip_only = [("ip", "198.51.100.50")];
    for level in [None, Some(10)] {
        let mut node = FakeNode::new(FakeHost {
            routes: Vec::new(),
            ..FakeHost::lab()
        });
        assert!(
            op_at_level(&mut node, Action::ValidateAll, &vip_only, &meta(), level).is_err(),
            "level {level:?}: no route places the address here"
        );
        assert!(node.opened_host, "level {level:?}");
    }
}

#[test]
fn a_recurring_monitor_with_lasting_work_takes_the_lock_and_may_send() {
    let asked = |pairs: &[(&str, &str)]| {
        let mut node = FakeNode::new(FakeHost::lab().with_eth1());
        node.host.put(ETH0, vip(), 24);
        let _ = run_op(&mut node, Action::Monitor, pairs, &recurring());
        let locked = node.calls.iter().any(|c| c.starts_with("lock"));
        (node.calls[0].clone(), locked)
    };
    let sends = ("require monitor [NetRaw]".to_string(), true);
    let quiet = ("require monitor []".to_string(), false);
    let ip = ("ip", "198.51.100.50");
    assert_eq!(asked(&[ip, ("arp_count_refresh", "2")]), sends);
    assert_eq!(asked(&[ip, ("arp_refresh_interval", "30")]), sends);
    assert_eq!(
        asked(&[ip, ("nic", "eth0,eth1")]),
        sends,
        "standby adapters"
    );
    assert_eq!(asked(&[ip, ("link_watch", "true")]), sends);
    assert_eq!(
        asked(&[ip, ("nic", "eth0")]),
        quiet,
        "one adapter, nothing lasting"
    );
}

/// A node whose namespaces cannot be entered for want of privilege.
struct NamespaceRefused(FakeNode);

impl Node for NamespaceRefused {
    type Host = FakeHost;

    fn require(&mut self, action: Action, needed: &[Capability]) -> Result<()> {
        self.0.require(action, needed)
    }
    fn enter_namespace(&mut self, name: &str) -> Result<()> {
        self.0.calls.push(format!("enter {name}"));
        Err(Error::perm(format!(
            "cannot enter network namespace {name}"
        )))
    }
    fn enter_resident_namespace(&mut self, ip: IpAddr) -> Result<bool> {
        self.0.enter_resident_namespace(ip)
    }
    fn lock(&mut self, patience: Duration) -> Result<()> {
        self.0.lock(patience)
    }
    fn lock_holders(&mut self) -> Vec<i32> {
        self.0.lock_holders()
    }
    fn end_operation(&mut self, pid: i32, patience: Duration) -> Result<bool> {
        self.0.end_operation(pid, patience)
    }
    fn end_residents_without_address(&mut self, patience: Duration) -> Result<()> {
        self.0.end_residents_without_address(patience)
    }
    fn time_left(&mut self) -> Duration {
        self.0.time_left()
    }
    fn host(&mut self, p: &Params) -> Result<&mut FakeHost> {
        self.0.host(p)
    }
}

#[test]
fn a_namespace_that_exists_but_cannot_be_entered_fails_stop_and_monitor() {
    // Only a namespace that is gone means nothing of ours can be in it.
    let in_ns = raw(&[("ip", "198.51.100.50"), ("network_namespace", "blue")]);
    for action in [Action::Stop, Action::Monitor] {
        let mut node = NamespaceRefused(FakeNode::new(FakeHost::lab()));
        node.0.resident_namespace = true;
        let op = Operation {
            action,
            raw: &in_ns,
            meta: &meta(),
            check_level: None,
        };
        let err = operate(&mut node, &op).unwrap_err();
        assert_eq!(err.status, Status::ErrPerm, "{}", action.name());
        assert!(!node.0.opened_host, "{}", action.name());
    }
}

// ---------------------------------------------------------------- issue 16: loopback attachment

/// IPaddr2's "Attachment to loopback interface": a 127.x address without nic goes on lo as
/// /8 (the loopback network), nothing is announced and no resident is needed; monitor and
/// stop find it there.
#[test]
fn a_loopback_address_goes_on_lo_and_nothing_is_announced() {
    let lo_vip: IpAddr = "127.0.0.3".parse().unwrap();
    for pairs in [
        &[("ip", "127.0.0.3")][..],
        &[("ip", "127.0.0.3"), ("nic", "lo")],
        &[("ip", "127.0.0.3"), ("broadcast", "127.255.255.255")],
    ] {
        let p = params(pairs);
        let mut host = FakeHost::lab();
        start(&mut host, &p, &meta()).unwrap();
        assert_eq!(host.holds(LO, lo_vip), Some(8), "{pairs:?}");
        assert_eq!(
            host.requests[0].broadcast,
            Some("127.255.255.255".parse().unwrap())
        );
        assert_eq!(host.sent_rounds(), 0, "lo cannot announce");
        assert!(host.resident.is_none(), "nothing to send later either");
        for deep in [false, true] {
            assert_eq!(
                monitor(&mut host, &p, &recurring(), deep).unwrap(),
                Status::Success
            );
        }
        assert_eq!(host.count(|e| matches!(e, Effect::Probed(..))), 0);
        stop(&mut host, &p, &meta()).unwrap();
        assert!(host.addresses.is_empty());
        assert_eq!(
            monitor(&mut host, &p, &meta(), false).unwrap(),
            Status::NotRunning
        );
    }
    // cidr_netmask says otherwise.
    let mut host = FakeHost::lab();
    start(
        &mut host,
        &params(&[("ip", "127.0.0.3"), ("cidr_netmask", "24")]),
        &meta(),
    )
    .unwrap();
    assert_eq!(host.holds(LO, lo_vip), Some(24));
}

#[test]
fn a_loopback_address_elsewhere_than_lo_is_a_configuration_error() {
    for pairs in [
        &[("ip", "127.0.0.3"), ("nic", "eth0")][..],
        &[("ip", "127.0.0.1")],
        &[("ip", "::1")],
    ] {
        let mut node = FakeNode::new(FakeHost::lab());
        for action in [Action::Start, Action::ValidateAll] {
            let e = run_op(&mut node, action, pairs, &meta()).unwrap_err();
            assert_eq!(e.status, Status::ErrConfigured, "{pairs:?}: {e}");
            assert!(e.reason.starts_with("invalid ip"), "{}", e.reason);
        }
        assert!(node.host.addresses.is_empty());
    }
}

// ---------------------------------------------------------------- issue 16: metric

/// The fake's prefix-route priority is the last request's for that address: what start added
/// it with, or what reload replaced it with (`requests` keeps both, in order). A replace of an
/// IPv6 address does to the routes what Linux does: it swaps the first kernel route of the
/// prefix on the interface, whoever's it is (modify_prefix_route).
impl PrefixRoutes for FakeHost {
    fn route_priority(&mut self, ifindex: u32, ip: IpAddr) -> Result<Option<u32>> {
        if !self.addresses.contains_key(&(ifindex, ip)) {
            return Ok(None);
        }
        Ok(Some(self.priority_of(ifindex, ip)))
    }
    fn replace_address(&mut self, request: &AddressRequest) -> Result<()> {
        let (ifindex, ip, len) = (request.ifindex, request.ip, request.prefix_len);
        if !self.addresses.contains_key(&(ifindex, ip)) {
            return Err(Error::generic("no such address to replace"));
        }
        self.requests.push(request.clone());
        if ip.is_ipv6() {
            let new = ipv6_route_metric(request.route_metric.unwrap_or(0));
            let mut ours: Vec<u32> = self.fake_prefix_routes(ifindex, ip, len);
            ours.sort();
            if let Some(first) = ours.first().copied().filter(|m| *m != new) {
                self.delete_prefix_route(ifindex, ip, len, first)?;
                self.add_prefix_route(ifindex, ip, len, new)?;
            }
        }
        Ok(())
    }
    fn prefix_priorities(&mut self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Result<Vec<u32>> {
        let holders: Vec<IpAddr> = self
            .addresses
            .iter()
            .filter(|((i, a), held)| {
                *i == ifindex && held.prefix_len == prefix_len && covers(ip, prefix_len, *a)
            })
            .map(|((_, a), _)| *a)
            .collect();
        Ok(holders
            .into_iter()
            .map(|a| self.priority_of(ifindex, a))
            .collect())
    }
    fn add_prefix_route(
        &mut self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
        metric: u32,
    ) -> Result<()> {
        if !self
            .fake_prefix_routes(ifindex, ip, prefix_len)
            .contains(&metric)
        {
            self.routes.push(Route {
                metric,
                ..route(&ip.to_string(), prefix_len, ifindex, ip.is_ipv4())
            });
        }
        Ok(())
    }
    fn delete_prefix_route(
        &mut self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
        metric: u32,
    ) -> Result<()> {
        self.routes.retain(|r| {
            !(r.ifindex == Some(ifindex)
                && r.prefix_len == prefix_len
                && r.metric == metric
                && r.protocol == RTPROT_KERNEL
                && covers(r.destination, prefix_len, ip))
        });
        Ok(())
    }
}

impl FakeHost {
    fn priority_of(&self, ifindex: u32, ip: IpAddr) -> u32 {
        self.requests
            .iter()
            .rev()
            .find(|r| r.ifindex == ifindex && r.ip == ip)
            .and_then(|r| r.route_metric)
            .unwrap_or(0)
    }

    fn fake_prefix_routes(&self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Vec<u32> {
        self.routes
            .iter()
            .filter(|r| r.ifindex == Some(ifindex) && r.prefix_len == prefix_len)
            .filter(|r| r.protocol == RTPROT_KERNEL && covers(r.destination, prefix_len, ip))
            .map(|r| r.metric)
            .collect()
    }
}

#[test]
fn metric_is_the_prefix_routes_priority_and_wins_over_the_placing_routes() {
    // IPv6 takes the placing route's metric (a router-advertised 1024 here) unless metric
    // says otherwise.
    let mut host = FakeHost::lab();
    host.routes.push(Route {
        metric: 1024,
        protocol: 9,
        ..route("2001:db8:100::", 64, ETH0, false)
    });
    let v6 = [("ip", "2001:db8:100::50"), ("nodad", "true")];
    start(&mut host, &params(&v6), &meta()).unwrap();
    assert_eq!(host.requests[0].route_metric, Some(1024));
    stop(&mut host, &params(&v6), &meta()).unwrap();
    let with_metric = [v6[0], v6[1], ("metric", "50")];
    start(&mut host, &params(&with_metric), &meta()).unwrap();
    assert_eq!(host.requests[1].route_metric, Some(50), "metric wins");
    // IPv4: none without metric (the kernel's 0), the metric with it.
    let mut host = FakeHost::lab();
    start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    assert_eq!(host.requests[0].route_metric, None);
    let mut host = FakeHost::lab();
    let v4 = [("ip", "198.51.100.50"), ("metric", "0")];
    start(&mut host, &params(&v4), &meta()).unwrap();
    assert_eq!(host.requests[0].route_metric, Some(0));
}

#[test]
fn reload_changes_the_metric_in_place_and_only_when_it_differs() {
    let mut host = FakeHost::lab();
    let at = |m: &'static str| params(&[("ip", "198.51.100.50"), ("metric", m)]);
    start(&mut host, &at("50"), &meta()).unwrap();
    host.effects.clear();
    reload(&mut host, &at("60"), &meta()).unwrap();
    assert_eq!(host.requests.len(), 2, "one replace");
    let replaced = &host.requests[1];
    assert_eq!(
        (replaced.ifindex, replaced.prefix_len, replaced.route_metric),
        (ETH0, 24, Some(60))
    );
    assert_eq!(
        replaced.broadcast, host.requests[0].broadcast,
        "as start added it"
    );
    assert!(
        !host
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Added(..) | Effect::Deleted(..))),
        "never removed and added again: {:?}",
        host.effects
    );
    assert_eq!(host.route_priority(ETH0, vip()).unwrap(), Some(60));
    // The same metric again, or none: nothing to change.
    reload(&mut host, &at("60"), &meta()).unwrap();
    reload(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap();
    assert_eq!(host.requests.len(), 2);
    // Not here: the next start applies it.
    stop(&mut host, &at("60"), &meta()).unwrap();
    reload(&mut host, &at("70"), &meta()).unwrap();
    assert_eq!(host.requests.len(), 2);
}

#[test]
fn metric_without_a_prefix_route_or_with_standby_adapters_is_a_configuration_error() {
    for (pairs, why) in [
        (
            &[
                ("ip", "198.51.100.50"),
                ("metric", "50"),
                ("noprefixroute", "true"),
            ][..],
            "noprefixroute",
        ),
        (
            &[
                ("ip", "198.51.100.50"),
                ("metric", "50"),
                ("nic", "eth0,eth1"),
            ][..],
            "standby adapters",
        ),
        (
            &[("ip", "198.51.100.50"), ("metric", "4294967296")][..],
            "0 to 4294967295",
        ),
    ] {
        let mut node = FakeNode::new(FakeHost::lab().with_eth1());
        for action in [Action::Start, Action::ValidateAll, Action::ReloadAgent] {
            let e = run_op(&mut node, action, pairs, &meta()).unwrap_err();
            assert_eq!(e.status, Status::ErrConfigured, "{pairs:?}");
            assert!(e.reason.starts_with("invalid metric"), "{}", e.reason);
            assert!(e.reason.contains(why), "{}", e.reason);
        }
        assert!(node.host.addresses.is_empty());
    }
    assert_eq!(
        params(&[("ip", "198.51.100.50"), ("metric", "4294967295")]).route_metric,
        Some(u32::MAX)
    );
}

/// A lab for the IPv6 prefix-route cases: the node's own 2001:db8:100::10/64 on eth0 with
/// the kernel's route (metric 256), and the floating address started with `metric`, its
/// route added as the kernel adds it.
fn ipv6_with_metric(metric: Option<&'static str>) -> (FakeHost, Vec<(&'static str, &'static str)>) {
    let mut host = FakeHost::lab();
    host.routes.push(Route {
        metric: 256,
        ..route("2001:db8:100::", 64, ETH0, false)
    });
    host.put(ETH0, "2001:db8:100::10".parse().unwrap(), 64);
    let mut pairs = vec![("ip", "2001:db8:100::50"), ("nodad", "true")];
    pairs.extend(metric.map(|m| ("metric", m)));
    start(&mut host, &params(&pairs), &meta()).unwrap();
    let priority = host.priority_of(ETH0, vip6());
    host.add_prefix_route(ETH0, vip6(), 64, ipv6_route_metric(priority))
        .unwrap();
    (host, pairs)
}

fn kernel_metrics(host: &FakeHost) -> Vec<u32> {
    let mut m = host.fake_prefix_routes(ETH0, vip6(), 64);
    m.sort();
    m
}

#[test]
fn an_ipv6_metric_change_keeps_the_other_addresses_route_and_drops_the_old_one() {
    // The kernel swaps the first route it finds: the node's 256 before the address's 300.
    let (mut host, _) = ipv6_with_metric(Some("300"));
    assert_eq!(kernel_metrics(&host), [256, 300]);
    let to =
        |m: &'static str| params(&[("ip", "2001:db8:100::50"), ("nodad", "true"), ("metric", m)]);
    reload(&mut host, &to("400"), &meta()).unwrap();
    assert_eq!(kernel_metrics(&host), [256, 400]);
    // From the shared route (no metric: the placing route's 256) to a metric of its own.
    let (mut host, _) = ipv6_with_metric(None);
    assert_eq!(kernel_metrics(&host), [256]);
    reload(&mut host, &to("50"), &meta()).unwrap();
    assert_eq!(
        kernel_metrics(&host),
        [50, 256],
        "the node's route is put back"
    );
    reload(&mut host, &to("60"), &meta()).unwrap();
    assert_eq!(kernel_metrics(&host), [60, 256]);
}

#[test]
fn an_ipv6_stop_takes_the_route_of_its_own_metric_and_leaves_a_shared_one() {
    let (mut host, pairs) = ipv6_with_metric(Some("50"));
    assert_eq!(kernel_metrics(&host), [50, 256]);
    stop(&mut host, &params(&pairs), &meta()).unwrap();
    assert_eq!(kernel_metrics(&host), [256], "the node's own route stays");
    // Shared with the node's address: nothing to take.
    let (mut host, pairs) = ipv6_with_metric(None);
    stop(&mut host, &params(&pairs), &meta()).unwrap();
    assert_eq!(kernel_metrics(&host), [256]);
    // Another floating address with the same metric keeps the route it shares.
    let (mut host, pairs) = ipv6_with_metric(Some("50"));
    let other: IpAddr = "2001:db8:100::51".parse().unwrap();
    host.put(ETH0, other, 64);
    host.requests.push(AddressRequest {
        ip: other,
        ..host.requests[0].clone()
    });
    stop(&mut host, &params(&pairs), &meta()).unwrap();
    assert_eq!(kernel_metrics(&host), [50, 256]);
}

#[test]
fn validate_all_keeps_findifs_code_when_no_route_places_a_standby_adapter() {
    // Standby adapters up with carrier that no route covers: a placement failure (1 to
    // validate-all, as findif's), not an adapter this node lacks (5).
    let mut node = FakeNode::new(FakeHost {
        routes: Vec::new(),
        ..FakeHost::lab().with_eth1()
    });
    let pairs = [("ip", "198.51.100.50"), ("nic", "eth0,eth1")];
    let e = run_op(&mut node, Action::ValidateAll, &pairs, &meta()).unwrap_err();
    assert_eq!(e.status, Status::ErrGeneric, "{}", e.reason);
}

#[test]
fn another_interfaces_route_of_the_prefix_does_not_stand_in_for_this_ones() {
    // eth1 has an address of its own in the prefix, so a kernel route of the same /64 and
    // metric as the node's on eth0.
    let (mut host, _) = ipv6_with_metric(Some("300"));
    host = host.with_eth1();
    host.routes.push(Route {
        metric: 256,
        ..route("2001:db8:100::", 64, ETH1, false)
    });
    let to_400 = params(&[
        ("ip", "2001:db8:100::50"),
        ("nodad", "true"),
        ("metric", "400"),
    ]);
    reload(&mut host, &to_400, &meta()).unwrap();
    assert_eq!(
        kernel_metrics(&host),
        [256, 400],
        "eth0's own route of the node's address is put back"
    );
}

#[test]
fn an_ipv4_metric_change_leaves_the_routes_to_the_kernel() {
    // The kernel moves an IPv4 address's prefix route to the new metric itself: floatip
    // adds and removes none (the fake leaves the route at the old metric, which shows it).
    let mut host = FakeHost::lab();
    let with = |metric: &'static str| params(&[("ip", "198.51.100.50"), ("metric", metric)]);
    start(&mut host, &with("300"), &meta()).unwrap();
    host.routes.push(Route {
        metric: 300,
        ..route("198.51.100.0", 24, ETH0, true)
    });
    let routes = host.routes.clone();
    reload(&mut host, &with("400"), &meta()).unwrap();
    assert_eq!(
        host.priority_of(ETH0, vip()),
        400,
        "the address was replaced"
    );
    assert_eq!(host.routes, routes);
}

#[test]
fn a_metric_change_keeps_the_old_route_while_another_address_has_that_metric() {
    let (mut host, _) = ipv6_with_metric(Some("300"));
    let other: IpAddr = "2001:db8:100::51".parse().unwrap();
    host.put(ETH0, other, 64);
    host.requests.push(AddressRequest {
        ip: other,
        ..host.requests[0].clone()
    });
    assert_eq!(kernel_metrics(&host), [256, 300]);
    let to_400 = params(&[
        ("ip", "2001:db8:100::50"),
        ("nodad", "true"),
        ("metric", "400"),
    ]);
    reload(&mut host, &to_400, &meta()).unwrap();
    assert_eq!(kernel_metrics(&host), [256, 300, 400]);
}

/// Under Pacemaker (the node's name known), as the cluster runs start.
fn in_cluster() -> Meta {
    Meta {
        node: Some("node2".into()),
        ..Meta::default()
    }
}

fn list(entries: &str) -> String {
    format!(
        "floatip-clients-1 {} 198.51.100.50 {entries}",
        CLIENTS_NOW - 30
    )
}

fn tickled(host: &FakeHost) -> Vec<(SocketAddr, SocketAddr)> {
    host.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Tickled(pairs) => Some(pairs.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Issue 17: the node that starts the address after a failover tickles each client the last
/// owner recorded, right after its first announcement, and its resident once more later.
#[test]
fn start_tickles_the_last_owners_clients_after_the_first_announcement() {
    let mut host = FakeHost::lab();
    host.client_list = Some(list("198.51.100.9,40000,8080 203.0.113.9,5000,22"));
    start(
        &mut host,
        &params(&[("ip", "198.51.100.50")]),
        &in_cluster(),
    )
    .unwrap();
    let announced = host
        .position(|e| matches!(e, Effect::Announced(_)))
        .unwrap();
    let tickle = host.position(|e| matches!(e, Effect::Tickled(_))).unwrap();
    assert!(announced < tickle, "{:?}", host.effects);
    assert_eq!(
        tickled(&host),
        vec![
            (
                "198.51.100.50:8080".parse().unwrap(),
                "198.51.100.9:40000".parse().unwrap()
            ),
            (
                "198.51.100.50:22".parse().unwrap(),
                "203.0.113.9:5000".parse().unwrap()
            ),
        ]
    );
    let plan = host.resident.clone().unwrap();
    assert_eq!(plan.tickle_again.len(), 2);
    assert!(
        plan.record_clients,
        "the new owner records its clients in turn"
    );
    host.sleep(Duration::from_secs(2));
    host.run_resident();
    let again: Vec<_> = host
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::ResidentTickled(n, at) => Some((*n, *at)),
            _ => None,
        })
        .collect();
    assert_eq!(again.len(), 1, "{:?}", host.effects);
    assert_eq!(again[0].0, 2);
}

/// With arp_bg=false the rounds after the first are sent by start itself: the tickles do not
/// wait for them.
#[test]
fn tickles_go_right_after_the_first_announcement_before_foreground_rounds() {
    let mut host = FakeHost::lab();
    host.client_list = Some(list("198.51.100.9,40000,8080"));
    let p = params(&[
        ("ip", "198.51.100.50"),
        ("arp_bg", "false"),
        ("arp_count", "3"),
    ]);
    start(&mut host, &p, &in_cluster()).unwrap();
    let announced: Vec<usize> = host
        .effects
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Effect::Announced(_)))
        .map(|(i, _)| i)
        .collect();
    let tickle = host.position(|e| matches!(e, Effect::Tickled(_))).unwrap();
    assert_eq!(announced.len(), 3, "{:?}", host.effects);
    assert!(
        announced[0] < tickle && tickle < announced[1],
        "{:?}",
        host.effects
    );
}

/// A list that cannot be trusted is ignored, never a failed start; entries that cannot be
/// clients of the address are dropped, and nothing not in the list is tickled.
#[test]
fn a_forged_list_tickles_nothing_outside_the_vips_clients_and_start_succeeds() {
    let oversized = list(&vec!["203.0.113.9,1,80"; 5000].join(" "));
    for forged in [
        "garbage".to_string(),
        format!("floatip-clients-1 {CLIENTS_NOW} 198.51.100.51 203.0.113.9,1,80"),
        format!(
            "floatip-clients-1 {} 198.51.100.50 203.0.113.9,1,80",
            CLIENTS_NOW - 3600
        ),
        oversized,
        list("203.0.113.9,1,80 ;reboot"),
    ] {
        let mut host = FakeHost::lab();
        host.client_list = Some(forged.clone());
        start(
            &mut host,
            &params(&[("ip", "198.51.100.50")]),
            &in_cluster(),
        )
        .unwrap_or_else(|e| panic!("{forged:.60}: {}", e.reason));
        assert!(tickled(&host).is_empty(), "{forged:.60}");
        assert!(host
            .resident
            .as_ref()
            .is_none_or(|p| p.tickle_again.is_empty()));
    }
    let mut host = FakeHost::lab();
    host.client_list = Some(list(
        "203.0.113.9,1,80 224.0.0.1,1,80 127.0.0.1,1,80 198.51.100.50,1,80 2001:db8::9,1,80",
    ));
    start(
        &mut host,
        &params(&[("ip", "198.51.100.50")]),
        &in_cluster(),
    )
    .unwrap();
    assert_eq!(
        tickled(&host),
        vec![(
            "198.51.100.50:80".parse().unwrap(),
            "203.0.113.9:1".parse().unwrap()
        )]
    );
}

/// Outside a cluster, or with tickle_clients=false, no list is read, nothing is tickled and
/// nothing recorded.
#[test]
fn no_tickles_outside_a_cluster_or_when_turned_off() {
    for (pairs, meta) in [
        (vec![("ip", "198.51.100.50")], meta()),
        (
            vec![("ip", "198.51.100.50"), ("tickle_clients", "false")],
            in_cluster(),
        ),
    ] {
        let mut host = FakeHost::lab();
        host.client_list = Some(list("203.0.113.9,1,80"));
        start(&mut host, &params(&pairs), &meta).unwrap();
        assert!(tickled(&host).is_empty());
        assert!(host.resident.as_ref().is_none_or(|p| !p.record_clients));
    }
}
