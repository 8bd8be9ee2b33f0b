//! Unsolicited Neighbor Advertisement (RFC 4861 § 7.2.6): to all-nodes ff02::1, hop limit 255
//! (§ 7.1.2 drops anything else), Override set so caches take the new link-layer address,
//! Solicited clear, Router set when the interface forwards, and the Target Link-Layer Address
//! option (§ 4.6.1) carrying our MAC.

use super::{MacAddr, Observed, ETHERNET_HEADER_LEN};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, MutableNeighborSolicitPacket, NdpOption, NdpOptionType,
    NdpOptionTypes, NeighborAdvertFlags, NeighborAdvertPacket, NeighborSolicitPacket,
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

/// The fixed part of an NS or NA: type, code, checksum, reserved or flags, target (§ 4.3, § 4.4).
pub const ND_MESSAGE_LEN: usize = 24;

/// Parses an Ethernet/IPv6 Neighbor Advertisement or Solicitation (without extension headers)
/// that the Linux kernel would accept, or None.
///
/// RFC 4861 § 7.1.1 and § 7.1.2, as net/ipv6/ndisc.c applies them: hop limit 255 (a router
/// would have decremented it, so the sender is on this link: ndisc_rcv), ICMP code 0
/// (ndisc_rcv), a valid checksum over the pseudo-header (icmpv6_rcv), at least 24 bytes of ICMP
/// (ndisc_recv_ns/na), a target that is not multicast, options that each have a length > 0 and
/// fit (ndisc_parse_options) with a link-layer address option of exactly 8 bytes on Ethernet
/// (ndisc_opt_addr_data). An NA to a multicast destination must have Solicited clear; an NS from
/// :: (a duplicate-address probe) must go to a solicited-node group and carry no source
/// link-layer option. ipv6_rcv adds: the payload length fits the frame (bytes past it are
/// Ethernet padding), and the source is not multicast.
pub fn parse(frame: &[u8]) -> Option<Observed> {
    let ethernet = EthernetPacket::new(frame)?;
    if ethernet.get_ethertype() != EtherTypes::Ipv6 {
        return None;
    }
    let ipv6 = Ipv6Packet::new(ethernet.payload())?;
    if ipv6.get_version() != 6
        || ipv6.get_next_header() != IpNextHeaderProtocols::Icmpv6
        || ipv6.get_hop_limit() != HOP_LIMIT
    {
        return None;
    }
    let source_ip = ipv6.get_source();
    let destination_ip = ipv6.get_destination();
    if source_ip.is_multicast() {
        return None;
    }
    let payload_len = usize::from(ipv6.get_payload_length());
    let message = ethernet
        .payload()
        .get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)?;
    if message.len() < ND_MESSAGE_LEN {
        return None;
    }
    let icmp = Icmpv6Packet::new(message)?;
    let message_type = icmp.get_icmpv6_type();
    if (message_type != Icmpv6Types::NeighborAdvert && message_type != Icmpv6Types::NeighborSolicit)
        || icmp.get_icmpv6_code() != Icmpv6Code(0)
        || !checksum_verifies(message, source_ip, destination_ip)
    {
        return None;
    }
    let options = link_layer_options(&message[ND_MESSAGE_LEN..])?;
    let source_mac = ethernet.get_source();
    if message_type == Icmpv6Types::NeighborAdvert {
        let na = NeighborAdvertPacket::new(message)?;
        let flags = na.get_flags();
        let solicited = flags & NeighborAdvertFlags::Solicited != 0;
        let target = na.get_target_addr();
        if target.is_multicast() || (solicited && destination_ip.is_multicast()) {
            return None;
        }
        let target_mac = match options.target {
            Some(option) => Some(link_layer_address(option)?),
            None => None,
        };
        Some(Observed::NeighborAdvert {
            source_mac,
            source_ip,
            destination_ip,
            target,
            router: flags & NeighborAdvertFlags::Router != 0,
            solicited,
            override_flag: flags & NeighborAdvertFlags::Override != 0,
            target_mac,
        })
    } else {
        let target = NeighborSolicitPacket::new(message)?.get_target_addr();
        let bad_probe = source_ip.is_unspecified()
            && (!is_solicited_node_group(destination_ip) || options.source.is_some());
        let bad_source_option = options
            .source
            .is_some_and(|option| link_layer_address(option).is_none());
        if target.is_multicast() || bad_probe || bad_source_option {
            return None;
        }
        Some(Observed::NeighborSolicit {
            source_mac,
            source_ip,
            target,
        })
    }
}

