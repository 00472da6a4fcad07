//! A recorder for the [`metrics`] crate facade: what libraries record with `counter!`,
//! `gauge!` and `histogram!` lands in a [`Registry`], behind the same endpoint and in both
//! formats as every other family (feature `facade`).
//!
//! ```
//! use redmetrics::{Registry, encoding::{Format, encode}, facade::FacadeRecorder};
//!
//! let registry = Registry::new();
//! let recorder = FacadeRecorder::builder(registry.clone()).prefix("app").build();
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::describe_counter!("cache_lookups_total", "Cache lookups by result.");
//!     metrics::counter!("cache_lookups_total", "result" => "hit").increment(1);
//! });
//! let text = String::from_utf8(encode(&registry, Format::Text)).unwrap();
//! assert!(text.contains("# HELP app_cache_lookups_total Cache lookups by result."));
//! assert!(text.contains("app_cache_lookups_total{result=\"hit\"} 1"));
//! ```
//!
//! - **Installing**: [`FacadeRecorder::install`] sets it as the global recorder; or scope it
//!   with `metrics::with_local_recorder`. Clones share everything.
//! - **Names** are kept as recorded (UTF-8: `demo.cache.entries`), counters get `_total`,
//!   the prefix is joined with `_`. A scraper that allows UTF-8 (Prometheus 3) gets them
//!   quoted; the others get them escaped as they ask, by default with every character
//!   outside `[A-Za-z0-9_]` made `_`, which is what Prometheus 2.x always saw (see
//!   [`Escaping`](crate::name::Escaping)). What cannot be kept (an empty name, one over
//!   [`MAX_NAME_LEN`](crate::name::MAX_NAME_LEN) bytes, a gauge or histogram ending in
//!   `_total`, a name another family of the registry already writes, also once escaped, one
//!   name recorded as two types, names past [`MAX_FAMILIES`]) is refused once and for good:
//!   [`FacadeRecorder::refused`] lists it and every recording through it is counted in
//!   `redmetrics_cardinality_overflow_total{family="<name as recorded>"}`.
//! - **Labels** are sorted by name; the same labels in another order are the same series.
//!   Each family holds at most the registry's
//!   [`max_label_sets`](Registry::max_label_sets); new label sets past it fold into one
//!   series labelled `__overflow__`, counted in `redmetrics_cardinality_overflow_total`. So
//!   does a label set that would read as another once escaped (`a.b="1"` after `a_b="1"`),
//!   one with two names that are one once escaped, and one with a name over the cap: a
//!   scraper never sees two series with one name and label set, and nothing is lost.
//! - **NaN and negative observations** in a histogram or summary:
//!   NaN is counted but not summed; OpenMetrics leaves out a negative `_sum` (and its
//!   `_count`: parsers want both or neither), text and protobuf keep it.
//! - **Histograms** take buckets configured for their name or a prefix of it (longest wins,
//!   matched on the name as recorded), or a summary; otherwise
//!   [`Buckets::DEFAULT_BYTES`] for names ending in `bytes`, else
//!   [`Buckets::DEFAULT_SECONDS`].
//! - **`describe_*`** become HELP (and the unit, see module `describe`); undescribed families
//!   read "Recorded through the metrics facade.".
//! - **Cost**: once a series exists, a macro call is a hash, a lock-free probe and an `Arc`
//!   clone: no lock, no allocation.

mod describe;
mod family;
mod names;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use metrics::{
    CounterFn, GaugeFn, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

use crate::Registry;
use crate::collect::{Collect, Desc, MetricType, Sink};
use crate::labels::cap;
use crate::metrics::bounded::{BoundedSeries, OVERFLOW_SLOT};
use crate::metrics::{Buckets, SummaryShape};
use describe::Descriptions;
use family::{Cell, FacadeCounter, FacadeGauge, FacadeHistogram, Family};

/// The help text of families recorded without a `describe_*` call.
pub const DEFAULT_HELP: &str = "Recorded through the metrics facade.";

/// The most facade families one recorder creates; names past it are refused.
pub const MAX_FAMILIES: usize = 1024;

pub use describe::MAX_HELP_LEN;

/// The `family` label of recordings refused because the recorder already holds
/// [`MAX_FAMILIES`] families.
pub const PAST_FAMILY_LIMIT: &str = "metrics facade: families past the limit";

/// How a facade histogram is kept: buckets, or a summary.
/// Example: [`FacadeBuilder::summary`].
#[derive(Debug, Clone)]
pub enum HistogramShape {
    /// Cumulative buckets with these bounds.
    Buckets(Arc<Buckets>),
    /// Quantiles over a sliding window.
    Summary(Arc<SummaryShape>),
}

/// A facade metric that was refused, and why.
/// Example: [`FacadeRecorder::refused`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The name as recorded.
    pub name: String,
    /// Why, with what to do.
    pub reason: String,
}

