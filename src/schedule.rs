//! What the resident process sends and how often it may defend the address against another
//! claimant (pure, no clock inside). When it sends is its state machine's (resident::machine).

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// A broadcast announcement round.
    Round,
    /// A broadcast round plus a unicast answer to every known neighbour.
    Refresh,
}

/// RFC 5227 § 2.4 (b): defend at most once per DEFEND_INTERVAL, so two hosts that both defend
/// do not flood the link; a conflict that persists is the cluster manager's to resolve.
pub const DEFEND_INTERVAL: Duration = Duration::from_secs(10);

/// Whether a defence may be sent `now` when the last one was at `last` (both offsets from the
/// process's start).
pub fn may_defend(last: Option<Duration>, now: Duration) -> bool {
    last.is_none_or(|last| now.saturating_sub(last) >= DEFEND_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defence_is_rate_limited() {
        assert!(may_defend(None, Duration::ZERO));
        assert!(!may_defend(
            Some(Duration::from_secs(1)),
            Duration::from_secs(5)
        ));
        assert!(may_defend(
            Some(Duration::from_secs(1)),
            Duration::from_secs(11)
        ));
    }
}
