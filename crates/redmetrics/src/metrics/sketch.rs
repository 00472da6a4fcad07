//! A lock-free quantile sketch over a sliding window of time slices.
//!
//! Values fall into log-linear buckets: each power of two is split into 32 equal sub-buckets,
//! found from the `f64` bits with shifts and masks (no logarithm). Each bucket keeps one `u32`
//! count per time slice; the window is the current slice plus the four before it, so with the
//! default 10-minute window a quantile covers the last 8 to 10 minutes, like client_golang's
//! `MaxAge` with 5 `AgeBuckets`. Estimates interpolate inside the bucket holding the target
//! rank and are clamped to the window's exact minimum and maximum, so the relative error is
//! below 1/32 and constant data is reported exactly.
//!
//! Written by hand: client_golang's CKMS streams need a mutex per observation, and no crate
//! offers a windowed sketch whose recording side is a few relaxed atomics. Memory for an
//! octave is allocated on its first observation; zeros (e.g. empty GET bodies) cost none.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use once_cell::race::OnceBox;

const SUB_BITS: u32 = 5;
const SUBS: usize = 1 << SUB_BITS;
/// Values below 2^MIN_EXP (about 6e-8) count as zero.
const MIN_EXP: i32 = -24;
/// Exponents MIN_EXP..MIN_EXP+OCTAVES (up to about 1.1e12); larger values clamp to the top.
const OCTAVES: usize = 64;
/// Time slices in a window, as client_golang's default `AgeBuckets`.
pub(crate) const SLICES: usize = 5;

type Chunk = [AtomicU32; SUBS * SLICES];

/// Which time slice a moment falls in; moments are nanoseconds on
/// [`monotonic`](crate::monotonic)'s clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: u64,
    slice_nanos: u64,
    /// `elapsed / slice_nanos` as a multiply and a shift (Granlund and Montgomery): exact
    /// for every `elapsed` up to `fast_limit` (2^63 - 1, 292 years; 0 for a 1 ns slice),
    /// beyond which the division is done as written. No 64-bit `div` on the request path.
    magic: u64,
    shift: u32,
    fast_limit: u64,
}

impl Clock {
    pub(crate) fn new(start: u64, window: Duration) -> Self {
        let nanos = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        let slice_nanos = (nanos / SLICES as u64).max(1);
        // With l = ceil(log2 d) and m = ceil(2^(63 + l) / d): 2^(63+l) <= m d < 2^(63+l) + 2^l,
        // so floor(n m / 2^(63+l)) = floor(n / d) for all n < 2^63, and m < 2^64.
        let l = u64::BITS - (slice_nanos - 1).leading_zeros();
        let (magic, shift, fast_limit) = if l == 0 {
            (0, 0, 0)
        } else {
            let m = (1u128 << (63 + l)).div_ceil(u128::from(slice_nanos));
            (m as u64, l - 1, (1 << 63) - 1)
        };
        Self {
            start,
            slice_nanos,
            magic,
            shift,
            fast_limit,
        }
    }

    #[inline]
    fn epoch(&self, now: u64) -> u64 {
        let elapsed = now.saturating_sub(self.start);
        if elapsed > self.fast_limit {
            return elapsed / self.slice_nanos;
        }
        // The high word of the product is the product over 2^64; 63 + l = 64 + shift.
        (((u128::from(elapsed) * u128::from(self.magic)) >> 64) as u64) >> self.shift
    }
}

/// Per-bucket, per-slice counts plus exact per-slice extremes.
#[derive(Debug, Default)]
pub(crate) struct Sketch {
    /// `epoch + 1` that each slice holds; 0 for a slice never used. `u64`, as the epoch is:
    /// no clamp on the request path (an epoch is a second at the least, so `epoch + 1`
    /// cannot overflow).
    tags: [AtomicU64; SLICES],
    zero: [AtomicU32; SLICES],
    /// Allocated on the first non-zero observation, so an all-zero summary (the request
    /// sizes of GET routes) costs two small arrays and nothing more.
    values: OnceBox<Values>,
}

/// Octaves per directory group: a route's values usually fall in one or two groups.
const GROUP: usize = 8;

type Group = [OnceBox<Chunk>; GROUP];

