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
