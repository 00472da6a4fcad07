//! The layer over real HTTP on 127.0.0.1: exact values, concurrency, every way a request
//! can end, and the cardinality bound.
#![allow(clippy::unwrap_used)]

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{BoxError, Router};
use bytes::Bytes;
use common::{Sample, client, get as http_get, samples, send, serve, sum, value};
use redmetrics::Contract;
use redmetrics::HttpMetrics;
use redmetrics::encoding::{Format, encode};
use redmetrics::middleware::HttpMetricsBuilder;
use redmetrics::middleware::RequestParts;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tower::ServiceBuilder;

const REQUESTS: &str = "reviewmaps_http_requests_total";
const DURATION: &str = "reviewmaps_http_request_duration_seconds";
const IN_FLIGHT: &str = "reviewmaps_http_active_connections";
const REQ_SIZE: &str = "reviewmaps_http_request_size_bytes";
const RES_SIZE: &str = "reviewmaps_http_response_size_bytes";

fn metrics() -> HttpMetrics {
    HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .version("1.2.3")
        .build()
        .unwrap()
}

fn scrape(m: &HttpMetrics) -> Vec<Sample> {
    samples(&String::from_utf8(encode(m.registry(), Format::Text)).unwrap())
}

/// The value of `label` on each request counter sample, in scrape order.
fn request_labels<'a>(s: &'a [Sample], label: &str) -> Vec<&'a str> {
    s.iter()
        .filter(|x| x.name == REQUESTS)
        .map(|x| x.labels[label].as_str())
        .collect()
}

/// Which of the two layers an axum app is measured with.
#[derive(Clone, Copy, Debug)]
enum Integration {
    /// `metrics.axum_layer()`, the one the README shows.
    Axum,
    /// `metrics.layer()`, the generic tower layer, under axum's `Router::layer`.
    Generic,
}

fn campaigns_api(m: &HttpMetrics) -> Router {
    campaigns_api_with(m, Integration::Axum)
}

fn campaigns_api_with(m: &HttpMetrics, integration: Integration) -> Router {
    let routes = Router::new()
        .route(
            "/v1/campaigns",
            get(|| async { "[1,2,3]" }).post(|body: Bytes| async move {
                (StatusCode::CREATED, format!("created {}", body.len()))
            }),
        )
        .route(
            "/v1/campaigns/{id}",
            get(|Path(id): Path<String>| async move {
                match id.parse::<u32>() {
                    Ok(_) => Ok(format!("campaign {id}")),
                    Err(_) => Err(StatusCode::NOT_FOUND),
                }
            }),
        )
        .route("/docs/v1/campaigns", get(|| async { "docs" }));
    match integration {
        Integration::Axum => routes.layer(m.axum_layer()),
        Integration::Generic => routes.layer(m.layer()),
    }
    .route_service(m.metrics_path(), m.endpoint())
}

#[tokio::test]
async fn scripted_mix_gives_exact_values_and_labels() {
    scripted_mix(Integration::Axum).await;
}

/// The generic layer under axum records the same mix exactly as the axum layer does.
#[tokio::test]
async fn scripted_mix_through_the_generic_layer_gives_the_same_values() {
    scripted_mix(Integration::Generic).await;
}

async fn scripted_mix(integration: Integration) {
    let m = metrics();
    let addr = serve(campaigns_api_with(&m, integration)).await;
    let c = client();
    let mut list_bytes = 0;
    for _ in 0..3 {
        list_bytes += http_get(&c, addr, "/v1/campaigns").await.body.len();
    }
    for _ in 0..2 {
        assert_eq!(http_get(&c, addr, "/v1/campaigns/7").await.status, 200);
    }
    assert_eq!(http_get(&c, addr, "/v1/campaigns/x").await.status, 404);
    let created = send(
        &c,
        addr,
        "POST",
        "/v1/campaigns",
        &[],
        b"{\"title\":\"new\"}",
    )
    .await;
    assert_eq!(created.status, 201);
    assert_eq!(http_get(&c, addr, "/wp-login.php").await.status, 404);
    assert_eq!(
        http_get(&c, addr, "/v1/campaigns/7/../../etc").await.status,
        404
    );
    let odd = send(&c, addr, "PROPFIND", "/v1/campaigns", &[], b"").await;
    assert_eq!(odd.status, 405);
    // Not measured: the endpoint itself. Measured: a route that merely contains "/metrics"
    // or "/docs" (the Go middleware skipped these by substring).
    assert_eq!(http_get(&c, addr, "/metrics").await.status, 200);
    assert_eq!(http_get(&c, addr, "/docs/v1/campaigns").await.status, 200);

    let s = scrape(&m);
    let req = |method, path, status| {
        value(
            &s,
            REQUESTS,
            &[("method", method), ("path", path), ("status", status)],
        )
    };
    assert_eq!(req("GET", "/v1/campaigns", "200"), Some(3.0));
    assert_eq!(req("GET", "/v1/campaigns/{id}", "200"), Some(2.0));
    assert_eq!(req("GET", "/v1/campaigns/{id}", "404"), Some(1.0));
    assert_eq!(req("POST", "/v1/campaigns", "201"), Some(1.0));
    assert_eq!(req("GET", "__unmatched__", "404"), Some(2.0));
    assert_eq!(req("OTHER", "/v1/campaigns", "405"), Some(1.0));
    assert_eq!(req("GET", "/docs/v1/campaigns", "200"), Some(1.0));
    assert_eq!(sum(&s, REQUESTS), 11.0, "the scrape itself is not counted");
    assert!(
        !s.iter().any(|x| x
            .labels
            .get("path")
            .is_some_and(|p| p.contains("wp-login") || p.contains("etc") || p == "/metrics")),
        "no raw path and no metrics path as a label"
    );
    let route = [("method", "GET"), ("path", "/v1/campaigns")];
    assert_eq!(value(&s, &format!("{DURATION}_count"), &route), Some(3.0));
    assert_eq!(
        value(&s, &format!("{RES_SIZE}_sum"), &route),
        Some(list_bytes as f64)
    );
    let post = [("method", "POST"), ("path", "/v1/campaigns")];
    assert_eq!(value(&s, &format!("{REQ_SIZE}_sum"), &post), Some(15.0));
    assert_eq!(
        value(&s, REQ_SIZE, &[post[0], post[1], ("quantile", "0.5")]),
        Some(15.0)
    );
    assert_eq!(
        value(&s, &format!("{RES_SIZE}_sum"), &post),
        Some(created.body.len() as f64)
    );
    assert_eq!(value(&s, IN_FLIGHT, &[]), Some(0.0));
    assert_eq!(
        value(&s, "reviewmaps_build_info", &[("version", "1.2.3")]),
        Some(1.0)
    );
    common::assert_histograms_consistent(&s, DURATION);
}

