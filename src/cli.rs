//! The command line, for Pacemaker and for people (pure: argv and environment come in as
//! values). Pacemaker calls `FloatIP ACTION` with parameters in `OCF_RESKEY_*`; people may
//! add `--flag value` for any parameter, which overrides the variable.
//!
//! clap's own exit codes would lie to Pacemaker (its usage error is 2 = OCF_ERR_ARGS, which is
//! right, but an unknown subcommand must be 3 = OCF_ERR_UNIMPLEMENTED), so every clap outcome
//! is mapped here deliberately.

use crate::error::{Error, Kind};
use crate::ocf::{Action, Status};
use crate::params::{Meta, RawParams, PARAMETERS};
use clap::error::ErrorKind;
use clap::{Arg, ArgAction, Command};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_REVISION: &str = env!("FLOATIP_GIT_REVISION");

/// The environment, as far as floatip reads it.
pub type Environment = BTreeMap<String, OsString>;

#[derive(Debug)]
pub enum Invocation {
    Agent(Request),
    /// The resident process (see host::resident), with its arguments after the marker.
    Resident(Vec<OsString>),
    /// Text for stdout (help, version) and the code to exit with.
    Print(String, Status),
    Fail(Error),
    /// An operator's command, not an OCF action.
    Tool(Tool),
}

/// The operator's commands (see host::tools).
#[derive(Debug, Clone, PartialEq)]
pub enum Tool {
    Listen {
        nic: String,
        json: bool,
        count: Option<u64>,
        seconds: Option<f64>,
    },
    Status {
        json: bool,
    },
    ProbeSegment {
        nics: Vec<String>,
        json: bool,
        wait_ms: u64,
    },
}

#[derive(Debug)]
pub struct Request {
    pub action: Action,
    pub raw: RawParams,
    pub meta: Meta,
    /// OCF_CHECK_LEVEL when given: validate-all checks the node too from 10 (its default
    /// here), monitor probes for another owner from 10 (its default is 0).
    pub check_level: Option<u32>,
    pub instance: Option<String>,
    /// trace_ra: where this operation's debug log goes, as ocf-shellfuncs traces agents.
    pub trace: Option<Trace>,
}

pub use crate::host::trace::Trace;

const ACTIONS: &[(&str, &str)] = &[
    ("start", "add the address and announce it"),
    ("stop", "end announcements and remove the address"),
    (
        "monitor",
        "check the address (a probe when OCF_RESKEY_CRM_meta_interval is 0)",
    ),
    ("status", "the same as monitor"),
    (
        "validate-all",
        "check the parameters (and, at check level 10, this node)",
    ),
    ("reload-agent", "apply changed announcement settings"),
    ("meta-data", "print the OCF meta-data"),
    ("usage", "print a short usage text"),
];

fn flag_name(param: &str) -> String {
    param.replace('_', "-")
}

/// The clap definition, also used to generate the man page.
/// clap wants 'static names; these are made once per process, not once per call.
fn static_strings() -> &'static (String, Vec<String>) {
    static STRINGS: std::sync::OnceLock<(String, Vec<String>)> = std::sync::OnceLock::new();
    STRINGS.get_or_init(|| {
        (
            format!("{VERSION} ({GIT_REVISION})"),
            PARAMETERS.iter().map(|p| flag_name(p.name)).collect(),
        )
    })
}

