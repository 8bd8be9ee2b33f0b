//! Finding the interface and prefix for the address when they are not given, the way
//! IPaddr2's findif does: among the link-scope routes of the main table that cover the
//! address (default, unreachable, blackhole and prohibit routes ignored), the one with the
//! lowest metric, then the longest prefix (pure).
//!
//! The order follows findif.sh since resource-agents 4.17 (ClusterLabs/resource-agents#2052),
//! which sorts the covering routes by metric before anything else; 4.12 took the longest
//! prefix and broke ties by dump order. Where findif leaves a tie to `sort`'s whole-line
//! comparison (the device name), this takes the lowest interface index: as deterministic, and
//! known without another lookup. `proto` (4.16, #1980) keeps only routes of one routing
//! protocol, so that router-advertised or daemon-installed routes cannot win.

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
    /// rtm_protocol: what installed the route (2 kernel, 4 static, 9 ra...).
    pub protocol: u8,
    /// RTA_PRIORITY; 0 when the route has none, as `ip route` then shows no metric.
    pub metric: u32,
}

/// Where the address goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub ifindex: u32,
    pub prefix_len: u8,
    /// The metric of the route that placed the address, when one did: an IPv6 address is
    /// added with it (IPaddr2 4.15), so its prefix route is that route rather than a second
    /// one with the kernel's default metric.
    pub metric: Option<u32>,
}

/// What the configuration says about placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub ip: IpAddr,
    /// The index of the configured interface.
    pub nic: Option<u32>,
    /// The configured prefix length.
    pub prefix: Option<u8>,
    /// Only routes of this routing protocol count (`proto`).
    pub proto: Option<u8>,
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

/// The covering route findif would pick, if any: lowest metric, then longest prefix, then
/// lowest interface index.
fn best_route<'a>(w: &Wanted, routes: &'a [Route]) -> Option<&'a Route> {
    routes
        .iter()
        .filter(|r| is_on_link(r) && r.destination.is_ipv4() == w.ip.is_ipv4())
        .filter(|r| covers(r.destination, r.prefix_len, w.ip))
        // Like `ip route list match ip/prefix`: the route must cover the whole wanted prefix.
        .filter(|r| w.prefix.is_none_or(|p| r.prefix_len <= p))
        .filter(|r| w.nic.is_none_or(|n| r.ifindex == Some(n)))
        .filter(|r| w.proto.is_none_or(|p| r.protocol == p))
        .min_by_key(|r| (r.metric, std::cmp::Reverse(r.prefix_len), r.ifindex))
}

