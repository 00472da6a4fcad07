//! Quantiles from cumulative bucket counts, the way Prometheus' `histogram_quantile` does it
//! (`promql/quantile.go`, `bucketQuantile`, Prometheus 2.42): find the bucket holding the
//! rank `q × count`, interpolate linearly inside it (the first bucket starts at 0), and answer
//! the highest finite bound when the rank lands in `+Inf`.

/// The `q`-quantile of cumulative counts `cumulative` (one per finite bound in `bounds`, then
/// `+Inf`); `None` when there is no observation.
pub(crate) fn histogram_quantile(q: f64, bounds: &[f64], cumulative: &[u64]) -> Option<f64> {
    let total = *cumulative.last()?;
    if total == 0 || cumulative.len() != bounds.len() + 1 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total as f64;
    let b = cumulative.partition_point(|&c| (c as f64) < rank);
    if b >= bounds.len() {
        // The rank is in +Inf: Prometheus answers the highest finite bound.
        return bounds.last().copied();
    }
    let (start, below) = if b == 0 {
        if bounds[0] <= 0.0 {
            return Some(bounds[0]);
        }
        (0.0, 0u64)
    } else {
        (bounds[b - 1], cumulative[b - 1])
    };
    let end = bounds[b];
    let in_bucket = (cumulative[b] - below) as f64;
    Some(start + (end - start) * ((rank - below as f64) / in_bucket))
}

#[cfg(test)]
mod tests {
    use super::histogram_quantile;

    const BOUNDS: [f64; 3] = [0.1, 0.5, 1.0];

    #[test]
    fn interpolates_inside_the_bucket_like_prometheus() {
        // 10 observations: 4 ≤ 0.1, 4 in (0.1, 0.5], 2 in (0.5, 1].
        let c = [4, 8, 10, 10];
        // rank 5 is the first of 4 in (0.1, 0.5]: 0.1 + 0.4 × 1/4.
        assert_eq!(histogram_quantile(0.5, &BOUNDS, &c), Some(0.2));
        // rank 2 in the first bucket, which starts at 0.
        assert_eq!(histogram_quantile(0.2, &BOUNDS, &c), Some(0.05));
        // rank 9.5: (0.5, 1] holds ranks 8..10: 0.5 + 0.5 × 1.5/2.
        assert_eq!(histogram_quantile(0.95, &BOUNDS, &c), Some(0.875));
    }

    #[test]
    fn inf_bucket_answers_the_highest_bound_and_empty_answers_nothing() {
        assert_eq!(histogram_quantile(0.99, &BOUNDS, &[0, 0, 1, 10]), Some(1.0));
        assert_eq!(histogram_quantile(0.5, &BOUNDS, &[0, 0, 0, 0]), None);
        assert_eq!(histogram_quantile(0.5, &BOUNDS, &[1, 1]), None);
    }
}