pub fn command() -> Command {
    let (version, flags) = static_strings();
    let version: &'static str = version.as_str();
    let mut cmd = Command::new("floatip")
        .about("OCF resource agent for a floating IPv4/IPv6 address, announced by gratuitous ARP and unsolicited NA")
        .long_about(
            "floatip is the Pacemaker resource agent ocf:floatip:FloatIP. Pacemaker runs it as \
             /usr/lib/ocf/resource.d/floatip/FloatIP ACTION with parameters in OCF_RESKEY_<name> \
             variables; run by hand, every parameter is also a --flag that overrides its variable.",
        )
        .version(version)
        .subcommand_required(true)
        .disable_help_subcommand(true);
    for (name, about) in ACTIONS {
        let mut sub = Command::new(*name).about(*about);
        if !matches!(*name, "meta-data" | "usage") {
            for (spec, flag) in PARAMETERS.iter().zip(flags) {
                let flag: &'static str = flag.as_str();
                let mut arg = Arg::new(spec.name)
                    .long(flag)
                    .value_name("VALUE")
                    .action(ArgAction::Set)
                    .value_parser(clap::value_parser!(OsString))
                    .help(spec.help);
                if flag != spec.name {
                    arg = arg.alias(spec.name);
                }
                sub = sub.arg(arg);
            }
        }
        if *name == "status" {
            sub = sub.arg(
                Arg::new("json")
                    .long("json")
                    .action(ArgAction::SetTrue)
                    .help("without --ip: list what floatip manages on this host, as JSON"),
            );
        }
        cmd = cmd.subcommand(sub);
    }
    let json = || {
        Arg::new("json")
            .long("json")
            .action(ArgAction::SetTrue)
            .help("one JSON object per line")
    };
    cmd.subcommand(
        Command::new("listen")
            .about("print every ARP and neighbour discovery frame seen on an interface, flagging conflicts")
            .arg(Arg::new("nic").long("nic").required(true).value_name("IF").help("the interface to watch"))
            .arg(json())
            .arg(
                Arg::new("count")
                    .long("count")
                    .value_name("N")
                    .allow_hyphen_values(true)
                    .value_parser(clap::value_parser!(u64).range(1..))
                    .help("stop after N frames"),
            )
            .arg(
                Arg::new("seconds")
                    .long("seconds")
                    .value_name("S")
                    .allow_hyphen_values(true)
                    .value_parser(listen_seconds)
                    .help("stop after S seconds (at most 31 days)"),
            ),
    )
    .subcommand(
        Command::new("probe-segment")
            .about("tell which of the given interfaces share one broadcast segment")
            .arg(Arg::new("nic").long("nic").required(true).value_name("IF,IF,...").help("the interfaces to probe"))
            .arg(json())
            .arg(
                Arg::new("wait-ms")
                    .long("wait-ms")
                    .value_name("MS")
                    .allow_hyphen_values(true)
                    .value_parser(clap::value_parser!(u64).range(1..=WAIT_MS_MAX))
                    .default_value("500")
                    .help("how long to listen for the probes"),
            ),
    )
}

/// The longest `listen --seconds`: long enough for any watch, short enough that the deadline
/// is a time (a Duration from 1e300 seconds would panic).
pub const LISTEN_SECONDS_MAX: f64 = 31.0 * 86_400.0;
/// The longest `probe-segment --wait-ms`: a minute.
pub const WAIT_MS_MAX: u64 = 60_000;

/// `listen --seconds`: a finite number of seconds above 0 and at most LISTEN_SECONDS_MAX.
fn listen_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| "not a number of seconds".to_string())?;
    // Written so that NaN fails too.
    if seconds > 0.0 && seconds <= LISTEN_SECONDS_MAX {
        Ok(seconds)
    } else {
        Err(format!(
            "must be more than 0 and at most {LISTEN_SECONDS_MAX} (31 days)"
        ))
    }
}

/// `status` without an address is the operator's host-wide listing; with one (Pacemaker's
/// environment or --ip) it is IPaddr2's alias of monitor.
fn wants_host_status(raw: &RawParams) -> bool {
    !raw.is_set("ip")
}

/// The operator's commands, which clap parses (they have required flags).
const TOOLS: &[&str] = &["listen", "probe-segment"];

fn tool(name: &str, sub: &clap::ArgMatches) -> Option<Tool> {
    if !TOOLS.contains(&name) {
        return None;
    }
    let json = sub.get_flag("json");
    match name {
        "listen" => Some(Tool::Listen {
            nic: sub.get_one::<String>("nic")?.clone(),
            json,
            count: sub.get_one::<u64>("count").copied(),
            seconds: sub.get_one::<f64>("seconds").copied(),
        }),
        "probe-segment" => Some(Tool::ProbeSegment {
            nics: sub
                .get_one::<String>("nic")?
                .split(',')
                .map(str::to_string)
                .collect(),
            json,
            wait_ms: sub.get_one::<u64>("wait-ms").copied().unwrap_or(500),
        }),
        _ => None,
    }
}

