//! What one resident process does for one resource (pure). The agent builds a plan from the
//! parameters and where start put the address; it reaches the process as one JSON line on its
//! standard input, and a reload hands a running process a new one over its control socket.

use crate::clients::{Client, CAP};
use crate::domain::AddressRequest;
use crate::params::{
    Lifetime, ALTIFNAME_MAX, ARP_COUNT_MAX, ARP_INTERVAL_MAX_MS, FAILBACK_DELAY_MAX_MS, IFNAME_MAX,
    REFRESH_INTERVAL_MAX_S, REPEAT_DELAY_MAX_S,
};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// How to add the address again on another adapter (a standby taking over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressTemplate {
    /// The part after `nic:`; the kernel label is `<adapter>:<label>`.
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    pub nodad: bool,
    pub noprefixroute: bool,
    /// Seconds; None is forever.
    pub preferred_lft: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The resource's name (Pacemaker's instance, or the hand-run name): logs, and
    /// `crm_resource --fail --resource`.
    pub resource: String,
    /// This node's name in the cluster (OCF_RESKEY_CRM_meta_on_node), for `--node`.
    pub node: Option<String>,
    pub ip: IpAddr,
    pub prefix_len: u8,
    pub address: AddressTemplate,
    /// The adapters that may carry the address, in order of preference: one for a plain
    /// `nic` or a vmac interface, several for standby adapters.
    pub adapters: Vec<String>,
    /// Announcement rounds still owed now (after the ones the agent sent itself).
    pub rounds: u32,
    /// Rounds of every later burst: after a move to another adapter, a MAC change, the second
    /// wave (arp_count).
    pub burst_rounds: u32,
    /// Milliseconds between rounds of a burst (arp_interval).
    pub interval_ms: u32,
    /// Refresh rounds this often for as long as the resource runs (arp_refresh_interval).
    pub refresh_every_ms: Option<u64>,
    /// Answer another machine's claim at once (conflict_defend).
    pub defend: bool,
    /// Send the burst again this long after the first, and after every move
    /// (arp_repeat_delay).
    pub repeat_after_ms: Option<u64>,
    /// Start's burst is still to be repeated after `repeat_after_ms` (start's plan only: a
    /// monitor's refresh or a reload owes no second wave).
    #[serde(default)]
    pub second_wave: bool,
    /// How long a more preferred adapter must keep carrier before the address moves back
    /// (failback_delay).
    pub failback_delay_ms: u64,
    /// Tell Pacemaker at once when no listed adapter can carry the address (link_watch).
    pub link_watch: bool,
    /// Record this address's clients and share the list through Pacemaker's attribute
    /// manager, for the node that takes the address over (tickle_clients, under Pacemaker).
    #[serde(default)]
    pub record_clients: bool,
    /// Start's tickles, to be sent once more TICKLE_AGAIN_AFTER after the first round (start's
    /// plan only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tickle_again: Vec<Client>,
}

impl Plan {
    /// Work that lasts as long as the resource runs: refreshes, standby adapters to fail over
    /// between, the link to watch for Pacemaker. A monitor that finds no process brings one
    /// back only for this; what was owed once (rounds, a second wave) is not owed again.
    pub fn watches(&self) -> bool {
        self.refresh_every_ms.is_some()
            || self.adapters.len() > 1
            || self.link_watch
            || self.record_clients
    }

    /// Whether a process is needed now: something is owed or watched. A plan with only
    /// `defend` set has nothing to do once its rounds are sent, as before.
    pub fn has_work(&self) -> bool {
        self.rounds > 0
            || self.owes_second_wave()
            || self.watches()
            || !self.tickle_again.is_empty()
    }

    pub fn owes_second_wave(&self) -> bool {
        self.second_wave && self.repeat_after_ms.is_some()
    }

