//! The agent on real kernels: namespace labs with a client on the same bridge, asserting what
//! a user would see (addresses on interfaces, frames on the client's wire, the client's
//! neighbour entries, exit codes and reasons). Needs root; skips without it unless CI is set.

mod common;

use common::*;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

const VIP4: &str = "198.51.100.50";
const VIP6: &str = "2001:db8:100::50";

#[test]
fn start_adds_the_address_stop_removes_it_both_idempotent() {
    if !root_or_skip("start_adds_the_address_stop_removes_it_both_idempotent") {
        return;
    }
    let lab = Lab::new(1);
    for (vip, cidr, extra) in [
        (VIP4, "198.51.100.50/24", None),
        (VIP6, "2001:db8:100::50/64", Some(("nodad", "true"))),
    ] {
        let mut params = vec![("ip", vip)];
        params.extend(extra);
        let probe = agent(&lab, 0, "monitor", &params);
        assert_code(&probe, 7, "probe before start");
        assert!(
            exit_reasons(&probe).is_empty(),
            "a probe that finds nothing is not a failure"
        );
        assert_code(&agent(&lab, 0, "start", &params), 0, "start");
        assert!(
            has_address(&lab, 0, cidr),
            "{cidr} on eth0 after start: {:?}",
            lab.addresses(Host::Node(0), "eth0")
        );
        assert_code(&agent(&lab, 0, "start", &params), 0, "second start");
        assert_eq!(
            lab.addresses(Host::Node(0), "eth0")
                .iter()
                .filter(|a| *a == cidr)
                .count(),
            1
        );
        assert_code(&agent(&lab, 0, "monitor", &params), 0, "probe after start");
        let mut recurring = params.clone();
        recurring.push(("OCF_RESKEY_CRM_meta_interval", "10000"));
        assert_code(
            &agent(&lab, 0, "monitor", &recurring),
            0,
            "recurring monitor",
        );
        assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
        assert!(!has_address(&lab, 0, cidr), "{cidr} gone after stop");
        assert_code(&agent(&lab, 0, "stop", &params), 0, "second stop");
        let after = agent(&lab, 0, "monitor", &recurring);
        assert_code(&after, 7, "recurring monitor after stop");
        assert_eq!(
            exit_reasons(&after).len(),
            1,
            "a recurring monitor says why"
        );
    }
}

#[test]
fn ipv4_announcement_reaches_the_client_before_start_returns() {
    if !root_or_skip("ipv4_announcement_reaches_the_client_before_start_returns") {
        return;
    }
    let lab = Lab::new(1);
    let node_mac = lab.mac(Host::Node(0), "eth0");
    let capture = lab.capture(Host::Client, "eth0");
    let run = agent(
        &lab,
        0,
        "start",
        &[
            ("ip", VIP4),
            ("cidr_netmask", "24"),
            ("arp_count", "3"),
            ("arp_interval", "100"),
        ],
    );
    let returned = Instant::now();
    assert_code(&run, 0, "start");
    assert!(capture.wait_for(Duration::from_secs(3), |f| announcements(
        f, VIP4, &node_mac
    )
    .len()
        >= 6));
    let frames = capture.stop();
    let arps = arp_announcements(&frames, VIP4.parse().unwrap());
    let ours: Vec<_> = arps
        .iter()
        .filter(|(_, a)| a.sender_mac == mac_bytes(&node_mac))
        .collect();
    assert_eq!(ours.len(), 6, "3 rounds of request + reply: {ours:?}");
    assert!(
        ours[0].0 <= returned,
        "the first round is on the wire before start returns"
    );
    for (_, a) in &ours {
        assert_eq!(a.eth_dst, [0xff; 6], "broadcast");
        assert_eq!(a.eth_src, mac_bytes(&node_mac));
        match a.op {
            1 => assert_eq!(a.target_mac, [0; 6], "request form: target MAC zero"),
            2 => assert_eq!(
                a.target_mac, a.sender_mac,
                "reply form: target MAC = sender MAC"
            ),
            op => panic!("unexpected ARP operation {op}"),
        }
    }
    assert_eq!(ours.iter().filter(|(_, a)| a.op == 1).count(), 3);
    // Rounds are arp_interval apart (generous margins: this is not a timing test).
    let gap = ours[2].0 - ours[0].0;
    assert!(
        gap >= Duration::from_millis(80),
        "round 2 came {gap:?} after round 1"
    );
    assert_code(
        &agent(&lab, 0, "stop", &[("ip", VIP4), ("cidr_netmask", "24")]),
        0,
        "stop",
    );
}

