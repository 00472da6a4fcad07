//! The protobuf exposition over loopback, decoded by an independent decoder (Google's protobuf
//! runtime for Python, with message classes built by `judges/decode_protobuf.py` from the
//! field numbers of client_model's metrics.proto). Every expected value is computed here from
//! the recorded durations, never taken from redmetrics.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use common::{client, family_named, python_judge, send, serve};
use redmetrics::collect::TraceContext;
use redmetrics::metrics::{Buckets, Counter};
use redmetrics::middleware::Completed;
use redmetrics::{Contract, HttpMetrics};
use serde_json::{Value, json};

/// What Prometheus 2.42 sends with `--enable-feature=native-histograms`.
const ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Durations in microseconds: zero, just over the 2^-20 s zero threshold, across the classic
/// buckets, exactly 1 s (a bucket bound in both layouts) and beyond the 256 s native range.
const MICROS: [u64; 10] = [
    0,
    1,
    250,
    5_000,
    5_000,
    77_777,
    1_000_000,
    3_000_000,
    12_000_000,
    300_000_000,
];

fn decode(body: &[u8]) -> Value {
    python_judge(
        "decode_protobuf.py",
        &[],
        body,
        "Python's protobuf runtime (pip install protobuf)",
    )
}

/// Records `micros` on GET /v1/items, serves the endpoint on loopback and scrapes it with
/// Prometheus' native-histogram Accept header; returns the decoded families.
async fn scrape(contract: Contract, micros: &[u64]) -> Value {
    scrape_traced(contract, micros, None).await
}

/// [`scrape`] with every request recorded as part of `trace`.
async fn scrape_traced(contract: Contract, micros: &[u64], trace: Option<TraceContext>) -> Value {
    let m = HttpMetrics::builder(contract)
        .process_metrics(false)
        .build()
        .unwrap();
    let jobs = m
        .registry()
        .family::<Counter, 1>("pb_jobs_total", "Jobs \"done\".", ["queue"], ())
        .unwrap();
    jobs.with(["back\\slash \"quoted\"\nnewline"]).inc_by(3);
    for us in micros {
        m.record_traced(
            &Completed {
                method: &http::Method::GET,
                route: Some("/v1/items"),
                status: 200,
                took: Duration::from_micros(*us),
                request_bytes: 0,
                response_bytes: 100,
            },
            trace.as_ref(),
        );
    }
    let app = Router::new().route_service("/metrics", m.endpoint());
    let addr = serve(app).await;
    let reply = send(
        &client(),
        addr,
        "GET",
        "/metrics",
        &[("accept", ACCEPT)],
        b"",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers["content-type"],
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    );
    decode(&reply.body)
}

/// Prometheus' bucket of `seconds` at `schema`: bucket k holds (2^((k-1)/2^s), 2^(k/2^s)];
/// beyond 256 s redmetrics clamps into the top bucket, key 2^schema × 8.
fn key(seconds: f64, schema: i32) -> i64 {
    let per_octave = 2f64.powi(schema);
    let clamped = seconds.min(256.0);
    (clamped.log2() * per_octave).ceil() as i64
}

/// (key, count) of every populated bucket that `micros` give at `schema`, and the zero count.
fn expected_native(micros: &[u64], schema: i32) -> (u64, Vec<(i64, u64)>) {
    let threshold = 2f64.powi(-20);
    let mut zero = 0;
    let mut buckets = BTreeMap::new();
    for &us in micros {
        let s = us as f64 * 1e-6;
        if s <= threshold {
            zero += 1;
        } else {
            *buckets.entry(key(s, schema)).or_insert(0u64) += 1;
        }
    }
    (zero, buckets.into_iter().collect())
}

