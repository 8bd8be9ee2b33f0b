//! The OCF 1.1 protocol: exit codes and which one each kind of failure is (`exit`), actions
//! and the exit-reason line (../shared/ocf/resource-agent-api-1.1.md, "Return Codes" and
//! "Actions"), and the documents generated from the parameter table: the meta-data, the man
//! page's PARAMETERS section and README.md's parameter table.

pub mod exit;
pub mod manpage;
pub mod metadata;
pub mod readme;
mod status;

pub use exit::exit_status;
pub use status::Status;

/// The actions floatip implements. Anything else is `ErrUnimplemented`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Monitor,
    ValidateAll,
    ReloadAgent,
    /// Pacemaker's clone notifications: nothing to do, and it must succeed.
    Notify,
    MetaData,
    Usage,
}

impl Action {
    /// Parses an OCF action name; `status` is IPaddr2's alias of monitor and `help` of usage.
    pub fn from_name(name: &str) -> Option<Action> {
        Some(match name {
            "start" => Action::Start,
            "stop" => Action::Stop,
            "monitor" | "status" => Action::Monitor,
            "validate-all" => Action::ValidateAll,
            "reload-agent" => Action::ReloadAgent,
            "notify" => Action::Notify,
            "meta-data" => Action::MetaData,
            "usage" | "help" => Action::Usage,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Monitor => "monitor",
            Action::ValidateAll => "validate-all",
            Action::ReloadAgent => "reload-agent",
            Action::Notify => "notify",
            Action::MetaData => "meta-data",
            Action::Usage => "usage",
        }
    }
}

/// The meta-data document as committed: `metadata::meta_data()` generates it (`make generate`),
/// tests check the two are equal and validate it against the OCF 1.1 schema and the old DTD.
/// Printed as it is, so `meta-data` builds nothing.
pub const META_DATA: &str = include_str!("../../metadata/FloatIP.xml");

/// Text safe to print on one line: control characters (newlines among them) are escaped, so
/// nothing that came from a user or the kernel can start a line of its own.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Formats the single line Pacemaker shows as the operation's exit reason (the spec wants one
/// line).
pub fn exit_reason_line(reason: &str) -> String {
    format!("ocf-exit-reason:{}", printable(reason))
}

pub const USAGE: &str =
    "usage: FloatIP {start|stop|monitor|status|validate-all|reload-agent|notify|meta-data|usage}

FloatIP manages a floating IPv4/IPv6 address for Pacemaker (OCF 1.1) and announces it with
gratuitous ARP / unsolicited Neighbor Advertisements. Parameters come from OCF_RESKEY_*
variables (or --flags when run by hand: floatip ACTION --help).
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_spec() {
        let expected = [
            (Status::Success, 0),
            (Status::ErrGeneric, 1),
            (Status::ErrArgs, 2),
            (Status::ErrUnimplemented, 3),
            (Status::ErrPerm, 4),
            (Status::ErrInstalled, 5),
            (Status::ErrConfigured, 6),
            (Status::NotRunning, 7),
            (Status::Degraded, 190),
        ];
        for (status, code) in expected {
            assert_eq!(status.code(), code, "{status}");
        }
    }

    #[test]
    fn status_is_an_alias_of_monitor_and_help_of_usage() {
        assert_eq!(Action::from_name("status"), Some(Action::Monitor));
        assert_eq!(Action::from_name("help"), Some(Action::Usage));
        assert_eq!(Action::from_name("notify"), Some(Action::Notify));
        assert_eq!(Action::from_name("promote"), None);
        assert_eq!(Action::from_name("migrate_to"), None);
    }

    #[test]
    fn exit_reason_is_one_line() {
        assert_eq!(
            exit_reason_line("bad\nthing"),
            "ocf-exit-reason:bad\\nthing"
        );
        assert_eq!(
            exit_reason_line("x\rocf-exit-reason:forged\u{1b}[2J"),
            "ocf-exit-reason:x\\rocf-exit-reason:forged\\u{1b}[2J"
        );
        assert_eq!(exit_reason_line("plain é"), "ocf-exit-reason:plain é");
    }
}
