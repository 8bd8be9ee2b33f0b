//! Addresses, links and routes through rtnetlink: one async [`Client`] decides what every
//! kernel answer means (a missing interface, an address already there, an interrupted dump,
//! taken again), used by the resident's loop and, through the blocking [`Netlink`] on a
//! single-threaded runtime, by the agent's operations.
//!
//! Message builders (`*_message`) stay apart from the I/O. `AddressDumps` is a socket of its
//! own whose address dumps are read as bytes so that only the messages for the wanted address
//! are deserialized. Both sockets have NETLINK_GET_STRICT_CHK on, so the kernel itself filters
//! address dumps by interface and route dumps by table: a monitor's cost does not grow with
//! other interfaces' addresses.

use super::addrscan;
use crate::domain::{AddressRequest, Assigned, Link, LinkLayer};
use crate::error::{Error, Result};
use crate::packet::MacAddr;
use crate::params::Lifetime;
use crate::resolve::{covers, Route, RouteKind};
use futures::StreamExt;
use rtnetlink::packet_core::{
    DefaultNla, NetlinkMessage, NetlinkPayload, Parseable, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
};
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressScope, CacheInfo,
};
use rtnetlink::packet_route::addrlabel::{AddrLabelAttribute, AddrLabelMessage};
use rtnetlink::packet_route::link::{
    LinkAttribute, LinkFlags, LinkLayerType, LinkMessage, MacVlanMode,
};
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::LinkMacVlan;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// The blocking client of one operation: the async [`Client`] on a runtime of its own, and
/// address dumps read as bytes (`AddressDumps`).
pub struct Netlink {
    runtime: tokio::runtime::Runtime,
    client: Client,
    dumps: AddressDumps,
}

fn family(ip: IpAddr) -> AddressFamily {
    if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// A netlink failure keeps the kernel's errno as its cause.
fn netlink_error(what: &str, e: io::Error) -> Error {
    Error::os(what, e, "CAP_NET_ADMIN")
}

impl Netlink {
    pub fn open() -> Result<Netlink> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::kernel("cannot start the netlink runtime", e))?;
        // The socket registers with the reactor, so it is made inside the runtime.
        let (connection, handle, _) = runtime
            .block_on(async { rtnetlink::new_connection_with_strict_check() })
            .map_err(|e| netlink_error("cannot open a netlink socket", e))?;
        runtime.spawn(connection);
        // Opened now, beside the other: a netlink socket answers for the namespace it was
        // made in, and callers may leave that namespace once this returns.
        let dumps =
            AddressDumps::open().map_err(|e| netlink_error("cannot open a netlink socket", e))?;
        Ok(Netlink {
            runtime,
            client: Client::new(handle),
            dumps,
        })
    }

    /// The interface by its name or an alternative name (the kernel looks both up).
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<Link>> {
        self.runtime.block_on(self.client.link_by_name(name))
    }

    pub fn link_by_index(&mut self, index: u32) -> Result<Option<Link>> {
        self.runtime.block_on(self.client.link_by_index(index))
    }

    /// The MACs of every interface on this node: a "claim" from one of them is this node
    /// itself (another adapter on the segment answering ARP for all local addresses).
    pub fn own_macs(&mut self) -> Result<Vec<MacAddr>> {
        let links = self.runtime.block_on(self.client.links())?;
        Ok(links.into_iter().filter_map(|l| l.mac).collect())
    }

    pub fn routes(&mut self, ip: IpAddr) -> Result<Vec<Route>> {
        self.runtime.block_on(self.client.routes(ip))
    }

    /// Interrupted dumps are taken again until `deadline` (the operation's), and no request
    /// waits past it.
    pub fn set_deadline(&mut self, deadline: std::time::Instant) {
        self.dumps.deadline = Some(deadline);
        self.client.deadline = Some(deadline);
    }

    /// The address on one interface. IPv6 asks the kernel for exactly that address (a
    /// constant cost however many addresses the interface holds); IPv4 has no such request,
    /// so it dumps that interface's addresses only, scanned as bytes.
    pub fn address(&mut self, ifindex: u32, ip: IpAddr) -> Result<Option<Assigned>> {
        if ip.is_ipv6() {
            return self.runtime.block_on(self.client.address(ifindex, ip));
        }
        Ok(self
            .addresses(ip, Some(ifindex))?
            .iter()
            .find(|m| m.header.index == ifindex)
            .map(assigned_from_message))
    }

    /// Every interface holding `ip`, with how it holds it.
    pub fn holders(&mut self, ip: IpAddr) -> Result<Vec<(u32, Assigned)>> {
        Ok(self
            .addresses(ip, None)?
            .iter()
            .map(|m| (m.header.index, assigned_from_message(m)))
            .collect())
    }

    /// The messages for `ip` among all addresses of its family, optionally of one interface
    /// only (filtered in the kernel). The dump is scanned as bytes: with hundreds of addresses
    /// on the interface, deserializing each cost more than the kernel's work.
    fn addresses(&mut self, ip: IpAddr, ifindex: Option<u32>) -> Result<Vec<AddressMessage>> {
        self.dumps
            .addresses(ip, ifindex.unwrap_or(0))
            .map_err(|e| netlink_error("cannot read addresses", e))
    }

    /// Adds the address. For an operation, an address that appeared meanwhile is someone
    /// else's: it fails, so that nothing this operation did not add is taken back later.
    pub fn add_address(&mut self, request: &AddressRequest) -> Result<()> {
        match self.runtime.block_on(self.client.add_address(request))? {
            Added::New => Ok(()),
            Added::AlreadyThere => Err(netlink_error(
                &format!("cannot add {}/{}", request.ip, request.prefix_len),
                io::Error::from_raw_os_error(libc::EEXIST),
            )),
        }
    }

    /// The priority the address gives its prefix route (IFA_RT_PRIORITY; the kernel sends
    /// none for 0, its default); None when the address is not on that interface.
    pub fn route_priority(&mut self, ifindex: u32, ip: IpAddr) -> Result<Option<u32>> {
        let message = if ip.is_ipv6() {
            self.runtime
                .block_on(self.client.address_message(ifindex, ip))?
        } else {
            self.addresses(ip, Some(ifindex))?
                .into_iter()
                .find(|m| m.header.index == ifindex)
        };
        Ok(message.map(|m| route_priority_of(&m)))
    }

    /// Changes the address in place (NLM_F_REPLACE): the kernel gives its prefix route the
    /// request's metric (fib_modify_prefix_metric, modify_prefix_route) and keeps the address.
    pub fn replace_address(&mut self, request: &AddressRequest) -> Result<()> {
        self.runtime.block_on(self.client.replace_address(request))
    }

    /// The route priorities of the IPv6 addresses on `ifindex` that have a prefix route of
    /// exactly `ip`/`prefix_len` (not NOPREFIXROUTE): each wants one with its metric.
    pub fn prefix_priorities(
        &mut self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
    ) -> Result<Vec<u32>> {
        let messages = self
            .runtime
            .block_on(self.client.addresses_on(ifindex, ip))?;
        Ok(messages
            .iter()
            .filter(|m| m.header.index == ifindex && m.header.prefix_len == prefix_len)
            .filter(|m| address_of(m).is_some_and(|a| covers(ip, prefix_len, a)))
            .filter(|m| !address_flags(m).contains(AddressFlags::Noprefixroute))
            .map(route_priority_of)
            .collect())
    }

    /// Adds the prefix route `ip`/`prefix_len` via `ifindex` with `metric` as the kernel adds
    /// one for an address (proto kernel); one already there is fine.
    pub fn add_prefix_route(
        &mut self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
        metric: u32,
    ) -> Result<()> {
        let message = prefix_route_message(ifindex, ip, prefix_len, metric);
        self.runtime.block_on(self.client.change_route(
            RouteNetlinkMessage::NewRoute(message),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            libc::EEXIST,
        ))
    }

    /// Deletes that prefix route (proto kernel, that metric only); one already gone is fine.
    pub fn delete_prefix_route(
        &mut self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
        metric: u32,
    ) -> Result<()> {
        let message = prefix_route_message(ifindex, ip, prefix_len, metric);
        self.runtime.block_on(self.client.change_route(
            RouteNetlinkMessage::DelRoute(message),
            NLM_F_REQUEST | NLM_F_ACK,
            libc::ESRCH,
        ))
    }

    pub fn add_macvlan(&mut self, lower: u32, name: &str, mac: MacAddr) -> Result<()> {
        self.runtime
            .block_on(self.client.add_macvlan(lower, name, mac))
    }

    /// Deletes an interface; one already gone is not an error.
    pub fn delete_link(&mut self, index: u32, name: &str) -> Result<()> {
        self.runtime.block_on(self.client.delete_link(index, name))
    }

    pub fn neighbours(&mut self, ifindex: u32, ip: IpAddr) -> Result<Vec<(IpAddr, MacAddr)>> {
        self.runtime.block_on(self.client.neighbours(ifindex, ip))
    }

    pub fn address_label(&mut self, ip: Ipv6Addr) -> Result<Option<u32>> {
        self.runtime.block_on(self.client.address_label(ip))
    }

    pub fn add_address_label(&mut self, ip: Ipv6Addr, label: u32) -> Result<()> {
        self.runtime
            .block_on(self.client.add_address_label(ip, label))
    }

    pub fn delete_address_label(&mut self, ip: Ipv6Addr, label: u32) -> Result<()> {
        self.runtime
            .block_on(self.client.delete_address_label(ip, label))
    }

    /// Deletes the address; one that is already gone is not an error.
    pub fn delete_address(&mut self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Result<()> {
        self.runtime
            .block_on(self.client.delete_address(ifindex, ip, prefix_len))
    }
}

