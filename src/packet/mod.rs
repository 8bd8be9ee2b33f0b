//! Announcement frames (pure): gratuitous ARP for IPv4 (RFC 5227 § 3, RFC 826) and unsolicited
//! Neighbor Advertisements for IPv6 (RFC 4861 § 7.2.6), built and parsed with pnet's packet
//! types over fixed byte buffers. Parsing yields only frames the kernel would accept (RFC 826
//! and RFC 4861 § 7.1 as net/ipv4/arp.c and net/ipv6/ndisc.c apply them), so that a conflict
//! is reported only when it is real.

pub mod arp;
pub mod bpf;
pub mod ndp;
pub mod segment;

pub use pnet_base::MacAddr;

pub const ETHERNET_HEADER_LEN: usize = 14;
pub const BROADCAST_MAC: MacAddr = MacAddr(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What one received frame says about who owns an address: enough for tests, the observer and
/// conflict detection, and nothing that needs state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    Arp {
        operation: u16,
        source_mac: MacAddr,
        sender_mac: MacAddr,
        sender_ip: Ipv4Addr,
        target_mac: MacAddr,
        target_ip: Ipv4Addr,
    },
    NeighborAdvert {
        source_mac: MacAddr,
        source_ip: Ipv6Addr,
        destination_ip: Ipv6Addr,
        target: Ipv6Addr,
        router: bool,
        solicited: bool,
        override_flag: bool,
        target_mac: Option<MacAddr>,
    },
    NeighborSolicit {
        source_mac: MacAddr,
        source_ip: Ipv6Addr,
        target: Ipv6Addr,
    },
}

impl Observed {
    /// True when this frame announces `ip` unsolicited: an ARP frame whose sender and target
    /// IP are both `ip`, or an NA for `ip` with Solicited clear.
    pub fn announces(&self, ip: IpAddr) -> bool {
        match (*self, ip) {
            (
                Observed::Arp {
                    sender_ip,
                    target_ip,
                    ..
                },
                IpAddr::V4(ip),
            ) => sender_ip == ip && target_ip == ip,
            (
                Observed::NeighborAdvert {
                    target, solicited, ..
                },
                IpAddr::V6(ip),
            ) => target == ip && !solicited,
            _ => false,
        }
    }
}

/// Another machine's claim on `ip` in this frame, if any, as its MAC. A claim is an ARP frame
/// with exactly `ip` as sender address, or an NA whose target is exactly `ip` (for the MAC in
/// its target link-layer option, else its source's), from a MAC that is not ours; while
/// probing (RFC 5227 § 2.1.1, RFC 4862 § 5.4.3), another host's probe for `ip` counts too. A
/// frame only asking for `ip`, or about any other address, claims nothing. The caller also
/// drops claims from this host's other interfaces (host::port).
pub fn claimant(observed: &Observed, ip: IpAddr, ours: MacAddr, probing: bool) -> Option<MacAddr> {
    let mac = match (*observed, ip) {
        (
            Observed::Arp {
                sender_ip,
                sender_mac,
                ..
            },
            IpAddr::V4(ip),
        ) if sender_ip == ip => sender_mac,
        (
            Observed::Arp {
                operation: 1,
                sender_ip,
                target_ip,
                sender_mac,
                ..
            },
            IpAddr::V4(ip),
        ) if probing && sender_ip.is_unspecified() && target_ip == ip => sender_mac,
        (
            Observed::NeighborAdvert {
                target,
                target_mac,
                source_mac,
                ..
            },
            IpAddr::V6(ip),
        ) if target == ip => target_mac.unwrap_or(source_mac),
        (
            Observed::NeighborSolicit {
                source_ip,
                target,
                source_mac,
            },
            IpAddr::V6(ip),
        ) if probing && source_ip.is_unspecified() && target == ip => source_mac,
        _ => return None,
    };
    (mac != ours).then_some(mac)
}

