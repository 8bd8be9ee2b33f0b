//! The resident process from the outside: starting it detached and recorded before it may act,
//! recognising it, finding it when the state cannot vouch, ending it, and talking to it over
//! its control socket.
//!
//! A process is ours only if it runs as our user, its command line names this resource and
//! address after the `__resident` marker, its executable is our binary (the same path once a
//! trailing " (deleted)" is stripped, which is how it reads after a package upgrade replaced
//! the file, or the same inode), and, for a recorded one, its start time is the recorded one.
//! A found one must also come from our state directory (its identity is on the command line)
//! or live in our network namespace: labs and containers on one kernel run the same resource
//! names, and must never end each other's processes.
//!
//! Ending goes through a pidfd: the PID is opened first, then the process behind the
//! descriptor is checked, then signalled through it, so a recycled PID is never killed.

use super::state::{euid, FileId, ResidentId, StateDir};
use crate::error::{Error, Result};
use crate::resident::{ClusterId, Launch, Reply, Request, MAX_LINE, RELEASE, RESIDENT_ARG};
use log::{debug, warn};
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// Where a resident finds what it inherits: the agent's packet socket and the executor's pidfd.
pub const SOCKET_FD: RawFd = 3;
pub const EXECUTOR_FD: RawFd = 4;

/// The Pacemaker executor's command names (comm, at most 15 bytes): the local executor, and
/// the remote one under its current and its older name.
const EXECUTORS: &[&[u8]] = &[b"pacemaker-execd", b"pacemaker-remot", b"pacemaker_remot"];

/// How /proc/PID/exe reads once the file behind it was replaced or removed.
const DELETED: &str = " (deleted)";

/// This binary: the path it runs from and its identity.
#[derive(Debug, Clone)]
pub struct Executable {
    pub path: PathBuf,
    pub id: FileId,
}

fn strip_deleted(path: PathBuf) -> PathBuf {
    match path.as_os_str().as_bytes().strip_suffix(DELETED.as_bytes()) {
        Some(kept) => PathBuf::from(OsStr::from_bytes(kept)),
        None => path,
    }
}

fn executable_of(pid: &str) -> (Option<PathBuf>, Option<FileId>) {
    let link = format!("/proc/{pid}/exe");
    let path = std::fs::read_link(&link).ok().map(strip_deleted);
    let id = std::fs::metadata(&link).ok().map(|m| FileId::of(&m));
    (path, id)
}

pub fn own_executable() -> Option<Executable> {
    let (path, id) = executable_of("self");
    Some(Executable {
        path: path?,
        id: id?,
    })
}