/// How often an address dump the kernel flagged as interrupted (the addresses changed while
/// it was written) is taken again before giving up.
const DUMP_ATTEMPTS: u32 = 5;

/// Room for one datagram of a dump, twice the most the kernel writes into one (32 KiB).
const DUMP_BUFFER: usize = 64 * 1024;

/// A plain NETLINK_ROUTE socket for address dumps, read as bytes and scanned by `addrscan`.
struct AddressDumps {
    fd: OwnedFd,
    /// The socket's port id, which the kernel's answers carry.
    port: u32,
    seq: u32,
    /// The last datagram received. Its room is reserved at the first dump (most operations
    /// never make one) and never zeroed: only what the kernel writes is touched.
    buffer: Vec<u8>,
    /// Until when an interrupted dump is taken again (None: DUMP_ATTEMPTS times).
    deadline: Option<std::time::Instant>,
}

/// The last OS error as io::Error when a libc call returned a negative value.
fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

impl AddressDumps {
    fn open() -> io::Result<AddressDumps> {
        // SAFETY: socket(2) with constant arguments; the descriptor is owned at once.
        let fd = check(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        })?;
        // SAFETY: a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // As on the rtnetlink socket: the kernel then filters a dump by the ifaddrmsg's index.
        let on: libc::c_int = 1;
        // SAFETY: the option value is a c_int we own, with its size.
        check(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_NETLINK,
                libc::NETLINK_GET_STRICT_CHK,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })?;
        // SAFETY: sockaddr_nl is plain data; all zeroes is a valid value.
        let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let mut len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // Port 0: the kernel picks one, which getsockname tells.
        // SAFETY: the address is a sockaddr_nl we own, with its size.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&address as *const libc::sockaddr_nl).cast(),
                len,
            )
        })?;
        // SAFETY: as for bind; the kernel writes at most `len` bytes.
        check(unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                (&mut address as *mut libc::sockaddr_nl).cast(),
                &mut len,
            )
        })?;
        Ok(AddressDumps {
            fd,
            port: address.nl_pid,
            seq: 0,
            buffer: Vec::new(),
            deadline: None,
        })
    }

    /// The messages for `ip` in a dump of its family's addresses on interface `ifindex` (0:
    /// every interface). A dump the kernel flags as interrupted may miss the address, so it
    /// is taken again.
    fn addresses(&mut self, ip: IpAddr, ifindex: u32) -> io::Result<Vec<AddressMessage>> {
        let began = std::time::Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let (found, interrupted) = self.dump(ip, ifindex)?;
            if !interrupted {
                return Ok(found);
            }
            // Under heavy churn five dumps in a row were seen interrupted: an operation
            // tries again for as long as its deadline allows, pausing a little more each time.
            let more = match self.deadline {
                Some(deadline) => std::time::Instant::now() < deadline,
                None => attempt < DUMP_ATTEMPTS,
            };
            if !more {
                return Err(io::Error::other(format!(
                    "the addresses kept changing while they were read: {attempt} dumps in {}ms were interrupted (NLM_F_DUMP_INTR)",
                    began.elapsed().as_millis()
                )));
            }
            let pause = Duration::from_millis(u64::from(attempt.min(20)));
            let pause = self.deadline.map_or(pause, |deadline| {
                pause.min(deadline.saturating_duration_since(std::time::Instant::now()))
            });
            std::thread::sleep(pause);
        }
    }

    /// One dump, read to its end: the messages for `ip`, and whether it was interrupted.
    fn dump(&mut self, ip: IpAddr, ifindex: u32) -> io::Result<(Vec<AddressMessage>, bool)> {
        self.seq = self.seq.wrapping_add(1);
        self.send(&address_dump_request(ip, ifindex, self.seq))?;
        let (mut found, mut interrupted) = (Vec::new(), false);
        loop {
            self.receive()?;
            let datagram = &self.buffer[..];
            let scanned = addrscan::scan(datagram, self.seq, self.port, ip)?;
            for range in scanned.matches {
                let message = AddressMessage::parse(&datagram[range])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                found.push(message);
            }
            interrupted |= scanned.interrupted;
            if scanned.done {
                return Ok((found, interrupted));
            }
        }
    }

    fn send(&self, request: &[u8]) -> io::Result<()> {
        loop {
            // SAFETY: the request is a byte slice we own, with its length; an unconnected
            // netlink socket sends to the kernel.
            let sent = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    request.as_ptr().cast(),
                    request.len(),
                    0,
                )
            };
            match sent {
                n if n >= 0 && n as usize == request.len() => return Ok(()),
                n if n >= 0 => return Err(io::Error::other("netlink request sent in part")),
                _ => {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// The next datagram from the kernel, into the buffer.
    fn receive(&mut self) -> io::Result<()> {
        self.buffer.clear();
        self.buffer.reserve_exact(DUMP_BUFFER);
        let room = self.buffer.capacity();
        loop {
            // SAFETY: sockaddr_nl is plain data; all zeroes is a valid value.
            let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            let mut from_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            // MSG_TRUNC: the datagram's real length, so one too large for the buffer shows.
            // SAFETY: the buffer's room and the address are ours, with their sizes.
            let received = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    self.buffer.as_mut_ptr().cast(),
                    room,
                    libc::MSG_TRUNC,
                    (&mut from as *mut libc::sockaddr_nl).cast(),
                    &mut from_len,
                )
            };
            if received < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let received = received as usize;
            if received > room {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a netlink datagram of {received} bytes did not fit"),
                ));
            }
            // Only the kernel (port 0) answers requests; anything else is not for us.
            if from.nl_pid == 0 {
                // SAFETY: the kernel wrote `received` bytes, no more than the room, from the
                // start of the allocation.
                unsafe { self.buffer.set_len(received) };
                return Ok(());
            }
        }
    }
}