/// The sum over pseudo-header and message, checksum field included, is all ones exactly when
/// the checksum is right: what the kernel checks (so 0x0000 and 0xffff are both accepted where
/// either represents the sum).
fn checksum_verifies(message: &[u8], from: Ipv6Addr, to: Ipv6Addr) -> bool {
    // No word skipped: the index is past the end.
    pnet_packet::util::ipv6_checksum(
        message,
        usize::MAX,
        &[],
        &from,
        &to,
        IpNextHeaderProtocols::Icmpv6,
    ) == 0
}

/// ff02::1:ff00:0/104 (RFC 4291 § 2.7.1), as ipv6_addr_is_solict_mult tests it.
fn is_solicited_node_group(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    s[..6] == [0xff02, 0, 0, 0, 0, 1] && s[6] & 0xff00 == 0xff00
}

/// The first source and the first target link-layer address option of an ND message, each
/// whole (type, length, data): the kernel uses the first and ignores later duplicates.
#[derive(Debug, Default, PartialEq, Eq)]
struct LinkLayerOptions<'a> {
    source: Option<&'a [u8]>,
    target: Option<&'a [u8]>,
}

/// Walks NDP options (type, length in 8-byte units, data) as ndisc_parse_options does: None
/// when one has length 0 (§ 4.6; it would also never end) or runs past the end.
fn link_layer_options(mut options: &[u8]) -> Option<LinkLayerOptions<'_>> {
    let mut found = LinkLayerOptions::default();
    while !options.is_empty() {
        let len = usize::from(*options.get(1)?) * 8;
        if len == 0 || len > options.len() {
            return None;
        }
        let (option, rest) = options.split_at(len);
        match NdpOptionType(option[0]) {
            NdpOptionTypes::SourceLLAddr => found.source = found.source.or(Some(option)),
            NdpOptionTypes::TargetLLAddr => found.target = found.target.or(Some(option)),
            _ => {}
        }
        options = rest;
    }
    Some(found)
}

