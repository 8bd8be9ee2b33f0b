//! Issue 16: the exit codes of today's IPaddr2 (resource-agents main) and floatip's three
//! deliberate differences, the loopback attachment of upstream's newest ocft suite, an IPv6
//! prefix longer than its route, and `metric`, each shown on a real kernel in a namespace
//! lab. Needs root; skips without it unless CI is set.

mod common;

use common::*;

const VIP4: &str = "198.51.100.50";
const VIP6: &str = "2001:db8:100::50";

fn recurring<'a>(params: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = params.to_vec();
    v.push(("OCF_RESKEY_CRM_meta_interval", "10000"));
    v
}

fn on(lab: &Lab, ifname: &str, cidr: &str) -> bool {
    lab.addresses(Host::Node(0), ifname)
        .iter()
        .any(|a| a == cidr)
}

/// One exit reason, containing `part`.
fn says(run: &AgentRun, part: &str) {
    let reasons = exit_reasons(run);
    assert_eq!(reasons.len(), 1, "{}", run.stderr);
    assert!(reasons[0].contains(part), "{reasons:?}, want {part:?}");
}

/// A start that no route on this node places is 5 (IPaddr2 4.17: this node cannot host it,
/// try another), for every way findif fails; validate-all keeps findif's 1.
#[test]
fn a_start_this_nodes_routes_cannot_place_is_not_installed() {
    if !root_or_skip("a_start_this_nodes_routes_cannot_place_is_not_installed") {
        return;
    }
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("ip", "203.0.113.50")], "no interface found"),
        (&[("ip", VIP4), ("nic", "eth1")], "no route on eth1"),
        (
            &[("ip", VIP4), ("cidr_netmask", "16")],
            "no interface found",
        ),
        (&[("ip", VIP4), ("proto", "static")], "of proto 4"),
        (
            &[("ip", VIP6), ("cidr_netmask", "48")],
            "no interface found",
        ),
    ];
    for (params, reason) in cases {
        let start = agent(&lab, 0, "start", params);
        assert_code(&start, 5, &format!("start {params:?}"));
        says(&start, reason);
        let validate = agent(&lab, 0, "validate-all", params);
        assert_code(&validate, 1, &format!("validate-all {params:?}"));
        says(&validate, reason);
        assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
        assert!(!lab
            .addresses(Host::Node(0), "eth0")
            .iter()
            .any(|a| a.starts_with("198.51.100.50/") || a.starts_with("2001:db8:100::50/")));
    }
}

/// The link is down: start 5 (4.17), a recurring monitor 7 (PR #2166), a probe 7; with
/// standby adapters, "down" means that no usable listed adapter holds the address.
#[test]
fn a_down_link_is_5_to_start_and_7_to_a_monitor() {
    if !root_or_skip("a_down_link_is_5_to_start_and_7_to_a_monitor") {
        return;
    }
    let lab = Lab::new(1);
    let n0 = Host::Node(0);
    for params in [&[("ip", VIP4)][..], &[("ip", VIP6), ("nodad", "true")][..]] {
        lab.set_port(n0, false);
        let start = agent(&lab, 0, "start", params);
        assert_code(&start, 5, "start with the cable cut");
        says(&start, "link down on NIC eth0 (no carrier)");
        lab.set_port(n0, true);
        assert_code(&agent(&lab, 0, "start", params), 0, "start");
        lab.set_port(n0, false);
        let monitor = agent(&lab, 0, "monitor", &recurring(params));
        assert_code(&monitor, 7, "recurring monitor with the cable cut");
        says(&monitor, "link down on NIC eth0 (no carrier)");
        let probe = agent(&lab, 0, "monitor", params);
        assert_code(&probe, 7, "probe with the cable cut");
        assert!(exit_reasons(&probe).is_empty(), "{}", probe.stderr);
        lab.set_port(n0, true);
        assert_code(
            &agent(&lab, 0, "monitor", &recurring(params)),
            0,
            "up again",
        );
        assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
    }
}

