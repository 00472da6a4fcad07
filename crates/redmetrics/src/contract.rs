//! The metric contract: the one definition of the HTTP families every other part derives from.
//!
//! Names (from the prefix), types, label names, help texts, units, buckets and quantile
//! objectives live here, validated once when the contract is built. The middleware records
//! into these families; the dashboards, alert rules, manifests and the checker are generated
//! from the same value, so they cannot drift from what is exported.
//!
//! ```
//! use redmetrics::Contract;
//!
//! let c = Contract::new("reviewmaps").unwrap();
//! assert_eq!(c.requests().desc().name(), "reviewmaps_http_requests_total");
//! let l = c.labels();
//! assert_eq!(c.requests().labels(), [l.method.clone(), l.path.clone(), l.status.clone()]);
//! assert_eq!(c.families().count(), 6);
//! ```

use std::sync::Arc;
use std::time::Duration;

use crate::collect::{Desc, DescError, MetricType, Unit};
use crate::metrics::{Buckets, NativeError, NativeLayout, Objective, SummaryError, SummaryShape};
use crate::name::{LabelName, NameError, Prefix};

/// Label name of the HTTP method (`GET`, …, `OTHER`).
const METHOD: &str = "method";
/// Label name of the route template (`/v1/campaigns/{id}`).
const PATH: &str = "path";
/// Label name of the status code the client received.
const STATUS: &str = "status";
/// Label name of the build version on `<prefix>_build_info`.
const VERSION: &str = "version";

/// The `path` value of requests that matched no route: one value, never the raw path.
/// Example: [`middleware`](crate::middleware).
pub const UNMATCHED: &str = "__unmatched__";
/// Status recorded for a request whose future was dropped before a response existed
/// (client went away, or an outer timeout fired): nginx's "client closed request".
/// Example: [`middleware`](crate::middleware).
pub const STATUS_CLIENT_CLOSED: u16 = 499;
/// Status recorded for a handler that panicked before producing a response.
/// Example: [`middleware`](crate::middleware).
pub const STATUS_PANIC: u16 = 500;

/// What a family is for: a tag on each [`FamilySpec`] for code that iterates
/// [`Contract::families`]. To reach one family, use its accessor ([`Contract::requests`], …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
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

/// Type-specific layout of a family, validated when the contract was built.
///
/// ```
/// use redmetrics::{Contract, contract::Shape};
///
/// let c = Contract::new("shop").unwrap();
/// let Shape::Histogram(buckets) = c.duration().shape() else { unreachable!() };
/// assert_eq!(buckets.bounds().len(), 11);
/// ```
#[derive(Debug, Clone)]
pub enum Shape {
    /// A counter.
    Counter,
    /// A gauge.
    Gauge,
    /// A histogram with these bucket bounds (`+Inf` implied).
    Histogram(Arc<Buckets>),
    /// A summary with these objectives over a sliding window.
    Summary(Arc<SummaryShape>),
}

impl PartialEq for Shape {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Counter, Self::Counter) | (Self::Gauge, Self::Gauge) => true,
            (Self::Histogram(a), Self::Histogram(b)) => a == b,
            (Self::Summary(a), Self::Summary(b)) => {
                a.objectives() == b.objectives() && a.window() == b.window()
            }
            _ => false,
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Shape {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Shape", 3)?;
        match self {
            Self::Counter => st.serialize_field("type", "counter")?,
            Self::Gauge => st.serialize_field("type", "gauge")?,
            Self::Histogram(b) => {
                st.serialize_field("type", "histogram")?;
                st.serialize_field("buckets", b.bounds())?;
            }
            Self::Summary(shape) => {
                st.serialize_field("type", "summary")?;
                st.serialize_field("objectives", shape.objectives())?;
                st.serialize_field("window_seconds", &shape.window().as_secs_f64())?;
            }
        }
        st.end()
    }
}

/// One family of the contract: what it is for, its description, label names and shape.
///
/// ```
/// use redmetrics::Contract;
///
/// let c = Contract::new("shop").unwrap();
/// assert_eq!(c.in_flight().desc().name(), "shop_http_active_connections");
/// assert!(c.in_flight().labels().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FamilySpec {
    role: Role,
    desc: Desc,
    labels: Vec<LabelName>,
    shape: Shape,
}

