//! What the observer (`floatip listen`) reports about one frame, as a line of text or a JSON
//! object, and conflict tracking: two MACs claiming one address (pure).

use crate::packet::{MacAddr, Observed};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// One frame, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// arp-announcement, arp-probe, arp-request, arp-reply, na, dad-probe, ns.
    pub kind: &'static str,
    /// The address the frame is about.
    pub ip: IpAddr,
    /// The MAC the frame says holds `ip`, when it claims it (probes and plain solicitations
    /// claim nothing).
    pub claimed_by: Option<MacAddr>,
    pub source_mac: MacAddr,
    pub detail: String,
}

pub fn classify(observed: &Observed) -> Sighting {
    match *observed {
        Observed::Arp {
            operation,
            source_mac,
            sender_mac,
            sender_ip,
            target_mac,
            target_ip,
        } => {
            let (kind, ip, claimed_by) = if sender_ip.is_unspecified() {
                ("arp-probe", IpAddr::V4(target_ip), None)
            } else if sender_ip == target_ip {
                ("arp-announcement", IpAddr::V4(sender_ip), Some(sender_mac))
            } else if operation == 2 {
                ("arp-reply", IpAddr::V4(sender_ip), Some(sender_mac))
            } else {
                ("arp-request", IpAddr::V4(sender_ip), Some(sender_mac))
            };
            // parse_frame passes requests (1) and replies (2) only.
            let op = if operation == 1 { "request" } else { "reply" };
            Sighting {
                kind,
                ip,
                claimed_by,
                source_mac,
                detail: format!("{op} {sender_ip} ({sender_mac}) -> {target_ip} ({target_mac})"),
            }
        }
        Observed::NeighborAdvert {
            source_mac,
            source_ip,
            target,
            router,
            solicited,
            override_flag,
            target_mac,
            ..
        } => {
            let flags: String = [(router, 'R'), (solicited, 'S'), (override_flag, 'O')]
                .iter()
                .map(|(on, c)| if *on { *c } else { '-' })
                .collect();
            Sighting {
                kind: "na",
                ip: IpAddr::V6(target),
                claimed_by: Some(target_mac.unwrap_or(source_mac)),
                source_mac,
                detail: format!("flags {flags} from {source_ip}"),
            }
        }
        Observed::NeighborSolicit {
            source_mac,
            source_ip,
            target,
        } => Sighting {
            kind: if source_ip.is_unspecified() {
                "dad-probe"
            } else {
                "ns"
            },
            ip: IpAddr::V6(target),
            claimed_by: None,
            source_mac,
            detail: format!("from {source_ip}"),
        },
    }
}

/// How many addresses a ConflictTracker remembers: more than any real segment holds, and a
/// bound on memory when someone floods the link with made-up senders.
pub const TRACKED_ADDRESSES: usize = 4096;

/// Remembers which MAC last claimed each address; a different MAC is a conflict. Holds at most
/// TRACKED_ADDRESSES addresses, forgetting the one seen least recently to make room.
#[derive(Debug, Default)]
pub struct ConflictTracker {
    /// Address -> (the MAC that last claimed it, when: a claim counter).
    owners: HashMap<IpAddr, (MacAddr, u64)>,
    /// Claim counter -> address, oldest first: the order to forget in.
    recency: BTreeMap<u64, IpAddr>,
    claims: u64,
}

impl ConflictTracker {
    /// Records a claim; returns the previous, different MAC when this is a conflict.
    pub fn claim(&mut self, ip: IpAddr, mac: MacAddr) -> Option<MacAddr> {
        self.claims += 1;
        let previous = self.owners.insert(ip, (mac, self.claims));
        match previous {
            Some((_, seen)) => {
                self.recency.remove(&seen);
            }
            None if self.owners.len() > TRACKED_ADDRESSES => {
                if let Some((_, oldest)) = self.recency.pop_first() {
                    self.owners.remove(&oldest);
                }
            }
            None => {}
        }
        self.recency.insert(self.claims, ip);
        previous
            .map(|(owner, _)| owner)
            .filter(|owner| *owner != mac)
    }
}

