//! The seam between metrics and exposition formats.
//!
//! A [`Collect`] implementation walks its families and hands each sample to a [`Sink`]; an
//! encoder (text 0.0.4 or OpenMetrics) implements the sink. Metric types never see a format
//! and formats never see a metric type's internals, so adding either is local.
//!
//! ```
//! use redmetrics::collect::{Collect, Desc, LabelSet, MetricType, Sink};
//!
//! /// Exposes how many items a queue holds, read when Prometheus scrapes.
//! struct QueueDepth(std::sync::Arc<std::sync::atomic::AtomicI64>);
//!
//! impl Collect for QueueDepth {
//!     fn descs(&self) -> Vec<Desc> {
//!         vec![Desc::new("jobs_queue_depth", "Jobs waiting in the queue.", MetricType::Gauge).unwrap()]
//!     }
//!     fn collect(&self, sink: &mut dyn Sink) {
//!         sink.family(&self.descs()[0]);
//!         sink.gauge(LabelSet::empty(), self.0.load(std::sync::atomic::Ordering::Relaxed) as f64);
//!     }
//! }
//! ```

use crate::name::{LabelName, MetricName, NameError};

mod exemplar;

pub use exemplar::{Exemplar, TraceContext};

/// The metric types, from `redmetrics-core`, the vocabulary shared with the parsers.
pub use redmetrics_core::MetricType;
/// Sample name suffixes, written once in `redmetrics-core`.
pub(crate) use redmetrics_core::suffix;

/// Base units, written as the name suffix and, in OpenMetrics, on a `# UNIT` line.
/// Example: [`Desc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
}

impl Unit {
    /// The unit as written in names and on `# UNIT` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Bytes => "bytes",
        }
    }
}

/// Why a family description was refused.
/// Example: [`Desc`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescError {
    /// The name breaks Prometheus' naming rules.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A counter's name lacks `_total`, which OpenMetrics requires and promtool lints.
    #[error("counter `{0}` must end in `_total` (OpenMetrics requires it; promtool lints it)")]
    CounterSuffix(String),
    /// A non-counter's name ends in `_total`, which promtool lints as misleading.
    #[error("{kind} `{name}` must not end in `_total`: that suffix is for counters")]
    TotalOnNonCounter {
        /// The metric type.
        kind: &'static str,
        /// The refused name.
        name: String,
    },
    /// A unit was declared but the name does not end in it.
    #[error(
        "`{name}` declares unit {unit} but does not end in `_{unit}`; rename it to `{name}_{unit}`"
    )]
    UnitSuffix {
        /// The refused name.
        name: String,
        /// The declared unit.
        unit: &'static str,
    },
    /// The type exists in OpenMetrics but redmetrics cannot expose it.
    #[error(
        "`{name}` has type {kind}, which redmetrics parses but cannot expose: use counter, gauge, histogram or summary"
    )]
    NotExposable {
        /// The refused name.
        name: String,
        /// The metric type.
        kind: &'static str,
    },
    /// The help text is empty; promtool lints families without help.
    #[error("`{0}` has no help text: say in one sentence what it measures")]
    NoHelp(String),
}

/// What a family is: name, help, type and unit. Written as the `# HELP`/`# TYPE` header.
///
/// ```
/// use redmetrics::collect::{Desc, MetricType, Unit};
///
/// let d = Desc::new("jobs_duration_seconds", "Time per job.", MetricType::Histogram)
///     .unwrap()
///     .with_unit(Unit::Seconds)
///     .unwrap();
/// assert_eq!(d.unit(), Some(Unit::Seconds));
/// assert!(Desc::new("jobs_done", "Jobs.", MetricType::Counter).is_err(), "needs _total");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Desc {
    name: MetricName,
    help: String,
    kind: MetricType,
    unit: Option<Unit>,
}

impl Desc {
    /// Describes a family, checking the naming conventions promtool and OpenMetrics enforce.
    pub fn new(
        name: impl Into<String>,
        help: impl Into<String>,
        kind: MetricType,
    ) -> Result<Self, DescError> {
        Self::checked(MetricName::new(name)?, help.into(), kind)
    }

