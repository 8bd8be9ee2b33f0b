//! What today's IPaddr2 (resource-agents 4.15 to 4.18) does beyond Debian 12's 4.12, on real
//! kernels in namespace labs: `proto`, metric ties, the IPv6 metric, address labels and the
//! source address they leave the node's own connections, alternative interface names,
//! layer-3 devices, and the exit-code table. Needs root; skips without it unless CI is set.

mod common;

use common::*;
use std::net::Ipv6Addr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

const VIP4: &str = "198.51.100.50";

fn on(lab: &Lab, node: usize, ifname: &str, cidr: &str) -> bool {
    lab.addresses(Host::Node(node), ifname)
        .iter()
        .any(|a| a == cidr)
}

fn recurring<'a>(params: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = params.to_vec();
    v.push(("OCF_RESKEY_CRM_meta_interval", "10000"));
    v
}

#[test]
fn proto_keeps_static_and_router_advertised_routes_from_placing_the_address() {
    if !root_or_skip("proto_keeps_static_and_router_advertised_routes_from_placing_the_address") {
        return;
    }
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    let n0 = Host::Node(0);
    // An address of eth1's own keeps its routes when the floating address leaves it.
    lab.sh_ok(n0, "ip addr add 203.0.113.11/32 dev eth1 noprefixroute");
    // A static /25 on eth1 would win on prefix length; a router-advertised /64 on eth1 on
    // metric (100 against the kernel's 256).
    lab.ip(
        n0,
        &[
            "route",
            "add",
            "198.51.100.0/25",
            "dev",
            "eth1",
            "proto",
            "static",
        ],
    );
    lab.ip(
        n0,
        &[
            "-6",
            "route",
            "add",
            "2001:db8:100::/64",
            "dev",
            "eth1",
            "proto",
            "ra",
            "metric",
            "100",
        ],
    );
    let cases = [
        (VIP4, "198.51.100.50/25", "198.51.100.50/24"),
        (
            "2001:db8:100::50",
            "2001:db8:100::50/64",
            "2001:db8:100::50/64",
        ),
    ];
    for (vip, without, with) in cases {
        let plain = [("ip", vip), ("nodad", "true")];
        assert_code(&agent(&lab, 0, "start", &plain), 0, "start without proto");
        assert!(
            on(&lab, 0, "eth1", without),
            "{vip}: without proto, the other route wins"
        );
        assert_code(&agent(&lab, 0, "stop", &plain), 0, "stop");
        let kernel = [("ip", vip), ("nodad", "true"), ("proto", "kernel")];
        assert_code(
            &agent(&lab, 0, "start", &kernel),
            0,
            "start with proto=kernel",
        );
        assert!(
            on(&lab, 0, "eth0", with),
            "{vip}: with proto=kernel, the kernel route's eth0: {:?}",
            lab.addresses(n0, "eth0")
        );
        assert!(!lab.addresses(n0, "eth1").iter().any(|a| a.starts_with(vip)));
        assert_code(
            &agent(&lab, 0, "monitor", &recurring(&kernel)),
            0,
            "monitor",
        );
        assert_code(&agent(&lab, 0, "stop", &kernel), 0, "stop");
        assert!(!on(&lab, 0, "eth0", with));
    }
    // proto by number, and a protocol no route has: this node cannot place it (findif fails,
    // which IPaddr2 4.17's start answers with 5).
    let by_number = [("ip", VIP4), ("proto", "2")];
    assert_code(&agent(&lab, 0, "start", &by_number), 0, "proto=2 is kernel");
    assert!(on(&lab, 0, "eth0", "198.51.100.50/24"));
    assert_code(&agent(&lab, 0, "stop", &by_number), 0, "stop");
    let run = agent(&lab, 0, "start", &[("ip", VIP4), ("proto", "bird")]);
    assert_code(&run, 5, "no route of that protocol here (IPaddr2 4.17)");
    assert!(
        exit_reasons(&run)[0].contains("of proto 12"),
        "{:?}",
        exit_reasons(&run)
    );
}

