//! The machine driven by a fake clock: every test reads the effects as an ordered log of
//! (milliseconds, effect), so promises about order ("announce only what is held", "delete the
//! old address after the new one is announced", "exit before anything else") are asserted as
//! orderings.

use super::*;
use crate::resident::{AddressTemplate, Plan};

const ETH0: u32 = 2;
const ETH1: u32 = 3;
const ETH2: u32 = 4;
const MAC0: MacAddr = MacAddr(2, 0, 0, 0, 0, 1);
const MAC1: MacAddr = MacAddr(2, 0, 0, 0, 0, 2);
const MAC2: MacAddr = MacAddr(2, 0, 0, 0, 0, 3);
const THEIRS: MacAddr = MacAddr(2, 0, 0, 0, 0, 0x99);

fn link(index: u32, name: &str, mac: MacAddr) -> Link {
    Link {
        index,
        name: name.into(),
        mac: Some(mac),
        up: true,
        carrier: true,
        announces: true,
        layer: crate::agent::LinkLayer::Ethernet,
    }
}

fn eth0() -> Link {
    link(ETH0, "eth0", MAC0)
}

fn eth1() -> Link {
    link(ETH1, "eth1", MAC1)
}

fn eth2() -> Link {
    link(ETH2, "eth2", MAC2)
}

fn no_carrier(l: Link) -> Link {
    Link {
        carrier: false,
        ..l
    }
}

fn plan() -> Plan {
    Plan {
        resource: "vip".into(),
        node: Some("node1".into()),
        ip: "198.51.100.50".parse().unwrap(),
        prefix_len: 24,
        address: AddressTemplate {
            label: None,
            broadcast: None,
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

fn standby_plan() -> Plan {
    Plan {
        adapters: vec!["eth0".into(), "eth1".into(), "eth2".into()],
        rounds: 0,
        burst_rounds: 3,
        interval_ms: 100,
        ..plan()
    }
}

/// The machine, a fake clock, and every effect with the time it was produced.
struct Run {
    machine: Machine,
    now: Duration,
    log: Vec<(u64, Effect)>,
    /// Adapters whose segment probes are not heard on the holder's (cabled elsewhere); every
    /// other probe is answered "heard" at once, as a LAN answers in microseconds.
    elsewhere: Vec<u32>,
    /// Probes left unanswered (a test answers them itself).
    hold_probes: bool,
    /// The interfaces as the kernel has them (the events delivered so far), for answering
    /// `LookUpLink`.
    kernel: std::collections::BTreeMap<u32, Link>,
}

/// The address, held with the plan's prefix, as the kernel reports it.
fn found(plan: &Plan, holder: Option<(u32, Held)>) -> Vec<(u32, Found)> {
    holder
        .map(|(index, held)| {
            (
                index,
                Found {
                    prefix_len: plan.prefix_len,
                    tentative: held == Held::Tentative,
                    dadfailed: false,
                },
            )
        })
        .into_iter()
        .collect()
}

fn ms_of(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl Run {
    fn start(plan: Plan, links: &[Link], holder: Option<(u32, Held)>) -> Run {
        let found = found(&plan, holder);
        let (machine, effects) = Machine::new(plan, links, &found, Duration::ZERO);
        let mut run = Run {
            machine,
            now: Duration::ZERO,
            log: Vec::new(),
            elsewhere: Vec::new(),
            hold_probes: false,
            kernel: links.iter().map(|l| (l.index, l.clone())).collect(),
        };
        run.record(effects);
        run
    }

    /// Logs `effects` at the current time and answers the segment probes among them.
    fn record(&mut self, effects: Vec<Effect>) {
        let t = ms_of(self.now);
        let mut answers = Vec::new();
        for effect in effects {
            if let Effect::ProbeSegment { id, from, .. } = effect {
                if !self.hold_probes {
                    answers.push(Event::SegmentProbed {
                        id,
                        heard: !self.elsewhere.contains(&from),
                    });
                }
            }
            if let Effect::LookUpLink { index } = effect {
                answers.push(Event::LinkLookedUp {
                    index,
                    link: self.kernel.get(&index).cloned(),
                });
            }
            self.log.push((t, effect));
        }
        for answer in answers {
            let effects = self.machine.handle(self.now, answer);
            self.record(effects);
        }
    }

    /// (time, from, on) of every segment probe.
    fn probes(&self) -> Vec<(u64, u32, u32)> {
        self.log
            .iter()
            .filter_map(|(t, e)| match e {
                Effect::ProbeSegment { from, on, .. } => Some((*t, *from, *on)),
                _ => None,
            })
            .collect()
    }

    fn on_eth0(plan: Plan) -> Run {
        Run::start(plan, &[eth0(), eth1(), eth2()], Some((ETH0, Held::Ready)))
    }

    /// Delivers every Tick the machine asks for up to `at` (as the event loop would).
    fn advance(&mut self, at: u64) {
        let target = Duration::from_millis(at);
        while let Some(wake) = self.machine.next_wakeup() {
            if wake > target {
                break;
            }
            self.now = wake.max(self.now);
            let effects = self.machine.handle(self.now, Event::Tick);
            self.record(effects);
        }
        self.now = target.max(self.now);
    }

    /// Runs the clock to `at`, then delivers `event` there.
    fn at(&mut self, at: u64, event: Event) -> &mut Run {
        self.advance(at);
        match &event {
            Event::Link(link) => {
                self.kernel.insert(link.index, link.clone());
            }
            Event::LinkRemoved(index) => {
                self.kernel.remove(index);
            }
            _ => {}
        }
        let effects = self.machine.handle(self.now, event);
        self.record(effects);
        self
    }

    /// (time, interface, MAC, kind) of every send.
    fn sends(&self) -> Vec<(u64, u32, MacAddr, Sending)> {
        self.log
            .iter()
            .filter_map(|(t, e)| match e {
                Effect::Send { index, mac, kind } => Some((*t, *index, *mac, *kind)),
                _ => None,
            })
            .collect()
    }

    fn send_times(&self) -> Vec<u64> {
        self.sends().iter().map(|s| s.0).collect()
    }

    /// The log without log lines, as short names, for asserting orders.
    fn actions(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|(t, e)| {
                Some(match e {
                    Effect::Send { index, kind, .. } => format!("{t} send {kind:?} {index}"),
                    Effect::AddAddress { name, .. } => format!("{t} add {name}"),
                    Effect::DeleteAddress { name, .. } => format!("{t} delete {name}"),
                    Effect::Report(_) => format!("{t} report"),
                    Effect::RecordConflict { .. } => format!("{t} record"),
                    Effect::Exit(_) => format!("{t} exit"),
                    Effect::FindExecutor => format!("{t} find executor"),
                    Effect::PollClients => format!("{t} poll clients"),
                    Effect::ShareClients(list) => format!("{t} share {}", list.len()),
                    Effect::Tickle(list) => format!("{t} tickle {}", list.len()),
                    Effect::Log(..) | Effect::ProbeSegment { .. } | Effect::LookUpLink { .. } => {
                        return None
                    }
                })
            })
            .collect()
    }

    fn lines(&self) -> Vec<(u64, String)> {
        self.log
            .iter()
            .filter_map(|(t, e)| match e {
                Effect::Log(_, line) => Some((*t, line.clone())),
                _ => None,
            })
            .collect()
    }

    fn exits(&self) -> Vec<(u64, String)> {
        self.log
            .iter()
            .filter_map(|(t, e)| match e {
                Effect::Exit(why) => Some((*t, why.clone())),
                _ => None,
            })
            .collect()
    }

    fn count(&self, wanted: impl Fn(&Effect) -> bool) -> usize {
        self.log.iter().filter(|(_, e)| wanted(e)).count()
    }
}

#[test]
fn the_rounds_owed_go_out_evenly_spaced_then_the_process_exits() {
    let mut run = Run::on_eth0(plan());
    run.advance(10_000);
    assert_eq!(run.send_times(), vec![200, 400, 600, 800]);
    assert!(run
        .sends()
        .iter()
        .all(|s| s.1 == ETH0 && s.2 == MAC0 && s.3 == Sending::Round));
    assert_eq!(
        run.exits(),
        vec![(800, "nothing left to do".to_string())],
        "exits right after its last round"
    );
    assert_eq!(run.machine.next_wakeup(), None);
}

#[test]
fn refreshes_go_on_for_as_long_as_the_resource_runs() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(10_000),
        ..plan()
    });
    run.advance(35_000);
    assert_eq!(run.send_times(), vec![10_000, 20_000, 30_000]);
    assert!(run.sends().iter().all(|s| s.3 == Sending::Refresh));
    assert!(run.exits().is_empty());
}