impl FamilySpec {
    /// What the family is for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Name, help, type and unit.
    pub fn desc(&self) -> &Desc {
        &self.desc
    }

    /// Label names, in exposition order.
    pub fn labels(&self) -> &[LabelName] {
        &self.labels
    }

    /// Buckets or objectives.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }
}

/// The label names the HTTP families use, each defined once.
///
/// ```
/// use redmetrics::Contract;
///
/// let c = Contract::new("shop").unwrap();
/// assert_eq!(c.labels().status.as_str(), "status");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HttpLabels {
    /// The HTTP method (`GET`, …, `OTHER`).
    pub method: LabelName,
    /// The route template (`/v1/campaigns/{id}`), or [`UNMATCHED`].
    pub path: LabelName,
    /// The status code the client received.
    pub status: LabelName,
    /// The build version on `<prefix>_build_info`.
    pub version: LabelName,
}

/// How request and response sizes are measured.
///
/// ```
/// use redmetrics::{Contract, contract::SizeMetrics, metrics::Buckets};
///
/// let c = Contract::builder("shop")
///     .sizes(SizeMetrics::Histogram(Buckets::new([1024.0, 65536.0]).unwrap()))
///     .build()
///     .unwrap();
/// assert_eq!(c.response_size().desc().kind(), redmetrics::collect::MetricType::Histogram);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum SizeMetrics {
    /// Summaries with the contract's objectives (the default): exact per-instance
    /// quantiles, but they cannot be aggregated across pods.
    Summary,
    /// Histograms with these byte bounds: aggregate across pods with `histogram_quantile`,
    /// at the price of bucket-resolution quantiles.
    Histogram(Buckets),
}

impl SizeMetrics {
    /// Histograms over [`Buckets::DEFAULT_BYTES`] (64 B to 4 MiB, ×4 apart).
    pub fn default_histogram() -> Self {
        Self::Histogram(Buckets::default_bytes())
    }
}

/// Where request latency is also kept per response status: a closed set, chosen with
/// [`ContractBuilder::duration_by_status`].
///
/// Each (method, path, status) with its own histogram costs one more histogram per request
/// counter (BENCHMARKS.md, "Latency per status": bytes per label set and instructions per
/// request). The default, [`Otlp`](Self::Otlp), is what a user of OpenTelemetry expects:
/// the stable HTTP conventions make `http.response.status_code` (and `error.type` for server
/// errors) attributes of `http.server.request.duration`, and the Prometheus exposition stays
/// what it was.
///
/// ```
/// use redmetrics::{Contract, contract::DurationByStatus};
///
/// let c = Contract::builder("shop").duration_by_status(DurationByStatus::Everywhere).build().unwrap();
/// let labels: Vec<&str> = c.duration().labels().iter().map(|l| l.as_str()).collect();
/// assert_eq!(labels, ["method", "path", "status"]);
/// assert_eq!(Contract::new("shop").unwrap().duration_by_status(), DurationByStatus::Otlp);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum DurationByStatus {
    /// One latency histogram per (method, path) only: least memory; OTLP latency points
    /// carry no status.
    Off,
    /// Also one per (method, path, status), exported over OTLP with
    /// `http.response.status_code`; the Prometheus histogram stays per (method, path).
    #[default]
    Otlp,
    /// Per (method, path, status) over OTLP and on the Prometheus histogram too, which then
    /// carries the `status` label (queries that `sum by (le, …)` are unaffected).
    Everywhere,
}

impl DurationByStatus {
    /// Whether a histogram is kept per (method, path, status).
    pub fn records(self) -> bool {
        self != Self::Off
    }

    /// The words the CLI's `[apps.metrics] duration_by_status` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Otlp => "otlp",
            Self::Everywhere => "everywhere",
        }
    }
}

/// The validated shapes the live series are created with, so that nothing re-validates or
/// falls back later.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub(crate) duration: Arc<Buckets>,
    pub(crate) sizes: SizeLayout,
    /// Native buckets on the duration histogram, when on.
    pub(crate) native: Option<NativeLayout>,
    /// Where latency is kept per status too.
    pub(crate) by_status: DurationByStatus,
}