#[test]
fn with_standby_adapters_a_monitor_is_7_only_when_no_usable_one_holds_it() {
    if !root_or_skip("with_standby_adapters_a_monitor_is_7_only_when_no_usable_one_holds_it") {
        return;
    }
    let lab = Lab::new(1);
    let n0 = Host::Node(0);
    lab.add_nic(0, "eth1");
    lab.ip(n0, &["addr", "add", "198.51.100.11/24", "dev", "eth1"]);
    let params = [
        ("ip", VIP4),
        ("nic", "eth0,eth1"),
        ("failback_delay", "100"),
    ];
    assert_code(&agent(&lab, 0, "start", &params), 0, "start");
    assert!(on(&lab, "eth0", "198.51.100.50/24"));
    // The resident moves it to eth1 (once it heard eth1 on eth0's segment): still running.
    wait_resident_ready(&lab, 0, "vip");
    lab.set_port(n0, false);
    assert!(
        wait_until(std::time::Duration::from_secs(5), || on(
            &lab,
            "eth1",
            "198.51.100.50/24"
        )),
        "the address moved to eth1"
    );
    assert_code(
        &agent(&lab, 0, "monitor", &recurring(&params)),
        0,
        "held by the usable eth1",
    );
    // Both cut: no usable adapter holds it.
    lab.set_nic_port(n0, "eth1", false);
    let monitor = agent(&lab, 0, "monitor", &recurring(&params));
    assert_code(&monitor, 7, "both cables cut");
    says(&monitor, "link down on NIC");
    let start = agent(&lab, 0, "start", &params);
    assert_code(&start, 5, "start with both adapters down");
    lab.set_port(n0, true);
    lab.set_nic_port(n0, "eth1", true);
    assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
}

/// Today's findif lets an IPv6 prefix be longer than the covering route's, as IPv4's.
#[test]
fn an_ipv6_prefix_longer_than_the_route_starts_without_nic() {
    if !root_or_skip("an_ipv6_prefix_longer_than_the_route_starts_without_nic") {
        return;
    }
    let lab = Lab::new(1);
    for (params, cidr) in [
        (
            [("ip", VIP6), ("cidr_netmask", "80"), ("nodad", "true")],
            "2001:db8:100::50/80",
        ),
        (
            [("ip", VIP4), ("cidr_netmask", "28"), ("arp_count", "1")],
            "198.51.100.50/28",
        ),
    ] {
        assert_code(&agent(&lab, 0, "validate-all", &params), 0, "validate-all");
        assert_code(&agent(&lab, 0, "start", &params), 0, "start");
        assert!(
            on(&lab, "eth0", cidr),
            "{:?}",
            lab.addresses(Host::Node(0), "eth0")
        );
        assert_code(
            &agent(&lab, 0, "monitor", &recurring(&params)),
            0,
            "monitor",
        );
        assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
        assert!(!on(&lab, "eth0", cidr));
    }
}

/// floatip's three deliberate differences from today's IPaddr2 (README: "Exit codes against
/// IPaddr2's").
#[test]
fn the_three_deliberate_differences() {
    if !root_or_skip("the_three_deliberate_differences") {
        return;
    }
    let lab = Lab::new(1);
    let n0 = Host::Node(0);
    // 1. A syntactically invalid ip, cidr_netmask or broadcast is wrong on every node: 6 to
    //    start too (IPaddr2's start says 5 for any findif failure).
    for (params, names) in [
        (&[("ip", "198.51.100.500")][..], "invalid ip"),
        (
            &[("ip", VIP4), ("cidr_netmask", "33")][..],
            "invalid cidr_netmask",
        ),
        (
            &[("ip", VIP4), ("broadcast", "not_broadcast")][..],
            "invalid broadcast",
        ),
    ] {
        for action in ["start", "validate-all"] {
            let run = agent(&lab, 0, action, params);
            assert_code(&run, 6, &format!("{action} {params:?}"));
            says(&run, names);
        }
    }
    // 2. validate-all with a nic this node lacks: 5 (findif says 6), as start.
    let absent = [("ip", VIP4), ("nic", "eth7")];
    for action in ["validate-all", "start"] {
        let run = agent(&lab, 0, action, &absent);
        assert_code(&run, 5, action);
        says(&run, "nic eth7 does not exist on this node");
    }
    // 3. A recurring monitor whose nic vanished: 7 (IPaddr2 says 1).
    lab.add_nic(0, "eth1");
    let on_eth1 = [("ip", VIP4), ("nic", "eth1"), ("cidr_netmask", "24")];
    assert_code(&agent(&lab, 0, "start", &on_eth1), 0, "start on eth1");
    lab.ip(n0, &["link", "del", "eth1"]);
    let monitor = agent(&lab, 0, "monitor", &recurring(&on_eth1));
    assert_code(&monitor, 7, "recurring monitor, eth1 gone");
    says(&monitor, "198.51.100.50 is not assigned on this node");
    assert_code(&agent(&lab, 0, "stop", &on_eth1), 0, "stop");
}

