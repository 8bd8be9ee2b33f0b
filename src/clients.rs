//! The clients of the floating address (pure): the list of TCP connections the owner records
//! so that the node taking the address over can tickle each client (issue 17), its text form
//! as it travels through Pacemaker's attribute manager, the trust rules a list read back must
//! pass, and when the owner polls and shares it.
//!
//! A list names only clients (address and port) and the VIP's local port; the VIP itself is
//! in the header, and a list of another address is refused whole. Nothing from a list is ever
//! sent anywhere but to a client it names, from the VIP.

use crate::connections::Socket;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// One client connected to the VIP: its address and port, and the VIP's port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Client {
    pub remote: SocketAddr,
    pub local_port: u16,
}

impl Client {
    /// The connection as (VIP end, client end).
    pub fn pair(&self, vip: IpAddr) -> (SocketAddr, SocketAddr) {
        (SocketAddr::new(vip, self.local_port), self.remote)
    }
}

/// At most this many clients are recorded, shared and tickled (a busy server's rest waits
/// for its own timeouts, as without floatip).
pub const CAP: usize = 1024;
/// The longest list text accepted (CAP IPv6 clients fit).
pub const TEXT_MAX: usize = 64 * 1024;
/// A list older than this is not tickled: its connections are likely gone, and its clients'
/// ports may serve other connections by now. The owner shares again well within it.
pub const STALE_AFTER: Duration = Duration::from_secs(600);
/// How often the owner polls its connections: the granularity a user gets (a connection
/// opened since the last poll is not tickled after a power-off).
pub const POLL_EVERY: Duration = Duration::from_secs(5);
/// A changed list is shared at most this often.
pub const SHARE_GAP: Duration = Duration::from_secs(5);
/// An unchanged list is shared again this often: it stays fresh (STALE_AFTER), and a node that
/// rejoined (attrd erased what it held) finds it again.
pub const SHARE_AGAIN: Duration = Duration::from_secs(60);
/// The second round of tickles follows the first this much later: a client answers invalid
/// segments at most about twice a second (Linux's tcp_invalid_ratelimit, 500 ms), so a
/// second round sooner would find it mute.
pub const TICKLE_AGAIN_AFTER: Duration = Duration::from_millis(600);

const TAG: &str = "floatip-clients-1";

/// The attribute (Pacemaker's attribute manager) that holds the client list of `resource`.
pub fn attribute_name(resource: &str) -> String {
    format!("floatip-clients-{resource}")
}

/// The clients of the sockets whose local address is `vip`, sorted, without duplicates,
/// capped at CAP; and whether some were left out by the cap.
pub fn of_sockets(vip: IpAddr, sockets: &[Socket]) -> (Vec<Client>, bool) {
    let mut clients: Vec<Client> = sockets
        .iter()
        .filter(|s| s.is_on(vip))
        .map(|s| Client {
            remote: SocketAddr::new(unmapped(s.remote.ip()), s.remote.port()),
            local_port: s.local.port(),
        })
        .filter(|c| acceptable(vip, c))
        .collect();
    clients.sort();
    clients.dedup();
    let capped = clients.len() > CAP;
    clients.truncate(CAP);
    (clients, capped)
}

fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether a client may be tickled from `vip`: a unicast address of the VIP's family, not
/// the VIP, not loopback, and real ports.
fn acceptable(vip: IpAddr, c: &Client) -> bool {
    let ip = c.remote.ip();
    let unicast = match ip {
        IpAddr::V4(v4) => !v4.is_broadcast() && !v4.is_multicast() && !v4.is_unspecified(),
        IpAddr::V6(v6) => !v6.is_multicast() && !v6.is_unspecified(),
    };
    ip.is_ipv4() == vip.is_ipv4()
        && unicast
        && !ip.is_loopback()
        && ip != vip
        && c.remote.port() != 0
        && c.local_port != 0
}

