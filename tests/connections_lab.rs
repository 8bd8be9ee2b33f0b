//! Issue 17: the TCP connections of the floating address are reset when it leaves this node
//! (the kernel's SOCK_DESTROY through sock_diag), so each client reconnects at once; nothing
//! else is touched. Real kernels, in namespace labs; needs root.

mod common;

use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::time::Duration;

const VIP4: &str = "198.51.100.50";

/// A connection from the client to `to` in node 0, with both ends: (client's, node's).
fn connect(lab: &Lab, listener: &TcpListener, to: std::net::SocketAddr) -> (TcpStream, TcpStream) {
    let client = lab.in_ns(Host::Client, move || {
        TcpStream::connect_timeout(&to, Duration::from_secs(3)).unwrap()
    });
    let (node_end, _) = listener.accept().unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    (client, node_end)
}

fn listen(lab: &Lab, at: &str) -> TcpListener {
    let at = at.to_string();
    lab.in_ns(Host::Node(0), move || TcpListener::bind(at).unwrap())
}

#[test]
fn resetting_the_address_connections_resets_exactly_those() {
    if !root_or_skip("resetting_the_address_connections_resets_exactly_those") {
        return;
    }
    let lab = Lab::new(1);
    lab.ip(
        Host::Node(0),
        &["addr", "add", &format!("{VIP4}/24"), "dev", "eth0"],
    );
    let node_ip = Host::Node(0).ipv4().unwrap();
    // Served on the VIP, and on every address (a dual-stack socket: the VIP's connections
    // arrive as IPv4-mapped IPv6), and one on the node's own address.
    let on_vip = listen(&lab, &format!("{VIP4}:8080"));
    let everywhere = listen(&lab, "[::]:8081");
    let own = listen(&lab, &format!("{node_ip}:8082"));
    let (mut c1, _n1) = connect(&lab, &on_vip, format!("{VIP4}:8080").parse().unwrap());
    let (mut c2, _n2) = connect(&lab, &everywhere, format!("{VIP4}:8081").parse().unwrap());
    let (mut c3, mut n3) = connect(&lab, &own, format!("{node_ip}:8082").parse().unwrap());

    let vip: IpAddr = VIP4.parse().unwrap();
    let found = lab.in_ns(Host::Node(0), move || {
        floatip::host::sockdiag::connections_of(vip, Duration::from_secs(2)).unwrap()
    });
    assert_eq!(found.len(), 2, "{found:?}");
    let reset = lab.in_ns(Host::Node(0), move || {
        floatip::host::sockdiag::reset_connections(vip, Duration::from_secs(2)).unwrap()
    });
    assert_eq!(reset.reset, 2, "{reset:?}");

    let mut buffer = [0u8; 8];
    for (what, client) in [
        ("on the VIP", &mut c1),
        ("via a dual-stack socket", &mut c2),
    ] {
        let got = client.read(&mut buffer);
        assert!(
            matches!(&got, Err(e) if e.kind() == ErrorKind::ConnectionReset),
            "{what}: the client is told at once: {got:?}"
        );
    }
    // The node's own connection and the listeners are untouched.
    c3.write_all(b"ping").unwrap();
    let mut got = [0u8; 4];
    n3.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");
    let (mut again, mut served) = connect(&lab, &on_vip, format!("{VIP4}:8080").parse().unwrap());
    again.write_all(b"back").unwrap();
    served.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"back", "the client reconnects at once");
}

/// stop resets the clients' connections to the address (reset_connections, default true), so
/// a client waiting for an answer learns at once; turned off, it is left waiting.
#[test]
fn stop_resets_the_connections_of_its_address_unless_told_not_to() {
    if !root_or_skip("stop_resets_the_connections_of_its_address_unless_told_not_to") {
        return;
    }
    for (reset, params) in [
        (true, vec![("ip", VIP4), ("cidr_netmask", "24")]),
        (
            false,
            vec![
                ("ip", VIP4),
                ("cidr_netmask", "24"),
                ("reset_connections", "false"),
            ],
        ),
    ] {
        let lab = Lab::new(1);
        assert_code(&agent(&lab, 0, "start", &params), 0, "start");
        let on_vip = listen(&lab, &format!("{VIP4}:8080"));
        let (mut client, _node_end) =
            connect(&lab, &on_vip, format!("{VIP4}:8080").parse().unwrap());
        client
            .set_read_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
        let stop = agent(&lab, 0, "stop", &params);
        assert_code(&stop, 0, "stop");
        let mut buffer = [0u8; 8];
        let got = client.read(&mut buffer);
        if reset {
            assert!(
                matches!(&got, Err(e) if e.kind() == ErrorKind::ConnectionReset),
                "the waiting client is told at once: {got:?}"
            );
            assert!(
                stop.stderr
                    .contains("reset 1 TCP connection(s) to 198.51.100.50"),
                "{}",
                stop.stderr
            );
        } else {
            assert!(
                matches!(&got, Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut),
                "left waiting: {got:?}"
            );
        }
    }
}

