//! The agent's promises at the binary level, in a namespace lab (issue 10): checks that only a
//! start may make, waits bounded by the operation's timeout, a failed start that leaves what
//! it did not add, a link that is down with check_link_status=false, values that try to
//! forge output lines, and the capabilities each action needs. Needs root; skips without it
//! unless CI is set.

mod common;

use common::*;
use std::time::Duration;

const VIP4: &str = "198.51.100.50";
const VIP6: &str = "2001:db8:100::50";

fn timeout(ms: &str) -> (&'static str, String) {
    ("OCF_RESKEY_CRM_meta_timeout", ms.to_string())
}

fn with(params: &[(&str, &str)], more: &[(&'static str, String)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.extend(more.iter().map(|(k, v)| (k.to_string(), v.clone())));
    v
}

fn run(lab: &Lab, action: &str, params: &[(String, String)]) -> AgentRun {
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    agent(lab, 0, action, &borrowed)
}

#[test]
fn only_start_judges_whether_its_waits_fit_its_timeout() {
    if !root_or_skip("only_start_judges_whether_its_waits_fit_its_timeout") {
        return;
    }
    let lab = Lab::new(1);
    let params: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("nic", "eth0"),
        ("cidr_netmask", "24"),
        ("arp_bg", "false"),
        ("arp_count", "4"),
        ("arp_interval", "1000"),
    ];
    let cidr = "198.51.100.50/24";
    let refused = run(&lab, "start", &with(params, &[timeout("3000")]));
    assert_code(&refused, 6, "a 3 s burst in a 3 s start");
    assert!(!has_address(&lab, 0, cidr), "nothing added");
    assert_code(
        &run(&lab, "validate-all", &with(params, &[timeout("3000")])),
        6,
        "validate-all says the same",
    );
    assert_code(
        &run(&lab, "start", &with(params, &[timeout("8000")])),
        0,
        "start with room",
    );
    let recurring = with(
        params,
        &[
            timeout("4000"),
            ("OCF_RESKEY_CRM_meta_interval", "10000".into()),
        ],
    );
    assert_code(
        &run(&lab, "monitor", &recurring),
        0,
        "a recurring monitor with a shorter timeout",
    );
    let stop = run(&lab, "stop", &with(params, &[timeout("4000")]));
    assert_code(&stop, 0, "stop with a shorter timeout");
    assert!(
        !has_address(&lab, 0, cidr),
        "stop returned 0, so the address is gone: {:?}",
        lab.addresses(Host::Node(0), "eth0")
    );
}

#[test]
fn stop_removes_the_address_even_when_other_parameters_went_bad() {
    if !root_or_skip("stop_removes_the_address_even_when_other_parameters_went_bad") {
        return;
    }
    let lab = Lab::new(1);
    let good: &[(&str, &str)] = &[("ip", VIP4), ("nic", "eth0"), ("cidr_netmask", "24")];
    assert_code(&agent(&lab, 0, "start", good), 0, "start");
    // The configuration changed under a running resource: an invalid value Pacemaker passes
    // to the stop that follows.
    let bad: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("nic", "eth0"),
        ("cidr_netmask", "24"),
        ("arp_count", "many"),
    ];
    assert_code(&agent(&lab, 0, "monitor", bad), 0, "monitor still sees it");
    assert_code(&agent(&lab, 0, "stop", bad), 0, "stop");
    assert!(!has_address(&lab, 0, "198.51.100.50/24"));
}

#[test]
fn no_wait_outlives_the_operation_timeout() {
    if !root_or_skip("no_wait_outlives_the_operation_timeout") {
        return;
    }
    let lab = Lab::new(1);
    lab.wait_dad(Host::Node(0), "eth0");
    // A probe wait that cannot fit: refused at once, by start and validate-all.
    let probing = with(
        &[
            ("ip", VIP4),
            ("run_arping", "true"),
            ("arp_probe_wait", "10000"),
        ],
        &[timeout("3000")],
    );
    for action in ["start", "validate-all"] {
        let r = run(&lab, action, &probing);
        assert_code(&r, 6, action);
        assert!(
            exit_reasons(&r)[0].contains("arp_probe_wait"),
            "{}",
            r.stderr
        );
        assert!(
            r.elapsed < Duration::from_secs(3),
            "{action}: {:?}",
            r.elapsed
        );
    }
    // A deep monitor's probe is cut to what its timeout leaves.
    assert_code(&agent(&lab, 0, "start", &[("ip", VIP4)]), 0, "start");
    let deep = run(
        &lab,
        "monitor",
        &with(
            &[
                ("ip", VIP4),
                ("arp_probe_wait", "10000"),
                ("OCF_CHECK_LEVEL", "10"),
            ],
            &[timeout("3000")],
        ),
    );
    assert_code(&deep, 0, "deep monitor");
    assert!(deep.elapsed < Duration::from_secs(3), "{:?}", deep.elapsed);
    assert_code(&agent(&lab, 0, "stop", &[("ip", VIP4)]), 0, "stop");
    // IPv6 DAD that cannot finish (a hundred transmits, a second apart) gives up within the
    // start's timeout and leaves nothing behind: no three-second floor.
    lab.sh_ok(
        Host::Node(0),
        "sysctl -qw net.ipv6.conf.eth0.dad_transmits=100",
    );
    let start = run(&lab, "start", &with(&[("ip", VIP6)], &[timeout("5000")]));
    assert_code(&start, 1, "DAD that does not finish");
    assert!(
        start.elapsed < Duration::from_secs(5),
        "{:?}",
        start.elapsed
    );
    assert!(
        !lab.addresses(Host::Node(0), "eth0")
            .iter()
            .any(|a| a.starts_with(VIP6)),
        "the address it added is taken back"
    );
}

