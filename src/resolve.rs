//! Finding the interface and prefix for the address when they are not given, the way
//! IPaddr2's findif does: the longest-prefix link-scope route of the main table that covers the
//! address, ignoring default, unreachable, blackhole and prohibit routes (pure).

use crate::error::{Error, Result};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Unicast,
    /// unreachable, blackhole, prohibit, local, broadcast...: never an on-link subnet.
    Other,
}

/// A route of the main table, as much of it as the decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: IpAddr,
    pub prefix_len: u8,
    pub ifindex: Option<u32>,
    pub kind: RouteKind,
    /// RT_SCOPE_LINK for IPv4 on-link subnets.
    pub link_scope: bool,
    pub has_gateway: bool,
}

/// Where the address goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub ifindex: u32,
    pub prefix_len: u8,
}

pub fn covers(network: IpAddr, prefix_len: u8, ip: IpAddr) -> bool {
    match (network, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) if prefix_len <= 32 => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix_len))
                .unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if prefix_len <= 128 => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix_len))
                .unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// An on-link subnet route: unicast, not the default, with an interface, link scope for IPv4
/// (findif's `scope link`) and without a gateway for IPv6.
fn is_on_link(route: &Route) -> bool {
    route.kind == RouteKind::Unicast
        && route.prefix_len > 0
        && route.ifindex.is_some()
        && match route.destination {
            IpAddr::V4(_) => route.link_scope,
            IpAddr::V6(_) => !route.has_gateway,
        }
}

/// Decides interface and prefix. `nic` is the index of the configured interface, if any;
/// `prefix` the configured prefix length. Failure is OCF_ERR_GENERIC, as IPaddr2's ocft cases
/// expect: the parameters are well-formed, this node's routes just do not place the address.
pub fn place(
    ip: IpAddr,
    nic: Option<u32>,
    prefix: Option<u8>,
    routes: &[Route],
) -> Result<Placement> {
    if let (Some(ifindex), Some(prefix_len)) = (nic, prefix) {
        return Ok(Placement {
            ifindex,
            prefix_len,
        });
    }
    let best = routes
        .iter()
        .filter(|r| is_on_link(r) && r.destination.is_ipv4() == ip.is_ipv4())
        .filter(|r| covers(r.destination, r.prefix_len, ip))
        // Like `ip route list match ip/prefix`: the route must cover the whole wanted prefix.
        .filter(|r| prefix.is_none_or(|p| r.prefix_len <= p))
        .filter(|r| nic.is_none_or(|n| r.ifindex == Some(n)))
        .max_by_key(|r| r.prefix_len);
    let Some(best) = best else {
        let wanted = match prefix {
            Some(p) => format!("{ip}/{p}"),
            None => ip.to_string(),
        };
        return Err(Error::generic(match nic {
            Some(_) => format!("no route on nic covers {wanted}: set cidr_netmask, or check the nic"),
            None => format!("no interface found for {wanted}: no link-scope route covers it; set nic and cidr_netmask"),
        }));
    };
    if ip.is_ipv6() && nic.is_none() {
        if let Some(p) = prefix.filter(|p| *p != best.prefix_len) {
            return Err(Error::generic(format!(
                "cidr_netmask {p} differs from the covering route {}/{}: set nic to use another prefix",
                best.destination, best.prefix_len
            )));
        }
    }
    Ok(Placement {
        ifindex: nic
            .or(best.ifindex)
            .expect("on-link routes have an interface"),
        prefix_len: prefix.unwrap_or(best.prefix_len),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocf::Status;

    fn route(dst: &str, len: u8, ifindex: u32) -> Route {
        let destination: IpAddr = dst.parse().unwrap();
        Route {
            destination,
            prefix_len: len,
            ifindex: Some(ifindex),
            kind: RouteKind::Unicast,
            link_scope: destination.is_ipv4(),
            has_gateway: false,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn table() -> Vec<Route> {
        vec![
            route("0.0.0.0", 0, 2),
            route("198.51.0.0", 16, 3),
            route("198.51.100.0", 24, 2),
            Route {
                kind: RouteKind::Other,
                ..route("203.0.113.0", 24, 2)
            },
            Route {
                link_scope: false,
                has_gateway: true,
                ..route("198.51.100.128", 25, 4)
            },
            route("2001:db8:1234::", 64, 2),
            route("fe80::", 64, 2),
            route("fe80::", 64, 3),
        ]
    }

    #[test]
    fn longest_link_scope_route_wins() {
        let p = place(ip("198.51.100.200"), None, None, &table()).unwrap();
        assert_eq!(
            p,
            Placement {
                ifindex: 2,
                prefix_len: 24
            }
        );
    }

    #[test]
    fn default_and_unreachable_routes_are_ignored() {
        let err = place(ip("203.0.113.9"), None, None, &table()).unwrap_err();
        assert_eq!(err.status, Status::ErrGeneric);
    }

    #[test]
    fn ipv4_prefix_may_be_longer_but_not_shorter_than_the_route() {
        assert_eq!(
            place(ip("198.51.100.2"), None, Some(28), &table())
                .unwrap()
                .prefix_len,
            28
        );
        // A /8 is wider than every covering route.
        assert!(place(ip("198.51.100.2"), None, Some(8), &table()).is_err());
        // /16 is still covered by the 198.51.0.0/16 route on interface 3.
        assert_eq!(
            place(ip("198.51.100.2"), None, Some(16), &table())
                .unwrap()
                .ifindex,
            3
        );
    }

    #[test]
    fn ipv6_without_nic_must_match_the_route_prefix() {
        assert_eq!(
            place(ip("2001:db8:1234::2"), None, Some(64), &table())
                .unwrap()
                .ifindex,
            2
        );
        assert!(place(ip("2001:db8:1234::2"), None, Some(80), &table()).is_err());
        assert!(place(ip("2001:db8:1234::2"), None, Some(48), &table()).is_err());
    }

    #[test]
    fn nic_restricts_the_routes() {
        assert_eq!(
            place(ip("fe80::2"), Some(3), None, &table()).unwrap(),
            Placement {
                ifindex: 3,
                prefix_len: 64
            }
        );
        assert!(place(ip("2001:db8:1234::2"), Some(3), None, &table()).is_err());
    }

    #[test]
    fn nic_and_prefix_need_no_route() {
        assert_eq!(
            place(ip("203.0.113.9"), Some(7), Some(24), &[]).unwrap(),
            Placement {
                ifindex: 7,
                prefix_len: 24
            }
        );
    }

    #[test]
    fn coverage_arithmetic() {
        assert!(covers(ip("198.51.100.0"), 24, ip("198.51.100.255")));
        assert!(!covers(ip("198.51.100.0"), 24, ip("198.51.101.0")));
        assert!(covers(ip("0.0.0.0"), 0, ip("203.0.113.1")));
        assert!(covers(ip("2001:db8::"), 32, ip("2001:db8:ffff::1")));
        assert!(!covers(ip("2001:db8::"), 32, ip("198.51.100.1")));
    }
}