/// Builds a [`FacadeRecorder`]. Example: [`facade`](crate::facade).
#[derive(Debug)]
pub struct FacadeBuilder {
    registry: Registry,
    prefix: String,
    shapes: Vec<(String, HistogramShape)>,
}

impl FacadeBuilder {
    /// Joins `prefix` and `_` before every facade name (`app` + `jobs_total`).
    #[must_use]
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.trim_end_matches('_').to_owned();
        self
    }

    /// Histograms whose recorded name starts with `name_or_prefix` use these buckets.
    #[must_use]
    pub fn buckets(mut self, name_or_prefix: &str, buckets: Buckets) -> Self {
        self.shapes.push((
            name_or_prefix.to_owned(),
            HistogramShape::Buckets(Arc::new(buckets)),
        ));
        self
    }

    /// Histograms whose recorded name starts with `name_or_prefix` are summaries.
    ///
    /// ```
    /// use std::time::Duration;
    /// use redmetrics::{Registry, facade::FacadeRecorder, metrics::{Objective, SummaryShape}};
    ///
    /// let shape = SummaryShape::new(&Objective::DEFAULTS, Duration::from_secs(60)).unwrap();
    /// let recorder = FacadeRecorder::builder(Registry::new()).summary("rpc_", shape).build();
    /// metrics::with_local_recorder(&recorder, || metrics::histogram!("rpc_seconds").record(0.1));
    /// ```
    #[must_use]
    pub fn summary(mut self, name_or_prefix: &str, shape: SummaryShape) -> Self {
        self.shapes.push((
            name_or_prefix.to_owned(),
            HistogramShape::Summary(Arc::new(shape)),
        ));
        self
    }

    /// The recorder.
    pub fn build(self) -> FacadeRecorder {
        let refused_family: Entry = Entry {
            kind: MetricType::Gauge,
            raw: "".into(),
            typed: Typed::Refused,
            registered: OnceLock::new(),
            refusals: Arc::default(),
        };
        let families = Arc::new(BoundedSeries::new(MAX_FAMILIES, refused_family));
        // Has no family of its own, so registering cannot clash.
        let _ = self.registry.register(Refusals(Arc::clone(&families)));
        FacadeRecorder {
            inner: Arc::new(Inner {
                registry: self.registry,
                prefix: self.prefix,
                shapes: self.shapes,
                descriptions: Arc::default(),
                families,
                refused: Mutex::default(),
                past_limit_noted: AtomicBool::new(false),
            }),
        }
    }
}

/// A family of one type, or nothing for a refused name.
enum Typed {
    Counter(Arc<Family<FacadeCounter>>),
    Gauge(Arc<Family<FacadeGauge>>),
    Histogram(Arc<Family<FacadeHistogram>>),
    Refused,
}

/// A facade name of one type and its family, registered with the registry on first use.
struct Entry {
    kind: MetricType,
    raw: Box<str>,
    typed: Typed,
    /// Whether the registry took the family; decided once.
    registered: OnceLock<bool>,
    /// Recordings through this name while it is refused.
    refusals: Arc<Refused>,
}

/// The handle of a refused name: counts every recording, keeps no value.
#[derive(Debug, Default)]
struct Refused(AtomicU64);

