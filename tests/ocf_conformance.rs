//! OCF conformance with the tools cluster administrators use: the meta-data against the OCF
//! 1.1 schema and the old DTD, the meta-data against the parser's table, Debian's ocft cases
//! for IPaddr2 (ocf/FloatIPv4, ocf/FloatIPv6: stock, resource-agents 4.12) and the same cases
//! with the exit codes of IPaddr2 4.17 and later (ocf/FloatIPv4-4.17, ocf/FloatIPv6-4.17), and
//! upstream's newest ocft suite for IPaddr2 (ocf/FloatIP-upstream), and ocf-tester, run in
//! namespace labs.

mod common;

use common::*;
use floatip::params::PARAMETERS;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `<parameter name="..."` blocks of the meta-data: (name, attributes line, content line).
fn documented_parameters(xml: &str) -> Vec<(String, String, String)> {
    xml.split("<parameter ")
        .skip(1)
        .map(|block| {
            let head = block.lines().next().unwrap_or_default().to_string();
            let name = head.split('"').nth(1).unwrap_or_default().to_string();
            let content = block
                .lines()
                .find(|l| l.contains("<content "))
                .unwrap_or_default()
                .to_string();
            (name, head, content)
        })
        .collect()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    Some(tag[start..].split('"').next()?.to_string())
}

#[test]
fn meta_data_and_parser_table_agree() {
    let xml = std::fs::read_to_string(repo().join("metadata/FloatIP.xml")).unwrap();
    let documented = documented_parameters(&xml);
    let names: Vec<&str> = documented.iter().map(|(n, _, _)| n.as_str()).collect();
    let parsed: Vec<&str> = PARAMETERS.iter().map(|p| p.name).collect();
    assert_eq!(
        names, parsed,
        "documented and parsed parameters differ (names or order)"
    );
    for ((name, head, content), spec) in documented.iter().zip(PARAMETERS) {
        assert_eq!(
            attribute(content, "type").as_deref(),
            Some(spec.kind.ocf_type()),
            "{name}: type"
        );
        assert_eq!(
            attribute(content, "default").as_deref(),
            spec.default,
            "{name}: default"
        );
        let reloadable = attribute(head, "reloadable").as_deref() == Some("1");
        assert_eq!(reloadable, spec.reloadable, "{name}: reloadable");
        let required = attribute(head, "required").as_deref() == Some("1");
        assert_eq!(required, spec.required, "{name}: required");
        assert_eq!(
            attribute(head, "unique-group").as_deref(),
            spec.unique_group,
            "{name}: unique-group"
        );
    }
}

/// OCF 1.1's unique-group: the same address in two namespaces is two different resources, so
/// pcs must accept it; the deprecated per-parameter `unique` would forbid it, so it is absent.
#[test]
fn ip_is_unique_together_with_its_namespace() {
    let xml = std::fs::read_to_string(repo().join("metadata/FloatIP.xml")).unwrap();
    let groups: Vec<(String, String)> = documented_parameters(&xml)
        .into_iter()
        .filter_map(|(name, head, _)| Some((name, attribute(&head, "unique-group")?)))
        .collect();
    assert_eq!(
        groups,
        [
            ("ip".to_string(), "address".to_string()),
            ("network_namespace".to_string(), "address".to_string())
        ]
    );
    assert!(
        !xml.contains(" unique=\"1\""),
        "no parameter is unique on its own"
    );
}

#[test]
fn meta_data_version_is_the_crate_version() {
    let xml = std::fs::read_to_string(repo().join("metadata/FloatIP.xml")).unwrap();
    let tag = xml
        .lines()
        .find(|l| l.starts_with("<resource-agent "))
        .unwrap();
    assert_eq!(
        attribute(tag, "version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    // crmsh hands the text to lxml, which refuses a string with an encoding declaration.
    assert!(
        xml.starts_with("<?xml version=\"1.0\"?>"),
        "no encoding declaration for crmsh"
    );
}

#[test]
fn binary_prints_the_shipped_meta_data_without_privileges_or_parameters() {
    let out = Command::new(AGENT_BIN)
        .arg("meta-data")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let shipped = std::fs::read_to_string(repo().join("metadata/FloatIP.xml")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), shipped);
}

#[test]
fn meta_data_validates_against_the_ocf_schema_and_the_old_dtd() {
    let checker = repo().join("ocf/check-metadata.sh");
    let have_xmllint = Command::new("sh")
        .args(["-c", "command -v xmllint"])
        .output()
        .unwrap()
        .status
        .success();
    let have_schema = repo().join("../shared/ocf/ra-api-1.1.rng").exists();
    if !have_xmllint || !have_schema {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have xmllint and ../shared/ocf"
        );
        eprintln!("skipping: xmllint or ../shared/ocf/ra-api-1.1.rng missing");
        return;
    }
    let out = Command::new("bash").arg(&checker).output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A directory holding `FloatIP` (a symlink to the built binary), readable by everyone as
/// ocf-tester's permission check runs the agent as nobody.
fn agent_root(lab: &Lab) -> PathBuf {
    let dir = lab.state_dir().join("agent-root");
    std::fs::create_dir_all(&dir).unwrap();
    for d in [lab.state_dir(), dir.as_path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let link = dir.join("FloatIP");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(AGENT_BIN, &link).unwrap();
    dir
}

fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .unwrap()
        .status
        .success();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have {tool} (resource-agents)"
        );
        eprintln!("skipping: {tool} is not installed");
    }
    found
}

