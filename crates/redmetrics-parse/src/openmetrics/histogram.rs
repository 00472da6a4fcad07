//! The shape of each histogram (and gauge histogram) MetricPoint, checked when it ends:
//! buckets in increasing `le` order with non-decreasing cumulative counts, ending with `+Inf`;
//! `_count` equal to the `+Inf` bucket; `_sum` and `_count` (`_gsum` and `_gcount`) together;
//! no `_sum` when a bucket bound is negative, no negative `_gsum` when none is.

use redmetrics_core::MetricType;

use super::grouping::{MetricKey, show};
use crate::suffix::{Part, suffix};

/// One MetricPoint being read: a Metric at one timestamp.
pub(super) struct Point {
    key: MetricKey,
    timestamp: Option<f64>,
    /// The line of its last sample, for errors found when it ends.
    line: usize,
    /// `le` and count of the last bucket.
    last_bucket: Option<(f64, f64)>,
    negative_bound: bool,
    count: Option<f64>,
    sum: Option<f64>,
}

/// What a sample tells about its point.
pub(super) enum Reading {
    Bucket { le: f64, count: f64 },
    Count(f64),
    Sum(f64),
    Other,
}

/// The point being read in one histogram family, and its kind's sample names.
pub(super) struct Points {
    gauge: bool,
    open: Option<Point>,
}

impl Points {
    /// The points of a histogram (`gauge`: a gauge histogram, `_gcount` and `_gsum`).
    pub(super) fn new(gauge: bool) -> Self {
        Self { gauge, open: None }
    }

    /// Takes the next sample; returns the line and error of a point it ends, if that one is
    /// malformed, or the error in this sample.
    pub(super) fn push(
        &mut self,
        key: &MetricKey,
        timestamp: Option<f64>,
        line: usize,
        part: Reading,
    ) -> Result<(), (usize, String)> {
        let same = self
            .open
            .as_ref()
            .is_some_and(|p| p.key == *key && p.timestamp == timestamp);
        if !same {
            self.finish()?;
        }
        let p = self.open.get_or_insert_with(|| Point {
            key: key.clone(),
            timestamp,
            line,
            last_bucket: None,
            negative_bound: false,
            count: None,
            sum: None,
        });
        p.line = line;
        match part {
            Reading::Bucket { le, count } => {
                if let Some((before, cumulative)) = p.last_bucket {
                    if le <= before {
                        return Err((
                            line,
                            format!(
                                "bucket le=\"{le}\" after le=\"{before}\" in {}: buckets go in increasing `le` order",
                                show(key)
                            ),
                        ));
                    }
                    if count < cumulative {
                        return Err((
                            line,
                            format!(
                                "bucket le=\"{le}\" counts {count}, less than the {cumulative} of the bucket before it in {}: buckets are cumulative",
                                show(key)
                            ),
                        ));
                    }
                }
                p.negative_bound |= le < 0.0;
                p.last_bucket = Some((le, count));
            }
            Reading::Count(c) => p.count = Some(c),
            Reading::Sum(s) => p.sum = Some(s),
            Reading::Other => {}
        }
        Ok(())
    }

    /// Checks the open point, if any, and closes it.
    pub(super) fn finish(&mut self) -> Result<(), (usize, String)> {
        let Some(p) = self.open.take() else {
            return Ok(());
        };
        let (count, sum) = if self.gauge {
            let kind = MetricType::GaugeHistogram;
            (suffix(kind, Part::GaugeCount), suffix(kind, Part::GaugeSum))
        } else {
            let kind = MetricType::Histogram;
            (suffix(kind, Part::Count), suffix(kind, Part::Sum))
        };
        let at = |m: String| Err((p.line, format!("histogram {}: {m}", show(&p.key))));
        let inf = match p.last_bucket {
            Some((le, n)) if le == f64::INFINITY => n,
            _ => return at("no `le=\"+Inf\"` bucket: every histogram ends with one".into()),
        };
        if p.count.is_some_and(|c| c != inf) {
            return at(format!(
                "`{count}` is {}, the `+Inf` bucket {inf}: they must be equal",
                p.count.unwrap_or_default()
            ));
        }
        if p.count.is_some() != p.sum.is_some() {
            return at(format!("`{count}` and `{sum}` come together or not at all"));
        }
        if !self.gauge && p.negative_bound && p.sum.is_some() {
            return at(format!(
                "`{sum}` with a negative bucket bound: the sum of negative observations does not count up"
            ));
        }
        if self.gauge && !p.negative_bound && p.sum.is_some_and(|s| s < 0.0) {
            return at(format!("negative `{sum}` without a negative bucket bound"));
        }
        Ok(())
    }
}
