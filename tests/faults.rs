//! Faults an HA agent meets when things already go wrong: SIGKILL in the middle of start and
//! stop (Pacemaker's timeout), interfaces vanishing or losing their link during a burst, a
//! missing, unusable or lying state directory, concurrent starts, foreign addresses and a
//! missing namespace. After each, the next operation returns the right code and nothing is
//! left behind. Then what the agent used to trust (issue 10): a namespace whose name was
//! deleted under a running resident, resource names that mapped to one file, a FIFO for a
//! state file or lock and a lock held forever, a lost state file, a descriptor the caller
//! keeps open, lookalike processes and a binary replaced by an upgrade, a stop with only
//! CAP_NET_ADMIN, and `floatip status` with network_namespace. Needs root; skips without it
//! unless CI is set.

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
        "{what}: resident process left behind"
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
    // Not running, as today's IPaddr2 says it (resource-agents PR #2166).
    assert_code(&monitor, 7, "monitor with the link down");
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
    // The resident binds its control socket after start returns; removing the directory
    // before that races with the bind (ENOTEMPTY), so wait for the socket first.
    assert!(
        wait_until(Duration::from_secs(5), || state.join("vip.ctl").exists()),
        "the resident's control socket appears"
    );
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

// Issue 10: trust. Each test breaks one thing the agent used to trust.

/// Whether `pid` still runs (exists and is not a zombie waiting to be reaped).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// Like `agent`, with the environment given as is (the resource's name among it).
fn agent_as(
    lab: &Lab,
    node: usize,
    action: &str,
    instance: &str,
    params: &[(&str, &str)],
) -> AgentRun {
    let mut all = params.to_vec();
    all.push(("OCF_RESOURCE_INSTANCE", instance));
    agent(lab, node, action, &all)
}

/// A namespace this test made outside the lab's own, and the processes it must end when the
/// namespace's name is gone (the lab's cleanup finds processes by namespace name).
struct Orphanage {
    ns: String,
    pids: Vec<i32>,
}

impl Drop for Orphanage {
    fn drop(&mut self) {
        for pid in &self.pids {
            if running(*pid) {
                // SAFETY: kill(2) of a resident this test started and recorded by PID.
                unsafe { libc::kill(*pid, libc::SIGKILL) };
            }
        }
        if std::path::Path::new("/var/run/netns")
            .join(&self.ns)
            .exists()
        {
            let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        }
    }
}

