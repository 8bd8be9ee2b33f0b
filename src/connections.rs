//! TCP connections to the floating address (pure): the sock_diag messages that list them and
//! that reset one (SOCK_DESTROY, as `ss -K` does), built and parsed as bytes. When the
//! address leaves this node, its connections have no future here; resetting them makes each
//! client reconnect at once instead of waiting for a timeout (issue 17).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// SOCK_DIAG_BY_FAMILY: list sockets (a dump) of one family and protocol.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// SOCK_DESTROY: abort one socket; the kernel resets its connection.
pub const SOCK_DESTROY: u16 = 21;

const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const HEADER_LEN: usize = 16;
/// inet_diag_req_v2: family, protocol, extensions, pad, states, then the socket id.
const REQUEST_LEN: usize = 8 + SOCKID_LEN;
/// inet_diag_sockid: ports, source and destination (16 bytes each), interface, cookie.
const SOCKID_LEN: usize = 48;
/// inet_diag_msg: family, state, timer, retransmits, the id, then five u32s.
const MESSAGE_LEN: usize = 4 + SOCKID_LEN + 20;

/// TCP states (include/net/tcp_states.h) as bits of idiag_states.
const TCP_LISTEN: u32 = 10;
const TCP_TIME_WAIT: u32 = 6;
const TCP_CLOSE: u32 = 7;

/// Every state with a peer to tell: not listening sockets (they serve the next owner too,
/// and hold no client), not TIME_WAIT (gone already) nor CLOSE.
pub const CONNECTED_STATES: u32 =
    0xfff & !(1 << TCP_LISTEN) & !(1 << TCP_TIME_WAIT) & !(1 << TCP_CLOSE) & !1;

/// One TCP socket as sock_diag names it: enough to destroy exactly it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socket {
    /// AF_INET or AF_INET6 (an IPv6 socket may carry an IPv4 connection, mapped).
    pub family: u8,
    pub state: u8,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    interface: u32,
    cookie: [u8; 8],
}

impl Socket {
    /// A socket as a dump would list it (tests elsewhere build lists with it).
    #[cfg(test)]
    pub(crate) fn listed(family: i32, local: SocketAddr, remote: SocketAddr) -> Socket {
        Socket {
            family: family as u8,
            state: 1,
            local,
            remote,
            interface: 0,
            cookie: [0; 8],
        }
    }

    /// Whether its local address is `ip`, also as an IPv4-mapped IPv6 address.
    pub fn is_on(&self, ip: IpAddr) -> bool {
        unmapped(self.local.ip()) == ip
    }
}

fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The families whose sockets can hold a connection to `ip`: an IPv4 address is also
/// reached through dual-stack IPv6 sockets.
pub fn families_for(ip: IpAddr) -> &'static [u8] {
    const INET: u8 = libc::AF_INET as u8;
    const INET6: u8 = libc::AF_INET6 as u8;
    match ip {
        IpAddr::V4(_) => &[INET, INET6],
        IpAddr::V6(_) => &[INET6],
    }
}

fn header(len: usize, kind: u16, flags: u16, seq: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m
}

/// A dump of the TCP sockets of `family` in CONNECTED_STATES.
pub fn list_request(family: u8, seq: u32) -> Vec<u8> {
    let mut m = header(
        HEADER_LEN + REQUEST_LEN,
        SOCK_DIAG_BY_FAMILY,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
    );
    m.extend_from_slice(&[family, libc::IPPROTO_TCP as u8, 0, 0]);
    m.extend_from_slice(&CONNECTED_STATES.to_ne_bytes());
    m.extend_from_slice(&[0; SOCKID_LEN]);
    m
}

/// SOCK_DESTROY for exactly `socket` (its cookie included, so no other socket that took its
/// ports meanwhile is touched), acknowledged.
pub fn destroy_request(socket: &Socket, seq: u32) -> Vec<u8> {
    let mut m = header(
        HEADER_LEN + REQUEST_LEN,
        SOCK_DESTROY,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
    );
    m.extend_from_slice(&[socket.family, libc::IPPROTO_TCP as u8, 0, 0]);
    m.extend_from_slice(&u32::MAX.to_ne_bytes());
    m.extend_from_slice(&sockid(socket));
    m
}

