//! One error type for every failure, each carrying the OCF status it maps to, so that `main`
//! is the only place that turns an error into an exit code.

use crate::ocf::Status;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub reason: String,
}

impl Error {
    pub fn new(status: Status, reason: impl Into<String>) -> Error {
        Error {
            status,
            reason: reason.into(),
        }
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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
