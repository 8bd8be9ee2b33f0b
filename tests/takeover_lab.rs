//! Beyond IPaddr2, on real kernels: a virtual MAC that moves with the address (clients never
//! change their neighbour entry), and standby adapters on one node (the resident process moves
//! the address to a surviving adapter and clients follow its MAC). Needs root.

mod common;

use common::*;
use floatip::params::{virtual_interface_name, virtual_mac};
use std::net::IpAddr;
use std::time::{Duration, Instant};

const VIP4: &str = "198.51.100.50";
const VIP6: &str = "2001:db8:100::50";

fn ping(lab: &Lab, vip: &str) -> bool {
    lab.sh(Host::Client, &format!("ping -c 1 -w 3 {vip}"))
        .status
        .success()
}

/// Whether `cidr` arrives on node 0's `nic` within 5 s.
fn comes_to(lab: &Lab, nic: &str, cidr: &str) -> bool {
    wait_until(Duration::from_secs(5), || {
        lab.addresses(Host::Node(0), nic).iter().any(|a| a == cidr)
    })
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

#[test]
fn virtual_mac_moves_with_the_address_and_the_client_entry_never_changes() {
    if !root_or_skip("virtual_mac_moves_with_the_address_and_the_client_entry_never_changes") {
        return;
    }
    let lab = Lab::new(2);
    for vip in [VIP4, VIP6] {
        let ip: IpAddr = vip.parse().unwrap();
        let vmac = virtual_mac(ip).to_string();
        let name = virtual_interface_name(ip);
        let params: &[(&str, &str)] = &[("ip", vip), ("vmac", "auto"), ("nodad", "true")];

        assert_code(&agent(&lab, 0, "start", params), 0, "start on node 0");
        assert_eq!(
            lab.mac(Host::Node(0), &name),
            vmac,
            "the virtual interface carries the vmac"
        );
        assert!(lab
            .addresses(Host::Node(0), &name)
            .iter()
            .any(|a| a.starts_with(&format!("{vip}/"))));
        assert!(ping(&lab, vip), "client reaches {vip} on node 0");
        assert_eq!(
            lab.neigh(Host::Client, vip).map(|e| e.0),
            Some(vmac.clone()),
            "client learned the vmac"
        );
        if ip.is_ipv4() {
            assert_eq!(
                lab.sh_ok(Host::Node(0), "cat /proc/sys/net/ipv4/conf/eth0/arp_ignore")
                    .trim(),
                "1"
            );
        }

        assert_code(&agent(&lab, 0, "stop", params), 0, "stop on node 0");
        assert!(
            !lab.sh_ok(Host::Node(0), "ip -o link show").contains(&name),
            "virtual interface removed"
        );
        assert_code(&agent(&lab, 1, "start", params), 0, "start on node 1");
        // The entry was never touched: same MAC, and traffic follows because the bridge
        // learned the MAC's new port from the announcement.
        assert_eq!(
            lab.neigh(Host::Client, vip).map(|e| e.0),
            Some(vmac.clone())
        );
        assert!(
            ping(&lab, vip),
            "client reaches {vip} on node 1 with the same entry"
        );
        assert_eq!(
            lab.neigh(Host::Client, vip).map(|e| e.0),
            Some(vmac.clone())
        );
        assert!(lab
            .addresses(Host::Node(1), &name)
            .iter()
            .any(|a| a.starts_with(&format!("{vip}/"))));
        assert_code(&agent(&lab, 1, "stop", params), 0, "stop on node 1");
        assert_code(&agent(&lab, 1, "monitor", params), 7, "probe after stop");
    }
}

#[test]
fn standby_adapter_takes_over_when_the_active_one_loses_carrier() {
    if !root_or_skip("standby_adapter_takes_over_when_the_active_one_loses_carrier") {
        return;
    }
    // A default host: no setting tuned by the lab (issue 15, finding 1: replies used to
    // leave through the dead adapter unless the administrator had set one).
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    let (eth0, eth1) = (
        lab.mac(Host::Node(0), "eth0"),
        lab.mac(Host::Node(0), "eth1"),
    );
    let params: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("nic", "eth0,eth1"),
        ("cidr_netmask", "24"),
        ("OCF_RESKEY_CRM_meta_interval", "10000"),
    ];

    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    assert!(
        lab.addresses(Host::Node(0), "eth0")
            .contains(&format!("{VIP4}/24")),
        "the first adapter"
    );
    assert!(ping(&lab, VIP4));
    assert_eq!(
        lab.neigh(Host::Client, VIP4).map(|e| e.0),
        Some(eth0.clone())
    );

    // The resident process moves the address itself; monitor finds it on the survivor.
    wait_resident_ready(&lab, 0, "vip");
    lab.set_nic_port(Host::Node(0), "eth0", false);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !lab
        .addresses(Host::Node(0), "eth1")
        .contains(&format!("{VIP4}/24"))
    {
        assert!(
            Instant::now() < deadline,
            "the address did not move to eth1"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !lab.addresses(Host::Node(0), "eth0")
            .contains(&format!("{VIP4}/24")),
        "and left eth0"
    );
    let monitor = agent(&lab, 0, "monitor", params);
    assert_code(&monitor, 0, "monitor with the address on the standby");
    assert!(
        monitor.stderr.contains("is on eth1 of nic eth0,eth1"),
        "monitor says which adapter: {}",
        monitor.stderr
    );
    let entry = wait_neighbour(&lab, VIP4, &eth1);
    assert_eq!(
        entry.map(|e| e.0),
        Some(eth1.clone()),
        "the client follows the survivor's MAC"
    );
    assert!(ping(&lab, VIP4), "traffic follows");
    // What floatip changed is the listed adapters' own setting, not the host's.
    for (knob, want) in [("all", "0"), ("default", "0"), ("eth0", "1"), ("eth1", "1")] {
        let path = format!("/proc/sys/net/ipv4/conf/{knob}/ignore_routes_with_linkdown");
        assert_eq!(
            lab.sh_ok(Host::Node(0), &format!("cat {path}")).trim(),
            want,
            "{path}"
        );
    }

    // With both adapters dead there is nowhere to go: monitor fails, and so does a start.
    lab.set_nic_port(Host::Node(0), "eth1", false);
    let monitor = agent(&lab, 0, "monitor", params);
    // Not running, as today's IPaddr2 says a monitor with its link down.
    assert_code(&monitor, 7, "monitor with both cables cut");
    assert!(exit_reasons(&monitor)[0].contains("link down on NIC eth1"));
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
    let start = agent(&lab, 0, "start", params);
    // This node's links, as one nic's down link (IPaddr2 4.17): OCF_ERR_INSTALLED.
    assert_code(&start, 5, "start with both adapters down");
    assert!(
        exit_reasons(&start)[0].contains("no usable interface in nic eth0,eth1"),
        "{}",
        start.stderr
    );
}

/// The same take-over for IPv6 on a default host: the client reaches the address through the
/// standby, and its neighbour entry follows the standby's MAC.
#[test]
fn an_ipv6_standby_adapter_takes_over_on_a_default_host() {
    if !root_or_skip("an_ipv6_standby_adapter_takes_over_on_a_default_host") {
        return;
    }
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    lab.wait_dad(Host::Client, "eth0");
    let eth1 = lab.mac(Host::Node(0), "eth1");
    let params: &[(&str, &str)] = &[
        ("ip", VIP6),
        ("nic", "eth0,eth1"),
        ("cidr_netmask", "64"),
        ("nodad", "true"),
    ];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    assert!(ping(&lab, VIP6), "reachable on eth0");
    wait_resident_ready(&lab, 0, "vip");
    lab.set_nic_port(Host::Node(0), "eth0", false);
    let cidr = format!("{VIP6}/64");
    assert!(comes_to(&lab, "eth1", &cidr), "moved to eth1");
    assert!(ping(&lab, VIP6), "reachable through eth1");
    assert_eq!(
        wait_neighbour(&lab, VIP6, &eth1).map(|e| e.0),
        Some(eth1),
        "the client follows the survivor's MAC"
    );
    assert_eq!(
        lab.sh_ok(
            Host::Node(0),
            "cat /proc/sys/net/ipv6/conf/eth0/ignore_routes_with_linkdown"
        )
        .trim(),
        "1"
    );
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
}

/// Issue 15, finding 3: a standby adapter named by an alternative name took nothing over (the
/// resident matched primary names only, exited, and every monitor restarted it); and two
/// names of one adapter were accepted.
#[test]
fn a_standby_adapter_named_by_its_alternative_name_takes_over() {
    if !root_or_skip("a_standby_adapter_named_by_its_alternative_name_takes_over") {
        return;
    }
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    let altname = "standby-uplink-of-node-zero";
    lab.ip(
        Host::Node(0),
        &["link", "property", "add", "dev", "eth1", "altname", altname],
    );
    lab.ip(
        Host::Node(0),
        &[
            "link", "property", "add", "dev", "eth0", "altname", "uplink0",
        ],
    );
    let nic = format!("uplink0,{altname}");
    let params: &[(&str, &str)] = &[("ip", VIP4), ("nic", &nic), ("cidr_netmask", "24")];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    let cidr = format!("{VIP4}/24");
    assert!(lab.addresses(Host::Node(0), "eth0").contains(&cidr));
    let resident = residents(&lab, 0);
    assert_eq!(resident.len(), 1, "a resident watches the adapters");
    wait_resident_ready(&lab, 0, "vip");
    lab.set_nic_port(Host::Node(0), "eth0", false);
    assert!(
        comes_to(&lab, "eth1", &cidr),
        "moved to eth1, named by its alternative name"
    );
    assert!(ping(&lab, VIP4), "reachable through eth1");
    assert_eq!(residents(&lab, 0), resident, "the same resident did it");
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");

    let twice: &[(&str, &str)] = &[("ip", VIP4), ("nic", "eth0,uplink0")];
    let validate = agent(&lab, 0, "validate-all", twice);
    assert_code(&validate, 6, "validate-all with one adapter listed twice");
    assert!(
        exit_reasons(&validate)[0].contains("are one interface (eth0)"),
        "{}",
        validate.stderr
    );
    assert_code(&agent(&lab, 0, "start", twice), 6, "start likewise");
    assert!(!lab.addresses(Host::Node(0), "eth0").contains(&cidr));
}

#[test]
fn a_live_rename_of_the_active_standby_adapter_keeps_one_address_and_stop_removes_it() {
    if !root_or_skip(
        "a_live_rename_of_the_active_standby_adapter_keeps_one_address_and_stop_removes_it",
    ) {
        return;
    }
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    let params: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("nic", "eth0,eth1"),
        ("cidr_netmask", "24"),
        ("failback_delay", "300"),
    ];
    let cidr = format!("{VIP4}/24");
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    let resident = residents(&lab, 0);
    wait_resident_ready(&lab, 0, "vip");
    lab.set_nic_port(Host::Node(0), "eth0", false);
    assert!(comes_to(&lab, "eth1", &cidr), "moved to eth1");
    // Renamed while it holds the address (the kernel allows renaming an interface that is up).
    lab.ip(
        Host::Node(0),
        &["link", "set", "dev", "eth1", "name", "wan1"],
    );
    std::thread::sleep(Duration::from_millis(500));
    let holders = |lab: &Lab| {
        ["eth0", "wan1"]
            .into_iter()
            .filter(|nic| lab.addresses(Host::Node(0), nic).contains(&cidr))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        holders(&lab),
        vec!["wan1"],
        "still on the renamed adapter alone"
    );
    assert!(ping(&lab, VIP4), "reachable through it");
    assert_eq!(residents(&lab, 0), resident, "the same resident watches on");
    assert_code(&agent(&lab, 0, "monitor", params), 0, "monitor");
    // eth0 back: fail-back takes it from the renamed adapter.
    lab.set_nic_port(Host::Node(0), "eth0", true);
    assert!(
        wait_until(Duration::from_secs(5), || holders(&lab) == vec!["eth0"]),
        "failed back to eth0, off wan1: {:?}",
        holders(&lab)
    );
    // And stop finds it under a new name too.
    wait_resident_ready(&lab, 0, "vip");
    lab.set_nic_port(Host::Node(0), "eth0", false);
    assert!(wait_until(Duration::from_secs(5), || holders(&lab) == vec!["wan1"]));
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
    assert!(holders(&lab).is_empty(), "stop removed it from wan1");
    assert!(residents(&lab, 0).is_empty());
}

