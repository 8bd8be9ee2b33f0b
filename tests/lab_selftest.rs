//! Tests of the namespace lab in tests/common (root tests skip without root unless CI is set).

mod common;

use common::*;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

fn netns_list() -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn lab_namespaces_gone(names: &[String]) -> bool {
    let list = netns_list();
    let present: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    names.iter().all(|n| !present.contains(&n.as_str()))
}

/// ICMP echo replies (IPv4 type 0, IPv6 type 129) sent from `src_mac`.
fn echo_replies(frames: &[(Instant, Vec<u8>)], src_mac: [u8; 6]) -> (usize, usize) {
    let (mut v4, mut v6) = (0, 0);
    for (_, f) in frames {
        let Some((_, src, et)) = eth_header(f) else {
            continue;
        };
        if src != src_mac {
            continue;
        }
        match et {
            0x0800 if f.len() >= 34 => {
                let ihl = (f[14] & 0x0f) as usize * 4;
                if f[14 + 9] == 1 && f.len() > 14 + ihl && f[14 + ihl] == 0 {
                    v4 += 1;
                }
            }
            0x86dd if f.len() >= 55 && f[14 + 6] == 58 && f[54] == 129 => v6 += 1,
            _ => {}
        }
    }
    (v4, v6)
}

/// A gratuitous ARP request: broadcast, sender IP = target IP = `ip`, target MAC zero.
fn garp_request(mac: [u8; 6], ip: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06]);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ip.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&ip.octets());
    f
}

#[test]
fn lab_comes_up_pings_and_captures() {
    if !root_or_skip("lab_comes_up_pings_and_captures") {
        return;
    }
    let t0 = Instant::now();
    let lab = Lab::new(2);
    eprintln!("Lab::new(2) took {:?}", t0.elapsed());

    let n0 = Host::Node(0);
    assert!(lab
        .addresses(Host::Client, "eth0")
        .contains(&"198.51.100.254/24".to_string()));
    assert!(lab
        .addresses(Host::Client, "eth0")
        .contains(&"2001:db8:100::254/64".to_string()));
    for i in 0..2 {
        let a = lab.addresses(Host::Node(i), "eth0");
        assert!(a.contains(&format!("198.51.100.{}/24", 10 + i)), "{a:?}");
        assert!(a.contains(&format!("2001:db8:100::{}/64", 10 + i)), "{a:?}");
        assert!(lab.has_carrier(Host::Node(i), "eth0"));
    }
    let mac0 = lab.mac(n0, "eth0");
    assert_eq!(mac0.len(), 17);
    assert_eq!(mac0, mac0.to_lowercase());
    assert_ne!(mac0, lab.mac(Host::Node(1), "eth0"));
    assert_eq!(lab.neigh(Host::Client, "198.51.100.10"), None);

    let cap = lab.capture(Host::Client, "eth0");
    lab.sh_ok(Host::Client, "ping -c1 -w3 198.51.100.10");
    lab.sh_ok(Host::Client, "ping -6 -c1 -W1 2001:db8:100::10");

    let (mac, state) = lab.neigh(Host::Client, "198.51.100.10").expect("v4 neigh");
    assert_eq!(mac, mac0);
    assert!(!state.is_empty());
    let (mac6, _) = lab
        .neigh(Host::Client, "2001:db8:100::10")
        .expect("v6 neigh");
    assert_eq!(mac6, mac0);

    let frames = cap.stop();
    let (v4, v6) = echo_replies(&frames, mac_bytes(&mac0));
    assert_eq!(
        (v4, v6),
        (1, 1),
        "echo replies from node 0 in {} frames",
        frames.len()
    );

    // The kernel's own solicited NA (answering the client's multicast NS) parses.
    let target: Ipv6Addr = "2001:db8:100::10".parse().unwrap();
    let nas = neighbor_advertisements(&frames, target);
    assert!(!nas.is_empty(), "no NA for {target}");
    let na = nas[0].1;
    assert!(na.solicited && na.override_flag && !na.router, "{na:?}");
    assert_eq!(na.tlla, Some(mac_bytes(&mac0)));
    assert_eq!(na.hop_limit, 255);
    assert_eq!(na.eth_src, mac_bytes(&mac0));

    // The node's link-local finishes DAD shortly (Lab::new does not wait for it).
    let t = Instant::now();
    lab.wait_dad(n0, "eth0");
    eprintln!("link-local DAD done {:?} later", t.elapsed());
    assert!(lab
        .addresses(n0, "eth0")
        .iter()
        .any(|a| a.starts_with("fe80:")));

    // The client's own echo requests are in the capture as outgoing frames.
    let out = frames.len();
    assert!(out >= 4, "{out} frames");
}