#[test]
fn stop_ends_the_resident_of_a_namespace_whose_name_was_deleted() {
    if !root_or_skip("stop_ends_the_resident_of_a_namespace_whose_name_was_deleted") {
        return;
    }
    let lab = Lab::new(1);
    let mut orphanage = Orphanage {
        ns: format!("{}-gone", lab.prefix()),
        pids: Vec::new(),
    };
    let ns = orphanage.ns.clone();
    // A machine of its own on the lab's segment, reached through its name.
    let bridge = lab.ns(Host::Bridge);
    for args in [
        vec!["netns", "add", &ns],
        vec![
            "-n", &bridge, "link", "add", "pgone", "type", "veth", "peer", "name", "eth0", "netns",
            &ns,
        ],
        vec!["-n", &bridge, "link", "set", "pgone", "master", "br0", "up"],
        vec!["-n", &ns, "link", "set", "lo", "up"],
        vec!["-n", &ns, "link", "set", "eth0", "up"],
        vec!["-n", &ns, "addr", "add", "198.51.100.20/24", "dev", "eth0"],
    ] {
        assert!(
            Command::new("ip").args(&args).status().unwrap().success(),
            "ip {args:?}"
        );
    }
    let state = lab.state_dir().join("gone");
    let env = ocf_params(&[
        ("ip", VIP4),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("network_namespace", &ns),
        ("arp_refresh_interval", "1"),
    ]);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("OCF_RESOURCE_INSTANCE", "vip"));
    env.push(("FLOATIP_STATE_DIR", state.to_str().unwrap()));
    // Run from the client's namespace: never the root namespace.
    let run = |action: &str| {
        let run = lab.agent(Host::Client, action, &env);
        eprintln!("{action} -> {}\n{}", run.code, run.stderr);
        run
    };
    let ping = || {
        lab.sh(Host::Client, &format!("ping -c 1 -w 2 {VIP4}"))
            .status
            .success()
    };
    assert!(
        wait_until(Duration::from_secs(10), || Command::new("ip")
            .args(["-n", &ns, "-o", "link", "show", "eth0"])
            .output()
            .is_ok_and(
                |o| String::from_utf8_lossy(&o.stdout).contains("LOWER_UP")
            )),
        "the namespace's link is up"
    );
    assert_eq!(run("start").code, 0);
    assert!(ping(), "reachable");
    let resident: Vec<i32> = netns_pids(&ns)
        .into_iter()
        .filter(|p| is_resident(*p))
        .collect();
    assert_eq!(resident.len(), 1, "one resident in {ns}");
    orphanage.pids = resident.clone();
    assert!(Command::new("ip")
        .args(["netns", "del", &ns])
        .status()
        .unwrap()
        .success());
    // The name is gone; the resident holds the namespace, so the address still answers.
    assert!(ping(), "still reachable without its namespace's name");
    assert_eq!(
        run("monitor").code,
        0,
        "monitor finds it where its resident runs"
    );
    let stop = run("stop");
    assert_eq!(stop.code, 0, "stop");
    assert!(
        wait_until(Duration::from_secs(5), || !running(resident[0])),
        "stop ended the resident"
    );
    assert!(
        wait_until(Duration::from_secs(5), || !ping()),
        "the address is gone with it"
    );
    assert_eq!(run("monitor").code, 7, "nothing of it is left");
    assert_eq!(run("stop").code, 0, "stop again");
}

#[test]
fn resources_whose_names_used_to_collide_keep_their_own_files_and_processes() {
    if !root_or_skip("resources_whose_names_used_to_collide_keep_their_own_files_and_processes") {
        return;
    }
    let lab = Lab::new(1);
    let long = "r".repeat(250);
    let pairs = [
        ("vipé".to_string(), "vipè".to_string()),
        ("a/b".to_string(), "a_b".to_string()),
        (format!("{long}1"), format!("{long}2")),
    ];
    for (a, b) in &pairs {
        let params_a: &[(&str, &str)] = &[("ip", "198.51.100.51"), ("arp_refresh_interval", "30")];
        let params_b: &[(&str, &str)] = &[("ip", "198.51.100.52"), ("arp_refresh_interval", "30")];
        assert_code(
            &agent_as(&lab, 0, "start", a, params_a),
            0,
            &format!("start {a}"),
        );
        assert_code(
            &agent_as(&lab, 0, "start", b, params_b),
            0,
            &format!("start {b}"),
        );
        assert_eq!(
            burst_workers(&lab, 0).len(),
            2,
            "{a} and {b} each have a resident"
        );
        assert_code(
            &agent_as(&lab, 0, "stop", a, params_a),
            0,
            &format!("stop {a}"),
        );
        assert_eq!(
            burst_workers(&lab, 0).len(),
            1,
            "stopping {a} left {b}'s resident"
        );
        assert_code(
            &agent_as(&lab, 0, "monitor", b, params_b),
            0,
            &format!("{b} runs on"),
        );
        assert!(vip_addresses(&lab, 0, "198.51.100.52").len() == 1);
        assert_code(
            &agent_as(&lab, 0, "stop", b, params_b),
            0,
            &format!("stop {b}"),
        );
        assert!(burst_workers(&lab, 0).is_empty());
    }
    let files: Vec<_> = std::fs::read_dir(node_state_dir(&lab, 0))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(files.iter().all(|f| f.len() <= 80), "{files:?}");
}

