//! Which OCF exit code a failure is: the one place where the kind of what went wrong, the
//! action and whether a monitor is a probe become a code (IPaddr2's today, and floatip's
//! deliberate differences: README "Actions and exit codes"). Errors carry a kind, never a code.

use super::{Action, Status};
use crate::error::Kind;

/// The exit code of a failure of `kind` in `action` (`None`: the command line before any
/// action, or an operator's tool), `probe` telling a monitor at interval 0 from a recurring
/// one.
pub fn exit_status(kind: Kind, action: Option<Action>, probe: bool) -> Status {
    use Action::*;
    match (kind, action, probe) {
        (Kind::Configured, ..) => Status::ErrConfigured,
        (Kind::Arguments, ..) => Status::ErrArgs,
        (Kind::Unimplemented, ..) => Status::ErrUnimplemented,
        (Kind::Permission, ..) => Status::ErrPerm,
        (Kind::Unsupported, ..) => Status::ErrInstalled,
        // To a monitor, probe or recurring, an address whose link is down is not running
        // here (IPaddr2 since resource-agents PR #2166, so that migration-threshold applies),
        // nor is one whose nic vanished (floatip: IPaddr2 says 1, but a restart here cannot
        // help). Elsewhere this node cannot host it (IPaddr2 4.17's start).
        (Kind::Absent | Kind::LinkDown, Some(Monitor), _) => Status::NotRunning,
        (Kind::Absent | Kind::LinkDown, ..) => Status::ErrInstalled,
        // IPaddr2 4.17 (resource-agents 4a228f3d8): when findif cannot place the address, a
        // start says this node cannot host it (5), so Pacemaker tries another node;
        // validate-all keeps findif's own code.
        (Kind::Unplaced, Some(Start), _) => Status::ErrInstalled,
        // Another machine answering for a running address: a restart here would not resolve
        // it, so the monitor reports it degraded (OCF 1.1) rather than failed.
        (Kind::Conflict, Some(Monitor), _) => Status::Degraded,
        (Kind::Unplaced | Kind::Conflict | Kind::Kernel | Kind::Timeout | Kind::Other, ..) => {
            Status::ErrGeneric
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns of the table below, in order.
    const COLUMNS: [&str; 10] = [
        "start",
        "stop",
        "monitor probe",
        "monitor recurring",
        "validate-all",
        "reload-agent",
        "notify",
        "meta-data",
        "usage",
        "no action",
    ];

    /// Written out by hand from the README's "Actions and exit codes" and the lab tests, not
    /// from the function: a change of any code must change a number here.
    #[rustfmt::skip]
    const TABLE: [(Kind, [u8; 10]); 12] = [
        //                    start stop probe recur valid reload notify meta usage none
        (Kind::Configured,    [  6,   6,   6,    6,    6,    6,     6,    6,   6,    6]),
        (Kind::Absent,        [  5,   5,   7,    7,    5,    5,     5,    5,   5,    5]),
        (Kind::Unplaced,      [  5,   1,   1,    1,    1,    1,     1,    1,   1,    1]),
        (Kind::LinkDown,      [  5,   5,   7,    7,    5,    5,     5,    5,   5,    5]),
        (Kind::Unsupported,   [  5,   5,   5,    5,    5,    5,     5,    5,   5,    5]),
        (Kind::Permission,    [  4,   4,   4,    4,    4,    4,     4,    4,   4,    4]),
        (Kind::Kernel,        [  1,   1,   1,    1,    1,    1,     1,    1,   1,    1]),
        (Kind::Conflict,      [  1,   1, 190,  190,    1,    1,     1,    1,   1,    1]),
        (Kind::Timeout,       [  1,   1,   1,    1,    1,    1,     1,    1,   1,    1]),
        (Kind::Arguments,     [  2,   2,   2,    2,    2,    2,     2,    2,   2,    2]),
        (Kind::Unimplemented, [  3,   3,   3,    3,    3,    3,     3,    3,   3,    3]),
        (Kind::Other,         [  1,   1,   1,    1,    1,    1,     1,    1,   1,    1]),
    ];

    /// The row of a kind; a match, so a new kind fails to build here until it has a row.
    fn row(kind: Kind) -> usize {
        match kind {
            Kind::Configured => 0,
            Kind::Absent => 1,
            Kind::Unplaced => 2,
            Kind::LinkDown => 3,
            Kind::Unsupported => 4,
            Kind::Permission => 5,
            Kind::Kernel => 6,
            Kind::Conflict => 7,
            Kind::Timeout => 8,
            Kind::Arguments => 9,
            Kind::Unimplemented => 10,
            Kind::Other => 11,
        }
    }

    /// Every action once, a monitor twice (probe, recurring), and no action, in the table's
    /// column order; a match, so a new action fails to build here until it has a column.
    fn column(action: Option<Action>, probe: bool) -> usize {
        match action {
            Some(Action::Start) => 0,
            Some(Action::Stop) => 1,
            Some(Action::Monitor) if probe => 2,
            Some(Action::Monitor) => 3,
            Some(Action::ValidateAll) => 4,
            Some(Action::ReloadAgent) => 5,
            Some(Action::Notify) => 6,
            Some(Action::MetaData) => 7,
            Some(Action::Usage) => 8,
            None => 9,
        }
    }

    #[test]
    fn every_kind_in_every_action_has_the_code_of_the_table() {
        let actions = [
            Some(Action::Start),
            Some(Action::Stop),
            Some(Action::Monitor),
            Some(Action::ValidateAll),
            Some(Action::ReloadAgent),
            Some(Action::Notify),
            Some(Action::MetaData),
            Some(Action::Usage),
            None,
        ];
        // Kind::ALL is every kind once: as many as the table's rows, each its own row.
        assert_eq!(Kind::ALL.len(), TABLE.len());
        let mut seen = [false; TABLE.len()];
        let mut cells = 0;
        for kind in Kind::ALL {
            let (listed, codes) = TABLE[row(kind)];
            assert_eq!(listed, kind, "row {}", row(kind));
            assert!(!seen[row(kind)], "{kind:?} twice in Kind::ALL");
            seen[row(kind)] = true;
            for action in actions {
                for probe in [true, false] {
                    let col = column(action, probe);
                    assert_eq!(
                        exit_status(kind, action, probe).code(),
                        codes[col],
                        "{kind:?} in {} (probe {probe})",
                        COLUMNS[col]
                    );
                    cells += 1;
                }
            }
        }
        assert_eq!(cells, 12 * 9 * 2);
    }
}
