//! Malformed values for every parameter, through the built binary as Pacemaker runs it: each
//! value arrives as raw bytes in `OCF_RESKEY_<name>` (non-UTF-8 included), and must get the
//! right OCF code with exactly one `ocf-exit-reason:` line that names the parameter, and
//! change nothing.
//!
//! - `validate_all_at_level_0`: no root, no lab; validate-all with OCF_CHECK_LEVEL=0 checks the
//!   parameters only and must not touch the state directory.
//! - `start_and_stop_in_a_lab` (root; skipped without it unless CI is set): start in a lab
//!   node leaves its addresses, interfaces, state directory and processes as they were, and
//!   stop with the same input returns 0 (a failing stop gets the node fenced).
//!
//! The table's default is OCF_ERR_CONFIGURED (6) for both actions; each exception says why in
//! its `why`. No value is ever run by a shell: the injection values would create a marker
//! file, which must not exist at the end.

mod common;

use common::*;
use floatip::params::PARAMETERS;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_floatip");
/// On the lab's subnet, so that a start with otherwise valid parameters would succeed.
const VIP4: &str = "198.51.100.50";
const VIP6: &str = "2001:db8:100::50";

const OK: i32 = 0;
const ERR_INSTALLED: i32 = 5;
const ERR_CONFIGURED: i32 = 6;

/// One malformed (or tricky) value for one parameter.
#[derive(Clone, Debug)]
struct Case {
    param: &'static str,
    value: Vec<u8>,
    /// Other parameters for this case; replaces the base `ip` when it sets one.
    with: Vec<(&'static str, &'static str)>,
    /// Expected exit code of validate-all at OCF_CHECK_LEVEL=0.
    validate: i32,
    /// Expected exit code of start in a lab node.
    start: i32,
    /// The parameter the reason must name (usually `param`).
    names: &'static str,
    /// Why the expectation differs from 6/6 (empty for the default).
    why: &'static str,
}

impl Case {
    fn new(param: &'static str, value: impl Into<Vec<u8>>) -> Case {
        Case {
            param,
            value: value.into(),
            with: Vec::new(),
            validate: ERR_CONFIGURED,
            start: ERR_CONFIGURED,
            names: param,
            why: "",
        }
    }

    fn with(mut self, pairs: &[(&'static str, &'static str)]) -> Case {
        self.with.extend_from_slice(pairs);
        self
    }

    fn codes(mut self, validate: i32, start: i32, why: &'static str) -> Case {
        self.validate = validate;
        self.start = start;
        self.why = why;
        self
    }

    fn names(mut self, param: &'static str) -> Case {
        self.names = param;
        self
    }

    /// The `OCF_RESKEY_*` environment: the base `ip`, the context, then the value under test.
    fn env(&self) -> Vec<(String, OsString)> {
        let mut pairs: Vec<(&str, Vec<u8>)> = Vec::new();
        if self.param != "ip" && !self.with.iter().any(|(k, _)| *k == "ip") {
            pairs.push(("ip", VIP4.as_bytes().to_vec()));
        }
        for (k, v) in &self.with {
            pairs.push((k, v.as_bytes().to_vec()));
        }
        pairs.push((self.param, self.value.clone()));
        pairs
            .into_iter()
            .map(|(k, v)| (format!("OCF_RESKEY_{k}"), OsString::from_vec(v)))
            .collect()
    }

    fn label(&self) -> String {
        format!(
            "{}={:?} with {:?}",
            self.param,
            String::from_utf8_lossy(&self.value),
            self.with
        )
    }
}

/// Where an injected command would leave its mark.
fn marker() -> PathBuf {
    std::env::temp_dir().join(format!("floatip-bad-input-pwned-{}", std::process::id()))
}

/// Shell metacharacters that would create the marker if any value reached a shell.
fn injections() -> Vec<Vec<u8>> {
    let m = marker().display().to_string();
    vec![
        format!("$(touch {m})").into_bytes(),
        format!("`touch {m}`").into_bytes(),
        format!("x; touch {m}").into_bytes(),
        format!("x && touch {m} #").into_bytes(),
    ]
}