#[test]
fn equal_prefixes_go_to_the_lowest_metric_every_time() {
    if !root_or_skip("equal_prefixes_go_to_the_lowest_metric_every_time") {
        return;
    }
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    let n0 = Host::Node(0);
    // eth1 keeps an address of its own: the kernel flushes the routes of an interface whose
    // last IPv4 address goes, which would take the route away with the floating address.
    lab.sh_ok(n0, "ip addr add 203.0.113.11/32 dev eth1 noprefixroute");
    lab.ip(
        n0,
        &[
            "route",
            "add",
            "203.0.113.0/24",
            "dev",
            "eth0",
            "metric",
            "200",
        ],
    );
    lab.ip(
        n0,
        &[
            "route",
            "add",
            "203.0.113.0/24",
            "dev",
            "eth1",
            "metric",
            "100",
        ],
    );
    let params = [("ip", "203.0.113.50")];
    for round in 0..3 {
        assert_code(&agent(&lab, 0, "start", &params), 0, "start");
        assert!(
            on(&lab, 0, "eth1", "203.0.113.50/24"),
            "round {round}: metric 100 on eth1 wins: {:?} {:?}",
            lab.addresses(n0, "eth0"),
            lab.addresses(n0, "eth1")
        );
        assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
    }
    // Turn the metrics round: the address follows them, not the interface order.
    lab.ip(
        n0,
        &[
            "route",
            "del",
            "203.0.113.0/24",
            "dev",
            "eth1",
            "metric",
            "100",
        ],
    );
    lab.ip(
        n0,
        &[
            "route",
            "add",
            "203.0.113.0/24",
            "dev",
            "eth1",
            "metric",
            "300",
        ],
    );
    assert_code(&agent(&lab, 0, "start", &params), 0, "start");
    assert!(on(&lab, 0, "eth0", "203.0.113.50/24"));
    assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
}

/// `ip -6 route` lines for exactly this prefix.
fn prefix_routes(lab: &Lab, prefix: &str) -> Vec<String> {
    lab.ip(Host::Node(0), &["-6", "route", "list", "exact", prefix])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn an_ipv6_address_shares_the_prefix_route_that_placed_it() {
    if !root_or_skip("an_ipv6_address_shares_the_prefix_route_that_placed_it") {
        return;
    }
    let lab = Lab::new(1);
    let n0 = Host::Node(0);
    // The node's own address with a prefix route of metric 1024 (as NetworkManager sets).
    lab.ip(n0, &["addr", "del", "2001:db8:100::10/64", "dev", "eth0"]);
    lab.ip(
        n0,
        &[
            "addr",
            "add",
            "2001:db8:100::10/64",
            "dev",
            "eth0",
            "nodad",
            "metric",
            "1024",
        ],
    );
    let before = prefix_routes(&lab, "2001:db8:100::/64");
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(before[0].contains("metric 1024"), "{before:?}");
    let params = [("ip", "2001:db8:100::50"), ("nodad", "true")];
    assert_code(&agent(&lab, 0, "start", &params), 0, "start");
    assert!(on(&lab, 0, "eth0", "2001:db8:100::50/64"));
    let routes = prefix_routes(&lab, "2001:db8:100::/64");
    assert_eq!(routes, before, "no second /64 with the kernel's metric 256");
    assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
    assert_eq!(
        prefix_routes(&lab, "2001:db8:100::/64"),
        before,
        "the node's route stays"
    );
    // What an address added without the metric does (IPaddr2 4.12): a second route, metric
    // 256, which outranks the node's own.
    lab.ip(
        n0,
        &["addr", "add", "2001:db8:100::51/64", "dev", "eth0", "nodad"],
    );
    let doubled = prefix_routes(&lab, "2001:db8:100::/64");
    assert_eq!(doubled.len(), 2, "{doubled:?}");
    assert!(
        doubled.iter().any(|r| r.contains("metric 256")),
        "{doubled:?}"
    );
    lab.ip(n0, &["addr", "del", "2001:db8:100::51/64", "dev", "eth0"]);
}

/// The source address the node picks to reach `dst`, as `ip route get` reports it.
fn source_for(lab: &Lab, dst: &str) -> String {
    let out = lab.ip(Host::Node(0), &["-6", "route", "get", dst]);
    let toks: Vec<&str> = out.split_whitespace().collect();
    toks.iter()
        .position(|t| *t == "src")
        .and_then(|i| toks.get(i + 1))
        .map(|s| s.to_string())
        .unwrap_or_else(|| panic!("no src in {out:?}"))
}

/// The source of the echo request a `ping` from node 0 puts on the client's wire.
fn ping_source(lab: &Lab) -> Ipv6Addr {
    let capture = lab.capture(Host::Client, "eth0");
    lab.sh_ok(Host::Node(0), "ping -6 -n -c 1 -w 5 2001:db8:100::254");
    let source = |frame: &[u8]| -> Option<Ipv6Addr> {
        let is_echo = frame.len() >= 14 + 41
            && frame[12..14] == [0x86, 0xdd]
            && frame[14 + 6] == 58
            && frame[14 + 40] == 128;
        is_echo.then(|| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&frame[14 + 8..14 + 24]);
            Ipv6Addr::from(a)
        })
    };
    assert!(
        capture.wait_for(Duration::from_secs(5), |frames| {
            frames.iter().any(|(_, f)| source(f).is_some())
        }),
        "no echo request reached the client"
    );
    let frames = capture.stop();
    frames.iter().find_map(|(_, f)| source(f)).unwrap()
}

