//! The resident process's decisions (pure): a function of (state, event) to effects, with the
//! time passed in, so unit tests drive it with a fake clock and read the effects as an ordered
//! log. The event loop in `host::resident` turns kernel notifications, frames, timers and
//! control requests into [`Event`]s and performs the [`Effect`]s in order.
//!
//! What it guarantees, each tested as an ordering below:
//! - nothing is sent for an address this node does not hold (removed or failed DAD behind our
//!   back: sending stops, and the process exits), nor while it is tentative;
//! - every round uses the current MAC of the adapter holding the address, and a MAC change
//!   triggers a burst at once;
//! - with standby adapters, carrier loss on the holder moves the address: add on the first
//!   usable standby, announce from it, then delete from the old one; a more preferred adapter
//!   back with carrier takes it back after `failback_delay`, and a flap restarts that wait;
//! - a standby adapter takes the address only once a probe frame sent from it was heard on the
//!   holder's adapter (the same broadcast segment): checked at launch and whenever it gains
//!   carrier, and retried while it is not heard; an adapter cabled elsewhere never takes it;
//! - with no usable adapter and `link_watch`, Pacemaker is told once, however the carrier
//!   flaps afterwards: its recovery stops this process, and a new start brings a new one (a
//!   flapping cable must not run crm_resource once per flap);
//! - another machine's claim is defended at most once per DEFEND_INTERVAL (RFC 5227 § 2.4) and
//!   reported at most once per interval, with a count of the claims not reported;
//! - when the executor that started it is gone, or on stop, it exits before anything else;
//!   but an executor that the node's living pacemakerd respawns is not the cluster going
//!   away: it carries on, and stands down only if pacemakerd ends or respawns none within
//!   EXECUTOR_RESPAWN_GRACE.

use super::Plan;
use crate::clients::{Client, Recorder, POLL_EVERY, TICKLE_AGAIN_AFTER};
use crate::domain::Link;
use crate::packet::MacAddr;
use crate::schedule::{may_defend, Sending, DEFEND_INTERVAL};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// How the address is held on the adapter that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Held {
    /// Still in duplicate address detection: not announced yet.
    Tentative,
    Ready,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A timer the machine asked for (see `next_wakeup`) is due.
    Tick,
    /// An interface is new or changed: flags, carrier, MAC (RTM_NEWLINK).
    Link(Link),
    /// An interface is gone (RTM_DELLINK).
    LinkRemoved(u32),
    /// The address appeared or changed on an interface (RTM_NEWADDR).
    AddressAdded {
        index: u32,
        prefix_len: u8,
        tentative: bool,
        dadfailed: bool,
    },
    /// The address left an interface (RTM_DELADDR).
    AddressRemoved {
        index: u32,
        prefix_len: u8,
    },
    /// The answer to `LookUpLink`: the interface as it is now, or None when it is gone.
    LinkLookedUp {
        index: u32,
        link: Option<Link>,
    },
    /// `LookUpLink` could not be answered.
    LinkLookupFailed {
        index: u32,
    },
    /// Notifications were lost: every interface and the address on the holder, read again
    /// (`holder_address`: None when it could not be read, Some(None) when it is not there).
    Resync {
        links: Vec<Link>,
        holder_address: Option<Option<Found>>,
    },
    /// A frame claiming the address, heard on an interface (from a MAC of this node's own
    /// interfaces it is no claim; the machine tells).
    Claim {
        index: u32,
        mac: MacAddr,
    },
    /// An `AddAddress` effect failed; the effects after it in its batch were not performed.
    AddFailed {
        index: u32,
        reason: String,
    },
    /// A `DeleteAddress` failed: the address is still on that interface.
    DeleteFailed {
        index: u32,
        reason: String,
    },
    /// A `Send` of a round could not be queued (the loop logs why): it is owed again.
    SendFailed {
        kind: Sending,
    },
    /// reload-agent or a monitor: new parameters, the address stays where it is.
    NewPlan(Plan),
    /// The Pacemaker executor that started this process is gone. `cluster_watched`: the
    /// loop watches the node's pacemakerd, which is still alive (it respawns an executor
    /// that died); otherwise the executor's end is the cluster's.
    ExecutorGone {
        cluster_watched: bool,
    },
    /// An executor of the node's pacemakerd runs again (the answer to `FindExecutor`).
    ExecutorFound,
    /// The node's pacemakerd is gone: the cluster is.
    ClusterGone,
    /// The outcome of `ProbeSegment` `id`: whether the frame was heard on the holder's side.
    SegmentProbed {
        id: u64,
        heard: bool,
    },
    /// The outcome of `PollClients`: the clients of the address now (capped, and whether
    /// the cap left some out), or why they could not be listed.
    ClientsPolled(std::result::Result<(Vec<Client>, bool), String>),
    /// The outcome of `ShareClients`: None when shared, else why not.
    ClientsShared(Option<String>),
    Stop,
}

/// The address as found on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub prefix_len: u8,
    pub tentative: bool,
    pub dadfailed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// One round (or a refresh round) for the address from interface `index`, as `mac`.
    Send {
        index: u32,
        mac: MacAddr,
        kind: Sending,
    },
    /// Puts the address on interface `index` (the plan says how).
    AddAddress {
        index: u32,
        name: String,
    },
    DeleteAddress {
        index: u32,
        name: String,
    },
    /// Tells Pacemaker this node cannot serve the address (crm_resource --fail).
    Report(String),
    Log(Level, String),
    /// Another machine claimed the address: recorded for `floatip status`.
    RecordConflict {
        theirs: MacAddr,
        ours: MacAddr,
    },
    /// Looks for a running executor of the node's pacemakerd; `ExecutorFound` when there is.
    FindExecutor,
    /// Reads interface `index` as it is now; answered by `LinkLookedUp` or `LinkLookupFailed`.
    LookUpLink {
        index: u32,
    },
    /// Sends a segment probe frame from interface `from` and listens for it on `on` (for at
    /// most SEGMENT_PROBE_WAIT); answered by `SegmentProbed` with the same `id`.
    ProbeSegment {
        id: u64,
        from: u32,
        on: u32,
    },
    /// Lists the address's TCP clients; answered by `ClientsPolled`.
    PollClients,
    /// Shares the client list through Pacemaker's attribute manager; answered by
    /// `ClientsShared`.
    ShareClients(Vec<Client>),
    /// Sends one tickle to each of these clients, from the address.
    Tickle(Vec<Client>),
    /// Ends the process; nothing is performed after it.
    Exit(String),
}