/// Field 22 (starttime) of /proc/PID/stat. The command name (field 2) may contain spaces and
/// parentheses, so fields are counted after its closing parenthesis.
pub fn parse_start_time(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// Fields 3 (state) and 9 (flags) of /proc/PID/stat, counted after the command name.
pub fn parse_state_and_flags(stat: &str) -> Option<(char, u64)> {
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let flags = fields.nth(5)?.parse().ok()?;
    Some((state, flags))
}

pub fn start_time(pid: i32) -> Option<u64> {
    parse_start_time(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Real and effective uid from /proc/PID/status.
fn owner(pid: i32) -> Option<(u32, u32)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut ids = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .map(|id| id.parse::<u32>().ok());
    Some((ids.next()??, ids.next()??))
}

/// A resident's command line after argv[0]: the marker, the resource, the address and the
/// state directory's identity ("-" when it has none yet).
pub fn resident_args(resource: &str, ip: IpAddr, state_dir: Option<FileId>) -> Vec<OsString> {
    vec![
        RESIDENT_ARG.into(),
        resource.into(),
        ip.to_string().into(),
        state_dir
            .map_or_else(|| "-".to_string(), |id| id.to_string())
            .into(),
    ]
}

/// What a process must be to count as this resource's resident.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub resource: String,
    /// None: any address (a stop whose address did not parse).
    pub ip: Option<IpAddr>,
    pub state_dir: Option<FileId>,
    /// Our network namespace, to recognise residents found by a scan; None to match by state
    /// directory only (a stop acting on a namespace whose name is gone).
    pub netns: Option<FileId>,
}

impl Wanted {
    pub fn new(state: &StateDir, ip: Option<IpAddr>, by_netns: bool) -> Wanted {
        Wanted {
            resource: state.instance().to_string(),
            ip,
            state_dir: state.identity(),
            netns: by_netns.then(own_netns).flatten(),
        }
    }
}

pub fn own_netns() -> Option<FileId> {
    netns_of("self")
}

fn netns_of(pid: &str) -> Option<FileId> {
    std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .ok()
        .map(|m| FileId::of(&m))
}

fn command_line(pid: i32) -> Option<Vec<Vec<u8>>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.strip_suffix(&[0])
            .unwrap_or(&raw)
            .split(|b| *b == 0)
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

/// The marker, the resource and (if wanted) the address on a command line.
fn names_this_resource(argv: &[Vec<u8>], wanted: &Wanted) -> bool {
    argv.get(1).is_some_and(|a| a == RESIDENT_ARG.as_bytes())
        && argv.get(2).is_some_and(|a| a == wanted.resource.as_bytes())
        && wanted.ip.is_none_or(|ip| {
            argv.get(3)
                .and_then(|a| std::str::from_utf8(a).ok())
                .and_then(|a| a.parse::<IpAddr>().ok())
                == Some(ip)
        })
}

/// Whether process `pid` is this resource's resident. `recorded` is what the state says it
/// is; without it the process must also come from our state directory or namespace.
pub fn is_ours(pid: i32, wanted: &Wanted, recorded: Option<&ResidentId>) -> bool {
    let me = euid();
    if owner(pid) != Some((me, me)) {
        return false;
    }
    let Some(argv) = command_line(pid) else {
        return false;
    };
    if !names_this_resource(&argv, wanted) {
        return false;
    }
    if let Some(r) = recorded {
        if start_time(pid) != Some(r.start_time) {
            return false;
        }
    }
    let (path, id) = executable_of(&pid.to_string());
    let own = own_executable();
    let same_binary = match (&path, id) {
        // Unreadable: a process of our own user that we may not ptrace (it holds a capability
        // we lack, e.g. a stop with only CAP_NET_ADMIN). The owner is already checked, and
        // whoever could plant a lookalike as our user could end it anyway.
        (None, None) => true,
        _ => {
            own.as_ref()
                .is_some_and(|own| path.as_ref() == Some(&own.path) || id == Some(own.id))
                || recorded.is_some_and(|r| id == Some(r.exe))
        }
    };
    if !same_binary {
        debug!("process {pid} looks like a resident but runs another program ({path:?})");
        return false;
    }
    if recorded.is_some() {
        return true;
    }
    let from_our_directory = wanted.state_dir.is_some()
        && argv
            .get(4)
            .and_then(|a| std::str::from_utf8(a).ok())
            .and_then(FileId::parse)
            == wanted.state_dir;
    let in_our_namespace = wanted.netns.is_some() && netns_of(&pid.to_string()) == wanted.netns;
    from_our_directory || in_our_namespace
}

/// Whether the recorded resident is alive and ours.
pub fn is_running(recorded: &ResidentId, wanted: &Wanted) -> bool {
    is_ours(recorded.pid, wanted, Some(recorded))
}

fn identity(pid: i32) -> Option<ResidentId> {
    Some(ResidentId {
        pid,
        start_time: start_time(pid)?,
        exe: executable_of(&pid.to_string()).1?,
    })
}

/// Residents of this resource found in /proc (when the state cannot vouch).
pub fn find(wanted: &Wanted) -> Vec<ResidentId> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        // The cheap test first: most processes fail at their command line.
        .filter(|&pid| command_line(pid).is_some_and(|argv| names_this_resource(&argv, wanted)))
        .filter(|&pid| is_ours(pid, wanted, None))
        .filter_map(|pid| {
            identity(pid).or_else(|| {
                // Executable unreadable (see is_ours): identified by start time alone.
                Some(ResidentId {
                    pid,
                    start_time: start_time(pid)?,
                    exe: FileId { dev: 0, ino: 0 },
                })
            })
        })
        .collect()
}

pub fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: plain syscall; a negative result is an error code in errno.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// PF_EXITING in /proc/PID/stat's flags: the task is in do_exit and never runs user code
/// again, so it can send no more frames.
const PF_EXITING: u64 = 0x4;

/// Whether /proc/PID/stat's text shows a process that never runs user code again (exiting,
/// a zombie, or unreadable flags).
fn is_exiting(stat: &str) -> bool {
    parse_state_and_flags(stat)
        .is_none_or(|(state, flags)| matches!(state, 'Z' | 'X') || flags & PF_EXITING != 0)
}

