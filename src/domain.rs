//! What the agent, the resident and the host all speak of, below all three: an interface,
//! an address found on one or to be added, and the record start leaves for later operations.

use crate::packet::MacAddr;
use crate::params::Lifetime;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// An interface as the agent needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mac: Option<MacAddr>,
    /// IFF_UP: administratively up.
    pub up: bool,
    /// IFF_LOWER_UP: the cable (or veth peer) is there.
    pub carrier: bool,
    /// Ethernet without IFF_NOARP: announcements make sense.
    pub announces: bool,
    /// How the interface reaches its neighbours, which decides whether and how the address
    /// can be announced.
    pub layer: LinkLayer,
}

/// The kind of link, as far as announcing an address goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkLayer {
    /// Ethernet-like (ARPHRD_ETHER): gratuitous ARP and unsolicited NA, unless IFF_NOARP.
    Ethernet,
    /// Point-to-point and layer-3 devices (tun, WireGuard, IP tunnels, PPP, loopback): no
    /// link-layer addresses, so there is nothing to announce.
    Layer3,
    /// IPoIB (ARPHRD_INFINIBAND): ARP with 20-byte hardware addresses, which floatip cannot
    /// send (IPaddr2 uses ipoibarping).
    Infiniband,
    /// Any other hardware type (ARPHRD number): ARP in a format floatip does not send.
    Other(u16),
}

impl Link {
    /// Up with carrier: frames sent on it reach the segment.
    pub fn usable(&self) -> bool {
        self.up && self.carrier
    }
}

/// One address found on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub prefix_len: u8,
    pub tentative: bool,
    pub dadfailed: bool,
    /// Time since the kernel last updated the address (IFA_CACHEINFO), when known.
    pub age: Option<Duration>,
}

/// Everything needed to add the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRequest {
    pub ifindex: u32,
    pub ip: IpAddr,
    pub prefix_len: u8,
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    pub nodad: bool,
    pub noprefixroute: bool,
    pub preferred_lft: Lifetime,
    /// The metric of the address's prefix route (IFA_RT_PRIORITY); None is the kernel's
    /// default.
    pub route_metric: Option<u32>,
}

/// What start recorded, so stop and monitor find the address when the route that placed it
/// is gone (e.g. noprefixroute and the base address removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub ip: IpAddr,
    pub nic: String,
    pub prefix_len: u8,
    /// The interfaces, by index, that start put it on and that standby adapters may move it
    /// to: a renamed interface keeps its index, so the address is found under a new name.
    pub adapters: Vec<u32>,
}