const NON_UTF8: &[u8] = b"\xff\xfe";

/// Each integer parameter's range as the documentation promises it, written here by hand and
/// never read from the parameter table: a wrong bound in the table fails here rather than
/// being copied. Both bounds must be accepted, one past each refused.
fn bounds(name: &str) -> (u64, u64) {
    match name {
        // 0xffffffff is the kernel's "no label" and refused as one.
        "lvs_ipv6_addrlabel_value" => (0, 4_294_967_294),
        "arp_interval" => (1, 60_000),
        "arp_count" => (1, 1_000),
        "arp_count_refresh" => (0, 1_000),
        "arp_probe_wait" => (10, 10_000),
        // `ip address add ... metric N` takes any u32.
        "metric" => (0, 4_294_967_295),
        "failback_delay" => (0, 3_600_000),
        "arp_refresh_interval" => (0, 3_600),
        "arp_repeat_delay" => (0, 3_600),
        other => panic!("integer parameter {other}: add its range to bounds()"),
    }
}

fn integer_cases(name: &'static str) -> Vec<Case> {
    let mut cases: Vec<Case> = [
        &b"-1"[..],
        b"1.5",
        b"0x10",
        b"99999999999999999999",
        b" 5",
        b"5 ",
        b"5\n",
        b"+5",
        b"1e3",
        "\u{ff15}".as_bytes(), // fullwidth digit five
        b"five",
        b"5\xff",
    ]
    .iter()
    .map(|v| Case::new(name, *v))
    .collect();
    let (min, max) = bounds(name);
    cases.push(Case::new(name, min.to_string()).codes(OK, OK, "the smallest allowed"));
    cases.push(Case::new(name, max.to_string()).codes(OK, OK, "the largest allowed"));
    if min > 0 {
        cases.push(Case::new(name, (min - 1).to_string()));
    }
    cases.push(Case::new(name, (max + 1).to_string()));
    if name == "metric" {
        // Well-formed, but there is no prefix route to give it to, or the standby adapters
        // would move the address without it.
        cases.push(Case::new(name, "50").with(&[("noprefixroute", "true")]));
        cases.push(Case::new(name, "50").with(&[("nic", "eth0,eth1")]));
    }
    cases
}

fn boolean_cases(name: &'static str) -> Vec<Case> {
    let mut cases: Vec<Case> = [
        &b"maybe"[..],
        b"2",
        b"-1",
        b"yes please",
        b" yes",
        b"yes ",
        b"true\n",
        b"ja",
        b"y\xffs",
    ]
    .iter()
    .map(|v| Case::new(name, *v))
    .collect();
    match name {
        // Well-formed, but IPaddr2 features floatip refuses rather than ignores.
        "unique_clone_address" => cases.push(Case::new(name, "true")),
        "lvs_support" => cases.push(Case::new(name, "true").with(&[("ip", VIP6)])),
        // A foreground burst that cannot end before the operation's timeout.
        "arp_bg" => cases.push(Case::new(name, "false").with(&[
            ("arp_count", "1000"),
            ("arp_interval", "1000"),
            ("CRM_meta_timeout", "20000"),
        ])),
        _ => {}
    }
    cases
}