fn sockid(socket: &Socket) -> [u8; SOCKID_LEN] {
    let mut id = [0u8; SOCKID_LEN];
    id[0..2].copy_from_slice(&socket.local.port().to_be_bytes());
    id[2..4].copy_from_slice(&socket.remote.port().to_be_bytes());
    id[4..20].copy_from_slice(&address_bytes(socket.local.ip()));
    id[20..36].copy_from_slice(&address_bytes(socket.remote.ip()));
    id[36..40].copy_from_slice(&socket.interface.to_ne_bytes());
    id[40..48].copy_from_slice(&socket.cookie);
    id
}

fn address_bytes(ip: IpAddr) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => bytes[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => bytes = v6.octets(),
    }
    bytes
}

fn address_of(family: u8, bytes: &[u8]) -> Option<IpAddr> {
    if i32::from(family) == libc::AF_INET {
        let v4: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else {
        let v6: [u8; 16] = bytes.get(..16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(v6)))
    }
}

/// What one datagram of a dump's answer says: the sockets in it, whether the dump is done,
/// and the kernel's errno if it refused.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub sockets: Vec<Socket>,
    pub done: bool,
    pub errno: Option<i32>,
}

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// Parses the messages of one datagram answering request `seq`; anything malformed or of
/// another request is skipped.
pub fn parse_answer(datagram: &[u8], seq: u32) -> Answer {
    let mut answer = Answer::default();
    let mut at = 0;
    while let Some(head) = datagram.get(at..at + HEADER_LEN) {
        let len = u32::from_ne_bytes(head[0..4].try_into().expect("4 bytes")) as usize;
        if len < HEADER_LEN || at + len > datagram.len() {
            break;
        }
        let kind = u16::from_ne_bytes(head[4..6].try_into().expect("2 bytes"));
        let their_seq = u32::from_ne_bytes(head[8..12].try_into().expect("4 bytes"));
        let body = &datagram[at + HEADER_LEN..at + len];
        if their_seq == seq {
            match kind {
                NLMSG_DONE => answer.done = true,
                NLMSG_ERROR => {
                    let code = body
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes(b.try_into().expect("4 bytes")));
                    answer.done = true;
                    if code < 0 {
                        answer.errno = Some(-code);
                    }
                }
                SOCK_DIAG_BY_FAMILY => answer.sockets.extend(parse_socket(body)),
                _ => {}
            }
        }
        // Messages are aligned to 4 bytes.
        at += (len + 3) & !3;
    }
    answer
}

fn parse_socket(body: &[u8]) -> Option<Socket> {
    let body = body.get(..MESSAGE_LEN)?;
    let family = body[0];
    let id = &body[4..4 + SOCKID_LEN];
    let local_port = u16::from_be_bytes([id[0], id[1]]);
    let remote_port = u16::from_be_bytes([id[2], id[3]]);
    Some(Socket {
        family,
        state: body[1],
        local: SocketAddr::new(address_of(family, &id[4..20])?, local_port),
        remote: SocketAddr::new(address_of(family, &id[20..36])?, remote_port),
        interface: u32::from_ne_bytes(id[36..40].try_into().ok()?),
        cookie: id[40..48].try_into().ok()?,
    })
}

/// Length of a tickle: a TCP header without options.
pub const TICKLE_LEN: usize = 20;