fn mkfifo(path: &std::path::Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "mkfifo {path:?}"
    );
}

#[test]
fn a_fifo_or_a_held_lock_never_makes_an_action_outlive_its_timeout() {
    if !root_or_skip("a_fifo_or_a_held_lock_never_makes_an_action_outlive_its_timeout") {
        return;
    }
    let lab = Lab::new(1);
    let state = node_state_dir(&lab, 0);
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let params: &[(&str, &str)] = &[("ip", VIP4), ("OCF_RESKEY_CRM_meta_timeout", "4000")];
    let timed = |action: &str| {
        let env = agent_env(&lab, 0, params);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let run = lab.agent_timeout(Host::Node(0), action, &env, Duration::from_secs(8));
        eprintln!(
            "{action} -> {} in {:?}\n{}",
            run.code, run.elapsed, run.stderr
        );
        assert!(!run.timed_out, "{action} hung");
        run
    };

    mkfifo(&state.join("vip.state"));
    mkfifo(&state.join("vip.lock"));
    assert_code(&timed("start"), 1, "start without a usable lock");
    assert!(
        vip_addresses(&lab, 0, VIP4).is_empty(),
        "start changed nothing"
    );
    assert_code(&timed("monitor"), 7, "probe");
    assert_code(&timed("stop"), 0, "stop goes on without the lock");

    std::fs::remove_file(state.join("vip.lock")).unwrap();
    assert_code(&timed("start"), 0, "start past a FIFO state file");
    assert_code(&timed("monitor"), 0, "monitor");
    assert_code(&timed("stop"), 0, "stop");

    // Another operation holds the lock and never lets go: start gives up within its
    // timeout, stop goes on without the lock.
    let mut holder = Command::new("flock")
        .arg(state.join("vip.lock"))
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(5), || !Command::new(
        "flock"
    )
    .args(["-n"])
    .arg(state.join("vip.lock"))
    .arg("true")
    .status()
    .unwrap()
    .success()));
    let start = timed("start");
    assert_code(&start, 1, "start while the lock is held");
    assert!(
        exit_reasons(&start)[0].contains("another operation"),
        "{}",
        start.stderr
    );
    assert_code(&timed("stop"), 0, "stop while the lock is held");
    let _ = holder.kill();
    let _ = holder.wait();
}