/// RTM_GETADDR dumping the addresses of `ip`'s family on interface `ifindex` (0: all), as
/// it goes on the wire with sequence number `seq`.
fn address_dump_request(ip: IpAddr, ifindex: u32, seq: u32) -> Vec<u8> {
    let mut message = AddressMessage::default();
    message.header.family = family(ip);
    message.header.index = ifindex;
    let mut request = NetlinkMessage::from(RouteNetlinkMessage::GetAddress(message));
    request.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.sequence_number = seq;
    request.finalize();
    let mut bytes = vec![0; request.buffer_len()];
    request.serialize(&mut bytes);
    bytes
}

fn neighbour_from_message(n: &NeighbourMessage) -> Option<(IpAddr, MacAddr)> {
    if !matches!(
        n.header.state,
        NeighbourState::Reachable
            | NeighbourState::Stale
            | NeighbourState::Delay
            | NeighbourState::Probe
            | NeighbourState::Permanent
    ) {
        return None;
    }
    let ip = n.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    })?;
    let mac = n.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(b) if b.len() == 6 => {
            Some(MacAddr(b[0], b[1], b[2], b[3], b[4], b[5]))
        }
        _ => None,
    })?;
    // Multicast "neighbours" (33:33:..., 01:00:5e:...) are not hosts to refresh.
    (mac.0 & 1 == 0).then_some((ip, mac))
}

/// A request (not a dump) for exactly `ip` on interface `ifindex`: the kernel answers with
/// that one address or EADDRNOTAVAIL. Only IPv6 has it (RTM_GETADDR without NLM_F_DUMP).
fn exact_address_message(ifindex: u32, ip: IpAddr) -> AddressMessage {
    let mut message = AddressMessage::default();
    message.header.family = family(ip);
    message.header.index = ifindex;
    message.attributes.push(AddressAttribute::Address(ip));
    message
}

fn address_of(m: &AddressMessage) -> Option<IpAddr> {
    // For IPv4, IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on
    // point-to-point links); IPv6 only has IFA_ADDRESS.
    let local = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    local.or_else(|| {
        m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })
}

fn route_priority_of(m: &AddressMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| match a {
            AddressAttribute::RoutePriority(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0)
}

fn address_flags(m: &AddressMessage) -> AddressFlags {
    // IFA_FLAGS carries all 32 bits; the header's byte is the legacy subset.
    m.attributes
        .iter()
        .find_map(|a| match a {
            AddressAttribute::Flags(f) => Some(*f),
            _ => None,
        })
        .unwrap_or_else(|| AddressFlags::from_bits_retain(u32::from(m.header.flags.bits())))
}

/// RTM_NEWROUTE / RTM_DELROUTE for the prefix route of `ip`/`prefix_len` via `ifindex` as the
/// kernel makes one for an address: main table, proto kernel, unicast, that metric. (Deleting
/// by protocol and metric leaves a router-advertised or static route of the prefix alone.)
pub fn prefix_route_message(ifindex: u32, ip: IpAddr, prefix_len: u8, metric: u32) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = family(ip);
    m.header.destination_prefix_length = prefix_len;
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Kernel;
    m.header.scope = if ip.is_ipv4() {
        RouteScope::Link
    } else {
        RouteScope::Universe
    };
    m.header.kind = RouteType::Unicast;
    let network = match ip {
        IpAddr::V4(v4) => RouteAddress::Inet(std::net::Ipv4Addr::from(
            u32::from(v4)
                & u32::MAX
                    .checked_shl(32 - u32::from(prefix_len))
                    .unwrap_or(0),
        )),
        IpAddr::V6(v6) => RouteAddress::Inet6(Ipv6Addr::from(
            u128::from(v6)
                & u128::MAX
                    .checked_shl(128 - u32::from(prefix_len))
                    .unwrap_or(0),
        )),
    };
    m.attributes.push(RouteAttribute::Destination(network));
    m.attributes.push(RouteAttribute::Oif(ifindex));
    m.attributes.push(RouteAttribute::Priority(metric));
    m
}