/// A tickle for a client whose connection to `local` (the floating address) ended on another
/// node: an ACK with deliberately wrong sequence and acknowledgement numbers. The client
/// answers an out-of-window segment with its own ACK (RFC 5961 § 4: a challenge ACK); this
/// node, which has no socket for it, answers that with a reset, and the client reconnects at
/// once instead of waiting on a peer that is gone. Sent through a raw socket, so the kernel
/// routes it (the client may be behind a router) and puts the IP header in front.
pub fn tickle(local: SocketAddr, remote: SocketAddr) -> [u8; TICKLE_LEN] {
    use pnet_packet::tcp::{ipv4_checksum, ipv6_checksum, MutableTcpPacket, TcpFlags};
    let mut buffer = [0u8; TICKLE_LEN];
    let mut tcp = MutableTcpPacket::new(&mut buffer).expect("buffer fits a TCP header");
    tcp.set_source(local.port());
    tcp.set_destination(remote.port());
    // Zero is as wrong as any number: the segment only has to be outside the window.
    tcp.set_sequence(0);
    tcp.set_acknowledgement(0);
    tcp.set_data_offset(5);
    tcp.set_flags(TcpFlags::ACK);
    tcp.set_window(1);
    let checksum = match (local.ip(), remote.ip()) {
        (IpAddr::V4(from), IpAddr::V4(to)) => ipv4_checksum(&tcp.to_immutable(), &from, &to),
        (IpAddr::V6(from), IpAddr::V6(to)) => ipv6_checksum(&tcp.to_immutable(), &from, &to),
        // Mixed families cannot be one connection; the checksum stays 0 and it is dropped.
        _ => 0,
    };
    tcp.set_checksum(checksum);
    buffer
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer message as the kernel writes one for `socket`.
    fn message(socket: &Socket, seq: u32) -> Vec<u8> {
        let mut m = header(HEADER_LEN + MESSAGE_LEN, SOCK_DIAG_BY_FAMILY, 2, seq);
        m.extend_from_slice(&[socket.family, socket.state, 0, 0]);
        m.extend_from_slice(&sockid(socket));
        m.extend_from_slice(&[0; 20]);
        m
    }

    fn socket(family: i32, local: &str, remote: &str) -> Socket {
        Socket {
            family: family as u8,
            state: 1,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            interface: 0,
            cookie: [7, 0, 0, 0, 9, 0, 0, 0],
        }
    }

    #[test]
    fn requests_have_the_kernels_lengths_and_flags() {
        // nlmsghdr (16) + inet_diag_req_v2 (8 + a 48-byte socket id)
        let list = list_request(libc::AF_INET as u8, 7);
        assert_eq!(list.len(), 72);
        assert_eq!(u32::from_ne_bytes(list[0..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes(list[4..6].try_into().unwrap()), 20);
        // NLM_F_REQUEST | NLM_F_DUMP
        assert_eq!(u16::from_ne_bytes(list[6..8].try_into().unwrap()), 0x301);
        assert_eq!(u32::from_ne_bytes(list[8..12].try_into().unwrap()), 7);
        // every state but LISTEN (10), TIME_WAIT (6), CLOSE (7) and the unused bit 0
        assert_eq!(CONNECTED_STATES, 0b1011_0011_1110);
        assert_eq!(u32::from_ne_bytes(list[20..24].try_into().unwrap()), 0xb3e);
        let one = socket(libc::AF_INET, "198.51.100.50:80", "198.51.100.254:40000");
        let destroy = destroy_request(&one, 8);
        assert_eq!(destroy.len(), 72);
        assert_eq!(u32::from_ne_bytes(destroy[0..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes(destroy[4..6].try_into().unwrap()), 21);
        // NLM_F_REQUEST | NLM_F_ACK
        assert_eq!(u16::from_ne_bytes(destroy[6..8].try_into().unwrap()), 5);
    }

    #[test]
    fn a_done_message_of_a_bare_header_ends_the_dump() {
        let done = header(HEADER_LEN, NLMSG_DONE, 2, 9);
        assert!(parse_answer(&done, 9).done);
        // shorter than a header: nothing is read from it
        let mut short = header(HEADER_LEN, NLMSG_DONE, 2, 9);
        short[0..4].copy_from_slice(&15u32.to_ne_bytes());
        assert!(!parse_answer(&short, 9).done);
    }

    #[test]
    fn sockets_round_trip_through_the_kernels_layout() {
        let v4 = socket(libc::AF_INET, "198.51.100.50:80", "198.51.100.254:40000");
        let v6 = socket(
            libc::AF_INET6,
            "[2001:db8:100::50]:22",
            "[2001:db8::9]:5000",
        );
        let mapped = socket(
            libc::AF_INET6,
            "[::ffff:198.51.100.50]:443",
            "[::ffff:203.0.113.9]:6000",
        );
        let mut datagram = Vec::new();
        for s in [&v4, &v6, &mapped] {
            datagram.extend(message(s, 5));
        }
        datagram.extend(message(&v4, 6));
        datagram.extend(header(HEADER_LEN + 4, NLMSG_DONE, 2, 5));
        datagram.extend_from_slice(&0i32.to_ne_bytes());
        let answer = parse_answer(&datagram, 5);
        assert_eq!(
            answer.sockets,
            vec![v4, v6, mapped],
            "another request's skipped"
        );
        assert!(answer.done);
        let vip: IpAddr = "198.51.100.50".parse().unwrap();
        assert!(v4.is_on(vip) && mapped.is_on(vip) && !v6.is_on(vip));
    }

    #[test]
    fn a_refusal_carries_its_errno_and_garbage_is_skipped() {
        let mut refusal = header(HEADER_LEN + 20, NLMSG_ERROR, 0, 3);
        refusal.extend_from_slice(&(-libc::EOPNOTSUPP).to_ne_bytes());
        refusal.extend_from_slice(&[0; 16]);
        let answer = parse_answer(&refusal, 3);
        assert_eq!(answer.errno, Some(libc::EOPNOTSUPP));
        let ack = [header(HEADER_LEN + 4, NLMSG_ERROR, 0, 4), vec![0; 4]].concat();
        assert_eq!(parse_answer(&ack, 4).errno, None);
        for garbage in [&[1u8, 2, 3][..], &[0xff; 40][..], &[]] {
            assert_eq!(parse_answer(garbage, 3), Answer::default());
        }
        // A message claiming more than the datagram holds ends the parse.
        let mut short = message(&socket(libc::AF_INET, "1.2.3.4:1", "5.6.7.8:2"), 1);
        short.truncate(40);
        assert_eq!(parse_answer(&short, 1).sockets, vec![]);
    }

    #[test]
    fn requests_ask_for_connected_tcp_sockets_and_destroy_exactly_one() {
        let list = list_request(libc::AF_INET6 as u8, 9);
        assert_eq!(list.len(), 72);
        assert_eq!(u16::from_ne_bytes([list[4], list[5]]), SOCK_DIAG_BY_FAMILY);
        assert_eq!(
            list[16..18],
            [libc::AF_INET6 as u8, libc::IPPROTO_TCP as u8]
        );
        let states = u32::from_ne_bytes(list[20..24].try_into().unwrap());
        assert_eq!(
            states & (1 << TCP_LISTEN),
            0,
            "listening sockets are left alone"
        );
        assert_ne!(states & (1 << 1), 0, "established");
        assert_ne!(states & (1 << 8), 0, "close-wait");
        let s = socket(libc::AF_INET, "198.51.100.50:80", "198.51.100.254:40000");
        let destroy = destroy_request(&s, 10);
        assert_eq!(u16::from_ne_bytes([destroy[4], destroy[5]]), SOCK_DESTROY);
        assert_eq!(destroy[24..24 + SOCKID_LEN], sockid(&s));
        assert_eq!(destroy[24..26], 80u16.to_be_bytes());
        assert_eq!(destroy[28..32], [198, 51, 100, 50]);
        assert_eq!(families_for("198.51.100.50".parse().unwrap()).len(), 2);
    }

    #[test]
    fn a_tickle_is_a_bare_ack_with_a_valid_checksum() {
        use pnet_packet::tcp::{ipv4_checksum, ipv6_checksum, TcpFlags, TcpPacket};
        for (local, remote) in [
            ("198.51.100.50:8080", "203.0.113.9:40001"),
            ("[2001:db8:100::50]:443", "[2001:db8::9]:5000"),
        ] {
            let (local, remote): (SocketAddr, SocketAddr) =
                (local.parse().unwrap(), remote.parse().unwrap());
            let bytes = tickle(local, remote);
            let tcp = TcpPacket::new(&bytes).unwrap();
            assert_eq!(
                (tcp.get_source(), tcp.get_destination()),
                (local.port(), remote.port())
            );
            assert_eq!(tcp.get_flags(), TcpFlags::ACK);
            assert_eq!(tcp.get_data_offset(), 5);
            let want = match (local.ip(), remote.ip()) {
                (IpAddr::V4(a), IpAddr::V4(b)) => ipv4_checksum(&tcp, &a, &b),
                (IpAddr::V6(a), IpAddr::V6(b)) => ipv6_checksum(&tcp, &a, &b),
                _ => unreachable!(),
            };
            assert_eq!(tcp.get_checksum(), want);
            assert_ne!(want, 0);
        }
    }
}
