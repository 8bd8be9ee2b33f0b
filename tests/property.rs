//! Property test of floatip's promises (issue 10), in a namespace lab, against hostile
//! sequences: random parameter sets, per-operation timeouts, resource names that used to
//! collide (unicode, slashes, long common prefixes), random interleavings of start, stop,
//! monitor, deep monitor, probe and reload-agent across resources, and faults between them:
//! the agent SIGKILLed mid-operation, the state directory emptied or garbled, the second
//! adapter deleted, the network namespace's name deleted while a resource runs in it.
//!
//! After every stop that returned 0 it asserts, as a user would see it:
//! 1. the address is on no interface of the node's namespace nor of the namespace the
//!    resource is configured in (lo under lvs_support is not used here);
//! 2. no process of ours for that address is alive in any namespace this lab made (including
//!    one whose name was deleted);
//! 3. the client's wire shows no announcement of the address (ARP, NA; kernel-timestamped)
//!    from the moment stop returned until the next start of it began;
//! 4. a probe right after says 7 (not running).
//!
//! A stop that returns anything but 0 (when not killed) is a violation too: a failed stop
//! gets the node fenced.
//!
//! Short in `make test` (`PROPERTY_OPS`, default 250; a new seed each run, printed). Long run:
//!
//! ```sh
//! PROPERTY_OPS=5000 cargo test --release --test property -- --nocapture
//! ```
//!
//! `PROPERTY_SEED` replays a run. The last line is
//! `property: seed=S ops=N stops=K faults=F violations=V` and the test fails unless V is 0.
//! Needs root; skips without it unless CI is set.

mod common;

use common::soak::{realtime_ns, Rng, WireWatch};
use common::*;
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const NODE: Host = Host::Node(0);
/// After the last stop: how long to keep watching the wire for a late announcement.
const LATE_WATCH: Duration = Duration::from_millis(1500);

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    Stopped,
    Running,
    /// After a failed or killed operation, or a fault under it: only a stop follows, as
    /// Pacemaker's recovery would.
    Unknown,
}

/// One resource: a name chosen to break file-name mappings, its address, and whether it
/// lives in the extra network namespace.
struct Res {
    name: String,
    ip: IpAddr,
    in_netns: bool,
    model: Model,
    /// The configuration (parameters) it is started and reloaded with.
    config: Vec<(String, String)>,
    /// When its last successful stop returned (realtime ns), while no start has begun since.
    quiet_since: Option<u128>,
}

/// The extra namespace resources use through `network_namespace`: its name, its nsfs inode
/// (which outlives the name while a process holds it), and the bridge port of its veth.
struct Extra {
    name: String,
    alive_name: bool,
    generation: usize,
}

struct World<'a> {
    lab: &'a Lab,
    rng: Rng,
    res: Vec<Res>,
    extra: Extra,
    /// Every network namespace this test made (node, extra namespaces of every generation),
    /// by nsfs inode: processes in them can only be ours.
    our_netns: HashSet<u64>,
    eth1: bool,
    watch: WireWatch,
    /// Closed quiet windows to check on the wire: (resource, from, until, what).
    windows: Vec<(usize, u128, u128, String)>,
    violations: Vec<String>,
    stops: usize,
    faults: BTreeMap<&'static str, usize>,
    codes: BTreeMap<(String, i32), usize>,
    op: usize,
}

fn netns_inode(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .ino()
}

fn ip_cmd(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The namespace of a process, as the inode of /proc/PID/ns/net.
fn process_netns(pid: i32) -> Option<u64> {
    std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .ok()
        .map(|m| m.ino())
}

/// Our background processes for `ip`: floatip processes (argv[1] an internal `__` form) whose
/// command line names the address, in a namespace this test made.
fn our_processes(our_netns: &HashSet<u64>, ip: Option<IpAddr>) -> Vec<(i32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for pid in entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()) {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !args.get(1).is_some_and(|a| a.starts_with("__")) {
            continue;
        }
        if let Some(ip) = ip {
            if !args.iter().any(|a| a.parse::<IpAddr>().ok() == Some(ip)) {
                continue;
            }
        }
        if process_netns(pid).is_some_and(|ns| our_netns.contains(&ns)) {
            // A zombie or an exiting task sends nothing; only a live one counts.
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rfind(')')
                        .and_then(|i| s[i + 1..].split_whitespace().next().map(str::to_string))
                })
                .unwrap_or_default();
            if state != "Z" && state != "X" {
                found.push((pid, args.join(" ")));
            }
        }
    }
    found
}