/// Parses an Ethernet frame into an ARP or neighbour-discovery observation, or None for
/// anything else: truncated or malformed frames (never a panic), and frames the Linux kernel
/// would drop (see `arp::parse` and `ndp::parse`), so that whatever is observed is a frame a
/// neighbour's kernel would act on. A frame still carrying an 802.1Q or 802.1ad header
/// belongs to a VLAN (the kernel takes the outer tag off before a packet socket sees the
/// frame, see host::port), so its EtherType is neither ARP nor IPv6 and it is None too.
pub fn parse_frame(frame: &[u8]) -> Option<Observed> {
    arp::parse(frame).or_else(|| ndp::parse(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: MacAddr = MacAddr(2, 0, 0, 0, 0, 1);
    const THEIRS: MacAddr = MacAddr(2, 0, 0, 0, 0, 2);

    #[test]
    fn another_macs_announcement_or_answer_is_a_claim() {
        let vip4: Ipv4Addr = "198.51.100.50".parse().unwrap();
        let vip6: Ipv6Addr = "2001:db8:100::50".parse().unwrap();
        for frame in [
            arp::announcement_frame(THEIRS, vip4, arp::Form::Reply).to_vec(),
            arp::announcement_frame(THEIRS, vip4, arp::Form::Request).to_vec(),
        ] {
            let seen = parse_frame(&frame).unwrap();
            assert_eq!(claimant(&seen, vip4.into(), OURS, false), Some(THEIRS));
            assert_eq!(
                claimant(&seen, vip4.into(), THEIRS, false),
                None,
                "our own frame"
            );
            assert_eq!(
                claimant(&seen, "198.51.100.51".parse().unwrap(), OURS, false),
                None
            );
        }
        let na = parse_frame(&ndp::advertisement_frame(THEIRS, vip6, false)).unwrap();
        assert_eq!(claimant(&na, vip6.into(), OURS, false), Some(THEIRS));
    }

    #[test]
    fn another_hosts_probe_is_a_claim_only_while_probing() {
        let vip4: Ipv4Addr = "198.51.100.50".parse().unwrap();
        let vip6: Ipv6Addr = "2001:db8:100::50".parse().unwrap();
        let probe4 = parse_frame(&arp::probe_frame(THEIRS, vip4)).unwrap();
        assert_eq!(claimant(&probe4, vip4.into(), OURS, true), Some(THEIRS));
        assert_eq!(claimant(&probe4, vip4.into(), OURS, false), None);
        let probe6 = parse_frame(&ndp::probe_frame(THEIRS, vip6)).unwrap();
        assert_eq!(claimant(&probe6, vip6.into(), OURS, true), Some(THEIRS));
        assert_eq!(claimant(&probe6, vip6.into(), OURS, false), None);
    }

    #[test]
    fn garbage_is_not_an_announcement() {
        for ethertype in [[0x08, 0x06], [0x86, 0xdd], [0x81, 0x00], [0xc1, 0xe6]] {
            for len in 0..120 {
                let mut frame: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
                if len >= ETHERNET_HEADER_LEN {
                    frame[12..14].copy_from_slice(&ethertype);
                }
                assert_eq!(parse_frame(&frame), None, "{ethertype:x?}, {len} bytes");
            }
        }
    }

    fn vip4() -> Ipv4Addr {
        "198.51.100.50".parse().unwrap()
    }

    fn vip6() -> Ipv6Addr {
        "2001:db8:100::50".parse().unwrap()
    }

    fn claim(frame: &[u8], ip: IpAddr, probing: bool) -> Option<MacAddr> {
        claimant(
            &parse_frame(frame).expect("a valid frame"),
            ip,
            OURS,
            probing,
        )
    }

    #[test]
    fn only_frames_about_exactly_our_address_are_claims() {
        let other4: Ipv4Addr = "198.51.100.51".parse().unwrap();
        let other6: Ipv6Addr = "2001:db8:100::51".parse().unwrap();
        for probing in [false, true] {
            let na = ndp::advertisement_frame(THEIRS, other6, false);
            assert_eq!(
                claim(&na, vip6().into(), probing),
                None,
                "NA for another target"
            );
            let ns = ndp::probe_frame(THEIRS, other6);
            assert_eq!(
                claim(&ns, vip6().into(), probing),
                None,
                "probe for another address"
            );
            let arp_probe = arp::probe_frame(THEIRS, other4);
            assert_eq!(claim(&arp_probe, vip4().into(), probing), None);
            // A frame merely addressed to our address claims nothing.
            let question = arp::refresh_frame(THEIRS, other4, OURS, vip4());
            assert_eq!(claim(&question, vip4().into(), probing), None);
            // An ordinary solicitation for our address, from a real address.
            let mut resolution = ndp::probe_frame(THEIRS, vip6()).to_vec();
            resolution[22..38].copy_from_slice(&other6.octets());
            let resolution = resum(resolution);
            assert_eq!(claim(&resolution, vip6().into(), probing), None);
            // The other family's frame never claims.
            let arp = arp::announcement_frame(THEIRS, vip4(), arp::Form::Reply);
            assert_eq!(claim(&arp, vip6().into(), probing), None);
            assert_eq!(claim(&na, vip4().into(), probing), None);
        }
        // Another host answering from our address, to anyone, claims it.
        let answer = arp::refresh_frame(THEIRS, vip4(), OURS, other4);
        assert_eq!(claim(&answer, vip4().into(), false), Some(THEIRS));
    }

    /// Recomputes an NDP frame's checksum after an edit.
    fn resum(mut frame: Vec<u8>) -> Vec<u8> {
        let icmp = ETHERNET_HEADER_LEN + ndp::IPV6_HEADER_LEN;
        let address =
            |at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&frame[at..at + 16]).unwrap());
        let (from, to) = (address(22), address(38));
        frame[icmp + 2..icmp + 4].fill(0);
        let packet = pnet_packet::icmpv6::Icmpv6Packet::new(&frame[icmp..]).unwrap();
        let sum = pnet_packet::icmpv6::checksum(&packet, &from, &to);
        frame[icmp + 2..icmp + 4].copy_from_slice(&sum.to_be_bytes());
        frame
    }

    #[test]
    fn an_na_claims_for_its_target_link_layer_address() {
        // Without the option, the frame's source speaks for itself.
        let mut bare = ndp::advertisement_frame(THEIRS, vip6(), false)[..78].to_vec();
        bare[18..20].copy_from_slice(&24u16.to_be_bytes());
        let bare = resum(bare);
        assert_eq!(claim(&bare, vip6().into(), false), Some(THEIRS));
        // An NA sent by another box saying the address is at our MAC is no conflict.
        let mut for_us = ndp::advertisement_frame(OURS, vip6(), false);
        for_us[6..12].copy_from_slice(&THEIRS.octets());
        assert_eq!(claim(&for_us, vip6().into(), false), None);
        let mut for_them = ndp::advertisement_frame(THEIRS, vip6(), false);
        for_them[6..12].copy_from_slice(&OURS.octets());
        assert_eq!(claim(&for_them, vip6().into(), false), Some(THEIRS));
    }

    #[test]
    fn a_vlan_tagged_frame_is_not_ours() {
        let frame = arp::announcement_frame(THEIRS, vip4(), arp::Form::Reply);
        for tpid in [[0x81, 0x00], [0x88, 0xa8]] {
            // Tag 42 inserted after the addresses, as a trunk carries it.
            let tagged = [&frame[..12], &tpid, &[0x00, 0x2a], &frame[12..]].concat();
            assert_eq!(parse_frame(&tagged), None, "{tpid:x?}");
        }
        let na = ndp::advertisement_frame(THEIRS, vip6(), false);
        let tagged = [&na[..12], &[0x81, 0x00, 0x00, 0x2a], &na[12..]].concat();
        assert_eq!(parse_frame(&tagged), None);
    }

    #[test]
    fn an_announcement_names_the_address_as_sender_and_target() {
        let announcement =
            parse_frame(&arp::announcement_frame(THEIRS, vip4(), arp::Form::Request)).unwrap();
        assert!(announcement.announces(vip4().into()));
        assert!(!announcement.announces("198.51.100.51".parse().unwrap()));
        assert!(!announcement.announces(vip6().into()));
        let answer = arp::refresh_frame(THEIRS, vip4(), OURS, "198.51.100.1".parse().unwrap());
        assert!(!parse_frame(&answer).unwrap().announces(vip4().into()));
        let question = arp::refresh_frame(THEIRS, "198.51.100.1".parse().unwrap(), OURS, vip4());
        assert!(!parse_frame(&question).unwrap().announces(vip4().into()));
        let na = parse_frame(&ndp::advertisement_frame(THEIRS, vip6(), false)).unwrap();
        assert!(na.announces(vip6().into()));
        assert!(!na.announces("2001:db8:100::51".parse().unwrap()));
        assert!(!na.announces(vip4().into()));
        let client: Ipv6Addr = "2001:db8:100::254".parse().unwrap();
        let solicited = ndp::refresh_frame(THEIRS, vip6(), false, OURS, client);
        assert!(!parse_frame(&solicited).unwrap().announces(vip6().into()));
        let probe = parse_frame(&ndp::probe_frame(THEIRS, vip6())).unwrap();
        assert!(!probe.announces(vip6().into()));
    }
}
