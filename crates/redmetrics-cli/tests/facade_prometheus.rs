//! The `metrics` facade's hostile cases (issue 23, items 4, 6, 7) scraped by a real
//! Prometheus 2.42: label names that collide once escaped keep every increment (one series
//! plus the counted overflow), a NaN or negative histogram never breaks the OpenMetrics
//! scrape, and a 1 MiB name comes out capped. Hostile inputs are built here.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{sample_value, start_prometheus};
use redmetrics::facade::FacadeRecorder;
use redmetrics::{Contract, HttpMetrics};

async fn serve(metrics: &HttpMetrics) -> SocketAddr {
    let router = axum::Router::new().route_service(metrics.metrics_path(), metrics.endpoint());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_2_42_keeps_every_increment_of_colliding_labels() {
    let metrics = HttpMetrics::builder(Contract::new("adv").unwrap())
        .build()
        .unwrap();
    let recorder = FacadeRecorder::builder(metrics.registry().clone()).build();
    let huge = "x".repeat(1 << 20);
    metrics::with_local_recorder(&recorder, || {
        for _ in 0..110 {
            metrics::counter!("lab", "a.b" => "1").increment(1);
            metrics::counter!("lab", "a_b" => "1").increment(1);
            metrics::counter!("lab", "a-b" => "1").increment(1);
        }
        metrics::counter!("lab", "a.b" => "1", "a_b" => "2").increment(1);
        metrics::histogram!("neg.seconds").record(-5.0);
        metrics::histogram!("nan.seconds").record(f64::NAN);
        metrics::histogram!("nan.seconds").record(2.0);
        metrics::counter!(huge.clone()).increment(7);
        metrics::counter!("long", huge.clone() => "v").increment(1);
    });
    let addr = serve(&metrics).await;
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: facade\n    static_configs:\n      - targets: ['{addr}']\n"
    );
    let prom = start_prometheus(&config, &[]);
    let limit = Duration::from_secs(30);
    prom.wait_for_targets("facade", 1, "up", limit).await;
    let value = |r: &[serde_json::Value]| r.first().map(sample_value);

    // 330 + 1 increments, every one stored: one series of its own, the rest in overflow.
    let total = prom
        .wait_for("sum(lab_total)", limit, |r| value(r) == Some(331.0))
        .await;
    assert_eq!(value(&total), Some(331.0), "{}", prom.log());
    let series = prom.query("count(lab_total)").await;
    assert_eq!(
        value(&series),
        Some(2.0),
        "one series and the overflow series"
    );
    let own = prom.query("lab_total{a_b=\"1\"}").await;
    assert_eq!(value(&own), Some(110.0), "the first key keeps its series");
    let refused = prom
        .query("redmetrics_cardinality_overflow_total{family=\"lab_total\"}")
        .await;
    assert!(
        value(&refused).is_some_and(|n| n >= 1.0),
        "the refusal is counted: {refused:?}"
    );

    // The OpenMetrics scrape (2.42's choice) held: NaN counted, not summed; -5 in the
    // buckets, its negative `_sum` left out with `_count` (`+Inf` counts it).
    let count = prom.query("nan_seconds_count").await;
    assert_eq!(value(&count), Some(2.0));
    let sum = prom.query("nan_seconds_sum").await;
    assert_eq!(value(&sum), Some(2.0), "NaN is not summed");
    let count = prom.query("neg_seconds_bucket{le=\"+Inf\"}").await;
    assert_eq!(value(&count), Some(1.0));
    assert!(prom.query("neg_seconds_sum").await.is_empty());

    // The 1 MiB names: refused, their recordings counted under a capped `family` label.
    let overflow = prom.query("redmetrics_cardinality_overflow_total").await;
    let families: Vec<&str> = overflow
        .iter()
        .map(|s| s["metric"]["family"].as_str().unwrap())
        .collect();
    assert!(families.iter().all(|f| f.len() <= 128), "{families:?}");
    let capped = overflow
        .iter()
        .find(|s| s["metric"]["family"].as_str().unwrap().starts_with("xxxx"))
        .unwrap_or_else(|| panic!("the long name's refusal: {families:?}"));
    assert_eq!(sample_value(capped), 1.0, "one recording refused");
    let long = prom.query("long_total").await;
    assert_eq!(
        value(&long),
        Some(1.0),
        "a label name over the cap folds, counted"
    );
    let scraped = prom.query("scrape_samples_scraped{job=\"facade\"}").await;
    assert!(value(&scraped).is_some_and(|n| n < 200.0), "{scraped:?}");
    let refusals = recorder.refused();
    assert!(
        refusals
            .iter()
            .all(|r| r.name.len() <= 128 && r.reason.len() < 400)
    );
}
