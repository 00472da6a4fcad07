//! Native (sparse exponential) buckets for the duration histogram, exposed in the protobuf
//! format next to the classic buckets.
//!
//! **Storage: dense and fixed.** Every label set holds one pre-sized array of atomic counters
//! at schema 3 (8 buckets per power of two, each bound 2^(1/8) ≈ 1.09 times the one before,
//! what client_golang picks for its default bucket factor 1.1) over (2^-20 s, 2^8 s], about
//! 1 µs to 256 s: [`FINE_BUCKETS`] buckets plus the zero bucket. Recording is a float
//! exponent read, a search among 8 bounds and one relaxed `fetch_add`: no lock, no
//! allocation, no resize, so the request path stays as it was.
//!
//! **Clamping.** A duration of at most [`ZERO_THRESHOLD`] (2^-20 s, under 1 µs) counts in the
//! zero bucket, whose width Prometheus takes from the exposed threshold. One over
//! [`MAX_SECONDS`] (256 s) counts in the top bucket (just under 256 s): its count and the sum
//! stay exact, only its position is capped, so native quantiles never report more than
//! 256 s. The classic buckets still place it in `+Inf`.
//!
//! **Bucket limit, instead of client_golang's reset rule.** A sparse histogram grows buckets
//! as values arrive, so client_golang bounds it by resetting it (at most once per
//! `NativeHistogramMinResetDuration`), widening its zero bucket, or halving its resolution.
//! Here memory is fixed from the start, so nothing ever needs to be reset: counts only grow,
//! and `rate()` never sees a reset that did not happen. The limit ([`NativeLayout`], 160
//! by default like client_golang's and OpenTelemetry's usual setting) bounds the exposition
//! instead: at scrape time, neighbours are merged (schema 3 → 2 → … → -4) until at most that
//! many buckets are populated. Because a populated bucket stays populated, the exposed schema
//! of a series only ever goes down, which Prometheus handles without a counter reset.

use std::sync::atomic::{AtomicU64, Ordering};

/// The schema values are recorded at: 2^3 = 8 buckets per power of two.
pub(crate) const FINE_SCHEMA: i32 = 3;
/// The lowest schema Prometheus accepts; the bucket limit never reduces below it.
pub(crate) const MIN_SCHEMA: i32 = -4;
/// The width of the zero bucket, in seconds: 2^-20 s (0.95 µs).
pub(crate) const ZERO_THRESHOLD: f64 = 1.0 / (1u64 << 20) as f64;
/// The upper bound of the top bucket, in seconds: 2^8 s; longer durations count there.
pub(crate) const MAX_SECONDS: f64 = 256.0;
/// Buckets at [`FINE_SCHEMA`] between the zero bucket and [`MAX_SECONDS`]: 28 octaves × 8.
pub(crate) const FINE_BUCKETS: usize = 224;
/// One `T` per counter of a series' native buckets: the zero bucket, then [`FINE_BUCKETS`].
/// One type for the counters and for what is looked up by their index (the classic bucket
/// of each, in [`Buckets`](super::Buckets)), so the two cannot differ in length.
pub(crate) type PerCounter<T> = [T; FINE_BUCKETS + 1];
/// Key (Prometheus bucket index at [`FINE_SCHEMA`]) of the first bucket above the zero
/// bucket: (2^-20, 2^(-20 + 1/8)] is key -159.
const FIRST_KEY: i32 = -20 * 8 + 1;

/// Lower bounds of the 8 sub-buckets of an octave, as fractions in [0.5, 1) (`frexp`'s
/// mantissa): 2^(k/8) / 2 for k = 0..8.
const OCTAVE: [f64; 8] = [
    0.5,
    0.545_253_866_332_628_8,
    0.594_603_557_501_360_5,
    0.648_419_777_325_504_8,
    std::f64::consts::FRAC_1_SQRT_2,
    0.771_105_412_703_970_4,
    0.840_896_415_253_714_5,
    0.917_004_043_204_671_1,
];

/// Why a native-bucket setting was refused.
/// Example: [`NativeLayout::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NativeError {
    /// The bucket limit is outside what the fixed range can use.
    #[error(
        "a native bucket limit of {0} is outside {min}..={max}: schema -4 needs up to 3 buckets over 1 µs to 256 s and schema 3 has {max}, so no other limit changes anything (e.g. 160)",
        min = NativeLayout::MIN_MAX_BUCKETS,
        max = FINE_BUCKETS
    )]
    MaxBuckets(u32),
}

