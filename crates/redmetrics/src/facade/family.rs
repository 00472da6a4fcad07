//! One facade family: series keyed by the `metrics` crate's label pairs, bounded like every
//! family of the registry, written through the same [`Sink`] as every other collector.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{CounterFn, GaugeFn, HistogramFn, Key};

use super::describe::Descriptions;
use crate::collect::{Collect, Desc, LabelSet, MetricType, Sink};
use crate::labels;
use crate::metrics::bounded::{BoundedSeries, OVERFLOW};
use crate::metrics::{FamilyMetric, GaugeF64, Histogram, Scratch, Summary};

/// A facade counter: `increment` adds, `absolute` raises to the given value.
#[derive(Debug, Default)]
pub(super) struct FacadeCounter(AtomicU64);

impl CounterFn for FacadeCounter {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

/// A facade gauge.
#[derive(Debug, Default)]
pub(super) struct FacadeGauge(GaugeF64);

impl GaugeFn for FacadeGauge {
    fn increment(&self, value: f64) {
        self.0.add(value);
    }
    fn decrement(&self, value: f64) {
        self.0.add(-value);
    }
    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

/// A facade histogram: fixed buckets, or a summary, as configured for its name.
#[derive(Debug)]
pub(super) enum FacadeHistogram {
    /// Cumulative buckets.
    Buckets(Histogram),
    /// Streaming quantiles.
    Summary(Summary),
}

impl HistogramFn for FacadeHistogram {
    fn record(&self, value: f64) {
        match self {
            Self::Buckets(h) => h.observe(value),
            Self::Summary(s) => s.observe(value),
        }
    }
}

/// What a facade family stores per series, and how it is written.
pub(super) trait Cell: Send + Sync + Sized + 'static {
    /// What every series of a family shares.
    type Shape: Send + Sync + 'static;
    /// A fresh series.
    fn create(shape: &Self::Shape) -> Self;
    /// Writes the series' samples.
    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, scratch: &mut Scratch);
}

impl Cell for FacadeCounter {
    type Shape = ();
    fn create(_: &()) -> Self {
        Self::default()
    }
    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, _: &mut Scratch) {
        sink.counter(labels, self.0.load(Ordering::Relaxed));
    }
}

impl Cell for FacadeGauge {
    type Shape = ();
    fn create(_: &()) -> Self {
        Self::default()
    }
    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, _: &mut Scratch) {
        sink.gauge(labels, self.0.get());
    }
}

impl Cell for FacadeHistogram {
    type Shape = super::HistogramShape;
    fn create(shape: &super::HistogramShape) -> Self {
        match shape {
            super::HistogramShape::Buckets(b) => Self::Buckets(Histogram::create(b)),
            super::HistogramShape::Summary(s) => Self::Summary(Summary::create(s)),
        }
    }
    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, scratch: &mut Scratch) {
        match self {
            Self::Buckets(h) => h.encode(labels, sink, scratch),
            Self::Summary(s) => s.encode(labels, sink, scratch),
        }
    }
}

/// One series: the label pairs as recorded (to find it again), rendered once for the sinks.
struct Series<C> {
    raw: Box<[(Box<str>, Box<str>)]>,
    labels: LabelSet,
    cell: Arc<C>,
}

/// A family of facade series under one Prometheus name.
pub(super) struct Family<C: Cell> {
    desc: Desc,
    /// The name as recorded, under which `describe_*` stored its text.
    raw: Box<str>,
    shape: C::Shape,
    descriptions: Arc<Descriptions>,
    series: BoundedSeries<Series<C>>,
    /// Label values longer than this fold into the overflow series, as in every family.
    max_value_len: usize,
}

/// The hash of a key's labels, independent of their order.
fn labels_hash<C>(series: &BoundedSeries<C>, key: &Key) -> u64 {
    key.labels().fold(0u64, |acc, l| {
        acc.wrapping_add(series.hash(&(l.key(), l.value())))
    })
}

/// The label pairs of `key` with sanitised names, sorted by name, first of each name kept.
fn sanitised(key: &Key, kind: MetricType) -> Vec<(String, &str)> {
    let mut pairs: Vec<(String, &str)> = key
        .labels()
        .map(|l| (super::names::label_name(l.key(), kind), l.value()))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.dedup_by(|later, first| later.0 == first.0);
    pairs
}

impl<C: Cell> Family<C> {
    /// A family named by `desc`; its overflow series carries the label names of `first`.
    pub(super) fn new(
        desc: Desc,
        raw: &str,
        shape: C::Shape,
        bound: usize,
        max_value_len: usize,
        first: &Key,
        descriptions: Arc<Descriptions>,
    ) -> Self {
        let names = sanitised(first, desc.kind());
        let overflow = Series {
            raw: Box::new([]),
            labels: labels::render(names.iter().map(|(n, _)| (n.as_str(), OVERFLOW))),
            cell: Arc::new(C::create(&shape)),
        };
        Self {
            raw: raw.into(),
            series: BoundedSeries::new(bound, overflow),
            max_value_len,
            desc,
            shape,
            descriptions,
        }
    }

    /// The series for `key`, created on first use; lock-free and allocation-free once it
    /// exists. Past the bound, the overflow series.
    pub(super) fn cell(&self, key: &Key) -> Arc<C> {
        let hash = labels_hash(&self.series, key);
        let (_, series) = self.series.get_or_insert(
            hash,
            |s| {
                s.raw.len() == key.labels().len()
                    && key.labels().all(|l| {
                        s.raw
                            .iter()
                            .any(|(n, v)| **n == *l.key() && **v == *l.value())
                    })
            },
            || {
                if key.labels().any(|l| l.value().len() > self.max_value_len) {
                    return None;
                }
                Some(Series {
                    raw: key
                        .labels()
                        .map(|l| (l.key().into(), l.value().into()))
                        .collect(),
                    labels: labels::render(
                        sanitised(key, self.desc.kind())
                            .iter()
                            .map(|(n, v)| (n.as_str(), *v)),
                    ),
                    cell: Arc::new(C::create(&self.shape)),
                })
            },
        );
        Arc::clone(&series.cell)
    }
}

impl<C: Cell> Collect for Family<C> {
    fn descs(&self) -> Vec<Desc> {
        vec![self.desc.clone()]
    }

    fn collect(&self, sink: &mut dyn Sink) {
        let described = self.descriptions.desc(&self.desc, &self.raw);
        sink.family(described.as_ref().unwrap_or(&self.desc));
        let mut scratch = Scratch::default();
        let started = self.desc.kind().has_created();
        for (_, created, s) in self.series.iter_stamped() {
            s.cell.encode(&s.labels, sink, &mut scratch);
            if started {
                sink.created(&s.labels, created);
            }
        }
    }

    fn overflow(&self, report: &mut dyn FnMut(&str, u64)) {
        report(self.desc.name(), self.series.folded());
    }
}
