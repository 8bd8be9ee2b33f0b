//! The built binary as Pacemaker and people call it, without privileges or a lab: meta-data,
//! usage, exit codes for unknown actions and bad flags, validate-all at check level 0, and
//! one exit-reason line per failure.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_floatip");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn reasons(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| l.starts_with("ocf-exit-reason:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn usage_and_help_answer_without_parameters() {
    for action in ["usage", "help"] {
        let out = run(&[action], &[]);
        assert_eq!(out.status.code(), Some(0), "{action}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("meta-data"));
    }
}

#[test]
fn no_action_is_an_argument_error() {
    let out = run(&[], &[]);
    assert_eq!(out.status.code(), Some(2), "OCF_ERR_ARGS");
}

#[test]
fn unknown_actions_are_unimplemented() {
    for action in ["promote", "demote", "migrate_to", "reload", "frobnicate"] {
        let out = run(&[action], &[("OCF_RESKEY_ip", "198.51.100.50")]);
        assert_eq!(out.status.code(), Some(3), "{action}: {}", stderr(&out));
        assert_eq!(reasons(&out).len(), 1, "{action}");
    }
}

#[test]
fn a_mistyped_flag_is_an_argument_error_with_one_reason() {
    let out = run(
        &["start", "--ip", "198.51.100.50", "--cidr-netmsk", "24"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(reasons(&out).len(), 1);
}

#[test]
fn version_names_the_git_revision() {
    let out = run(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("floatip {} (", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn validate_all_at_level_0_checks_only_the_parameters() {
    let good = run(
        &["validate-all"],
        &[
            ("OCF_RESKEY_ip", "198.51.100.50"),
            ("OCF_RESKEY_nic", "nosuchnic0"),
            ("OCF_CHECK_LEVEL", "0"),
        ],
    );
    assert_eq!(good.status.code(), Some(0), "{}", stderr(&good));
    let bad = run(
        &["validate-all"],
        &[
            ("OCF_RESKEY_ip", "198.51.100.500"),
            ("OCF_CHECK_LEVEL", "0"),
        ],
    );
    assert_eq!(bad.status.code(), Some(6));
    assert_eq!(
        reasons(&bad),
        vec![
            "ocf-exit-reason:invalid ip \"198.51.100.500\": not an IPv4 or IPv6 address"
                .to_string()
        ]
    );
}

#[test]
fn flags_and_variables_are_the_same_parameters() {
    let by_flag = run(
        &["validate-all", "--ip", "198.51.100.50", "--arp-count", "0"],
        &[("OCF_CHECK_LEVEL", "0")],
    );
    let by_env = run(
        &["validate-all"],
        &[
            ("OCF_RESKEY_ip", "198.51.100.50"),
            ("OCF_RESKEY_arp_count", "0"),
            ("OCF_CHECK_LEVEL", "0"),
        ],
    );
    assert_eq!(by_flag.status.code(), Some(6));
    assert_eq!(reasons(&by_flag), reasons(&by_env));
}

#[test]
fn unknown_parameters_are_warned_about_not_fatal() {
    let out = run(
        &["validate-all"],
        &[
            ("OCF_RESKEY_ip", "198.51.100.50"),
            ("OCF_RESKEY_cidr_netmsk", "24"),
            ("OCF_CHECK_LEVEL", "0"),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("unknown parameter cidr_netmsk"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn log_lines_carry_the_resource_name() {
    let out = run(
        &["validate-all"],
        &[
            ("OCF_RESKEY_ip", "198.51.100.50"),
            ("OCF_RESKEY_arp_sender", "send_arp"),
            ("OCF_RESOURCE_INSTANCE", "vip"),
            ("OCF_CHECK_LEVEL", "0"),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let log = stderr(&out);
    assert!(log.lines().all(|l| l.starts_with("FloatIP(vip)[")), "{log}");
    assert!(log.contains("arp_sender"), "{log}");
}

#[test]
fn notify_succeeds_as_pacemaker_expects() {
    for env in [
        &[("OCF_RESKEY_ip", "198.51.100.50")][..],
        &[
            ("OCF_RESKEY_ip", "198.51.100.50"),
            ("OCF_RESKEY_CRM_meta_notify_type", "pre"),
            ("OCF_RESKEY_CRM_meta_notify_operation", "start"),
        ][..],
        // Not even the parameters are judged: there is nothing to do.
        &[][..],
    ] {
        let out = run(&["notify"], env);
        assert_eq!(out.status.code(), Some(0), "{env:?}: {}", stderr(&out));
        assert!(reasons(&out).is_empty());
    }
}

/// A fresh directory for one test's trace files.
fn trace_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("floatip-trace-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn traced(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        // ocf-shellfuncs writes no default trace when a person is at the terminal.
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn trace_ra_writes_one_trace_per_operation_where_ocf_shellfuncs_would() {
    let dir = trace_dir("default");
    let dir_text = dir.display().to_string();
    let env = [
        ("OCF_RESKEY_ip", "198.51.100.50"),
        ("OCF_RESKEY_trace_ra", "1"),
        ("OCF_RESKEY_trace_dir", dir_text.as_str()),
        ("OCF_RESOURCE_INSTANCE", "vip"),
        ("OCF_RESOURCE_TYPE", "FloatIP"),
        ("OCF_CHECK_LEVEL", "0"),
    ];
    for action in ["validate-all", "notify"] {
        let out = traced(&[action], &env);
        assert_eq!(out.status.code(), Some(0), "{action}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("unknown parameter"),
            "trace_ra and trace_dir are known: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("DEBUG"), "stderr keeps its level");
    }
    let files: Vec<String> = std::fs::read_dir(dir.join("FloatIP"))
        .expect("the <trace_dir>/<type> directory")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for action in ["validate-all", "notify"] {
        let name = files
            .iter()
            .find(|f| f.starts_with(&format!("vip.{action}.")))
            .unwrap_or_else(|| panic!("no trace of {action} in {files:?}"));
        // <instance>.<action>.<date +%F.%T>
        let stamp = &name[format!("vip.{action}.").len()..];
        assert_eq!(stamp.len(), 19, "{name}");
        let text = std::fs::read_to_string(dir.join("FloatIP").join(name)).unwrap();
        assert!(text.contains("# OCF_RESKEY_trace_ra=1"), "{text}");
        assert!(text.contains(": DEBUG: "), "the debug log: {text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn trace_file_and_a_disabled_trace() {
    let dir = trace_dir("file");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("start.trace");
    let file_text = file.display().to_string();
    let out = traced(
        &["validate-all"],
        &[
            ("OCF_RESKEY_ip", "198.51.100.50"),
            ("OCF_TRACE_RA", "yes"),
            ("OCF_TRACE_FILE", file_text.as_str()),
            ("OCF_CHECK_LEVEL", "0"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).expect("OCF_TRACE_FILE");
    assert!(text.contains("validate-all"), "{text}");
    // trace_ra=0: no trace, and still no warning about the name.
    let quiet = dir.join("quiet");
    let quiet_text = quiet.display().to_string();
    let out = traced(
        &["validate-all"],
        &[
            ("OCF_RESKEY_ip", "198.51.100.50"),
            ("OCF_RESKEY_trace_ra", "0"),
            ("OCF_RESKEY_trace_dir", quiet_text.as_str()),
            ("OCF_RESOURCE_INSTANCE", "vip"),
            ("OCF_CHECK_LEVEL", "0"),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert!(!quiet.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every number an operator's command takes is checked: a bad one exits 2 (OCF_ERR_ARGS) with
/// one reason naming the flag, never a panic (101). The interface does not exist, so a value
/// that passes ends in 5 (no such interface) before anything listens or sends.
#[test]
fn operator_command_numbers_are_checked_not_trusted() {
    let nic = "nosuchnic0";
    let mut bad: Vec<(Vec<String>, &str)> = Vec::new();
    for value in [
        "-1", "nan", "NaN", "inf", "-inf", "1e300", "0", "-0", "abc", "", "2678401",
    ] {
        for form in [
            vec!["--seconds".to_string(), value.to_string()],
            vec![format!("--seconds={value}")],
        ] {
            bad.push((
                [vec!["listen".into(), "--nic".into(), nic.into()], form].concat(),
                "--seconds",
            ));
        }
    }
    for value in ["0", "-1", "abc", "1.5", "18446744073709551616"] {
        bad.push((
            ["listen", "--nic", nic, "--count", value]
                .map(String::from)
                .to_vec(),
            "--count",
        ));
    }
    for value in ["0", "60001", "-5", "abc", "1e3"] {
        bad.push((
            ["probe-segment", "--nic", nic, "--wait-ms", value]
                .map(String::from)
                .to_vec(),
            "--wait-ms",
        ));
    }
    for (args, flag) in bad {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let reasons = reasons(&out);
        assert!(
            reasons.len() == 1 && reasons[0].contains(flag),
            "{args:?}: one reason naming {flag}: {}",
            stderr(&out)
        );
    }
    for args in [
        &["listen", "--nic", nic, "--seconds", "0.5"][..],
        &[
            "listen",
            "--nic",
            nic,
            "--seconds",
            "2678400",
            "--count",
            "1",
        ][..],
        &["probe-segment", "--nic", nic, "--wait-ms", "60000"][..],
        &["probe-segment", "--nic", nic, "--wait-ms", "1"][..],
    ] {
        let out = run(args, &[]);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("nosuchnic0 does not exist"),
            "{args:?}"
        );
    }
}