/// Issue 15, finding 5: a standby adapter cabled to another segment (here: another bridge) is
/// never given the address, the node is not reported healthy while its address cannot reach
/// its segment, and once the adapter is heard on the segment it takes the address.
#[test]
fn a_standby_adapter_on_another_segment_never_receives_the_address() {
    if !root_or_skip("a_standby_adapter_on_another_segment_never_receives_the_address") {
        return;
    }
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    let port = lab.port(Host::Node(0), "eth1");
    // eth1's cable goes to another switch: a bridge of its own, carrier kept.
    lab.ip(Host::Bridge, &["link", "add", "br-other", "type", "bridge"]);
    lab.ip(Host::Bridge, &["link", "set", "br-other", "up"]);
    lab.ip(Host::Bridge, &["link", "set", &port, "master", "br-other"]);
    let params: &[(&str, &str)] = &[("ip", VIP4), ("nic", "eth0,eth1"), ("cidr_netmask", "24")];
    let cidr = format!("{VIP4}/24");
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    let eth1_checked = |lab: &Lab| {
        let row = status_row(lab, 0, "vip");
        row["resident"]["adapters"][1]["on_segment"].clone()
    };
    std::thread::sleep(Duration::from_millis(600));
    assert_ne!(
        eth1_checked(&lab),
        true,
        "eth1 is not heard on eth0's segment"
    );
    lab.set_nic_port(Host::Node(0), "eth0", false);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !lab.addresses(Host::Node(0), "eth1").contains(&cidr),
        "never moved to eth1"
    );
    let monitor = agent(&lab, 0, "monitor", params);
    assert_ne!(monitor.code, 0, "not healthy: {}", monitor.stderr);

    // Re-cabled to the segment: heard at the next probe, then it takes over.
    lab.set_nic_port(Host::Node(0), "eth0", true);
    lab.ip(Host::Bridge, &["link", "set", &port, "master", "br0"]);
    assert!(
        wait_until(Duration::from_secs(8), || eth1_checked(&lab) == true),
        "eth1 heard on the segment within a retry"
    );
    lab.set_nic_port(Host::Node(0), "eth0", false);
    assert!(comes_to(&lab, "eth1", &cidr), "moved to eth1");
    assert!(ping(&lab, VIP4), "reachable through eth1");
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
}
