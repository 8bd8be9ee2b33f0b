//! OCF conformance with the tools cluster administrators use: the meta-data against the OCF
//! 1.1 schema and the old DTD, the meta-data against the parser's table, Debian's ocft cases
//! for IPaddr2 (ocf/FloatIPv4, ocf/FloatIPv6) and ocf-tester, run in namespace labs.

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

/// Runs one of our ocft configs in a lab node that has eth0 and eth1 and no address of its
/// own (the cases add and remove the base address themselves).
fn run_ocft(config: &str) {
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
    let text = std::fs::read_to_string(repo().join("ocf").join(config)).unwrap();
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
    std::fs::write(configs.join(config), adapted + "\n").unwrap();
    let make = Command::new("ocft")
        .args(["make", "-d"])
        .arg(&configs)
        .arg(config)
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
            &["test", config],
            &[("FLOATIP_STATE_DIR", state.to_str().unwrap())],
        )
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = Command::new("ocft").args(["clean", config]).output();
    let cases: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{config}: ")))
        .collect();
    eprintln!("{text}");
    assert!(
        cases.len() >= 20,
        "ocft ran too few cases ({}):\n{text}",
        cases.len()
    );
    let failed: Vec<&&str> = cases.iter().filter(|l| l.contains("FAILED")).collect();
    assert!(
        failed.is_empty() && !text.contains("FAILED"),
        "ocft failures:\n{text}"
    );
}

#[test]
fn ocft_ipaddr2v4_cases_pass() {
    if root_or_skip("ocft_ipaddr2v4_cases_pass") && have("ocft") {
        run_ocft("FloatIPv4");
    }
}

#[test]
fn ocft_ipaddr2v6_cases_pass() {
    if root_or_skip("ocft_ipaddr2v6_cases_pass") && have("ocft") {
        run_ocft("FloatIPv6");
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
