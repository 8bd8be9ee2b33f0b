//! IPaddr2 against floatip, in a namespace lab: `cargo bench --bench compare` (needs root).
//!
//! Not part of the test suite: under `cargo test --benches` (no `--bench` argument) it only
//! prints how to run it. Everything that sends packets or changes addresses happens inside the
//! lab's network namespaces (tests/common/lab.rs); the root namespace is never touched.
//!
//! Both agents run alternately in the same run (ABAB, the order swapped every iteration) with
//! the same parameters: `ip`, `cidr_netmask`, `nic=eth0`, `arp_count=5`, `arp_interval=200`,
//! `arp_bg=true` (IPaddr2's default for IPv6 is `false`, which would make its start wait for
//! the whole burst) and, for IPv6, `nodad=true` (so DAD does not dominate; without it IPaddr2
//! polls for the end of DAD with `sleep 1`).
//!
//! How a run is measured: a helper process (`spawn`), forked at the very start of `main`
//! while this process is still small, forks each agent, which `setns(2)`s into the node's
//! namespace, stamps CLOCK_MONOTONIC into a shared page and `execve`s the agent itself (no
//! `ip netns exec`, no `nsenter`). The helper reaps it with `wait4(2)`:
//!
//! * wall time: from that exec stamp to the reap;
//! * CPU: ru_utime + ru_stime, which includes the children the agent waited for (IPaddr2's
//!   `ip`, `sed`, `awk`, ...; not a background `send_arp` / `send_ua`, nor floatip's detached
//!   burst worker);
//! * peak RSS: ru_maxrss, the largest of the agent and its waited-for children. Linux carries
//!   the forking process's RSS high-water mark across `execve`, so the value is never below
//!   the helper's own (reported as the floor, measured with /bin/true); above it, it is exact.
//!
//! Announcements are timed from the exec stamp to the frame's arrival on the client's eth0
//! (an AF_PACKET capture in the client's namespace), and the client's neighbour entry from the
//! exec stamp to the RTM_NEWNEIGH notification (a netlink socket subscribed to RTMGRP_NEIGH in
//! the client's namespace, so no polling) that shows node0's MAC; before each start, node1
//! owned the address and the client had pinged it, so its entry pointed at node1.
//!
//! Scale: IPv6, because 1,000 addresses of one family do not fit in the two IPv4 /24s allowed
//! here; fillers 2001:db8:100::1:N/64 (nodad) are added with `ip -batch`. The IPv4 monitor is
//! measured apart at 1, 100 and the most IPv4 addresses those two /24s give node0's eth0
//! (505: the VIP and 504 fillers), which stands in for 1,000.
//!
//! Link loss (floatip only; IPaddr2 does not react to carrier loss): in a lab of its own,
//! node0 has eth0 and eth1 on the client's segment and floatip runs with nic=eth0,eth1 and a
//! 100 ms failback_delay. eth0's bridge port is set down (one ioctl from a thread in the
//! bridge namespace, stamped just before it) and up again, while the client sends an echo
//! request every 0.5 ms from a raw socket; the capture on the client's wire (kernel
//! timestamps) gives the first announcement from the adapter taking over and the first echo
//! request sent to that adapter's MAC and answered. Fail-back figures are less the hold-down.
//!
//! Resident processes (floatip only): in a lab of its own, the USS (Private_Clean +
//! Private_Dirty of /proc/PID/smaps_rollup) of one resident alone, and of FLOATIP_BENCH_RESIDENTS
//! (default 1,000) at once, each for its own IPv6 resource (2001:db8:100::2:N,
//! arp_refresh_interval=3600, which keeps a resident for as long as the resource runs), with
//! the start and stop of one more among them. All are stopped afterwards; on a panic the
//! lab's Drop kills what is left in its namespaces, by PID.
//!
//! Output: a table on stdout, target/bench/compare.json and target/bench/scale.svg.
//! FLOATIP_BENCH_ITERS (default 30) sets the iterations per measurement (the resident
//! phase starts its residents once). FLOATIP_BENCH_PHASES (comma-separated: static,
//! lifecycle, scale4, scale, linkloss, residents, clients; default all) runs only some phases, and
//! the targets of the others are then reported as missed.
//!
//! Clients (issue 17): a client on the segment waits for an answer on an idle connection to
//! the VIP; after a move by stop and start, and after a power-off failover (node0's link down,
//! no stop; start on node1), the time until its wait ends with a reset, for both agents
//! (FLOATIP_BENCH_PHASES=clients; at most 10 iterations; IPaddr2 resets nothing).

#[path = "../tests/common/lab.rs"]
#[allow(dead_code)]
mod lab;

use lab::{wait_until, Host, Lab};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const IPADDR2: &str = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2";
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const VIP4: &str = "198.51.100.50";
const VIP6: &str = "2001:db8:100::50";
const VIP6_MORE: &str = "2001:db8:100::51";
const SCALE: [usize; 4] = [1, 10, 100, 1000];
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// An announcement burst is over when none has been seen for this long (> arp_interval).
const QUIET: Duration = Duration::from_millis(300);
const SCALE4_WALL: &str = "scale IPv4: monitor wall";
/// failback_delay in the link-loss phase: short, so a fail-back is quick to wait for.
const LINK_HOLD_DOWN_MS: u64 = 100;
const LINK_SECTION: &str = "link loss (nic=eth0,eth1; IPaddr2 has no reaction)";
const LINK_OVER_ANN: &str = "cut -> first announcement from eth1";
const LINK_OVER_ECHO: &str = "cut -> first echo answered via eth1";
const LINK_BACK_ANN: &str = "back -> announcement from eth0, less hold-down";
const LINK_BACK_ECHO: &str = "back -> echo answered via eth0, less hold-down";
const RESIDENT_SECTION: &str = "resident processes (IPaddr2 has none)";
const CLIENTS_SECTION: &str = "a client waiting on an idle TCP connection to the VIP (IPv4)";
const CLIENTS_MOVE: &str = "client reset after a move (stop + start)";
const CLIENTS_FAILOVER: &str = "client reset after a power-off failover";
/// How long a client's wait is watched for a reset; IPaddr2 resets nothing within it.
const CLIENTS_WINDOW: Duration = Duration::from_secs(2);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn check_interrupted() {
    if INTERRUPTED.load(Ordering::SeqCst) {
        // Unwinds, so the lab's Drop removes the namespaces.
        panic!("interrupted");
    }
}

