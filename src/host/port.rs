//! One interface's raw frame port (AF_PACKET through pnet's datalink): announcement rounds,
//! refreshes to known neighbours, duplicate-address probes, and listening for another
//! machine's claim on the address.
//!
//! A listening port gets a classic BPF filter before pnet binds it, so the kernel hands over
//! only ARP and ICMPv6 neighbour discovery of the interface's own VLAN: listening costs nothing
//! on a busy interface, and a frame of another VLAN never counts as a claim.

use crate::agent::Link;
use crate::error::{Error, Result};
use crate::packet::{arp, claimant, ndp, parse_frame, MacAddr};
use pnet_datalink::{Channel, Config, DataLinkReceiver, DataLinkSender, NetworkInterface};
use std::net::IpAddr;
use std::os::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
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

/// The offset of an ancillary load (a value the kernel keeps beside the frame) in classic BPF.
const fn ancillary(what: i32) -> u32 {
    (libc::SKF_AD_OFF + what) as u32
}

/// Accept ARP (EtherType 0x0806) and ICMPv6 (next header 58) types 135 and 136 from this
/// interface's own VLAN, not sent by this host; drop the rest.
///
/// The agent's program. Instructions 0 and 1 drop what this host sends (PACKET_OUTGOING: its
/// own announcements and probes are no claim). The observer's program is the same without them
/// (`OBSERVER_FILTER`): every jump is relative and forward, so the rest stands alone.
///
/// Instructions 2 to 5 drop frames of another VLAN. The kernel takes an 802.1Q or 802.1ad tag
/// out of the frame (skb_vlan_untag in __netif_receive_skb_core) before any packet socket sees
/// it, so on a trunk a frame of VLAN 42 reaches this socket looking untagged; the kernel itself
/// hands it to the VLAN's own interface, or drops it when there is none. Only VLAN id 0 (a
/// priority tag) belongs to the untagged interface: the kernel clears that tag and goes on.
#[rustfmt::skip]
const NEIGHBOUR_FILTER: [libc::sock_filter; 16] = [
    bpf(0x20, 0, 0, ancillary(libc::SKF_AD_PKTTYPE)),          //  0: ld #pkttype
    bpf(0x15, 12, 0, libc::PACKET_OUTGOING as u32),            //  1: jeq sent by us -> 14 drop
    bpf(0x20, 0, 0, ancillary(libc::SKF_AD_VLAN_TAG_PRESENT)), //  2: ld #vlan_avail
    bpf(0x15, 2, 0, 0),                                        //  3: jeq untagged   -> 6
    bpf(0x20, 0, 0, ancillary(libc::SKF_AD_VLAN_TAG)),         //  4: ld #vlan_tci
    bpf(0x45, 8, 0, 0x0fff),                                   //  5: jset VLAN id   -> 14 drop
    bpf(0x28, 0, 0, 12),                                       //  6: ldh [12]  EtherType
    bpf(0x15, 7, 0, 0x0806),                                   //  7: jeq ARP        -> 15 accept
    bpf(0x15, 0, 5, 0x86dd),                                   //  8: jne IPv6       -> 14 drop
    bpf(0x30, 0, 0, 20),                                       //  9: ldb [20]  IPv6 next header
    bpf(0x15, 0, 3, 58),                                       // 10: jne ICMPv6     -> 14 drop
    bpf(0x30, 0, 0, 54),                                       // 11: ldb [54]  ICMPv6 type
    bpf(0x15, 2, 0, 135),                                      // 12: jeq NS         -> 15 accept
    bpf(0x15, 1, 0, 136),                                      // 13: jeq NA -> 15 accept, else drop
    bpf(0x06, 0, 0, 0),                                        // 14: ret 0
    bpf(0x06, 0, 0, 0xffff),                                   // 15: ret 65535
];

/// `floatip listen` shows what this host sends too (see NEIGHBOUR_FILTER): an operator wants
/// to see the node's own announcements, and a conflict is two MACs, ours one of them.
const OBSERVER_FILTER: &[libc::sock_filter] = NEIGHBOUR_FILTER.split_at(2).1;

/// Accept only segment probe frames.
#[rustfmt::skip]
const SEGMENT_FILTER: [libc::sock_filter; 4] = [
    bpf(0x28, 0, 0, 12),                              // ldh [12]   EtherType
    bpf(0x15, 0, 1, crate::packet::segment::ETHERTYPE as u32),  // jne -> drop
    bpf(0x06, 0, 0, 0xffff),                          // accept
    bpf(0x06, 0, 0, 0),                               // drop
];

/// What a port hands over when it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listening {
    /// ARP and ICMPv6 neighbour discovery from other hosts on this interface's own VLAN.
    Neighbours,
    /// The same, this host's own frames included (`floatip listen`).
    Observer,
    /// `floatip probe-segment` frames only.
    SegmentProbes,
}

