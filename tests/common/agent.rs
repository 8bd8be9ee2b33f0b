//! Running the agent in a lab node the way the tests need it: as resource `vip`, each node
//! with its own state directory (as separate machines would have), and reading its results.

use super::lab::*;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Runs the agent as resource `vip` on a node, each node with its own state directory (as
/// separate machines would have).
pub fn agent(lab: &Lab, node: usize, action: &str, params: &[(&str, &str)]) -> AgentRun {
    let env = agent_env(lab, node, params);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = lab.agent(Host::Node(node), action, &env);
    eprintln!(
        "node{node} {action} {params:?} -> {} in {:?}\n{}",
        run.code, run.elapsed, run.stderr
    );
    run
}

/// The environment `agent` runs with: resource `vip`, the node's state directory, and
/// `params`, where a plain parameter name (`ip`) stands for its `OCF_RESKEY_` variable and
/// names starting with `OCF_` or `FLOATIP_` are taken as they are.
pub fn agent_env(lab: &Lab, node: usize, params: &[(&str, &str)]) -> Vec<(String, String)> {
    let state = node_state_dir(lab, node);
    let mut env = vec![
        ("OCF_RESOURCE_INSTANCE".to_string(), "vip".to_string()),
        (
            "FLOATIP_STATE_DIR".to_string(),
            state.to_str().unwrap().to_string(),
        ),
    ];
    env.extend(ocf_params(params));
    env
}

/// PIDs of floatip resident processes running in a node's network namespace.
pub fn residents(lab: &Lab, node: usize) -> Vec<i32> {
    netns_pids(&lab.ns(Host::Node(node)))
        .into_iter()
        .filter(|pid| is_resident(*pid))
        .collect()
}

/// The background processes that send for a node's resources: the resident processes (the
/// name older tests use).
pub fn burst_workers(lab: &Lab, node: usize) -> Vec<i32> {
    residents(lab, node)
}

/// The state directory node `node` uses (FLOATIP_STATE_DIR).
pub fn node_state_dir(lab: &Lab, node: usize) -> std::path::PathBuf {
    lab.state_dir().join(format!("node{node}"))
}

pub fn assert_code(run: &AgentRun, code: i32, what: &str) {
    assert_eq!(run.code, code, "{what}: stderr:\n{}", run.stderr);
}

pub fn exit_reasons(run: &AgentRun) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("ocf-exit-reason:"))
        .collect()
}

pub fn has_address(lab: &Lab, node: usize, cidr: &str) -> bool {
    lab.addresses(Host::Node(node), "eth0")
        .iter()
        .any(|a| a == cidr)
}

pub fn announcements(frames: &[(Instant, Vec<u8>)], vip: &str, from_mac: &str) -> Vec<Instant> {
    let mac = mac_bytes(from_mac);
    match vip.parse::<IpAddr>().unwrap() {
        IpAddr::V4(v4) => arp_announcements(frames, v4)
            .into_iter()
            .filter(|(_, a)| a.sender_mac == mac)
            .map(|(t, _)| t)
            .collect(),
        IpAddr::V6(v6) => neighbor_advertisements(frames, v6)
            .into_iter()
            .filter(|(_, n)| n.tlla == Some(mac) && !n.solicited)
            .map(|(t, _)| t)
            .collect(),
    }
}

/// `(name, value)` pairs with plain parameter names turned into `OCF_RESKEY_` variables;
/// names that already start with `OCF_` or `FLOATIP_` are kept.
pub fn ocf_params(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| {
            let key = if k.starts_with("OCF_") || k.starts_with("FLOATIP_") {
                k.to_string()
            } else {
                format!("OCF_RESKEY_{k}")
            };
            (key, v.to_string())
        })
        .collect()
}

/// `floatip status --json`'s row for `resource` on `node` (Null when it has none).
pub fn status_row(lab: &Lab, node: usize, resource: &str) -> serde_json::Value {
    let out = lab
        .exec_command(
            Host::Node(node),
            AGENT_BIN,
            &["status", "--json"],
            &[(
                "FLOATIP_STATE_DIR",
                node_state_dir(lab, node).to_str().unwrap(),
            )],
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array()
        .and_then(|r| r.iter().find(|row| row["resource"] == resource).cloned())
        .unwrap_or(serde_json::Value::Null)
}

/// Waits until `resource`'s resident on `node` is up and has checked that each standby
/// adapter with carrier shares the holder's segment (a probe frame each, answered in about a
/// millisecond): before that, a standby is not trusted with the address.
pub fn wait_resident_ready(lab: &Lab, node: usize, resource: &str) {
    let ready = |row: &serde_json::Value| {
        let resident = &row["resident"];
        resident["adapter"].is_string()
            && resident["adapters"].as_array().is_some_and(|adapters| {
                adapters
                    .iter()
                    .all(|a| a["carrier"] != true || a["on_segment"] == true)
            })
    };
    assert!(
        wait_until(Duration::from_secs(5), || ready(&status_row(
            lab, node, resource
        ))),
        "the resident of {resource} is up: {}",
        status_row(lab, node, resource)
    );
}
