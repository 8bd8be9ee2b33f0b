//! Soak: thousands of random start / stop / monitor / probe / reload-agent operations on 50
//! floating addresses (25 IPv4, 25 IPv6) spread over two interfaces of one lab node, up to 16
//! at a time, each address its own resource (`vipN`). After every few operations, for every
//! resource with no operation in flight, the node's addresses must be exactly the running
//! ones (no leaked, no missing), and a resident process may exist only for a running resource
//! (one at most). A client watches the wire throughout: no ARP or Neighbor Advertisement for
//! an address may arrive after a stop of it returned and before its next start began. Every
//! exit code must be one the spec allows: start 0, stop 0, monitor and probe 0 when running
//! and 7 when stopped, reload-agent 0. At the end everything is stopped and nothing may be
//! left: no address, no process, no late announcement.
//!
//! The default is the short version CI runs (600 operations, a new random seed each run,
//! printed). The long run:
//!
//! ```sh
//! SOAK_OPS=20000 cargo test --release --test soak -- --nocapture
//! ```
//!
//! Environment: `SOAK_OPS` (operations, default 600), `SOAK_SEED` (replays a run: every
//! resource gets the same sequence of operations and parameters; which resources run side by
//! side still depends on timing), `SOAK_PARALLEL` (operations at once, default 16).
//! The last line is
//! `soak: seed=S ops=N violations=V leaked_addresses=A leaked_processes=P stray_announcements=X`
//! and the test fails unless the last four are 0. Needs root; skips without it unless CI is
//! set.

mod common;

use common::soak::*;
use common::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const NODE: usize = 0;
const VIPS: usize = 50;
/// A quiet-point check after every this many completed operations.
const CHECK_EVERY: usize = 10;
/// Pacemaker's operation timeout handed to the agent, and ours (a little longer).
const META_TIMEOUT_MS: u64 = 20_000;
const OP_TIMEOUT: Duration = Duration::from_secs(30);
const MONITOR_INTERVAL_MS: &str = "10000";
/// How long a resident process of a stopped resource may still be seen (it was killed and is
/// exiting) before it counts as leaked; likewise a second one of a running resource.
const WORKER_GRACE: Duration = Duration::from_secs(1);
/// After the last stop: how long to keep watching the wire for late announcements.
const LATE_WATCH: Duration = Duration::from_secs(1);

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// One floating address and its fixed (not reloadable) parameters.
struct Vip {
    name: String,
    ip: IpAddr,
    nic: Option<&'static str>,
    cidr: Option<u8>,
    nodad: bool,
    run_arping: bool,
    /// Where the kernel must show it while it runs.
    ifname: &'static str,
    prefix: u8,
}

/// 25 IPv4 and 25 IPv6 addresses, about half on each interface; some name their nic and
/// prefix, some leave one or both to the routes; four IPv6 ones go through DAD; four probe
/// before start (run_arping).
fn vips() -> Vec<Vip> {
    let mut v = Vec::new();
    for i in 0..25u8 {
        let (ip, ifname) = if i < 13 {
            (format!("198.51.100.{}", 100 + i), "eth0")
        } else {
            (format!("203.0.113.{}", 100 + i), "eth1")
        };
        let (nic, cidr) = match i % 4 {
            0 => (Some(ifname), Some(24)),
            1 => (None, None),
            2 => (Some(ifname), None),
            _ => (None, Some(32)),
        };
        v.push(Vip {
            name: format!("vip{}", v.len()),
            ip: ip.parse().unwrap(),
            nic,
            cidr,
            nodad: false,
            run_arping: i == 5 || i == 18,
            ifname,
            prefix: cidr.unwrap_or(24),
        });
    }
    for i in 0..25u8 {
        let (ip, ifname) = if i < 13 {
            (format!("2001:db8:100::1:{}", i + 1), "eth0")
        } else {
            (format!("2001:db8:200::1:{}", i + 1), "eth1")
        };
        let (nic, cidr) = match i % 4 {
            0 => (Some(ifname), Some(64)),
            1 => (None, None),
            2 => (Some(ifname), None),
            _ => (Some(ifname), Some(128)),
        };
        v.push(Vip {
            name: format!("vip{}", v.len()),
            ip: ip.parse().unwrap(),
            nic,
            cidr,
            nodad: !matches!(i, 2 | 9 | 16 | 23),
            run_arping: i == 7 || i == 20,
            ifname,
            prefix: cidr.unwrap_or(64),
        });
    }
    assert_eq!(v.len(), VIPS);
    v
}