/// The list as text: tag, unix time of the recording, the VIP, then `ip,port,local-port` per
/// client, separated by spaces.
pub fn encode(vip: IpAddr, clients: &[Client], unix_now: u64) -> String {
    let mut text = format!("{TAG} {unix_now} {vip}");
    for c in clients.iter().take(CAP) {
        text.push_str(&format!(
            " {},{},{}",
            c.remote.ip(),
            c.remote.port(),
            c.local_port
        ));
    }
    text
}

/// Why a list read back is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Oversized(usize),
    Malformed(String),
    /// Of another address (a forged list, or the resource's former address).
    Foreign(IpAddr),
    Stale {
        age_s: u64,
    },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Oversized(len) => write!(f, "it is {len} bytes, more than {TEXT_MAX}"),
            Refused::Malformed(why) => write!(f, "it is malformed ({why})"),
            Refused::Foreign(ip) => write!(f, "it is the list of {ip}, not of this address"),
            Refused::Stale { age_s } => write!(
                f,
                "it was recorded {age_s}s ago, more than {}s",
                STALE_AFTER.as_secs()
            ),
        }
    }
}

/// A list read back, as far as it can be trusted: its clients (at most CAP), and how many
/// entries were dropped as unacceptable for `vip`. A list that is oversized, malformed in
/// any entry, of another address or stale is refused whole.
pub fn decode(vip: IpAddr, text: &str, unix_now: u64) -> Result<(Vec<Client>, usize), Refused> {
    if text.len() > TEXT_MAX {
        return Err(Refused::Oversized(text.len()));
    }
    let malformed = |why: &str| Refused::Malformed(why.to_string());
    let mut words = text.split_ascii_whitespace();
    if words.next() != Some(TAG) {
        return Err(malformed("no floatip-clients-1 tag"));
    }
    let at: u64 = words
        .next()
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| malformed("no time"))?;
    let of: IpAddr = words
        .next()
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| malformed("no address"))?;
    if of != vip {
        return Err(Refused::Foreign(of));
    }
    // A clock a little ahead on the owner is no reason to refuse; far ahead is.
    if at > unix_now + 60 || unix_now.saturating_sub(at) > STALE_AFTER.as_secs() {
        return Err(Refused::Stale {
            age_s: unix_now.saturating_sub(at),
        });
    }
    let mut clients = Vec::new();
    let mut dropped = 0;
    for word in words {
        let mut parts = word.split(',');
        let (Some(ip), Some(port), Some(local), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("an entry is not ip,port,local-port"));
        };
        let (Ok(ip), Ok(port), Ok(local_port)) = (
            ip.parse::<IpAddr>(),
            port.parse::<u16>(),
            local.parse::<u16>(),
        ) else {
            return Err(malformed("an entry is not ip,port,local-port"));
        };
        let client = Client {
            remote: SocketAddr::new(ip, port),
            local_port,
        };
        if clients.len() >= CAP || !acceptable(vip, &client) {
            dropped += 1;
        } else {
            clients.push(client);
        }
    }
    clients.sort();
    clients.dedup();
    Ok((clients, dropped))
}

/// What the owner knows of its clients and of sharing them (the resident's part).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// The clients found by the last poll.
    pub recorded: Vec<Client>,
    /// What was shared last, and when.
    shared: Option<(Vec<Client>, Duration)>,
    /// The cap was logged (once).
    told_capped: bool,
    /// The last share failed (logged once per streak).
    failing: bool,
}

impl Recorder {
    /// A poll's outcome: the list to share now, if any (changed and SHARE_GAP since the last
    /// share, or unchanged for SHARE_AGAIN); and a line to log the first time the cap bites.
    pub fn polled(
        &mut self,
        now: Duration,
        clients: Vec<Client>,
        capped: bool,
    ) -> (Option<Vec<Client>>, Option<String>) {
        let note = (capped && !self.told_capped).then(|| {
            format!("more than {CAP} client connections; only {CAP} are recorded for tickling")
        });
        self.told_capped |= capped;
        self.recorded = clients;
        let due = match &self.shared {
            None => true,
            Some((list, at)) => {
                let since = now.saturating_sub(*at);
                (*list != self.recorded && since >= SHARE_GAP) || since >= SHARE_AGAIN
            }
        };
        if due {
            self.shared = Some((self.recorded.clone(), now));
            (Some(self.recorded.clone()), note)
        } else {
            (None, note)
        }
    }