/// Decides interface and prefix; None when no covering route places the address. That is
/// this node's fact, not the configuration's (another node's routes may place it), so the
/// caller says it with `Error::unplaced`, naming what it asked for. A given prefix must be
/// covered by the route, for IPv4 and IPv6 alike (today's findif: `ip route list match
/// ip/prefix`), so it may be longer than the route's but not shorter.
pub fn place(w: &Wanted, routes: &[Route]) -> Option<Placement> {
    let best = best_route(w, routes);
    if let (Some(ifindex), Some(prefix_len)) = (w.nic, w.prefix) {
        // Interface and prefix are given; a covering route only lends its metric.
        return Some(Placement {
            ifindex,
            prefix_len,
            metric: best.map(|r| r.metric),
        });
    }
    let best = best?;
    Some(Placement {
        ifindex: w
            .nic
            .or(best.ifindex)
            .expect("on-link routes have an interface"),
        prefix_len: w.prefix.unwrap_or(best.prefix_len),
        metric: Some(best.metric),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dst: &str, len: u8, ifindex: u32) -> Route {
        let destination: IpAddr = dst.parse().unwrap();
        Route {
            destination,
            prefix_len: len,
            ifindex: Some(ifindex),
            kind: RouteKind::Unicast,
            link_scope: destination.is_ipv4(),
            has_gateway: false,
            protocol: 2,
            metric: 0,
        }
    }

    fn wanted(ip: &str, nic: Option<u32>, prefix: Option<u8>) -> Wanted {
        Wanted {
            ip: ip.parse().unwrap(),
            nic,
            prefix,
            proto: None,
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
        let p = place(&wanted("198.51.100.200", None, None), &table()).unwrap();
        assert_eq!(
            p,
            Placement {
                ifindex: 2,
                prefix_len: 24,
                metric: Some(0)
            }
        );
    }

    #[test]
    fn default_and_unreachable_routes_are_ignored() {
        assert_eq!(place(&wanted("203.0.113.9", None, None), &table()), None);
    }

    #[test]
    fn ipv4_prefix_may_be_longer_but_not_shorter_than_the_route() {
        assert_eq!(
            place(&wanted("198.51.100.2", None, Some(28)), &table())
                .unwrap()
                .prefix_len,
            28
        );
        // A /8 is wider than every covering route.
        assert!(place(&wanted("198.51.100.2", None, Some(8)), &table()).is_none());
        // /16 is still covered by the 198.51.0.0/16 route on interface 3.
        assert_eq!(
            place(&wanted("198.51.100.2", None, Some(16)), &table())
                .unwrap()
                .ifindex,
            3
        );
    }

    #[test]
    fn an_ipv6_prefix_may_be_longer_than_the_route_but_not_shorter_as_ipv4() {
        for len in [64, 80, 128] {
            let p = place(&wanted("2001:db8:1234::2", None, Some(len)), &table()).unwrap();
            assert_eq!((p.ifindex, p.prefix_len), (2, len));
        }
        assert!(place(&wanted("2001:db8:1234::2", None, Some(48)), &table()).is_none());
    }

    #[test]
    fn nic_restricts_the_routes() {
        assert_eq!(
            place(&wanted("fe80::2", Some(3), None), &table()).unwrap(),
            Placement {
                ifindex: 3,
                prefix_len: 64,
                metric: Some(0)
            }
        );
        assert!(place(&wanted("2001:db8:1234::2", Some(3), None), &table()).is_none());
    }

    #[test]
    fn nic_and_prefix_need_no_route() {
        assert_eq!(
            place(&wanted("203.0.113.9", Some(7), Some(24)), &[]).unwrap(),
            Placement {
                ifindex: 7,
                prefix_len: 24,
                metric: None
            }
        );
    }

    #[test]
    fn proto_keeps_only_routes_of_that_protocol() {
        // A router-advertised /64 with a lower metric than the kernel's /64, and a static /25
        // that would win on prefix length: with proto=kernel only the kernel route counts.
        let routes = vec![
            Route {
                metric: 256,
                ..route("2001:db8:100::", 64, 2)
            },
            Route {
                protocol: 9,
                metric: 100,
                ..route("2001:db8:100::", 64, 3)
            },
            Route {
                protocol: 4,
                ..route("198.51.100.0", 25, 3)
            },
            route("198.51.100.0", 24, 2),
        ];
        let kernel = |ip: &str| Wanted {
            proto: Some(2),
            ..wanted(ip, None, None)
        };
        assert_eq!(
            place(&kernel("2001:db8:100::50"), &routes).unwrap().ifindex,
            2
        );
        assert_eq!(place(&kernel("198.51.100.50"), &routes).unwrap().ifindex, 2);
        assert_eq!(
            place(&wanted("198.51.100.50", None, None), &routes)
                .unwrap()
                .ifindex,
            3
        );
        let none = Wanted {
            proto: Some(186),
            ..wanted("198.51.100.50", None, None)
        };
        assert_eq!(place(&none, &routes), None);
    }

    #[test]
    fn equal_prefixes_go_to_the_lowest_metric_whatever_the_dump_order() {
        let a = Route {
            metric: 200,
            ..route("198.51.100.0", 24, 2)
        };
        let b = Route {
            metric: 100,
            ..route("198.51.100.0", 24, 3)
        };
        for routes in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
            let p = place(&wanted("198.51.100.50", None, None), &routes).unwrap();
            assert_eq!((p.ifindex, p.metric), (3, Some(100)));
        }
        // Equal metrics too: the lower interface index, in either order.
        let c = Route { metric: 100, ..a };
        for routes in [vec![c.clone(), b.clone()], vec![b.clone(), c.clone()]] {
            assert_eq!(
                place(&wanted("198.51.100.50", None, None), &routes)
                    .unwrap()
                    .ifindex,
                2
            );
        }
    }

    #[test]
    fn metric_comes_before_prefix_length_as_in_findif_since_4_17() {
        let routes = vec![
            Route {
                metric: 100,
                ..route("198.51.100.0", 24, 2)
            },
            route("198.51.0.0", 16, 3),
        ];
        let p = place(&wanted("198.51.100.50", None, None), &routes).unwrap();
        assert_eq!((p.ifindex, p.prefix_len, p.metric), (3, 16, Some(0)));
    }

    #[test]
    fn a_given_nic_and_prefix_still_take_the_covering_routes_metric() {
        let routes = vec![Route {
            metric: 1024,
            ..route("2001:db8:100::", 64, 2)
        }];
        let p = place(&wanted("2001:db8:100::50", Some(2), Some(64)), &routes).unwrap();
        assert_eq!(p.metric, Some(1024));
        let elsewhere = place(&wanted("2001:db8:100::50", Some(5), Some(64)), &routes).unwrap();
        assert_eq!(elsewhere.metric, None, "no covering route on that nic");
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
