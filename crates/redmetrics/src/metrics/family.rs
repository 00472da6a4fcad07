//! Labelled families: one metric per label set, with a bound on how many label sets it holds.

use std::sync::Arc;

use super::bounded::{BoundedSeries, OVERFLOW};
use super::{Buckets, Counter, Gauge, GaugeF64, Histogram, Summary, SummaryShape, ZERO_THRESHOLD};
use crate::collect::{
    Collect, Desc, HistogramSample, LabelSet, MetricType, NativeSample, Sink, SummarySample,
};
use crate::name::LabelName;

/// A metric type that can live in a [`LabeledFamily`]: [`Counter`], [`Gauge`], [`GaugeF64`],
/// [`Histogram`] and [`Summary`] (sealed). Example: [`LabeledFamily`].
pub trait FamilyMetric: sealed::Sealed + Send + Sync + Sized + 'static {
    /// What all members share (bucket layout, summary objectives), `()` for none.
    type Shape: Send + Sync + 'static;
    /// The Prometheus type of the family.
    const TYPE: MetricType;
    /// A fresh metric of this shape.
    fn create(shape: &Self::Shape) -> Self;
    /// Writes this metric's samples under `labels`.
    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, scratch: &mut Scratch);
}

mod sealed {
    /// Keeps [`FamilyMetric`](super::FamilyMetric) to the crate's metric types.
    pub trait Sealed {}
    impl Sealed for super::Counter {}
    impl Sealed for super::Gauge {}
    impl Sealed for super::GaugeF64 {}
    impl Sealed for super::Histogram {}
    impl Sealed for super::Summary {}
}

/// Buffers reused across one scrape so that encoding does not allocate per series. Public
/// only as an unnameable part of [`FamilyMetric`], which the crate alone implements.
#[derive(Debug, Default)]
pub struct Scratch {
    pub(crate) cumulative: Vec<u64>,
    pub(crate) quantiles: Vec<f64>,
    pub(crate) buckets: Vec<(usize, u64)>,
    pub(crate) native_raw: Vec<u64>,
    pub(crate) native: Vec<(i32, u64)>,
    /// One exemplar per bucket of the histogram being written.
    pub(crate) exemplars: Vec<Option<crate::collect::Exemplar>>,
}

impl FamilyMetric for Counter {
    type Shape = ();
    const TYPE: MetricType = MetricType::Counter;
    fn create(_: &()) -> Self {
        Self::default()
    }
    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, _: &mut Scratch) {
        sink.counter(labels, self.get());
    }
}

impl FamilyMetric for Gauge {
    type Shape = ();
    const TYPE: MetricType = MetricType::Gauge;
    fn create(_: &()) -> Self {
        Self::default()
    }
    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, _: &mut Scratch) {
        sink.gauge_i64(labels, self.get());
    }
}

impl FamilyMetric for GaugeF64 {
    type Shape = ();
    const TYPE: MetricType = MetricType::Gauge;
    fn create(_: &()) -> Self {
        Self::default()
    }
    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, _: &mut Scratch) {
        sink.gauge(labels, self.get());
    }
}

impl FamilyMetric for Histogram {
    type Shape = Arc<Buckets>;
    const TYPE: MetricType = MetricType::Histogram;
    fn create(shape: &Arc<Buckets>) -> Self {
        Self::new(Arc::clone(shape))
    }
    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, scratch: &mut Scratch) {
        self.encode_with(labels, None, sink, scratch);
    }
}

impl Histogram {
    /// Writes this histogram's samples under `labels`, with the latest exemplar of each
    /// bucket when it keeps them, and its native buckets when the sink wants them.
    pub(crate) fn encode_with(
        &self,
        labels: &LabelSet,
        exemplars: Option<&super::BucketExemplars>,
        sink: &mut dyn Sink,
        scratch: &mut Scratch,
    ) {
        // Classic first, native after: the native total is then at least the classic one.
        let sum = self.read(&mut scratch.cumulative);
        let native = if sink.wants_native() {
            self.read_native(&mut scratch.native_raw, &mut scratch.native)
        } else {
            None
        };
        sink.histogram(
            labels,
            HistogramSample {
                le: self.buckets().le(),
                cumulative: &scratch.cumulative,
                sum,
                exemplars: exemplars.and_then(|e| e.read(&mut scratch.exemplars)),
                native: native.map(|n| NativeSample {
                    schema: n.schema,
                    zero_threshold: ZERO_THRESHOLD,
                    zero_count: n.zero_count,
                    count: n.count,
                    buckets: &scratch.native,
                }),
            },
        );
    }
}

impl FamilyMetric for Summary {
    type Shape = Arc<SummaryShape>;
    const TYPE: MetricType = MetricType::Summary;
    fn create(shape: &Arc<SummaryShape>) -> Self {
        Self::new(Arc::clone(shape))
    }
    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, scratch: &mut Scratch) {
        let (sum, count) = self.read_at(
            crate::monotonic::now(),
            &mut scratch.quantiles,
            &mut scratch.buckets,
        );
        sink.summary(
            labels,
            SummarySample {
                quantile_labels: self.shape().quantile_labels(),
                quantiles: &scratch.quantiles,
                sum,
                count,
            },
        );
    }
}