fn assigned_from_message(m: &AddressMessage) -> Assigned {
    let flags = address_flags(m);
    let updated = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::CacheInfo(c) => Some(c.tstamp),
        _ => None,
    });
    Assigned {
        prefix_len: m.header.prefix_len,
        tentative: flags.contains(AddressFlags::Tentative),
        dadfailed: flags.contains(AddressFlags::Dadfailed),
        age: updated.and_then(|tstamp| {
            let now = monotonic_centiseconds()?;
            Some(Duration::from_millis(
                now.saturating_sub(u64::from(tstamp)) * 10,
            ))
        }),
    }
}

/// The kernel stamps addresses in hundredths of a second of jiffies since boot, which is the
/// clock CLOCK_MONOTONIC counts too.
fn monotonic_centiseconds() -> Option<u64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) } != 0 {
        return None;
    }
    Some(now.tv_sec as u64 * 100 + now.tv_nsec as u64 / 10_000_000)
}

fn link_from_message(m: &LinkMessage) -> Link {
    let name = m
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let mac = m.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(b) if b.len() == 6 => {
            Some(MacAddr(b[0], b[1], b[2], b[3], b[4], b[5]))
        }
        _ => None,
    });
    let flags = m.header.flags;
    let layer = link_layer(m.header.link_layer_type, flags);
    Link {
        index: m.header.index,
        name,
        mac,
        up: flags.contains(LinkFlags::Up),
        carrier: flags.contains(LinkFlags::LowerUp),
        announces: layer == LinkLayer::Ethernet
            && !flags.contains(LinkFlags::Noarp)
            && mac.is_some(),
        layer,
    }
}

/// The hardware types that carry IP without link-layer addresses, and point-to-point links,
/// are layer 3: nobody on them resolves the address, so nothing needs announcing.
fn link_layer(kind: LinkLayerType, flags: LinkFlags) -> LinkLayer {
    match kind {
        LinkLayerType::Ether if flags.contains(LinkFlags::Pointopoint) => LinkLayer::Layer3,
        LinkLayerType::Ether => LinkLayer::Ethernet,
        LinkLayerType::Infiniband => LinkLayer::Infiniband,
        LinkLayerType::None
        | LinkLayerType::Void
        | LinkLayerType::Ppp
        | LinkLayerType::Rawip
        | LinkLayerType::Tunnel
        | LinkLayerType::Tunnel6
        | LinkLayerType::Sit
        | LinkLayerType::Ipgre
        | LinkLayerType::Ip6gre
        | LinkLayerType::Loopback => LinkLayer::Layer3,
        _ if flags.contains(LinkFlags::Pointopoint) || flags.contains(LinkFlags::Noarp) => {
            LinkLayer::Layer3
        }
        other => LinkLayer::Other(u16::from(other)),
    }
}

/// IFLA_ALT_IFNAME: the attribute that looks an interface up by an alternative name longer
/// than IFNAMSIZ allows in IFLA_IFNAME (kernel 5.5).
const IFLA_ALT_IFNAME: u16 = 53;

/// RTM_GETLINK for a name. Short names go in IFLA_IFNAME, which the kernel also matches
/// against alternative names; longer ones only fit IFLA_ALT_IFNAME.
pub fn link_by_name_message(name: &str) -> LinkMessage {
    let mut message = LinkMessage::default();
    if name.len() <= crate::params::IFNAME_MAX {
        message
            .attributes
            .push(LinkAttribute::IfName(name.to_string()));
    } else {
        let mut value = name.as_bytes().to_vec();
        value.push(0);
        message
            .attributes
            .push(LinkAttribute::Other(DefaultNla::new(
                IFLA_ALT_IFNAME,
                value,
            )));
    }
    message
}

fn route_from_message(r: &RouteMessage) -> Option<Route> {
    let destination = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Destination(RouteAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    });
    let destination = match (destination, r.header.address_family) {
        (Some(d), _) => d,
        // The default route carries no destination attribute.
        (None, AddressFamily::Inet) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        (None, AddressFamily::Inet6) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let table = r
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(r.header.table));
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    Some(Route {
        destination,
        prefix_len: r.header.destination_prefix_length,
        ifindex: r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Oif(i) => Some(*i),
            _ => None,
        }),
        kind: if r.header.kind == RouteType::Unicast {
            RouteKind::Unicast
        } else {
            RouteKind::Other
        },
        link_scope: r.header.scope == RouteScope::Link,
        has_gateway: r.attributes.iter().any(|a| {
            matches!(
                a,
                RouteAttribute::Gateway(_) | RouteAttribute::Via(_) | RouteAttribute::MultiPath(_)
            )
        }),
        protocol: u8::from(r.header.protocol),
        metric: r
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Priority(metric) => Some(*metric),
                _ => None,
            })
            .unwrap_or(0),
    })
}

/// The identifying part of an address message: family, prefix, interface, address.
fn address_message(ifindex: u32, ip: IpAddr, prefix_len: u8) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = family(ip);
    m.header.prefix_len = prefix_len;
    m.header.index = ifindex;
    m.attributes.push(AddressAttribute::Local(ip));
    m.attributes.push(AddressAttribute::Address(ip));
    m
}

/// RTM_NEWADDR as `ip address add` would send it for these options.
pub fn add_address_message(r: &AddressRequest) -> AddressMessage {
    let mut m = address_message(r.ifindex, r.ip, r.prefix_len);
    if matches!(r.ip, IpAddr::V4(v4) if v4.is_loopback()) {
        // As iproute2's default scope: the kernel refuses 127.x on lo at universe scope.
        m.header.scope = AddressScope::Host;
    }
    if let Some(label) = &r.label {
        m.attributes.push(AddressAttribute::Label(label.clone()));
    }
    if let Some(broadcast) = r.broadcast {
        m.attributes.push(AddressAttribute::Broadcast(broadcast));
    }
    let mut flags = AddressFlags::empty();
    if r.nodad {
        flags |= AddressFlags::Nodad;
    }
    if r.noprefixroute {
        flags |= AddressFlags::Noprefixroute;
    }
    if !flags.is_empty() {
        m.attributes.push(AddressAttribute::Flags(flags));
    }
    if let Some(metric) = r.route_metric {
        // IFA_RT_PRIORITY, as `ip addr add ... metric N`: the metric of the prefix route.
        m.attributes.push(AddressAttribute::RoutePriority(metric));
    }
    if let Lifetime::Seconds(preferred) = r.preferred_lft {
        // Only the preferred lifetime is finite; the address itself never expires.
        let mut lifetimes = CacheInfo::default();
        lifetimes.ifa_preferred = preferred;
        lifetimes.ifa_valid = u32::MAX;
        m.attributes.push(AddressAttribute::CacheInfo(lifetimes));
    }
    m
}

