//! What a parsed exposition holds: families with their metadata and samples. The
//! [crate example](crate) and [`parse_openmetrics`](crate::parse_openmetrics) show them read.

use redmetrics_core::MetricType;

/// One sample line, in [`Family::samples`] (examples: [crate]).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series name as written (`x_bucket`, `x_total`).
    pub name: String,
    /// Label pairs in written order, values unescaped.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
    /// The timestamp as written, if any (milliseconds in text, seconds in OpenMetrics).
    pub timestamp: Option<String>,
    /// The OpenMetrics exemplar after ` # `, if any.
    pub exemplar: Option<Exemplar>,
    /// 1-based line number.
    pub line: usize,
}

impl Sample {
    /// The value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An OpenMetrics exemplar: the labels of one observation (a trace id, say), its value and
/// when it was made. Only counters' `_total` and histogram buckets carry one.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// Label pairs in written order, values unescaped.
    pub labels: Vec<(String, String)>,
    /// The observed value.
    pub value: f64,
    /// The timestamp in seconds as written, if any.
    pub timestamp: Option<String>,
}

/// A metric family with its metadata and samples, in [`Exposition::families`] (examples:
/// [crate]).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The family name (for OpenMetrics counters: without `_total`).
    pub name: String,
    /// Declared type; [`MetricType::Unknown`] without a TYPE line, or for text's `untyped`.
    pub kind: MetricType,
    /// Whether a TYPE line declared the type.
    pub typed: bool,
    /// HELP text, unescaped.
    pub help: Option<String>,
    /// OpenMetrics UNIT.
    pub unit: Option<String>,
    /// Samples in written order.
    pub samples: Vec<Sample>,
}

impl Family {
    pub(crate) fn new(name: &str, kind: MetricType) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            typed: false,
            help: None,
            unit: None,
            samples: Vec::new(),
        }
    }

    /// Whether `sample` of this family only ever grows while its process lives: a counter's
    /// total, a histogram's buckets and count, a summary's count. A checker compares these
    /// between two scrapes; a drop means a reset or a broken counter.
    ///
    /// ```
    /// let e = redmetrics_parse::parse_text(b"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n").unwrap();
    /// let h = &e.families[0];
    /// let grows: Vec<bool> = h.samples.iter().map(|s| h.is_monotonic(s)).collect();
    /// assert_eq!(grows, [true, false, true]);
    /// let c = redmetrics_parse::parse_text(b"# TYPE jobs_total counter\njobs_total 3\n").unwrap();
    /// assert!(c.families[0].is_monotonic(&c.families[0].samples[0]));
    /// ```
    pub fn is_monotonic(&self, sample: &Sample) -> bool {
        use crate::suffix::{Part, part_of};
        let part = part_of(self.kind, &self.name, &sample.name);
        match self.kind {
            // Text 0.0.4 names a counter family with its `_total`: every sample but a
            // creation time counts.
            MetricType::Counter => part != Some(Part::Created),
            MetricType::Histogram => matches!(part, Some(Part::Bucket | Part::Count)),
            MetricType::Summary => part == Some(Part::Count),
            _ => false,
        }
    }
}

/// A parsed exposition: what [`parse_text`](crate::parse_text) and
/// [`parse_openmetrics`](crate::parse_openmetrics) return.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// Families in order of first appearance.
    pub families: Vec<Family>,
    /// Families whose samples are split by another family's (`(family, line)` of the
    /// first sample that came back): text 0.0.4 parsers accept this, the format forbids it.
    /// Always empty for OpenMetrics, which rejects it.
    pub interleaved: Vec<(String, usize)>,
}

impl Exposition {
    /// The family called `name`.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }

    /// Number of samples in all families.
    pub fn sample_count(&self) -> usize {
        self.families.iter().map(|f| f.samples.len()).sum()
    }
}