/// The MAC in a link-layer address option, or None when the option is not exactly 8 bytes
/// (on Ethernet: type, length, 6 bytes; ndisc_opt_addr_data drops any other size).
fn link_layer_address(option: &[u8]) -> Option<MacAddr> {
    match *option {
        [_, 1, a, b, c, d, e, f] => Some(MacAddr(a, b, c, d, e, f)),
        _ => None,
    }
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
        let flags = |frame: &[u8]| frame[ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + 4];
        assert_eq!(flags(&advertisement_frame(MAC, vip(), true)), 0xa0, "R-O");
        assert_eq!(flags(&advertisement_frame(MAC, vip(), false)), 0x20, "--O");
        let client: Ipv6Addr = "2001:db8:100::254".parse().unwrap();
        let refresh = |router| refresh_frame(MAC, vip(), router, MAC, client);
        assert_eq!(flags(&refresh(true)), 0xe0, "RSO");
        assert_eq!(flags(&refresh(false)), 0x60, "-SO");
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
                target: vip(),
                router: false,
                solicited: false,
                override_flag: true,
                target_mac: Some(MAC),
            }
        );
    }

    const ICMP: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;
    const OTHER: MacAddr = MacAddr(0x02, 0, 0, 0, 0, 0x77);

    fn address_at(frame: &[u8], at: usize) -> Ipv6Addr {
        Ipv6Addr::from(<[u8; 16]>::try_from(&frame[at..at + 16]).unwrap())
    }

    /// Sets the checksum right again after a test edited the frame, so that only the edit is
    /// wrong. Covers the message as the payload length says, or what there is of it.
    fn checksummed(mut frame: Vec<u8>) -> Vec<u8> {
        let len = usize::from(u16::from_be_bytes([frame[18], frame[19]]));
        let end = (ICMP + len).min(frame.len());
        frame[ICMP + 2..ICMP + 4].fill(0);
        let sum = icmpv6::checksum(
            &Icmpv6Packet::new(&frame[ICMP..end]).unwrap(),
            &address_at(&frame, 22),
            &address_at(&frame, 38),
        );
        frame[ICMP + 2..ICMP + 4].copy_from_slice(&sum.to_be_bytes());
        frame
    }

    fn edited(frame: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut frame = frame.to_vec();
        edit(&mut frame);
        checksummed(frame)
    }

    fn set_address(frame: &mut [u8], at: usize, ip: &str) {
        frame[at..at + 16].copy_from_slice(&ip.parse::<Ipv6Addr>().unwrap().octets());
    }

    /// Our unsolicited NA with `options` in place of its target link-layer option.
    fn na_with_options(options: &[u8]) -> Vec<u8> {
        let mut frame = advertisement_frame(MAC, vip(), false)[..ICMP + ND_MESSAGE_LEN].to_vec();
        frame.extend_from_slice(options);
        let len = (ND_MESSAGE_LEN + options.len()) as u16;
        frame[18..20].copy_from_slice(&len.to_be_bytes());
        checksummed(frame)
    }

    fn target_mac(frame: &[u8]) -> Option<Option<MacAddr>> {
        match parse(frame)? {
            Observed::NeighborAdvert { target_mac, .. } => Some(target_mac),
            other => panic!("not an NA: {other:?}"),
        }
    }

    fn option(kind: u8, mac: MacAddr) -> [u8; 8] {
        [kind, 1, mac.0, mac.1, mac.2, mac.3, mac.4, mac.5]
    }

    #[test]
    fn the_test_helpers_keep_a_valid_frame_valid() {
        let na = advertisement_frame(MAC, vip(), false);
        assert_eq!(checksummed(na.to_vec()), na.to_vec());
        assert_eq!(na_with_options(&option(2, MAC)), na.to_vec());
    }

    #[test]
    fn an_na_the_kernel_would_drop_is_no_observation() {
        let na = advertisement_frame(MAC, vip(), false);
        let mut bad_checksum = na;
        bad_checksum[ICMP + 3] ^= 1;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("hop limit 63: routed in", edited(&na, |f| f[21] = 63)),
            ("hop limit 254", edited(&na, |f| f[21] = 254)),
            ("ICMP code 1", edited(&na, |f| f[ICMP + 1] = 1)),
            ("bad checksum", bad_checksum.to_vec()),
            ("zero-length option", edited(&na, |f| f[ICMP + 25] = 0)),
            (
                "multicast target",
                edited(&na, |f| set_address(f, ICMP + 8, "ff02::1")),
            ),
            (
                "solicited NA to a multicast destination",
                edited(&na, |f| f[ICMP + 4] |= NeighborAdvertFlags::Solicited),
            ),
            (
                "multicast source",
                edited(&na, |f| set_address(f, 22, "ff02::2")),
            ),
            ("not IPv6 version 6", edited(&na, |f| f[14] = 0x40)),
            ("next header not ICMPv6", edited(&na, |f| f[20] = 17)),
            (
                "payload length past the frame",
                edited(&na, |f| f[18..20].copy_from_slice(&40u16.to_be_bytes())),
            ),
            (
                "ICMP shorter than 24 bytes",
                edited(&na, |f| {
                    f[18..20].copy_from_slice(&20u16.to_be_bytes());
                    f.truncate(ICMP + 20);
                }),
            ),
            (
                "not an NA or NS: echo request",
                edited(&na, |f| f[ICMP] = 128),
            ),
        ];
        for (why, frame) in cases {
            assert_eq!(parse(&frame), None, "{why}");
        }
    }

    #[test]
    fn na_options_must_be_well_formed() {
        let other = option(2, OTHER);
        let longer_target = [2, 2, 0x02, 0, 0, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0];
        for (why, options) in [
            ("zero-length option", vec![2, 0, 0x02, 0, 0, 0, 0, 0x77]),
            (
                "option running past the end",
                vec![2, 2, 0x02, 0, 0, 0, 0, 0x77],
            ),
            (
                "a single byte after the options",
                [&other[..], &[0]].concat(),
            ),
            ("16-byte target link-layer option", longer_target.to_vec()),
            (
                "unknown option running past the end",
                [&other[..], &[99, 3, 0, 0, 0, 0, 0, 0]].concat(),
            ),
        ] {
            assert_eq!(target_mac(&na_with_options(&options)), None, "{why}");
        }
        for (why, options, want) in [
            ("no options", vec![], None),
            (
                "an unknown option first",
                [&[99, 1, 0, 0, 0, 0, 0, 0][..], &other].concat(),
                Some(OTHER),
            ),
            (
                "the first of two target options",
                [option(2, OTHER), option(2, MAC)].concat(),
                Some(OTHER),
            ),
            (
                "a bad duplicate is ignored",
                [&other[..], &longer_target].concat(),
                Some(OTHER),
            ),
            (
                "a source option is not the target's",
                option(1, OTHER).to_vec(),
                None,
            ),
            (
                "an NA ignores its source option's size",
                [0x01, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0].to_vec(),
                None,
            ),
        ] {
            assert_eq!(target_mac(&na_with_options(&options)), Some(want), "{why}");
        }
    }

    #[test]
    fn valid_variants_of_an_na_are_observed() {
        let na = advertisement_frame(MAC, vip(), false);
        let padded = [&na[..], &[0; 8]].concat();
        assert!(
            parse(&padded).is_some(),
            "Ethernet padding after the message"
        );
        let unicast_solicited = edited(&na, |f| {
            set_address(f, 38, "2001:db8:100::254");
            f[ICMP + 4] |= NeighborAdvertFlags::Solicited;
        });
        assert!(
            parse(&unicast_solicited).is_some(),
            "a solicited NA to one host"
        );
        let link_local_target = edited(&na, |f| set_address(f, ICMP + 8, "fe80::1"));
        assert!(parse(&link_local_target).is_some());
        // Override clear: a host that does not want to replace a cached entry (§ 7.2.6).
        match parse(&edited(&na, |f| f[ICMP + 4] = 0)) {
            Some(Observed::NeighborAdvert {
                router,
                solicited,
                override_flag,
                ..
            }) => assert!(!router && !solicited && !override_flag),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_frames_are_no_observation() {
        let na = advertisement_frame(MAC, vip(), false);
        for len in 0..FRAME_LEN {
            assert_eq!(parse(&na[..len]), None, "NA cut to {len} bytes");
        }
        let probe = probe_frame(MAC, vip());
        for len in 0..PROBE_LEN {
            assert_eq!(parse(&probe[..len]), None, "probe cut to {len} bytes");
        }
    }

    #[test]
    fn a_probe_is_a_solicitation_from_nowhere_to_the_solicited_node_group() {
        let probe = probe_frame(MAC, vip());
        assert_eq!(
            parse(&probe),
            Some(Observed::NeighborSolicit {
                source_mac: MAC,
                source_ip: Ipv6Addr::UNSPECIFIED,
                target: vip(),
            })
        );
        let with_source_option = |f: &mut Vec<u8>| {
            f.extend_from_slice(&option(1, MAC));
            f[18..20].copy_from_slice(&32u16.to_be_bytes());
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "probe to all-nodes",
                edited(&probe, |f| set_address(f, 38, "ff02::1")),
            ),
            (
                "probe with a source link-layer option",
                edited(&probe, with_source_option),
            ),
            ("hop limit 63", edited(&probe, |f| f[21] = 63)),
            ("ICMP code 1", edited(&probe, |f| f[ICMP + 1] = 1)),
            (
                "multicast target",
                edited(&probe, |f| set_address(f, ICMP + 8, "ff02::1")),
            ),
            (
                "16-byte source link-layer option",
                edited(&probe, |f| {
                    set_address(f, 22, "2001:db8:100::254");
                    f.extend_from_slice(&[1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                    f[18..20].copy_from_slice(&40u16.to_be_bytes());
                }),
            ),
        ];
        for (why, frame) in cases {
            assert_eq!(parse(&frame), None, "{why}");
        }
        let mut bad_checksum = probe;
        bad_checksum[ICMP + 2] ^= 0x80;
        assert_eq!(parse(&bad_checksum), None, "bad checksum");
        // An address resolution from a real address may carry its MAC and go anywhere.
        let resolution = edited(&probe, |f| {
            set_address(f, 22, "2001:db8:100::254");
            with_source_option(f);
        });
        assert!(parse(&resolution).is_some());
        let unicast = edited(&probe, |f| {
            set_address(f, 22, "2001:db8:100::254");
            set_address(f, 38, "2001:db8:100::50");
        });
        assert!(parse(&unicast).is_some());
    }

    #[test]
    fn solicited_node_groups() {
        for (ip, group) in [
            ("ff02::1:ff00:50", true),
            ("ff02::1:ffab:cdef", true),
            ("ff02::1", false),
            ("ff02::1:fe00:50", false),
            ("ff02::2:ff00:50", false),
            ("ff05::1:ff00:50", false),
            ("ff02:0:0:1::1:ff00:50", false),
        ] {
            assert_eq!(is_solicited_node_group(ip.parse().unwrap()), group, "{ip}");
        }
        assert!(is_solicited_node_group(solicited_node(
            "2001:db8::12:3456".parse().unwrap()
        )));
    }
}
