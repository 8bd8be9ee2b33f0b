//! The resident process itself: a tokio event loop (current thread) over the kernel's link and
//! address notifications, the packet socket of the adapter holding the address, timers, the
//! Pacemaker executor's pidfd and the control socket. It turns each into a
//! `resident::machine::Event`, and performs the machine's effects in order: sends, address
//! moves, reports to Pacemaker, log lines. It decides nothing itself.
//!
//! It has no stderr (Pacemaker reads the agent's until EOF): it logs where Pacemaker does
//! (`LogTargets`: its log file and syslog), and the machine keeps that to a line per event,
//! conflicts to a line per DEFEND_INTERVAL.

use super::netlink::{self, Notice, Watch};
use super::port::Port;
use super::process::{self, EXECUTOR_FD, SOCKET_FD};
use super::state::{euid, Conflict, StateDir};
use crate::domain::{Assigned, Link};
use crate::error::{Error, Result};
use crate::packet::{claimant, parse_frame, MacAddr};
use crate::resident::machine::{Effect, Event, Found, Level, Machine, SEGMENT_PROBE_WAIT};
use crate::resident::{ClusterId, Launch, Plan, Reply, Request, MAX_LINE, RELEASE};
use crate::schedule::Sending;
use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use log::{debug, info, warn};
use std::ffi::OsString;
use std::future::{poll_fn, Future};
use std::io::{BufRead, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::PathBuf;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::net::{UnixListener, UnixStream};

/// In a debug build, a resident started with this set panics once it has started logging.
pub const INJECT_PANIC: &str = "FLOATIP_TEST_RESIDENT_PANIC";

/// Frames read per wake-up before timers, notifications and requests get their turn.
const FRAMES_PER_TURN: usize = 64;
/// How long a control connection may take to say what it wants, and to be answered.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(2);
/// How long listing the address's clients may take.
const CLIENTS_PATIENCE: Duration = Duration::from_secs(2);
/// How long sharing the client list may take (crm_node, then attrd_updater per node).
const SHARE_PATIENCE: Duration = Duration::from_secs(10);
/// How long crm_resource may take to tell Pacemaker.
const REPORT_TIMEOUT: Duration = Duration::from_secs(15);

/// The resident's logger: Pacemaker's log file and syslog (see `LogTargets`), each line
/// naming the resource and address.
struct ResidentLogger {
    prefix: String,
    level: log::LevelFilter,
    syslog: bool,
    file: Option<PathBuf>,
    hostname: String,
}

impl log::Log for ResidentLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message =
            crate::ocf::printable(&format!("{}{}", self.prefix, record.args())).replace('\0', " ");
        if self.syslog {
            let priority = match record.level() {
                log::Level::Error => libc::LOG_ERR,
                log::Level::Warn => libc::LOG_WARNING,
                log::Level::Info => libc::LOG_INFO,
                _ => libc::LOG_DEBUG,
            };
            if let Ok(text) = std::ffi::CString::new(message.as_str()) {
                // SAFETY: "%s" with a valid C string; openlog was called with a static ident.
                unsafe { libc::syslog(priority, c"%s".as_ptr(), text.as_ptr()) };
            }
        }
        if let Some(path) = &self.file {
            // Pacemaker's own layout, so that its tools and a grep find these lines too.
            let level = match record.level() {
                log::Level::Error => "error",
                log::Level::Warn => "warning",
                log::Level::Info => "info",
                _ => "debug",
            };
            let line = format!(
                "{} {} floatip             [{}] (resident) \t{level}: {message}\n",
                super::trace::date_and_time(),
                self.hostname,
                std::process::id()
            );
            // Opened per line (a few a minute at most): a rotated log is followed, and a
            // missing one is never created with an owner Pacemaker could not write as.
            if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(path) {
                let _ = std::io::Write::write_all(&mut file, line.as_bytes());
            }
        }
    }

    fn flush(&self) {}
}

fn facility_code(name: &str) -> libc::c_int {
    match name {
        "kern" => libc::LOG_KERN,
        "user" => libc::LOG_USER,
        "mail" => libc::LOG_MAIL,
        "auth" => libc::LOG_AUTH,
        "syslog" => libc::LOG_SYSLOG,
        "lpr" => libc::LOG_LPR,
        "news" => libc::LOG_NEWS,
        "uucp" => libc::LOG_UUCP,
        "cron" => libc::LOG_CRON,
        "authpriv" => libc::LOG_AUTHPRIV,
        "ftp" => libc::LOG_FTP,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => libc::LOG_DAEMON,
    }
}