    /// A share's outcome: a line to log when sharing starts failing or works again.
    pub fn share_outcome(&mut self, failure: Option<String>) -> Option<String> {
        match (failure, self.failing) {
            (Some(why), false) => {
                self.failing = true;
                Some(format!(
                    "cannot share the client list ({why}); after a failover here, clients wait for their own timeouts"
                ))
            }
            (None, true) => {
                self.failing = false;
                Some("the client list is shared again".to_string())
            }
            _ => None,
        }
    }

    /// When the list was last shared (successfully or not, it was tried).
    pub fn shared_at(&self) -> Option<Duration> {
        self.shared
            .as_ref()
            .filter(|_| !self.failing)
            .map(|(_, at)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn vip4() -> IpAddr {
        "198.51.100.50".parse().unwrap()
    }

    fn client(text: &str, local_port: u16) -> Client {
        Client {
            remote: text.parse().unwrap(),
            local_port,
        }
    }

    #[test]
    fn a_list_round_trips_through_its_text() {
        let clients = vec![
            client("198.51.100.9:40000", 80),
            client("203.0.113.9:5000", 8080),
        ];
        let text = encode(vip4(), &clients, NOW);
        assert_eq!(
            text,
            "floatip-clients-1 1800000000 198.51.100.50 198.51.100.9,40000,80 203.0.113.9,5000,8080"
        );
        assert_eq!(decode(vip4(), &text, NOW + 5), Ok((clients, 0)));
        let vip6: IpAddr = "2001:db8::50".parse().unwrap();
        let six = vec![client("[2001:db8:2::9]:41000", 443)];
        let text = encode(vip6, &six, NOW);
        assert_eq!(decode(vip6, &text, NOW), Ok((six, 0)));
        assert_eq!(decode(vip6, &encode(vip6, &[], NOW), NOW), Ok((vec![], 0)));
    }

    #[test]
    fn a_list_of_another_address_stale_oversized_or_malformed_is_refused_whole() {
        let good = "198.51.100.9,40000,80";
        let other = format!("floatip-clients-1 {NOW} 198.51.100.51 {good}");
        assert_eq!(
            decode(vip4(), &other, NOW),
            Err(Refused::Foreign("198.51.100.51".parse().unwrap()))
        );
        let old = format!("floatip-clients-1 {} 198.51.100.50 {good}", NOW - 601);
        assert_eq!(
            decode(vip4(), &old, NOW),
            Err(Refused::Stale { age_s: 601 })
        );
        let future = format!("floatip-clients-1 {} 198.51.100.50 {good}", NOW + 3600);
        assert!(matches!(
            decode(vip4(), &future, NOW),
            Err(Refused::Stale { .. })
        ));
        let huge = format!(
            "floatip-clients-1 {NOW} 198.51.100.50 {}",
            vec![good; 5000].join(" ")
        );
        assert_eq!(
            decode(vip4(), &huge, NOW),
            Err(Refused::Oversized(huge.len()))
        );
        for garbage in [
            "",
            "hello",
            "floatip-clients-1",
            "floatip-clients-1 soon 198.51.100.50",
            "floatip-clients-1 1800000000 nowhere",
            "floatip-clients-1 1800000000 198.51.100.50 198.51.100.9,40000",
            "floatip-clients-1 1800000000 198.51.100.50 198.51.100.9,40000,80,1",
            "floatip-clients-1 1800000000 198.51.100.50 198.51.100.9,70000,80",
            "floatip-clients-1 1800000000 198.51.100.50 ;rm,-rf,/",
        ] {
            assert!(
                matches!(decode(vip4(), garbage, NOW), Err(Refused::Malformed(_))),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn entries_that_no_client_of_the_vip_can_be_are_dropped_and_counted() {
        let text = format!(
            "floatip-clients-1 {NOW} 198.51.100.50 198.51.100.9,40000,80 \
             255.255.255.255,1,80 224.0.0.1,1,80 127.0.0.1,1,80 0.0.0.0,1,80 \
             198.51.100.50,1,80 2001:db8::9,1,80 198.51.100.9,0,80 198.51.100.9,1,0"
        );
        assert_eq!(
            decode(vip4(), &text, NOW),
            Ok((vec![client("198.51.100.9:40000", 80)], 8))
        );
    }

    #[test]
    fn at_most_cap_clients_are_kept_from_a_list_or_from_sockets() {
        let many: Vec<Client> = (0..CAP as u16 + 10)
            .map(|i| client(&format!("203.0.113.9:{}", 1000 + i), 80))
            .collect();
        let words: Vec<String> = many
            .iter()
            .map(|c| format!("{},{},{}", c.remote.ip(), c.remote.port(), c.local_port))
            .collect();
        let text = format!("floatip-clients-1 {NOW} 198.51.100.50 {}", words.join(" "));
        let (kept, dropped) = decode(vip4(), &text, NOW).unwrap();
        assert_eq!((kept.len(), dropped), (CAP, 10));
        assert_eq!(encode(vip4(), &many, NOW), {
            let mut t = format!("floatip-clients-1 {NOW} 198.51.100.50");
            for w in &words[..CAP] {
                t.push(' ');
                t.push_str(w);
            }
            t
        });
    }

    #[test]
    fn the_owner_shares_a_change_at_most_every_gap_and_an_unchanged_list_now_and_then() {
        let s = Duration::from_secs;
        let mut r = Recorder::default();
        let one = vec![client("198.51.100.9:40000", 80)];
        let two = vec![
            client("198.51.100.9:40000", 80),
            client("203.0.113.9:1", 80),
        ];
        assert_eq!(r.polled(s(0), vec![], false).0, Some(vec![]), "first");
        assert_eq!(r.polled(s(5), vec![], false).0, None, "unchanged");
        assert_eq!(r.polled(s(6), one.clone(), false).0, Some(one.clone()));
        assert_eq!(r.polled(s(8), two.clone(), false).0, None, "within the gap");
        assert_eq!(r.polled(s(11), two.clone(), false).0, Some(two.clone()));
        assert_eq!(r.polled(s(70), two.clone(), false).0, None);
        assert_eq!(r.polled(s(71), two.clone(), false).0, Some(two), "again");
        assert_eq!(r.shared_at(), Some(s(71)));
        let (_, note) = r.polled(s(80), one.clone(), true);
        assert!(note.unwrap().contains("only 1024"));
        assert_eq!(r.polled(s(90), one, true).1, None, "the cap is told once");
    }

    #[test]
    fn a_failing_share_is_told_once_and_its_recovery_too() {
        let mut r = Recorder::default();
        r.polled(Duration::ZERO, vec![], false);
        assert!(r
            .share_outcome(Some("no attrd".into()))
            .unwrap()
            .contains("no attrd"));
        assert_eq!(r.shared_at(), None);
        assert_eq!(r.share_outcome(Some("no attrd".into())), None);
        assert!(r.share_outcome(None).is_some());
        assert_eq!(r.share_outcome(None), None);
        assert_eq!(r.shared_at(), Some(Duration::ZERO));
    }

    #[test]
    fn only_the_vips_connections_are_recorded_mapped_ones_as_ipv4() {
        let socket = |family, local: &str, remote: &str| {
            Socket::listed(family, local.parse().unwrap(), remote.parse().unwrap())
        };
        let sockets = [
            socket(libc::AF_INET, "198.51.100.50:80", "203.0.113.9:40000"),
            socket(libc::AF_INET, "198.51.100.50:80", "203.0.113.9:40000"),
            socket(
                libc::AF_INET6,
                "[::ffff:198.51.100.50]:443",
                "[::ffff:198.51.100.9]:5000",
            ),
            socket(libc::AF_INET, "198.51.100.1:22", "198.51.100.9:5001"),
        ];
        let (clients, capped) = of_sockets(vip4(), &sockets);
        assert_eq!(
            clients,
            vec![
                client("198.51.100.9:5000", 443),
                client("203.0.113.9:40000", 80)
            ]
        );
        assert!(!capped);
        let many: Vec<Socket> = (0..CAP as u16 + 1)
            .map(|i| {
                socket(
                    libc::AF_INET,
                    "198.51.100.50:80",
                    &format!("203.0.113.9:{}", 1000 + i),
                )
            })
            .collect();
        let (clients, capped) = of_sockets(vip4(), &many);
        assert_eq!((clients.len(), capped), (CAP, true));
        // exactly CAP is all of them: nothing was left out
        let (clients, capped) = of_sockets(vip4(), &many[..CAP]);
        assert_eq!((clients.len(), capped), (CAP, false));
    }

    #[test]
    fn the_attribute_is_named_after_the_resource() {
        assert_eq!(attribute_name("vip"), "floatip-clients-vip");
        assert_eq!(attribute_name("web:1"), "floatip-clients-web:1");
    }

    #[test]
    fn broadcast_multicast_and_unspecified_peers_are_no_clients() {
        for peer in ["255.255.255.255", "224.0.0.1", "0.0.0.0"] {
            let text = format!("floatip-clients-1 {NOW} 198.51.100.50 {peer},40000,80");
            assert_eq!(decode(vip4(), &text, NOW), Ok((vec![], 1)), "{peer}");
        }
        let vip6: IpAddr = "2001:db8::50".parse().unwrap();
        for peer in ["ff02::1", "::"] {
            let text = format!("floatip-clients-1 {NOW} 2001:db8::50 {peer},40000,80");
            assert_eq!(decode(vip6, &text, NOW), Ok((vec![], 1)), "{peer}");
        }
    }

    #[test]
    fn the_limits_are_inclusive() {
        let good = "198.51.100.9,40000,80";
        let one = vec![client("198.51.100.9:40000", 80)];
        // recorded exactly STALE_AFTER ago, or a minute ahead of this node's clock
        for at in [NOW - STALE_AFTER.as_secs(), NOW + 60] {
            let text = format!("floatip-clients-1 {at} 198.51.100.50 {good}");
            assert_eq!(decode(vip4(), &text, NOW), Ok((one.clone(), 0)), "{at}");
        }
        let ahead = format!("floatip-clients-1 {} 198.51.100.50 {good}", NOW + 61);
        assert_eq!(
            decode(vip4(), &ahead, NOW),
            Err(Refused::Stale { age_s: 0 })
        );
        // exactly TEXT_MAX bytes (padded with spaces, which separate nothing)
        let mut text = format!("floatip-clients-1 {NOW} 198.51.100.50 {good}");
        text.push_str(&" ".repeat(TEXT_MAX - text.len()));
        assert_eq!(decode(vip4(), &text, NOW), Ok((one, 0)));
        text.push(' ');
        assert_eq!(
            decode(vip4(), &text, NOW),
            Err(Refused::Oversized(TEXT_MAX + 1))
        );
    }

    #[test]
    fn a_refusal_says_why_in_its_log_line() {
        let said = |r: Refused| r.to_string();
        assert_eq!(
            said(Refused::Oversized(70000)),
            "it is 70000 bytes, more than 65536"
        );
        assert_eq!(
            said(Refused::Malformed("no time".into())),
            "it is malformed (no time)"
        );
        assert_eq!(
            said(Refused::Foreign("198.51.100.51".parse().unwrap())),
            "it is the list of 198.51.100.51, not of this address"
        );
        assert_eq!(
            said(Refused::Stale { age_s: 601 }),
            "it was recorded 601s ago, more than 600s"
        );
    }
}