impl Refused {
    fn count(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl CounterFn for Refused {
    fn increment(&self, _: u64) {
        self.count();
    }
    fn absolute(&self, _: u64) {
        self.count();
    }
}

impl GaugeFn for Refused {
    fn increment(&self, _: f64) {
        self.count();
    }
    fn decrement(&self, _: f64) {
        self.count();
    }
    fn set(&self, _: f64) {
        self.count();
    }
}

impl HistogramFn for Refused {
    fn record(&self, _: f64) {
        self.count();
    }
}

/// Reports the recordings of refused names into `redmetrics_cardinality_overflow_total`,
/// labelled with the name as recorded (capped like every label value).
struct Refusals(Arc<BoundedSeries<Entry>>);

impl Collect for Refusals {
    fn descs(&self) -> Vec<Desc> {
        Vec::new()
    }

    fn collect(&self, _: &mut dyn Sink) {}

    fn overflow(&self, report: &mut dyn FnMut(&str, u64)) {
        for (slot, e) in self.0.iter_slots() {
            let n = e.refusals.0.load(Ordering::Relaxed);
            if n > 0 {
                let family = if slot == OVERFLOW_SLOT {
                    PAST_FAMILY_LIMIT
                } else {
                    &e.raw
                };
                report(family, n);
            }
        }
    }
}

struct Inner {
    registry: Registry,
    prefix: String,
    shapes: Vec<(String, HistogramShape)>,
    descriptions: Arc<Descriptions>,
    families: Arc<BoundedSeries<Entry>>,
    refused: Mutex<Vec<Refusal>>,
    /// Whether the first name past [`MAX_FAMILIES`] was listed: later ones only count.
    past_limit_noted: AtomicBool,
}

/// The `metrics` facade recorder writing into a [`Registry`]. Cheap to clone (shared).
/// Example: [`facade`](crate::facade).
#[derive(Clone)]
pub struct FacadeRecorder {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FacadeRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FacadeRecorder")
            .field("prefix", &self.inner.prefix)
            .field("families", &self.inner.families.len())
            .finish()
    }
}

/// Why [`FacadeRecorder::install`] failed.
#[derive(Debug, thiserror::Error)]
#[error("a global `metrics` recorder is already installed: install redmetrics' once, first")]
pub struct InstallError;

impl FacadeRecorder {
    /// A recorder writing into `registry`, with no prefix and default buckets.
    pub fn builder(registry: Registry) -> FacadeBuilder {
        FacadeBuilder {
            registry,
            prefix: String::new(),
            shapes: Vec::new(),
        }
    }

    /// Sets this recorder as the process-wide `metrics` recorder.
    pub fn install(&self) -> Result<(), InstallError> {
        metrics::set_global_recorder(self.clone()).map_err(|_| InstallError)
    }