    fn checked(name: MetricName, help: String, kind: MetricType) -> Result<Self, DescError> {
        let n = name.as_str();
        if help.trim().is_empty() {
            return Err(DescError::NoHelp(n.to_owned()));
        }
        if !kind.is_exposable() {
            return Err(DescError::NotExposable {
                name: n.to_owned(),
                kind: kind.as_str(),
            });
        }
        let total = n.ends_with(suffix::TOTAL);
        match kind {
            MetricType::Counter if !total || n == suffix::TOTAL => {
                return Err(DescError::CounterSuffix(n.to_owned()));
            }
            MetricType::Counter => {}
            _ if total => {
                return Err(DescError::TotalOnNonCounter {
                    kind: kind.as_str(),
                    name: n.to_owned(),
                });
            }
            _ => {}
        }
        Ok(Self {
            name,
            help,
            kind,
            unit: None,
        })
    }

    /// Like [`new`](Self::new) for a name outside the legacy character set
    /// (`http.server.duration`, see [`MetricName::utf8`]): scrapers that allow UTF-8 get it
    /// quoted, the others escaped as they ask. The counter and unit rules are the same.
    ///
    /// ```
    /// use redmetrics::collect::{Desc, MetricType};
    ///
    /// let d = Desc::utf8("demo.cache.entries", "Entries.", MetricType::Gauge).unwrap();
    /// assert_eq!(d.name(), "demo.cache.entries");
    /// assert!(Desc::utf8("jobs.done", "Jobs.", MetricType::Counter).is_err(), "needs _total");
    /// ```
    pub fn utf8(
        name: impl Into<String>,
        help: impl Into<String>,
        kind: MetricType,
    ) -> Result<Self, DescError> {
        Self::checked(MetricName::utf8(name)?, help.into(), kind)
    }

    /// Declares the unit; the name (before `_total` for counters) must end in `_<unit>`.
    pub fn with_unit(mut self, unit: Unit) -> Result<Self, DescError> {
        let base = self.family_name();
        if !base.ends_with(&format!("_{}", unit.as_str())) {
            return Err(DescError::UnitSuffix {
                name: base.to_owned(),
                unit: unit.as_str(),
            });
        }
        self.unit = Some(unit);
        Ok(self)
    }

    /// Declares the unit the name ends in (`_seconds`, `_bytes`, before a counter's
    /// `_total`), if any: OpenMetrics then writes a `# UNIT` line. A UTF-8 name is judged
    /// as a scraper without UTF-8 gets it (`x.seconds` as `x_seconds`).
    #[must_use]
    pub fn with_inferred_unit(self) -> Self {
        let base = crate::name::Escaping::Underscores.escape(self.family_name());
        let unit = [Unit::Seconds, Unit::Bytes]
            .into_iter()
            .find(|u| base.ends_with(&format!("_{}", u.as_str())));
        match unit {
            Some(u) => Self {
                unit: Some(u),
                ..self
            },
            None => self,
        }
    }

    /// The sample name for counters and gauges, the base of `_bucket`/`_sum`/`_count`.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The name without a counter's `_total`: the OpenMetrics family name.
    pub fn family_name(&self) -> &str {
        match self.kind {
            MetricType::Counter => self
                .name()
                .strip_suffix(suffix::TOTAL)
                .unwrap_or(self.name()),
            _ => self.name(),
        }
    }

    /// The series names PromQL selects for this family: the
    /// [`sample_suffixes`](MetricType::sample_suffixes) on the family name, without
    /// `_created` (Prometheus 2.x stores a series' start as a `<family>_created` series of its
    /// own, which no query of redmetrics reads).
    ///
    /// ```
    /// use redmetrics::collect::{Desc, MetricType};
    ///
    /// let h = Desc::new("x_seconds", "X.", MetricType::Histogram).unwrap();
    /// assert_eq!(h.sample_names(), ["x_seconds_bucket", "x_seconds_count", "x_seconds_sum"]);
    /// let c = Desc::new("x_total", "X.", MetricType::Counter).unwrap();
    /// assert_eq!(c.sample_names(), ["x_total"]);
    /// ```
    pub fn sample_names(&self) -> Vec<String> {
        let family = self.family_name();
        self.kind
            .sample_suffixes()
            .iter()
            .filter(|s| **s != suffix::CREATED)
            .map(|s| format!("{family}{s}"))
            .collect()
    }

