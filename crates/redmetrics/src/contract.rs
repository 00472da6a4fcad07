//! The metric contract: the one definition of the HTTP families every other part derives from.
//!
//! Names (from the prefix), types, label names, help texts, units, buckets and quantile
//! objectives live here as plain data. The middleware records into these families; the
//! dashboards, alert rules, manifests and the checker are generated from the same value, so
//! they cannot drift from what is exported. Defaults reproduce the seed plan exactly.
//!
//! ```
//! use redmetrics::contract::{Contract, Role};
//!
//! let c = Contract::seed("reviewmaps").unwrap();
//! let requests = c.family(Role::Requests);
//! assert_eq!(requests.desc.name(), "reviewmaps_http_requests_total");
//! assert_eq!(requests.label_names(), ["method", "path", "status"]);
//! assert_eq!(c.families().count(), 6);
//! ```

use std::time::Duration;

use serde::Serialize;

use crate::collect::{Desc, DescError, MetricType, Unit};
use crate::metrics::{Buckets, BucketsError, Objective, SummaryError, SummaryShape};
use crate::name::{LabelName, NameError, Prefix};

/// Label name of the HTTP method (`GET`, …, `OTHER`).
pub const METHOD: &str = "method";
/// Label name of the route template (`/v1/campaigns/{id}`).
pub const PATH: &str = "path";
/// Label name of the status code the client received.
pub const STATUS: &str = "status";
/// Label name of the build version on `<prefix>_build_info`.
pub const VERSION: &str = "version";

/// The `path` value of requests that matched no route: one value, never the raw path.
pub const UNMATCHED: &str = "__unmatched__";
/// Status recorded for a request whose future was dropped before a response existed
/// (client went away, or an outer timeout fired): nginx's "client closed request".
pub const STATUS_CLIENT_CLOSED: u16 = 499;
/// Status recorded for a handler that panicked before producing a response.
pub const STATUS_PANIC: u16 = 500;

/// What a family is for; generators look families up by role, never by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `<p>_http_requests_total`: counter {method, path, status}.
    Requests,
    /// `<p>_http_request_duration_seconds`: histogram {method, path}.
    Duration,
    /// `<p>_http_active_connections`: gauge of requests in flight, no labels.
    InFlight,
    /// `<p>_http_request_size_bytes`: summary (or histogram) {method, path}.
    RequestSize,
    /// `<p>_http_response_size_bytes`: summary (or histogram) {method, path}.
    ResponseSize,
    /// `<p>_build_info{version}`: always 1.
    BuildInfo,
}

/// Type-specific layout of a family.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Shape {
    /// A counter.
    Counter,
    /// A gauge.
    Gauge,
    /// A histogram with these finite upper bounds (`+Inf` implied).
    Histogram {
        /// Upper bounds, ascending.
        buckets: Vec<f64>,
    },
    /// A summary with these objectives over a sliding window.
    Summary {
        /// Quantiles and their error targets, ascending.
        objectives: Vec<Objective>,
        /// The sliding window, in seconds.
        #[serde(rename = "window_seconds", serialize_with = "secs")]
        window: Duration,
    },
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// One family of the contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilySpec {
    /// What the family is for.
    pub role: Role,
    /// Name, help, type and unit.
    pub desc: Desc,
    /// Label names, in exposition order.
    pub labels: Vec<LabelName>,
    /// Buckets or objectives.
    pub shape: Shape,
}

impl FamilySpec {
    /// The label names as strings.
    pub fn label_names(&self) -> Vec<&str> {
        self.labels.iter().map(LabelName::as_str).collect()
    }
}

/// How request and response sizes are measured.
#[derive(Debug, Clone, PartialEq)]
pub enum SizeMetrics {
    /// Summaries with the contract's objectives (the seed's choice): exact per-instance
    /// quantiles, but they cannot be aggregated across pods.
    Summary,
    /// Histograms with these byte bounds: aggregate across pods with `histogram_quantile`,
    /// at the price of bucket-resolution quantiles.
    Histogram(Vec<f64>),
}

