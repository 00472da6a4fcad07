//! The handle applications configure: contract, registry, layer and endpoint of one app.

use std::sync::Arc;
use std::time::Duration;

use http::Method;

#[cfg(feature = "axum")]
use super::axum_router::AxumLayer;
use super::layer::MetricsLayer;
use super::method::MethodLabel;
use super::route::Classify;
use super::series::{Exemplars, HttpCollector, Shared, Source};
use super::trace::TraceSource;
use super::view::SeriesView;
use crate::collect::TraceContext;
use crate::contract::Contract;
use crate::endpoint::MetricsEndpoint;
use crate::process::ProcessCollector;
use crate::registry::{Registry, RegistryError};

/// Why [`HttpMetrics`] could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpMetricsError {
    /// Registering the families failed (usually a name already in the registry).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The metrics path is not an absolute path.
    #[error("metrics path `{0}` must start with `/` (e.g. `/metrics` or `/ojeomneo/metrics`)")]
    MetricsPath(String),
    /// No route classifier was given and the `axum` feature, whose `MatchedPath` is the
    /// default, is off: every request would be recorded under the unmatched route.
    #[error(
        "no route classifier: without the `axum` feature nothing reads a request's route template, and every request would be recorded as `path=\"__unmatched__\"`; give one with `HttpMetricsBuilder::classifier` (a closure from `RequestParts` to `Option<&'static str>`), or turn on the `axum` feature to read axum's `MatchedPath`"
    )]
    NoClassifier,
}

/// The HTTP metrics of one application: its contract, registry, layer and endpoint.
///
/// Cheap to clone. Two instances with different prefixes live side by side in one process;
/// nothing is global. Building one allocates its series tables for the rest of the process
/// (metrics outlive every request), so requests reference them without a reference count.
///
/// ```
/// use redmetrics::{Contract, HttpMetrics};
///
/// let reviewmaps = HttpMetrics::builder(Contract::new("reviewmaps").unwrap()).build().unwrap();
/// let ojeomneo = HttpMetrics::builder(Contract::new("ojeomneo").unwrap())
///     .metrics_path("/ojeomneo/metrics")
///     .build()
///     .unwrap();
/// assert_eq!(ojeomneo.metrics_path(), "/ojeomneo/metrics");
/// # let _ = reviewmaps;
/// ```
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    /// Leaked on build: series live as long as the process, and requests reference them
    /// without touching a reference count.
    shared: &'static Shared,
    registry: Registry,
    metrics_path: Arc<str>,
}

impl HttpMetrics {
    /// Starts configuring metrics for `contract`.
    pub fn builder(contract: Contract) -> HttpMetricsBuilder {
        HttpMetricsBuilder {
            contract,
            version: "unknown".to_owned(),
            registry: None,
            process: true,
            metrics_path: "/metrics".to_owned(),
            exclude: Vec::new(),
            classifier: None,
            max_label_sets: None,
            max_label_value_len: None,
            exemplars: true,
            counter_exemplars: true,
            trace_source: None,
        }
    }

    /// The tower layer that records every request.
    pub fn layer(&self) -> MetricsLayer {
        MetricsLayer::new(self.shared)
    }

    /// The layer for axum's `Router` (`.layer(metrics.axum_layer())`): records exactly what
    /// [`layer`](Self::layer) records, and hands the router its own body type so that it
    /// allocates less per request (see [`AxumLayer`]).
    #[cfg(feature = "axum")]
    pub fn axum_layer(&self) -> AxumLayer {
        AxumLayer::new(self.shared)
    }

    /// A tower service answering scrapes of this registry.
    pub fn endpoint(&self) -> MetricsEndpoint {
        MetricsEndpoint::new(self.registry.clone())
    }

    /// Where the endpoint is meant to be mounted (excluded from measurement).
    pub fn metrics_path(&self) -> &str {
        &self.metrics_path
    }

    /// The registry holding the HTTP families; register application metrics here too.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The contract the families follow.
    pub fn contract(&self) -> &Contract {
        self.shared.contract()
    }

    /// Requests in flight right now.
    pub fn in_flight(&self) -> i64 {
        self.shared.in_flight()
    }