/// The stock cases (by their `# CASE No.N`) whose 4.12 code IPaddr2 4.17 and later changed, so
/// floatip, which follows today's codes, answers otherwise; each has its 4.17 expectation
/// next to the stock one in the `-4.17` file.
const STOCK_V4_CHANGED: &[usize] = &[
    8,  // wrong ip: no route, start 5 (was 1)
    9,  // nic eth1 without a route on it: 5
    10, // cidr_netmask 16 wider than every route: 5
    12, // no base address, nic eth0: no route, 5
    15, // no base address, cidr_netmask 24: 5
    19, // no base address, broadcast: 5
];
const STOCK_V6_CHANGED: &[usize] = &[
    6,  // wrong ip: 5
    10, // no base address, nic eth0: 5
    11, // nic eth1 without a route on it: 5
    13, // cidr_netmask 80 inside the /64: today's findif places it, so it starts (0)
    14, // cidr_netmask 48 wider than the /64: 5
    15, // no base address, cidr_netmask 64: 5
];

/// `text` with only the cases `keep` says yes to (by their `# CASE No.N`); the preamble (agent,
/// variables, setup, case blocks) stays.
fn select_cases(text: &str, keep: impl Fn(usize) -> bool) -> String {
    let mut out = String::new();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("# CASE No.") {
            current = Some(n.trim().parse().expect("a case number"));
        }
        if current.is_none_or(&keep) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// ocft's output without its colour escapes (ESC [ ... m).
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Each case first puts the base address back as SETUP-AGENT adds it (`ip addr replace`
/// changes nothing when it is there): a case that fails stops at once, and these fail before
/// the step that adds it again, which would leave the next case without its route.
fn each_case_from_the_base_address(text: &str) -> String {
    let setup = text
        .lines()
        .skip_while(|l| !l.starts_with("SETUP-AGENT"))
        .nth(1)
        .expect("a SETUP-AGENT step")
        .replacen("ip addr add", "ip addr replace", 1);
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if line.starts_with("CASE \"") {
            out.push_str(&format!("\tBash {}\n", setup.trim()));
        }
    }
    out
}

/// What a run of ocft must show: every case OK, or every case failing because the agent
/// answered with the code that differs from the stock expectation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    AllPass,
    AllDiffer,
}