fn init_logging(launch: &Launch) {
    static IDENT: &std::ffi::CStr = c"floatip";
    let facility = launch.log.syslog.as_deref().map(facility_code);
    if let Some(facility) = facility {
        // SAFETY: IDENT is static (openlog keeps the pointer).
        unsafe { libc::openlog(IDENT.as_ptr(), libc::LOG_PID, facility) };
    }
    let level = if launch.debug {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    };
    let logger = ResidentLogger {
        prefix: format!("FloatIP({}) {}: ", launch.plan.resource, launch.plan.ip),
        level,
        syslog: facility.is_some(),
        file: launch.log.file.clone(),
        hostname: super::system::hostname(),
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level);
    }
}

/// Whether `fd` is open.
fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

/// Takes an inherited descriptor: ours now, and not passed on to crm_resource.
fn inherited(fd: RawFd) -> Option<OwnedFd> {
    if !is_open(fd) {
        return None;
    }
    // SAFETY: fcntl on an open descriptor; this process owns it from here on (the agent
    // placed it for us and nothing else here refers to it).
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        Some(OwnedFd::from_raw_fd(fd))
    }
}

/// The resident's entry point (`floatip __resident RESOURCE IP DIR-ID`): reads its launch,
/// waits to be released, then runs the loop. Returns the exit code.
pub fn run(args: &[OsString]) -> u8 {
    // SAFETY: prctl with a static NUL-terminated name; umask has no preconditions.
    unsafe {
        // Named for operators however it was started (`ps`, `pgrep floatip`).
        libc::prctl(libc::PR_SET_NAME, c"floatip".as_ptr(), 0, 0, 0);
        // The control socket and conflict files are private.
        libc::umask(0o077);
    }
    let socket = inherited(SOCKET_FD);
    let executor = inherited(EXECUTOR_FD);
    let mut input = std::io::stdin().lock();
    let mut line = String::new();
    if (&mut input)
        .take(MAX_LINE as u64)
        .read_line(&mut line)
        .is_err()
    {
        return 2;
    }
    let Some(launch) = Launch::from_line(&line).filter(|l| l.plan.validate().is_ok()) else {
        return 2;
    };
    let named = |i: usize, what: &str| args.get(i).is_some_and(|a| a == what);
    if !named(0, &launch.plan.resource) || !named(1, &launch.plan.ip.to_string()) {
        return 2;
    }
    // Released once recorded; end of input first means the agent died: act on nothing.
    let mut go = [0u8; 1];
    if !matches!(input.read(&mut go), Ok(1) if go[0] == RELEASE) {
        return 0;
    }
    drop(input);
    init_logging(&launch);
    // The resident has no stderr: a panic must leave its location in syslog, not vanish.
    std::panic::set_hook(Box::new(|info| {
        let what = crate::error::panic_message(info.payload());
        let at = info
            .location()
            .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
        log::error!("internal error (please report): panic{at}: {what}; exiting");
    }));
    // Debug builds only: the tests check that a panic leaves its location in the log.
    #[cfg(debug_assertions)]
    if std::env::var_os(INJECT_PANIC).is_some() {
        panic!("{INJECT_PANIC} is set");
    }
    let socket = launch
        .socket_ifindex
        .and_then(|index| Some((index, socket?)));
    let executor = if launch.executor { executor } else { None };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            log::error!("cannot start the event loop: {e}");
            return 1;
        }
    };
    match runtime.block_on(serve(launch, socket, executor)) {
        Ok(reason) => {
            info!("exiting: {reason}");
            0
        }
        Err(e) => {
            log::error!("{}; exiting", e.reason);
            1
        }
    }
}

/// The descriptor of a port, for the reactor (the port owns it).
struct PortFd(RawFd);

impl AsRawFd for PortFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// The port of the adapter holding the address. Field order matters: the reactor lets go of
/// the descriptor before the port closes it.
struct Listening {
    ready: AsyncFd<PortFd>,
    port: Port,
    index: u32,
}

/// A port let go of off the loop: closing an AF_PACKET socket waits for an RCU grace period.
fn close_later(listening: Listening) {
    let Listening { ready, port, .. } = listening;
    drop(ready);
    std::thread::spawn(move || drop(port));
}

/// Where an event comes from, in the order they are looked at.
enum Source {
    ClusterGone,
    ExecutorGone,
    Timer,
    Notice(Notice),
    NoticesEnded,
    Request(Request, oneshot::Sender<Reply>),
    Connection(UnixStream),
    Frames,
    /// The outcome of an effect performed off the loop (a segment probe).
    Outcome(Event),
}