#[test]
fn cut_cable_drops_and_restores_carrier() {
    if !root_or_skip("cut_cable_drops_and_restores_carrier") {
        return;
    }
    let lab = Lab::new(2);
    let n0 = Host::Node(0);
    let t = Instant::now();
    lab.set_port(n0, false);
    eprintln!("carrier loss seen after {:?}", t.elapsed());
    let line = lab.link_show(n0, "eth0");
    assert!(
        line.contains("NO-CARRIER") || line.contains("LOWERLAYERDOWN"),
        "{line}"
    );
    assert!(!lab.has_carrier(n0, "eth0"), "{line}");
    // Node 1 is unaffected.
    assert!(lab.has_carrier(Host::Node(1), "eth0"));
    let r = lab.sh(Host::Client, "ping -c1 -W1 198.51.100.10");
    assert!(!r.status.success(), "ping through a cut cable succeeded");

    let t = Instant::now();
    lab.set_port(n0, true);
    eprintln!("carrier + forwarding back after {:?}", t.elapsed());
    assert!(lab.has_carrier(n0, "eth0"));
    lab.sh_ok(Host::Client, "ping -c1 -w3 198.51.100.10");
}

#[test]
fn add_nic_gives_a_second_port() {
    if !root_or_skip("add_nic_gives_a_second_port") {
        return;
    }
    let lab = Lab::new(1);
    let n0 = Host::Node(0);
    lab.add_nic(0, "eth1");
    assert!(lab.has_carrier(n0, "eth1"));
    assert_ne!(lab.mac(n0, "eth1"), lab.mac(n0, "eth0"));
    let addrs = lab.addresses(n0, "eth1");
    assert!(
        addrs.iter().all(|a| a.starts_with("fe80:")),
        "eth1 should have at most a link-local address: {addrs:?}"
    );
    let cap = lab.capture(Host::Client, "eth0");
    lab.set_nic_port(n0, "eth1", false);
    assert!(!lab.has_carrier(n0, "eth1"));
    assert!(lab.has_carrier(n0, "eth0"));
    lab.set_nic_port(n0, "eth1", true);
    assert!(lab.has_carrier(n0, "eth1"));
    drop(cap);
}

#[test]
fn drop_removes_namespaces_and_state_dir() {
    if !root_or_skip("drop_removes_namespaces_and_state_dir") {
        return;
    }
    let lab = Lab::new(2);
    let names: Vec<String> = lab.hosts().into_iter().map(|h| lab.ns(h)).collect();
    assert_eq!(names.len(), 4);
    let state = lab.state_dir().to_path_buf();
    assert!(state.is_dir());
    let list = netns_list();
    for n in &names {
        assert!(list.contains(n.as_str()), "{n} missing from {list}");
    }
    // A process left running inside a lab namespace is killed by Drop.
    let mut child = lab
        .exec_command(Host::Node(1), "sleep", &["60"], &[])
        .spawn()
        .expect("spawn sleep");
    // `ip netns exec` runs sleep in its own place (same PID) once it has entered the namespace.
    let deadline = Instant::now() + Duration::from_secs(10);
    let node1 = lab.ns(Host::Node(1));
    while !netns_pids(&node1).contains(&(child.id() as i32)) {
        assert!(Instant::now() < deadline, "sleep never entered {node1}");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(lab);
    assert!(lab_namespaces_gone(&names), "{}", netns_list());
    assert!(!state.exists());
    let status = child.wait().expect("wait sleep");
    assert!(!status.success());

    // Also when the test panics while holding the lab.
    let names2 = std::thread::spawn(|| {
        let lab = Lab::new(1);
        let names: Vec<String> = lab.hosts().into_iter().map(|h| lab.ns(h)).collect();
        let r = std::panic::catch_unwind(move || {
            let _lab = lab;
            panic!("deliberate panic with a live lab");
        });
        assert!(r.is_err());
        names
    })
    .join()
    .unwrap();
    assert!(lab_namespaces_gone(&names2), "{}", netns_list());
}

#[test]
fn arp_announcement_sent_from_node_is_seen_by_client() {
    if !root_or_skip("arp_announcement_sent_from_node_is_seen_by_client") {
        return;
    }
    let lab = Lab::new(2);
    let n0 = Host::Node(0);
    let vip = Ipv4Addr::new(198, 51, 100, 50);
    let mac0 = mac_bytes(&lab.mac(n0, "eth0"));
    let client_cap = lab.capture(Host::Client, "eth0");
    let n1_cap = lab.capture(Host::Node(1), "eth0");
    let n0_cap = lab.capture(n0, "eth0");

    let sent = Instant::now();
    lab.send_frame(n0, "eth0", &garp_request(mac0, vip));
    assert!(
        client_cap.wait_for(Duration::from_secs(2), |f| !arp_announcements(f, vip)
            .is_empty()),
        "client never saw the announcement"
    );
    let frames = client_cap.stop();
    let anns = arp_announcements(&frames, vip);
    assert_eq!(anns.len(), 1, "{anns:?}");
    let (at, info) = anns[0];
    assert!(at >= sent);
    eprintln!("ARP announcement reached the client after {:?}", at - sent);
    assert_eq!(info.op, 1);
    assert_eq!(info.sender_mac, mac0);
    assert_eq!(info.target_mac, [0; 6]);
    assert_eq!(info.eth_src, mac0);
    assert_eq!(info.eth_dst, [0xff; 6]);

    // Broadcast reaches the other node too, and the sender sees it as outgoing only.
    assert!(
        n1_cap.wait_for(Duration::from_secs(2), |f| arp_announcements(f, vip).len()
            == 1)
    );
    assert_eq!(arp_announcements(&n0_cap.outgoing(), vip).len(), 1);
    assert!(arp_announcements(&n0_cap.incoming(), vip).is_empty());

    // An unrelated ARP (different IPs) is not an announcement.
    let mut other = garp_request(mac0, vip);
    other[38..42].copy_from_slice(&[198, 51, 100, 254]);
    assert!(arp_announcements(&[(Instant::now(), other)], vip).is_empty());
}

#[test]
fn agent_gets_a_clean_environment_and_timeouts_work() {
    if !root_or_skip("agent_gets_a_clean_environment_and_timeouts_work") {
        return;
    }
    let lab = Lab::new(1);
    let mut cmd = lab.exec_command(Host::Node(0), "env", &[], &[("OCF_RESKEY_ip", "x")]);
    let run = run_with_timeout(&mut cmd, Duration::from_secs(10));
    assert_eq!(run.code, 0, "{run:?}");
    let mut vars: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split('=').next().unwrap())
        .collect();
    vars.sort();
    assert_eq!(
        vars,
        ["FLOATIP_STATE_DIR", "OCF_RESKEY_ip", "OCF_ROOT", "PATH"],
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains(&format!("FLOATIP_STATE_DIR={}", lab.state_dir().display())));

    let mut cmd = lab.exec_command(Host::Node(0), "sleep", &["30"], &[]);
    let run = run_with_timeout(&mut cmd, Duration::from_millis(300));
    assert!(run.timed_out);
    assert_eq!(run.code, 128 + 9);
    assert!(run.elapsed < Duration::from_secs(5));

    // The agent binary itself runs in the node's namespace (whatever it prints for now).
    let run = lab.agent(Host::Node(0), "meta-data", &[]);
    assert!(!run.timed_out, "{run:?}");
}