/// `OCF_RESKEY_` names the resource-agents framework reads for every agent, not parameters of
/// floatip's own: tracing (ocf-shellfuncs).
pub const FRAMEWORK_PARAMETERS: &[&str] = &["trace_ra", "trace_file", "trace_dir"];

fn env_params(env: &Environment) -> RawParams {
    let mut raw = RawParams::new();
    for (key, value) in env {
        let Some(name) = key.strip_prefix("OCF_RESKEY_") else {
            continue;
        };
        if raw.set(name, value.clone())
            || name.starts_with("CRM_meta_")
            || name == "crm_feature_set"
            || FRAMEWORK_PARAMETERS.contains(&name)
        {
            continue;
        }
        raw.unknown.push(name.to_string());
    }
    raw
}

fn env_text<'a>(env: &'a Environment, key: &str) -> Option<&'a str> {
    env.get(key)?.to_str().filter(|s| !s.is_empty())
}

/// ocf-shellfuncs' ocf_is_true.
fn shell_true(value: &str) -> bool {
    matches!(
        value,
        "yes" | "true" | "1" | "YES" | "TRUE" | "True" | "ja" | "on" | "ON"
    )
}

/// The trace ocf-shellfuncs would start for this call: OCF_TRACE_RA, else the trace_ra
/// parameter, turns it on; OCF_TRACE_FILE, else trace_file, says where; otherwise the default
/// file under trace_dir. `program` is argv[0], whose file name is the resource type when
/// OCF_RESOURCE_TYPE is unset.
pub fn trace_request(env: &Environment, program: &str, action: Action) -> Option<Trace> {
    let on = env_text(env, "OCF_TRACE_RA").or_else(|| env_text(env, "OCF_RESKEY_trace_ra"))?;
    if !shell_true(on) {
        return None;
    }
    let file = env_text(env, "OCF_TRACE_FILE").or_else(|| env_text(env, "OCF_RESKEY_trace_file"));
    match file {
        Some(fd) if fd.len() == 1 && (b'3'..=b'9').contains(&fd.as_bytes()[0]) => {
            return Some(Trace::Fd(i32::from(fd.as_bytes()[0] - b'0')))
        }
        // The shell's `/*/*` pattern: absolute, with a directory.
        Some(path) if path.starts_with('/') && path[1..].contains('/') => {
            return Some(Trace::File(PathBuf::from(path)))
        }
        _ => {}
    }
    let Some(instance) = env_text(env, "OCF_RESOURCE_INSTANCE") else {
        return Some(Trace::Stderr);
    };
    let resource_type = env_text(env, "OCF_RESOURCE_TYPE")
        .map(str::to_string)
        .unwrap_or_else(|| {
            std::path::Path::new(program)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "FloatIP".to_string())
        });
    let dir = match env_text(env, "OCF_RESKEY_trace_dir") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env_text(env, "HA_VARLIB").unwrap_or("/var/lib/heartbeat"))
            .join("trace_ra"),
    };
    Some(Trace::Default {
        dir,
        resource_type,
        instance: instance.to_string(),
        action: action.name().to_string(),
    })
}

/// A trace file setting that is neither a descriptor nor an absolute path, which
/// ocf-shellfuncs warns about before falling back to the default.
pub fn trace_file_ignored(env: &Environment, trace: &Trace) -> Option<String> {
    if !matches!(trace, Trace::Default { .. } | Trace::Stderr) {
        return None;
    }
    let (key, value) = ["OCF_TRACE_FILE", "OCF_RESKEY_trace_file"]
        .iter()
        .find_map(|k| env_text(env, k).map(|v| (*k, v)))?;
    Some(format!(
        "{key} {:?} must be a descriptor from 3 to 9 or an absolute path; tracing to the default place instead",
        crate::ocf::printable(value)
    ))
}

