//! Faults an HA agent meets when things already go wrong: SIGKILL in the middle of start and
//! stop (Pacemaker's timeout), interfaces vanishing or losing their link during a burst, a
//! missing, unusable or lying state directory, concurrent starts, foreign addresses and a
//! missing namespace. After each, the next operation returns the right code and nothing is
//! left behind. Needs root; skips without it unless CI is set.

mod common;

use common::*;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const VIP4: &str = "198.51.100.50";
const VIP6: &str = "2001:db8:100::50";

fn spawn_agent(lab: &Lab, node: usize, action: &str, params: &[(&str, &str)]) -> Child {
    let env = agent_env(lab, node, params);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    lab.agent_command(Host::Node(node), action, &env)
        .spawn()
        .expect("spawn agent")
}

fn sigkill(child: &mut Child) {
    // SAFETY: signalling our own child by its PID; it has not been reaped yet.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
}

/// A deterministic spread of delays (microseconds) covering start-up, netlink, add, DAD-less
/// announce and spawn: no randomness, so a failure replays.
fn kill_points(n: u64) -> impl Iterator<Item = Duration> {
    (0..n).map(|i| Duration::from_micros((i * 7919) % 6000))
}

fn vip_addresses(lab: &Lab, node: usize, vip: &str) -> Vec<String> {
    lab.addresses(Host::Node(node), "eth0")
        .into_iter()
        .filter(|a| a.starts_with(&format!("{vip}/")))
        .collect()
}

fn assert_clean(lab: &Lab, node: usize, vip: &str, params: &[(&str, &str)], what: &str) {
    assert_code(
        &agent(lab, node, "stop", params),
        0,
        &format!("{what}: stop"),
    );
    assert!(
        vip_addresses(lab, node, vip).is_empty(),
        "{what}: address left behind"
    );
    assert_eq!(
        burst_workers(lab, node),
        Vec::<i32>::new(),
        "{what}: burst process left behind"
    );
    assert_code(
        &agent(lab, node, "monitor", params),
        7,
        &format!("{what}: probe after stop"),
    );
}

#[test]
fn sigkill_during_start_then_stop_leaves_nothing() {
    if !root_or_skip("sigkill_during_start_then_stop_leaves_nothing") {
        return;
    }
    let lab = Lab::new(1);
    for (vip, nodad) in [(VIP4, "false"), (VIP6, "true")] {
        let params: &[(&str, &str)] = &[
            ("ip", vip),
            ("nodad", nodad),
            ("arp_count", "10"),
            ("arp_interval", "50"),
        ];
        for delay in kill_points(25) {
            let mut child = spawn_agent(&lab, 0, "start", params);
            std::thread::sleep(delay);
            sigkill(&mut child);
            // Whatever the kill left, a monitor answers 0 or 7, never an error.
            let monitor = agent(&lab, 0, "monitor", params);
            assert!(
                matches!(monitor.code, 0 | 7),
                "monitor after kill at {delay:?}: {}",
                monitor.stderr
            );
            assert_clean(&lab, 0, vip, params, &format!("{vip} killed at {delay:?}"));
        }
    }
}

#[test]
fn sigkill_during_stop_then_stop_again_leaves_nothing_and_stays_quiet() {
    if !root_or_skip("sigkill_during_stop_then_stop_again_leaves_nothing_and_stays_quiet") {
        return;
    }
    let lab = Lab::new(1);
    let node_mac = lab.mac(Host::Node(0), "eth0");
    let params: &[(&str, &str)] = &[("ip", VIP4), ("arp_count", "40"), ("arp_interval", "100")];
    for delay in kill_points(12) {
        assert_code(&agent(&lab, 0, "start", params), 0, "start");
        let mut child = spawn_agent(&lab, 0, "stop", params);
        std::thread::sleep(delay);
        sigkill(&mut child);
        let capture = lab.capture(Host::Client, "eth0");
        assert_code(
            &agent(&lab, 0, "stop", params),
            0,
            "stop after a killed stop",
        );
        let stopped = Instant::now();
        std::thread::sleep(Duration::from_millis(300));
        let late = announcements(&capture.stop(), VIP4, &node_mac)
            .into_iter()
            .filter(|t| *t > stopped)
            .count();
        assert_eq!(
            late, 0,
            "announcements after the second stop (first killed at {delay:?})"
        );
        assert_clean(&lab, 0, VIP4, params, &format!("stop killed at {delay:?}"));
    }
}

