//! Summary: quantiles over a sliding time window, plus a cumulative sum and count.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::AtomicF64;
use super::sketch::{Clock, SLICES, Sketch};
use crate::number::canonical;

/// A quantile to report and the rank error client_golang would allow for it.
///
/// redmetrics' sketch bounds the *value* error instead (below 1/32 relative, see
/// [`Summary`]); the targets are kept in the contract so generated documentation and the
/// checker can state them, and the accuracy tests hold the sketch to them on random data.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Objective {
    /// The quantile, in (0, 1).
    pub quantile: f64,
    /// The tolerated rank error, in (0, 1).
    pub error: f64,
}

impl Objective {
    /// The default objectives: `{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}`.
    pub const DEFAULTS: [Objective; 3] = [
        Objective {
            quantile: 0.5,
            error: 0.05,
        },
        Objective {
            quantile: 0.9,
            error: 0.01,
        },
        Objective {
            quantile: 0.99,
            error: 0.001,
        },
    ];
}

/// Why a summary layout was refused.
/// Example: [`Summary`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SummaryError {
    /// A quantile outside (0, 1).
    #[error("quantile {0} is outside (0, 1): use e.g. 0.5 for the median, 0.99 for p99")]
    Quantile(f64),
    /// An error target outside (0, 1).
    #[error("error target {error} for quantile {quantile} is outside (0, 1)")]
    Error {
        /// The quantile.
        quantile: f64,
        /// Its refused error target.
        error: f64,
    },
    /// The same quantile twice.
    #[error("quantile {0} is listed twice")]
    Duplicate(f64),
    /// A window too short to split into slices.
    #[error(
        "the summary window {0:?} is too short: use at least 5 seconds (10 minutes is the usual)"
    )]
    Window(Duration),
}

/// What every summary of one family shares: objectives, rendered quantile labels and the
/// window's clock.
/// Example: [`Summary`].
#[derive(Debug)]
pub struct SummaryShape {
    objectives: Box<[Objective]>,
    phis: Box<[f64]>,
    labels: Box<[Box<str>]>,
    window: Duration,
    clock: Clock,
}

impl SummaryShape {
    /// Checks the objectives (sorted for you) and the window length.
    pub fn new(objectives: &[Objective], window: Duration) -> Result<Self, SummaryError> {
        let mut objectives = objectives.to_vec();
        for o in &objectives {
            if !(o.quantile > 0.0 && o.quantile < 1.0) {
                return Err(SummaryError::Quantile(o.quantile));
            }
            if !(o.error > 0.0 && o.error < 1.0) {
                return Err(SummaryError::Error {
                    quantile: o.quantile,
                    error: o.error,
                });
            }
        }
        objectives.sort_by(|a, b| a.quantile.total_cmp(&b.quantile));
        if let Some(w) = objectives
            .windows(2)
            .find(|w| w[0].quantile == w[1].quantile)
        {
            return Err(SummaryError::Duplicate(w[0].quantile));
        }
        if window < Duration::from_secs(SLICES as u64) {
            return Err(SummaryError::Window(window));
        }
        Ok(Self {
            phis: objectives.iter().map(|o| o.quantile).collect(),
            labels: objectives
                .iter()
                .map(|o| canonical(o.quantile).into_boxed_str())
                .collect(),
            objectives: objectives.into_boxed_slice(),
            window,
            clock: Clock::new(crate::monotonic::now(), window),
        })
    }

    /// The objectives, ascending by quantile.
    pub fn objectives(&self) -> &[Objective] {
        &self.objectives
    }

    /// The rendered `quantile` label values.
    pub fn quantile_labels(&self) -> &[Box<str>] {
        &self.labels
    }

    /// The sliding window quantiles cover.
    pub fn window(&self) -> Duration {
        self.window
    }
}