#[test]
fn nothing_is_sent_for_an_address_removed_behind_its_back() {
    let mut run = Run::on_eth0(Plan {
        refresh_every_ms: Some(1_000),
        ..plan()
    });
    run.at(
        450,
        Event::AddressRemoved {
            index: ETH0,
            prefix_len: 24,
        },
    );
    run.advance(60_000);
    assert_eq!(
        run.actions(),
        vec!["200 send Round 2", "400 send Round 2", "450 exit"]
    );
    assert!(run.exits()[0].1.contains("was removed from eth0"));
}

#[test]
fn the_same_address_with_another_prefix_or_elsewhere_is_not_ours() {
    let mut run = Run::on_eth0(plan());
    run.at(
        100,
        Event::AddressRemoved {
            index: ETH0,
            prefix_len: 16,
        },
    )
    .at(
        150,
        Event::AddressRemoved {
            index: ETH1,
            prefix_len: 24,
        },
    );
    run.advance(10_000);
    assert_eq!(run.send_times(), vec![200, 400, 600, 800]);
}

#[test]
fn a_failed_dad_stops_everything() {
    let mut run = Run::on_eth0(Plan {
        refresh_every_ms: Some(1_000),
        ..plan()
    });
    run.at(
        300,
        Event::AddressAdded {
            index: ETH0,
            prefix_len: 24,
            tentative: false,
            dadfailed: true,
        },
    );
    run.advance(60_000);
    assert_eq!(run.actions(), vec!["200 send Round 2", "300 exit"]);
}

#[test]
fn a_tentative_address_is_announced_only_once_dad_is_done() {
    let v6 = Plan {
        ip: "2001:db8::50".parse().unwrap(),
        prefix_len: 64,
        ..plan()
    };
    let mut run = Run::start(v6, &[eth0()], Some((ETH0, Held::Tentative)));
    run.advance(1_000);
    assert!(run.sends().is_empty(), "nothing while tentative");
    assert_eq!(
        run.machine.next_wakeup(),
        None,
        "no spinning while held back"
    );
    run.at(
        1_500,
        Event::AddressAdded {
            index: ETH0,
            prefix_len: 64,
            tentative: false,
            dadfailed: false,
        },
    );
    run.advance(10_000);
    assert_eq!(run.send_times(), vec![1_500, 1_700, 1_900, 2_100]);
}

#[test]
fn a_mac_change_is_announced_at_once_from_the_new_mac() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(30_000),
        ..plan()
    });
    let moved = MacAddr(2, 0, 0, 0, 0, 0x42);
    run.at(
        5_000,
        Event::Link(Link {
            mac: Some(moved),
            ..eth0()
        }),
    );
    run.advance(6_000);
    let sends = run.sends();
    assert_eq!(
        sends.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![5_000, 5_200, 5_400, 5_600, 5_800],
        "a burst of burst_rounds, the first at once"
    );
    assert!(sends.iter().all(|s| s.2 == moved), "{sends:?}");
    // A link change that keeps the MAC is no news.
    run.at(
        7_000,
        Event::Link(Link {
            mac: Some(moved),
            ..eth0()
        }),
    );
    run.advance(8_000);
    assert_eq!(run.sends().len(), 5);
}

#[test]
fn claims_are_defended_at_most_once_per_interval_and_reported_rate_limited() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(3_600_000),
        ..plan()
    });
    // 3,000 spoofed claims over 30 s: one every 10 ms.
    for i in 1..=3_000u64 {
        run.at(
            i * 10,
            Event::Claim {
                index: ETH0,
                mac: THEIRS,
            },
        );
    }
    run.advance(45_000);
    let defences: Vec<u64> = run
        .sends()
        .iter()
        .filter(|s| s.3 == Sending::Refresh)
        .map(|s| s.0)
        .collect();
    assert_eq!(defences, vec![10, 10_010, 20_010], "one defence per 10 s");
    let lines = run.lines();
    assert!(
        lines.len() <= 5,
        "a handful of lines for 3,000 claims: {lines:?}"
    );
    assert!(
        lines[0].1.contains("claimed by 02:00:00:00:00:99"),
        "{lines:?}"
    );
    assert!(lines[0].1.contains("announcing again"));
    let counted: u64 = lines
        .iter()
        .filter_map(|(_, l)| {
            l.split_whitespace()
                .zip(l.split_whitespace().skip(1))
                .find(|(_, next)| *next == "more" || *next == "earlier")
                .and_then(|(n, _)| n.trim_start_matches('(').parse::<u64>().ok())
        })
        .sum();
    let reported = lines
        .iter()
        .filter(|(_, l)| l.contains("claimed by"))
        .count() as u64;
    assert_eq!(counted + reported, 3_000, "every claim counted: {lines:?}");
    // No two lines within one interval.
    for pair in lines.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= 10_000, "{lines:?}");
    }
    assert_eq!(
        run.count(|e| matches!(e, Effect::RecordConflict { .. })),
        reported as usize
    );
    assert_eq!(run.machine.status(run.now).claims, 3_000);
}

#[test]
fn with_conflict_defend_off_a_claim_is_reported_not_answered() {
    let mut run = Run::on_eth0(Plan {
        defend: false,
        ..plan()
    });
    run.at(
        100,
        Event::Claim {
            index: ETH0,
            mac: THEIRS,
        },
    );
    assert_eq!(run.actions(), vec!["100 record"]);
    assert!(run.lines()[0].1.contains("conflict_defend is off"));
}

#[test]
fn a_claim_while_tentative_or_on_another_adapter_is_ignored() {
    let mut run = Run::start(
        Plan {
            adapters: vec!["eth0".into(), "eth1".into()],
            ..plan()
        },
        &[eth0(), eth1()],
        Some((ETH0, Held::Tentative)),
    );
    run.at(
        100,
        Event::Claim {
            index: ETH0,
            mac: THEIRS,
        },
    )
    .at(
        120,
        Event::Claim {
            index: ETH1,
            mac: THEIRS,
        },
    );
    assert!(run.actions().is_empty(), "{:?}", run.actions());
}

#[test]
fn carrier_loss_moves_the_address_to_the_first_usable_standby_and_announces_before_deleting() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    run.advance(5_000);
    assert_eq!(
        run.actions(),
        vec![
            "1000 add eth1",
            "1000 send Round 3",
            "1000 delete eth0",
            "1100 send Round 3",
            "1200 send Round 3",
        ]
    );
    assert!(run.sends().iter().all(|s| s.2 == MAC1), "eth1's MAC");
    assert_eq!(run.machine.holder().unwrap().name, "eth1");
    assert!(run.exits().is_empty(), "keeps watching the adapters");
}

#[test]
fn failback_waits_for_the_hold_down_and_a_flap_restarts_it() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    // eth0 back at 2 s, flaps at 3 s, back at 3.5 s: the failback is due 2 s after 3.5 s.
    run.at(2_000, Event::Link(eth0()))
        .at(3_000, Event::Link(no_carrier(eth0())))
        .at(3_500, Event::Link(eth0()));
    run.advance(5_499);
    assert_eq!(run.machine.holder().unwrap().name, "eth1", "held down");
    run.advance(8_000);
    assert_eq!(run.machine.holder().unwrap().name, "eth0", "moved back");
    let moves: Vec<String> = run
        .actions()
        .into_iter()
        .filter(|a| a.contains("add") || a.contains("delete"))
        .collect();
    assert_eq!(
        moves,
        vec![
            "1000 add eth1",
            "1000 delete eth0",
            "5500 add eth0",
            "5500 delete eth1"
        ]
    );
    let back: Vec<_> = run.sends().into_iter().filter(|s| s.0 >= 5_500).collect();
    assert_eq!(back.len(), 3, "a burst after the failback");
    assert!(back.iter().all(|s| s.1 == ETH0 && s.2 == MAC0));
    // Between the failback's add and its first round, nothing came from eth1.
    assert!(run.sends().iter().all(|s| !(s.0 >= 5_500 && s.1 == ETH1)));
}

#[test]
fn a_preferred_adapter_back_after_the_holder_failed_takes_the_address_at_once() {
    let mut run = Run::start(
        standby_plan(),
        &[no_carrier(eth0()), eth1(), eth2()],
        Some((ETH1, Held::Ready)),
    );
    // eth1 (holder) loses carrier with eth0 dead: eth2 takes over; eth0 back later waits for
    // the hold-down, then wins over eth2.
    run.at(1_000, Event::Link(no_carrier(eth1())))
        .at(2_000, Event::Link(eth0()));
    run.advance(10_000);
    let moves: Vec<String> = run
        .actions()
        .into_iter()
        .filter(|a| a.contains("add") || a.contains("delete"))
        .collect();
    assert_eq!(
        moves,
        vec![
            "1000 add eth2",
            "1000 delete eth1",
            "4000 add eth0",
            "4000 delete eth2"
        ]
    );
}

