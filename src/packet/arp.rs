//! Gratuitous ARP (RFC 5227 § 3 "ARP Announcement", RFC 826).
//!
//! Each round sends both forms, broadcast from the interface's MAC, because stacks differ in
//! which one refreshes a cache: the request (target MAC zero) and the reply (target MAC =
//! sender MAC). Linux 6.18 with a fresh (< locktime) entry accepts only those two shapes.

use super::{MacAddr, Observed, BROADCAST_MAC, ETHERNET_HEADER_LEN};
use pnet_packet::arp::{
    ArpHardwareType, ArpHardwareTypes, ArpOperation, ArpOperations, ArpPacket, MutableArpPacket,
};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::Packet;
use std::net::Ipv4Addr;

pub const ARP_LEN: usize = 28;
pub const FRAME_LEN: usize = ETHERNET_HEADER_LEN + ARP_LEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Request,
    Reply,
}

/// Builds one gratuitous ARP frame: sender IP = target IP = `ip`, broadcast destination.
pub fn announcement_frame(mac: MacAddr, ip: Ipv4Addr, form: Form) -> [u8; FRAME_LEN] {
    let mut buffer = [0u8; FRAME_LEN];
    {
        let mut ethernet = MutableEthernetPacket::new(&mut buffer).expect("buffer fits Ethernet");
        ethernet.set_destination(BROADCAST_MAC);
        ethernet.set_source(mac);
        ethernet.set_ethertype(EtherTypes::Arp);
    }
    {
        let mut arp =
            MutableArpPacket::new(&mut buffer[ETHERNET_HEADER_LEN..]).expect("buffer fits ARP");
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        let (operation, target_mac) = match form {
            Form::Request => (ArpOperations::Request, MacAddr::zero()),
            Form::Reply => (ArpOperations::Reply, mac),
        };
        arp.set_operation(operation);
        arp.set_sender_hw_addr(mac);
        arp.set_sender_proto_addr(ip);
        arp.set_target_hw_addr(target_mac);
        arp.set_target_proto_addr(ip);
    }
    buffer
}

/// Builds an ARP probe (RFC 5227 § 2.1.1): sender IP 0.0.0.0 so that no cache learns from
/// it, target IP = `ip`, target MAC zero, broadcast. Whoever holds `ip` answers it.
pub fn probe_frame(mac: MacAddr, ip: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut buffer = announcement_frame(mac, ip, Form::Request);
    let mut arp =
        MutableArpPacket::new(&mut buffer[ETHERNET_HEADER_LEN..]).expect("buffer fits ARP");
    arp.set_sender_proto_addr(Ipv4Addr::UNSPECIFIED);
    buffer
}

/// Builds a unicast ARP reply telling one neighbour that `ip` is at `mac`. A reply addressed
/// to the host makes Linux mark its entry REACHABLE (a broadcast one only STALE), so sent
/// often enough it keeps the neighbour from ever probing (RFC 826 merge, RFC 1122 2.3.2.1).
pub fn refresh_frame(
    mac: MacAddr,
    ip: Ipv4Addr,
    to_mac: MacAddr,
    to_ip: Ipv4Addr,
) -> [u8; FRAME_LEN] {
    let mut buffer = announcement_frame(mac, ip, Form::Reply);
    {
        let mut ethernet = MutableEthernetPacket::new(&mut buffer).expect("buffer fits Ethernet");
        ethernet.set_destination(to_mac);
    }
    let mut arp =
        MutableArpPacket::new(&mut buffer[ETHERNET_HEADER_LEN..]).expect("buffer fits ARP");
    arp.set_target_hw_addr(to_mac);
    arp.set_target_proto_addr(to_ip);
    buffer
}

/// ARP hardware type 6 (IEEE 802), which Linux accepts on an Ethernet device like type 1.
const IEEE802: ArpHardwareType = ArpHardwareType(6);