const fn bpf(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
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
    let filter: &[libc::sock_filter] = match listening {
        Listening::Neighbours => &NEIGHBOUR_FILTER,
        Listening::Observer => OBSERVER_FILTER,
        Listening::SegmentProbes => &SEGMENT_FILTER,
    };
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: the program outlives the call (the kernel copies it).
    let rc = unsafe {
        libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &program as *const libc::sock_fprog as *const libc::c_void,
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        // Dropping `fd` closes it.
        return Err(std::io::Error::last_os_error());
    }
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
            Some(Err(e)) => Err(Error::generic(format!(
                "cannot send on {}: {e}",
                self.link.name
            ))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::segment;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const THEIRS: MacAddr = MacAddr(0x02, 0, 0, 0, 0, 0x22);

    /// What the kernel keeps beside a frame, for the ancillary loads.
    #[derive(Clone, Copy)]
    struct Beside {
        pkttype: u8,
        /// The tag the kernel took out of the frame, if any.
        vlan_tci: Option<u16>,
    }

    const RECEIVED: Beside = Beside {
        pkttype: libc::PACKET_BROADCAST,
        vlan_tci: None,
    };

    /// Runs a classic BPF program over a frame as the kernel does, for the instructions these
    /// programs use; the value returned is how many bytes the socket gets (0: dropped).
    fn run(program: &[libc::sock_filter], frame: &[u8], beside: Beside) -> u32 {
        let mut a = 0u32;
        let mut pc = 0;
        loop {
            let i = program[pc];
            pc += 1;
            let k = i.k as usize;
            // A load past the end of the frame ends the program with 0, as in the kernel.
            let bytes = |n: usize| frame.get(k..k + n);
            match i.code {
                0x20 if i.k == ancillary(libc::SKF_AD_PKTTYPE) => a = u32::from(beside.pkttype),
                0x20 if i.k == ancillary(libc::SKF_AD_VLAN_TAG_PRESENT) => {
                    a = u32::from(beside.vlan_tci.is_some())
                }
                0x20 if i.k == ancillary(libc::SKF_AD_VLAN_TAG) => {
                    a = u32::from(beside.vlan_tci.unwrap_or(0))
                }
                0x28 => match bytes(2) {
                    Some(b) => a = u32::from(u16::from_be_bytes([b[0], b[1]])),
                    None => return 0,
                },
                0x30 => match bytes(1) {
                    Some(b) => a = u32::from(b[0]),
                    None => return 0,
                },
                0x15 => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                0x45 => pc += usize::from(if a & i.k != 0 { i.jt } else { i.jf }),
                0x06 => return i.k,
                code => panic!("instruction {code:#x} at {} not modelled", pc - 1),
            }
        }
    }

    fn frames() -> Vec<(&'static str, Vec<u8>)> {
        let v4 = Ipv4Addr::new(198, 51, 100, 50);
        let v6: Ipv6Addr = "2001:db8:100::50".parse().unwrap();
        vec![
            (
                "ARP",
                arp::announcement_frame(THEIRS, v4, arp::Form::Reply).to_vec(),
            ),
            ("NA", ndp::advertisement_frame(THEIRS, v6, false).to_vec()),
            ("NS", ndp::probe_frame(THEIRS, v6).to_vec()),
        ]
    }

    #[test]
    fn neighbour_discovery_from_other_hosts_passes() {
        for (what, frame) in frames() {
            for program in [&NEIGHBOUR_FILTER[..], OBSERVER_FILTER] {
                assert_eq!(run(program, &frame, RECEIVED), 0xffff, "{what}");
                let unicast = Beside {
                    pkttype: libc::PACKET_HOST,
                    ..RECEIVED
                };
                assert_eq!(run(program, &frame, unicast), 0xffff, "{what} to us");
            }
        }
    }

    #[test]
    fn everything_else_is_dropped() {
        let na = ndp::advertisement_frame(THEIRS, "2001:db8::1".parse().unwrap(), false);
        let mut echo = na;
        echo[54] = 128;
        let mut udp = na;
        udp[20] = 17;
        let mut ipv4 =
            arp::announcement_frame(THEIRS, Ipv4Addr::new(198, 51, 100, 1), arp::Form::Reply);
        ipv4[12..14].copy_from_slice(&[0x08, 0x00]);
        let tagged_in_band = [&na[..12], &[0x81, 0x00, 0x00, 0x2a], &na[12..]].concat();
        for (what, frame) in [
            ("ICMPv6 echo", echo.to_vec()),
            ("UDP over IPv6", udp.to_vec()),
            ("IPv4", ipv4.to_vec()),
            ("a tag left in the frame", tagged_in_band),
            (
                "a segment probe",
                segment::probe_frame(THEIRS, 1, 0).to_vec(),
            ),
            ("a runt", na[..13].to_vec()),
            ("IPv6 cut before its type", na[..54].to_vec()),
        ] {
            for program in [&NEIGHBOUR_FILTER[..], OBSERVER_FILTER] {
                assert_eq!(run(program, &frame, RECEIVED), 0, "{what}");
            }
        }
    }

    #[test]
    fn our_own_frames_reach_only_the_observer() {
        let sent = Beside {
            pkttype: libc::PACKET_OUTGOING,
            vlan_tci: None,
        };
        for (what, frame) in frames() {
            assert_eq!(run(&NEIGHBOUR_FILTER, &frame, sent), 0, "{what}");
            assert_eq!(run(OBSERVER_FILTER, &frame, sent), 0xffff, "{what}");
        }
    }

    #[test]
    fn frames_of_another_vlan_are_dropped_but_a_priority_tag_is_not() {
        for (what, frame) in frames() {
            for program in [&NEIGHBOUR_FILTER[..], OBSERVER_FILTER] {
                for (tci, passes) in [
                    (42, false),
                    (0x0fff, false),
                    (0x6000 | 42, false),
                    (0x1000 | 1, false),
                    (0, true),
                    (0x6000, true),
                ] {
                    let tagged = Beside {
                        vlan_tci: Some(tci),
                        ..RECEIVED
                    };
                    let want = if passes { 0xffff } else { 0 };
                    assert_eq!(run(program, &frame, tagged), want, "{what}, tag {tci:#06x}");
                }
            }
        }
    }

    #[test]
    fn the_segment_filter_takes_only_segment_probes() {
        let probe = segment::probe_frame(THEIRS, 7, 1);
        assert_eq!(run(&SEGMENT_FILTER, &probe, RECEIVED), 0xffff);
        for (what, frame) in frames() {
            assert_eq!(run(&SEGMENT_FILTER, &frame, RECEIVED), 0, "{what}");
        }
    }
}
