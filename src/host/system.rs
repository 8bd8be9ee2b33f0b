//! Process-level facts: capabilities and entering a named network namespace.

use crate::error::{Error, Result};
use std::os::unix::io::AsRawFd;

pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;

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

/// start and stop change addresses and send raw frames.
pub fn require_network_privileges(action: &str) -> Result<()> {
    let caps = effective_capabilities();
    let missing: Vec<&str> = [
        (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
        (CAP_NET_RAW, "CAP_NET_RAW"),
    ]
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
            Error::installed(format!("network_namespace {name} does not exist ({path})"))
        } else {
            Error::generic(format!("cannot open network_namespace {path}: {e}"))
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
            _ => Error::generic(format!("cannot enter network_namespace {name}: {e}")),
        });
    }
    Ok(())
}
