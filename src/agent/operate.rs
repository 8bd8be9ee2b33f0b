//! One OCF operation from request to status: which parse it gets, which privileges it needs,
//! the network namespace, the resource's lock (and how stop wins over an operation holding
//! it), and how an observation becomes an outcome (an error's code is `ocf::exit_status`'s).
//! Pure over the [`Node`] seam, so this policy is unit-tested with a fake node over the fake
//! host; `host::node` is the real one.

use super::{monitor, reload, start, stop, validate_environment, Host};
use crate::error::{Error, Kind, Result};
use crate::ocf::{exit_status, Action, Status};
use crate::params::{self, Meta, Params, RawParams};
use log::{debug, info, warn};
use std::net::IpAddr;
use std::time::Duration;

/// What Pacemaker asked for.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    pub action: Action,
    pub raw: &'a RawParams,
    pub meta: &'a Meta,
    /// OCF_CHECK_LEVEL when given.
    pub check_level: Option<u32>,
}

/// The privileges an action may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Addresses, links, the resident's processes.
    NetAdmin,
    /// Frames on the wire.
    NetRaw,
}

/// What surrounds an operation on this node.
pub trait Node {
    type Host: Host;
    /// Fails with OCF_ERR_PERM naming what `action` needs and this process lacks.
    fn require(&mut self, action: Action, needed: &[Capability]) -> Result<()>;
    /// Enters the named network namespace; OCF_ERR_INSTALLED when it does not exist.
    fn enter_namespace(&mut self, name: &str) -> Result<()>;
    /// Enters the namespace a resident of this resource (serving `ip`) still holds; false
    /// when none runs.
    fn enter_resident_namespace(&mut self, ip: IpAddr) -> Result<bool>;
    /// Takes the resource's lock, waiting at most `patience`; held until the node is dropped.
    fn lock(&mut self, patience: Duration) -> Result<()>;
    /// Processes holding the resource's lock.
    fn lock_holders(&mut self) -> Vec<i32>;
    /// Ends `pid` if it is an operation of ours (not a resident); Ok(false) when it is not.
    fn end_operation(&mut self, pid: i32, patience: Duration) -> Result<bool>;
    /// Ends this resource's residents whatever address they serve.
    fn end_residents_without_address(&mut self, patience: Duration) -> Result<()>;
    /// What is left of the operation's budget.
    fn time_left(&mut self) -> Duration;
    /// The host the operation acts on, opened once.
    fn host(&mut self, p: &Params) -> Result<&mut Self::Host>;
}

/// The part of its budget a stop may wait for the lock: the rest ends the resident and
/// removes the address, whatever another operation holds.
pub const STOP_LOCK_SHARE: u32 = 3;

/// An operation that did not succeed, as Pacemaker is told: the exit code and the one-line
/// exit reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: Status,
    pub reason: String,
    /// The kind of the error behind it; none when the news is an outcome (a recurring
    /// monitor's "not running"), not an error.
    pub kind: Option<Kind>,
}

