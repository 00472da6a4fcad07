//! Exemplars from W3C `traceparent` headers, sent by a real HTTP client over loopback and
//! read back from real scrapes, judged by Python's prometheus_client OpenMetrics parser.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{Next, from_fn};
use axum::routing::get;
use common::{client, python_parse, send, serve};
use redmetrics::encoding::{Format, encode};
use redmetrics::middleware::{Completed, RequestParts, TraceContext};
use redmetrics::{Contract, HttpMetrics};
use serde_json::Value;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0";
const DURATION_BUCKET: &str = "reviewmaps_http_request_duration_seconds_bucket";
const REQUESTS: &str = "reviewmaps_http_requests_total";

const T1: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const S1: &str = "00f067aa0ba902b7";
const T2: &str = "0af7651916cd43dd8448eb211c80319c";
const S2: &str = "b7ad6b7169203331";

fn traceparent(trace: &str, span: &str, flags: &str) -> String {
    format!("00-{trace}-{span}-{flags}")
}

fn app(m: &HttpMetrics) -> Router {
    Router::new()
        .route("/v1/campaigns", get(|| async { "[]" }))
        .route("/v1/campaigns/{id}", get(|| async { "{}" }))
        .layer(m.layer())
        .route_service(m.metrics_path(), m.endpoint())
}

/// Every exemplar Python read: (sample name, the sample's labels, trace_id, span_id,
/// exemplar value).
type Seen = Vec<(String, Value, String, Option<String>, f64)>;

fn exemplars(families: &Value) -> Seen {
    let mut out = Vec::new();
    for f in families.as_array().unwrap() {
        for s in f["samples"].as_array().unwrap() {
            let Some(e) = s.get(3) else { continue };
            let labels = e[0].as_object().unwrap();
            assert!(
                labels.keys().all(|k| k == "trace_id" || k == "span_id"),
                "{e}"
            );
            assert!(e[2].as_f64().is_some(), "exemplar without timestamp: {e}");
            out.push((
                s[0].as_str().unwrap().to_owned(),
                s[1].clone(),
                labels["trace_id"].as_str().unwrap().to_owned(),
                labels
                    .get("span_id")
                    .map(|v| v.as_str().unwrap().to_owned()),
                e[1].as_f64().unwrap(),
            ));
        }
    }
    out
}

/// The timestamp of every exemplar Python read, in seconds since the Unix epoch.
fn exemplar_times(families: &Value) -> Vec<f64> {
    let samples = families.as_array().unwrap().iter();
    samples
        .flat_map(|f| f["samples"].as_array().unwrap())
        .filter_map(|s| s.get(3))
        .map(|e| e[2].as_f64().unwrap())
        .collect()
}