#[test]
fn a_removed_holder_is_replaced_by_a_standby() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::LinkRemoved(ETH0)).at(
        1_001,
        Event::AddressRemoved {
            index: ETH0,
            prefix_len: 24,
        },
    );
    run.advance(2_000);
    assert_eq!(
        run.actions(),
        vec![
            "1000 add eth1",
            "1000 send Round 3",
            "1100 send Round 3",
            "1200 send Round 3"
        ],
        "no delete on a removed interface, and its address going is no news"
    );
}

#[test]
fn a_failed_add_tries_the_next_standby() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    // The loop stops the batch at the failed add and says so.
    run.log
        .retain(|(_, e)| !matches!(e, Effect::Send { .. } | Effect::DeleteAddress { .. }));
    run.at(
        1_000,
        Event::AddFailed {
            index: ETH1,
            reason: "File exists".into(),
        },
    );
    let moves: Vec<String> = run
        .actions()
        .into_iter()
        .filter(|a| a.contains("add") || a.contains("delete"))
        .collect();
    assert_eq!(
        moves,
        vec!["1000 add eth1", "1000 add eth2", "1000 delete eth0"]
    );
    assert_eq!(run.machine.holder().unwrap().name, "eth2");
}

#[test]
fn link_watch_tells_pacemaker_once_per_loss() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        link_watch: true,
        ..plan()
    });
    run.at(1_000, Event::Link(no_carrier(eth0())))
        .at(1_100, Event::Link(no_carrier(eth0())))
        .at(
            1_200,
            Event::Link(Link {
                up: false,
                ..no_carrier(eth0())
            }),
        );
    assert_eq!(run.actions(), vec!["1000 report"]);
    // Back, then lost again, forty times: Pacemaker was told and recovers; not told again.
    for flap in 0..40u64 {
        run.at(2_000 + flap * 100, Event::Link(eth0()))
            .at(2_050 + flap * 100, Event::Link(no_carrier(eth0())));
    }
    assert_eq!(run.count(|e| matches!(e, Effect::Report(_))), 1);
    assert!(run.exits().is_empty(), "keeps watching");
    // A reload does not make it forget.
    run.at(
        7_000,
        Event::NewPlan(Plan {
            rounds: 0,
            link_watch: true,
            interval_ms: 300,
            ..plan()
        }),
    )
    .at(7_100, Event::Link(eth0()))
    .at(7_200, Event::Link(no_carrier(eth0())));
    assert_eq!(run.count(|e| matches!(e, Effect::Report(_))), 1);
}

#[test]
fn link_watch_with_a_usable_standby_moves_instead_of_reporting() {
    let mut run = Run::on_eth0(Plan {
        link_watch: true,
        ..standby_plan()
    });
    run.at(1_000, Event::Link(no_carrier(eth0())));
    assert_eq!(run.count(|e| matches!(e, Effect::Report(_))), 0);
    run.at(2_000, Event::Link(no_carrier(eth1())));
    assert_eq!(
        run.count(|e| matches!(e, Effect::Report(_))),
        0,
        "eth2 took it"
    );
    assert_eq!(run.machine.holder().unwrap().name, "eth2");
    // eth2 removed: nothing usable is left; told once, even when it comes back down.
    run.at(2_100, Event::LinkRemoved(ETH2));
    assert_eq!(run.count(|e| matches!(e, Effect::Report(_))), 1);
    run.at(
        3_000,
        Event::Link(Link {
            up: false,
            ..eth2()
        }),
    );
    assert_eq!(run.count(|e| matches!(e, Effect::Report(_))), 1);
}

#[test]
fn without_link_watch_a_lost_link_holds_the_rounds_until_it_is_back() {
    let mut run = Run::on_eth0(plan());
    run.at(300, Event::Link(no_carrier(eth0())));
    run.advance(5_000);
    assert_eq!(
        run.send_times(),
        vec![200],
        "nothing while the link is dead"
    );
    assert_eq!(run.machine.next_wakeup(), None);
    run.at(6_000, Event::Link(eth0()));
    run.advance(10_000);
    assert_eq!(
        run.send_times(),
        vec![200, 6_000, 6_200, 6_400, 6_600, 6_800],
        "a fresh burst when the carrier is back"
    );
    assert_eq!(run.exits().len(), 1);
}

#[test]
fn a_new_plan_mid_burst_replaces_the_rounds_owed_without_moving_anything() {
    let mut run = Run::on_eth0(plan());
    run.at(
        450,
        Event::NewPlan(Plan {
            rounds: 2,
            interval_ms: 1_000,
            ..plan()
        }),
    );
    run.advance(10_000);
    assert_eq!(run.send_times(), vec![200, 400, 1_450, 2_450]);
    assert_eq!(
        run.count(|e| matches!(e, Effect::AddAddress { .. } | Effect::DeleteAddress { .. })),
        0
    );
    // Rounds 0 (a reload) cancels what was owed.
    let mut run = Run::on_eth0(Plan {
        refresh_every_ms: Some(60_000),
        ..plan()
    });
    run.at(
        250,
        Event::NewPlan(Plan {
            rounds: 0,
            refresh_every_ms: Some(1_000),
            ..plan()
        }),
    );
    run.advance(3_300);
    assert_eq!(run.send_times(), vec![200, 1_250, 2_250, 3_250]);
}

#[test]
fn a_new_burst_after_a_new_plan_has_the_new_count_and_spacing() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(600_000),
        ..plan()
    });
    run.at(
        100,
        Event::NewPlan(Plan {
            rounds: 0,
            burst_rounds: 2,
            interval_ms: 700,
            refresh_every_ms: Some(600_000),
            ..plan()
        }),
    )
    .at(
        1_000,
        Event::Link(Link {
            mac: Some(MAC2),
            ..eth0()
        }),
    );
    run.advance(5_000);
    assert_eq!(run.send_times(), vec![1_000, 1_700]);
}

#[test]
fn the_second_wave_follows_each_burst() {
    let mut run = Run::on_eth0(Plan {
        rounds: 2,
        burst_rounds: 3,
        repeat_after_ms: Some(5_000),
        second_wave: true,
        ..plan()
    });
    run.advance(20_000);
    assert_eq!(run.send_times(), vec![200, 400, 5_000, 5_200, 5_400]);
    assert_eq!(run.exits()[0].0, 5_400, "one second wave, then done");
}

#[test]
fn a_plan_that_owes_no_second_wave_sends_none() {
    // A monitor's refresh rounds: arp_repeat_delay set, but that burst is not start's.
    let mut run = Run::on_eth0(Plan {
        rounds: 2,
        burst_rounds: 3,
        repeat_after_ms: Some(5_000),
        ..plan()
    });
    run.advance(20_000);
    assert_eq!(run.send_times(), vec![200, 400]);
    assert_eq!(run.exits()[0].0, 400, "done after the rounds owed");
}

#[test]
fn a_move_brings_its_own_second_wave() {
    let mut run = Run::on_eth0(Plan {
        repeat_after_ms: Some(1_000),
        second_wave: true,
        ..standby_plan()
    });
    run.advance(1_500);
    let first = run.sends().len();
    assert_eq!(first, 3, "the start's second wave");
    run.at(2_000, Event::Link(no_carrier(eth0())));
    run.advance(10_000);
    let from_eth1: Vec<u64> = run
        .sends()
        .iter()
        .filter(|s| s.1 == ETH1)
        .map(|s| s.0)
        .collect();
    assert_eq!(from_eth1, vec![2_000, 2_100, 2_200, 3_000, 3_100, 3_200]);
}

#[test]
fn standing_down_exits_before_anything_else_and_then_does_nothing() {
    let mut run = Run::on_eth0(Plan {
        refresh_every_ms: Some(1_000),
        ..standby_plan()
    });
    run.at(
        500,
        Event::ExecutorGone {
            cluster_watched: false,
        },
    );
    assert_eq!(
        run.log
            .last()
            .map(|(t, e)| (*t, matches!(e, Effect::Exit(_)))),
        Some((500, true))
    );
    let before = run.log.len();
    run.at(600, Event::Link(no_carrier(eth0())))
        .at(
            700,
            Event::Claim {
                index: ETH0,
                mac: THEIRS,
            },
        )
        .at(800, Event::NewPlan(standby_plan()));
    run.advance(60_000);
    assert_eq!(run.log.len(), before, "nothing after standing down");
    assert_eq!(run.machine.next_wakeup(), None);
    assert!(run.exits()[0].1.contains("standing down"));
}

#[test]
fn stand_down_even_while_rounds_are_due() {
    let mut run = Run::on_eth0(plan());
    // The executor's end and a due round at the same instant: the exit wins.
    run.advance(199);
    run.now = Duration::from_millis(200);
    let effects = run.machine.handle(
        run.now,
        Event::ExecutorGone {
            cluster_watched: false,
        },
    );
    assert_eq!(effects.len(), 1);
    assert!(matches!(effects[0], Effect::Exit(_)));
}

