//! Announcement frames (pure): gratuitous ARP for IPv4 (RFC 5227 § 3, RFC 826) and unsolicited
//! Neighbor Advertisements for IPv6 (RFC 4861 § 7.2.6), built and parsed with pnet's packet
//! types over fixed byte buffers.

pub mod arp;
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
        hop_limit: u8,
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
/// with `ip` as sender address or an NA for `ip`, from a MAC that is not ours; while probing
/// (RFC 5227 § 2.1.1, RFC 4862 § 5.4.3), another host's probe for `ip` counts too.
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
/// anything else (including truncated or malformed frames: never a panic).
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
        for len in 0..120 {
            let frame: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let _ = parse_frame(&frame);
        }
        assert_eq!(parse_frame(&[]), None);
    }
}
