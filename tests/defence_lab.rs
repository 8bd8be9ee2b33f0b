//! Beyond IPaddr2, on real kernels: duplicate-address probes before start, a zombie owner
//! detected by a deep monitor and beaten back, the background process defending the address,
//! and refreshes that keep a client's entry from ever being re-probed. Needs root.

mod common;

use common::*;
use floatip::packet::{arp, ndp, MacAddr};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

const VIP4: &str = "198.51.100.50";
const VIP6: &str = "2001:db8:100::50";

fn mac(s: &str) -> MacAddr {
    let b = mac_bytes(s);
    MacAddr(b[0], b[1], b[2], b[3], b[4], b[5])
}

/// Node 1 plays a failed owner whose kernel still holds the address: it answers ARP and ND
/// for it like any owner would.
fn make_zombie(lab: &Lab, vip: &str) {
    let cidr = if vip.contains(':') {
        format!("{vip}/64")
    } else {
        format!("{vip}/24")
    };
    lab.ip(
        Host::Node(1),
        &["addr", "add", &cidr, "dev", "eth0", "nodad"],
    );
}

/// The zombie's one stray announcement that flips the client back to it.
fn zombie_announces(lab: &Lab, vip: &str) {
    let zombie = mac(&lab.mac(Host::Node(1), "eth0"));
    let frame = match vip.parse::<std::net::IpAddr>().unwrap() {
        std::net::IpAddr::V4(v4) => arp::announcement_frame(zombie, v4, arp::Form::Reply).to_vec(),
        std::net::IpAddr::V6(v6) => ndp::advertisement_frame(zombie, v6, false).to_vec(),
    };
    lab.send_frame(Host::Node(1), "eth0", &frame);
}

