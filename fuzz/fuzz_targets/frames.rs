//! Received frames: arbitrary bytes into packet::parse_frame and claimant, which must never
//! panic. The input also seeds the builders, whose frames must parse back to what they say.
#![no_main]

use floatip::packet::{arp, claimant, ndp, parse_frame, MacAddr, Observed};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn other_than(mac: MacAddr) -> MacAddr {
    MacAddr(mac.0 ^ 0x02, mac.1, mac.2, mac.3, mac.4, mac.5)
}

fn addresses(seen: &Observed) -> Vec<IpAddr> {
    match *seen {
        Observed::Arp {
            sender_ip,
            target_ip,
            ..
        } => vec![sender_ip.into(), target_ip.into()],
        Observed::NeighborAdvert {
            source_ip,
            destination_ip,
            target,
            ..
        } => vec![source_ip.into(), destination_ip.into(), target.into()],
        Observed::NeighborSolicit {
            source_ip, target, ..
        } => vec![source_ip.into(), target.into()],
    }
}

fn macs(seen: &Observed) -> Vec<MacAddr> {
    match *seen {
        Observed::Arp {
            source_mac,
            sender_mac,
            target_mac,
            ..
        } => vec![source_mac, sender_mac, target_mac],
        Observed::NeighborAdvert {
            source_mac,
            target_mac,
            ..
        } => vec![source_mac, target_mac.unwrap_or(source_mac)],
        Observed::NeighborSolicit { source_mac, .. } => vec![source_mac],
    }
}

/// Received bytes: whatever parses, every question asked of it is answered without a panic,
/// and a claim is never our own MAC.
fn check_received(frame: &[u8]) {
    let Some(seen) = parse_frame(frame) else {
        return;
    };
    let mut ips = addresses(&seen);
    ips.push(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 50)));
    ips.push(IpAddr::V6("2001:db8:100::50".parse().unwrap()));
    let mut ours = macs(&seen);
    ours.push(MacAddr::zero());
    for ip in &ips {
        let _ = seen.announces(*ip);
        for mac in &ours {
            for probing in [false, true] {
                if let Some(claim) = claimant(&seen, *ip, *mac, probing) {
                    assert_ne!(claim, *mac, "our own MAC reported as a claim");
                }
            }
        }
    }
}

/// Frames we build from the input's bytes parse back to the announcement or probe they are.
fn check_built(data: &[u8]) {
    if data.len() < 22 {
        return;
    }
    // The agent only ever sends from a unicast interface MAC: clear the group bit and set
    // the local one so that the MAC is never group or all-zero, which receivers rightly drop.
    let mac = MacAddr(
        (data[0] & 0xfe) | 0x02,
        data[1],
        data[2],
        data[3],
        data[4],
        data[5],
    );
    let theirs = other_than(mac);
    let v4 = Ipv4Addr::new(data[6], data[7], data[8], data[9]);
    let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(&data[6..22]).unwrap());

    // params refuses these as the resource's address, so the agent never announces them, and
    // the parser drops them as RFC 826 senders or targets no host would accept.
    if !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() || v4.is_loopback()) {
        check_built_v4(
            mac,
            theirs,
            v4,
            Ipv4Addr::new(data[18], data[19], data[20], data[21]),
        );
    }
    if !v6.is_multicast() {
        check_built_v6(mac, theirs, v6);
    }
}

fn check_built_v4(mac: MacAddr, theirs: MacAddr, v4: Ipv4Addr, to_ip: Ipv4Addr) {
    for form in [arp::Form::Request, arp::Form::Reply] {
        let seen = parse_frame(&arp::announcement_frame(mac, v4, form)).expect("our ARP parses");
        assert!(seen.announces(v4.into()), "{seen:?}");
        assert_eq!(claimant(&seen, v4.into(), mac, false), None);
        assert_eq!(claimant(&seen, v4.into(), theirs, false), Some(mac));
    }
    let probe = parse_frame(&arp::probe_frame(mac, v4)).expect("our ARP probe parses");
    assert_eq!(claimant(&probe, v4.into(), theirs, true), Some(mac));
    assert_eq!(claimant(&probe, v4.into(), theirs, false), None);
    if !(to_ip.is_multicast() || to_ip.is_loopback()) {
        let refresh =
            parse_frame(&arp::refresh_frame(mac, v4, theirs, to_ip)).expect("ARP refresh");
        assert_eq!(claimant(&refresh, v4.into(), theirs, false), Some(mac));
    }
}

fn check_built_v6(mac: MacAddr, theirs: MacAddr, v6: Ipv6Addr) {
    for router in [false, true] {
        let seen = parse_frame(&ndp::advertisement_frame(mac, v6, router)).expect("our NA parses");
        assert!(seen.announces(v6.into()), "{seen:?}");
        assert_eq!(claimant(&seen, v6.into(), mac, false), None);
        assert_eq!(claimant(&seen, v6.into(), theirs, false), Some(mac));
        let refresh = parse_frame(&ndp::refresh_frame(mac, v6, router, theirs, v6))
            .expect("our solicited NA parses");
        assert!(
            !refresh.announces(v6.into()),
            "a solicited NA is no announcement"
        );
        assert_eq!(claimant(&refresh, v6.into(), theirs, false), Some(mac));
    }
    let ns = parse_frame(&ndp::probe_frame(mac, v6)).expect("our NS probe parses");
    assert_eq!(claimant(&ns, v6.into(), theirs, true), Some(mac));
    assert_eq!(claimant(&ns, v6.into(), theirs, false), None);
}

fuzz_target!(|data: &[u8]| {
    check_received(data);
    check_built(data);
});