/// Waits until the killed process can no longer send: it is exiting, a zombie or gone.
/// Waiting for the pidfd alone would also wait for its packet socket's release, which sits
/// out an RCU grace period (10 to 30 ms) after the last frame is long impossible.
fn wait_until_exiting(id: &ResidentId, pidfd: BorrowedFd<'_>, patience: Duration) -> Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        let exiting = match std::fs::read_to_string(format!("/proc/{}/stat", id.pid)) {
            Err(_) => true,
            // A different start time means the PID now belongs to someone else: ours is gone.
            Ok(stat) if parse_start_time(&stat) != Some(id.start_time) => true,
            Ok(stat) => is_exiting(&stat),
        };
        if exiting {
            debug!("ended resident process {}", id.pid);
            return Ok(());
        }
        // A pidfd becomes readable when the process has exited.
        let mut pfd = libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; a 1 ms wait between looks.
        if unsafe { libc::poll(&mut pfd, 1, 1) } == 1 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::timeout(format!(
                "resident process {} did not exit within {}ms of SIGKILL",
                id.pid,
                patience.as_millis()
            )));
        }
    }
}

/// What ending a recorded resident found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It had exited already (the PID is gone or belongs to a later process).
    Gone,
    Ended,
    /// The PID is alive with the recorded start time but is not our resident: the state
    /// lies, and cannot vouch for anything.
    NotOurs,
}

/// Ends process `id` if it is this resource's resident (`recorded`: as the state says);
/// waits up to `patience` until it can no longer send.
pub fn end(id: &ResidentId, wanted: &Wanted, recorded: bool, patience: Duration) -> Result<Ending> {
    let pidfd = match pidfd_open(id.pid) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(Ending::Gone),
        Err(e) => {
            return Err(Error::kernel(
                format!("cannot open resident process {}", id.pid),
                e,
            ))
        }
    };
    // Checked after the pidfd pins the process, so what is checked is what gets signalled.
    if start_time(id.pid) != Some(id.start_time) {
        return Ok(Ending::Gone);
    }
    if !is_ours(id.pid, wanted, recorded.then_some(id)) {
        warn!(
            "process {} is not this resource's resident; not signalling it",
            id.pid
        );
        return Ok(Ending::NotOurs);
    }
    if !sigkill(pidfd.as_fd())
        .map_err(|e| Error::kernel(format!("cannot end resident process {}", id.pid), e))?
    {
        return Ok(Ending::Gone);
    }
    wait_until_exiting(id, pidfd.as_fd(), patience)?;
    Ok(Ending::Ended)
}

/// SIGKILL through a pidfd, which pins the exact process the caller checked; false when it
/// had exited already.
fn sigkill(pidfd: BorrowedFd<'_>) -> std::io::Result<bool> {
    // SAFETY: a signal through a pidfd we hold open; no other memory is touched.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ESRCH) => Ok(false),
        _ => Err(e),
    }
}

/// Ends another operation of this agent (our binary, our user, not a resident) that holds
/// this resource's lock, so that a stop wins over it: once stop has removed the address,
/// nothing that operation still meant to do (add, announce, start a resident) may happen.
/// Ok(false) when `pid` is not such a process (it is left alone).
pub fn end_operation(pid: i32, patience: Duration) -> Result<bool> {
    if pid == std::process::id() as i32 {
        return Ok(false);
    }
    let pidfd = match pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(false),
        Err(e) => return Err(Error::kernel(format!("cannot open process {pid}"), e)),
    };
    // Checked after the pidfd pins the process, so what is checked is what gets signalled.
    let me = euid();
    let (path, id) = executable_of(&pid.to_string());
    let same_binary =
        own_executable().is_some_and(|own| path.as_ref() == Some(&own.path) || id == Some(own.id));
    let resident = command_line(pid)
        .is_some_and(|argv| argv.get(1).is_some_and(|a| a == RESIDENT_ARG.as_bytes()));
    let Some(identity) = identity(pid) else {
        return Ok(false);
    };
    if owner(pid) != Some((me, me)) || !same_binary || resident {
        return Ok(false);
    }
    if sigkill(pidfd.as_fd()).map_err(|e| Error::kernel(format!("cannot end process {pid}"), e))? {
        wait_until_exiting(&identity, pidfd.as_fd(), patience)?;
    }
    Ok(true)
}