/// Extremes and counts of the non-zero observations.
#[derive(Debug)]
struct Values {
    /// Bits of positive `f64`s, which order like the values; `u64::MAX` for none.
    min: [AtomicU64; SLICES],
    max: [AtomicU64; SLICES],
    /// A two-level directory: groups of octaves, then octaves, allocated as values arrive.
    groups: [OnceBox<Group>; OCTAVES / GROUP],
}

impl Values {
    fn new() -> Box<Self> {
        Box::new(Self {
            min: std::array::from_fn(|_| AtomicU64::new(u64::MAX)),
            max: Default::default(),
            groups: std::array::from_fn(|_| OnceBox::new()),
        })
    }

    #[inline]
    fn chunk(&self, octave: usize) -> &Chunk {
        self.groups[octave / GROUP]
            .get_or_init(|| Box::new(std::array::from_fn(|_| OnceBox::new())))[octave % GROUP]
            .get_or_init(new_chunk)
    }

    /// Allocated chunks with their octave index, ascending.
    fn chunks(&self) -> impl Iterator<Item = (usize, &Chunk)> {
        self.groups.iter().enumerate().flat_map(|(g, group)| {
            group.get().into_iter().flat_map(move |group| {
                group
                    .iter()
                    .enumerate()
                    .filter_map(move |(i, c)| c.get().map(|c| (g * GROUP + i, c)))
            })
        })
    }
}

/// Bucket index of a positive value at or above 2^MIN_EXP.
#[inline]
fn bucket(bits: u64) -> Option<usize> {
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1023;
    if exp < MIN_EXP {
        return None;
    }
    let octave = (exp - MIN_EXP) as usize;
    if octave >= OCTAVES {
        return Some(OCTAVES * SUBS - 1);
    }
    let sub = ((bits >> (52 - SUB_BITS)) as usize) & (SUBS - 1);
    Some(octave * SUBS + sub)
}

/// Lower and upper value of a bucket.
fn bounds(bucket: usize) -> (f64, f64) {
    let octave = (bucket / SUBS) as i32;
    let sub = (bucket % SUBS) as f64;
    let base = 2f64.powi(MIN_EXP + octave);
    let step = base / SUBS as f64;
    (base + step * sub, base + step * (sub + 1.0))
}

impl Sketch {
    /// Records `v` (NaN is ignored, negatives count as zero) in the slice of `now`.
    #[inline]
    pub(crate) fn observe(&self, clock: &Clock, v: f64, now: u64) {
        if v.is_nan() {
            return;
        }
        let v = if v > 0.0 { v } else { 0.0 };
        let slot = self.slot(clock, now);
        self.record(v.to_bits(), slot);
    }

    /// [`observe`](Self::observe) of a whole number (a byte count, on the request path):
    /// nothing to screen, and zero goes straight to its count.
    #[inline(always)]
    pub(crate) fn observe_u64(&self, clock: &Clock, v: u64, now: u64) {
        let slot = self.slot(clock, now);
        if v == 0 {
            self.zero[slot].fetch_add(1, Ordering::Relaxed);
        } else {
            self.record((v as f64).to_bits(), slot);
        }
    }

    /// Counts the non-negative value whose bits are `bits` in `slot`.
    #[inline]
    fn record(&self, bits: u64, slot: usize) {
        let Some(b) = bucket(bits) else {
            // Zero (or below 2^MIN_EXP): the window's minimum then reads 0.
            self.zero[slot].fetch_add(1, Ordering::Relaxed);
            return;
        };
        let values = self.values.get_or_init(Values::new);
        values.chunk(b / SUBS)[(b % SUBS) * SLICES + slot].fetch_add(1, Ordering::Relaxed);
        if bits < values.min[slot].load(Ordering::Relaxed) {
            values.min[slot].fetch_min(bits, Ordering::Relaxed);
        }
        if bits > values.max[slot].load(Ordering::Relaxed) {
            values.max[slot].fetch_max(bits, Ordering::Relaxed);
        }
    }