fn native_buckets(native: &Value) -> Vec<(i64, u64)> {
    native["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b[0].as_i64().unwrap(), b[1].as_u64().unwrap()))
        .collect()
}

#[tokio::test]
async fn protobuf_scrapes_decode_independently_with_classic_and_native_buckets() {
    let families = scrape(Contract::new("pb").unwrap(), &MICROS).await;
    let names: Vec<&str> = families
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "pb_http_requests_total",
            "pb_http_request_duration_seconds",
            "pb_http_active_connections",
            "pb_http_request_size_bytes",
            "pb_http_response_size_bytes",
            "pb_build_info",
            "pb_jobs_total",
            "redmetrics_cardinality_overflow_total",
        ],
        "every family, in registration order"
    );
    let jobs = family_named(&families, "pb_jobs_total");
    assert_eq!(jobs["type"], "COUNTER");
    assert_eq!(jobs["help"], "Jobs \"done\".");
    // Starts (`created`) are checked against the clock in tests/created.rs.
    let without_start = |m: &Value| {
        let mut m = m.clone();
        assert!(m["created"].is_array(), "{m}");
        m.as_object_mut().unwrap().remove("created");
        m
    };
    assert_eq!(
        without_start(&jobs["metrics"][0]),
        json!({"labels": {"queue": "back\\slash \"quoted\"\nnewline"}, "counter": 3.0})
    );
    let requests = family_named(&families, "pb_http_requests_total");
    assert_eq!(
        without_start(&requests["metrics"][0]),
        json!({"labels": {"method": "GET", "path": "/v1/items", "status": "200"}, "counter": MICROS.len() as f64})
    );
    assert_eq!(
        family_named(&families, "pb_http_response_size_bytes")["type"],
        "SUMMARY"
    );

    let duration = family_named(&families, "pb_http_request_duration_seconds");
    assert_eq!(duration["type"], "HISTOGRAM");
    let m = &duration["metrics"][0];
    assert_eq!(m["labels"], json!({"method": "GET", "path": "/v1/items"}));
    let h = &m["histogram"];
    assert_eq!(h["count"], MICROS.len());
    let sum: f64 = MICROS.iter().map(|us| *us as f64 * 1e-6).sum();
    assert!((h["sum"].as_f64().unwrap() - sum).abs() < 1e-9, "{h}");
    // Classic buckets: finite bounds only, `+Inf` implied by the count.
    let classic: Vec<(f64, u64)> = Buckets::DEFAULT_SECONDS
        .iter()
        .map(|&le| {
            (
                le,
                MICROS.iter().filter(|&&us| us as f64 * 1e-6 <= le).count() as u64,
            )
        })
        .collect();
    let got: Vec<(f64, u64)> = h["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b[0].as_f64().unwrap(), b[1].as_u64().unwrap()))
        .collect();
    assert_eq!(got, classic);
    // Native: schema 3 (few buckets populated), the zero bucket 2^-20 s wide.
    let native = &h["native"];
    assert_eq!(native["schema"], 3);
    assert_eq!(native["zero_threshold"], 2f64.powi(-20));
    assert_eq!(native["negative"], json!([]));
    let (zero, buckets) = expected_native(&MICROS, 3);
    assert_eq!(native["zero_count"], zero);
    assert_eq!(native_buckets(native), buckets);
}

#[tokio::test]
async fn the_bucket_limit_lowers_the_schema_and_keeps_every_observation() {
    // 400 durations spread over 1 µs to 100 s populate far more than 10 schema-3 buckets.
    let micros: Vec<u64> = (0..400).map(|i| (1.05f64.powi(i) as u64).max(1)).collect();
    let contract = Contract::builder("pb")
        .native_max_buckets(10)
        .build()
        .unwrap();
    let families = scrape(contract, &micros).await;
    let h = &family_named(&families, "pb_http_request_duration_seconds")["metrics"][0]["histogram"];
    let native = &h["native"];
    let schema = native["schema"].as_i64().unwrap() as i32;
    let got = native_buckets(native);
    assert!(got.len() <= 10, "{got:?}");
    // The highest schema whose populated buckets fit the limit, and nothing lost.
    assert!(
        expected_native(&micros, schema + 1).1.len() > 10,
        "schema {schema}"
    );
    let (zero, buckets) = expected_native(&micros, schema);
    assert_eq!(
        (native["zero_count"].as_u64().unwrap(), got),
        (zero, buckets)
    );
    assert_eq!(h["count"], micros.len());
}

#[tokio::test]
async fn switched_off_the_histogram_is_classic_only() {
    let contract = Contract::builder("pb")
        .native_histogram(false)
        .build()
        .unwrap();
    let families = scrape(contract, &MICROS).await;
    let h = &family_named(&families, "pb_http_request_duration_seconds")["metrics"][0]["histogram"];
    assert_eq!(h["native"], Value::Null);
    assert_eq!(h["count"], MICROS.len());
}

/// Exemplars travel in protobuf as in OpenMetrics: on the classic bucket that holds the
/// traced observation and on its request counter, with the trace and span ids in hex, the
/// value and the time it was recorded.
#[tokio::test]
async fn exemplars_ride_on_classic_buckets_and_request_counters() {
    let trace = TraceContext::new(
        [0x4b; 16],
        Some([0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]),
    );
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    // 77.777 ms: the classic bucket le=0.1.
    let families = scrape_traced(Contract::new("pb").unwrap(), &[77_777], trace).await;
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let ids = json!({"trace_id": "4b".repeat(16), "span_id": "00f067aa0ba902b7"});
    let h = &family_named(&families, "pb_http_request_duration_seconds")["metrics"][0]["histogram"];
    let exemplars = h["exemplars"].as_array().unwrap();
    assert_eq!(exemplars.len(), 1, "{h}");
    assert_eq!(exemplars[0][0], 0.1);
    let (labels, value, at) = (
        &exemplars[0][1][0],
        &exemplars[0][1][1],
        &exemplars[0][1][2],
    );
    assert_eq!(labels, &ids);
    assert_eq!(value.as_f64().unwrap(), 0.077777);
    let at = at.as_f64().unwrap();
    assert!(
        before - 0.001 <= at && at <= after + 0.001,
        "{before} <= {at} <= {after}"
    );
    let counter = &family_named(&families, "pb_http_requests_total")["metrics"][0];
    assert_eq!(counter["exemplar"][0], ids);
    assert_eq!(counter["exemplar"][1], 1.0);
    // Untraced, nothing: the first test's exact counters carry no `exemplar` key.
    let families = scrape(Contract::new("pb").unwrap(), &[77_777]).await;
    let h = &family_named(&families, "pb_http_request_duration_seconds")["metrics"][0]["histogram"];
    assert_eq!(h["exemplars"], json!([]));
}
