//! Unsolicited Neighbor Advertisement (RFC 4861 § 7.2.6): to all-nodes ff02::1, hop limit 255
//! (§ 7.1.2 drops anything else), Override set so caches take the new link-layer address,
//! Solicited clear, Router set when the interface forwards, and the Target Link-Layer Address
//! option (§ 4.6.1) carrying our MAC.

use super::{MacAddr, Observed, ETHERNET_HEADER_LEN};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, MutableNeighborSolicitPacket, NdpOption, NdpOptionTypes,
    NeighborAdvertFlags, NeighborAdvertPacket, NeighborSolicitPacket,
};
use pnet_packet::icmpv6::{self, Icmpv6Code, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::{Ipv6Packet, MutableIpv6Packet};
use pnet_packet::Packet;
use std::net::Ipv6Addr;

pub const IPV6_HEADER_LEN: usize = 40;
/// NA header (type, code, checksum, flags+reserved, target) is 24 bytes; the TLLA option 8.
pub const NA_LEN: usize = 24 + 8;
pub const FRAME_LEN: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + NA_LEN;
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// 33:33 followed by the low 32 bits of ff02::1 (RFC 2464 § 7).
pub const ALL_NODES_MAC: MacAddr = MacAddr(0x33, 0x33, 0, 0, 0, 1);
pub const HOP_LIMIT: u8 = 255;

/// Builds one unsolicited NA for `ip`, sent from `ip` itself.
pub fn advertisement_frame(mac: MacAddr, ip: Ipv6Addr, router: bool) -> [u8; FRAME_LEN] {
    let mut flags = NeighborAdvertFlags::Override;
    if router {
        flags |= NeighborAdvertFlags::Router;
    }
    na_frame(mac, ip, ALL_NODES_MAC, ALL_NODES, flags)
}

/// Builds a solicited-form NA to one neighbour. Linux marks an entry REACHABLE on a solicited
/// NA (RFC 4861 § 7.2.5), so sent often enough it keeps the neighbour from ever probing.
pub fn refresh_frame(
    mac: MacAddr,
    ip: Ipv6Addr,
    router: bool,
    to_mac: MacAddr,
    to_ip: Ipv6Addr,
) -> [u8; FRAME_LEN] {
    let mut flags = NeighborAdvertFlags::Override | NeighborAdvertFlags::Solicited;
    if router {
        flags |= NeighborAdvertFlags::Router;
    }
    na_frame(mac, ip, to_mac, to_ip, flags)
}

fn na_frame(
    mac: MacAddr,
    ip: Ipv6Addr,
    to_mac: MacAddr,
    to_ip: Ipv6Addr,
    flags: u8,
) -> [u8; FRAME_LEN] {
    let mut buffer = [0u8; FRAME_LEN];
    write_headers(&mut buffer, mac, to_mac, ip, to_ip, NA_LEN);
    let icmp_start = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;
    {
        let mut na =
            MutableNeighborAdvertPacket::new(&mut buffer[icmp_start..]).expect("buffer fits an NA");
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_icmpv6_code(Icmpv6Code(0));
        na.set_flags(flags);
        na.set_target_addr(ip);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: mac.octets().to_vec(),
        }]);
    }
    finish_checksum(&mut buffer, ip, to_ip);
    buffer
}

pub const PROBE_LEN: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + 24;

/// Builds a duplicate-address probe (RFC 4862 § 5.4.2): an NS for `ip` from the unspecified
/// address to its solicited-node group, without a source link-layer option (§ 5.4.3 forbids
/// one with ::). Whoever holds `ip` defends it with an NA to ff02::1.
pub fn probe_frame(mac: MacAddr, ip: Ipv6Addr) -> [u8; PROBE_LEN] {
    let mut buffer = [0u8; PROBE_LEN];
    let group = solicited_node(ip);
    let o = group.octets();
    let group_mac = MacAddr(0x33, 0x33, o[12], o[13], o[14], o[15]);
    write_headers(
        &mut buffer,
        mac,
        group_mac,
        Ipv6Addr::UNSPECIFIED,
        group,
        24,
    );
    let icmp_start = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;
    {
        let mut ns = MutableNeighborSolicitPacket::new(&mut buffer[icmp_start..])
            .expect("buffer fits an NS");
        ns.set_icmpv6_type(Icmpv6Types::NeighborSolicit);
        ns.set_icmpv6_code(Icmpv6Code(0));
        ns.set_target_addr(ip);
    }
    finish_checksum(&mut buffer, Ipv6Addr::UNSPECIFIED, group);
    buffer
}

