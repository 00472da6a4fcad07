//! End to end: the demo's duration histogram as native buckets, read by a real Prometheus
//! 2.42 with `--enable-feature=native-histograms` (which negotiates the protobuf format),
//! next to a second Prometheus without the feature scraping the same demo over the same
//! traffic (it negotiates OpenMetrics and keeps the classic buckets: 2.42 with the feature
//! keeps only the native series of a histogram that carries both).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{http_get, sample_value, start_demo, start_prometheus, start_prometheus_with};
use serde_json::Value;

/// The measured traffic, all on one route so that one series holds it: (sleep in ms, times).
/// Its p95 lies among the 70 ms requests, inside the classic bucket (0.05, 0.1], when the
/// machine keeps the requests' timings.
const TRAFFIC: [(u64, u32); 3] = [(2, 60), (30, 30), (70, 10)];

fn config(job: &str, addr: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: ['{addr}']\n"
    )
}

/// `histogram_count` of the demo's duration histogram on `prom` (native series).
const COUNT: &str = "sum(histogram_count(reviewmaps_http_request_duration_seconds))";
/// The classic count on the Prometheus without the feature.
const CLASSIC_COUNT: &str = "sum(reviewmaps_http_request_duration_seconds_count)";

async fn send(addr: &str, ms: u64, times: u32) {
    for _ in 0..times {
        http_get(&format!("http://{addr}/v1/slow?ms={ms}"))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_reads_native_buckets_that_agree_with_the_classic_ones() {
    // No built-in traffic: every request the demo serves is one this test sent.
    let (_demo, addr) = start_demo(&[]);
    let addr = addr.to_string();
    let native = start_prometheus_with(
        &config("native", &addr),
        &[],
        &["--enable-feature=native-histograms"],
    );
    let classic = start_prometheus(&config("classic", &addr), &[]);
    let limit = Duration::from_secs(30);
    native.wait_for_targets("native", 1, "up", limit).await;
    classic.wait_for_targets("classic", 1, "up", limit).await;

    // Warm-up: one request creates the series; both servers scrape it before the measured
    // traffic, so the rate windows below start from the same count.
    send(&addr, 2, 1).await;
    let has = |want: f64| move |r: &[Value]| r.first().map(sample_value) == Some(want);
    let seen = native.wait_for(COUNT, limit, has(1.0)).await;
    assert_eq!(
        seen.first().map(sample_value),
        Some(1.0),
        "{}",
        native.log()
    );
    let seen = classic.wait_for(CLASSIC_COUNT, limit, has(1.0)).await;
    assert_eq!(seen.first().map(sample_value), Some(1.0));

    let mut sent = 1.0;
    for (ms, times) in TRAFFIC {
        send(&addr, ms, times).await;
        sent += f64::from(times);
        // histogram_count over the native series grows by exactly the requests sent.
        let seen = native.wait_for(COUNT, limit, has(sent)).await;
        assert_eq!(
            seen.first().map(sample_value),
            Some(sent),
            "after {ms} ms × {times}"
        );
    }
    let seen = classic.wait_for(CLASSIC_COUNT, limit, has(sent)).await;
    assert_eq!(seen.first().map(sample_value), Some(sent));

    // The feature's server stores the native histogram only; the other one the classic one.
    let buckets = "count(reviewmaps_http_request_duration_seconds_bucket)";
    assert!(
        native.query(buckets).await.is_empty(),
        "2.42 keeps only the native series"
    );
    let classic_buckets = classic.query(buckets).await;
    assert_eq!(
        classic_buckets.first().map(sample_value),
        Some(12.0),
        "11 bounds and +Inf"
    );
    let raw = native
        .query("reviewmaps_http_request_duration_seconds")
        .await;
    assert!(
        raw[0]["histogram"].is_array(),
        "a native histogram sample: {raw:?}"
    );

    // Both quantiles at one instant, over windows that hold the same observations: two
    // more scrape intervals, so that both servers' last sample before it has every request.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at = common::unix_now();
    let q_native = native
        .query_at(
            "histogram_quantile(0.95, sum(rate(reviewmaps_http_request_duration_seconds[1m])))",
            at,
        )
        .await;
    let q_classic = classic
        .query_at(
            "histogram_quantile(0.95, sum by (le) (rate(reviewmaps_http_request_duration_seconds_bucket[1m])))",
            at,
        )
        .await;
    let (n, c) = (sample_value(&q_native[0]), sample_value(&q_classic[0]));
    eprintln!("p95: native {n}, classic {c}");
    // Tolerance: the width of the classic bucket that holds the classic estimate (with the
    // requests' usual timings, (0.05, 0.1]: the 70 ms ones). Timings are not asserted: a
    // loaded machine may move both estimates, but not apart.
    let (lo, hi) = common::classic_bucket(c);
    assert!(
        (n - c).abs() <= hi - lo,
        "native p95 {n} vs classic {c} in ({lo}, {hi}]"
    );
}
