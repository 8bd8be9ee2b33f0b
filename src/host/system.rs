//! Process-level facts: capabilities and entering a named network namespace.

use crate::error::{Error, Result};
use std::os::unix::io::AsRawFd;

pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;

/// This node's host name (uname's nodename, as Pacemaker's log lines name it).
pub fn hostname() -> String {
    // SAFETY: uname writes into a value we own; nodename is NUL-terminated.
    unsafe {
        let mut name: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut name) != 0 {
            return "-".to_string();
        }
        std::ffi::CStr::from_ptr(name.nodename.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
}

/// The effective capability set from /proc/self/status (CapEff), as a bit mask.
pub fn effective_capabilities() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// Fails with OCF_ERR_PERM naming what `action` needs and this process lacks.
pub fn require_capabilities(action: &str, needed: &[(u32, &str)]) -> Result<()> {
    let caps = effective_capabilities();
    let missing: Vec<&str> = needed
        .iter()
        .filter(|(bit, _)| caps & (1 << bit) == 0)
        .map(|(_, name)| *name)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::perm(format!(
            "{action} needs root or {}: this process lacks them",
            missing.join(" and ")
        )))
    }
}

pub const NETNS_DIR: &str = "/var/run/netns";

/// Moves this (single-threaded) process into the named namespace. A missing namespace is
/// something this node lacks; the caller decides what that means for its action.
pub fn enter_network_namespace(name: &str) -> Result<()> {
    let path = format!("{NETNS_DIR}/{name}");
    let file = std::fs::File::open(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::absent(format!("network_namespace {name} does not exist ({path})"))
        } else {
            Error::kernel(format!("cannot open network_namespace {path}"), e)
        }
    })?;
    // SAFETY: setns on a descriptor we hold open; affects only this thread, and floatip has
    // no other thread yet (the runtime is created afterwards).
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EPERM) => Error::perm(format!(
                "cannot enter network_namespace {name}: {e} (needs CAP_SYS_ADMIN)"
            )),
            Some(libc::EINVAL) => Error::configured(format!(
                "network_namespace {name}: {path} is not a network namespace"
            )),
            _ => Error::kernel(format!("cannot enter network_namespace {name}"), e),
        });
    }
    Ok(())
}

/// Keeps an interface from speaking ARP for addresses it does not hold. Needed when the
/// address lives elsewhere on the same segment: on a macvlan (vmac) or on one of several
/// standby adapters. By default Linux answers ARP for every local address on every interface
/// (arp_ignore=0), and its own ARP requests carry whatever source address the packet had
/// (arp_announce=0); either way a client learns the wrong MAC for the floating address.
/// arp_ignore=1 answers only for the interface's own addresses, arp_announce=2 solicits with
/// one. These sysctls stay set after stop; the interface's own addresses are unaffected.
pub fn isolate_arp(ifname: &str) -> Result<()> {
    for (knob, wanted) in [("arp_ignore", 1u8), ("arp_announce", 2)] {
        let path = format!("/proc/sys/net/ipv4/conf/{ifname}/{knob}");
        let current: u8 = std::fs::read_to_string(&path)
            .map_err(|e| Error::kernel(format!("cannot read {path}"), e))?
            .trim()
            .parse()
            .unwrap_or(0);
        if current < wanted {
            std::fs::write(&path, wanted.to_string())
                .map_err(|e| Error::kernel(format!("cannot set {path} to {wanted}"), e))?;
            log::info!("set {knob}={wanted} on {ifname}, so that it does not speak ARP for addresses held elsewhere");
        }
    }
    Ok(())
}

/// Makes the kernel skip routes through `ifname` while it has no carrier, for the address
/// family of the floating address. Needed with standby adapters: after the address moved to
/// a surviving adapter, replies would otherwise still leave through the prefix route of the
/// dead one (Linux keeps it, flagged linkdown, and by default uses it: issue 15 found a
/// client answered neither at 2 s nor at 12 s). The setting is the adapter's own
/// (net.ipv4.conf.<adapter>.ignore_routes_with_linkdown, or ipv6's), never the host-wide
/// one, and stays set after stop: a route through a link without carrier delivers nothing,
/// so no other resource loses by it.
pub fn ignore_routes_when_link_down(ifname: &str, ipv6: bool) -> Result<()> {
    let family = if ipv6 { "ipv6" } else { "ipv4" };
    let path = format!("/proc/sys/net/{family}/conf/{ifname}/ignore_routes_with_linkdown");
    let current = std::fs::read_to_string(&path)
        .map_err(|e| Error::kernel(format!("cannot read {path}"), e))?;
    if current.trim() != "0" {
        return Ok(());
    }
    std::fs::write(&path, "1").map_err(|e| {
        Error::generic(format!(
            "cannot set {path} to 1: {e}; standby adapters need it so that replies leave through the adapter holding the address"
        ))
    })?;
    log::info!(
        "set net.{family}.conf.{ifname}.ignore_routes_with_linkdown=1, so that replies do not leave through {ifname} while it has no carrier"
    );
    Ok(())
}

/// Attaches a classic BPF program to a socket (SO_ATTACH_FILTER replaces any earlier one).
pub fn attach_filter(fd: std::os::fd::RawFd, filter: &[libc::sock_filter]) -> std::io::Result<()> {
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: the program outlives the call (the kernel copies it).
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &program as *const libc::sock_fprog as *const libc::c_void,
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
