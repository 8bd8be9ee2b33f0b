//! The process shell: environment and argv in, logging set up, one action run, one exit code
//! out. The only place that exits, and the only place a panic is caught.

use floatip::agent;
use floatip::cli::{self, Environment, Invocation, Request, Tool, Trace};
use floatip::error::{panic_message, Error, Result};
use floatip::host::state::{StateDir, DEFAULT_STATE_DIR};
use floatip::host::trace;
use floatip::host::{end_residents_without_address, process, resident, system, tools, SystemHost};
use floatip::ocf::{self, Action, Status};
use floatip::params::{self, Meta, Params};
use log::{debug, info, warn};
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn environment() -> Environment {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v)))
        .filter(|(k, _)| {
            k.starts_with("OCF_")
                || k.starts_with("HA_")
                || k == "RUST_LOG"
                || k == "FLOATIP_STATE_DIR"
        })
        .collect()
}

/// One line per event on stderr, which pacemaker-execd records in its log, prefixed the way
/// other agents' lines are: `FloatIP(instance)[pid]: LEVEL: message`. With trace_ra, the
/// operation's debug log goes to its trace as well (or to stderr when it has nowhere else).
fn init_logging(env: &Environment, instance: &str, trace: Option<&Trace>) {
    let debug = env
        .get("HA_debug")
        .is_some_and(|v| v == "1" || v == "yes" || v == "true")
        || trace == Some(&Trace::Stderr);
    let mut builder = env_logger::Builder::new();
    builder.filter_level(if debug {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    });
    if let Some(spec) = env.get("RUST_LOG").and_then(|s| s.to_str()) {
        builder.parse_filters(spec);
    }
    let prefix = format!(
        "FloatIP({})[{}]",
        ocf::printable(instance),
        std::process::id()
    );
    let line_prefix = prefix.clone();
    // Every line is escaped: a value with a newline must not forge a line of its own.
    builder
        .format(move |buf, record| {
            let message = record.args().to_string();
            writeln!(
                buf,
                "{line_prefix}: {}: {}",
                record.level(),
                ocf::printable(&message)
            )
        })
        .target(env_logger::Target::Stderr);
    let stderr = builder.build();
    let mut problem = None;
    let sink = match trace {
        Some(t) => trace::open(t).unwrap_or_else(|e| {
            problem = Some(e);
            None
        }),
        None => None,
    };
    let level = if sink.is_some() {
        stderr.filter().max(log::LevelFilter::Debug)
    } else {
        stderr.filter()
    };
    let named = sink.as_ref().map(|s| s.name.clone());
    let sink = sink.map(|s| {
        let mut file = s.file;
        start_trace(&mut file, env, &prefix);
        std::sync::Mutex::new(file)
    });
    if log::set_boxed_logger(Box::new(Logger {
        stderr,
        sink,
        prefix,
    }))
    .is_ok()
    {
        log::set_max_level(level);
    }
    if let Some(problem) = problem {
        warn!("{problem}");
    }
    if let Some(ignored) = trace.and_then(|t| cli::trace_file_ignored(env, t)) {
        warn!("{ignored}");
    }
    if let Some(name) = named {
        debug!("tracing to {name}");
    }
}

/// The trace begins with the environment, as ocf-shellfuncs' trace does.
fn start_trace(file: &mut std::fs::File, env: &Environment, prefix: &str) {
    let mut text = format!(
        "# {prefix}: floatip {} ({}) trace\n",
        cli::VERSION,
        cli::GIT_REVISION
    );
    for (key, value) in env {
        let value = value.to_string_lossy();
        text.push_str(&format!("# {key}={}\n", ocf::printable(&value)));
    }
    let _ = file.write_all(text.as_bytes());
}

/// stderr at its level, and every line at debug level and above into the trace.
struct Logger {
    stderr: env_logger::Logger,
    sink: Option<std::sync::Mutex<std::fs::File>>,
    prefix: String,
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        self.stderr.enabled(metadata)
            || (self.sink.is_some() && metadata.level() <= log::LevelFilter::Debug)
    }

    fn log(&self, record: &log::Record) {
        if self.stderr.matches(record) {
            self.stderr.log(record);
        }
        let Some(sink) = &self.sink else { return };
        if record.level() > log::LevelFilter::Debug {
            return;
        }
        let message = record.args().to_string();
        let line = format!(
            "{} {}: {}: {}\n",
            trace::time_of_day(),
            self.prefix,
            record.level(),
            ocf::printable(&message)
        );
        if let Ok(mut file) = sink.lock() {
            let _ = file.write_all(line.as_bytes());
        }
    }

    fn flush(&self) {
        self.stderr.flush();
    }
}

/// FLOATIP_STATE_DIR, or /run/floatip.
fn state_dir_path(env: &Environment) -> OsString {
    env.get("FLOATIP_STATE_DIR")
        .filter(|d| !d.is_empty())
        .cloned()
        .unwrap_or_else(|| OsString::from(DEFAULT_STATE_DIR))
}

