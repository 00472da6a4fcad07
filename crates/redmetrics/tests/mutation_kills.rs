//! Behaviours that `scripts/mutants` (cargo-mutants over the request path and the endpoint)
//! found untested: each test here fails on a mutant that survived the rest of the suite, as
//! TESTING.md lists. Over real HTTP on 127.0.0.1 where the claim is about what a client sees.
#![allow(clippy::unwrap_used)]

mod common;

use std::convert::Infallible;
use std::sync::Arc;

use futures_util::FutureExt;
use http::{Request, Response};
use http_body_util::Full;
use redmetrics::{Contract, HttpMetrics};
use tokio::sync::Notify;
use tower::{Layer, Service, ServiceExt};

fn metrics() -> HttpMetrics {
    HttpMetrics::builder(Contract::new("mk").unwrap())
        .build()
        .unwrap()
}

/// The layer passes the inner service's backpressure on: with a concurrency limit of one
/// inside it and one request in flight, the layered service is not ready until that request
/// ends (readiness is polled once, without waiting).
#[tokio::test]
async fn the_layer_forwards_the_inner_services_backpressure() {
    let m = metrics();
    let release = Arc::new(Notify::new());
    let wait = Arc::clone(&release);
    let inner = tower::service_fn(move |_req: Request<_>| {
        let wait = Arc::clone(&wait);
        async move {
            wait.notified().await;
            Ok::<_, Infallible>(Response::new(Full::new(bytes::Bytes::from_static(b"ok"))))
        }
    });
    let mut svc = m
        .layer()
        .layer(tower::limit::ConcurrencyLimit::new(inner, 1));
    let first = svc
        .ready()
        .await
        .unwrap()
        .call(Request::new(Full::new(bytes::Bytes::new())));
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
    let app = axum::Router::new()
        .route("/body", axum::routing::get(body_view).post(body_view))
        .layer(m.layer());
    let addr = common::serve(app).await;
    let client = common::client();
    let got = common::send(&client, addr, "POST", "/body", &[], b"hello").await;
    assert_eq!(got.text(), "end=false len=Some(5)");
    let got = common::get(&client, addr, "/body").await;
    assert_eq!(got.text(), "end=true len=Some(0)");
    assert_eq!(
        got.headers["content-length"],
        got.body.len().to_string().as_str()
    );
    assert!(!got.headers.contains_key("transfer-encoding"));
}

/// The in-process read view (`HttpMetrics::series`, what the live page reads) shows exactly
/// what the layer recorded: every (method, path), every (route, status) count, each route's
/// latency count, the contract's bucket bounds, and no request left in flight.
#[tokio::test]
async fn the_series_view_reads_back_every_route_and_status() {
    let buckets = redmetrics::metrics::Buckets::new([0.05, 0.5, 5.0]).unwrap();
    let contract = Contract::builder("mk")
        .duration_buckets(buckets)
        .build()
        .unwrap();
    let m = HttpMetrics::builder(contract).build().unwrap();
    let app = axum::Router::new()
        .route(
            "/a",
            axum::routing::get(|| async { "a" }).post(|| async { "posted" }),
        )
        .route(
            "/b",
            axum::routing::get(|| async { http::StatusCode::NOT_FOUND }),
        )
        .layer(m.layer());
    let addr = common::serve(app).await;
    let client = common::client();
    for (method, path, times) in [("GET", "/a", 3), ("POST", "/a", 2), ("GET", "/b", 1)] {
        for _ in 0..times {
            common::send(&client, addr, method, path, &[], b"").await;
        }
    }
    let view = m.series();
    assert_eq!(view.duration_bounds(), [0.05, 0.5, 5.0]);
    assert!(common::eventually(std::time::Duration::from_secs(5), || view.in_flight() == 0).await);
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
            took: std::time::Duration::from_millis(1),
            request_bytes: 0,
            response_bytes: 0,
        });
    }
    let text = redmetrics::encoding::encode(m.registry(), redmetrics::encoding::Format::Text);
    let s = common::samples(&String::from_utf8(text).unwrap());
    let mut labels: Vec<&str> = s
        .iter()
        .filter(|x| x.name == "mk_http_requests_total")
        .map(|x| x.labels["method"].as_str())
        .collect();
    labels.sort_unstable();
    assert_eq!(
        labels,
        [
            "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "OTHER", "PATCH", "POST", "PUT", "TRACE"
        ]
    );
}