#[derive(Debug)]
struct Series<M, const N: usize> {
    values: [Box<str>; N],
    labels: LabelSet,
    metric: M,
}

struct Inner<M: FamilyMetric, const N: usize> {
    desc: Desc,
    names: [LabelName; N],
    shape: M::Shape,
    series: BoundedSeries<Series<M, N>>,
    /// Longest label value, in bytes, a new label set may have.
    max_value_len: usize,
}

/// Metrics of one family keyed by `N` label values, at most `bound` label sets.
///
/// Past the bound, new label sets are folded into one series whose labels all read
/// `__overflow__`, so totals stay exact while the series count stays bounded; the registry
/// exports how many observations were folded as `redmetrics_cardinality_overflow_total`.
/// A new label set with a value longer than the registry's cap
/// ([`DEFAULT_MAX_LABEL_VALUE_LEN`](crate::registry::DEFAULT_MAX_LABEL_VALUE_LEN) bytes) is
/// folded and counted the same way.
///
/// ```
/// use redmetrics::{Registry, metrics::Counter};
///
/// let registry = Registry::new();
/// let queries = registry
///     .family::<Counter, 2>("app_db_queries_total", "Database queries.", ["table", "op"], ())
///     .unwrap();
/// queries.with(["users", "select"]).inc();
/// assert_eq!(queries.with(["users", "select"]).get(), 1);
/// ```
pub struct LabeledFamily<M: FamilyMetric, const N: usize> {
    inner: Arc<Inner<M, N>>,
}

impl<M: FamilyMetric, const N: usize> std::fmt::Debug for LabeledFamily<M, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabeledFamily")
            .field("name", &self.inner.desc.name())
            .field("label_sets", &self.len())
            .field("bound", &self.inner.series.bound())
            .finish()
    }
}

impl<M: FamilyMetric, const N: usize> Clone for LabeledFamily<M, N> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<M: FamilyMetric, const N: usize> LabeledFamily<M, N> {
    pub(crate) fn new(
        desc: Desc,
        names: [LabelName; N],
        shape: M::Shape,
        bound: usize,
        max_value_len: usize,
    ) -> Self {
        let overflow_values: [Box<str>; N] = std::array::from_fn(|_| OVERFLOW.into());
        let overflow = Series {
            labels: render(&names, &overflow_values.each_ref().map(|v| &**v)),
            values: overflow_values,
            metric: M::create(&shape),
        };
        Self {
            inner: Arc::new(Inner {
                desc,
                names,
                series: BoundedSeries::new(bound, overflow),
                shape,
                max_value_len,
            }),
        }
    }

    /// The metric for these label values, created on first use. Lock-free; allocates only
    /// the first time a label set is seen. A new label set with a value over the length cap
    /// gets the overflow series (the cap is checked only then).
    pub fn with(&self, values: [&str; N]) -> &M {
        let inner = &*self.inner;
        let hash = inner.series.hash(&values);
        let (_, series) = inner.series.get_or_insert(
            hash,
            |s| s.values.iter().zip(values.iter()).all(|(a, b)| **a == **b),
            || {
                values
                    .iter()
                    .all(|v| v.len() <= inner.max_value_len)
                    .then(|| Series {
                        labels: render(&inner.names, &values),
                        values: values.map(Box::from),
                        metric: M::create(&inner.shape),
                    })
            },
        );
        &series.metric
    }

    /// The family's description.
    pub fn desc(&self) -> &Desc {
        &self.inner.desc
    }

    /// How many label sets the family holds (not counting the overflow series).
    pub fn len(&self) -> usize {
        self.inner.series.len()
    }

    /// Whether no label set was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times a new label set was folded into the overflow series.
    pub fn folded(&self) -> u64 {
        self.inner.series.folded()
    }
}

fn render<const N: usize>(names: &[LabelName; N], values: &[&str; N]) -> LabelSet {
    LabelSet::new(names.iter().zip(values.iter().copied()))
}

impl<M: FamilyMetric, const N: usize> Collect for LabeledFamily<M, N> {
    fn descs(&self) -> Vec<Desc> {
        vec![self.inner.desc.clone()]
    }

    fn collect(&self, sink: &mut dyn Sink) {
        let inner = &*self.inner;
        let mut scratch = Scratch::default();
        sink.family(&inner.desc);
        for (_, created, s) in inner.series.iter_stamped() {
            s.metric.encode(&s.labels, sink, &mut scratch);
            if M::TYPE.has_created() {
                sink.created(&s.labels, created);
            }
        }
    }

    fn overflow(&self, report: &mut dyn FnMut(&str, u64)) {
        report(self.inner.desc.name(), self.inner.series.folded());
    }
}