/// How long an executor that died may take to be respawned by pacemakerd (it takes
/// milliseconds) before the resident stands down all the same.
pub const EXECUTOR_RESPAWN_GRACE: Duration = Duration::from_secs(5);
/// How often the resident looks for the respawned executor meanwhile.
pub const EXECUTOR_LOOK_EVERY: Duration = Duration::from_millis(20);

/// How soon a delete that failed is tried again, and how often.
pub const DELETE_RETRY: Duration = Duration::from_secs(1);
pub const DELETE_ATTEMPTS: u32 = 5;

/// How long a segment probe listens for its frame (on a LAN it arrives in microseconds).
pub const SEGMENT_PROBE_WAIT: Duration = Duration::from_millis(200);
/// How soon an adapter not heard on the holder's segment is probed again while it has
/// carrier: a switch port may forward only after its spanning-tree delay, or be re-cabled.
pub const SEGMENT_RETRY: Duration = Duration::from_secs(5);

/// One listed adapter, in order of preference.
#[derive(Debug, Clone)]
struct Slot {
    name: String,
    link: Option<Link>,
    /// Adding the address here failed; tried again once its link changes.
    add_failed: bool,
    segment: Segment,
}

/// Whether an adapter is on the holder's broadcast segment, as far as probes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// Not (yet) heard there: probed from `probe_at` on while it is usable. `told`: the
    /// operator was told it was not heard.
    Unknown { probe_at: Duration, told: bool },
    /// Probe `id` is out.
    Probing { id: u64, told: bool },
    /// Heard on the holder's adapter (or it is the holder the address was found on).
    Shared,
}

impl Slot {
    fn usable(&self) -> bool {
        !self.add_failed && self.link.as_ref().is_some_and(Link::usable)
    }

    /// Usable and on the holder's segment: may take the address.
    fn candidate(&self) -> bool {
        self.usable() && self.segment == Segment::Shared
    }

    /// Forgets what was known of its segment (its cable may be elsewhere when it is back).
    fn forget_segment(&mut self, now: Duration) {
        self.segment = Segment::Unknown {
            probe_at: now,
            told: false,
        };
    }
}

/// Whether probe frames can tell this link's segment: it needs a MAC and ARP/ND framing.
fn probeable(link: &Link) -> bool {
    link.announces && link.mac.is_some()
}