/// Upstream's newest ocft case "Attachment to loopback interface": `ip=127.0.0.3` without
/// nic starts, monitors and stops with 0, on the lab node's own lo (as /8, the loopback
/// network), and nothing is announced; on another nic it stays refused.
#[test]
fn a_loopback_address_is_attached_to_lo() {
    if !root_or_skip("a_loopback_address_is_attached_to_lo") {
        return;
    }
    let lab = Lab::new(1);
    let n0 = Host::Node(0);
    let lo_before = lab.addresses(n0, "lo");
    assert!(
        lo_before.iter().any(|a| a == "127.0.0.1/8"),
        "{lo_before:?}"
    );
    for params in [
        &[("ip", "127.0.0.3")][..],
        &[("ip", "127.0.0.3"), ("broadcast", "127.255.255.255")],
        &[("ip", "127.0.0.3"), ("nic", "lo")],
    ] {
        let capture = lab.capture(n0, "eth0");
        assert_code(&agent(&lab, 0, "validate-all", params), 0, "validate-all");
        let start = agent(&lab, 0, "start", params);
        assert_code(&start, 0, "start");
        assert!(
            on(&lab, "lo", "127.0.0.3/8"),
            "{:?}",
            lab.addresses(n0, "lo")
        );
        let shown = lab.ip(n0, &["-o", "-4", "addr", "show", "dev", "lo"]);
        assert!(shown.contains("127.0.0.3/8 brd 127.255.255.255"), "{shown}");
        for monitor in [params.to_vec(), recurring(params)] {
            assert_code(&agent(&lab, 0, "monitor", &monitor), 0, "monitor");
        }
        let mut deep = recurring(params);
        deep.push(("OCF_CHECK_LEVEL", "10"));
        assert_code(&agent(&lab, 0, "monitor", &deep), 0, "deep monitor");
        assert!(residents(&lab, 0).is_empty(), "nothing to announce later");
        // The node reaches it, as any local address.
        lab.sh_ok(n0, "ping -n -c 1 -w 5 -I 127.0.0.3 127.0.0.1");
        assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
        assert_eq!(lab.addresses(n0, "lo"), lo_before, "lo as it was");
        assert_code(&agent(&lab, 0, "monitor", params), 7, "probe after stop");
        let frames = capture.stop();
        let loopback_arp = frames
            .iter()
            .any(|(_, f)| parse_arp(f).is_some_and(|(_, sender, _)| sender.octets()[0] == 127));
        assert!(!loopback_arp, "nothing about 127.x on eth0's wire");
    }
    // A loopback address elsewhere than lo, or lo's own address: 6, and lo is left alone.
    for (params, reason) in [
        (
            &[("ip", "127.0.0.3"), ("nic", "eth0")][..],
            "goes on lo only",
        ),
        (&[("ip", "127.0.0.1")][..], "lo's own address"),
        (&[("ip", "::1")][..], "lo's own address"),
    ] {
        for action in ["start", "validate-all"] {
            let run = agent(&lab, 0, action, params);
            assert_code(&run, 6, &format!("{action} {params:?}"));
            says(&run, reason);
        }
        assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
        assert_eq!(lab.addresses(n0, "lo"), lo_before, "lo as it was");
    }
}

