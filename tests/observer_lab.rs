//! The operator's commands on real kernels: `floatip listen` sees announcements and flags a
//! second MAC for one address, `floatip status` lists what the agent manages, and
//! `floatip probe-segment` tells which interfaces share a segment. Needs root.

mod common;

use common::*;
use floatip::packet::{arp, MacAddr};
use std::time::Duration;

const VIP4: &str = "198.51.100.50";

fn json_lines(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn output_lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn listen_reports_announcements_and_flags_a_conflict() {
    if !root_or_skip("listen_reports_announcements_and_flags_a_conflict") {
        return;
    }
    let lab = Lab::new(2);
    let (ours, zombie) = (
        lab.mac(Host::Node(0), "eth0"),
        lab.mac(Host::Node(1), "eth0"),
    );
    let listener = Listener::start(&lab, Host::Client, "eth0", &["--json", "--seconds", "600"]);
    let params: &[(&str, &str)] = &[("ip", VIP4), ("arp_count", "2"), ("arp_interval", "100")];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    let announced_by = |lines: &[String], mac: &str| {
        json_lines(lines)
            .iter()
            .filter(|e| e["kind"] == "arp-announcement" && e["ip"] == VIP4 && e["mac"] == mac)
            .count()
    };
    // Both rounds first, so that the zombie's frame is the second MAC, not the first.
    assert!(
        listener.wait_for(Duration::from_secs(10), |l| announced_by(l, &ours) >= 4),
        "2 rounds x 2 forms from node 0: {:#?}",
        listener.lines()
    );
    let b = mac_bytes(&zombie);
    let frame = arp::announcement_frame(
        MacAddr(b[0], b[1], b[2], b[3], b[4], b[5]),
        VIP4.parse().unwrap(),
        arp::Form::Reply,
    );
    lab.send_frame(Host::Node(1), "eth0", &frame);
    let flagged = |lines: &[String]| json_lines(lines).iter().any(|e| !e["conflict"].is_null());
    assert!(
        listener.wait_for(Duration::from_secs(10), flagged),
        "no conflict flagged: {:#?}",
        listener.lines()
    );
    let events = json_lines(&listener.stop());
    let conflict = events
        .iter()
        .find(|e| !e["conflict"].is_null())
        .unwrap_or_else(|| panic!("no conflict flagged: {events:#?}"));
    assert_eq!(conflict["conflict"]["previous_mac"], ours.as_str());
    assert_eq!(conflict["conflict"]["mac"], zombie.as_str());
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
}

#[test]
fn status_lists_what_floatip_manages() {
    if !root_or_skip("status_lists_what_floatip_manages") {
        return;
    }
    let lab = Lab::new(1);
    let mac = lab.mac(Host::Node(0), "eth0");
    let state = node_state_dir(&lab, 0);
    let state = state.to_str().unwrap();
    let status = |args: &[&str]| {
        let mut all = vec!["status"];
        all.extend_from_slice(args);
        lab.exec_command(
            Host::Node(0),
            AGENT_BIN,
            &all,
            &[("FLOATIP_STATE_DIR", state)],
        )
        .output()
        .unwrap()
    };
    let empty = status(&["--json"]);
    assert!(empty.status.success());
    assert_eq!(
        json_lines(&output_lines(&empty.stdout)),
        vec![serde_json::json!([])]
    );

    let params: &[(&str, &str)] = &[("ip", VIP4), ("arp_count", "20"), ("arp_interval", "200")];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    let listed = json_lines(&output_lines(&status(&["--json"]).stdout));
    let row = &listed[0][0];
    assert_eq!(row["resource"], "vip");
    assert_eq!(row["ip"], VIP4);
    assert_eq!(row["prefix"], 24);
    assert_eq!(row["interface"], "eth0");
    assert_eq!(row["mac"], mac.as_str());
    assert_eq!(row["assigned"], true);
    assert_eq!(row["burst"], "running");
    assert!(row["since"].as_u64().is_some());
    let text = String::from_utf8(status(&[]).stdout).unwrap();
    assert!(
        text.lines().nth(1).is_some_and(|l| l.starts_with("vip")
            && l.contains("198.51.100.50/24")
            && l.contains("running")),
        "{text}"
    );
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
    assert_eq!(
        json_lines(&output_lines(&status(&["--json"]).stdout)),
        vec![serde_json::json!([])]
    );
}

#[test]
fn probe_segment_groups_interfaces_that_share_a_segment() {
    if !root_or_skip("probe_segment_groups_interfaces_that_share_a_segment") {
        return;
    }
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    // eth2 is a veth whose other end stays in the node: a segment of its own.
    lab.ip(
        Host::Node(0),
        &[
            "link", "add", "eth2", "type", "veth", "peer", "name", "eth2peer",
        ],
    );
    lab.ip(Host::Node(0), &["link", "set", "eth2", "up"]);
    lab.ip(Host::Node(0), &["link", "set", "eth2peer", "up"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !lab.has_carrier(Host::Node(0), "eth2") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = lab
        .exec_command(
            Host::Node(0),
            AGENT_BIN,
            &["probe-segment", "--nic", "eth0,eth2,eth1", "--json"],
            &[],
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json_lines(&output_lines(&out.stdout)),
        vec![serde_json::json!({"segments": [["eth0", "eth1"], ["eth2"]]})]
    );
    let text = lab
        .exec_command(
            Host::Node(0),
            AGENT_BIN,
            &["probe-segment", "--nic", "eth0,eth1"],
            &[],
        )
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&text.stdout).trim(),
        "eth0 eth1: one segment"
    );
    let missing = lab
        .exec_command(
            Host::Node(0),
            AGENT_BIN,
            &["probe-segment", "--nic", "eth0,eth9"],
            &[],
        )
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("eth9 does not exist"));
}