/// The mix the concurrency test interleaves: (method, URL path, route label, status). The
/// `{id}` route alternates 200 and 404 and `/v1/campaigns` serves two methods, so the
/// per-route status cache is exercised across routes and statuses.
const MIX: [(&str, &str, &str, &str); 5] = [
    ("GET", "/v1/campaigns", "/v1/campaigns", "200"),
    ("GET", "/v1/campaigns/3", "/v1/campaigns/{id}", "200"),
    ("GET", "/v1/campaigns/x", "/v1/campaigns/{id}", "404"),
    ("POST", "/v1/campaigns", "/v1/campaigns", "201"),
    ("GET", "/nope", "__unmatched__", "404"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_interleaved_requests_from_64_tasks_are_each_counted_on_their_route() {
    let m = metrics();
    let addr = serve(campaigns_api(&m)).await;
    let c = client();
    // Task t sends request i as MIX[(t + i * (t % 4 + 1)) % 5]: every task interleaves
    // routes and statuses in its own order. 10,000 = 64 × 156 + 16.
    let plan = |t: usize| {
        let n = 156 + usize::from(t < 16);
        (0..n).map(move |i| (t + i * (t % 4 + 1)) % MIX.len())
    };
    let mut expected = [0u32; MIX.len()];
    for t in 0..64 {
        for k in plan(t) {
            expected[k] += 1;
        }
    }
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let c = c.clone();
            tokio::spawn(async move {
                for k in plan(t) {
                    let (method, path, _, status) = MIX[k];
                    let reply = send(&c, addr, method, path, &[], b"").await;
                    assert_eq!(reply.status.as_str(), status, "{method} {path}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let s = scrape(&m);
    let counters: Vec<&Sample> = s.iter().filter(|x| x.name == REQUESTS).collect();
    assert_eq!(
        counters.len(),
        MIX.len(),
        "one series per (method, path, status): {counters:?}"
    );
    let mut per_route: std::collections::BTreeMap<(&str, &str), f64> = Default::default();
    for (k, (method, _, route, status)) in MIX.iter().enumerate() {
        assert_eq!(
            value(
                &s,
                REQUESTS,
                &[("method", method), ("path", route), ("status", status)]
            ),
            Some(f64::from(expected[k])),
            "{method} {route} {status}"
        );
        *per_route.entry((method, route)).or_default() += f64::from(expected[k]);
    }
    for ((method, route), n) in per_route {
        let labels = [("method", method), ("path", route)];
        assert_eq!(
            value(&s, &format!("{DURATION}_count"), &labels),
            Some(n),
            "{method} {route}"
        );
        assert_eq!(
            value(&s, &format!("{RES_SIZE}_count"), &labels),
            Some(n),
            "{method} {route}"
        );
        assert_eq!(
            value(&s, &format!("{REQ_SIZE}_count"), &labels),
            Some(n),
            "{method} {route}"
        );
    }
    assert_eq!(value(&s, IN_FLIGHT, &[]), Some(0.0));
    assert_eq!(m.in_flight(), 0);
}

/// Latencies recorded through `HttpMetrics::record` land in exactly the buckets computed by
/// hand from the bucket bounds (upper bounds inclusive), and `_sum` is their sum.
#[test]
fn scripted_latencies_fill_exactly_the_expected_buckets() {
    let m = metrics();
    // Milliseconds; 5 and 250 sit exactly on a bound and count in that bucket.
    let scripted_ms = [1u64, 5, 7, 30, 30, 200, 250, 3_000, 20_000];
    for ms in scripted_ms {
        m.record(&redmetrics::middleware::Completed {
            method: &http::Method::GET,
            route: Some("/v1/scripted"),
            status: 200,
            took: Duration::from_millis(ms),
            request_bytes: 0,
            response_bytes: 0,
        });
    }
    let s = scrape(&m);
    let route = [("method", "GET"), ("path", "/v1/scripted")];
    let expected = [
        ("0.005", 2.0),
        ("0.01", 3.0),
        ("0.025", 3.0),
        ("0.05", 5.0),
        ("0.1", 5.0),
        ("0.25", 7.0),
        ("0.5", 7.0),
        ("1.0", 7.0),
        ("2.5", 7.0),
        ("5.0", 8.0),
        ("10.0", 8.0),
        ("+Inf", 9.0),
    ];
    let buckets: Vec<(&str, f64)> = s
        .iter()
        .filter(|x| x.name == format!("{DURATION}_bucket") && x.labels["path"] == "/v1/scripted")
        .map(|x| (x.labels["le"].as_str(), x.value))
        .collect();
    assert_eq!(buckets, expected);
    assert_eq!(value(&s, &format!("{DURATION}_count"), &route), Some(9.0));
    let sum = value(&s, &format!("{DURATION}_sum"), &route).unwrap();
    assert!((sum - 23.523).abs() < 1e-9, "_sum {sum}");
}

/// Over HTTP, a handler that sleeps 30 ms can only land in buckets above 0.025: the lower
/// buckets stay at 0 whatever the machine's speed (a lower bound, not a timing assertion).
#[tokio::test]
async fn a_slow_handler_is_never_counted_in_a_faster_bucket() {
    let m = metrics();
    let app = Router::new()
        .route(
            "/v1/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                "late"
            }),
        )
        .layer(m.axum_layer());
    let addr = serve(app).await;
    let c = client();
    for _ in 0..3 {
        assert_eq!(http_get(&c, addr, "/v1/slow").await.status, 200);
    }
    assert!(common::eventually(Duration::from_secs(5), || m.in_flight() == 0).await);
    let s = scrape(&m);
    let bucket = |le| {
        value(
            &s,
            &format!("{DURATION}_bucket"),
            &[("method", "GET"), ("path", "/v1/slow"), ("le", le)],
        )
    };
    for le in ["0.005", "0.01", "0.025"] {
        assert_eq!(bucket(le), Some(0.0), "le={le}");
    }
    assert_eq!(bucket("+Inf"), Some(3.0));
    let sum = value(
        &s,
        &format!("{DURATION}_sum"),
        &[("method", "GET"), ("path", "/v1/slow")],
    )
    .unwrap();
    assert!(sum >= 0.09, "three requests of at least 30 ms each: {sum}");
}

/// The metrics endpoint mounted *inside* the layer, and `/docs` excluded: both are skipped
/// by exact match, while `/docs/v1/campaigns` (which merely starts with `/docs`) is measured.
#[tokio::test]
async fn exclusion_is_exact_for_the_endpoint_and_excluded_routes() {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .exclude(["/docs"])
        .build()
        .unwrap();
    let app = Router::new()
        .route("/docs", get(|| async { "index" }))
        .route("/docs/v1/campaigns", get(|| async { "docs" }))
        .route(
            "/v1/metrics",
            get(|| async { "a route named like the endpoint" }),
        )
        // As long as an excluded path, each: the same length is not the same path.
        .route("/dogs", get(|| async { "dogs" }))
        .route("/metricz", get(|| async { "z" }))
        .route_service(m.metrics_path(), m.endpoint())
        .layer(m.axum_layer());
    let addr = serve(app).await;
    let c = client();
    for path in [
        "/metrics",
        "/metrics",
        "/docs",
        "/docs/v1/campaigns",
        "/v1/metrics",
        "/dogs",
        "/metricz",
    ] {
        assert_eq!(http_get(&c, addr, path).await.status, 200, "{path}");
    }
    let s = scrape(&m);
    let paths = request_labels(&s, "path");
    assert_eq!(paths.len(), 4, "{paths:?}");
    for path in ["/docs/v1/campaigns", "/v1/metrics", "/dogs", "/metricz"] {
        assert_eq!(
            value(
                &s,
                REQUESTS,
                &[("method", "GET"), ("path", path), ("status", "200")]
            ),
            Some(1.0),
            "{path} is measured"
        );
    }
}

/// The endpoint inside the layer and `/healthz` excluded: both 8 bytes long, so every
/// exclusion has the same length (the other tests' exclusions have two). Each is skipped,
/// and `/metricz`, as long as both, is measured with a route of another length.
#[tokio::test]
async fn exclusions_of_one_length_are_each_skipped() {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .exclude(["/healthz"])
        .build()
        .unwrap();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metricz", get(|| async { "z" }))
        .route("/v1/campaigns", get(|| async { "[]" }))
        .route_service(m.metrics_path(), m.endpoint())
        .layer(m.axum_layer());
    let addr = serve(app).await;
    let c = client();
    for path in [
        "/metrics",
        "/healthz",
        "/metricz",
        "/v1/campaigns",
        "/healthz",
    ] {
        assert_eq!(http_get(&c, addr, path).await.status, 200, "{path}");
    }
    let s = scrape(&m);
    let mut paths = request_labels(&s, "path");
    paths.sort_unstable();
    assert_eq!(paths, ["/metricz", "/v1/campaigns"]);
}

/// A route that signals when its handler started and then never answers.
fn hanging_api(m: &HttpMetrics, started: Arc<Notify>) -> Router {
    Router::new()
        .route(
            "/v1/hang",
            get(move || async move {
                started.notify_one();
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        )
        .layer(m.axum_layer())
}

#[tokio::test]
async fn client_abort_before_the_response_is_recorded_as_499() {
    let m = metrics();
    let started = Arc::new(Notify::new());
    let addr = serve(hanging_api(&m, started.clone())).await;
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(b"GET /v1/hang HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    started.notified().await;
    assert_eq!(m.in_flight(), 1);
    drop(sock);
    assert!(
        common::eventually(Duration::from_secs(5), || m.in_flight() == 0).await,
        "in-flight gauge must return to 0 after the client left"
    );
    let s = scrape(&m);
    assert_eq!(
        value(
            &s,
            REQUESTS,
            &[("method", "GET"), ("path", "/v1/hang"), ("status", "499")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            &format!("{DURATION}_count"),
            &[("method", "GET"), ("path", "/v1/hang")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn client_abort_mid_body_keeps_the_status_and_counts_bytes_sent() {
    let m = metrics();
    let app = Router::new()
        .route(
            "/v1/export",
            get(|| async {
                // 1,000 chunks of 1 KiB, 5 ms apart: bounded, but far longer than the test.
                let chunks = futures_util::stream::unfold(0u32, |i| async move {
                    if i == 1000 {
                        return None;
                    }
                    if i > 0 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Some((Ok::<_, Infallible>(Bytes::from(vec![b'x'; 1024])), i + 1))
                });
                Body::from_stream(chunks)
            }),
        )
        .layer(m.axum_layer());
    let addr = serve(app).await;
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    // `connection: close`: a response that ends early (a body claiming to have ended before
    // it has) closes the socket, and the test fails here instead of waiting for bytes.
    sock.write_all(b"GET /v1/export HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = 0;
    while got < 3000 {
        let n = sock.read(&mut buf).await.unwrap();
        assert!(n > 0, "the response ended after {got} bytes");
        got += n;
    }
    assert_eq!(m.in_flight(), 1, "still streaming");
    drop(sock);
    assert!(common::eventually(Duration::from_secs(5), || m.in_flight() == 0).await);
    let s = scrape(&m);
    let route = [("method", "GET"), ("path", "/v1/export")];
    assert_eq!(
        value(&s, REQUESTS, &[route[0], route[1], ("status", "200")]),
        Some(1.0),
        "the client received 200 before leaving"
    );
    let sent = value(&s, &format!("{RES_SIZE}_sum"), &route).unwrap();
    assert!(
        (2048.0..1_024_000.0).contains(&sent),
        "bytes sent before the abort, not Content-Length: {sent}"
    );
    // The third 1 KiB chunk (two 5 ms sleeps in) was read before the client left.
    let latency = value(&s, &format!("{DURATION}_sum"), &route).unwrap();
    assert!(latency >= 0.01, "latency runs until the abort: {latency}");
}

/// A response body that fails after its first chunk, and an inner service returning `Err`
/// (turned into a 503 by an error handler outside the layer): both are server errors, and
/// both bring the in-flight gauge back to 0.
#[tokio::test]
async fn a_failing_body_and_an_inner_err_are_recorded_as_500() {
    let m = metrics();
    let failing = get(|| async {
        let chunks = futures_util::stream::iter([
            Ok(Bytes::from_static(b"partial")),
            Err(std::io::Error::other("storage went away")),
        ]);
        Body::from_stream(chunks)
    });
    let erring = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: BoxError| async {
            StatusCode::SERVICE_UNAVAILABLE
        }))
        .layer(m.layer())
        .service(tower::service_fn(|_: http::Request<_>| async {
            Err::<http::Response<Body>, BoxError>("backend refused".into())
        }));
    let app = Router::new()
        .route("/v1/failing", failing)
        .layer(m.axum_layer())
        .route_service("/v1/erring", erring);
    let addr = serve(app).await;
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(b"GET /v1/failing HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut buf)).await;
    let c = client();
    assert_eq!(http_get(&c, addr, "/v1/erring").await.status, 503);
    assert!(common::eventually(Duration::from_secs(5), || m.in_flight() == 0).await);
    let s = scrape(&m);
    let mut counters: Vec<(&str, &str, f64)> = s
        .iter()
        .filter(|x| x.name == REQUESTS)
        .map(|x| {
            (
                x.labels["path"].as_str(),
                x.labels["status"].as_str(),
                x.value,
            )
        })
        .collect();
    counters.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        counters,
        [("/v1/erring", "500", 1.0), ("/v1/failing", "500", 1.0)]
    );
    assert_eq!(
        value(
            &s,
            &format!("{RES_SIZE}_sum"),
            &[("method", "GET"), ("path", "/v1/failing")]
        ),
        Some(7.0),
        "the bytes sent before the failure"
    );
    assert_eq!(value(&s, IN_FLIGHT, &[]), Some(0.0));
}

#[tokio::test]
async fn streamed_body_latency_includes_the_stream() {
    let m = metrics();
    let app = Router::new()
        .route(
            "/v1/stream",
            get(|| async {
                let chunks = futures_util::stream::unfold(0u32, |i| async move {
                    if i == 5 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(40)).await;
                    Some((
                        Ok::<_, Infallible>(Bytes::from_static(b"0123456789")),
                        i + 1,
                    ))
                });
                Body::from_stream(chunks)
            }),
        )
        .layer(m.axum_layer());
    let addr = serve(app).await;
    let c = client();
    let reply = http_get(&c, addr, "/v1/stream").await;
    assert_eq!(reply.body.len(), 50);
    assert!(common::eventually(Duration::from_secs(5), || m.in_flight() == 0).await);
    let s = scrape(&m);
    let route = [("method", "GET"), ("path", "/v1/stream")];
    assert_eq!(value(&s, &format!("{RES_SIZE}_sum"), &route), Some(50.0));
    let latency = value(&s, &format!("{DURATION}_sum"), &route).unwrap();
    assert!(
        latency >= 0.2,
        "latency covers the streamed body: {latency}"
    );
}

#[tokio::test]
async fn panicking_handlers_are_recorded_as_500() {
    let m = metrics();
    let caught = Router::new()
        .route(
            "/v1/caught",
            get(|| async {
                panic!("handler bug");
                #[allow(unreachable_code)]
                ""
            }),
        )
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(m.axum_layer());
    let uncaught = Router::new()
        .route(
            "/v1/uncaught",
            get(|| async {
                panic!("handler bug, nothing catches it");
                #[allow(unreachable_code)]
                ""
            }),
        )
        .layer(m.axum_layer());
    let addr = serve(caught.merge(uncaught)).await;
    let c = client();
    assert_eq!(http_get(&c, addr, "/v1/caught").await.status, 500);
    // Without a catch-panic layer hyper drops the connection; the client sees an error.
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(b"GET /v1/uncaught HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut buf)).await;
    assert!(common::eventually(Duration::from_secs(5), || m.in_flight() == 0).await);
    let s = scrape(&m);
    for path in ["/v1/caught", "/v1/uncaught"] {
        assert_eq!(
            value(
                &s,
                REQUESTS,
                &[("method", "GET"), ("path", path), ("status", "500")]
            ),
            Some(1.0),
            "{path}"
        );
    }
}

async fn on_timeout(_: BoxError) -> StatusCode {
    StatusCode::REQUEST_TIMEOUT
}

#[tokio::test]
async fn tower_timeouts_leave_the_gauge_at_zero() {
    let m = metrics();
    let slow = || {
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        })
    };
    let timeout = || {
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(on_timeout))
            .timeout(Duration::from_millis(100))
    };
    // Recommended order: metrics outermost, so it sees the 408 the client gets.
    let inside = Router::new()
        .route("/v1/inside", slow())
        .layer(timeout())
        .layer(m.axum_layer());
    // Timeout outside the metrics layer: our future is dropped before any response.
    let outside = Router::new()
        .route("/v1/outside", slow())
        .layer(m.axum_layer())
        .layer(timeout());
    let addr = serve(inside.merge(outside)).await;
    let c = client();
    assert_eq!(http_get(&c, addr, "/v1/inside").await.status, 408);
    assert_eq!(http_get(&c, addr, "/v1/outside").await.status, 408);
    assert!(common::eventually(Duration::from_secs(5), || m.in_flight() == 0).await);
    let s = scrape(&m);
    let req = |path, status| {
        value(
            &s,
            REQUESTS,
            &[("method", "GET"), ("path", path), ("status", status)],
        )
    };
    assert_eq!(req("/v1/inside", "408"), Some(1.0));
    assert_eq!(req("/v1/outside", "499"), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_unmatched_paths_do_not_grow_the_series_count() {
    let m = metrics();
    let addr = serve(campaigns_api(&m)).await;
    let c = client();
    let series_before = scrape(&m).len();
    let tasks: Vec<_> = (0..16u64)
        .map(|t| {
            let c = c.clone();
            tokio::spawn(async move {
                for i in 0..625u64 {
                    let path = format!("/scan/{:x}/{}", t * 1_000_003 + i * 7919, i);
                    assert_eq!(http_get(&c, addr, &path).await.status, 404);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let s = scrape(&m);
    assert_eq!(
        value(
            &s,
            REQUESTS,
            &[
                ("method", "GET"),
                ("path", "__unmatched__"),
                ("status", "404")
            ]
        ),
        Some(10_000.0)
    );
    // One new (method, path) and one new (method, path, status): a fixed number of lines.
    let per_route = 12 + 2 + 1 + 2 * 5; // buckets, sum/count, counter, two summaries
    assert!(
        s.len() <= series_before + per_route,
        "{} series after 10,000 distinct paths (was {series_before})",
        s.len()
    );
}

/// A classifier that (wrongly) returns raw paths.
fn raw_path(req: RequestParts<'_>) -> Option<&'static str> {
    Some(Box::leak(req.uri.path().to_owned().into_boxed_str()))
}

/// An app behind a raw-path classifier, the builder adjusted by `tweak`, with its endpoint.
async fn raw_path_app(
    tweak: impl FnOnce(HttpMetricsBuilder) -> HttpMetricsBuilder,
) -> (HttpMetrics, std::net::SocketAddr) {
    let m = tweak(HttpMetrics::builder(Contract::new("reviewmaps").unwrap()).classifier(raw_path))
        .build()
        .unwrap();
    let app = Router::new()
        .fallback(|| async { "hi" })
        .layer(m.axum_layer())
        .route_service(m.metrics_path(), m.endpoint());
    (m, serve(app).await)
}

/// The `path` values of the request counter.
fn paths(s: &[Sample]) -> std::collections::BTreeSet<&str> {
    request_labels(s, "path").into_iter().collect()
}

#[tokio::test]
async fn a_raw_path_classifier_is_capped_and_totals_stay_exact() {
    // A classifier that (wrongly) returns raw paths: the bound still holds.
    let (m, addr) = raw_path_app(|b| b.max_label_sets(50)).await;
    let c = client();
    for i in 0..300 {
        http_get(&c, addr, &format!("/item/{i}")).await;
    }
    let s = scrape(&m);
    let paths = paths(&s);
    assert!(paths.len() <= 51, "{} paths", paths.len());
    assert!(paths.contains("__overflow__"));
    assert_eq!(sum(&s, REQUESTS), 300.0, "totals stay exact");
    assert_eq!(sum(&s, &format!("{DURATION}_count")), 300.0);
    let folded = value(
        &s,
        "redmetrics_cardinality_overflow_total",
        &[("family", REQUESTS)],
    )
    .unwrap();
    assert_eq!(folded, 250.0);
}

/// Without `max_label_sets`, each family holds exactly 2,000 label sets (the README's
/// bound); the 2,001st (method, path) and beyond fold into `__overflow__`.
#[test]
fn the_default_bound_is_2000_label_sets() {
    let m = metrics();
    let paths: Vec<String> = (0..2_100).map(|i| format!("/v1/item{i}")).collect();
    for path in &paths {
        m.record(&redmetrics::middleware::Completed {
            method: &http::Method::GET,
            route: Some(path),
            status: 200,
            took: Duration::from_millis(1),
            request_bytes: 0,
            response_bytes: 0,
        });
    }
    let s = scrape(&m);
    let counted: Vec<&Sample> = s.iter().filter(|x| x.name == REQUESTS).collect();
    assert_eq!(
        counted.len(),
        2_001,
        "2,000 label sets and the overflow series"
    );
    assert_eq!(
        value(&s, REQUESTS, &[("path", "/v1/item1999")]),
        Some(1.0),
        "the 2,000th is kept"
    );
    assert_eq!(value(&s, REQUESTS, &[("path", "/v1/item2000")]), None);
    assert_eq!(
        value(&s, REQUESTS, &[("path", "__overflow__")]),
        Some(100.0)
    );
    assert_eq!(
        value(
            &s,
            "redmetrics_cardinality_overflow_total",
            &[("family", REQUESTS)]
        ),
        Some(100.0)
    );
    assert_eq!(
        value(
            &s,
            "redmetrics_cardinality_overflow_total",
            &[("family", DURATION)]
        ),
        Some(100.0)
    );
}

/// An application family registered next to the HTTP ones overflows like them: at the
/// registry's bound, further label sets fold into one series and are reported.
#[test]
fn application_families_overflow_at_their_bound() {
    let registry = redmetrics::Registry::new().with_max_label_sets(3);
    let m = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .registry(registry)
        .build()
        .unwrap();
    let jobs = m
        .registry()
        .family::<redmetrics::metrics::Counter, 1>(
            "reviewmaps_jobs_total",
            "Jobs run.",
            ["queue"],
            (),
        )
        .unwrap();
    assert!(jobs.is_empty());
    assert_eq!((jobs.len(), jobs.folded()), (0, 0));
    for (queue, n) in [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)] {
        for _ in 0..n {
            jobs.with([queue]).inc();
        }
    }
    let s = scrape(&m);
    let got: Vec<(&str, f64)> = s
        .iter()
        .filter(|x| x.name == "reviewmaps_jobs_total")
        .map(|x| (x.labels["queue"].as_str(), x.value))
        .collect();
    assert_eq!(
        got,
        [("a", 1.0), ("b", 2.0), ("c", 3.0), ("__overflow__", 9.0)]
    );
    assert_eq!(
        value(
            &s,
            "redmetrics_cardinality_overflow_total",
            &[("family", "reviewmaps_jobs_total")]
        ),
        Some(9.0)
    );
    // The family's own account agrees with the scrape: three label sets besides the
    // overflow series, and the nine folded observations.
    assert!(!jobs.is_empty());
    assert_eq!(jobs.len(), got.len() - 1);
    assert_eq!(
        Some(jobs.folded() as f64),
        value(
            &s,
            "redmetrics_cardinality_overflow_total",
            &[("family", "reviewmaps_jobs_total")]
        )
    );
}

#[tokio::test]
async fn long_label_values_fold_into_overflow_and_are_counted() {
    // Eight long raw paths made a 1.6 MB scrape before the cap.
    let (_m, addr) = raw_path_app(|b| b).await;
    let c = client();
    let fits = format!("/{}", "a".repeat(127)); // 128 bytes: the default cap
    for i in 0..8 {
        http_get(&c, addr, &format!("/{i}{}", "x".repeat(16 * 1024))).await;
    }
    http_get(&c, addr, &fits).await;
    let reply = send(&c, addr, "GET", "/metrics", &[], b"").await;
    let body = reply.text();
    assert!(body.len() < 64 * 1024, "scrape of {} bytes", body.len());
    let s = samples(&body);
    let count = |path: &str| {
        value(
            &s,
            REQUESTS,
            &[("method", "GET"), ("path", path), ("status", "200")],
        )
    };
    let overflow = "__overflow__";
    assert_eq!(count(&fits), Some(1.0), "a value at the cap is kept");
    assert_eq!(
        value(
            &s,
            REQUESTS,
            &[("method", overflow), ("path", overflow), ("status", "200")]
        ),
        Some(8.0),
        "totals stay exact"
    );
    // Routes are folded where they are made: counted under the per-route families.
    let folded = value(
        &s,
        "redmetrics_cardinality_overflow_total",
        &[("family", DURATION)],
    );
    assert_eq!(folded, Some(8.0));
}

#[tokio::test]
async fn the_label_value_cap_is_configurable() {
    let (m, addr) = raw_path_app(|b| b.max_label_value_len(4)).await;
    let c = client();
    for path in ["/abc", "/abcd", "/abc"] {
        http_get(&c, addr, path).await;
    }
    let s = scrape(&m);
    assert_eq!(paths(&s), ["/abc", "__overflow__"].into());
    assert_eq!(sum(&s, REQUESTS), 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_under_load_parse_and_are_consistent() {
    let m = metrics();
    let addr = serve(campaigns_api(&m)).await;
    let c = client();
    // One request first, so even the first scrape has a histogram to check.
    http_get(&c, addr, "/v1/campaigns").await;
    let load: Vec<_> = (0..32)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                for i in 0..150 {
                    let path = if i % 3 == 0 {
                        "/v1/campaigns/x"
                    } else {
                        "/v1/campaigns"
                    };
                    http_get(&c, addr, path).await;
                }
            })
        })
        .collect();
    let mut previous = 0.0;
    for i in 0..20 {
        let accept = if i % 2 == 0 {
            "text/plain"
        } else {
            "application/openmetrics-text;version=1.0.0"
        };
        let reply = send(&c, addr, "GET", "/metrics", &[("accept", accept)], b"").await;
        let s = samples(&reply.text());
        // OpenMetrics writes the same sample names as text for these families.
        let total = sum(&s, REQUESTS);
        assert!(total >= previous, "counters never go backwards");
        previous = total;
        common::assert_histograms_consistent(&s, DURATION);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for t in load {
        t.await.unwrap();
    }
    assert_eq!(sum(&scrape(&m), REQUESTS), 4801.0);
}

#[tokio::test]
async fn two_prefixes_live_side_by_side() {
    let a = metrics();
    let b = HttpMetrics::builder(Contract::new("ojeomneo").unwrap())
        .metrics_path("/ojeomneo/metrics")
        .build()
        .unwrap();
    let app_a = Router::new()
        .route("/v1/a", get(|| async { "a" }))
        .layer(a.axum_layer())
        .route_service(a.metrics_path(), a.endpoint());
    let app_b = Router::new()
        .route("/v1/b", post(|| async { "b" }))
        .layer(b.axum_layer())
        .route_service(b.metrics_path(), b.endpoint());
    let (addr_a, addr_b) = (serve(app_a).await, serve(app_b).await);
    let c = client();
    http_get(&c, addr_a, "/v1/a").await;
    send(&c, addr_b, "POST", "/v1/b", &[], b"xy").await;
    let text_a = http_get(&c, addr_a, "/metrics").await.text();
    let text_b = http_get(&c, addr_b, "/ojeomneo/metrics").await.text();
    assert!(
        text_a.contains(
            r#"reviewmaps_http_requests_total{method="GET",path="/v1/a",status="200"} 1"#
        )
    );
    assert!(!text_a.contains("ojeomneo"));
    assert!(
        text_b
            .contains(r#"ojeomneo_http_requests_total{method="POST",path="/v1/b",status="200"} 1"#)
    );
    assert!(!text_b.contains("reviewmaps"));
    assert_eq!(http_get(&c, addr_b, "/metrics").await.status, 404);
}

/// The layer passes the inner service's backpressure on: with a concurrency limit of one
/// inside it and one request in flight, the layered service is not ready until that request
/// ends (readiness is polled once, without waiting).
#[tokio::test]
async fn the_layer_forwards_the_inner_services_backpressure() {
    use futures_util::FutureExt;
    use http::{Request, Response};
    use http_body_util::Full;
    use tower::{Layer, Service, ServiceExt};
    let m = metrics();
    let release = Arc::new(Notify::new());
    let wait = Arc::clone(&release);
    let inner = tower::service_fn(move |_req: Request<_>| {
        let wait = Arc::clone(&wait);
        async move {
            wait.notified().await;
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        }
    });
    let mut svc = m
        .layer()
        .layer(tower::limit::ConcurrencyLimit::new(inner, 1));
    let first = svc
        .ready()
        .await
        .unwrap()
        .call(Request::new(Full::new(Bytes::new())));
    let first = tokio::spawn(first);
    assert!(
        svc.ready().now_or_never().is_none(),
        "ready while the inner service's only slot is taken"
    );
    release.notify_one();
    first.await.unwrap().unwrap();
    svc.ready().await.unwrap();
}

/// What the handler learns of its request body before reading it, as `end=<bool> len=<n>`.
async fn body_view(req: axum::extract::Request) -> String {
    use http_body::Body as _;
    let body = req.body();
    format!(
        "end={} len={:?}",
        body.is_end_stream(),
        body.size_hint().exact()
    )
}

/// Wrapping the bodies hides nothing a peer relies on: the handler still sees whether the
/// request has a body and its declared length, and the client still gets a Content-Length
/// (not a chunked body) for a response whose length is known.
#[tokio::test]
async fn the_wrapped_bodies_keep_their_length_and_end_of_stream() {
    let m = metrics();
    let app = Router::new()
        .route("/body", get(body_view).post(body_view))
        .layer(m.layer());
    let addr = serve(app).await;
    let client = client();
    let got = send(&client, addr, "POST", "/body", &[], b"hello").await;
    assert_eq!(got.text(), "end=false len=Some(5)");
    let got = http_get(&client, addr, "/body").await;
    assert_eq!(got.text(), "end=true len=Some(0)");
    assert_eq!(
        got.headers["content-length"],
        got.body.len().to_string().as_str()
    );
    assert!(!got.headers.contains_key("transfer-encoding"));
}

/// The response body the layer hands to the server reports the end of stream as the inner
/// body does: hyper then sends an empty response without polling it (and HTTP/2 ends the
/// stream on the headers frame), and a non-empty one is still polled.
#[tokio::test]
async fn the_response_body_reports_its_end_as_the_inner_body_does() {
    use http::{Request, Response};
    use http_body::Body as _;
    use http_body_util::Full;
    use tower::{Layer, ServiceExt};
    let m = metrics();
    for (text, ends) in [("", true), ("x", false)] {
        let inner = tower::service_fn(move |_req: Request<_>| async move {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                text.as_bytes(),
            ))))
        });
        let res = m
            .layer()
            .layer(inner)
            .oneshot(Request::new(Full::new(Bytes::new())))
            .await
            .unwrap();
        assert_eq!(res.body().is_end_stream(), ends, "body {text:?}");
        assert_eq!(res.body().size_hint().exact(), Some(text.len() as u64));
    }
}

/// Each of the nine standard methods keeps its own `method` label value; any other method
/// is `OTHER`.
#[test]
fn every_standard_method_has_its_own_label_value() {
    let m = metrics();
    let methods = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PROPFIND",
    ];
    for name in methods {
        m.record(&redmetrics::middleware::Completed {
            method: &http::Method::from_bytes(name.as_bytes()).unwrap(),
            route: Some("/r"),
            status: 200,
            took: Duration::from_millis(1),
            request_bytes: 0,
            response_bytes: 0,
        });
    }
    let s = scrape(&m);
    let mut labels = request_labels(&s, "method");
    labels.sort_unstable();
    assert_eq!(
        labels,
        [
            "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "OTHER", "PATCH", "POST", "PUT", "TRACE"
        ]
    );
}

/// An exclusion matches the route template alone (`/v1/items/{id}` skips `/v1/items/7`) or
/// the request path alone (an unrouted `/favicon.ico`); either is enough. Another unrouted
/// path is measured, so the fallback does pass through the layer.
#[tokio::test]
async fn an_exclusion_matches_the_template_or_the_path_alone() {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .exclude(["/v1/items/{id}", "/favicon.ico"])
        .build()
        .unwrap();
    let app = Router::new()
        .route("/v1/items/{id}", get(|| async { "item" }))
        .route("/v1/other", get(|| async { "other" }))
        .layer(m.layer());
    let addr = serve(app).await;
    let client = client();
    for (path, status) in [
        ("/v1/items/7", 200),
        ("/favicon.ico", 404),
        ("/v1/other", 200),
        ("/nowhere", 404),
    ] {
        assert_eq!(http_get(&client, addr, path).await.status, status, "{path}");
    }
    let s = scrape(&m);
    let paths = request_labels(&s, "path");
    assert_eq!(paths, ["/v1/other", redmetrics::contract::UNMATCHED]);
}

/// The HTTP families claim their names in the registry: an application family of the same
/// name is refused instead of producing a second family under it in every scrape.
#[test]
fn an_application_family_cannot_take_an_http_familys_name() {
    use redmetrics::metrics::{Counter, Gauge};
    use redmetrics::registry::RegistryError;
    let m = metrics();
    let r = m.registry();
    let counter = r.family::<Counter, 0>(REQUESTS, "Clash.", [], ());
    let gauge = r.family::<Gauge, 0>(DURATION, "Clash.", [], ());
    assert!(matches!(counter, Err(RegistryError::Duplicate { .. })));
    assert!(matches!(gauge, Err(RegistryError::Duplicate { .. })));
}

/// The in-process read view (`HttpMetrics::series`, what the live page reads) shows exactly
/// what the layer recorded: every (method, path), every (route, status) count, each route's
/// latency count, the contract's bucket bounds, and no request left in flight.
#[tokio::test]
async fn the_series_view_reads_back_every_route_and_status() {
    let buckets = redmetrics::metrics::Buckets::new([0.05, 0.5, 5.0]).unwrap();
    let contract = Contract::builder("reviewmaps")
        .duration_buckets(buckets)
        .build()
        .unwrap();
    let m = HttpMetrics::builder(contract).build().unwrap();
    let app = Router::new()
        .route("/a", get(|| async { "a" }).post(|| async { "posted" }))
        .route("/b", get(|| async { StatusCode::NOT_FOUND }))
        .layer(m.layer());
    let addr = serve(app).await;
    let client = client();
    for (method, path, times) in [("GET", "/a", 3), ("POST", "/a", 2), ("GET", "/b", 1)] {
        for _ in 0..times {
            send(&client, addr, method, path, &[], b"").await;
        }
    }
    let view = m.series();
    assert_eq!(view.duration_bounds(), [0.05, 0.5, 5.0]);
    assert!(common::eventually(Duration::from_secs(5), || view.in_flight() == 0).await);
    let mut routes = std::collections::BTreeMap::new();
    let mut latency_counts = Vec::new();
    for r in view.routes() {
        routes.insert(r.id, (r.method, r.path));
        let mut cumulative = Vec::new();
        r.duration.read(&mut cumulative);
        latency_counts.push(((r.method, r.path), cumulative.last().copied()));
    }
    latency_counts.sort();
    assert_eq!(
        latency_counts,
        [
            (("GET", "/a"), Some(3)),
            (("GET", "/b"), Some(1)),
            (("POST", "/a"), Some(2)),
        ]
    );
    let mut counts: Vec<((&str, &str), u16, u64)> = view
        .requests()
        .map(|c| (routes[&c.route], c.status, c.count))
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            (("GET", "/a"), 200, 3),
            (("GET", "/b"), 404, 1),
            (("POST", "/a"), 200, 2),
        ]
    );
}

/// Past the bound, the series view shows the overflow route with what was folded into it,
/// as the scrape does.
#[test]
fn the_series_view_shows_the_overflow_route_once_something_folded() {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .max_label_sets(1)
        .build()
        .unwrap();
    for route in ["/a", "/b", "/c"] {
        m.record(&redmetrics::middleware::Completed {
            method: &http::Method::GET,
            route: Some(route),
            status: 200,
            took: Duration::from_millis(1),
            request_bytes: 0,
            response_bytes: 0,
        });
    }
    let mut routes: Vec<(String, Option<u64>)> = m
        .series()
        .routes()
        .map(|r| {
            let mut cumulative = Vec::new();
            r.duration.read(&mut cumulative);
            (r.path.to_owned(), cumulative.last().copied())
        })
        .collect();
    routes.sort();
    assert_eq!(
        routes,
        [
            ("/a".to_owned(), Some(1)),
            (redmetrics::metrics::OVERFLOW.to_owned(), Some(2))
        ]
    );
}

/// The in-process series view (`HttpMetrics::series`, which the live page and the OTLP
/// exporter read) shows what the scrape shows, as prometheus_client's text parser reads it:
/// each route's request and response size series (count and sum, the request sum being the
/// bytes the client sent), each (route, status) latency histogram's count, and the protocol
/// version the client's responses came back in. Two requests held open by their handler read
/// as 2 in flight, and 0 once they are answered.
#[tokio::test]
async fn the_series_view_agrees_with_the_scrape() {
    use redmetrics::middleware::SizeView;
    let contract = Contract::builder("reviewmaps")
        .duration_by_status(redmetrics::contract::DurationByStatus::Everywhere)
        .build()
        .unwrap();
    let m = HttpMetrics::builder(contract).build().unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let held_by = gate.clone();
    let app = Router::new()
        .route("/echo", post(|body: Bytes| async move { body }))
        .route(
            "/missing",
            get(|| async { (StatusCode::NOT_FOUND, "gone!") }),
        )
        .route(
            "/hold",
            get(move || {
                let gate = held_by.clone();
                async move {
                    gate.acquire().await.unwrap().forget();
                    "held"
                }
            }),
        )
        .layer(m.layer())
        .route_service(m.metrics_path(), m.endpoint());
    let addr = serve(app).await;
    let c = client();
    let view = m.series();

    let held: Vec<_> = (0..2)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { http_get(&c, addr, "/hold").await })
        })
        .collect();
    assert!(
        common::eventually(Duration::from_secs(10), || view.in_flight() == 2).await,
        "{} in flight with two requests held open",
        view.in_flight()
    );
    gate.add_permits(2);
    for h in held {
        assert_eq!(h.await.unwrap().text(), "held");
    }
    assert!(
        common::eventually(Duration::from_secs(10), || view.in_flight() == 0).await,
        "{} in flight once every request was answered",
        view.in_flight()
    );
    for body in [&b"12345678"[..], b"12345678", b"abc"] {
        send(&c, addr, "POST", "/echo", &[], body).await;
    }
    let missing = c
        .request(
            axum::http::Request::get(format!("http://{addr}/missing"))
                .body(http_body_util::Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let spoken = format!("{:?}", missing.version());

    let scrape = send(&c, addr, "GET", "/metrics", &[], b"").await;
    let families = common::python_parse("text", &scrape.body);
    let scraped = |name: &str, labels: serde_json::Value| -> f64 {
        families
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["samples"].as_array().unwrap().iter())
            .find(|s| s[0] == name && s[1] == labels)
            .and_then(|s| s[2].as_f64())
            .unwrap_or_else(|| panic!("{name} {labels} not in the scrape"))
    };
    assert_eq!(
        scraped(
            &format!("{REQ_SIZE}_sum"),
            serde_json::json!({"method": "POST", "path": "/echo"})
        ),
        19.0
    );

    let routes: std::collections::BTreeMap<_, _> =
        view.routes().map(|r| (r.id, (r.method, r.path))).collect();
    assert_eq!(routes.len(), 3, "{routes:?}");
    for (&id, &(method, path)) in &routes {
        let protocol = view.protocol(id);
        assert_eq!(
            protocol.version.map(|v| format!("HTTP/{v}")),
            Some(spoken.clone()),
            "{method} {path}"
        );
        assert_eq!(
            protocol.scheme, None,
            "origin-form requests carry no scheme"
        );
    }
    let mut sized = Vec::new();
    for s in view.sizes() {
        let (method, path) = routes[&s.route];
        let labels = serde_json::json!({"method": method, "path": path});
        for (family, size) in [(REQ_SIZE, s.request), (RES_SIZE, s.response)] {
            let (sum, count) = match size {
                SizeView::Summary(summary) => summary.read(&mut Vec::new()),
                SizeView::Histogram(h) => {
                    let mut cumulative = Vec::new();
                    let sum = h.read(&mut cumulative);
                    (sum, *cumulative.last().unwrap())
                }
            };
            assert_eq!(sum, scraped(&format!("{family}_sum"), labels.clone()));
            assert_eq!(
                count as f64,
                scraped(&format!("{family}_count"), labels.clone())
            );
        }
        sized.push((method, path));
    }
    sized.sort_unstable();
    assert_eq!(
        sized,
        [("GET", "/hold"), ("GET", "/missing"), ("POST", "/echo")]
    );
    let mut by_status = Vec::new();
    for d in view.status_durations() {
        let (method, path) = routes[&d.route];
        let mut cumulative = Vec::new();
        d.duration.read(&mut cumulative);
        let count = *cumulative.last().unwrap();
        let status = d.status.to_string();
        assert_eq!(
            count as f64,
            scraped(
                &format!("{DURATION}_count"),
                serde_json::json!({"method": method, "path": path, "status": status})
            )
        );
        by_status.push((method, path, d.status, count));
    }
    by_status.sort_unstable();
    assert_eq!(
        by_status,
        [
            ("GET", "/hold", 200, 2),
            ("GET", "/missing", 404, 1),
            ("POST", "/echo", 200, 3)
        ]
    );
}

/// `duration_by_status` decides where latency is also kept per status: `Off` keeps none
/// (the series view, which OTLP exports, has no (route, status) histogram), `Otlp` keeps them
/// for the view only, `Everywhere` in the scrape too (a `status` label on the latency family).
#[tokio::test]
async fn latency_per_status_is_kept_only_where_the_contract_says() {
    use redmetrics::contract::DurationByStatus;
    for (mode, in_view, in_scrape) in [
        (DurationByStatus::Off, false, false),
        (DurationByStatus::Otlp, true, false),
        (DurationByStatus::Everywhere, true, true),
    ] {
        let contract = Contract::builder("reviewmaps")
            .duration_by_status(mode)
            .build()
            .unwrap();
        let m = HttpMetrics::builder(contract).build().unwrap();
        let addr = serve(campaigns_api(&m)).await;
        let c = client();
        assert_eq!(http_get(&c, addr, "/v1/campaigns").await.status, 200);
        let view = m.series();
        let statuses: Vec<u16> = view.status_durations().map(|d| d.status).collect();
        assert_eq!(
            !statuses.is_empty(),
            in_view,
            "{mode:?}: view has {statuses:?}"
        );
        let labelled = scrape(&m)
            .iter()
            .any(|s| s.name.starts_with(DURATION) && s.labels.contains_key("status"));
        assert_eq!(
            labelled, in_scrape,
            "{mode:?}: a status label in the scrape"
        );
    }
}