/// Runs an ocft config (the text of one of ours, saved as `name`) in a lab node that has eth0
/// and eth1 and no address of its own (the cases add and remove the base address
/// themselves); `cases` of them must run.
/// ocft keeps its generated cases and its fake binaries in one place for every run: two runs
/// at once (the IPv4 and IPv6 families are two tests) break each other's set-up ("initialize
/// 'fakebin' failed"), so they take turns.
static OCFT_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run_ocft(name: &str, text: &str, cases: usize, expect: Expect) {
    let _turn = OCFT_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    lab.ip(
        Host::Node(0),
        &["addr", "flush", "dev", "eth0", "scope", "global"],
    );
    let root = agent_root(&lab);
    let configs = lab.state_dir().join("ocft-configs");
    std::fs::create_dir_all(&configs).unwrap();
    // Only the AgentRoot line differs from ocf/: it points at the binary under test.
    let adapted: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("AgentRoot ") {
                format!("\tAgentRoot {}", root.display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(configs.join(name), adapted + "\n").unwrap();
    let make = Command::new("ocft")
        .args(["make", "-d"])
        .arg(&configs)
        .arg(name)
        .output()
        .unwrap();
    assert!(
        make.status.success(),
        "ocft make: {}",
        String::from_utf8_lossy(&make.stderr)
    );
    let state = lab.state_dir().join("ocft-state");
    let out = lab
        .exec_command(
            Host::Node(0),
            "ocft",
            &["test", name],
            &[("FLOATIP_STATE_DIR", state.to_str().unwrap())],
        )
        .output()
        .unwrap();
    let text = without_colours(&format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    let _ = Command::new("ocft").args(["clean", name]).output();
    let ran: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}: ")))
        .collect();
    eprintln!("{text}");
    assert_eq!(ran.len(), cases, "ocft ran {} cases:\n{text}", ran.len());
    match expect {
        Expect::AllPass => {
            let failed: Vec<&&str> = ran.iter().filter(|l| l.contains("FAILED")).collect();
            assert!(
                failed.is_empty() && !text.contains("FAILED"),
                "ocft failures:\n{text}"
            );
        }
        Expect::AllDiffer => {
            // The stock case expects OCF_ERR_GENERIC; today's codes answer 5, or 0 for the
            // IPv6 prefix that now starts.
            for line in &ran {
                assert!(
                    line.contains("FAILED. Agent returns unexpected value: 'OCF_ERR_INSTALLED'")
                        || line.contains("FAILED. Agent returns unexpected value: 'OCF_SUCCESS'"),
                    "a stock case listed as changed by 4.17 is not: {line}\n{text}"
                );
            }
        }
    }
}

/// The stock file's cases that still hold pass; those 4.17 changed fail with today's code
/// (and only those); the 4.17 file passes whole.
fn run_ocft_family(stock: &str, changed: &[usize]) {
    let text = std::fs::read_to_string(repo().join("ocf").join(stock)).unwrap();
    let total = text.lines().filter(|l| l.starts_with("# CASE No.")).count();
    run_ocft(
        &format!("{stock}-stock"),
        &select_cases(&text, |n| !changed.contains(&n)),
        total - changed.len(),
        Expect::AllPass,
    );
    run_ocft(
        &format!("{stock}-changed"),
        &each_case_from_the_base_address(&select_cases(&text, |n| changed.contains(&n))),
        changed.len(),
        Expect::AllDiffer,
    );
    let today = format!("{stock}-4.17");
    let text = std::fs::read_to_string(repo().join("ocf").join(&today)).unwrap();
    run_ocft(&today, &text, total, Expect::AllPass);
}

#[test]
fn ocft_ipaddr2v4_cases_pass() {
    if root_or_skip("ocft_ipaddr2v4_cases_pass") && have("ocft") {
        run_ocft_family("FloatIPv4", STOCK_V4_CHANGED);
    }
}

#[test]
fn ocft_ipaddr2v6_cases_pass() {
    if root_or_skip("ocft_ipaddr2v6_cases_pass") && have("ocft") {
        run_ocft_family("FloatIPv6", STOCK_V6_CHANGED);
    }
}

/// Upstream's newest ocft suite for IPaddr2 (tools/ocft/IPaddr2), restated in
/// ocf/FloatIP-upstream: every case passes as the file expects.
#[test]
fn ocft_upstream_ipaddr2_cases_pass() {
    if root_or_skip("ocft_upstream_ipaddr2_cases_pass") && have("ocft") {
        let text = std::fs::read_to_string(repo().join("ocf/FloatIP-upstream")).unwrap();
        let total = text.lines().filter(|l| l.starts_with("CASE \"")).count();
        run_ocft("FloatIP-upstream", &text, total, Expect::AllPass);
    }
}

/// Upstream's cases and the codes they expect, in order, written out from upstream's file
/// (not from ours), so that ocf/FloatIP-upstream can neither lose a case nor change an
/// expectation unnoticed.
const UPSTREAM_CASES: &[(&str, &[&str])] = &[
    ("check base env", &["OCF_SUCCESS"]),
    (
        "check base env: unset 'OCF_RESKEY_ip'",
        &["OCF_ERR_CONFIGURED"],
    ),
    (
        "check base env: set invalid 'OCF_RESKEY_ip'",
        &["OCF_ERR_CONFIGURED"],
    ),
    (
        "check base env: set 'OCF_RESKEY_cidr_netmask'",
        &["OCF_SUCCESS"],
    ),
    (
        "check base env: set invalid 'OCF_RESKEY_cidr_netmask'",
        &["OCF_ERR_CONFIGURED"],
    ),
    (
        "check base env: set 'OCF_RESKEY_broadcast'",
        &["OCF_SUCCESS"],
    ),
    (
        "check base env: set invalid 'OCF_RESKEY_broadcast'",
        &["OCF_ERR_CONFIGURED"],
    ),
    ("check base env: set 'OCF_RESKEY_nic'", &["OCF_SUCCESS"]),
    (
        "check base env: set invalid 'OCF_RESKEY_nic'",
        &["OCF_ERR_CONFIGURED"],
    ),
    ("normal start", &["OCF_SUCCESS"]),
    ("normal stop", &["OCF_SUCCESS"]),
    ("double start", &["OCF_SUCCESS"]),
    ("double stop", &["OCF_SUCCESS"]),
    ("monitor with running", &["OCF_SUCCESS"]),
    ("monitor with not running", &["OCF_NOT_RUNNING"]),
    ("unimplemented command", &["OCF_ERR_UNIMPLEMENTED"]),
    (
        "Attachment to loopback interface",
        &["OCF_SUCCESS", "OCF_SUCCESS", "OCF_SUCCESS"],
    ),
];

/// floatip's deliberate differences from upstream's expectations (README "Exit codes against
/// IPaddr2's"): a nic this node lacks is 5, as upstream's own start says since 4.17.
const UPSTREAM_DIFFERENCES: &[(&str, &[&str])] = &[(
    "check base env: set invalid 'OCF_RESKEY_nic'",
    &["OCF_ERR_INSTALLED"],
)];

#[test]
fn the_upstream_file_keeps_upstreams_cases_and_differs_only_where_documented() {
    let text = std::fs::read_to_string(repo().join("ocf/FloatIP-upstream")).unwrap();
    // (case name, the codes its AgentRun steps expect)
    let mut ours: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("CASE \"") {
            ours.push((name.trim_end_matches('"').to_string(), Vec::new()));
        } else if let Some(run) = line.trim().strip_prefix("AgentRun ") {
            let words: Vec<&str> = run.split_whitespace().collect();
            if let (Some(case), [_, code]) = (ours.last_mut(), words.as_slice()) {
                case.1.push(code.to_string());
            }
        }
    }
    let names: Vec<&str> = ours.iter().map(|(n, _)| n.as_str()).collect();
    let upstream: Vec<&str> = UPSTREAM_CASES.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, upstream, "upstream's cases, in upstream's order");
    for ((name, codes), (_, theirs)) in ours.iter().zip(UPSTREAM_CASES) {
        let want = UPSTREAM_DIFFERENCES
            .iter()
            .find(|(n, _)| n == name)
            .map_or(*theirs, |(_, ours)| *ours);
        assert_eq!(codes, want, "case {name:?}");
    }
}