fn state_dir(env: &Environment, instance: &str) -> StateDir {
    StateDir::new(state_dir_path(env), instance)
}

/// The resource's name for logs and state: Pacemaker's, or derived from the address by hand
/// (the state directory maps it to a file name).
fn instance_name(request: &Request) -> String {
    request
        .instance
        .clone()
        .unwrap_or_else(|| match request.raw.value("ip") {
            Some(ip) => format!("ip-{}", ip.to_string_lossy()),
            None => "floatip".to_string(),
        })
}

fn log_parameter_notes(p: &Params, request: &Request) {
    for warning in &p.warnings {
        warn!("{warning}");
    }
    for name in &p.ignored {
        info!(
            "{name} is accepted for IPaddr2 compatibility and has no effect: {}",
            params::why_ignored(name)
        );
    }
    for name in &request.raw.unknown {
        warn!("unknown parameter {name} (OCF_RESKEY_{name}) is ignored; check its spelling");
    }
}

/// When the operation's waits must be over: its timeout from when this process started,
/// less the margin kept to answer in time.
fn operation_deadline(meta: &Meta, began: Instant) -> Instant {
    began + params::operation_budget(meta)
}

fn time_left(meta: &Meta, began: Instant) -> Duration {
    operation_deadline(meta, began).saturating_duration_since(Instant::now())
}

/// The part of its budget a stop may wait for the lock: the rest ends the resident and
/// removes the address, whatever another operation holds.
const STOP_LOCK_SHARE: u32 = 3;

/// Serialises operations on one resource, waiting at most for what is left of the operation's
/// timeout. stop waits only a third of what is left, then wins: it ends any operation of ours
/// still holding the lock (so none adds or announces the address after stop returned), and
/// goes on without the lock when it is unusable or held by something else: a stop that fails
/// over bookkeeping would get the node fenced.
fn lock(
    state: &StateDir,
    action: Action,
    meta: &Meta,
    began: Instant,
) -> Result<Option<std::fs::File>> {
    if action != Action::Stop {
        return state.lock(time_left(meta, began)).map(Some);
    }
    let e = match state.lock(time_left(meta, began) / STOP_LOCK_SHARE) {
        Ok(file) => return Ok(Some(file)),
        Err(e) => e,
    };
    let mut ended = false;
    for pid in state.lock_holders() {
        match process::end_operation(pid, time_left(meta, began) / STOP_LOCK_SHARE) {
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
        if let Ok(file) = state.lock(time_left(meta, began) / STOP_LOCK_SHARE) {
            return Ok(Some(file));
        }
    }
    warn!("{}; stopping without the resource lock", e.reason);
    Ok(None)
}

/// stop when not even the address parses: nothing of ours can be on an interface, but a
/// background process might still run from an older configuration, so it is ended all the
/// same.
fn stop_without_address(
    state: &StateDir,
    why: &Error,
    meta: &Meta,
    began: Instant,
) -> Result<Status> {
    warn!(
        "stop with an invalid address ({}); nothing to remove",
        why.reason
    );
    let _lock = lock(state, Action::Stop, meta, began)?;
    end_residents_without_address(state, time_left(meta, began))?;
    Ok(Status::Success)
}

/// The capabilities each action uses, and no more: stop removes addresses and ends our own
/// processes but sends nothing; a monitor sends only when it probes or refreshes.
fn required_capabilities(action: Action, sends: bool) -> &'static [(u32, &'static str)] {
    const ADMIN: (u32, &str) = (system::CAP_NET_ADMIN, "CAP_NET_ADMIN");
    const RAW: (u32, &str) = (system::CAP_NET_RAW, "CAP_NET_RAW");
    match action {
        Action::Start | Action::ReloadAgent => &[ADMIN, RAW],
        Action::Stop => &[ADMIN],
        Action::Monitor if sends => &[RAW],
        _ => &[],
    }
}

