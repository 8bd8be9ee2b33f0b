//! Writes the seed inputs into fuzz/corpus/<target>/seed-*: real frames from floatip's own
//! builders, typical parameter sets and command lines, state files and resident launches.
//! `cargo run --example seeds` (from fuzz/); the committed corpus was grown from these.

use floatip::agent::Record;
use floatip::host::state::{format_state, FileId, Resident, ResidentId, State};
use floatip::packet::{arp, ndp, MacAddr};
use floatip::params::PARAMETERS;
use floatip::resident::{AddressTemplate, ClusterId, Launch, LogTargets, Plan};
use floatip_fuzz::{cli_encode, params_encode};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
}

/// A named parameter set: (name, raw value) pairs.
type Pairs<'a> = &'a [(&'a str, &'a [u8])];

fn params() {
    let sets: &[(&str, Pairs)] = &[
        ("v4", &[("ip", b"198.51.100.50")]),
        ("v6", &[("ip", b"2001:db8:100::50")]),
        (
            "v4-full",
            &[
                ("ip", b"198.51.100.50"),
                ("nic", b"eth0"),
                ("cidr_netmask", b"24"),
                ("broadcast", b"198.51.100.255"),
                ("iflabel", b"vip"),
                ("arp_count", b"5"),
                ("arp_interval", b"200"),
                ("arp_bg", b"true"),
                ("arp_count_refresh", b"1"),
                ("arp_refresh_interval", b"30"),
                ("run_arping", b"yes"),
                ("arp_probe_wait", b"300"),
                ("preferred_lft", b"forever"),
                ("check_link_status", b"on"),
                ("conflict_defend", b"1"),
            ],
        ),
        (
            "v6-full",
            &[
                ("ip", b"2001:db8:100::50"),
                ("nic", b"eth0"),
                ("cidr_netmask", b"64"),
                ("nodad", b"true"),
                ("noprefixroute", b"false"),
                ("preferred_lft", b"0"),
                ("network_namespace", b"blue"),
            ],
        ),
        (
            "nic-label",
            &[
                ("ip", b"198.51.100.50"),
                ("nic", b"eth0:vip"),
                ("broadcast", b"-"),
            ],
        ),
        (
            "dotted",
            &[
                ("ip", b"10.1.2.3"),
                ("cidr_netmask", b"255.255.255.0"),
                ("broadcast", b"+"),
            ],
        ),
        ("link-local", &[("ip", b"fe80::50"), ("nic", b"eth1")]),
        (
            "foreground",
            &[
                ("ip", b"198.51.100.50"),
                ("arp_bg", b"false"),
                ("arp_count", b"10"),
                ("arp_interval", b"1000"),
                ("@timeout", b"20000"),
                ("@interval", b"10000"),
                ("@clone_max", b"1"),
            ],
        ),
        (
            "ipaddr2-compat",
            &[
                ("ip", b"198.51.100.50"),
                ("lvs_support", b"true"),
                ("lvs_ipv6_addrlabel", b"false"),
                ("lvs_ipv6_addrlabel_value", b"99"),
                ("unique_clone_address", b"false"),
                ("arp_sender", b"send_arp"),
                ("send_arp_opts", b"-A"),
                ("flush_routes", b"true"),
            ],
        ),
        (
            "clusterip",
            &[
                ("ip", b"198.51.100.50"),
                ("mac", b"01:00:5e:00:00:01"),
                ("clusterip_hash", b"sourceip"),
            ],
        ),
        ("mapped", &[("ip", b"::ffff:198.51.100.50")]),
        (
            "bad-utf8",
            &[("ip", b"198.51.100.50"), ("nic", b"eth\xff0")],
        ),
        ("newline", &[("ip", b"198.51.100.50"), ("iflabel", b"a\nb")]),
        (
            "network",
            &[("ip", b"198.51.100.0"), ("cidr_netmask", b"24")],
        ),
        ("vmac-auto", &[("ip", b"198.51.100.50"), ("vmac", b"auto")]),
        (
            "vmac-explicit",
            &[("ip", b"2001:db8:100::50"), ("vmac", b"02:00:5e:00:01:32")],
        ),
        (
            "standby-nics",
            &[
                ("ip", b"198.51.100.50"),
                ("nic", b"eth0,eth1,bond0"),
                ("iflabel", b"v"),
            ],
        ),
        (
            "spellings",
            &[
                ("ip", b"198.51.100.50"),
                ("nodad", b"On"),
                ("arp_bg", b"NO"),
                ("run_arping", b"False"),
                ("check_link_status", b"off"),
                ("preferred_lft", b"FOREVER"),
                ("broadcast", b"198.51.100.127"),
                ("cidr_netmask", b"25"),
            ],
        ),
    ];
    for (name, pairs) in sets {
        write("params", name, &params_encode(pairs));
    }
    // Every parameter with its default, so each name is in the corpus.
    let defaults: Vec<(&str, &[u8])> = std::iter::once(("ip", &b"198.51.100.50"[..]))
        .chain(
            PARAMETERS
                .iter()
                .filter_map(|p| Some((p.name, p.default?.as_bytes()))),
        )
        .collect();
    write("params", "defaults", &params_encode(&defaults));
}

