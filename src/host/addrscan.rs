//! Reading an address dump as bytes, to find one address among many without deserializing the
//! others.
//!
//! IPv4 has no request for a single address, so finding one means dumping the interface's
//! addresses; with hundreds of them, turning every answer into a `RouteNetlinkMessage` (an
//! allocation per attribute) costs more than the kernel's work. `scan` walks one received
//! datagram (nlmsghdr, ifaddrmsg, rtattr), bounds-checked, and only says where the messages for
//! the wanted address are; the caller parses just those.

use std::io;
use std::net::IpAddr;
use std::ops::Range;

/// sizeof(struct nlmsghdr)
const NLMSG_HDRLEN: usize = 16;
/// sizeof(struct ifaddrmsg)
const IFADDRMSG_LEN: usize = 8;
/// sizeof(struct rtattr)
const RTA_HDRLEN: usize = 4;
// Kernel ABI values (include/uapi/linux/netlink.h, rtnetlink.h, if_addr.h).
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_MULTI: u16 = 2;
const NLM_F_DUMP_INTR: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// The type bits of rta_type, without NLA_F_NESTED and NLA_F_NET_BYTEORDER.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// What one datagram of an address dump said.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scanned {
    /// Where in the datagram each RTM_NEWADDR for the address has its payload (the ifaddrmsg
    /// and its attributes), in the kernel's order.
    pub matches: Vec<Range<usize>>,
    /// The answer is complete: NLMSG_DONE, or an answer that is not part of a dump.
    pub done: bool,
    /// The kernel flagged the dump (NLM_F_DUMP_INTR): the addresses changed while it was
    /// written, so entries may be missing or repeated.
    pub interrupted: bool,
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed address dump: {what}"),
    )
}

/// Netlink aligns messages and attributes to 4 bytes.
fn align(len: usize) -> usize {
    len.saturating_add(3) & !3
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The messages in one datagram answering request `seq` from socket `port` that are
/// RTM_NEWADDR for `ip`, as `address_of` in netlink.rs sees an address: IFA_LOCAL if present
/// (the interface's own address; IFA_ADDRESS is the peer on point-to-point links), else
/// IFA_ADDRESS. Messages of another request (left over from one given up) are skipped. A
/// kernel error (NLMSG_ERROR, or NLMSG_DONE with a negative code) becomes its errno, and
/// anything that does not hold together becomes InvalidData: never a panic.
pub fn scan(datagram: &[u8], seq: u32, port: u32, ip: IpAddr) -> io::Result<Scanned> {
    let mut scanned = Scanned::default();
    let mut offset = 0;
    while offset < datagram.len() {
        let rest = &datagram[offset..];
        let len = u32_at(rest, 0).ok_or_else(|| malformed("truncated header"))? as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(malformed("message length out of bounds"));
        }
        let (kind, flags) = (u16_at(rest, 4), u16_at(rest, 6));
        let (kind, flags) = kind
            .zip(flags)
            .ok_or_else(|| malformed("truncated header"))?;
        let ours = u32_at(rest, 8) == Some(seq) && u32_at(rest, 12) == Some(port);
        let payload = offset + NLMSG_HDRLEN..offset + len;
        // The last message may come without its padding.
        offset += align(len).min(rest.len());
        if !ours {
            continue;
        }
        let body = &datagram[payload.clone()];
        if flags & NLM_F_DUMP_INTR != 0 {
            scanned.interrupted = true;
        }
        match kind {
            NLMSG_ERROR | NLMSG_DONE => {
                // NLMSG_ERROR always carries its errno (0: an acknowledgement); a dump's
                // NLMSG_DONE carries one when it failed part-way.
                let code = match u32_at(body, 0) {
                    Some(code) => code as i32,
                    None if kind == NLMSG_DONE => 0,
                    None => return Err(malformed("NLMSG_ERROR without an error code")),
                };
                if code < 0 {
                    return Err(io::Error::from_raw_os_error(code.saturating_neg()));
                }
                scanned.done = true;
                return Ok(scanned);
            }
            RTM_NEWADDR if local_address(body)?.is_some_and(|a| holds(ip, body, a)) => {
                scanned.matches.push(payload);
            }
            _ => {}
        }
        if flags & NLM_F_MULTI == 0 {
            // A lone answer, not a dump: nothing follows it.
            scanned.done = true;
            return Ok(scanned);
        }
    }
    Ok(scanned)
}