/// The unplanned path's mechanism (issue 17): the node that took the address over sends a
/// tickle to a client whose connection ended with the old owner; the client answers, the new
/// owner's kernel resets, and the client's wait ends at once. Without it, it waits on.
#[test]
fn a_tickle_from_the_new_owner_ends_a_clients_wait_on_a_dead_connection() {
    if !root_or_skip("a_tickle_from_the_new_owner_ends_a_clients_wait_on_a_dead_connection") {
        return;
    }
    for tickled in [true, false] {
        let lab = Lab::new(2);
        let params = [("ip", VIP4), ("cidr_netmask", "24")];
        assert_code(&agent(&lab, 0, "start", &params), 0, "start on node 0");
        let on_vip = listen(&lab, &format!("{VIP4}:8080"));
        let (mut client, node_end) =
            connect(&lab, &on_vip, format!("{VIP4}:8080").parse().unwrap());
        let client_port = client.local_addr().unwrap().port();
        // Node 0 is cut off without a stop (its link down: its sockets can say nothing any
        // more); node 1 takes the address.
        lab.ip(Host::Node(0), &["link", "set", "eth0", "down"]);
        assert_code(&agent(&lab, 1, "start", &params), 0, "start on node 1");
        std::thread::sleep(Duration::from_millis(300));
        if tickled {
            let pair = (
                format!("{VIP4}:8080").parse().unwrap(),
                std::net::SocketAddr::new(Host::Client.ipv4().unwrap().into(), client_port),
            );
            let sent = lab.in_ns(Host::Node(1), move || {
                floatip::host::sockdiag::send_tickles(&[pair]).unwrap()
            });
            assert_eq!(sent, 1);
        }
        client
            .set_read_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
        let mut buffer = [0u8; 8];
        let got = client.read(&mut buffer);
        if tickled {
            assert!(
                matches!(&got, Err(e) if e.kind() == ErrorKind::ConnectionReset),
                "the client is reset through node 1: {got:?}"
            );
        } else {
            assert!(
                matches!(&got, Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut),
                "untickled, it waits: {got:?}"
            );
        }
        assert_code(&agent(&lab, 1, "stop", &params), 0, "stop on node 1");
        drop((on_vip, node_end));
    }
}

const VIP6: &str = "2001:db8:100::50";

/// A client one router away: namespace `<lab>-n99` behind the lab's client, which routes
/// between the segment and 203.0.113.0/24, 2001:db8:2::/64 (named like a lab node so that a
/// killed run's leftover is reaped with its lab; removed on drop).
struct Far {
    ns: String,
}

impl Far {
    const V4: &'static str = "203.0.113.9";
    const V6: &'static str = "2001:db8:2::9";

    fn new(lab: &Lab) -> Far {
        let far = Far {
            ns: format!("{}-n99", lab.prefix()),
        };
        let run = |args: &[&str]| {
            let out = std::process::Command::new("ip")
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&["netns", "add", &far.ns]);
        let router = lab.ns(Host::Client);
        run(&[
            "-n", &router, "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns",
            &far.ns,
        ]);
        for (ns, v4, v6) in [
            (&router, "203.0.113.1/24", "2001:db8:2::1/64"),
            (&far.ns, "203.0.113.9/24", "2001:db8:2::9/64"),
        ] {
            let dev = if *ns == router { "eth1" } else { "eth0" };
            run(&["-n", ns, "addr", "add", v4, "dev", dev]);
            run(&["-n", ns, "addr", "add", v6, "dev", dev, "nodad"]);
            run(&["-n", ns, "link", "set", dev, "up"]);
            run(&["-n", ns, "link", "set", "lo", "up"]);
        }
        run(&[
            "-n",
            &far.ns,
            "route",
            "add",
            "default",
            "via",
            "203.0.113.1",
        ]);
        run(&[
            "-n",
            &far.ns,
            "-6",
            "route",
            "add",
            "default",
            "via",
            "2001:db8:2::1",
        ]);
        // The lab's client is the router of this topology (not a setting of the product).
        lab.sh_ok(
            Host::Client,
            "sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1",
        );
        for node in 0..lab.nodes() {
            lab.ip(
                Host::Node(node),
                &["route", "add", "203.0.113.0/24", "via", "198.51.100.254"],
            );
            lab.ip(
                Host::Node(node),
                &[
                    "-6",
                    "route",
                    "add",
                    "2001:db8:2::/64",
                    "via",
                    "2001:db8:100::254",
                ],
            );
        }
        far
    }