#[test]
fn frame_parsers_on_crafted_frames() {
    // Pure: no root needed.
    let mac = [0x02, 0, 0, 0, 0, 1];
    let vip = Ipv4Addr::new(198, 51, 100, 50);
    let mut reply = garp_request(mac, vip);
    reply[21] = 2; // op = reply
    reply[32..38].copy_from_slice(&mac);
    let t = Instant::now();
    let anns = arp_announcements(&[(t, reply.clone()), (t, vec![0; 10])], vip);
    assert_eq!(anns.len(), 1);
    assert_eq!(anns[0].1.op, 2);
    assert_eq!(anns[0].1.target_mac, mac);
    assert!(arp_announcements(&[(t, reply)], Ipv4Addr::new(198, 51, 100, 51)).is_empty());

    // Unsolicited NA to ff02::1 with override and TLLA.
    let target: Ipv6Addr = "2001:db8:100::50".parse().unwrap();
    let src = target;
    let dst: Ipv6Addr = "ff02::1".parse().unwrap();
    let mut f = vec![0x33, 0x33, 0, 0, 0, 1];
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 32, 58, 255]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&[136, 0, 0, 0, 0x20, 0, 0, 0]);
    f.extend_from_slice(&target.octets());
    f.extend_from_slice(&[2, 1]);
    f.extend_from_slice(&mac);
    let nas = neighbor_advertisements(&[(t, f.clone())], target);
    assert_eq!(nas.len(), 1);
    let na = nas[0].1;
    assert!(na.override_flag && !na.solicited && !na.router);
    assert_eq!(na.tlla, Some(mac));
    assert_eq!(na.dst, dst);
    assert_eq!(na.hop_limit, 255);
    assert!(
        neighbor_advertisements(&[(t, f.clone())], "2001:db8:100::51".parse().unwrap()).is_empty()
    );
    // Not an NA once the type changes (135 = NS).
    f[54] = 135;
    assert!(neighbor_advertisements(&[(t, f)], target).is_empty());

    assert_eq!(
        mac_str(&mac_bytes("0a:1b:2c:3d:4e:5f")),
        "0a:1b:2c:3d:4e:5f"
    );
}

#[test]
fn parallel_labs_do_not_collide() {
    if !root_or_skip("parallel_labs_do_not_collide") {
        return;
    }
    let handles: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                let lab = Lab::new(1);
                lab.sh_ok(Host::Client, "ping -c1 -w3 198.51.100.10");
                lab.prefix().to_string()
            })
        })
        .collect();
    let mut prefixes: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    prefixes.sort();
    prefixes.dedup();
    assert_eq!(prefixes.len(), 4);
}
