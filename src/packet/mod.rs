//! Announcement frames (pure): gratuitous ARP for IPv4 (RFC 5227 § 3, RFC 826) and unsolicited
//! Neighbor Advertisements for IPv6 (RFC 4861 § 7.2.6), built and parsed with pnet's packet
//! types over fixed byte buffers.

pub mod arp;
pub mod ndp;

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

/// Parses an Ethernet frame into an ARP or neighbour-discovery observation, or None for
/// anything else (including truncated or malformed frames: never a panic).
pub fn parse_frame(frame: &[u8]) -> Option<Observed> {
    arp::parse(frame).or_else(|| ndp::parse(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_an_announcement() {
        for len in 0..120 {
            let frame: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let _ = parse_frame(&frame);
        }
        assert_eq!(parse_frame(&[]), None);
    }
}
