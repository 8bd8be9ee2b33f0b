//! One error type for every failure: what kind of failure it is, the one-line reason shown to
//! the user, and its cause. Nothing here knows OCF: the exit code an error means depends on the
//! action, and only `ocf::exit::exit_status` decides it, from the kind (never from the text).
//!
//! An error keeps its cause (the kernel's errno, a netlink NACK) next to the reason, so a
//! caller can decide on the cause (`errno()`) rather than on text, and context is added by
//! wrapping (`context`) without losing it.

use std::fmt;
use std::sync::Arc;

/// What kind of failure an error is: what callers and the exit-code mapping decide on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A bad or missing parameter: wrong on every node.
    Configured,
    /// Something this node lacks: the configured nic, every standby adapter, the network
    /// namespace, an interface named to a tool.
    Absent,
    /// This node's routes or interfaces do not place the address (what findif fails on):
    /// another node's may.
    Unplaced,
    /// The link that carries, or would carry, the address is down or has no carrier.
    LinkDown,
    /// This node's interface is one floatip cannot announce on (IPoIB, other hardware).
    Unsupported,
    /// This process lacks a privilege; the reason names what is needed.
    Permission,
    /// The kernel refused or failed a request; the cause keeps its errno.
    Kernel,
    /// Another holder has the address: another machine answers for it, or it is already on
    /// another interface or with another prefix.
    Conflict,
    /// The operation's budget ran out before something finished (DAD, a lock, a process).
    Timeout,
    /// The command line itself is wrong (bad arguments).
    Arguments,
    /// An action floatip does not implement.
    Unimplemented,
    /// Any other failure: something that could not be done, or an internal error.
    Other,
}

impl Kind {
    /// Every kind, for tables that must cover them all.
    pub const ALL: [Kind; 12] = [
        Kind::Configured,
        Kind::Absent,
        Kind::Unplaced,
        Kind::LinkDown,
        Kind::Unsupported,
        Kind::Permission,
        Kind::Kernel,
        Kind::Conflict,
        Kind::Timeout,
        Kind::Arguments,
        Kind::Unimplemented,
        Kind::Other,
    ];
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    /// The one line shown to the user: context first, the cause's text last.
    pub reason: String,
    cause: Option<Arc<std::io::Error>>,
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.kind == other.kind && self.reason == other.reason && self.errno() == other.errno()
    }
}

impl Eq for Error {}

impl Error {
    pub fn new(kind: Kind, reason: impl Into<String>) -> Error {
        Error {
            kind,
            reason: reason.into(),
            cause: None,
        }
    }

    /// This node's routes do not place the address.
    pub fn unplaced(reason: impl Into<String>) -> Error {
        Error::new(Kind::Unplaced, reason)
    }

    /// Something this node lacks.
    pub fn absent(reason: impl Into<String>) -> Error {
        Error::new(Kind::Absent, reason)
    }

    /// The link is down or without carrier.
    pub fn link_down(reason: impl Into<String>) -> Error {
        Error::new(Kind::LinkDown, reason)
    }

    /// A bad or missing parameter.
    pub fn configured(reason: impl Into<String>) -> Error {
        Error::new(Kind::Configured, reason)
    }

    /// This node's interface is one floatip cannot work with.
    pub fn unsupported(reason: impl Into<String>) -> Error {
        Error::new(Kind::Unsupported, reason)
    }

    /// Another holder has the address.
    pub fn conflict(reason: impl Into<String>) -> Error {
        Error::new(Kind::Conflict, reason)
    }

    /// The budget ran out.
    pub fn timeout(reason: impl Into<String>) -> Error {
        Error::new(Kind::Timeout, reason)
    }

    /// A failure no other kind names.
    pub fn generic(reason: impl Into<String>) -> Error {
        Error::new(Kind::Other, reason)
    }

    /// A missing privilege; the reason says which.
    pub fn perm(reason: impl Into<String>) -> Error {
        Error::new(Kind::Permission, reason)
    }

    /// An operating-system failure while doing `what`, its cause kept: no permission is
    /// `Permission`, with `needs` naming the capability; anything else is `Kernel`.
    pub fn os(what: impl fmt::Display, cause: std::io::Error, needs: &str) -> Error {
        let denied = matches!(cause.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES));
        let reason = if denied && !needs.is_empty() {
            format!("{what}: {cause} (needs {needs})")
        } else {
            format!("{what}: {cause}")
        };
        Error {
            kind: if denied {
                Kind::Permission
            } else {
                Kind::Kernel
            },
            reason,
            cause: Some(Arc::new(cause)),
        }
    }

    /// A kernel failure while doing `what`, whatever its errno (even EPERM or EACCES: where
    /// no privilege is at stake, such as a file in floatip's own state directory), its cause
    /// kept.
    pub fn kernel(what: impl fmt::Display, cause: std::io::Error) -> Error {
        Error {
            kind: Kind::Kernel,
            reason: format!("{what}: {cause}"),
            cause: Some(Arc::new(cause)),
        }
    }

    /// The same error, with `what` said before it; the kind and cause are kept.
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
        assert_eq!(e.kind, Kind::Kernel);
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
        assert_eq!(e.kind, Kind::Permission);
        assert!(e.reason.ends_with("(needs CAP_NET_RAW)"), "{}", e.reason);
        assert_eq!(Error::generic("x").errno(), None);
    }

    #[test]
    fn a_kernel_error_stays_one_whatever_its_errno() {
        let e = Error::kernel(
            "cannot write /run/floatip/x",
            std::io::Error::from_raw_os_error(libc::EACCES),
        );
        assert_eq!(e.kind, Kind::Kernel);
        assert_eq!(e.errno(), Some(libc::EACCES));
        assert_eq!(
            e.reason,
            "cannot write /run/floatip/x: Permission denied (os error 13)"
        );
    }
}