/// How the duration histogram's native buckets are exposed: the bucket limit.
///
/// ```
/// use redmetrics::metrics::NativeLayout;
///
/// assert_eq!(NativeLayout::default().max_buckets(), 160);
/// assert_eq!(NativeLayout::new(40).unwrap().max_buckets(), 40);
/// assert!(NativeLayout::new(1).unwrap_err().to_string().contains("4..=224"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NativeLayout {
    max_buckets: u16,
}

impl NativeLayout {
    /// The default limit, client_golang's usual `NativeHistogramMaxBucketNumber`.
    pub const DEFAULT_MAX_BUCKETS: u32 = 160;
    /// The smallest limit accepted (schema -4 never needs more than 3 buckets here).
    pub const MIN_MAX_BUCKETS: u32 = 4;

    /// A layout exposing at most `max_buckets` populated buckets per series (4 to 224).
    pub fn new(max_buckets: u32) -> Result<Self, NativeError> {
        if !(Self::MIN_MAX_BUCKETS..=FINE_BUCKETS as u32).contains(&max_buckets) {
            return Err(NativeError::MaxBuckets(max_buckets));
        }
        Ok(Self {
            max_buckets: max_buckets as u16,
        })
    }

    /// The most populated buckets a scrape exposes per series.
    pub fn max_buckets(self) -> u32 {
        u32::from(self.max_buckets)
    }
}

impl Default for NativeLayout {
    fn default() -> Self {
        Self {
            max_buckets: Self::DEFAULT_MAX_BUCKETS as u16,
        }
    }
}

/// The counters of one series: the zero bucket at index 0, then [`FINE_BUCKETS`] buckets
/// from key -159 up. Allocated once, with the series.
#[derive(Debug)]
pub(crate) struct NativeBuckets {
    counts: Box<PerCounter<AtomicU64>>,
    max_buckets: u16,
}

/// What [`NativeBuckets::read`] found: the exposed schema, zero bucket and total count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NativeRead {
    pub(crate) schema: i32,
    pub(crate) zero_count: u64,
    pub(crate) count: u64,
}

impl NativeBuckets {
    pub(crate) fn new(layout: NativeLayout) -> Self {
        Self {
            counts: Box::new([const { AtomicU64::new(0) }; FINE_BUCKETS + 1]),
            max_buckets: layout.max_buckets,
        }
    }

    /// Counts one observation of `seconds` (never negative: a duration).
    #[inline]
    pub(crate) fn observe(&self, seconds: f64) {
        self.observe_index(index(seconds));
    }