#[test]
fn a_down_link_with_check_link_status_false_keeps_what_was_there() {
    if !root_or_skip("a_down_link_with_check_link_status_false_keeps_what_was_there") {
        return;
    }
    let lab = Lab::new(1);
    let cidr = "198.51.100.50/24";
    let params: &[(&str, &str)] = &[
        ("ip", VIP4),
        ("nic", "eth0"),
        ("cidr_netmask", "24"),
        ("check_link_status", "false"),
    ];
    lab.ip(Host::Node(0), &["addr", "add", cidr, "dev", "eth0"]);
    lab.ip(Host::Node(0), &["link", "set", "eth0", "down"]);
    let start = agent(&lab, 0, "start", params);
    assert_code(&start, 0, "start on an administratively down link");
    assert!(has_address(&lab, 0, cidr), "the address it found stays");
    assert_code(&agent(&lab, 0, "monitor", params), 0, "monitor");
    // With the default check_link_status, the same start is refused and still leaves it.
    let strict: &[(&str, &str)] = &[("ip", VIP4), ("nic", "eth0"), ("cidr_netmask", "24")];
    assert_code(
        &agent(&lab, 0, "start", strict),
        5,
        "link down (node-local, IPaddr2 4.17)",
    );
    assert!(
        has_address(&lab, 0, cidr),
        "a refused start removes nothing"
    );
    lab.ip(Host::Node(0), &["link", "set", "eth0", "up"]);
    lab.wait_link(Host::Node(0), "eth0");
    assert_code(&agent(&lab, 0, "stop", params), 0, "stop");
    assert!(!has_address(&lab, 0, cidr));
}

#[test]
fn values_cannot_forge_output_lines() {
    if !root_or_skip("values_cannot_forge_output_lines") {
        return;
    }
    let lab = Lab::new(1);
    let forged = "ns\nocf-exit-reason:forged";
    for action in ["start", "validate-all"] {
        let r = agent(
            &lab,
            0,
            action,
            &[("ip", VIP4), ("network_namespace", forged)],
        );
        assert_code(&r, 6, action);
        let reasons = exit_reasons(&r);
        assert_eq!(reasons.len(), 1, "{action}: {}", r.stderr);
        assert!(
            reasons[0].contains("invalid network_namespace")
                && reasons[0].contains("control characters"),
            "{reasons:?}"
        );
    }
    // stop and monitor act on what identifies the address (nothing of ours can be in a
    // namespace start refused): success and "not running", and still no forged line.
    for (action, code) in [("stop", 0), ("monitor", 7)] {
        let r = agent(
            &lab,
            0,
            action,
            &[("ip", VIP4), ("network_namespace", forged)],
        );
        assert_code(&r, code, action);
        assert!(exit_reasons(&r).is_empty(), "{}", r.stderr);
        assert!(
            r.stderr.lines().all(|l| l.starts_with("FloatIP(vip)[")),
            "{}",
            r.stderr
        );
    }
    // A resource name with a newline: every stderr line is the agent's own.
    let r = agent(
        &lab,
        0,
        "monitor",
        &[
            ("ip", VIP4),
            ("OCF_RESOURCE_INSTANCE", "vip\nocf-exit-reason:forged"),
            ("arp_sender", "x"),
        ],
    );
    for line in r.stderr.lines() {
        assert!(
            line.starts_with("FloatIP(vip\\nocf-exit-reason:forged)["),
            "{line:?}"
        );
    }
}

#[test]
fn stop_and_probes_need_no_raw_socket_capability() {
    if !root_or_skip("stop_and_probes_need_no_raw_socket_capability") {
        return;
    }
    let lab = Lab::new(1);
    let params: &[(&str, &str)] = &[("ip", VIP4), ("nic", "eth0"), ("cidr_netmask", "24")];
    assert_code(&agent(&lab, 0, "start", params), 0, "start as root");
    // The same user (root) with CAP_NET_RAW taken away: stop sends nothing, so it works.
    let env = agent_env(&lab, 0, params);
    let borrowed: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let without_raw = |action: &str| {
        let mut cmd = lab.exec_command(
            Host::Node(0),
            "setpriv",
            &[
                "--inh-caps=-net_raw",
                "--bounding-set=-net_raw",
                AGENT_BIN,
                action,
            ],
            &borrowed,
        );
        run_with_timeout(&mut cmd, Duration::from_secs(30))
    };
    let probe = without_raw("monitor");
    assert_code(&probe, 0, "probe without CAP_NET_RAW");
    let start = without_raw("start");
    assert_code(&start, 4, "start without CAP_NET_RAW");
    assert!(
        exit_reasons(&start)[0].contains("CAP_NET_RAW"),
        "{}",
        start.stderr
    );
    let stop = without_raw("stop");
    assert_code(&stop, 0, "stop without CAP_NET_RAW");
    assert!(!has_address(&lab, 0, "198.51.100.50/24"));
}