fn string_cases(name: &'static str) -> Vec<Case> {
    let c = |v: &str| Case::new(name, v);
    let long = |n: usize| Case::new(name, "a".repeat(n));
    const ABSENT: &str = "well-formed, so valid at level 0; the node lacks it: OCF_ERR_INSTALLED";
    match name {
        "ip" => vec![
            c("").codes(
                ERR_CONFIGURED,
                ERR_CONFIGURED,
                "ip is required: empty counts as missing, not as unset-and-fine",
            ),
            c("300.1.1.1"),
            c("198.51.100"),
            c("198.51.100.50/24"),
            c(" 198.51.100.50"),
            c("198.51.100.50\n"),
            c("198.51.100.50,198.51.100.51"),
            Case::new(name, "9".repeat(5000)),
            c("::ffff:198.51.100.50"),
            c("::ffff:0:198.51.100.50").codes(
                OK,
                OK,
                "SIIT-style ::ffff:0:0/96 is an ordinary IPv6 address",
            ),
            c("224.0.0.1"),
            c("239.255.255.250"),
            c("ff02::1"),
            c("ff05::2"),
            c("255.255.255.255"),
            c("198.51.100.0").with(&[("cidr_netmask", "24")]),
            c("198.51.100.255").with(&[("cidr_netmask", "24")]),
            c("198.51.100.0").codes(
                OK,
                ERR_INSTALLED,
                "network address of this node's route: this node cannot place it (IPaddr2 4.17's start)",
            ),
            c("198.51.100.255").codes(
                OK,
                ERR_INSTALLED,
                "broadcast address of this node's route: this node cannot place it (IPaddr2 4.17's start)",
            ),
            c("127.0.0.1"),
            c("127.1.2.3").codes(
                OK,
                OK,
                "a loopback address goes on lo, as IPaddr2's loopback attachment",
            ),
            c("127.1.2.3").with(&[("nic", "eth0")]),
            c("127.0.0.0"),
            c("127.255.255.255"),
            c("::1"),
            c("0.0.0.0"),
            c("0.1.2.3"),
            c("::"),
            c("fe80::50").names("nic"),
            c("fe80::50%eth0").with(&[("nic", "eth0")]),
            c("2001:db8:100::50%eth0"),
            Case::new(name, b"198.51.100.5\xff".to_vec()),
        ],
        "nic" => vec![
            c("").codes(OK, OK, "empty is unset: the interface comes from the route"),
            long(16).codes(OK, ERR_INSTALLED, "may be an alternative name; none here"),
            long(128),
            c("a/b"),
            c("."),
            c(".."),
            c("eth0 eth1"),
            c("eth0\t"),
            c("eth0\n"),
            c("eth0,"),
            c(",eth0"),
            c("eth0,eth0"),
            c("eth0,eth1:vip"),
            c("eth0:"),
            c("eth0:a;b"),
            c("nosuch0").codes(OK, ERR_INSTALLED, ABSENT),
            c("e$(x)").codes(OK, ERR_INSTALLED, ABSENT),
        ],
        "cidr_netmask" => vec![
            c("0"),
            c("33"),
            c("-1"),
            c("24.5"),
            c("/24"),
            c(" 24"),
            c("255.0.255.0"),
            c("0.0.0.0"),
            c("255.255.255.256"),
            c("129").with(&[("ip", VIP6)]),
            c("0").with(&[("ip", VIP6)]),
            c("255.255.255.0").with(&[("ip", VIP6)]),
            c("ffff:ffff::").with(&[("ip", VIP6)]),
        ],
        "broadcast" => vec![
            c("1.2.3"),
            c("::1"),
            c("256.0.0.1"),
            c("+-"),
            c("*"),
            c(" +"),
            c("+").with(&[("ip", VIP6)]),
            c("198.51.100.255").with(&[("ip", VIP6)]),
        ],
        "iflabel" => vec![
            long(14).codes(
                ERR_CONFIGURED,
                ERR_CONFIGURED,
                "no interface name is short enough for nic:<14 bytes>",
            ),
            c("abcdefghijk").with(&[("nic", "eth0")]),
            c(";"),
            c("a b"),
            c("a/b"),
            c("vip").with(&[("ip", VIP6)]),
            c("x").with(&[("nic", "eth0:y")]),
        ],
        "mac" => vec![c("01:00:5e:00:00:01"), c("02:00:00:00:00:01")],
        "clusterip_hash" => vec![c("sourceip"), c("sourceip-sourceport-destport")],
        // Accepted and ignored (floatip sends in-process): anything that is text is valid.
        "arp_sender" | "send_arp_opts" => vec![
            c("send_arp").codes(OK, OK, "ignored parameter"),
            c("-i 200 -r 5 \"x\"").codes(OK, OK, "ignored parameter"),
        ],
        "preferred_lft" => vec![
            c("").codes(
                ERR_CONFIGURED,
                ERR_CONFIGURED,
                "IPaddr2 also refuses an empty preferred_lft",
            ),
            c("-1"),
            c("soon"),
            c("1.5"),
            c("4294967295"),
            c("4294967296"),
            c("99999999999999999999"),
            c(" forever"),
            c("forever "),
            c("0x10"),
        ],
        "network_namespace" => vec![
            c("../x"),
            c("a/b"),
            c("."),
            c(".."),
            c("/var/run/netns/x"),
            long(256),
            long(300),
            c("nosuchns").codes(OK, ERR_INSTALLED, ABSENT),
        ],
        "vmac" => vec![
            c("01:00:5e:00:00:01"),
            c("ff:ff:ff:ff:ff:ff"),
            c("00:00:00:00:00:00"),
            c("02:00:5e:00:01"),
            c("02:00:5e:00:01:02:03"),
            c("02-00-5e-00-01-02"),
            c("0200.5e00.0102"),
            c("2:0:5e:0:1:2"),
            c("zz:00:5e:00:01:02"),
            c("auto "),
            // Issue 15, finding 4: accepted before, and only round 1 went out.
            c("auto").with(&[("nic", "eth0,eth1")]),
        ],
        "proto" => vec![
            c("kernal"),
            c("Kernel"),
            c("256"),
            c("-1"),
            c(" kernel"),
            c("0x2"),
            c("bird").codes(
                OK,
                ERR_INSTALLED,
                "no route of that protocol places it here (IPaddr2 4.17's start)",
            ),
        ],
        other => panic!("string parameter {other}: add its malformed values to the table"),
    }
}

