//! The background burst: a detached copy of floatip that sends the rounds after the first, and
//! the safe way to end it.
//!
//! Ending it uses a pidfd: the PID is opened first, then the process behind the descriptor is
//! checked (start time and command line), then signalled through the descriptor, so a recycled
//! PID can never be killed. stop waits until the process is gone before it removes the address.

use super::netlink::Netlink;
use super::port::Port;
use super::state::{Conflict, StateDir};

/// A burst worker's identity: PID plus start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurstId {
    pub pid: i32,
    pub start_time: u64,
}
use crate::error::{Error, Result};
use crate::schedule::{self, BurstPlan, Sending};
use log::{debug, warn};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// argv[1] that selects the worker; not an OCF action, so Pacemaker can never call it.
pub const WORKER_ARG: &str = "__burst";

/// Reads field 22 (starttime) of /proc/PID/stat. The command name (field 2) may contain
/// spaces and parentheses, so fields are counted after its closing parenthesis.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

pub fn parse_start_time(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // After ") " come fields 3.. ; starttime is field 22, i.e. the 20th from here.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the recorded worker is still the running process we started.
pub fn is_alive(burst: BurstId) -> bool {
    start_time(burst.pid) == Some(burst.start_time) && is_our_worker(burst.pid)
}

/// argv[1] names one of the worker's two forms.
pub fn is_worker_arg(arg: &[u8]) -> bool {
    arg == WORKER_ARG.as_bytes() || arg == WORKER_WITH_SOCKET_ARG.as_bytes()
}

/// Parses a worker's command line: Some(whether it was handed a socket) for a worker.
pub fn worker_form(arg: &str) -> Option<bool> {
    match arg {
        WORKER_ARG => Some(false),
        WORKER_WITH_SOCKET_ARG => Some(true),
        _ => None,
    }
}

fn is_our_worker(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| cmdline.split(|b| *b == 0).nth(1).is_some_and(is_worker_arg))
        .unwrap_or(false)
}

/// A worker that has started but sends nothing until released: its identity is recorded
/// first, so no burst ever runs that stop could not find. If this process dies before
/// `release`, the pipe closes and the worker exits without sending.
pub struct PendingBurst {
    pub id: Option<BurstId>,
    go: ChildStdin,
}

/// The byte that lets a pending worker send.
const GO: u8 = b'g';

impl PendingBurst {
    pub fn release(mut self) -> Result<()> {
        self.go
            .write_all(&[GO])
            .map_err(|e| Error::generic(format!("cannot release the background burst: {e}")))
    }
}

/// What a worker is told on its command line (which also identifies it in /proc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerArgs {
    pub ifindex: u32,
    pub ip: IpAddr,
    pub plan: BurstPlan,
    pub defend: bool,
    /// Where to record conflicts: the state directory and the resource's name.
    pub state_dir: String,
    pub instance: String,
}

impl WorkerArgs {
    /// The arguments after WORKER_ARG; the address stays third (see `find_workers`).
    pub fn to_args(&self) -> Vec<String> {
        vec![
            self.ifindex.to_string(),
            self.ip.to_string(),
            self.plan.rounds.to_string(),
            self.plan.interval.as_millis().to_string(),
            self.plan
                .refresh_every
                .map_or(0, |d| d.as_millis())
                .to_string(),
            u8::from(self.defend).to_string(),
            self.state_dir.clone(),
            self.instance.clone(),
        ]
    }

    pub fn parse(args: &[String]) -> Option<WorkerArgs> {
        let refresh_ms: u64 = args.get(4)?.parse().ok()?;
        Some(WorkerArgs {
            ifindex: args.first()?.parse().ok()?,
            ip: args.get(1)?.parse().ok()?,
            plan: BurstPlan {
                rounds: args.get(2)?.parse().ok()?,
                interval: Duration::from_millis(args.get(3)?.parse().ok()?),
                refresh_every: (refresh_ms > 0).then(|| Duration::from_millis(refresh_ms)),
            },
            defend: args.get(5)? == "1",
            state_dir: args.get(6)?.clone(),
            instance: args.get(7)?.clone(),
        })
    }
}

/// Where a worker finds a socket handed over by the agent.
const INHERITED_FD: i32 = 3;
/// argv[1] of a worker that was handed the agent's socket.
const WORKER_WITH_SOCKET_ARG: &str = "__burst-fd3";

