//! Series starts over loopback: the `_created` samples of OpenMetrics and the
//! `created_timestamp` of protobuf, for the HTTP families, an application's families and the
//! `metrics` facade. Each start must fall between the test's clock read just before the first
//! request of its route (or the first recording of its label set) and the one just after;
//! later requests must not move it. Judged by Python's prometheus_client OpenMetrics parser
//! (the OpenMetrics suite's reference implementation) and Google's protobuf runtime; text
//! 0.0.4 must carry no start.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use common::{client, created_placeholders, python_judge, python_parse, send, serve};
use redmetrics::facade::FacadeRecorder;
use redmetrics::metrics::{Buckets, Counter, Histogram, Objective, Summary, SummaryShape};
use redmetrics::{Contract, HttpMetrics};
use serde_json::{Value, json};

const OPENMETRICS: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const PROTOBUF: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A series whose start must lie in `[from, to]` (nanoseconds since the Unix epoch).
struct Expected {
    /// The OpenMetrics `_created` sample name.
    sample: &'static str,
    /// The protobuf family name.
    family: &'static str,
    labels: Value,
    from: u128,
    to: u128,
}

#[tokio::test]
async fn starts_are_when_each_label_set_was_first_seen() {
    let built = now();
    let m = HttpMetrics::builder(Contract::new("starts").unwrap())
        .process_metrics(false)
        .build()
        .unwrap();
    let r = m.registry();
    let jobs = r
        .family::<Counter, 1>("app_jobs_total", "Jobs.", ["queue"], ())
        .unwrap();
    let waits = r
        .family::<Histogram, 0>(
            "app_wait_seconds",
            "Waits.",
            [],
            Arc::new(Buckets::new([0.1, 1.0]).unwrap()),
        )
        .unwrap();
    let shape =
        Arc::new(SummaryShape::new(&Objective::DEFAULTS, Duration::from_secs(600)).unwrap());
    let payloads = r
        .family::<Summary, 0>("app_payload_bytes", "Payloads.", [], shape)
        .unwrap();
    let facade = FacadeRecorder::builder(r.clone()).build();
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route(
            "/b",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "b") }),
        )
        .layer(m.layer())
        .route_service(m.metrics_path(), m.endpoint());
    let addr = serve(app).await;
    let c = client();

    let a0 = now();
    common::get(&c, addr, "/a").await;
    let a1 = now();
    common::get(&c, addr, "/a").await;
    let app0 = now();
    jobs.with(["mail"]).inc();
    waits.with([]).observe(0.5);
    payloads.with([]).observe(10.0);
    metrics::with_local_recorder(&facade, || {
        metrics::counter!("app_facade_events_total", "kind" => "x").increment(1);
    });
    let app1 = now();
    let b0 = now();
    common::get(&c, addr, "/b").await;
    let b1 = now();
    for _ in 0..3 {
        common::get(&c, addr, "/a").await;
        common::get(&c, addr, "/b").await;
        jobs.with(["mail"]).inc();
    }
    metrics::with_local_recorder(&facade, || {
        metrics::counter!("app_facade_events_total", "kind" => "x").increment(1);
    });

    let route = |path: &str| json!({"method": "GET", "path": path});
    let status =
        |path: &str, status: &str| json!({"method": "GET", "path": path, "status": status});
    let mut expected = vec![
        Expected {
            sample: "starts_http_requests_created",
            family: "starts_http_requests_total",
            labels: status("/a", "200"),
            from: a0,
            to: a1,
        },
        Expected {
            sample: "starts_http_requests_created",
            family: "starts_http_requests_total",
            labels: status("/b", "500"),
            from: b0,
            to: b1,
        },
    ];
    for (sample, family) in [
        (
            "starts_http_request_duration_seconds_created",
            "starts_http_request_duration_seconds",
        ),
        (
            "starts_http_request_size_bytes_created",
            "starts_http_request_size_bytes",
        ),
        (
            "starts_http_response_size_bytes_created",
            "starts_http_response_size_bytes",
        ),
    ] {
        for (path, from, to) in [("/a", a0, a1), ("/b", b0, b1)] {
            expected.push(Expected {
                sample,
                family,
                labels: route(path),
                from,
                to,
            });
        }
    }
    for (sample, family, labels) in [
        (
            "app_jobs_created",
            "app_jobs_total",
            json!({"queue": "mail"}),
        ),
        ("app_wait_seconds_created", "app_wait_seconds", json!({})),
        ("app_payload_bytes_created", "app_payload_bytes", json!({})),
        (
            "app_facade_events_created",
            "app_facade_events_total",
            json!({"kind": "x"}),
        ),
    ] {
        expected.push(Expected {
            sample,
            family,
            labels,
            from: app0,
            to: app1,
        });
    }

    // OpenMetrics: the exact text value, then Python's parser reading the same sample.
    let om = send(&c, addr, "GET", "/metrics", &[("accept", OPENMETRICS)], b"").await;
    assert_eq!(
        om.headers["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
    );
    let (_, starts) = created_placeholders(&om.text());
    // Each family's overflow counter starts when its family was registered: the HTTP and
    // application families before the first request, the facade's at its first use.
    let (overflow, starts): (Vec<_>, Vec<_>) = starts
        .into_iter()
        .partition(|(line, _)| line.starts_with("redmetrics_cardinality_overflow_created{"));
    assert_eq!(overflow.len(), 4 + 3 + 1, "{}", om.text());
    for (line, at) in &overflow {
        assert!(
            built <= *at && *at <= app1,
            "{line}: {at} outside [{built}, {app1}]"
        );
    }
    assert_eq!(
        starts.len(),
        expected.len(),
        "one start per series: {}",
        om.text()
    );
    let judged = python_parse("openmetrics", &om.body);
    for e in &expected {
        let labels = e.labels.as_object().unwrap();
        let prefix = format!(
            "{}{{{}}} ",
            e.sample,
            labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap()))
                .collect::<Vec<_>>()
                .join(",")
        )
        .replace("{} ", " ");
        let at = starts
            .iter()
            .find(|(line, _)| line.starts_with(&prefix))
            .map(|(_, at)| *at)
            .unwrap_or_else(|| panic!("no `{prefix}` in {}", om.text()));
        assert!(
            e.from <= at && at <= e.to,
            "{prefix}: {at} outside [{}, {}]",
            e.from,
            e.to
        );
        let python = judged
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["samples"].as_array().unwrap())
            .find(|s| s[0] == e.sample && s[1] == e.labels)
            .unwrap_or_else(|| panic!("Python's parser has no {} {}", e.sample, e.labels));
        let seconds = python[2].as_f64().unwrap();
        assert!(
            (seconds - at as f64 / 1e9).abs() < 1e-6,
            "{prefix}: Python read {seconds}"
        );
    }

    // Protobuf: Google's runtime decodes created_timestamp as [seconds, nanos].
    let pb = send(&c, addr, "GET", "/metrics", &[("accept", PROTOBUF)], b"").await;
    let families = python_judge(
        "decode_protobuf.py",
        &[],
        &pb.body,
        "Python's protobuf runtime (pip install protobuf)",
    );
    for e in &expected {
        let metric = families
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["name"] == e.family)
            .flat_map(|f| f["metrics"].as_array().unwrap())
            .find(|m| m["labels"] == e.labels)
            .unwrap_or_else(|| panic!("no {} {} in {families}", e.family, e.labels));
        let created = &metric["created"];
        let at = u128::from(created[0].as_u64().unwrap()) * 1_000_000_000
            + u128::from(created[1].as_u64().unwrap());
        assert!(
            e.from <= at && at <= e.to,
            "{} {}: {at} outside [{}, {}]",
            e.family,
            e.labels,
            e.from,
            e.to
        );
    }
    let gauge = families
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "starts_http_active_connections")
        .unwrap();
    assert_eq!(
        gauge["metrics"][0]["created"],
        Value::Null,
        "a gauge has no start"
    );

    let text = send(&c, addr, "GET", "/metrics", &[], b"").await.text();
    assert!(text.contains("starts_http_requests_total{"), "{text}");
    assert!(
        !text.contains("_created"),
        "text 0.0.4 has no start: {text}"
    );
}