/// Names that broke the old lossy, truncating mapping from resource to file.
fn resource_names() -> Vec<String> {
    let long = "x".repeat(230);
    vec![
        "vipé".into(),
        "vipè".into(),
        "a/b".into(),
        "a_b".into(),
        format!("{long}-one"),
        format!("{long}-two"),
        "名前/ns".into(),
        "rsc:0".into(),
    ]
}

impl<'a> World<'a> {
    fn new(lab: &'a Lab, seed: u64) -> World<'a> {
        lab.add_nic(0, "eth1");
        let mut our_netns = HashSet::new();
        our_netns.insert(netns_inode(&Path::new("/var/run/netns").join(lab.ns(NODE))));
        let names = resource_names();
        let ips = [
            "198.51.100.101",
            "198.51.100.102",
            "2001:db8:100::1:3",
            "198.51.100.104",
            "2001:db8:100::1:5",
            "198.51.100.106",
            "203.0.113.107",
            "2001:db8:300::1:8",
        ];
        let res = names
            .into_iter()
            .zip(ips)
            .map(|(name, ip)| {
                let ip: IpAddr = ip.parse().unwrap();
                let in_netns = ip.to_string().starts_with("203.0.113.")
                    || ip.to_string().starts_with("2001:db8:300:");
                Res {
                    name,
                    ip,
                    in_netns,
                    model: Model::Stopped,
                    config: Vec::new(),
                    quiet_since: None,
                }
            })
            .collect();
        let watch = WireWatch::start(lab, Host::Client, "eth0");
        let mut world = World {
            lab,
            rng: Rng::new(seed),
            res,
            extra: Extra {
                name: format!("{}-x", lab.prefix()),
                alive_name: false,
                generation: 0,
            },
            our_netns,
            eth1: true,
            watch,
            windows: Vec::new(),
            violations: Vec::new(),
            stops: 0,
            faults: BTreeMap::new(),
            codes: BTreeMap::new(),
            op: 0,
        };
        world.make_extra_namespace();
        world
    }

    /// (Re)creates the extra namespace under its name: a veth into the lab's bridge, with
    /// 203.0.113.1/24 and 2001:db8:300::1/64 of its own.
    fn make_extra_namespace(&mut self) {
        let name = self.extra.name.clone();
        let port = format!("px{}", self.extra.generation);
        self.extra.generation += 1;
        let br = self.lab.ns(Host::Bridge);
        ip_cmd(&["netns", "add", &name]);
        self.our_netns
            .insert(netns_inode(&Path::new("/var/run/netns").join(&name)));
        ip_cmd(&["-n", &name, "link", "set", "lo", "up"]);
        ip_cmd(&[
            "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &name,
        ]);
        ip_cmd(&["-n", &br, "link", "set", &port, "master", "br0"]);
        ip_cmd(&["-n", &br, "link", "set", &port, "up"]);
        ip_cmd(&["-n", &name, "link", "set", "eth0", "up"]);
        ip_cmd(&["-n", &name, "addr", "add", "203.0.113.1/24", "dev", "eth0"]);
        ip_cmd(&[
            "-n",
            &name,
            "addr",
            "add",
            "2001:db8:300::1/64",
            "dev",
            "eth0",
            "nodad",
        ]);
        // Wait for carrier, so starts there are not refused for a link still coming up.
        for _ in 0..500 {
            if ip_cmd(&["-n", &name, "-o", "link", "show", "dev", "eth0"]).contains("LOWER_UP") {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.extra.alive_name = true;
    }

    fn base_env(&self, r: usize, timeout_ms: u64) -> Vec<(String, String)> {
        let res = &self.res[r];
        let mut env = vec![
            ("OCF_RESOURCE_INSTANCE".to_string(), res.name.clone()),
            (
                "OCF_RESKEY_CRM_meta_timeout".to_string(),
                timeout_ms.to_string(),
            ),
            ("OCF_RESKEY_ip".to_string(), res.ip.to_string()),
        ];
        if res.in_netns {
            env.push((
                "OCF_RESKEY_network_namespace".to_string(),
                self.extra.name.clone(),
            ));
        }
        env
    }

    /// A random configuration for resource `r` (the parameters a user might have set).
    fn random_config(&mut self, r: usize) -> Vec<(String, String)> {
        let ip = self.res[r].ip;
        let v4 = ip.is_ipv4();
        let in_netns = self.res[r].in_netns;
        let rng = &mut self.rng;
        let mut c: Vec<(&str, String)> = Vec::new();
        let nic = if in_netns {
            *rng.pick(&["", "eth0"])
        } else {
            *rng.pick(&["", "eth0", "eth1", "eth0,eth1"])
        };
        if !nic.is_empty() {
            c.push(("nic", nic.to_string()));
        }
        let on_eth1 = nic.contains("eth1");
        let cidr = match (v4, on_eth1 || rng.chance(50)) {
            (true, true) => Some(*rng.pick(&["24", "32"])),
            (false, true) => Some(*rng.pick(&["64", "128"])),
            _ => None,
        };
        if let Some(cidr) = cidr {
            c.push(("cidr_netmask", cidr.to_string()));
        }
        if v4 && !nic.contains(',') && !on_eth1 && rng.chance(10) {
            c.push(("vmac", "auto".into()));
        }
        let bg = !rng.chance(15);
        let (count, interval) = if bg {
            (rng.range(1, 8), rng.range(20, 300))
        } else {
            (rng.range(1, 3), rng.range(20, 100))
        };
        c.push(("arp_count", count.to_string()));
        c.push(("arp_interval", interval.to_string()));
        c.push(("arp_bg", bg.to_string()));
        if rng.chance(25) {
            c.push(("arp_refresh_interval", rng.range(1, 2).to_string()));
        }
        if rng.chance(20) {
            c.push(("arp_count_refresh", rng.range(1, 3).to_string()));
        }
        c.push(("conflict_defend", rng.chance(70).to_string()));
        if rng.chance(10) {
            c.push(("run_arping", "true".into()));
            c.push(("arp_probe_wait", rng.range(30, 200).to_string()));
        }
        if !v4 {
            c.push(("nodad", (!rng.chance(20)).to_string()));
        }
        if rng.chance(10) {
            c.push(("link_watch", "true".into()));
        }
        if rng.chance(10) {
            c.push(("arp_repeat_delay", "1".into()));
        }
        if rng.chance(20) {
            c.push(("failback_delay", rng.range(0, 500).to_string()));
        }
        if rng.chance(5) {
            // A value a user could mistype: start must refuse it with 6, stop must still work.
            let (k, v) = *rng.pick(&[
                ("arp_count", "zero"),
                ("arp_interval", "-5"),
                ("iflabel", "bad label"),
                ("conflict_defend", "perhaps"),
            ]);
            c.retain(|(name, _)| *name != k);
            c.push((k, v.to_string()));
        }
        c.into_iter()
            .map(|(k, v)| (format!("OCF_RESKEY_{k}"), v))
            .collect()
    }

    /// New values for the reloadable parameters, over the resource's configuration.
    fn reloaded_config(&mut self, r: usize) -> Vec<(String, String)> {
        let fresh = self.random_config(r);
        let reloadable = [
            "arp_count",
            "arp_interval",
            "arp_bg",
            "arp_refresh_interval",
            "arp_count_refresh",
            "conflict_defend",
            "arp_probe_wait",
            "link_watch",
            "arp_repeat_delay",
            "failback_delay",
        ];
        let mut config: Vec<(String, String)> = self.res[r]
            .config
            .iter()
            .filter(|(k, _)| {
                !reloadable
                    .iter()
                    .any(|name| k == &format!("OCF_RESKEY_{name}"))
            })
            .cloned()
            .collect();
        config.extend(fresh.into_iter().filter(|(k, _)| {
            reloadable
                .iter()
                .any(|name| k == &format!("OCF_RESKEY_{name}"))
        }));
        config
    }

    fn random_timeout(&mut self) -> u64 {
        *self.rng.pick(&[1_500, 4_000, 20_000, 20_000, 20_000])
    }

    /// Runs one agent operation in the node, SIGKILLed after `kill_after` when given.
    fn run(
        &mut self,
        r: usize,
        action: &str,
        env: &[(String, String)],
        kill_after: Option<Duration>,
    ) -> AgentRun {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut cmd = self.lab.agent_command(NODE, action, &env);
        let run = run_with_timeout(&mut cmd, kill_after.unwrap_or(Duration::from_secs(60)));
        let label = format!(
            "{action}{}",
            if kill_after.is_some() { "(killed)" } else { "" }
        );
        *self.codes.entry((label, run.code)).or_default() += 1;
        if run.timed_out && kill_after.is_none() {
            self.violation(format!(
                "op {}: {action} of {} did not return within 60 s",
                self.op, self.res[r].name
            ));
        }
        run
    }

    fn violation(&mut self, what: String) {
        eprintln!("VIOLATION: {what}");
        self.violations.push(what);
    }

    fn fault(&mut self, name: &'static str) {
        *self.faults.entry(name).or_default() += 1;
    }

    /// A start of `r` begins: its quiet window (if any) closes now.
    fn close_window(&mut self, r: usize, until: u128, what: &str) {
        if let Some(from) = self.res[r].quiet_since.take() {
            self.windows.push((r, from, until, what.to_string()));
        }
    }

    fn step(&mut self) {
        self.op += 1;
        if self.rng.chance(8) {
            self.random_fault();
        }
        let r = self.rng.range(0, self.res.len() as u64 - 1) as usize;
        if self.res[r].in_netns && !self.extra.alive_name {
            // Pacemaker would not start it where the namespace is gone; only stop it.
            if self.res[r].model != Model::Stopped {
                self.stop(r, None);
            }
            return;
        }
        let kill = self
            .rng
            .chance(7)
            .then(|| Duration::from_millis(self.rng.range(0, 15)));
        match self.res[r].model {
            Model::Unknown => self.stop(r, kill),
            Model::Stopped => match self.rng.range(0, 99) {
                0..=59 => self.start(r, kill),
                60..=79 => self.monitor(r, "probe", kill),
                _ => self.stop(r, kill),
            },
            Model::Running => match self.rng.range(0, 99) {
                0..=34 => self.stop(r, kill),
                35..=54 => self.monitor(r, "monitor", kill),
                55..=61 => self.monitor(r, "deep", kill),
                62..=74 => self.monitor(r, "probe", kill),
                75..=89 => self.reload(r, kill),
                _ => self.start(r, kill),
            },
        }
    }

    fn start(&mut self, r: usize, kill: Option<Duration>) {
        if self.res[r].model == Model::Stopped || self.res[r].config.is_empty() {
            self.res[r].config = self.random_config(r);
        }
        let timeout = self.random_timeout();
        let mut env = self.base_env(r, timeout);
        env.extend(self.res[r].config.clone());
        let begin = realtime_ns();
        self.close_window(r, begin, "start");
        let run = self.run(r, "start", &env, kill);
        self.res[r].model = if run.code == 0 && !run.timed_out {
            Model::Running
        } else {
            Model::Unknown
        };
    }

    fn stop(&mut self, r: usize, kill: Option<Duration>) {
        let timeout = self.random_timeout();
        let mut env = self.base_env(r, timeout);
        env.extend(self.res[r].config.clone());
        let run = self.run(r, "stop", &env, kill);
        let returned = realtime_ns();
        if run.timed_out {
            self.res[r].model = Model::Unknown;
            return;
        }
        if run.code != 0 {
            self.violation(format!(
                "op {}: stop of {} ({}) returned {}: {}",
                self.op,
                self.res[r].name,
                self.res[r].ip,
                run.code,
                run.stderr.trim()
            ));
            self.res[r].model = Model::Unknown;
            return;
        }
        self.stops += 1;
        self.res[r].model = Model::Stopped;
        if self.res[r].quiet_since.is_none() {
            self.res[r].quiet_since = Some(returned);
        }
        self.check_stopped(r);
    }

    fn monitor(&mut self, r: usize, kind: &str, kill: Option<Duration>) {
        let timeout = self.random_timeout();
        let mut env = self.base_env(r, timeout);
        env.extend(self.res[r].config.clone());
        match kind {
            "monitor" => env.push(("OCF_RESKEY_CRM_meta_interval".into(), "10000".into())),
            "deep" => {
                env.push(("OCF_RESKEY_CRM_meta_interval".into(), "30000".into()));
                env.push(("OCF_CHECK_LEVEL".into(), "10".into()));
            }
            _ => {}
        }
        let model = self.res[r].model;
        let run = self.run(r, "monitor", &env, kill);
        if run.timed_out {
            return;
        }
        match (model, run.code) {
            (Model::Stopped, 7) | (Model::Running, 0) => {}
            // Nothing else on this segment ever answers for these addresses.
            (_, 190) => self.violation(format!(
                "op {}: {kind} of {} reported a conflict that is not there: {}",
                self.op,
                self.res[r].name,
                run.stderr.trim()
            )),
            (Model::Stopped, code) => self.violation(format!(
                "op {}: {kind} of stopped {} returned {code}: {}",
                self.op,
                self.res[r].name,
                run.stderr.trim()
            )),
            // A fault (a deleted adapter, say) may have taken it: Pacemaker recovers.
            (_, code) => {
                eprintln!(
                    "op {}: {kind} of {} ({model:?}) returned {code}: {}",
                    self.op,
                    self.res[r].name,
                    run.stderr.trim()
                );
                self.res[r].model = Model::Unknown;
            }
        }
    }

    fn reload(&mut self, r: usize, kill: Option<Duration>) {
        let config = self.reloaded_config(r);
        let timeout = self.random_timeout();
        let mut env = self.base_env(r, timeout);
        env.extend(config.clone());
        let run = self.run(r, "reload-agent", &env, kill);
        if run.code == 0 && !run.timed_out {
            self.res[r].config = config;
        }
    }

    fn random_fault(&mut self) {
        let state_dir = node_state_dir_path(self.lab);
        match self.rng.range(0, 5) {
            0 => {
                self.fault("state files removed");
                for entry in std::fs::read_dir(&state_dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            1 => {
                self.fault("state files garbled");
                for entry in std::fs::read_dir(&state_dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let path = entry.path();
                    if path.extension().is_some_and(|e| e == "state") {
                        let _ = std::fs::write(&path, b"pid=\xff\nburst_pid=1\n\0garbage");
                    }
                }
            }
            2 if self.eth1 => {
                self.fault("eth1 deleted");
                self.lab.ip(NODE, &["link", "del", "eth1"]);
                self.eth1 = false;
                for res in &mut self.res {
                    let uses_eth1 = res
                        .config
                        .iter()
                        .any(|(k, v)| k == "OCF_RESKEY_nic" && v.contains("eth1"));
                    if uses_eth1 && res.model == Model::Running {
                        res.model = Model::Unknown;
                    }
                }
            }
            2 => {
                self.fault("eth1 restored");
                self.lab.add_nic(0, "eth1");
                self.eth1 = true;
            }
            3 if self.extra.alive_name => {
                self.fault("namespace name deleted");
                ip_cmd(&["netns", "del", &self.extra.name]);
                self.extra.alive_name = false;
                for res in self.res.iter_mut().filter(|r| r.in_netns) {
                    if res.model == Model::Running {
                        res.model = Model::Unknown;
                    }
                }
            }
            3 => {
                self.fault("namespace recreated");
                // Only once every resource of the old one is stopped: Pacemaker would
                // have recovered them first.
                if self
                    .res
                    .iter()
                    .all(|r| !r.in_netns || r.model == Model::Stopped)
                {
                    self.make_extra_namespace();
                }
            }
            _ => {
                self.fault("background process killed");
                if let Some((pid, _)) = our_processes(&self.our_netns, None).first() {
                    // SAFETY: kill(2) of a process of ours (our namespaces, our argv form).
                    unsafe { libc::kill(*pid, libc::SIGKILL) };
                }
            }
        }
    }

    /// The promises after a stop of `r` returned 0.
    fn check_stopped(&mut self, r: usize) {
        let ip = self.res[r].ip;
        let name = self.res[r].name.clone();
        let mut where_seen = Vec::new();
        let mut namespaces = vec![self.lab.ns(NODE)];
        if self.extra.alive_name {
            namespaces.push(self.extra.name.clone());
        }
        for ns in &namespaces {
            let out = ip_cmd(&["-n", ns, "-o", "addr", "show"]);
            for line in out.lines() {
                let toks: Vec<&str> = line.split_whitespace().collect();
                let held = toks.get(3).and_then(|a| a.split('/').next());
                if held.and_then(|a| a.parse::<IpAddr>().ok()) == Some(ip) {
                    where_seen.push(format!("{ns}: {}", toks[1..4].join(" ")));
                }
            }
        }
        if !where_seen.is_empty() {
            self.violation(format!(
                "op {}: stop of {name} ({ip}) returned 0 but the address is on {}",
                self.op,
                where_seen.join("; ")
            ));
        }
        let alive = our_processes(&self.our_netns, Some(ip));
        if !alive.is_empty() {
            self.violation(format!(
                "op {}: stop of {name} ({ip}) returned 0 but these processes of ours live: {alive:?}",
                self.op
            ));
        }
        if !self.res[r].in_netns || self.extra.alive_name {
            let env = self.base_env(r, 20_000);
            let mut env = env;
            env.extend(self.res[r].config.clone());
            let run = self.run(r, "monitor", &env, None);
            if run.code != 7 {
                self.violation(format!(
                    "op {}: a probe of {name} right after its stop returned {}: {}",
                    self.op,
                    run.code,
                    run.stderr.trim()
                ));
            }
        }
    }

    /// No announcement of an address inside one of its quiet windows.
    fn check_wire(&mut self) {
        let claims = self.watch.claims();
        let mut found = Vec::new();
        for (r, from, until, what) in &self.windows {
            let ip = self.res[*r].ip;
            for c in claims.iter().filter(|c| c.ip == ip) {
                if c.at_ns > *from && c.at_ns < *until {
                    found.push(format!(
                        "{} ({ip}): {} {:.1} ms after stop returned (window closed by {what})",
                        self.res[*r].name,
                        c.kind,
                        (c.at_ns - from) as f64 / 1e6
                    ));
                }
            }
        }
        self.windows.clear();
        for f in found {
            self.violation(format!("late announcement: {f}"));
        }
    }

    fn finish(&mut self) {
        for r in 0..self.res.len() {
            if self.res[r].model != Model::Stopped {
                self.stop(r, None);
            }
        }
        std::thread::sleep(LATE_WATCH);
        let now = realtime_ns();
        for r in 0..self.res.len() {
            self.close_window(r, now, "the end");
        }
        self.check_wire();
        let left = our_processes(&self.our_netns, None);
        if !left.is_empty() {
            self.violation(format!("processes left at the end: {left:?}"));
        }
    }
}

fn node_state_dir_path(lab: &Lab) -> PathBuf {
    lab.state_dir().to_path_buf()
}

/// Removes the extra namespace and ends any process in a namespace this test made (only
/// ours can be there), also when the test fails.
struct Cleanup {
    extra: String,
    our_netns: HashSet<u64>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (pid, _) in our_processes(&self.our_netns, None) {
            // SAFETY: kill(2) of a process in a namespace this test created.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if Path::new("/var/run/netns").join(&self.extra).exists() {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.extra])
                .status();
        }
    }
}

#[test]
fn promises_hold_under_random_operations_and_faults() {
    if !root_or_skip("promises_hold_under_random_operations_and_faults") {
        return;
    }
    let ops = env_number("PROPERTY_OPS", 250);
    let seed = env_number("PROPERTY_SEED", realtime_ns() as u64 & 0xffff_ffff);
    eprintln!("property: seed={seed} ops={ops} (replay with PROPERTY_SEED={seed})");
    let lab = Lab::new(1);
    lab.wait_dad(NODE, "eth0");
    let mut world = World::new(&lab, seed);
    let mut cleanup = Cleanup {
        extra: world.extra.name.clone(),
        our_netns: world.our_netns.clone(),
    };
    for i in 0..ops {
        world.step();
        cleanup.our_netns = world.our_netns.clone();
        if i % 25 == 24 {
            // Let late frames of a just-stopped resource reach the wire before checking.
            std::thread::sleep(Duration::from_millis(50));
            world.check_wire();
        }
    }
    world.finish();
    cleanup.our_netns = world.our_netns.clone();
    eprintln!("property: codes {:?}", world.codes);
    eprintln!("property: faults {:?}", world.faults);
    let faults: usize = world.faults.values().sum();
    eprintln!(
        "property: seed={seed} ops={ops} stops={} faults={faults} violations={}",
        world.stops,
        world.violations.len()
    );
    assert!(
        world.violations.is_empty(),
        "{} violations (seed {seed}):\n{}",
        world.violations.len(),
        world.violations.join("\n")
    );
}
