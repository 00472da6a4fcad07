//! Histogram: counts per fixed bucket, plus the sum of observations.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::AtomicF64;
use super::NativeLayout;
use super::native::{self, NativeBuckets, NativeRead};
use crate::number::canonical;

/// Why a bucket layout was refused.
/// Example: [`Buckets::new`] refuses unsorted bounds, see [`Histogram`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BucketsError {
    /// A bound is NaN or infinite; `+Inf` is always added by redmetrics itself.
    #[error("bucket bound {0} is not finite: list finite upper bounds, `+Inf` is added for you")]
    NotFinite(f64),
    /// Bounds must strictly increase.
    #[error(
        "bucket bounds must strictly increase, but {next} follows {prev}: sort them and drop duplicates"
    )]
    NotIncreasing {
        /// The earlier bound.
        prev: f64,
        /// The bound that does not exceed it.
        next: f64,
    },
}

/// Upper bounds of a histogram's buckets, with their `le` values rendered once.
/// Example: [`Histogram`].
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    bounds: Box<[f64]>,
    le: Box<[Box<str>]>,
    /// The classic bucket of each native bucket's values (by native counter index), or
    /// [`SEARCH`] where a bound lies within it: a latency's classic bucket is then one
    /// lookup after its native index, not a binary search. An array, so that the lookup of
    /// an index [`native::index`] returns needs no bounds check.
    by_native: Box<native::PerCounter<u16>>,
}

/// In [`Buckets::by_native`]: search the bounds.
const SEARCH: u16 = u16::MAX;

impl Buckets {
    /// The default latency buckets (client_golang's `DefBuckets`), in seconds: .005 … 10.
    pub const DEFAULT_SECONDS: [f64; 11] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];

    /// The default size buckets, in bytes: 64 B to 4 MiB, ×4 apart (sensible for API bodies).
    pub const DEFAULT_BYTES: [f64; 9] = [
        64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    ];

    /// [`DEFAULT_SECONDS`](Self::DEFAULT_SECONDS) as a layout; infallible.
    ///
    /// ```
    /// use redmetrics::metrics::Buckets;
    /// assert_eq!(Buckets::default_seconds().bounds(), Buckets::DEFAULT_SECONDS);
    /// ```
    pub fn default_seconds() -> Self {
        Self::trusted(&Self::DEFAULT_SECONDS)
    }

    /// [`DEFAULT_BYTES`](Self::DEFAULT_BYTES) as a layout; infallible.
    ///
    /// ```
    /// use redmetrics::metrics::Buckets;
    /// assert_eq!(Buckets::default_bytes().le().last().map(|le| &**le), Some("+Inf"));
    /// ```
    pub fn default_bytes() -> Self {
        Self::trusted(&Self::DEFAULT_BYTES)
    }

    /// A layout from bounds known to be finite and strictly increasing (the constants above).
    fn trusted(bounds: &[f64]) -> Self {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        Self::render(bounds.into())
    }

    fn render(bounds: Box<[f64]>) -> Self {
        let le = bounds
            .iter()
            .map(|&b| canonical(b).into_boxed_str())
            .chain(std::iter::once("+Inf".into()))
            .collect();
        let by_native = Box::new(std::array::from_fn(|i| {
            let Some((lo, hi)) = native::range(i) else {
                return SEARCH;
            };
            if bounds.iter().any(|&b| lo <= b && b <= hi) {
                return SEARCH;
            }
            // No bound in [lo, hi]: every value in (lo, hi] is above the same bounds.
            u16::try_from(bounds.partition_point(|&b| b < lo))
                .ok()
                .filter(|&c| c != SEARCH)
                .unwrap_or(SEARCH)
        }));
        Self {
            bounds,
            le,
            by_native,
        }
    }

    /// Checks that the bounds are finite and strictly increasing.
    pub fn new(bounds: impl Into<Vec<f64>>) -> Result<Self, BucketsError> {
        let bounds = bounds.into();
        for (i, &b) in bounds.iter().enumerate() {
            if !b.is_finite() {
                return Err(BucketsError::NotFinite(b));
            }
            if i > 0 && bounds[i - 1] >= b {
                return Err(BucketsError::NotIncreasing {
                    prev: bounds[i - 1],
                    next: b,
                });
            }
        }
        Ok(Self::render(bounds.into_boxed_slice()))
    }

    /// `count` bounds starting at `start`, each `factor` times the previous.
    pub fn exponential(start: f64, factor: f64, count: usize) -> Result<Self, BucketsError> {
        let bounds: Vec<f64> = std::iter::successors(Some(start), |b| Some(b * factor))
            .take(count)
            .collect();
        Self::new(bounds)
    }

    /// The finite upper bounds, ascending.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// The rendered `le` values, `+Inf` last.
    pub fn le(&self) -> &[Box<str>] {
        &self.le
    }
}