/// `ip route list exact PREFIX` lines (IPv6 with `-6`).
fn routes_exact(lab: &Lab, family: &str, prefix: &str) -> Vec<String> {
    lab.ip(Host::Node(0), &[family, "route", "list", "exact", prefix])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// `ip -o monitor address` in the node while `f` runs: the lines it printed.
fn address_events(lab: &Lab, f: impl FnOnce()) -> String {
    use std::io::Read;
    let mut monitor = lab
        .exec_command(Host::Node(0), "ip", &["-o", "monitor", "address"], &[])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    f();
    std::thread::sleep(std::time::Duration::from_millis(200));
    monitor.kill().unwrap();
    monitor.wait().unwrap();
    let mut out = String::new();
    monitor
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    out
}

/// `metric` is the prefix route's metric, IPv4 and IPv6; it wins over the placing route's
/// metric; reload-agent changes it in place (the address is replaced, never deleted), and
/// neither a reload nor a stop takes or leaves another address's route.
#[test]
fn metric_sets_the_prefix_route_and_reload_changes_it_in_place() {
    if !root_or_skip("metric_sets_the_prefix_route_and_reload_changes_it_in_place") {
        return;
    }
    let lab = Lab::new(1);
    let n0 = Host::Node(0);
    lab.add_nic(0, "eth1");
    lab.wait_dad(n0, "eth0");
    let metrics = |family: &str, prefix: &str| -> Vec<u32> {
        let mut m: Vec<u32> = routes_exact(&lab, family, prefix)
            .iter()
            .filter(|r| r.contains("proto kernel"))
            .filter_map(|r| {
                let words: Vec<&str> = r.split_whitespace().collect();
                let at = words.iter().position(|w| *w == "metric")?;
                words.get(at + 1)?.parse().ok()
            })
            .collect();
        m.sort();
        m
    };
    // Replaces run while `ip monitor` watches: the address is never deleted.
    let reload_to = |params: &[(&str, &str)], from: &str, to: &str| {
        let events = address_events(&lab, || {
            let reload = agent(&lab, 0, "reload-agent", params);
            assert_code(&reload, 0, "reload-agent");
            assert!(
                reload
                    .stderr
                    .contains(&format!("now has metric {to} (was {from})")),
                "{}",
                reload.stderr
            );
        });
        assert!(
            !events.lines().any(|l| l.starts_with("Deleted")),
            "the address was never removed: {events}"
        );
    };

    // IPv6 beside the node's own 2001:db8:100::10/64, whose route has the kernel's 256.
    let p6 = "2001:db8:100::/64";
    assert_eq!(metrics("-6", p6), [256]);
    let v6 = |m: Option<&'static str>| {
        let mut p = vec![("ip", VIP6), ("nodad", "true")];
        p.extend(m.map(|m| ("metric", m)));
        p
    };
    // Without metric it shares the placing route (256); with one, a route of its own.
    assert_code(&agent(&lab, 0, "start", &v6(None)), 0, "start");
    assert_eq!(metrics("-6", p6), [256]);
    // To 300 and 400: the kernel replaces the first route it finds (the node's 256); floatip
    // puts that back and takes the old one.
    reload_to(&v6(Some("300")), "256", "300");
    assert_eq!(metrics("-6", p6), [256, 300]);
    reload_to(&v6(Some("400")), "300", "400");
    assert_eq!(metrics("-6", p6), [256, 400]);
    reload_to(&v6(Some("50")), "400", "50");
    assert_eq!(metrics("-6", p6), [50, 256]);
    assert_code(
        &agent(&lab, 0, "monitor", &recurring(&v6(Some("50")))),
        0,
        "monitor",
    );
    // The kernel would keep the 50 route (another address of the prefix stays): stop takes it.
    assert_code(&agent(&lab, 0, "stop", &v6(Some("50"))), 0, "stop");
    assert_eq!(
        metrics("-6", p6),
        [256],
        "the node's route alone, as before"
    );
    assert_code(
        &agent(&lab, 0, "start", &v6(Some("70"))),
        0,
        "start with metric 70",
    );
    assert_eq!(
        metrics("-6", p6),
        [70, 256],
        "metric wins over the placing route's"
    );
    assert_code(&agent(&lab, 0, "stop", &v6(Some("70"))), 0, "stop");
    assert_eq!(metrics("-6", p6), [256]);

    // IPv4 alone in its subnet on eth1, so that it is the primary with a route of its own.
    let p4 = "203.0.113.0/24";
    let v4 = |m: &'static str| {
        vec![
            ("ip", "203.0.113.50"),
            ("nic", "eth1"),
            ("cidr_netmask", "24"),
            ("metric", m),
        ]
    };
    assert_code(
        &agent(&lab, 0, "start", &v4("50")),
        0,
        "start with metric 50",
    );
    assert_eq!(metrics("-4", p4), [50]);
    reload_to(&v4("60"), "50", "60");
    assert_eq!(metrics("-4", p4), [60]);
    assert_code(
        &agent(&lab, 0, "monitor", &recurring(&v4("60"))),
        0,
        "monitor",
    );
    assert_code(&agent(&lab, 0, "stop", &v4("60")), 0, "stop");
    assert_eq!(metrics("-4", p4), Vec::<u32>::new());

    // noprefixroute: no route to give a metric to (6).
    let run = agent(
        &lab,
        0,
        "start",
        &[("ip", VIP4), ("metric", "50"), ("noprefixroute", "true")],
    );
    assert_code(&run, 6, "metric with noprefixroute");
    says(&run, "invalid metric");
}