fn client_entry_becomes(lab: &Lab, vip: &str, want: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if lab.neigh(Host::Client, vip).is_some_and(|(m, _)| m == want) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` holds an AF_PACKET socket: one of its descriptors is a socket whose
/// inode its network namespace lists in /proc/net/packet.
fn has_packet_socket(pid: i32) -> bool {
    let Ok(table) = std::fs::read_to_string(format!("/proc/{pid}/net/packet")) else {
        return false;
    };
    // "sk RefCnt Type Proto Iface R Rmem User Inode": the inode is the last column.
    let inodes: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .any(|inode| inodes.contains(&inode.as_str()))
}

fn ping_once(lab: &Lab, vip: &str) {
    let out = lab.sh(Host::Client, &format!("ping -c 1 -w 3 {vip}"));
    assert!(out.status.success(), "client cannot reach {vip}");
}

#[test]
fn run_arping_refuses_an_address_another_machine_answers_for() {
    if !root_or_skip("run_arping_refuses_an_address_another_machine_answers_for") {
        return;
    }
    let lab = Lab::new(2);
    let zombie_mac = lab.mac(Host::Node(1), "eth0");
    for vip in [VIP4, VIP6] {
        let params: &[(&str, &str)] = &[("ip", vip), ("run_arping", "true"), ("nodad", "true")];
        make_zombie(&lab, vip);
        let start = agent(&lab, 0, "start", params);
        assert_code(&start, 1, &format!("start of {vip} while node 1 holds it"));
        let reasons = exit_reasons(&start);
        assert_eq!(reasons.len(), 1);
        assert!(
            reasons[0].contains(&zombie_mac),
            "the reason names the other MAC: {reasons:?}"
        );
        assert!(
            !lab.addresses(Host::Node(0), "eth0")
                .iter()
                .any(|a| a.starts_with(&format!("{vip}/"))),
            "nothing added"
        );
        let cidr = if vip.contains(':') {
            format!("{vip}/64")
        } else {
            format!("{vip}/24")
        };
        lab.ip(Host::Node(1), &["addr", "del", &cidr, "dev", "eth0"]);
        let start = agent(&lab, 0, "start", params);
        assert_code(&start, 0, "start once the address is free");
        assert!(
            start.elapsed >= Duration::from_millis(250),
            "the probe listened ({:?})",
            start.elapsed
        );
        assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
    }
}

#[test]
fn deep_monitor_finds_a_zombie_owner_reports_degraded_and_wins_the_client_back() {
    if !root_or_skip("deep_monitor_finds_a_zombie_owner_reports_degraded_and_wins_the_client_back")
    {
        return;
    }
    let lab = Lab::new(2);
    let (ours, zombie) = (
        lab.mac(Host::Node(0), "eth0"),
        lab.mac(Host::Node(1), "eth0"),
    );
    for vip in [VIP4, VIP6] {
        // arp_count 1: no background process, so only the monitor can notice.
        let params: &[(&str, &str)] = &[
            ("ip", vip),
            ("nodad", "true"),
            ("arp_count", "1"),
            ("OCF_RESKEY_CRM_meta_interval", "10000"),
        ];
        assert_code(&agent(&lab, 0, "start", params), 0, "start");
        ping_once(&lab, vip);
        assert_code(
            &agent(
                &lab,
                0,
                "monitor",
                &[params, &[("OCF_CHECK_LEVEL", "10")]].concat(),
            ),
            0,
            "deep monitor, no conflict",
        );
        make_zombie(&lab, vip);
        zombie_announces(&lab, vip);
        assert!(
            client_entry_becomes(&lab, vip, &zombie, Duration::from_secs(2)),
            "the zombie's announcement flipped the client"
        );
        assert_code(
            &agent(&lab, 0, "monitor", params),
            0,
            "a level-0 monitor does not probe",
        );
        let deep = agent(
            &lab,
            0,
            "monitor",
            &[params, &[("OCF_CHECK_LEVEL", "10")]].concat(),
        );
        // Degraded, not failed: a restart here would not resolve the conflict, so Pacemaker
        // must not recover; the defence is what wins the client back.
        assert_code(&deep, 190, "deep monitor with a zombie (OCF_DEGRADED)");
        let reasons = exit_reasons(&deep);
        assert!(
            reasons.len() == 1 && reasons[0].contains(&zombie),
            "reason names the zombie: {reasons:?}"
        );
        assert!(
            client_entry_becomes(&lab, vip, &ours, Duration::from_secs(2)),
            "the defence won the client back: {:?}",
            lab.neigh(Host::Client, vip)
        );
        let cidr = if vip.contains(':') {
            format!("{vip}/64")
        } else {
            format!("{vip}/24")
        };
        lab.ip(Host::Node(1), &["addr", "del", &cidr, "dev", "eth0"]);
        assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
    }
}

#[test]
fn background_process_defends_the_address_at_once() {
    if !root_or_skip("background_process_defends_the_address_at_once") {
        return;
    }
    let lab = Lab::new(2);
    let (ours, zombie) = (
        lab.mac(Host::Node(0), "eth0"),
        lab.mac(Host::Node(1), "eth0"),
    );
    let params: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("arp_count", "1"),
        ("arp_refresh_interval", "30"),
    ];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    ping_once(&lab, VIP4);
    assert_eq!(burst_workers(&lab, 0).len(), 1, "the refresher runs");
    // Frames wait in the worker's socket from the moment it is open (it is handed the agent's).
    let deadline = Instant::now() + Duration::from_secs(5);
    while !burst_workers(&lab, 0)
        .iter()
        .any(|pid| has_packet_socket(*pid))
    {
        assert!(
            Instant::now() < deadline,
            "the refresher has no packet socket"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    zombie_announces(&lab, VIP4);
    let flipped_back = client_entry_becomes(&lab, VIP4, &ours, Duration::from_secs(1));
    assert!(
        flipped_back,
        "client back on our MAC within a second: {:?}",
        lab.neigh(Host::Client, VIP4)
    );
    let conflict = std::fs::read_to_string(node_state_dir(&lab, 0).join("vip.conflict"))
        .expect("conflict recorded");
    assert!(
        conflict.contains(&zombie) && conflict.contains(&ours),
        "{conflict}"
    );
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
    assert_eq!(
        burst_workers(&lab, 0),
        Vec::<i32>::new(),
        "stop ends the refresher"
    );
}

/// Client-side neighbour probes for `vip`: unicast ARP requests (IPv4) or unicast NS (IPv6)
/// addressed to the node, which is what a client sends when its entry goes to PROBE.
fn client_probes(frames: &[(Instant, Vec<u8>)], vip: &str, client_mac: [u8; 6]) -> usize {
    frames
        .iter()
        .filter(|(_, f)| {
            let Some((dst, src, ethertype)) = eth_header(f) else {
                return false;
            };
            if src != client_mac || dst == [0xff; 6] || dst[0] & 1 == 1 {
                return false;
            }
            match ethertype {
                0x0806 => parse_arp(f).is_some_and(|(a, _, tpa)| {
                    a.op == 1 && tpa == vip.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::UNSPECIFIED)
                }),
                0x86dd => {
                    f.len() >= 78
                        && f[20] == 58
                        && f[54] == 135
                        && f[62..78]
                            == vip
                                .parse::<Ipv6Addr>()
                                .map(|a| a.octets())
                                .unwrap_or([0; 16])
                }
                _ => false,
            }
        })
        .count()
}

/// Sends the VIP a UDP datagram every 100 ms for `seconds` while capturing on the node: how
/// many times did the client re-probe its entry? (UDP, because ping confirms reachability
/// itself with MSG_CONFIRM and would hide the effect.)
fn probes_while_sending(lab: &Lab, vip: &str, seconds: u32) -> usize {
    let client_mac = mac_bytes(&lab.mac(Host::Client, "eth0"));
    let capture = lab.capture(Host::Node(0), "eth0");
    let family = if vip.contains(':') {
        "AF_INET6"
    } else {
        "AF_INET"
    };
    let script = format!(
        "import socket, time\ns = socket.socket(socket.{family}, socket.SOCK_DGRAM)\nfor _ in range({}):\n    s.sendto(b'x', ('{vip}', 9))\n    time.sleep(0.1)\n",
        seconds * 10
    );
    let out = lab.sh(Host::Client, &format!("python3 -c \"{script}\""));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    client_probes(&capture.stop(), vip, client_mac)
}

#[test]
fn refresh_keeps_the_client_from_ever_probing() {
    if !root_or_skip("refresh_keeps_the_client_from_ever_probing") {
        return;
    }
    let lab = Lab::new(1);
    // Short reachable times on the client so that STALE -> DELAY -> PROBE happens within seconds.
    for family in ["ipv4", "ipv6"] {
        lab.sh_ok(Host::Client, &format!("sysctl -qw net.{family}.neigh.eth0.base_reachable_time_ms=4000 net.{family}.neigh.eth0.delay_first_probe_time=1"));
    }
    for vip in [VIP4, VIP6] {
        let plain: &[(&str, &str)] = &[("ip", vip), ("nodad", "true"), ("arp_count", "1")];
        assert_code(&agent(&lab, 0, "start", plain), 0, "start without refresh");
        let without = probes_while_sending(&lab, vip, 10);
        assert_code(&agent(&lab, 0, "stop", plain), 0, "stop");
        assert!(
            without > 0,
            "{vip}: without refresh the client re-probes (saw {without})"
        );

        let refreshed: &[(&str, &str)] = &[
            ("ip", vip),
            ("nodad", "true"),
            ("arp_count", "1"),
            ("arp_refresh_interval", "1"),
        ];
        assert_code(&agent(&lab, 0, "start", refreshed), 0, "start with refresh");
        ping_once(&lab, vip);
        // The claim is about the steady state: from the first refresh (1 s after start) on,
        // the entry stays confirmed. Before it, an entry left in DELAY by the phase above may
        // still probe once.
        std::thread::sleep(Duration::from_millis(1500));
        let with = probes_while_sending(&lab, vip, 10);
        assert_code(&agent(&lab, 0, "stop", refreshed), 0, "stop");
        eprintln!("{vip}: client probes without refresh {without}, with refresh {with}");
        assert_eq!(
            with, 0,
            "{vip}: with refresh every second the client never probes"
        );
    }
}

#[test]
fn a_flood_of_spoofed_claims_is_defended_once_per_interval_and_counted() {
    if !root_or_skip("a_flood_of_spoofed_claims_is_defended_once_per_interval_and_counted") {
        return;
    }
    let lab = Lab::new(2);
    let ours = lab.mac(Host::Node(0), "eth0");
    let params: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("arp_count", "1"),
        ("arp_refresh_interval", "600"),
    ];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    let status = || -> serde_json::Value {
        let out = lab
            .exec_command(
                Host::Node(0),
                AGENT_BIN,
                &["status", "--json"],
                &[(
                    "FLOATIP_STATE_DIR",
                    node_state_dir(&lab, 0).to_str().unwrap(),
                )],
            )
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0]["resident"].clone()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !status()["adapter"].is_string() {
        assert!(Instant::now() < deadline, "the resident is up");
        std::thread::sleep(Duration::from_millis(10));
    }
    let capture = lab.capture(Host::Client, "eth0");
    let zombie = mac(&lab.mac(Host::Node(1), "eth0"));
    let frame = arp::announcement_frame(zombie, VIP4.parse().unwrap(), arp::Form::Reply);
    let began = Instant::now();
    lab.send_frames(
        Host::Node(1),
        "eth0",
        &frame,
        3_000,
        Duration::from_millis(1),
    );
    let flooded = began.elapsed();
    let deadline = Instant::now() + Duration::from_secs(5);
    while status()["claims"].as_u64().unwrap_or(0) < 2_500 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen = status();
    // Defences are refresh rounds: the broadcast round plus a unicast answer to the client.
    let defences = announcements(&capture.stop(), VIP4, &ours).len() / 2;
    eprintln!(
        "3,000 claims in {flooded:?}: {} counted, {} defended, {defences} defence rounds on the wire",
        seen["claims"], seen["defences"]
    );
    assert!(seen["claims"].as_u64().unwrap() >= 2_500, "{seen}");
    let allowed = 1 + flooded.as_secs() / 10;
    assert!(
        seen["defences"].as_u64().unwrap() <= allowed && defences as u64 <= allowed,
        "at most one defence per 10 s: {seen}"
    );
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
}
