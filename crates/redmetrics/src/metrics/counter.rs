//! Counter: a monotonically increasing integer.

use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing count (requests served, bytes sent). One relaxed `fetch_add`.
///
/// ```
/// let c = redmetrics::metrics::Counter::default();
/// c.inc();
/// c.inc_by(2);
/// assert_eq!(c.get(), 3);
/// ```
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_holds_the_sum_of_its_increments() {
        let c = Counter::default();
        assert_eq!(c.get(), 0);
        c.inc();
        c.inc_by(5);
        c.inc();
        assert_eq!(c.get(), 7);
    }
}
