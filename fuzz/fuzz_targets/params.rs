//! Parameter validation: arbitrary name=value bytes and meta attributes into params::parse.
//! It must never panic; every rejection is OCF_ERR_CONFIGURED with a one-line reason; what it
//! accepts keeps the limits the rest of the agent relies on.
#![no_main]

use floatip::error::Kind;
use floatip::params::{self, ALTIFNAME_MAX, IFNAME_MAX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (raw, meta) = floatip_fuzz::params_input(data);
    match params::parse(&raw, &meta) {
        Err(e) => {
            assert_eq!(e.kind, Kind::Configured, "{e:?}");
            assert!(!e.reason.is_empty(), "empty reason");
            assert!(
                !e.reason.contains(['\n', '\r']),
                "reason is not one line: {:?}",
                e.reason
            );
        }
        Ok(p) => {
            for nic in &p.nics {
                // An alternative name may be longer than a kernel interface name.
                assert!(!nic.is_empty() && nic.len() <= ALTIFNAME_MAX, "nic {nic:?}");
                assert!(
                    !nic.contains(['/', ':', ',']) && nic != "." && nic != "..",
                    "nic {nic:?}"
                );
                // Only a name that can carry a label is held to the label's length.
                if let (Some(label), true) = (&p.label, nic.len() <= IFNAME_MAX) {
                    assert!(nic.len() + 1 + label.len() <= IFNAME_MAX, "label {label:?}");
                }
            }
            if let Some(prefix) = p.prefix {
                let max = if p.is_ipv6() { 128 } else { 32 };
                assert!((1..=max).contains(&prefix), "prefix {prefix}");
            }
            if let Some(ns) = &p.network_namespace {
                assert!(!ns.is_empty() && !ns.contains('/') && ns != "." && ns != "..");
            }
            assert!(p.announce.count >= 1 && p.announce.count <= params::ARP_COUNT_MAX);
            assert!(!p.ip.is_multicast() && !p.ip.is_unspecified());
            // A loopback address goes on lo only (IPaddr2's loopback attachment), never lo's
            // own 127.0.0.1 or ::1.
            if p.ip.is_loopback() {
                assert!(
                    p.nics.iter().all(|nic| nic == "lo"),
                    "{:?} on {:?}",
                    p.ip,
                    p.nics
                );
                assert!(p.ip != std::net::IpAddr::from([127, 0, 0, 1]) && p.ip.is_ipv4());
            }
            // Validation is a function of its input: the same input, the same answer.
            assert_eq!(params::parse(&raw, &meta).ok(), Some(p));
        }
    }
});