fn finds(run: &Run) -> Vec<u64> {
    run.log
        .iter()
        .filter(|(_, e)| matches!(e, Effect::FindExecutor))
        .map(|(t, _)| *t)
        .collect()
}

/// Issue 15, finding 8: pacemakerd respawns an executor that died within milliseconds; the
/// cluster is alive, so the refresh goes on without a gap.
#[test]
fn a_respawned_executor_is_not_the_cluster_going_away() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(1_000),
        ..standby_plan()
    });
    run.at(
        1_500,
        Event::ExecutorGone {
            cluster_watched: true,
        },
    );
    run.advance(1_560);
    assert_eq!(finds(&run), vec![1_500, 1_520, 1_540, 1_560]);
    run.at(1_570, Event::ExecutorFound);
    run.advance(10_000);
    assert_eq!(finds(&run).len(), 4, "no more looking once it is back");
    assert!(run.exits().is_empty(), "{:?}", run.exits());
    let refreshes: Vec<u64> = run.sends().iter().map(|s| s.0).collect();
    assert_eq!(
        refreshes,
        (1..=10).map(|s| s * 1_000).collect::<Vec<u64>>(),
        "no gap"
    );
    // The new executor's end, with pacemakerd gone as well: the cluster went.
    run.at(10_500, Event::ClusterGone);
    assert_eq!(run.exits()[0].0, 10_500);
    assert!(run.exits()[0].1.contains("pacemakerd is gone"));
}

#[test]
fn an_executor_not_respawned_in_time_means_standing_down() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(1_000),
        ..standby_plan()
    });
    run.at(
        500,
        Event::ExecutorGone {
            cluster_watched: true,
        },
    );
    // A second notice while waiting restarts nothing.
    run.at(
        2_000,
        Event::ExecutorGone {
            cluster_watched: true,
        },
    );
    run.advance(60_000);
    let grace = ms_of(EXECUTOR_RESPAWN_GRACE);
    assert_eq!(run.exits()[0].0, 500 + grace);
    assert!(run.exits()[0].1.contains("respawned no executor"));
    assert_eq!(*finds(&run).last().unwrap(), 500 + grace - 20);
    assert_eq!(run.machine.next_wakeup(), None);
}

#[test]
fn an_address_on_none_of_the_adapters_means_nothing_to_do() {
    let run = Run::start(standby_plan(), &[eth0(), eth1()], None);
    assert_eq!(run.actions(), vec!["0 exit"]);
}

#[test]
fn status_says_what_the_process_is_doing() {
    let mut run = Run::on_eth0(Plan {
        refresh_every_ms: Some(10_000),
        ..standby_plan()
    });
    run.at(
        50,
        Event::Claim {
            index: ETH0,
            mac: THEIRS,
        },
    );
    let status = run.machine.status(Duration::from_millis(150));
    assert_eq!(status.adapter.as_deref(), Some("eth0"));
    assert_eq!(status.mac.as_deref(), Some("02:00:00:00:00:01"));
    assert_eq!(status.held, Some(Held::Ready));
    assert_eq!(status.next_refresh_in_ms, Some(9_850));
    assert_eq!(status.claims, 1);
    assert_eq!(
        status.last_conflict.clone().map(|c| (c.theirs, c.ago_ms)),
        Some(("02:00:00:00:00:99".to_string(), 100))
    );
    assert_eq!(status.adapters.len(), 3);
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["held"], "ready");
}

#[test]
fn a_plan_for_another_address_is_not_a_reload() {
    let run = Run::on_eth0(standby_plan());
    assert!(run.machine.accepts(&standby_plan()).is_ok());
    for other in [
        Plan {
            ip: "198.51.100.51".parse().unwrap(),
            ..standby_plan()
        },
        Plan {
            adapters: vec!["eth0".into()],
            ..standby_plan()
        },
        Plan {
            resource: "other".into(),
            ..standby_plan()
        },
    ] {
        assert!(run.machine.accepts(&other).is_err());
    }
}

#[test]
fn an_ipv6_standby_announces_once_its_dad_is_done() {
    let v6 = Plan {
        ip: "2001:db8::50".parse().unwrap(),
        prefix_len: 64,
        ..standby_plan()
    };
    let mut run = Run::start(v6, &[eth0(), eth1(), eth2()], Some((ETH0, Held::Ready)));
    run.at(1_000, Event::Link(no_carrier(eth0()))).at(
        1_001,
        Event::AddressAdded {
            index: ETH1,
            prefix_len: 64,
            tentative: true,
            dadfailed: false,
        },
    );
    run.advance(1_400);
    assert_eq!(run.actions(), vec!["1000 add eth1", "1000 delete eth0"]);
    run.at(
        1_500,
        Event::AddressAdded {
            index: ETH1,
            prefix_len: 64,
            tentative: false,
            dadfailed: false,
        },
    );
    run.advance(3_000);
    assert_eq!(run.send_times(), vec![1_500, 1_600, 1_700]);
}

#[test]
fn a_removed_holder_with_nowhere_to_go_ends_the_process() {
    let mut run = Run::on_eth0(Plan {
        link_watch: true,
        refresh_every_ms: Some(1_000),
        ..plan()
    });
    run.at(300, Event::LinkRemoved(ETH0)).at(
        301,
        Event::AddressRemoved {
            index: ETH0,
            prefix_len: 24,
        },
    );
    run.advance(10_000);
    assert_eq!(
        run.actions(),
        vec!["200 send Round 2", "300 report", "300 exit"],
        "Pacemaker told, then nothing more"
    );
}

#[test]
fn a_renamed_adapter_is_still_that_adapter_and_keeps_the_address() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    run.advance(1_900);
    let moved = run.actions().len();
    // The holder, eth1, is renamed (`ip link set eth1 name wan1`): same index, same address.
    run.at(2_000, Event::Link(link(ETH1, "wan1", MAC1)));
    run.at(3_000, Event::Link(eth0()));
    run.advance(20_000);
    assert_eq!(
        run.actions()[moved..].to_vec(),
        vec![
            "5000 add eth0",
            "5000 send Round 2",
            "5000 delete wan1",
            "5100 send Round 2",
            "5200 send Round 2"
        ],
        "nothing moved at the rename; fail-back (after its hold-down) deletes from the renamed adapter"
    );
    assert!(run
        .lines()
        .iter()
        .any(|(t, l)| *t == 2_000 && l.contains("eth1 was renamed wan1")));
}

#[test]
fn a_renamed_holder_losing_carrier_moves_the_address_and_deletes_it_there() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(link(ETH0, "lan0", MAC0)));
    run.at(2_000, Event::Link(no_carrier(link(ETH0, "lan0", MAC0))));
    run.advance(3_000);
    assert_eq!(
        run.actions(),
        vec![
            "2000 add eth1",
            "2000 send Round 3",
            "2000 delete lan0",
            "2100 send Round 3",
            "2200 send Round 3",
        ]
    );
}

#[test]
fn another_interface_taking_a_listed_name_is_not_that_adapter() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(link(ETH1, "old1", MAC1)));
    // A new interface named eth1 (index 9) while the listed eth1 lives on as old1.
    run.at(1_500, Event::Link(link(9, "eth1", MAC2)));
    run.at(2_000, Event::Link(no_carrier(eth0())));
    run.advance(2_500);
    assert_eq!(run.actions()[0], "2000 add old1");
}

#[test]
fn a_re_created_adapter_is_matched_by_its_name() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::LinkRemoved(ETH1));
    run.at(1_500, Event::Link(link(9, "eth1", MAC1)));
    run.at(2_000, Event::Link(no_carrier(eth0())));
    run.advance(2_500);
    assert_eq!(run.actions()[0], "2000 add eth1");
    assert_eq!(run.machine.holder().unwrap().index, 9);
}

#[test]
fn standby_adapters_are_probed_at_launch_and_one_cabled_elsewhere_never_takes_the_address() {
    let mut run = Run {
        elsewhere: vec![ETH1],
        ..Run::start(
            standby_plan(),
            &[eth0(), eth1(), no_carrier(eth2())],
            Some((ETH0, Held::Ready)),
        )
    };
    // Run::start answered before `elsewhere` was set: start again with it in place.
    run.log.clear();
    let (machine, effects) = Machine::new(
        standby_plan(),
        &[eth0(), eth1(), no_carrier(eth2())],
        &found(&standby_plan(), Some((ETH0, Held::Ready))),
        Duration::ZERO,
    );
    run.machine = machine;
    run.record(effects);
    assert_eq!(
        run.probes(),
        vec![(0, ETH1, ETH0)],
        "eth2 has no carrier yet"
    );
    assert!(run
        .lines()
        .iter()
        .any(|(_, l)| l.starts_with("eth1 is not on eth0's segment")));
    run.at(1_000, Event::Link(no_carrier(eth0())));
    run.advance(4_000);
    assert!(
        !run.actions().iter().any(|a| a.contains("add")),
        "{:?}",
        run.actions()
    );
    assert_eq!(run.machine.holder().unwrap().name, "eth0");
    assert!(!run.machine.status(run.now).usable);
    let status = run.machine.status(run.now);
    assert_eq!(
        status
            .adapters
            .iter()
            .map(|a| a.on_segment)
            .collect::<Vec<_>>(),
        vec![true, false, false]
    );
}

