//! OTLP/HTTP export against a real receiver: an axum server on loopback that decodes every
//! push with OpenTelemetry's own generated protobuf types (`opentelemetry-proto`), gunzipping
//! when asked. What it receives is compared with the Prometheus endpoint's scrape of the same
//! traffic, parsed by `redmetrics-parse` (never by the exporter's own conversion).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value::Value as Any};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, metric::Data, number_data_point::Value as Num,
};
use prost::Message;
use redmetrics::contract::{DurationByStatus, SizeMetrics};
use redmetrics::metrics::Buckets;
use redmetrics::otlp::{OtlpExporter, Temporality};
use redmetrics::{Contract, HttpMetrics};
use redmetrics_parse::{Exposition, parse_text};

/// Generous bound on anything that should happen within a few export intervals.
const PATIENCE: Duration = Duration::from_secs(60);
/// Generous bound on one request of the app: a request delayed by the exporter would blow it.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// The receiver

/// One push as received.
#[derive(Clone)]
struct Push {
    request: ExportMetricsServiceRequest,
    headers: HeaderMap,
}

#[derive(Clone, Default)]
struct Inbox {
    pushes: Arc<Mutex<Vec<Push>>>,
    /// 0: accept; otherwise answer with this status (and `Retry-After: 1`).
    fail_with: Arc<AtomicU16>,
    refused: Arc<AtomicU16>,
}