type Requests = mpsc::UnboundedReceiver<(Request, oneshot::Sender<Reply>)>;

/// What performing a batch of effects came to.
enum Outcome {
    Done,
    /// An address could not be added: the rest of the batch was dropped, the machine is told.
    Failed(Event),
    Exit(String),
}

struct Resident {
    machine: Machine,
    epoch: Instant,
    watch: Watch,
    state: StateDir,
    listening: Option<Listening>,
    /// The agent's socket, until the adapter it is bound to needs a port.
    inherited: Option<(u32, OwnedFd)>,
    /// More frames were queued than one turn reads.
    frames_pending: bool,
    crm_resource: Option<PathBuf>,
    /// Pacemaker's attribute manager, for the client list.
    attrd: super::attrd::Attrd,
    /// The last send failure, so a dead link logs once, not once per round.
    send_failure: Option<String>,
    has_executor: bool,
    /// The node's pacemakerd, when the resident is tied to it.
    cluster: Option<ClusterId>,
    /// An executor that `FindExecutor` found, for the loop to watch instead of the old one.
    found_executor: Option<OwnedFd>,
    /// Outcomes of a batch's effects, fed back to the machine after it.
    outcomes: Vec<Event>,
    /// Outcomes of effects performed off the loop, fed back as they come.
    later: mpsc::UnboundedSender<Event>,
}

/// The address as found on each of the plan's adapters (the machine decides which holds it).
async fn found_addresses(watch: &Watch, plan: &Plan, links: &[Link]) -> Result<Vec<(u32, Found)>> {
    let mut found = Vec::new();
    for name in &plan.adapters {
        let Some(link) = links.iter().find(|l| &l.name == name) else {
            continue;
        };
        if let Some(a) = watch.address(link.index, plan.ip).await? {
            found.push((link.index, found_of(&a)));
        }
    }
    Ok(found)
}

fn found_of(a: &Assigned) -> Found {
    Found {
        prefix_len: a.prefix_len,
        tentative: a.tentative,
        dadfailed: a.dadfailed,
    }
}

/// Removes the control socket when the process ends by itself.
struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_socket()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Serves `<state dir>/<name>.ctl`. One left by a killed predecessor is replaced; anything
/// else in its place is left alone, and the process goes on without a control socket (a
/// reload then replaces the process instead).
fn bind_control(state: &StateDir) -> Option<ControlSocket> {
    let name = state.control_name();
    let path = state.dir().join(&name);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(&path);
    }
    let bound = process::socket_address(state.dir(), &name)
        .and_then(|(address, _dir)| UnixListener::bind(address));
    match bound {
        Ok(listener) => {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
            Some(ControlSocket { listener, path })
        }
        Err(e) => {
            warn!(
                "cannot serve the control socket {}: {e}; reloads will replace this process",
                path.display()
            );
            None
        }
    }
}