/// The reloadable announcement settings.
#[derive(Clone, Debug, PartialEq)]
struct Announce {
    count: u64,
    interval_ms: u64,
    bg: bool,
    refresh_count: u64,
    refresh_interval_s: u64,
}

impl Announce {
    fn random(rng: &mut Rng) -> Announce {
        let bg = !rng.chance(20);
        let (count, interval_ms) = if bg && rng.chance(20) {
            // A long burst, which stop has to cut short.
            (rng.range(10, 20), rng.range(50, 200))
        } else if bg {
            (rng.range(1, 6), rng.range(20, 200))
        } else {
            // In the foreground the whole burst is part of the operation: keep it short.
            (rng.range(1, 4), rng.range(20, 100))
        };
        Announce {
            count,
            interval_ms,
            bg,
            refresh_count: if rng.chance(25) { rng.range(1, 3) } else { 0 },
            refresh_interval_s: if rng.chance(10) { rng.range(1, 3) } else { 0 },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Stopped,
    Running,
    /// After a failed start or stop: only a stop follows (Pacemaker's recovery).
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Action {
    Start,
    Stop,
    /// Recurring monitor (interval 10 s).
    Monitor,
    /// Recurring monitor at OCF_CHECK_LEVEL 10 (probes for another owner).
    DeepMonitor,
    /// Monitor with interval 0.
    Probe,
    Reload,
}

impl Action {
    fn ocf(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Monitor | Action::DeepMonitor | Action::Probe => "monitor",
            Action::Reload => "reload-agent",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Monitor => "monitor",
            Action::DeepMonitor => "deep-monitor",
            Action::Probe => "probe",
            Action::Reload => "reload-agent",
        }
    }

    /// Exit codes the spec allows for this action in this model state.
    fn allowed(self, state: State) -> &'static [i32] {
        match (self, state) {
            (Action::Start | Action::Stop | Action::Reload, _) => &[0],
            (_, State::Running) => &[0],
            (_, State::Stopped) => &[7],
            (_, State::Unknown) => &[0, 1, 7],
        }
    }
}

/// The model of one resource.
struct Slot {
    state: State,
    announce: Announce,
    busy: bool,
    /// This resource's own random stream: its operations and parameters replay from the seed.
    rng: Rng,
    /// Bumped on every completed operation; a finding is counted once per epoch.
    epoch: u64,
    /// The epoch a quiet-point check last looked at this resource in.
    checked_epoch: Option<u64>,
    /// (when the stop returned, op number) while stopped since then and no start began.
    open_quiet: Option<(u128, usize)>,
    /// Closed quiet windows: no announcement may be stamped in [from, until).
    quiet: Vec<(u128, u128, usize)>,
}

struct Op {
    n: usize,
    vip: usize,
    action: Action,
    state_before: State,
    announce: Announce,
    env: Vec<(String, String)>,
}

struct Done {
    op: Op,
    run: AgentRun,
    begin_ns: u128,
    end_ns: u128,
}

/// What the log keeps of each operation, for reports.
struct Logged {
    n: usize,
    vip: usize,
    action: Action,
    code: i32,
    begin_ns: u128,
    end_ns: u128,
}

struct World<'a> {
    lab: &'a Lab,
    vips: Vec<Vip>,
    by_ip: HashMap<IpAddr, usize>,
    base: HashSet<(String, String)>,
    slots: Vec<Slot>,
    sched: Rng,
    issued: usize,
    completed: usize,
    log: Vec<Logged>,
    codes: BTreeMap<(&'static str, i32), usize>,
    violations: Vec<String>,
    leaked_addresses: Vec<String>,
    leaked_processes: Vec<String>,
    counted: HashSet<String>,
    lingering_workers: usize,
    checks: usize,
    /// Operations whose outcome a quiet-point check saw before the next operation began.
    steps_checked: usize,
}

fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}... ({} bytes)", &s[..cut], s.len())
}

