//! OCF's return codes (the spec's "Return Codes"); `exit::exit_status` says which one a
//! failure is.

use std::fmt;

/// OCF return codes that floatip uses. The numbers are fixed by the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success = 0,
    ErrGeneric = 1,
    ErrArgs = 2,
    ErrUnimplemented = 3,
    ErrPerm = 4,
    ErrInstalled = 5,
    ErrConfigured = 6,
    NotRunning = 7,
    /// OCF 1.1: running, but not at full capacity (Pacemaker 2.1 and 3.0 know it and do not
    /// recover): a monitor that hears another machine answer for the address.
    Degraded = 190,
}

impl Status {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Success => "OCF_SUCCESS",
            Status::ErrGeneric => "OCF_ERR_GENERIC",
            Status::ErrArgs => "OCF_ERR_ARGS",
            Status::ErrUnimplemented => "OCF_ERR_UNIMPLEMENTED",
            Status::ErrPerm => "OCF_ERR_PERM",
            Status::ErrInstalled => "OCF_ERR_INSTALLED",
            Status::ErrConfigured => "OCF_ERR_CONFIGURED",
            Status::NotRunning => "OCF_NOT_RUNNING",
            Status::Degraded => "OCF_DEGRADED",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}
