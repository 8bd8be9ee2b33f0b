//! One error type for every failure, each carrying the OCF status it maps to and, where the
//! action decides the code, its kind (`agent::operate::exit_status` maps those), so that
//! `main` is the only place that turns an error into an exit code.
//!
//! An error keeps its cause (the kernel's errno, a netlink NACK) next to the one-line reason
//! shown to the user, so a caller can decide on the cause (`errno()`) rather than on text,
//! and context is added by wrapping (`context`) without losing it.

use crate::status::Status;
use std::fmt;
use std::sync::Arc;

/// What kind of failure an error is, where that decides more than its own `status`: the
/// same fact means another exit code to another action, and only `agent::operate::exit_status`
/// decides it (never the reason's text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `status` says it all, whatever the action.
    Settled,
    /// This node's routes or interfaces do not place the address (what findif fails on):
    /// another node's may.
    Unplaced,
    /// Something this node lacks: the configured nic, every standby adapter.
    Absent,
    /// The link that carries, or would carry, the address is down or has no carrier.
    LinkDown,
}

#[derive(Debug, Clone)]
pub struct Error {
    /// The exit code, unless `kind` means another one to the action (see `Kind`).
    pub status: Status,
    pub kind: Kind,
    /// The one line shown to the user: context first, the cause's text last.
    pub reason: String,
    cause: Option<Arc<std::io::Error>>,
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.status == other.status
            && self.kind == other.kind
            && self.reason == other.reason
            && self.errno() == other.errno()
    }
}

impl Eq for Error {}

impl Error {
    pub fn new(status: Status, reason: impl Into<String>) -> Error {
        Error {
            status,
            kind: Kind::Settled,
            reason: reason.into(),
            cause: None,
        }
    }

    fn of_kind(kind: Kind, status: Status, reason: impl Into<String>) -> Error {
        Error {
            kind,
            ..Error::new(status, reason)
        }
    }

    /// This node's routes do not place the address: findif's OCF_ERR_GENERIC, which a start
    /// turns into OCF_ERR_INSTALLED (IPaddr2 4.17).
    pub fn unplaced(reason: impl Into<String>) -> Error {
        Error::of_kind(Kind::Unplaced, Status::ErrGeneric, reason)
    }

    /// Something this node lacks (OCF_ERR_INSTALLED); to a monitor, the address is not here.
    pub fn absent(reason: impl Into<String>) -> Error {
        Error::of_kind(Kind::Absent, Status::ErrInstalled, reason)
    }

    /// The link is down or without carrier (OCF_ERR_INSTALLED, as IPaddr2 4.17's start); to a
    /// monitor, the address is not running (IPaddr2 since resource-agents PR #2166).
    pub fn link_down(reason: impl Into<String>) -> Error {
        Error::of_kind(Kind::LinkDown, Status::ErrInstalled, reason)
    }

    /// A bad or missing parameter (OCF_ERR_CONFIGURED).
    pub fn configured(reason: impl Into<String>) -> Error {
        Error::new(Status::ErrConfigured, reason)
    }

    /// Something this node lacks (OCF_ERR_INSTALLED), e.g. the interface.
    pub fn installed(reason: impl Into<String>) -> Error {
        Error::new(Status::ErrInstalled, reason)
    }

    /// A runtime failure (OCF_ERR_GENERIC).
    pub fn generic(reason: impl Into<String>) -> Error {
        Error::new(Status::ErrGeneric, reason)
    }

    pub fn perm(reason: impl Into<String>) -> Error {
        Error::new(Status::ErrPerm, reason)
    }

    pub fn not_running(reason: impl Into<String>) -> Error {
        Error::new(Status::NotRunning, reason)
    }

    /// An operating-system failure while doing `what`: the status follows the errno (no
    /// permission is OCF_ERR_PERM, with `needs` naming the capability), the cause is kept.
    pub fn os(what: impl fmt::Display, cause: std::io::Error, needs: &str) -> Error {
        let status = match cause.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => Status::ErrPerm,
            _ => Status::ErrGeneric,
        };
        let reason = if status == Status::ErrPerm && !needs.is_empty() {
            format!("{what}: {cause} (needs {needs})")
        } else {
            format!("{what}: {cause}")
        };
        Error {
            status,
            kind: Kind::Settled,
            reason,
            cause: Some(Arc::new(cause)),
        }
    }

    /// The same error, with `what` said before it; the cause and status are kept.
    pub fn context(mut self, what: impl fmt::Display) -> Error {
        self.reason = format!("{what}: {}", self.reason);
        self
    }

    /// The kernel's error number behind this error, if it came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        self.cause.as_ref().and_then(|c| c.raw_os_error())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// What a panic said, for the one line that reports it.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_os_error_keeps_its_errno_through_context() {
        let e = Error::os(
            "cannot add 198.51.100.50/24",
            std::io::Error::from_raw_os_error(libc::EEXIST),
            "CAP_NET_ADMIN",
        )
        .context("start");
        assert_eq!(e.status, Status::ErrGeneric);
        assert_eq!(e.errno(), Some(libc::EEXIST));
        assert!(e
            .reason
            .starts_with("start: cannot add 198.51.100.50/24: File exists"));
        assert!(e.source().is_some());
    }

    #[test]
    fn no_permission_is_err_perm_naming_what_is_needed() {
        let e = Error::os(
            "cannot open a raw socket on eth0",
            std::io::Error::from_raw_os_error(libc::EPERM),
            "CAP_NET_RAW",
        );
        assert_eq!(e.status, Status::ErrPerm);
        assert!(e.reason.ends_with("(needs CAP_NET_RAW)"), "{}", e.reason);
        assert_eq!(Error::generic("x").errno(), None);
    }
}