fn frames() {
    let mac = MacAddr(0x02, 0x00, 0x5e, 0x10, 0x20, 0x30);
    let peer = MacAddr(0x02, 0x00, 0x5e, 0x10, 0x20, 0x31);
    let v4 = Ipv4Addr::new(198, 51, 100, 50);
    let v6: Ipv6Addr = "2001:db8:100::50".parse().unwrap();
    let frames: Vec<(&str, Vec<u8>)> = vec![
        (
            "arp-request",
            arp::announcement_frame(mac, v4, arp::Form::Request).to_vec(),
        ),
        (
            "arp-reply",
            arp::announcement_frame(mac, v4, arp::Form::Reply).to_vec(),
        ),
        ("arp-probe", arp::probe_frame(mac, v4).to_vec()),
        (
            "arp-refresh",
            arp::refresh_frame(mac, v4, peer, Ipv4Addr::new(198, 51, 100, 254)).to_vec(),
        ),
        ("na", ndp::advertisement_frame(mac, v6, false).to_vec()),
        (
            "na-router",
            ndp::advertisement_frame(mac, v6, true).to_vec(),
        ),
        (
            "na-solicited",
            ndp::refresh_frame(mac, v6, false, peer, "2001:db8:100::254".parse().unwrap()).to_vec(),
        ),
        ("ns-probe", ndp::probe_frame(mac, v6).to_vec()),
    ];
    for (name, frame) in &frames {
        write("frames", name, frame);
    }
    // An NA with a source link-layer option before the target one, and one cut short.
    let mut na = ndp::advertisement_frame(mac, v6, false).to_vec();
    na.splice(78..78, [1, 1, 2, 0, 0, 0, 0, 9]);
    na[19] += 8;
    write("frames", "na-two-options", &na);
    write("frames", "na-truncated", &frames[4].1[..70]);
}

fn cli() {
    let env: &[(&str, &[u8])] = &[
        ("OCF_RESKEY_ip", b"198.51.100.50"),
        ("OCF_RESKEY_cidr_netmask", b"24"),
        ("OCF_RESKEY_CRM_meta_interval", b"10000"),
        ("OCF_RESKEY_CRM_meta_timeout", b"20000"),
        ("OCF_RESKEY_CRM_meta_clone_max", b"1"),
        ("OCF_RESKEY_crm_feature_set", b"3.16.2"),
        ("OCF_RESKEY_cidr_netmsk", b"24"),
        ("OCF_CHECK_LEVEL", b"10"),
        ("OCF_RESOURCE_INSTANCE", b"vip"),
    ];
    for action in [
        "start",
        "stop",
        "monitor",
        "status",
        "validate-all",
        "reload-agent",
        "meta-data",
        "usage",
        "promote",
    ] {
        write(
            "cli",
            action,
            &cli_encode(&[b"FloatIP", action.as_bytes()], env),
        );
    }
    let flags: &[&[&[u8]]] = &[
        &[
            b"floatip",
            b"start",
            b"--ip",
            b"198.51.100.60",
            b"--cidr-netmask",
            b"24",
            b"--nic",
            b"eth0",
        ],
        &[b"floatip", b"monitor", b"--arp_count=3", b"--arp-bg", b"no"],
        &[b"floatip", b"--help"],
        &[b"floatip", b"--version"],
        &[b"floatip", b"start", b"--help"],
        &[b"floatip"],
        &[b"floatip", b"start", b"--no-such-flag", b"1"],
        &[
            b"floatip",
            b"listen",
            b"--nic",
            b"eth0",
            b"--json",
            b"--count",
            b"5",
            b"--seconds",
            b"1.5",
        ],
        &[
            b"floatip",
            b"probe-segment",
            b"--nic",
            b"eth0,eth1",
            b"--wait-ms",
            b"200",
        ],
        &[b"floatip", b"status", b"--json"],
        &[
            b"floatip",
            b"__resident",
            b"vip",
            b"198.51.100.50",
            b"2049:1234",
        ],
        &[b"floatip", b"__resident", b"vip:0", b"2001:db8::5", b"-"],
    ];
    for (i, argv) in flags.iter().enumerate() {
        write("cli", &format!("flags-{i}"), &cli_encode(argv, &env[..1]));
    }
}

fn state() {
    let state = State {
        record: Some(Record {
            ip: "2001:db8::5".parse().unwrap(),
            nic: "eth0".into(),
            prefix_len: 64,
            adapters: vec![2, 3],
        }),
        resident: Resident::Recorded(ResidentId {
            pid: 4242,
            start_time: 987654,
            exe: FileId { dev: 2049, ino: 77 },
        }),
        netns: Some("blue".into()),
    };
    write("state", "state", format_state(&state).as_bytes());
    write("state", "stopped", b"resident=none\n");
    let launch = Launch {
        plan: Plan {
            resource: "vip:0".into(),
            node: Some("node1".into()),
            ip: "198.51.100.50".parse().unwrap(),
            prefix_len: 24,
            address: AddressTemplate {
                label: Some("web".into()),
                broadcast: Some(Ipv4Addr::new(198, 51, 100, 255)),
                nodad: false,
                noprefixroute: false,
                preferred_lft: None,
            },
            adapters: vec!["eth0".into(), "eth1".into()],
            rounds: 4,
            burst_rounds: 5,
            interval_ms: 200,
            refresh_every_ms: Some(10_000),
            defend: true,
            repeat_after_ms: Some(5_000),
            second_wave: true,
            failback_delay_ms: 2_000,
            link_watch: true,
            record_clients: true,
            tickle_again: Vec::new(),
        },
        state_dir: "/run/floatip".into(),
        socket_ifindex: Some(2),
        executor: true,
        cluster: Some(ClusterId {
            pid: 4000,
            start_time: 98765,
        }),
        find_cluster: false,
        crm_resource: None,
        attrd_updater: None,
        crm_node: None,
        debug: false,
        log: LogTargets::default(),
    };
    write("state", "launch", launch.to_line().unwrap().as_bytes());
    write(
        "state",
        "stat",
        b"4242 (a b) c)) R 1 4242 4242 0 -1 4194564 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10",
    );
}

fn main() {
    params();
    frames();
    cli();
    state();
}
