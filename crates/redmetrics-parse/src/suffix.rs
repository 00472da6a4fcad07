//! What each sample of a family is, told by the suffix its name adds to the family name. The
//! suffixes themselves come from the one table in `redmetrics-core`, [`MetricType::sample_suffixes`]; this
//! module only names the part each plays, in the same order, so the parsers' rules speak of
//! parts (a bucket, a count) and never spell a suffix.

use redmetrics_core::MetricType;

/// The part a sample plays in its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The bare family name: a gauge's, state set's or unknown value, a summary quantile.
    Value,
    /// A counter's running total.
    Total,
    /// When the series was created.
    Created,
    /// A cumulative histogram bucket.
    Bucket,
    /// A histogram's or summary's count of observations.
    Count,
    /// A histogram's or summary's sum of observations.
    Sum,
    /// A gauge histogram's current count.
    GaugeCount,
    /// A gauge histogram's current sum.
    GaugeSum,
    /// An info family's sample.
    Info,
}

/// The parts of a family of `kind`, in the order of [`MetricType::sample_suffixes`].
fn parts(kind: MetricType) -> &'static [Part] {
    use Part::{Bucket, Count, Created, GaugeCount, GaugeSum, Info, Sum, Total, Value};
    match kind {
        MetricType::Counter => &[Total, Created],
        MetricType::Histogram => &[Bucket, Count, Sum, Created],
        MetricType::GaugeHistogram => &[Bucket, GaugeCount, GaugeSum],
        MetricType::Summary => &[Value, Count, Sum, Created],
        MetricType::Info => &[Info],
        MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[Value],
    }
}

fn table(kind: MetricType) -> impl Iterator<Item = (&'static str, Part)> {
    kind.sample_suffixes()
        .iter()
        .copied()
        .zip(parts(kind).iter().copied())
}

/// The part sample `sample` plays in family `family` of type `kind`, if it is one of its.
pub(crate) fn part_of(kind: MetricType, family: &str, sample: &str) -> Option<Part> {
    let suffix = sample.strip_prefix(family)?;
    table(kind).find(|(s, _)| *s == suffix).map(|(_, p)| p)
}

/// The suffix a sample playing `part` adds in a family of `kind` (`""` if it has none).
pub(crate) fn suffix(kind: MetricType, part: Part) -> &'static str {
    table(kind).find(|(_, p)| *p == part).map_or("", |(s, _)| s)
}

/// The family name of `sample` if it plays `part` in a family of `kind`.
pub(crate) fn family_of(kind: MetricType, part: Part, sample: &str) -> Option<&str> {
    table(kind)
        .find(|(_, p)| *p == part)
        .and_then(|(s, _)| sample.strip_suffix(s))
        .filter(|base| !base.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenMetrics 1.0 specification's sample names, written here by hand: redmetrics'
    /// table and the parts named here must agree with them, entry for entry.
    #[test]
    fn parts_follow_the_specification() {
        use Part::*;
        let spec: [(MetricType, &[(&str, Part)]); 8] = [
            (
                MetricType::Counter,
                &[("_total", Total), ("_created", Created)],
            ),
            (
                MetricType::Histogram,
                &[
                    ("_bucket", Bucket),
                    ("_count", Count),
                    ("_sum", Sum),
                    ("_created", Created),
                ],
            ),
            (
                MetricType::GaugeHistogram,
                &[
                    ("_bucket", Bucket),
                    ("_gcount", GaugeCount),
                    ("_gsum", GaugeSum),
                ],
            ),
            (
                MetricType::Summary,
                &[
                    ("", Value),
                    ("_count", Count),
                    ("_sum", Sum),
                    ("_created", Created),
                ],
            ),
            (MetricType::Info, &[("_info", Info)]),
            (MetricType::Gauge, &[("", Value)]),
            (MetricType::StateSet, &[("", Value)]),
            (MetricType::Unknown, &[("", Value)]),
        ];
        for (kind, expected) in spec {
            assert_eq!(kind.sample_suffixes().len(), parts(kind).len(), "{kind:?}");
            assert_eq!(
                table(kind).collect::<Vec<_>>(),
                expected.to_vec(),
                "{kind:?}"
            );
        }
        assert_eq!(
            part_of(MetricType::Histogram, "h", "h_bucket"),
            Some(Bucket)
        );
        assert_eq!(part_of(MetricType::Histogram, "h", "h"), None);
        assert_eq!(suffix(MetricType::GaugeHistogram, GaugeSum), "_gsum");
        assert_eq!(family_of(MetricType::Summary, Count, "s_count"), Some("s"));
        assert_eq!(family_of(MetricType::Summary, Count, "_count"), None);
    }
}
