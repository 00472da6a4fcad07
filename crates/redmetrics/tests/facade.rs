//! The `metrics` facade recorder: the real `metrics` macros, called from this test crate and
//! from a library-like module, land on the endpoint in both formats; promtool and Python's
//! prometheus_client accept the result; the bound holds under 10,000 label values.
#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use axum::routing::get;
use common::{client, get as fetch, promtool_check, python_parse, samples, serve, value};
use redmetrics::facade::FacadeRecorder;
use redmetrics::metrics::Buckets;
use redmetrics::{Contract, HttpMetrics};

/// A stand-in for a dependency that instruments itself through the facade only.
mod library {
    /// Does some work and records it the way a library on crates.io would.
    pub(crate) fn fetch(key: &str) -> Option<usize> {
        metrics::describe_histogram!(
            "library.fetch.seconds",
            metrics::Unit::Seconds,
            "Time to fetch one item."
        );
        metrics::histogram!("library.fetch.seconds").record(0.02);
        let hit = key.len().is_multiple_of(2);
        let result = if hit { "hit" } else { "miss" };
        metrics::counter!("library.fetches", "result" => result).increment(1);
        metrics::gauge!("library.pool.size", "pool" => "main").set(4.0);
        hit.then_some(key.len())
    }
}

fn app() -> (HttpMetrics, FacadeRecorder) {
    let metrics = HttpMetrics::builder(Contract::new("app").unwrap())
        .build()
        .unwrap();
    let recorder = FacadeRecorder::builder(metrics.registry().clone())
        .buckets("library.fetch", Buckets::new([0.01, 0.1]).unwrap())
        .build();
    (metrics, recorder)
}

#[tokio::test]
async fn macros_land_on_the_endpoint_and_the_judges_accept_it() {
    let (metrics, recorder) = app();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("jobs_done", "Jobs finished by the worker.");
        metrics::counter!("jobs_done", "queue" => "mail").increment(2);
        metrics::counter!("jobs_done", "queue" => "mail").increment(1);
        metrics::counter!("jobs_done", "queue" => "sms", "prio" => "1").increment(1);
        metrics::counter!("jobs_done", "prio" => "1", "queue" => "sms").increment(1);
        metrics::gauge!("queue_depth").set(7.5);
        metrics::gauge!("queue_depth").decrement(0.5);
        metrics::histogram!("sizes_bytes", "le" => "x").record(300.0);
        for key in ["ab", "abc", "abcd"] {
            library::fetch(key);
        }
        metrics::gauge!("broken_total").set(1.0);
    });
    assert_eq!(recorder.refused().len(), 1, "{:?}", recorder.refused());
    assert!(recorder.refused()[0].reason.contains("_total"));

    let router = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(metrics.layer())
        .route_service(metrics.metrics_path(), metrics.endpoint());
    let addr = serve(router).await;
    let reply = fetch(&client(), addr, "/metrics").await;
    let text = reply.text();
    let s = samples(&text);
    assert_eq!(
        value(&s, "jobs_done_total", &[("queue", "mail")]),
        Some(3.0)
    );
    assert_eq!(
        value(&s, "jobs_done_total", &[("queue", "sms"), ("prio", "1")]),
        Some(2.0),
        "label order does not split a series:\n{text}"
    );
    assert!(text.contains("# HELP jobs_done_total Jobs finished by the worker.\n"));
    assert!(text.contains("# HELP queue_depth Recorded through the metrics facade.\n"));
    assert_eq!(value(&s, "queue_depth", &[]), Some(7.0));
    assert_eq!(
        value(&s, "sizes_bytes_count", &[("le_", "x")]),
        Some(1.0),
        "reserved label renamed:\n{text}"
    );
    assert_eq!(
        value(&s, "library_fetches_total", &[("result", "hit")]),
        Some(2.0)
    );
    assert_eq!(
        value(&s, "library_fetches_total", &[("result", "miss")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "library_pool_size", &[("pool", "main")]),
        Some(4.0)
    );
    assert_eq!(
        value(&s, "library_fetch_seconds_bucket", &[("le", "0.1")]),
        Some(3.0),
        "configured buckets:\n{text}"
    );
    assert!(text.contains("# HELP library_fetch_seconds Time to fetch one item.\n"));
    assert_eq!(value(&s, "broken_total", &[]), None, "refused:\n{text}");
    assert_eq!(
        value(
            &s,
            "redmetrics_cardinality_overflow_total",
            &[("family", "broken_total")]
        ),
        Some(1.0),
        "the refused recording is counted"
    );

    let (code, out) = promtool_check(text.as_bytes());
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "promtool check metrics:\n{text}"
    );
    python_parse("text", text.as_bytes());
    let om = common::send(
        &client(),
        addr,
        "GET",
        "/metrics",
        &[("accept", "application/openmetrics-text; version=1.0.0")],
        b"",
    )
    .await;
    let om_text = om.text();
    assert!(
        om_text.contains("# UNIT library_fetch_seconds seconds\n"),
        "{om_text}"
    );
    let parsed = python_parse("openmetrics", &om.body);
    assert!(parsed.to_string().contains("library_fetches"), "{parsed}");
}