/// A duration and the buckets it lands in, see [`Histogram::position_nanos`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Position {
    nanos: u64,
    classic: usize,
    /// The native bucket index, found whether or not the histogram keeps native buckets
    /// (it depends on the value alone): no `Option` to check on each histogram.
    native: usize,
}

/// Counts observations into fixed buckets. `_count` is derived from the bucket counts, so a
/// scrape always sees `+Inf` equal to `_count`, even while requests are being recorded.
///
/// ```
/// use std::sync::Arc;
/// use redmetrics::metrics::{Buckets, Histogram};
///
/// let h = Histogram::new(Arc::new(Buckets::new([0.1, 1.0]).unwrap()));
/// h.observe(0.05);
/// h.observe(3.0);
/// let mut cumulative = Vec::new();
/// assert_eq!(h.read(&mut cumulative), 3.05);
/// assert_eq!(cumulative, [1, 1, 2]);
/// ```
#[derive(Debug)]
pub struct Histogram {
    buckets: Arc<Buckets>,
    counts: Box<[AtomicU64]>,
    sum: AtomicF64,
    /// Sum of [`observe_nanos`](Self::observe_nanos) observations: one `fetch_add` instead
    /// of a compare-and-swap loop, which matters when threads record the same route.
    sum_nanos: AtomicU64,
    /// Native (exponential) buckets, for the duration histogram: see [`NativeLayout`].
    native: Option<NativeBuckets>,
}

impl Histogram {
    /// An empty histogram over `buckets`.
    pub fn new(buckets: Arc<Buckets>) -> Self {
        let counts = (0..=buckets.bounds.len())
            .map(|_| AtomicU64::new(0))
            .collect();
        Self {
            buckets,
            counts,
            sum: AtomicF64::new(0.0),
            sum_nanos: AtomicU64::new(0),
            native: None,
        }
    }

    /// An empty histogram over `buckets` that also keeps native buckets (exposed in the
    /// protobuf format only), limited as `native` says.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use redmetrics::metrics::{Buckets, Histogram, NativeLayout};
    ///
    /// let h = Histogram::with_native(Arc::new(Buckets::default_seconds()), NativeLayout::default());
    /// h.observe(0.042);
    /// assert!(h.has_native());
    /// ```
    pub fn with_native(buckets: Arc<Buckets>, native: NativeLayout) -> Self {
        Self {
            native: Some(NativeBuckets::new(native)),
            ..Self::new(buckets)
        }
    }

    /// Whether this histogram keeps native buckets.
    pub fn has_native(&self) -> bool {
        self.native.is_some()
    }

    /// Records one observation. NaN is counted in `+Inf` and poisons the sum, as in
    /// client_golang.
    #[inline]
    pub fn observe(&self, v: f64) {
        // `!(b >= v)` rather than `b < v`: NaN compares false and must land in `+Inf`.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        let i = self.buckets.bounds.partition_point(|&b| !(b >= v));
        if let Some(n) = &self.native {
            n.observe(v);
        }
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum.add(v);
    }