    /// The slice for `now`, cleared first if it still holds an older epoch. An observation
    /// racing that clear may be lost from the window (never from `_sum`/`_count`).
    #[inline]
    fn slot(&self, clock: &Clock, now: u64) -> usize {
        let epoch = clock.epoch(now);
        let slot = (epoch % SLICES as u64) as usize;
        let tag = epoch + 1;
        let held = self.tags[slot].load(Ordering::Acquire);
        if held < tag
            && self.tags[slot]
                .compare_exchange(held, tag, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.clear(slot);
        }
        slot
    }

    #[cold]
    fn clear(&self, slot: usize) {
        self.zero[slot].store(0, Ordering::Relaxed);
        let Some(values) = self.values.get() else {
            return;
        };
        values.min[slot].store(u64::MAX, Ordering::Relaxed);
        values.max[slot].store(0, Ordering::Relaxed);
        for (_, chunk) in values.chunks() {
            for sub in 0..SUBS {
                chunk[sub * SLICES + slot].store(0, Ordering::Relaxed);
            }
        }
    }

    /// Writes one estimate per quantile in `phis` (ascending) into `out`; NaN for an empty
    /// window. `scratch` is reused between calls to keep scrapes from allocating.
    pub(crate) fn quantiles(
        &self,
        clock: &Clock,
        now: u64,
        phis: &[f64],
        out: &mut Vec<f64>,
        scratch: &mut Vec<(usize, u64)>,
    ) {
        out.clear();
        let epoch = clock.epoch(now);
        let live: [bool; SLICES] = std::array::from_fn(|s| {
            let tag = self.tags[s].load(Ordering::Acquire);
            tag > 0 && tag - 1 <= epoch && tag - 1 + SLICES as u64 > epoch
        });
        let slices = || (0..SLICES).filter(|&s| live[s]);
        let zero: u64 = slices()
            .map(|s| u64::from(self.zero[s].load(Ordering::Relaxed)))
            .sum();
        scratch.clear();
        let mut total = zero;
        let values = self.values.get();
        for (octave, chunk) in values.into_iter().flat_map(Values::chunks) {
            for sub in 0..SUBS {
                let n: u64 = slices()
                    .map(|s| u64::from(chunk[sub * SLICES + s].load(Ordering::Relaxed)))
                    .sum();
                if n != 0 {
                    scratch.push((octave * SUBS + sub, n));
                    total += n;
                }
            }
        }
        if total == 0 {
            out.extend(phis.iter().map(|_| f64::NAN));
            return;
        }
        // Zeros pull the minimum to 0; otherwise the extremes are exact.
        let (mut min, mut max) = (f64::INFINITY, 0.0f64);
        if let Some(v) = values {
            for s in slices() {
                let lo = v.min[s].load(Ordering::Relaxed);
                if lo != u64::MAX {
                    min = min.min(f64::from_bits(lo));
                    max = max.max(f64::from_bits(v.max[s].load(Ordering::Relaxed)));
                }
            }
        }
        if zero > 0 || min > max {
            min = 0.0;
        }
        let zero_bucket = (0usize, zero);
        for &phi in phis {
            let rank = phi * total as f64;
            let mut cum = 0u64;
            let mut estimate = max;
            let buckets = std::iter::once((None, zero_bucket.1))
                .chain(scratch.iter().map(|&(b, n)| (Some(b), n)));
            for (b, n) in buckets {
                if n > 0 && (cum + n) as f64 >= rank {
                    let (lo, hi) = b.map_or((0.0, 2f64.powi(MIN_EXP)), bounds);
                    let frac = ((rank - cum as f64) / n as f64).clamp(0.0, 1.0);
                    estimate = lo + (hi - lo) * frac;
                    break;
                }
                cum += n;
            }
            out.push(estimate.clamp(min, max));
        }
    }
}