#[test]
fn overflow_holds_under_ten_thousand_label_values() {
    let registry = redmetrics::Registry::new().with_max_label_sets(100);
    let recorder = FacadeRecorder::builder(registry.clone()).build();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..10_000 {
            metrics::counter!("lookups", "user" => i.to_string()).increment(1);
        }
    });
    let text = String::from_utf8(redmetrics::encoding::encode(
        &registry,
        redmetrics::encoding::Format::Text,
    ))
    .unwrap();
    let s = samples(&text);
    let series = s.iter().filter(|x| x.name == "lookups_total").count();
    assert_eq!(series, 101, "100 label sets plus the overflow series");
    assert_eq!(
        value(&s, "lookups_total", &[("user", "__overflow__")]),
        Some(9_900.0)
    );
    assert_eq!(
        value(
            &s,
            "redmetrics_cardinality_overflow_total",
            &[("family", "lookups_total")]
        ),
        Some(9_900.0)
    );
    assert_eq!(
        common::sum(&s, "lookups_total"),
        10_000.0,
        "totals stay exact"
    );
    let (code, out) = promtool_check(text.as_bytes());
    assert_eq!((code, out.as_str()), (0, ""));
}

/// Facade series obey the registry's label-value cap like every family: a value over it
/// folds into the overflow series and is reported; one at the cap is kept.
#[test]
fn label_values_over_the_cap_fold_into_overflow() {
    let registry = redmetrics::Registry::new().with_max_label_value_len(8);
    let recorder = FacadeRecorder::builder(registry.clone()).build();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("fetches", "url" => "12345678").increment(1);
        metrics::counter!("fetches", "url" => "/a/very/long/raw/path").increment(2);
    });
    let text = String::from_utf8(redmetrics::encoding::encode(
        &registry,
        redmetrics::encoding::Format::Text,
    ))
    .unwrap();
    let s = samples(&text);
    assert_eq!(
        value(&s, "fetches_total", &[("url", "12345678")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "fetches_total", &[("url", "__overflow__")]),
        Some(2.0)
    );
    assert_eq!(
        value(
            &s,
            "redmetrics_cardinality_overflow_total",
            &[("family", "fetches_total")]
        ),
        Some(1.0),
        "one recording folded"
    );
}

#[test]
fn a_name_two_types_share_is_refused_the_same_way_every_call() {
    let registry = redmetrics::Registry::new();
    let recorder = FacadeRecorder::builder(registry.clone())
        .prefix("app")
        .build();
    metrics::with_local_recorder(&recorder, || {
        for _ in 0..3 {
            metrics::counter!("jobs").increment(1);
            metrics::gauge!("jobs").set(1.0);
        }
    });
    let refused = recorder.refused();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].reason.contains("already exported"),
        "{refused:?}"
    );
    let text = String::from_utf8(redmetrics::encoding::encode(
        &registry,
        redmetrics::encoding::Format::Text,
    ))
    .unwrap();
    assert!(text.contains("app_jobs_total 3\n"), "{text}");
}

