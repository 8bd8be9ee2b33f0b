//! Helpers for the soak test (tests/soak.rs): a tiny seeded PRNG, a wire watch that records
//! every ARP and Neighbor Advertisement a host sees with the kernel's receive timestamp, and
//! readers for a node's addresses and resident processes.

use super::agent::residents;
use super::lab::*;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// xorshift64* (Vigna): small, fast, good enough to pick operations; no crate needed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so nearby seeds give unrelated streams and 0 is fine.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi);
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }
}

/// Wall-clock time in nanoseconds since the epoch: the clock of the kernel's packet
/// timestamps (SO_TIMESTAMPNS), so agent runs and frames compare on one clock.
pub fn realtime_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos()
}

/// One ARP frame or Neighbor Advertisement seen on the wire.
#[derive(Clone, Debug)]
pub struct WireClaim {
    /// Kernel receive timestamp (realtime, ns since the epoch).
    pub at_ns: u128,
    /// ARP sender IP, or the NA's target.
    pub ip: IpAddr,
    /// "ARP request", "ARP reply", "NA", "NA (solicited)".
    pub kind: &'static str,
    pub eth_src: [u8; 6],
}

/// Records, from the moment `start` returns, every ARP frame (by sender IP) and every Neighbor
/// Advertisement (by target) arriving on one interface, with the kernel's receive timestamp.
///
/// Why not `Lab::capture`: its timestamps are taken when the capture thread gets round to
/// reading a frame, which on a busy machine can be many milliseconds after the frame arrived,
/// so a frame sent just before a stop returned could look as if it came after. The kernel
/// stamps each frame when it is queued to this interface, before the agent can return.
/// A socket filter keeps everything but ARP and NAs out, so nothing is dropped for lack of
/// buffer on a long run (drops are reported by `stop`).
pub struct WireWatch {
    claims: Arc<Mutex<Vec<WireClaim>>>,
    halt: Arc<AtomicBool>,
    thread: Option<JoinHandle<(u32, u32)>>,
}

const PACKET_STATISTICS: libc::c_int = 6;

const fn bpf(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// ARP, or IPv6 + ICMPv6 (no extension headers) of type 136.
const FILTER: [libc::sock_filter; 9] = [
    bpf(0x28, 0, 0, 12),     // ldh [12]          EtherType
    bpf(0x15, 5, 0, 0x0806), // jeq ARP -> accept
    bpf(0x15, 0, 5, 0x86dd), // jeq IPv6, else drop
    bpf(0x30, 0, 0, 20),     // ldb [20]          next header
    bpf(0x15, 0, 3, 58),     // jeq ICMPv6, else drop
    bpf(0x30, 0, 0, 54),     // ldb [54]          ICMPv6 type
    bpf(0x15, 0, 1, 136),    // jeq NA, else drop
    bpf(0x06, 0, 0, 65535),  // accept
    bpf(0x06, 0, 0, 0),      // drop
];

fn os_err(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn open_watch_socket(ns: &str, ifname: &str) -> Result<OwnedFd, String> {
    enter_netns(ns)?;
    let name = std::ffi::CString::new(ifname).unwrap();
    // SAFETY: valid C string; uses this thread's (lab) network namespace.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(os_err(&format!("no interface {ifname}")));
    }
    // Protocol 0: hooked nowhere until bound, so the filter is in place before any frame.
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(os_err("socket(AF_PACKET)"));
    }
    // SAFETY: fd was just created and is owned here.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let prog = libc::sock_fprog {
        len: FILTER.len() as u16,
        filter: FILTER.as_ptr() as *mut libc::sock_filter,
    };
    let on: libc::c_int = 1;
    let rcvbuf: libc::c_int = 16 << 20;
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 50_000,
    };
    // SAFETY: option values are valid for their sizes; the filter outlives the call (the
    // kernel copies it).
    unsafe {
        let set = |level, name, val: *const libc::c_void, len: usize| {
            libc::setsockopt(sock.as_raw_fd(), level, name, val, len as libc::socklen_t)
        };
        if set(
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&prog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>(),
        ) != 0
        {
            return Err(os_err("SO_ATTACH_FILTER"));
        }
        if set(
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>(),
        ) != 0
        {
            return Err(os_err("SO_TIMESTAMPNS"));
        }
        if set(
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>(),
        ) != 0
        {
            return Err(os_err("SO_RCVTIMEO"));
        }
        set(
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&rcvbuf as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>(),
        );
        // SAFETY: sockaddr_ll is plain old data; all-zero is valid.
        let mut sa: libc::sockaddr_ll = std::mem::zeroed();
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sa.sll_ifindex = index as i32;
        if libc::bind(
            sock.as_raw_fd(),
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        ) != 0
        {
            return Err(os_err("bind"));
        }
    }
    Ok(sock)
}

/// Receives one frame with its kernel timestamp; None on timeout or interruption.
fn receive(sock: &OwnedFd, buf: &mut [u8]) -> Result<Option<(usize, u128)>, String> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: msg points at valid buffers of the given sizes.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(None),
            // The namespace is going away at the end of the test.
            Some(libc::ENETDOWN) | Some(libc::ENODEV) | Some(libc::ENXIO) => {
                std::thread::sleep(Duration::from_millis(10));
                Ok(None)
            }
            _ => Err(format!("recvmsg: {e}")),
        };
    }
    let mut at_ns = None;
    // SAFETY: walking the control buffer the kernel filled, with the libc CMSG helpers.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                at_ns = Some(ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    // Without a kernel stamp (never seen), the time of reading is a late, safe bound.
    Ok(Some((n as usize, at_ns.unwrap_or_else(realtime_ns))))
}