/// RTM_NEWADDRLABEL / RTM_DELADDRLABEL for `ip`/128 on every interface, as `ip addrlabel add
/// prefix IP label N` sends it. (The kernel deletes by prefix and interface; the label must
/// still be given.)
pub fn address_label_message(ip: Ipv6Addr, label: u32) -> AddrLabelMessage {
    let mut m = AddrLabelMessage::default();
    m.header.family = AddressFamily::Inet6;
    m.header.prefix_len = 128;
    m.attributes
        .push(AddrLabelAttribute::Address(IpAddr::V6(ip)));
    m.attributes.push(AddrLabelAttribute::Label(label));
    m
}

/// The label of a dumped entry when it is exactly `ip`/128 for every interface.
fn label_of(m: &AddrLabelMessage, ip: Ipv6Addr) -> Option<u32> {
    if m.header.prefix_len != 128 || m.header.index != 0 {
        return None;
    }
    let prefix = m.attributes.iter().find_map(|a| match a {
        AddrLabelAttribute::Address(IpAddr::V6(p)) => Some(*p),
        _ => None,
    })?;
    (prefix == ip).then_some(())?;
    m.attributes.iter().find_map(|a| match a {
        AddrLabelAttribute::Label(label) => Some(*label),
        _ => None,
    })
}

// The resident's event loop: one async connection that both receives the kernel's link and
// address notifications and sends the few requests the loop needs. It runs inside the loop's
// own runtime, so nothing here blocks (the `Netlink` above block_on's a runtime of its own).

/// A kernel notification the resident reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// An interface appeared or changed (flags, carrier, MAC).
    Link(Link),
    LinkGone(u32),
    /// An address appeared or changed (e.g. finished DAD).
    Address {
        ifindex: u32,
        ip: IpAddr,
        assigned: Assigned,
    },
    AddressGone {
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
    },
    /// The socket's buffer overflowed: notifications were lost, the state must be read again.
    Overrun,
}

type Messages = Box<
    dyn futures::Stream<
            Item = (
                NetlinkMessage<RouteNetlinkMessage>,
                rtnetlink::sys::SocketAddr,
            ),
        > + Unpin,
>;

/// Requests over one rtnetlink connection, for the agent's operations (through [`Netlink`])
/// and the resident's loop alike: every meaning of a kernel answer is decided here once.
#[derive(Clone)]
pub struct Client {
    handle: rtnetlink::Handle,
    /// No request waits past it, and interrupted dumps are retried until it.
    deadline: Option<std::time::Instant>,
}

/// The resident's requests, beside its notifications.
pub type Watch = Client;

/// What adding an address came to: EEXIST means it is already on that interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    New,
    AlreadyThere,
}

/// Set in a dump's messages when what it lists changed while it was written.
const NLM_F_DUMP_INTR: u16 = 0x10;

/// The notifications of a watching connection.
pub struct Notices {
    messages: Messages,
}

/// Opens a connection subscribed to link and IPv4/IPv6 address notifications. Call it inside
/// a tokio runtime and spawn the returned connection future on it.
pub fn watch(
    ip: IpAddr,
) -> Result<(
    Watch,
    Notices,
    impl std::future::Future<Output = ()> + Send + 'static,
)> {
    use rtnetlink::sys::AsyncSocket;
    use rtnetlink::MulticastGroup;
    // Only the address's own family: the other's changes are never news to this resident.
    let addresses = match ip {
        IpAddr::V4(_) => MulticastGroup::Ipv4Ifaddr,
        IpAddr::V6(_) => MulticastGroup::Ipv6Ifaddr,
    };
    let (mut connection, handle, messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Link, addresses])
            .map_err(|e| netlink_error("cannot subscribe to link and address notifications", e))?;
    let socket = connection.socket_mut().socket_mut();
    socket
        .set_netlink_get_strict_chk(true)
        .map_err(|e| netlink_error("cannot set strict netlink checking", e))?;
    // A burst of notifications (many addresses changing at once) must not overflow it; if
    // one does, the loop reads the state again (Notice::Overrun).
    let _ = socket.set_rx_buf_sz(1 << 20);
    // The kernel drops notices about other addresses (see packet::bpf): among a thousand
    // residents, a start wakes only the one it concerns. Without it, each reads and skips.
    if let Err(e) = super::system::attach_filter(
        socket.as_raw_fd(),
        &crate::packet::bpf::address_notices_of(ip),
    ) {
        log::debug!("cannot filter address notifications in the kernel: {e}");
    }
    Ok((
        Client::new(handle),
        Notices {
            messages: Box::new(messages),
        },
        connection,
    ))
}

impl Notices {
    /// The next notification (None for messages of no interest); Ready(None) when the
    /// connection is gone.
    pub fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Option<Notice>>> {
        self.messages
            .poll_next_unpin(cx)
            .map(|message| message.map(|(m, _)| notice(m)))
    }
}

/// What a notification says, if it is about links or addresses.
pub fn notice(message: NetlinkMessage<RouteNetlinkMessage>) -> Option<Notice> {
    match message.payload {
        NetlinkPayload::Overrun(_) => Some(Notice::Overrun),
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
            Some(Notice::Link(link_from_message(&link)))
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) => {
            Some(Notice::LinkGone(link.header.index))
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => Some(Notice::Address {
            ifindex: m.header.index,
            ip: address_of(&m)?,
            assigned: assigned_from_message(&m),
        }),
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) => {
            Some(Notice::AddressGone {
                ifindex: m.header.index,
                ip: address_of(&m)?,
                prefix_len: m.header.prefix_len,
            })
        }
        _ => None,
    }
}

/// How long one request on the watching connection may take: the kernel answers in
/// microseconds, so this only guards against a wedged connection.
const WATCH_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

impl Client {
    fn new(handle: rtnetlink::Handle) -> Client {
        Client {
            handle,
            deadline: None,
        }
    }

    /// One request and its answers; a NACK becomes its errno. A dump the kernel flags as
    /// interrupted is taken again, DUMP_ATTEMPTS times or until the deadline.
    async fn exchange(
        &self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let mut attempt = 1;
        loop {
            let (answers, interrupted) = self.exchange_once(message.clone(), flags).await?;
            let more_time = self
                .deadline
                .map_or(attempt < DUMP_ATTEMPTS, |d| std::time::Instant::now() < d);
            if !interrupted || !more_time {
                if interrupted {
                    return Err(io::Error::from_raw_os_error(libc::EINTR));
                }
                return Ok(answers);
            }
            attempt += 1;
        }
    }