async fn serve(
    launch: Launch,
    inherited: Option<(u32, OwnedFd)>,
    executor: Option<OwnedFd>,
) -> Result<String> {
    let cluster = launch.cluster.or_else(|| {
        launch
            .find_cluster
            .then(process::this_nodes_cluster)
            .flatten()
    });
    let (watch, mut notices, connection) = netlink::watch(launch.plan.ip)?;
    tokio::spawn(connection);
    // Subscribed before the first look, so no change between the two is missed.
    let links = watch.links().await?;
    let found = found_addresses(&watch, &launch.plan, &links).await?;
    let state = StateDir::new(&launch.state_dir, &launch.plan.resource);
    let epoch = Instant::now();
    let (machine, first) = Machine::new(launch.plan.clone(), &links, &found, Duration::ZERO);
    let (later_tx, mut later) = mpsc::unbounded();
    let mut resident = Resident {
        machine,
        epoch,
        watch,
        state,
        listening: None,
        inherited,
        frames_pending: false,
        crm_resource: launch.crm_resource.clone(),
        attrd: super::attrd::Attrd {
            updater: launch
                .attrd_updater
                .clone()
                .unwrap_or_else(|| PathBuf::from("attrd_updater")),
            crm_node: launch
                .crm_node
                .clone()
                .unwrap_or_else(|| PathBuf::from("crm_node")),
        },
        send_failure: None,
        has_executor: executor.is_some(),
        cluster,
        found_executor: None,
        outcomes: Vec::new(),
        later: later_tx,
    };
    match (&executor, cluster) {
        (Some(_), Some(c)) => debug!(
            "stands down when pacemakerd {} ends, or the executor that started it ends and pacemakerd respawns none",
            c.pid
        ),
        (Some(_), None) => debug!("stands down when the Pacemaker executor that started it ends"),
        (None, Some(c)) => debug!("started by hand on a cluster node: stands down when pacemakerd {} ends", c.pid),
        (None, None) => debug!("not started by Pacemaker: no stand-down"),
    }
    // The cluster that was there when the agent looked may be gone already.
    let cluster_fd = cluster.map(|c| process::cluster_pidfd(&c));
    let first = match cluster_fd {
        Some(None) => resident.machine.handle(resident.now(), Event::ClusterGone),
        _ => first,
    };
    if let Some(reason) = resident.perform_all(first).await {
        return Ok(reason);
    }
    let watch = |fd: OwnedFd, what: &str| {
        // SAFETY: the pidfd is owned by the AsyncFd, open for as long as it lives.
        unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| Error::generic(format!("cannot watch the {what}: {e}")))
    };
    let mut executor = executor.map(|fd| watch(fd, "executor")).transpose()?;
    let cluster = cluster_fd
        .flatten()
        .map(|fd| watch(fd, "cluster"))
        .transpose()?;
    let control = bind_control(&resident.state);
    let (requests_tx, mut requests): (_, Requests) = mpsc::unbounded();
    let far = || tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
    let mut sleep = Box::pin(tokio::time::sleep_until(far()));
    loop {
        resident.listen().await;
        let wake = resident.machine.next_wakeup().map(|d| resident.epoch + d);
        sleep
            .as_mut()
            .reset(wake.map_or_else(far, tokio::time::Instant::from_std));
        let frames_pending = resident.frames_pending;
        let listening = &resident.listening;
        let source = poll_fn(|cx| {
            if let Some(cluster) = &cluster {
                if cluster.poll_read_ready(cx).is_ready() {
                    return Poll::Ready(Source::ClusterGone);
                }
            }
            if let Some(executor) = &executor {
                if executor.poll_read_ready(cx).is_ready() {
                    return Poll::Ready(Source::ExecutorGone);
                }
            }
            if wake.is_some_and(|w| w <= Instant::now()) {
                return Poll::Ready(Source::Timer);
            }
            loop {
                match notices.poll_next(cx) {
                    Poll::Ready(Some(Some(notice))) => return Poll::Ready(Source::Notice(notice)),
                    Poll::Ready(Some(None)) => continue,
                    Poll::Ready(None) => return Poll::Ready(Source::NoticesEnded),
                    Poll::Pending => break,
                }
            }
            if let Poll::Ready(Some((request, reply))) = requests.poll_next_unpin(cx) {
                return Poll::Ready(Source::Request(request, reply));
            }
            if let Poll::Ready(Some(event)) = later.poll_next_unpin(cx) {
                return Poll::Ready(Source::Outcome(event));
            }
            if let Some(control) = &control {
                if let Poll::Ready(Ok((stream, _))) = control.listener.poll_accept(cx) {
                    return Poll::Ready(Source::Connection(stream));
                }
            }
            if let Some(l) = listening {
                if frames_pending {
                    return Poll::Ready(Source::Frames);
                }
                if let Poll::Ready(Ok(mut guard)) = l.ready.poll_read_ready(cx) {
                    guard.clear_ready();
                    return Poll::Ready(Source::Frames);
                }
            }
            if sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Source::Timer);
            }
            Poll::Pending
        })
        .await;
        let exit = match source {
            Source::ClusterGone => resident.handle(Event::ClusterGone).await,
            Source::ExecutorGone => {
                // A pidfd stays readable once its process ended: watched no more.
                executor = None;
                let cluster_watched = cluster.is_some();
                resident
                    .handle(Event::ExecutorGone { cluster_watched })
                    .await
            }
            Source::Timer => resident.handle(Event::Tick).await,
            Source::Notice(notice) => {
                let mut exit = None;
                for event in resident.events_of(notice).await {
                    exit = resident.handle(event).await;
                    if exit.is_some() {
                        break;
                    }
                }
                exit
            }
            Source::NoticesEnded => {
                return Err(Error::generic(
                    "the netlink connection ended; cannot follow the links any more",
                ))
            }
            Source::Connection(stream) => {
                tokio::spawn(serve_connection(stream, requests_tx.clone()));
                None
            }
            Source::Request(request, reply) => resident.answer(request, reply).await,
            Source::Outcome(event) => resident.handle(event).await,
            Source::Frames => {
                let mut exit = None;
                for event in resident.read_claims() {
                    exit = resident.handle(event).await;
                    if exit.is_some() {
                        break;
                    }
                }
                exit
            }
        };
        if let Some(reason) = exit {
            return Ok(reason);
        }
        if let Some(fd) = resident.found_executor.take() {
            executor = Some(watch(fd, "executor")?);
        }
    }
}