    /// The help text, unescaped.
    pub fn help(&self) -> &str {
        &self.help
    }

    /// The metric type.
    pub fn kind(&self) -> MetricType {
        self.kind
    }

    /// The declared unit, if any.
    pub fn unit(&self) -> Option<Unit> {
        self.unit
    }
}

/// A label set rendered once, when its series is created: `name="value"` pairs with values
/// escaped for both exposition formats. [`Sink`]s receive it, so unescaped text cannot reach
/// an exposition.
///
/// ```
/// use redmetrics::{collect::LabelSet, name::LabelName};
///
/// let queue = LabelName::new("queue").unwrap();
/// let set = LabelSet::new([(&queue, "mail \"urgent\"")]);
/// assert_eq!(set.as_str(), r#"queue="mail \"urgent\"""#);
/// assert_eq!(LabelSet::empty().as_str(), "");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LabelSet(Option<Box<str>>);

/// The empty label set, for [`LabelSet::empty`].
static EMPTY: LabelSet = LabelSet(None);

impl LabelSet {
    /// Renders and escapes `pairs`, in the order given.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a LabelName, &'a str)>) -> Self {
        crate::labels::render(pairs.into_iter().map(|(n, v)| (n.as_str(), v)))
    }

    /// No labels.
    pub fn empty() -> &'static Self {
        &EMPTY
    }

    /// Wraps labels already rendered by [`crate::labels`].
    pub(crate) fn rendered(text: Box<str>) -> Self {
        Self((!text.is_empty()).then_some(text))
    }

    /// The rendered pairs, without braces (`method="GET",path="/x"`); empty for none. A name
    /// that is not legacy-valid is quoted (`"http.method"="GET"`), as scrapers that allow
    /// UTF-8 read it; encoders escape it for the others.
    pub fn as_str(&self) -> &str {
        self.parts().0
    }

    /// The rendered pairs, and whether a name among them is not legacy-valid (so a scraper
    /// without UTF-8 needs it escaped): one look at the first byte.
    #[inline]
    pub(crate) fn parts(&self) -> (&str, bool) {
        match self.0.as_deref() {
            None => ("", false),
            Some(s) => match s.strip_prefix(crate::labels::QUOTED_TAG) {
                Some(rest) => (rest, true),
                None => (s, false),
            },
        }
    }
}

/// One sample line group of a histogram, in the shape both formats write.
/// Example of a collector: [`collect`](crate::collect).
#[derive(Debug, Clone, Copy)]
pub struct HistogramSample<'a> {
    /// Rendered `le` values, ascending, the last being `+Inf`.
    pub le: &'a [Box<str>],
    /// Cumulative counts, one per `le`; the last is the total count.
    pub cumulative: &'a [u64],
    /// Sum of all observations.
    pub sum: f64,
    /// The latest exemplar of each bucket (one per `le`, not cumulative), when the histogram
    /// keeps them and any bucket holds one. Only OpenMetrics writes them.
    pub exemplars: Option<&'a [Option<Exemplar>]>,
    /// The native (exponential) buckets, for formats that carry them (protobuf); text and
    /// OpenMetrics ignore them.
    pub native: Option<NativeSample<'a>>,
}

/// A histogram's native buckets as a scrape exposes them: Prometheus' exponential schema,
/// the zero bucket and the populated positive buckets.
#[derive(Debug, Clone, Copy)]
pub struct NativeSample<'a> {
    /// Each bucket bound is 2^(2^-schema) times the one before; -4 to 8.
    pub schema: i32,
    /// Observations at most this large count in the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// All observations: the zero bucket plus every bucket.
    pub count: u64,
    /// (bucket key, count) of every populated bucket, keys ascending; bucket `k` holds
    /// values in (2^((k-1)·2^-schema), 2^(k·2^-schema)].
    pub buckets: &'a [(i32, u64)],
}