/// Issue 15, finding 10: stop used to spend its whole budget waiting for a held lock and
/// then had nothing left to end the resident (rc 1, the address left, the node fenced). And
/// an operation of ours still holding the lock must never add or announce the address after
/// stop returned 0: stop wins.
#[test]
fn stop_keeps_its_budget_and_wins_over_an_operation_holding_the_lock() {
    if !root_or_skip("stop_keeps_its_budget_and_wins_over_an_operation_holding_the_lock") {
        return;
    }
    let lab = Lab::new(1);
    let lock = node_state_dir(&lab, 0).join("vip.lock");
    let params: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("arp_refresh_interval", "30"),
        ("OCF_RESKEY_CRM_meta_timeout", "6000"),
    ];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    assert_eq!(residents(&lab, 0).len(), 1);

    // Something else holds the lock for good: stop still ends the resident and removes the
    // address, within its timeout, and leaves the foreign holder alone.
    // -o: flock itself holds it, and its command does not inherit it.
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(&lock)
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(5), || !Command::new(
        "flock"
    )
    .arg("-n")
    .arg(&lock)
    .arg("true")
    .status()
    .unwrap()
    .success()));
    let env = agent_env(&lab, 0, params);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let stop = lab.agent_timeout(Host::Node(0), "stop", &env, Duration::from_secs(8));
    eprintln!(
        "stop with a foreign lock holder: {:?}\n{}",
        stop.elapsed, stop.stderr
    );
    assert_code(&stop, 0, "stop while something else holds the lock");
    assert!(
        vip_addresses(&lab, 0, VIP4).is_empty(),
        "the address is gone"
    );
    assert!(residents(&lab, 0).is_empty(), "the resident is gone");
    assert!(
        holder.try_wait().unwrap().is_none(),
        "the holder was not ours"
    );
    let _ = holder.kill();
    let _ = holder.wait();

    // A slow start of ours (a foreground burst) holds the lock: stop ends it first.
    let slow: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("arp_bg", "false"),
        ("arp_count", "30"),
        ("arp_interval", "500"),
        ("OCF_RESKEY_CRM_meta_timeout", "30000"),
    ];
    let node_mac = lab.mac(Host::Node(0), "eth0");
    let capture = lab.capture(Host::Client, "eth0");
    let mut start = spawn_agent(&lab, 0, "start", slow);
    assert!(
        wait_until(Duration::from_secs(5), || !vip_addresses(&lab, 0, VIP4)
            .is_empty()),
        "the slow start added the address"
    );
    let stop = lab.agent_timeout(Host::Node(0), "stop", &env, Duration::from_secs(8));
    let stopped = Instant::now();
    eprintln!(
        "stop over a running start: {:?}\n{}",
        stop.elapsed, stop.stderr
    );
    assert_code(&stop, 0, "stop while a start holds the lock");
    assert!(stop.stderr.contains("stop wins"), "{}", stop.stderr);
    std::thread::sleep(Duration::from_millis(1_500));
    let after: Vec<Instant> = announcements(&capture.frames(), VIP4, &node_mac)
        .into_iter()
        .filter(|t| *t > stopped)
        .collect();
    assert!(after.is_empty(), "announced after stop returned: {after:?}");
    assert!(
        vip_addresses(&lab, 0, VIP4).is_empty(),
        "and never added back"
    );
    let status = start.wait().unwrap();
    assert!(!status.success(), "the start was ended: {status:?}");
    assert!(residents(&lab, 0).is_empty());
}

/// Issue 15, finding 11: a congested egress queue (ENOBUFS for every frame; here a queue
/// that takes nothing) made the recurring monitor's best-effort refresh fail the monitor, so
/// Pacemaker restarted a healthy address.
#[test]
fn a_refresh_the_egress_queue_refuses_does_not_fail_the_monitor() {
    if !root_or_skip("a_refresh_the_egress_queue_refuses_does_not_fail_the_monitor") {
        return;
    }
    let lab = Lab::new(1);
    let params: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("arp_count_refresh", "2"),
        ("OCF_RESKEY_CRM_meta_interval", "10000"),
    ];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    lab.sh_ok(
        Host::Node(0),
        "tc qdisc replace dev eth0 root pfifo limit 0",
    );
    let monitor = agent(&lab, 0, "monitor", params);
    lab.sh_ok(Host::Node(0), "tc qdisc del dev eth0 root");
    assert_code(
        &monitor,
        0,
        "recurring monitor while no frame can be queued",
    );
    assert!(
        monitor.stderr.contains("could not refresh") && monitor.stderr.contains("buffer space"),
        "the failed send is logged: {}",
        monitor.stderr
    );
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
}

#[test]
fn losing_the_state_file_leaves_one_resident_and_stop_ends_it() {
    if !root_or_skip("losing_the_state_file_leaves_one_resident_and_stop_ends_it") {
        return;
    }
    let lab = Lab::new(1);
    let state = node_state_dir(&lab, 0).join("vip.state");
    let params: &[(&str, &str)] = &[("ip", VIP4), ("arp_refresh_interval", "30")];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    let first = burst_workers(&lab, 0);
    assert_eq!(first.len(), 1);
    std::fs::remove_file(&state).unwrap();
    assert_code(
        &agent(&lab, 0, "start", params),
        0,
        "start again without the state",
    );
    let second = burst_workers(&lab, 0);
    assert_eq!(second.len(), 1, "one resident, not two: {second:?}");
    assert_ne!(first, second, "the unrecorded one was ended");
    std::fs::remove_file(&state).unwrap();
    assert_clean(&lab, 0, VIP4, params, "stop without the state");
}