#[test]
fn the_417_files_change_only_the_listed_cases() {
    for (stock, changed) in [
        ("FloatIPv4", STOCK_V4_CHANGED),
        ("FloatIPv6", STOCK_V6_CHANGED),
    ] {
        let text = |name: &str| std::fs::read_to_string(repo().join("ocf").join(name)).unwrap();
        let (old, new) = (text(stock), text(&format!("{stock}-4.17")));
        let total = old.lines().filter(|l| l.starts_with("# CASE No.")).count();
        for n in 0..total {
            // The case's own lines, without the preamble (whose header differs).
            let one = |t: &str| {
                let marker = format!("# CASE No.{n}\n");
                let from = t.find(&marker).expect("the case");
                let rest = &t[from + marker.len()..];
                rest[..rest.find("# CASE No.").unwrap_or(rest.len())].to_string()
            };
            assert_eq!(
                one(&old) != one(&new),
                changed.contains(&n),
                "{stock} case {n}: changed in the 4.17 file only if listed"
            );
        }
    }
}

#[test]
fn ocf_tester_runs_clean() {
    if !(root_or_skip("ocf_tester_runs_clean") && have("ocf-tester")) {
        return;
    }
    let lab = Lab::new(1);
    let agent = agent_root(&lab).join("FloatIP");
    let state = lab.state_dir().join("ocf-tester-state");
    for params in [
        ["ip=198.51.100.50", "cidr_netmask=24"],
        ["ip=2001:db8:100::50", "nodad=true"],
    ] {
        let mut args = vec!["-v", "-n", "vip"];
        for p in &params {
            args.extend(["-o", p]);
        }
        let agent_path = agent.to_str().unwrap();
        args.push(agent_path);
        let out = lab
            .exec_command(
                Host::Node(0),
                "ocf-tester",
                &args,
                &[("FLOATIP_STATE_DIR", state.to_str().unwrap())],
            )
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{text}");
        assert!(
            out.status.success() && text.contains("passed all tests"),
            "ocf-tester {params:?}:\n{text}"
        );
    }
    assert!(Path::new(&agent).exists());
}