/// One summary: quantiles over the window, and cumulative sum and count.
/// Example of a collector: [`collect`](crate::collect).
#[derive(Debug, Clone, Copy)]
pub struct SummarySample<'a> {
    /// Rendered `quantile` values, ascending.
    pub quantile_labels: &'a [Box<str>],
    /// The estimate for each quantile; NaN when the window saw no observation.
    pub quantiles: &'a [f64],
    /// Sum of all observations since start.
    pub sum: f64,
    /// Number of observations since start.
    pub count: u64,
}

/// Receives families and their samples in exposition order, each sample with its rendered
/// [`LabelSet`]. The encoders implement it; collectors call it (example: [`collect`](crate::collect)).
pub trait Sink {
    /// Starts a family; every sample until the next call belongs to it.
    fn family(&mut self, desc: &Desc);
    /// A counter sample with an integer value.
    fn counter(&mut self, labels: &LabelSet, value: u64);
    /// A counter sample with the exemplar of its latest traced increment. Only OpenMetrics
    /// writes exemplars; by default the exemplar is dropped.
    fn counter_with_exemplar(
        &mut self,
        labels: &LabelSet,
        value: u64,
        exemplar: Option<&Exemplar>,
    ) {
        let _ = exemplar;
        self.counter(labels, value);
    }
    /// A counter sample with a fractional value (e.g. CPU seconds).
    fn counter_f64(&mut self, labels: &LabelSet, value: f64);
    /// A gauge sample.
    fn gauge(&mut self, labels: &LabelSet, value: f64);
    /// An integer gauge sample.
    fn gauge_i64(&mut self, labels: &LabelSet, value: i64);
    /// A histogram's buckets, sum and count.
    fn histogram(&mut self, labels: &LabelSet, sample: HistogramSample<'_>);
    /// A summary's quantiles, sum and count.
    fn summary(&mut self, labels: &LabelSet, sample: SummarySample<'_>);
    /// The start of the series just written (a counter, histogram or summary under the same
    /// `labels`): when its label set was first seen. OpenMetrics writes it as `_created`
    /// after the series' samples, protobuf as `created_timestamp`; text 0.0.4 has no place
    /// for it, so by default it is dropped. Gauges have no start.
    fn created(&mut self, labels: &LabelSet, at: std::time::SystemTime) {
        let _ = (labels, at);
    }
    /// Whether this format writes [`HistogramSample::native`]; when not (the default),
    /// collectors skip reading the native buckets, so text scrapes do not pay for them.
    fn wants_native(&self) -> bool {
        false
    }
}

/// Something the registry scrapes: one or more families.
/// Example: [`collect`](crate::collect).
pub trait Collect: Send + Sync + 'static {
    /// The families this collector writes, for duplicate detection at registration.
    fn descs(&self) -> Vec<Desc>;
    /// Writes every family in [`descs`](Collect::descs) order, each with its samples.
    fn collect(&self, sink: &mut dyn Sink);
    /// Reports, per bounded family, how many new label sets were folded into its overflow
    /// series. Collectors without a bound report nothing.
    fn overflow(&self, _report: &mut dyn FnMut(&str, u64)) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions_are_enforced_with_fixes() {
        let e = Desc::new("x_requests", "h", MetricType::Counter).unwrap_err();
        assert!(e.to_string().contains("must end in `_total`"));
        let e = Desc::new("x_total", "h", MetricType::Gauge).unwrap_err();
        assert!(e.to_string().contains("for counters"));
        let e = Desc::new("x_latency", "h", MetricType::Histogram)
            .unwrap()
            .with_unit(Unit::Seconds)
            .unwrap_err();
        assert!(e.to_string().contains("x_latency_seconds"));
        let e = Desc::new("x", "h", MetricType::Info).unwrap_err();
        assert!(e.to_string().contains("cannot expose"), "{e}");
        let e = Desc::new("x", " ", MetricType::Gauge).unwrap_err();
        assert!(matches!(e, DescError::NoHelp(_)));
        let d = Desc::new("cpu_seconds_total", "h", MetricType::Counter)
            .unwrap()
            .with_unit(Unit::Seconds)
            .unwrap();
        assert_eq!(d.family_name(), "cpu_seconds");
    }
}