    /// The names refused so far, each once.
    pub fn refused(&self) -> Vec<Refusal> {
        self.inner
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The family for `key`'s name and `kind`, registered if the registry took it; else the
    /// counter of its refused recordings. A name past the limit costs what an accepted one
    /// does: a hash, a probe and a clone; only the first such name takes the refusal lock.
    fn entry(&self, key: &Key, kind: MetricType) -> Result<&Typed, &Arc<Refused>> {
        let inner = &*self.inner;
        let raw = key.name();
        let hash = inner.families.hash(&(describe::slot(kind), raw));
        let (slot, entry) = inner.families.get_or_insert(
            hash,
            |e| e.kind == kind && *e.raw == *raw,
            || Some(self.make_entry(key, kind)),
        );
        if slot == OVERFLOW_SLOT {
            if !inner.past_limit_noted.swap(true, Ordering::Relaxed) {
                self.refuse(
                    raw,
                    format!("more than {MAX_FAMILIES} facade families: this name and later ones"),
                );
            }
            return Err(&entry.refusals);
        }
        if *entry.registered.get_or_init(|| self.register(entry)) {
            Ok(&entry.typed)
        } else {
            Err(&entry.refusals)
        }
    }

    fn make_entry(&self, key: &Key, kind: MetricType) -> Entry {
        let inner = &*self.inner;
        let raw = key.name();
        let shape = (kind == MetricType::Histogram).then(|| self.shape(raw));
        let exposed = match shape {
            Some(HistogramShape::Summary(_)) => MetricType::Summary,
            _ => kind,
        };
        let desc = names::metric_name(&inner.prefix, raw, kind).and_then(|name| {
            Desc::utf8(name, DEFAULT_HELP, exposed)
                .map(Desc::with_inferred_unit)
                .map_err(|e| e.to_string())
        });
        let bound = inner.registry.max_label_sets();
        let len = inner.registry.max_label_value_len();
        let d = Arc::clone(&inner.descriptions);
        let typed = match (desc, shape) {
            (Err(reason), _) => {
                self.refuse(raw, reason);
                Typed::Refused
            }
            (Ok(desc), Some(shape)) => {
                Typed::Histogram(Arc::new(Family::new(desc, raw, shape, bound, len, key, d)))
            }
            (Ok(desc), None) if kind == MetricType::Counter => {
                Typed::Counter(Arc::new(Family::new(desc, raw, (), bound, len, key, d)))
            }
            (Ok(desc), None) => {
                Typed::Gauge(Arc::new(Family::new(desc, raw, (), bound, len, key, d)))
            }
        };
        Entry {
            kind,
            raw: raw.into(),
            typed,
            registered: OnceLock::new(),
            refusals: Arc::default(),
        }
    }

    /// Registers `entry`'s family; a clash with another family refuses the name.
    fn register(&self, entry: &Entry) -> bool {
        let result = match &entry.typed {
            Typed::Counter(f) => self.register_family(f),
            Typed::Gauge(f) => self.register_family(f),
            Typed::Histogram(f) => self.register_family(f),
            Typed::Refused => return false,
        };
        match result {
            Ok(()) => true,
            Err(e) => {
                self.refuse(&entry.raw, e.to_string());
                false
            }
        }
    }

    fn register_family<C: Cell>(
        &self,
        family: &Arc<Family<C>>,
    ) -> Result<(), crate::registry::RegistryError> {
        self.inner
            .registry
            .register_arc(Arc::clone(family) as Arc<dyn crate::collect::Collect>)
    }

    fn refuse(&self, raw: &str, reason: String) {
        let mut refused = self
            .inner
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let name = cap(raw, names::SHOWN);
        if !refused.iter().any(|r| *r.name == *name) && refused.len() < MAX_FAMILIES {
            refused.push(Refusal {
                name: name.into_owned(),
                reason,
            });
        }
    }

    /// The configured shape for a histogram named `raw`: longest matching prefix, else the
    /// default buckets for its unit.
    fn shape(&self, raw: &str) -> HistogramShape {
        self.inner
            .shapes
            .iter()
            .filter(|(p, _)| raw.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| {
                HistogramShape::Buckets(Arc::new(if raw.ends_with("bytes") {
                    Buckets::default_bytes()
                } else {
                    Buckets::default_seconds()
                }))
            })
    }

    fn describe(&self, kind: MetricType, key: KeyName, unit: Option<Unit>, help: SharedString) {
        if !help.trim().is_empty() {
            self.inner.descriptions.set(kind, key.as_str(), unit, &help);
        }
    }
}

impl Recorder for FacadeRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(MetricType::Counter, key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(MetricType::Gauge, key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(MetricType::Histogram, key, unit, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> metrics::Counter {
        match self.entry(key, MetricType::Counter) {
            Ok(Typed::Counter(f)) => metrics::Counter::from_arc(f.cell(key)),
            Ok(_) => metrics::Counter::noop(),
            Err(refused) => metrics::Counter::from_arc(Arc::clone(refused)),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
        match self.entry(key, MetricType::Gauge) {
            Ok(Typed::Gauge(f)) => metrics::Gauge::from_arc(f.cell(key)),
            Ok(_) => metrics::Gauge::noop(),
            Err(refused) => metrics::Gauge::from_arc(Arc::clone(refused)),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        match self.entry(key, MetricType::Histogram) {
            Ok(Typed::Histogram(f)) => metrics::Histogram::from_arc(f.cell(key)),
            Ok(_) => metrics::Histogram::noop(),
            Err(refused) => metrics::Histogram::from_arc(Arc::clone(refused)),
        }
    }
}
