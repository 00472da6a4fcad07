//! Gauges: values that go up and down.

use std::sync::atomic::{AtomicI64, Ordering};

use super::AtomicF64;

/// An integer gauge (requests in flight, queue depth): `fetch_add`/`fetch_sub`, no retry loop.
///
/// ```
/// let g = redmetrics::metrics::Gauge::default();
/// g.inc();
/// g.dec();
/// g.set(7);
/// assert_eq!(g.get(), 7);
/// ```
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    /// Adds `n` (which may be negative).
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Replaces the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A floating-point gauge (temperatures, ratios). `add` is a compare-and-swap loop.
#[derive(Debug, Default)]
pub struct GaugeF64(AtomicF64);

impl GaugeF64 {
    /// Replaces the value.
    pub fn set(&self, v: f64) {
        self.0.store(v);
    }

    /// Adds `v` (which may be negative).
    pub fn add(&self, v: f64) {
        self.0.add(v);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        self.0.load()
    }
}
