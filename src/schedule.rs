//! When the background process sends (pure, no clock inside): the burst's remaining rounds
//! `interval` apart, then, if asked, refresh rounds forever at their own cadence; and how often
//! it may defend the address against another claimant.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// A broadcast announcement round.
    Round,
    /// A broadcast round plus a unicast answer to every known neighbour.
    Refresh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurstPlan {
    /// Rounds still to send after the one the agent sent itself.
    pub rounds: u32,
    pub interval: Duration,
    /// Refresh cadence once the rounds are done; None ends the process after them.
    pub refresh_every: Option<Duration>,
}

impl BurstPlan {
    /// Nothing to send: no process needed.
    pub fn is_empty(&self) -> bool {
        self.rounds == 0 && self.refresh_every.is_none()
    }

    /// The send due after `sent` sends, as an offset from the process's start; rounds are
    /// counted from the start rather than from the previous send, so delays never add up.
    pub fn due(&self, sent: u32) -> Option<(Duration, Sending)> {
        if sent < self.rounds {
            return Some((self.interval * (sent + 1), Sending::Round));
        }
        let every = self.refresh_every?;
        let refreshes = sent - self.rounds + 1;
        Some((
            self.interval * self.rounds + every * refreshes,
            Sending::Refresh,
        ))
    }
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

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn rounds_are_evenly_spaced_from_the_start() {
        let plan = BurstPlan {
            rounds: 3,
            interval: 200 * MS,
            refresh_every: None,
        };
        let due: Vec<_> = (0..4).map(|n| plan.due(n)).collect();
        assert_eq!(
            due,
            vec![
                Some((200 * MS, Sending::Round)),
                Some((400 * MS, Sending::Round)),
                Some((600 * MS, Sending::Round)),
                None
            ]
        );
    }

    #[test]
    fn refreshes_follow_the_burst_forever() {
        let plan = BurstPlan {
            rounds: 2,
            interval: 100 * MS,
            refresh_every: Some(Duration::from_secs(5)),
        };
        assert_eq!(plan.due(1), Some((200 * MS, Sending::Round)));
        assert_eq!(
            plan.due(2),
            Some((200 * MS + Duration::from_secs(5), Sending::Refresh))
        );
        assert_eq!(
            plan.due(3),
            Some((200 * MS + Duration::from_secs(10), Sending::Refresh))
        );
        assert_eq!(plan.due(1_000_000).map(|d| d.1), Some(Sending::Refresh));
    }

    #[test]
    fn a_refresh_only_plan_starts_with_a_refresh() {
        let plan = BurstPlan {
            rounds: 0,
            interval: 200 * MS,
            refresh_every: Some(Duration::from_secs(10)),
        };
        assert!(!plan.is_empty());
        assert_eq!(
            plan.due(0),
            Some((Duration::from_secs(10), Sending::Refresh))
        );
        assert!(BurstPlan {
            rounds: 0,
            interval: MS,
            refresh_every: None
        }
        .is_empty());
    }

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