fn labels(lab: &Lab) -> String {
    lab.ip(Host::Node(0), &["addrlabel", "list"])
}

#[test]
fn the_address_label_keeps_the_nodes_own_connections_on_its_fixed_address() {
    if !root_or_skip("the_address_label_keeps_the_nodes_own_connections_on_its_fixed_address") {
        return;
    }
    let lab = Lab::new(1);
    lab.wait_dad(Host::Client, "eth0");
    lab.wait_dad(Host::Node(0), "eth0");
    // ::255 shares 127 bits with the client's ::254, the node's ::10 only 118: without a
    // label, RFC 6724's longest-match rule picks the floating address.
    let vip = "2001:db8:100::255";
    let fixed: Ipv6Addr = "2001:db8:100::10".parse().unwrap();
    let floating: Ipv6Addr = vip.parse().unwrap();

    let unlabelled = [
        ("ip", vip),
        ("nodad", "true"),
        ("lvs_ipv6_addrlabel", "false"),
    ];
    assert_code(
        &agent(&lab, 0, "start", &unlabelled),
        0,
        "start without a label",
    );
    assert!(!labels(&lab).contains(vip), "{}", labels(&lab));
    assert_eq!(source_for(&lab, "2001:db8:100::254"), vip);
    assert_eq!(
        ping_source(&lab),
        floating,
        "4.12's behaviour: the floating address"
    );
    assert_code(&agent(&lab, 0, "stop", &unlabelled), 0, "stop");

    // The default since 4.15.
    let labelled = [("ip", vip), ("nodad", "true")];
    assert_code(
        &agent(&lab, 0, "start", &labelled),
        0,
        "start with the label",
    );
    assert!(
        labels(&lab).contains(&format!("prefix {vip}/128 label 99")),
        "{}",
        labels(&lab)
    );
    assert!(on(&lab, 0, "eth0", &format!("{vip}/64")));
    assert_eq!(source_for(&lab, "2001:db8:100::254"), fixed.to_string());
    assert_eq!(ping_source(&lab), fixed, "the node's own connection");
    // The address still answers for the service.
    lab.sh_ok(Host::Client, &format!("ping -6 -n -c 1 -w 5 {vip}"));
    assert_code(&agent(&lab, 0, "stop", &labelled), 0, "stop");
    assert!(
        !labels(&lab).contains(vip),
        "stop removes it: {}",
        labels(&lab)
    );

    // A label of another value is someone else's: start leaves it, stop leaves it.
    lab.ip(
        Host::Node(0),
        &["addrlabel", "add", "prefix", vip, "label", "7"],
    );
    assert_code(
        &agent(&lab, 0, "start", &labelled),
        0,
        "start beside a foreign label",
    );
    assert_code(&agent(&lab, 0, "stop", &labelled), 0, "stop");
    assert!(
        labels(&lab).contains(&format!("prefix {vip}/128 label 7")),
        "{}",
        labels(&lab)
    );
    lab.ip(
        Host::Node(0),
        &["addrlabel", "del", "prefix", vip, "label", "7"],
    );

    // IPv4 accepts the parameter (4.15.1) and labels nothing.
    let v4 = [("ip", VIP4), ("lvs_ipv6_addrlabel", "true")];
    let run = agent(&lab, 0, "start", &v4);
    assert_code(&run, 0, "IPv4 with lvs_ipv6_addrlabel=true");
    assert!(
        run.stderr.contains("lvs_ipv6_addrlabel is accepted"),
        "{}",
        run.stderr
    );
    assert_code(&agent(&lab, 0, "stop", &v4), 0, "stop");
}