/// Quantiles over the last `window` (8 to 10 minutes by default) plus `_sum` and `_count`
/// since start. Recording is lock-free: a few relaxed atomic operations.
///
/// Estimates are within 1/32 relative error of the exact quantile of the window, exact when
/// all values in the window are equal, and NaN when the window is empty (as client_golang).
/// Summaries cannot be aggregated across instances; use histograms for that.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use redmetrics::metrics::{Objective, Summary, SummaryShape};
///
/// let shape = Arc::new(SummaryShape::new(&Objective::DEFAULTS, Duration::from_secs(600)).unwrap());
/// let s = Summary::new(shape);
/// for v in 1..=100 {
///     s.observe(f64::from(v));
/// }
/// let mut q = Vec::new();
/// let (sum, count) = s.read(&mut q);
/// assert_eq!((sum, count), (5050.0, 100));
/// assert!((q[0] - 50.0).abs() <= 50.0 / 32.0);
/// ```
#[derive(Debug)]
pub struct Summary {
    shape: Arc<SummaryShape>,
    sum: AtomicF64,
    /// Sum of integer observations ([`observe_u64_at`](Self::observe_u64_at)): a single
    /// `fetch_add`, no compare-and-swap loop.
    sum_int: AtomicU64,
    count: AtomicU64,
    sketch: Sketch,
}

impl Summary {
    /// An empty summary.
    pub fn new(shape: Arc<SummaryShape>) -> Self {
        Self {
            shape,
            sum: AtomicF64::new(0.0),
            sum_int: AtomicU64::new(0),
            count: AtomicU64::new(0),
            sketch: Sketch::default(),
        }
    }

    /// Records one observation now.
    pub fn observe(&self, v: f64) {
        self.observe_at_nanos(v, crate::monotonic::now());
    }

    /// Records one observation at `now`, whose time slice is found from its distance to the
    /// present (the window's clock is the request path's `u64` monotonic one).
    #[inline]
    pub fn observe_at(&self, v: f64, now: Instant) {
        self.observe_at_nanos(v, crate::monotonic::of(now));
    }