    fn in_ns<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let ns = self.ns.clone();
        std::thread::spawn(move || {
            enter_netns(&ns).unwrap_or_else(|e| panic!("{e}"));
            f()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Far {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.ns])
            .output();
    }
}

/// A client on the segment and one behind the router, each with an idle connection to
/// `vip`:8080 served on node `node`, waiting for an answer.
fn two_clients(
    lab: &Lab,
    far: &Far,
    node: usize,
    vip: &str,
) -> (TcpListener, Vec<(&'static str, TcpStream, TcpStream)>) {
    let at = std::net::SocketAddr::new(vip.parse().unwrap(), 8080);
    let listener = lab.in_ns(Host::Node(node), move || TcpListener::bind(at).unwrap());
    let mut held = Vec::new();
    for (what, from_far) in [("on the segment", false), ("one router away", true)] {
        let connect = move || TcpStream::connect_timeout(&at, Duration::from_secs(3)).unwrap();
        let client = if from_far {
            far.in_ns(connect)
        } else {
            lab.in_ns(Host::Client, connect)
        };
        let (node_end, _) = listener.accept().unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(2000)))
            .unwrap();
        held.push((what, client, node_end));
    }
    (listener, held)
}

fn is_reset(got: &std::io::Result<usize>) -> bool {
    matches!(got, Err(e) if e.kind() == ErrorKind::ConnectionReset)
}

fn is_waiting(got: &std::io::Result<usize>) -> bool {
    matches!(got, Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut)
}

/// Issue 17, planned path: the address moves from node 0 to node 1 by stop and start; a
/// client on the segment and one behind a router, each waiting on an idle connection, are
/// reset (IPv4 and IPv6); with reset_connections=false both are left waiting.
#[test]
fn a_move_by_stop_and_start_resets_clients_near_and_behind_a_router() {
    if !root_or_skip("a_move_by_stop_and_start_resets_clients_near_and_behind_a_router") {
        return;
    }
    for vip in [VIP4, VIP6] {
        let prefix = if vip == VIP4 { "24" } else { "64" };
        for reset in [true, false] {
            let lab = Lab::new(2);
            let far = Far::new(&lab);
            let value = if reset { "true" } else { "false" };
            let params = [
                ("ip", vip),
                ("cidr_netmask", prefix),
                ("reset_connections", value),
            ];
            assert_code(&agent(&lab, 0, "start", &params), 0, "start on node 0");
            let (_listener, mut held) = two_clients(&lab, &far, 0, vip);
            assert_code(&agent(&lab, 0, "stop", &params), 0, "stop on node 0");
            assert_code(&agent(&lab, 1, "start", &params), 0, "start on node 1");
            let mut buffer = [0u8; 8];
            for (what, client, _) in &mut held {
                let got = client.read(&mut buffer);
                if reset {
                    assert!(
                        is_reset(&got),
                        "{vip}, client {what}: reset at once: {got:?}"
                    );
                } else {
                    assert!(
                        is_waiting(&got),
                        "{vip}, client {what}: left waiting: {got:?}"
                    );
                }
            }
            assert_code(&agent(&lab, 1, "stop", &params), 0, "stop on node 1");
            drop(far);
        }
    }
}

/// An `attrd_updater` stand-in that answers every query with `value` (as Pacemaker's does).
fn fake_attrd(lab: &Lab, value: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = lab.state_dir().join("attrd_updater");
    let body = format!(
        "#!/bin/sh\ncat <<'END'\nname=\"floatip-clients-vip\" host=\"node-b\" value=\"{value}\"\nEND\n"
    );
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

/// A TCP segment in a captured frame: (source, destination, flags).
fn tcp_of(frame: &[u8]) -> Option<(std::net::SocketAddr, std::net::SocketAddr, u8)> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let ip = frame.get(14..)?;
    let (src, dst, tcp): (IpAddr, IpAddr, &[u8]) = match ethertype {
        0x0800 if *ip.get(9)? == 6 => {
            let ihl = usize::from(ip[0] & 0xf) * 4;
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (s.into(), d.into(), ip.get(ihl..)?)
        }
        0x86dd if *ip.get(6)? == 6 => {
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (s.into(), d.into(), ip.get(40..)?)
        }
        _ => return None,
    };
    let port = |at: usize| Some(u16::from_be_bytes([*tcp.get(at)?, *tcp.get(at + 1)?]));
    Some((
        std::net::SocketAddr::new(src, port(0)?),
        std::net::SocketAddr::new(dst, port(2)?),
        *tcp.get(13)?,
    ))
}

