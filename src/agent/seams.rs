//! The seams between the agent's decisions and the kernel, narrow by concern: interfaces and
//! routes, addresses, frames on the wire, this resource's resident process, its record, and
//! time. `host::SystemHost` implements them for real; the unit tests use a fake that records
//! every effect in order.

use crate::error::Result;
use crate::packet::MacAddr;
use crate::params::Lifetime;
use crate::resident::Plan;
use crate::resolve::Route;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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

/// Interfaces and routes.
pub trait Links {
    fn link_by_name(&mut self, name: &str) -> Result<Option<Link>>;
    fn link_by_index(&mut self, index: u32) -> Result<Option<Link>>;
    /// Routes of the main table in the address family of `ip`.
    fn routes(&mut self, ip: IpAddr) -> Result<Vec<Route>>;
    /// The macvlan `name` on `lower` with `mac`, created (up) if missing; true when this call
    /// created it (so a failed start removes only what it made).
    fn ensure_virtual_interface(
        &mut self,
        lower: &Link,
        name: &str,
        mac: MacAddr,
    ) -> Result<(Link, bool)>;
    /// Removes the macvlan `name` if it is ours (has `mac`); a missing one is fine.
    fn delete_virtual_interface(&mut self, name: &str, mac: MacAddr) -> Result<()>;
    /// Makes an interface speak ARP only for its own addresses (see host::system::isolate_arp).
    fn isolate_arp(&mut self, link: &Link) -> Result<()>;
    /// Makes routes through `link` unused while it has no carrier, for `ip`'s family (see
    /// host::system::ignore_routes_when_link_down).
    fn ignore_routes_when_link_down(&mut self, link: &Link, ip: IpAddr) -> Result<()>;
}

/// The floating address on interfaces.
pub trait Addresses {
    /// The address on this interface only (the cost must not grow with other interfaces).
    fn address(&mut self, ifindex: u32, ip: IpAddr) -> Result<Option<Assigned>>;
    /// Every interface of this namespace that holds `ip` (start's conflict check, stop's last
    /// look: rare paths, so a dump is fine).
    fn holders(&mut self, ip: IpAddr) -> Result<Vec<(u32, Assigned)>>;
    fn add_address(&mut self, request: &AddressRequest) -> Result<()>;
    fn delete_address(&mut self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Result<()>;
    /// The address label of exactly `ip`/128 on every interface (`ip addrlabel`), if any.
    fn address_label(&mut self, ip: Ipv6Addr) -> Result<Option<u32>>;
    fn add_address_label(&mut self, ip: Ipv6Addr, label: u32) -> Result<()>;
    /// Removes the label of `ip`/128; one already gone is not an error.
    fn delete_address_label(&mut self, ip: Ipv6Addr, label: u32) -> Result<()>;
}

/// Frames on the segment.
pub trait Wire {
    /// Sends one announcement round for `ip` from `link`.
    fn announce(&mut self, link: &Link, ip: IpAddr) -> Result<()>;
    /// Sends a refresh round: the announcement round plus a unicast answer to every neighbour
    /// this node knows on the link.
    fn refresh(&mut self, link: &Link, ip: IpAddr) -> Result<()>;
    /// Sends duplicate-address probes for `ip` and listens for `wait`: the MAC of another
    /// machine that claims it, if any. Failing to send is an error, not "nobody answered".
    fn probe(&mut self, link: &Link, ip: IpAddr, wait: Duration) -> Result<Option<MacAddr>>;
}

/// This resource's resident process (see `resident`).
pub trait Processes {
    /// Starts the resident process with `plan`, ending any other of this resource first; it
    /// is recorded before it may act.
    fn start_resident(&mut self, plan: &Plan) -> Result<()>;
    /// Hands the running resident process a new plan; Ok(false) when none runs.
    fn update_resident(&mut self, plan: &Plan) -> Result<bool>;
    /// Whether this resource's resident process is alive.
    fn resident_running(&mut self) -> bool;
    /// Ends every resident process of this resource, recorded or not, wherever it runs, and
    /// waits (at most `patience`) until none can send; an error when one may still send.
    fn end_residents(&mut self, patience: Duration) -> Result<()>;
}

/// Where start put the address, for later operations.
pub trait Records {
    fn record(&mut self, record: &Record) -> Result<()>;
    fn recorded(&mut self) -> Option<Record>;
    fn forget(&mut self) -> Result<()>;
}

/// Time, so that every wait is bounded by the operation's deadline and tests run instantly.
pub trait Clock {
    /// Time since the operation began (monotonic).
    fn now(&mut self) -> Duration;
    fn sleep(&mut self, duration: Duration);
}

/// Everything an operation may use.
pub trait Host: Links + Addresses + Wire + Processes + Records + Clock {}

impl<T: Links + Addresses + Wire + Processes + Records + Clock> Host for T {}
