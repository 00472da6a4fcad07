//! Shared pieces of the benchmarks: one three-route axum router, bare, with a body-wrapping
//! no-op layer, with redmetrics (its default contract's five families, summaries on), and with
//! axum-prometheus; and a way to drive a request through it without a runtime.

pub mod axum_costs;
pub mod facade;

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::routing::get;
use futures_util::FutureExt;
use http::Request;
use http_body_util::{BodyExt, Full};
use redmetrics::Contract;
use redmetrics::HttpMetrics;
use tower::{Service, ServiceExt};

/// The request mix: one path per route.
pub const PATHS: [&str; 3] = ["/v1/campaigns", "/v1/campaigns/42", "/v1/healthcheck"];

/// Headers a real client sends (curl's), for the modes that measure header lookups.
pub const HEADERS: [(&str, &str); 3] = [
    ("host", "127.0.0.1:3000"),
    ("user-agent", "curl/7.88.1"),
    ("accept", "*/*"),
];

/// [`HEADERS`] plus a sampled W3C `traceparent` (the specification's example): a traced
/// request.
pub const TRACED_HEADERS: [(&str, &str); 4] = [
    HEADERS[0],
    HEADERS[1],
    HEADERS[2],
    (
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ),
];

/// What the router is measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// No middleware.
    Bare,
    /// A layer that wraps both bodies and records nothing: axum's floor for body middleware.
    WrapBodies,
    /// redmetrics with its default contract's five families, summaries on (`Router::layer(metrics.layer())`,
    /// the generic tower layer).
    Redmetrics,
    /// The same through `Router::layer(metrics.axum_layer())`, the layer for axum's router.
    RedmetricsAxumLayer,
    /// axum-prometheus 0.10 with its defaults.
    AxumPrometheus,
}

impl Variant {
    /// Parses a command-line name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "bare" => Self::Bare,
            "wrap-bodies" => Self::WrapBodies,
            "redmetrics" => Self::Redmetrics,
            "redmetrics-axum-layer" => Self::RedmetricsAxumLayer,
            "axum-prometheus" => Self::AxumPrometheus,
            _ => return None,
        })
    }
}

/// The three routes, without middleware.
pub fn routes() -> Router {
    Router::new()
        .route("/v1/campaigns", get(|| async { "[]" }))
        .route("/v1/campaigns/{id}", get(|| async { "{}" }))
        .route("/v1/healthcheck", get(|| async { "ok" }))
}

/// axum-prometheus installs a process-wide recorder, so its layer can be made only once.
fn axum_prometheus() -> &'static (
    axum_prometheus::PrometheusMetricLayer<'static>,
    axum_prometheus::metrics_exporter_prometheus::PrometheusHandle,
) {
    static PAIR: OnceLock<(
        axum_prometheus::PrometheusMetricLayer<'static>,
        axum_prometheus::metrics_exporter_prometheus::PrometheusHandle,
    )> = OnceLock::new();
    PAIR.get_or_init(|| {
        // Its upkeep task needs a Tokio runtime, which stays alive with the process.
        static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        let rt = RUNTIME.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime")
        });
        let _guard = rt.enter();
        axum_prometheus::PrometheusMetricLayer::pair()
    })
}

/// The redmetrics instance of this process.
pub fn redmetrics() -> &'static HttpMetrics {
    static METRICS: OnceLock<HttpMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        HttpMetrics::builder(Contract::new("reviewmaps").expect("valid prefix"))
            .build()
            .expect("metrics")
    })
}

/// The three-route router with `variant`, its `/metrics` route where it has one, and
/// `with_state` applied as `axum::serve` does.
pub fn router(variant: Variant) -> Router {
    let r = match variant {
        Variant::Bare => routes(),
        Variant::WrapBodies => routes().layer(redmetrics_testkit::WrapBodies),
        Variant::Redmetrics => {
            let m = redmetrics();
            routes()
                .layer(m.layer())
                .route_service(m.metrics_path(), m.endpoint())
        }
        Variant::RedmetricsAxumLayer => {
            let m = redmetrics();
            routes()
                .layer(m.axum_layer())
                .route_service(m.metrics_path(), m.endpoint())
        }
        Variant::AxumPrometheus => {
            let (layer, handle) = axum_prometheus();
            let handle = handle.clone();
            routes()
                .layer(layer.clone())
                .route("/metrics", get(move || async move { handle.render() }))
        }
    };
    r.with_state(())
}

fn respond() -> http::Response<Full<Bytes>> {
    http::Response::new(Full::new(Bytes::from_static(b"[]")))
}