/// Whether the address bytes `address` within an ifaddrmsg payload are `ip`, of its family.
fn holds(ip: IpAddr, payload: &[u8], address: Range<usize>) -> bool {
    let (family, octets): (u8, &[u8]) = match &ip {
        IpAddr::V4(v4) => (libc::AF_INET as u8, &v4.octets()),
        IpAddr::V6(v6) => (libc::AF_INET6 as u8, &v6.octets()),
    };
    payload.first() == Some(&family) && payload.get(address) == Some(octets)
}

/// Where an address message's own address is: the first IFA_LOCAL, else the first
/// IFA_ADDRESS (None: neither). Every attribute is checked against the message's bounds.
fn local_address(payload: &[u8]) -> io::Result<Option<Range<usize>>> {
    if payload.len() < IFADDRMSG_LEN {
        return Err(malformed("address message shorter than ifaddrmsg"));
    }
    let (mut local, mut address) = (None, None);
    let mut at = IFADDRMSG_LEN;
    while at < payload.len() {
        let (len, kind) = u16_at(payload, at)
            .zip(u16_at(payload, at + 2))
            .ok_or_else(|| malformed("truncated attribute"))?;
        let len = usize::from(len);
        if len < RTA_HDRLEN || len > payload.len() - at {
            return Err(malformed("attribute length out of bounds"));
        }
        let value = at + RTA_HDRLEN..at + len;
        match kind & NLA_TYPE_MASK {
            IFA_LOCAL => {
                local.get_or_insert(value);
            }
            IFA_ADDRESS => {
                address.get_or_insert(value);
            }
            _ => {}
        }
        // Past the end ends the loop: the last attribute may come without its padding.
        at += align(len);
    }
    Ok(local.or(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ: u32 = 7;
    const PORT: u32 = 4242;
    const AF_INET: u8 = 2;

    fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        a.resize(align(a.len()), 0);
        a
    }

    fn message(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&PORT.to_ne_bytes());
        m.extend_from_slice(payload);
        m.resize(align(m.len()), 0);
        m
    }

    /// An RTM_NEWADDR as the kernel writes it for IPv4: ifaddrmsg, then IFA_ADDRESS,
    /// IFA_LOCAL, IFA_BROADCAST, IFA_LABEL, IFA_FLAGS (here without IFA_CACHEINFO).
    fn ipv4(index: u32, address: [u8; 4], local: [u8; 4]) -> Vec<u8> {
        let mut p = vec![AF_INET, 24, 0x80, 0]; // family, prefix, IFA_F_PERMANENT, scope
        p.extend_from_slice(&index.to_ne_bytes());
        p.extend(attribute(IFA_ADDRESS, &address));
        p.extend(attribute(IFA_LOCAL, &local));
        p.extend(attribute(4, &[198, 51, 100, 255])); // IFA_BROADCAST
        p.extend(attribute(3, b"eth0\0")); // IFA_LABEL
        p.extend(attribute(8, &0x80u32.to_ne_bytes())); // IFA_FLAGS
        p
    }

    fn newaddr(payload: &[u8]) -> Vec<u8> {
        message(RTM_NEWADDR, NLM_F_MULTI, SEQ, payload)
    }

    fn done(code: i32) -> Vec<u8> {
        message(NLMSG_DONE, NLM_F_MULTI, SEQ, &code.to_ne_bytes())
    }

    fn vip() -> IpAddr {
        "198.51.100.50".parse().unwrap()
    }

    /// Where a message's payload lies when it starts at `start` in the datagram.
    fn payload_of(start: usize, message: &[u8]) -> Range<usize> {
        let len = u32_at(message, 0).unwrap() as usize;
        start + 16..start + len
    }

    #[test]
    fn a_dump_of_three_finds_the_one_in_the_middle() {
        let first = newaddr(&ipv4(2, [198, 51, 100, 10], [198, 51, 100, 10]));
        let ours = newaddr(&ipv4(2, [198, 51, 100, 50], [198, 51, 100, 50]));
        let last = newaddr(&ipv4(2, [203, 0, 113, 1], [203, 0, 113, 1]));
        let datagram = [first.clone(), ours.clone(), last].concat();
        let scanned = scan(&datagram, SEQ, PORT, vip()).unwrap();
        let range = payload_of(first.len(), &ours);
        assert_eq!(scanned.matches, vec![range.clone()]);
        assert_eq!(&datagram[range.clone()], &ours[16..]);
        assert!(!scanned.done, "a dump goes on until NLMSG_DONE");
        assert!(!scanned.interrupted);
        // The match is what netlink-packet-route parses for the few messages that count.
        use rtnetlink::packet_core::Parseable;
        use rtnetlink::packet_route::address::AddressMessage;
        let m = AddressMessage::parse(&datagram[range]).unwrap();
        assert_eq!((m.header.index, m.header.prefix_len), (2, 24));
    }

    /// Byte for byte as a little-endian kernel writes `ip addr add 198.51.100.50 peer
    /// 198.51.100.99 dev tun0` (ifindex 5) into a dump, then the dump's end.
    #[cfg(target_endian = "little")]
    #[test]
    fn golden_bytes_of_a_point_to_point_address() {
        #[rustfmt::skip]
        let datagram: Vec<u8> = [
            &[80, 0, 0, 0][..],                    // nlmsg_len 80
            &[20, 0], &[2, 0],                     // RTM_NEWADDR, NLM_F_MULTI
            &[7, 0, 0, 0], &[0x92, 0x10, 0, 0],    // seq 7, port 4242
            &[2, 32, 0x80, 0], &[5, 0, 0, 0],      // AF_INET, /32, permanent, global; ifindex 5
            &[8, 0, 1, 0], &[198, 51, 100, 99],    // IFA_ADDRESS: the peer
            &[8, 0, 2, 0], &[198, 51, 100, 50],    // IFA_LOCAL: this node's
            &[9, 0, 3, 0], b"tun0", &[0, 0, 0, 0], // IFA_LABEL "tun0\0", padded
            &[8, 0, 8, 0], &[0x80, 0, 0, 0],       // IFA_FLAGS
            &[20, 0, 6, 0],                        // IFA_CACHEINFO
            &[0xff; 8], &[0x10, 0, 0, 0], &[0x10, 0, 0, 0],
            &[20, 0, 0, 0], &[3, 0], &[2, 0],      // NLMSG_DONE, NLM_F_MULTI
            &[7, 0, 0, 0], &[0x92, 0x10, 0, 0], &[0, 0, 0, 0],
        ]
        .concat();
        let scanned = scan(&datagram, SEQ, PORT, vip()).unwrap();
        assert_eq!(scanned.matches, vec![16..80]);
        assert!(scanned.done && !scanned.interrupted);
        use rtnetlink::packet_core::Parseable;
        use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
        let m = AddressMessage::parse(&datagram[16..80]).unwrap();
        assert_eq!((m.header.index, m.header.prefix_len), (5, 32));
        assert!(m.attributes.contains(&AddressAttribute::Local(vip())));
        let peer: IpAddr = "198.51.100.99".parse().unwrap();
        assert!(scan(&datagram, SEQ, PORT, peer).unwrap().matches.is_empty());
    }

    #[test]
    fn done_ends_the_dump_and_what_follows_is_not_read() {
        let datagram = [
            newaddr(&ipv4(2, [198, 51, 100, 50], [198, 51, 100, 50])),
            done(0),
            b"trailing garbage".to_vec(),
        ]
        .concat();
        let scanned = scan(&datagram, SEQ, PORT, vip()).unwrap();
        assert_eq!(scanned.matches.len(), 1);
        assert!(scanned.done);
        // The kernel's NLMSG_DONE always has its code; one without is still the end.
        let bare = message(NLMSG_DONE, NLM_F_MULTI, SEQ, &[]);
        assert!(scan(&bare, SEQ, PORT, vip()).unwrap().done);
    }

    #[test]
    fn on_point_to_point_links_the_local_address_counts_not_the_peer() {
        // `ip addr add 198.51.100.50 peer 198.51.100.99`: IFA_ADDRESS is the peer.
        let p2p = newaddr(&ipv4(5, [198, 51, 100, 99], [198, 51, 100, 50]));
        assert_eq!(scan(&p2p, SEQ, PORT, vip()).unwrap().matches.len(), 1);
        let peer: IpAddr = "198.51.100.99".parse().unwrap();
        assert!(
            scan(&p2p, SEQ, PORT, peer).unwrap().matches.is_empty(),
            "the peer is not an address of this node"
        );
        // Without IFA_LOCAL (IPv6 never has it), IFA_ADDRESS is the address.
        let mut only_address = vec![AF_INET, 32, 0, 0, 5, 0, 0, 0];
        only_address.extend(attribute(IFA_ADDRESS, &[198, 51, 100, 50]));
        let only_address = newaddr(&only_address);
        assert_eq!(
            scan(&only_address, SEQ, PORT, vip()).unwrap().matches.len(),
            1
        );
    }

    #[test]
    fn ipv6_addresses_match_by_all_sixteen_bytes() {
        let ip: IpAddr = "2001:db8:100::50".parse().unwrap();
        let IpAddr::V6(v6) = ip else { unreachable!() };
        let mut p = vec![10, 64, 0, 0, 2, 0, 0, 0]; // AF_INET6
        p.extend(attribute(IFA_ADDRESS, &v6.octets()));
        let m = newaddr(&p);
        assert_eq!(scan(&m, SEQ, PORT, ip).unwrap().matches.len(), 1);
        let other: IpAddr = "2001:db8:100::51".parse().unwrap();
        assert!(scan(&m, SEQ, PORT, other).unwrap().matches.is_empty());
        // Four bytes of an IPv4 address in an AF_INET6 message are not that address.
        let mut wrong_family = ipv4(2, [198, 51, 100, 50], [198, 51, 100, 50]);
        wrong_family[0] = 10;
        assert!(scan(&newaddr(&wrong_family), SEQ, PORT, vip())
            .unwrap()
            .matches
            .is_empty());
    }

    #[test]
    fn answers_to_another_request_are_skipped() {
        let stale = message(
            RTM_NEWADDR,
            NLM_F_MULTI,
            SEQ - 1,
            &ipv4(2, [198, 51, 100, 50], [198, 51, 100, 50]),
        );
        let stale_done = message(NLMSG_DONE, NLM_F_MULTI, SEQ - 1, &(-1i32).to_ne_bytes());
        let mut other_port = newaddr(&ipv4(2, [198, 51, 100, 50], [198, 51, 100, 50]));
        other_port[12..16].copy_from_slice(&(PORT + 1).to_ne_bytes());
        let datagram = [stale, stale_done, other_port, done(0)].concat();
        let scanned = scan(&datagram, SEQ, PORT, vip()).unwrap();
        assert_eq!(
            scanned,
            Scanned {
                matches: vec![],
                done: true,
                interrupted: false
            }
        );
    }

    #[test]
    fn kernel_errors_become_their_errno() {
        // NLMSG_ERROR: the negative errno, then the request's header.
        let mut nack = (-libc::ENODEV).to_ne_bytes().to_vec();
        nack.extend_from_slice(&[0; 16]);
        let nack = message(NLMSG_ERROR, 0, SEQ, &nack);
        let e = scan(&nack, SEQ, PORT, vip()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
        // A dump that fails part-way says so in NLMSG_DONE, after what it had sent.
        let datagram = [
            newaddr(&ipv4(2, [198, 51, 100, 50], [198, 51, 100, 50])),
            done(-libc::EINTR),
        ]
        .concat();
        let e = scan(&datagram, SEQ, PORT, vip()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINTR));
        // An acknowledgement (errno 0) ends the answer without an error.
        let ack = message(NLMSG_ERROR, 0, SEQ, &[0; 20]);
        assert!(scan(&ack, SEQ, PORT, vip()).unwrap().done);
        let short = message(NLMSG_ERROR, 0, SEQ, &[0; 2]);
        let e = scan(&short, SEQ, PORT, vip()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // Not a negation overflow: i32::MIN stays an error.
        let odd = message(NLMSG_DONE, NLM_F_MULTI, SEQ, &i32::MIN.to_ne_bytes());
        assert!(scan(&odd, SEQ, PORT, vip()).is_err());
    }

    #[test]
    fn an_interrupted_dump_is_flagged() {
        let mut m = newaddr(&ipv4(2, [198, 51, 100, 50], [198, 51, 100, 50]));
        m[6..8].copy_from_slice(&(NLM_F_MULTI | NLM_F_DUMP_INTR).to_ne_bytes());
        let scanned = scan(&[m, done(0)].concat(), SEQ, PORT, vip()).unwrap();
        assert!(scanned.interrupted && scanned.done);
        assert_eq!(scanned.matches.len(), 1);
    }

    #[test]
    fn a_lone_answer_ends_the_reply() {
        let lone = message(
            RTM_NEWADDR,
            0,
            SEQ,
            &ipv4(2, [198, 51, 100, 50], [198, 51, 100, 50]),
        );
        let scanned = scan(&lone, SEQ, PORT, vip()).unwrap();
        assert!(scanned.done);
        assert_eq!(scanned.matches.len(), 1);
    }

    #[test]
    fn truncated_messages_are_errors() {
        let m = newaddr(&ipv4(2, [198, 51, 100, 50], [198, 51, 100, 50]));
        for cut in 1..m.len() {
            let e = scan(&m[..cut], SEQ, PORT, vip()).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "cut at {cut}");
        }
        // nlmsg_len below the header's own size would never advance.
        let mut short = m.clone();
        short[0..4].copy_from_slice(&8u32.to_ne_bytes());
        assert!(scan(&short, SEQ, PORT, vip()).is_err());
        // An address message too short for its ifaddrmsg.
        assert!(scan(&newaddr(&[AF_INET, 24]), SEQ, PORT, vip()).is_err());
        assert!(scan(&[], SEQ, PORT, vip()).unwrap() == Scanned::default());
    }

    #[test]
    fn bad_attribute_lengths_are_errors() {
        let good = ipv4(2, [198, 51, 100, 50], [198, 51, 100, 50]);
        // The first attribute (IFA_ADDRESS) starts right after the 8-byte ifaddrmsg.
        for bad in [0u16, 3, 200] {
            let mut p = good.clone();
            p[8..10].copy_from_slice(&bad.to_ne_bytes());
            let e = scan(&newaddr(&p), SEQ, PORT, vip()).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "rta_len {bad}");
        }
        // A last attribute without padding is fine: its length says where it ends.
        let mut p = vec![AF_INET, 24, 0, 0, 2, 0, 0, 0];
        p.extend(attribute(IFA_LOCAL, &[198, 51, 100, 50]));
        p.extend_from_slice(&[5, 0, 3, 0, b'x']); // IFA_LABEL "x", unpadded
        let mut m = message(RTM_NEWADDR, NLM_F_MULTI, SEQ, &[]);
        m.extend_from_slice(&p);
        let len = m.len() as u32;
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        assert_eq!(scan(&m, SEQ, PORT, vip()).unwrap().matches.len(), 1);
    }

    #[test]
    fn no_input_makes_it_panic() {
        // Every truncation and every single-byte change of a small dump: an answer or an
        // error, never a panic or an out-of-bounds range.
        let dump = [
            newaddr(&ipv4(2, [198, 51, 100, 10], [198, 51, 100, 10])),
            newaddr(&ipv4(2, [198, 51, 100, 99], [198, 51, 100, 50])),
            done(0),
        ]
        .concat();
        let check = |bytes: &[u8]| {
            if let Ok(s) = scan(bytes, SEQ, PORT, vip()) {
                for r in s.matches {
                    assert!(r.end <= bytes.len() && r.start <= r.end);
                }
            }
        };
        for cut in 0..=dump.len() {
            check(&dump[..cut]);
        }
        for at in 0..dump.len() {
            for value in [0u8, 1, 3, 4, 0x7f, 0x80, 0xff] {
                let mut changed = dump.clone();
                changed[at] = value;
                check(&changed);
            }
        }
    }

    #[test]
    fn an_address_message_without_attributes_or_with_an_empty_one_is_no_error() {
        // Just the ifaddrmsg: no address in it, nothing matches.
        let bare = newaddr(&[AF_INET, 24, 0, 0, 2, 0, 0, 0]);
        assert_eq!(
            scan(&[bare, done(0)].concat(), SEQ, PORT, vip()).unwrap(),
            Scanned {
                matches: vec![],
                done: true,
                interrupted: false
            }
        );
        // An attribute with no value (rta_len 4) before the address.
        let mut p = vec![AF_INET, 24, 0, 0, 2, 0, 0, 0];
        p.extend(attribute(8, &[])); // IFA_FLAGS, empty
        p.extend(attribute(IFA_LOCAL, &[198, 51, 100, 50]));
        assert_eq!(
            scan(&newaddr(&p), SEQ, PORT, vip()).unwrap().matches.len(),
            1
        );
    }

    #[test]
    fn an_attribute_longer_than_what_is_left_of_its_message_is_an_error() {
        // The last attribute says it is 4 bytes longer than what is left of its message.
        let mut p = vec![AF_INET, 24, 0, 0, 2, 0, 0, 0];
        p.extend(attribute(IFA_ADDRESS, &[198, 51, 100, 50]));
        p.extend(attribute(IFA_LOCAL, &[198, 51, 100, 50]));
        let last = p.len() - 8;
        p[last..last + 2].copy_from_slice(&12u16.to_ne_bytes());
        let e = scan(&[newaddr(&p), done(0)].concat(), SEQ, PORT, vip()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