/// Issue 17, trust: start on the node taking the address over reads a forged client list
/// (garbage, another address's, stale, oversized, or one whose entries mix the real clients
/// with addresses no client of the VIP can have). Start returns 0 every time, and on the wire
/// node 1 sends TCP only from the VIP to the real clients, and only for the mixed list, which
/// resets them (IPv4 and IPv6).
#[test]
fn a_forged_client_list_tickles_nothing_outside_the_vips_clients() {
    if !root_or_skip("a_forged_client_list_tickles_nothing_outside_the_vips_clients") {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (vip, prefix, other) in [
        (VIP4, "24", "198.51.100.77"),
        (VIP6, "64", "2001:db8:100::77"),
    ] {
        let v6 = vip == VIP6;
        let far_ip = if v6 { Far::V6 } else { Far::V4 };
        let header = |of: &str, at: u64| format!("floatip-clients-1 {at} {of}");
        let forged = [
            "garbage;reboot".to_string(),
            format!("{} {far_ip},1,8080", header(other, now)),
            format!("{} {far_ip},1,8080", header(vip, now - 3600)),
            format!(
                "{} {}",
                header(vip, now),
                (1..5000)
                    .map(|port| format!("{far_ip},{port},8080"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ];
        // None: the mixed list, built once the clients' ports are known.
        for forged in forged.iter().map(Some).chain([None]) {
            let lab = Lab::new(2);
            let far = Far::new(&lab);
            let params = [("ip", vip), ("cidr_netmask", prefix)];
            assert_code(&agent(&lab, 0, "start", &params), 0, "start on node 0");
            let (_listener, mut held) = two_clients(&lab, &far, 0, vip);
            let real: Vec<std::net::SocketAddr> = held
                .iter()
                .map(|(_, c, _)| c.local_addr().unwrap())
                .map(|a| std::net::SocketAddr::new(unmapped(a.ip()), a.port()))
                .collect();
            let junk = if v6 {
                "ff02::1,1,8080 ::1,1,8080 2001:db8:100::50,1,8080 198.51.100.9,1,8080"
            } else {
                "224.0.0.1,1,8080 127.0.0.1,1,8080 198.51.100.50,1,8080 255.255.255.255,1,8080 2001:db8::9,1,8080"
            };
            let (list, allowed) = match forged {
                Some(list) => (list.clone(), Vec::new()),
                None => (
                    format!(
                        "{} {},{},8080 {},{},8080 {junk}",
                        header(vip, now),
                        real[0].ip(),
                        real[0].port(),
                        real[1].ip(),
                        real[1].port()
                    ),
                    real.clone(),
                ),
            };
            // Node 0 is cut off without a stop; node 1 takes the address over under Pacemaker.
            lab.ip(Host::Node(0), &["link", "set", "eth0", "down"]);
            let capture = lab.capture(Host::Node(1), "eth0");
            let attrd = fake_attrd(&lab, &list);
            let mut with = params.to_vec();
            with.extend([
                ("OCF_RESKEY_CRM_meta_on_node", "node-b"),
                ("FLOATIP_ATTRD_UPDATER", attrd.as_str()),
                ("FLOATIP_CRM_NODE", "/bin/false"),
            ]);
            let start = agent(&lab, 1, "start", &with);
            assert_code(&start, 0, &format!("start with {list:.80}"));
            let mut buffer = [0u8; 8];
            for (what, client, _) in &mut held {
                let got = client.read(&mut buffer);
                if !allowed.is_empty() {
                    assert!(
                        is_reset(&got),
                        "{vip}, client {what} is tickled and reset: {got:?}"
                    );
                } else {
                    assert!(
                        is_waiting(&got),
                        "{vip}, client {what}: not tickled: {got:?}"
                    );
                }
            }
            // The resident's second round is 600 ms after the first.
            std::thread::sleep(Duration::from_millis(800));
            let sent: Vec<_> = capture
                .outgoing()
                .iter()
                .filter_map(|(_, f)| tcp_of(f))
                .collect();
            let vip_ip: IpAddr = vip.parse().unwrap();
            for (from, to, flags) in &sent {
                assert!(
                    *from == std::net::SocketAddr::new(vip_ip, 8080) && allowed.contains(to),
                    "{vip}: node 1 sent TCP {from} -> {to} (flags {flags:#x}), not to a real client of the VIP; list {list:.120}"
                );
            }
            if allowed.is_empty() {
                assert!(sent.is_empty(), "{vip}: {sent:?} for {list:.80}");
                assert!(
                    start.stderr.contains("client list") && start.stderr.contains("ignored"),
                    "one line says why: {}",
                    start.stderr
                );
            } else {
                // The first round from start, the second from the resident: a bare ACK each.
                let tickles = sent.iter().filter(|(_, _, f)| *f == 0x10).count();
                assert!(
                    tickles >= 2 * allowed.len(),
                    "{vip}: {tickles} tickles in {sent:?}"
                );
            }
            assert_code(&agent(&lab, 1, "stop", &with), 0, "stop on node 1");
            drop(far);
        }
    }
}

fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Stand-ins for Pacemaker's commands that log each call's arguments, one line each:
/// crm_node -l lists node-a (this node) and node-b.
fn recording_pacemaker(lab: &Lab) -> (String, String, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let calls = lab.state_dir().join("attrd-calls");
    let write = |name: &str, body: String| {
        let path = lab.state_dir().join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_str().unwrap().to_string()
    };
    let attrd = write(
        "attrd_updater",
        format!("#!/bin/sh\necho \"$*\" >> {}\n", calls.display()),
    );
    let crm_node = write(
        "crm_node",
        "#!/bin/sh\necho '1 node-a member'\necho '2 node-b member'\n".to_string(),
    );
    (attrd, crm_node, calls)
}

/// Issue 17, the owner's side: under Pacemaker the resident records the clients of the VIP
/// (not the node's own connections) and shares the list under the other node's name only
/// (attrd_updater -p: private), once it changed; `floatip status` shows the count and when.
#[test]
fn the_owners_resident_records_its_clients_and_shares_them_under_the_other_nodes_name() {
    if !root_or_skip(
        "the_owners_resident_records_its_clients_and_shares_them_under_the_other_nodes_name",
    ) {
        return;
    }
    let lab = Lab::new(1);
    let (attrd, crm_node, calls) = recording_pacemaker(&lab);
    let params = [
        ("ip", VIP4),
        ("cidr_netmask", "24"),
        ("OCF_RESKEY_CRM_meta_on_node", "node-a"),
        ("FLOATIP_ATTRD_UPDATER", attrd.as_str()),
        ("FLOATIP_CRM_NODE", crm_node.as_str()),
    ];
    assert_code(&agent(&lab, 0, "start", &params), 0, "start");
    let on_vip = listen(&lab, &format!("{VIP4}:8080"));
    let node_ip = Host::Node(0).ipv4().unwrap();
    let own = listen(&lab, &format!("{node_ip}:8082"));
    let (client, _n1) = connect(&lab, &on_vip, format!("{VIP4}:8080").parse().unwrap());
    let (_c2, _n2) = connect(&lab, &own, format!("{node_ip}:8082").parse().unwrap());
    let port = client.local_addr().unwrap().port();
    let entry = format!("198.51.100.254,{port},8080");
    let shared = |calls: &std::path::Path| std::fs::read_to_string(calls).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(15), || shared(&calls).contains(&entry)),
        "shared within a poll or two: {}",
        shared(&calls)
    );
    let lines = shared(&calls);
    let last = lines.lines().rev().find(|l| l.contains(&entry)).unwrap();
    assert!(
        last.starts_with("-p -n floatip-clients-vip -N node-b -U floatip-clients-1 "),
        "{last}"
    );
    assert!(
        last.ends_with(&format!("{VIP4} {entry}")),
        "only the VIP's client: {last}"
    );
    assert!(
        lines.lines().all(|l| !l.contains("-N node-a -U")),
        "never written under its own name: {lines}"
    );
    assert!(
        lines.starts_with("-Q -n floatip-clients-vip -N node-a\n"),
        "start read its own copy first: {lines}"
    );
    let row = status_row(&lab, 0, "vip");
    assert_eq!(row["clients"]["recorded"], 1, "{row}");
    assert!(row["clients"]["shared"].as_u64().is_some(), "{row}");
    // Unchanged: not shared again at the next poll.
    let count = shared(&calls).lines().count();
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(shared(&calls).lines().count(), count, "{}", shared(&calls));
    assert_code(&agent(&lab, 0, "stop", &params), 0, "stop");
}