/// Parses an Ethernet/IPv4 ARP request or reply that the Linux kernel would process, or None.
///
/// The checks are those of net/ipv4/arp.c: arp_rcv drops a header whose address lengths do not
/// fit the device (6 and 4 here); arp_process drops any hardware type but Ethernet or IEEE 802
/// on an Ethernet device, any protocol but IPv4, any operation but request and reply, and a
/// multicast or loopback target address, and ignores anything from 0.0.0.0 but a request (a
/// probe, RFC 5227 § 2.1.1). Beyond arp.c, a sender no host can be is refused too: a group or
/// zero MAC (IEEE 802: a station's own address is individual), and a multicast or limited
/// broadcast sender address.
pub fn parse(frame: &[u8]) -> Option<Observed> {
    let ethernet = EthernetPacket::new(frame)?;
    if ethernet.get_ethertype() != EtherTypes::Arp {
        return None;
    }
    let arp = ArpPacket::new(ethernet.payload())?;
    let hardware = arp.get_hardware_type();
    if (hardware != ArpHardwareTypes::Ethernet && hardware != IEEE802)
        || arp.get_protocol_type() != EtherTypes::Ipv4
        || arp.get_hw_addr_len() != 6
        || arp.get_proto_addr_len() != 4
    {
        return None;
    }
    let operation = arp.get_operation();
    if operation != ArpOperations::Request && operation != ArpOperations::Reply {
        return None;
    }
    let sender_mac = arp.get_sender_hw_addr();
    let sender_ip = arp.get_sender_proto_addr();
    let target_ip = arp.get_target_proto_addr();
    let group_mac = sender_mac.0 & 1 == 1;
    if group_mac
        || sender_mac == MacAddr::zero()
        || sender_ip.is_multicast()
        || sender_ip.is_broadcast()
        || (sender_ip.is_unspecified() && operation != ArpOperations::Request)
        || target_ip.is_multicast()
        || target_ip.is_loopback()
    {
        return None;
    }
    let ArpOperation(operation) = operation;
    Some(Observed::Arp {
        operation,
        source_mac: ethernet.get_source(),
        sender_mac,
        sender_ip,
        target_mac: arp.get_target_hw_addr(),
        target_ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr(0x02, 0x00, 0x5e, 0x10, 0x20, 0x30);

    fn vip() -> Ipv4Addr {
        Ipv4Addr::new(198, 51, 100, 50)
    }

    #[test]
    fn request_form_golden_bytes() {
        let frame = announcement_frame(MAC, vip(), Form::Request);
        #[rustfmt::skip]
        let expected: [u8; FRAME_LEN] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination: broadcast
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // source: our MAC
            0x08, 0x06,                         // EtherType ARP
            0x00, 0x01,                         // hardware type Ethernet
            0x08, 0x00,                         // protocol type IPv4
            0x06, 0x04,                         // address lengths
            0x00, 0x01,                         // operation: request
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // sender MAC
            198, 51, 100, 50,                   // sender IP = VIP
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC: zero
            198, 51, 100, 50,                   // target IP = VIP
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn reply_form_golden_bytes() {
        let frame = announcement_frame(MAC, vip(), Form::Reply);
        #[rustfmt::skip]
        let expected: [u8; FRAME_LEN] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination: broadcast
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // source: our MAC
            0x08, 0x06,                         // EtherType ARP
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // Ethernet/IPv4, lengths 6 and 4
            0x00, 0x02,                         // operation: reply
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // sender MAC
            198, 51, 100, 50,                   // sender IP = VIP
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // target MAC = sender MAC
            198, 51, 100, 50,                   // target IP = VIP
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn parse_round_trips_and_recognises_an_announcement() {
        for form in [Form::Request, Form::Reply] {
            let observed = parse(&announcement_frame(MAC, vip(), form)).expect("ARP");
            assert!(observed.announces(vip().into()));
            match observed {
                Observed::Arp {
                    sender_mac,
                    operation,
                    ..
                } => {
                    assert_eq!(sender_mac, MAC);
                    assert_eq!(operation, if form == Form::Request { 1 } else { 2 });
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn probe_golden_bytes() {
        let frame = probe_frame(MAC, vip());
        #[rustfmt::skip]
        let expected: [u8; FRAME_LEN] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination: broadcast
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // source: our MAC
            0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // ARP, Ethernet/IPv4
            0x00, 0x01,                         // operation: request
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // sender MAC
            0, 0, 0, 0,                         // sender IP: 0.0.0.0 (a probe)
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC: zero
            198, 51, 100, 50,                   // target IP = the address probed
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn refresh_is_a_unicast_reply_to_one_neighbour() {
        let client = MacAddr(0x02, 0, 0, 0, 0, 0x99);
        let frame = refresh_frame(MAC, vip(), client, Ipv4Addr::new(198, 51, 100, 254));
        #[rustfmt::skip]
        let expected: [u8; FRAME_LEN] = [
            0x02, 0x00, 0x00, 0x00, 0x00, 0x99, // destination: the neighbour
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // source: our MAC
            0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // ARP, Ethernet/IPv4
            0x00, 0x02,                         // operation: reply
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // sender MAC
            198, 51, 100, 50,                   // sender IP = VIP
            0x02, 0x00, 0x00, 0x00, 0x00, 0x99, // target MAC: the neighbour
            198, 51, 100, 254,                  // target IP: the neighbour
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn truncated_frames_are_no_observation() {
        let frame = announcement_frame(MAC, vip(), Form::Request);
        for len in 0..FRAME_LEN {
            assert_eq!(parse(&frame[..len]), None, "length {len}");
        }
    }

    /// Offsets into an Ethernet ARP frame.
    const HARDWARE_TYPE: usize = 14;
    const PROTOCOL_TYPE: usize = 16;
    const HARDWARE_LEN: usize = 18;
    const PROTOCOL_LEN: usize = 19;
    const OPERATION: usize = 20;
    const SENDER_MAC: usize = 22;
    const SENDER_IP: usize = 28;
    const TARGET_IP: usize = 38;

    fn edited(edit: impl FnOnce(&mut [u8; FRAME_LEN])) -> [u8; FRAME_LEN] {
        let mut frame = announcement_frame(MAC, vip(), Form::Reply);
        edit(&mut frame);
        frame
    }

    fn set_ip(frame: &mut [u8], at: usize, ip: [u8; 4]) {
        frame[at..at + 4].copy_from_slice(&ip);
    }

    #[test]
    fn arp_the_kernel_would_drop_is_no_observation() {
        let cases: Vec<(&str, [u8; FRAME_LEN])> = vec![
            ("hardware length 8", edited(|f| f[HARDWARE_LEN] = 8)),
            ("protocol length 16", edited(|f| f[PROTOCOL_LEN] = 16)),
            ("hardware type 2", edited(|f| f[HARDWARE_TYPE + 1] = 2)),
            (
                "protocol IPv6",
                edited(|f| f[PROTOCOL_TYPE..PROTOCOL_TYPE + 2].copy_from_slice(&[0x86, 0xdd])),
            ),
            ("operation 3 (RARP)", edited(|f| f[OPERATION + 1] = 3)),
            ("operation 0", edited(|f| f[OPERATION + 1] = 0)),
            ("operation 257", edited(|f| f[OPERATION] = 1)),
            (
                "sender MAC broadcast",
                edited(|f| f[SENDER_MAC..SENDER_MAC + 6].fill(0xff)),
            ),
            (
                "sender MAC multicast",
                edited(|f| {
                    f[SENDER_MAC..SENDER_MAC + 6].copy_from_slice(&[0x01, 0, 0x5e, 0, 0, 1])
                }),
            ),
            (
                "sender MAC zero",
                edited(|f| f[SENDER_MAC..SENDER_MAC + 6].fill(0)),
            ),
            (
                "sender IP multicast",
                edited(|f| set_ip(f, SENDER_IP, [224, 0, 0, 1])),
            ),
            (
                "sender IP limited broadcast",
                edited(|f| set_ip(f, SENDER_IP, [255; 4])),
            ),
            (
                "a reply from 0.0.0.0",
                edited(|f| set_ip(f, SENDER_IP, [0; 4])),
            ),
            (
                "target IP multicast",
                edited(|f| set_ip(f, TARGET_IP, [239, 1, 2, 3])),
            ),
            (
                "target IP loopback",
                edited(|f| set_ip(f, TARGET_IP, [127, 0, 0, 1])),
            ),
            ("in-band 802.1Q tag", {
                let mut f = edited(|_| {});
                f[12..14].copy_from_slice(&[0x81, 0x00]);
                f
            }),
        ];
        for (why, frame) in cases {
            assert_eq!(parse(&frame), None, "{why}");
        }
    }

    #[test]
    fn valid_variants_of_arp_are_observed() {
        let padded = [&announcement_frame(MAC, vip(), Form::Reply)[..], &[0; 18]].concat();
        assert!(parse(&padded).is_some(), "padded to Ethernet's 60 bytes");
        // Linux takes hardware type 6 (IEEE 802) on Ethernet as well.
        assert!(parse(&edited(|f| f[HARDWARE_TYPE + 1] = 6)).is_some());
        assert!(
            parse(&probe_frame(MAC, vip())).is_some(),
            "a probe from 0.0.0.0"
        );
        let other_target = edited(|f| set_ip(f, TARGET_IP, [198, 51, 100, 1]));
        assert!(parse(&other_target).is_some(), "an ordinary reply");
    }
}