/// A plain tower handler with concrete bodies.
pub fn tower_bare()
-> impl Service<Request<Full<Bytes>>, Response = http::Response<Full<Bytes>>, Error = Infallible> {
    tower::service_fn(|_: Request<Full<Bytes>>| async { Ok::<_, Infallible>(respond()) })
}

/// The same handler behind the redmetrics layer (a classifier maps paths to templates).
pub fn tower_layered() -> impl Service<
    Request<Full<Bytes>>,
    Response = http::Response<redmetrics::middleware::ResponseBody<Full<Bytes>>>,
    Error = Infallible,
> {
    tower_layered_with(true)
}

/// [`tower_layered`] with exemplars on or off.
pub fn tower_layered_with(
    exemplars: bool,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = http::Response<redmetrics::middleware::ResponseBody<Full<Bytes>>>,
    Error = Infallible,
> {
    tower_layered_contract(exemplars, Contract::new("plain").expect("valid prefix"))
}

/// [`tower_layered`] with latency per status as `by_status` says (the default keeps it for
/// OTLP; `Off` is the layer as it was before issue 18).
pub fn tower_layered_by_status(
    by_status: redmetrics::contract::DurationByStatus,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = http::Response<redmetrics::middleware::ResponseBody<Full<Bytes>>>,
    Error = Infallible,
> {
    let contract = Contract::builder("plain")
        .duration_by_status(by_status)
        .build()
        .expect("valid prefix");
    tower_layered_contract(true, contract)
}

fn tower_layered_contract(
    exemplars: bool,
    contract: Contract,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = http::Response<redmetrics::middleware::ResponseBody<Full<Bytes>>>,
    Error = Infallible,
> {
    let metrics = HttpMetrics::builder(contract)
        .exemplars(exemplars)
        .classifier(
            |req: redmetrics::middleware::RequestParts<'_>| -> Option<&'static str> {
                match req.uri.path() {
                    "/v1/campaigns" => Some("/v1/campaigns"),
                    "/v1/healthcheck" => Some("/v1/healthcheck"),
                    _ => Some("/v1/campaigns/{id}"),
                }
            },
        )
        .build()
        .expect("metrics");
    tower::Layer::layer(
        &metrics.layer(),
        tower::service_fn(
            |_: Request<redmetrics::middleware::RequestBody<Full<Bytes>>>| async {
                Ok::<_, Infallible>(respond())
            },
        ),
    )
}

/// One request through a plain tower service, body read to the end.
pub fn call_tower<S, B>(svc: &mut S, path: &'static str)
where
    S: Service<Request<Full<Bytes>>, Response = http::Response<B>, Error = Infallible>,
    B: http_body::Body + Unpin,
    B::Error: std::fmt::Debug,
{
    call_tower_with(svc, path, &[]);
}

/// [`call_tower`] with request headers.
pub fn call_tower_with<S, B>(
    svc: &mut S,
    path: &'static str,
    headers: &[(&'static str, &'static str)],
) where
    S: Service<Request<Full<Bytes>>, Response = http::Response<B>, Error = Infallible>,
    B: http_body::Body + Unpin,
    B::Error: std::fmt::Debug,
{
    let mut req = Request::get(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = svc
        .call(req.body(Full::new(Bytes::new())).expect("valid request"))
        .now_or_never()
        .expect("handler completes immediately")
        .expect("infallible");
    let mut body = res.into_body();
    while let Some(frame) = body.frame().now_or_never().expect("body is ready") {
        black_box(frame.expect("body frame"));
    }
}

/// One request through `svc` and its body read to the end, polled directly: the handlers
/// never wait, so no runtime or network is involved.
pub fn call(svc: &mut Router, path: &'static str) {
    call_service(svc, path);
}

/// [`call`] for any service taking axum's request type (a router wrapped from outside).
pub fn call_service<S, B>(svc: &mut S, path: &'static str)
where
    S: Service<Request<Body>, Response = http::Response<B>, Error = Infallible>,
    B: http_body::Body + Unpin,
    B::Error: std::fmt::Debug,
{
    let ready = ServiceExt::<Request<Body>>::ready(svc)
        .now_or_never()
        .expect("router is always ready")
        .expect("infallible");
    let res = ready
        .call(
            Request::get(path)
                .body(Body::empty())
                .expect("valid request"),
        )
        .now_or_never()
        .expect("handlers complete immediately")
        .expect("infallible");
    let mut body = res.into_body();
    while let Some(frame) = body.frame().now_or_never().expect("body is ready") {
        black_box(frame.expect("body frame"));
    }
}
