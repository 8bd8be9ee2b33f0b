//! One interface's raw frame port (AF_PACKET through pnet's datalink): announcement rounds,
//! refreshes to known neighbours, duplicate-address probes, and listening for another
//! machine's claim on the address.
//!
//! A listening port gets a classic BPF filter before pnet binds it, so the kernel hands over
//! only ARP and ICMPv6 neighbour discovery of the interface's own VLAN: listening costs nothing
//! on a busy interface, and a frame of another VLAN never counts as a claim.

use crate::domain::Link;
use crate::error::{Error, Result};
use crate::packet::{arp, bpf, claimant, ndp, parse_frame, MacAddr};
use pnet_datalink::{Channel, Config, DataLinkReceiver, DataLinkSender, NetworkInterface};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// How often a listener wakes to check its deadline.
const LISTEN_TICK: Duration = Duration::from_millis(10);

pub struct Port {
    sender: Box<dyn DataLinkSender>,
    receiver: Box<dyn DataLinkReceiver>,
    link: Link,
    mac: MacAddr,
    /// The AF_PACKET descriptor (owned by pnet's channel), so it can be handed on.
    fd: RawFd,
}

fn socket_error(link: &Link, e: std::io::Error) -> Error {
    Error::os(
        format!("cannot open a raw socket on {}", link.name),
        e,
        "CAP_NET_RAW",
    )
}

/// What a port hands over when it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listening {
    /// ARP and ICMPv6 neighbour discovery from other hosts on this interface's own VLAN.
    Neighbours,
    /// The same, this host's own frames included (`floatip listen`).
    Observer,
    /// Only frames by which another host claims this address (the resident's port: among a
    /// thousand residents on one adapter, each wakes for its own address only).
    Claims(IpAddr),
    /// `floatip probe-segment` frames only.
    SegmentProbes,
}

/// Replaces the socket filter of `fd` with the program for `listening` (see packet::bpf).
fn attach_filter(fd: RawFd, listening: Listening) -> std::io::Result<()> {
    let filter = match listening {
        Listening::Neighbours => bpf::neighbour_frames(false),
        Listening::Observer => bpf::neighbour_frames(true),
        Listening::Claims(ip) => bpf::claims_of(ip),
        Listening::SegmentProbes => bpf::segment_probes(),
    };
    super::system::attach_filter(fd, &filter)
}

/// An AF_PACKET socket that already carries the neighbour filter, for pnet to bind.
///
/// It is created with protocol 0, which hooks it nowhere; pnet's bind then hooks it to the
/// one interface. Created with ETH_P_ALL it would be hooked to every interface first, and
/// the rebind would unhook it with synchronize_net (10 to 15 ms, seen with strace -T).
fn filtered_socket(listening: Listening) -> std::io::Result<OwnedFd> {
    // SAFETY: plain socket(2).
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor just opened and owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    attach_filter(fd.as_raw_fd(), listening)?;
    Ok(fd)
}

impl Port {
    /// Opens a port on the interface. It can send and listen; it also receives the link's
    /// ARP and neighbour discovery frames, which costs nothing unless read.
    pub fn open(link: &Link) -> Result<Port> {
        Port::open_for(link, Listening::Neighbours)
    }

    pub fn open_for(link: &Link, listening: Listening) -> Result<Port> {
        let fd = filtered_socket(listening).map_err(|e| socket_error(link, e))?;
        Port::adopt(link, fd)
    }