/// A pidfd of the Pacemaker executor that runs this agent, when it does: the resident
/// stands down when it ends. Checked to still be our parent after opening, so the
/// descriptor is the executor and not a process that took its PID.
pub fn executor_pidfd() -> Option<OwnedFd> {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    let comm = comm_of(parent)?;
    let comm = comm.as_slice();
    if !EXECUTORS.contains(&comm) {
        debug!(
            "run by {} (PID {parent}), not by Pacemaker's executor: the resident will not stand down with it",
            String::from_utf8_lossy(comm)
        );
        return None;
    }
    let pidfd = pidfd_open(parent).ok()?;
    // SAFETY: as above.
    if unsafe { libc::getppid() } != parent {
        return None;
    }
    debug!(
        "run by {} (PID {parent}): the resident stands down when it ends",
        String::from_utf8_lossy(comm)
    );
    Some(pidfd)
}

const PACEMAKERD: &[u8] = b"pacemakerd";

fn comm_of(pid: i32) -> Option<Vec<u8>> {
    let mut comm = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
    if comm.last() == Some(&b'\n') {
        comm.pop();
    }
    Some(comm)
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn cluster_at(pid: i32) -> Option<ClusterId> {
    (comm_of(pid)? == PACEMAKERD).then_some(ClusterId {
        pid,
        start_time: start_time(pid)?,
    })
}

/// This node's cluster: the pacemakerd that runs the executor that runs us, or, for an
/// operation run by hand, the pacemakerd in our network namespace (nodes that share a kernel
/// are told apart by it). None when no cluster runs here.
pub fn this_nodes_cluster() -> Option<ClusterId> {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    if comm_of(parent).is_some_and(|c| EXECUTORS.contains(&c.as_slice())) {
        return parent_of(parent).and_then(cluster_at);
    }
    let ours = own_netns()?;
    let entries = std::fs::read_dir("/proc").ok()?;
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| netns_of(&pid.to_string()) == Some(ours))
        .find_map(cluster_at)
}

/// A pidfd of `cluster`'s pacemakerd, if that very process still runs.
pub fn cluster_pidfd(cluster: &ClusterId) -> Option<OwnedFd> {
    let pidfd = pidfd_open(cluster.pid).ok()?;
    // Checked after the pidfd pins the process: a recycled PID is not our cluster.
    (start_time(cluster.pid) == Some(cluster.start_time)
        && comm_of(cluster.pid).as_deref() == Some(PACEMAKERD))
    .then_some(pidfd)
}

/// A pidfd of a running executor of `cluster`'s pacemakerd (one it respawned).
pub fn find_executor(cluster: &ClusterId) -> Option<OwnedFd> {
    let entries = std::fs::read_dir("/proc").ok()?;
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| parent_of(pid) == Some(cluster.pid))
        .filter(|&pid| comm_of(pid).is_some_and(|c| EXECUTORS.contains(&c.as_slice())))
        // Not the one that died and is not reaped yet.
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| !is_exiting(&stat))
        })
        .find_map(|pid| {
            let pidfd = pidfd_open(pid).ok()?;
            (parent_of(pid) == Some(cluster.pid)).then_some(pidfd)
        })
}

/// A resident that has started but acts only once released: it is recorded first, so no
/// resident ever runs that stop could not find. If the agent dies before `release`, the pipe
/// closes and the resident exits without acting.
pub struct Pending {
    pub id: ResidentId,
    release: ChildStdin,
}

impl Pending {
    pub fn release(mut self) -> Result<()> {
        self.release.write_all(&[RELEASE]).map_err(|e| {
            Error::kernel(
                format!("cannot release the resident process {}", self.id.pid),
                e,
            )
        })
    }
}

