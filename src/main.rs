//! The process shell: environment and argv in, logging set up, one action run, one exit code
//! out. The only place that exits, and the only place a panic is caught.

use floatip::agent::operate::{operate, Failure, Operation};
use floatip::cli::{self, Environment, Invocation, Request, Tool, Trace};
use floatip::error::{panic_message, Error};
use floatip::host::node::SystemNode;
use floatip::host::state::DEFAULT_STATE_DIR;
use floatip::host::trace;
use floatip::host::{resident, tools};
use floatip::ocf::{self, Action, Status};
use floatip::params::Meta;
use log::{debug, warn};
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

fn run(
    request: &Request,
    env: &Environment,
    meta: &Meta,
    began: Instant,
) -> Result<Status, Failure> {
    if request.action == Action::Notify {
        debug!(
            "notify {}-{}: nothing to do",
            printable_env(env, "OCF_RESKEY_CRM_meta_notify_type"),
            printable_env(env, "OCF_RESKEY_CRM_meta_notify_operation")
        );
    }
    let mut node = SystemNode::new(state_dir_path(env), meta, began);
    operate(
        &mut node,
        &Operation {
            action: request.action,
            raw: &request.raw,
            meta,
            check_level: request.check_level,
        },
    )
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
            ExitCode::from(ocf::exit_status(e.kind, None, false).code())
        }
    }
}

fn exit_with(result: Result<Status, Failure>) -> ExitCode {
    match result {
        Ok(status) => ExitCode::from(status.code()),
        Err(failure) => {
            eprintln!("{}", ocf::exit_reason_line(&failure.reason));
            ExitCode::from(failure.status.code())
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
        Invocation::Fail(e) => return exit_with(Err(Failure::of(e, None, false))),
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
        Err(payload) => {
            let e = Error::generic(format!(
                "internal error (please report): {}",
                panic_message(payload.as_ref())
            ));
            exit_with(Err(Failure::of(e, Some(request.action), false)))
        }
    }
}