fn mono_ns() -> u64 {
    // SAFETY: clock_gettime with a valid timespec.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Maps CLOCK_MONOTONIC nanoseconds to `Instant` (which is CLOCK_MONOTONIC on Linux).
#[derive(Clone, Copy)]
struct Clock {
    instant: Instant,
    ns: u64,
}

impl Clock {
    fn new() -> Clock {
        let instant = Instant::now();
        let ns = mono_ns();
        Clock { instant, ns }
    }
    fn instant(&self, ns: u64) -> Instant {
        if ns >= self.ns {
            self.instant + Duration::from_nanos(ns - self.ns)
        } else {
            self.instant - Duration::from_nanos(self.ns - ns)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The spawn helper.

mod spawn {
    use super::*;

    pub struct Request<'a> {
        pub program: &'a str,
        pub args: Vec<String>,
        pub env: Vec<(String, String)>,
        pub netns: Option<String>,
        pub out: &'a Path,
        pub err: &'a Path,
        pub timeout: Duration,
    }

    #[derive(Clone, Copy, Debug)]
    pub struct Outcome {
        /// Exit code, or 128 + signal.
        pub code: i32,
        pub timed_out: bool,
        pub exec_ns: u64,
        pub end_ns: u64,
        pub cpu_us: u64,
        pub maxrss_kib: u64,
    }

    impl Outcome {
        pub fn wall_ms(&self) -> f64 {
            self.end_ns.saturating_sub(self.exec_ns) as f64 / 1e6
        }
        pub fn cpu_ms(&self) -> f64 {
            self.cpu_us as f64 / 1e3
        }
        pub fn rss_mib(&self) -> f64 {
            self.maxrss_kib as f64 / 1024.0
        }
    }

    pub struct Spawner {
        to: Option<std::fs::File>,
        from: BufReader<std::fs::File>,
        pid: libc::pid_t,
    }

    fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: valid array of two ints.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            panic!("pipe2: {}", std::io::Error::last_os_error());
        }
        // SAFETY: both fds were just created and are owned here.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    impl Spawner {
        /// Must be called while the process is single-threaded (first thing in main).
        pub fn start() -> Spawner {
            let (req_r, req_w) = pipe();
            let (resp_r, resp_w) = pipe();
            // SAFETY: the process is single-threaded here, so the child may run Rust code.
            let pid = unsafe { libc::fork() };
            if pid < 0 {
                panic!("fork: {}", std::io::Error::last_os_error());
            }
            if pid == 0 {
                drop(req_w);
                drop(resp_r);
                serve(req_r, resp_w);
            }
            drop(req_r);
            drop(resp_w);
            Spawner {
                to: Some(std::fs::File::from(req_w)),
                from: BufReader::new(std::fs::File::from(resp_r)),
                pid,
            }
        }

        pub fn run(&mut self, r: &Request) -> Outcome {
            let req = json!({
                "program": r.program,
                "args": r.args,
                "env": r.env,
                "netns": r.netns,
                "out": r.out.to_str().unwrap(),
                "err": r.err.to_str().unwrap(),
                "timeout_ms": r.timeout.as_millis() as u64,
            });
            let to = self.to.as_mut().expect("spawn helper open");
            writeln!(to, "{req}").expect("spawn helper gone");
            let mut line = String::new();
            let n = self
                .from
                .read_line(&mut line)
                .expect("read from spawn helper");
            if n == 0 {
                panic!("spawn helper gone (interrupted?)");
            }
            let v: Value = serde_json::from_str(&line).expect("spawn helper answer");
            if let Some(e) = v.get("error").and_then(Value::as_str) {
                panic!("spawn {}: {e}", r.program);
            }
            let u = |k: &str| v[k].as_u64().unwrap_or(0);
            Outcome {
                code: v["code"].as_i64().unwrap_or(-1) as i32,
                timed_out: v["timed_out"].as_bool().unwrap_or(false),
                exec_ns: u("exec_ns"),
                end_ns: u("end_ns"),
                cpu_us: u("cpu_us"),
                maxrss_kib: u("maxrss_kib"),
            }
        }
    }

    impl Drop for Spawner {
        fn drop(&mut self) {
            // Closing the request pipe ends the helper; then reap it (our own child, by PID).
            drop(self.to.take());
            let mut status = 0;
            // SAFETY: waits for our own child.
            unsafe { libc::waitpid(self.pid, &mut status, 0) };
        }
    }

    fn open_file(path: &str, flags: libc::c_int) -> Result<OwnedFd, String> {
        let c = CString::new(path).map_err(|e| e.to_string())?;
        // SAFETY: valid C string.
        let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, 0o600) };
        if fd < 0 {
            return Err(format!("open {path}: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: just opened, owned here.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn serve(req: OwnedFd, resp: OwnedFd) -> ! {
        // SAFETY: one anonymous shared page, for the exec stamp written by the agent's child.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if page == libc::MAP_FAILED {
            // SAFETY: plain _exit.
            unsafe { libc::_exit(2) };
        }
        let stamp = page as *mut u64;
        let mut reader = BufReader::new(std::fs::File::from(req));
        let mut w = std::fs::File::from(resp);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => unsafe { libc::_exit(0) },
                Ok(_) => {}
            }
            let answer = match handle(&line, stamp) {
                Ok(v) => v,
                Err(e) => json!({ "error": e }),
            };
            if writeln!(w, "{answer}").is_err() {
                // SAFETY: plain _exit.
                unsafe { libc::_exit(0) };
            }
        }
    }

    fn cstrings(v: &Value) -> Result<Vec<CString>, String> {
        v.as_array()
            .ok_or("not an array")?
            .iter()
            .map(|s| CString::new(s.as_str().unwrap_or("")).map_err(|e| e.to_string()))
            .collect()
    }

    fn handle(line: &str, stamp: *mut u64) -> Result<Value, String> {
        let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let program = v["program"].as_str().ok_or("no program")?;
        let prog = CString::new(program).map_err(|e| e.to_string())?;
        let mut argv = vec![prog.clone()];
        argv.extend(cstrings(&v["args"])?);
        let envv: Vec<CString> = v["env"]
            .as_array()
            .ok_or("no env")?
            .iter()
            .map(|kv| {
                CString::new(format!(
                    "{}={}",
                    kv[0].as_str().unwrap_or(""),
                    kv[1].as_str().unwrap_or("")
                ))
                .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        let mut argp: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
        argp.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = envv.iter().map(|c| c.as_ptr()).collect();
        envp.push(std::ptr::null());
        let ns = match v["netns"].as_str() {
            Some(n) => Some(open_file(&format!("/var/run/netns/{n}"), libc::O_RDONLY)?),
            None => None,
        };
        let nsfd = ns.as_ref().map_or(-1, |f| f.as_raw_fd());
        let wr = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;
        let out = open_file(v["out"].as_str().ok_or("no out")?, wr)?;
        let err = open_file(v["err"].as_str().ok_or("no err")?, wr)?;
        let null = open_file("/dev/null", libc::O_RDONLY)?;
        let timeout_ms = v["timeout_ms"].as_u64().unwrap_or(30_000) as i32;
        let (outfd, errfd, nullfd) = (out.as_raw_fd(), err.as_raw_fd(), null.as_raw_fd());
        // SAFETY: the shared page is valid for the life of this process.
        unsafe { std::ptr::write_volatile(stamp, 0) };
        // SAFETY: this helper is single-threaded; the child only makes raw syscalls (nothing
        // allocates between fork and execve, so the child's RSS stays the helper's).
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: async-signal-safe calls on valid fds and pointers prepared before fork.
            unsafe {
                if nsfd >= 0 && libc::setns(nsfd, libc::CLONE_NEWNET) != 0 {
                    libc::_exit(126);
                }
                libc::dup2(nullfd, 0);
                libc::dup2(outfd, 1);
                libc::dup2(errfd, 2);
                let mut ts: libc::timespec = std::mem::zeroed();
                libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
                std::ptr::write_volatile(
                    stamp,
                    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64,
                );
                libc::execve(prog.as_ptr(), argp.as_ptr(), envp.as_ptr());
                libc::_exit(127);
            }
        }
        drop((out, err, null, ns));
        // SAFETY: pidfd_open on our own unreaped child.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
        let mut timed_out = false;
        if pidfd >= 0 {
            // SAFETY: just opened, owned here.
            let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
            let deadline = Instant::now() + Duration::from_millis(timeout_ms as u64);
            for _ in 0..1000 {
                let left = deadline
                    .saturating_duration_since(Instant::now())
                    .as_millis() as i32;
                let mut pfd = libc::pollfd {
                    fd: pidfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                let r = unsafe { libc::poll(&mut pfd, 1, left) };
                if r > 0 {
                    break;
                }
                if r == 0 || left <= 0 {
                    timed_out = true;
                    // SAFETY: our own child, not reaped yet, so the PID is still its own.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    break;
                }
            }
        }
        let mut status = 0;
        // SAFETY: rusage is plain old data.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: waits for our own child.
            let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
            if r == pid {
                break;
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(format!("wait4: {e}"));
            }
        }
        let end_ns = mono_ns();
        // SAFETY: the page is valid; the child is gone.
        let exec_ns = unsafe { std::ptr::read_volatile(stamp) };
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        };
        let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
        Ok(json!({
            "code": code,
            "timed_out": timed_out,
            "exec_ns": exec_ns,
            "end_ns": end_ns,
            "cpu_us": tv(ru.ru_utime) + tv(ru.ru_stime),
            "maxrss_kib": ru.ru_maxrss as u64,
        }))
    }
}

use spawn::{Outcome, Spawner};

// ---------------------------------------------------------------------------------------------
// The client's neighbour table, watched through netlink notifications.

#[derive(Clone, Debug)]
struct NeighEvent {
    at: Instant,
    dst: IpAddr,
    lladdr: Option<[u8; 6]>,
}

struct NeighWatch {
    events: Arc<Mutex<Vec<NeighEvent>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn parse_neigh_messages(buf: &[u8], at: Instant, out: &mut Vec<NeighEvent>) {
    let mut off = 0;
    for _ in 0..10_000 {
        if off + 16 > buf.len() {
            break;
        }
        let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().unwrap());
        if len < 16 || off + len > buf.len() {
            break;
        }
        if kind == libc::RTM_NEWNEIGH && len >= 16 + 12 {
            let msg = &buf[off + 16..off + len];
            let family = msg[0] as i32;
            let mut dst = None;
            let mut lladdr = None;
            let mut a = 12;
            while a + 4 <= msg.len() {
                let alen = u16::from_ne_bytes(msg[a..a + 2].try_into().unwrap()) as usize;
                let atype = u16::from_ne_bytes(msg[a + 2..a + 4].try_into().unwrap());
                if alen < 4 || a + alen > msg.len() {
                    break;
                }
                let data = &msg[a + 4..a + alen];
                match (atype, family) {
                    (1, libc::AF_INET) if data.len() == 4 => {
                        dst = Some(IpAddr::from(<[u8; 4]>::try_from(data).unwrap()))
                    }
                    (1, libc::AF_INET6) if data.len() == 16 => {
                        dst = Some(IpAddr::from(<[u8; 16]>::try_from(data).unwrap()))
                    }
                    (2, _) if data.len() == 6 => lladdr = Some(data.try_into().unwrap()),
                    _ => {}
                }
                a += (alen + 3) & !3;
            }
            if let Some(dst) = dst {
                out.push(NeighEvent { at, dst, lladdr });
            }
        }
        off += (len + 3) & !3;
    }
}

impl NeighWatch {
    fn start(ns: &str) -> NeighWatch {
        let events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (ns2, ev2, st2) = (ns.to_string(), events.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let sock = match open_neigh_socket(&ns2) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = tx.send(Ok(()));
            let mut buf = vec![0u8; 1 << 16];
            while !st2.load(Ordering::SeqCst) {
                // SAFETY: valid buffer.
                let n =
                    unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
                let at = Instant::now();
                if n <= 0 {
                    continue;
                }
                let mut got = Vec::new();
                parse_neigh_messages(&buf[..n as usize], at, &mut got);
                ev2.lock().unwrap_or_else(|e| e.into_inner()).extend(got);
            }
        });
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("neighbour watch in {ns}: {e}"),
            Err(_) => panic!("neighbour watch thread died"),
        }
        NeighWatch {
            events,
            stop,
            thread: Some(thread),
        }
    }

    fn events(&self) -> Vec<NeighEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for NeighWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn open_neigh_socket(ns: &str) -> Result<OwnedFd, String> {
    lab::enter_netns(ns)?;
    // SAFETY: plain socket(2).
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: just created, owned here.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_nl is plain old data.
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as u16;
    sa.nl_groups = libc::RTMGRP_NEIGH as u32;
    // SAFETY: valid address of the given size.
    if unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&sa as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    } != 0
    {
        return Err(format!("bind: {}", std::io::Error::last_os_error()));
    }
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 20_000,
    };
    let rcvbuf: libc::c_int = 1 << 20;
    // SAFETY: valid option values of the given sizes.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
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

// ---------------------------------------------------------------------------------------------
// Link loss: a pinging client, the cut, and the first echo answered through an adapter.

/// How often the client sends an echo request during the link-loss phase: the resolution of
/// its "first answered echo" figures.
const PING_PACE: Duration = Duration::from_micros(500);

