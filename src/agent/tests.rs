//! Decisions against a host in memory that records every effect in order, so promises that
//! are orderings ("end the resident process before deleting the address") are asserted as
//! orderings.

use super::*;
use crate::params::{parse, virtual_interface_name, RawParams};
use crate::resolve::{Route, RouteKind};
use std::collections::BTreeMap;

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
    ResidentsEnded(Duration),
    Recorded(Record),
    Forgot,
    VirtualCreated(String),
    VirtualDeleted(String),
    ArpIsolated(String),
}

/// A host in memory: links, routes, addresses, a clock that moves only when slept on, and the
/// log of effects.
#[derive(Default)]
struct FakeHost {
    links: Vec<Link>,
    routes: Vec<Route>,
    addresses: BTreeMap<(u32, IpAddr), Assigned>,
    record: Option<Record>,
    resident: Option<Plan>,
    effects: Vec<Effect>,
    clock: Duration,
    /// Address reads before a tentative address settles (u32::MAX: never).
    dad_polls_until_done: u32,
    dad_fails: bool,
    end_residents_fails: bool,
    /// A delete that reports success and leaves the address (a kernel that lies).
    delete_is_ignored: bool,
    announce_fails: bool,
    other_owner: Option<MacAddr>,
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
        };
        FakeHost {
            links: vec![
                Link {
                    index: LO,
                    name: "lo".into(),
                    mac: None,
                    announces: false,
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
    }
}

impl Links for FakeHost {
    fn link_by_name(&mut self, name: &str) -> Result<Option<Link>> {
        Ok(self.links.iter().find(|l| l.name == name).cloned())
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
        self.addresses.insert(
            (r.ifindex, r.ip),
            Assigned {
                tentative,
                ..settled(r.prefix_len)
            },
        );
        self.effects.push(Effect::Added(r.ifindex, r.prefix_len));
        Ok(())
    }
    fn delete_address(&mut self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Result<()> {
        if !self.delete_is_ignored {
            self.addresses.remove(&(ifindex, ip));
        }
        self.effects.push(Effect::Deleted(ifindex, prefix_len));
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
        self.effects.push(Effect::Refreshed(link.index));
        Ok(())
    }
    fn probe(&mut self, link: &Link, _ip: IpAddr, wait: Duration) -> Result<Option<MacAddr>> {
        self.effects.push(Effect::Probed(link.index, wait));
        self.clock += wait;
        Ok(self.other_owner)
    }
}

impl Processes for FakeHost {
    fn start_resident(&mut self, plan: &Plan) -> Result<()> {
        self.resident = Some(plan.clone());
        self.effects.push(Effect::ResidentStarted(plan.clone()));
        Ok(())
    }
    fn update_resident(&mut self, plan: &Plan) -> Result<bool> {
        if self.resident.is_none() {
            return Ok(false);
        }
        self.resident = Some(plan.clone());
        self.effects.push(Effect::ResidentUpdated(plan.clone()));
        Ok(true)
    }
    fn resident_running(&mut self) -> bool {
        self.resident.is_some()
    }
    fn end_residents(&mut self, patience: Duration) -> Result<()> {
        self.effects.push(Effect::ResidentsEnded(patience));
        if self.end_residents_fails {
            return Err(Error::generic("background process 4242 did not exit"));
        }
        self.resident = None;
        Ok(())
    }
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
    let deadline = Deadline::for_operation(&mut host, &meta);
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
        assert_eq!(err.status, Status::ErrConfigured, "{pairs:?}");
        let err = validate_environment(&mut host, &p, &with_timeout(timeout)).unwrap_err();
        assert_eq!(err.status, Status::ErrConfigured, "{pairs:?}");
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
    assert_eq!(err.status, Status::ErrInstalled);
    assert!(host.addresses.is_empty());
}

#[test]
fn start_refuses_a_foreign_prefix_and_leaves_it() {
    let mut host = FakeHost::lab();
    host.put(ETH0, vip(), 16);
    let err = start(&mut host, &params(&[("ip", "198.51.100.50")]), &meta()).unwrap_err();
    assert_eq!(err.status, Status::ErrGeneric);
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
    assert_eq!(err.status, Status::ErrGeneric);
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
            Effect::Deleted(ETH0, 24),
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
    assert_eq!(err.status, Status::ErrGeneric);
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
    assert_eq!(err.status, Status::ErrGeneric);
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
    assert_eq!(err.status, Status::Degraded);
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
    assert_eq!(err.status, Status::Degraded);
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