#[test]
fn an_adapter_not_heard_is_probed_again_and_taken_once_heard() {
    let mut run = Run::start(
        standby_plan(),
        &[eth0(), eth1(), eth2()],
        Some((ETH0, Held::Ready)),
    );
    run.log.clear();
    run.elsewhere = vec![ETH1, ETH2];
    run.at(1_000, Event::Link(no_carrier(eth1())));
    run.at(1_100, Event::Link(eth1()));
    run.advance(1_100 + 2 * SEGMENT_RETRY.as_millis() as u64 + 1);
    let retries: Vec<u64> = run.probes().iter().map(|p| p.0).collect();
    assert_eq!(
        retries,
        vec![1_100, 6_100, 11_100],
        "at carrier gain, then every 5 s"
    );
    assert_eq!(
        run.lines()
            .iter()
            .filter(|(_, l)| l.contains("is not on eth0's segment"))
            .count(),
        1,
        "said once"
    );
    // The switch port starts forwarding (spanning tree): heard at the next probe.
    run.elsewhere.clear();
    run.advance(16_101);
    assert!(run
        .lines()
        .iter()
        .any(|(t, l)| *t == 16_100 && l.contains("eth1 is now heard on eth0's segment")));
    run.at(17_000, Event::Link(no_carrier(eth0())));
    assert_eq!(run.actions()[0], "17000 add eth1");
}

#[test]
fn an_answer_for_an_adapter_that_lost_carrier_meanwhile_is_ignored() {
    let mut run = Run::start(
        standby_plan(),
        &[eth0(), no_carrier(eth1()), eth2()],
        Some((ETH0, Held::Ready)),
    );
    run.hold_probes = true;
    run.at(1_000, Event::Link(eth1()));
    let mut probes = run.log.iter().filter_map(|(_, e)| match e {
        Effect::ProbeSegment { id, from, .. } if *from == ETH1 => Some(*id),
        _ => None,
    });
    let id = probes.next_back().unwrap();
    run.at(1_050, Event::Link(no_carrier(eth1())));
    run.at(1_100, Event::SegmentProbed { id, heard: true });
    // Back again, probed again (held unanswered), when the holder fails.
    run.at(1_150, Event::Link(eth1()));
    run.at(1_200, Event::Link(no_carrier(eth0())));
    assert_eq!(
        run.actions()[0],
        "1200 add eth2",
        "eth1 (not known to be on the segment) is passed over for eth2"
    );
}

#[test]
fn a_preferred_adapter_back_is_probed_before_it_takes_the_address_back() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    run.advance(2_000);
    run.elsewhere = vec![ETH0];
    // eth0's cable now goes elsewhere: it is back with carrier but not heard on eth1's side.
    run.at(3_000, Event::Link(eth0()));
    run.advance(20_000);
    assert!(
        !run.actions().iter().any(|a| a.contains("add eth0")),
        "no fail-back to an adapter not on the segment: {:?}",
        run.actions()
    );
    assert!(run.probes().contains(&(3_000, ETH0, ETH1)));
}

#[test]
fn one_adapter_probes_nothing() {
    let run = Run::on_eth0(plan());
    assert!(run.probes().is_empty());
}

#[test]
fn a_failed_delete_after_a_move_is_tried_again_until_the_kernel_says_it_is_gone() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    run.at(
        1_000,
        Event::DeleteFailed {
            index: ETH0,
            reason: "cannot delete: No buffer space available".into(),
        },
    );
    assert_eq!(run.machine.status(run.now).left_on.as_deref(), Some("eth0"));
    run.advance(2_000);
    run.at(
        2_000,
        Event::DeleteFailed {
            index: ETH0,
            reason: "again".into(),
        },
    );
    run.advance(3_500);
    let deletes: Vec<String> = run
        .actions()
        .into_iter()
        .filter(|a| a.contains("delete"))
        .collect();
    assert_eq!(
        deletes,
        vec!["1000 delete eth0", "2000 delete eth0", "3000 delete eth0"]
    );
    // The retry worked: the kernel's notice ends it.
    run.at(
        3_001,
        Event::AddressRemoved {
            index: ETH0,
            prefix_len: 24,
        },
    );
    run.advance(10_000);
    assert_eq!(run.machine.status(run.now).left_on, None);
    assert_eq!(
        run.actions()
            .iter()
            .filter(|a| a.contains("delete"))
            .count(),
        3
    );
    assert!(run.exits().is_empty(), "still serving from eth1");
    assert_eq!(
        run.lines()
            .iter()
            .filter(|(_, l)| l.starts_with("cannot remove 198.51.100.50 from eth0"))
            .count(),
        1,
        "said once"
    );
}

#[test]
fn a_delete_that_keeps_failing_is_given_up_with_a_line_saying_where_it_is() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    for attempt in 0..DELETE_ATTEMPTS {
        let at = 1_000 + u64::from(attempt) * 1_000;
        run.at(
            at,
            Event::DeleteFailed {
                index: ETH0,
                reason: "EPERM".into(),
            },
        );
    }
    run.advance(20_000);
    assert_eq!(
        run.actions()
            .iter()
            .filter(|a| a.contains("delete"))
            .count(),
        DELETE_ATTEMPTS as usize
    );
    assert!(run
        .lines()
        .iter()
        .any(|(_, l)| l.contains("is still on eth0 after 5 attempts")));
}

#[test]
fn moving_back_to_where_the_address_was_left_deletes_nothing_there() {
    let mut run = Run::on_eth0(Plan {
        failback_delay_ms: 500,
        ..standby_plan()
    });
    run.at(1_000, Event::Link(no_carrier(eth0())));
    run.at(
        1_000,
        Event::DeleteFailed {
            index: ETH0,
            reason: "ENOBUFS".into(),
        },
    );
    // eth0 is back before the retry: fail-back adds there and deletes from eth1.
    run.at(1_100, Event::Link(eth0()));
    run.advance(5_000);
    let moves: Vec<String> = run
        .actions()
        .into_iter()
        .filter(|a| a.contains("add") || a.contains("delete"))
        .collect();
    assert_eq!(
        moves,
        vec![
            "1000 add eth1",
            "1000 delete eth0",
            "1600 add eth0",
            "1600 delete eth1"
        ]
    );
    assert_eq!(run.machine.status(run.now).left_on, None);
}

#[test]
fn a_round_that_could_not_be_queued_is_owed_again_but_not_forever() {
    let mut run = Run::on_eth0(plan());
    // Round 1 of 4 fails at 200 ms: 4 rounds still reach the wire.
    run.at(
        200,
        Event::SendFailed {
            kind: Sending::Round,
        },
    );
    run.advance(5_000);
    assert_eq!(run.send_times(), vec![200, 400, 600, 800, 1000]);
    // A link that refuses every round: at most a burst's worth resent.
    let mut run = Run::on_eth0(plan());
    for _ in 0..50 {
        let at = ms_of(run.machine.next_wakeup().unwrap_or(run.now));
        run.at(
            at,
            Event::SendFailed {
                kind: Sending::Round,
            },
        );
    }
    run.advance(60_000);
    assert!(run.send_times().len() <= 4 + 5, "{:?}", run.send_times());
    assert!(!run.exits().is_empty(), "and the process ends");
    // Refreshes are best effort: a failed one is not repeated.
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(1_000),
        ..plan()
    });
    run.at(
        1_000,
        Event::SendFailed {
            kind: Sending::Refresh,
        },
    );
    run.advance(1_500);
    assert_eq!(run.send_times(), vec![1_000]);
}

#[test]
fn a_claim_from_an_interface_of_this_node_is_no_claim() {
    let macvlan = link(9, "fip0", MacAddr(2, 0, 0, 0, 0, 0x55));
    let lasting = Plan {
        refresh_every_ms: Some(60_000),
        ..plan()
    };
    let mut run = Run::start(
        lasting,
        &[eth0(), macvlan.clone()],
        Some((ETH0, Held::Ready)),
    );
    run.advance(1_000);
    let before = run.actions().len();
    run.at(
        1_100,
        Event::Claim {
            index: ETH0,
            mac: macvlan.mac.unwrap(),
        },
    );
    // One learnt later, from a notification, counts too; once removed it is a stranger.
    let later = link(10, "eth9", MacAddr(2, 0, 0, 0, 0, 0x66));
    run.at(1_200, Event::Link(later.clone()));
    run.at(
        1_300,
        Event::Claim {
            index: ETH0,
            mac: later.mac.unwrap(),
        },
    );
    assert_eq!(run.actions().len(), before, "{:?}", run.actions());
    assert_eq!(run.machine.status(run.now).claims, 0);
    run.at(1_400, Event::LinkRemoved(10));
    run.at(
        1_500,
        Event::Claim {
            index: ETH0,
            mac: later.mac.unwrap(),
        },
    );
    assert_eq!(run.machine.status(run.now).claims, 1);
}