/// The Internet checksum (RFC 1071).
fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP echo request (header and 8 bytes of payload; the kernel adds the IP header).
fn echo_request(ident: u16, seq: u16) -> [u8; 16] {
    let mut p = [0u8; 16];
    p[0] = 8;
    p[4..6].copy_from_slice(&ident.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    p[8..16].copy_from_slice(b"floatip!");
    let sum = inet_checksum(&p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// An Ethernet/IPv4 ICMP echo frame: (type, source, destination, identifier, sequence).
fn icmp_echo(f: &[u8]) -> Option<(u8, Ipv4Addr, Ipv4Addr, u16, u16)> {
    if f.len() < 34 || f[12..14] != [0x08, 0x00] || f[23] != 1 {
        return None;
    }
    let icmp = 14 + usize::from(f[14] & 0x0f) * 4;
    let h = f.get(icmp..icmp + 8)?;
    if h[0] != 0 && h[0] != 8 {
        return None;
    }
    let addr = |o: usize| Ipv4Addr::new(f[o], f[o + 1], f[o + 2], f[o + 3]);
    Some((
        h[0],
        addr(26),
        addr(30),
        u16::from_be_bytes([h[4], h[5]]),
        u16::from_be_bytes([h[6], h[7]]),
    ))
}

/// When the reply arrived to the client's first echo request after `after` that went to
/// `mac` and was answered: a request to that MAC means the client's entry for `vip` points
/// there, its reply that the adapter behind it serves the address.
fn first_answer_via(
    frames: &[(Instant, Vec<u8>)],
    vip: Ipv4Addr,
    mac: [u8; 6],
    after: Instant,
    ident: u16,
) -> Option<Instant> {
    let asked: Vec<u16> = frames
        .iter()
        .filter(|(t, f)| *t > after && f.len() >= 6 && f[0..6] == mac)
        .filter_map(|(_, f)| icmp_echo(f))
        .filter(|&(kind, _, dst, id, _)| kind == 8 && dst == vip && id == ident)
        .map(|(.., seq)| seq)
        .collect();
    frames
        .iter()
        .filter(|(t, _)| *t > after)
        .find(|(_, f)| {
            icmp_echo(f).is_some_and(|(kind, src, _, id, seq)| {
                kind == 0 && src == vip && id == ident && asked.contains(&seq)
            })
        })
        .map(|(t, _)| *t)
}

/// The first gratuitous ARP for `vip` from `mac` after `after`.
fn first_announcement_from(
    frames: &[(Instant, Vec<u8>)],
    vip: Ipv4Addr,
    mac: [u8; 6],
    after: Instant,
) -> Option<Instant> {
    lab::arp_announcements(frames, vip)
        .into_iter()
        .filter(|(t, a)| *t > after && a.eth_src == mac)
        .map(|(t, _)| t)
        .min()
}

/// A client that sends an echo request to `dst` every PING_PACE from a raw ICMP socket in its
/// namespace. It only reads its replies to drop them: the capture on the client's wire,
/// with the kernel's timestamps, says which were answered and when.
struct Pinger {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn open_icmp(ns: &str, dst: Ipv4Addr) -> Result<OwnedFd, String> {
    lab::enter_netns(ns)?;
    // SAFETY: plain socket(2).
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_ICMP,
        )
    };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: just created, owned here.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_in is plain old data.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sa.sin_family = libc::AF_INET as u16;
    sa.sin_addr.s_addr = u32::from_ne_bytes(dst.octets());
    // SAFETY: valid address of the given size.
    if unsafe {
        libc::connect(
            sock.as_raw_fd(),
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    } != 0
    {
        return Err(format!("connect: {}", std::io::Error::last_os_error()));
    }
    Ok(sock)
}

impl Pinger {
    fn start(ns: &str, dst: Ipv4Addr, ident: u16) -> Pinger {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (ns2, st2) = (ns.to_string(), stop.clone());
        let thread = std::thread::spawn(move || {
            let sock = match open_icmp(&ns2, dst) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = tx.send(Ok(()));
            let mut seq: u16 = 0;
            let mut next = Instant::now();
            let mut buf = [0u8; 2048];
            while !st2.load(Ordering::SeqCst) {
                let now = Instant::now();
                if now >= next {
                    seq = seq.wrapping_add(1);
                    let p = echo_request(ident, seq);
                    // SAFETY: valid buffer on a connected socket. A failed send (no route
                    // while the link is down) is a request that is not answered.
                    unsafe { libc::send(sock.as_raw_fd(), p.as_ptr().cast(), p.len(), 0) };
                    next = (next + PING_PACE).max(now);
                    continue;
                }
                // Until the next send: wake for replies (dropped, lest the buffer fill).
                let left = next - now;
                let ts = libc::timespec {
                    tv_sec: left.as_secs() as libc::time_t,
                    tv_nsec: left.subsec_nanos() as libc::c_long,
                };
                let mut pfd = libc::pollfd {
                    fd: sock.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd and timespec.
                if unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) } > 0 {
                    // SAFETY: valid buffer.
                    while unsafe {
                        libc::recv(
                            sock.as_raw_fd(),
                            buf.as_mut_ptr().cast(),
                            buf.len(),
                            libc::MSG_DONTWAIT,
                        )
                    } > 0
                    {}
                }
            }
        });
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("pinger in {ns}: {e}"),
            Err(_) => panic!("pinger thread died"),
        }
        Pinger {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sets `ifname` in namespace `ns` administratively up or down with one ioctl, from a thread
/// inside that namespace. Returns the moment just before the ioctl: the cut (or the restore)
/// the reaction is timed from, without the cost of starting `ip`.
fn set_admin_state(ns: &str, ifname: &str, up: bool) -> Instant {
    let (ns2, if2) = (ns.to_string(), ifname.to_string());
    let at = std::thread::spawn(move || -> Result<Instant, String> {
        lab::enter_netns(&ns2)?;
        // SAFETY: plain socket(2), for the interface ioctls.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(format!("socket: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: just created, owned here.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: ifreq is plain old data.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in ifr
            .ifr_name
            .iter_mut()
            .zip(if2.bytes().take(libc::IFNAMSIZ - 1))
        {
            *d = s as libc::c_char;
        }
        // SAFETY: SIOCGIFFLAGS fills the flags of a valid ifreq.
        if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) } != 0 {
            return Err(format!(
                "SIOCGIFFLAGS {if2}: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: the flags member is the one SIOCGIFFLAGS set.
        unsafe {
            let flags = &mut ifr.ifr_ifru.ifru_flags;
            if up {
                *flags |= libc::IFF_UP as libc::c_short;
            } else {
                *flags &= !(libc::IFF_UP as libc::c_short);
            }
        }
        let at = Instant::now();
        // SAFETY: SIOCSIFFLAGS with the ifreq read above.
        if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) } != 0 {
            return Err(format!(
                "SIOCSIFFLAGS {if2}: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(at)
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e));
    at.unwrap_or_else(|e| {
        panic!(
            "set {ifname} in {ns} {}: {e}",
            if up { "up" } else { "down" }
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Resident processes: which run in a namespace, and their private memory.

/// The floatip resident processes living in namespace `ns` (by their command line).
fn resident_pids(ns: &str) -> Vec<i32> {
    lab::netns_pids(ns)
        .into_iter()
        .filter(|pid| lab::is_resident(*pid))
        .collect()
}

/// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
fn cpu_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 2..].split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// (USS, PSS) of a process in KiB: USS is Private_Clean + Private_Dirty, the memory that
/// would be freed if it ended; PSS shares every shared page among its users.
fn private_memory(pid: i32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((
        field("Private_Clean:")? + field("Private_Dirty:")?,
        field("Pss:")?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Agents and samples.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Agent {
    IPaddr2,
    FloatIp,
}

const AGENTS: [Agent; 2] = [Agent::IPaddr2, Agent::FloatIp];

impl Agent {
    fn name(self) -> &'static str {
        match self {
            Agent::IPaddr2 => "IPaddr2",
            Agent::FloatIp => "floatip",
        }
    }
    fn key(self) -> &'static str {
        match self {
            Agent::IPaddr2 => "ipaddr2",
            Agent::FloatIp => "floatip",
        }
    }
}

/// Both agents, the order swapped on every other iteration.
fn order(i: usize) -> [Agent; 2] {
    if i % 2 == 0 {
        [Agent::FloatIp, Agent::IPaddr2]
    } else {
        [Agent::IPaddr2, Agent::FloatIp]
    }
}

#[derive(Default, Clone)]
struct Row {
    section: String,
    name: String,
    unit: String,
    samples: [Vec<f64>; 2],
    /// For a floatip-only figure, what the table shows for IPaddr2 ("none", "n/a").
    absent: Option<String>,
}

#[derive(Default)]
struct Results {
    rows: Vec<Row>,
}

impl Results {
    fn add(&mut self, section: &str, name: &str, unit: &str, agent: Agent, value: f64) {
        let idx = match self
            .rows
            .iter()
            .position(|r| r.section == section && r.name == name)
        {
            Some(i) => i,
            None => {
                self.rows.push(Row {
                    section: section.into(),
                    name: name.into(),
                    unit: unit.into(),
                    ..Default::default()
                });
                self.rows.len() - 1
            }
        };
        self.rows[idx].samples[agent as usize].push(value);
    }

    /// A figure IPaddr2 has no counterpart for; `absent` says why in its column.
    fn add_floatip_only(
        &mut self,
        section: &str,
        name: &str,
        unit: &str,
        value: f64,
        absent: &str,
    ) {
        self.add(section, name, unit, Agent::FloatIp, value);
        if let Some(r) = self
            .rows
            .iter_mut()
            .find(|r| r.section == section && r.name == name)
        {
            r.absent = Some(absent.into());
        }
    }

    /// Wall time, CPU and peak RSS of one invocation.
    fn add_run(&mut self, name: &str, agent: Agent, o: &Outcome) {
        self.add("wall time", name, "ms", agent, o.wall_ms());
        self.add("CPU time (user+sys)", name, "ms", agent, o.cpu_ms());
        self.add("peak RSS", name, "MiB", agent, o.rss_mib());
    }

    /// Rows grouped by section, sections in order of first appearance.
    fn grouped(&self) -> Vec<&Row> {
        let mut sections: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !sections.contains(&r.section.as_str()) {
                sections.push(&r.section);
            }
        }
        sections
            .iter()
            .flat_map(|s| self.rows.iter().filter(move |r| r.section == *s))
            .collect()
    }

    fn get(&self, section: &str, name: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.section == section && r.name == name)
    }
}

/// Row name of a scale point: `n` addresses of the family on node0's eth0 (the VIP and fillers).
fn scale_name(n: usize) -> String {
    format!("{n} address{}", if n == 1 { "" } else { "es" })
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

/// Nearest-rank percentile.
fn percentile(v: &[f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p * s.len() as f64).ceil() as usize).clamp(1, s.len());
    Some(s[rank - 1])
}

struct Bench {
    lab: Lab,
    spawner: Spawner,
    tmp: PathBuf,
    floatip: String,
    iters: usize,
    results: Results,
    clock: Clock,
    mac0: String,
    mac1: String,
    log: Vec<String>,
}

fn ocf_params(ip: &str) -> Vec<(&'static str, String)> {
    let v6 = ip.contains(':');
    let mut p = vec![
        ("ip", ip.to_string()),
        ("cidr_netmask", if v6 { "64" } else { "24" }.to_string()),
        ("nic", "eth0".to_string()),
        ("arp_count", "5".to_string()),
        ("arp_interval", "200".to_string()),
        ("arp_bg", "true".to_string()),
    ];
    if v6 {
        p.push(("nodad", "true".to_string()));
    }
    p
}

/// OCF_RESOURCE_INSTANCE of the bench's resource `instance`.
fn instance_name(agent: Agent, instance: &str) -> String {
    format!("bench-{}-{instance}", agent.key())
}

impl Bench {
    fn env(
        &self,
        agent: Agent,
        ip: &str,
        instance: &str,
        interval_ms: u64,
    ) -> Vec<(String, String)> {
        self.env_with(agent, instance, interval_ms, ocf_params(ip))
    }

    /// The agent's environment with these OCF parameters (`OCF_RESKEY_` is added).
    fn env_with(
        &self,
        agent: Agent,
        instance: &str,
        interval_ms: u64,
        params: Vec<(&'static str, String)>,
    ) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), PATH.into()),
            ("OCF_ROOT".into(), "/usr/lib/ocf".into()),
            (
                "OCF_RESOURCE_INSTANCE".into(),
                instance_name(agent, instance),
            ),
            ("OCF_RESKEY_CRM_meta_timeout".into(), "20000".into()),
            (
                "OCF_RESKEY_CRM_meta_interval".into(),
                interval_ms.to_string(),
            ),
        ];
        for (k, v) in params {
            env.push((format!("OCF_RESKEY_{k}"), v));
        }
        match agent {
            Agent::FloatIp => env.push((
                "FLOATIP_STATE_DIR".into(),
                self.state_dir().to_str().unwrap().into(),
            )),
            Agent::IPaddr2 => env.push((
                "HA_RSCTMP".into(),
                self.tmp.join("ipaddr2-rsctmp").to_str().unwrap().into(),
            )),
        }
        env
    }

    fn state_dir(&self) -> PathBuf {
        self.tmp.join("floatip-state")
    }

    fn program(&self, agent: Agent) -> String {
        match agent {
            Agent::IPaddr2 => IPADDR2.to_string(),
            Agent::FloatIp => self.floatip.clone(),
        }
    }

    /// Runs `action` of `agent` in node `node`; panics unless it exits with `expect`.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        agent: Agent,
        node: usize,
        action: &str,
        ip: &str,
        instance: &str,
        interval_ms: u64,
        expect: i32,
    ) -> Outcome {
        let env = self.env(agent, ip, instance, interval_ms);
        let ns = self.lab.ns(Host::Node(node));
        let what = format!("({ip}, interval {interval_ms}) on node{node}");
        self.run_in(&ns, agent, action, env, expect, &what)
    }

    /// Runs `action` of `agent` with `env` in namespace `ns`; panics unless it exits with
    /// `expect` (`what` names the run in that message).
    fn run_in(
        &mut self,
        ns: &str,
        agent: Agent,
        action: &str,
        env: Vec<(String, String)>,
        expect: i32,
        what: &str,
    ) -> Outcome {
        check_interrupted();
        let out = self.tmp.join(format!("{}.out", agent.key()));
        let err = self.tmp.join(format!("{}.err", agent.key()));
        let program = self.program(agent);
        let req = spawn::Request {
            program: &program,
            args: vec![action.to_string()],
            env,
            netns: Some(ns.to_string()),
            out: &out,
            err: &err,
            timeout: RUN_TIMEOUT,
        };
        let o = self.spawner.run(&req);
        if o.code != expect || o.timed_out || o.exec_ns == 0 {
            panic!(
                "{} {action} {what}: exit {} (expected {expect}){}\nstderr:\n{}",
                agent.name(),
                o.code,
                if o.timed_out { ", timed out" } else { "" },
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        o
    }

    fn note(&mut self, s: String) {
        eprintln!("compare: {s}");
        self.log.push(s);
    }

    // -----------------------------------------------------------------------------------------

    fn phase_static(&mut self) {
        eprintln!("compare: meta-data and validate-all ...");
        for i in 0..self.iters {
            for agent in order(i) {
                let o = self.run(agent, 0, "meta-data", VIP4, "a", 0, 0);
                self.results.add_run("meta-data", agent, &o);
                let o = self.run(agent, 0, "validate-all", VIP4, "a", 0, 0);
                self.results.add_run("validate-all", agent, &o);
            }
        }
    }

    /// node1 holds `vip`, the client pings it (so its neighbour entry points at node1), and
    /// node1 lets it go again; the client's entry stays.
    fn client_learns_node1(&mut self, vip: &str) {
        let v6 = vip.contains(':');
        let cidr = format!("{vip}/{}", if v6 { 64 } else { 24 });
        let mut add = vec!["addr", "add", cidr.as_str(), "dev", "eth0"];
        if v6 {
            add.push("nodad");
        }
        self.lab.ip(Host::Node(1), &add);
        let _ = self
            .lab
            .sh(Host::Client, &format!("ip neigh flush to {vip} dev eth0"));
        let mut learned = false;
        for _ in 0..5 {
            let out = self.lab.sh(Host::Client, &format!("ping -c1 -W1 {vip}"));
            if out.status.success()
                && self
                    .lab
                    .neigh(Host::Client, vip)
                    .is_some_and(|(mac, _)| mac == self.mac1)
            {
                learned = true;
                break;
            }
        }
        assert!(
            learned,
            "client did not learn {vip} -> node1: {:?}",
            self.lab.neigh(Host::Client, vip)
        );
        self.lab.ip(
            Host::Node(1),
            &["addr", "del", cidr.as_str(), "dev", "eth0"],
        );
    }

    fn announcements_from_node0(&self, frames: &[(Instant, Vec<u8>)], vip: &str) -> Vec<Instant> {
        let mac = lab::mac_bytes(&self.mac0);
        match vip.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v4) => lab::arp_announcements(frames, v4)
                .into_iter()
                .filter(|(_, a)| a.eth_src == mac)
                .map(|(t, _)| t)
                .collect(),
            IpAddr::V6(v6) => lab::neighbor_advertisements(frames, v6)
                .into_iter()
                .filter(|(_, n)| n.eth_src == mac && !n.solicited)
                .map(|(t, _)| t)
                .collect(),
        }
    }

    /// probe, start (with announcement and neighbour timing), monitor, stop; both agents in
    /// turn, `iters` times.
    fn phase_lifecycle(&mut self, vip: &str) {
        let fam = if vip.contains(':') { "IPv6" } else { "IPv4" };
        eprintln!("compare: lifecycle {fam} ...");
        let capture = self.lab.capture(Host::Client, "eth0");
        let watch = NeighWatch::start(&self.lab.ns(Host::Client));
        let vip_ip: IpAddr = vip.parse().unwrap();
        let mac0 = lab::mac_bytes(&self.mac0);
        let mut missing = [0usize; 2];
        for i in 0..self.iters {
            for agent in order(i) {
                self.client_learns_node1(vip);
                let o = self.run(agent, 0, "monitor", vip, "a", 0, 7);
                self.results
                    .add_run(&format!("monitor, not running (probe) {fam}"), agent, &o);
                let o = self.run(agent, 0, "start", vip, "a", 0, 0);
                self.results.add_run(&format!("start {fam}"), agent, &o);
                let exec = self.clock.instant(o.exec_ns);
                // Frames and events carry their own arrival times; polling only ends the wait.
                let deadline = Instant::now() + Duration::from_secs(3);
                let (mut first_ann, mut first_neigh) = (None, None);
                while Instant::now() < deadline {
                    if first_ann.is_none() {
                        first_ann = self
                            .announcements_from_node0(&capture.frames(), vip)
                            .into_iter()
                            .find(|t| *t >= exec);
                    }
                    if first_neigh.is_none() {
                        first_neigh = watch
                            .events()
                            .into_iter()
                            .find(|e| e.at >= exec && e.dst == vip_ip && e.lladdr == Some(mac0))
                            .map(|e| e.at);
                    }
                    if first_ann.is_some() && first_neigh.is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                let ms = |t: Instant| t.duration_since(exec).as_secs_f64() * 1e3;
                match first_ann {
                    Some(t) => self.results.add(
                        "announcement",
                        &format!("exec -> first announcement {fam}"),
                        "ms",
                        agent,
                        ms(t),
                    ),
                    None => missing[agent as usize] += 1,
                }
                match first_neigh {
                    Some(t) => self.results.add(
                        "announcement",
                        &format!("exec -> client neighbour entry = node0 {fam}"),
                        "ms",
                        agent,
                        ms(t),
                    ),
                    None => missing[agent as usize] += 1,
                }
                let o = self.run(agent, 0, "monitor", vip, "a", 10_000, 0);
                self.results
                    .add_run(&format!("monitor, running {fam}"), agent, &o);
                let o = self.run(agent, 0, "stop", vip, "a", 0, 0);
                self.results.add_run(&format!("stop {fam}"), agent, &o);
                // Let any announcement still under way end, so the next start's first one
                // is its own.
                let quiet_deadline = Instant::now() + Duration::from_secs(3);
                while Instant::now() < quiet_deadline {
                    let last = self
                        .announcements_from_node0(&capture.frames(), vip)
                        .into_iter()
                        .max();
                    if last.is_none_or(|t| t.elapsed() >= QUIET) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        for a in AGENTS {
            if missing[a as usize] > 0 {
                self.note(format!(
                    "{fam}: {} of {} announcement/neighbour observations missing for {}",
                    missing[a as usize],
                    2 * self.iters,
                    a.name()
                ));
            }
        }
        drop(watch);
        drop(capture);
    }

    /// Runs `ip -batch` in node0 with these commands, one a line.
    fn ip_batch(&self, lines: impl Iterator<Item = String>) {
        let text: String = lines.map(|l| l + "\n").collect();
        if text.is_empty() {
            return;
        }
        let path = self.tmp.join("fillers.batch");
        std::fs::write(&path, text).unwrap();
        self.lab
            .sh_ok(Host::Node(0), &format!("ip -batch {}", path.display()));
    }

    /// Every IPv4 address the bench may add on node0's eth0 as a filler: the two /24s this
    /// bench may use (198.51.100.0/24, 203.0.113.0/24) less network, broadcast, the lab's
    /// hosts and VIP4. 1,000 would need address space the bench may not touch.
    fn ipv4_fillers(&self) -> Vec<String> {
        let mut taken: Vec<Ipv4Addr> = vec![Host::Client.ipv4().unwrap(), VIP4.parse().unwrap()];
        taken.extend((0..self.lab.nodes()).filter_map(|i| Host::Node(i).ipv4()));
        ["198.51.100", "203.0.113"]
            .iter()
            .flat_map(|net| (1..=254u8).map(move |h| format!("{net}.{h}")))
            .filter(|a| !taken.contains(&a.parse().unwrap()))
            .map(|a| format!("{a}/24"))
            .collect()
    }

    /// The IPv4 monitor of both agents with 1, 100 and the most IPv4 addresses the bench may
    /// put on node0's eth0 (VIP4 and fillers; the node's own address not counted).
    fn phase_scale_ipv4(&mut self) {
        let fillers = self.ipv4_fillers();
        let most = fillers.len() + 1;
        self.note(format!(
            "IPv4 scale: {most} addresses, not 1,000: the two /24s this bench may use (198.51.100.0/24, 203.0.113.0/24) hold {} besides network, broadcast and the lab's own; {most} stands in for 1,000",
            fillers.len()
        ));
        self.run(Agent::FloatIp, 0, "start", VIP4, "scale4", 0, 0);
        let mut have = 0;
        for n in [1, 100, most] {
            let want = n - 1;
            self.ip_batch(
                fillers[have..want]
                    .iter()
                    .map(|a| format!("addr add {a} dev eth0")),
            );
            have = want;
            eprintln!(
                "compare: IPv4 scale {n}: {} global IPv4 addresses on node0 eth0 (VIP + {have} fillers + the node's own)",
                self.addresses_on_eth0("-4")
            );
            let name = scale_name(n);
            for i in 0..self.iters {
                for agent in order(i) {
                    let o = self.run(agent, 0, "monitor", VIP4, "scale4", 10_000, 0);
                    self.results
                        .add(SCALE4_WALL, &name, "ms", agent, o.wall_ms());
                    self.results
                        .add("scale IPv4: monitor CPU", &name, "ms", agent, o.cpu_ms());
                }
            }
        }
        // Last added first: the first of each /24 is its primary address, and deleting a
        // primary takes its secondaries with it.
        self.ip_batch(
            fillers[..have]
                .iter()
                .rev()
                .map(|a| format!("addr del {a} dev eth0")),
        );
        self.run(Agent::FloatIp, 0, "stop", VIP4, "scale4", 0, 0);
    }

    /// Link-loss reaction, in a lab of its own: node0 has eth0 and eth1 on the client's
    /// segment and floatip runs with nic=eth0,eth1; the bench cuts eth0's carrier (its bridge
    /// port set down, inside the bridge namespace) and restores it, while the client pings.
    /// Issue 17: a client on the segment sent a request to the VIP on node0 and waits for the
    /// answer. A move (stop on node0, start on node1): the time from the stop's launch to the
    /// client's reset. A power-off failover (node0's link down, no stop; start on node1, which
    /// reads the client list the owner shared, fed through an attrd_updater stand-in): the
    /// time from the start's launch, when the address comes up within milliseconds, to the
    /// reset. A client not reset within CLIENTS_WINDOW counts as not reset.
    fn phase_clients(&mut self) {
        eprintln!("compare: clients of the VIP (issue 17) ...");
        let attrd = self.tmp.join("attrd_updater");
        let mut missed = [[0usize; 2]; 2];
        for i in 0..self.iters.min(10) {
            for agent in order(i) {
                for (m, failover) in [(0, false), (1, true)] {
                    match self.client_reset(agent, failover, &attrd) {
                        Some(ms) => {
                            let name = if failover {
                                CLIENTS_FAILOVER
                            } else {
                                CLIENTS_MOVE
                            };
                            self.results.add(CLIENTS_SECTION, name, "ms", agent, ms);
                        }
                        None => missed[m][agent as usize] += 1,
                    }
                }
            }
        }
        for (m, name) in [CLIENTS_MOVE, CLIENTS_FAILOVER].into_iter().enumerate() {
            if missed[m][1] > 0 {
                self.note(format!(
                    "{name}: floatip did not reset the client within {}s in {} runs",
                    CLIENTS_WINDOW.as_secs(),
                    missed[m][1]
                ));
            }
            let absent = format!("not in {}s", CLIENTS_WINDOW.as_secs());
            match self
                .results
                .rows
                .iter_mut()
                .find(|r| r.section == CLIENTS_SECTION && r.name == name)
            {
                Some(row) => row.absent = Some(absent),
                None => self.results.rows.push(Row {
                    section: CLIENTS_SECTION.into(),
                    name: name.into(),
                    unit: "ms".into(),
                    absent: Some(absent),
                    ..Default::default()
                }),
            }
        }
    }

    /// One run of `phase_clients`: ms from the move's (or the failover start's) launch to the
    /// client's reset, None when it was not reset within CLIENTS_WINDOW.
    fn client_reset(&mut self, agent: Agent, failover: bool, attrd: &Path) -> Option<f64> {
        let at: std::net::SocketAddr = format!("{VIP4}:8080").parse().unwrap();
        self.run(agent, 0, "start", VIP4, "c0", 0, 0);
        let listener = self.lab.in_ns(Host::Node(0), move || {
            std::net::TcpListener::bind(at).unwrap()
        });
        let mut client = self.lab.in_ns(Host::Client, move || {
            std::net::TcpStream::connect_timeout(&at, Duration::from_secs(3)).unwrap()
        });
        let (node_end, _) = listener.accept().unwrap();
        std::io::Write::write_all(&mut client, b"request").unwrap();
        let port = client.local_addr().unwrap().port();
        // The client waits on its own thread: the reset is stamped when its read returns.
        client
            .set_read_timeout(Some(CLIENTS_WINDOW + Duration::from_secs(3)))
            .unwrap();
        let waiting = std::thread::spawn(move || {
            let mut buffer = [0u8; 8];
            let got = std::io::Read::read(&mut client, &mut buffer);
            let reset = matches!(&got, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset);
            reset.then(Instant::now)
        });
        let began;
        if failover {
            // What node0's resident shared: this client's connection (the cluster test checks
            // the sharing through a real attrd).
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let value = format!("floatip-clients-1 {now} {VIP4} 198.51.100.254,{port},8080");
            std::fs::write(
                attrd,
                format!("#!/bin/sh\necho 'name=\"floatip-clients-c1\" host=\"node1\" value=\"{value}\"'\n"),
            )
            .unwrap();
            std::fs::set_permissions(attrd, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
            self.lab.ip(Host::Node(0), &["link", "set", "eth0", "down"]);
            let mut env = self.env(agent, VIP4, "c1", 0);
            if agent == Agent::FloatIp {
                env.push(("OCF_RESKEY_CRM_meta_on_node".into(), "node1".into()));
                env.push((
                    "FLOATIP_ATTRD_UPDATER".into(),
                    attrd.to_str().unwrap().into(),
                ));
                env.push(("FLOATIP_CRM_NODE".into(), "/bin/false".into()));
            }
            let ns = self.lab.ns(Host::Node(1));
            began = Instant::now();
            self.run_in(&ns, agent, "start", env.clone(), 0, "(failover) on node1");
            let reset = waiting.join().unwrap();
            self.run(agent, 0, "stop", VIP4, "c0", 0, 0);
            self.lab.ip(Host::Node(0), &["link", "set", "eth0", "up"]);
            self.lab.wait_link(Host::Node(0), "eth0");
            self.run_in(&ns, agent, "stop", env, 0, "(failover) on node1");
            drop((listener, node_end));
            return reset
                .map(|at| at.duration_since(began).as_secs_f64() * 1000.0)
                .filter(|ms| *ms <= CLIENTS_WINDOW.as_secs_f64() * 1000.0);
        }
        began = Instant::now();
        self.run(agent, 0, "stop", VIP4, "c0", 0, 0);
        self.run(agent, 1, "start", VIP4, "c1", 0, 0);
        let reset = waiting.join().unwrap();
        self.run(agent, 1, "stop", VIP4, "c1", 0, 0);
        drop((listener, node_end));
        reset
            .map(|at| at.duration_since(began).as_secs_f64() * 1000.0)
            .filter(|ms| *ms <= CLIENTS_WINDOW.as_secs_f64() * 1000.0)
    }

    fn phase_link_loss(&mut self) {
        eprintln!("compare: link loss ...");
        let lab = Lab::new(1);
        // A default host: floatip makes the replies follow the address itself.
        lab.add_nic(0, "eth1");
        let eth0 = lab::mac_bytes(&lab.mac(Host::Node(0), "eth0"));
        let eth1 = lab::mac_bytes(&lab.mac(Host::Node(0), "eth1"));
        let port0 = lab.port(Host::Node(0), "eth0");
        let bridge = lab.ns(Host::Bridge);
        let ns0 = lab.ns(Host::Node(0));
        let vip: Ipv4Addr = VIP4.parse().unwrap();
        let mut params = ocf_params(VIP4);
        params.retain(|(k, _)| *k != "nic");
        params.push(("nic", "eth0,eth1".into()));
        params.push(("failback_delay", LINK_HOLD_DOWN_MS.to_string()));
        let env = self.env_with(Agent::FloatIp, "linkloss", 0, params);
        self.run_in(
            &ns0,
            Agent::FloatIp,
            "start",
            env.clone(),
            0,
            "nic=eth0,eth1",
        );
        let ctl = self.control_socket("linkloss");
        assert!(
            wait_until(Duration::from_secs(5), || ctl.exists()),
            "the resident of the link-loss resource is up ({})",
            ctl.display()
        );
        let ident = (std::process::id() & 0xffff) as u16;
        let pinger = Pinger::start(&lab.ns(Host::Client), vip, ident);
        let wait = Duration::from_secs(5);
        let hold_down = LINK_HOLD_DOWN_MS as f64;
        let ms = |from: Instant, to: Instant| to.duration_since(from).as_secs_f64() * 1e3;
        let mut missed = 0;
        for i in 0..self.iters {
            check_interrupted();
            let capture = lab.capture(Host::Client, "eth0");
            let steady = Instant::now();
            // On eth0, and the client's entry points there.
            if !capture.wait_for(wait, |f| {
                first_answer_via(f, vip, eth0, steady, ident).is_some()
            }) {
                self.note(format!("link loss: iteration {i}: no echo answered via eth0 before the cut; phase ended"));
                break;
            }
            let cut = set_admin_state(&bridge, &port0, false);
            let over = capture.wait_for(wait, |f| {
                first_answer_via(f, vip, eth1, cut, ident).is_some()
            });
            let frames = capture.frames();
            match (over, first_announcement_from(&frames, vip, eth1, cut)) {
                (true, Some(ann)) => {
                    let echo = first_answer_via(&frames, vip, eth1, cut, ident).unwrap();
                    self.results.add_floatip_only(
                        LINK_SECTION,
                        LINK_OVER_ANN,
                        "ms",
                        ms(cut, ann),
                        "none",
                    );
                    self.results.add_floatip_only(
                        LINK_SECTION,
                        LINK_OVER_ECHO,
                        "ms",
                        ms(cut, echo),
                        "none",
                    );
                }
                _ => missed += 1,
            }
            let restored = set_admin_state(&bridge, &port0, true);
            let back = capture.wait_for(wait, |f| {
                first_answer_via(f, vip, eth0, restored, ident).is_some()
            });
            let frames = capture.frames();
            match (back, first_announcement_from(&frames, vip, eth0, restored)) {
                (true, Some(ann)) => {
                    let echo = first_answer_via(&frames, vip, eth0, restored, ident).unwrap();
                    self.results.add_floatip_only(
                        LINK_SECTION,
                        LINK_BACK_ANN,
                        "ms",
                        ms(restored, ann) - hold_down,
                        "none",
                    );
                    self.results.add_floatip_only(
                        LINK_SECTION,
                        LINK_BACK_ECHO,
                        "ms",
                        ms(restored, echo) - hold_down,
                        "none",
                    );
                }
                _ => missed += 1,
            }
        }
        drop(pinger);
        if missed > 0 {
            self.note(format!(
                "link loss: {missed} of {} moves not seen within {wait:?}",
                2 * self.iters
            ));
        }
        self.note(format!(
            "link loss: node0 eth0+eth1 on the client's segment, nic=eth0,eth1 failback_delay={LINK_HOLD_DOWN_MS}; cut/restore = eth0's bridge port set down/up (one ioctl in the bridge namespace, timed from just before it); the client sends an echo every {} ms, so echo figures include up to that much wait; fail-back figures are minus the {LINK_HOLD_DOWN_MS} ms hold-down; IPaddr2 does not react to carrier loss (none)",
            PING_PACE.as_secs_f64() * 1e3
        ));
        self.run_in(&ns0, Agent::FloatIp, "stop", env, 0, "nic=eth0,eth1");
        drop(lab);
    }

    /// `<state dir>/<file name of instance>.ctl`: a resident serves it once it runs its loop.
    fn control_socket(&self, instance: &str) -> PathBuf {
        let name = floatip::host::state::file_name(&instance_name(Agent::FloatIp, instance));
        self.state_dir().join(format!("{name}.ctl"))
    }

    /// Resident processes' memory, in a lab of its own: one alone, then `count` resources
    /// (IPv6, each with its own address and name) whose residents run at once, then one more
    /// started and stopped among them.
    fn phase_residents(&mut self, count: usize) {
        eprintln!("compare: {count} resident processes ...");
        let lab = Lab::new(1);
        let ns0 = lab.ns(Host::Node(0));
        // arp_refresh_interval keeps a resident for as long as the resource runs (one hour
        // between refreshes: none during the phase); arp_count=1 leaves it no burst to send.
        let params = |ip: &str| -> Vec<(&'static str, String)> {
            vec![
                ("ip", ip.to_string()),
                ("cidr_netmask", "64".into()),
                ("nic", "eth0".into()),
                ("nodad", "true".into()),
                ("arp_count", "1".into()),
                ("arp_refresh_interval", "3600".into()),
                ("lvs_ipv6_addrlabel", "false".into()),
            ]
        };
        let section = RESIDENT_SECTION;
        let ready = |b: &Bench, instances: &[String]| {
            wait_until(Duration::from_secs(30), || {
                instances.iter().all(|i| b.control_socket(i).exists())
            })
        };

        // One alone.
        let env = self.env_with(Agent::FloatIp, "alone", 0, params("2001:db8:100::2:0"));
        self.run_in(&ns0, Agent::FloatIp, "start", env.clone(), 0, "alone");
        assert!(ready(self, &["alone".into()]), "the lone resident is up");
        let pids = resident_pids(&ns0);
        assert_eq!(pids.len(), 1, "one resident: {pids:?}");
        let (uss, _) = private_memory(pids[0]).expect("smaps_rollup of the resident");
        self.results.add_floatip_only(
            section,
            "USS of one resident, alone",
            "MiB",
            uss as f64 / 1024.0,
            "n/a",
        );
        self.run_in(&ns0, Agent::FloatIp, "stop", env, 0, "alone");

        // The start and stop of one resource with no other resident: the baseline of the
        // same figures among `count` (issue 15's scale target: at most 1.5 times this).
        let more = self.env_with(Agent::FloatIp, "more", 0, params("2001:db8:100::3:1"));
        for _ in 0..self.iters {
            let o = self.run_in(&ns0, Agent::FloatIp, "start", more.clone(), 0, "one alone");
            self.results.add_floatip_only(
                section,
                "start one, no other resident",
                "ms",
                o.wall_ms(),
                "n/a",
            );
            let o = self.run_in(&ns0, Agent::FloatIp, "stop", more.clone(), 0, "one alone");
            self.results.add_floatip_only(
                section,
                "stop one, no other resident",
                "ms",
                o.wall_ms(),
                "n/a",
            );
        }

        // `count` at once.
        let began = Instant::now();
        let instances: Vec<String> = (1..=count).map(|k| format!("r{k}")).collect();
        for (k, instance) in instances.iter().enumerate() {
            let env = self.env_with(
                Agent::FloatIp,
                instance,
                0,
                params(&format!("2001:db8:100::2:{:x}", k + 1)),
            );
            self.run_in(&ns0, Agent::FloatIp, "start", env, 0, instance);
        }
        let started = began.elapsed();
        assert!(ready(self, &instances), "all {count} residents are up");
        let pids = resident_pids(&ns0);
        let memory: Vec<(u64, u64)> = pids.iter().filter_map(|p| private_memory(*p)).collect();
        let (uss, pss): (u64, u64) = memory.iter().fold((0, 0), |(u, p), (a, b)| (u + a, p + b));
        let n = memory.len().max(1) as f64;
        self.results.add_floatip_only(
            section,
            &format!("USS per resident, {count} running (mean)"),
            "KiB",
            uss as f64 / n,
            "n/a",
        );
        self.results.add_floatip_only(
            section,
            &format!("USS of all {count} residents"),
            "MiB",
            uss as f64 / 1024.0,
            "n/a",
        );
        self.results.add_floatip_only(
            section,
            &format!("PSS per resident, {count} running (mean)"),
            "KiB",
            pss as f64 / n,
            "n/a",
        );
        if pids.len() != count {
            self.note(format!(
                "residents: {} resident processes for {count} resources",
                pids.len()
            ));
        }

        // A storm of neighbour discovery for other addresses: what it costs the idle residents
        // (their CPU time, summed), which the kernel's filters should spare.
        let storm_frames = 20_000;
        let client_mac = lab::mac_bytes(&lab.mac(Host::Client, "eth0"));
        let client_mac = floatip::packet::MacAddr(
            client_mac[0],
            client_mac[1],
            client_mac[2],
            client_mac[3],
            client_mac[4],
            client_mac[5],
        );
        let cpu_before: u64 = pids.iter().filter_map(|p| cpu_ticks(*p)).sum();
        let storm_began = Instant::now();
        for k in 0..storm_frames / 100 {
            let target: std::net::Ipv6Addr =
                format!("2001:db8:100::9:{:x}", k + 1).parse().unwrap();
            let na = floatip::packet::ndp::advertisement_frame(client_mac, target, false);
            lab.send_frames(Host::Client, "eth0", &na, 50, Duration::ZERO);
            let other = Ipv4Addr::new(198, 51, 100, 100 + (k % 100) as u8);
            let arp = floatip::packet::arp::announcement_frame(
                client_mac,
                other,
                floatip::packet::arp::Form::Reply,
            );
            lab.send_frames(Host::Client, "eth0", &arp, 50, Duration::ZERO);
        }
        let storm = storm_began.elapsed();
        std::thread::sleep(Duration::from_millis(200));
        let cpu_after: u64 = pids.iter().filter_map(|p| cpu_ticks(*p)).sum();
        let tick_ms = 1000.0 / clock_ticks_per_second();
        self.results.add_floatip_only(
            section,
            &format!("CPU of all {count} idle residents, {storm_frames} NA/ARP frames of others"),
            "ms",
            (cpu_after.saturating_sub(cpu_before)) as f64 * tick_ms,
            "n/a",
        );
        self.note(format!(
            "residents: the storm was {storm_frames} frames (NA and gratuitous ARP for addresses no resident serves) sent from the client in {:.0} ms; CPU = utime + stime of every resident from /proc/PID/stat, before and after",
            storm.as_secs_f64() * 1e3
        ));

        // One more among them.
        for _ in 0..self.iters {
            let o = self.run_in(&ns0, Agent::FloatIp, "start", more.clone(), 0, "one more");
            self.results.add_floatip_only(
                section,
                &format!("start one more, {count} residents running"),
                "ms",
                o.wall_ms(),
                "n/a",
            );
            let o = self.run_in(&ns0, Agent::FloatIp, "stop", more.clone(), 0, "one more");
            self.results.add_floatip_only(
                section,
                &format!("stop one more, {count} residents running"),
                "ms",
                o.wall_ms(),
                "n/a",
            );
        }

        let began = Instant::now();
        for (k, instance) in instances.iter().enumerate() {
            let env = self.env_with(
                Agent::FloatIp,
                instance,
                0,
                params(&format!("2001:db8:100::2:{:x}", k + 1)),
            );
            self.run_in(&ns0, Agent::FloatIp, "stop", env, 0, instance);
        }
        let stopped = began.elapsed();
        let left = resident_pids(&ns0);
        if !left.is_empty() {
            // The lab's Drop kills them (by PID) with the namespace.
            self.note(format!(
                "residents: {} still running after every stop",
                left.len()
            ));
        }
        self.note(format!(
            "residents: IPv6, each resource its own address and name (nic=eth0 nodad=true arp_count=1 arp_refresh_interval=3600 lvs_ipv6_addrlabel=false); {count} started one after another in {:.1} s, stopped in {:.1} s; USS = Private_Clean + Private_Dirty of /proc/PID/smaps_rollup, alone and summed over the {} running; each resident wakes only for its own address: the kernel drops for it every other address notice and every frame that cannot claim its address (packet::bpf)",
            started.as_secs_f64(),
            stopped.as_secs_f64(),
            memory.len()
        ));
        drop(lab);
    }

    fn add_fillers(&mut self, from: usize, to: usize) {
        self.ip_batch(
            (from..to).map(|k| format!("addr add 2001:db8:100::1:{:x}/64 dev eth0 nodad", k + 1)),
        );
    }

    fn addresses_on_eth0(&self, family: &str) -> usize {
        self.lab
            .ip(
                Host::Node(0),
                &[
                    family, "-o", "addr", "show", "dev", "eth0", "scope", "global",
                ],
            )
            .lines()
            .count()
    }

    fn phase_scale(&mut self) {
        // The VIP that both agents monitor, configured by floatip.
        self.run(Agent::FloatIp, 0, "start", VIP6, "scale", 0, 0);
        // Minus the node's own 2001:db8:100::10 and the VIP.
        let mut fillers = 0;
        for &n in &SCALE {
            let want = n.saturating_sub(1);
            self.add_fillers(fillers, want);
            fillers = want;
            let have = self.addresses_on_eth0("-6");
            eprintln!(
                "compare: scale {n}: {have} global IPv6 addresses on node0 eth0 (VIP + {fillers} fillers + the node's own)"
            );
            let name = scale_name(n);
            // A first monitor of each tells whether IPaddr2 is slow enough to do fewer.
            let mut iters = self.iters;
            let probe = self.run(Agent::IPaddr2, 0, "monitor", VIP6, "scale", 10_000, 0);
            if probe.wall_ms() > 400.0 {
                iters = (self.iters / 3).max(5);
                self.note(format!(
                    "scale {n}: IPaddr2 monitor took {:.0} ms, so {iters} iterations instead of {}",
                    probe.wall_ms(),
                    self.iters
                ));
            }
            for i in 0..iters {
                for agent in order(i) {
                    let o = self.run(agent, 0, "monitor", VIP6, "scale", 10_000, 0);
                    self.results
                        .add("scale: monitor wall", &name, "ms", agent, o.wall_ms());
                    self.results
                        .add("scale: monitor CPU", &name, "ms", agent, o.cpu_ms());
                    self.results
                        .add("scale: peak RSS", &name, "MiB", agent, o.rss_mib());
                }
            }
            for i in 0..iters {
                for agent in order(i) {
                    let o = self.run(agent, 0, "start", VIP6_MORE, "more", 0, 0);
                    self.results.add(
                        "scale: start one more wall",
                        &name,
                        "ms",
                        agent,
                        o.wall_ms(),
                    );
                    self.results
                        .add("scale: start one more CPU", &name, "ms", agent, o.cpu_ms());
                    self.results
                        .add("scale: peak RSS", &name, "MiB", agent, o.rss_mib());
                    let o = self.run(agent, 0, "stop", VIP6_MORE, "more", 0, 0);
                    self.results
                        .add("scale: stop one more wall", &name, "ms", agent, o.wall_ms());
                    self.results
                        .add("scale: stop one more CPU", &name, "ms", agent, o.cpu_ms());
                    self.results
                        .add("scale: peak RSS", &name, "MiB", agent, o.rss_mib());
                }
            }
        }
        self.run(Agent::FloatIp, 0, "stop", VIP6, "scale", 0, 0);
    }

    /// /bin/true run the same way: the floor under every figure (exec, dynamic loading, exit;
    /// and for RSS, what Linux carries over from the forking helper).
    fn exec_floor(&mut self) -> Floor {
        let out = self.tmp.join("true.out");
        let err = self.tmp.join("true.err");
        let (mut wall, mut cpu, mut rss) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.iters {
            let o = self.spawner.run(&spawn::Request {
                program: "/bin/true",
                args: vec![],
                env: vec![],
                netns: Some(self.lab.ns(Host::Node(0))),
                out: &out,
                err: &err,
                timeout: RUN_TIMEOUT,
            });
            wall.push(o.wall_ms());
            cpu.push(o.cpu_ms());
            rss.push(o.rss_mib());
        }
        Floor {
            wall_ms: median(&wall).unwrap(),
            cpu_ms: median(&cpu).unwrap(),
            rss_mib: median(&rss).unwrap(),
        }
    }
}

struct Floor {
    wall_ms: f64,
    cpu_ms: f64,
    rss_mib: f64,
}

// ---------------------------------------------------------------------------------------------
// Reporting.

fn fmt(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

fn ratio(row: &Row) -> Option<f64> {
    let a = median(&row.samples[0])?;
    let b = median(&row.samples[1])?;
    (b > 0.0).then(|| a / b)
}

fn print_table(results: &Results) {
    let mut section = "";
    println!();
    println!(
        "{:<52} {:>5} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "", "unit", "IPaddr2", "IPaddr2", "floatip", "floatip", "IPaddr2/"
    );
    println!(
        "{:<52} {:>5} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "", "", "median", "p90", "median", "p90", "floatip"
    );
    for r in results.grouped() {
        if r.section != section {
            section = &r.section;
            println!("{section}");
        }
        let ipaddr2_median = match (&r.absent, r.samples[0].is_empty()) {
            (Some(absent), true) => absent.clone(),
            _ => fmt(median(&r.samples[0])),
        };
        println!(
            "  {:<50} {:>5} {:>9} {:>9} {:>9} {:>9} {:>8}",
            r.name,
            r.unit,
            ipaddr2_median,
            fmt(percentile(&r.samples[0], 0.9)),
            fmt(median(&r.samples[1])),
            fmt(percentile(&r.samples[1], 0.9)),
            ratio(r).map_or("-".into(), |x| format!("{x:.1}x")),
        );
    }
}

struct Target {
    name: String,
    value: Option<f64>,
    limit: String,
    met: bool,
}

fn targets(results: &Results) -> Vec<Target> {
    let mut t = Vec::new();
    let fmed = |section: &str, name: &str| {
        results
            .get(section, name)
            .and_then(|r| median(&r.samples[1]))
    };
    for fam in ["IPv4", "IPv6"] {
        for name in [
            format!("monitor, running {fam}"),
            format!("monitor, not running (probe) {fam}"),
        ] {
            let v = fmed("wall time", &name);
            t.push(Target {
                name: format!("floatip {name}: median wall"),
                value: v,
                limit: "<= 2 ms".into(),
                met: v.is_some_and(|v| v <= 2.0),
            });
            let r = results.get("wall time", &name).and_then(ratio);
            t.push(Target {
                name: format!("{name}: IPaddr2/floatip"),
                value: r,
                limit: ">= 20x".into(),
                met: r.is_some_and(|r| r >= 20.0),
            });
        }
        let name = format!("exec -> first announcement {fam}");
        let v = fmed("announcement", &name);
        t.push(Target {
            name: format!("floatip {name}: median"),
            value: v,
            limit: "<= 5 ms".into(),
            met: v.is_some_and(|v| v <= 5.0),
        });
        for action in ["start", "stop"] {
            let name = format!("{action} {fam}");
            let v = fmed("wall time", &name);
            t.push(Target {
                name: format!("floatip {name}: median wall"),
                value: v,
                limit: "<= 5 ms".into(),
                met: v.is_some_and(|v| v <= 5.0),
            });
        }
    }
    let m1 = fmed("scale: monitor wall", &scale_name(1));
    let m1000 = fmed("scale: monitor wall", &scale_name(1000));
    let r = m1.zip(m1000).map(|(a, b)| b / a);
    t.push(Target {
        name: "floatip monitor at 1000 addresses / at 1".into(),
        value: r,
        limit: "<= 1.5x".into(),
        met: r.is_some_and(|r| r <= 1.5),
    });
    // IPv4 at the most addresses the bench may add (it stands in for 1,000) against at 1.
    let scale4: Vec<(usize, f64)> = results
        .rows
        .iter()
        .filter(|r| r.section == SCALE4_WALL)
        .filter_map(|r| {
            let n = r.name.split_whitespace().next()?.parse().ok()?;
            Some((n, median(&r.samples[1])?))
        })
        .collect();
    let at1 = scale4.iter().find(|(n, _)| *n == 1).map(|(_, m)| *m);
    let most = scale4.iter().copied().max_by_key(|(n, _)| *n);
    let r = at1.zip(most).map(|(a, (_, b))| b / a);
    t.push(Target {
        name: format!(
            "floatip IPv4 monitor at {} addresses / at 1",
            most.map_or("the most".into(), |(n, _)| n.to_string())
        ),
        value: r,
        limit: "<= 1.5x".into(),
        met: r.is_some_and(|r| r <= 1.5),
    });
    // The standby adapter's reaction (tests/resident_lab.rs: 100 ms each).
    for (name, what) in [
        (
            LINK_OVER_ECHO,
            "carrier loss -> first echo answered via the standby",
        ),
        (
            LINK_BACK_ECHO,
            "carrier back -> echo answered, beyond the hold-down",
        ),
    ] {
        let v = fmed(LINK_SECTION, name);
        t.push(Target {
            name: format!("floatip {what}: median"),
            value: v,
            limit: "<= 100 ms".into(),
            met: v.is_some_and(|v| v <= 100.0),
        });
    }
    // A start among the residents of many resources against one with none (issue 15).
    let residents: Vec<(usize, f64)> = results
        .rows
        .iter()
        .filter(|r| r.section == RESIDENT_SECTION)
        .filter_map(|r| {
            let count = r
                .name
                .strip_prefix("start one more, ")?
                .split_whitespace()
                .next()?;
            Some((count.parse().ok()?, median(&r.samples[1])?))
        })
        .collect();
    let alone = fmed(RESIDENT_SECTION, "start one, no other resident");
    for (count, among) in residents {
        let r = alone.map(|a| among / a);
        t.push(Target {
            name: format!("floatip start among {count} residents / with none"),
            value: r,
            limit: "<= 1.5x".into(),
            met: r.is_some_and(|r| r <= 1.5),
        });
    }
    // Issue 17: the client of a moved address is reset at once; after a power-off, soon after
    // the address comes up on the survivor.
    for (name, limit) in [(CLIENTS_MOVE, 200.0), (CLIENTS_FAILOVER, 1000.0)] {
        let v = fmed(CLIENTS_SECTION, name);
        t.push(Target {
            name: format!("floatip {name}: median"),
            value: v,
            limit: format!("<= {limit} ms"),
            met: v.is_some_and(|v| v <= limit),
        });
    }
    let peak = results
        .rows
        .iter()
        // Peak RSS rows only: the residents' memory rows are in MiB too.
        .filter(|r| r.section.ends_with("peak RSS"))
        .flat_map(|r| r.samples[1].iter().copied())
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    t.push(Target {
        name: "floatip peak RSS, largest of all invocations".into(),
        value: peak,
        limit: "<= 8 MiB".into(),
        met: peak.is_some_and(|p| p <= 8.0),
    });
    t
}

fn chart(results: &Results, path: &Path) -> Result<(), String> {
    use plotters::prelude::*;
    let series: [(&str, &str, RGBColor); 3] = [
        ("scale: monitor wall", "monitor", RGBColor(31, 119, 180)),
        (
            "scale: start one more wall",
            "start one more",
            RGBColor(44, 160, 44),
        ),
        (
            "scale: stop one more wall",
            "stop one more",
            RGBColor(214, 39, 40),
        ),
    ];
    // (label, colour, floatip's, points)
    type Line = (String, RGBColor, bool, Vec<(f64, f64)>);
    let mut lines: Vec<Line> = Vec::new();
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for (section, label, color) in series {
        for agent in AGENTS {
            let pts: Vec<(f64, f64)> = SCALE
                .iter()
                .filter_map(|n| {
                    let r = results.get(section, &scale_name(*n))?;
                    Some((*n as f64, median(&r.samples[agent as usize])?))
                })
                .collect();
            for &(_, y) in &pts {
                lo = lo.min(y);
                hi = hi.max(y);
            }
            lines.push((
                format!("{} {label}", agent.name()),
                color,
                agent == Agent::FloatIp,
                pts,
            ));
        }
    }
    if lo > hi {
        return Err("no scale results".into());
    }
    let (lo, hi) = ((lo / 2.0).max(0.01), hi * 8.0);
    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut c = ChartBuilder::on(&root)
        .caption(
            "IPaddr2 vs floatip: median wall time by addresses on the interface (IPv6)",
            ("sans-serif", 20),
        )
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d((0.8f64..1250f64).log_scale(), (lo..hi).log_scale())
        .map_err(|e| e.to_string())?;
    c.configure_mesh()
        .x_desc("addresses on node0 eth0 (log)")
        .y_desc("median wall time, ms (log)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| {
            if *y >= 1.0 {
                format!("{y:.0}")
            } else {
                format!("{y:.2}")
            }
        })
        .draw()
        .map_err(|e| e.to_string())?;
    for (label, color, solid, pts) in lines {
        let style = if solid {
            color.stroke_width(3)
        } else {
            color.mix(0.6).stroke_width(1)
        };
        c.draw_series(LineSeries::new(pts.clone(), style))
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        c.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| e.to_string())?;
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

fn stats_json(v: &[f64]) -> Value {
    json!({
        "n": v.len(),
        "median": median(v),
        "p90": percentile(v, 0.9),
        "min": v.iter().copied().reduce(f64::min),
        "max": v.iter().copied().reduce(f64::max),
        "samples": v,
    })
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn command_output(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Removes the temporary directory on the way out, panic or not.
struct TmpDir(PathBuf);

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() {
    // Before anything else, while this process is single-threaded and small.
    let spawner = Spawner::start();
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!(
            "compare: not run in test mode; run it with `cargo bench --bench compare` (as root)"
        );
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("compare: needs root (network namespaces, addresses, raw sockets); run `sudo cargo bench --bench compare`");
        std::process::exit(1);
    }
    let floatip = lab::AGENT_BIN.to_string();
    if !Path::new(&floatip).exists() {
        eprintln!("compare: floatip binary {floatip} not found; run `cargo build --release` first");
        std::process::exit(1);
    }
    if !Path::new(IPADDR2).exists() {
        eprintln!("compare: {IPADDR2} not found; install resource-agents (apt-get install resource-agents)");
        std::process::exit(1);
    }
    let iters: usize = std::env::var("FLOATIP_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0 && n <= 10_000)
        .unwrap_or(30);
    let residents: usize = std::env::var("FLOATIP_BENCH_RESIDENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0 && n <= 10_000)
        .unwrap_or(1000);
    let phases: Option<Vec<String>> = std::env::var("FLOATIP_BENCH_PHASES")
        .ok()
        .map(|s| s.split(',').map(|p| p.trim().to_string()).collect());
    let phase = |name: &str| phases.as_ref().is_none_or(|p| p.iter().any(|x| x == name));
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };

    let began = Instant::now();
    let tmp = std::env::temp_dir().join(format!("floatip-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("floatip-state")).unwrap();
    std::fs::create_dir_all(tmp.join("ipaddr2-rsctmp")).unwrap();
    let tmp_guard = TmpDir(tmp.clone());

    eprintln!("compare: floatip = {floatip}");
    eprintln!("compare: IPaddr2 = {IPADDR2}");
    eprintln!("compare: {iters} iterations per measurement; building the lab ...");
    let lab = Lab::new(2);
    for h in [Host::Client, Host::Node(0), Host::Node(1)] {
        lab.wait_dad(h, "eth0");
    }
    let mac0 = lab.mac(Host::Node(0), "eth0");
    let mac1 = lab.mac(Host::Node(1), "eth0");
    let mut b = Bench {
        lab,
        spawner,
        tmp,
        floatip: floatip.clone(),
        iters,
        results: Results::default(),
        clock: Clock::new(),
        mac0,
        mac1,
        log: Vec::new(),
    };
    let floor = b.exec_floor();
    if phase("static") {
        b.phase_static();
    }
    if phase("lifecycle") {
        b.phase_lifecycle(VIP4);
        b.phase_lifecycle(VIP6);
    }
    if phase("scale4") {
        eprintln!("compare: IPv4 scale ...");
        b.phase_scale_ipv4();
    }
    if phase("scale") {
        eprintln!("compare: scale ...");
        b.phase_scale();
    }
    if phase("linkloss") {
        b.phase_link_loss();
    }
    if phase("residents") {
        b.phase_residents(residents);
    }
    if phase("clients") {
        b.phase_clients();
    }
    let elapsed = began.elapsed();

    print_table(&b.results);
    println!();
    println!(
        "exec floor, /bin/true spawned the same way (median): wall {:.2} ms, CPU {:.2} ms, peak RSS {:.2} MiB (no RSS figure can be below it)",
        floor.wall_ms, floor.cpu_ms, floor.rss_mib
    );
    println!("parameters (both agents): nic=eth0 cidr_netmask=24|64 arp_count=5 arp_interval=200 arp_bg=true, IPv6 nodad=true; OCF_RESKEY_CRM_meta_interval=0 (probe) or 10000 (recurring monitor)");
    println!("announcement: exec stamp -> frame on the client's eth0 (AF_PACKET capture); neighbour: exec stamp -> RTM_NEWNEIGH with node0's MAC (netlink notification, no polling)");
    println!(
        "run time: {:.0} s, {iters} iterations per measurement",
        elapsed.as_secs_f64()
    );
    for l in &b.log {
        println!("note: {l}");
    }
    println!();
    println!("targets (floatip; benchmarked, not asserted):");
    let ts = targets(&b.results);
    for t in &ts {
        println!(
            "  [{}] {:<62} {:>8} ({})",
            if t.met { "met" } else { "MISSED" },
            t.name,
            t.value.map_or("-".into(), |v| format!("{v:.2}")),
            t.limit
        );
    }
    println!(
        "  {} of {} targets met",
        ts.iter().filter(|t| t.met).count(),
        ts.len()
    );

    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut rows = Vec::new();
    for r in b.results.grouped() {
        rows.push(json!({
            "section": r.section,
            "name": r.name,
            "unit": r.unit,
            "ipaddr2": stats_json(&r.samples[0]),
            "floatip": stats_json(&r.samples[1]),
            "ratio_ipaddr2_over_floatip": ratio(r),
            "ipaddr2_absent": r.absent,
        }));
    }
    let mut scale = BTreeMap::new();
    for r in b
        .results
        .rows
        .iter()
        .filter(|r| r.section.starts_with("scale"))
    {
        scale
            .entry(r.section.clone())
            .or_insert_with(Vec::new)
            .push(json!({
                "addresses": r.name.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()),
                "ipaddr2_median": median(&r.samples[0]),
                "floatip_median": median(&r.samples[1]),
            }));
    }
    let doc = json!({
        "floatip": floatip,
        "ipaddr2": IPADDR2,
        "kernel": command_output("uname", &["-r"]),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "iterations": iters,
        "run_seconds": elapsed.as_secs_f64(),
        "exec_floor_true": { "wall_ms": floor.wall_ms, "cpu_ms": floor.cpu_ms, "rss_mib": floor.rss_mib },
        "parameters": {
            "ipv4": ocf_params(VIP4).into_iter().collect::<BTreeMap<_, _>>(),
            "ipv6": ocf_params(VIP6).into_iter().collect::<BTreeMap<_, _>>(),
        },
        "notes": b.log,
        "rows": rows,
        "scale": scale,
        "targets": ts.iter().map(|t| json!({
            "name": t.name, "value": t.value, "limit": t.limit, "met": t.met,
        })).collect::<Vec<_>>(),
    });
    let json_path = out_dir.join("compare.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let svg_path = out_dir.join("scale.svg");
    match chart(&b.results, &svg_path) {
        Ok(()) => println!("\nwrote {} and {}", json_path.display(), svg_path.display()),
        Err(e) => println!("\nwrote {}; chart failed: {e}", json_path.display()),
    }
    drop(b);
    drop(tmp_guard);
}