/// Moves `fd` to `target` in a child between fork and exec (no allocation), clearing
/// close-on-exec so it survives the exec.
fn place_fd(fd: RawFd, target: RawFd) -> std::io::Result<()> {
    // SAFETY: dup2 and fcntl on descriptors of this (forked) process.
    unsafe {
        if fd == target {
            if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
        } else if libc::dup2(fd, target) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Marks every descriptor from `first` on close-on-exec, so the resident keeps none of what
/// the agent inherited (Pacemaker's, or a shell's `5>&1`). close_range(CLOEXEC) rather than
/// closing: std's own exec-error pipe must survive until the exec.
fn cloexec_from(first: RawFd) {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: plain syscalls on this process's descriptors.
    unsafe {
        if libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        ) == 0
        {
            return;
        }
        // Kernels before 5.11: one by one, up to the descriptor limit (capped).
        let limit = libc::sysconf(libc::_SC_OPEN_MAX).clamp(0, 65_536) as RawFd;
        for fd in first..limit {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}

/// Starts a resident with `launch` on its standard input, held until released. It runs our
/// own binary by path with argv[0] `floatip` (so `pgrep floatip` finds it), in a session of
/// its own, with /dev/null as stdout and stderr (Pacemaker reads the agent's stderr until
/// EOF) and no descriptor but `socket` as fd 3 and `executor` as fd 4.
pub fn spawn(
    launch: &Launch,
    args: &[OsString],
    socket: Option<BorrowedFd<'_>>,
    executor: Option<OwnedFd>,
) -> Result<Pending> {
    let program = own_executable()
        .map(|e| e.path)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/proc/self/exe"));
    let line = launch.to_line().map_err(Error::generic)?;
    // The agent's PATH, then the standard directories: crm_resource (link_watch) lives in
    // /usr/sbin, which an executor's PATH may lack.
    let mut path_env = std::env::var_os("PATH").unwrap_or_default();
    if !path_env.is_empty() {
        path_env.push(":");
    }
    path_env.push("/usr/sbin:/usr/bin:/sbin:/bin");
    let socket = socket.map(|fd| fd.as_raw_fd());
    let executor_fd = executor.as_ref().map(|fd| fd.as_raw_fd());
    let mut command = Command::new(&program);
    command
        .arg0("floatip")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_clear()
        .env("PATH", path_env);
    // A debug build passes its fault injection on (see resident::run); a release has none.
    #[cfg(debug_assertions)]
    if let Some(value) = std::env::var_os(super::resident::INJECT_PANIC) {
        command.env(super::resident::INJECT_PANIC, value);
    }
    // SAFETY: only async-signal-safe calls between fork and exec: setsid, fcntl, dup2,
    // close, close_range.
    unsafe {
        command.pre_exec(move || {
            // Out of Pacemaker's session and process group: signals aimed at the agent's
            // group do not reach it.
            libc::setsid();
            // Copies above the targets first, so that placing one cannot clobber the other.
            let high = |fd: Option<RawFd>| -> std::io::Result<Option<RawFd>> {
                match fd {
                    Some(fd) => {
                        let copy = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10);
                        if copy < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(Some(copy))
                    }
                    None => Ok(None),
                }
            };
            let (socket, executor) = (high(socket)?, high(executor_fd)?);
            for (fd, target) in [(socket, SOCKET_FD), (executor, EXECUTOR_FD)] {
                match fd {
                    Some(fd) => place_fd(fd, target)?,
                    None => {
                        libc::close(target);
                    }
                }
            }
            cloexec_from(EXECUTOR_FD + 1);
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| Error::kernel("cannot start the resident process", e))?;
    drop(executor);
    let pid = child.id() as i32;
    let mut release = child.stdin.take().expect("stdin is piped");
    // The child is never waited for here: it outlives this process and init reaps it.
    drop(child);
    release.write_all(line.as_bytes()).map_err(|e| {
        Error::kernel(
            format!("cannot hand the resident process {pid} its plan"),
            e,
        )
    })?;
    let id = identity(pid).ok_or_else(|| {
        Error::generic(format!(
            "the resident process {pid} vanished before it was recorded"
        ))
    })?;
    Ok(Pending { id, release })
}

/// A Unix socket address for `name` in `dir`: the path itself when it fits in sun_path,
/// else through an open descriptor of the directory (/proc/self/fd/N/name), which always
/// fits since names are short (see state::MAX_NAME). The descriptor must stay open while the
/// address is used.
pub fn socket_address(dir: &Path, name: &str) -> std::io::Result<(PathBuf, Option<OwnedFd>)> {
    let direct = dir.join(name);
    if direct.as_os_str().len() < 100 {
        return Ok((direct, None));
    }
    let dir_fd: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)?
        .into();
    let path = PathBuf::from(format!("/proc/self/fd/{}/{name}", dir_fd.as_raw_fd()));
    Ok((path, Some(dir_fd)))
}

/// The uid and pid of the process at the other end of a Unix socket.
pub fn peer(fd: BorrowedFd<'_>) -> std::io::Result<(u32, i32)> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into the ucred we own.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((cred.uid, cred.pid))
}

/// Connects without ever blocking: a listener whose queue is full (one that never accepts)
/// is an error, not a wait.
fn connect(path: &Path) -> std::io::Result<UnixStream> {
    // SAFETY: a new socket that nothing else owns.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; zeroed is a valid value.
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= address.sun_path.len() {
        return Err(std::io::Error::other("socket path too long"));
    }
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (slot, b) in address.sun_path.iter_mut().zip(bytes) {
        *slot = *b as libc::c_char;
    }
    // SAFETY: a valid address of the given length.
    let rc = unsafe {
        libc::connect(
            socket.as_raw_fd(),
            &address as *const libc::sockaddr_un as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let stream = UnixStream::from(socket);
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// One request to this resource's resident over its control socket, answered within
/// `timeout`. The answer counts only from a process of our own user (and `pid`, when given).
pub fn ask(
    state: &StateDir,
    request: &Request,
    pid: Option<i32>,
    timeout: Duration,
) -> Result<Reply> {
    let what = format!("the resident's control socket {}", state.control_name());
    let fail = |e: std::io::Error| Error::kernel(&what, e);
    let (path, _dir) = socket_address(state.dir(), &state.control_name()).map_err(fail)?;
    let stream = connect(&path).map_err(fail)?;
    let (uid, peer_pid) = peer(stream.as_fd()).map_err(fail)?;
    if uid != euid() || pid.is_some_and(|p| p != peer_pid) {
        return Err(Error::generic(format!(
            "{what} is served by process {peer_pid} of uid {uid}, not by our resident; not using it"
        )));
    }
    stream.set_read_timeout(Some(timeout)).map_err(fail)?;
    stream.set_write_timeout(Some(timeout)).map_err(fail)?;
    let mut line = serde_json::to_string(request)
        .map_err(|e| Error::generic(format!("cannot describe the request: {e}")))?;
    line.push('\n');
    (&stream).write_all(line.as_bytes()).map_err(fail)?;
    let mut answer = String::new();
    BufReader::new((&stream).take(MAX_LINE as u64))
        .read_line(&mut answer)
        .map_err(fail)?;
    serde_json::from_str(answer.trim_end())
        .map_err(|e| Error::generic(format!("{what} answered {answer:?}: {e}")))
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
    fn a_replaced_binary_reads_as_its_path() {
        assert_eq!(
            strip_deleted(PathBuf::from("/usr/sbin/floatip (deleted)")),
            PathBuf::from("/usr/sbin/floatip")
        );
        assert_eq!(
            strip_deleted(PathBuf::from("/usr/sbin/floatip")),
            PathBuf::from("/usr/sbin/floatip")
        );
    }

    #[test]
    fn our_own_identity_is_readable() {
        assert!(start_time(std::process::id() as i32).is_some());
        assert!(own_executable().is_some());
        assert!(own_netns().is_some());
    }

    #[test]
    fn the_command_line_names_resource_address_and_directory() {
        let ip: IpAddr = "198.51.100.50".parse().unwrap();
        let dir = FileId { dev: 1, ino: 2 };
        let argv: Vec<Vec<u8>> = std::iter::once(b"floatip".to_vec())
            .chain(
                resident_args("vip", ip, Some(dir))
                    .iter()
                    .map(|a| a.as_bytes().to_vec()),
            )
            .collect();
        let wanted = |resource: &str, ip: Option<&str>| Wanted {
            resource: resource.into(),
            ip: ip.map(|i| i.parse().unwrap()),
            state_dir: Some(dir),
            netns: None,
        };
        assert!(names_this_resource(
            &argv,
            &wanted("vip", Some("198.51.100.50"))
        ));
        assert!(names_this_resource(&argv, &wanted("vip", None)));
        assert!(!names_this_resource(&argv, &wanted("vip2", None)));
        assert!(!names_this_resource(
            &argv,
            &wanted("vip", Some("198.51.100.51"))
        ));
        assert!(!names_this_resource(&argv[..2], &wanted("vip", None)));
    }

    #[test]
    fn this_test_process_is_nobodys_resident() {
        let me = std::process::id() as i32;
        let wanted = Wanted {
            resource: "vip".into(),
            ip: None,
            state_dir: None,
            netns: own_netns(),
        };
        assert!(!is_ours(me, &wanted, None));
        assert!(find(&wanted).iter().all(|r| r.pid != me));
    }
}
