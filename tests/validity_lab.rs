//! A conflict is reported only when it is real, on real kernels: frames the kernel would not
//! take as a claim (another VLAN's, routed in with hop limit 63, a bad checksum, ICMP code 1)
//! neither fail a deep monitor nor show as a conflict in `floatip listen` on the node; the same
//! frames made valid do both. Needs root.

mod common;

use common::*;
use floatip::packet::{arp, ndp, parse_frame, MacAddr, Observed};
use pnet_packet::icmpv6::{self, Icmpv6Packet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

const VIP4: &str = "198.51.100.50";
const VIP6: &str = "2001:db8:100::50";
/// Where an NDP message starts: Ethernet and IPv6 headers.
const ICMP: usize = 14 + 40;

fn mac(s: &str) -> MacAddr {
    let b = mac_bytes(s);
    MacAddr(b[0], b[1], b[2], b[3], b[4], b[5])
}

/// The frame with an 802.1Q tag (priority and VLAN id in `tci`) after its addresses.
fn with_tag(frame: &[u8], tci: u16) -> Vec<u8> {
    [
        &frame[..12],
        &[0x81, 0x00],
        &tci.to_be_bytes(),
        &frame[12..],
    ]
    .concat()
}

/// The frame as a trunk port carries it for VLAN 42.
fn tagged(frame: &[u8]) -> Vec<u8> {
    with_tag(frame, 42)
}

/// An NDP frame edited by `edit`, its checksum set right again unless the edit is the
/// checksum's.
fn edited_na(frame: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut frame = frame.to_vec();
    let address =
        |f: &[u8], at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&f[at..at + 16]).unwrap());
    let before = frame.clone();
    edit(&mut frame);
    if frame[ICMP + 2..ICMP + 4] == before[ICMP + 2..ICMP + 4] {
        frame[ICMP + 2..ICMP + 4].fill(0);
        let sum = icmpv6::checksum(
            &Icmpv6Packet::new(&frame[ICMP..]).unwrap(),
            &address(&frame, 22),
            &address(&frame, 38),
        );
        frame[ICMP + 2..ICMP + 4].copy_from_slice(&sum.to_be_bytes());
    }
    frame
}