#[test]
fn an_address_leaving_a_holder_that_went_down_is_a_reason_to_move_not_an_exit() {
    let mut v6 = standby_plan();
    v6.ip = "2001:db8:100::50".parse().unwrap();
    v6.prefix_len = 64;
    v6.address.nodad = true;
    let mut run = Run::start(v6, &[eth0(), eth1(), eth2()], Some((ETH0, Held::Ready)));
    // The kernel drops IPv6 addresses of an interface set down, and says so before (or
    // without) the link notice: the machine asks for the link first.
    run.kernel.insert(
        ETH0,
        Link {
            up: false,
            ..eth0()
        },
    );
    run.at(
        1_000,
        Event::AddressRemoved {
            index: ETH0,
            prefix_len: 64,
        },
    );
    assert_eq!(run.actions()[0], "1000 add eth1");
    assert!(run.exits().is_empty());
}

#[test]
fn an_address_taken_from_a_healthy_holder_ends_the_process_with_nothing_sent_after() {
    let mut run = Run::on_eth0(plan());
    run.at(
        250,
        Event::AddressRemoved {
            index: ETH0,
            prefix_len: 24,
        },
    );
    run.advance(5_000);
    assert_eq!(run.exits().len(), 1);
    assert!(run.send_times().iter().all(|t| *t < 250));
    // Unanswerable lookup: the same.
    let mut run = Run::on_eth0(plan());
    run.hold_probes = true;
    let effects = run.machine.handle(
        Duration::from_millis(250),
        Event::AddressRemoved {
            index: ETH0,
            prefix_len: 24,
        },
    );
    assert_eq!(effects, vec![Effect::LookUpLink { index: ETH0 }]);
    assert_eq!(
        run.machine.next_wakeup(),
        None,
        "nothing is sent while asking"
    );
    let effects = run.machine.handle(
        Duration::from_millis(260),
        Event::LinkLookupFailed { index: ETH0 },
    );
    assert!(matches!(effects.last(), Some(Effect::Exit(_))));
}

#[test]
fn a_resync_after_lost_notifications_applies_what_changed() {
    let mut run = Run::on_eth0(standby_plan());
    // Lost: eth1 was removed, eth0 lost carrier.
    run.kernel.remove(&ETH1);
    run.kernel.insert(ETH0, no_carrier(eth0()));
    run.at(
        1_000,
        Event::Resync {
            links: vec![no_carrier(eth0()), eth2()],
            holder_address: Some(Some(Found {
                prefix_len: 24,
                tentative: false,
                dadfailed: false,
            })),
        },
    );
    assert_eq!(run.actions()[0], "1000 add eth2", "{:?}", run.actions());
    // And the address gone from the holder, while its link is fine: taken away.
    let mut run = Run::on_eth0(plan());
    run.at(
        1_000,
        Event::Resync {
            links: vec![eth0(), eth1(), eth2()],
            holder_address: Some(None),
        },
    );
    assert_eq!(run.exits().len(), 1);
}

#[test]
fn the_holder_is_the_first_adapter_holding_the_address_as_planned() {
    let plan = standby_plan();
    let links = [eth0(), eth1(), eth2()];
    let with = |index: u32, prefix_len: u8, dadfailed: bool| {
        (
            index,
            Found {
                prefix_len,
                tentative: false,
                dadfailed,
            },
        )
    };
    let holder = |found: &[(u32, Found)]| {
        let (machine, _) = Machine::new(plan.clone(), &links, found, Duration::ZERO);
        machine.holder().map(|l| l.index)
    };
    assert_eq!(
        holder(&[with(ETH2, 24, false), with(ETH1, 24, false)]),
        Some(ETH1)
    );
    assert_eq!(
        holder(&[with(ETH1, 16, false), with(ETH2, 24, false)]),
        Some(ETH2)
    );
    assert_eq!(
        holder(&[with(ETH1, 24, true), with(ETH2, 24, false)]),
        Some(ETH2)
    );
    assert_eq!(
        holder(&[with(9, 24, false)]),
        None,
        "not one of the plan's adapters"
    );
}

#[test]
fn the_loop_is_told_to_end_exactly_when_the_machine_exits() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(10_000),
        ..plan()
    });
    run.advance(15_000);
    assert!(!run.machine.has_exited(), "refreshing goes on");
    run.at(15_000, Event::Stop);
    assert!(run.machine.has_exited());
    assert_eq!(run.exits(), vec![(15_000, "asked to stop".to_string())]);
}

#[test]
fn an_adapter_that_cannot_carry_a_probe_frame_is_trusted_as_listed() {
    // A NOARP standby (no ARP/ND framing) cannot send the frame that would show its segment:
    // no probe goes out from it, and it may take the address as configured.
    let noarp = Link {
        announces: false,
        ..eth1()
    };
    let two = Plan {
        adapters: vec!["eth0".into(), "eth1".into()],
        ..standby_plan()
    };
    let links = [eth0(), noarp];
    let (machine, effects) = Machine::new(
        two.clone(),
        &links,
        &found(&two, Some((ETH0, Held::Ready))),
        Duration::ZERO,
    );
    let mut run = Run {
        machine,
        now: Duration::ZERO,
        log: Vec::new(),
        // A probe from it, were one sent, would never be heard.
        elsewhere: vec![ETH1],
        hold_probes: false,
        kernel: links.iter().map(|l| (l.index, l.clone())).collect(),
    };
    run.record(effects);
    run.at(1_000, Event::Link(no_carrier(eth0())));
    assert!(run.probes().is_empty(), "{:?}", run.probes());
    assert_eq!(run.actions()[0], "1000 add eth1");
}

#[test]
fn a_resync_that_finds_the_address_gone_or_failed_ends_the_process_at_once() {
    let refreshing = || Plan {
        rounds: 0,
        refresh_every_ms: Some(10_000),
        ..plan()
    };
    // Gone from a holder whose link is fine: taken away, nothing more is sent.
    let mut run = Run::on_eth0(refreshing());
    run.at(
        15_000,
        Event::Resync {
            links: vec![eth0()],
            holder_address: Some(None),
        },
    );
    run.advance(40_000);
    assert_eq!(run.send_times(), vec![10_000]);
    assert_eq!(
        run.exits(),
        vec![(
            15_000,
            "198.51.100.50 was removed from eth0; nothing of it is left to announce".to_string()
        )]
    );
    // Failed DAD meanwhile (a duplicate appeared while notifications were lost).
    let mut run = Run::on_eth0(refreshing());
    run.at(
        15_000,
        Event::Resync {
            links: vec![eth0()],
            holder_address: Some(Some(Found {
                prefix_len: 24,
                tentative: false,
                dadfailed: true,
            })),
        },
    );
    run.advance(40_000);
    assert_eq!(run.send_times(), vec![10_000]);
    assert_eq!(run.exits().len(), 1);
    assert!(run.exits()[0].1.starts_with("duplicate address detected"));
}

#[test]
fn status_counts_down_to_a_pending_failback() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    run.at(2_000, Event::Link(eth0()));
    let failback = run.machine.status(Duration::from_millis(2_500)).failback;
    assert_eq!(
        failback,
        Some(FailbackStatus {
            adapter: "eth0".into(),
            in_ms: 1_500
        })
    );
}

#[test]
fn a_burst_of_one_round_sends_one_round() {
    let mut run = Run::on_eth0(Plan {
        burst_rounds: 1,
        ..standby_plan()
    });
    run.at(1_000, Event::Link(no_carrier(eth0())));
    run.advance(1_500);
    assert_eq!(run.sends(), vec![(1_000, ETH1, MAC1, Sending::Round)]);
    assert_eq!(run.machine.status(run.now).rounds_owed, 0);
    assert_eq!(run.machine.status(run.now).next_round_in_ms, None);
}

#[test]
fn the_failback_hold_down_is_not_restarted_by_news_of_other_adapters() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    run.at(2_000, Event::Link(eth0()));
    // eth2's notices (nothing changed, then a new MAC) while the hold-down runs.
    run.at(2_500, Event::Link(eth2()));
    run.at(
        3_000,
        Event::Link(link(ETH2, "eth2", MacAddr(2, 0, 0, 0, 0, 0x33))),
    );
    run.advance(10_000);
    let moves: Vec<String> = run
        .actions()
        .into_iter()
        .filter(|a| a.contains("add"))
        .collect();
    assert_eq!(moves, vec!["1000 add eth1", "4000 add eth0"]);
}

