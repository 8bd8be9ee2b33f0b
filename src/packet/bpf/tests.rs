//! The programs run by a small interpreter of the classic BPF instructions they use, over
//! frames built by the packet code and netlink messages laid out as the kernel lays them out.

use super::*;
use crate::packet::{arp, claimant, ndp, parse_frame, segment, MacAddr};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A packet as a socket filter sees it: its bytes, and what the kernel keeps beside them.
#[derive(Clone, Copy)]
struct Packet<'a> {
    data: &'a [u8],
    pkttype: u32,
    vlan: Option<u16>,
}

fn frame(data: &[u8]) -> Packet<'_> {
    Packet {
        data,
        pkttype: libc::PACKET_BROADCAST as u32,
        vlan: None,
    }
}

/// Runs `program` as the kernel would: the bytes kept (0: dropped). A load past the end
/// drops, as it does in the kernel.
fn run(program: &[Instruction], packet: Packet) -> u32 {
    let mut a: u32 = 0;
    let mut pc = 0;
    loop {
        let i = program[pc];
        let load = |size: usize| -> Option<u32> {
            match i.k {
                PKTTYPE => Some(packet.pkttype),
                VLAN_TAG_PRESENT => Some(u32::from(packet.vlan.is_some())),
                VLAN_TAG => Some(u32::from(packet.vlan.unwrap_or(0))),
                k => {
                    let at = k as usize;
                    let bytes = packet.data.get(at..at + size)?;
                    Some(bytes.iter().fold(0u32, |v, b| (v << 8) | u32::from(*b)))
                }
            }
        };
        match i.code {
            LD_W | LD_H | LD_B => {
                let size = match i.code {
                    LD_W => 4,
                    LD_H => 2,
                    _ => 1,
                };
                // Ancillary loads are word loads only.
                match load(if i.k >= PKTTYPE.min(VLAN_TAG) {
                    4
                } else {
                    size
                }) {
                    Some(v) => a = v,
                    None => return 0,
                }
            }
            JEQ | JSET => {
                let taken = if i.code == JEQ {
                    a == i.k
                } else {
                    a & i.k != 0
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            RET => return i.k,
            other => panic!("instruction {other:#x} not interpreted"),
        }
        pc += 1;
    }
}

const OURS: MacAddr = MacAddr(2, 0, 0, 0, 0, 1);
const THEIRS: MacAddr = MacAddr(2, 0, 0, 0, 0, 0x99);

fn vip4() -> Ipv4Addr {
    "198.51.100.50".parse().unwrap()
}
fn vip6() -> Ipv6Addr {
    "2001:db8:100::50".parse().unwrap()
}

/// Frames of every kind the packet code builds, for `ip4` and `ip6`, from THEIRS.
fn frames(ip4: Ipv4Addr, ip6: Ipv6Addr) -> Vec<Vec<u8>> {
    let other4: Ipv4Addr = "198.51.100.77".parse().unwrap();
    let other6: Ipv6Addr = "2001:db8:100::77".parse().unwrap();
    vec![
        arp::announcement_frame(THEIRS, ip4, arp::Form::Request).to_vec(),
        arp::announcement_frame(THEIRS, ip4, arp::Form::Reply).to_vec(),
        arp::announcement_frame(THEIRS, other4, arp::Form::Reply).to_vec(),
        arp::probe_frame(THEIRS, ip4).to_vec(),
        arp::refresh_frame(THEIRS, other4, OURS, ip4).to_vec(),
        arp::refresh_frame(THEIRS, ip4, OURS, other4).to_vec(),
        ndp::advertisement_frame(THEIRS, ip6, false).to_vec(),
        ndp::advertisement_frame(THEIRS, other6, true).to_vec(),
        ndp::refresh_frame(THEIRS, ip6, false, OURS, other6).to_vec(),
        ndp::refresh_frame(THEIRS, other6, false, OURS, ip6).to_vec(),
        ndp::probe_frame(THEIRS, ip6).to_vec(),
        segment::probe_frame(THEIRS, 7, 0).to_vec(),
    ]
}

#[test]
fn the_claims_program_keeps_exactly_the_frames_that_claim_the_address() {
    for ip in [IpAddr::V4(vip4()), IpAddr::V6(vip6())] {
        let program = claims_of(ip);
        for data in frames(vip4(), vip6()) {
            let claims = parse_frame(&data)
                .and_then(|seen| claimant(&seen, ip, OURS, false))
                .is_some();
            assert_eq!(
                run(&program, frame(&data)) != 0,
                claims,
                "{ip}: {:?}",
                parse_frame(&data)
            );
        }
    }
}

#[test]
fn the_claims_program_drops_this_hosts_frames_and_other_vlans() {
    let data = arp::announcement_frame(THEIRS, vip4(), arp::Form::Reply);
    let program = claims_of(IpAddr::V4(vip4()));
    assert_ne!(run(&program, frame(&data)), 0);
    let sent = Packet {
        pkttype: libc::PACKET_OUTGOING as u32,
        ..frame(&data)
    };
    assert_eq!(run(&program, sent), 0, "our own");
    let vlan_42 = Packet {
        vlan: Some(42),
        ..frame(&data)
    };
    assert_eq!(run(&program, vlan_42), 0, "another VLAN");
    let priority_tagged = Packet {
        vlan: Some(0x6000),
        ..frame(&data)
    };
    assert_ne!(run(&program, priority_tagged), 0, "VLAN 0 is ours");
    assert_eq!(run(&program, frame(&data[..20])), 0, "a truncated frame");
}

#[test]
fn the_neighbour_program_keeps_arp_ns_and_na_and_the_observer_our_own_too() {
    let program = neighbour_frames(false);
    let observer = neighbour_frames(true);
    for data in frames(vip4(), vip6()) {
        let neighbour = data[12..14] == [0x08, 0x06] || data[54] == 135 || data[54] == 136;
        let is_ipv6 = data[12..14] == [0x86, 0xdd];
        let neighbour = neighbour && (data[12..14] == [0x08, 0x06] || is_ipv6);
        assert_eq!(run(&program, frame(&data)) != 0, neighbour, "{data:?}");
        let sent = Packet {
            pkttype: libc::PACKET_OUTGOING as u32,
            ..frame(&data)
        };
        assert_eq!(run(&program, sent), 0);
        assert_eq!(run(&observer, sent) != 0, neighbour);
    }
}

#[test]
fn the_segment_program_keeps_only_segment_probes() {
    let program = segment_probes();
    for data in frames(vip4(), vip6()) {
        let probe = data[12..14] == segment::ETHERTYPE.to_be_bytes();
        assert_eq!(run(&program, frame(&data)) != 0, probe);
    }
}

/// An address message as the kernel builds one: header, ifaddrmsg, the address attribute.
fn address_message(kind: u16, flags: u16, ip: IpAddr) -> Vec<u8> {
    let (family, octets): (u8, Vec<u8>) = match ip {
        IpAddr::V4(v4) => (libc::AF_INET as u8, v4.octets().to_vec()),
        IpAddr::V6(v6) => (libc::AF_INET6 as u8, v6.octets().to_vec()),
    };
    let attribute_len = 4 + octets.len() as u16;
    let mut m = Vec::new();
    m.extend_from_slice(&(16 + 8 + u32::from(attribute_len)).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&7u32.to_ne_bytes()); // sequence of whoever made the change
    m.extend_from_slice(&4242u32.to_ne_bytes()); // and its port: notifications carry them
    m.extend_from_slice(&[family, 64, 0, 0]);
    m.extend_from_slice(&3u32.to_ne_bytes());
    m.extend_from_slice(&attribute_len.to_ne_bytes());
    m.extend_from_slice(&IFA_ADDRESS.to_ne_bytes());
    m.extend_from_slice(&octets);
    m
}

#[test]
fn the_netlink_program_drops_notices_about_other_addresses_only() {
    let other4: IpAddr = "198.51.100.77".parse().unwrap();
    let other6: IpAddr = "2001:db8:100::77".parse().unwrap();
    for (ip, other) in [(IpAddr::V4(vip4()), other4), (IpAddr::V6(vip6()), other6)] {
        let program = address_notices_of(ip);
        let keeps = |m: &[u8]| run(&program, frame(m)) != 0;
        for kind in [RTM_NEWADDR, RTM_DELADDR] {
            assert!(keeps(&address_message(kind, 0, ip)), "{ip}");
            assert!(!keeps(&address_message(kind, 0, other)), "{other}");
            // A dump's reply (NLM_F_MULTI) is kept whole, whatever comes first in it.
            assert!(keeps(&address_message(kind, NLM_F_MULTI, other)));
        }
        // The other family's addresses are never ours.
        let foreign = match ip {
            IpAddr::V4(_) => other6,
            IpAddr::V6(_) => other4,
        };
        assert!(!keeps(&address_message(RTM_NEWADDR, 0, foreign)));
        // Links (RTM_NEWLINK 16), acks and errors (2), the end of a dump (3): kept.
        for kind in [16u16, 17, 2, 3, 28] {
            let mut m = address_message(kind, 0, other);
            assert!(keeps(&m), "type {kind}");
            m.truncate(16);
            assert!(keeps(&m), "type {kind}, header only");
        }
        // Laid out otherwise (another first attribute): kept, to be safe.
        let mut odd = address_message(RTM_NEWADDR, 0, other);
        odd[26..28].copy_from_slice(&8u16.to_ne_bytes());
        assert!(keeps(&odd));
    }
}

// ------------------------------------------------ the neighbour and segment programs

const THEM: MacAddr = MacAddr(0x02, 0, 0, 0, 0, 0x22);

/// What the kernel keeps beside a frame, for the ancillary loads.
#[derive(Clone, Copy)]
struct Beside {
    pkttype: u8,
    /// The tag the kernel took out of the frame, if any.
    vlan_tci: Option<u16>,
}

const RECEIVED: Beside = Beside {
    pkttype: libc::PACKET_BROADCAST,
    vlan_tci: None,
};

fn run_beside(program: &[Instruction], frame: &[u8], beside: Beside) -> u32 {
    run(
        program,
        Packet {
            data: frame,
            pkttype: u32::from(beside.pkttype),
            vlan: beside.vlan_tci,
        },
    )
}

fn named_frames() -> Vec<(&'static str, Vec<u8>)> {
    let v4 = Ipv4Addr::new(198, 51, 100, 50);
    let v6: Ipv6Addr = "2001:db8:100::50".parse().unwrap();
    vec![
        (
            "ARP",
            arp::announcement_frame(THEM, v4, arp::Form::Reply).to_vec(),
        ),
        ("NA", ndp::advertisement_frame(THEM, v6, false).to_vec()),
        ("NS", ndp::probe_frame(THEM, v6).to_vec()),
    ]
}

#[test]
fn neighbour_discovery_from_other_hosts_passes() {
    for (what, frame) in named_frames() {
        for program in [neighbour_frames(false), neighbour_frames(true)] {
            assert_eq!(run_beside(&program, &frame, RECEIVED), 0xffff, "{what}");
            let unicast = Beside {
                pkttype: libc::PACKET_HOST,
                ..RECEIVED
            };
            assert_eq!(
                run_beside(&program, &frame, unicast),
                0xffff,
                "{what} to us"
            );
        }
    }
}

#[test]
fn everything_else_is_dropped() {
    let na = ndp::advertisement_frame(THEM, "2001:db8::1".parse().unwrap(), false);
    let mut echo = na;
    echo[54] = 128;
    let mut udp = na;
    udp[20] = 17;
    let mut ipv4 = arp::announcement_frame(THEM, Ipv4Addr::new(198, 51, 100, 1), arp::Form::Reply);
    ipv4[12..14].copy_from_slice(&[0x08, 0x00]);
    let tagged_in_band = [&na[..12], &[0x81, 0x00, 0x00, 0x2a], &na[12..]].concat();
    for (what, frame) in [
        ("ICMPv6 echo", echo.to_vec()),
        ("UDP over IPv6", udp.to_vec()),
        ("IPv4", ipv4.to_vec()),
        ("a tag left in the frame", tagged_in_band),
        ("a segment probe", segment::probe_frame(THEM, 1, 0).to_vec()),
        ("a runt", na[..13].to_vec()),
        ("IPv6 cut before its type", na[..54].to_vec()),
    ] {
        for program in [neighbour_frames(false), neighbour_frames(true)] {
            assert_eq!(run_beside(&program, &frame, RECEIVED), 0, "{what}");
        }
    }
}

#[test]
fn our_own_frames_reach_only_the_observer() {
    let sent = Beside {
        pkttype: libc::PACKET_OUTGOING,
        vlan_tci: None,
    };
    for (what, frame) in named_frames() {
        assert_eq!(
            run_beside(&neighbour_frames(false), &frame, sent),
            0,
            "{what}"
        );
        assert_eq!(
            run_beside(&neighbour_frames(true), &frame, sent),
            0xffff,
            "{what}"
        );
    }
}

#[test]
fn frames_of_another_vlan_are_dropped_but_a_priority_tag_is_not() {
    for (what, frame) in named_frames() {
        for program in [neighbour_frames(false), neighbour_frames(true)] {
            for (tci, passes) in [
                (42, false),
                (0x0fff, false),
                (0x6000 | 42, false),
                (0x1000 | 1, false),
                (0, true),
                (0x6000, true),
            ] {
                let tagged = Beside {
                    vlan_tci: Some(tci),
                    ..RECEIVED
                };
                let want = if passes { 0xffff } else { 0 };
                assert_eq!(
                    run_beside(&program, &frame, tagged),
                    want,
                    "{what}, tag {tci:#06x}"
                );
            }
        }
    }
}

#[test]
fn the_segment_filter_takes_only_segment_probes() {
    let probe = segment::probe_frame(THEM, 7, 1);
    assert_eq!(run_beside(&segment_probes(), &probe, RECEIVED), 0xffff);
    for (what, frame) in named_frames() {
        assert_eq!(run_beside(&segment_probes(), &frame, RECEIVED), 0, "{what}");
    }
}

/// The claims program for 198.51.100.50 as the kernel reads it, instruction by instruction:
/// the values the kernel keeps beside a frame are loaded from SKF_AD_OFF (-0x1000) plus
/// SKF_AD_PKTTYPE (4), SKF_AD_VLAN_TAG (44) and SKF_AD_VLAN_TAG_PRESENT (48) of
/// include/uapi/linux/filter.h, which the interpreter above cannot check (it reads the same
/// constants).
#[test]
fn golden_instructions_of_the_ipv4_claims_program() {
    let program: Vec<(u16, u8, u8, u32)> = claims_of(IpAddr::V4(vip4()))
        .iter()
        .map(|i| (i.code, i.jt, i.jf, i.k))
        .collect();
    #[rustfmt::skip]
    let expected = vec![
        (0x20, 0, 0, 0xffff_f004), // ld [pkttype]
        (0x15, 10, 0, 4),          // jeq PACKET_OUTGOING: drop
        (0x20, 0, 0, 0xffff_f030), // ld [vlan_tag_present]
        (0x15, 2, 0, 0),           // jeq 0: past the tag
        (0x20, 0, 0, 0xffff_f02c), // ld [vlan_tag]
        (0x45, 6, 0, 0x0fff),      // jset 0xfff: drop
        (0x28, 0, 0, 12),          // ldh [12]
        (0x15, 0, 4, 0x0806),      // jeq ARP, else drop
        (0x20, 0, 0, 28),          // ld [28]: the sender address
        (0x15, 0, 2, 0xc633_6432), // jeq 198.51.100.50, else drop
        (0x15, 0, 0, 0),           // on to accept
        (0x06, 0, 0, 0xffff),      // ret: keep
        (0x06, 0, 0, 0),           // ret: drop
    ];
    assert_eq!(program, expected);
}