/// ff02::1:ffXX:XXXX, the group a node holding `ip` listens on (RFC 4291 § 2.7.1).
pub fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

fn write_headers(
    buffer: &mut [u8],
    mac: MacAddr,
    to_mac: MacAddr,
    from: Ipv6Addr,
    to: Ipv6Addr,
    payload: usize,
) {
    {
        let mut ethernet = MutableEthernetPacket::new(buffer).expect("buffer fits Ethernet");
        ethernet.set_destination(to_mac);
        ethernet.set_source(mac);
        ethernet.set_ethertype(EtherTypes::Ipv6);
    }
    let mut ipv6 =
        MutableIpv6Packet::new(&mut buffer[ETHERNET_HEADER_LEN..]).expect("buffer fits IPv6");
    ipv6.set_version(6);
    ipv6.set_payload_length(payload as u16);
    ipv6.set_next_header(IpNextHeaderProtocols::Icmpv6);
    ipv6.set_hop_limit(HOP_LIMIT);
    ipv6.set_source(from);
    ipv6.set_destination(to);
}

/// The checksum covers the pseudo-header, so it is computed last over the finished message.
fn finish_checksum(buffer: &mut [u8], from: Ipv6Addr, to: Ipv6Addr) {
    let icmp_start = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;
    let checksum = {
        let icmp = Icmpv6Packet::new(&buffer[icmp_start..]).expect("ICMPv6 view");
        icmpv6::checksum(&icmp, &from, &to)
    };
    buffer[icmp_start + 2..icmp_start + 4].copy_from_slice(&checksum.to_be_bytes());
}

/// Parses an Ethernet/IPv6 Neighbor Advertisement or Solicitation without extension headers.
pub fn parse(frame: &[u8]) -> Option<Observed> {
    let ethernet = EthernetPacket::new(frame)?;
    if ethernet.get_ethertype() != EtherTypes::Ipv6 {
        return None;
    }
    let ipv6 = Ipv6Packet::new(ethernet.payload())?;
    if ipv6.get_version() != 6 || ipv6.get_next_header() != IpNextHeaderProtocols::Icmpv6 {
        return None;
    }
    let payload_len = usize::from(ipv6.get_payload_length());
    let icmp_bytes = ethernet
        .payload()
        .get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)?;
    let icmp = Icmpv6Packet::new(icmp_bytes)?;
    let source_mac = ethernet.get_source();
    match icmp.get_icmpv6_type() {
        Icmpv6Types::NeighborAdvert => {
            let na = NeighborAdvertPacket::new(icmp_bytes)?;
            let flags = na.get_flags();
            Some(Observed::NeighborAdvert {
                source_mac,
                source_ip: ipv6.get_source(),
                destination_ip: ipv6.get_destination(),
                hop_limit: ipv6.get_hop_limit(),
                target: na.get_target_addr(),
                router: flags & NeighborAdvertFlags::Router != 0,
                solicited: flags & NeighborAdvertFlags::Solicited != 0,
                override_flag: flags & NeighborAdvertFlags::Override != 0,
                target_mac: link_layer_option(&icmp_bytes[24..], NdpOptionTypes::TargetLLAddr.0),
            })
        }
        Icmpv6Types::NeighborSolicit => {
            let ns = NeighborSolicitPacket::new(icmp_bytes)?;
            Some(Observed::NeighborSolicit {
                source_mac,
                source_ip: ipv6.get_source(),
                target: ns.get_target_addr(),
            })
        }
        _ => None,
    }
}