fn classify(frame: &[u8], at_ns: u128) -> Option<WireClaim> {
    if let Some((info, sender, _target)) = parse_arp(frame) {
        if sender == Ipv4Addr::UNSPECIFIED {
            return None; // a probe claims nothing
        }
        return Some(WireClaim {
            at_ns,
            ip: IpAddr::V4(sender),
            kind: if info.op == 2 {
                "ARP reply"
            } else {
                "ARP request"
            },
            eth_src: info.eth_src,
        });
    }
    let (info, target) = parse_na(frame)?;
    Some(WireClaim {
        at_ns,
        ip: IpAddr::V6(target),
        kind: if info.solicited {
            "NA (solicited)"
        } else {
            "NA"
        },
        eth_src: info.eth_src,
    })
}

fn packet_drops(sock: &OwnedFd) -> (u32, u32) {
    // SAFETY: tpacket_stats is plain old data.
    let mut st: libc::tpacket_stats = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
    // SAFETY: valid buffer of the given length.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_STATISTICS,
            (&mut st as *mut libc::tpacket_stats).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return (0, 0);
    }
    (st.tp_packets, st.tp_drops)
}

impl WireWatch {
    /// Starts watching `ifname` of `host`; the socket is bound and filtered when this returns.
    pub fn start(lab: &Lab, host: Host, ifname: &str) -> WireWatch {
        let claims = Arc::new(Mutex::new(Vec::new()));
        let halt = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Result<(), String>>();
        let (ns, ifname) = (lab.ns(host), ifname.to_string());
        let (c2, h2) = (claims.clone(), halt.clone());
        let thread = std::thread::Builder::new()
            .name(format!("wire watch {ns}/{ifname}"))
            .spawn(move || {
                let sock = match open_watch_socket(&ns, &ifname) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return (0, 0);
                    }
                };
                let _ = tx.send(Ok(()));
                let mut buf = vec![0u8; 2048];
                let mut totals = (0u32, 0u32);
                while !h2.load(Ordering::SeqCst) {
                    match receive(&sock, &mut buf) {
                        Ok(Some((n, at))) => {
                            if let Some(c) = classify(&buf[..n.min(buf.len())], at) {
                                c2.lock().unwrap_or_else(|e| e.into_inner()).push(c);
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            eprintln!("wire watch: {e}");
                            break;
                        }
                    }
                    // The counters reset on every read; keep the sums.
                    let (p, d) = packet_drops(&sock);
                    totals = (totals.0.saturating_add(p), totals.1.saturating_add(d));
                }
                totals
            })
            .expect("spawn wire watch");
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("wire watch: {e}"),
            Err(_) => panic!("wire watch thread died"),
        }
        WireWatch {
            claims,
            halt,
            thread: Some(thread),
        }
    }

    /// Everything seen so far.
    pub fn claims(&self) -> Vec<WireClaim> {
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops watching; returns everything seen and (frames accepted, frames dropped).
    pub fn stop(mut self) -> (Vec<WireClaim>, (u32, u32)) {
        let totals = self.halt_thread();
        (self.claims(), totals)
    }

    fn halt_thread(&mut self) -> (u32, u32) {
        self.halt.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .map(|t| t.join().unwrap_or((0, 0)))
            .unwrap_or((0, 0))
    }
}

impl Drop for WireWatch {
    fn drop(&mut self) {
        self.halt_thread();
    }
}

/// Every address in a host's namespace as (ifname, "ADDR/PREFIX", the rest of the line),
/// from one `ip -o addr show`.
pub fn all_addresses(lab: &Lab, host: Host) -> Vec<(String, String, String)> {
    let out = lab.ip(host, &["-o", "addr", "show"]);
    let mut v = Vec::new();
    for line in out.lines() {
        let toks: Vec<&str> = line.split_whitespace().collect();
        // "2: eth0    inet 198.51.100.10/24 brd ... scope global eth0\       valid_lft ..."
        if toks.len() < 4 || (toks[2] != "inet" && toks[2] != "inet6") {
            continue;
        }
        v.push((
            toks[1].to_string(),
            toks[3].to_string(),
            toks[4..].join(" "),
        ));
    }
    v
}

/// Resident processes of a node by the address on their command line (argv[3]).
pub fn workers_by_ip(lab: &Lab, node: usize) -> HashMap<IpAddr, Vec<i32>> {
    let mut by_ip: HashMap<IpAddr, Vec<i32>> = HashMap::new();
    for pid in residents(lab, node) {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue; // gone since
        };
        let ip = cmdline
            .split(|b| *b == 0)
            .nth(3)
            .and_then(|a| std::str::from_utf8(a).ok())
            .and_then(|a| a.parse::<IpAddr>().ok());
        match ip {
            Some(ip) => by_ip.entry(ip).or_default().push(pid),
            None => by_ip
                .entry(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
                .or_default()
                .push(pid),
        }
    }
    by_ip
}

/// /proc/PID/stat state letter and the command line, for reports.
pub fn describe_pid(pid: i32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next())
        .unwrap_or("?")
        .to_string();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            c.split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    format!("pid {pid} state {state}: {}", cmdline.trim())
}