    /// Counts one observation whose [`index`] is known.
    #[inline]
    pub(crate) fn observe_index(&self, index: usize) {
        self.counts[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Loads the counters and fills `buckets` with (key, count) of every populated bucket at
    /// the highest schema whose populated buckets fit the limit, ascending. `raw` is scratch.
    pub(crate) fn read(&self, raw: &mut Vec<u64>, buckets: &mut Vec<(i32, u64)>) -> NativeRead {
        raw.clear();
        raw.extend(self.counts.iter().map(|c| c.load(Ordering::Relaxed)));
        let zero_count = raw[0];
        let count = raw.iter().sum();
        let populated = |shift: u32| {
            let mut n = 0usize;
            let mut last = None;
            for (i, &c) in raw[1..].iter().enumerate() {
                let key = reduce(FIRST_KEY + i as i32, shift);
                if c > 0 && last != Some(key) {
                    n += 1;
                    last = Some(key);
                }
            }
            n
        };
        // The finest schema whose populated buckets fit the limit. The floor, MIN_SCHEMA,
        // is a bound the count never reaches: schema -3 needs at most 4 buckets over the
        // range, the smallest limit allowed.
        let coarsest = FINE_SCHEMA.abs_diff(MIN_SCHEMA);
        let limit = usize::from(self.max_buckets);
        let shift = (0..coarsest)
            .find(|&s| populated(s) <= limit)
            .unwrap_or(coarsest);
        buckets.clear();
        for (i, &c) in raw[1..].iter().enumerate() {
            if c == 0 {
                continue;
            }
            let key = reduce(FIRST_KEY + i as i32, shift);
            match buckets.last_mut() {
                Some((k, n)) if *k == key => *n += c,
                _ => buckets.push((key, c)),
            }
        }
        NativeRead {
            schema: FINE_SCHEMA - shift as i32,
            zero_count,
            count,
        }
    }
}

/// The key at `shift` schemas lower: bucket k of schema s holds buckets 2k-1 and 2k of
/// schema s+1, so the key is ceil(k / 2^shift).
fn reduce(key: i32, shift: u32) -> i32 {
    (key + (1 << shift) - 1) >> shift
}

/// The values [`index`] maps to counter index `i`, as `(lo, hi)`: `lo < v <= hi`. `None`
/// for the zero bucket and the top one, whose ranges also hold clamped values.
pub(crate) fn range(i: usize) -> Option<(f64, f64)> {
    if i == 0 || i >= FINE_BUCKETS {
        return None;
    }
    // Key k = sub + 8 (exp - 1) with sub in 1..=8: `frac` in (OCTAVE[sub-1], OCTAVE[sub]]
    // (1.0 for sub 8, reached by `frac` 0.5 an octave up), times 2^exp. Exact products.
    let key = i as i32 - 1 + FIRST_KEY;
    let sub = (key - 1).rem_euclid(8) + 1;
    let exp = (key - sub) / 8 + 1;
    let scale = 2f64.powi(exp);
    let upper = if sub == 8 { 1.0 } else { OCTAVE[sub as usize] };
    Some((OCTAVE[sub as usize - 1] * scale, upper * scale))
}

/// The counter index of `seconds`: 0 for the zero bucket, else 1 + key - [`FIRST_KEY`].
#[inline]
pub(crate) fn index(seconds: f64) -> usize {
    // Also catches NaN, which a duration never is.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    if !(seconds > ZERO_THRESHOLD) {
        return 0;
    }
    if seconds >= MAX_SECONDS {
        return FINE_BUCKETS;
    }
    // `frexp`: seconds = frac × 2^exp with frac in [0.5, 1); normal numbers only here. The
    // mantissa bits order like `frac`, and the cell of its top bits holds at most one bound.
    let bits = seconds.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1022;
    let mantissa = bits & MANTISSA;
    let cell = (mantissa >> (52 - CELL_BITS)) as usize;
    // Bucket bounds are inclusive upper bounds: frac equal to a bound belongs below it.
    // Written with `<`, so that the zero test above is this function's only `>` (its `>=`
    // mutant is equivalent, and scripts/mutants excludes it by function and operator).
    let sub = i32::from(CELLS[cell].0) + i32::from(CELLS[cell].1 < mantissa);
    let key = sub + (exp - 1) * 8;
    // At most FINE_BUCKETS already (seconds < MAX_SECONDS); the `min` lets the compiler see
    // it, so the counter and `by_native` lookups of the result need no bounds check.
    ((key - FIRST_KEY + 1) as usize).min(FINE_BUCKETS)
}

/// The mantissa field of an `f64`.
const MANTISSA: u64 = (1 << 52) - 1;
/// Top mantissa bits that pick a cell of [`CELLS`]: 16 cells of 1/16 of an octave each,
/// narrower than the closest two bounds (2^(1/8) - 1 ≈ 0.09 apart), so at most one per cell.
const CELL_BITS: u32 = 4;

/// For each cell of an octave's mantissas: how many [`OCTAVE`] bounds lie below the cell,
/// and the mantissa of the next bound (`u64::MAX` for none), which the cell may hold.
/// Together, `OCTAVE.partition_point(|&b| b < frac)` without the search.
const CELLS: [(u8, u64); 1 << CELL_BITS] = {
    let mut cells = [(0u8, u64::MAX); 1 << CELL_BITS];
    let mut cell = 0;
    while cell < cells.len() {
        let start = (cell as u64) << (52 - CELL_BITS);
        let mut below = 0;
        while below < OCTAVE.len() && (OCTAVE[below].to_bits() & MANTISSA) < start {
            below += 1;
        }
        let next = if below < OCTAVE.len() {
            OCTAVE[below].to_bits() & MANTISSA
        } else {
            u64::MAX
        };
        cells[cell] = (below as u8, next);
        cell += 1;
    }
    cells
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The upper bound of bucket `key` at `schema`, as Prometheus defines it.
    fn upper(key: i32, schema: i32) -> f64 {
        2f64.powf(f64::from(key) * 2f64.powi(-schema))
    }

    /// The straightforward index (`frexp`, then a search among the 8 bounds), which the
    /// table of cells replaced.
    fn index_by_search(seconds: f64) -> usize {
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        if !(seconds > ZERO_THRESHOLD) {
            return 0;
        }
        if seconds >= MAX_SECONDS {
            return FINE_BUCKETS;
        }
        let bits = seconds.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i32 - 1022;
        let frac = f64::from_bits((bits & MANTISSA) | (1022u64 << 52));
        let sub = OCTAVE.partition_point(|&b| b < frac) as i32;
        (sub + (exp - 1) * 8 - FIRST_KEY + 1) as usize
    }

    #[test]
    fn the_cell_table_gives_the_searched_index_everywhere() {
        let mut values = vec![
            0.0,
            -0.0,
            -1.0,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::from_bits(MANTISSA),
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            u64::MAX as f64,
            ZERO_THRESHOLD,
            MAX_SECONDS,
        ];
        // Every power of two and every bound of the range, each with its neighbours.
        for exp in -1074..=1023 {
            values.push(2f64.powi(exp));
        }
        for i in 1..FINE_BUCKETS {
            let (lo, hi) = range(i).unwrap();
            values.extend([lo, hi]);
        }
        for v in values.clone() {
            let b = v.to_bits();
            values.extend([f64::from_bits(b.wrapping_sub(1)), f64::from_bits(b + 1)]);
        }
        // Every cell edge of every octave in the range, with its neighbours.
        for exp in 1002..=1031u64 {
            for cell in 0..1u64 << CELL_BITS {
                let b = (exp << 52) | (cell << (52 - CELL_BITS));
                values.extend([b - 1, b, b + 1].map(f64::from_bits));
            }
        }
        // And a dense sweep: whole nanoseconds as the layer converts them, then every bit
        // pattern at a stride that visits all exponents and many mantissas.
        values.extend((0..2_000_000u64).map(|n| n as f64 * 1e-9));
        values.extend(
            (0..4_000_000u64).map(|k| f64::from_bits(k.wrapping_mul(0x9E37_79B9_7F4A_7C15))),
        );
        for v in values {
            assert_eq!(index(v), index_by_search(v), "{v:e} ({:#x})", v.to_bits());
        }
    }

    #[test]
    fn octave_bounds_are_powers_of_two() {
        for (k, b) in OCTAVE.iter().enumerate() {
            assert!((b - 2f64.powf(k as f64 / 8.0) / 2.0).abs() < 1e-15);
        }
    }

    #[test]
    fn each_value_lands_in_the_bucket_whose_bounds_hold_it() {
        let mut v = ZERO_THRESHOLD * 1.0001;
        while v < MAX_SECONDS {
            let key = index(v) as i32 - 1 + FIRST_KEY;
            assert!(
                upper(key - 1, 3) < v && v <= upper(key, 3) * (1.0 + 1e-12),
                "{v}"
            );
            v *= 1.013;
        }
        // Exact bounds are inclusive upper bounds.
        assert_eq!(index(1.0) as i32 - 1 + FIRST_KEY, 0);
        assert_eq!(index(2.0) as i32 - 1 + FIRST_KEY, 8);
        assert_eq!(index(0.5) as i32 - 1 + FIRST_KEY, -8);
        assert_eq!(index(ZERO_THRESHOLD), 0);
        assert_eq!(index(0.0), 0);
        assert_eq!(index(MAX_SECONDS), FINE_BUCKETS);
        assert_eq!(index(1e9), FINE_BUCKETS, "clamped into the top bucket");
        assert_eq!(
            FIRST_KEY + FINE_BUCKETS as i32 - 1,
            64,
            "top key: 2^(64/8) = 256"
        );
    }

    #[test]
    fn ranges_hold_exactly_the_values_their_index_takes() {
        for i in 1..FINE_BUCKETS {
            let (lo, hi) = range(i).unwrap();
            assert_eq!(index(hi), i, "{i}: upper bound {hi}");
            assert_eq!(index(lo), i - 1, "{i}: lower bound {lo}");
            assert_eq!(
                index(f64::from_bits(lo.to_bits() + 1)),
                i,
                "{i}: just above {lo}"
            );
            assert_eq!(
                index(f64::from_bits(hi.to_bits() + 1)),
                i + 1,
                "{i}: just above {hi}"
            );
        }
        assert_eq!(range(0), None);
        assert_eq!(range(FINE_BUCKETS), None);
    }

    #[test]
    fn the_limit_merges_neighbours_and_keeps_every_count() {
        let n = NativeBuckets::new(NativeLayout::new(4).unwrap());
        for v in [0.0, 0.001, 0.0011, 0.01, 0.1, 1.0, 10.0, 100.0] {
            n.observe(v);
        }
        let (mut raw, mut b) = (Vec::new(), Vec::new());
        let r = n.read(&mut raw, &mut b);
        assert_eq!((r.zero_count, r.count), (1, 8));
        assert!(b.len() <= 4 && r.schema < FINE_SCHEMA, "{r:?} {b:?}");
        assert_eq!(b.iter().map(|(_, c)| c).sum::<u64>(), 7);
        assert!(b.windows(2).all(|w| w[0].0 < w[1].0));
        // Every value still lies in its reduced bucket.
        for v in [0.001, 0.01, 0.1, 1.0, 10.0, 100.0] {
            assert!(
                b.iter()
                    .any(|&(k, _)| upper(k - 1, r.schema) < v && v <= upper(k, r.schema)),
                "{v} in {b:?} at schema {}",
                r.schema
            );
        }
        let wide = NativeBuckets::new(NativeLayout::default());
        wide.observe(0.001);
        wide.observe(0.0011);
        let r = wide.read(&mut raw, &mut b);
        assert_eq!(r.schema, FINE_SCHEMA);
        assert_eq!(b.len(), 2, "{b:?}");
    }

    /// Exactly as many populated buckets as the limit fit: the schema stays at its finest;
    /// one more and it drops.
    #[test]
    fn the_limit_is_inclusive() {
        let layout = NativeLayout::new(4).unwrap();
        assert_eq!(layout.max_buckets(), 4);
        assert_eq!(NativeLayout::new(160).unwrap().max_buckets(), 160);
        let n = NativeBuckets::new(layout);
        for v in [0.001, 0.01, 0.1, 1.0] {
            n.observe(v);
        }
        let (mut raw, mut b) = (Vec::new(), Vec::new());
        assert_eq!(n.read(&mut raw, &mut b).schema, FINE_SCHEMA, "{b:?}");
        assert_eq!(b.len(), 4);
        n.observe(10.0);
        assert!(n.read(&mut raw, &mut b).schema < FINE_SCHEMA, "{b:?}");
        assert!(b.len() <= 4, "{b:?}");
    }

    /// The schema chosen is the finest at which the populated buckets fit the limit, with
    /// buckets paired as Prometheus pairs them, checked against keys computed from the
    /// values with `log2` (bucket k of schema s holds (2^((k-1)/2^s), 2^(k/2^s)]). 1 and
    /// 1.05, 2 and 2.1 lie on either side of a power of two: they never share a bucket.
    #[test]
    fn the_schema_is_the_finest_whose_buckets_fit() {
        let values: [f64; 5] = [1.0, 1.05, 2.0, 2.1, 4.0];
        let keys = |schema: i32| {
            let mut k: Vec<i32> = values
                .iter()
                .map(|&v| (v.log2() * 2f64.powi(schema)).ceil() as i32)
                .collect();
            k.dedup();
            k
        };
        let want = (MIN_SCHEMA..=FINE_SCHEMA)
            .rev()
            .find(|&s| keys(s).len() <= 4)
            .unwrap();
        assert_eq!((want, keys(want + 1).len()), (0, 5));
        let n = NativeBuckets::new(NativeLayout::new(4).unwrap());
        for v in values {
            n.observe(v);
        }
        let (mut raw, mut b) = (Vec::new(), Vec::new());
        let r = n.read(&mut raw, &mut b);
        assert_eq!(r.schema, want, "{b:?}");
        assert_eq!(b.iter().map(|&(k, _)| k).collect::<Vec<_>>(), keys(want));
        assert_eq!(b.iter().map(|&(_, c)| c).collect::<Vec<_>>(), [1, 2, 2]);
    }

    #[test]
    fn reduction_is_ceil_division() {
        assert_eq!(reduce(-1, 1), 0);
        assert_eq!(reduce(1, 1), 1);
        assert_eq!(reduce(2, 1), 1);
        assert_eq!(reduce(3, 1), 2);
        assert_eq!(reduce(-159, 1), -79);
        assert_eq!(reduce(-159, 7), -1);
        assert_eq!(reduce(64, 7), 1);
    }
}
