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

#[cfg(test)]
mod tests {
    use super::*;

    /// The stripes holding a value, in order.
    fn held(g: &StripedGauge) -> Vec<i64> {
        g.stripes
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|&v| v != 0)
            .collect()
    }

    #[test]
    fn gauges_hold_what_they_were_given() {
        let g = Gauge::default();
        g.inc();
        g.inc();
        g.dec();
        g.add(-5);
        assert_eq!(g.get(), -4);
        g.set(7);
        assert_eq!(g.get(), 7);
        let f = GaugeF64::default();
        f.set(1.5);
        f.add(-0.25);
        assert_eq!(f.get(), 1.25);
    }

    /// A thread keeps the stripe it first took: its increments and decrements land on one
    /// cache line, and the sum reads them.
    #[test]
    fn a_thread_writes_to_one_stripe() {
        let g = StripedGauge::default();
        std::thread::scope(|s| {
            s.spawn(|| {
                g.inc();
                g.inc();
                g.inc();
                g.dec();
            });
        });
        assert_eq!(g.get(), 2);
        assert_eq!(held(&g), [2], "{:?}", g.stripes);
    }

    /// Threads take the stripes round-robin: threads started one after another spread over
    /// several stripes (and every stripe index stays in range however many threads start),
    /// and the sum counts every write.
    #[test]
    fn threads_spread_over_the_stripes() {
        let g = StripedGauge::default();
        let threads = STRIPES * 9;
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| g.inc()).join().unwrap();
            }
        });
        assert_eq!(g.get(), threads as i64);
        assert!(held(&g).len() > 1, "{:?}", g.stripes);
    }
}