/// How the live size series record: one variant per [`SizeMetrics`].
#[derive(Debug, Clone)]
pub(crate) enum SizeLayout {
    Summary(Arc<SummaryShape>),
    Histogram(Arc<Buckets>),
}

impl SizeLayout {
    fn shape(&self) -> Shape {
        match self {
            Self::Summary(s) => Shape::Summary(Arc::clone(s)),
            Self::Histogram(b) => Shape::Histogram(Arc::clone(b)),
        }
    }
}

impl PartialEq for SizeLayout {
    fn eq(&self, other: &Self) -> bool {
        self.shape() == other.shape()
    }
}

/// Why a contract could not be built.
/// Example: [`ContractBuilder`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContractError {
    /// The prefix breaks Prometheus' naming rules.
    #[error("invalid prefix: {0}")]
    Prefix(#[from] NameError),
    /// A family name or help text breaks a convention.
    #[error(transparent)]
    Desc(#[from] DescError),
    /// Summary objectives or window are invalid.
    #[error("invalid summary settings: {0}")]
    Summary(#[from] SummaryError),
    /// The native bucket limit is out of range.
    #[error("invalid native histogram settings: {0}")]
    Native(#[from] NativeError),
}

/// The six HTTP families of one application prefix: the RED metrics plus in-flight requests
/// and build info.
///
/// ```
/// use redmetrics::Contract;
///
/// let c = Contract::new("reviewmaps").unwrap();
/// assert_eq!(c.duration().desc().name(), "reviewmaps_http_request_duration_seconds");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Contract {
    prefix: Prefix,
    labels: HttpLabels,
    #[cfg_attr(feature = "serde", serde(skip))]
    layout: Layout,
    requests: FamilySpec,
    duration: FamilySpec,
    in_flight: FamilySpec,
    request_size: FamilySpec,
    response_size: FamilySpec,
    build_info: FamilySpec,
}

impl Contract {
    /// The default RED contract for `prefix`: latency buckets .005 … 10 s, size summaries
    /// with quantiles 0.5/0.9/0.99 over 10 minutes.
    pub fn new(prefix: &str) -> Result<Self, ContractError> {
        Self::builder(prefix).build()
    }

    /// A builder starting from the defaults of [`Contract::new`].
    pub fn builder(prefix: &str) -> ContractBuilder {
        ContractBuilder {
            prefix: prefix.to_owned(),
            duration_buckets: Buckets::default_seconds(),
            sizes: SizeMetrics::Summary,
            objectives: Objective::DEFAULTS.to_vec(),
            window: Duration::from_secs(600),
            native: true,
            native_max_buckets: NativeLayout::DEFAULT_MAX_BUCKETS,
            by_status: DurationByStatus::default(),
        }
    }

    /// The application prefix.
    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    /// The label names of the HTTP families.
    pub fn labels(&self) -> &HttpLabels {
        &self.labels
    }

    /// `<p>_http_requests_total`: counter {method, path, status}.
    pub fn requests(&self) -> &FamilySpec {
        &self.requests
    }

    /// `<p>_http_request_duration_seconds`: histogram {method, path}.
    pub fn duration(&self) -> &FamilySpec {
        &self.duration
    }

    /// `<p>_http_active_connections`: gauge of requests in flight, no labels.
    pub fn in_flight(&self) -> &FamilySpec {
        &self.in_flight
    }

    /// `<p>_http_request_size_bytes`: summary or histogram {method, path}.
    pub fn request_size(&self) -> &FamilySpec {
        &self.request_size
    }

    /// `<p>_http_response_size_bytes`: summary or histogram {method, path}.
    pub fn response_size(&self) -> &FamilySpec {
        &self.response_size
    }

    /// `<p>_build_info{version}`: always 1.
    pub fn build_info(&self) -> &FamilySpec {
        &self.build_info
    }

    /// Where request latency is also kept per response status (see [`DurationByStatus`]).
    pub fn duration_by_status(&self) -> DurationByStatus {
        self.layout.by_status
    }

    /// The duration histogram's native buckets (protobuf exposition only), `None` when
    /// switched off with [`ContractBuilder::native_histogram`].
    ///
    /// ```
    /// use redmetrics::Contract;
    ///
    /// let on = Contract::new("shop").unwrap();
    /// assert_eq!(on.native_histogram().map(|n| n.max_buckets()), Some(160));
    /// let off = Contract::builder("shop").native_histogram(false).build().unwrap();
    /// assert!(off.native_histogram().is_none());
    /// ```
    pub fn native_histogram(&self) -> Option<NativeLayout> {
        self.layout.native
    }

    /// The validated shapes the live series are created with.
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// All six families, in exposition order.
    pub fn families(&self) -> impl Iterator<Item = &FamilySpec> {
        [
            &self.requests,
            &self.duration,
            &self.in_flight,
            &self.request_size,
            &self.response_size,
            &self.build_info,
        ]
        .into_iter()
    }
}

/// Builds a [`Contract`] from the defaults of [`Contract::new`]; every setter is optional.
///
/// ```
/// use std::time::Duration;
/// use redmetrics::{Contract, contract::SizeMetrics, metrics::Buckets};
///
/// let c = Contract::builder("shop")
///     .duration_buckets(Buckets::new([0.05, 0.5, 5.0]).unwrap())
///     .sizes(SizeMetrics::default_histogram())
///     .summary_window(Duration::from_secs(300))
///     .build()
///     .unwrap();
/// assert_eq!(c.prefix().as_str(), "shop");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ContractBuilder {
    prefix: String,
    duration_buckets: Buckets,
    sizes: SizeMetrics,
    objectives: Vec<Objective>,
    window: Duration,
    native: bool,
    native_max_buckets: u32,
    by_status: DurationByStatus,
}

impl ContractBuilder {
    /// Where request latency is also kept per response status (default
    /// [`DurationByStatus::Otlp`]; see there for the cost and the choice).
    pub fn duration_by_status(mut self, by_status: DurationByStatus) -> Self {
        self.by_status = by_status;
        self
    }

    /// Whether the duration histogram also keeps native (exponential) buckets, exposed in
    /// the protobuf format next to the classic ones (default: on). Text and OpenMetrics
    /// output is the same either way; off saves about 1.8 KiB per (method, path).
    pub fn native_histogram(mut self, on: bool) -> Self {
        self.native = on;
        self
    }

    /// The most native buckets a scrape exposes per series, 4 to 224 (default 160): above
    /// it, neighbouring buckets are merged (see [`NativeLayout`]).
    pub fn native_max_buckets(mut self, max: u32) -> Self {
        self.native_max_buckets = max;
        self
    }

    /// Latency buckets in seconds (default: [`Buckets::DEFAULT_SECONDS`], .005 … 10).
    pub fn duration_buckets(mut self, buckets: Buckets) -> Self {
        self.duration_buckets = buckets;
        self
    }

    /// Summaries (default) or histograms for request and response sizes.
    pub fn sizes(mut self, sizes: SizeMetrics) -> Self {
        self.sizes = sizes;
        self
    }

    /// Size summaries' quantiles and error targets (default: [`Objective::DEFAULTS`]).
    pub fn objectives(mut self, objectives: impl Into<Vec<Objective>>) -> Self {
        self.objectives = objectives.into();
        self
    }

    /// Size summaries' sliding window (default 10 minutes, at least 5 seconds).
    pub fn summary_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Validates the prefix and summary settings and builds the contract.
    pub fn build(self) -> Result<Contract, ContractError> {
        let prefix = Prefix::new(self.prefix)?;
        let label = |n: &str| LabelName::new(n).map_err(ContractError::Prefix);
        let labels = HttpLabels {
            method: label(METHOD)?,
            path: label(PATH)?,
            status: label(STATUS)?,
            version: label(VERSION)?,
        };
        let route_labels = vec![labels.method.clone(), labels.path.clone()];
        let request_labels = vec![
            labels.method.clone(),
            labels.path.clone(),
            labels.status.clone(),
        ];

        let (size_type, sizes) = match self.sizes {
            SizeMetrics::Summary => (
                MetricType::Summary,
                SizeLayout::Summary(Arc::new(SummaryShape::new(&self.objectives, self.window)?)),
            ),
            SizeMetrics::Histogram(buckets) => (
                MetricType::Histogram,
                SizeLayout::Histogram(Arc::new(buckets)),
            ),
        };
        let native = NativeLayout::new(self.native_max_buckets)?;
        let layout = Layout {
            duration: Arc::new(self.duration_buckets),
            sizes,
            native: self.native.then_some(native),
            by_status: self.by_status,
        };
        let duration_labels = match self.by_status {
            DurationByStatus::Everywhere => request_labels.clone(),
            DurationByStatus::Off | DurationByStatus::Otlp => route_labels.clone(),
        };

        let desc =
            |suffix: &str, help: &str, kind| Desc::new(prefix.join(suffix).as_str(), help, kind);
        let spec = |role, desc, labels, shape| FamilySpec {
            role,
            desc,
            labels,
            shape,
        };
        Ok(Contract {
            requests: spec(
                Role::Requests,
                desc(
                    "http_requests_total",
                    "Total number of HTTP requests",
                    MetricType::Counter,
                )?,
                request_labels,
                Shape::Counter,
            ),
            duration: spec(
                Role::Duration,
                desc(
                    "http_request_duration_seconds",
                    "HTTP request latency in seconds, from arrival to the end of the response body",
                    MetricType::Histogram,
                )?
                .with_unit(Unit::Seconds)?,
                duration_labels,
                Shape::Histogram(Arc::clone(&layout.duration)),
            ),
            in_flight: spec(
                Role::InFlight,
                desc(
                    "http_active_connections",
                    "HTTP requests in flight: received and not yet done sending their response",
                    MetricType::Gauge,
                )?,
                Vec::new(),
                Shape::Gauge,
            ),
            request_size: spec(
                Role::RequestSize,
                desc(
                    "http_request_size_bytes",
                    "HTTP request body size in bytes, counted as the body streams in",
                    size_type,
                )?
                .with_unit(Unit::Bytes)?,
                route_labels.clone(),
                layout.sizes.shape(),
            ),
            response_size: spec(
                Role::ResponseSize,
                desc(
                    "http_response_size_bytes",
                    "HTTP response body size in bytes, counted as the body streams out",
                    size_type,
                )?
                .with_unit(Unit::Bytes)?,
                route_labels,
                layout.sizes.shape(),
            ),
            build_info: spec(
                Role::BuildInfo,
                desc(
                    "build_info",
                    "Build information of the running service; the value is always 1",
                    MetricType::Gauge,
                )?,
                vec![labels.version.clone()],
                Shape::Gauge,
            ),
            prefix,
            labels,
            layout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two shapes are equal exactly when a checker may take one family for the other: same
    /// kind, and for histograms the same bounds, for summaries the same objectives and window.
    #[test]
    fn shapes_are_equal_only_in_kind_and_layout() {
        let buckets = |b: &[f64]| Shape::Histogram(Arc::new(Buckets::new(b.to_vec()).unwrap()));
        let summary = |q: f64, secs: u64| {
            let o = Objective {
                quantile: q,
                error: 0.01,
            };
            Shape::Summary(Arc::new(
                SummaryShape::new(&[o], std::time::Duration::from_secs(secs)).unwrap(),
            ))
        };
        let shapes = [
            Shape::Counter,
            Shape::Gauge,
            buckets(&[0.1, 1.0]),
            buckets(&[0.1, 2.0]),
            summary(0.5, 600),
            summary(0.9, 600),
            summary(0.5, 60),
        ];
        for (i, a) in shapes.iter().enumerate() {
            for (j, b) in shapes.iter().enumerate() {
                assert_eq!(a == b, i == j, "shape {i} against shape {j}");
            }
        }
        assert!(buckets(&[0.1, 1.0]) == buckets(&[0.1, 1.0]));
        assert!(summary(0.5, 600) == summary(0.5, 600));
    }

    /// The words `as_str` gives (the CLI's `duration_by_status` values) are the serialised
    /// names, one per mode.
    #[cfg(feature = "serde")]
    #[test]
    fn duration_by_status_words_are_its_serialised_names() {
        for mode in [
            DurationByStatus::Off,
            DurationByStatus::Otlp,
            DurationByStatus::Everywhere,
        ] {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()), "{mode:?}");
        }
    }

    /// Contracts built alike are equal; one whose size summaries differ (window, objectives)
    /// or that keeps sizes as histograms is not, though its families' names are the same.
    #[test]
    fn contracts_differ_by_their_size_layout() {
        let built = |b: ContractBuilder| b.build().unwrap();
        let base = built(Contract::builder("app"));
        assert_eq!(base, built(Contract::builder("app")));
        let others = [
            built(Contract::builder("app").summary_window(Duration::from_secs(60))),
            built(Contract::builder("app").objectives([Objective {
                quantile: 0.5,
                error: 0.05,
            }])),
            built(Contract::builder("app").sizes(SizeMetrics::default_histogram())),
        ];
        for (i, other) in others.iter().enumerate() {
            assert_ne!(&base, other, "contract {i}");
        }
    }

    #[test]
    fn the_default_contract_is_the_five_http_families_and_build_info() {
        let c = Contract::new("reviewmaps").unwrap();
        let names: Vec<&str> = c.families().map(|f| f.desc().name()).collect();
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
        let roles: Vec<Role> = c.families().map(FamilySpec::role).collect();
        assert_eq!(
            roles,
            [
                Role::Requests,
                Role::Duration,
                Role::InFlight,
                Role::RequestSize,
                Role::ResponseSize,
                Role::BuildInfo,
            ]
        );
        let Shape::Histogram(b) = c.duration().shape() else {
            panic!("duration is a histogram");
        };
        assert_eq!(
            b.bounds(),
            [
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
            ]
        );
        assert_eq!(c.request_size().desc().kind(), MetricType::Summary);
        assert_eq!(c.requests().desc().help(), "Total number of HTTP requests");
        fn label_names(f: &FamilySpec) -> Vec<&str> {
            f.labels().iter().map(LabelName::as_str).collect()
        }
        assert_eq!(label_names(c.requests()), ["method", "path", "status"]);
        assert_eq!(label_names(c.duration()), ["method", "path"]);
        assert_eq!(label_names(c.build_info()), ["version"]);
        assert!(c.in_flight().labels().is_empty());
    }

    #[test]
    fn bad_input_is_refused_with_the_rule() {
        let e = Contract::new("review-maps").unwrap_err().to_string();
        assert!(
            e.contains("invalid prefix") && e.contains("[a-zA-Z_]"),
            "{e}"
        );
        let e = Contract::builder("x")
            .summary_window(Duration::from_secs(1))
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("summary") && e.contains("at least 5 seconds"),
            "{e}"
        );
    }

    #[test]
    fn size_histograms_are_an_option() {
        let c = Contract::builder("ojeomneo")
            .sizes(SizeMetrics::default_histogram())
            .build()
            .unwrap();
        assert_eq!(c.response_size().desc().kind(), MetricType::Histogram);
        assert_eq!(
            c.request_size().shape(),
            &Shape::Histogram(Arc::new(Buckets::default_bytes()))
        );
        assert_eq!(c.prefix().as_str(), "ojeomneo");
        assert_ne!(c, Contract::new("ojeomneo").unwrap());
    }

    #[test]
    fn native_buckets_are_on_by_default_and_can_be_limited_or_off() {
        let c = Contract::builder("x")
            .native_max_buckets(20)
            .build()
            .unwrap();
        assert_eq!(c.native_histogram(), Some(NativeLayout::new(20).unwrap()));
        assert_ne!(c, Contract::new("x").unwrap());
        let e = Contract::builder("x")
            .native_max_buckets(1000)
            .build()
            .unwrap_err()
            .to_string();
        assert!(e.contains("native") && e.contains("4..=224"), "{e}");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serializes_shapes_as_plain_data() {
        let c = Contract::new("shop").unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["duration"]["shape"]["type"], "histogram");
        assert_eq!(v["duration"]["shape"]["buckets"][0], 0.005);
        assert_eq!(v["request_size"]["shape"]["window_seconds"], 600.0);
        assert_eq!(v["requests"]["role"], "requests");
        assert!(v.get("layout").is_none());
    }
}