fn env_number(env: &Environment, key: &str) -> Option<u64> {
    env.get(key)?.to_str()?.trim().parse().ok()
}

fn meta(env: &Environment) -> Meta {
    let defaults = Meta::default();
    Meta {
        interval_ms: env_number(env, "OCF_RESKEY_CRM_meta_interval")
            .unwrap_or(defaults.interval_ms),
        timeout_ms: env_number(env, "OCF_RESKEY_CRM_meta_timeout")
            .filter(|t| *t > 0)
            .unwrap_or(defaults.timeout_ms),
        clone_max: env_number(env, "OCF_RESKEY_CRM_meta_clone_max").unwrap_or(defaults.clone_max),
        // Named by main once it knows the instance (or the address, by hand).
        resource: defaults.resource,
        node: env
            .get("OCF_RESKEY_CRM_meta_on_node")
            .and_then(|s| s.to_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    }
}

fn request(action: Action, raw: RawParams, env: &Environment, program: &str) -> Request {
    Request {
        action,
        trace: trace_request(env, program, action),
        raw,
        meta: meta(env),
        check_level: env_number(env, "OCF_CHECK_LEVEL").map(|l| l.min(u64::from(u32::MAX)) as u32),
        instance: env
            .get("OCF_RESOURCE_INSTANCE")
            .and_then(|s| s.to_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    }
}

fn unknown_action(name: &str) -> Invocation {
    Invocation::Fail(Error::new(
        Kind::Unimplemented,
        format!("action {name:?} is not implemented by FloatIP"),
    ))
}

pub fn parse(args: &[OsString], env: &Environment) -> Invocation {
    let program = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let program = program.as_str();
    let first = args.get(1).and_then(|a| a.to_str());
    if first == Some(crate::resident::RESIDENT_ARG) {
        return Invocation::Resident(args[2..].to_vec());
    }
    // What Pacemaker does on every call: one action, parameters in the environment. Answered
    // without building the clap command, which is most of a monitor's start-up cost.
    if args.len() == 2 {
        if let Some(name) = first.filter(|a| !a.starts_with('-') && !TOOLS.contains(a)) {
            let raw = env_params(env);
            if name == "status" && wants_host_status(&raw) {
                return Invocation::Tool(Tool::Status { json: false });
            }
            return match Action::from_name(name) {
                Some(action) => Invocation::Agent(request(action, raw, env, program)),
                None => unknown_action(name),
            };
        }
    }
    let matches = match command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    Invocation::Print(e.to_string(), Status::Success)
                }
                ErrorKind::InvalidSubcommand => unknown_action(first.unwrap_or("?")),
                ErrorKind::MissingSubcommand
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    Invocation::Print(crate::ocf::USAGE.to_string(), Status::ErrArgs)
                }
                _ => Invocation::Fail(Error::new(
                    Kind::Arguments,
                    e.to_string()
                        .lines()
                        .next()
                        .unwrap_or("invalid arguments")
                        .trim_start_matches("error: ")
                        .to_string(),
                )),
            };
        }
    };
    let Some((name, sub)) = matches.subcommand() else {
        return Invocation::Print(crate::ocf::USAGE.to_string(), Status::ErrArgs);
    };
    if let Some(tool) = tool(name, sub) {
        return Invocation::Tool(tool);
    }
    let Some(action) = Action::from_name(name) else {
        return unknown_action(name);
    };
    let mut raw = env_params(env);
    for spec in PARAMETERS {
        if let Ok(Some(value)) = sub.try_get_one::<OsString>(spec.name) {
            raw.set(spec.name, value.clone());
        }
    }
    if name == "status" && (sub.get_flag("json") || wants_host_status(&raw)) {
        return Invocation::Tool(Tool::Status {
            json: sub.get_flag("json"),
        });
    }
    Invocation::Agent(request(action, raw, env, program))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn env(pairs: &[(&str, &str)]) -> Environment {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect()
    }

    #[test]
    fn pacemaker_call_reads_the_environment() {
        let e = env(&[
            ("OCF_RESKEY_ip", "198.51.100.50"),
            ("OCF_RESKEY_CRM_meta_interval", "10000"),
            ("OCF_RESOURCE_INSTANCE", "vip"),
        ]);
        match parse(&args(&["FloatIP", "monitor"]), &e) {
            Invocation::Agent(r) => {
                assert_eq!(r.action, Action::Monitor);
                assert!(r.raw.is_set("ip"));
                assert_eq!(r.meta.interval_ms, 10_000);
                assert_eq!(r.instance.as_deref(), Some("vip"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_override_the_environment() {
        let e = env(&[("OCF_RESKEY_ip", "198.51.100.50")]);
        match parse(
            &args(&[
                "floatip",
                "start",
                "--ip",
                "198.51.100.60",
                "--cidr-netmask",
                "24",
            ]),
            &e,
        ) {
            Invocation::Agent(r) => {
                let p = crate::params::parse(&r.raw, &r.meta).unwrap();
                assert_eq!(p.ip.to_string(), "198.51.100.60");
                assert_eq!(p.prefix, Some(24));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_action_is_unimplemented_and_bad_flags_are_args_errors() {
        let e = Environment::new();
        for argv in [
            &["FloatIP", "promote"][..],
            &["FloatIP", "migrate_to", "--ip", "x"][..],
        ] {
            match parse(&args(argv), &e) {
                Invocation::Fail(err) => {
                    assert_eq!(err.kind, Kind::Unimplemented, "{argv:?}")
                }
                other => panic!("{other:?}"),
            }
        }
        match parse(&args(&["floatip", "start", "--no-such-flag", "1"]), &e) {
            Invocation::Fail(err) => assert_eq!(err.kind, Kind::Arguments),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn help_and_version_print_and_succeed() {
        for argv in [
            &["floatip", "--help"][..],
            &["floatip", "--version"][..],
            &["floatip", "start", "--help"][..],
        ] {
            match parse(&args(argv), &Environment::new()) {
                Invocation::Print(_, Status::Success) => {}
                other => panic!("{argv:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_ocf_variables_are_collected_but_pacemaker_ones_are_not() {
        let e = env(&[
            ("OCF_RESKEY_ip", "198.51.100.50"),
            ("OCF_RESKEY_cidr_netmsk", "24"),
            ("OCF_RESKEY_crm_feature_set", "3.16"),
            ("OCF_RESKEY_CRM_meta_timeout", "20000"),
        ]);
        match parse(&args(&["FloatIP", "start"]), &e) {
            Invocation::Agent(r) => assert_eq!(r.raw.unknown, vec!["cidr_netmsk".to_string()]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn status_is_monitor_with_an_address_and_the_host_listing_without() {
        let with_ip = env(&[("OCF_RESKEY_ip", "198.51.100.50")]);
        match parse(&args(&["FloatIP", "status"]), &with_ip) {
            Invocation::Agent(r) => assert_eq!(r.action, Action::Monitor),
            other => panic!("{other:?}"),
        }
        match parse(&args(&["floatip", "status"]), &Environment::new()) {
            Invocation::Tool(Tool::Status { json: false }) => {}
            other => panic!("{other:?}"),
        }
        match parse(&args(&["floatip", "status", "--json"]), &Environment::new()) {
            Invocation::Tool(Tool::Status { json: true }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn operator_commands_parse() {
        match parse(
            &args(&[
                "floatip", "listen", "--nic", "eth0", "--json", "--count", "3",
            ]),
            &Environment::new(),
        ) {
            Invocation::Tool(Tool::Listen {
                nic,
                json: true,
                count: Some(3),
                seconds: None,
            }) => assert_eq!(nic, "eth0"),
            other => panic!("{other:?}"),
        }
        match parse(
            &args(&["floatip", "probe-segment", "--nic", "eth0,eth1"]),
            &Environment::new(),
        ) {
            Invocation::Tool(Tool::ProbeSegment {
                nics,
                json: false,
                wait_ms: 500,
            }) => assert_eq!(nics, vec!["eth0", "eth1"]),
            other => panic!("{other:?}"),
        }
        match parse(&args(&["floatip", "listen"]), &Environment::new()) {
            Invocation::Fail(e) => assert_eq!(e.kind, Kind::Arguments),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn trace_ra_is_a_known_name_and_picks_the_destination_ocf_shellfuncs_would() {
        let base = [
            ("OCF_RESKEY_ip", "198.51.100.50"),
            ("OCF_RESKEY_trace_ra", "1"),
            ("OCF_RESKEY_trace_file", ""),
            ("OCF_RESKEY_trace_dir", "/tmp/t"),
            ("OCF_RESOURCE_INSTANCE", "vip"),
        ];
        let request = match parse(
            &args(&["/usr/lib/ocf/resource.d/floatip/FloatIP", "start"]),
            &env(&base),
        ) {
            Invocation::Agent(r) => r,
            other => panic!("{other:?}"),
        };
        assert!(request.raw.unknown.is_empty(), "{:?}", request.raw.unknown);
        assert_eq!(
            request.trace,
            Some(Trace::Default {
                dir: PathBuf::from("/tmp/t"),
                resource_type: "FloatIP".into(),
                instance: "vip".into(),
                action: "start".into(),
            })
        );
        let program = "FloatIP";
        let t = |pairs: &[(&str, &str)]| trace_request(&env(pairs), program, Action::Monitor);
        assert_eq!(t(&[("OCF_RESKEY_trace_ra", "0")]), None);
        assert_eq!(t(&[("OCF_RESKEY_trace_ra", "maybe")]), None);
        assert_eq!(t(&[]), None);
        assert_eq!(
            t(&[("OCF_RESKEY_trace_ra", "0"), ("OCF_TRACE_RA", "yes")]),
            Some(Trace::Stderr),
            "OCF_TRACE_RA wins; no instance: stderr"
        );
        assert_eq!(
            t(&[("OCF_TRACE_RA", "1"), ("OCF_TRACE_FILE", "5")]),
            Some(Trace::Fd(5))
        );
        assert_eq!(
            t(&[
                ("OCF_TRACE_RA", "1"),
                ("OCF_TRACE_FILE", "/var/tmp/x.trace")
            ]),
            Some(Trace::File("/var/tmp/x.trace".into()))
        );
        assert_eq!(
            t(&[
                ("OCF_TRACE_RA", "ON"),
                ("OCF_TRACE_FILE", "relative"),
                ("OCF_RESOURCE_INSTANCE", "vip"),
                ("OCF_RESOURCE_TYPE", "IPaddr2"),
                ("HA_VARLIB", "/srv/ha"),
            ]),
            Some(Trace::Default {
                dir: "/srv/ha/trace_ra".into(),
                resource_type: "IPaddr2".into(),
                instance: "vip".into(),
                action: "monitor".into(),
            }),
            "neither a descriptor nor an absolute path: the default, as ocf-shellfuncs warns"
        );
    }

    #[test]
    fn notify_is_an_action() {
        match parse(
            &args(&["FloatIP", "notify"]),
            &env(&[("OCF_RESKEY_ip", "198.51.100.50")]),
        ) {
            Invocation::Agent(r) => assert_eq!(r.action, Action::Notify),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn listen_seconds_are_finite_positive_and_bounded() {
        assert_eq!(listen_seconds("0.5"), Ok(0.5));
        assert_eq!(listen_seconds(" 3 "), Ok(3.0));
        assert_eq!(listen_seconds("2678400"), Ok(LISTEN_SECONDS_MAX));
        for bad in [
            "0",
            "-0",
            "-1",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e300",
            "2678400.5",
            "abc",
            "",
        ] {
            assert!(listen_seconds(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }
}
