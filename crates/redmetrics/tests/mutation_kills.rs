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

/// Serves `endpoint` at `/metrics` on loopback, with a client for it.
async fn serve_endpoint(
    endpoint: redmetrics::MetricsEndpoint,
) -> (std::net::SocketAddr, common::HttpClient) {
    let app = axum::Router::new().route_service("/metrics", endpoint);
    (common::serve(app).await, common::client())
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

/// `*/*` counts as accepting text: a scraper that prefers anything over OpenMetrics gets
/// text, one that accepts only OpenMetrics and JSON gets OpenMetrics.
#[tokio::test]
async fn a_wildcard_range_is_text_and_unrelated_types_are_not() {
    let m = metrics();
    let (addr, client) = serve_endpoint(m.endpoint()).await;
    for (accept, content_type) in [
        (
            "application/openmetrics-text;q=0.2, */*;q=0.5",
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        (
            "application/openmetrics-text;q=0.5, application/json",
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
    ] {
        let got = common::send(&client, addr, "GET", "/metrics", &[("accept", accept)], b"").await;
        assert_eq!(got.headers["content-type"], content_type, "{accept}");
    }
}

/// `gzip(false)` turns compression off even for a scraper that asks for it, and the
/// endpoint's `registry()` is the registry it serves: a family registered there is scraped.
#[tokio::test]
async fn gzip_can_be_turned_off_and_the_endpoint_serves_its_own_registry() {
    let m = metrics();
    let plain = m.endpoint().gzip(false);
    let jobs = plain
        .registry()
        .family::<redmetrics::metrics::Counter, 1>("mk_jobs_total", "Jobs run.", ["queue"], ())
        .unwrap();
    jobs.with(["a"]).inc();
    let app = axum::Router::new()
        .route_service("/plain", plain)
        .route_service("/zipped", m.endpoint());
    let addr = common::serve(app).await;
    let client = common::client();
    let gzip = [("accept-encoding", "gzip")];
    let zipped = common::send(&client, addr, "GET", "/zipped", &gzip, b"").await;
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    let got = common::send(&client, addr, "GET", "/plain", &gzip, b"").await;
    assert!(!got.headers.contains_key("content-encoding"));
    let s = common::samples(&got.text());
    assert_eq!(
        common::value(&s, "mk_jobs_total", &[("queue", "a")]),
        Some(1.0)
    );
}

/// Every sample prometheus_client reads from `exposition`, as (name, labels, value).
fn python_samples(exposition: &[u8]) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let families = common::python_parse("text", exposition);
    families
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["samples"].as_array().unwrap().iter())
        .map(|s| {
            (
                s[0].as_str().unwrap().to_owned(),
                s[1].clone(),
                s[2].clone(),
            )
        })
        .collect()
}

fn python_value(
    samples: &[(String, serde_json::Value, serde_json::Value)],
    name: &str,
    labels: serde_json::Value,
) -> serde_json::Value {
    samples
        .iter()
        .find(|(n, l, _)| n == name && *l == labels)
        .map(|(_, _, v)| v.clone())
        .unwrap_or_else(|| panic!("{name} {labels} not scraped"))
}

/// Application metrics hold exactly what they were given, read back in the process and
/// from a scrape over HTTP that prometheus_client parses: a counter's `inc_by`, every gauge
/// operation, float gauges, and an exponential histogram's bounds, buckets and sum.
#[tokio::test]
async fn application_metric_types_hold_exactly_what_they_were_given() {
    use redmetrics::metrics::{Buckets, Counter, Gauge, GaugeF64, Histogram};
    use serde_json::json;
    let m = metrics();
    let r = m.registry();
    let jobs = r
        .family::<Counter, 1>("mk_jobs_total", "Jobs.", ["q"], ())
        .unwrap();
    let depth = r
        .family::<Gauge, 1>("mk_depth", "Depth.", ["q"], ())
        .unwrap();
    let temp = r
        .family::<GaugeF64, 1>("mk_temp_celsius", "Temp.", ["q"], ())
        .unwrap();
    let buckets = Buckets::exponential(1.0, 2.0, 3).unwrap();
    assert_eq!(buckets.bounds(), [1.0, 2.0, 4.0]);
    let le: Vec<&str> = buckets.le().iter().map(|s| &**s).collect();
    assert_eq!(le, ["1.0", "2.0", "4.0", "+Inf"]);
    let sizes = r
        .family::<Histogram, 1>("mk_size", "Size.", ["q"], Arc::new(buckets))
        .unwrap();

    let c = jobs.with(["a"]);
    c.inc();
    c.inc_by(5);
    assert_eq!(c.get(), 6);
    let g = depth.with(["a"]);
    g.set(10);
    g.inc();
    g.dec();
    g.dec();
    g.add(-3);
    assert_eq!(g.get(), 6);
    let f = temp.with(["a"]);
    f.set(1.5);
    f.add(0.25);
    assert_eq!(f.get(), 1.75);
    let h = sizes.with(["a"]);
    assert_eq!(h.buckets().bounds(), [1.0, 2.0, 4.0]);
    for v in [0.5, 1.0, 3.0, 3.0, 10.0] {
        h.observe(v);
    }
    let mut cumulative = Vec::new();
    assert_eq!(h.read(&mut cumulative), 17.5);
    assert_eq!(cumulative, [2, 2, 4, 5]);

    let (addr, client) = serve_endpoint(m.endpoint()).await;
    let got = common::get(&client, addr, "/metrics").await;
    let s = python_samples(&got.body);
    let a = || json!({"q": "a"});
    assert_eq!(python_value(&s, "mk_jobs_total", a()), 6.0);
    assert_eq!(python_value(&s, "mk_depth", a()), 6.0);
    assert_eq!(python_value(&s, "mk_temp_celsius", a()), 1.75);
    assert_eq!(python_value(&s, "mk_size_sum", a()), 17.5);
    assert_eq!(python_value(&s, "mk_size_count", a()), 5.0);
    for (le, n) in [("1.0", 2.0), ("2.0", 2.0), ("4.0", 4.0), ("+Inf", 5.0)] {
        assert_eq!(
            python_value(&s, "mk_size_bucket", json!({"q": "a", "le": le})),
            n,
            "le={le}"
        );
    }
}

/// The response body the layer hands to the server reports the end of stream as the inner
/// body does: hyper then sends an empty response without polling it (and HTTP/2 ends the
/// stream on the headers frame), and a non-empty one is still polled.
#[tokio::test]
async fn the_response_body_reports_its_end_as_the_inner_body_does() {
    use http_body::Body as _;
    let m = metrics();
    for (text, ends) in [("", true), ("x", false)] {
        let inner = tower::service_fn(move |_req: Request<_>| async move {
            Ok::<_, Infallible>(Response::new(Full::new(bytes::Bytes::from_static(
                text.as_bytes(),
            ))))
        });
        let res = m
            .layer()
            .layer(inner)
            .oneshot(Request::new(Full::new(bytes::Bytes::new())))
            .await
            .unwrap();
        assert_eq!(res.body().is_end_stream(), ends, "body {text:?}");
        assert_eq!(res.body().size_hint().exact(), Some(text.len() as u64));
    }
}

/// The HTTP families claim their names in the registry: an application family of the same
/// name is refused instead of producing a second family under it in every scrape.
#[test]
fn an_application_family_cannot_take_an_http_familys_name() {
    use redmetrics::metrics::{Counter, Gauge};
    use redmetrics::registry::RegistryError;
    let m = metrics();
    let r = m.registry();
    let counter = r.family::<Counter, 0>("mk_http_requests_total", "Clash.", [], ());
    let gauge = r.family::<Gauge, 0>("mk_http_request_duration_seconds", "Clash.", [], ());
    assert!(matches!(counter, Err(RegistryError::Duplicate { .. })));
    assert!(matches!(gauge, Err(RegistryError::Duplicate { .. })));
}

/// A summary keeps its shape as given (objectives sorted by quantile, their labels, the
/// window) and reports the sum and count of float and integer observations alike, with
/// constant data at every quantile, in the process and in a scrape prometheus_client parses.
#[tokio::test]
async fn a_summary_reports_its_shape_sum_count_and_quantiles() {
    use redmetrics::metrics::{Objective, Summary, SummaryShape};
    use serde_json::json;
    let objective = |quantile, error| Objective { quantile, error };
    let shape = SummaryShape::new(
        &[objective(0.9, 0.01), objective(0.5, 0.05)],
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(
        shape.objectives(),
        [objective(0.5, 0.05), objective(0.9, 0.01)]
    );
    let labels: Vec<&str> = shape.quantile_labels().iter().map(|s| &**s).collect();
    assert_eq!(labels, ["0.5", "0.9"]);
    assert_eq!(shape.window(), std::time::Duration::from_secs(60));

    let m = metrics();
    let latency = m
        .registry()
        .family::<Summary, 1>("mk_latency_seconds", "Latency.", ["q"], Arc::new(shape))
        .unwrap();
    let s = latency.with(["a"]);
    assert_eq!(s.shape().window(), std::time::Duration::from_secs(60));
    s.observe(3.0);
    s.observe(3.0);
    s.observe_u64_at(3, std::time::Instant::now());
    let mut quantiles = Vec::new();
    assert_eq!(s.read(&mut quantiles), (9.0, 3));
    assert_eq!(quantiles, [3.0, 3.0]);

    let (addr, client) = serve_endpoint(m.endpoint()).await;
    let got = common::get(&client, addr, "/metrics").await;
    let samples = python_samples(&got.body);
    assert_eq!(
        python_value(&samples, "mk_latency_seconds_sum", json!({"q": "a"})),
        9.0
    );
    assert_eq!(
        python_value(&samples, "mk_latency_seconds_count", json!({"q": "a"})),
        3.0
    );
    for q in ["0.5", "0.9"] {
        let labels = json!({"q": "a", "quantile": q});
        assert_eq!(
            python_value(&samples, "mk_latency_seconds", labels),
            3.0,
            "{q}"
        );
    }
}

/// An exclusion matches the route template alone (`/v1/items/{id}` skips `/v1/items/7`) or
/// the request path alone (an unrouted `/favicon.ico`); either is enough. Another unrouted
/// path is measured, so the fallback does pass through the layer.
#[tokio::test]
async fn an_exclusion_matches_the_template_or_the_path_alone() {
    let m = HttpMetrics::builder(Contract::new("mk").unwrap())
        .exclude(["/v1/items/{id}", "/favicon.ico"])
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route("/v1/items/{id}", axum::routing::get(|| async { "item" }))
        .route("/v1/other", axum::routing::get(|| async { "other" }))
        .layer(m.layer());
    let addr = common::serve(app).await;
    let client = common::client();
    for (path, status) in [
        ("/v1/items/7", 200),
        ("/favicon.ico", 404),
        ("/v1/other", 200),
        ("/nowhere", 404),
    ] {
        assert_eq!(
            common::get(&client, addr, path).await.status,
            status,
            "{path}"
        );
    }
    let text = redmetrics::encoding::encode(m.registry(), redmetrics::encoding::Format::Text);
    let s = common::samples(&String::from_utf8(text).unwrap());
    let paths: Vec<&str> = s
        .iter()
        .filter(|x| x.name == "mk_http_requests_total")
        .map(|x| x.labels["path"].as_str())
        .collect();
    assert_eq!(paths, ["/v1/other", redmetrics::contract::UNMATCHED]);
}

/// `*;q=0` refuses every coding not named, gzip included: the scrape comes back plain.
#[tokio::test]
async fn a_zero_quality_wildcard_encoding_refuses_gzip() {
    let m = metrics();
    let (addr, client) = serve_endpoint(m.endpoint()).await;
    for (accept, gzipped) in [("*;q=0", false), ("*", true), ("identity, *;q=0", false)] {
        let headers = [("accept-encoding", accept)];
        let got = common::send(&client, addr, "GET", "/metrics", &headers, b"").await;
        assert_eq!(
            got.headers.get("content-encoding").is_some(),
            gzipped,
            "{accept}"
        );
    }
}

/// Float counters and float gauges are written in OpenMetrics too: prometheus_client's
/// OpenMetrics parser reads the process's CPU seconds and an application's float gauge.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn openmetrics_scrapes_carry_float_counters_and_gauges() {
    let m = metrics();
    let temp = m
        .registry()
        .family::<redmetrics::metrics::GaugeF64, 0>("mk_temp_celsius", "Temp.", [], ())
        .unwrap();
    temp.with([]).set(1.75);
    let (addr, client) = serve_endpoint(m.endpoint()).await;
    let accept = [("accept", "application/openmetrics-text; version=1.0.0")];
    let got = common::send(&client, addr, "GET", "/metrics", &accept, b"").await;
    let families = common::python_parse("openmetrics", &got.body);
    let sample = |name: &str| {
        families
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["samples"].as_array().unwrap().iter())
            .find(|s| s[0] == name)
            .and_then(|s| s[2].as_f64())
    };
    assert_eq!(sample("mk_temp_celsius"), Some(1.75));
    assert!(
        sample("process_cpu_seconds_total").is_some(),
        "no process_cpu_seconds_total in\n{}",
        got.text()
    );
}

/// Past the bound, the series view shows the overflow route with what was folded into it,
/// as the scrape does.
#[test]
fn the_series_view_shows_the_overflow_route_once_something_folded() {
    let m = HttpMetrics::builder(Contract::new("mk").unwrap())
        .max_label_sets(1)
        .build()
        .unwrap();
    for route in ["/a", "/b", "/c"] {
        m.record(&redmetrics::middleware::Completed {
            method: &http::Method::GET,
            route: Some(route),
            status: 200,
            took: std::time::Duration::from_millis(1),
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