impl Resident {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Feeds one event and performs what follows from it; Some(reason) to exit.
    async fn handle(&mut self, event: Event) -> Option<String> {
        let effects = self.machine.handle(self.now(), event);
        self.perform_all(effects).await
    }

    async fn perform_all(&mut self, mut effects: Vec<Effect>) -> Option<String> {
        loop {
            match self.perform(effects).await {
                Outcome::Done => match self.outcomes.pop() {
                    Some(event) => effects = self.machine.handle(self.now(), event),
                    None => return None,
                },
                Outcome::Exit(reason) => return Some(reason),
                Outcome::Failed(event) => effects = self.machine.handle(self.now(), event),
            }
        }
    }

    /// Performs effects in order.
    async fn perform(&mut self, effects: Vec<Effect>) -> Outcome {
        let plan = self.machine.plan().clone();
        for effect in effects {
            match effect {
                Effect::Send { index, mac, kind } => {
                    if !self.send(index, mac, kind).await {
                        self.outcomes.push(Event::SendFailed { kind });
                    }
                }
                Effect::AddAddress { index, name } => {
                    let request = plan.address_request(index, &name);
                    if let Err(e) = self.watch.add_address(&request).await {
                        return Outcome::Failed(Event::AddFailed {
                            index,
                            reason: e.reason,
                        });
                    }
                    info!("added {}/{} to {name}", plan.ip, plan.prefix_len);
                }
                Effect::DeleteAddress { index, name } => {
                    match self
                        .watch
                        .delete_address(index, plan.ip, plan.prefix_len)
                        .await
                    {
                        Ok(()) => info!("removed {}/{} from {name}", plan.ip, plan.prefix_len),
                        // The machine decides what it means (it tries again).
                        Err(e) => self.outcomes.push(Event::DeleteFailed {
                            index,
                            reason: e.reason,
                        }),
                    }
                }
                Effect::Report(reason) => self.report(&plan, &reason),
                Effect::Log(Level::Info, line) => info!("{line}"),
                Effect::Log(Level::Warning, line) => warn!("{line}"),
                Effect::RecordConflict { theirs, ours } => {
                    let recorded = self.state.record_conflict(&Conflict {
                        at_unix: unix_now(),
                        ip: plan.ip,
                        theirs: theirs.to_string(),
                        ours: ours.to_string(),
                    });
                    if let Err(e) = recorded {
                        debug!("{}", e.reason);
                    }
                }
                Effect::FindExecutor => {
                    let found = self.cluster.as_ref().and_then(process::find_executor);
                    if let Some(fd) = found {
                        self.found_executor = Some(fd);
                        self.outcomes.push(Event::ExecutorFound);
                    }
                }
                Effect::ProbeSegment { id, from, on } => self.probe_segment(id, from, on).await,
                Effect::LookUpLink { index } => {
                    let answer = match self.watch.link_by_index(index).await {
                        Ok(link) => Event::LinkLookedUp { index, link },
                        Err(e) => {
                            debug!("{}", e.reason);
                            Event::LinkLookupFailed { index }
                        }
                    };
                    self.outcomes.push(answer);
                }
                Effect::PollClients => {
                    // A dump of every connected TCP socket of the namespace: milliseconds, but
                    // it grows with a busy server's sockets, so off the loop (claims and
                    // rounds do not wait for it). The thread is in this process's namespace.
                    let later = self.later.clone();
                    let ip = plan.ip;
                    tokio::task::spawn_blocking(move || {
                        let outcome = super::sockdiag::connections_of(ip, CLIENTS_PATIENCE)
                            .map(|sockets| crate::clients::of_sockets(ip, &sockets))
                            .map_err(|e| e.reason);
                        let _ = later.unbounded_send(Event::ClientsPolled(outcome));
                    });
                }
                Effect::ShareClients(clients) => self.share_clients(&plan, clients),
                Effect::Tickle(clients) => {
                    let pairs: Vec<_> = clients.iter().map(|c| c.pair(plan.ip)).collect();
                    match super::sockdiag::send_tickles(&pairs) {
                        Ok(sent) => info!(
                            "tickled {sent} of {} client(s) again (the last owner's connections)",
                            pairs.len()
                        ),
                        Err(e) => warn!("cannot tickle the clients again: {}", e.reason),
                    }
                }
                Effect::Exit(reason) => return Outcome::Exit(reason),
            }
        }
        Outcome::Done
    }