/// Every parameter of `PARAMETERS` × malformed values for its kind, plus, for each, an empty
/// value, non-UTF-8 bytes and shell injections.
fn table() -> Vec<Case> {
    let mut cases = Vec::new();
    for spec in PARAMETERS {
        let name = spec.name;
        // By the meta-data's content type only: the values below are this file's own.
        let mut own = match spec.kind.ocf_type() {
            "integer" => integer_cases(name),
            "boolean" => boolean_cases(name),
            _ => string_cases(name),
        };
        if !own.iter().any(|c| c.value.is_empty()) {
            own.push(Case::new(name, "").codes(OK, OK, "empty is the same as unset"));
        }
        own.push(Case::new(name, NON_UTF8));
        for injection in injections() {
            let case = Case::new(name, injection);
            own.push(if matches!(name, "arp_sender" | "send_arp_opts") {
                case.codes(OK, OK, "ignored parameter; never run")
            } else {
                case
            });
        }
        cases.extend(own);
    }
    cases
}

/// Whether `line` names `param` as a word (`arp_count` is not named by `arp_count_refresh`).
fn names_param(line: &str, param: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    line.match_indices(param).any(|(i, _)| {
        !line[..i].chars().next_back().is_some_and(word)
            && !line[i + param.len()..].chars().next().is_some_and(word)
    })
}

/// Checks the code and the exit-reason lines of one run; returns a description of what is
/// wrong, if anything.
fn judge(case: &Case, action: &str, want: i32, code: i32, stderr: &str) -> Option<String> {
    let reasons: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("ocf-exit-reason:"))
        .collect();
    let problem = if code != want {
        format!("exit {code}, want {want}")
    } else if want == OK && !reasons.is_empty() {
        format!("success with a reason: {reasons:?}")
    } else if want != OK && reasons.len() != 1 {
        format!("{} ocf-exit-reason lines", reasons.len())
    } else if want != OK && !names_param(reasons[0], case.names) {
        format!("the reason does not name {}: {}", case.names, reasons[0])
    } else {
        return None;
    };
    Some(format!(
        "{action} {}: {problem} ({})\n{stderr}",
        case.label(),
        if case.why.is_empty() {
            "default expectation"
        } else {
            case.why
        }
    ))
}