    /// Counts a NaN observation in `+Inf` and `_count` without adding it to the sum, which
    /// would stay NaN for good (the facade's rule; OpenMetrics forbids a NaN sum).
    #[cfg(feature = "facade")]
    pub(crate) fn observe_nan(&self) {
        if let Some(n) = &self.native {
            n.observe(f64::NAN);
        }
        if let Some(last) = self.counts.last() {
            last.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a duration in nanoseconds, for histograms in seconds: the bucket is found in
    /// seconds, the sum is kept as an integer.
    #[inline]
    pub fn observe_nanos(&self, nanos: u64) {
        // SAFETY: the position was found by this histogram.
        #[allow(unsafe_code)]
        unsafe {
            self.observe_position(self.position_nanos(nanos));
        }
    }

    /// Where a duration of `nanos` lands in this histogram's buckets: found once per request
    /// and recorded with [`observe_position`](Self::observe_position) into every histogram
    /// of the same layout (a route's and its status's latency).
    #[inline]
    pub(crate) fn position_nanos(&self, nanos: u64) -> Position {
        let v = nanos as f64 * 1e-9;
        let at = native::index(v);
        let classic = match self.buckets.by_native[at] {
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            SEARCH => self.buckets.bounds.partition_point(|&b| !(b >= v)),
            c => usize::from(c),
        };
        Position {
            nanos,
            classic,
            native: at,
        }
    }

    /// Records a duration placed by [`position_nanos`](Self::position_nanos) of a histogram
    /// with the same buckets and native layout; the same as
    /// [`observe_nanos`](Self::observe_nanos) of it.
    ///
    /// # Safety
    ///
    /// `p` comes from `position_nanos` of this histogram or of one with as many bucket
    /// bounds (a histogram over the same `Buckets`): its classic bucket then indexes
    /// `counts`, which is read without a bounds check.
    #[inline]
    #[allow(unsafe_code)]
    pub(crate) unsafe fn observe_position(&self, p: Position) {
        debug_assert!(p.classic < self.counts.len());
        // Native before classic: a scrape reads them the other way round (see `read_native`).
        if let Some(n) = &self.native {
            n.observe_index(p.native);
        }
        // SAFETY: `position_nanos` returns a classic bucket of at most `bounds.len()` (a
        // partition point of the bounds, or a `by_native` entry, which `Buckets::render`
        // made one); `counts` has `bounds.len() + 1` entries (`Histogram::new`), and the
        // caller's histogram has as many bounds as this one. Measured: the two latency
        // histograms' bounds checks cost 6 instructions a request (BENCHMARKS.md, issue 22).
        let count = unsafe { self.counts.get_unchecked(p.classic) };
        count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(p.nanos, Ordering::Relaxed);
    }

    /// The bucket layout.
    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    /// Fills `cumulative` with one count per `le` (the last is `_count`) and returns the sum.
    pub fn read(&self, cumulative: &mut Vec<u64>) -> f64 {
        cumulative.clear();
        let mut acc = 0u64;
        for c in self.counts.iter() {
            acc += c.load(Ordering::Relaxed);
            cumulative.push(acc);
        }
        self.sum.load() + self.sum_nanos.load(Ordering::Relaxed) as f64 * 1e-9
    }

    /// Reads the native buckets, if any, after [`read`](Self::read): observations add to
    /// them first, so their total is never below the classic count just read.
    pub(crate) fn read_native(
        &self,
        raw: &mut Vec<u64>,
        buckets: &mut Vec<(i32, u64)>,
    ) -> Option<NativeRead> {
        self.native.as_ref().map(|n| n.read(raw, buckets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_upper_bounds() {
        let h = Histogram::new(Arc::new(Buckets::new(Buckets::DEFAULT_SECONDS).unwrap()));
        for v in [0.005, 0.0051, 10.0, 10.5, f64::NAN] {
            h.observe(v);
        }
        let mut c = Vec::new();
        h.read(&mut c);
        assert_eq!(c[0], 1, "0.005 lands in le=0.005");
        assert_eq!(c[1], 2);
        assert_eq!(c[10], 3, "10 lands in le=10");
        assert_eq!(c[11], 5);
        assert_eq!(h.buckets().le()[7].as_ref(), "1.0");
    }

    /// The classic bucket found through the native index is the one the bounds give, for
    /// durations around every default bound, every power of two and their neighbours.
    #[test]
    fn the_classic_bucket_by_native_index_is_the_searched_one() {
        let layouts = [
            Buckets::default_seconds(),
            Buckets::new([0.0005, 0.001, 0.002, 0.003, 0.004, 0.0041, 0.3, 300.0]).unwrap(),
            Buckets::new([1e-7, 0.5, 1.0]).unwrap(),
        ];
        for b in layouts {
            let h = Histogram::new(Arc::new(b.clone()));
            let mut nanos: Vec<u64> = vec![0, 1, 953, 954, 1_000, u64::MAX / 2];
            for &bound in b.bounds() {
                let n = (bound * 1e9) as u64;
                nanos.extend([n.saturating_sub(1), n, n + 1]);
            }
            for e in 0..40 {
                let n = 1u64 << e;
                nanos.extend([n - 1, n, n + 1, n + n / 3]);
            }
            let mut n = 1u64;
            while n < 400_000_000_000 {
                nanos.push(n);
                n = n * 21 / 20 + 1;
            }
            for n in nanos {
                let v = n as f64 * 1e-9;
                #[allow(clippy::neg_cmp_op_on_partial_ord)]
                let want = b.bounds().partition_point(|&x| !(x >= v));
                assert_eq!(
                    h.position_nanos(n).classic,
                    want,
                    "{n} ns in {:?}",
                    b.bounds()
                );
            }
        }
    }

    /// A native bucket with no bound in it maps straight to its classic bucket, the number
    /// of bounds below it, so its durations need no search; one holding a bound, the zero
    /// bucket and the top one are searched.
    #[test]
    fn native_buckets_without_a_bound_need_no_search() {
        let layouts = [
            Buckets::default_seconds(),
            Buckets::new([1e-7, 0.5, 1.0]).unwrap(),
        ];
        for b in layouts {
            let mut direct = 0;
            for (i, &entry) in b.by_native.iter().enumerate() {
                match native::range(i) {
                    Some((lo, hi)) if !b.bounds().iter().any(|&x| lo <= x && x <= hi) => {
                        let below = b.bounds().iter().filter(|&&x| x < hi).count();
                        assert_eq!(usize::from(entry), below, "native bucket {i}: ({lo}, {hi}]");
                        direct += 1;
                    }
                    _ => assert_eq!(entry, SEARCH, "native bucket {i}"),
                }
            }
            assert!(direct > 200, "{direct} direct of {}", b.by_native.len());
        }
    }

    /// `_sum` adds values in seconds and durations in nanoseconds; the counts are cumulative;
    /// native buckets are kept only when asked for, and take every kind of observation.
    #[test]
    fn sums_counts_and_native_buckets_take_every_observation() {
        let b = Arc::new(Buckets::new([0.1, 1.0]).unwrap());
        let (mut c, mut raw, mut nb) = (Vec::new(), Vec::new(), Vec::new());
        let h = Histogram::new(Arc::clone(&b));
        assert!(!h.has_native());
        h.observe(0.5);
        h.observe_nanos(2_000_000_000);
        h.observe_nanos(50_000_000);
        let sum = h.read(&mut c);
        assert!((sum - 2.55).abs() < 1e-12, "sum {sum}");
        assert_eq!(c, [1, 2, 3]);
        assert_eq!(h.read_native(&mut raw, &mut nb), None);

        let h = Histogram::with_native(b, NativeLayout::default());
        assert!(h.has_native());
        h.observe(0.5);
        h.observe_nanos(2_000_000_000);
        let r = h.read_native(&mut raw, &mut nb).unwrap();
        assert_eq!((r.schema, r.zero_count, r.count), (3, 0, 2));
        assert_eq!(nb, [(-8, 1), (8, 1)], "0.5 s is key -8, 2 s key 8");
        #[cfg(feature = "facade")]
        {
            h.observe_nan();
            assert_eq!(h.read(&mut c), 2.5, "NaN is not in the sum");
            assert_eq!(c, [0, 1, 3]);
            let r = h.read_native(&mut raw, &mut nb).unwrap();
            assert_eq!((r.zero_count, r.count), (1, 3));
        }
    }

    #[test]
    fn bad_layouts_say_how_to_fix_them() {
        let e = Buckets::new([1.0, 1.0]).unwrap_err().to_string();
        assert!(e.contains("sort them"), "{e}");
        let e = Buckets::new([f64::INFINITY]).unwrap_err().to_string();
        assert!(e.contains("added for you"), "{e}");
        assert_eq!(
            Buckets::exponential(1.0, 2.0, 3).unwrap().bounds(),
            [1.0, 2.0, 4.0]
        );
    }
}
