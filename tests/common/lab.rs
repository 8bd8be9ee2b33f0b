//! A network-namespace lab for root integration tests.
//!
//! Layout of one `Lab` (all names unique per lab: `fl<pid>x<n>`):
//!
//! ```text
//!   <p>-client  eth0 198.51.100.254/24 2001:db8:100::254/64 ─┐
//!   <p>-n0      eth0 198.51.100.10/24  2001:db8:100::10/64  ─┼─ br0 in <p>-br
//!   <p>-n1      eth0 198.51.100.11/24  2001:db8:100::11/64  ─┘
//! ```
//!
//! Every veth is created inside the bridge namespace with its peer placed directly in the host
//! namespace, so the root namespace never holds any of the lab's interfaces. Everything is torn
//! down on `Drop` (also on panic). Only `ip` (iproute2) and raw AF_PACKET sockets opened from
//! threads that `setns(2)` into a lab namespace are used.

use std::collections::HashMap;
use std::ffi::CString;
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Path of the agent binary under test.
pub const AGENT_BIN: &str = env!("CARGO_BIN_EXE_floatip");

/// How long `Lab::agent` lets one agent invocation run before killing it.
pub const AGENT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to wait for links to come up (carrier + bridge forwarding).
const LINK_TIMEOUT: Duration = Duration::from_secs(10);

const PACKET_OUTGOING: u8 = 4;

static LAB_COUNTER: AtomicUsize = AtomicUsize::new(0);
/// Serialises `ip netns add/del` within this process (the first `ip netns add` mounts
/// /var/run/netns and concurrent first calls can race).
static NETNS_LOCK: Mutex<()> = Mutex::new(());
static REAP_ONCE: Once = Once::new();

/// True when running as root. When not root: panics if `CI` is set (CI must run root tests),
/// otherwise prints a skip notice and returns false.
pub fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: needs root, and CI is set so it may not be skipped");
    }
    eprintln!("skipping {test}: needs root (set CI to force)");
    false
}

/// A machine in the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// The client namespace (198.51.100.254, 2001:db8:100::254).
    Client,
    /// Cluster node `i` (198.51.100.(10+i), 2001:db8:100::(10+i)).
    Node(usize),
    /// The namespace holding the bridge `br0` and its ports.
    Bridge,
}

impl Host {
    /// IPv4 base address of a host (None for the bridge).
    pub fn ipv4(self) -> Option<Ipv4Addr> {
        match self {
            Host::Client => Some(Ipv4Addr::new(198, 51, 100, 254)),
            Host::Node(i) => Some(Ipv4Addr::new(198, 51, 100, 10 + i as u8)),
            Host::Bridge => None,
        }
    }

    /// IPv6 base address of a host (None for the bridge).
    pub fn ipv6(self) -> Option<Ipv6Addr> {
        match self {
            Host::Client => Some("2001:db8:100::254".parse().unwrap()),
            Host::Node(i) => Some(format!("2001:db8:100::{}", 10 + i).parse().unwrap()),
            Host::Bridge => None,
        }
    }
}

/// Result of one agent invocation.
#[derive(Clone, Debug)]
pub struct AgentRun {
    /// Exit code; 128+signal when killed by a signal (as a shell reports it).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// True when the run was killed for exceeding its timeout.
    pub timed_out: bool,
}

/// One network-namespace lab. See the module docs for the layout.
pub struct Lab {
    prefix: String,
    nodes: usize,
    state_dir: PathBuf,
    /// (host, ifname in the host) -> bridge port name in the bridge namespace.
    ports: Mutex<HashMap<(Host, String), String>>,
    port_counter: AtomicUsize,
}

/// PIDs of the processes living in network namespace `ns`.
pub fn netns_pids(ns: &str) -> Vec<i32> {
    let out = run_ip(&["netns", "pids", ns]);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Whether `pid` is a floatip resident process (by its command line).
pub fn is_resident(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        c.split(|b| *b == 0)
            .nth(1)
            .is_some_and(|a| a == floatip::resident::RESIDENT_ARG.as_bytes())
    })
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes; returns whether it held.
/// For waiting on a state, not for timing: no figure depends on when this notices.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn run_ip(args: &[&str]) -> Output {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip {args:?}: {e}"))
}