/// State files that record something: the lock, and a state that says only that no
/// resident process runs (kept on purpose, so the next operation need not search /proc),
/// are not leftovers.
fn state_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    std::fs::read_to_string(e.path()).ok().as_deref() != Some("resident=none\n")
                })
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".lock"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn validate_all_at_level_0() {
    let cases = table();
    let state = std::env::temp_dir().join(format!("floatip-bad-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let mut failures = Vec::new();
    for case in &cases {
        let out = Command::new(BIN)
            .arg("validate-all")
            .env_clear()
            .env("OCF_CHECK_LEVEL", "0")
            .env("OCF_RESOURCE_INSTANCE", "vip")
            .env("FLOATIP_STATE_DIR", &state)
            .envs(case.env())
            .output()
            .expect("run floatip");
        let code = out.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(f) = judge(case, "validate-all", case.validate, code, &stderr) {
            failures.push(f);
        }
    }
    assert!(
        !state.exists(),
        "validate-all created the state directory {}",
        state.display()
    );
    assert!(!marker().exists(), "a value was run by a shell");
    let exceptions = cases.iter().filter(|c| !c.why.is_empty()).count();
    let accepted = cases.iter().filter(|c| c.validate == OK).count();
    eprintln!(
        "bad_input: {} inputs tried with validate-all over {} parameters: {} refused, {} accepted as documented ({} documented exceptions in all); {} wrong",
        cases.len(),
        PARAMETERS.len(),
        cases.len() - accepted,
        accepted,
        exceptions,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Addresses and interfaces of a node, without the parts that change by themselves.
fn snapshot(lab: &Lab) -> (Vec<String>, Vec<String>) {
    let addrs = lab
        .ip(Host::Node(0), &["-o", "addr", "show"])
        .lines()
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let links = lab
        .ip(Host::Node(0), &["-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    (addrs, links)
}

fn run_in_node(lab: &Lab, action: &str, case: &Case) -> AgentRun {
    let base = agent_env(lab, 0, &[]);
    let base: Vec<(&str, &str)> = base.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut cmd = lab.agent_command(Host::Node(0), action, &base);
    cmd.envs(case.env());
    run_with_timeout(&mut cmd, AGENT_TIMEOUT)
}

#[test]
fn start_and_stop_in_a_lab() {
    if !root_or_skip("start_and_stop_in_a_lab") {
        return;
    }
    let lab = Lab::new(1);
    lab.wait_dad(Host::Node(0), "eth0");
    let before = snapshot(&lab);
    let state = node_state_dir(&lab, 0);
    let cases = table();
    let mut failures = Vec::new();
    let (mut starts, mut stops) = (0, 0);
    for case in &cases {
        // A valid configuration would really start; other tests cover that.
        if case.start != OK {
            starts += 1;
            let run = run_in_node(&lab, "start", case);
            if let Some(f) = judge(case, "start", case.start, run.code, &run.stderr) {
                failures.push(f);
            }
            let after = snapshot(&lab);
            if after != before {
                let f = format!(
                    "start {}: changed the node: {before:?} -> {after:?}",
                    case.label()
                );
                failures.push(f);
            }
        }
        stops += 1;
        let run = run_in_node(&lab, "stop", case);
        if run.code != OK {
            failures.push(format!(
                "stop {}: exit {}, want 0\n{}",
                case.label(),
                run.code,
                run.stderr
            ));
        }
        if snapshot(&lab) != before {
            failures.push(format!("stop {}: changed the node", case.label()));
        }
        let files = state_files(&state);
        if !files.is_empty() {
            failures.push(format!("{}: left state files {files:?}", case.label()));
        }
        let workers = burst_workers(&lab, 0);
        if !workers.is_empty() {
            failures.push(format!("{}: left burst workers {workers:?}", case.label()));
        }
    }
    assert!(!marker().exists(), "a value was run by a shell");
    eprintln!(
        "bad_input: {starts} bad starts and {stops} stops tried in a lab node, {} wrong",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