#[test]
fn start_returns_while_the_caller_holds_a_descriptor_open() {
    if !root_or_skip("start_returns_while_the_caller_holds_a_descriptor_open") {
        return;
    }
    let lab = Lab::new(1);
    let params: &[(&str, &str)] = &[("ip", VIP4), ("arp_refresh_interval", "30")];
    let env = agent_env(&lab, 0, params);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // The pipe to cat is open as fd 5 of the agent: if the resident kept it, cat would wait
    // for it forever and so would the shell.
    let mut cmd = lab.exec_command(
        Host::Node(0),
        "sh",
        &["-c", &format!("{AGENT_BIN} start 5>&1 | cat")],
        &env,
    );
    let run = run_with_timeout(&mut cmd, Duration::from_secs(15));
    assert!(!run.timed_out, "start 5>&1 | cat hung");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let resident = burst_workers(&lab, 0);
    assert_eq!(resident.len(), 1);
    for fd in std::fs::read_dir(format!("/proc/{}/fd", resident[0])).unwrap() {
        let fd = fd.unwrap();
        let n: i32 = fd.file_name().to_str().unwrap().parse().unwrap();
        let target = std::fs::read_link(fd.path()).unwrap_or_default();
        let target = target.to_string_lossy();
        assert!(
            n == 0 || !target.starts_with("pipe:"),
            "the resident holds a pipe as fd {n}"
        );
        assert!(
            n <= 2 || !target.starts_with('/'),
            "the resident holds a file as fd {n}: {target}"
        );
    }
    assert_clean(&lab, 0, VIP4, params, "after start 5>&1 | cat");
}

#[test]
fn lookalike_processes_are_never_signalled_and_an_upgraded_binary_still_ends_its_resident() {
    if !root_or_skip(
        "lookalike_processes_are_never_signalled_and_an_upgraded_binary_still_ends_its_resident",
    ) {
        return;
    }
    let lab = Lab::new(1);
    let params: &[(&str, &str)] = &[("ip", VIP4), ("arp_refresh_interval", "30")];
    assert_code(&agent(&lab, 0, "start", params), 0, "start");
    let resident = burst_workers(&lab, 0)[0];
    let argv: Vec<String> = std::fs::read(format!("/proc/{resident}/cmdline"))
        .unwrap()
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    assert_eq!(args[..3], ["__resident", "vip", VIP4]);

    // Another user's process with the very same binary and command line (it waits for a
    // launch that never comes).
    let mut nobody_args = vec![
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        AGENT_BIN,
    ];
    nobody_args.extend(&args);
    let mut foreign = lab
        .exec_command(Host::Node(0), "setpriv", &nobody_args, &[])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Our own user's process with the command line of a resident but another program: a
    // shell running a script named __resident.
    let scripts = lab.state_dir().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(scripts.join("__resident"), "sleep 600\n").unwrap();
    let mut shell = lab.exec_command(Host::Node(0), "sh", &args, &[]);
    let mut shell = shell.current_dir(&scripts).spawn().unwrap();
    let lookalikes = [foreign.id() as i32, shell.id() as i32];
    assert!(wait_until(Duration::from_secs(5), || lookalikes
        .iter()
        .all(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).nth(1) == Some(b"__resident"))
        })));

    // With the state lost, stop searches /proc: only the real resident is ended.
    std::fs::remove_file(node_state_dir(&lab, 0).join("vip.state")).unwrap();
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
    assert!(wait_until(Duration::from_secs(5), || !running(resident)));
    for pid in lookalikes {
        assert!(running(pid), "lookalike {pid} was signalled");
    }
    let _ = foreign.kill();
    let _ = foreign.wait();
    let _ = shell.kill();
    let _ = shell.wait();

    // A package upgrade replaces the binary under a running resident: its executable then
    // reads "<path> (deleted)"; stop with the new binary still ends it, recorded or found.
    let installed = lab.state_dir().join("sbin").join("floatip");
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    let install = || {
        let staged = installed.with_extension("new");
        std::fs::copy(AGENT_BIN, &staged).unwrap();
        std::fs::rename(&staged, &installed).unwrap();
    };
    for state_lost in [false, true] {
        install();
        let env = agent_env(&lab, 0, params);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let run = |action: &str| {
            let mut cmd =
                lab.exec_command(Host::Node(0), installed.to_str().unwrap(), &[action], &env);
            run_with_timeout(&mut cmd, Duration::from_secs(30))
        };
        assert_eq!(run("start").code, 0);
        let resident = burst_workers(&lab, 0)[0];
        install();
        let exe = std::fs::read_link(format!("/proc/{resident}/exe")).unwrap();
        assert!(exe.to_string_lossy().ends_with(" (deleted)"), "{exe:?}");
        if state_lost {
            std::fs::remove_file(node_state_dir(&lab, 0).join("vip.state")).unwrap();
        }
        let stop = run("stop");
        assert_eq!(stop.code, 0, "{}", stop.stderr);
        assert!(
            wait_until(Duration::from_secs(5), || !running(resident)),
            "stop after the upgrade ended the resident (state lost: {state_lost})"
        );
        assert!(vip_addresses(&lab, 0, VIP4).is_empty());
    }
}