    /// Shares the client list off the loop (attrd_updater runs once per other node); its
    /// outcome comes back as `ClientsShared`.
    fn share_clients(&mut self, plan: &Plan, clients: Vec<crate::clients::Client>) {
        let later = self.later.clone();
        let attrd = self.attrd.clone();
        let name = crate::clients::attribute_name(&plan.resource);
        let own = plan.node.clone();
        let text = crate::clients::encode(plan.ip, &clients, unix_now());
        tokio::task::spawn_blocking(move || {
            let failure = match attrd.share(&name, own.as_deref(), &text, SHARE_PATIENCE) {
                Ok(copies) => {
                    debug!(
                        "shared {} client(s) under {copies} other node name(s)",
                        clients.len()
                    );
                    None
                }
                Err(e) => Some(e.reason),
            };
            let _ = later.unbounded_send(Event::ClientsShared(failure));
        });
    }

    /// Runs a segment probe off the loop (it listens for up to SEGMENT_PROBE_WAIT); its
    /// outcome comes back as `SegmentProbed`. One that cannot be sent counts as not heard.
    async fn probe_segment(&mut self, id: u64, from: u32, on: u32) {
        let (from, on) = match (
            self.watch.link_by_index(from).await,
            self.watch.link_by_index(on).await,
        ) {
            (Ok(Some(from)), Ok(Some(on))) => (from, on),
            _ => {
                self.outcomes
                    .push(Event::SegmentProbed { id, heard: false });
                return;
            }
        };
        let later = self.later.clone();
        // Distinct from every other resident's probes on the segment.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let nonce = id ^ (u64::from(std::process::id()) << 40) ^ nanos;
        tokio::task::spawn_blocking(move || {
            Port::hears(&from, &on, nonce, SEGMENT_PROBE_WAIT, |outcome| {
                let heard = outcome.unwrap_or_else(|e| {
                    warn!(
                        "segment probe from {} to {}: {}",
                        from.name, on.name, e.reason
                    );
                    false
                });
                debug!(
                    "segment probe from {} {} on {}",
                    from.name,
                    if heard { "heard" } else { "not heard" },
                    on.name
                );
                let _ = later.unbounded_send(Event::SegmentProbed { id, heard });
            });
        });
    }

    /// A port on interface `index`: the listening one, the agent's socket, or a new one.
    async fn port_on(&mut self, index: u32) -> Option<&mut Port> {
        if self.listening.as_ref().is_none_or(|l| l.index != index) {
            let link = match self.machine.holder().filter(|l| l.index == index) {
                Some(link) => link.clone(),
                None => self.watch.link_by_index(index).await.ok()??,
            };
            let port = match self.inherited.take() {
                Some((bound, fd)) if bound == index => Port::adopt(&link, fd),
                other => {
                    if let Some((_, fd)) = other {
                        std::thread::spawn(move || drop(fd));
                    }
                    Port::open(&link)
                }
            };
            let mut port = match port {
                Ok(port) => port,
                Err(e) => {
                    self.note_send_failure(e.reason);
                    return None;
                }
            };
            // The kernel drops every frame that cannot claim this address, so the resident
            // does not wake for its neighbours' traffic (read_claims still checks each one).
            let ip = self.machine.plan().ip;
            if let Err(e) = port.listen_for(super::port::Listening::Claims(ip)) {
                debug!("{}; reading every neighbour frame instead", e.reason);
            }
            // SAFETY: the port owns the descriptor and outlives this registration (Listening
            // drops `ready` first, and close_later too).
            let registered = unsafe {
                AsyncFd::register_with_interest(
                    PortFd(port.as_fd().as_raw_fd()),
                    Interest::READABLE,
                )
            };
            let ready = match registered {
                Ok(ready) => ready,
                Err(e) => {
                    self.note_send_failure(format!(
                        "cannot watch the socket on {}: {e}",
                        link.name
                    ));
                    return None;
                }
            };
            if let Some(old) = self.listening.replace(Listening { ready, port, index }) {
                close_later(old);
            }
            self.frames_pending = false;
        }
        self.listening.as_mut().map(|l| &mut l.port)
    }