impl<'a> World<'a> {
    fn new(lab: &'a Lab, seed: u64) -> World<'a> {
        let vips = vips();
        let by_ip = vips.iter().enumerate().map(|(i, v)| (v.ip, i)).collect();
        let base = all_addresses(lab, Host::Node(NODE))
            .into_iter()
            .map(|(ifname, cidr, _)| (ifname, cidr))
            .collect();
        let slots = (0..VIPS)
            .map(|i| {
                let mut rng = Rng::new(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                Slot {
                    state: State::Stopped,
                    announce: Announce::random(&mut rng),
                    busy: false,
                    rng,
                    epoch: 0,
                    checked_epoch: None,
                    open_quiet: None,
                    quiet: Vec::new(),
                }
            })
            .collect();
        World {
            lab,
            vips,
            by_ip,
            base,
            slots,
            sched: Rng::new(seed),
            issued: 0,
            completed: 0,
            log: Vec::new(),
            codes: BTreeMap::new(),
            violations: Vec::new(),
            leaked_addresses: Vec::new(),
            leaked_processes: Vec::new(),
            counted: HashSet::new(),
            lingering_workers: 0,
            checks: 0,
            steps_checked: 0,
        }
    }

    /// Counts a finding once per key.
    fn first_time(&mut self, key: String) -> bool {
        self.counted.insert(key)
    }

    /// An operation for resource `v` in its current state, from its own random stream.
    fn choose(&mut self, v: usize) -> Action {
        let slot = &mut self.slots[v];
        let r = slot.rng.range(0, 99);
        match slot.state {
            State::Unknown => Action::Stop,
            State::Stopped => match r {
                0..=49 => Action::Start,
                50..=69 => Action::Probe,
                70..=79 => Action::Monitor,
                80..=94 => Action::Stop,
                _ => Action::Reload,
            },
            State::Running => match r {
                0..=29 => Action::Stop,
                30..=55 => Action::Monitor,
                56..=59 => Action::DeepMonitor,
                60..=74 => Action::Probe,
                75..=89 => Action::Reload,
                _ => Action::Start,
            },
        }
    }

    /// Marks `v` busy and builds the operation. A start of a stopped resource may come with
    /// new settings (reconfigured while stopped); a reload-agent always brings new ones.
    fn begin(&mut self, v: usize, action: Action) -> Op {
        let n = self.issued;
        self.issued += 1;
        let slot = &mut self.slots[v];
        assert!(
            !slot.busy,
            "two operations at once on {}",
            self.vips[v].name
        );
        slot.busy = true;
        let announce = match action {
            Action::Reload => Announce::random(&mut slot.rng),
            Action::Start if slot.state == State::Stopped && slot.rng.chance(50) => {
                Announce::random(&mut slot.rng)
            }
            _ => slot.announce.clone(),
        };
        let env = self.env(v, action, &announce);
        Op {
            n,
            vip: v,
            action,
            state_before: self.slots[v].state,
            announce,
            env,
        }
    }

    fn env(&self, v: usize, action: Action, a: &Announce) -> Vec<(String, String)> {
        let vip = &self.vips[v];
        let mut env = vec![
            ("OCF_RESOURCE_INSTANCE".to_string(), vip.name.clone()),
            (
                "FLOATIP_STATE_DIR".to_string(),
                node_state_dir(self.lab, NODE).display().to_string(),
            ),
        ];
        let interval = match action {
            Action::Monitor | Action::DeepMonitor => MONITOR_INTERVAL_MS,
            _ => "0",
        };
        let mut p: Vec<(&str, String)> = vec![
            ("ip", vip.ip.to_string()),
            ("CRM_meta_timeout", META_TIMEOUT_MS.to_string()),
            ("CRM_meta_interval", interval.to_string()),
            ("arp_count", a.count.to_string()),
            ("arp_interval", a.interval_ms.to_string()),
            ("arp_bg", a.bg.to_string()),
            ("arp_count_refresh", a.refresh_count.to_string()),
            ("arp_refresh_interval", a.refresh_interval_s.to_string()),
            ("arp_probe_wait", "100".to_string()),
        ];
        if let Some(nic) = vip.nic {
            p.push(("nic", nic.to_string()));
        }
        if let Some(cidr) = vip.cidr {
            p.push(("cidr_netmask", cidr.to_string()));
        }
        if vip.ip.is_ipv6() {
            p.push(("nodad", vip.nodad.to_string()));
        }
        if vip.run_arping {
            p.push(("run_arping", "true".to_string()));
        }
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend(ocf_params(&p));
        if action == Action::DeepMonitor {
            env.push(("OCF_CHECK_LEVEL".to_string(), "10".to_string()));
        }
        env
    }

    /// Folds a finished operation into the model; a code the spec does not allow is a
    /// violation with everything needed to replay it.
    fn finish(&mut self, d: Done) {
        let Done {
            op,
            run,
            begin_ns,
            end_ns,
        } = d;
        self.completed += 1;
        *self.codes.entry((op.action.label(), run.code)).or_default() += 1;
        self.log.push(Logged {
            n: op.n,
            vip: op.vip,
            action: op.action,
            code: run.code,
            begin_ns,
            end_ns,
        });
        let allowed = op.action.allowed(op.state_before);
        let ok = allowed.contains(&run.code) && !run.timed_out;
        if !ok {
            let env: Vec<String> = op
                .env
                .iter()
                .filter(|(k, _)| k.starts_with("OCF_"))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            self.violations.push(format!(
                "op #{} {} {} (model: {:?}) -> code {} (allowed {:?}){} in {:?}\n  env: {}\n  stderr: {}",
                op.n,
                self.vips[op.vip].name,
                op.action.label(),
                op.state_before,
                run.code,
                allowed,
                if run.timed_out { ", TIMED OUT" } else { "" },
                run.elapsed,
                env.join(" "),
                shorten(run.stderr.trim_end(), 4000).replace('\n', "\n          ")
            ));
        }
        let slot = &mut self.slots[op.vip];
        slot.busy = false;
        if slot.epoch > 0 && slot.checked_epoch == Some(slot.epoch) {
            // The previous operation's outcome was checked before this one began.
            self.steps_checked += 1;
        }
        slot.epoch += 1;
        match op.action {
            Action::Start if ok => {
                slot.state = State::Running;
                slot.announce = op.announce;
            }
            Action::Start => slot.state = State::Unknown,
            Action::Stop if ok => {
                slot.state = State::Stopped;
                if slot.open_quiet.is_none() {
                    slot.open_quiet = Some((end_ns, op.n));
                }
            }
            Action::Stop => slot.state = State::Unknown,
            Action::Reload if ok => slot.announce = op.announce,
            _ => {}
        }
    }

    /// A start may announce from the moment it begins: the quiet window closes there.
    fn note_begin(&mut self, v: usize, action: Action, begin_ns: u128) {
        if action == Action::Start {
            if let Some((from, n)) = self.slots[v].open_quiet.take() {
                self.slots[v].quiet.push((from, begin_ns, n));
            }
        }
    }

    fn idle(&self, v: usize) -> bool {
        !self.slots[v].busy && self.slots[v].state != State::Unknown
    }

    /// The invariants at a quiet point, for every resource with no operation in flight. The
    /// main thread runs this and is the only one that starts operations, so a resource idle
    /// at the start stays idle throughout.
    fn quiet_check(&mut self) {
        self.checks += 1;
        let idle: Vec<usize> = (0..VIPS).filter(|&v| self.idle(v)).collect();
        for &v in &idle {
            self.slots[v].checked_epoch = Some(self.slots[v].epoch);
        }
        let addrs = all_addresses(self.lab, Host::Node(NODE));
        self.check_addresses(&idle, &addrs, false);
        self.check_workers(&idle, WORKER_GRACE, false);
    }

    fn check_addresses(&mut self, idle: &[usize], addrs: &[(String, String, String)], all: bool) {
        let mut on_node: HashMap<usize, Vec<&(String, String, String)>> = HashMap::new();
        for a in addrs {
            let (ifname, cidr, _) = a;
            if ifname == "lo" || self.base.contains(&(ifname.clone(), cidr.clone())) {
                continue;
            }
            let ip: IpAddr = cidr.split('/').next().unwrap().parse().unwrap();
            if let IpAddr::V6(v6) = ip {
                if v6.segments()[0] & 0xffc0 == 0xfe80 {
                    continue;
                }
            }
            match self.by_ip.get(&ip) {
                Some(&v) => on_node.entry(v).or_default().push(a),
                None => {
                    let key = format!("foreign {ifname} {cidr}");
                    if self.counted.insert(key) {
                        self.leaked_addresses.push(format!(
                            "{cidr} on {ifname}: no resource of the soak has that address"
                        ));
                    }
                }
            }
        }
        for &v in idle {
            let vip = &self.vips[v];
            let slot = &self.slots[v];
            let found = on_node.get(&v).cloned().unwrap_or_default();
            let shown: Vec<String> = found
                .iter()
                .map(|(i, c, rest)| format!("{c} on {i} [{rest}]"))
                .collect();
            let last = self.last_ops(v, 3);
            match slot.state {
                State::Running => {
                    let want = format!("{}/{}", vip.ip, vip.prefix);
                    let good = found.len() == 1
                        && found[0].0 == vip.ifname
                        && found[0].1 == want
                        && !found[0].2.contains("tentative")
                        && !found[0].2.contains("dadfailed");
                    if !good && self.counted.insert(format!("addr {v} {}", slot.epoch)) {
                        self.violations.push(format!(
                            "{} is running in the model but the node shows {:?} (expected {want} on {}); last ops: {last}",
                            vip.name, shown, vip.ifname
                        ));
                    }
                }
                State::Stopped
                    if !found.is_empty()
                        && self.counted.insert(format!("addr {v} {}", slot.epoch)) =>
                {
                    self.leaked_addresses.push(format!(
                        "{} is stopped in the model but the node still has {:?}{}; last ops: {last}",
                        vip.name,
                        shown,
                        if all { " after the final stop" } else { "" }
                    ));
                }
                _ => {}
            }
        }
    }

    /// Burst processes: none for a stopped resource, at most one for a running one. A
    /// process just killed by a stop may still be seen exiting for a moment: it gets `grace`.
    fn check_workers(&mut self, idle: &[usize], grace: Duration, all: bool) {
        let excess =
            |w: &World, by_ip: &HashMap<IpAddr, Vec<i32>>| -> Vec<(Option<usize>, Vec<i32>)> {
                let mut out = Vec::new();
                for (ip, pids) in by_ip {
                    match w.by_ip.get(ip) {
                        Some(&v) if idle.contains(&v) => {
                            let allowed = if w.slots[v].state == State::Running {
                                1
                            } else {
                                0
                            };
                            if pids.len() > allowed {
                                out.push((Some(v), pids.clone()));
                            }
                        }
                        Some(_) => {}
                        None if all => out.push((None, pids.clone())),
                        None => {}
                    }
                }
                out
            };
        let deadline = Instant::now() + grace;
        let mut first = true;
        let found = loop {
            let found = excess(self, &workers_by_ip(self.lab, NODE));
            if found.is_empty() || Instant::now() >= deadline {
                break found;
            }
            if first {
                self.lingering_workers += found.iter().map(|(_, p)| p.len()).sum::<usize>();
                first = false;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for (v, pids) in found {
            let described: Vec<String> = pids.iter().map(|&p| describe_pid(p)).collect();
            match v {
                Some(v) if self.slots[v].state == State::Running => {
                    if self.first_time(format!("workers {v} {}", self.slots[v].epoch)) {
                        let last = self.last_ops(v, 4);
                        self.violations.push(format!(
                            "{} runs {} resident processes at once (for more than {grace:?}): {described:?}; last ops: {last}",
                            self.vips[v].name,
                            pids.len()
                        ));
                    }
                }
                _ => {
                    let name = v.map_or("(no resource)".to_string(), |v| self.vips[v].name.clone());
                    let last = v.map(|v| self.last_ops(v, 4)).unwrap_or_default();
                    for (pid, d) in pids.iter().zip(described) {
                        if self.first_time(format!("pid {pid}")) {
                            self.leaked_processes.push(format!(
                                "{name} is stopped but its resident process lives {grace:?} later{}: {d}; last ops: {last}",
                                if all { " (after the final stop)" } else { "" }
                            ));
                        }
                    }
                }
            }
        }
    }

    /// The last `k` operations of resource `v`, for reports.
    fn last_ops(&self, v: usize, k: usize) -> String {
        let mut s = String::new();
        for l in self.log.iter().rev().filter(|l| l.vip == v).take(k) {
            let _ = write!(s, "[#{} {} -> {}] ", l.n, l.action.label(), l.code);
        }
        s
    }
}

/// Runs one operation (on a worker thread).
fn execute(lab: &Lab, op: Op) -> Done {
    let env: Vec<(&str, &str)> = op
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let begin_ns = realtime_ns();
    let run = lab.agent_timeout(Host::Node(NODE), op.action.ocf(), &env, OP_TIMEOUT);
    let end_ns = realtime_ns();
    Done {
        op,
        run,
        begin_ns,
        end_ns,
    }
}

/// Runs operations, at most `parallel` at once, as long as `next` hands out (resource,
/// action) pairs; `next` is asked again whenever an operation completes. The begin time of a
/// start is taken before the operation thread starts, so a quiet window never overlaps it.
fn drive(
    world: &mut World,
    parallel: usize,
    progress: &mut dyn FnMut(&World),
    next: &mut dyn FnMut(&mut World) -> Option<(usize, Action)>,
) {
    let lab = world.lab;
    let (tx, rx) = mpsc::channel::<Done>();
    std::thread::scope(|s| {
        let mut in_flight = 0usize;
        loop {
            while in_flight < parallel {
                let Some((v, action)) = next(world) else {
                    break;
                };
                let op = world.begin(v, action);
                world.note_begin(v, action, realtime_ns());
                let tx = tx.clone();
                s.spawn(move || {
                    let _ = tx.send(execute(lab, op));
                });
                in_flight += 1;
            }
            if in_flight == 0 {
                break;
            }
            let done = rx.recv().expect("an operation thread died");
            in_flight -= 1;
            world.finish(done);
            if world.completed % CHECK_EVERY == 0 {
                world.quiet_check();
            }
            progress(world);
        }
    });
}

struct Stray {
    vip: usize,
    claim: WireClaim,
    after_ms: f64,
    stop_op: usize,
}

fn strays(world: &World, claims: &[WireClaim]) -> Vec<Stray> {
    let mut out = Vec::new();
    for c in claims {
        let Some(&v) = world.by_ip.get(&c.ip) else {
            continue;
        };
        let slot = &world.slots[v];
        let open = slot.open_quiet.map(|(from, n)| (from, u128::MAX, n));
        for (from, until, n) in slot.quiet.iter().copied().chain(open) {
            if c.at_ns >= from && c.at_ns < until {
                out.push(Stray {
                    vip: v,
                    claim: c.clone(),
                    after_ms: (c.at_ns - from) as f64 / 1e6,
                    stop_op: n,
                });
            }
        }
    }
    out
}

#[test]
fn soak_random_operations_keep_kernel_processes_and_wire_consistent() {
    if !root_or_skip("soak_random_operations_keep_kernel_processes_and_wire_consistent") {
        return;
    }
    let ops = env_number("SOAK_OPS", 600) as usize;
    let parallel = env_number("SOAK_PARALLEL", 16).max(1) as usize;
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .map(|s| {
            s.trim()
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("SOAK_SEED={s:?} is not a number"))
        })
        .unwrap_or_else(|| (realtime_ns() as u64) ^ u64::from(std::process::id()) << 32);
    eprintln!(
        "soak: seed={seed} ops={ops} parallel={parallel} (replay with SOAK_SEED={seed} SOAK_OPS={ops})"
    );

    let lab = Lab::new(1);
    let node = Host::Node(NODE);
    lab.add_nic(NODE, "eth1");
    lab.ip(node, &["addr", "add", "203.0.113.10/24", "dev", "eth1"]);
    lab.ip(
        node,
        &["addr", "add", "2001:db8:200::10/64", "dev", "eth1", "nodad"],
    );
    // Two interfaces of one node on one segment, with the kernel's default arp_ignore=0: eth1
    // answers ARP probes for addresses held on eth0 (ARP flux). Deep monitors must not take
    // the node's own eth1 for another owner (a bug the soak found, now fixed).
    lab.wait_dad(node, "eth0");
    lab.wait_dad(node, "eth1");
    let watch = WireWatch::start(&lab, Host::Client, "eth0");

    let started = Instant::now();
    let mut world = World::new(&lab, seed);
    let step = (ops / 10).max(1);
    let mut shown = 0;
    let mut progress = |w: &World| {
        if w.completed / step > shown {
            shown = w.completed / step;
            eprintln!(
                "soak: {}/{} operations in {:.1}s, {} violations, {} leaked addresses, {} leaked processes",
                w.completed,
                ops,
                started.elapsed().as_secs_f64(),
                w.violations.len(),
                w.leaked_addresses.len(),
                w.leaked_processes.len()
            );
        }
    };
    drive(&mut world, parallel, &mut progress, &mut |w| {
        if w.issued >= ops {
            return None;
        }
        let idle: Vec<usize> = (0..VIPS).filter(|&v| !w.slots[v].busy).collect();
        if idle.is_empty() {
            return None;
        }
        let v = *w.sched.pick(&idle);
        let action = w.choose(v);
        Some((v, action))
    });
    let random_ops = world.completed;
    world.quiet_check();

    // Stop everything, as a cluster shutting down would.
    let mut to_stop: Vec<usize> = (0..VIPS).collect();
    drive(&mut world, parallel, &mut |_| {}, &mut |w| {
        let i = to_stop.iter().position(|&v| !w.slots[v].busy)?;
        Some((to_stop.remove(i), Action::Stop))
    });
    let total_ops = world.completed;
    let all: Vec<usize> = (0..VIPS).collect();
    let addrs = all_addresses(&lab, node);
    world.check_addresses(&all, &addrs, true);
    world.check_workers(&all, 2 * WORKER_GRACE, true);
    // The final stops' outcomes were just checked.
    world.steps_checked += VIPS;
    std::thread::sleep(LATE_WATCH);
    let (claims, (frames, drops)) = watch.stop();
    let strays = strays(&world, &claims);
    let elapsed = started.elapsed();

    eprintln!(
        "soak: {random_ops} random operations + {} final stops in {:.1}s ({:.0} ops/s), {} quiet-point checks (which saw the outcome of {} of {total_ops} operations before the resource's next one), {} announcement frames watched ({frames} accepted by the filter, {drops} dropped), {} resident processes seen exiting within the grace",
        total_ops - random_ops,
        elapsed.as_secs_f64(),
        total_ops as f64 / elapsed.as_secs_f64(),
        world.checks,
        world.steps_checked,
        claims.len(),
        world.lingering_workers
    );
    let codes: Vec<String> = world
        .codes
        .iter()
        .map(|((a, c), n)| format!("{a}={c}:{n}"))
        .collect();
    eprintln!("soak: exit codes (action=code:count): {}", codes.join(" "));
    if drops > 0 {
        eprintln!("soak: WARNING: the wire watch dropped {drops} frames; the stray check may have missed some");
    }
    for (what, list) in [
        ("violation", &world.violations),
        ("leaked address", &world.leaked_addresses),
        ("leaked process", &world.leaked_processes),
    ] {
        for (i, s) in list.iter().enumerate().take(20) {
            eprintln!("soak: {what} {}: {s}", i + 1);
        }
        if list.len() > 20 {
            eprintln!("soak: ... and {} more {what}s", list.len() - 20);
        }
    }
    for s in strays.iter().take(20) {
        let around: Vec<String> = world
            .log
            .iter()
            .filter(|l| l.vip == s.vip && l.n >= s.stop_op)
            .take(4)
            .map(|l| {
                format!(
                    "#{} {} -> {} ({:+.1}ms..{:+.1}ms)",
                    l.n,
                    l.action.label(),
                    l.code,
                    (l.begin_ns as f64 - s.claim.at_ns as f64) / 1e6,
                    (l.end_ns as f64 - s.claim.at_ns as f64) / 1e6
                )
            })
            .collect();
        eprintln!(
            "soak: stray announcement: {} {} from {} {:.1}ms after stop #{} returned; ops of {} from that stop on (times relative to the frame): {around:?}",
            s.claim.kind,
            s.claim.ip,
            mac_str(&s.claim.eth_src),
            s.after_ms,
            s.stop_op,
            world.vips[s.vip].name
        );
    }
    let line = format!(
        "soak: seed={seed} ops={total_ops} violations={} leaked_addresses={} leaked_processes={} stray_announcements={}",
        world.violations.len(),
        world.leaked_addresses.len(),
        world.leaked_processes.len(),
        strays.len()
    );
    eprintln!("{line}");
    assert!(
        world.violations.is_empty()
            && world.leaked_addresses.is_empty()
            && world.leaked_processes.is_empty()
            && strays.is_empty(),
        "{line} (replay with SOAK_SEED={seed} SOAK_OPS={ops})"
    );
}