/// A delete that failed: tried again at `retry_at` (None while one is out).
#[derive(Debug, Clone)]
struct Leftover {
    index: u32,
    name: String,
    attempts: u32,
    retry_at: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
struct Burst {
    owed: u32,
    next_at: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Failback {
    slot: usize,
    since: Duration,
}

/// Claims heard, for rate-limited reporting.
#[derive(Debug, Clone, Default)]
struct Claims {
    /// No report line before this.
    quiet_until: Option<Duration>,
    /// Claims since the last line.
    unreported: u32,
    last: Option<(MacAddr, Duration)>,
    total: u64,
    defences: u64,
}

pub struct Machine {
    plan: Plan,
    slots: Vec<Slot>,
    holder: Option<usize>,
    held: Held,
    /// Whether the holder was usable when last looked at: carrier coming back is news.
    holder_usable: bool,
    /// Where the address was before a move whose add may still fail.
    moved_from: Option<(usize, Held)>,
    burst: Option<Burst>,
    refresh_at: Option<Duration>,
    /// When the second wave of the last burst is due.
    second_wave_at: Option<Duration>,
    last_burst_at: Duration,
    failback: Option<Failback>,
    told_pacemaker: bool,
    last_defence: Option<Duration>,
    claims: Claims,
    /// Since when the executor is gone while pacemakerd lives, and when to look next.
    executor_lost: Option<(Duration, Duration)>,
    /// Segment probes sent (their ids).
    probes_sent: u64,
    /// The address left behind on an adapter it moved off, because the delete failed.
    leftover: Option<Leftover>,
    /// Rounds of the current burst sent again after a failed send.
    resent: u32,
    /// Every interface of the namespace and its MAC: a claim from one of them is our own.
    known: BTreeMap<u32, Option<MacAddr>>,
    /// The address left the holder: what that means waits for the holder's link as it is
    /// now (a reason to move, or news that it was taken away).
    removal_pending: Option<u32>,
    /// The clients recorded and shared (record_clients).
    recorder: Recorder,
    /// When the next poll of the clients is due (None while one is out, or not recording).
    poll_at: Option<Duration>,
    /// A poll failed; logged once until one works again.
    poll_failing: bool,
    /// Start's tickles, owed once more at this time.
    tickle_again: Option<(Duration, Vec<Client>)>,
    exited: bool,
}

/// What the process is doing, for `floatip status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub resource: String,
    pub ip: IpAddr,
    pub prefix_len: u8,
    pub adapter: Option<String>,
    pub mac: Option<String>,
    pub held: Option<Held>,
    pub usable: bool,
    pub adapters: Vec<AdapterStatus>,
    pub rounds_owed: u32,
    pub next_round_in_ms: Option<u64>,
    pub next_refresh_in_ms: Option<u64>,
    pub second_wave_in_ms: Option<u64>,
    pub failback: Option<FailbackStatus>,
    pub last_conflict: Option<ConflictStatus>,
    pub claims: u64,
    pub defences: u64,
    pub told_pacemaker: bool,
    /// The adapter the address could not be removed from after a move.
    pub left_on: Option<String>,
    /// record_clients: the clients of the address found by the last poll.
    pub clients_recorded: Option<usize>,
    /// How long ago the client list was last shared (None: not yet, or sharing fails).
    pub clients_shared_ago_ms: Option<u64>,
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdapterStatus {
    pub name: String,
    pub present: bool,
    pub up: bool,
    pub carrier: bool,
    pub mac: Option<String>,
    /// Heard on the holder's segment: it may take the address.
    pub on_segment: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailbackStatus {
    pub adapter: String,
    pub in_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictStatus {
    pub theirs: String,
    pub ago_ms: u64,
}

/// Where the address is held among the plan's adapters: the first, in order of preference,
/// that has it with the plan's prefix and not failed DAD.
fn holder_of(plan: &Plan, links: &[Link], found: &[(u32, Found)]) -> Option<(u32, Held)> {
    plan.adapters.iter().find_map(|name| {
        let link = links.iter().find(|l| &l.name == name)?;
        let (_, a) = found.iter().find(|(index, _)| *index == link.index)?;
        (a.prefix_len == plan.prefix_len && !a.dadfailed).then_some((
            link.index,
            if a.tentative {
                Held::Tentative
            } else {
                Held::Ready
            },
        ))
    })
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

impl Machine {
    /// A machine for `plan`, given the listed adapters as they are now and where the address
    /// is (`holder`: an interface index and how it holds it). Its first effects are returned
    /// with it: an exit when the address is on none of the adapters.
    pub fn new(
        plan: Plan,
        links: &[Link],
        found: &[(u32, Found)],
        now: Duration,
    ) -> (Machine, Vec<Effect>) {
        let holder = holder_of(&plan, links, found);
        let slots: Vec<Slot> = plan
            .adapters
            .iter()
            .map(|name| Slot {
                name: name.clone(),
                link: links.iter().find(|l| &l.name == name).cloned(),
                add_failed: false,
                segment: Segment::Unknown {
                    probe_at: now,
                    told: false,
                },
            })
            .collect();
        let holder_slot = holder.and_then(|(index, _)| {
            slots
                .iter()
                .position(|s| s.link.as_ref().is_some_and(|l| l.index == index))
        });
        let plan_records = plan.record_clients;
        let tickle_again = (!plan.tickle_again.is_empty())
            .then(|| (now + TICKLE_AGAIN_AFTER, plan.tickle_again.clone()));
        let mut slots = slots;
        if let Some(h) = holder_slot {
            // Where the address is defines the segment its clients are on.
            slots[h].segment = Segment::Shared;
        }
        let mut machine = Machine {
            burst: (plan.rounds > 0).then(|| Burst {
                owed: plan.rounds,
                next_at: now + plan.interval(),
            }),
            refresh_at: plan
                .refresh_every_ms
                .map(|e| now + Duration::from_millis(e)),
            second_wave_at: plan
                .repeat_after_ms
                .filter(|_| plan.second_wave)
                .map(|r| now + Duration::from_millis(r)),
            last_burst_at: now,
            holder_usable: holder_slot.is_some_and(|h| slots[h].usable()),
            held: holder.map_or(Held::Ready, |(_, held)| held),
            holder: holder_slot,
            slots,
            plan,
            moved_from: None,
            failback: None,
            told_pacemaker: false,
            last_defence: None,
            claims: Claims::default(),
            executor_lost: None,
            probes_sent: 0,
            leftover: None,
            resent: 0,
            known: links.iter().map(|l| (l.index, l.mac)).collect(),
            removal_pending: None,
            recorder: Recorder::default(),
            poll_at: plan_records.then_some(now),
            poll_failing: false,
            tickle_again,
            exited: false,
        };
        let mut effects = Vec::new();
        machine.reconsider(now, &mut effects);
        machine.run_due(now, &mut effects);
        machine.exit_if_idle(&mut effects);
        (machine, effects)
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The interface holding the address, with the link as last seen.
    pub fn holder(&self) -> Option<&Link> {
        self.slots[self.holder?].link.as_ref()
    }

    pub fn has_exited(&self) -> bool {
        self.exited
    }

    /// Whether a new plan can replace this one: the same resource and address on the same
    /// adapters (anything else is a new start, not a reload).
    pub fn accepts(&self, plan: &Plan) -> Result<(), String> {
        plan.validate()?;
        if plan.resource != self.plan.resource
            || plan.ip != self.plan.ip
            || plan.prefix_len != self.plan.prefix_len
            || plan.adapters != self.plan.adapters
        {
            return Err(format!(
                "this process serves {} {}/{} on {}",
                self.plan.resource,
                self.plan.ip,
                self.plan.prefix_len,
                self.plan.adapters.join(",")
            ));
        }
        Ok(())
    }

    pub fn handle(&mut self, now: Duration, event: Event) -> Vec<Effect> {
        if self.exited {
            return Vec::new();
        }
        let mut effects = Vec::new();
        match event {
            Event::ExecutorGone {
                cluster_watched: false,
            } => {
                return self.exit(
                    "the Pacemaker executor that started it is gone; standing down and leaving the address to the cluster's recovery",
                )
            }
            Event::ExecutorGone {
                cluster_watched: true,
            } => {
                // pacemakerd respawns an executor that died: the cluster is alive, and the
                // refresh, defence and take-over go on without a gap.
                if self.executor_lost.is_none() {
                    effects.push(Effect::Log(
                        Level::Warning,
                        format!(
                            "the Pacemaker executor is gone but pacemakerd lives; carrying on while it respawns one (at most {}s)",
                            EXECUTOR_RESPAWN_GRACE.as_secs()
                        ),
                    ));
                    self.executor_lost = Some((now, now));
                }
            }
            Event::ExecutorFound => {
                if self.executor_lost.take().is_some() {
                    effects.push(Effect::Log(
                        Level::Info,
                        "pacemakerd respawned the executor; standing down with the new one"
                            .to_string(),
                    ));
                }
            }
            Event::ClusterGone => {
                return self.exit(
                    "pacemakerd is gone, and the cluster with it; standing down and leaving the address to the cluster's recovery",
                )
            }
            Event::Stop => return self.exit("asked to stop"),
            Event::SegmentProbed { id, heard } => self.on_segment_probed(now, id, heard, &mut effects),
            Event::Tick => {}
            Event::Link(link) => self.on_link(now, link, &mut effects),
            Event::LinkRemoved(index) => {
                if self.on_link_removed(now, index, &mut effects) {
                    return effects;
                }
            }
            Event::AddressAdded {
                index,
                prefix_len,
                tentative,
                dadfailed,
            } => {
                let found = Found {
                    prefix_len,
                    tentative,
                    dadfailed,
                };
                if let Some(exit) = self.on_address(index, found) {
                    return exit;
                }
            }
            Event::AddressRemoved { index, prefix_len } => {
                if self.leftover.as_ref().is_some_and(|l| l.index == index) {
                    self.leftover = None;
                }
                if prefix_len == self.plan.prefix_len && self.holds_on(index) {
                    // The kernel removes IPv6 addresses from an interface going down, and
                    // addresses before it announces an interface's removal: both are a
                    // reason to move. Asked first, decided on the answer.
                    self.removal_pending = Some(index);
                    effects.push(Effect::LookUpLink { index });
                    return effects;
                }
            }
            Event::LinkLookedUp { index, link } => {
                match link {
                    Some(link) => self.on_link(now, link, &mut effects),
                    None => {
                        if self.on_link_removed(now, index, &mut effects) {
                            return effects;
                        }
                    }
                }
                if let Some(exit) = self.settle_removal(index) {
                    effects.extend(exit);
                    return effects;
                }
            }
            Event::LinkLookupFailed { index } => {
                if let Some(exit) = self.settle_removal(index) {
                    return exit;
                }
            }
            Event::Resync {
                links,
                holder_address,
            } => {
                let gone: Vec<u32> = self
                    .known
                    .keys()
                    .copied()
                    .filter(|i| !links.iter().any(|l| l.index == *i))
                    .collect();
                for index in gone {
                    if self.on_link_removed(now, index, &mut effects) {
                        return effects;
                    }
                }
                for link in links {
                    self.on_link(now, link, &mut effects);
                }
                let holder = self.holder().map(|l| l.index);
                match (holder, holder_address) {
                    (Some(index), Some(Some(found))) => {
                        if let Some(exit) = self.on_address(index, found) {
                            effects.extend(exit);
                            return effects;
                        }
                    }
                    (Some(index), Some(None)) => {
                        self.removal_pending = Some(index);
                        effects.push(Effect::LookUpLink { index });
                        return effects;
                    }
                    _ => {}
                }
            }
            Event::Claim { index, mac } => self.on_claim(now, index, mac, &mut effects),
            Event::AddFailed { index, reason } => self.on_add_failed(now, index, reason, &mut effects),
            Event::DeleteFailed { index, reason } => {
                self.on_delete_failed(now, index, reason, &mut effects)
            }
            Event::SendFailed { kind } => self.on_send_failed(now, kind),
            Event::NewPlan(plan) => self.on_plan(now, plan, &mut effects),
            Event::ClientsPolled(outcome) => self.on_clients_polled(now, outcome, &mut effects),
            Event::ClientsShared(failure) => {
                if let Some(line) = self.recorder.share_outcome(failure) {
                    effects.push(Effect::Log(Level::Warning, line));
                }
            }
        }
        self.run_due(now, &mut effects);
        self.exit_if_idle(&mut effects);
        effects
    }

    /// When the machine next needs a Tick, if ever (a burst held for a link that cannot carry
    /// it waits for an event instead).
    pub fn next_wakeup(&self) -> Option<Duration> {
        if self.exited {
            return None;
        }
        let burst = self
            .burst
            .filter(|_| self.sendable().is_some())
            .map(|b| b.next_at);
        let failback = self
            .failback
            .map(|f| f.since + Duration::from_millis(self.plan.failback_delay_ms));
        let summary = self
            .claims
            .quiet_until
            .filter(|_| self.claims.unreported > 0);
        let executor = self.executor_lost.map(|(_, look_at)| look_at);
        let probe = self.probes_due().map(|(_, at)| at).min();
        let leftover = self.leftover.as_ref().and_then(|l| l.retry_at);
        let tickle = self.tickle_again.as_ref().map(|(at, _)| *at);
        [
            self.poll_at,
            tickle,
            burst,
            self.refresh_at,
            self.second_wave_at,
            failback,
            summary,
            executor,
            probe,
            leftover,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn status(&self, now: Duration) -> Status {
        let until = |at: Duration| ms(at.saturating_sub(now));
        let holder = self.holder();
        Status {
            resource: self.plan.resource.clone(),
            ip: self.plan.ip,
            prefix_len: self.plan.prefix_len,
            adapter: holder.map(|l| l.name.clone()),
            mac: holder.and_then(|l| l.mac).map(|m| m.to_string()),
            held: self.holder.map(|_| self.held),
            usable: self.sendable().is_some(),
            adapters: self
                .slots
                .iter()
                .map(|s| AdapterStatus {
                    name: s.name.clone(),
                    present: s.link.is_some(),
                    up: s.link.as_ref().is_some_and(|l| l.up),
                    carrier: s.link.as_ref().is_some_and(|l| l.carrier),
                    mac: s.link.as_ref().and_then(|l| l.mac).map(|m| m.to_string()),
                    on_segment: s.segment == Segment::Shared,
                })
                .collect(),
            rounds_owed: self.burst.map_or(0, |b| b.owed),
            next_round_in_ms: self.burst.map(|b| until(b.next_at)),
            next_refresh_in_ms: self.refresh_at.map(until),
            second_wave_in_ms: self.second_wave_at.map(until),
            failback: self.failback.map(|f| FailbackStatus {
                adapter: self.slots[f.slot].name.clone(),
                in_ms: until(f.since + Duration::from_millis(self.plan.failback_delay_ms)),
            }),
            last_conflict: self.claims.last.map(|(mac, at)| ConflictStatus {
                theirs: mac.to_string(),
                ago_ms: ms(now.saturating_sub(at)),
            }),
            claims: self.claims.total,
            defences: self.claims.defences,
            told_pacemaker: self.told_pacemaker,
            left_on: self.leftover.as_ref().map(|l| l.name.clone()),
            clients_recorded: self
                .plan
                .record_clients
                .then_some(self.recorder.recorded.len()),
            clients_shared_ago_ms: self
                .recorder
                .shared_at()
                .filter(|_| self.plan.record_clients)
                .map(|at| ms(now.saturating_sub(at))),
            plan: self.plan.clone(),
        }
    }

    fn exit(&mut self, reason: &str) -> Vec<Effect> {
        self.exited = true;
        vec![Effect::Exit(reason.to_string())]
    }

    fn slot_of(&self, index: u32) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.link.as_ref().is_some_and(|l| l.index == index))
    }

    fn holds_on(&self, index: u32) -> bool {
        self.holder.is_some() && self.holder == self.slot_of(index)
    }

    fn holder_name(&self) -> String {
        self.holder
            .map_or_else(String::new, |h| self.slots[h].name.clone())
    }

    /// The holder's interface and MAC when a round can go out now: the address is held and
    /// settled, the link is up with carrier, speaks ARP/ND and has a MAC.
    fn sendable(&self) -> Option<(u32, MacAddr)> {
        let link = self.holder()?;
        (self.held == Held::Ready
            && self.removal_pending.is_none()
            && link.usable()
            && link.announces)
            .then_some(())
            .and(link.mac.map(|mac| (link.index, mac)))
    }

    fn send(&self, kind: Sending, effects: &mut Vec<Effect>) -> bool {
        match self.sendable() {
            Some((index, mac)) => {
                effects.push(Effect::Send { index, mac, kind });
                true
            }
            None => false,
        }
    }

    /// A new burst of `burst_rounds`: the first round now if it can go, the rest `interval`
    /// apart; with `repeat_after`, a second wave that long after.
    fn start_burst(&mut self, now: Duration, second_wave: bool, effects: &mut Vec<Effect>) {
        let rounds = self.plan.burst_rounds;
        if rounds == 0 {
            return;
        }
        self.last_burst_at = now;
        self.resent = 0;
        if second_wave {
            self.second_wave_at = self
                .plan
                .repeat_after_ms
                .map(|r| now + Duration::from_millis(r));
        }
        let sent = self.send(Sending::Round, effects);
        let owed = rounds - u32::from(sent);
        self.burst = (owed > 0).then(|| Burst {
            owed,
            next_at: if sent {
                now + self.plan.interval()
            } else {
                now
            },
        });
    }

    /// An interface is gone; true when that ends the process (it held the address and there
    /// is nowhere to move it).
    fn on_link_removed(&mut self, now: Duration, index: u32, effects: &mut Vec<Effect>) -> bool {
        self.known.remove(&index);
        let Some(slot) = self.slot_of(index) else {
            return false;
        };
        self.slots[slot].link = None;
        self.slots[slot].add_failed = false;
        if self.holder != Some(slot) {
            self.slots[slot].forget_segment(now);
        }
        effects.push(Effect::Log(
            Level::Warning,
            format!("{} was removed", self.slots[slot].name),
        ));
        self.reconsider(now, effects);
        if self.holder == Some(slot) {
            // Nowhere to move it: the address went with the interface.
            self.holder = None;
            self.removal_pending = None;
            effects.extend(self.exit(&format!(
                "{} was removed with {}; nothing of it is left to announce",
                self.plan.ip, self.slots[slot].name
            )));
            return true;
        }
        false
    }

    /// The address as now found on interface `index`; Some(exit) when it failed DAD.
    fn on_address(&mut self, index: u32, found: Found) -> Option<Vec<Effect>> {
        if found.prefix_len != self.plan.prefix_len || !self.holds_on(index) {
            return None;
        }
        if found.dadfailed {
            return Some(self.exit(&format!(
                "duplicate address detected for {} on {}; not announcing it",
                self.plan.ip,
                self.holder_name()
            )));
        }
        self.held = if found.tentative {
            Held::Tentative
        } else {
            Held::Ready
        };
        None
    }

    /// The holder's link is known again after the address left it: if the address did not
    /// move meanwhile, it was taken away, and there is nothing left to announce.
    fn settle_removal(&mut self, index: u32) -> Option<Vec<Effect>> {
        if self.removal_pending != Some(index) {
            return None;
        }
        self.removal_pending = None;
        if !self.holds_on(index) {
            return None;
        }
        let name = self.holder_name();
        self.holder = None;
        Some(self.exit(&format!(
            "{} was removed from {name}; nothing of it is left to announce",
            self.plan.ip
        )))
    }

    /// The interface to listen on for claims: the holder, when it speaks ARP/ND.
    pub fn listen_on(&self) -> Option<u32> {
        self.holder()
            .filter(|l| l.announces && l.mac.is_some())
            .map(|l| l.index)
    }

    fn on_link(&mut self, now: Duration, link: Link, effects: &mut Vec<Effect>) {
        self.known.insert(link.index, link.mac);
        // An adapter is its interface index: renamed, it is still the same adapter and keeps
        // the address. A name is matched only by an adapter not seen yet, or re-created.
        let slot = match self.slot_of(link.index) {
            Some(slot) => {
                if self.slots[slot].name != link.name {
                    effects.push(Effect::Log(
                        Level::Info,
                        format!(
                            "{} was renamed {}; it is still an adapter of {}",
                            self.slots[slot].name, link.name, self.plan.ip
                        ),
                    ));
                    self.slots[slot].name = link.name.clone();
                }
                slot
            }
            None => match self
                .slots
                .iter()
                .position(|s| s.link.is_none() && s.name == link.name)
            {
                Some(slot) => slot,
                None => {
                    self.reconsider(now, effects);
                    return;
                }
            },
        };
        let was_usable = self.slots[slot].usable();
        let before = self.slots[slot].link.replace(link.clone());
        self.slots[slot].add_failed = false;
        if was_usable && !self.slots[slot].usable() && self.holder != Some(slot) {
            self.slots[slot].forget_segment(now);
        }
        let mac_changed = before
            .as_ref()
            .is_some_and(|b| b.index == link.index && b.mac != link.mac && link.mac.is_some());
        if Some(slot) == self.holder && mac_changed {
            effects.push(Effect::Log(
                Level::Info,
                format!(
                    "{} changed its MAC to {}; announcing {} from it",
                    link.name,
                    link.mac.map_or_else(String::new, |m| m.to_string()),
                    self.plan.ip
                ),
            ));
            self.start_burst(now, true, effects);
        }
        self.reconsider(now, effects);
    }

    /// Looks at the adapters after a change: moves off a holder that lost carrier, announces
    /// again when the holder is back, schedules a failback, tells Pacemaker when nothing is
    /// left.
    fn reconsider(&mut self, now: Duration, effects: &mut Vec<Effect>) {
        let Some(h) = self.holder else { return };
        if !self.slots[h].usable() {
            self.failback = None;
            if let Some(s) = (0..self.slots.len()).find(|&s| s != h && self.slots[s].candidate()) {
                self.move_to(now, s, "lost carrier", effects);
                return;
            }
            if self.holder_usable {
                effects.push(Effect::Log(
                    Level::Warning,
                    format!(
                        "{} cannot carry {} (down, no carrier or removed) and no other adapter of {} on its segment can",
                        self.slots[h].name,
                        self.plan.ip,
                        self.plan.adapters.join(",")
                    ),
                ));
            }
            self.holder_usable = false;
            if self.plan.link_watch && !self.told_pacemaker {
                self.told_pacemaker = true;
                effects.push(Effect::Report(format!(
                    "no usable adapter for {} in {}",
                    self.plan.ip,
                    self.plan.adapters.join(",")
                )));
            }
            return;
        }
        if !self.holder_usable {
            self.holder_usable = true;
            effects.push(Effect::Log(
                Level::Info,
                format!(
                    "{} is up with carrier again; announcing {}",
                    self.slots[h].name, self.plan.ip
                ),
            ));
            self.start_burst(now, true, effects);
        }
        match (0..h).find(|&s| self.slots[s].candidate()) {
            Some(preferred) if self.failback.is_none_or(|f| f.slot != preferred) => {
                self.failback = Some(Failback {
                    slot: preferred,
                    since: now,
                });
                effects.push(Effect::Log(
                    Level::Info,
                    format!(
                        "{} is usable again; {} moves back to it after {}ms unless it fails again",
                        self.slots[preferred].name, self.plan.ip, self.plan.failback_delay_ms
                    ),
                ));
            }
            Some(_) => {}
            None => self.failback = None,
        }
    }

    /// Moves the address: add on the new adapter, announce from it, delete from the old one.
    fn move_to(&mut self, now: Duration, to: usize, why: &str, effects: &mut Vec<Effect>) {
        let Some(from) = self.holder else { return };
        let Some(link) = self.slots[to].link.clone() else {
            return;
        };
        effects.push(Effect::Log(
            Level::Warning,
            format!(
                "moving {} from {} ({why}) to {}",
                self.plan.ip, self.slots[from].name, link.name
            ),
        ));
        effects.push(Effect::AddAddress {
            index: link.index,
            name: link.name.clone(),
        });
        if self
            .leftover
            .as_ref()
            .is_some_and(|l| l.index == link.index)
        {
            // Back where it was left: nothing to delete there any more.
            self.leftover = None;
        }
        if !self.slots[from].usable() {
            self.slots[from].forget_segment(now);
        }
        self.moved_from = Some((from, self.held));
        self.holder = Some(to);
        self.held = if self.plan.ip.is_ipv4() || self.plan.address.nodad {
            Held::Ready
        } else {
            Held::Tentative
        };
        self.holder_usable = true;
        self.failback = None;
        self.start_burst(now, true, effects);
        if let Some(old) = &self.slots[from].link {
            effects.push(Effect::DeleteAddress {
                index: old.index,
                name: old.name.clone(),
            });
        }
    }

    /// Adapters to probe and from when: usable, not known to share the segment, no probe
    /// out, while the holder is usable to hear it.
    fn probes_due(&self) -> impl Iterator<Item = (usize, Duration)> + '_ {
        let holder = self.holder.filter(|&h| self.slots[h].usable());
        self.slots
            .iter()
            .enumerate()
            .filter(move |&(s, slot)| holder.is_some_and(|h| h != s) && slot.usable())
            .filter_map(|(s, slot)| match slot.segment {
                Segment::Unknown { probe_at, .. } => Some((s, probe_at)),
                _ => None,
            })
    }

    fn send_probes(&mut self, now: Duration, effects: &mut Vec<Effect>) {
        let due: Vec<usize> = self
            .probes_due()
            .filter(|&(_, at)| at <= now)
            .map(|(s, _)| s)
            .collect();
        let Some(on) = self.holder().cloned() else {
            return;
        };
        for s in due {
            let Some(from) = self.slots[s].link.clone() else {
                continue;
            };
            let Segment::Unknown { told, .. } = self.slots[s].segment else {
                continue;
            };
            if !probeable(&from) || !probeable(&on) {
                // No frames to tell segments apart with: trusted as listed.
                self.slots[s].segment = Segment::Shared;
                continue;
            }
            self.probes_sent += 1;
            let id = self.probes_sent;
            self.slots[s].segment = Segment::Probing { id, told };
            effects.push(Effect::ProbeSegment {
                id,
                from: from.index,
                on: on.index,
            });
        }
    }

    fn on_segment_probed(
        &mut self,
        now: Duration,
        id: u64,
        heard: bool,
        effects: &mut Vec<Effect>,
    ) {
        let Some(s) = self
            .slots
            .iter()
            .position(|slot| matches!(slot.segment, Segment::Probing { id: out, .. } if out == id))
        else {
            // Its adapter lost carrier or went meanwhile: the answer is stale.
            return;
        };
        let Segment::Probing { told, .. } = self.slots[s].segment else {
            return;
        };
        let holder = self.holder_name();
        if heard {
            self.slots[s].segment = Segment::Shared;
            if told {
                effects.push(Effect::Log(
                    Level::Info,
                    format!(
                        "{} is now heard on {holder}'s segment; it may take {}",
                        self.slots[s].name, self.plan.ip
                    ),
                ));
            }
            self.reconsider(now, effects);
            return;
        }
        if !self.holder.is_some_and(|h| self.slots[h].usable()) {
            // The holder failed while listening: this says nothing; asked again once it can.
            self.slots[s].segment = Segment::Unknown {
                probe_at: now,
                told,
            };
            return;
        }
        self.slots[s].segment = Segment::Unknown {
            probe_at: now + SEGMENT_RETRY,
            told: true,
        };
        if !told {
            effects.push(Effect::Log(
                Level::Warning,
                format!(
                    "{} is not on {holder}'s segment (a frame sent from it was not heard there); it will not take {} (probed again every {}s)",
                    self.slots[s].name,
                    self.plan.ip,
                    SEGMENT_RETRY.as_secs()
                ),
            ));
        }
    }

    fn on_delete_failed(
        &mut self,
        now: Duration,
        index: u32,
        reason: String,
        effects: &mut Vec<Effect>,
    ) {
        if self.holds_on(index) {
            // It moved back there meanwhile: the address belongs there now.
            return;
        }
        let name = self
            .slot_of(index)
            .map_or_else(|| index.to_string(), |s| self.slots[s].name.clone());
        let attempts = self
            .leftover
            .as_ref()
            .filter(|l| l.index == index)
            .map_or(0, |l| l.attempts)
            + 1;
        let retry_at = (attempts < DELETE_ATTEMPTS).then_some(now + DELETE_RETRY);
        let line = match retry_at {
            Some(_) if attempts == 1 => format!(
                "cannot remove {} from {name}: {reason}; trying again every {}s",
                self.plan.ip,
                DELETE_RETRY.as_secs()
            ),
            Some(_) => return self.leftover_retry(index, name, attempts, retry_at),
            None => format!(
                "{} is still on {name} after {attempts} attempts to remove it ({reason}); stop removes it, or remove it by hand",
                self.plan.ip
            ),
        };
        effects.push(Effect::Log(Level::Warning, line));
        self.leftover_retry(index, name, attempts, retry_at);
    }

    fn leftover_retry(
        &mut self,
        index: u32,
        name: String,
        attempts: u32,
        retry_at: Option<Duration>,
    ) {
        self.leftover = Some(Leftover {
            index,
            name,
            attempts,
            retry_at,
        });
    }

    /// A round that could not be queued is owed again, at most a burst's worth of times per
    /// burst (a link that keeps refusing must not make an endless burst).
    fn on_send_failed(&mut self, now: Duration, kind: Sending) {
        if kind != Sending::Round || self.resent >= self.plan.burst_rounds.max(self.plan.rounds) {
            return;
        }
        self.resent += 1;
        let next_at = now + self.plan.interval();
        match &mut self.burst {
            Some(burst) => burst.owed += 1,
            None => self.burst = Some(Burst { owed: 1, next_at }),
        }
    }

    fn on_add_failed(
        &mut self,
        now: Duration,
        index: u32,
        reason: String,
        effects: &mut Vec<Effect>,
    ) {
        let Some(failed) = self.slot_of(index) else {
            return;
        };
        if self.holder != Some(failed) {
            return;
        }
        self.slots[failed].add_failed = true;
        effects.push(Effect::Log(
            Level::Warning,
            format!(
                "cannot put {} on {}: {reason}",
                self.plan.ip, self.slots[failed].name
            ),
        ));
        // The address stayed where it was; look again from there.
        let (from, held) = self.moved_from.take().unwrap_or((failed, self.held));
        self.holder = Some(from);
        self.held = held;
        self.burst = None;
        self.holder_usable = self.slots[from].usable();
        self.reconsider(now, effects);
    }

    fn on_claim(&mut self, now: Duration, index: u32, theirs: MacAddr, effects: &mut Vec<Effect>) {
        if !self.holds_on(index) || self.held != Held::Ready {
            return;
        }
        // This node's own adapters (a standby on the segment, a macvlan) claim nothing.
        if self.known.values().any(|mac| *mac == Some(theirs)) {
            return;
        }
        let Some((_, ours)) = self.sendable() else {
            return;
        };
        self.claims.total += 1;
        self.claims.last = Some((theirs, now));
        let defended = self.plan.defend
            && may_defend(self.last_defence, now)
            && self.send(Sending::Refresh, effects);
        if defended {
            self.last_defence = Some(now);
            self.claims.defences += 1;
        }
        if self.claims.quiet_until.is_some_and(|q| now < q) {
            self.claims.unreported += 1;
            return;
        }
        let action = if defended {
            "announcing again".to_string()
        } else if !self.plan.defend {
            "conflict_defend is off".to_string()
        } else {
            format!(
                "already defended within {}s, leaving it to the cluster",
                DEFEND_INTERVAL.as_secs()
            )
        };
        let earlier = match self.claims.unreported {
            0 => String::new(),
            n => format!(" ({n} earlier claims not reported)"),
        };
        effects.push(Effect::Log(
            Level::Warning,
            format!(
                "conflict: {} claimed by {theirs} while {ours} holds it on {}; {action}{earlier}",
                self.plan.ip,
                self.holder_name()
            ),
        ));
        effects.push(Effect::RecordConflict { theirs, ours });
        self.claims.quiet_until = Some(now + DEFEND_INTERVAL);
        self.claims.unreported = 0;
    }

    fn on_plan(&mut self, now: Duration, plan: Plan, effects: &mut Vec<Effect>) {
        let old = std::mem::replace(&mut self.plan, plan);
        if self.plan.record_clients != old.record_clients {
            self.poll_at = self.plan.record_clients.then_some(now);
            if !self.plan.record_clients {
                self.recorder = Recorder::default();
            }
        }
        // The rounds owed are the new plan's, starting one interval from now.
        self.burst = (self.plan.rounds > 0).then(|| Burst {
            owed: self.plan.rounds,
            next_at: now + self.plan.interval(),
        });
        if old.refresh_every_ms != self.plan.refresh_every_ms {
            self.refresh_at = self
                .plan
                .refresh_every_ms
                .map(|e| now + Duration::from_millis(e));
        }
        if self.second_wave_at.is_some() {
            self.second_wave_at = self
                .plan
                .repeat_after_ms
                .map(|r| self.last_burst_at + Duration::from_millis(r));
        }
        effects.push(Effect::Log(
            Level::Info,
            format!(
                "new plan for {}: {} rounds owed, burst {} x {}ms, refresh {}, defend {}, second wave {}, failback after {}ms, link_watch {}",
                self.plan.ip,
                self.plan.rounds,
                self.plan.burst_rounds,
                self.plan.interval_ms,
                self.plan
                    .refresh_every_ms
                    .map_or_else(|| "off".to_string(), |e| format!("every {e}ms")),
                self.plan.defend,
                self.plan
                    .repeat_after_ms
                    .map_or_else(|| "off".to_string(), |r| format!("after {r}ms")),
                self.plan.failback_delay_ms,
                self.plan.link_watch
            ),
        ));
        self.reconsider(now, effects);
    }

    /// Whatever is due at `now`: the second wave, burst rounds, a refresh, a failback, the
    /// summary of unreported claims.
    fn run_due(&mut self, now: Duration, effects: &mut Vec<Effect>) {
        if let Some((since, look_at)) = self.executor_lost {
            if now >= since + EXECUTOR_RESPAWN_GRACE {
                effects.extend(self.exit(&format!(
                    "pacemakerd respawned no executor within {}s; standing down and leaving the address to the cluster's recovery",
                    EXECUTOR_RESPAWN_GRACE.as_secs()
                )));
                return;
            }
            if now >= look_at {
                effects.push(Effect::FindExecutor);
                self.executor_lost = Some((since, now + EXECUTOR_LOOK_EVERY));
            }
        }
        if let Some(leftover) = self
            .leftover
            .as_mut()
            .filter(|l| l.retry_at.is_some_and(|at| now >= at))
        {
            leftover.retry_at = None;
            effects.push(Effect::DeleteAddress {
                index: leftover.index,
                name: leftover.name.clone(),
            });
        }
        if self.second_wave_at.is_some_and(|at| now >= at) {
            self.second_wave_at = None;
            effects.push(Effect::Log(
                Level::Info,
                format!("second wave for {}", self.plan.ip),
            ));
            self.start_burst(now, false, effects);
        }
        if let Some(mut burst) = self.burst {
            if now >= burst.next_at && self.send(Sending::Round, effects) {
                burst.owed -= 1;
                let interval = self.plan.interval();
                // Counted from the burst's start so that delays do not add up, but never
                // closer than half an interval, and afresh after a round held back for long.
                burst.next_at = if now >= burst.next_at + interval {
                    now + interval
                } else {
                    (burst.next_at + interval).max(now + interval / 2)
                };
            }
            self.burst = (burst.owed > 0).then_some(burst);
        }
        if let (Some(at), Some(every)) = (self.refresh_at, self.plan.refresh_every_ms) {
            if now >= at {
                self.send(Sending::Refresh, effects);
                let every = Duration::from_millis(every);
                let next = at + every;
                self.refresh_at = Some(if next > now { next } else { now + every });
            }
        }
        if let Some(f) = self.failback {
            if now >= f.since + Duration::from_millis(self.plan.failback_delay_ms) {
                self.failback = None;
                // Only adapters that may take the address count: one cabled elsewhere must not
                // keep it from coming back to the next one.
                let preferred = (0..f.slot).all(|s| !self.slots[s].candidate());
                if self.slots[f.slot].candidate()
                    && preferred
                    && self.holder.is_some_and(|h| f.slot < h)
                {
                    self.move_to(now, f.slot, "failback", effects);
                }
            }
        }
        if self.claims.unreported > 0 && self.claims.quiet_until.is_some_and(|q| now >= q) {
            let (mac, _) = self.claims.last.expect("claims were counted");
            effects.push(Effect::Log(
                Level::Warning,
                format!(
                    "conflict: {} more claims on {} in the last {}s, the last by {mac} ({} defences in all)",
                    self.claims.unreported,
                    self.plan.ip,
                    DEFEND_INTERVAL.as_secs(),
                    self.claims.defences
                ),
            ));
            self.claims.unreported = 0;
            self.claims.quiet_until = Some(now + DEFEND_INTERVAL);
        }
        self.send_probes(now, effects);
        self.clients_due(now, effects);
    }

    /// The address's clients: polled while it is held here (record_clients), and start's
    /// second round of tickles, sent only while the address is still here.
    fn clients_due(&mut self, now: Duration, effects: &mut Vec<Effect>) {
        let held = self.holder.is_some() && self.held == Held::Ready;
        if self.poll_at.is_some_and(|at| now >= at) {
            if held {
                self.poll_at = None;
                effects.push(Effect::PollClients);
            } else {
                self.poll_at = Some(now + POLL_EVERY);
            }
        }
        if self.tickle_again.as_ref().is_some_and(|(at, _)| now >= *at) {
            let (_, clients) = self.tickle_again.take().expect("checked");
            if held {
                effects.push(Effect::Tickle(clients));
            }
        }
    }

    fn on_clients_polled(
        &mut self,
        now: Duration,
        outcome: std::result::Result<(Vec<Client>, bool), String>,
        effects: &mut Vec<Effect>,
    ) {
        if !self.plan.record_clients {
            return;
        }
        self.poll_at = Some(now + POLL_EVERY);
        match outcome {
            Ok((clients, capped)) => {
                if std::mem::take(&mut self.poll_failing) {
                    effects.push(Effect::Log(
                        Level::Info,
                        format!("the clients of {} are listed again", self.plan.ip),
                    ));
                }
                let (share, note) = self.recorder.polled(now, clients, capped);
                if let Some(note) = note {
                    effects.push(Effect::Log(Level::Warning, note));
                }
                if let Some(list) = share {
                    effects.push(Effect::ShareClients(list));
                }
            }
            Err(why) => {
                if !std::mem::replace(&mut self.poll_failing, true) {
                    effects.push(Effect::Log(
                        Level::Warning,
                        format!("cannot list the clients of {}: {why}", self.plan.ip),
                    ));
                }
            }
        }
    }

    /// Something to do or watch: what is owed now (rounds, a second wave, a failback), or
    /// the plan's lasting work (`Plan::watches`, the one definition the agent uses too).
    fn has_work(&self) -> bool {
        self.burst.is_some()
            || self.second_wave_at.is_some()
            || self.failback.is_some()
            || self.tickle_again.is_some()
            || self.plan.watches()
    }

    fn exit_if_idle(&mut self, effects: &mut Vec<Effect>) {
        if self.exited {
            return;
        }
        if self.holder.is_none() {
            effects.extend(self.exit(&format!(
                "{} is on none of {}; nothing to announce",
                self.plan.ip,
                self.plan.adapters.join(",")
            )));
        } else if !self.has_work() {
            effects.extend(self.exit("nothing left to do"));
        }
    }
}

#[cfg(test)]
mod tests;
