//! [`MetricType`]: the metric types of Prometheus and OpenMetrics and the samples each writes.

use crate::suffix;

/// The metric types of Prometheus and OpenMetrics: the one type vocabulary of redmetrics.
///
/// redmetrics exposes the first four ([`is_exposable`](Self::is_exposable)); the others are
/// read by parsers of other services' expositions.
///
/// ```
/// use redmetrics_core::MetricType;
///
/// assert_eq!(MetricType::Histogram.as_str(), "histogram");
/// assert_eq!(MetricType::Histogram.sample_suffixes(), ["_bucket", "_count", "_sum", "_created"]);
/// assert!(!MetricType::Info.is_exposable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum MetricType {
    /// A monotonically increasing count; its name ends in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative buckets plus `_sum` and `_count`; aggregates across instances.
    Histogram,
    /// Streaming quantiles over a sliding window plus `_sum` and `_count`; per instance only.
    Summary,
    /// No declared type: OpenMetrics `unknown`, text 0.0.4 `untyped` or no `# TYPE` line.
    Unknown,
    /// OpenMetrics `gaugehistogram`: buckets of a current distribution, `_gcount`/`_gsum`.
    GaugeHistogram,
    /// OpenMetrics `info`: one `_info` sample of value 1 carrying labels.
    Info,
    /// OpenMetrics `stateset`: one sample per state, labelled by the family name.
    StateSet,
}

impl MetricType {
    /// The word on OpenMetrics `# TYPE` lines (text 0.0.4 uses the same for the first four).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::Summary => "summary",
            Self::Unknown => "unknown",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Info => "info",
            Self::StateSet => "stateset",
        }
    }

    /// Whether redmetrics can expose a family of this type (counter, gauge, histogram,
    /// summary); the others can only be parsed.
    pub fn is_exposable(self) -> bool {
        matches!(
            self,
            Self::Counter | Self::Gauge | Self::Histogram | Self::Summary
        )
    }

    /// Whether a series of this type has a start: counters, histograms and summaries, the
    /// types OpenMetrics gives a `_created` sample.
    pub fn has_created(self) -> bool {
        self.sample_suffixes().contains(&suffix::CREATED)
    }

    /// The suffixes this type's sample names add to the OpenMetrics family name (`""` for
    /// the bare name), per the OpenMetrics 1.0 specification. In text 0.0.4 a counter's
    /// family name already ends in `_total`.
    pub fn sample_suffixes(self) -> &'static [&'static str] {
        use suffix::{BUCKET, COUNT, CREATED, GCOUNT, GSUM, INFO, SUM, TOTAL};
        match self {
            Self::Counter => &[TOTAL, CREATED],
            Self::Histogram => &[BUCKET, COUNT, SUM, CREATED],
            Self::GaugeHistogram => &[BUCKET, GCOUNT, GSUM],
            Self::Summary => &["", COUNT, SUM, CREATED],
            Self::Info => &[INFO],
            Self::Gauge | Self::StateSet | Self::Unknown => &[""],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MetricType::{self, *};

    /// Each type's `# TYPE` word, whether redmetrics exposes it, whether it has a start and
    /// its sample suffixes, as OpenMetrics 1.0 lists them, stated by hand.
    #[test]
    fn every_type_as_the_specification_lists_it() {
        type Row = (
            MetricType,
            &'static str,
            bool,
            bool,
            &'static [&'static str],
        );
        let rows: [Row; 8] = [
            (Counter, "counter", true, true, &["_total", "_created"]),
            (Gauge, "gauge", true, false, &[""]),
            (
                Histogram,
                "histogram",
                true,
                true,
                &["_bucket", "_count", "_sum", "_created"],
            ),
            (
                Summary,
                "summary",
                true,
                true,
                &["", "_count", "_sum", "_created"],
            ),
            (Unknown, "unknown", false, false, &[""]),
            (
                GaugeHistogram,
                "gaugehistogram",
                false,
                false,
                &["_bucket", "_gcount", "_gsum"],
            ),
            (Info, "info", false, false, &["_info"]),
            (StateSet, "stateset", false, false, &[""]),
        ];
        for (kind, word, exposable, created, suffixes) in rows {
            assert_eq!(kind.as_str(), word);
            assert_eq!(kind.is_exposable(), exposable, "{word}");
            assert_eq!(kind.has_created(), created, "{word}");
            assert_eq!(kind.sample_suffixes(), suffixes, "{word}");
        }
    }
}
