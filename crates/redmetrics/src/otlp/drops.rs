//! Dropped export snapshots: why (a closed set, the `reason` label of
//! `redmetrics_otlp_dropped_exports_total`), counted by reason, and logged at most once a
//! minute per reason with how many went unlogged meanwhile, so a receiver that refuses
//! every push is loud once, not silent and not a flood.

use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::{Counter, LabeledFamily};

/// The shortest gap between two log lines for one reason.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(60);

/// Why a snapshot was dropped: the `reason` label of
/// `redmetrics_otlp_dropped_exports_total`. A drop costs time resolution, never counts (see
/// [`OtlpStats`](super::OtlpStats)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// `queue_full`: the queue was full while the receiver was unreachable or asked to retry
    /// later, and the oldest snapshot made room.
    QueueFull,
    /// `redirect`: the receiver answered 3xx. Redirects are not followed (the headers would
    /// go to another host): set the endpoint to the final URL.
    Redirect,
    /// `unauthorized`: 401 or 403, the receiver refused the credentials (the headers).
    Unauthorized,
    /// `rejected`: any other answer the OTLP specification does not call retryable, mostly
    /// 4xx (400 a payload it cannot read, 404 a wrong path, 413 too large).
    Rejected,
    /// `server_error`: a 5xx other than 502, 503 and 504 (those are retried), such as 500.
    ServerError,
}

impl DropReason {
    /// Every reason, in label order.
    pub const ALL: [Self; 5] = [
        Self::QueueFull,
        Self::Redirect,
        Self::Unauthorized,
        Self::Rejected,
        Self::ServerError,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::Redirect => "redirect",
            Self::Unauthorized => "unauthorized",
            Self::Rejected => "rejected",
            Self::ServerError => "server_error",
        }
    }

    /// The reason of a final answer that is neither success nor retryable.
    pub(crate) fn of_status(status: u16) -> Self {
        match status {
            300..=399 => Self::Redirect,
            401 | 403 => Self::Unauthorized,
            500..=599 => Self::ServerError,
            _ => Self::Rejected,
        }
    }

    const fn index(self) -> usize {
        self as usize
    }

    /// What to do about it, for the log line.
    const fn advice(self) -> &'static str {
        match self {
            Self::QueueFull => "the receiver has been unreachable or busy for a while",
            Self::Redirect => "redirects are not followed: set the endpoint to the final URL",
            Self::Unauthorized => "check the credentials sent as headers",
            Self::Rejected | Self::ServerError => {
                "the receiver refused it for good; sending the same data again cannot help"
            }
        }
    }
}

/// Counts drops by reason and logs them, rate-limited.
#[derive(Debug)]
pub(crate) struct Drops {
    counters: LabeledFamily<Counter, 1>,
    /// When the last line per reason was logged.
    logged: [Option<Instant>; DropReason::ALL.len()],
    /// Drops per reason since that line, not logged.
    unlogged: [u64; DropReason::ALL.len()],
}

impl Drops {
    /// Counts into `counters` (the family, label `reason`); every reason starts at 0 so it
    /// is on the endpoint before the first drop.
    pub(crate) fn new(counters: LabeledFamily<Counter, 1>) -> Self {
        for reason in DropReason::ALL {
            counters.with([reason.as_str()]);
        }
        Self {
            counters,
            logged: [None; DropReason::ALL.len()],
            unlogged: [0; DropReason::ALL.len()],
        }
    }

    /// One snapshot dropped for `reason`; `detail` says what the receiver answered.
    pub(crate) fn drop_one(&mut self, reason: DropReason, detail: &str) {
        self.counters.with([reason.as_str()]).inc();
        if let Some(unlogged) = self.should_log(reason, Instant::now()) {
            let more = if unlogged == 0 {
                String::new()
            } else {
                format!(
                    " ({unlogged} more dropped for this reason in the last {}s, not logged)",
                    LOG_EVERY.as_secs()
                )
            };
            tracing::warn!(
                reason = reason.as_str(),
                "OTLP export dropped ({}): {detail}; {}{more}",
                reason.as_str(),
                reason.advice(),
            );
        }
    }

    /// Whether to log a drop for `reason` at `now`; if so, how many went unlogged since the
    /// last line.
    fn should_log(&mut self, reason: DropReason, now: Instant) -> Option<u64> {
        let i = reason.index();
        match self.logged[i] {
            Some(at) if now.saturating_duration_since(at) < LOG_EVERY => {
                self.unlogged[i] += 1;
                None
            }
            _ => {
                self.logged[i] = Some(now);
                Some(std::mem::take(&mut self.unlogged[i]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_their_reason() {
        for (status, reason) in [
            (301, DropReason::Redirect),
            (307, DropReason::Redirect),
            (308, DropReason::Redirect),
            (401, DropReason::Unauthorized),
            (403, DropReason::Unauthorized),
            (400, DropReason::Rejected),
            (404, DropReason::Rejected),
            (413, DropReason::Rejected),
            (500, DropReason::ServerError),
            (501, DropReason::ServerError),
        ] {
            assert_eq!(DropReason::of_status(status), reason, "{status}");
        }
        let labels: Vec<&str> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            labels,
            [
                "queue_full",
                "redirect",
                "unauthorized",
                "rejected",
                "server_error"
            ]
        );
        assert!(
            DropReason::ALL
                .iter()
                .enumerate()
                .all(|(i, r)| r.index() == i)
        );
    }

    #[test]
    fn one_line_per_reason_per_minute_with_the_unlogged_count() {
        let registry = crate::Registry::new();
        let family = registry
            .family::<Counter, 1>("d_total", "D.", ["reason"], ())
            .unwrap();
        let mut drops = Drops::new(family);
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let bad = DropReason::Rejected;
        assert_eq!(drops.should_log(bad, t0), Some(0), "the first is logged");
        assert_eq!(drops.should_log(bad, t0 + s(1)), None);
        assert_eq!(drops.should_log(bad, t0 + s(59)), None);
        assert_eq!(
            drops.should_log(DropReason::Redirect, t0 + s(2)),
            Some(0),
            "each reason has its own minute"
        );
        assert_eq!(
            drops.should_log(bad, t0 + s(60)),
            Some(2),
            "a minute on: logged, with the two in between"
        );
        assert_eq!(drops.should_log(bad, t0 + s(61)), None);
        assert_eq!(drops.should_log(bad, t0 + s(200)), Some(1));
    }
}