#[test]
fn nic_may_be_an_alternative_name_longer_than_15_bytes() {
    if !root_or_skip("nic_may_be_an_alternative_name_longer_than_15_bytes") {
        return;
    }
    let lab = Lab::new(1);
    let altname = "floatip-alternative-name-of-eth0";
    assert!(altname.len() > 15);
    lab.ip(
        Host::Node(0),
        &["link", "property", "add", "dev", "eth0", "altname", altname],
    );
    for params in [
        &[("ip", VIP4), ("nic", altname), ("cidr_netmask", "24")][..],
        &[("ip", VIP4), ("nic", altname)][..],
        &[("ip", VIP4), ("nic", altname), ("iflabel", "vip")][..],
        &[
            ("ip", "2001:db8:100::50"),
            ("nic", altname),
            ("nodad", "true"),
        ][..],
    ] {
        assert_code(&agent(&lab, 0, "validate-all", params), 0, "validate-all");
        assert_code(&agent(&lab, 0, "start", params), 0, "start");
        let cidr = if params[0].1 == VIP4 {
            "198.51.100.50/24"
        } else {
            "2001:db8:100::50/64"
        };
        assert!(
            on(&lab, 0, "eth0", cidr),
            "{params:?}: {:?}",
            lab.addresses(Host::Node(0), "eth0")
        );
        assert_code(&agent(&lab, 0, "monitor", &recurring(params)), 0, "monitor");
        assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
        assert!(!on(&lab, 0, "eth0", cidr), "{params:?}: stop removed it");
        assert_code(&agent(&lab, 0, "monitor", params), 7, "probe after stop");
    }
    let labelled = [("ip", VIP4), ("nic", altname), ("iflabel", "vip")];
    assert_code(&agent(&lab, 0, "start", &labelled), 0, "start");
    let shown = lab.ip(
        Host::Node(0),
        &[
            "-o", "-4", "addr", "show", "dev", "eth0", "label", "eth0:vip",
        ],
    );
    assert!(
        shown.contains("198.51.100.50/24"),
        "the label is built on eth0: {shown}"
    );
    assert_code(&agent(&lab, 0, "stop", &labelled), 0, "stop");
    let missing = agent(
        &lab,
        0,
        "start",
        &[("ip", VIP4), ("nic", "floatip-no-such-alternative-name")],
    );
    assert_code(&missing, 5, "an unknown alternative name is missing here");
}

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// Creates tun device `name` in the host's namespace with a queue attached (so it has
/// carrier); it lives as long as the returned descriptor.
fn tun_device(lab: &Lab, host: Host, name: &'static str) -> OwnedFd {
    lab.in_ns(host, move || {
        // SAFETY: open(2) of a device node; the result is checked.
        let fd = unsafe {
            libc::open(
                c"/dev/net/tun".as_ptr(),
                libc::O_RDWR | libc::O_CLOEXEC | libc::O_NONBLOCK,
            )
        };
        assert!(
            fd >= 0,
            "open /dev/net/tun: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: the descriptor was just opened and is owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // struct ifreq: the name, then ifr_flags (IFF_TUN | IFF_NO_PI).
        let mut ifreq = [0u8; 40];
        ifreq[..name.len()].copy_from_slice(name.as_bytes());
        ifreq[16..18].copy_from_slice(&(0x0001u16 | 0x1000).to_ne_bytes());
        use std::os::fd::AsRawFd;
        // SAFETY: TUNSETIFF reads and writes the 40-byte ifreq we own.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, ifreq.as_mut_ptr()) };
        assert_eq!(rc, 0, "TUNSETIFF: {}", std::io::Error::last_os_error());
        fd
    })
}

#[test]
fn layer_3_devices_take_the_address_and_say_once_that_nothing_is_announced() {
    if !root_or_skip("layer_3_devices_take_the_address_and_say_once_that_nothing_is_announced") {
        return;
    }
    let lab = Lab::new(1);
    let n0 = Host::Node(0);
    let tun = tun_device(&lab, n0, "tun0");
    lab.ip(n0, &["link", "set", "tun0", "up"]);
    let line = "tun0 is a layer-3 device: no ARP/ND announcement is needed";
    for (vip, cidr) in [("203.0.113.50", "24"), ("2001:db8:200::50", "64")] {
        let params = [
            ("ip", vip),
            ("nic", "tun0"),
            ("cidr_netmask", cidr),
            ("arp_count_refresh", "2"),
            ("arp_refresh_interval", "5"),
        ];
        let capture = lab.capture(n0, "tun0");
        let start = agent(&lab, 0, "start", &params);
        assert_code(&start, 0, "start on tun0");
        assert_eq!(
            start.stderr.matches(line).count(),
            1,
            "said once: {}",
            start.stderr
        );
        assert!(on(&lab, 0, "tun0", &format!("{vip}/{cidr}")));
        let monitor = agent(&lab, 0, "monitor", &recurring(&params));
        assert_code(&monitor, 0, "recurring monitor");
        assert_eq!(
            monitor.stderr.matches(line).count(),
            1,
            "{}",
            monitor.stderr
        );
        let mut deep = recurring(&params);
        deep.push(("OCF_CHECK_LEVEL", "10"));
        assert_code(&agent(&lab, 0, "monitor", &deep), 0, "deep monitor");
        assert!(
            burst_workers(&lab, 0).is_empty(),
            "no background process: nothing to send"
        );
        assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
        assert!(!on(&lab, 0, "tun0", &format!("{vip}/{cidr}")));
        if vip.contains('.') {
            // tun0 carries bare IP packets. The kernel's own router solicitations may go out
            // (the link just came up); no IPv4 packet and no neighbour discovery may.
            let announcement = |p: &[u8]| {
                p.first().is_some_and(|b| b >> 4 == 4)
                    || (p.len() > 40 && p[0] >> 4 == 6 && p[6] == 58 && matches!(p[40], 135 | 136))
            };
            let sent = capture.stop();
            assert!(
                !sent.iter().any(|(_, p)| announcement(p)),
                "nothing announced on tun0: {sent:?}"
            );
        }
    }
    drop(tun);
}

/// Start and validate-all over what this node lacks (5), what its routes cannot place (start
/// 5 as IPaddr2 4.17, validate-all 1 as findif returns it), what is wrong with the
/// configuration everywhere (6) and what happens at the moment (1); stop succeeds after each.
#[test]
fn exit_codes_of_node_local_and_configuration_faults() {
    if !root_or_skip("exit_codes_of_node_local_and_configuration_faults") {
        return;
    }
    let lab = Lab::new(1);
    let n0 = Host::Node(0);
    // An interface with a long name of its own, and a route to place 203.0.113.0/25 on it;
    // nothing places 203.0.113.128/25.
    lab.add_nic(0, "enp0s31f6x");
    lab.ip(n0, &["route", "add", "203.0.113.0/25", "dev", "enp0s31f6x"]);
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, i32, i32, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no route places it here",
            vec![("ip", "203.0.113.200")],
            5,
            1,
            "no interface found",
        ),
        (
            "no route of that proto",
            vec![("ip", VIP4), ("proto", "static")],
            5,
            1,
            "of proto 4",
        ),
        (
            "no such nic here",
            vec![("ip", VIP4), ("nic", "eth9")],
            5,
            5,
            "does not exist",
        ),
        (
            "nic without cidr_netmask and no route on it",
            vec![("ip", "203.0.113.200"), ("nic", "eth0")],
            5,
            1,
            "no route on eth0",
        ),
        (
            "this node's route makes it the network address",
            vec![("ip", "198.51.100.0")],
            5,
            1,
            "network address",
        ),
        (
            "IPv6 prefix shorter than this node's route",
            vec![("ip", "2001:db8:100::50"), ("cidr_netmask", "48")],
            5,
            1,
            "no interface found for 2001:db8:100::50/48",
        ),
        (
            "the label does not fit this node's interface name",
            vec![("ip", "203.0.113.50"), ("iflabel", "abcdefgh")],
            5,
            1,
            "enp0s31f6x:abcdefgh",
        ),
        (
            "a bad proto",
            vec![("ip", VIP4), ("proto", "kernal")],
            6,
            6,
            "invalid proto",
        ),
        (
            "a label too long for the nic given",
            vec![("ip", VIP4), ("nic", "eth0"), ("iflabel", "abcdefghijk")],
            6,
            6,
            "iflabel",
        ),
        (
            "a reserved label value",
            vec![
                ("ip", "2001:db8:100::50"),
                ("lvs_ipv6_addrlabel_value", "4294967295"),
            ],
            6,
            6,
            "invalid lvs_ipv6_addrlabel_value",
        ),
        (
            "a bad address",
            vec![("ip", "198.51.100.300")],
            6,
            6,
            "invalid ip",
        ),
    ];
    for (what, params, start_code, validate_code, reason) in &cases {
        for (action, code) in [("start", start_code), ("validate-all", validate_code)] {
            let run = agent(&lab, 0, action, params);
            assert_code(&run, *code, &format!("{action}: {what}"));
            let reasons = exit_reasons(&run);
            assert_eq!(reasons.len(), 1, "{action}: {what}: {}", run.stderr);
            assert!(reasons[0].contains(reason), "{action}: {what}: {reasons:?}");
        }
        assert_code(&agent(&lab, 0, "stop", params), 0, &format!("stop: {what}"));
    }
    // This node's link is down: start 5 (IPaddr2 4.17), validate-all judges no link state,
    // a monitor of a running address 7, recurring or a probe (IPaddr2 since PR #2166).
    let params = [("ip", VIP4), ("nic", "eth0"), ("cidr_netmask", "24")];
    lab.set_port(n0, false);
    let start = agent(&lab, 0, "start", &params);
    assert_code(&start, 5, "start with the cable cut");
    assert!(exit_reasons(&start)[0].contains("link down on NIC eth0"));
    assert_code(&agent(&lab, 0, "validate-all", &params), 0, "validate-all");
    lab.set_port(n0, true);
    assert_code(&agent(&lab, 0, "start", &params), 0, "start");
    lab.set_port(n0, false);
    let monitor = agent(&lab, 0, "monitor", &recurring(&params));
    assert_code(&monitor, 7, "monitor, cable cut");
    assert_eq!(
        exit_reasons(&monitor),
        ["ocf-exit-reason:link down on NIC eth0 (no carrier)"]
    );
    assert_code(&agent(&lab, 0, "monitor", &params), 7, "probe, cable cut");
    lab.set_port(n0, true);
    assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
    assert_code(&agent(&lab, 0, "monitor", &params), 7, "probe");
    // Of the moment: a foreign prefix holds the address (1).
    lab.ip(n0, &["addr", "add", "198.51.100.50/16", "dev", "eth0"]);
    assert_code(
        &agent(&lab, 0, "start", &[("ip", VIP4)]),
        1,
        "a foreign /16",
    );
    lab.ip(n0, &["addr", "del", "198.51.100.50/16", "dev", "eth0"]);
}