/// The client's frames about `vip` that the node's kernel would drop, and the one it would
/// take, distinguishable in `listen`'s lines by `invalid_mark` and `valid_mark`.
struct Frames {
    invalid: Vec<(&'static str, Vec<u8>)>,
    invalid_mark: &'static str,
    valid: Vec<u8>,
    valid_mark: &'static str,
    /// Other forms the kernel takes too.
    also_valid: Vec<(&'static str, Vec<u8>)>,
}

fn frames(vip: IpAddr, client: MacAddr) -> Frames {
    match vip {
        IpAddr::V4(v4) => Frames {
            invalid: vec![(
                "a gratuitous ARP of VLAN 42",
                tagged(&arp::announcement_frame(client, v4, arp::Form::Reply)),
            )],
            invalid_mark: "[reply",
            valid: arp::announcement_frame(client, v4, arp::Form::Request).to_vec(),
            valid_mark: "[request",
            // VLAN id 0 is a priority tag: the kernel clears it and takes the frame as untagged.
            also_valid: vec![(
                "a gratuitous ARP with a priority tag (VLAN 0, priority 5)",
                with_tag(
                    &arp::announcement_frame(client, v4, arp::Form::Request),
                    5 << 13,
                ),
            )],
        },
        IpAddr::V6(v6) => {
            // Router flag clear in the invalid ones, set in the valid one, to tell them apart.
            let na = ndp::advertisement_frame(client, v6, false);
            Frames {
                invalid: vec![
                    (
                        "an NA routed in (hop limit 63)",
                        edited_na(&na, |f| f[21] = 63),
                    ),
                    (
                        "an NA with a bad checksum",
                        edited_na(&na, |f| f[ICMP + 3] ^= 0x01),
                    ),
                    (
                        "an NA with ICMP code 1",
                        edited_na(&na, |f| f[ICMP + 1] = 1),
                    ),
                    ("an NA of VLAN 42", tagged(&na)),
                ],
                invalid_mark: "[flags --O",
                valid: ndp::advertisement_frame(client, v6, true).to_vec(),
                valid_mark: "[flags R-O",
                also_valid: vec![(
                    "an NA with a priority tag (VLAN 0)",
                    with_tag(&ndp::advertisement_frame(client, v6, true), 0),
                )],
            }
        }
    }
}

/// Node 0's duplicate-address probe for `vip` (what a deep monitor sends before it listens).
fn is_probe(frame: &[u8], node: MacAddr, vip: IpAddr) -> bool {
    match (parse_frame(frame), vip) {
        (
            Some(Observed::Arp {
                source_mac,
                sender_ip,
                target_ip,
                ..
            }),
            IpAddr::V4(v4),
        ) => source_mac == node && sender_ip == Ipv4Addr::UNSPECIFIED && target_ip == v4,
        (
            Some(Observed::NeighborSolicit {
                source_mac,
                source_ip,
                target,
            }),
            IpAddr::V6(v6),
        ) => source_mac == node && source_ip.is_unspecified() && target == v6,
        _ => false,
    }
}

/// Runs a deep monitor on node 0 and sends `frame` from the client once the monitor's first
/// probe is on the wire, so that the frame arrives while the monitor listens.
fn deep_monitor_hearing(lab: &Lab, params: &[(&str, &str)], vip: IpAddr, frame: &[u8]) -> AgentRun {
    let node = mac(&lab.mac(Host::Node(0), "eth0"));
    let capture = lab.capture(Host::Client, "eth0");
    let deep = [params, &[("OCF_CHECK_LEVEL", "10")]].concat();
    std::thread::scope(|s| {
        let monitor = s.spawn(|| agent(lab, 0, "monitor", &deep));
        let probed = capture.wait_for(Duration::from_secs(20), |frames| {
            frames.iter().any(|(_, f)| is_probe(f, node, vip))
        });
        if probed {
            lab.send_frame(Host::Client, "eth0", frame);
        }
        let run = monitor.join().unwrap();
        assert!(
            probed,
            "the deep monitor never probed for {vip}: {}",
            run.stderr
        );
        run
    })
}

#[test]
fn only_frames_the_kernel_would_take_are_conflicts() {
    if !root_or_skip("only_frames_the_kernel_would_take_are_conflicts") {
        return;
    }
    let lab = Lab::new(1);
    let ours = lab.mac(Host::Node(0), "eth0");
    let client = lab.mac(Host::Client, "eth0");
    for vip in [VIP4, VIP6] {
        let ip: IpAddr = vip.parse().unwrap();
        // arp_count 1: no background process. A probe window long enough for the injection.
        let params: &[(&str, &str)] = &[
            ("ip", vip),
            ("nodad", "true"),
            ("arp_count", "1"),
            ("arp_probe_wait", "2000"),
        ];
        let listener = Listener::start(&lab, Host::Node(0), "eth0", &["--seconds", "600"]);
        assert_code(&agent(&lab, 0, "start", params), 0, "start");
        // Our own announcement tells listen whose the address is; a second MAC is a conflict.
        let ours_claim = format!(" {vip} is-at {ours} ");
        assert!(
            listener.wait_for(Duration::from_secs(10), |lines| lines
                .iter()
                .any(|l| l.contains(&ours_claim))),
            "listen saw our announcement: {:?}",
            listener.lines()
        );
        assert_code(
            &agent(
                &lab,
                0,
                "monitor",
                &[params, &[("OCF_CHECK_LEVEL", "10")]].concat(),
            ),
            0,
            "deep monitor before anything is sent",
        );

        let frames = frames(ip, mac(&client));
        for (what, frame) in &frames.invalid {
            let run = deep_monitor_hearing(&lab, params, ip, frame);
            assert_code(&run, 0, &format!("{vip}: deep monitor hearing {what}"));
        }
        let valid = [("a valid claim", frames.valid.clone())];
        for (what, frame) in valid.iter().chain(&frames.also_valid) {
            let run = deep_monitor_hearing(&lab, params, ip, frame);
            assert_ne!(run.code, 0, "{vip}: deep monitor hearing {what}");
            let reasons = exit_reasons(&run);
            assert!(
                reasons.len() == 1 && reasons[0].contains(&client),
                "{vip}: hearing {what}, the reason names the other MAC: {reasons:?}"
            );
        }

        // Frames reach listen in the order sent: once the valid claim's line is there, every
        // invalid frame before it has been seen, and none may have been printed.
        let theirs_claim = format!(" {vip} is-at {client} ");
        let valid_line = |l: &String| l.contains(&theirs_claim) && l.contains(frames.valid_mark);
        assert!(
            listener.wait_for(Duration::from_secs(10), |lines| lines
                .iter()
                .any(valid_line)),
            "{vip}: listen printed the valid claim: {:?}",
            listener.lines()
        );
        let lines = listener.stop();
        let first_valid = lines.iter().position(valid_line).unwrap();
        assert!(
            lines[first_valid].contains("CONFLICT"),
            "{vip}: the valid claim is a conflict: {}",
            lines[first_valid]
        );
        let before = &lines[..first_valid];
        assert!(
            !before.iter().any(|l| l.contains("CONFLICT")),
            "{vip}: no conflict before the valid claim: {before:#?}"
        );
        assert!(
            !lines
                .iter()
                .any(|l| l.contains(&theirs_claim) && l.contains(frames.invalid_mark)),
            "{vip}: listen never printed an invalid frame: {lines:#?}"
        );
        assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
    }
}