    async fn exchange_once(
        &self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<(Vec<RouteNetlinkMessage>, bool)> {
        let mut request = NetlinkMessage::from(message);
        request.header.flags = flags;
        let mut handle = self.handle.clone();
        let exchange = async move {
            let mut responses = handle
                .request(request)
                .map_err(|e| io::Error::other(e.to_string()))?;
            let mut answers = Vec::new();
            let mut interrupted = false;
            while let Some(answer) = responses.next().await {
                interrupted |= answer.header.flags & NLM_F_DUMP_INTR != 0;
                match answer.payload {
                    NetlinkPayload::InnerMessage(inner) => answers.push(inner),
                    NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                    // A dump that fails part-way reports its errno in NLMSG_DONE.
                    NetlinkPayload::Done(done) if done.code < 0 => {
                        return Err(io::Error::from_raw_os_error(-done.code))
                    }
                    _ => {}
                }
            }
            Ok((answers, interrupted))
        };
        let patience = self.deadline.map_or(WATCH_REQUEST_TIMEOUT, |d| {
            d.saturating_duration_since(std::time::Instant::now())
        });
        tokio::time::timeout(patience, exchange)
            .await
            .unwrap_or_else(|_| Err(io::Error::from(io::ErrorKind::TimedOut)))
    }

    async fn get_link(&self, message: LinkMessage) -> Result<Option<Link>> {
        match self
            .exchange(RouteNetlinkMessage::GetLink(message), NLM_F_REQUEST)
            .await
        {
            Ok(answers) => Ok(answers.into_iter().find_map(|a| match a {
                RouteNetlinkMessage::NewLink(link) => Some(link_from_message(&link)),
                _ => None,
            })),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(netlink_error("cannot read the interface", e)),
        }
    }

    /// The interface by its name or an alternative name (the kernel looks both up).
    pub async fn link_by_name(&self, name: &str) -> Result<Option<Link>> {
        self.get_link(link_by_name_message(name)).await
    }

    pub async fn routes(&self, ip: IpAddr) -> Result<Vec<Route>> {
        let mut message = RouteMessage::default();
        message.header.address_family = family(ip);
        message.header.table = RouteHeader::RT_TABLE_MAIN;
        let answers = self
            .exchange(
                RouteNetlinkMessage::GetRoute(message),
                NLM_F_REQUEST | NLM_F_DUMP,
            )
            .await
            .map_err(|e| netlink_error("cannot read the routing table", e))?;
        Ok(answers
            .iter()
            .filter_map(|a| match a {
                RouteNetlinkMessage::NewRoute(r) => route_from_message(r),
                _ => None,
            })
            .collect())
    }

    /// Creates a macvlan on `lower` with `mac`, administratively up (bridge mode, so several
    /// virtual interfaces on one lower device can reach each other).
    pub async fn add_macvlan(&self, lower: u32, name: &str, mac: MacAddr) -> Result<()> {
        let message = LinkMacVlan::new(name, lower, MacVlanMode::Bridge)
            .address(mac.octets().to_vec())
            .up()
            .build();
        self.exchange(
            RouteNetlinkMessage::NewLink(message),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .await
        .map(drop)
        .map_err(|e| netlink_error(&format!("cannot create the virtual interface {name}"), e))
    }

    /// Deletes an interface; one already gone is not an error.
    pub async fn delete_link(&self, index: u32, name: &str) -> Result<()> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        match self
            .exchange(
                RouteNetlinkMessage::DelLink(message),
                NLM_F_REQUEST | NLM_F_ACK,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
            Err(e) => Err(netlink_error(
                &format!("cannot delete the virtual interface {name}"),
                e,
            )),
        }
    }

    /// The label of exactly `ip`/128 for every interface (ifindex 0), as `ip addrlabel add
    /// prefix IP label N` makes it.
    pub async fn address_label(&self, ip: Ipv6Addr) -> Result<Option<u32>> {
        let mut message = AddrLabelMessage::default();
        message.header.family = AddressFamily::Inet6;
        let answers = self
            .exchange(
                RouteNetlinkMessage::GetAddrLabel(message),
                NLM_F_REQUEST | NLM_F_DUMP,
            )
            .await
            .map_err(|e| netlink_error("cannot read the address labels", e))?;
        Ok(answers.iter().find_map(|a| match a {
            RouteNetlinkMessage::NewAddrLabel(m) => label_of(m, ip),
            _ => None,
        }))
    }

    pub async fn add_address_label(&self, ip: Ipv6Addr, label: u32) -> Result<()> {
        self.exchange(
            RouteNetlinkMessage::NewAddrLabel(address_label_message(ip, label)),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .await
        .map(drop)
        .map_err(|e| netlink_error(&format!("cannot add address label {label} for {ip}"), e))
    }

    /// Removes the label of `ip`/128; one already gone (ESRCH) is not an error.
    pub async fn delete_address_label(&self, ip: Ipv6Addr, label: u32) -> Result<()> {
        match self
            .exchange(
                RouteNetlinkMessage::DelAddrLabel(address_label_message(ip, label)),
                NLM_F_REQUEST | NLM_F_ACK,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            Err(e) => Err(netlink_error(
                &format!("cannot remove address label {label} of {ip}"),
                e,
            )),
        }
    }

    /// Every interface of this namespace.
    pub async fn links(&self) -> Result<Vec<Link>> {
        let answers = self
            .exchange(
                RouteNetlinkMessage::GetLink(LinkMessage::default()),
                NLM_F_REQUEST | NLM_F_DUMP,
            )
            .await
            .map_err(|e| netlink_error("cannot list interfaces", e))?;
        Ok(answers
            .iter()
            .filter_map(|a| match a {
                RouteNetlinkMessage::NewLink(link) => Some(link_from_message(link)),
                _ => None,
            })
            .collect())
    }

    pub async fn link_by_index(&self, index: u32) -> Result<Option<Link>> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        self.get_link(message).await
    }

    /// The address on one interface. IPv6 asks for exactly that address, as
    /// `Netlink::address` does: with a resident per address among 1,000 on one interface,
    /// each would otherwise read (and keep the heap for) all of them. IPv4 has no such
    /// request, so it reads that interface's addresses only (filtered in the kernel).
    pub async fn address(&self, ifindex: u32, ip: IpAddr) -> Result<Option<Assigned>> {
        Ok(self
            .address_message(ifindex, ip)
            .await?
            .map(|m| assigned_from_message(&m)))
    }

    /// The kernel's message for the address on one interface (see `address`).
    async fn address_message(&self, ifindex: u32, ip: IpAddr) -> Result<Option<AddressMessage>> {
        let (message, flags) = if ip.is_ipv6() {
            (exact_address_message(ifindex, ip), NLM_F_REQUEST)
        } else {
            let mut message = AddressMessage::default();
            message.header.family = family(ip);
            message.header.index = ifindex;
            (message, NLM_F_REQUEST | NLM_F_DUMP)
        };
        let answers = match self
            .exchange(RouteNetlinkMessage::GetAddress(message), flags)
            .await
        {
            Ok(answers) => answers,
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENODEV) | Some(libc::EADDRNOTAVAIL)
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(netlink_error("cannot read addresses", e)),
        };
        Ok(answers.into_iter().find_map(|a| match a {
            RouteNetlinkMessage::NewAddress(m)
                if m.header.index == ifindex && address_of(&m) == Some(ip) =>
            {
                Some(m)
            }
            _ => None,
        }))
    }