fn ip_ok(args: &[&str]) -> String {
    let out = run_ip(args);
    if !out.status.success() {
        panic!(
            "ip {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Parses `fl<pid>x<n>-<suffix>` lab namespace names; returns the pid.
fn lab_ns_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("fl")?;
    let (pid, rest) = rest.split_once('x')?;
    let (n, suffix) = rest.split_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ok_suffix = suffix == "br"
        || suffix == "client"
        || suffix
            .strip_prefix('n')
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if !ok_suffix {
        return None;
    }
    pid.parse().ok()
}

/// Whether a lab named with `pid` is stale: its process is gone, or it carries our own pid
/// (called before this process creates its first lab, so such a lab is a leftover of an
/// earlier run that had the same pid, which is common in containers).
fn stale_pid(pid: u32) -> bool {
    pid == std::process::id() || !Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes namespaces and state dirs left by lab runs whose process no longer exists
/// (e.g. a run that was SIGKILLed before its Drop guards ran).
fn reap_stale_labs() {
    let out = run_ip(&["netns", "list"]);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if let Some(pid) = lab_ns_pid(name) {
            if stale_pid(pid) {
                let _g = NETNS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
                let r = run_ip(&["netns", "del", name]);
                eprintln!(
                    "lab: removed stale namespace {name} of dead pid {pid} ({})",
                    r.status
                );
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(p) = name.strip_prefix("floatip-lab-") else {
                continue;
            };
            if let Some(pid) = lab_ns_pid(&format!("{p}-br")) {
                if stale_pid(pid) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
}

impl Lab {
    /// Builds a lab with a client and `nodes` cluster nodes, all links up and forwarding.
    pub fn new(nodes: usize) -> Lab {
        assert!(nodes <= 200, "too many nodes");
        REAP_ONCE.call_once(reap_stale_labs);
        let n = LAB_COUNTER.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("fl{}x{}", std::process::id(), n);
        let state_dir = std::env::temp_dir().join(format!("floatip-lab-{prefix}"));
        // Construct the guard first so that a failure half-way still cleans up.
        let lab = Lab {
            prefix,
            nodes,
            state_dir,
            ports: Mutex::new(HashMap::new()),
            port_counter: AtomicUsize::new(0),
        };
        let _ = std::fs::remove_dir_all(&lab.state_dir);
        std::fs::create_dir_all(&lab.state_dir)
            .unwrap_or_else(|e| panic!("create {}: {e}", lab.state_dir.display()));

        {
            let _g = NETNS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
            for h in lab.hosts() {
                ip_ok(&["netns", "add", &lab.ns(h)]);
            }
        }
        let br = lab.ns(Host::Bridge);
        for h in lab.hosts() {
            ip_ok(&["-n", &lab.ns(h), "link", "set", "lo", "up"]);
        }
        ip_ok(&["-n", &br, "link", "add", "br0", "type", "bridge"]);
        ip_ok(&[
            "-n",
            &br,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
            "ageing_time",
            "30000",
            "stp_state",
            "0",
        ]);
        ip_ok(&["-n", &br, "link", "set", "br0", "up"]);

        let mut end_hosts = vec![Host::Client];
        end_hosts.extend((0..nodes).map(Host::Node));
        for &h in &end_hosts {
            lab.make_veth(h, "eth0");
            let ns = lab.ns(h);
            let v4 = format!("{}/24", h.ipv4().unwrap());
            let v6 = format!("{}/64", h.ipv6().unwrap());
            ip_ok(&["-n", &ns, "addr", "add", &v4, "dev", "eth0"]);
            ip_ok(&["-n", &ns, "addr", "add", &v6, "dev", "eth0", "nodad"]);
        }
        for &h in &end_hosts {
            lab.wait_link(h, "eth0");
        }
        lab
    }

    /// Creates a veth whose host end is `ifname` in `host` and whose other end is a br0 port.
    fn make_veth(&self, host: Host, ifname: &str) {
        assert!(host != Host::Bridge, "the bridge has no NICs of its own");
        assert!(
            !ifname.is_empty() && ifname.len() <= 15,
            "bad ifname {ifname:?}"
        );
        let port = format!("p{}", self.port_counter.fetch_add(1, Ordering::SeqCst));
        let br = self.ns(Host::Bridge);
        let ns = self.ns(host);
        ip_ok(&[
            "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", ifname, "netns", &ns,
        ]);
        ip_ok(&["-n", &br, "link", "set", &port, "master", "br0"]);
        ip_ok(&["-n", &br, "link", "set", &port, "up"]);
        ip_ok(&["-n", &ns, "link", "set", ifname, "up"]);
        self.ports
            .lock()
            .unwrap()
            .insert((host, ifname.to_string()), port);
    }

    /// Waits until `ifname` in `host` has carrier and its bridge port is forwarding.
    pub fn wait_link(&self, host: Host, ifname: &str) {
        let port = self.port(host, ifname);
        let br = self.ns(Host::Bridge);
        let ns = self.ns(host);
        let start = Instant::now();
        loop {
            let h = run_ip(&["-n", &ns, "-o", "link", "show", "dev", ifname]);
            let p = run_ip(&["-n", &br, "-o", "-d", "link", "show", "dev", &port]);
            let h = String::from_utf8_lossy(&h.stdout);
            let p = String::from_utf8_lossy(&p.stdout);
            if has_flag(&h, "LOWER_UP")
                && has_flag(&p, "LOWER_UP")
                && p.contains("state forwarding")
            {
                return;
            }
            if start.elapsed() > LINK_TIMEOUT {
                panic!("link {ifname} of {host:?} not up after {LINK_TIMEOUT:?}:\n{h}\n{p}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until no IPv6 address on `ifname` is tentative (DAD done; the kernel's
    /// link-local takes about 1 s after the link comes up). `Lab::new` does not wait for it.
    pub fn wait_dad(&self, host: Host, ifname: &str) {
        let start = Instant::now();
        loop {
            let out = self.ip(host, &["-6", "addr", "show", "dev", ifname, "tentative"]);
            if out.trim().is_empty() {
                return;
            }
            if start.elapsed() > LINK_TIMEOUT {
                panic!("{ifname} of {host:?} still has tentative addresses:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Adds another NIC `ifname` to node `node`, plugged into br0, up, without addresses.
    pub fn add_nic(&self, node: usize, ifname: &str) {
        assert!(node < self.nodes, "no node {node}");
        self.make_veth(Host::Node(node), ifname);
        self.wait_link(Host::Node(node), ifname);
    }

    /// Number of cluster nodes.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// The unique prefix of this lab's names (`fl<pid>x<n>`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// All namespaces' hosts: bridge, client, nodes.
    pub fn hosts(&self) -> Vec<Host> {
        let mut v = vec![Host::Bridge, Host::Client];
        v.extend((0..self.nodes).map(Host::Node));
        v
    }

    /// Namespace name of a host.
    pub fn ns(&self, host: Host) -> String {
        match host {
            Host::Bridge => format!("{}-br", self.prefix),
            Host::Client => format!("{}-client", self.prefix),
            Host::Node(i) => {
                assert!(i < self.nodes, "no node {i} in a lab of {}", self.nodes);
                format!("{}-n{i}", self.prefix)
            }
        }
    }

    /// Bridge-side port name (in the bridge namespace) of `host`'s `ifname`.
    pub fn port(&self, host: Host, ifname: &str) -> String {
        self.ports
            .lock()
            .unwrap()
            .get(&(host, ifname.to_string()))
            .cloned()
            .unwrap_or_else(|| panic!("{host:?} has no lab NIC {ifname}"))
    }

    /// Per-lab state directory handed to the agent as FLOATIP_STATE_DIR.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Runs `sh -c cmd` inside the host's namespace.
    pub fn sh(&self, host: Host, cmd: &str) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(host), "sh", "-c", cmd])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run ip netns exec: {e}"))
    }

    /// Like `sh`, but panics (with stdout and stderr) on a non-zero exit; returns stdout.
    pub fn sh_ok(&self, host: Host, cmd: &str) -> String {
        let out = self.sh(host, cmd);
        if !out.status.success() {
            panic!(
                "in {host:?}: `{cmd}` failed ({}):\nstdout: {}\nstderr: {}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `ip -n NS <args>` and returns stdout, panicking on failure.
    pub fn ip(&self, host: Host, args: &[&str]) -> String {
        let ns = self.ns(host);
        let mut a = vec!["-n", ns.as_str()];
        a.extend_from_slice(args);
        ip_ok(&a)
    }

    /// `ip -o link show dev IF` in the host's namespace (one line).
    pub fn link_show(&self, host: Host, ifname: &str) -> String {
        self.ip(host, &["-o", "link", "show", "dev", ifname])
    }

    /// True when the interface reports LOWER_UP (has carrier and is up).
    pub fn has_carrier(&self, host: Host, ifname: &str) -> bool {
        has_flag(&self.link_show(host, ifname), "LOWER_UP")
    }

    /// MAC address of `ifname` in `host`, lowercase `aa:bb:cc:dd:ee:ff`.
    pub fn mac(&self, host: Host, ifname: &str) -> String {
        let line = self.link_show(host, ifname);
        let mut it = line.split_whitespace();
        while let Some(tok) = it.next() {
            if tok == "link/ether" {
                return it.next().expect("mac after link/ether").to_lowercase();
            }
        }
        panic!("no link/ether in {line:?}");
    }

    /// Addresses on `ifname` as "ADDR/PREFIX" (both families, all scopes, in `ip` order).
    pub fn addresses(&self, host: Host, ifname: &str) -> Vec<String> {
        parse_addrs(&self.ip(host, &["-o", "addr", "show", "dev", ifname]))
    }

    /// Neighbour entry for `ip` on eth0: (mac, state). `mac` is empty when the entry has no
    /// link-layer address (INCOMPLETE, FAILED); None when there is no entry.
    pub fn neigh(&self, host: Host, ip: &str) -> Option<(String, String)> {
        self.neigh_dev(host, "eth0", ip)
    }

    /// Like `neigh`, on a given interface.
    pub fn neigh_dev(&self, host: Host, ifname: &str, ip: &str) -> Option<(String, String)> {
        parse_neigh(&self.ip(host, &["neigh", "show", ip, "dev", ifname]))
    }

    /// Cuts (false) or restores (true) the cable of the host's eth0 by setting its bridge-side
    /// port down/up; the host's eth0 loses/regains carrier. Restoring waits for forwarding.
    pub fn set_port(&self, host: Host, up: bool) {
        self.set_nic_port(host, "eth0", up);
    }

    /// Like `set_port`, for any lab NIC of the host.
    pub fn set_nic_port(&self, host: Host, ifname: &str, up: bool) {
        let port = self.port(host, ifname);
        self.ip(
            Host::Bridge,
            &["link", "set", &port, if up { "up" } else { "down" }],
        );
        if up {
            self.wait_link(host, ifname);
        } else {
            let start = Instant::now();
            while self.has_carrier(host, ifname) {
                if start.elapsed() > LINK_TIMEOUT {
                    panic!("{ifname} of {host:?} still has carrier after its port went down");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Environment and command for the agent (not started): `ip netns exec NS <bin> <action>`
    /// with a clean environment of PATH, OCF_ROOT, FLOATIP_STATE_DIR and `env` (which may
    /// override the first three).
    pub fn agent_command(&self, host: Host, action: &str, env: &[(&str, &str)]) -> Command {
        self.exec_command(host, AGENT_BIN, &[action], env)
    }

    /// `ip netns exec NS <program> <args>` with the agent's clean environment (see
    /// `agent_command`); not started.
    pub fn exec_command(
        &self,
        host: Host,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(host), program])
            .args(args)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("FLOATIP_STATE_DIR", &self.state_dir)
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// Runs the agent `action` in `host` (see `agent_command`), killed after AGENT_TIMEOUT.
    pub fn agent(&self, host: Host, action: &str, env: &[(&str, &str)]) -> AgentRun {
        self.agent_timeout(host, action, env, AGENT_TIMEOUT)
    }

    /// Like `agent`, with a timeout after which the agent (our child, by PID) is SIGKILLed.
    pub fn agent_timeout(
        &self,
        host: Host,
        action: &str,
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> AgentRun {
        let mut cmd = self.agent_command(host, action, env);
        run_with_timeout(&mut cmd, timeout)
    }

    /// Runs `f` on a fresh thread that has entered the host's network namespace, and returns
    /// its result. Only that thread changes namespace.
    pub fn in_ns<T, F>(&self, host: Host, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let ns = self.ns(host);
        std::thread::spawn(move || {
            enter_netns(&ns).unwrap_or_else(|e| panic!("{e}"));
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    /// Sends one raw Ethernet frame (header included) on `ifname` in `host`.
    pub fn send_frame(&self, host: Host, ifname: &str, frame: &[u8]) {
        let ifname = ifname.to_string();
        let frame = frame.to_vec();
        self.in_ns(host, move || {
            raw_send(&ifname, &frame).unwrap_or_else(|e| panic!("send on {ifname}: {e}"))
        })
    }

    /// Sends one raw Ethernet frame `times` times, `gap` apart, on `ifname` in `host` (one
    /// socket for all of them: a flood).
    pub fn send_frames(&self, host: Host, ifname: &str, frame: &[u8], times: usize, gap: Duration) {
        let ifname = ifname.to_string();
        let frame = frame.to_vec();
        self.in_ns(host, move || {
            raw_send_times(&ifname, &frame, times, gap)
                .unwrap_or_else(|e| panic!("send on {ifname}: {e}"))
        })
    }

    /// Starts a packet capture on `ifname` in `host`. The socket is bound before this returns.
    pub fn capture(&self, host: Host, ifname: &str) -> Capture {
        Capture::start(&self.ns(host), ifname)
    }

    /// Kills (SIGKILL, by PID) every process still living in this lab's namespaces; these can
    /// only have been started by this lab's tests. Returns the PIDs killed.
    pub fn kill_ns_processes(&self) -> Vec<i32> {
        let me = std::process::id() as i32;
        let mut killed = Vec::new();
        for h in self.hosts() {
            for pid in netns_pids(&self.ns(h)) {
                if pid > 1 && pid != me {
                    // SAFETY: plain kill(2) of a process living in our own lab namespace.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    killed.push(pid);
                }
            }
        }
        killed
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let killed = self.kill_ns_processes();
        if !killed.is_empty() {
            eprintln!("lab {}: killed leftover processes {killed:?}", self.prefix);
        }
        {
            let _g = NETNS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
            for h in self.hosts() {
                let ns = self.ns(h);
                if !Path::new("/var/run/netns").join(&ns).exists() {
                    continue;
                }
                match Command::new("ip")
                    .args(["netns", "del", &ns])
                    .stdin(Stdio::null())
                    .output()
                {
                    Ok(o) if o.status.success() => {}
                    Ok(o) => eprintln!(
                        "lab: ip netns del {ns} failed: {}",
                        String::from_utf8_lossy(&o.stderr)
                    ),
                    Err(e) => eprintln!("lab: cannot run ip netns del {ns}: {e}"),
                }
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.state_dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("lab: cannot remove {}: {e}", self.state_dir.display());
            }
        }
    }
}

/// Runs a command with piped output, SIGKILLing it (by PID) after `timeout`.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> AgentRun {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"));
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let to = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let te = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => panic!("wait: {e}"),
        }
        if !timed_out && start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let stdout = String::from_utf8_lossy(&to.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&te.join().unwrap()).into_owned();
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    AgentRun {
        code,
        stdout,
        stderr,
        elapsed,
        timed_out,
    }
}

fn has_flag(link_line: &str, flag: &str) -> bool {
    // "2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu ..."
    link_line
        .split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .is_some_and(|(flags, _)| flags.split(',').any(|f| f == flag))
}

fn parse_addrs(out: &str) -> Vec<String> {
    let mut v = Vec::new();
    for line in out.lines() {
        let mut it = line.split_whitespace();
        while let Some(tok) = it.next() {
            if tok == "inet" || tok == "inet6" {
                if let Some(a) = it.next() {
                    v.push(a.to_string());
                }
                break;
            }
        }
    }
    v
}

fn parse_neigh(out: &str) -> Option<(String, String)> {
    let line = out.lines().find(|l| !l.trim().is_empty())?;
    let toks: Vec<&str> = line.split_whitespace().collect();
    let mac = toks
        .iter()
        .position(|t| *t == "lladdr")
        .and_then(|i| toks.get(i + 1))
        .map(|m| m.to_lowercase())
        .unwrap_or_default();
    let state = toks.last().map(|s| s.to_string()).unwrap_or_default();
    Some((mac, state))
}

/// Moves the calling thread into the named network namespace (`/var/run/netns/<ns>`).
pub fn enter_netns(ns: &str) -> Result<(), String> {
    let path = CString::new(format!("/var/run/netns/{ns}")).unwrap();
    // SAFETY: path is a valid C string; the fd is owned and closed by OwnedFd.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!(
            "open /var/run/netns/{ns}: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: fd was just opened and is owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: setns on a netns fd only affects the calling thread.
    if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns {ns}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn ifindex(ifname: &str) -> Result<i32, String> {
    let c = CString::new(ifname).map_err(|e| e.to_string())?;
    // SAFETY: valid C string; uses the calling thread's network namespace.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(format!(
            "no interface {ifname}: {}",
            std::io::Error::last_os_error()
        ))
    } else {
        Ok(i as i32)
    }
}

fn packet_socket() -> Result<OwnedFd, String> {
    // Protocol 0: receives nothing until bound, so no frame from another interface slips in.
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!(
            "socket(AF_PACKET): {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: fd was just created and is owned here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn sockaddr_ll(ifindex: i32, proto: u16) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain old data; all-zero is valid.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = proto.to_be();
    sa.sll_ifindex = ifindex;
    sa
}

/// Sends a raw frame on `ifname` of the calling thread's network namespace.
fn raw_send(ifname: &str, frame: &[u8]) -> Result<(), String> {
    raw_send_times(ifname, frame, 1, Duration::ZERO)
}

/// Sends a raw frame `times` times, `gap` apart, from one socket.
fn raw_send_times(ifname: &str, frame: &[u8], times: usize, gap: Duration) -> Result<(), String> {
    if frame.len() < 14 {
        return Err("frame shorter than an Ethernet header".into());
    }
    let idx = ifindex(ifname)?;
    let sock = packet_socket()?;
    for sent in 0..times {
        if sent > 0 && !gap.is_zero() {
            std::thread::sleep(gap);
        }
        send_on(&sock, idx, frame)?;
    }
    Ok(())
}

fn send_on(sock: &OwnedFd, idx: i32, frame: &[u8]) -> Result<(), String> {
    let mut sa = sockaddr_ll(idx, u16::from_be_bytes([frame[12], frame[13]]));
    sa.sll_halen = 6;
    sa.sll_addr[..6].copy_from_slice(&frame[..6]);
    // SAFETY: buffer and address are valid for the given lengths.
    let n = unsafe {
        libc::sendto(
            sock.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if n < 0 {
        return Err(format!("sendto: {}", std::io::Error::last_os_error()));
    }
    if n as usize != frame.len() {
        return Err(format!("short send {n} of {}", frame.len()));
    }
    Ok(())
}

/// One captured frame.
#[derive(Clone, Debug)]
pub struct CapturedFrame {
    pub at: Instant,
    pub data: Vec<u8>,
    /// True for frames the captured interface sent (PACKET_OUTGOING).
    pub outgoing: bool,
}

/// A running in-process capture of every frame on one interface of one namespace, in both
/// directions (like tcpdump). Stops on `stop()` or Drop.
pub struct Capture {
    frames: Arc<Mutex<Vec<CapturedFrame>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    what: String,
}

impl Capture {
    /// Starts capturing `ifname` in namespace `ns`; returns once the socket is bound.
    pub fn start(ns: &str, ifname: &str) -> Capture {
        let frames = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Result<(), String>>();
        let (ns2, if2, fr2, st2) = (
            ns.to_string(),
            ifname.to_string(),
            frames.clone(),
            stop.clone(),
        );
        let thread = std::thread::Builder::new()
            .name(format!("capture {ns}/{ifname}"))
            .spawn(move || {
                let sock = match open_capture(&ns2, &if2) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let _ = tx.send(Ok(()));
                capture_loop(sock, &fr2, &st2);
            })
            .expect("spawn capture thread");
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                panic!("capture on {ns}/{ifname}: {e}");
            }
            Err(_) => {
                let _ = thread.join();
                panic!("capture thread for {ns}/{ifname} died");
            }
        }
        Capture {
            frames,
            stop,
            thread: Some(thread),
            what: format!("{ns}/{ifname}"),
        }
    }

    /// Snapshot of all frames so far (both directions), in arrival order.
    pub fn frames(&self) -> Vec<(Instant, Vec<u8>)> {
        self.lock().iter().map(|f| (f.at, f.data.clone())).collect()
    }

    /// Snapshot of frames received by the interface (not sent by it).
    pub fn incoming(&self) -> Vec<(Instant, Vec<u8>)> {
        self.filtered(false)
    }

    /// Snapshot of frames sent by the interface.
    pub fn outgoing(&self) -> Vec<(Instant, Vec<u8>)> {
        self.filtered(true)
    }

    /// Snapshot with direction information.
    pub fn captured(&self) -> Vec<CapturedFrame> {
        self.lock().clone()
    }

    /// Polls until `pred(frames())` holds or `timeout` passes; returns whether it held.
    pub fn wait_for<F>(&self, timeout: Duration, mut pred: F) -> bool
    where
        F: FnMut(&[(Instant, Vec<u8>)]) -> bool,
    {
        let start = Instant::now();
        loop {
            if pred(&self.frames()) {
                return true;
            }
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the capture and returns every frame (both directions).
    pub fn stop(mut self) -> Vec<(Instant, Vec<u8>)> {
        self.halt();
        self.frames()
    }

    fn filtered(&self, outgoing: bool) -> Vec<(Instant, Vec<u8>)> {
        self.lock()
            .iter()
            .filter(|f| f.outgoing == outgoing)
            .map(|f| (f.at, f.data.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<CapturedFrame>> {
        self.frames.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                eprintln!("capture {}: thread panicked", self.what);
            }
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.halt();
    }
}

fn open_capture(ns: &str, ifname: &str) -> Result<OwnedFd, String> {
    enter_netns(ns)?;
    let idx = ifindex(ifname)?;
    let sock = packet_socket()?;
    let sa = sockaddr_ll(idx, libc::ETH_P_ALL as u16);
    // SAFETY: valid address of the given length.
    let r = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if r != 0 {
        return Err(format!("bind: {}", std::io::Error::last_os_error()));
    }
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 20_000,
    };
    let rcvbuf: libc::c_int = 4 << 20;
    // SAFETY: valid option values of the given sizes.
    unsafe {
        if libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        ) != 0
        {
            return Err(format!("SO_RCVTIMEO: {}", std::io::Error::last_os_error()));
        }
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&rcvbuf as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        );
    }
    Ok(sock)
}

/// SIOCGSTAMPNS: the kernel's receive timestamp (CLOCK_REALTIME) of the last frame read.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// When the kernel received the frame just read, on the Instant clock: the capture thread may
/// read a frame many milliseconds late on a busy machine, and tests compare frame times with
/// the moment an agent returned.
fn kernel_receive_time(sock: &OwnedFd, base: (Instant, SystemTime)) -> Option<Instant> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: SIOCGSTAMPNS writes one timespec.
    if unsafe { libc::ioctl(sock.as_raw_fd(), SIOCGSTAMPNS, &mut ts) } != 0 {
        return None;
    }
    let stamp = UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    match stamp.duration_since(base.1) {
        Ok(after) => Some(base.0 + after),
        Err(before) => base.0.checked_sub(before.duration()),
    }
}

fn capture_loop(sock: OwnedFd, frames: &Mutex<Vec<CapturedFrame>>, stop: &AtomicBool) {
    let mut buf = vec![0u8; 65536];
    let base = (Instant::now(), SystemTime::now());
    while !stop.load(Ordering::SeqCst) {
        // SAFETY: sockaddr_ll is plain old data.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut salen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: buffer and address are valid for the given lengths.
        let n = unsafe {
            libc::recvfrom(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut sa as *mut libc::sockaddr_ll).cast(),
                &mut salen,
            )
        };
        let read_at = Instant::now();
        if n < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EINTR) => continue,
                // The interface went away (namespace deleted): nothing more to see.
                Some(libc::ENETDOWN) | Some(libc::ENODEV) | Some(libc::ENXIO) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                _ => {
                    eprintln!("capture: recvfrom: {e}");
                    return;
                }
            }
        }
        frames
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(CapturedFrame {
                at: kernel_receive_time(&sock, base).unwrap_or(read_at),
                data: buf[..n as usize].to_vec(),
                outgoing: sa.sll_pkttype == PACKET_OUTGOING,
            });
    }
}

// ---------------------------------------------------------------------------------------------
// Frame helpers (pure).

/// Parses "aa:bb:cc:dd:ee:ff" into bytes.
pub fn mac_bytes(s: &str) -> [u8; 6] {
    let v: Vec<u8> = s
        .split(':')
        .map(|p| u8::from_str_radix(p, 16).unwrap_or_else(|_| panic!("bad mac {s:?}")))
        .collect();
    v.try_into().unwrap_or_else(|_| panic!("bad mac {s:?}"))
}

/// Formats bytes as lowercase "aa:bb:cc:dd:ee:ff".
pub fn mac_str(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Ethernet destination, source and EtherType of a frame.
pub fn eth_header(frame: &[u8]) -> Option<([u8; 6], [u8; 6], u16)> {
    if frame.len() < 14 {
        return None;
    }
    Some((
        frame[0..6].try_into().unwrap(),
        frame[6..12].try_into().unwrap(),
        u16::from_be_bytes([frame[12], frame[13]]),
    ))
}

/// An ARP frame's interesting fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpInfo {
    /// 1 = request, 2 = reply.
    pub op: u16,
    pub sender_mac: [u8; 6],
    pub target_mac: [u8; 6],
    pub eth_src: [u8; 6],
    pub eth_dst: [u8; 6],
}

/// Parses an Ethernet/IPv4 ARP frame: (info, sender IP, target IP).
pub fn parse_arp(frame: &[u8]) -> Option<(ArpInfo, Ipv4Addr, Ipv4Addr)> {
    let (dst, src, et) = eth_header(frame)?;
    if et != 0x0806 || frame.len() < 14 + 28 {
        return None;
    }
    let a = &frame[14..42];
    if a[0..2] != [0, 1] || a[2..4] != [8, 0] || a[4] != 6 || a[5] != 4 {
        return None;
    }
    let info = ArpInfo {
        op: u16::from_be_bytes([a[6], a[7]]),
        sender_mac: a[8..14].try_into().unwrap(),
        target_mac: a[18..24].try_into().unwrap(),
        eth_src: src,
        eth_dst: dst,
    };
    let spa = Ipv4Addr::new(a[14], a[15], a[16], a[17]);
    let tpa = Ipv4Addr::new(a[24], a[25], a[26], a[27]);
    Some((info, spa, tpa))
}

/// ARP announcements (gratuitous ARP, request or reply) for `vip`: sender IP == target IP ==
/// vip.
pub fn arp_announcements(frames: &[(Instant, Vec<u8>)], vip: Ipv4Addr) -> Vec<(Instant, ArpInfo)> {
    frames
        .iter()
        .filter_map(|(t, f)| {
            let (info, spa, tpa) = parse_arp(f)?;
            (spa == vip && tpa == vip).then_some((*t, info))
        })
        .collect()
}

/// A Neighbor Advertisement's interesting fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NaInfo {
    pub override_flag: bool,
    pub solicited: bool,
    pub router: bool,
    /// Target link-layer address option, if present.
    pub tlla: Option<[u8; 6]>,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub eth_src: [u8; 6],
    pub eth_dst: [u8; 6],
}

/// Parses an Ethernet/IPv6 Neighbor Advertisement (no extension headers): (info, target).
pub fn parse_na(frame: &[u8]) -> Option<(NaInfo, Ipv6Addr)> {
    let (edst, esrc, et) = eth_header(frame)?;
    if et != 0x86dd || frame.len() < 14 + 40 + 24 {
        return None;
    }
    let ip = &frame[14..54];
    if ip[0] >> 4 != 6 || ip[6] != 58 {
        return None;
    }
    let plen = u16::from_be_bytes([ip[4], ip[5]]) as usize;
    let icmp = &frame[54..(54 + plen).min(frame.len())];
    if icmp.len() < 24 || icmp[0] != 136 || icmp[1] != 0 {
        return None;
    }
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap());
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap());
    let target = Ipv6Addr::from(<[u8; 16]>::try_from(&icmp[8..24]).unwrap());
    let mut tlla = None;
    let mut opts = &icmp[24..];
    while opts.len() >= 2 {
        let len = opts[1] as usize * 8;
        if len == 0 || len > opts.len() {
            break;
        }
        if opts[0] == 2 && len >= 8 {
            tlla = Some(opts[2..8].try_into().unwrap());
        }
        opts = &opts[len..];
    }
    Some((
        NaInfo {
            router: icmp[4] & 0x80 != 0,
            solicited: icmp[4] & 0x40 != 0,
            override_flag: icmp[4] & 0x20 != 0,
            tlla,
            src,
            dst,
            hop_limit: ip[7],
            eth_src: esrc,
            eth_dst: edst,
        },
        target,
    ))
}

/// Neighbor Advertisements (ICMPv6 type 136) whose target is `target`.
pub fn neighbor_advertisements(
    frames: &[(Instant, Vec<u8>)],
    target: Ipv6Addr,
) -> Vec<(Instant, NaInfo)> {
    frames
        .iter()
        .filter_map(|(t, f)| {
            let (info, tgt) = parse_na(f)?;
            (tgt == target).then_some((*t, info))
        })
        .collect()
}