async fn receive(
    State(inbox): State<Inbox>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let fail = inbox.fail_with.load(Ordering::SeqCst);
    if fail != 0 {
        inbox.refused.fetch_add(1, Ordering::SeqCst);
        let status = StatusCode::from_u16(fail).unwrap();
        let location = "http://127.0.0.1:9/elsewhere/v1/metrics";
        return (
            status,
            [("retry-after", "1"), ("location", location)],
            "try later",
        )
            .into_response();
    }
    let raw = if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .take(64 << 20)
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        body.to_vec()
    };
    let request = ExportMetricsServiceRequest::decode(&raw[..]).unwrap();
    inbox.pushes.lock().unwrap().push(Push { request, headers });
    (
        [("content-type", "application/x-protobuf")],
        ExportMetricsServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

/// A receiver serving until `stop` is sent; binding `at` (port 0 for any).
struct Receiver {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(inbox: &Inbox, at: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(at).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/v1/metrics", post(receive))
            .with_state(inbox.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Closes the port: no listener, no open connection.
    async fn close(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap();
    }
}

/// A TLS listener for `axum::serve`: the handshake is done in `accept` (a failed one is
/// skipped, as a refused client).
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// Serves the receiver over https with this certificate; returns its address.
async fn start_tls_receiver(inbox: &Inbox, cert: Vec<u8>, key: Vec<u8>) -> SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = TlsListener {
        tcp,
        acceptor: common::tls_acceptor(cert, key),
    };
    let app = Router::new()
        .route("/v1/metrics", post(receive))
        .with_state(inbox.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

impl Inbox {
    fn pushes(&self) -> Vec<Push> {
        self.pushes.lock().unwrap().clone()
    }

    /// Waits for a push `ok` accepts; returns it and its index.
    async fn wait_for(&self, what: &str, ok: impl FnMut(&Push) -> bool) -> (usize, Push) {
        self.wait_for_from(0, what, ok).await
    }

    /// Waits for a push from index `skip` on that `ok` accepts; returns it and its index.
    async fn wait_for_from(
        &self,
        skip: usize,
        what: &str,
        mut ok: impl FnMut(&Push) -> bool,
    ) -> (usize, Push) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut seen = skip;
        loop {
            let pushes = self.pushes();
            for (i, p) in pushes.iter().enumerate().skip(seen) {
                if ok(p) {
                    return (i, p.clone());
                }
            }
            seen = pushes.len();
            assert!(
                tokio::time::Instant::now() < deadline,
                "no push with {what} within {PATIENCE:?} ({seen} received)"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading a push

fn attr(kv: &[KeyValue], key: &str) -> Option<String> {
    kv.iter().find(|k| k.key == key).map(|k| {
        match k.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Any::StringValue(s)) => s.clone(),
            Some(Any::IntValue(i)) => i.to_string(),
            Some(Any::BoolValue(b)) => b.to_string(),
            other => panic!("unexpected attribute value {other:?}"),
        }
    })
}

fn all_metrics(p: &Push) -> &[Metric] {
    let rm = &p.request.resource_metrics;
    assert_eq!(rm.len(), 1);
    assert_eq!(rm[0].scope_metrics.len(), 1);
    assert_eq!(
        rm[0].scope_metrics[0].scope.as_ref().unwrap().name,
        "redmetrics"
    );
    &rm[0].scope_metrics[0].metrics
}

fn metric<'a>(p: &'a Push, name: &str) -> Option<&'a Metric> {
    all_metrics(p).iter().find(|m| m.name == name)
}

fn resource(p: &Push, key: &str) -> Option<String> {
    attr(
        &p.request.resource_metrics[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes,
        key,
    )
}

/// (method, route or "", status) → requests, from `redmetrics.http.server.requests`.
type Key = (String, String, String);

fn key(kv: &[KeyValue], status: bool) -> Key {
    (
        attr(kv, "http.request.method").unwrap(),
        attr(kv, "http.route").unwrap_or_default(),
        if status {
            attr(kv, "http.response.status_code").unwrap()
        } else {
            String::new()
        },
    )
}

fn request_counts(p: &Push, temporality: AggregationTemporality) -> BTreeMap<Key, u64> {
    let Some(m) = metric(p, "redmetrics.http.server.requests") else {
        return BTreeMap::new();
    };
    assert_eq!(m.unit, "{request}");
    let Some(Data::Sum(sum)) = &m.data else {
        panic!("requests is not a sum")
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, temporality as i32);
    sum.data_points
        .iter()
        .map(|d| {
            let Some(Num::AsInt(n)) = d.value else {
                panic!("not an integer")
            };
            let status = attr(&d.attributes, "http.response.status_code").unwrap();
            assert_eq!(
                attr(&d.attributes, "error.type"),
                (status.starts_with('5')).then(|| status.clone()),
                "error.type on 5xx only"
            );
            (key(&d.attributes, true), u64::try_from(n).unwrap())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Reading the scrape, independently of the exporter

/// What the OpenTelemetry conventions call a Prometheus label set of the contract.
fn otel_key(method: &str, path: &str, status: &str) -> Key {
    let method = if method == "OTHER" { "_OTHER" } else { method };
    let route = if path == "__unmatched__" { "" } else { path };
    (method.to_owned(), route.to_owned(), status.to_owned())
}

fn scrape_counts(e: &Exposition, prefix: &str) -> BTreeMap<Key, u64> {
    let f = e
        .family(&format!("{prefix}_http_requests_total"))
        .expect("requests family");
    f.samples
        .iter()
        .map(|s| {
            (
                otel_key(
                    s.label("method").unwrap(),
                    s.label("path").unwrap(),
                    s.label("status").unwrap(),
                ),
                s.value as u64,
            )
        })
        .collect()
}

/// Per (method, route): the `le` bucket values (cumulative), `_sum` and `_count` of a
/// histogram family, or `_sum`/`_count` of a summary.
#[derive(Debug, Default, Clone, PartialEq)]
struct Dist {
    buckets: Vec<(f64, u64)>,
    sum: f64,
    count: u64,
}

fn scrape_dists(e: &Exposition, family: &str) -> BTreeMap<Key, Dist> {
    scrape_dists_by(e, family, false)
}

/// [`scrape_dists`], per (method, route, status) when `by_status` (the `status` label).
fn scrape_dists_by(e: &Exposition, family: &str, by_status: bool) -> BTreeMap<Key, Dist> {
    let f = e.family(family).expect(family);
    let mut out: BTreeMap<Key, Dist> = BTreeMap::new();
    for s in &f.samples {
        let status = if by_status {
            s.label("status").unwrap()
        } else {
            assert_eq!(s.label("status"), None, "{family}: no status label");
            ""
        };
        let k = otel_key(s.label("method").unwrap(), s.label("path").unwrap(), status);
        let d = out.entry(k).or_default();
        if s.name.ends_with("_bucket") {
            let le = s.label("le").unwrap();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            d.buckets.push((le, s.value as u64));
        } else if s.name.ends_with("_sum") {
            d.sum = s.value;
        } else if s.name.ends_with("_count") {
            d.count = s.value as u64;
        }
    }
    out
}

/// A histogram metric of a push as the same `Dist`s (bucket counts made cumulative), per
/// (method, route) with no status attribute.
fn push_histograms(
    m: &Metric,
    unit: &str,
    temporality: AggregationTemporality,
) -> BTreeMap<Key, Dist> {
    push_histograms_by(m, unit, temporality, false)
}

/// [`push_histograms`]; with `by_status`, every point must carry
/// `http.response.status_code` (and `error.type`, the same code, exactly on 5xx) and is
/// keyed by it.
fn push_histograms_by(
    m: &Metric,
    unit: &str,
    temporality: AggregationTemporality,
    by_status: bool,
) -> BTreeMap<Key, Dist> {
    assert_eq!(m.unit, unit, "{}", m.name);
    let Some(Data::Histogram(h)) = &m.data else {
        panic!("{} is not a histogram", m.name)
    };
    assert_eq!(h.aggregation_temporality, temporality as i32, "{}", m.name);
    h.data_points
        .iter()
        .map(|d| {
            let status = attr(&d.attributes, "http.response.status_code");
            if by_status {
                let status = status.clone().expect("a status on every latency point");
                assert_eq!(
                    attr(&d.attributes, "error.type"),
                    status.starts_with('5').then(|| status.clone()),
                    "error.type on 5xx only"
                );
            } else {
                assert_eq!(status, None, "no status on per-route histograms");
            }
            assert_eq!(d.bucket_counts.len(), d.explicit_bounds.len() + 1);
            let mut acc = 0;
            let buckets = d
                .explicit_bounds
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .zip(&d.bucket_counts)
                .map(|(le, n)| {
                    acc += n;
                    (le, acc)
                })
                .collect();
            assert_eq!(acc, d.count);
            (
                key(&d.attributes, by_status),
                Dist {
                    buckets,
                    sum: d.sum.unwrap(),
                    count: d.count,
                },
            )
        })
        .collect()
}

/// `redmetrics_otlp_dropped_exports_total{reason="<reason>"}` of a scrape.
fn dropped_for(e: &Exposition, reason: &str) -> f64 {
    e.family("redmetrics_otlp_dropped_exports_total")
        .expect("the dropped-exports family")
        .samples
        .iter()
        .find(|s| s.label("reason") == Some(reason))
        .unwrap_or_else(|| panic!("no reason=\"{reason}\" sample"))
        .value
}

/// Per-status distributions summed per (method, route): what a per-route histogram holds.
fn merge_statuses(by_status: &BTreeMap<Key, Dist>) -> BTreeMap<Key, Dist> {
    let mut out: BTreeMap<Key, Dist> = BTreeMap::new();
    for ((method, route, _), d) in by_status {
        let m = out
            .entry((method.clone(), route.clone(), String::new()))
            .or_insert_with(|| Dist {
                buckets: d.buckets.iter().map(|(le, _)| (*le, 0)).collect(),
                ..Dist::default()
            });
        for (acc, (_, n)) in m.buckets.iter_mut().zip(&d.buckets) {
            acc.1 += n;
        }
        m.sum += d.sum;
        m.count += d.count;
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn assert_dists_match(name: &str, got: &BTreeMap<Key, Dist>, want: &BTreeMap<Key, Dist>) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{name}: label sets"
    );
    for (k, w) in want {
        let g = &got[k];
        assert_eq!((g.count, &g.buckets), (w.count, &w.buckets), "{name} {k:?}");
        assert!(
            close(g.sum, w.sum),
            "{name} {k:?}: sum {} vs {}",
            g.sum,
            w.sum
        );
    }
}

// ---------------------------------------------------------------------------------------
// The app under test

fn app(metrics: &HttpMetrics) -> Router {
    Router::new()
        .route(
            "/v1/items",
            get(|| async { "all the items" }).post(|body: Bytes| async move {
                (StatusCode::CREATED, format!("stored {} bytes", body.len()))
            }),
        )
        .route(
            "/v1/items/{id}",
            get(
                |axum::extract::Path(id): axum::extract::Path<u32>| async move {
                    if id <= 10 {
                        Ok(format!("item {id}"))
                    } else {
                        Err(StatusCode::NOT_FOUND)
                    }
                },
            ),
        )
        .route(
            "/v1/fail",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(metrics.layer())
        .route_service(metrics.metrics_path(), metrics.endpoint())
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn call(
    client: &HttpClient,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &'static str,
) -> StatusCode {
    let req = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    let exchange = async {
        let res = client.request(req).await.unwrap();
        let status = res.status();
        res.into_body().collect().await.unwrap();
        status
    };
    tokio::time::timeout(REQUEST_DEADLINE, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path} took over {REQUEST_DEADLINE:?}"))
}

/// The scripted mix: several routes, methods and statuses, an unmatched path and an
/// unknown method; `rounds` times over.
async fn traffic(client: &HttpClient, addr: SocketAddr, rounds: usize) {
    for _ in 0..rounds {
        for (method, path, body) in [
            ("GET", "/v1/items", ""),
            ("GET", "/v1/items", ""),
            ("GET", "/v1/items/3", ""),
            ("GET", "/v1/items/99", ""),
            ("POST", "/v1/items", "a new item, 32 bytes of payload."),
            ("GET", "/v1/fail", ""),
            ("GET", "/no/such/page", ""),
            ("PURGE", "/v1/items", ""),
        ] {
            call(client, addr, method, path, body).await;
        }
    }
}

async fn scrape(client: &HttpClient, addr: SocketAddr) -> Exposition {
    let res = client
        .get(format!("http://{addr}/metrics").parse().unwrap())
        .await
        .unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    parse_text(&body).unwrap()
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Runs `between` until `ok` holds, at most [`PATIENCE`]; `what` says what was awaited.
async fn until(
    what: impl Fn() -> String,
    mut ok: impl FnMut() -> bool,
    mut between: impl AsyncFnMut(),
) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {PATIENCE:?}: {}",
            what()
        );
        between().await;
    }
}

async fn pause() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

// ---------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cumulative_export_matches_the_scrape_name_by_name() {
    let inbox = Inbox::default();
    let receiver = Receiver::start(&inbox, "127.0.0.1:0".parse().unwrap()).await;
    let metrics = HttpMetrics::builder(Contract::new("shop").unwrap())
        .version("1.2.3")
        .build()
        .unwrap();
    let exporter = OtlpExporter::builder(&metrics, format!("http://{}", receiver.addr))
        .interval(Duration::from_millis(200))
        .header("x-api-key", "s3cret")
        .service_version("1.2.3")
        .spawn()
        .unwrap();
    let addr = serve(app(&metrics)).await;
    let client = http_client();
    traffic(&client, addr, 3).await;
    let e = scrape(&client, addr).await;
    let want = scrape_counts(&e, "shop");
    assert_eq!(want.values().sum::<u64>(), 24, "the scripted mix: {want:?}");
    assert!(want.contains_key(&otel_key("GET", "/v1/items/{id}", "404")));
    assert!(want.contains_key(&otel_key("GET", "__unmatched__", "404")));
    assert!(want.keys().any(|k| k.0 == "_OTHER"), "{want:?}");

    let cumulative = AggregationTemporality::Cumulative;
    let (_, p) = inbox
        .wait_for("the scrape's request counts", |p| {
            request_counts(p, cumulative) == want
        })
        .await;

    // Transport: protobuf, gzip, the configured header.
    assert_eq!(p.headers["content-type"], "application/x-protobuf");
    assert_eq!(p.headers["content-encoding"], "gzip");
    assert_eq!(p.headers["x-api-key"], "s3cret");
    // Resource.
    assert_eq!(resource(&p, "service.name").as_deref(), Some("shop"));
    assert_eq!(resource(&p, "service.version").as_deref(), Some("1.2.3"));

    // Latency: the contract's buckets, per (method, route, status) by default
    // (DurationByStatus::Otlp): each status' count is exactly the scraped request counter,
    // and summed over statuses they are the scraped per-route histogram, bucket by bucket.
    let duration = metric(&p, "http.server.request.duration").unwrap();
    let got = push_histograms_by(duration, "s", cumulative, true);
    let Some(Data::Histogram(h)) = &duration.data else {
        unreachable!()
    };
    assert!(
        h.data_points
            .iter()
            .all(|d| d.explicit_bounds == Buckets::DEFAULT_SECONDS)
    );
    let counts: BTreeMap<Key, u64> = got.iter().map(|(k, d)| (k.clone(), d.count)).collect();
    assert_eq!(counts, want, "latency counts per status = requests_total");
    assert_dists_match(
        "duration",
        &merge_statuses(&got),
        &scrape_dists(&e, "shop_http_request_duration_seconds"),
    );
    // HTTP/1.1 in origin form: the version is known on every route, the scheme is not.
    for d in &h.data_points {
        if attr(&d.attributes, "otel.metric.overflow").is_some() {
            continue;
        }
        assert_eq!(
            attr(&d.attributes, "network.protocol.version").as_deref(),
            Some("1.1")
        );
        assert_eq!(attr(&d.attributes, "url.scheme"), None);
    }

    // In flight: a non-monotonic cumulative sum; nothing is in flight now.
    let active = metric(&p, "http.server.active_requests").unwrap();
    assert_eq!(active.unit, "{request}");
    let Some(Data::Sum(s)) = &active.data else {
        panic!("active_requests is not a sum")
    };
    assert!(!s.is_monotonic);
    assert_eq!(s.aggregation_temporality, cumulative as i32);
    assert_eq!(s.data_points[0].value, Some(Num::AsInt(0)));

    // Sizes: the contract's default summaries, exported as OTLP summaries.
    for (otel, prom) in [
        (
            "http.server.request.body.size",
            "shop_http_request_size_bytes",
        ),
        (
            "http.server.response.body.size",
            "shop_http_response_size_bytes",
        ),
    ] {
        let m = metric(&p, otel).unwrap();
        assert_eq!(m.unit, "By");
        let Some(Data::Summary(s)) = &m.data else {
            panic!("{otel} is not a summary")
        };
        let got: BTreeMap<Key, Dist> = s
            .data_points
            .iter()
            .map(|d| {
                let qs: Vec<f64> = d.quantile_values.iter().map(|q| q.quantile).collect();
                assert_eq!(qs, [0.5, 0.9, 0.99], "{otel}");
                (
                    key(&d.attributes, false),
                    Dist {
                        buckets: Vec::new(),
                        sum: d.sum,
                        count: d.count,
                    },
                )
            })
            .collect();
        assert_dists_match(otel, &got, &scrape_dists(&e, prom));
    }
    let posted =
        scrape_dists(&e, "shop_http_request_size_bytes")[&otel_key("POST", "/v1/items", "")].sum;
    assert_eq!(posted, 3.0 * 32.0, "request bytes are the bodies sent");

    // Every point of every push starts at the same instant, before its own time.
    let mut starts = Vec::new();
    for p in inbox.pushes() {
        for m in all_metrics(&p) {
            let times: Vec<(u64, u64)> = match m.data.as_ref().unwrap() {
                Data::Sum(s) => s
                    .data_points
                    .iter()
                    .map(|d| (d.start_time_unix_nano, d.time_unix_nano))
                    .collect(),
                Data::Histogram(h) => h
                    .data_points
                    .iter()
                    .map(|d| (d.start_time_unix_nano, d.time_unix_nano))
                    .collect(),
                Data::Summary(s) => s
                    .data_points
                    .iter()
                    .map(|d| (d.start_time_unix_nano, d.time_unix_nano))
                    .collect(),
                other => panic!("unexpected {other:?}"),
            };
            for (start, time) in times {
                assert!(start > 0 && start < time, "{}", m.name);
                starts.push(start);
            }
        }
    }
    assert!(
        starts.windows(2).all(|w| w[0] == w[1]),
        "one start: {starts:?}"
    );
    exporter.shutdown().await;
    receiver.close().await;
}

/// With `DurationByStatus::Everywhere` the scrape's duration histogram has the `status`
/// label and matches the OTLP points status by status; with `Off` neither output has one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_by_status_everywhere_and_off_agree_with_the_scrape() {
    for by in [DurationByStatus::Everywhere, DurationByStatus::Off] {
        let inbox = Inbox::default();
        let receiver = Receiver::start(&inbox, "127.0.0.1:0".parse().unwrap()).await;
        let contract = Contract::builder("shop")
            .duration_by_status(by)
            .build()
            .unwrap();
        let metrics = HttpMetrics::builder(contract).build().unwrap();
        let exporter = OtlpExporter::builder(&metrics, format!("http://{}", receiver.addr))
            .interval(Duration::from_millis(200))
            .spawn()
            .unwrap();
        let addr = serve(app(&metrics)).await;
        let client = http_client();
        traffic(&client, addr, 2).await;
        let e = scrape(&client, addr).await;
        let want = scrape_counts(&e, "shop");
        let cumulative = AggregationTemporality::Cumulative;
        let (_, p) = inbox
            .wait_for("the scrape's request counts", |p| {
                request_counts(p, cumulative) == want
            })
            .await;
        let everywhere = by == DurationByStatus::Everywhere;
        let duration = metric(&p, "http.server.request.duration").unwrap();
        let got = push_histograms_by(duration, "s", cumulative, everywhere);
        let scraped = scrape_dists_by(&e, "shop_http_request_duration_seconds", everywhere);
        assert_dists_match(&format!("duration {by:?}"), &got, &scraped);
        if everywhere {
            let counts: BTreeMap<Key, u64> =
                scraped.iter().map(|(k, d)| (k.clone(), d.count)).collect();
            assert_eq!(counts, want, "scraped _count per status = requests_total");
        }
        exporter.shutdown().await;
        receiver.close().await;
    }
}

/// Sends `request` as raw bytes (to choose its form and version) and reads the reply.
async fn raw(addr: SocketAddr, request: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.unwrap();
        String::from_utf8_lossy(&reply).into_owned()
    };
    tokio::time::timeout(REQUEST_DEADLINE, exchange)
        .await
        .expect("a raw request answered in time")
}

/// `url.scheme` and `network.protocol.version` come from the requests: a route reached only
/// in absolute form over HTTP/1.1 gets both; one reached over HTTP/1.0 and HTTP/1.1 in origin
/// form (no scheme in the URI) gets neither, rather than a guess.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_scheme_and_protocol_version_come_from_the_requests() {
    let inbox = Inbox::default();
    let receiver = Receiver::start(&inbox, "127.0.0.1:0".parse().unwrap()).await;
    let metrics = HttpMetrics::builder(Contract::new("shop").unwrap())
        .build()
        .unwrap();
    let exporter = OtlpExporter::builder(&metrics, format!("http://{}", receiver.addr))
        .interval(Duration::from_millis(200))
        .spawn()
        .unwrap();
    let addr = serve(app(&metrics)).await;
    for _ in 0..2 {
        let reply = raw(
            addr,
            format!(
                "GET http://{addr}/v1/fail HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        assert!(reply.starts_with("HTTP/1.1 500"), "{reply}");
    }
    let reply = raw(
        addr,
        format!("GET /v1/items/3 HTTP/1.0\r\nHost: {addr}\r\n\r\n"),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
    call(&http_client(), addr, "GET", "/v1/items/4", "").await;

    let cumulative = AggregationTemporality::Cumulative;
    let (_, p) = inbox
        .wait_for("both routes counted", |p| {
            let c = request_counts(p, cumulative);
            c.get(&otel_key("GET", "/v1/fail", "500")) == Some(&2)
                && c.get(&otel_key("GET", "/v1/items/{id}", "200")) == Some(&2)
        })
        .await;
    let duration = metric(&p, "http.server.request.duration").unwrap();
    let Some(Data::Histogram(h)) = &duration.data else {
        panic!("duration is not a histogram")
    };
    let point = |route: &str| {
        h.data_points
            .iter()
            .find(|d| attr(&d.attributes, "http.route").as_deref() == Some(route))
            .unwrap_or_else(|| panic!("no point for {route}: {h:?}"))
    };
    let absolute = &point("/v1/fail").attributes;
    assert_eq!(attr(absolute, "url.scheme").as_deref(), Some("http"));
    assert_eq!(
        attr(absolute, "network.protocol.version").as_deref(),
        Some("1.1")
    );
    assert_eq!(attr(absolute, "error.type").as_deref(), Some("500"));
    let mixed = &point("/v1/items/{id}").attributes;
    assert_eq!(attr(mixed, "url.scheme"), None);
    assert_eq!(attr(mixed, "network.protocol.version"), None);
    exporter.shutdown().await;
    receiver.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_never_delays_requests_and_counts_resume_without_a_gap() {
    let inbox = Inbox::default();
    let receiver = Receiver::start(&inbox, "127.0.0.1:0".parse().unwrap()).await;
    let at = receiver.addr;
    let metrics = HttpMetrics::builder(Contract::new("shop").unwrap())
        .build()
        .unwrap();
    let capacity = 2;
    let exporter = OtlpExporter::builder(&metrics, format!("http://{at}"))
        .interval(Duration::from_millis(100))
        .backoff(Duration::from_millis(100), Duration::from_millis(400))
        .queue_capacity(capacity)
        .spawn()
        .unwrap();
    let addr = serve(app(&metrics)).await;
    let client = http_client();
    let cumulative = AggregationTemporality::Cumulative;

    // Healthy.
    traffic(&client, addr, 1).await;
    let want = scrape_counts(&scrape(&client, addr).await, "shop");
    let (_, before) = inbox
        .wait_for("the first counts", |p| {
            request_counts(p, cumulative) == want
        })
        .await;
    let start = first_start(&before);

    // 503 with Retry-After: requests still complete, each under its deadline.
    inbox.fail_with.store(503, Ordering::SeqCst);
    let refused = inbox.refused.load(Ordering::SeqCst);
    traffic(&client, addr, 2).await;
    until(
        || "two refused exports".to_owned(),
        || inbox.refused.load(Ordering::SeqCst) >= refused + 2,
        async || traffic(&client, addr, 1).await,
    )
    .await;

    // A closed port: the same.
    receiver.close().await;
    let failed = exporter.stats().failed_attempts;
    traffic(&client, addr, 2).await;
    let stats = || format!("{:?}", exporter.stats());
    until(
        stats,
        || exporter.stats().failed_attempts >= failed + 2,
        pause,
    )
    .await;
    // Let the bounded queue overflow, so that what it holds was read after the traffic.
    let dropped = exporter.stats().dropped;
    until(
        stats,
        || exporter.stats().dropped >= dropped + capacity as u64,
        pause,
    )
    .await;
    let e = scrape(&client, addr).await;
    let want = scrape_counts(&e, "shop");
    let counted = dropped_for(&e, "queue_full");
    assert!(counted >= (dropped + capacity as u64) as f64, "{counted}");

    // Back on the same port: the first push carries the whole count, from the same start.
    let received = inbox.pushes().len();
    inbox.fail_with.store(0, Ordering::SeqCst);
    let receiver = Receiver::start(&inbox, at).await;
    let (i, first) = inbox
        .wait_for_from(received, "a push after recovery", |_| true)
        .await;
    assert_eq!(i, received, "the first push after recovery");
    assert_eq!(request_counts(&first, cumulative), want);
    assert_eq!(first_start(&first), start);
    assert!(exporter.stats().delivered >= 2);
    exporter.shutdown().await;
    receiver.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_a_receiver_with_a_private_ca() {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let inbox = Inbox::default();
    let at = start_tls_receiver(
        &inbox,
        made.cert.der().to_vec(),
        made.signing_key.serialize_der(),
    )
    .await;
    let metrics = HttpMetrics::builder(Contract::new("shop").unwrap())
        .build()
        .unwrap();
    let exporter = OtlpExporter::builder(&metrics, format!("https://{at}"))
        .interval(Duration::from_millis(100))
        .ca_certificates_pem(made.cert.pem())
        .spawn()
        .unwrap();
    let addr = serve(app(&metrics)).await;
    let client = http_client();
    traffic(&client, addr, 1).await;
    let want = scrape_counts(&scrape(&client, addr).await, "shop");
    inbox
        .wait_for("the counts over https", |p| {
            request_counts(p, AggregationTemporality::Cumulative) == want
        })
        .await;
    exporter.shutdown().await;

    // Not trusted without the CA (the system's roots do not hold it): nothing delivered.
    let received = inbox.pushes().len();
    let metrics = HttpMetrics::builder(Contract::new("other").unwrap())
        .build()
        .unwrap();
    let untrusting = OtlpExporter::builder(&metrics, format!("https://{at}"))
        .interval(Duration::from_millis(100))
        .backoff(Duration::from_millis(100), Duration::from_millis(200))
        .spawn()
        .unwrap();
    until(
        || format!("{:?}", untrusting.stats()),
        || untrusting.stats().failed_attempts >= 2,
        pause,
    )
    .await;
    assert_eq!(untrusting.stats().delivered, 0);
    assert_eq!(inbox.pushes().len(), received);
    let e = OtlpExporter::builder(&metrics, format!("https://{at}"))
        .ca_certificates_pem("not a certificate")
        .spawn()
        .unwrap_err()
        .to_string();
    assert!(e.contains("CERTIFICATE"), "{e}");
}

/// Start and time of the `active_requests` point, which every push carries.
fn active_times(p: &Push) -> (u64, u64) {
    let Some(Data::Sum(s)) = &metric(p, "http.server.active_requests").unwrap().data else {
        unreachable!()
    };
    (
        s.data_points[0].start_time_unix_nano,
        s.data_points[0].time_unix_nano,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_times_out_without_delaying_requests() {
    // Accepts connections and never reads or answers them (bounded: 64 kept).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            if held.len() < 64 {
                held.push(socket);
            }
        }
    });
    let metrics = HttpMetrics::builder(Contract::new("shop").unwrap())
        .build()
        .unwrap();
    let exporter = OtlpExporter::builder(&metrics, format!("http://{at}"))
        .interval(Duration::from_millis(100))
        .timeout(Duration::from_millis(200))
        .backoff(Duration::from_millis(100), Duration::from_millis(200))
        .spawn()
        .unwrap();
    let addr = serve(app(&metrics)).await;
    let client = http_client();
    until(
        || format!("{:?}", exporter.stats()),
        || exporter.stats().failed_attempts >= 3,
        async || traffic(&client, addr, 1).await,
    )
    .await;
    assert_eq!(exporter.stats().delivered, 0);
    let want = scrape_counts(&scrape(&client, addr).await, "shop");
    assert!(want.values().sum::<u64>() >= 8, "{want:?}");
}

fn first_start(p: &Push) -> u64 {
    let Some(Data::Sum(s)) = &metric(p, "redmetrics.http.server.requests").unwrap().data else {
        unreachable!()
    };
    s.data_points[0].start_time_unix_nano
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_export_tiles_the_counts_even_past_refused_exports() {
    let inbox = Inbox::default();
    let receiver = Receiver::start(&inbox, "127.0.0.1:0".parse().unwrap()).await;
    let contract = Contract::builder("shop")
        .sizes(SizeMetrics::default_histogram())
        .build()
        .unwrap();
    let metrics = HttpMetrics::builder(contract).build().unwrap();
    let exporter = OtlpExporter::builder(&metrics, format!("http://{}", receiver.addr))
        .interval(Duration::from_millis(100))
        .temporality(Temporality::Delta)
        .gzip(false)
        .spawn()
        .unwrap();
    let addr = serve(app(&metrics)).await;
    let client = http_client();
    // Three bursts; the receiver refuses (400) the exports of the second for good. Those
    // are dropped, and their counts arrive with the next delta accepted.
    for round in 0..3 {
        if round == 1 {
            inbox.fail_with.store(400, Ordering::SeqCst);
        }
        traffic(&client, addr, 1).await;
        if round == 1 {
            until(
                || "two refused exports".to_owned(),
                || inbox.refused.load(Ordering::SeqCst) >= 2,
                pause,
            )
            .await;
            inbox.fail_with.store(0, Ordering::SeqCst);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let e = scrape(&client, addr).await;
    let want = scrape_counts(&e, "shop");
    let dropped = dropped_for(&e, "rejected");
    assert!(dropped >= 2.0, "refused exports are counted: {dropped}");
    assert!(exporter.stats().dropped >= 2);
    assert_eq!(exporter.stats().failed_attempts, 0, "a 400 is not retried");
    let delta = AggregationTemporality::Delta;
    let total = |pushes: &[Push]| {
        let mut sum: BTreeMap<Key, u64> = BTreeMap::new();
        for p in pushes {
            for (k, n) in request_counts(p, delta) {
                *sum.entry(k).or_default() += n;
            }
        }
        sum
    };
    until(
        || format!("{:?} vs {want:?}", total(&inbox.pushes())),
        || total(&inbox.pushes()) == want,
        pause,
    )
    .await;
    let pushes = inbox.pushes();
    assert!(
        pushes
            .iter()
            .all(|p| p.headers.get("content-encoding").is_none())
    );
    assert!(
        pushes
            .iter()
            .filter(|p| !request_counts(p, delta).is_empty())
            .count()
            >= 2,
        "the traffic spans several deltas"
    );

    // Each push's deltas start where the push before ended: no gap, no overlap. The first
    // starts at the cumulative start, which `active_requests` (always cumulative) carries.
    let (start, _) = active_times(&pushes[0]);
    let mut before = start;
    for p in &pushes {
        if let Some(Data::Sum(s)) =
            &metric(p, "redmetrics.http.server.requests").map(|m| m.data.clone().unwrap())
        {
            assert!(
                s.data_points
                    .iter()
                    .all(|d| d.start_time_unix_nano == before)
            );
        }
        let (s, t) = active_times(p);
        assert_eq!(s, start, "active_requests stays cumulative");
        before = t;
    }

    // Sizes as histograms: unit By, the contract's byte buckets, deltas adding up.
    for (otel, prom) in [
        (
            "http.server.request.body.size",
            "shop_http_request_size_bytes",
        ),
        (
            "http.server.response.body.size",
            "shop_http_response_size_bytes",
        ),
    ] {
        let mut sum: BTreeMap<Key, Dist> = BTreeMap::new();
        for p in &pushes {
            let Some(m) = metric(p, otel) else { continue };
            for (k, d) in push_histograms(m, "By", delta) {
                let s = sum.entry(k).or_default();
                if s.buckets.is_empty() {
                    s.buckets = d.buckets.iter().map(|(le, _)| (*le, 0)).collect();
                }
                for (acc, (_, n)) in s.buckets.iter_mut().zip(&d.buckets) {
                    acc.1 += n;
                }
                s.sum += d.sum;
                s.count += d.count;
            }
        }
        let want = scrape_dists(&e, prom);
        assert_dists_match(otel, &sum, &want);
        assert!(
            want.values()
                .all(|d| d.buckets.len() == Buckets::DEFAULT_BYTES.len() + 1)
        );
    }
    exporter.shutdown().await;
    receiver.close().await;
}

/// The `redmetrics demo --otlp-endpoint …` command of docs/library.md.
fn readme_demo_command() -> Vec<String> {
    let all = common::code_spans("docs/library.md");
    let spans: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|s| s.starts_with("redmetrics demo --otlp-endpoint"))
        .collect();
    assert_eq!(spans.len(), 1, "{spans:?}");
    spans[0].split_whitespace().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_pushes_to_otlp_endpoint_and_checks_its_flags() {
    let inbox = Inbox::default();
    let receiver = Receiver::start(&inbox, "127.0.0.1:0".parse().unwrap()).await;
    let endpoint = format!("http://{}", receiver.addr);
    let client = http_client();

    // The README's command as written, pointed at the receiver.
    let readme = readme_demo_command();
    assert_eq!(readme[..3], ["redmetrics", "demo", "--otlp-endpoint"]);
    let args: Vec<String> = readme[2..]
        .iter()
        .map(|w| w.replace("http://127.0.0.1:4318", &endpoint))
        .collect();
    assert!(args.contains(&endpoint), "{readme:?}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (demo, addr) = common::start_demo(&args);
    for path in [
        "/v1/campaigns",
        "/v1/campaigns/7",
        "/v1/campaigns/700",
        "/v1/flaky",
    ] {
        call(&client, addr, "GET", path, "").await;
    }
    let want = scrape_counts(&scrape(&client, addr).await, "reviewmaps");
    let (_, p) = inbox
        .wait_for("the demo's counts", |p| {
            request_counts(p, AggregationTemporality::Cumulative) == want
        })
        .await;
    assert_eq!(resource(&p, "service.name").as_deref(), Some("reviewmaps"));
    assert_eq!(
        resource(&p, "service.version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    drop(demo);

    // Headers and deltas.
    let from = inbox.pushes().len();
    let (_demo, addr) = common::start_demo(&[
        "--otlp-endpoint",
        &endpoint,
        "--otlp-interval",
        "200ms",
        "--otlp-header",
        "x-api-key=demo-key",
        "--otlp-delta",
    ]);
    call(&client, addr, "GET", "/v1/campaigns", "").await;
    let (_, p) = inbox
        .wait_for_from(from, "the demo's delta", |p| {
            !request_counts(p, AggregationTemporality::Delta).is_empty()
        })
        .await;
    assert_eq!(p.headers["x-api-key"], "demo-key");
    receiver.close().await;

    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (
            vec!["--otlp-endpoint", &endpoint, "--otlp-interval", "10ms"],
            "100ms to 1h",
        ),
        (
            vec!["--otlp-endpoint", &endpoint, "--otlp-interval", "2h"],
            "100ms to 1h",
        ),
        (
            vec![
                "--otlp-endpoint",
                "https://127.0.0.1:4318",
                "--otlp-cacert",
                "/nonexistent/ca.pem",
            ],
            "--otlp-cacert",
        ),
        (vec!["--otlp-endpoint", "collector:4318"], "http://"),
        (
            vec!["--otlp-endpoint", &endpoint, "--otlp-header", "x-api-key"],
            "NAME=VALUE",
        ),
        (vec!["--otlp-interval", "1s"], "--otlp-endpoint"),
    ] {
        let mut all = vec!["demo", "--listen", "127.0.0.1:0"];
        all.extend(args.iter().copied());
        let out = common::redmetrics(dir.path(), &all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{all:?} should fail");
        assert!(stderr.contains(says), "{all:?}: {stderr}");
    }
}

/// Issue 23 item 9: a receiver that refuses every push for good (400, 401, 307) is logged
/// by the demo, at most a line per reason a minute, and each refusal is counted under its
/// reason, exactly as many as the receiver refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_exports_are_logged_once_a_minute_and_counted_by_reason() {
    let started = std::time::Instant::now();
    let inbox = Inbox::default();
    let receiver = Receiver::start(&inbox, "127.0.0.1:0".parse().unwrap()).await;
    let endpoint = format!("http://{}", receiver.addr);
    let client = http_client();
    let (_demo, addr, log) = common::start_demo_logged(
        std::path::Path::new("."),
        &["--otlp-endpoint", &endpoint, "--otlp-interval", "100ms"],
    );
    // Before any refusal: every reason is there, at 0.
    let e = scrape(&client, addr).await;
    for reason in [
        "queue_full",
        "redirect",
        "unauthorized",
        "rejected",
        "server_error",
    ] {
        assert_eq!(dropped_for(&e, reason), 0.0, "{reason}");
    }
    let mut refused_by = BTreeMap::new();
    for (status, reason) in [(400, "rejected"), (401, "unauthorized"), (307, "redirect")] {
        let before = inbox.refused.load(Ordering::SeqCst);
        inbox.fail_with.store(status, Ordering::SeqCst);
        // Several refusals, so that the log's rate limit has something to hold back.
        until(
            || format!("three {status} answers"),
            || inbox.refused.load(Ordering::SeqCst) >= before + 3,
            pause,
        )
        .await;
        // Accept again: once a push arrives, every refusal before it has been counted (the
        // exporter sends one push at a time).
        let received = inbox.pushes().len();
        inbox.fail_with.store(0, Ordering::SeqCst);
        inbox
            .wait_for_from(received, "a push after the refusals", |_| true)
            .await;
        refused_by.insert(reason, inbox.refused.load(Ordering::SeqCst) - before);
    }

    let e = scrape(&client, addr).await;
    for (reason, refused) in &refused_by {
        assert!(*refused >= 3, "{reason}: {refused}");
        assert_eq!(dropped_for(&e, reason), f64::from(*refused), "{reason}");
    }
    assert_eq!(dropped_for(&e, "queue_full"), 0.0);
    assert_eq!(dropped_for(&e, "server_error"), 0.0);

    // The log: each reason said, with what the receiver answered and what to do; at most one
    // line per reason per started minute of the test.
    let minutes = started.elapsed().as_secs() / 60 + 1;
    let lines = log.lines();
    for (reason, says) in [
        ("rejected", "HTTP 400 Bad Request: try later"),
        ("unauthorized", "check the credentials"),
        ("redirect", "(to http://127.0.0.1:9/elsewhere/v1/metrics)"),
    ] {
        let logged: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains(&format!("OTLP export dropped ({reason})")))
            .collect();
        assert!(
            !logged.is_empty(),
            "{reason} not logged:\n{}",
            lines.join("\n")
        );
        assert!(
            logged.len() as u64 <= minutes,
            "{reason}: {} lines in {minutes} minute(s) for {} refusals",
            logged.len(),
            refused_by[reason]
        );
        assert!(logged[0].contains(says), "{reason}: {}", logged[0]);
        assert!(logged[0].contains("WARN"), "{}", logged[0]);
    }
    receiver.close().await;
}

/// The pushed `http.server.active_requests` is the number of requests in flight: 2 while
/// two requests are held open by their handler, 0 once they are answered (the exporter reads
/// it from the series view; a view that always said 0 passed every other test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_requests_count_the_requests_held_open() {
    let inbox = Inbox::default();
    let receiver = Receiver::start(&inbox, "127.0.0.1:0".parse().unwrap()).await;
    let metrics = HttpMetrics::builder(Contract::new("shop").unwrap())
        .build()
        .unwrap();
    let _exporter = OtlpExporter::builder(&metrics, format!("http://{}", receiver.addr))
        .interval(Duration::from_millis(200))
        .spawn()
        .unwrap();
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let gate = Arc::clone(&release);
    let app = Router::new()
        .route(
            "/v1/held",
            get(move || {
                let gate = Arc::clone(&gate);
                async move {
                    let _permit = gate.acquire().await.unwrap();
                    "released"
                }
            }),
        )
        .layer(metrics.layer());
    let addr = serve(app).await;
    let held: Vec<_> = (0..2)
        .map(|_| {
            let client = http_client();
            tokio::spawn(async move { call(&client, addr, "GET", "/v1/held", "").await })
        })
        .collect();
    let active = |p: &Push| {
        metric(p, "http.server.active_requests").and_then(|m| match &m.data {
            Some(Data::Sum(s)) => s.data_points.first().and_then(|d| d.value),
            _ => None,
        })
    };
    let (at, _) = inbox
        .wait_for("2 requests in flight", |p| active(p) == Some(Num::AsInt(2)))
        .await;
    release.add_permits(2);
    for h in held {
        assert_eq!(h.await.unwrap(), StatusCode::OK);
    }
    inbox
        .wait_for_from(at + 1, "none in flight", |p| {
            active(p) == Some(Num::AsInt(0))
        })
        .await;
}