/// Walks NDP options (type, length in 8-byte units, data) for a link-layer address option.
/// A zero length is invalid (§ 4.6) and ends the walk, so a crafted frame cannot loop.
fn link_layer_option(mut options: &[u8], wanted: u8) -> Option<MacAddr> {
    while options.len() >= 2 {
        let len = usize::from(options[1]) * 8;
        if len == 0 || len > options.len() {
            return None;
        }
        if options[0] == wanted && len >= 8 {
            let m = &options[2..8];
            return Some(MacAddr(m[0], m[1], m[2], m[3], m[4], m[5]));
        }
        options = &options[len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr(0x02, 0x00, 0x5e, 0x10, 0x20, 0x30);

    fn vip() -> Ipv6Addr {
        "2001:db8:100::50".parse().unwrap()
    }

    #[test]
    fn advertisement_golden_bytes() {
        let frame = advertisement_frame(MAC, vip(), false);
        #[rustfmt::skip]
        let expected: [u8; FRAME_LEN] = [
            0x33, 0x33, 0x00, 0x00, 0x00, 0x01, // destination: all-nodes multicast MAC
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // source: our MAC
            0x86, 0xdd,                         // EtherType IPv6
            0x60, 0x00, 0x00, 0x00,             // version 6, class 0, flow 0
            0x00, 0x20,                         // payload length 32
            0x3a,                               // next header ICMPv6
            0xff,                               // hop limit 255
            0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x50, // source = VIP
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01,             // ff02::1
            0x88,                               // type 136: neighbor advertisement
            0x00,                               // code 0
            0x78, 0x4d,                         // checksum (computed independently)
            0x20, 0x00, 0x00, 0x00,             // flags: Override only
            0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x50, // target = VIP
            0x02, 0x01,                         // option: target link-layer address, 8 bytes
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // our MAC
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn probe_golden_bytes() {
        let frame = probe_frame(MAC, vip());
        #[rustfmt::skip]
        let expected: [u8; PROBE_LEN] = [
            0x33, 0x33, 0xff, 0x00, 0x00, 0x50, // destination: solicited-node group MAC
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, // source: our MAC
            0x86, 0xdd,                         // EtherType IPv6
            0x60, 0x00, 0x00, 0x00, 0x00, 0x18, // version 6, payload length 24
            0x3a, 0xff,                         // ICMPv6, hop limit 255
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // source: ::
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x00, 0x50, // ff02::1:ff00:50
            0x87, 0x00,                         // type 135 neighbor solicitation, code 0
            0x4b, 0x4f,                         // checksum (computed independently)
            0x00, 0x00, 0x00, 0x00,             // reserved
            0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x50, // target
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn refresh_is_a_solicited_na_to_one_neighbour() {
        let client_mac = MacAddr(0x02, 0, 0, 0, 0, 0x99);
        let client: Ipv6Addr = "2001:db8:100::254".parse().unwrap();
        match parse(&refresh_frame(MAC, vip(), false, client_mac, client)).expect("NA") {
            Observed::NeighborAdvert {
                destination_ip,
                solicited,
                override_flag,
                target,
                target_mac,
                ..
            } => {
                assert_eq!(destination_ip, client);
                assert!(solicited && override_flag);
                assert_eq!(target, vip());
                assert_eq!(target_mac, Some(MAC));
            }
            other => panic!("{other:?}"),
        }
        let frame = refresh_frame(MAC, vip(), false, client_mac, client);
        assert_eq!(&frame[..6], &[0x02, 0, 0, 0, 0, 0x99]);
    }

    #[test]
    fn router_flag_follows_forwarding() {
        let frame = advertisement_frame(MAC, vip(), true);
        assert_eq!(frame[ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + 4], 0xa0);
    }

    #[test]
    fn checksum_verifies() {
        let frame = advertisement_frame(MAC, vip(), true);
        let icmp = Icmpv6Packet::new(&frame[ETHERNET_HEADER_LEN + IPV6_HEADER_LEN..]).unwrap();
        assert_eq!(
            icmp.get_checksum(),
            icmpv6::checksum(&icmp, &vip(), &ALL_NODES)
        );
    }

    #[test]
    fn parse_round_trips() {
        let observed = parse(&advertisement_frame(MAC, vip(), false)).expect("NA");
        assert!(observed.announces(vip().into()));
        assert_eq!(
            observed,
            Observed::NeighborAdvert {
                source_mac: MAC,
                source_ip: vip(),
                destination_ip: ALL_NODES,
                hop_limit: 255,
                target: vip(),
                router: false,
                solicited: false,
                override_flag: true,
                target_mac: Some(MAC),
            }
        );
    }

    #[test]
    fn truncated_frames_and_zero_length_options_are_rejected_safely() {
        let frame = advertisement_frame(MAC, vip(), false);
        for len in 0..FRAME_LEN {
            let _ = parse(&frame[..len]);
        }
        let mut zero_len_option = frame;
        zero_len_option[FRAME_LEN - 7] = 0;
        match parse(&zero_len_option) {
            Some(Observed::NeighborAdvert { target_mac, .. }) => assert_eq!(target_mac, None),
            other => panic!("{other:?}"),
        }
    }
}