/// Seconds since the epoch as "HH:MM:SS.mmm" (UTC), for the text output.
pub fn clock(unix_seconds: f64) -> String {
    let ms = (unix_seconds * 1000.0) as u64;
    let day_ms = ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

pub fn text_line(at: f64, interface: &str, s: &Sighting, conflict: Option<MacAddr>) -> String {
    let claim = s
        .claimed_by
        .map_or_else(String::new, |m| format!(" is-at {m}"));
    let mut line = format!(
        "{} {interface} {} {}{claim} [{}]",
        clock(at),
        s.kind,
        s.ip,
        s.detail
    );
    if let (Some(previous), Some(now)) = (conflict, s.claimed_by) {
        line += &format!(" CONFLICT: {} was at {previous}, now {now}", s.ip);
    }
    line
}

pub fn json_line(at: f64, interface: &str, s: &Sighting, conflict: Option<MacAddr>) -> Value {
    json!({
        "time": (at * 1000.0).round() / 1000.0,
        "interface": interface,
        "kind": s.kind,
        "ip": s.ip.to_string(),
        "mac": s.claimed_by.map(|m| m.to_string()),
        "source_mac": s.source_mac.to_string(),
        "detail": s.detail,
        "conflict": conflict.zip(s.claimed_by).map(|(previous, now)| json!({
            "ip": s.ip.to_string(),
            "previous_mac": previous.to_string(),
            "mac": now.to_string(),
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{arp, ndp, parse_frame};
    use std::net::{Ipv4Addr, Ipv6Addr};

    const A: MacAddr = MacAddr(2, 0, 0, 0, 0, 0xa);
    const B: MacAddr = MacAddr(2, 0, 0, 0, 0, 0xb);

    fn seen(frame: &[u8]) -> Sighting {
        classify(&parse_frame(frame).unwrap())
    }

    #[test]
    fn frames_are_classified() {
        let v4 = Ipv4Addr::new(198, 51, 100, 50);
        let v6: Ipv6Addr = "2001:db8:100::50".parse().unwrap();
        let announce = seen(&arp::announcement_frame(A, v4, arp::Form::Reply));
        assert_eq!(
            (announce.kind, announce.claimed_by),
            ("arp-announcement", Some(A))
        );
        let probe = seen(&arp::probe_frame(A, v4));
        assert_eq!(
            (probe.kind, probe.claimed_by, probe.ip),
            ("arp-probe", None, IpAddr::V4(v4))
        );
        let na = seen(&ndp::advertisement_frame(B, v6, true));
        assert_eq!((na.kind, na.claimed_by), ("na", Some(B)));
        assert!(na.detail.starts_with("flags R-O"), "{}", na.detail);
        assert_eq!(seen(&ndp::probe_frame(A, v6)).kind, "dad-probe");
    }

    #[test]
    fn a_second_mac_for_one_address_is_a_conflict() {
        let ip: IpAddr = "198.51.100.50".parse().unwrap();
        let mut tracker = ConflictTracker::default();
        assert_eq!(tracker.claim(ip, A), None);
        assert_eq!(tracker.claim(ip, A), None);
        assert_eq!(tracker.claim(ip, B), Some(A));
        assert_eq!(tracker.claim(ip, B), None);
    }

    #[test]
    fn a_flood_of_senders_is_forgotten_oldest_first() {
        let mut tracker = ConflictTracker::default();
        let watched: IpAddr = "198.51.100.50".parse().unwrap();
        assert_eq!(tracker.claim(watched, A), None);
        for i in 0..3 * TRACKED_ADDRESSES as u32 {
            let spoofed = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            assert_eq!(tracker.claim(spoofed, B), None);
            // Seen again and again, the watched address stays.
            if i % 1000 == 0 {
                assert_eq!(tracker.claim(watched, A), None);
            }
            assert!(
                tracker.owners.len() <= TRACKED_ADDRESSES,
                "{} after {i}",
                tracker.owners.len()
            );
        }
        assert_eq!(tracker.owners.len(), TRACKED_ADDRESSES);
        assert_eq!(tracker.recency.len(), TRACKED_ADDRESSES);
        assert_eq!(tracker.claim(watched, B), Some(A), "still remembered");
        // The newest flood addresses are remembered, the oldest forgotten.
        let newest = IpAddr::V4(Ipv4Addr::from(
            0x0a00_0000 + 3 * TRACKED_ADDRESSES as u32 - 1,
        ));
        assert_eq!(tracker.claim(newest, A), Some(B));
        assert_eq!(
            tracker.claim(IpAddr::V4(Ipv4Addr::from(0x0a00_0000)), A),
            None
        );
    }

    #[test]
    fn output_lines() {
        let s = seen(&arp::announcement_frame(
            B,
            Ipv4Addr::new(198, 51, 100, 50),
            arp::Form::Reply,
        ));
        let line = text_line(3661.5, "eth0", &s, Some(A));
        assert!(
            line.starts_with(
                "01:01:01.500 eth0 arp-announcement 198.51.100.50 is-at 02:00:00:00:00:0b"
            ),
            "{line}"
        );
        assert!(line.contains("CONFLICT"), "{line}");
        let v = json_line(3661.5, "eth0", &s, Some(A));
        assert_eq!(v["kind"], "arp-announcement");
        assert_eq!(v["conflict"]["previous_mac"], "02:00:00:00:00:0a");
        assert_eq!(json_line(1.0, "eth0", &s, None)["conflict"], Value::Null);
    }
}