#[test]
fn interface_deleted_during_a_burst() {
    if !root_or_skip("interface_deleted_during_a_burst") {
        return;
    }
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    let params: &[(&str, &str)] = &[
        ("ip", "203.0.113.50"),
        ("nic", "eth1"),
        ("cidr_netmask", "24"),
        ("arp_count", "50"),
        ("arp_interval", "100"),
    ];
    assert_code(&agent(&lab, 0, "start", params), 0, "start on eth1");
    assert_eq!(burst_workers(&lab, 0).len(), 1);
    lab.ip(Host::Node(0), &["link", "del", "eth1"]);
    // The worker notices before its next round and exits.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !burst_workers(&lab, 0).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        burst_workers(&lab, 0),
        Vec::<i32>::new(),
        "the burst ends with its interface"
    );
    assert_code(
        &agent(&lab, 0, "monitor", params),
        7,
        "probe: the address cannot be here",
    );
    let mut recurring = params.to_vec();
    recurring.push(("OCF_RESKEY_CRM_meta_interval", "10000"));
    assert_code(
        &agent(&lab, 0, "monitor", &recurring),
        7,
        "recurring monitor",
    );
    assert_code(
        &agent(&lab, 0, "stop", params),
        0,
        "stop with the interface gone",
    );
}

#[test]
fn link_down_during_a_burst() {
    if !root_or_skip("link_down_during_a_burst") {
        return;
    }
    let lab = Lab::new(1);
    let params: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("arp_count", "50"),
        ("arp_interval", "100"),
        ("OCF_RESKEY_CRM_meta_interval", "10000"),
    ];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    lab.set_port(Host::Node(0), false);
    let monitor = agent(&lab, 0, "monitor", params);
    assert_code(&monitor, 1, "monitor with the link down");
    assert!(exit_reasons(&monitor)[0].contains("link down on NIC eth0"));
    assert_clean(&lab, 0, VIP4, params, "stop with the link down");
}