#[test]
fn the_address_on_another_interface_says_nothing_about_the_holders() {
    // Another interface gets the same address and prefix (an administrator's mistake): its
    // DAD state is not the holder's.
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(1_000),
        ..plan()
    });
    for (at, tentative, dadfailed) in [(100, true, false), (200, false, true)] {
        run.at(
            at,
            Event::AddressAdded {
                index: ETH1,
                prefix_len: 24,
                tentative,
                dadfailed,
            },
        );
    }
    run.advance(3_500);
    assert_eq!(run.send_times(), vec![1_000, 2_000, 3_000]);
    assert!(run.exits().is_empty());
}

#[test]
fn claims_are_listened_for_on_the_holder_when_it_speaks_arp() {
    let mut run = Run::on_eth0(standby_plan());
    assert_eq!(run.machine.listen_on(), Some(ETH0));
    run.at(1_000, Event::Link(no_carrier(eth0())));
    assert_eq!(
        run.machine.listen_on(),
        Some(ETH1),
        "where the address went"
    );
    // A holder without ARP/ND, or without a MAC, hears no claim frames.
    let noarp = Link {
        announces: false,
        ..eth0()
    };
    let run = Run::start(plan(), &[noarp], Some((ETH0, Held::Ready)));
    assert_eq!(run.machine.listen_on(), None);
    let no_mac = Link {
        mac: None,
        ..eth0()
    };
    let run = Run::start(plan(), &[no_mac], Some((ETH0, Held::Ready)));
    assert_eq!(run.machine.listen_on(), None);
}

#[test]
fn an_interface_not_listed_never_takes_the_place_of_a_missing_adapter() {
    // eth2 does not exist and eth1 has no carrier; a dummy0 that appears is nothing of ours.
    let mut run = Run::start(
        standby_plan(),
        &[eth0(), no_carrier(eth1())],
        Some((ETH0, Held::Ready)),
    );
    run.at(1_000, Event::Link(link(9, "dummy0", MAC2)));
    run.at(2_000, Event::Link(no_carrier(eth0())));
    run.advance(5_000);
    assert!(
        !run.actions().iter().any(|a| a.contains("add")),
        "{:?}",
        run.actions()
    );
    assert!(!run.machine.status(run.now).adapters[2].present);
}

#[test]
fn a_re_created_adapter_is_probed_again_before_it_may_take_the_address() {
    // Removed and created again, its cable may now go elsewhere.
    let mut run = Run::on_eth0(Plan {
        adapters: vec!["eth0".into(), "eth1".into()],
        ..standby_plan()
    });
    run.at(1_000, Event::LinkRemoved(ETH1));
    run.elsewhere = vec![9];
    run.at(1_500, Event::Link(link(9, "eth1", MAC1)));
    run.at(2_000, Event::Link(no_carrier(eth0())));
    run.advance(3_000);
    assert!(
        run.probes().contains(&(1_500, 9, ETH0)),
        "{:?}",
        run.probes()
    );
    assert!(
        !run.actions().iter().any(|a| a.contains("add")),
        "{:?}",
        run.actions()
    );
}

#[test]
fn a_holder_without_arp_cannot_hear_a_probe_so_standbys_are_trusted_as_listed() {
    let noarp = Link {
        announces: false,
        ..eth0()
    };
    let two = Plan {
        adapters: vec!["eth0".into(), "eth1".into()],
        ..standby_plan()
    };
    let links = [noarp.clone(), eth1()];
    let (machine, effects) = Machine::new(
        two.clone(),
        &links,
        &found(&two, Some((ETH0, Held::Ready))),
        Duration::ZERO,
    );
    let mut run = Run {
        machine,
        now: Duration::ZERO,
        log: Vec::new(),
        // A probe heard on eth0, were one sent, would never be reported.
        elsewhere: vec![ETH1],
        hold_probes: false,
        kernel: links.iter().map(|l| (l.index, l.clone())).collect(),
    };
    run.record(effects);
    run.at(1_000, Event::Link(no_carrier(noarp)));
    assert!(run.probes().is_empty(), "{:?}", run.probes());
    assert_eq!(run.actions()[0], "1000 add eth1");
}

#[test]
fn each_probe_answer_counts_for_the_adapter_it_was_sent_from() {
    let mut run = Run {
        hold_probes: true,
        ..Run::start(
            standby_plan(),
            &[eth0(), no_carrier(eth1()), no_carrier(eth2())],
            Some((ETH0, Held::Ready)),
        )
    };
    // Both come up at once: two probes out together.
    run.at(1_000, Event::Link(eth1()))
        .at(1_000, Event::Link(eth2()));
    let id_from = |run: &Run, from: u32| {
        run.log
            .iter()
            .find_map(|(_, e)| match e {
                Effect::ProbeSegment { id, from: f, .. } if *f == from => Some(*id),
                _ => None,
            })
            .unwrap()
    };
    let (of_eth1, of_eth2) = (id_from(&run, ETH1), id_from(&run, ETH2));
    assert_ne!(of_eth1, of_eth2);
    run.at(
        1_050,
        Event::SegmentProbed {
            id: of_eth2,
            heard: true,
        },
    );
    run.at(
        1_060,
        Event::SegmentProbed {
            id: of_eth1,
            heard: false,
        },
    );
    run.at(2_000, Event::Link(no_carrier(eth0())));
    assert_eq!(run.actions()[0], "2000 add eth2");
}

#[test]
fn a_claim_heard_on_an_adapter_that_does_not_hold_the_address_is_ignored() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(60_000),
        ..standby_plan()
    });
    run.at(
        100,
        Event::Claim {
            index: ETH1,
            mac: THEIRS,
        },
    );
    assert!(run.actions().is_empty(), "{:?}", run.actions());
    assert_eq!(run.machine.status(run.now).claims, 0);
}

#[test]
fn a_defence_is_counted_in_the_status() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(60_000),
        ..plan()
    });
    run.at(
        100,
        Event::Claim {
            index: ETH0,
            mac: THEIRS,
        },
    );
    let status = run.machine.status(run.now);
    assert_eq!((status.claims, status.defences), (1, 1));
}

#[test]
fn a_claim_a_full_interval_after_the_last_report_is_reported_again() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(60_000),
        ..plan()
    });
    let claim = Event::Claim {
        index: ETH0,
        mac: THEIRS,
    };
    let interval = DEFEND_INTERVAL.as_millis() as u64;
    run.at(100, claim.clone()).at(100 + interval, claim);
    assert_eq!(
        run.actions(),
        vec![
            "100 send Refresh 2".to_string(),
            "100 record".to_string(),
            format!("{} send Refresh 2", 100 + interval),
            format!("{} record", 100 + interval),
        ]
    );
}

#[test]
fn a_failed_delete_is_said_once_and_again_when_given_up() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    for attempt in 0..DELETE_ATTEMPTS {
        let at = 1_000 + u64::from(attempt) * 1_000;
        run.at(
            at,
            Event::DeleteFailed {
                index: ETH0,
                reason: "EPERM".into(),
            },
        );
    }
    let lines: Vec<(u64, String)> = run
        .lines()
        .into_iter()
        .filter(|(_, l)| l.contains("remove"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0].0, 1_000);
    assert!(lines[0]
        .1
        .starts_with("cannot remove 198.51.100.50 from eth0: EPERM"));
    assert_eq!(lines[1].0, 5_000);
    assert!(lines[1].1.contains("is still on eth0 after 5 attempts"));
}

#[test]
fn the_last_round_of_a_burst_that_could_not_be_queued_goes_out_an_interval_later() {
    let mut run = Run::on_eth0(Plan {
        refresh_every_ms: Some(60_000),
        ..plan()
    });
    run.advance(800);
    run.at(
        800,
        Event::SendFailed {
            kind: Sending::Round,
        },
    );
    run.advance(5_000);
    assert_eq!(run.send_times(), vec![200, 400, 600, 800, 1_000]);
}

#[test]
fn a_new_plan_moves_a_pending_second_wave_to_its_own_delay_after_the_burst() {
    let mut run = Run::on_eth0(Plan {
        rounds: 2,
        burst_rounds: 3,
        repeat_after_ms: Some(5_000),
        second_wave: true,
        ..plan()
    });
    run.at(
        1_000,
        Event::NewPlan(Plan {
            rounds: 0,
            burst_rounds: 3,
            repeat_after_ms: Some(3_000),
            ..plan()
        }),
    );
    run.advance(20_000);
    assert_eq!(run.send_times(), vec![200, 400, 3_000, 3_200, 3_400]);
}