/// Starts a worker, held until released, optionally handing it an open packet socket.
pub fn spawn(worker: &WorkerArgs, socket: Option<i32>) -> Result<PendingBurst> {
    let mut command = Command::new("/proc/self/exe");
    command
        .arg(if socket.is_some() {
            WORKER_WITH_SOCKET_ARG
        } else {
            WORKER_ARG
        })
        .args(worker.to_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        // Pacemaker reads the agent's stderr until EOF; a worker holding it would stall it.
        .stderr(Stdio::null())
        .env_clear();
    // SAFETY: setsid is async-signal-safe; it detaches the worker from Pacemaker's session
    // and process group, so signals aimed at the agent's group do not reach it.
    unsafe {
        command.pre_exec(move || {
            libc::setsid();
            // dup2 leaves the copy without FD_CLOEXEC, so it survives the exec as fd 3.
            if let Some(fd) = socket {
                if fd == INHERITED_FD {
                    libc::fcntl(fd, libc::F_SETFD, 0);
                } else if libc::dup2(fd, INHERITED_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| Error::generic(format!("cannot start the background burst: {e}")))?;
    let pid = child.id() as i32;
    let go = child.stdin.take().expect("stdin is piped");
    // The worker is never waited for here: it outlives this process and init reaps it.
    drop(child);
    Ok(PendingBurst {
        id: start_time(pid).map(|start_time| BurstId { pid, start_time }),
        go,
    })
}

/// Workers for `ip` in this network namespace, found by their command line. Used only when
/// the state lost its record (a /proc scan costs milliseconds on a busy host).
pub fn find_workers(ip: IpAddr) -> Vec<BurstId> {
    let Ok(our_netns) = std::fs::metadata("/proc/self/ns/net").map(|m| m.ino()) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let ip = ip.to_string();
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.get(1).is_some_and(|a| is_worker_arg(a))
                && args.get(3) == Some(&ip.as_bytes())
                // The same address in another namespace (another container or lab node) is
                // someone else's.
                && std::fs::metadata(format!("/proc/{pid}/ns/net")).map(|m| m.ino()).ok() == Some(our_netns)
        })
        .filter_map(|pid| Some(BurstId { pid, start_time: start_time(pid)? }))
        .collect()
}

fn pidfd_open(pid: i32) -> Option<i32> {
    // SAFETY: plain syscall; a negative result is an error code in errno.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    (fd >= 0).then_some(fd as i32)
}

/// PF_EXITING in /proc/PID/stat's flags: the task is in do_exit and never runs user code
/// again, so it can send no more frames.
const PF_EXITING: u64 = 0x4;

/// Fields 3 (state) and 9 (flags) of /proc/PID/stat, counted after the command name.
pub fn parse_state_and_flags(stat: &str) -> Option<(char, u64)> {
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let flags = fields.nth(5)?.parse().ok()?;
    Some((state, flags))
}

/// Waits until the killed worker can no longer send: it is exiting, a zombie or gone.
/// Waiting for the pidfd alone would also wait for its packet socket's release, which sits
/// out an RCU grace period (10 to 30 ms) after the last frame is long impossible.
fn wait_until_exiting(burst: BurstId, fd: i32, patience: Duration) -> Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        let exiting = match std::fs::read_to_string(format!("/proc/{}/stat", burst.pid)) {
            Err(_) => true,
            // A different start time means the PID now belongs to someone else: ours is gone.
            Ok(stat) if parse_start_time(&stat) != Some(burst.start_time) => true,
            Ok(stat) => parse_state_and_flags(&stat)
                .is_none_or(|(state, flags)| matches!(state, 'Z' | 'X') || flags & PF_EXITING != 0),
        };
        if exiting {
            debug!("ended burst process {}", burst.pid);
            return Ok(());
        }
        // A pidfd becomes readable when the process has exited.
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; a 1 ms wait between looks.
        if unsafe { libc::poll(&mut pfd, 1, 1) } == 1 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::generic(format!(
                "burst process {} did not exit after SIGKILL",
                burst.pid
            )));
        }
    }
}

/// Ends the worker if it is still the process we started; waits up to `patience` for it.
pub fn end(burst: BurstId, patience: Duration) -> Result<()> {
    let Some(fd) = pidfd_open(burst.pid) else {
        debug!("burst process {} already gone", burst.pid);
        return Ok(());
    };
    let result = (|| {
        if start_time(burst.pid) != Some(burst.start_time) || !is_our_worker(burst.pid) {
            warn!(
                "PID {} is no longer our burst process; not signalling it",
                burst.pid
            );
            return Ok(());
        }
        // SAFETY: signal through the pidfd, which pins the exact process checked above.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd,
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ESRCH) {
                return Ok(());
            }
            return Err(Error::generic(format!(
                "cannot end burst process {}: {e}",
                burst.pid
            )));
        }
        wait_until_exiting(burst, fd, patience)
    })();
    // SAFETY: closing the descriptor we opened.
    unsafe { libc::close(fd) };
    result
}