    /// A read-only view of the HTTP series (what a scrape would render), for readers in the
    /// process such as the live page. Lock-free; never slows the layer.
    pub fn series(&self) -> SeriesView<'static> {
        SeriesView::new(self.shared)
    }

    /// Records one finished request without the layer: for servers that are not tower
    /// services, and for benchmarks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use redmetrics::{Contract, HttpMetrics, middleware::Completed};
    ///
    /// let m = HttpMetrics::builder(Contract::new("shop").unwrap()).build().unwrap();
    /// m.record(&Completed {
    ///     method: &http::Method::GET,
    ///     route: Some("/v1/items/{id}"),
    ///     status: 200,
    ///     took: Duration::from_millis(3),
    ///     request_bytes: 0,
    ///     response_bytes: 512,
    /// });
    /// ```
    pub fn record(&self, request: &Completed<'_>) {
        self.record_traced(request, None);
    }

    /// [`record`](Self::record) with the trace the request belongs to, which becomes the
    /// exemplar of its latency bucket and request counter (when exemplars are on).
    pub fn record_traced(&self, request: &Completed<'_>, trace: Option<&TraceContext>) {
        let now = crate::monotonic::now();
        let route = self
            .shared
            .route(MethodLabel::of(request.method), request.route);
        self.shared.request_size(route, request.request_bytes, now);
        self.shared.done(
            route,
            request.status,
            u64::try_from(request.took.as_nanos()).unwrap_or(u64::MAX),
            now,
            request.response_bytes,
            trace,
        );
    }
}

/// The classifier of a builder given none: axum's `MatchedPath` with feature `axum`, none
/// without it (a layer would record every request as unmatched, so `build` refuses).
fn default_classifier() -> Option<Box<dyn Classify>> {
    #[cfg(feature = "axum")]
    {
        Some(Box::new(super::route::MatchedPathRoute))
    }
    #[cfg(not(feature = "axum"))]
    {
        None
    }
}

/// One finished request, for [`HttpMetrics::record`] (see its example).
#[derive(Debug, Clone, Copy)]
pub struct Completed<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The route template; `None` records [`UNMATCHED`](crate::contract::UNMATCHED).
    pub route: Option<&'a str>,
    /// The status the client received.
    pub status: u16,
    /// From arrival to the end of the response body.
    pub took: Duration,
    /// Request body bytes read.
    pub request_bytes: u64,
    /// Response body bytes sent.
    pub response_bytes: u64,
}

/// Configures [`HttpMetrics`]; every setter is optional.
#[must_use]
pub struct HttpMetricsBuilder {
    contract: Contract,
    version: String,
    registry: Option<Registry>,
    process: bool,
    metrics_path: String,
    exclude: Vec<String>,
    classifier: Option<Box<dyn Classify>>,
    max_label_sets: Option<usize>,
    max_label_value_len: Option<usize>,
    exemplars: bool,
    counter_exemplars: bool,
    trace_source: Option<Box<dyn TraceSource>>,
}

impl std::fmt::Debug for HttpMetricsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetricsBuilder")
            .field("prefix", self.contract.prefix())
            .field("metrics_path", &self.metrics_path)
            .field("exclude", &self.exclude)
            .finish_non_exhaustive()
    }
}

impl HttpMetricsBuilder {
    /// The `version` label of `<prefix>_build_info` (default `unknown`); pass
    /// `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Registers into this registry instead of a new one.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Whether to register `process_*` metrics too (default true). Turn off for the second
    /// of two instances sharing a registry.
    pub fn process_metrics(mut self, on: bool) -> Self {
        self.process = on;
        self
    }

    /// The path the endpoint is served at (default `/metrics`); never measured.
    pub fn metrics_path(mut self, path: impl Into<String>) -> Self {
        self.metrics_path = path.into();
        self
    }

    /// Routes not to measure, matched exactly against the route template or the request path
    /// (never as a substring).
    pub fn exclude<I, S>(mut self, routes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude.extend(routes.into_iter().map(Into::into));
        self
    }