impl Run {
    /// A Tick delivered at `at` although the machine asked for an earlier one (a loop that
    /// woke late), then the ones it asks for after, on time, up to `until`.
    fn late_tick(&mut self, at: u64, until: u64) {
        self.now = Duration::from_millis(at);
        let effects = self.machine.handle(self.now, Event::Tick);
        self.record(effects);
        self.advance(until);
    }
}

#[test]
fn rounds_keep_their_schedule_after_a_late_tick_but_never_crowd_or_pile_up() {
    // Late by a quarter interval: the next rounds keep the burst's schedule.
    let mut run = Run::on_eth0(plan());
    run.late_tick(250, 5_000);
    assert_eq!(run.send_times(), vec![250, 400, 600, 800]);
    // Late by three quarters: never closer than half an interval to the late one.
    let mut run = Run::on_eth0(plan());
    run.late_tick(350, 5_000);
    assert_eq!(run.send_times(), vec![350, 450, 650, 850]);
    // Late by a whole interval or more: afresh from the late round, no catching up.
    let mut run = Run::on_eth0(plan());
    run.late_tick(500, 5_000);
    assert_eq!(run.send_times(), vec![500, 700, 900, 1_100]);
}

#[test]
fn refreshes_keep_their_period_after_a_late_tick_and_skip_what_was_missed() {
    let refreshing = || {
        Run::on_eth0(Plan {
            rounds: 0,
            refresh_every_ms: Some(10_000),
            ..plan()
        })
    };
    let mut run = refreshing();
    run.late_tick(10_300, 35_000);
    assert_eq!(run.send_times(), vec![10_300, 20_000, 30_000]);
    // Late by exactly one period: one refresh, the next a period later.
    let mut run = refreshing();
    run.late_tick(20_000, 45_000);
    assert_eq!(run.send_times(), vec![20_000, 30_000, 40_000]);
    // Late by more: one refresh now, not one per period missed.
    let mut run = refreshing();
    run.late_tick(35_000, 50_000);
    assert_eq!(run.send_times(), vec![35_000, 45_000]);
}

#[test]
fn failback_goes_to_the_first_usable_adapter_when_a_more_preferred_one_is_down() {
    let mut run = Run::on_eth0(standby_plan());
    run.at(1_000, Event::Link(no_carrier(eth0())));
    run.at(1_500, Event::Link(no_carrier(eth1())));
    run.at(2_000, Event::Link(eth1()));
    run.advance(10_000);
    let moves: Vec<String> = run
        .actions()
        .into_iter()
        .filter(|a| a.contains("add"))
        .collect();
    assert_eq!(
        moves,
        vec!["1000 add eth1", "1500 add eth2", "4000 add eth1"],
        "eth0 is still down: eth1 is the most preferred usable adapter"
    );
}

#[test]
fn one_claim_makes_one_line() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(1_000),
        ..plan()
    });
    run.at(
        500,
        Event::Claim {
            index: ETH0,
            mac: THEIRS,
        },
    );
    run.advance(60_000);
    let lines = run.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].1.contains("claimed by 02:00:00:00:00:99"));
}

#[test]
fn an_adapter_cabled_elsewhere_does_not_keep_the_address_from_failing_back_to_the_next() {
    let links = [eth0(), eth1(), eth2()];
    let mut run = Run::start(standby_plan(), &links, Some((ETH2, Held::Ready)));
    run.log.clear();
    run.elsewhere = vec![ETH0];
    let (machine, effects) = Machine::new(
        standby_plan(),
        &links,
        &found(&standby_plan(), Some((ETH2, Held::Ready))),
        Duration::ZERO,
    );
    run.machine = machine;
    run.record(effects);
    run.advance(5_000);
    assert!(
        run.actions().iter().any(|a| a == "2000 add eth1"),
        "back to eth1 after the hold-down, eth0 being elsewhere: {:?}",
        run.actions()
    );
    assert!(!run.actions().iter().any(|a| a.contains("add eth0")));
}

fn clients(n: u16) -> Vec<crate::clients::Client> {
    (0..n)
        .map(|i| crate::clients::Client {
            remote: format!("203.0.113.9:{}", 40000 + i).parse().unwrap(),
            local_port: 80,
        })
        .collect()
}

/// The actions with these prefixes (after the time), as the machine ordered them.
fn only(run: &Run, kinds: &[&str]) -> Vec<String> {
    run.actions()
        .into_iter()
        .filter(|a| {
            kinds
                .iter()
                .any(|k| a.split_once(' ').is_some_and(|(_, r)| r.starts_with(k)))
        })
        .collect()
}

/// Issue 17: the owner polls its clients every POLL_EVERY while it holds the address, shares
/// the list the first time and then only when it changed (or, unchanged, every SHARE_AGAIN),
/// and the resident stays for it.
#[test]
fn the_owner_polls_its_clients_and_shares_only_changes() {
    let mut run = Run::on_eth0(Plan {
        record_clients: true,
        rounds: 0,
        ..plan()
    });
    assert!(run.exits().is_empty(), "recording is lasting work");
    assert_eq!(only(&run, &["poll"]), ["0 poll clients"]);
    run.at(3, Event::ClientsPolled(Ok((clients(1), false))));
    run.at(5_003, Event::Tick);
    run.at(5_010, Event::ClientsPolled(Ok((clients(1), false))));
    run.at(10_010, Event::Tick);
    run.at(10_020, Event::ClientsPolled(Ok((clients(2), false))));
    assert_eq!(
        only(&run, &["poll", "share"]),
        [
            "0 poll clients",
            "3 share 1",
            "5003 poll clients",
            "10010 poll clients",
            "10020 share 2"
        ]
    );
    let status = run.machine.status(Duration::from_millis(12_020));
    assert_eq!(status.clients_recorded, Some(2));
    assert_eq!(status.clients_shared_ago_ms, Some(2_000));
    // A failing share and a failing poll are told once each.
    run.at(10_030, Event::ClientsShared(Some("no attrd".into())));
    run.at(10_040, Event::ClientsShared(Some("no attrd".into())));
    run.at(15_020, Event::ClientsPolled(Err("EPERM".into())));
    run.at(20_020, Event::ClientsPolled(Err("EPERM".into())));
    let told: Vec<_> = run
        .lines()
        .into_iter()
        .filter(|(_, l)| l.contains("no attrd") || l.contains("EPERM"))
        .collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(run.machine.status(run.now).clients_shared_ago_ms, None);
}

#[test]
fn clients_are_not_polled_while_the_address_is_tentative_nor_when_not_recording() {
    let mut run = Run::start(
        Plan {
            record_clients: true,
            ..plan()
        },
        &[eth0()],
        Some((ETH0, Held::Tentative)),
    );
    run.advance(12_000);
    assert!(only(&run, &["poll"]).is_empty(), "{:?}", run.actions());
    let run = Run::on_eth0(Plan {
        refresh_every_ms: Some(10_000),
        ..plan()
    });
    assert!(only(&run, &["poll"]).is_empty());
    assert_eq!(run.machine.status(run.now).clients_recorded, None);
}

/// A reload that turns tickle_clients off stops the polling; on again, it starts at once.
#[test]
fn a_new_plan_turns_recording_off_and_on() {
    let mut run = Run::on_eth0(Plan {
        record_clients: true,
        refresh_every_ms: Some(60_000),
        ..plan()
    });
    run.at(1, Event::ClientsPolled(Ok((clients(1), false))));
    run.at(
        100,
        Event::NewPlan(Plan {
            record_clients: false,
            refresh_every_ms: Some(60_000),
            rounds: 0,
            ..plan()
        }),
    );
    run.advance(30_000);
    assert_eq!(only(&run, &["poll"]), ["0 poll clients"]);
    run.at(
        30_000,
        Event::NewPlan(Plan {
            record_clients: true,
            refresh_every_ms: Some(60_000),
            rounds: 0,
            ..plan()
        }),
    );
    assert_eq!(
        only(&run, &["poll"]),
        ["0 poll clients", "30000 poll clients"]
    );
}

/// Start hands its tickles over: the resident sends them once more, TICKLE_AGAIN_AFTER later
/// (a client answers invalid segments only about twice a second), then has nothing left.
#[test]
fn starts_tickles_are_sent_once_more_after_the_clients_rate_limit() {
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        tickle_again: clients(3),
        ..plan()
    });
    assert!(run.exits().is_empty());
    run.advance(5_000);
    assert_eq!(
        only(&run, &["tickle", "exit"]),
        ["600 tickle 3", "600 exit"]
    );
    // The address left before: no tickle from a node that no longer holds it.
    let mut run = Run::on_eth0(Plan {
        rounds: 0,
        refresh_every_ms: Some(60_000),
        tickle_again: clients(3),
        ..plan()
    });
    run.at(
        100,
        Event::AddressRemoved {
            index: ETH0,
            prefix_len: 24,
        },
    );
    run.advance(5_000);
    assert!(only(&run, &["tickle"]).is_empty(), "{:?}", run.actions());
}
