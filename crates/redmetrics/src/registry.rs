//! The registry: every family one endpoint serves, in registration order.
//!
//! Registration checks names and refuses duplicates (including clashes between a histogram's
//! `_bucket`/`_sum`/`_count` and another family). There is no default registry: each
//! application, or each prefix in one process, owns its own.
//!
//! ```
//! use redmetrics::{Registry, metrics::{Buckets, Histogram}};
//! use std::sync::Arc;
//!
//! let registry = Registry::new();
//! let latency = registry
//!     .family::<Histogram, 1>(
//!         "app_db_query_duration_seconds",
//!         "Database query latency.",
//!         ["table"],
//!         Arc::new(Buckets::new([0.001, 0.01, 0.1]).unwrap()),
//!     )
//!     .unwrap();
//! latency.with(["users"]).observe(0.004);
//! assert!(registry.family::<Histogram, 1>("app_db_query_duration_seconds", "again", ["t"],
//!     Arc::new(Buckets::new([1.0]).unwrap())).is_err());
//! ```

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use crate::collect::{Collect, Desc, DescError, MetricType, Sink};
use crate::labels;
use crate::metrics::{FamilyMetric, LabeledFamily};
use crate::name::{Escaping, LabelName, NameError};

/// Default bound on label sets per family.
/// Example: [`registry`](crate::registry).
pub const DEFAULT_MAX_LABEL_SETS: usize = 2000;

/// Default cap on the length of one label value, in bytes: a value past it (a raw URL path,
/// an ID) never becomes a series; the observation goes to the overflow series and is counted
/// in [`OVERFLOW_FAMILY`]. Route templates and enum-like values fit easily; raw paths and
/// tokens, which make one series per request, usually do not.
/// Example: [`registry`](crate::registry).
pub const DEFAULT_MAX_LABEL_VALUE_LEN: usize = 128;

/// Name of the family reporting observations folded into overflow series.
/// Example: [`registry`](crate::registry).
pub const OVERFLOW_FAMILY: &str = "redmetrics_cardinality_overflow_total";