#[test]
fn stop_needs_only_cap_net_admin_to_end_the_resident() {
    if !root_or_skip("stop_needs_only_cap_net_admin_to_end_the_resident") {
        return;
    }
    let lab = Lab::new(1);
    let state = lab.state_dir().join("nobody");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(lab.state_dir(), std::fs::Permissions::from_mode(0o711)).unwrap();
    Command::new("chown")
        .args(["nobody:nogroup"])
        .arg(&state)
        .status()
        .unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let run = |action: &str, caps: &str| {
        let inh = format!("--inh-caps=-all,{caps}");
        let ambient = format!("--ambient-caps=-all,{caps}");
        let bounding = format!("--bounding-set=-all,{caps}");
        let out = lab
            .exec_command(
                Host::Node(0),
                "setpriv",
                &[
                    "--reuid=nobody",
                    "--regid=nogroup",
                    "--clear-groups",
                    &inh,
                    &ambient,
                    &bounding,
                    AGENT_BIN,
                    action,
                ],
                &[
                    ("OCF_RESKEY_ip", VIP4),
                    ("OCF_RESKEY_arp_refresh_interval", "30"),
                    ("OCF_RESOURCE_INSTANCE", "vip"),
                    ("FLOATIP_STATE_DIR", state.to_str().unwrap()),
                ],
            )
            .output()
            .unwrap();
        eprintln!(
            "{action} ({caps}) -> {:?}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        out.status.code()
    };
    for state_lost in [false, true] {
        assert_eq!(run("start", "+net_admin,+net_raw"), Some(0));
        let resident = burst_workers(&lab, 0);
        assert_eq!(resident.len(), 1);
        if state_lost {
            std::fs::remove_file(state.join("vip.state")).unwrap();
        }
        assert_eq!(
            run("stop", "+net_admin"),
            Some(0),
            "stop with CAP_NET_ADMIN only"
        );
        assert!(
            wait_until(Duration::from_secs(5), || !running(resident[0])),
            "the resident was ended (state lost: {state_lost})"
        );
        assert!(vip_addresses(&lab, 0, VIP4).is_empty());
    }
}

#[test]
fn status_looks_in_the_resources_network_namespace_and_survives_a_foreign_socket() {
    if !root_or_skip(
        "status_looks_in_the_resources_network_namespace_and_survives_a_foreign_socket",
    ) {
        return;
    }
    let lab = Lab::new(1);
    let node_ns = lab.ns(Host::Node(0));
    let state = lab.state_dir().join("netns");
    let mut env = ocf_params(&[
        ("ip", VIP4),
        ("network_namespace", &node_ns),
        ("arp_refresh_interval", "30"),
    ]);
    env.push(("OCF_RESOURCE_INSTANCE".into(), "vip".into()));
    env.push(("FLOATIP_STATE_DIR".into(), state.to_str().unwrap().into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // Run from the client namespace, pointing at node 0's.
    assert_eq!(lab.agent(Host::Client, "start", &env).code, 0);
    let status = |args: &[&str]| {
        let mut cmd = lab.exec_command(
            Host::Client,
            AGENT_BIN,
            &[&["status"], args].concat(),
            &[("FLOATIP_STATE_DIR", state.to_str().unwrap())],
        );
        let run = run_with_timeout(&mut cmd, Duration::from_secs(10));
        assert!(!run.timed_out, "status hung");
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    let rows: serde_json::Value = serde_json::from_str(&status(&["--json"])).unwrap();
    let row = &rows[0];
    assert_eq!(row["assigned"], true, "{row}");
    assert_eq!(row["namespace"], node_ns.as_str());
    assert_eq!(row["resident"]["adapter"], "eth0", "{row}");
    let text = status(&[]);
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.contains(" yes ") && l.contains("running")),
        "{text}"
    );

    // A listener that is not the resident sits on its control socket: status refuses it and
    // still answers.
    let ctl = state.join("vip.ctl");
    std::fs::remove_file(&ctl).unwrap();
    let _impostor = std::os::unix::net::UnixListener::bind(&ctl).unwrap();
    let rows: serde_json::Value = serde_json::from_str(&status(&["--json"])).unwrap();
    assert!(
        rows[0]["resident"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("not by our resident")),
        "{}",
        rows[0]
    );
    assert_eq!(rows[0]["assigned"], true);
    assert_eq!(lab.agent(Host::Client, "stop", &env).code, 0);
}

/// Issue 15, finding 12: under heavy address churn the kernel interrupts dumps
/// (NLM_F_DUMP_INTR), several times in a row; start and stop retry within their deadline and
/// never fail for it.
#[test]
fn start_and_stop_succeed_while_addresses_churn_on_the_interface() {
    if !root_or_skip("start_and_stop_succeed_while_addresses_churn_on_the_interface") {
        return;
    }
    let lab = Lab::new(1);
    // Another process adds and removes 100 addresses in a tight loop, until told to stop.
    let batch = std::env::temp_dir().join(format!("{}-churn.batch", lab.prefix()));
    let lines: String = (0..100)
        .flat_map(|k| {
            let cidr = format!("203.0.113.{}/24", k + 100);
            [
                format!("addr add {cidr} dev eth0\n"),
                format!("addr del {cidr} dev eth0\n"),
            ]
        })
        .collect();
    std::fs::write(&batch, lines).unwrap();
    let script = format!(
        "while :; do ip -batch {} >/dev/null 2>&1 || true; done",
        batch.display()
    );
    let mut churn = lab
        .exec_command(Host::Node(0), "sh", &["-c", &script], &[])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let params: &[(&str, &str)] = &[("ip", VIP4), ("cidr_netmask", "24"), ("nic", "eth0")];
    let mut codes = Vec::new();
    for _ in 0..15 {
        codes.push(("start", agent(&lab, 0, "start", params).code));
        codes.push(("monitor", agent(&lab, 0, "monitor", params).code));
        codes.push(("stop", agent(&lab, 0, "stop", params).code));
    }
    sigkill(&mut churn);
    let _ = std::fs::remove_file(&batch);
    let failed: Vec<_> = codes.iter().filter(|(_, code)| *code != 0).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(!lab
        .addresses(Host::Node(0), "eth0")
        .contains(&format!("{VIP4}/24")));
}