    /// Adds the address; EEXIST (it is on that interface already) is `AlreadyThere`, and
    /// the caller decides what that means to it.
    pub async fn add_address(&self, request: &AddressRequest) -> Result<Added> {
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        match self
            .exchange(
                RouteNetlinkMessage::NewAddress(add_address_message(request)),
                flags,
            )
            .await
        {
            Ok(_) => Ok(Added::New),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(Added::AlreadyThere),
            Err(e) => Err(netlink_error(
                &format!("cannot add {}/{}", request.ip, request.prefix_len),
                e,
            )),
        }
    }

    /// The addresses on one interface in the family of `ip` (filtered in the kernel).
    pub async fn addresses_on(&self, ifindex: u32, ip: IpAddr) -> Result<Vec<AddressMessage>> {
        let mut message = AddressMessage::default();
        message.header.family = family(ip);
        message.header.index = ifindex;
        let answers = match self
            .exchange(
                RouteNetlinkMessage::GetAddress(message),
                NLM_F_REQUEST | NLM_F_DUMP,
            )
            .await
        {
            Ok(answers) => answers,
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(Vec::new()),
            Err(e) => return Err(netlink_error("cannot read addresses", e)),
        };
        Ok(answers
            .into_iter()
            .filter_map(|a| match a {
                RouteNetlinkMessage::NewAddress(m) => Some(m),
                _ => None,
            })
            .collect())
    }

    /// Adds or deletes a route; `fine` is the errno that means it already is as asked.
    pub async fn change_route(
        &self,
        message: RouteNetlinkMessage,
        flags: u16,
        fine: i32,
    ) -> Result<()> {
        let what = match &message {
            RouteNetlinkMessage::NewRoute(_) => "cannot add the prefix route",
            _ => "cannot delete the prefix route",
        };
        match self.exchange(message, flags).await {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(fine) => Ok(()),
            Err(e) => Err(netlink_error(what, e)),
        }
    }

    /// Changes the address in place: NLM_F_REPLACE without NLM_F_EXCL, so the kernel
    /// modifies the address it has (its prefix route's metric, its lifetimes) rather than
    /// refusing it as there already.
    pub async fn replace_address(&self, request: &AddressRequest) -> Result<()> {
        self.exchange(
            RouteNetlinkMessage::NewAddress(add_address_message(request)),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE,
        )
        .await
        .map(|_| ())
        .map_err(|e| {
            netlink_error(
                &format!(
                    "cannot change {}/{} in place",
                    request.ip, request.prefix_len
                ),
                e,
            )
        })
    }