    /// How requests map to route templates. With feature `axum` (on by default) the default
    /// is axum's `MatchedPath` (`MatchedPathRoute`); without it there is none, and
    /// [`build`](Self::build) fails with [`HttpMetricsError::NoClassifier`] until one is
    /// given.
    pub fn classifier(mut self, classifier: impl Classify) -> Self {
        self.classifier = Some(Box::new(classifier));
        self
    }

    /// Bound on label sets per family (default: the registry's, 2000).
    pub fn max_label_sets(mut self, bound: usize) -> Self {
        self.max_label_sets = Some(bound);
        self
    }

    /// Cap, in bytes (at least 1), on the `path` label value (default: the registry's,
    /// [`DEFAULT_MAX_LABEL_VALUE_LEN`](crate::registry::DEFAULT_MAX_LABEL_VALUE_LEN)). A new
    /// route past it (a raw URL from a path classifier) is folded into the `__overflow__`
    /// series and counted in `redmetrics_cardinality_overflow_total`, like one past the bound.
    pub fn max_label_value_len(mut self, bytes: usize) -> Self {
        self.max_label_value_len = Some(bytes.max(1));
        self
    }

    /// Whether to keep exemplars (default on): the latest traced request of each latency
    /// bucket (and of each `requests_total` series, see
    /// [`counter_exemplars`](Self::counter_exemplars)), written in OpenMetrics scrapes as
    /// `# {trace_id="…",span_id="…"} value timestamp` so a dashboard links a latency spike
    /// to its trace. Off, no trace is read and scrapes carry none. The storage is made the
    /// first time a label set sees a traced request (after that, recording allocates
    /// nothing): 48 bytes per latency bucket (576 with the default buckets) per (method,
    /// path) and 48 per (method, path, status); nothing for label sets never traced.
    pub fn exemplars(mut self, on: bool) -> Self {
        self.exemplars = on;
        self
    }

    /// Whether `requests_total` samples carry exemplars too (default on; value 1, the traced
    /// request counted). Prometheus 2.42 accepts exemplars on counters' `_total` samples.
    pub fn counter_exemplars(mut self, on: bool) -> Self {
        self.counter_exemplars = on;
        self
    }

    /// Where a request's trace comes from (default [`W3cTraceparent`](super::W3cTraceparent): the sampled W3C
    /// `traceparent` header). Give the trace context your tracing stack holds instead; see
    /// [`TraceSource`].
    pub fn trace_context(mut self, source: impl TraceSource) -> Self {
        self.trace_source = Some(Box::new(source));
        self
    }

    /// Creates the series tables and registers the families. Fails on a metrics path that
    /// is not absolute, a family already in the registry, or (without feature `axum`) no
    /// [`classifier`](Self::classifier).
    pub fn build(self) -> Result<HttpMetrics, HttpMetricsError> {
        if !self.metrics_path.starts_with('/') {
            return Err(HttpMetricsError::MetricsPath(self.metrics_path));
        }
        let classifier = self
            .classifier
            .or_else(default_classifier)
            .ok_or(HttpMetricsError::NoClassifier)?;
        let registry = self.registry.unwrap_or_default();
        let bound = self.max_label_sets.unwrap_or(registry.max_label_sets());
        let mut excluded: Vec<Box<str>> = self.exclude.into_iter().map(Into::into).collect();
        excluded.push(self.metrics_path.as_str().into());
        let max_value_len = self
            .max_label_value_len
            .unwrap_or(registry.max_label_value_len());
        let shared = Shared::new(
            self.contract,
            &self.version,
            bound,
            max_value_len,
            excluded,
            classifier,
            Exemplars {
                source: self
                    .exemplars
                    .then(|| self.trace_source.map_or(Source::W3c, Source::Custom)),
                counter: self.counter_exemplars,
            },
        );
        let shared: &'static Shared = Box::leak(Box::new(shared));
        registry.register(HttpCollector(shared))?;
        if self.process {
            registry.register(ProcessCollector::new())?;
        }
        Ok(HttpMetrics {
            shared,
            registry,
            metrics_path: self.metrics_path.into(),
        })
    }
}