#[test]
fn state_directory_faults() {
    if !root_or_skip("state_directory_faults") {
        return;
    }
    let lab = Lab::new(1);
    let state = node_state_dir(&lab, 0);
    let vip: &[(&str, &str)] = &[("ip", VIP4)];

    // Missing: created 0700, files 0600.
    assert!(!state.exists());
    assert_code(
        &agent(&lab, 0, "start", vip),
        0,
        "start creates the state directory",
    );
    assert_eq!(std::fs::metadata(&state).unwrap().mode() & 0o777, 0o700);
    for f in std::fs::read_dir(&state).unwrap() {
        let f = f.unwrap();
        assert_eq!(
            f.metadata().unwrap().mode() & 0o777,
            0o600,
            "{:?}",
            f.path()
        );
    }
    // Removed while running: stop still ends the (now unrecorded) burst and the address.
    std::fs::remove_dir_all(&state).unwrap();
    assert_clean(&lab, 0, VIP4, vip, "state directory removed while running");

    // Garbage in the state file.
    assert_code(&agent(&lab, 0, "start", vip), 0, "start");
    std::fs::write(
        state.join("vip.state"),
        b"\xff\xfe garbage\nburst_pid=abc\n",
    )
    .unwrap();
    assert_clean(&lab, 0, VIP4, vip, "garbage state");

    // A state file naming an unrelated live process, even with its real start time.
    let mut bystander = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = bystander.id();
    let start_time: String = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap()
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string();
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("vip.state"),
        format!("burst_pid={pid}\nburst_start={start_time}\n"),
    )
    .unwrap();
    assert_code(
        &agent(&lab, 0, "start", vip),
        0,
        "start with a lying state file",
    );
    assert_code(
        &agent(&lab, 0, "stop", vip),
        0,
        "stop with a lying state file",
    );
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the unrelated process was not signalled"
    );
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "the unrelated process is still running"
    );
    bystander.kill().unwrap();
    let _ = bystander.wait();

    // A symlinked state file is never followed: its target stays untouched.
    let target = lab.state_dir().join("precious");
    std::fs::write(&target, "keep me\n").unwrap();
    let _ = std::fs::remove_file(state.join("vip.state"));
    symlink(&target, state.join("vip.state")).unwrap();
    assert_code(&agent(&lab, 0, "start", vip), 0, "start beside a symlink");
    assert_clean(&lab, 0, VIP4, vip, "symlinked state");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");

    // Unusable (a file where the directory should be): start fails before changing anything,
    // stop still succeeds.
    std::fs::remove_dir_all(&state).unwrap();
    std::fs::write(&state, "not a directory").unwrap();
    let start = agent(&lab, 0, "start", vip);
    assert_code(&start, 1, "start without a usable state directory");
    assert!(
        vip_addresses(&lab, 0, VIP4).is_empty(),
        "nothing half-configured"
    );
    assert_code(
        &agent(&lab, 0, "stop", vip),
        0,
        "stop without a usable state directory",
    );

    // A group- or world-writable directory is not trusted.
    std::fs::remove_file(&state).unwrap();
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_code(
        &agent(&lab, 0, "start", vip),
        1,
        "start with a world-writable state directory",
    );
    assert!(vip_addresses(&lab, 0, VIP4).is_empty());
}

#[test]
fn concurrent_starts_of_one_resource() {
    if !root_or_skip("concurrent_starts_of_one_resource") {
        return;
    }
    let lab = Lab::new(1);
    let params: &[(&str, &str)] = &[("ip", VIP4), ("arp_count", "20"), ("arp_interval", "200")];
    for _ in 0..5 {
        let children: Vec<Child> = (0..4)
            .map(|_| spawn_agent(&lab, 0, "start", params))
            .collect();
        for mut child in children {
            assert_eq!(
                child.wait().unwrap().code(),
                Some(0),
                "every start succeeds"
            );
        }
        assert_eq!(
            vip_addresses(&lab, 0, VIP4),
            vec![format!("{VIP4}/24")],
            "one address"
        );
        assert_eq!(
            burst_workers(&lab, 0).len(),
            1,
            "one burst: each start ends the previous one"
        );
        assert_clean(&lab, 0, VIP4, params, "after concurrent starts");
    }
}

#[test]
fn foreign_addresses_are_left_alone() {
    if !root_or_skip("foreign_addresses_are_left_alone") {
        return;
    }
    let lab = Lab::new(1);
    lab.add_nic(0, "eth1");
    let params: &[(&str, &str)] = &[("ip", VIP4), ("nic", "eth0"), ("cidr_netmask", "24")];

    lab.ip(
        Host::Node(0),
        &["addr", "add", "198.51.100.50/16", "dev", "eth0"],
    );
    let start = agent(&lab, 0, "start", params);
    assert_code(&start, 1, "start over the same address with another prefix");
    assert!(exit_reasons(&start)[0].contains("/16"), "{}", start.stderr);
    // stop does not remove what it did not add, and does not claim the address is gone
    // while the node still answers for it.
    let stop = agent(&lab, 0, "stop", params);
    assert_code(&stop, 1, "stop with a foreign /16 left on eth0");
    assert!(
        exit_reasons(&stop)[0].contains("eth0 as /16"),
        "{}",
        stop.stderr
    );
    assert_eq!(
        vip_addresses(&lab, 0, VIP4),
        vec!["198.51.100.50/16".to_string()],
        "the foreign /16 stays"
    );
    lab.ip(
        Host::Node(0),
        &["addr", "del", "198.51.100.50/16", "dev", "eth0"],
    );

    lab.ip(
        Host::Node(0),
        &["addr", "add", "198.51.100.50/24", "dev", "eth1"],
    );
    let start = agent(&lab, 0, "start", params);
    assert_code(&start, 1, "start while eth1 holds the address");
    assert!(exit_reasons(&start)[0].contains("eth1"), "{}", start.stderr);
    assert!(vip_addresses(&lab, 0, VIP4).is_empty());
    assert!(lab
        .addresses(Host::Node(0), "eth1")
        .contains(&"198.51.100.50/24".to_string()));
}