    /// Builds a port on a descriptor from `open`, here or in a process that inherited it.
    ///
    /// Why hand it on at all: closing the last reference to an AF_PACKET socket waits for an
    /// RCU grace period (packet_release calls synchronize_net), 8 to 17 ms on this kernel,
    /// measured with perf trace. The agent passes its socket to the background process, so
    /// the agent's exit is not the last close and start returns without that wait.
    pub fn adopt(link: &Link, fd: OwnedFd) -> Result<Port> {
        let raw = fd.into_raw_fd();
        let mac = link
            .mac
            .ok_or_else(|| Error::generic(format!("{} has no MAC address", link.name)))?;
        // Built by hand from what netlink already told us: pnet's interfaces() would list
        // every address on the host (getifaddrs), a cost that grows with the number of VIPs.
        let interface = NetworkInterface {
            name: link.name.clone(),
            description: String::new(),
            index: link.index,
            mac: link.mac,
            ips: Vec::new(),
            flags: 0,
        };
        let config = Config {
            read_buffer_size: 2048,
            write_buffer_size: 128,
            read_timeout: Some(LISTEN_TICK),
            // Never put the NIC in promiscuous mode: broadcast and our own traffic suffice.
            promiscuous: false,
            // pnet's channel owns it from here and closes it when dropped.
            socket_fd: Some(raw),
            ..Config::default()
        };
        match pnet_datalink::channel(&interface, config) {
            Ok(Channel::Ethernet(sender, receiver)) => Ok(Port {
                sender,
                receiver,
                link: link.clone(),
                mac,
                fd: raw,
            }),
            Ok(_) => Err(Error::generic(format!(
                "{}: unexpected datalink channel type",
                link.name
            ))),
            Err(e) => Err(socket_error(link, e)),
        }
    }

    pub fn link_index(&self) -> u32 {
        self.link.index
    }

    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// From now on this port receives only what `listening` keeps.
    pub fn listen_for(&mut self, listening: Listening) -> Result<()> {
        attach_filter(self.fd, listening).map_err(|e| socket_error(&self.link, e))
    }

    /// Whether a segment probe sent from `from` is heard on `on` within `wait` (sent twice,
    /// the second a third of the way in, in case the first is lost): the two interfaces
    /// share one broadcast segment. `answer` is told before the sockets close, since each
    /// close waits for an RCU grace period (see `adopt`).
    pub fn hears(
        from: &Link,
        on: &Link,
        nonce: u64,
        wait: Duration,
        answer: impl FnOnce(Result<bool>),
    ) {
        // Listening before sending, so the frame cannot pass before the socket is bound.
        let ports = Port::open_for(on, Listening::SegmentProbes)
            .and_then(|l| Ok((l, Port::open_for(from, Listening::SegmentProbes)?)));
        let (mut listener, mut sender) = match ports {
            Ok(ports) => ports,
            Err(e) => return answer(Err(e)),
        };
        let frame = crate::packet::segment::probe_frame(sender.mac(), nonce, 0);
        let begin = Instant::now();
        for until in [begin + wait / 3, begin + wait] {
            if let Err(e) = sender.send(&frame) {
                return answer(Err(e));
            }
            while let Some(heard) = listener.receive(until) {
                if crate::packet::segment::parse(&heard, nonce).is_some() {
                    return answer(Ok(true));
                }
            }
        }
        answer(Ok(false))
    }

    /// The next frame the filter lets through, until `until`.
    pub fn receive(&mut self, until: Instant) -> Option<Vec<u8>> {
        while Instant::now() < until {
            match self.receiver.next() {
                Ok(frame) => return Some(frame.to_vec()),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => std::thread::sleep(LISTEN_TICK),
            }
        }
        None
    }