    /// Keeps a port open on the adapter holding the address, to hear claims on it.
    async fn listen(&mut self) {
        match self.machine.listen_on() {
            Some(index) => {
                self.port_on(index).await;
            }
            None => {
                if let Some(old) = self.listening.take() {
                    close_later(old);
                }
            }
        }
    }

    fn note_send_failure(&mut self, why: String) {
        if self.send_failure.as_ref() != Some(&why) {
            warn!("{why}");
            self.send_failure = Some(why);
        }
    }

    /// Sends one round or refresh; false when it could not be queued (logged once per cause).
    async fn send(&mut self, index: u32, mac: MacAddr, kind: Sending) -> bool {
        let ip = self.machine.plan().ip;
        let neighbours = match kind {
            Sending::Round => Vec::new(),
            Sending::Refresh => match self.watch.neighbours(index, ip).await {
                Ok(n) => n,
                Err(e) => {
                    debug!("{}", e.reason);
                    Vec::new()
                }
            },
        };
        let Some(port) = self.port_on(index).await else {
            return false;
        };
        if port.mac() != mac {
            port.set_mac(mac);
        }
        let sent = match kind {
            Sending::Round => port.round(ip),
            Sending::Refresh => port.refresh(ip, &neighbours),
        };
        match sent {
            Ok(()) => {
                self.send_failure = None;
                true
            }
            Err(e) => {
                self.note_send_failure(e.reason);
                false
            }
        }
    }

    /// Claims in the frames queued on the listening port.
    fn read_claims(&mut self) -> Vec<Event> {
        let ip = self.machine.plan().ip;
        let Some(listening) = self.listening.as_mut() else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let mut buffer = [0u8; 2048];
        self.frames_pending = false;
        for read in 0..=FRAMES_PER_TURN {
            if read == FRAMES_PER_TURN {
                self.frames_pending = true;
                break;
            }
            let n = match listening.port.try_receive(&mut buffer) {
                // Our own sends, whatever MAC they carried (the MAC may just have changed).
                Ok(Some((_, true))) => continue,
                Ok(Some((n, false))) => n,
                Ok(None) => break,
                Err(e) => {
                    debug!("cannot read frames: {e}");
                    break;
                }
            };
            let ours = listening.port.mac();
            let claim = parse_frame(&buffer[..n]).and_then(|seen| claimant(&seen, ip, ours, false));
            if let Some(mac) = claim {
                events.push(Event::Claim {
                    index: listening.index,
                    mac,
                });
            }
        }
        events
    }

