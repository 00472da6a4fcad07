//! What each sample's value and type labels may be, by family type and the sample's part:
//! totals, sums, counts and buckets are never NaN or negative (a gauge histogram's sum may
//! be negative), counts are whole, `le` and `quantile` are numbers in their range, info
//! samples are 1 and state-set samples 0 or 1 with the family's own label.

use redmetrics_core::MetricType;

use super::sample::Lexed;
use crate::number::parse_number;
use crate::suffix::Part;

/// Checks that a counting sample (total, sum, count, bucket) is neither NaN nor negative: a
/// rule of the specification that Prometheus' parser does not apply (it stores the value).
pub(super) fn counting(kind: MetricType, part: Part, s: &Lexed) -> Result<(), String> {
    use Part::{Bucket, Count, GaugeCount, GaugeSum, Sum, Total};
    let v = s.value;
    if matches!(part, Total | Sum | Count | Bucket | GaugeCount | GaugeSum) {
        if v.is_nan() {
            return Err(format!(
                "{} sample `{}` is NaN: it counts, so it cannot be",
                kind.as_str(),
                s.name
            ));
        }
        if v < 0.0 && part != GaugeSum {
            return Err(format!(
                "{} sample `{}` is negative ({v}): it counts, so it cannot be",
                kind.as_str(),
                s.name
            ));
        }
    }
    Ok(())
}

/// Checks sample `s`, playing `part` in family `family` of type `kind`.
pub(super) fn check(kind: MetricType, family: &str, part: Part, s: &Lexed) -> Result<(), String> {
    use Part::{Bucket, Count, GaugeCount};
    let v = s.value;
    if matches!(part, Bucket | Count | GaugeCount) && v.fract() != 0.0 {
        return Err(format!(
            "`{}` is a count: {v} is not a whole number",
            s.name
        ));
    }
    if part == Bucket {
        bucket_bound(s.label("le"))?;
    }
    match kind {
        MetricType::Summary if part == Part::Value => {
            quantile(s.label("quantile"))?;
            if v < 0.0 {
                return Err(format!("summary quantile value {v} is negative"));
            }
        }
        MetricType::Info if v != 1.0 => {
            return Err(format!(
                "info sample value is {v}: info samples are always 1"
            ));
        }
        MetricType::StateSet => {
            if s.label(family).is_none() {
                return Err(format!(
                    "state-set sample without the label {family:?} that names its state"
                ));
            }
            if v != 0.0 && v != 1.0 {
                return Err(format!("state-set sample value is {v}: states are 0 or 1"));
            }
        }
        _ => {}
    }
    Ok(())
}

/// A bucket's `le`: present, a number, not NaN, and `+Inf` written so.
pub(super) fn bucket_bound(le: Option<&str>) -> Result<f64, String> {
    let Some(le) = le else {
        return Err("bucket without its `le` label".into());
    };
    match parse_number(le.as_bytes()) {
        Some(b) if b == f64::INFINITY && le != "+Inf" => Err(format!(
            "bucket bound `le=\"{le}\"`: the last bucket is written `le=\"+Inf\"`"
        )),
        Some(b) if !b.is_nan() => Ok(b),
        _ => Err(format!("bucket bound `le=\"{le}\"` is not a number")),
    }
}

/// A summary quantile's `quantile` label: present, a number from 0 to 1.
fn quantile(q: Option<&str>) -> Result<(), String> {
    let Some(q) = q else {
        return Err("summary quantile sample without its `quantile` label".into());
    };
    match parse_number(q.as_bytes()) {
        Some(v) if (0.0..=1.0).contains(&v) => Ok(()),
        _ => Err(format!("`quantile=\"{q}\"` is not a number from 0 to 1")),
    }
}