fn run(request: &Request, env: &Environment, meta: &Meta, began: Instant) -> Result<Status> {
    let action = request.action;
    if action == Action::Notify {
        // Pacemaker expects notify to succeed; a floating address has nothing to do on one.
        debug!(
            "notify {}-{}: nothing to do",
            printable_env(env, "OCF_RESKEY_CRM_meta_notify_type"),
            printable_env(env, "OCF_RESKEY_CRM_meta_notify_operation")
        );
        return Ok(Status::Success);
    }
    let state = state_dir(env, &meta.resource);
    let p = match action {
        // stop and monitor act on whatever identifies the address (see parse_lenient).
        Action::Stop => match params::parse_lenient(&request.raw, meta) {
            Ok(p) => p,
            Err(e) => return stop_without_address(&state, &e, meta, began),
        },
        Action::Monitor => params::parse_lenient(&request.raw, meta)?,
        _ => params::parse(&request.raw, meta)?,
    };
    log_parameter_notes(&p, request);
    debug!("{} with {p:?} and {meta:?}", action.name());
    let probe = action == Action::Monitor && meta.interval_ms == 0;
    let deep = action == Action::Monitor && request.check_level.unwrap_or(0) >= 10;
    let refreshes = !probe
        && (p.announce.refresh_count > 0
            || p.announce.refresh_interval_s > 0
            || p.nics.len() > 1
            || p.link_watch);
    system::require_capabilities(
        action.name(),
        required_capabilities(action, deep || refreshes),
    )?;
    // validate-all checks this node too unless asked for the lightest level.
    if action == Action::ValidateAll && request.check_level.unwrap_or(10) < 10 {
        return params::check_fits(&p, meta).map(|()| Status::Success);
    }
    if let Some(ns) = &p.network_namespace {
        match (system::enter_network_namespace(ns), action) {
            (Ok(()), _) => {}
            // The name is gone; a resident process of ours may still hold the namespace,
            // and then stop and monitor act in it. Otherwise nothing of ours can be there.
            (Err(e), Action::Stop | Action::Monitor) if e.status == Status::ErrInstalled => {
                if !floatip::host::enter_resident_namespace(&state, p.ip)? {
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
    let changes_things = matches!(action, Action::Start | Action::Stop | Action::ReloadAgent)
        || (action == Action::Monitor && (deep || refreshes));
    let _lock = if changes_things {
        lock(&state, action, meta, began)?
    } else {
        None
    };
    let mut host = SystemHost::new(state, p.ip, began)?
        .with_deadline(operation_deadline(meta, began))
        .with_namespace(p.network_namespace.clone());
    match action {
        Action::Start => agent::start(&mut host, &p, meta).map(|()| Status::Success),
        Action::Stop => agent::stop(&mut host, &p, meta).map(|()| Status::Success),
        Action::ReloadAgent => agent::reload(&mut host, &p, meta).map(|()| Status::Success),
        Action::Monitor => {
            let observed = match agent::monitor(&mut host, &p, meta, deep) {
                // A configured nic that is missing means the address cannot be here.
                Err(e) if e.status == Status::ErrInstalled => Ok(Status::NotRunning),
                other => other,
            };
            match observed {
                // Expected for a probe; worth a reason when a running resource is lost.
                Ok(Status::NotRunning) if !probe => Err(Error::not_running(format!(
                    "{} is not assigned on this node",
                    p.ip
                ))),
                other => other,
            }
        }
        Action::ValidateAll => {
            agent::validate_environment(&mut host, &p, meta).map(|()| Status::Success)
        }
        Action::Notify | Action::MetaData | Action::Usage => Ok(Status::Success),
    }
}

fn printable_env(env: &Environment, key: &str) -> String {
    env.get(key)
        .map(|v| ocf::printable(&v.to_string_lossy()).into_owned())
        .unwrap_or_default()
}

/// The operator's commands: plain errors on stderr, not OCF exit reasons.
fn run_tool(tool: &Tool, env: &Environment) -> ExitCode {
    init_logging(env, "floatip", None);
    let result = match tool {
        Tool::Listen {
            nic,
            json,
            count,
            seconds,
        } => tools::listen(nic, *json, *count, seconds.map(Duration::from_secs_f64)),
        Tool::Status { json } => tools::status(std::path::Path::new(&state_dir_path(env)), *json),
        Tool::ProbeSegment {
            nics,
            json,
            wait_ms,
        } => tools::probe_segment(nics, *json, Duration::from_millis(*wait_ms)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floatip: {}", e.reason);
            ExitCode::from(e.status.code())
        }
    }
}

fn exit_with(result: Result<Status>) -> ExitCode {
    match result {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            eprintln!("{}", ocf::exit_reason_line(&e.reason));
            ExitCode::from(e.status.code())
        }
    }
}

fn main() -> ExitCode {
    let began = Instant::now();
    let args: Vec<OsString> = std::env::args_os().collect();
    let env = environment();
    let request = match cli::parse(&args, &env) {
        Invocation::Agent(request) => request,
        Invocation::Resident(args) => return ExitCode::from(resident::run(&args)),
        Invocation::Print(text, status) => {
            print!("{text}");
            return ExitCode::from(status.code());
        }
        Invocation::Fail(e) => return exit_with(Err(e)),
        Invocation::Tool(tool) => return run_tool(&tool, &env),
    };
    // Answered before any validation and without privileges.
    match request.action {
        Action::MetaData => {
            print!("{}", ocf::META_DATA);
            return ExitCode::SUCCESS;
        }
        Action::Usage => {
            print!("{}", ocf::USAGE);
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let instance = instance_name(&request);
    init_logging(&env, &instance, request.trace.as_ref());
    let meta = Meta {
        resource: instance,
        ..request.meta.clone()
    };
    // A panic must never reach Pacemaker as exit 101: it becomes OCF_ERR_GENERIC with a reason.
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| run(&request, &env, &meta, began));
    match outcome {
        Ok(result) => exit_with(result),
        Err(payload) => exit_with(Err(Error::generic(format!(
            "internal error (please report): {}",
            panic_message(payload.as_ref())
        )))),
    }
}