impl Failure {
    /// An error that ended `action` (`None`: before any action), with the code
    /// `ocf::exit_status` gives its kind.
    pub fn of(e: Error, action: Option<Action>, probe: bool) -> Failure {
        Failure {
            status: exit_status(e.kind, action, probe),
            reason: e.reason,
            kind: Some(e.kind),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// What an operation came to, short of an error.
enum Outcome {
    Status(Status),
    /// A recurring monitor lost a running resource: not running, with the reason.
    Lost(String),
}

/// Runs the operation: its status, or the failure with the code its error's kind means to
/// this action.
pub fn operate<N: Node>(node: &mut N, op: &Operation) -> std::result::Result<Status, Failure> {
    let probe = op.action == Action::Monitor && op.meta.interval_ms == 0;
    match run(node, op, probe) {
        Ok(Outcome::Status(status)) => Ok(status),
        Ok(Outcome::Lost(reason)) => Err(Failure {
            status: Status::NotRunning,
            reason,
            kind: None,
        }),
        Err(e) => Err(Failure::of(e, Some(op.action), probe)),
    }
}

fn run<N: Node>(node: &mut N, op: &Operation, probe: bool) -> Result<Outcome> {
    let action = op.action;
    let done = |status| Ok(Outcome::Status(status));
    if matches!(action, Action::Notify | Action::MetaData | Action::Usage) {
        // A floating address has nothing to do on a clone notification, which must succeed.
        return done(Status::Success);
    }
    let p = match action {
        // stop and monitor act on whatever identifies the address (see parse_lenient).
        Action::Stop => match params::parse_lenient(op.raw, op.meta) {
            Ok(p) => p,
            Err(e) => return stop_without_address(node, &e).and_then(done),
        },
        Action::Monitor => params::parse_lenient(op.raw, op.meta)?,
        _ => params::parse(op.raw, op.meta)?,
    };
    log_parameter_notes(&p, op.raw);
    debug!("{} with {p:?} and {:?}", action.name(), op.meta);
    let deep = action == Action::Monitor && op.check_level.unwrap_or(0) >= 10;
    let refreshes = action == Action::Monitor && !probe && monitor_refreshes(&p);
    node.require(action, required_capabilities(action, deep || refreshes))?;
    // validate-all checks this node too unless asked for the lightest level.
    if action == Action::ValidateAll && op.check_level.unwrap_or(10) < 10 {
        params::check_fits(&p, op.meta)?;
        return done(Status::Success);
    }
    if let Some(ns) = &p.network_namespace {
        match (node.enter_namespace(ns), action) {
            (Ok(()), _) => {}
            // The name is gone; a resident process of ours may still hold the namespace,
            // and then stop and monitor act in it. Otherwise nothing of ours can be there.
            (Err(e), Action::Stop | Action::Monitor) if e.kind == Kind::Absent => {
                if !node.enter_resident_namespace(p.ip)? {
                    info!("{}; nothing of this resource can be there", e.reason);
                    return done(if action == Action::Stop {
                        Status::Success
                    } else {
                        Status::NotRunning
                    });
                }
                info!(
                    "{}; acting in the namespace its background process still holds",
                    e.reason
                );
            }
            (Err(e), _) => return Err(e),
        }
    }
    let changes_things =
        matches!(action, Action::Start | Action::Stop | Action::ReloadAgent) || deep || refreshes;
    if changes_things {
        lock(node, action)?;
    }
    let meta = op.meta;
    let host = node.host(&p)?;
    let status = match action {
        Action::Start => start(host, &p, meta).map(|()| Status::Success),
        Action::Stop => stop(host, &p, meta).map(|()| Status::Success),
        Action::ReloadAgent => reload(host, &p, meta).map(|()| Status::Success),
        Action::Monitor => {
            return match monitor(host, &p, meta, deep) {
                Ok(Status::NotRunning) => Ok(not_running(&p, probe, None)),
                Err(e) if exit_status(e.kind, Some(action), probe) == Status::NotRunning => {
                    Ok(not_running(&p, probe, Some(e)))
                }
                other => other.map(Outcome::Status),
            }
        }
        Action::ValidateAll => validate_environment(host, &p, meta).map(|()| Status::Success),
        Action::Notify | Action::MetaData | Action::Usage => Ok(Status::Success),
    };
    status.map(Outcome::Status)
}

/// A monitor's "not running": expected of a probe, which says why in the log only; worth a
/// reason when a recurring monitor loses a running resource.
fn not_running(p: &Params, probe: bool, why: Option<Error>) -> Outcome {
    let reason = match &why {
        // The link's own words, as every other agent's "link down" reads.
        Some(e) if e.kind == Kind::LinkDown => e.reason.clone(),
        Some(e) => format!("{} is not assigned on this node: {}", p.ip, e.reason),
        None => format!("{} is not assigned on this node", p.ip),
    };
    if probe {
        if why.is_some() {
            info!("{reason}");
        }
        return Outcome::Status(Status::NotRunning);
    }
    Outcome::Lost(reason)
}

/// Whether a recurring monitor sends (refresh rounds) or hands the resident a plan: the same
/// lasting work `Plan::watches` names, plus arp_count_refresh.
pub fn monitor_refreshes(p: &Params) -> bool {
    p.announce.refresh_count > 0
        || p.announce.refresh_interval_s > 0
        || p.nics.len() > 1
        || p.link_watch
}

/// The capabilities each action uses, and no more: stop removes addresses and ends our own
/// processes but sends nothing; a monitor sends only when it probes or refreshes.
pub fn required_capabilities(action: Action, sends: bool) -> &'static [Capability] {
    use Capability::*;
    match action {
        Action::Start | Action::ReloadAgent => &[NetAdmin, NetRaw],
        Action::Stop => &[NetAdmin],
        Action::Monitor if sends => &[NetRaw],
        _ => &[],
    }
}

/// Serialises operations on one resource, waiting at most for what is left of the budget.
/// stop waits only a third of what is left, then wins: it ends any operation of ours still
/// holding the lock (so none adds or announces the address after stop returned), and goes on
/// without the lock when it is unusable or held by something else: a stop that fails over
/// bookkeeping would get the node fenced.
fn lock<N: Node>(node: &mut N, action: Action) -> Result<()> {
    if action != Action::Stop {
        let patience = node.time_left();
        return node.lock(patience);
    }
    let share = |node: &mut N| node.time_left() / STOP_LOCK_SHARE;
    let patience = share(node);
    let e = match node.lock(patience) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let mut ended = false;
    for pid in node.lock_holders() {
        let patience = share(node);
        match node.end_operation(pid, patience) {
            Ok(true) => {
                warn!("ended operation {pid} of this resource, which held its lock: stop wins");
                ended = true;
            }
            Ok(false) => {}
            Err(e) => warn!("{}", e.reason),
        }
    }
    if ended {
        // The lock goes with the ended process's files, a moment after it stops running.
        let patience = share(node);
        if node.lock(patience).is_ok() {
            return Ok(());
        }
    }
    warn!("{}; stopping without the resource lock", e.reason);
    Ok(())
}

/// stop when not even the address parses: nothing of ours can be on an interface, but a
/// background process might still run from an older configuration, so it is ended all the
/// same.
fn stop_without_address<N: Node>(node: &mut N, why: &Error) -> Result<Status> {
    warn!(
        "stop with an invalid address ({}); nothing to remove",
        why.reason
    );
    lock(node, Action::Stop)?;
    let patience = node.time_left();
    node.end_residents_without_address(patience)?;
    Ok(Status::Success)
}

fn log_parameter_notes(p: &Params, raw: &RawParams) {
    for warning in &p.warnings {
        warn!("{warning}");
    }
    for name in &p.ignored {
        info!(
            "{name} is accepted for IPaddr2 compatibility and has no effect: {}",
            params::why_ignored(name)
        );
    }
    for name in &raw.unknown {
        warn!("unknown parameter {name} (OCF_RESKEY_{name}) is ignored; check its spelling");
    }
}