/// The worker: sends on its plan's schedule, re-checking before every send that the address
/// is still on this interface and usable, so it never announces an address this node gave
/// up, and exits quietly when it is not. With `defend` it listens in between and answers
/// another machine's claim at once (at most once per DEFEND_INTERVAL).
pub fn run_worker(args: &[String], inherited_socket: bool) -> i32 {
    let Some(worker) = WorkerArgs::parse(args) else {
        return 2;
    };
    let begin = Instant::now();
    // Wait to be released (see PendingBurst); end of input means the agent died first.
    let mut go = [0u8; 1];
    if !matches!(std::io::stdin().read(&mut go), Ok(1) if go[0] == GO) {
        return 0;
    }
    let Ok(mut netlink) = Netlink::open() else {
        return 1;
    };
    let ip = worker.ip;
    let own_macs = netlink.own_macs().unwrap_or_default();
    let mut port: Option<Port> = None;
    let mut last_defence: Option<Duration> = None;
    let mut sent = 0;
    while let Some((offset, sending)) = worker.plan.due(sent) {
        let due = begin + offset;
        let link = match netlink.link_by_index(worker.ifindex) {
            Ok(Some(link)) if link.up => link,
            _ => return 0,
        };
        if port.is_none() {
            let opened = if inherited_socket {
                Port::adopt(&link, INHERITED_FD)
            } else {
                Port::open(&link)
            };
            match opened {
                Ok(p) => port = Some(p),
                Err(_) => return 1,
            }
        }
        let Some(port) = port.as_mut() else { return 1 };
        // Between sends: listen for a claim, or just wait.
        let claim = if worker.defend {
            port.claimant(ip, due, false, &own_macs)
        } else {
            None
        };
        if claim.is_none() {
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let still_ours = matches!(netlink.address(worker.ifindex, ip), Ok(Some(a)) if !a.tentative && !a.dadfailed);
        if !still_ours {
            return 0;
        }
        if let Some(theirs) = claim {
            let now = begin.elapsed();
            let line = format!(
                "{ip} claimed by {theirs} while {} holds it on {}",
                port.mac(),
                link.name
            );
            if !schedule::may_defend(last_defence, now) {
                syslog(
                    libc::LOG_WARNING,
                    &format!(
                        "conflict: {line}; already defended recently, leaving it to the cluster"
                    ),
                );
                continue;
            }
            last_defence = Some(now);
            syslog(
                libc::LOG_WARNING,
                &format!("conflict: {line}; announcing again"),
            );
            record_conflict(&worker, &theirs.to_string(), &port.mac().to_string());
            if port
                .refresh(ip, &neighbours(&mut netlink, &worker))
                .is_err()
            {
                return 1;
            }
            continue;
        }
        let result = match sending {
            Sending::Round => port.round(ip),
            Sending::Refresh => port.refresh(ip, &neighbours(&mut netlink, &worker)),
        };
        if result.is_err() {
            return 1;
        }
        sent += 1;
    }
    0
}

fn neighbours(netlink: &mut Netlink, worker: &WorkerArgs) -> Vec<(IpAddr, crate::packet::MacAddr)> {
    netlink
        .neighbours(worker.ifindex, worker.ip)
        .unwrap_or_default()
}

fn record_conflict(worker: &WorkerArgs, theirs: &str, ours: &str) {
    let state = StateDir::from_file_name(&worker.state_dir, &worker.instance);
    let _ = state.record_conflict(&Conflict {
        at_unix: unix_now(),
        ip: worker.ip,
        theirs: theirs.to_string(),
        ours: ours.to_string(),
    });
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The worker has no stderr (see `spawn`), so it reports through syslog, where Pacemaker's
/// own messages go on a default install.
fn syslog(priority: libc::c_int, message: &str) {
    let Ok(text) = std::ffi::CString::new(message.replace('\0', " ")) else {
        return;
    };
    static IDENT: &std::ffi::CStr = c"floatip";
    // SAFETY: IDENT is static (openlog keeps the pointer); "%s" with a valid C string.
    unsafe {
        libc::openlog(IDENT.as_ptr(), libc::LOG_PID, libc::LOG_DAEMON);
        libc::syslog(priority, c"%s".as_ptr(), text.as_ptr());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_survives_odd_command_names() {
        let stat =
            "4242 (a b) c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start_time(stat), Some(987654));
        assert_eq!(parse_start_time("garbage"), None);
    }

    #[test]
    fn worker_arguments_round_trip() {
        let worker = WorkerArgs {
            ifindex: 7,
            ip: "2001:db8::5".parse().unwrap(),
            plan: BurstPlan {
                rounds: 4,
                interval: Duration::from_millis(200),
                refresh_every: Some(Duration::from_secs(10)),
            },
            defend: true,
            state_dir: "/run/floatip".into(),
            instance: "vip:0".into(),
        };
        assert_eq!(WorkerArgs::parse(&worker.to_args()), Some(worker));
        assert_eq!(WorkerArgs::parse(&["7".into()]), None);
    }

    #[test]
    fn exiting_flag_and_state_are_read_from_stat() {
        let stat =
            "4242 (a b) c)) R 1 4242 4242 0 -1 4194564 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_state_and_flags(stat), Some(('R', 4194564)));
        assert_ne!(4194564 & PF_EXITING, 0);
        let ours = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let (state, flags) = parse_state_and_flags(&ours).unwrap();
        assert_eq!(state, 'R');
        assert_eq!(flags & PF_EXITING, 0);
    }

    #[test]
    fn our_own_start_time_is_readable() {
        assert!(start_time(std::process::id() as i32).is_some());
    }
}
