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
/// Example: [`Gauge`] (the same API with `f64` values).
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

/// Stripes of [`StripedGauge`]: more than the cores of most pods.
const STRIPES: usize = 8;

thread_local! {
    /// The stripe this thread writes to, handed out round-robin on first use; `STRIPES`
    /// until then. Const-initialised, so reading it is one thread-local load.
    static STRIPE: std::cell::Cell<usize> = const { std::cell::Cell::new(STRIPES) };
}

/// This thread's stripe.
#[inline]
fn stripe_index() -> usize {
    let i = STRIPE.get();
    if i < STRIPES { i } else { first_stripe() }
}

#[cold]
fn first_stripe() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let i = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    STRIPE.set(i);
    i
}

/// An integer gauge spread over cache lines, one per group of threads, summed when read.
/// For a gauge every request writes twice (requests in flight): threads stop fighting over
/// one cache line. A decrement may land on another stripe than its increment; the sum is
/// what counts.
#[derive(Debug, Default)]
pub(crate) struct StripedGauge {
    stripes: [crossbeam_utils::CachePadded<AtomicI64>; STRIPES],
}

impl StripedGauge {
    #[inline]
    fn stripe(&self) -> &AtomicI64 {
        &self.stripes[stripe_index()]
    }

    /// Adds one.
    #[inline]
    pub(crate) fn inc(&self) {
        self.stripe().fetch_add(1, Ordering::Relaxed);
    }

    /// Subtracts one.
    #[inline]
    pub(crate) fn dec(&self) {
        self.stripe().fetch_sub(1, Ordering::Relaxed);
    }

    /// The sum over all stripes.
    pub(crate) fn get(&self) -> i64 {
        self.stripes.iter().map(|s| s.load(Ordering::Relaxed)).sum()
    }
}