    #[inline]
    fn observe_at_nanos(&self, v: f64, now: u64) {
        self.sketch.observe(&self.shape.clock, v, now);
        if v != 0.0 {
            self.sum.add(v);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an observation that has no value (NaN): in `_count`, not in the sum or the
    /// quantiles (the facade's rule; OpenMetrics forbids a NaN sum).
    #[cfg(feature = "facade")]
    pub(crate) fn count_only(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Records an integer observation (a size in bytes) at `now`.
    #[inline]
    pub fn observe_u64_at(&self, v: u64, now: Instant) {
        self.observe_u64_at_nanos(v, crate::monotonic::of(now));
    }

    /// [`observe_u64_at`](Self::observe_u64_at) at `now` on [`monotonic`](crate::monotonic)'s
    /// clock: the request path's form, which reads the clock once per request.
    #[inline]
    pub(crate) fn observe_u64_at_nanos(&self, v: u64, now: u64) {
        self.sketch.observe_u64(&self.shape.clock, v, now);
        if v != 0 {
            self.sum_int.fetch_add(v, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The shared layout.
    pub fn shape(&self) -> &SummaryShape {
        &self.shape
    }

    /// Fills `quantiles` (one per objective) and returns `(sum, count)`.
    pub fn read(&self, quantiles: &mut Vec<f64>) -> (f64, u64) {
        self.read_at(crate::monotonic::now(), quantiles, &mut Vec::new())
    }

    /// [`read`](Self::read) at `now` on [`monotonic`](crate::monotonic)'s clock.
    pub(crate) fn read_at(
        &self,
        now: u64,
        quantiles: &mut Vec<f64>,
        scratch: &mut Vec<(usize, u64)>,
    ) -> (f64, u64) {
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum.load() + self.sum_int.load(Ordering::Relaxed) as f64;
        self.sketch
            .quantiles(&self.shape.clock, now, &self.shape.phis, quantiles, scratch);
        (sum, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::distr::{Distribution, Uniform};
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn shape() -> Arc<SummaryShape> {
        Arc::new(SummaryShape::new(&Objective::DEFAULTS, Duration::from_secs(600)).unwrap())
    }

    /// The value at rank ceil(phi * n) of sorted data, as client_golang defines a quantile.
    fn exact(sorted: &[f64], phi: f64) -> f64 {
        let rank = ((phi * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    fn check(name: &str, data: Vec<f64>) {
        let s = Summary::new(shape());
        for &v in &data {
            s.observe(v);
        }
        let mut sorted = data;
        sorted.sort_by(f64::total_cmp);
        let mut q = Vec::new();
        let (_, count) = s.read(&mut q);
        assert_eq!(count as usize, sorted.len());
        for (o, est) in Objective::DEFAULTS.iter().zip(&q) {
            let want = exact(&sorted, o.quantile);
            // Value guarantee: within 1/32 of the exact quantile.
            let rel = (est - want).abs() / want.abs().max(f64::MIN_POSITIVE);
            assert!(
                rel <= 1.0 / 32.0,
                "{name}: q{} = {est}, exact {want}, rel error {rel}",
                o.quantile
            );
            // Rank guarantee of the default objectives, on these smooth distributions: the
            // estimate lies between the values at ranks q-e and q+e (widened by one bucket
            // step for values that fall between two samples).
            let lo = exact(&sorted, (o.quantile - o.error).max(0.0)) * (1.0 - 1.0 / 64.0);
            let hi = exact(&sorted, (o.quantile + o.error).min(1.0)) * (1.0 + 1.0 / 64.0);
            assert!(
                (lo..=hi).contains(est),
                "{name}: q{} = {est} outside rank window [{lo}, {hi}]",
                o.quantile
            );
        }
    }

    #[test]
    fn accuracy_against_exact_quantiles_on_random_data() {
        let mut rng = StdRng::seed_from_u64(0x5eed);
        let n = 100_000;
        let uniform = Uniform::new(0.0, 1_000_000.0).unwrap();
        check(
            "uniform",
            (0..n).map(|_| uniform.sample(&mut rng)).collect(),
        );
        check(
            "exponential latency",
            (0..n)
                .map(|_| -0.05 * (1.0 - rng.random::<f64>()).ln())
                .collect(),
        );
        check(
            "log-normal sizes",
            (0..n)
                .map(|_| {
                    // Box-Muller normal, then exp: response sizes around e^7 ≈ 1 KiB.
                    let (u1, u2): (f64, f64) = (rng.random(), rng.random());
                    let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                    (7.0 + 1.5 * z).exp().round()
                })
                .collect(),
        );
        check(
            "integer sizes",
            (0..n)
                .map(|_| f64::from(rng.random_range(0u32..5000)))
                .collect(),
        );
        check("constant", vec![512.0; 10_000]);
        check(
            "bimodal",
            (0..n)
                .map(|i| {
                    if i % 10 == 0 {
                        2.5
                    } else {
                        rng.random_range(0.001..0.01)
                    }
                })
                .collect(),
        );
    }

    /// `_sum` and `_count` take every kind of observation: values (a zero adds nothing to
    /// the sum), values at a given instant, whole numbers (sizes) and, through the facade,
    /// values that have none (counted only); the quantiles see them all.
    #[test]
    fn sum_and_count_take_every_kind_of_observation() {
        let shape = shape();
        assert_eq!(shape.window(), Duration::from_secs(600));
        assert_eq!(shape.objectives(), Objective::DEFAULTS);
        let s = Summary::new(shape);
        let now = Instant::now();
        s.observe(0.5);
        s.observe(0.0);
        s.observe_at(1.25, now);
        s.observe_u64_at(3, now);
        s.observe_u64_at(0, now);
        #[cfg(feature = "facade")]
        s.count_only();
        let count = if cfg!(feature = "facade") { 6 } else { 5 };
        let mut q = Vec::new();
        assert_eq!(s.read(&mut q), (4.75, count));
        assert_eq!(s.shape().window(), Duration::from_secs(600));
        // The median of 0, 0, 0.5, 1.25 and 3.
        assert_eq!(q.len(), 3);
        assert!((q[0] - 0.5).abs() <= 0.5 / 32.0, "p50 {}", q[0]);
    }

    #[test]
    fn objectives_are_validated_and_sorted() {
        let e = SummaryShape::new(
            &[Objective {
                quantile: 1.5,
                error: 0.1,
            }],
            Duration::from_secs(600),
        )
        .unwrap_err();
        assert!(e.to_string().contains("outside (0, 1)"));
        let mut objs = Objective::DEFAULTS.to_vec();
        objs.reverse();
        let shape = SummaryShape::new(&objs, Duration::from_secs(60)).unwrap();
        let labels: Vec<&str> = shape.quantile_labels().iter().map(|s| &**s).collect();
        assert_eq!(labels, ["0.5", "0.9", "0.99"]);
        assert!(SummaryShape::new(&objs, Duration::from_secs(1)).is_err());
    }
}