    /// Deletes the address; one that is already gone is not an error.
    pub async fn delete_address(&self, ifindex: u32, ip: IpAddr, prefix_len: u8) -> Result<()> {
        match self
            .exchange(
                RouteNetlinkMessage::DelAddress(address_message(ifindex, ip, prefix_len)),
                NLM_F_REQUEST | NLM_F_ACK,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EADDRNOTAVAIL) | Some(libc::ENODEV)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(netlink_error(
                &format!("cannot delete {ip}/{prefix_len}"),
                e,
            )),
        }
    }

    /// The neighbours this node knows on one interface, in the family of `ip`, with their
    /// link-layer addresses (entries being resolved or failed are left out).
    pub async fn neighbours(&self, ifindex: u32, ip: IpAddr) -> Result<Vec<(IpAddr, MacAddr)>> {
        let mut message = NeighbourMessage::default();
        message.header.family = family(ip);
        // Strict checking wants the interface as an attribute; a header ifindex is refused.
        message
            .attributes
            .push(NeighbourAttribute::IfIndex(ifindex));
        let answers = self
            .exchange(
                RouteNetlinkMessage::GetNeighbour(message),
                NLM_F_REQUEST | NLM_F_DUMP,
            )
            .await
            .map_err(|e| netlink_error("cannot read the neighbour table", e))?;
        Ok(answers
            .iter()
            .filter_map(|a| match a {
                RouteNetlinkMessage::NewNeighbour(n) if n.header.ifindex == ifindex => {
                    neighbour_from_message(n)
                }
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request as it goes on the wire (sequence number 0).
    fn wire(message: RouteNetlinkMessage, flags: u16) -> Vec<u8> {
        let mut request = NetlinkMessage::from(message);
        request.header.flags = flags;
        request.finalize();
        let mut buffer = vec![0; request.buffer_len()];
        request.serialize(&mut buffer);
        buffer
    }

    #[test]
    fn address_label_request_matches_ip_addrlabel_add() {
        let ip: Ipv6Addr = "2001:db8:100::50".parse().unwrap();
        let bytes = wire(
            RouteNetlinkMessage::NewAddrLabel(address_label_message(ip, 99)),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        );
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[56, 0, 0, 0][..],              // nlmsg_len
            &[72, 0],                        // RTM_NEWADDRLABEL
            &[0x05, 0x06],                   // REQUEST | ACK | EXCL | CREATE
            &[0, 0, 0, 0], &[0, 0, 0, 0],    // seq, pid
            &[10, 0, 128, 0],                // AF_INET6, reserved, prefix 128, flags
            &[0, 0, 0, 0], &[0, 0, 0, 0],    // ifindex 0 (every interface), seq
            &[20, 0, 1, 0],                  // IFAL_ADDRESS
            &ip.octets(),
            &[8, 0, 2, 0], &[99, 0, 0, 0],   // IFAL_LABEL 99
        ]
        .concat();
        assert_eq!(bytes, expected);
        let delete = wire(
            RouteNetlinkMessage::DelAddrLabel(address_label_message(ip, 99)),
            NLM_F_REQUEST | NLM_F_ACK,
        );
        assert_eq!(&delete[4..6], &[73, 0], "RTM_DELADDRLABEL");
        assert_eq!(&delete[16..], &expected[16..], "the same prefix and label");
    }

    #[test]
    fn an_ipv6_address_is_asked_for_by_itself_not_dumped() {
        let ip: IpAddr = "2001:db8:100::50".parse().unwrap();
        let bytes = wire(
            RouteNetlinkMessage::GetAddress(exact_address_message(3, ip)),
            NLM_F_REQUEST,
        );
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[44, 0, 0, 0][..],              // nlmsg_len
            &[22, 0],                        // RTM_GETADDR
            &[0x01, 0x00],                   // REQUEST, no DUMP
            &[0, 0, 0, 0], &[0, 0, 0, 0],    // seq, pid
            &[10, 0, 0, 0],                  // AF_INET6, prefix, flags, scope: 0 (strict)
            &[3, 0, 0, 0],                   // ifindex 3
            &[20, 0, 1, 0],                  // IFA_ADDRESS
            &"2001:db8:100::50".parse::<Ipv6Addr>().unwrap().octets(),
        ]
        .concat();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn an_ipv4_address_dump_names_its_interface_and_sequence() {
        let bytes = address_dump_request("198.51.100.50".parse().unwrap(), 3, 9);
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[24, 0, 0, 0][..],                          // nlmsg_len
            &[22, 0],                                    // RTM_GETADDR
            &(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes(), // a dump
            &9u32.to_ne_bytes(), &[0, 0, 0, 0],          // seq 9, pid
            &[2, 0, 0, 0],                               // AF_INET
            &3u32.to_ne_bytes(),                         // ifindex 3, filtered in the kernel
        ]
        .concat();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn only_the_exact_prefix_for_every_interface_is_ours() {
        let ip: Ipv6Addr = "2001:db8:100::50".parse().unwrap();
        let ours = address_label_message(ip, 99);
        assert_eq!(label_of(&ours, ip), Some(99));
        assert_eq!(label_of(&ours, "2001:db8:100::51".parse().unwrap()), None);
        let mut wider = ours.clone();
        wider.header.prefix_len = 64;
        assert_eq!(label_of(&wider, ip), None);
        let mut one_interface = ours;
        one_interface.header.index = 3;
        assert_eq!(label_of(&one_interface, ip), None);
    }

    fn request(ip: &str, route_metric: Option<u32>) -> AddressRequest {
        AddressRequest {
            ifindex: 2,
            ip: ip.parse().unwrap(),
            prefix_len: 64,
            label: None,
            broadcast: None,
            nodad: false,
            noprefixroute: false,
            preferred_lft: Lifetime::Forever,
            route_metric,
        }
    }

    #[test]
    fn a_route_metric_becomes_ifa_rt_priority() {
        let bytes = wire(
            RouteNetlinkMessage::NewAddress(add_address_message(&request(
                "2001:db8:100::50",
                Some(1024),
            ))),
            NLM_F_REQUEST,
        );
        // IFA_RT_PRIORITY (9), 4-byte value 1024, after the header and both addresses.
        let attribute: &[u8] = &[8, 0, 9, 0, 0, 4, 0, 0];
        assert!(
            bytes.windows(8).any(|w| w == attribute),
            "IFA_RT_PRIORITY 1024 in {bytes:?}"
        );
        let m = add_address_message(&request("2001:db8:100::50", None));
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::RoutePriority(_))),
            "no metric: the kernel's default"
        );
    }

    #[test]
    fn a_prefix_route_is_the_kernels_own_for_the_network_of_the_address() {
        let m = prefix_route_message(2, "2001:db8:100::50".parse().unwrap(), 64, 300);
        assert_eq!(m.header.protocol, RouteProtocol::Kernel);
        assert_eq!(m.header.table, RouteHeader::RT_TABLE_MAIN);
        assert_eq!(m.header.kind, RouteType::Unicast);
        assert_eq!(m.header.destination_prefix_length, 64);
        assert_eq!(
            m.attributes,
            [
                RouteAttribute::Destination(RouteAddress::Inet6("2001:db8:100::".parse().unwrap())),
                RouteAttribute::Oif(2),
                RouteAttribute::Priority(300),
            ]
        );
    }

    #[test]
    fn a_loopback_address_is_added_at_host_scope_as_iproute2_does() {
        assert_eq!(
            add_address_message(&request("127.0.0.3", None))
                .header
                .scope,
            AddressScope::Host
        );
        for other in ["198.51.100.50", "2001:db8:100::50"] {
            assert_eq!(
                add_address_message(&request(other, None)).header.scope,
                AddressScope::Universe
            );
        }
    }

    #[test]
    fn long_names_are_looked_up_as_alternative_names() {
        let bytes = wire(
            RouteNetlinkMessage::GetLink(link_by_name_message("eth0")),
            NLM_F_REQUEST,
        );
        // IFLA_IFNAME (3) "eth0\0" after the 16-byte ifinfomsg.
        assert_eq!(&bytes[32..41], &[9, 0, 3, 0, b'e', b't', b'h', b'0', 0]);
        let long = "a-very-long-alternative-name";
        let bytes = wire(
            RouteNetlinkMessage::GetLink(link_by_name_message(long)),
            NLM_F_REQUEST,
        );
        let len = 4 + long.len() + 1;
        assert_eq!(&bytes[32..36], &[len as u8, 0, 53, 0], "IFLA_ALT_IFNAME");
        assert_eq!(&bytes[36..36 + long.len()], long.as_bytes());
        assert_eq!(bytes[36 + long.len()], 0, "NUL-terminated");
    }

    #[test]
    fn link_layers() {
        let ether = LinkFlags::Up | LinkFlags::Broadcast;
        assert_eq!(link_layer(LinkLayerType::Ether, ether), LinkLayer::Ethernet);
        assert_eq!(
            link_layer(
                LinkLayerType::None,
                LinkFlags::Pointopoint | LinkFlags::Noarp
            ),
            LinkLayer::Layer3,
            "tun, WireGuard"
        );
        assert_eq!(
            link_layer(LinkLayerType::Tunnel, LinkFlags::Noarp),
            LinkLayer::Layer3,
            "ipip"
        );
        assert_eq!(
            link_layer(LinkLayerType::Ppp, LinkFlags::Pointopoint),
            LinkLayer::Layer3
        );
        assert_eq!(
            link_layer(LinkLayerType::Loopback, LinkFlags::Loopback),
            LinkLayer::Layer3
        );
        assert_eq!(
            link_layer(LinkLayerType::Infiniband, LinkFlags::Broadcast),
            LinkLayer::Infiniband
        );
        assert_eq!(
            link_layer(LinkLayerType::Ieee802154, LinkFlags::Broadcast),
            LinkLayer::Other(804)
        );
    }
}
