//! `floatip probe-segment` frames: a broadcast with IEEE 802's local experimental EtherType
//! (0x88B5, which no protocol stack processes), carrying a per-run nonce and the index of the
//! interface that sent it, so a receiver knows which interface shares its segment.

use super::{MacAddr, BROADCAST_MAC, ETHERNET_HEADER_LEN};
use pnet_packet::ethernet::{EtherType, EthernetPacket, MutableEthernetPacket};
use pnet_packet::Packet;

pub const ETHERTYPE: u16 = 0x88b5;
const MAGIC: &[u8; 8] = b"floatip\0";
pub const FRAME_LEN: usize = 60;

pub fn probe_frame(mac: MacAddr, nonce: u64, sender: u16) -> [u8; FRAME_LEN] {
    let mut buffer = [0u8; FRAME_LEN];
    {
        let mut ethernet = MutableEthernetPacket::new(&mut buffer).expect("buffer fits Ethernet");
        ethernet.set_destination(BROADCAST_MAC);
        ethernet.set_source(mac);
        ethernet.set_ethertype(EtherType(ETHERTYPE));
    }
    let payload = &mut buffer[ETHERNET_HEADER_LEN..];
    payload[..8].copy_from_slice(MAGIC);
    payload[8..16].copy_from_slice(&nonce.to_be_bytes());
    payload[16..18].copy_from_slice(&sender.to_be_bytes());
    buffer
}

/// The sender index of a probe from this run (matching `nonce`), or None.
pub fn parse(frame: &[u8], nonce: u64) -> Option<u16> {
    let ethernet = EthernetPacket::new(frame)?;
    if ethernet.get_ethertype() != EtherType(ETHERTYPE) {
        return None;
    }
    let payload = ethernet.payload();
    if payload.get(..8)? != MAGIC || payload.get(8..16)? != nonce.to_be_bytes() {
        return None;
    }
    Some(u16::from_be_bytes(payload.get(16..18)?.try_into().ok()?))
}

/// Groups interfaces 0..n into segments from "i was heard on j" pairs (union-find), each
/// group in index order, groups ordered by their first member.
pub fn segments(n: usize, heard: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b) in heard.iter().filter(|(a, b)| *a < n && *b < n) {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        match groups
            .iter_mut()
            .find(|g| root(&mut parent.clone(), g[0]) == r)
        {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_round_trips_only_for_its_run() {
        let frame = probe_frame(MacAddr(2, 0, 0, 0, 0, 1), 0xdead_beef, 3);
        assert_eq!(&frame[12..14], &[0x88, 0xb5]);
        assert_eq!(parse(&frame, 0xdead_beef), Some(3));
        assert_eq!(parse(&frame, 1), None, "another run's probe");
        assert_eq!(parse(&frame[..20], 0xdead_beef), None);
    }

    #[test]
    fn segments_join_what_hears_each_other() {
        assert_eq!(
            segments(4, &[(0, 2), (2, 0)]),
            vec![vec![0, 2], vec![1], vec![3]]
        );
        assert_eq!(segments(3, &[(0, 1), (1, 2)]), vec![vec![0, 1, 2]]);
        assert_eq!(segments(2, &[]), vec![vec![0], vec![1]]);
    }

    #[test]
    fn a_sender_or_receiver_out_of_range_is_ignored() {
        // A stray index (a probe from a run with more interfaces) must neither join nor panic.
        assert_eq!(
            segments(2, &[(0, 2), (2, 1), (7, 9)]),
            vec![vec![0], vec![1]]
        );
    }
}
