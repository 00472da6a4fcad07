//! The export queue and its retry schedule. Snapshots wait here, oldest first, while the
//! receiver is unreachable; past the bound the oldest is dropped (and counted). Dropping a
//! snapshot loses time resolution, never counts: a cumulative point carries everything
//! since the start, and a delta is taken against the last *delivered* snapshot, so the next
//! one delivered covers the dropped interval too.

use std::collections::VecDeque;
use std::time::Duration;

use super::snapshot::Snapshot;

/// Snapshots not yet delivered, at most `capacity`.
#[derive(Debug)]
pub(crate) struct Queue {
    pending: VecDeque<Snapshot>,
    capacity: usize,
}

impl Queue {
    /// An empty queue holding at most `capacity` (at least 1) snapshots.
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            pending: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Adds a snapshot; returns true when the oldest had to be dropped to make room.
    pub(crate) fn push(&mut self, snapshot: Snapshot) -> bool {
        let dropped = self.pending.len() >= self.capacity;
        if dropped {
            self.pending.pop_front();
        }
        self.pending.push_back(snapshot);
        dropped
    }

    /// The oldest snapshot waiting.
    pub(crate) fn front(&self) -> Option<&Snapshot> {
        self.pending.front()
    }

    /// Removes the oldest snapshot (delivered or rejected).
    pub(crate) fn pop(&mut self) -> Option<Snapshot> {
        self.pending.pop_front()
    }

    /// The most snapshots it holds.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Snapshots waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }
}

/// Exponential backoff between retries: `initial`, doubling up to `max`; a receiver's
/// `Retry-After` replaces the step (never below it, never above `max` twice over).
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A schedule from `initial` to `max`.
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        let max = max.max(initial);
        Self {
            initial,
            max,
            next: initial,
        }
    }

    /// How long to wait before the next try, given the receiver's `Retry-After`.
    pub(crate) fn delay(&mut self, retry_after: Option<Duration>) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(self.max);
        match retry_after {
            Some(after) => after.max(step),
            None => step,
        }
    }

    /// A delivery succeeded: start again from `initial`.
    pub(crate) fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(t: u64) -> Snapshot {
        Snapshot {
            time_unix_nano: t,
            in_flight: 0,
            routes: Vec::new(),
            requests: Vec::new(),
        }
    }

    #[test]
    fn the_oldest_goes_first_past_the_bound() {
        let mut q = Queue::new(2);
        assert!(!q.push(snap(1)));
        assert!(!q.push(snap(2)));
        assert!(q.push(snap(3)), "full: the oldest is dropped");
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop().map(|s| s.time_unix_nano), Some(2));
        assert_eq!(q.front().map(|s| s.time_unix_nano), Some(3));
    }

    #[test]
    fn backoff_doubles_to_its_cap_honours_retry_after_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(350));
        assert_eq!(b.delay(None), ms(100));
        assert_eq!(b.delay(None), ms(200));
        assert_eq!(b.delay(None), ms(350));
        assert_eq!(b.delay(None), ms(350));
        assert_eq!(b.delay(Some(ms(2000))), ms(2000), "Retry-After wins");
        b.reset();
        assert_eq!(b.delay(Some(ms(10))), ms(100), "never below the step");
    }
}
