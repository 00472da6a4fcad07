//! One facade family: series keyed by the `metrics` crate's label pairs, bounded like every
//! family of the registry, written through the same [`Sink`] as every other collector.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{CounterFn, GaugeFn, HistogramFn, Key};

use super::describe::Descriptions;
use crate::collect::{Collect, Desc, LabelSet, MetricType, Sink};
use crate::labels;
use crate::metrics::bounded::{BoundedSeries, OVERFLOW};
use crate::metrics::{FamilyMetric, GaugeF64, Histogram, Scratch, Summary};
use crate::name::Escaping;

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

/// NaN is counted (`+Inf` bucket and `_count`, like client_golang) but not summed, so the
/// sum stays a number; a negative value is recorded as it is, and OpenMetrics, which forbids
/// a negative sum, leaves `_sum` and `_count` out while the sum is below zero (text and
/// protobuf keep them).
impl HistogramFn for FacadeHistogram {
    fn record(&self, value: f64) {
        match self {
            Self::Buckets(h) if value.is_nan() => h.observe_nan(),
            Self::Buckets(h) => h.observe(value),
            Self::Summary(s) if value.is_nan() => s.count_only(),
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
    raw: RawPairs,
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
    /// Each series' label set as a scraper without UTF-8 sees it, with the raw key that owns
    /// it: a new key that would read the same there is folded into the overflow series and
    /// counted, never written as a second series. Touched only when a series is created.
    legacy: Mutex<HashMap<String, RawPairs>>,
}

/// The hash of a key's labels, independent of their order.
fn labels_hash<C>(series: &BoundedSeries<C>, key: &Key) -> u64 {
    key.labels().fold(0u64, |acc, l| {
        acc.wrapping_add(series.hash(&(l.key(), l.value())))
    })
}

/// The label pairs of `key` with kept names (see `names`), sorted by name; `None` when the
/// key cannot be a series of its own: a name over the cap, or two names that are one once
/// kept, or once escaped for a scraper without UTF-8 (`a.b` and `a_b` in one key).
fn kept(key: &Key, kind: MetricType) -> Option<Vec<(String, &str)>> {
    let mut pairs = Vec::with_capacity(key.labels().len());
    for l in key.labels() {
        pairs.push((super::names::label_name(l.key(), kind)?, l.value()));
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    let mut legacy: Vec<_> = pairs
        .iter()
        .map(|(n, _)| Escaping::Underscores.escape(n))
        .collect();
    legacy.sort();
    if legacy.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    Some(pairs)
}

/// The label set a scraper without UTF-8 sees for `pairs`: what two series must not share.
fn legacy_key(pairs: &[(String, &str)]) -> String {
    let mut escaped: Vec<(String, &str)> = pairs
        .iter()
        .map(|(n, v)| (Escaping::Underscores.escape(n).into_owned(), *v))
        .collect();
    escaped.sort();
    labels::render(escaped.iter().map(|(n, v)| (n.as_str(), *v)))
        .as_str()
        .to_owned()
}

/// A key's label pairs as recorded.
type RawPairs = Box<[(Box<str>, Box<str>)]>;

/// A key's raw pairs in a fixed order, to tell two keys apart.
fn raw_sorted(key: &Key) -> RawPairs {
    let mut raw: Vec<(Box<str>, Box<str>)> = key
        .labels()
        .map(|l| (l.key().into(), l.value().into()))
        .collect();
    raw.sort();
    raw.into()
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
        let mut names: Vec<String> = Vec::new();
        for l in first.labels() {
            let Some(n) = super::names::label_name(l.key(), desc.kind()) else {
                continue;
            };
            let clash = names.iter().any(|m| {
                *m == n || Escaping::Underscores.escape(m) == Escaping::Underscores.escape(&n)
            });
            if !clash {
                names.push(n);
            }
        }
        names.sort();
        let overflow = Series {
            raw: Box::new([]),
            labels: labels::render(names.iter().map(|n| (n.as_str(), OVERFLOW))),
            cell: Arc::new(C::create(&shape)),
        };
        Self {
            raw: raw.into(),
            series: BoundedSeries::new(bound, overflow),
            max_value_len,
            legacy: Mutex::default(),
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
                let pairs = kept(key, self.desc.kind())?;
                let raw = raw_sorted(key);
                let mut legacy = self.legacy.lock().unwrap_or_else(PoisonError::into_inner);
                match legacy.get(&legacy_key(&pairs)) {
                    Some(owner) if *owner != raw => return None,
                    Some(_) => {}
                    None => {
                        legacy.insert(legacy_key(&pairs), raw.clone());
                    }
                }
                drop(legacy);
                Some(Series {
                    raw,
                    labels: labels::render(pairs.iter().map(|(n, v)| (n.as_str(), *v))),
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