/// Issue 23 item 6: a histogram or summary that observed NaN or a negative value still
/// writes OpenMetrics that Python's parser accepts (it refuses a NaN or negative `_sum`):
/// NaN is counted and not summed; a negative sum is left out with its `_count` (the parsers
/// want both or neither; `+Inf` still counts); text keeps the real sum.
#[test]
fn nan_and_negative_observations_write_valid_openmetrics() {
    use redmetrics::metrics::{Objective, SummaryShape};
    let registry = redmetrics::Registry::new();
    let shape =
        SummaryShape::new(&Objective::DEFAULTS, std::time::Duration::from_secs(60)).unwrap();
    let recorder = FacadeRecorder::builder(registry.clone())
        .summary("sum_", shape)
        .build();
    metrics::with_local_recorder(&recorder, || {
        metrics::histogram!("neg_seconds").record(-5.0);
        metrics::histogram!("nan_seconds").record(f64::NAN);
        metrics::histogram!("nan_seconds").record(0.5);
        metrics::histogram!("sum_neg").record(-1.0);
        metrics::histogram!("sum_nan").record(f64::NAN);
    });
    let om = redmetrics::encoding::encode(&registry, redmetrics::encoding::Format::OpenMetrics);
    let parsed = python_parse("openmetrics", &om).to_string();
    let om = String::from_utf8(om).unwrap();
    assert!(!om.contains("_sum NaN") && !om.contains("_sum -"), "{om}");
    assert!(
        om.contains("nan_seconds_count 2\n") && om.contains("nan_seconds_sum 0.5\n"),
        "{om}"
    );
    assert!(
        !om.contains("neg_seconds_sum") && !om.contains("neg_seconds_count"),
        "{om}"
    );
    assert!(om.contains("neg_seconds_bucket{le=\"+Inf\"} 1\n"), "{om}");
    assert!(
        om.contains("sum_nan_count 1\n") && om.contains("sum_nan_sum 0\n"),
        "{om}"
    );
    assert!(parsed.contains("neg_seconds_bucket"), "{parsed}");
    let text = redmetrics::encoding::encode(&registry, redmetrics::encoding::Format::Text);
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("neg_seconds_sum -5\n"), "{text}");
    python_parse("text", text.as_bytes());
}

/// Issue 23 item 4, metric names: `demo.entries` and `demo_entries` are two names in UTF-8
/// but one once escaped for a scraper without UTF-8, so the second is refused (listed and its
/// recordings counted) and no scrape ever shows the name twice.
#[test]
fn metric_names_that_collide_once_escaped_are_refused_and_counted() {
    let registry = redmetrics::Registry::new();
    let recorder = FacadeRecorder::builder(registry.clone()).build();
    metrics::with_local_recorder(&recorder, || {
        metrics::gauge!("demo.entries").set(3.0);
        for _ in 0..4 {
            metrics::gauge!("demo_entries").set(9.0);
        }
    });
    let refused = recorder.refused();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].name, "demo_entries");
    assert!(
        refused[0].reason.contains("already exported"),
        "{refused:?}"
    );
    let text = String::from_utf8(redmetrics::encoding::encode(
        &registry,
        redmetrics::encoding::Format::Text,
    ))
    .unwrap();
    let s = samples(&text);
    assert_eq!(
        s.iter().filter(|x| x.name == "demo_entries").count(),
        1,
        "{text}"
    );
    assert_eq!(value(&s, "demo_entries", &[]), Some(3.0));
    assert_eq!(
        value(
            &s,
            "redmetrics_cardinality_overflow_total",
            &[("family", "demo_entries")]
        ),
        Some(4.0),
        "every refused recording counted:\n{text}"
    );
    python_parse("text", text.as_bytes());
}
