//! One OCF operation from request to status: which parse it gets, which privileges it needs,
//! the network namespace, the resource's lock (and how stop wins over an operation holding
//! it), and how an observation becomes an exit code. Pure over the [`Node`] seam, so this
//! policy is unit-tested with a fake node over the fake host; `host::node` is the real one.

use super::{monitor, reload, start, stop, validate_environment, Host};
use crate::error::{Error, Kind, Result};
use crate::ocf::{Action, Status};
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

/// Runs the operation; a failure leaves with the exit code `exit_status` gives its kind for
/// this action.
pub fn operate<N: Node>(node: &mut N, op: &Operation) -> Result<Status> {
    run(node, op).map_err(|mut e| {
        e.status = exit_status(e.kind, e.status, op.action);
        e
    })
}

/// The exit code of a failure: the error's own, unless its kind means another one to this
/// action. The one place where what went wrong becomes a code that depends on the action
/// (IPaddr2's today, and floatip's deliberate differences, README "Actions and exit codes").
pub fn exit_status(kind: Kind, status: Status, action: Action) -> Status {
    match (kind, action) {
        // IPaddr2 4.17 (resource-agents 4a228f3d8): when findif cannot place the address, a
        // start says this node cannot host it (5), so Pacemaker tries another node;
        // validate-all keeps findif's own code.
        (Kind::Unplaced, Action::Start) => Status::ErrInstalled,
        // To a monitor, an address whose link is down is not running here (IPaddr2 since
        // resource-agents PR #2166, so that migration-threshold applies), nor is one whose
        // nic vanished (floatip: IPaddr2 says 1, but a restart here cannot help).
        (Kind::LinkDown | Kind::Absent, Action::Monitor) => Status::NotRunning,
        _ => status,
    }
}

fn run<N: Node>(node: &mut N, op: &Operation) -> Result<Status> {
    let action = op.action;
    if matches!(action, Action::Notify | Action::MetaData | Action::Usage) {
        // A floating address has nothing to do on a clone notification, which must succeed.
        return Ok(Status::Success);
    }
    let p = match action {
        // stop and monitor act on whatever identifies the address (see parse_lenient).
        Action::Stop => match params::parse_lenient(op.raw, op.meta) {
            Ok(p) => p,
            Err(e) => return stop_without_address(node, &e),
        },
        Action::Monitor => params::parse_lenient(op.raw, op.meta)?,
        _ => params::parse(op.raw, op.meta)?,
    };
    log_parameter_notes(&p, op.raw);
    debug!("{} with {p:?} and {:?}", action.name(), op.meta);
    let probe = action == Action::Monitor && op.meta.interval_ms == 0;
    let deep = action == Action::Monitor && op.check_level.unwrap_or(0) >= 10;
    let refreshes = action == Action::Monitor && !probe && monitor_refreshes(&p);
    node.require(action, required_capabilities(action, deep || refreshes))?;
    // validate-all checks this node too unless asked for the lightest level.
    if action == Action::ValidateAll && op.check_level.unwrap_or(10) < 10 {
        return params::check_fits(&p, op.meta).map(|()| Status::Success);
    }
    if let Some(ns) = &p.network_namespace {
        match (node.enter_namespace(ns), action) {
            (Ok(()), _) => {}
            // The name is gone; a resident process of ours may still hold the namespace,
            // and then stop and monitor act in it. Otherwise nothing of ours can be there.
            (Err(e), Action::Stop | Action::Monitor) if e.status == Status::ErrInstalled => {
                if !node.enter_resident_namespace(p.ip)? {
                    info!("{}; nothing of this resource can be there", e.reason);
                    return Ok(if action == Action::Stop {
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
    match action {
        Action::Start => start(host, &p, meta).map(|()| Status::Success),
        Action::Stop => stop(host, &p, meta).map(|()| Status::Success),
        Action::ReloadAgent => reload(host, &p, meta).map(|()| Status::Success),
        Action::Monitor => match monitor(host, &p, meta, deep) {
            Ok(Status::NotRunning) => not_running(&p, probe, None),
            Err(e) if exit_status(e.kind, e.status, action) == Status::NotRunning => {
                not_running(&p, probe, Some(e))
            }
            other => other,
        },
        Action::ValidateAll => validate_environment(host, &p, meta).map(|()| Status::Success),
        Action::Notify | Action::MetaData | Action::Usage => Ok(Status::Success),
    }
}

/// A monitor's "not running": expected of a probe, which says why in the log only; worth a
/// reason when a recurring monitor loses a running resource.
fn not_running(p: &Params, probe: bool, why: Option<Error>) -> Result<Status> {
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
        return Ok(Status::NotRunning);
    }
    Err(Error::not_running(reason))
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