#[test]
fn missing_network_namespace() {
    if !root_or_skip("missing_network_namespace") {
        return;
    }
    let lab = Lab::new(1);
    let ns = format!("{}-absent", lab.prefix());
    let params = ocf_params(&[("ip", VIP4), ("network_namespace", "PLACEHOLDER")]);
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| {
            (
                k.as_str(),
                if v == "PLACEHOLDER" {
                    ns.as_str()
                } else {
                    v.as_str()
                },
            )
        })
        .collect();
    let start = agent(&lab, 0, "start", &params);
    assert_code(&start, 5, "start in a missing namespace");
    assert!(exit_reasons(&start)[0].contains("does not exist"));
    assert_code(&agent(&lab, 0, "monitor", &params), 7, "probe");
    assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
}

#[test]
fn works_with_only_net_admin_and_net_raw_as_a_normal_user() {
    if !root_or_skip("works_with_only_net_admin_and_net_raw_as_a_normal_user") {
        return;
    }
    let lab = Lab::new(1);
    let node_mac = lab.mac(Host::Node(0), "eth0");
    let state = lab.state_dir().join("nobody");
    std::fs::create_dir(&state).unwrap();
    // The lab's state directory is root's 0700; let nobody reach its own subdirectory.
    std::fs::set_permissions(lab.state_dir(), std::fs::Permissions::from_mode(0o711)).unwrap();
    Command::new("chown")
        .args(["nobody:nogroup"])
        .arg(&state)
        .status()
        .unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let run = |action: &str| {
        lab.exec_command(
            Host::Node(0),
            "setpriv",
            &[
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "--inh-caps=-all,+net_admin,+net_raw",
                "--ambient-caps=-all,+net_admin,+net_raw",
                "--bounding-set=-all,+net_admin,+net_raw",
                AGENT_BIN,
                action,
            ],
            &[
                ("OCF_RESKEY_ip", VIP4),
                ("OCF_RESOURCE_INSTANCE", "vip"),
                ("FLOATIP_STATE_DIR", state.to_str().unwrap()),
            ],
        )
        .output()
        .unwrap()
    };
    let capture = lab.capture(Host::Client, "eth0");
    let start = run("start");
    assert_eq!(
        start.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    assert!(vip_addresses(&lab, 0, VIP4).len() == 1);
    assert!(
        capture.wait_for(Duration::from_secs(3), |f| announcements(
            f, VIP4, &node_mac
        )
        .len()
            >= 4),
        "announced without root"
    );
    assert_eq!(run("monitor").status.code(), Some(0));
    let stop = run("stop");
    assert_eq!(
        stop.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    assert!(vip_addresses(&lab, 0, VIP4).is_empty());
    assert_eq!(burst_workers(&lab, 0), Vec::<i32>::new());
    for entry in std::fs::read_dir(&state).unwrap() {
        let meta = entry.unwrap().metadata().unwrap();
        assert_eq!(meta.mode() & 0o077, 0, "state files are private");
    }
}