fn new_chunk() -> Box<Chunk> {
    Box::new(std::array::from_fn(|_| AtomicU32::new(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn clock() -> (Clock, u64) {
        let start = crate::monotonic::now();
        (Clock::new(start, Duration::from_secs(600)), start)
    }

    fn estimate(sketch: &Sketch, clock: &Clock, now: u64, phi: f64) -> f64 {
        let mut out = Vec::new();
        sketch.quantiles(clock, now, &[phi], &mut out, &mut Vec::new());
        out[0]
    }

    #[test]
    fn bucket_bounds_contain_their_values() {
        for v in [6e-8, 0.001, 0.3, 1.0, 1.03, 7.5, 1000.0, 123_456.7, 1e11] {
            let b = bucket(f64::to_bits(v)).unwrap();
            let (lo, hi) = bounds(b);
            assert!(lo <= v && v < hi, "{v} not in [{lo}, {hi})");
            assert!((hi - lo) / lo <= 1.0 / 32.0 + 1e-12);
        }
        assert_eq!(bucket(0f64.to_bits()), None);
    }

    /// The multiply-and-shift epoch against the plain division, for slice lengths from
    /// 1 ns to the longest, at the edges of every slice and over a sweep of moments.
    #[test]
    fn epochs_by_multiplication_are_the_divided_ones() {
        let mut slices: Vec<u64> = vec![1, 2, 3, 5, 7, 1_000_000_000, 120_000_000_000];
        slices.extend((0..64).flat_map(|b| {
            let p = 1u64 << b;
            [p - 1, p, p + 1, p.wrapping_mul(3) / 2]
        }));
        slices.extend((1..2000u64).map(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (k % 64)));
        slices.push(u64::MAX / SLICES as u64);
        for slice in slices.into_iter().filter(|&d| d > 0) {
            let window = Duration::from_nanos(slice.saturating_mul(SLICES as u64));
            let clock = Clock::new(0, window);
            let d = clock.slice_nanos;
            let mut moments = vec![0, 1, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1];
            for k in [1u64, 2, 3, 5, 1000, 1 << 20, 1 << 40] {
                let edge = k.saturating_mul(d);
                moments.extend([edge.saturating_sub(1), edge, edge.saturating_add(1)]);
            }
            moments.extend((0..200u64).map(|k| k.wrapping_mul(0xD1B5_4A32_D192_ED03)));
            moments.extend(
                ((1u64 << 63) / d)
                    .checked_mul(d)
                    .and_then(|e| e.checked_sub(1)),
            );
            for n in moments {
                assert_eq!(clock.epoch(n), n / d, "{n} / {d}");
            }
        }
        // Moments before the start are in epoch 0.
        let clock = Clock::new(1_000, Duration::from_secs(600));
        assert_eq!(clock.epoch(0), 0);
        assert_eq!(clock.epoch(1_000 + 120 * SECOND), 1);
    }

    #[test]
    fn constant_data_is_exact() {
        let (c, t) = clock();
        let s = Sketch::default();
        for _ in 0..1000 {
            s.observe(&c, 1234.0, t);
        }
        for phi in [0.5, 0.9, 0.99] {
            assert_eq!(estimate(&s, &c, t, phi), 1234.0);
        }
    }

    #[test]
    fn zeros_need_no_octave_and_report_zero() {
        let (c, t) = clock();
        let s = Sketch::default();
        s.observe(&c, 0.0, t);
        s.observe(&c, -3.0, t);
        assert!(s.values.get().is_none(), "zeros allocate nothing");
        assert_eq!(estimate(&s, &c, t, 0.99), 0.0);
    }

    #[test]
    fn empty_window_is_nan_and_old_slices_age_out() {
        let (c, t) = clock();
        let s = Sketch::default();
        assert!(estimate(&s, &c, t, 0.5).is_nan());
        s.observe(&c, 5.0, t);
        assert_eq!(estimate(&s, &c, t + 479 * SECOND, 0.5), 5.0);
        // Five 2-minute slices: at 10 minutes the first slice has left the window.
        assert!(estimate(&s, &c, t + 600 * SECOND, 0.5).is_nan());
        // A new observation reuses (and clears) slice 0's storage.
        s.observe(&c, 9.0, t + 600 * SECOND);
        assert_eq!(estimate(&s, &c, t + 600 * SECOND, 0.5), 9.0);
    }

    /// A sketch holding `values`, all observed at `now`.
    fn filled(clock: &Clock, now: u64, values: &[f64]) -> Sketch {
        let s = Sketch::default();
        for &v in values {
            s.observe(clock, v, now);
        }
        s
    }

    /// Values past the top octave (from 2^40) share the last bucket, which sorts above
    /// every other: a p99 over nine small values and one huge one lands in it.
    #[test]
    fn values_past_the_top_octave_rank_above_all_others() {
        let (c, t) = clock();
        let mut values = vec![1000.0; 9];
        values.push(1e15);
        let s = filled(&c, t, &values);
        let top = estimate(&s, &c, t, 0.99);
        assert!((2f64.powi(39)..=1e15).contains(&top), "p99 {top}");
        let median = estimate(&s, &c, t, 0.5);
        assert!((median - 1000.0).abs() <= 1000.0 / 32.0, "p50 {median}");
    }

    /// Each 2-minute slice keeps its own values for the whole window, and a slice reused
    /// ten minutes later starts empty: values seen in slices 0, 1 and 2 all count, and once
    /// slice 1 is reused, what it held before is gone.
    #[test]
    fn every_slice_keeps_its_values_until_it_is_reused() {
        let (c, t) = clock();
        let at = |secs| t + secs * SECOND;
        let s = Sketch::default();
        s.observe(&c, 1.0, at(0));
        s.observe(&c, 2.5, at(130));
        s.observe(&c, 3.0, at(250));
        let median = estimate(&s, &c, at(250), 0.5);
        assert!(
            (2.5..=2.5 * (1.0 + 1.0 / 32.0)).contains(&median),
            "p50 {median}"
        );
        // Slice 1 again (epoch 6): 2.5 leaves; slice 0 (epoch 0) has left the window.
        s.observe(&c, 20.0, at(730));
        s.observe(&c, 30.0, at(730));
        let median = estimate(&s, &c, at(730), 0.5);
        assert!(
            (20.0..=20.0 * (1.0 + 1.0 / 32.0)).contains(&median),
            "p50 {median}"
        );
    }

    /// Inside the bucket holding the target rank the estimate interpolates by rank, and it
    /// is clamped to the window's extremes, with zeros pulling the minimum to 0.
    #[test]
    fn estimates_interpolate_by_rank_and_respect_the_extremes() {
        let (c, t) = clock();
        let s = filled(&c, t, &[4.0, 8.0, 8.0, 8.0, 8.0, 16.0]);
        // Rank 3 is the second of four in [8, 8.25): halfway.
        assert_eq!(estimate(&s, &c, t, 0.5), 8.125);

        // The low end reads the exact minimum, not the bottom of its bucket [4, 4.125).
        let s = filled(&c, t, &[4.1, 4.1, 4.1, 8.0]);
        assert_eq!(estimate(&s, &c, t, 0.01), 4.1);

        // With zeros in the window the minimum is 0, whatever else was seen.
        let s = filled(&c, t, &[0.0, 0.0, 0.0, 0.0, 4.0]);
        let low = estimate(&s, &c, t, 0.1);
        assert!(low < 1e-6, "p10 {low}");
    }

    /// The ends of the range: quantile 0 is the window's exact minimum and quantile 1 its
    /// exact maximum, with no zero in the window (its empty zero count is skipped, not
    /// interpolated). Summaries only ask for quantiles strictly inside (0, 1).
    #[test]
    fn quantiles_zero_and_one_are_the_extremes() {
        let (c, t) = clock();
        let s = filled(&c, t, &[4.1, 8.0, 8.0, 16.0]);
        let mut out = Vec::new();
        s.quantiles(&c, t, &[0.0, 1.0], &mut out, &mut Vec::new());
        assert_eq!(out, [4.1, 16.0]);
    }

    /// Whole numbers (byte counts, on the request path) count as their values: zero sizes
    /// go to the zero count without allocating an octave, and a size read back is exact
    /// once clamped to the window's extremes.
    #[test]
    fn whole_numbers_are_observed_as_their_values() {
        let (c, t) = clock();
        let s = Sketch::default();
        for _ in 0..9 {
            s.observe_u64(&c, 0, t);
        }
        assert!(s.values.get().is_none(), "zeros allocate nothing");
        s.observe_u64(&c, 5000, t);
        let median = estimate(&s, &c, t, 0.5);
        assert!(median < 1e-6, "p50 {median}");
        assert_eq!(estimate(&s, &c, t, 0.99), 5000.0);

        let s = Sketch::default();
        for _ in 0..10 {
            s.observe_u64(&c, 1234, t);
        }
        assert_eq!(estimate(&s, &c, t, 0.5), 1234.0);
    }
}
