//! MetricPoints: the samples of one Metric (a family's samples with the same labels, not
//! counting `le`, `quantile` or a state set's state) are contiguous, and within it the
//! timestamps are all present or all absent and never go backwards.

use std::collections::HashSet;

use redmetrics_core::MetricType;

use crate::lex::Labels;
use crate::suffix::Part;

/// A Metric's identity within its family: its labels, sorted, without the per-sample ones.
pub(super) type MetricKey = Labels;

/// The key of a sample with `labels`, playing `part` in family `family` of type `kind`.
pub(super) fn key(kind: MetricType, family: &str, part: Part, labels: &Labels) -> MetricKey {
    let per_sample = match (kind, part) {
        (_, Part::Bucket) => Some("le"),
        (MetricType::Summary, Part::Value) => Some("quantile"),
        (MetricType::StateSet, _) => Some(family),
        _ => None,
    };
    let mut key: MetricKey = labels
        .iter()
        .filter(|(n, _)| Some(n.as_str()) != per_sample)
        .cloned()
        .collect();
    key.sort_unstable();
    key
}

/// The Metrics of one family seen so far.
#[derive(Default)]
pub(super) struct Grouping {
    seen: HashSet<MetricKey>,
    current: Option<MetricKey>,
    timestamp: Option<f64>,
}

impl Grouping {
    /// Takes the next sample's Metric and timestamp (seconds).
    pub(super) fn push(&mut self, key: &MetricKey, timestamp: Option<f64>) -> Result<(), String> {
        if self.current.as_ref() != Some(key) {
            if !self.seen.insert(key.clone()) {
                return Err(format!(
                    "the samples of {} are split: each Metric's samples must be contiguous",
                    show(key)
                ));
            }
            self.current = Some(key.clone());
            self.timestamp = timestamp;
            return Ok(());
        }
        match (self.timestamp, timestamp) {
            (None, None) => Ok(()),
            (Some(before), Some(now)) if now >= before => {
                self.timestamp = Some(now);
                Ok(())
            }
            (Some(before), Some(now)) => Err(format!(
                "timestamp {now} after {before} within {}: timestamps must not go backwards",
                show(key)
            )),
            _ => Err(format!(
                "some samples of {} have a timestamp and some do not",
                show(key)
            )),
        }
    }
}

/// `{a="1",b="2"}` for messages.
pub(super) fn show(key: &MetricKey) -> String {
    let pairs: Vec<String> = key.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", pairs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(n, v)| ((*n).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn keys_ignore_per_sample_labels_and_order() {
        let a = key(
            MetricType::Histogram,
            "h",
            Part::Bucket,
            &labels(&[("le", "1"), ("b", "2"), ("a", "1")]),
        );
        let b = key(
            MetricType::Histogram,
            "h",
            Part::Sum,
            &labels(&[("a", "1"), ("b", "2")]),
        );
        assert_eq!(a, b);
        let s = key(
            MetricType::StateSet,
            "s",
            Part::Value,
            &labels(&[("s", "on"), ("x", "1")]),
        );
        assert_eq!(s, labels(&[("x", "1")]));
    }

    #[test]
    fn metrics_are_contiguous_and_timestamps_ordered() {
        let (a, b) = (labels(&[("a", "1")]), labels(&[("a", "2")]));
        let mut g = Grouping::default();
        g.push(&a, Some(1.0)).unwrap();
        g.push(&a, Some(1.0)).unwrap();
        g.push(&b, None).unwrap();
        assert!(g.push(&a, Some(2.0)).unwrap_err().contains("split"));
        let mut g = Grouping::default();
        g.push(&a, Some(2.0)).unwrap();
        assert!(g.push(&a, Some(1.0)).unwrap_err().contains("backwards"));
        let mut g = Grouping::default();
        g.push(&a, None).unwrap();
        assert!(g.push(&a, Some(1.0)).is_err());
    }
}