/// Why a registration was refused.
/// Example: [`registry`](crate::registry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The family description breaks a naming convention.
    #[error(transparent)]
    Desc(#[from] DescError),
    /// A label name breaks the naming rules.
    #[error(transparent)]
    Label(#[from] NameError),
    /// A label name the metric type writes itself (`le`, `quantile`).
    #[error("label `{label}` on `{family}` is written by the {kind} itself: choose another name")]
    ReservedLabel {
        /// The label name.
        label: String,
        /// The family.
        family: String,
        /// The metric type.
        kind: &'static str,
    },
    /// The same label twice in one family.
    #[error("label `{label}` appears twice on `{family}`")]
    DuplicateLabel {
        /// The label name.
        label: String,
        /// The family.
        family: String,
    },
    /// A series name that another registered family already writes.
    #[error("`{name}` is already exported by another family in this registry: rename one of them")]
    Duplicate {
        /// The clashing series name.
        name: String,
    },
}

#[derive(Default)]
struct Inner {
    /// Each collector with the time it was registered: the start of its overflow counters.
    collectors: RwLock<Vec<(Arc<dyn Collect>, SystemTime)>>,
    names: Mutex<BTreeSet<String>>,
}

/// The set of collectors one metrics endpoint serves. Cheap to clone (shared).
/// Example: [`registry`](crate::registry).
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
    max_label_sets: usize,
    max_label_value_len: usize,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = self
            .inner
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Registry").field("names", &*names).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// The series names a family writes, plus its OpenMetrics family name, as they are and as
/// a scraper without UTF-8 gets them ([`Escaping::Underscores`]): two families that differ
/// only in characters that scheme replaces (`a.b`, `a_b`) would reach it as one, so they
/// clash here.
fn series_names(desc: &Desc) -> Vec<String> {
    let family = desc.family_name();
    let mut names = vec![desc.name().to_owned(), family.to_owned()];
    names.extend(
        desc.kind()
            .sample_suffixes()
            .iter()
            .map(|s| format!("{family}{s}")),
    );
    let escaped: Vec<String> = names
        .iter()
        .map(|n| Escaping::Underscores.escape(n))
        .filter(|e| !names.contains(&e.to_string()))
        .map(|e| e.into_owned())
        .collect();
    names.extend(escaped);
    names
}

impl Registry {
    /// An empty registry whose families hold at most [`DEFAULT_MAX_LABEL_SETS`] label sets.
    pub fn new() -> Self {
        let registry = Self {
            inner: Arc::default(),
            max_label_sets: DEFAULT_MAX_LABEL_SETS,
            max_label_value_len: DEFAULT_MAX_LABEL_VALUE_LEN,
        };
        registry
            .inner
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(OVERFLOW_FAMILY.to_owned());
        registry
    }

    /// Sets the bound on label sets for families registered from now on.
    #[must_use]
    pub fn with_max_label_sets(mut self, bound: usize) -> Self {
        self.max_label_sets = bound.max(1);
        self
    }

    /// The bound applied to families registered through this handle.
    pub fn max_label_sets(&self) -> usize {
        self.max_label_sets
    }

    /// Sets the cap, in bytes (at least 1), on each label value of families registered from
    /// now on (default [`DEFAULT_MAX_LABEL_VALUE_LEN`]). A new label set with a longer value
    /// is folded into the overflow series and counted like one past the bound.
    #[must_use]
    pub fn with_max_label_value_len(mut self, bytes: usize) -> Self {
        self.max_label_value_len = bytes.max(1);
        self
    }

    /// The label value cap applied to families registered through this handle.
    pub fn max_label_value_len(&self) -> usize {
        self.max_label_value_len
    }

    /// Registers a collector, refusing series names already in use.
    pub fn register(&self, collector: impl Collect) -> Result<(), RegistryError> {
        self.register_arc(Arc::new(collector))
    }

    /// Registers a shared collector, refusing series names already in use.
    pub fn register_arc(&self, collector: Arc<dyn Collect>) -> Result<(), RegistryError> {
        let mut names = self
            .inner
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut added = BTreeSet::new();
        for desc in collector.descs() {
            let own: BTreeSet<String> = series_names(&desc).into_iter().collect();
            if let Some(n) = own
                .iter()
                .find(|n| names.contains(*n) || added.contains(*n))
            {
                return Err(RegistryError::Duplicate { name: n.clone() });
            }
            added.extend(own);
        }
        names.extend(added);
        self.inner
            .collectors
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((collector, SystemTime::now()));
        Ok(())
    }

    /// Creates and registers a family of `M` keyed by the label names in `labels`. A name
    /// ending in `_seconds` or `_bytes` declares that unit.
    pub fn family<M: FamilyMetric, const N: usize>(
        &self,
        name: &str,
        help: &str,
        labels: [&str; N],
        shape: M::Shape,
    ) -> Result<LabeledFamily<M, N>, RegistryError> {
        let desc = Desc::new(name, help, M::TYPE)?.with_inferred_unit();
        let mut names = Vec::with_capacity(N);
        for l in labels {
            let reserved = match M::TYPE {
                MetricType::Histogram => l == "le",
                MetricType::Summary => l == "quantile",
                _ => false,
            };
            if reserved {
                return Err(RegistryError::ReservedLabel {
                    label: l.to_owned(),
                    family: name.to_owned(),
                    kind: M::TYPE.as_str(),
                });
            }
            if names.iter().any(|n: &LabelName| n.as_str() == l) {
                return Err(RegistryError::DuplicateLabel {
                    label: l.to_owned(),
                    family: name.to_owned(),
                });
            }
            names.push(LabelName::new(l)?);
        }
        let names: [LabelName; N] = names
            .try_into()
            .unwrap_or_else(|_| unreachable!("one name per label"));
        let family = LabeledFamily::new(
            desc,
            names,
            shape,
            self.max_label_sets,
            self.max_label_value_len,
        );
        self.register(family.clone())?;
        Ok(family)
    }

    /// Hands every family to `sink`, in registration order, then the overflow report.
    pub fn collect(&self, sink: &mut dyn Sink) {
        let collectors = self
            .inner
            .collectors
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for (c, _) in collectors.iter() {
            c.collect(sink);
        }
        // The `family` label is capped at the default label-value cap (a family name is the
        // application's, not a request's, so a lowered cap does not apply); families whose
        // capped names agree are summed into one series rather than written twice, starting
        // when the first of them was registered.
        let cap = DEFAULT_MAX_LABEL_VALUE_LEN;
        let mut folded: Vec<(String, u64, SystemTime)> = Vec::new();
        let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (c, registered) in collectors.iter() {
            c.overflow(&mut |family, n| {
                let family = labels::cap(family, cap);
                match at.get(family.as_ref()) {
                    Some(&i) => {
                        folded[i].1 += n;
                        folded[i].2 = folded[i].2.min(*registered);
                    }
                    None => {
                        at.insert(family.to_string(), folded.len());
                        folded.push((family.into_owned(), n, *registered));
                    }
                }
            });
        }
        if !folded.is_empty()
            && let Ok(desc) = Desc::new(
                OVERFLOW_FAMILY,
                "Observations recorded in a family's overflow series because the family reached its bound on label sets",
                MetricType::Counter,
            )
        {
            sink.family(&desc);
            for (family, n, registered) in folded {
                let labels = labels::render([("family", family.as_str())]);
                sink.counter(&labels, n);
                // The count starts at 0 when the family is registered.
                sink.created(&labels, registered);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Counter, Gauge, OVERFLOW as OVERFLOW_VALUE};

    #[test]
    fn clashing_series_names_are_refused() {
        let r = Registry::new();
        r.family::<Gauge, 0>("jobs", "Jobs.", [], ()).unwrap();
        let e = r
            .family::<Counter, 0>("jobs_total", "Jobs done.", [], ())
            .unwrap_err();
        assert!(e.to_string().contains("`jobs` is already exported"), "{e}");
        let e = r
            .family::<Counter, 2>("x_total", "X.", ["a", "a"], ())
            .unwrap_err();
        assert!(matches!(e, RegistryError::DuplicateLabel { .. }));
        let e = r
            .family::<Counter, 1>("y_total", "Y.", ["__y"], ())
            .unwrap_err();
        assert!(e.to_string().contains("reserved"), "{e}");
    }

    /// `le` is reserved in histograms and `quantile` in summaries (they write those labels
    /// themselves), and only there.
    #[test]
    fn each_type_reserves_only_its_own_label() {
        use crate::metrics::{Buckets, Histogram, Objective, Summary, SummaryShape};
        let r = Registry::new();
        let buckets = Arc::new(Buckets::new([1.0]).unwrap());
        let shape = Arc::new(
            SummaryShape::new(&Objective::DEFAULTS, std::time::Duration::from_secs(60)).unwrap(),
        );
        let reserved = |e: Result<(), RegistryError>, label: &str| {
            assert!(
                matches!(&e, Err(RegistryError::ReservedLabel { label: l, .. }) if l == label),
                "{e:?}"
            );
        };
        reserved(
            r.family::<Histogram, 1>("h_seconds", "H.", ["le"], buckets.clone())
                .map(drop),
            "le",
        );
        reserved(
            r.family::<Summary, 1>("s_bytes", "S.", ["quantile"], shape.clone())
                .map(drop),
            "quantile",
        );
        r.family::<Histogram, 1>("h_seconds", "H.", ["quantile"], buckets)
            .unwrap();
        r.family::<Summary, 1>("s_bytes", "S.", ["le"], shape)
            .unwrap();
        r.family::<Counter, 2>("c_total", "C.", ["le", "quantile"], ())
            .unwrap();
    }

    /// A collector of its own that reports folds under a family name another collector also
    /// reports (two shards of one family, say): the report writes that family once, with
    /// the sum of both counts.
    #[test]
    fn the_overflow_report_sums_one_family_reported_twice() {
        struct Shard(u64);
        impl Collect for Shard {
            fn descs(&self) -> Vec<Desc> {
                Vec::new()
            }
            fn collect(&self, _: &mut dyn Sink) {}
            fn overflow(&self, report: &mut dyn FnMut(&str, u64)) {
                report("app_sharded_total", self.0);
            }
        }
        let r = Registry::new();
        r.register(Shard(2)).unwrap();
        r.register(Shard(3)).unwrap();
        let text =
            String::from_utf8(crate::encoding::encode(&r, crate::encoding::Format::Text)).unwrap();
        let reported: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("redmetrics_cardinality_overflow_total"))
            .collect();
        assert_eq!(
            reported,
            ["redmetrics_cardinality_overflow_total{family=\"app_sharded_total\"} 5"],
            "{text}"
        );
    }

    #[test]
    fn long_label_values_are_folded_and_counted() {
        let r = Registry::new().with_max_label_value_len(3);
        let f = r
            .family::<Counter, 2>("q_total", "Q.", ["a", "b"], ())
            .unwrap();
        f.with(["abc", "x"]).inc();
        f.with(["abcd", "x"]).inc();
        f.with(["x", "abcd"]).inc();
        assert_eq!(f.len(), 1);
        assert_eq!(f.folded(), 2);
        assert_eq!(f.with([OVERFLOW_VALUE, OVERFLOW_VALUE]).get(), 2);
        assert_eq!(
            Registry::new().max_label_value_len(),
            DEFAULT_MAX_LABEL_VALUE_LEN
        );
    }

    #[test]
    fn two_registries_are_independent() {
        let a = Registry::new();
        let b = Registry::new();
        let in_a = a.family::<Counter, 0>("x_total", "X.", [], ()).unwrap();
        let in_b = b.family::<Counter, 0>("x_total", "X.", [], ()).unwrap();
        let only_a = a.family::<Counter, 0>("y_total", "Y.", [], ()).unwrap();
        in_a.with([]).inc_by(3);
        only_a.with([]).inc();
        in_b.with([]).inc_by(5);
        let text = |r: &Registry| {
            String::from_utf8(crate::encoding::encode(r, crate::encoding::Format::Text)).unwrap()
        };
        let (a, b) = (text(&a), text(&b));
        assert!(
            a.contains("\nx_total 3\n") && a.contains("\ny_total 1\n"),
            "{a}"
        );
        assert!(b.contains("\nx_total 5\n") && !b.contains("y_total"), "{b}");
    }
}