#[test]
fn ipv6_advertisement_reaches_the_client_after_dad() {
    if !root_or_skip("ipv6_advertisement_reaches_the_client_after_dad") {
        return;
    }
    let lab = Lab::new(1);
    let node_mac = lab.mac(Host::Node(0), "eth0");
    let capture = lab.capture(Host::Client, "eth0");
    // Without nodad: start waits for DAD, then announces.
    let run = agent(
        &lab,
        0,
        "start",
        &[("ip", VIP6), ("arp_count", "2"), ("arp_interval", "100")],
    );
    let returned = Instant::now();
    assert_code(&run, 0, "start");
    assert!(
        run.elapsed >= Duration::from_millis(500),
        "start waited for DAD ({:?})",
        run.elapsed
    );
    assert!(lab
        .sh_ok(Host::Node(0), "ip -6 -o addr show dev eth0")
        .lines()
        .any(|l| l.contains("2001:db8:100::50/64") && !l.contains("tentative")));
    assert!(capture.wait_for(Duration::from_secs(3), |f| announcements(
        f, VIP6, &node_mac
    )
    .len()
        >= 2));
    let frames = capture.stop();
    let vip: Ipv6Addr = VIP6.parse().unwrap();
    let nas: Vec<_> = neighbor_advertisements(&frames, vip)
        .into_iter()
        .filter(|(_, n)| n.eth_src == mac_bytes(&node_mac) && !n.solicited)
        .collect();
    assert_eq!(nas.len(), 2, "{nas:?}");
    assert!(
        nas[0].0 <= returned,
        "the first NA is on the wire before start returns"
    );
    for (_, na) in &nas {
        assert!(na.override_flag, "Override set");
        assert!(!na.router, "the node does not forward");
        assert_eq!(na.hop_limit, 255);
        assert_eq!(na.dst, "ff02::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(na.eth_dst, [0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(na.tlla, Some(mac_bytes(&node_mac)));
    }
    assert_code(&agent(&lab, 0, "stop", &[("ip", VIP6)]), 0, "stop");
}

/// Pings so the client holds a neighbour entry for the VIP.
fn client_learns(lab: &Lab, vip: &str) {
    let out = lab.sh(Host::Client, &format!("ping -c 1 -w 3 {vip}"));
    assert!(
        out.status.success(),
        "client cannot reach {vip}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn wait_neighbour(lab: &Lab, vip: &str, mac: &str) -> Option<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let entry = lab.neigh(Host::Client, vip);
        if entry.as_ref().is_some_and(|(m, _)| m == mac) || Instant::now() > deadline {
            return entry;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn move_between_nodes(vip: &'static str, extra: &[(&'static str, &'static str)]) {
    let lab = Lab::new(2);
    let mut params = vec![("ip", vip)];
    params.extend_from_slice(extra);
    let (mac_a, mac_b) = (
        lab.mac(Host::Node(0), "eth0"),
        lab.mac(Host::Node(1), "eth0"),
    );
    assert_code(&agent(&lab, 0, "start", &params), 0, "start on A");
    client_learns(&lab, vip);
    assert_eq!(
        lab.neigh(Host::Client, vip).map(|e| e.0),
        Some(mac_a.clone()),
        "client knows A"
    );
    assert_code(&agent(&lab, 0, "stop", &params), 0, "stop on A");
    // Within the kernel's locktime the client only takes some ARP forms; the agent sends both.
    assert_code(&agent(&lab, 1, "start", &params), 0, "start on B");
    let entry = wait_neighbour(&lab, vip, &mac_b);
    assert_eq!(
        entry.as_ref().map(|e| e.0.as_str()),
        Some(mac_b.as_str()),
        "client follows to B without asking: {entry:?}"
    );
    client_learns(&lab, vip);
    assert!(has_address(
        &lab,
        1,
        &format!("{vip}/{}", if vip.contains(':') { 64 } else { 24 })
    ));
    assert!(!lab
        .addresses(Host::Node(0), "eth0")
        .iter()
        .any(|a| a.starts_with(&format!("{vip}/"))));
    assert_code(&agent(&lab, 1, "stop", &params), 0, "stop on B");
}

#[test]
fn client_neighbour_entry_follows_an_ipv4_move() {
    if root_or_skip("client_neighbour_entry_follows_an_ipv4_move") {
        move_between_nodes(VIP4, &[]);
    }
}

#[test]
fn client_neighbour_entry_follows_an_ipv6_move() {
    if root_or_skip("client_neighbour_entry_follows_an_ipv6_move") {
        move_between_nodes(VIP6, &[("nodad", "true")]);
    }
}

#[test]
fn no_announcement_after_stop_returns_during_a_long_burst() {
    if !root_or_skip("no_announcement_after_stop_returns_during_a_long_burst") {
        return;
    }
    let lab = Lab::new(1);
    let node_mac = lab.mac(Host::Node(0), "eth0");
    for (vip, extra) in [(VIP4, None), (VIP6, Some(("nodad", "true")))] {
        let mut params = vec![("ip", vip), ("arp_count", "20"), ("arp_interval", "500")];
        params.extend(extra);
        let capture = lab.capture(Host::Client, "eth0");
        assert_code(&agent(&lab, 0, "start", &params), 0, "start");
        // Let the background burst send a few rounds.
        assert!(
            capture.wait_for(Duration::from_secs(5), |f| announcements(f, vip, &node_mac)
                .len()
                >= 3 * if vip.contains(':') { 1 } else { 2 })
        );
        let stop = agent(&lab, 0, "stop", &params);
        let stopped = Instant::now();
        assert_code(&stop, 0, "stop during the burst");
        std::thread::sleep(Duration::from_millis(2500));
        let frames = capture.stop();
        let late: Vec<_> = announcements(&frames, vip, &node_mac)
            .into_iter()
            .filter(|t| *t > stopped)
            .collect();
        assert!(
            late.is_empty(),
            "{} announcement(s) for {vip} after stop returned",
            late.len()
        );
        assert_eq!(
            burst_workers(&lab, 0),
            Vec::<i32>::new(),
            "no burst process outlives stop"
        );
    }
}

#[test]
fn burst_stops_by_itself_when_the_address_is_removed_behind_its_back() {
    if !root_or_skip("burst_stops_by_itself_when_the_address_is_removed_behind_its_back") {
        return;
    }
    let lab = Lab::new(1);
    let node_mac = lab.mac(Host::Node(0), "eth0");
    let capture = lab.capture(Host::Client, "eth0");
    assert_code(
        &agent(
            &lab,
            0,
            "start",
            &[("ip", VIP4), ("arp_count", "20"), ("arp_interval", "300")],
        ),
        0,
        "start",
    );
    assert!(capture.wait_for(Duration::from_secs(3), |f| announcements(
        f, VIP4, &node_mac
    )
    .len()
        >= 4));
    lab.ip(
        Host::Node(0),
        &["addr", "del", "198.51.100.50/24", "dev", "eth0"],
    );
    let removed = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    let frames = capture.stop();
    let late = announcements(&frames, VIP4, &node_mac)
        .into_iter()
        .filter(|t| *t > removed)
        .count();
    assert_eq!(
        late, 0,
        "the burst re-checks the address before every round"
    );
}

#[test]
fn foreground_burst_is_complete_when_start_returns() {
    if !root_or_skip("foreground_burst_is_complete_when_start_returns") {
        return;
    }
    let lab = Lab::new(1);
    let node_mac = lab.mac(Host::Node(0), "eth0");
    let capture = lab.capture(Host::Client, "eth0");
    let run = agent(
        &lab,
        0,
        "start",
        &[
            ("ip", VIP4),
            ("arp_bg", "false"),
            ("arp_count", "4"),
            ("arp_interval", "50"),
        ],
    );
    let returned = Instant::now();
    assert_code(&run, 0, "start");
    assert!(capture.wait_for(Duration::from_secs(2), |f| announcements(
        f, VIP4, &node_mac
    )
    .len()
        >= 8));
    let sent = announcements(&capture.stop(), VIP4, &node_mac);
    assert_eq!(sent.len(), 8, "4 rounds of request + reply");
    assert!(
        sent.iter().all(|t| *t <= returned),
        "every round left before start returned"
    );
    assert!(run.elapsed >= Duration::from_millis(150));
}

#[test]
fn link_down_fails_monitor_and_start() {
    if !root_or_skip("link_down_fails_monitor_and_start") {
        return;
    }
    let lab = Lab::new(1);
    let params = [("ip", VIP4), ("OCF_RESKEY_CRM_meta_interval", "10000")];
    assert_code(&agent(&lab, 0, "start", &params), 0, "start");
    lab.set_port(Host::Node(0), false);
    let monitor = agent(&lab, 0, "monitor", &params);
    assert_code(
        &monitor,
        7,
        "monitor with the cable cut: not running (IPaddr2 since PR #2166)",
    );
    assert_eq!(
        exit_reasons(&monitor),
        vec!["ocf-exit-reason:link down on NIC eth0 (no carrier)"]
    );
    assert_code(
        &agent(
            &lab,
            0,
            "monitor",
            &[("ip", VIP4), ("check_link_status", "false")],
        ),
        0,
        "check_link_status=false ignores the link",
    );
    assert_code(
        &agent(&lab, 0, "stop", &params),
        0,
        "stop works without a link",
    );
    let start = agent(
        &lab,
        0,
        "start",
        &[("ip", VIP4), ("nic", "eth0"), ("cidr_netmask", "24")],
    );
    assert_code(
        &start,
        5,
        "start without carrier: this node's link (IPaddr2 4.17)",
    );
    assert!(
        !has_address(&lab, 0, "198.51.100.50/24"),
        "nothing half-configured"
    );
    lab.set_port(Host::Node(0), true);
    assert_code(
        &agent(&lab, 0, "start", &params),
        0,
        "start with the link back",
    );
    assert_code(
        &agent(&lab, 0, "monitor", &params),
        0,
        "monitor with the link back",
    );
    assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
}

#[test]
fn duplicate_ipv6_address_fails_start_and_leaves_nothing() {
    if !root_or_skip("duplicate_ipv6_address_fails_start_and_leaves_nothing") {
        return;
    }
    let lab = Lab::new(1);
    lab.ip(
        Host::Client,
        &["addr", "add", "2001:db8:100::50/64", "dev", "eth0", "nodad"],
    );
    let run = agent(&lab, 0, "start", &[("ip", VIP6)]);
    assert_code(&run, 1, "start against a duplicate");
    assert_eq!(exit_reasons(&run).len(), 1);
    assert!(
        exit_reasons(&run)[0].contains("duplicate address detected"),
        "{}",
        run.stderr
    );
    assert!(!lab
        .addresses(Host::Node(0), "eth0")
        .iter()
        .any(|a| a.starts_with("2001:db8:100::50/")));
}

/// Parameters, the expected exit code, and a piece of the expected reason.
type BadInput = (&'static [(&'static str, &'static str)], i32, &'static str);

#[test]
fn bad_parameters_get_one_reason_and_change_nothing() {
    if !root_or_skip("bad_parameters_get_one_reason_and_change_nothing") {
        return;
    }
    let lab = Lab::new(1);
    let before = lab.addresses(Host::Node(0), "eth0");
    let cases: &[BadInput] = &[
        (&[("ip", "300.1.1.1")], 6, "invalid ip"),
        (&[], 6, "ip is required"),
        (
            &[("ip", VIP4), ("cidr_netmask", "40")],
            6,
            "invalid cidr_netmask",
        ),
        (
            &[("ip", VIP4), ("nic", "eth9")],
            5,
            "nic eth9 does not exist",
        ),
        (&[("ip", VIP4), ("arp_count", "-1")], 6, "invalid arp_count"),
        (
            &[("ip", VIP4), ("mac", "01:00:5e:00:00:01")],
            6,
            "CLUSTERIP",
        ),
        (
            &[("ip", VIP4), ("network_namespace", "no-such-ns-floatip")],
            5,
            "does not exist",
        ),
        (
            &[("ip", VIP4), ("network_namespace", "../etc")],
            6,
            "invalid network_namespace",
        ),
    ];
    for (params, code, reason) in cases {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string()))
            .collect();
        let env: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for action in ["start", "validate-all"] {
            let run = agent(&lab, 0, action, &env);
            assert_code(&run, *code, &format!("{action} {params:?}"));
            let reasons = exit_reasons(&run);
            assert_eq!(
                reasons.len(),
                1,
                "{action} {params:?}: exactly one exit reason: {}",
                run.stderr
            );
            assert!(
                reasons[0].contains(reason),
                "{action} {params:?}: {reasons:?}"
            );
        }
        // stop never fails over parameters: the address cannot be ours.
        assert_code(
            &agent(&lab, 0, "stop", &env),
            0,
            &format!("stop {params:?}"),
        );
    }
    // No route places it here: a start says this node cannot host it (5, IPaddr2 4.17),
    // validate-all keeps findif's 1.
    let unplaced = [("OCF_RESKEY_ip", "203.0.113.9")];
    for (action, code) in [("start", 5), ("validate-all", 1)] {
        let run = agent(&lab, 0, action, &unplaced);
        assert_code(&run, code, action);
        assert_eq!(exit_reasons(&run).len(), 1, "{}", run.stderr);
        assert!(exit_reasons(&run)[0].contains("no interface found"));
    }
    assert_code(&agent(&lab, 0, "stop", &unplaced), 0, "stop");
    assert_eq!(
        lab.addresses(Host::Node(0), "eth0"),
        before,
        "nothing changed on the interface"
    );
}

#[test]
fn label_broadcast_and_lifetime_reach_the_kernel() {
    if !root_or_skip("label_broadcast_and_lifetime_reach_the_kernel") {
        return;
    }
    let lab = Lab::new(1);
    let params = [
        ("ip", VIP4),
        ("nic", "eth0"),
        ("cidr_netmask", "25"),
        ("iflabel", "vip"),
        ("preferred_lft", "0"),
        ("noprefixroute", "true"),
    ];
    assert_code(&agent(&lab, 0, "start", &params), 0, "start");
    let shown = lab.sh_ok(Host::Node(0), "ip -4 -o addr show dev eth0");
    let line = shown
        .lines()
        .find(|l| l.contains("198.51.100.50/25"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(line.contains("brd 198.51.100.127"), "{line}");
    assert!(line.contains("eth0:vip"), "{line}");
    assert!(line.contains("noprefixroute"), "{line}");
    // preferred_lft=0 marks the address deprecated (not chosen as a source), as `ip` does.
    assert!(line.contains("deprecated"), "{line}");
    assert_code(&agent(&lab, 0, "monitor", &params), 0, "monitor");
    assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
    assert!(!lab
        .sh_ok(Host::Node(0), "ip -4 -o addr show dev eth0")
        .contains("198.51.100.50"));
}

#[test]
fn lvs_support_keeps_the_address_on_loopback_after_stop() {
    if !root_or_skip("lvs_support_keeps_the_address_on_loopback_after_stop") {
        return;
    }
    let lab = Lab::new(1);
    let params = [("ip", VIP4), ("lvs_support", "true")];
    assert_code(&agent(&lab, 0, "start", &params), 0, "start");
    assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
    assert!(lab
        .sh_ok(Host::Node(0), "ip -4 -o addr show dev lo")
        .contains("198.51.100.50/32"));
    assert_code(
        &agent(&lab, 0, "monitor", &params),
        7,
        "parked on lo is not running",
    );
    assert_code(
        &agent(&lab, 0, "start", &params),
        0,
        "start again takes it back from lo",
    );
    assert!(!lab
        .sh_ok(Host::Node(0), "ip -4 -o addr show dev lo")
        .contains("198.51.100.50"));
    assert!(has_address(&lab, 0, "198.51.100.50/24"));
}

#[test]
fn network_namespace_parameter_runs_inside_that_namespace() {
    if !root_or_skip("network_namespace_parameter_runs_inside_that_namespace") {
        return;
    }
    let lab = Lab::new(1);
    // Run from the client namespace and point the agent at node 0's: never the root namespace.
    let node_ns = lab.ns(Host::Node(0));
    let state = lab.state_dir().join("netns");
    let env = [
        ("OCF_RESKEY_ip", VIP4),
        ("OCF_RESKEY_network_namespace", node_ns.as_str()),
        ("OCF_RESOURCE_INSTANCE", "vip"),
        ("FLOATIP_STATE_DIR", state.to_str().unwrap()),
    ];
    let run = lab.agent(Host::Client, "start", &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(has_address(&lab, 0, "198.51.100.50/24"));
    assert!(!lab
        .addresses(Host::Client, "eth0")
        .iter()
        .any(|a| a.starts_with("198.51.100.50/")));
    assert_eq!(lab.agent(Host::Client, "monitor", &env).code, 0);
    assert_eq!(lab.agent(Host::Client, "stop", &env).code, 0);
    assert!(!has_address(&lab, 0, "198.51.100.50/24"));
}

#[test]
fn without_privileges_start_and_stop_fail_with_code_4() {
    if !root_or_skip("without_privileges_start_and_stop_fail_with_code_4") {
        return;
    }
    let lab = Lab::new(1);
    let state = lab.state_dir().join("nobody");
    for action in ["start", "stop"] {
        let run = lab
            .exec_command(
                Host::Node(0),
                "setpriv",
                &[
                    "--reuid=nobody",
                    "--regid=nogroup",
                    "--clear-groups",
                    "--inh-caps=-all",
                    AGENT_BIN,
                    action,
                ],
                &[
                    ("OCF_RESKEY_ip", VIP4),
                    ("FLOATIP_STATE_DIR", state.to_str().unwrap()),
                ],
            )
            .output()
            .unwrap();
        assert_eq!(
            run.status.code(),
            Some(4),
            "{action}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(String::from_utf8_lossy(&run.stderr).contains("CAP_NET_ADMIN"));
    }
    assert!(!has_address(&lab, 0, "198.51.100.50/24"));
}