    /// The socket, for an event loop to wait on (it stays owned by the port).
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor is open for as long as the port (pnet's channel) lives.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }

    /// The next frame the filter let through, if one is queued, and whether this host sent
    /// it (PACKET_OUTGOING: a packet socket sees its own interface's sends too); never waits
    /// (for an event loop that has seen the socket readable).
    pub fn try_receive(&mut self, buffer: &mut [u8]) -> std::io::Result<Option<(usize, bool)>> {
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut from_len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: recvfrom into a buffer and an address we own, of their lengths;
        // MSG_DONTWAIT never blocks.
        let n = unsafe {
            libc::recvfrom(
                self.fd,
                buffer.as_mut_ptr() as *mut libc::c_void,
                buffer.len(),
                libc::MSG_DONTWAIT,
                &mut from as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                &mut from_len,
            )
        };
        if n >= 0 {
            let outgoing = from.sll_pkttype == libc::PACKET_OUTGOING;
            return Ok(Some((n as usize, outgoing)));
        }
        let e = std::io::Error::last_os_error();
        match e.kind() {
            std::io::ErrorKind::WouldBlock => Ok(None),
            std::io::ErrorKind::Interrupted => Ok(Some((0, false))),
            _ => Err(e),
        }
    }

    /// Sends from now on as `mac`: the interface's MAC changed under the port (a bond's
    /// fail_over_mac, `ip link set address`), and announcements must carry the current one.
    pub fn set_mac(&mut self, mac: MacAddr) {
        self.mac = mac;
        self.link.mac = Some(mac);
    }

    pub fn send(&mut self, frame: &[u8]) -> Result<()> {
        match self.sender.send_to(frame, None) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(Error::kernel(
                format!("cannot send on {}", self.link.name),
                e,
            )),
            None => Err(Error::generic(format!(
                "cannot send on {}: no buffer",
                self.link.name
            ))),
        }
    }

    /// One round: ARP request and reply for IPv4, one unsolicited NA for IPv6.
    pub fn round(&mut self, ip: IpAddr) -> Result<()> {
        match ip {
            IpAddr::V4(v4) => {
                self.send(&arp::announcement_frame(self.mac, v4, arp::Form::Request))?;
                self.send(&arp::announcement_frame(self.mac, v4, arp::Form::Reply))
            }
            IpAddr::V6(v6) => {
                let router = ipv6_forwarding(&self.link.name);
                self.send(&ndp::advertisement_frame(self.mac, v6, router))
            }
        }
    }

    /// A refresh round: the broadcast round, then one unicast answer to each neighbour this
    /// node knows on the link, which keeps their entries REACHABLE rather than STALE.
    pub fn refresh(&mut self, ip: IpAddr, neighbours: &[(IpAddr, MacAddr)]) -> Result<()> {
        self.round(ip)?;
        let router = ip.is_ipv6() && ipv6_forwarding(&self.link.name);
        for (neighbour, neighbour_mac) in neighbours {
            match (ip, neighbour) {
                (IpAddr::V4(v4), IpAddr::V4(to)) => {
                    self.send(&arp::refresh_frame(self.mac, v4, *neighbour_mac, *to))?
                }
                (IpAddr::V6(v6), IpAddr::V6(to)) => self.send(&ndp::refresh_frame(
                    self.mac,
                    v6,
                    router,
                    *neighbour_mac,
                    *to,
                ))?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Sends one duplicate-address probe for `ip`.
    pub fn probe(&mut self, ip: IpAddr) -> Result<()> {
        match ip {
            IpAddr::V4(v4) => self.send(&arp::probe_frame(self.mac, v4)),
            IpAddr::V6(v6) => self.send(&ndp::probe_frame(self.mac, v6)),
        }
        .map_err(|e| {
            Error::generic(format!(
                "could not send a duplicate-address probe: {}",
                e.reason
            ))
        })
    }

    /// Listens until `until` for another machine claiming `ip`; returns its MAC. Claims from
    /// `own_macs` (this node's other interfaces) are not another machine.
    pub fn claimant(
        &mut self,
        ip: IpAddr,
        until: Instant,
        probing: bool,
        own_macs: &[MacAddr],
    ) -> Option<MacAddr> {
        while let Some(frame) = self.receive(until) {
            let claim = parse_frame(&frame).and_then(|seen| claimant(&seen, ip, self.mac, probing));
            if let Some(mac) = claim.filter(|mac| !own_macs.contains(mac)) {
                return Some(mac);
            }
        }
        None
    }
}

/// The NA's Router flag mirrors whether this interface forwards IPv6 (RFC 4861 § 7.2.4).
/// /proc/sys/net follows the network namespace of the reader, so this is the right one.
fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}