    /// The machine's event for a notification (what it means, and in which order, the
    /// machine decides).
    async fn events_of(&mut self, notice: Notice) -> Vec<Event> {
        let ip = self.machine.plan().ip;
        match notice {
            Notice::Link(link) => vec![Event::Link(link)],
            Notice::LinkGone(index) => vec![Event::LinkRemoved(index)],
            Notice::Address {
                ifindex,
                ip: address,
                assigned,
            } if address == ip => vec![Event::AddressAdded {
                index: ifindex,
                prefix_len: assigned.prefix_len,
                tentative: assigned.tentative,
                dadfailed: assigned.dadfailed,
            }],
            Notice::AddressGone {
                ifindex,
                ip: address,
                prefix_len,
            } if address == ip => vec![Event::AddressRemoved {
                index: ifindex,
                prefix_len,
            }],
            Notice::Overrun => self.resync().await.into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Notifications were lost: the links and the address on the holder, as they are now.
    async fn resync(&mut self) -> Option<Event> {
        warn!("netlink notifications were lost; reading the links again");
        let links = self.watch.links().await.ok()?;
        let holder_address = match self.machine.holder().map(|l| l.index) {
            Some(holder) => match self.watch.address(holder, self.machine.plan().ip).await {
                Ok(found) => Some(found.as_ref().map(found_of)),
                Err(e) => {
                    debug!("{}", e.reason);
                    None
                }
            },
            None => None,
        };
        Some(Event::Resync {
            links,
            holder_address,
        })
    }

    /// Answers a control request; Some(reason) when it ends the process.
    async fn answer(&mut self, request: Request, reply: oneshot::Sender<Reply>) -> Option<String> {
        match request {
            Request::Plan(plan) => {
                if let Err(why) = self.machine.accepts(&plan) {
                    let _ = reply.send(Reply::refused(why));
                    return None;
                }
                let exit = self.handle(Event::NewPlan(*plan)).await;
                let _ = reply.send(Reply::ok());
                exit
            }
            Request::Status => {
                let mut status =
                    serde_json::to_value(self.machine.status(self.now())).unwrap_or_default();
                if let Some(fields) = status.as_object_mut() {
                    fields.insert("pid".into(), std::process::id().into());
                    fields.insert("stands_down_with_executor".into(), self.has_executor.into());
                    fields.insert(
                        "stands_down_with_pacemakerd".into(),
                        self.cluster.map(|c| c.pid).into(),
                    );
                    fields.insert(
                        "listening_on".into(),
                        self.listening.as_ref().map(|l| l.index).into(),
                    );
                }
                let _ = reply.send(Reply {
                    status: Some(status),
                    ..Reply::ok()
                });
                None
            }
            Request::Stop => {
                let _ = reply.send(Reply::ok());
                self.handle(Event::Stop).await
            }
        }
    }

    /// Tells Pacemaker this node cannot serve the address: `crm_resource --fail`, run as argv
    /// (no shell), bounded by REPORT_TIMEOUT, off the loop.
    fn report(&self, plan: &Plan, reason: &str) {
        let program = self
            .crm_resource
            .clone()
            .unwrap_or_else(|| PathBuf::from("crm_resource"));
        let mut command = std::process::Command::new(&program);
        command.args(["--fail", "--resource", &plan.resource]);
        if let Some(node) = &plan.node {
            command.args(["--node", node]);
        }
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        warn!(
            "{reason}: telling Pacemaker ({} --fail --resource {}{})",
            program.display(),
            plan.resource,
            plan.node
                .as_ref()
                .map_or_else(String::new, |n| format!(" --node {n}"))
        );
        match command.spawn() {
            Ok(child) => {
                tokio::spawn(reap(child, program));
            }
            Err(e) => warn!("cannot run {}: {e}", program.display()),
        }
    }
}

/// Waits for a child (crm_resource) through its pidfd, killing it after REPORT_TIMEOUT.
async fn reap(mut child: std::process::Child, program: PathBuf) {
    let exited = async {
        let pidfd = process::pidfd_open(child.id() as i32).ok()?;
        // SAFETY: the pidfd is owned by the AsyncFd, open for as long as it lives.
        let ready = unsafe { AsyncFd::register_with_interest(pidfd, Interest::READABLE) }.ok()?;
        ready.readable().await.ok().map(drop)
    };
    if tokio::time::timeout(REPORT_TIMEOUT, exited).await.is_err() {
        warn!(
            "{} did not finish within {}s; killed",
            program.display(),
            REPORT_TIMEOUT.as_secs()
        );
        let _ = child.kill();
    }
    match child.wait() {
        Ok(status) if status.success() => info!("Pacemaker was told ({})", program.display()),
        Ok(status) => warn!("{} failed: {status}", program.display()),
        Err(e) => warn!("{}: {e}", program.display()),
    }
}

/// One control connection: a request line in, a reply line out, from our own user only.
async fn serve_connection(
    stream: UnixStream,
    requests: mpsc::UnboundedSender<(Request, oneshot::Sender<Reply>)>,
) {
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == euid() => {}
        _ => return,
    }
    let exchange = async {
        let line = read_line(&stream).await?;
        let reply = match serde_json::from_slice::<Request>(&line) {
            Ok(request) => {
                let (tx, rx) = oneshot::channel();
                requests.unbounded_send((request, tx)).ok()?;
                rx.await.ok()?
            }
            Err(e) => Reply::refused(format!("not a request: {e}")),
        };
        let mut text = serde_json::to_vec(&reply).ok()?;
        text.push(b'\n');
        write_all(&stream, &text).await
    };
    let _ = tokio::time::timeout(CONTROL_TIMEOUT, exchange).await;
}

async fn read_line(stream: &UnixStream) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        stream.readable().await.ok()?;
        match stream.try_read(&mut chunk) {
            Ok(0) => return (!line.is_empty()).then_some(line),
            Ok(n) => {
                line.extend_from_slice(&chunk[..n]);
                if let Some(end) = line.iter().position(|b| *b == b'\n') {
                    line.truncate(end);
                    return Some(line);
                }
                if line.len() > MAX_LINE {
                    return None;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return None,
        }
    }
}

async fn write_all(stream: &UnixStream, mut bytes: &[u8]) -> Option<()> {
    while !bytes.is_empty() {
        stream.writable().await.ok()?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return None,
        }
    }
    Some(())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
