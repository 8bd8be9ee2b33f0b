//! The seams between the agent's decisions and the kernel, narrow by concern: interfaces and
//! routes, addresses, frames on the wire, this resource's resident process, its record, and
//! time. `host::SystemHost` implements them for real; the unit tests use a fake that records
//! every effect in order.

pub use crate::domain::{AddressRequest, Assigned, Link, LinkLayer, Record};
use crate::error::Result;
use crate::packet::MacAddr;
use crate::resident::Plan;
use crate::resolve::Route;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

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

/// The prefix routes addresses bring, by metric (`metric`, reload-agent, and what the
/// kernel leaves of an IPv6 address's route at stop).
pub trait PrefixRoutes {
    /// The priority (IFA_RT_PRIORITY) the address `ip` on `ifindex` gives its prefix route:
    /// 0 for the kernel's default; None when the address is not there.
    fn route_priority(&mut self, ifindex: u32, ip: IpAddr) -> Result<Option<u32>>;
    /// Changes the address `request` describes, which is on its interface, in place
    /// (RTM_NEWADDR with NLM_F_REPLACE): its prefix route takes `route_metric`, and the address
    /// is never removed.
    fn replace_address(&mut self, request: &AddressRequest) -> Result<()>;
    /// The priorities of the IPv6 addresses on `ifindex` whose prefix route is exactly
    /// `ip`/`prefix_len`.
    fn prefix_priorities(&mut self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Result<Vec<u32>>;
    /// Adds the prefix route `ip`/`prefix_len` via `ifindex` with `metric` as the kernel adds
    /// it for an address (proto kernel); one already there is fine.
    fn add_prefix_route(
        &mut self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
        metric: u32,
    ) -> Result<()>;
    /// Deletes that prefix route (proto kernel, that metric); one already gone is fine.
    fn delete_prefix_route(
        &mut self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
        metric: u32,
    ) -> Result<()>;
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

/// The address's TCP connections.
pub trait Connections {
    /// Resets every connected TCP socket whose local address is `ip` (listening ones are
    /// left alone); how many were reset.
    fn reset_connections(&mut self, ip: IpAddr) -> Result<usize>;
    /// The client list that the address's last owner kept for this node, `node` (Pacemaker's
    /// attribute manager, attribute `name`), read within `patience`, with the wall-clock time
    /// (unix seconds) it was read at; None when there is none.
    fn recorded_clients(
        &mut self,
        name: &str,
        node: &str,
        patience: Duration,
    ) -> Result<Option<(String, u64)>>;
    /// Sends one tickle (see `connections::tickle`) per (VIP end, client end); how many went.
    fn tickle(&mut self, pairs: &[(SocketAddr, SocketAddr)]) -> Result<usize>;
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
pub trait Host:
    Links + Addresses + PrefixRoutes + Wire + Processes + Records + Connections + Clock
{
}

impl<T> Host for T where
    T: Links + Addresses + PrefixRoutes + Wire + Processes + Records + Connections + Clock
{
}