    /// Checks a plan from outside the process (the launch line, a control request) against
    /// the ranges the parameters allow: a plan is trusted no more than a parameter (issue 15
    /// found `interval_ms=0` sending 140k frames a second).
    pub fn validate(&self) -> Result<(), String> {
        let named = |what: &str, text: &str, longest: usize| {
            if text.is_empty() || text.len() > longest || text.chars().any(char::is_control) {
                Err(format!(
                    "{what} {text:?} is not a name of 1 to {longest} printable bytes"
                ))
            } else {
                Ok(())
            }
        };
        let within = |what: &str, value: u64, low: u64, high: u64| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(format!("{what}={value} is outside {low}..={high}"))
            }
        };
        named("resource", &self.resource, 1024)?;
        if let Some(node) = &self.node {
            named("node", node, 1024)?;
        }
        let longest_prefix = if self.ip.is_ipv4() { 32 } else { 128 };
        within("prefix_len", self.prefix_len.into(), 0, longest_prefix)?;
        if let Some(label) = &self.address.label {
            named("label", label, IFNAME_MAX)?;
        }
        if self.adapters.is_empty() {
            return Err("no adapters".to_string());
        }
        for adapter in &self.adapters {
            named("adapter", adapter, ALTIFNAME_MAX)?;
        }
        let count_max = ARP_COUNT_MAX.into();
        within("rounds", self.rounds.into(), 0, count_max)?;
        within("burst_rounds", self.burst_rounds.into(), 1, count_max)?;
        within(
            "interval_ms",
            self.interval_ms.into(),
            1,
            ARP_INTERVAL_MAX_MS.into(),
        )?;
        if let Some(every) = self.refresh_every_ms {
            within(
                "refresh_every_ms",
                every,
                1_000,
                u64::from(REFRESH_INTERVAL_MAX_S) * 1_000,
            )?;
        }
        if let Some(after) = self.repeat_after_ms {
            within(
                "repeat_after_ms",
                after,
                1_000,
                u64::from(REPEAT_DELAY_MAX_S) * 1_000,
            )?;
        }
        within(
            "tickle_again",
            self.tickle_again.len() as u64,
            0,
            CAP as u64,
        )?;
        within(
            "failback_delay_ms",
            self.failback_delay_ms,
            0,
            FAILBACK_DELAY_MAX_MS,
        )
    }

    pub fn interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.interval_ms))
    }

    /// The request that puts the address on adapter `ifindex` named `ifname`.
    pub fn address_request(&self, ifindex: u32, ifname: &str) -> AddressRequest {
        AddressRequest {
            ifindex,
            ip: self.ip,
            prefix_len: self.prefix_len,
            label: self
                .address
                .label
                .as_ref()
                .map(|label| format!("{ifname}:{label}")),
            broadcast: self.address.broadcast,
            nodad: self.address.nodad,
            noprefixroute: self.address.noprefixroute,
            preferred_lft: match self.address.preferred_lft {
                Some(seconds) => Lifetime::Seconds(seconds),
                None => Lifetime::Forever,
            },
            route_metric: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a plan always serialises")
    }

    pub fn from_json(text: &str) -> Option<Plan> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample() -> Plan {
        Plan {
            resource: "vip".into(),
            node: Some("node1".into()),
            ip: "198.51.100.50".parse().unwrap(),
            prefix_len: 24,
            address: AddressTemplate {
                label: Some("web".into()),
                broadcast: Some(Ipv4Addr::new(198, 51, 100, 255)),
                nodad: false,
                noprefixroute: false,
                preferred_lft: None,
            },
            adapters: vec!["eth0".into()],
            rounds: 4,
            burst_rounds: 5,
            interval_ms: 200,
            refresh_every_ms: None,
            defend: true,
            repeat_after_ms: None,
            second_wave: false,
            failback_delay_ms: 2000,
            link_watch: false,
            record_clients: false,
            tickle_again: Vec::new(),
        }
    }

    #[test]
    fn plans_round_trip_as_json() {
        let plan = sample();
        assert_eq!(Plan::from_json(&plan.to_json()), Some(plan));
        assert_eq!(Plan::from_json("{\"resource\":1}"), None);
    }

    #[test]
    fn a_process_exists_only_while_it_has_work() {
        let mut plan = sample();
        assert!(plan.has_work(), "rounds owed");
        plan.rounds = 0;
        assert!(!plan.has_work(), "defend alone is no work");
        for with_work in [
            Plan {
                refresh_every_ms: Some(10_000),
                ..plan.clone()
            },
            Plan {
                repeat_after_ms: Some(5_000),
                second_wave: true,
                ..plan.clone()
            },
            Plan {
                adapters: vec!["eth0".into(), "eth1".into()],
                ..plan.clone()
            },
            Plan {
                link_watch: true,
                ..plan.clone()
            },
        ] {
            assert!(with_work.has_work(), "{with_work:?}");
        }
        // A second wave needs a delay and start's burst to repeat; neither alone is work.
        for without_work in [
            Plan {
                repeat_after_ms: Some(5_000),
                ..plan.clone()
            },
            Plan {
                second_wave: true,
                ..plan.clone()
            },
        ] {
            assert!(!without_work.has_work(), "{without_work:?}");
        }
    }

    #[test]
    fn only_lasting_work_brings_a_process_back() {
        let owed = Plan {
            rounds: 3,
            repeat_after_ms: Some(5_000),
            second_wave: true,
            ..sample()
        };
        assert!(owed.has_work() && !owed.watches(), "owed once, not watched");
        for watched in [
            Plan {
                refresh_every_ms: Some(10_000),
                ..sample()
            },
            Plan {
                adapters: vec!["eth0".into(), "eth1".into()],
                ..sample()
            },
            Plan {
                link_watch: true,
                ..sample()
            },
        ] {
            assert!(watched.watches(), "{watched:?}");
        }
    }

    #[test]
    fn plans_from_outside_are_held_to_the_parameters_ranges() {
        assert_eq!(sample().validate(), Ok(()));
        let refused = [
            Plan {
                interval_ms: 0,
                ..sample()
            },
            Plan {
                interval_ms: ARP_INTERVAL_MAX_MS + 1,
                ..sample()
            },
            Plan {
                burst_rounds: 0,
                ..sample()
            },
            Plan {
                rounds: ARP_COUNT_MAX + 1,
                ..sample()
            },
            Plan {
                burst_rounds: ARP_COUNT_MAX + 1,
                ..sample()
            },
            Plan {
                refresh_every_ms: Some(999),
                ..sample()
            },
            Plan {
                refresh_every_ms: Some(3_600_001),
                ..sample()
            },
            Plan {
                repeat_after_ms: Some(0),
                ..sample()
            },
            Plan {
                repeat_after_ms: Some(3_600_001),
                ..sample()
            },
            Plan {
                failback_delay_ms: FAILBACK_DELAY_MAX_MS + 1,
                ..sample()
            },
            Plan {
                prefix_len: 33,
                ..sample()
            },
            Plan {
                adapters: vec![],
                ..sample()
            },
            Plan {
                adapters: vec!["eth0".into(), String::new()],
                ..sample()
            },
            Plan {
                adapters: vec!["x".repeat(ALTIFNAME_MAX + 1)],
                ..sample()
            },
            Plan {
                resource: "vip\nforged".into(),
                ..sample()
            },
            Plan {
                resource: String::new(),
                ..sample()
            },
        ];
        for plan in refused {
            assert!(plan.validate().is_err(), "{plan:?}");
        }
        let edges = [
            Plan {
                interval_ms: 1,
                burst_rounds: 1,
                rounds: ARP_COUNT_MAX,
                refresh_every_ms: Some(1_000),
                repeat_after_ms: Some(3_600_000),
                failback_delay_ms: FAILBACK_DELAY_MAX_MS,
                ..sample()
            },
            Plan {
                ip: "2001:db8::50".parse().unwrap(),
                prefix_len: 128,
                address: AddressTemplate {
                    label: None,
                    broadcast: None,
                    ..sample().address
                },
                adapters: vec!["x".repeat(ALTIFNAME_MAX)],
                ..sample()
            },
        ];
        for plan in edges {
            assert_eq!(plan.validate(), Ok(()), "{plan:?}");
        }
    }

    #[test]
    fn a_standby_gets_the_label_under_its_own_name() {
        let request = sample().address_request(3, "eth1");
        assert_eq!(request.label.as_deref(), Some("eth1:web"));
        assert_eq!(request.ifindex, 3);
        assert_eq!(request.preferred_lft, Lifetime::Forever);
    }
}