impl SizeMetrics {
    /// Byte buckets from 64 B to 16 MiB, ×4 apart: a sensible default for API bodies.
    pub fn default_histogram() -> Self {
        Self::Histogram((0..9).map(|i| 64.0 * 4f64.powi(i)).collect())
    }
}

/// Why a contract could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContractError {
    /// The prefix breaks Prometheus' naming rules.
    #[error("invalid prefix: {0}")]
    Prefix(#[from] NameError),
    /// A family name or help text breaks a convention.
    #[error(transparent)]
    Desc(#[from] DescError),
    /// A bucket layout is invalid.
    #[error("invalid buckets for {family}: {source}")]
    Buckets {
        /// Which family.
        family: &'static str,
        /// Why.
        source: BucketsError,
    },
    /// Summary objectives or window are invalid.
    #[error("invalid summary settings: {0}")]
    Summary(#[from] SummaryError),
}

/// The six HTTP families for one application prefix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contract {
    prefix: Prefix,
    families: Vec<FamilySpec>,
}

impl Contract {
    /// The seed plan's contract for `prefix`, with all defaults.
    pub fn seed(prefix: &str) -> Result<Self, ContractError> {
        Self::builder(prefix).build()
    }

    /// A builder starting from the seed defaults.
    pub fn builder(prefix: &str) -> ContractBuilder {
        ContractBuilder {
            prefix: prefix.to_owned(),
            duration_buckets: Buckets::SEED_SECONDS.to_vec(),
            sizes: SizeMetrics::Summary,
            objectives: Objective::SEED.to_vec(),
            window: Duration::from_secs(600),
        }
    }

    /// The application prefix.
    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    /// The family playing `role`.
    pub fn family(&self, role: Role) -> &FamilySpec {
        // Every contract holds one family per role, in `Role` order.
        &self.families[role as usize]
    }

    /// All families, in exposition order.
    pub fn families(&self) -> impl Iterator<Item = &FamilySpec> {
        self.families.iter()
    }
}

/// Builds a [`Contract`] from the seed defaults; every setter is optional.
#[derive(Debug, Clone)]
#[must_use]
pub struct ContractBuilder {
    prefix: String,
    duration_buckets: Vec<f64>,
    sizes: SizeMetrics,
    objectives: Vec<Objective>,
    window: Duration,
}

impl ContractBuilder {
    /// Latency buckets in seconds (default: the seed's .005 … 10).
    pub fn duration_buckets(mut self, bounds: impl Into<Vec<f64>>) -> Self {
        self.duration_buckets = bounds.into();
        self
    }

    /// Summaries (default) or histograms for request and response sizes.
    pub fn size_metrics(mut self, sizes: SizeMetrics) -> Self {
        self.sizes = sizes;
        self
    }

    /// Summary quantiles and error targets (default: the seed's 0.5/0.9/0.99).
    pub fn objectives(mut self, objectives: impl Into<Vec<Objective>>) -> Self {
        self.objectives = objectives.into();
        self
    }

    /// The summaries' sliding window (default 10 minutes).
    pub fn summary_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Validates everything and builds the contract.
    pub fn build(self) -> Result<Contract, ContractError> {
        let prefix = Prefix::new(self.prefix)?;
        let label = |n: &str| LabelName::new(n).map_err(ContractError::Prefix);
        let route_labels = vec![label(METHOD)?, label(PATH)?];
        let mut request_labels = route_labels.clone();
        request_labels.push(label(STATUS)?);

        Buckets::new(self.duration_buckets.clone()).map_err(|source| ContractError::Buckets {
            family: "duration",
            source,
        })?;
        let shape = SummaryShape::new(&self.objectives, self.window)?;
        let size_shape = match &self.sizes {
            SizeMetrics::Summary => Shape::Summary {
                objectives: shape.objectives().to_vec(),
                window: self.window,
            },
            SizeMetrics::Histogram(bounds) => {
                Buckets::new(bounds.clone()).map_err(|source| ContractError::Buckets {
                    family: "sizes",
                    source,
                })?;
                Shape::Histogram {
                    buckets: bounds.clone(),
                }
            }
        };
        let size_type = match size_shape {
            Shape::Histogram { .. } => MetricType::Histogram,
            _ => MetricType::Summary,
        };

        let desc =
            |suffix: &str, help: &str, kind| Desc::new(prefix.join(suffix).as_str(), help, kind);
        let families = vec![
            FamilySpec {
                role: Role::Requests,
                desc: desc(
                    "http_requests_total",
                    "Total number of HTTP requests",
                    MetricType::Counter,
                )?,
                labels: request_labels,
                shape: Shape::Counter,
            },
            FamilySpec {
                role: Role::Duration,
                desc: desc(
                    "http_request_duration_seconds",
                    "HTTP request latency in seconds, from arrival to the end of the response body",
                    MetricType::Histogram,
                )?
                .with_unit(Unit::Seconds)?,
                labels: route_labels.clone(),
                shape: Shape::Histogram {
                    buckets: self.duration_buckets,
                },
            },
            FamilySpec {
                role: Role::InFlight,
                desc: desc(
                    "http_active_connections",
                    "HTTP requests in flight: received and not yet done sending their response",
                    MetricType::Gauge,
                )?,
                labels: Vec::new(),
                shape: Shape::Gauge,
            },
            FamilySpec {
                role: Role::RequestSize,
                desc: desc(
                    "http_request_size_bytes",
                    "HTTP request body size in bytes, counted as the body streams in",
                    size_type,
                )?
                .with_unit(Unit::Bytes)?,
                labels: route_labels.clone(),
                shape: size_shape.clone(),
            },
            FamilySpec {
                role: Role::ResponseSize,
                desc: desc(
                    "http_response_size_bytes",
                    "HTTP response body size in bytes, counted as the body streams out",
                    size_type,
                )?
                .with_unit(Unit::Bytes)?,
                labels: route_labels,
                shape: size_shape,
            },
            FamilySpec {
                role: Role::BuildInfo,
                desc: desc(
                    "build_info",
                    "Build information of the running service; the value is always 1",
                    MetricType::Gauge,
                )?,
                labels: vec![label(VERSION)?],
                shape: Shape::Gauge,
            },
        ];
        Ok(Contract { prefix, families })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_defaults_match_the_plan() {
        let c = Contract::seed("reviewmaps").unwrap();
        let names: Vec<&str> = c.families().map(|f| f.desc.name()).collect();
        assert_eq!(
            names,
            [
                "reviewmaps_http_requests_total",
                "reviewmaps_http_request_duration_seconds",
                "reviewmaps_http_active_connections",
                "reviewmaps_http_request_size_bytes",
                "reviewmaps_http_response_size_bytes",
                "reviewmaps_build_info",
            ]
        );
        for role in [
            Role::Requests,
            Role::Duration,
            Role::InFlight,
            Role::RequestSize,
            Role::ResponseSize,
            Role::BuildInfo,
        ] {
            assert_eq!(c.family(role).role, role);
        }
        assert_eq!(
            c.family(Role::Duration).shape,
            Shape::Histogram {
                buckets: vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
                ]
            }
        );
        assert_eq!(c.family(Role::RequestSize).desc.kind(), MetricType::Summary);
        assert_eq!(
            c.family(Role::Requests).desc.help(),
            "Total number of HTTP requests"
        );
        assert!(c.family(Role::InFlight).labels.is_empty());
    }

    #[test]
    fn bad_input_is_refused_with_the_rule() {
        let e = Contract::seed("review-maps").unwrap_err().to_string();
        assert!(
            e.contains("invalid prefix") && e.contains("[a-zA-Z_]"),
            "{e}"
        );
        let e = Contract::builder("x")
            .duration_buckets([1.0, 0.5])
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("duration") && e.contains("strictly increase"),
            "{e}"
        );
    }

    #[test]
    fn size_histograms_are_an_option() {
        let c = Contract::builder("ojeomneo")
            .size_metrics(SizeMetrics::default_histogram())
            .build()
            .unwrap();
        assert_eq!(
            c.family(Role::ResponseSize).desc.kind(),
            MetricType::Histogram
        );
        assert_eq!(c.prefix().as_str(), "ojeomneo");
    }
}