/// The wall clock, in seconds since the Unix epoch.
fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn traced_requests_leave_their_trace_on_the_right_buckets_and_counters() {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .build()
        .unwrap();
    let addr = serve(app(&m)).await;
    let c = client();
    let with = |tp: String| vec![("traceparent".to_owned(), tp)];
    // Malformed or unsampled: never an exemplar, whatever they claim.
    let refused = [
        traceparent(&T1.to_uppercase(), S1, "01"),
        traceparent("00000000000000000000000000000000", S1, "01"),
        traceparent(T1, "0000000000000000", "01"),
        traceparent(T1, S1, "00"),
        format!("01-{T1}-{S1}-01"),
        format!("00-{T1}-{S1}-01-extra"),
        format!("00-{T1}-{S1}"),
        "garbage".to_owned(),
    ];
    let mut plan: Vec<(&str, Vec<(String, String)>)> = vec![("/v1/campaigns", vec![])];
    plan.push(("/v1/campaigns", with(traceparent(T1, S1, "01"))));
    plan.push(("/v1/campaigns/7", with(traceparent(T2, S2, "03"))));
    for r in &refused {
        // The malformed ids are T1 and T2 mangled: none may appear.
        plan.push(("/v1/campaigns", with(r.clone())));
        plan.push(("/v1/campaigns/8", with(r.replace(T1, T2))));
    }
    let before = unix_seconds();
    for (path, headers) in &plan {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = send(&c, addr, "GET", path, &h, b"").await;
        assert_eq!(r.status, 200);
    }

    let om = send(&c, addr, "GET", "/metrics", &[("accept", OPENMETRICS)], b"").await;
    let after = unix_seconds();
    let families = python_parse("openmetrics", &om.body);
    let seen = exemplars(&families);
    // Each exemplar is stamped with the wall clock when its request ended, in whole
    // milliseconds: between the first request and the scrape.
    let times = exemplar_times(&families);
    assert_eq!(times.len(), seen.len());
    for t in times {
        assert!(
            t >= before - 0.001 && t <= after,
            "exemplar at {t}, requests sent from {before} to {after}"
        );
    }
    let traces: BTreeSet<&str> = seen.iter().map(|s| s.2.as_str()).collect();
    assert_eq!(traces, BTreeSet::from([T1, T2]), "{}", om.text());
    let on = |name: &str, path: &str| -> Vec<&(String, Value, String, Option<String>, f64)> {
        seen.iter()
            .filter(|s| s.0 == name && s.1["path"] == path)
            .collect()
    };
    for (path, trace, span) in [("/v1/campaigns", T1, S1), ("/v1/campaigns/{id}", T2, S2)] {
        let buckets = on(DURATION_BUCKET, path);
        assert_eq!(
            buckets.len(),
            1,
            "one traced request, one bucket: {buckets:?}"
        );
        let (_, labels, t, s, value) = buckets[0];
        assert_eq!((t.as_str(), s.as_deref()), (trace, Some(span)));
        // The exemplar sits on the bucket its value fell in.
        let le: f64 = match labels["le"].as_str().unwrap() {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap(),
        };
        assert!(*value <= le, "{value} above le={le}");
        let bounds = [
            0.0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let below = bounds
            .iter()
            .copied()
            .filter(|b| *b < le)
            .fold(0.0, f64::max);
        assert!(
            *value > below || below == 0.0,
            "{value} not above the bucket below"
        );
        let counters = on(REQUESTS, path);
        assert_eq!(counters.len(), 1, "{counters:?}");
        assert_eq!(counters[0].1["status"], "200");
        assert_eq!((counters[0].2.as_str(), counters[0].4), (trace, 1.0));
    }
    assert_eq!(seen.len(), 4, "only _bucket and _total samples: {seen:?}");

    let text = send(&c, addr, "GET", "/metrics", &[], b"").await;
    let text = text.text();
    assert!(text.contains(DURATION_BUCKET));
    assert!(!text.contains("trace_id"), "text 0.0.4 has no exemplars");
    assert!(
        text.lines()
            .all(|l| !l.contains('#') || l.starts_with("# HELP") || l.starts_with("# TYPE")),
        "{text}"
    );
}

/// A fixed request, recorded with or without a trace on fresh metrics.
fn recorded(exemplars: bool, trace: Option<&TraceContext>) -> HttpMetrics {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .process_metrics(false)
        .exemplars(exemplars)
        .build()
        .unwrap();
    for (route, ms) in [("/v1/campaigns", 3), ("/v1/campaigns/{id}", 70)] {
        m.record_traced(
            &Completed {
                method: &http::Method::GET,
                route: Some(route),
                status: 200,
                took: Duration::from_millis(ms),
                request_bytes: 0,
                response_bytes: 10,
            },
            trace,
        );
    }
    m
}

#[test]
fn without_exemplars_the_scrapes_are_what_they_were() {
    let trace = TraceContext::new([0xab; 16], None).unwrap();
    let off = recorded(false, None);
    let untraced = recorded(true, None);
    let traced = recorded(true, Some(&trace));
    let scrape = |m: &HttpMetrics, f| String::from_utf8(encode(m.registry(), f)).unwrap();
    // The two recordings started at different instants: only their `_created` lines differ.
    let starts_aside = |om: String| {
        let (starts, rest): (Vec<&str>, Vec<&str>) = om
            .lines()
            .partition(|l| l.split(['{', ' ']).next().unwrap().ends_with("_created"));
        assert_eq!(
            starts.len(),
            4 * 2 + 4,
            "a start per counter, histogram, summary, overflow counter: {om}"
        );
        rest.join("\n")
    };
    assert_eq!(
        starts_aside(scrape(&untraced, Format::OpenMetrics)),
        starts_aside(scrape(&off, Format::OpenMetrics))
    );
    assert_eq!(scrape(&traced, Format::Text), scrape(&off, Format::Text));
    let om = scrape(&traced, Format::OpenMetrics);
    let with: Vec<&str> = om.lines().filter(|l| l.contains(" # {")).collect();
    let id = "ab".repeat(16);
    assert_eq!(with.len(), 4, "two buckets, two counters: {om}");
    assert!(
        with.iter()
            .all(|l| l.contains(&format!(" # {{trace_id=\"{id}\"}} ")))
    );
    let starts = |prefix: String| with.iter().any(|l| l.starts_with(&prefix));
    assert!(
        starts(format!(
            r#"reviewmaps_http_requests_total{{method="GET",path="/v1/campaigns",status="200"}} 1 # {{trace_id="{id}"}} 1 "#
        )),
        "{om}"
    );
    let seconds = 70_000_000f64 * 1e-9;
    assert!(
        starts(format!(
            r#"reviewmaps_http_request_duration_seconds_bucket{{method="GET",path="/v1/campaigns/{{id}}",le="0.1"}} 1 # {{trace_id="{id}"}} {seconds} "#
        )),
        "{om}"
    );
    let stripped: String = om
        .lines()
        .map(|l| l.split(" # {").next().unwrap())
        .flat_map(|l| [l, "\n"])
        .collect();
    assert_eq!(
        starts_aside(stripped),
        starts_aside(scrape(&off, Format::OpenMetrics))
    );
    let judged = python_parse("openmetrics", om.as_bytes());
    assert_eq!(exemplars(&judged).len(), 4);
}

#[test]
fn counter_exemplars_can_be_turned_off() {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .process_metrics(false)
        .counter_exemplars(false)
        .build()
        .unwrap();
    let trace = TraceContext::new([0xcd; 16], Some([0x12; 8])).unwrap();
    m.record_traced(
        &Completed {
            method: &http::Method::GET,
            route: Some("/x"),
            status: 200,
            took: Duration::from_millis(1),
            request_bytes: 0,
            response_bytes: 0,
        },
        Some(&trace),
    );
    let om = String::from_utf8(encode(m.registry(), Format::OpenMetrics)).unwrap();
    let with: Vec<&str> = om.lines().filter(|l| l.contains(" # {")).collect();
    assert_eq!(with.len(), 1, "{om}");
    assert!(with[0].starts_with(DURATION_BUCKET), "{om}");
    assert!(with[0].contains(r#"span_id="1212121212121212""#));
}

/// What an outer layer of an application's tracing stack leaves in the request.
#[derive(Clone)]
struct CurrentTrace(TraceContext);

#[tokio::test]
async fn a_trace_source_supplies_the_context_of_the_tracing_stack() {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .trace_context(|req: RequestParts<'_>| req.extensions.get::<CurrentTrace>().map(|t| t.0))
        .build()
        .unwrap();
    let ours = TraceContext::new([0x5a; 16], Some([0x0f; 8])).unwrap();
    let app = app(&m).layer(from_fn(move |mut req: Request, next: Next| async move {
        req.extensions_mut().insert(CurrentTrace(ours));
        next.run(req).await
    }));
    let addr = serve(app).await;
    let c = client();
    // The header is ignored: this application's source reads its own context.
    let tp = traceparent(T1, S1, "01");
    send(
        &c,
        addr,
        "GET",
        "/v1/campaigns",
        &[("traceparent", &tp)],
        b"",
    )
    .await;
    let om = send(&c, addr, "GET", "/metrics", &[("accept", OPENMETRICS)], b"").await;
    let seen = exemplars(&python_parse("openmetrics", &om.body));
    assert_eq!(seen.len(), 2, "{}", om.text());
    for s in &seen {
        assert_eq!(s.2, "5a".repeat(16));
        assert_eq!(s.3.as_deref(), Some("0f".repeat(8).as_str()));
    }
}
