//! The generated queries answer whatever form of the latency histogram Prometheus stores.
//!
//! One demo, scraped by real Prometheus 2.42 servers loaded with the same generated rules:
//! one without native histograms (it keeps `_bucket`, `_count`, `_sum`), one with
//! `--enable-feature=native-histograms` (it negotiates protobuf and keeps only the native
//! series of the duration histogram), and one storing both, as 2.45+ does with
//! `scrape_classic_histograms` (2.42 cannot: here a second scrape job reads the demo's text
//! exposition through a relay and keeps only the histogram's classic series). In each, every
//! panel query of the generated dashboard draws finite values, the p95s of the same traffic
//! agree within a classic bucket's width (where both forms are stored, the query answers
//! once, from the classic buckets), and injected slow responses fire
//! `RedmetricsHighLatencyP95`. `check prometheus` passes on each, and warns on a fourth
//! server that drops the buckets; `check manifests`
//! warns on hand-written rules that read one form only. Durations are shortened in the
//! test's `redmetrics.toml`, never by editing generated files; nothing asserts on timing.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{
    Prometheus, http_get, redmetrics, sample_value, start_demo, start_prometheus,
    start_prometheus_with,
};
use serde_json::{Value, json};

const JOB: &str = "reviewmaps-server";
const NAMESPACE: &str = "reviewmaps";

/// The app as the test deploys it: scraped every second, the latency alert over a 10 s
/// window, above 0.5 s for 2 s.
const CONFIG: &str = reviewmaps_every_second!(
    r#"
[apps.alerts]
latency_p95_seconds = 0.5
latency_for = "2s"
rate_window = "10s"
"#
);

/// The measured traffic on `/v1/slow`: (sleep in ms, times). With the 30 other requests of
/// [`measured_traffic`], all fast, the p95 (rank 123.5 of 130) lies among the 70 ms
/// requests, inside the classic bucket (0.05, 0.1], when the machine keeps their timings.
const SLOW_ROUTE: [(u64, u32); 3] = [(2, 60), (30, 30), (70, 10)];

/// A relay serving the demo's text exposition (0.0.4) whatever the scraper asks for, so that
/// a Prometheus with native histograms also stores the classic series it would drop.
async fn text_relay(demo: String) -> String {
    async fn relay(
        axum::extract::State(demo): axum::extract::State<String>,
    ) -> ([(&'static str, &'static str); 1], Vec<u8>) {
        let body = common::http_get_with(
            &format!("http://{demo}/metrics"),
            &[("accept", "text/plain;version=0.0.4")],
        )
        .await
        .unwrap_or_default();
        (
            [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
            body.to_vec(),
        )
    }
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(relay))
        .with_state(demo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr.to_string()
}

/// [`prometheus_config`] plus a second job on `relay` that keeps only the duration
/// histogram's classic series, under the same `job`: with native histograms on, the server
/// then stores both forms, as `scrape_classic_histograms` makes 2.45+ do.
fn both_forms_config(demo: &str, relay: &str) -> String {
    let mut config: Value =
        serde_json::from_str(&common::operator_prometheus_config(&[demo], None)).unwrap();
    let mut classic = config["scrape_configs"][0].clone();
    classic["job_name"] = json!("classic-series-of-the-demo");
    classic["static_configs"][0]["targets"] = json!([relay]);
    classic["metric_relabel_configs"] = json!([{
        "source_labels": ["__name__"],
        "regex": "reviewmaps_http_request_duration_seconds_(bucket|count|sum)",
        "action": "keep",
    }]);
    config["scrape_configs"]
        .as_array_mut()
        .unwrap()
        .push(classic);
    config.to_string()
}

async fn get(addr: &str, path: &str) {
    // `/v1/flaky` answers 500 on purpose: the request counts either way.
    let _ = http_get(&format!("http://{addr}{path}")).await;
}

/// The traffic behind the panels and the p95 comparison; returns how many requests it sent.
async fn measured_traffic(addr: &str) -> f64 {
    let mut sent = 0;
    for (ms, times) in SLOW_ROUTE {
        for _ in 0..times {
            get(addr, &format!("/v1/slow?ms={ms}")).await;
        }
        sent += times;
    }
    for _ in 0..20 {
        get(addr, "/v1/campaigns").await;
    }
    for _ in 0..10 {
        get(addr, "/v1/flaky").await;
    }
    f64::from(sent + 30)
}

/// Waits until `prom` has scraped `total` requests: the request counter, and on the server
/// storing both forms also the classic `_count`, which its second job scrapes at its own pace.
async fn wait_scraped(prom: &Prometheus, total: f64, both_forms: bool) {
    let counters = [
        "sum(reviewmaps_http_requests_total)",
        "sum(reviewmaps_http_request_duration_seconds_count)",
    ];
    for promql in &counters[..if both_forms { 2 } else { 1 }] {
        let seen = prom
            .wait_for(promql, Duration::from_secs(30), |r| {
                r.first().map(sample_value) == Some(total)
            })
            .await;
        assert_eq!(
            seen.first().map(sample_value),
            Some(total),
            "{promql}\n{}",
            prom.log()
        );
    }
}

/// `redmetrics check prometheus` of `prom` as JSON: exit code and report.
fn check_prometheus(dir: &Path, prom: &Prometheus, contract: &[&str]) -> (Option<i32>, Value) {
    let url = format!("http://{}", prom.addr);
    let mut args = vec![
        "check",
        "prometheus",
        &url,
        "--job",
        JOB,
        "--format",
        "json",
    ];
    args.extend_from_slice(contract);
    let out = redmetrics(dir, &args);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

/// The firing `RedmetricsHighLatencyP95` alerts of `prom`, waited for at most `limit`.
async fn firing_latency_alert(prom: &Prometheus, limit: Duration) -> Vec<Value> {
    prom.wait_for(
        "ALERTS{alertname=\"RedmetricsHighLatencyP95\",alertstate=\"firing\"}",
        limit,
        |r| !r.is_empty(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_rules_and_dashboard_work_on_classic_and_native_storage() {
    let dir = common::generate_fresh(CONFIG);
    let generated = dir.path().join("deploy/reviewmaps");
    let rules = std::fs::read_to_string(generated.join("rules.yaml")).unwrap();
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(generated.join("dashboard.json")).unwrap())
            .unwrap();

    // No built-in traffic: every request the demo serves is one this test sent.
    let (_demo, addr) = start_demo(&[]);
    let addr = addr.to_string();
    let files = [("rules.yaml", rules.as_str())];
    let classic = start_prometheus(&common::operator_prometheus_config(&[&addr], None), &files);
    let native = start_prometheus_with(
        &common::operator_prometheus_config(&[&addr], None),
        &files,
        &["--enable-feature=native-histograms"],
    );
    // A Prometheus whose scrape drops the buckets (a cost-saving relabeling): the latency
    // quantiles see neither form there.
    let dropped = start_prometheus(
        &common::operator_prometheus_config(
            &[&addr],
            Some(json!([{
                "source_labels": ["__name__"],
                "regex": "reviewmaps_http_request_duration_seconds_bucket",
                "action": "drop",
            }])),
        ),
        &files,
    );
    let relay = text_relay(addr.clone()).await;
    let both = start_prometheus_with(
        &both_forms_config(&addr, &relay),
        &files,
        &["--enable-feature=native-histograms"],
    );
    let servers = [("classic", &classic), ("native", &native), ("both", &both)];
    for prom in [&classic, &native, &dropped] {
        prom.wait_for_targets(JOB, 1, "up", Duration::from_secs(30))
            .await;
    }
    both.wait_for_targets(JOB, 2, "up", Duration::from_secs(30))
        .await;

    // Warm-up: each route's series exists, scraped once, before the measured traffic, so
    // that the rate windows below count the measured requests only.
    get(&addr, "/v1/slow?ms=2").await;
    get(&addr, "/v1/campaigns").await;
    for _ in 0..5 {
        get(&addr, "/v1/flaky").await;
    }
    for prom in [&classic, &native, &dropped, &both] {
        wait_scraped(prom, 7.0, std::ptr::eq(prom, &both)).await;
    }
    let total = 7.0 + measured_traffic(&addr).await;
    for prom in [&classic, &native, &dropped, &both] {
        wait_scraped(prom, total, std::ptr::eq(prom, &both)).await;
    }

    // What each one stores: classic series only, native series only.
    let buckets = "count(reviewmaps_http_request_duration_seconds_bucket)";
    assert!(!classic.query(buckets).await.is_empty());
    assert!(
        native.query(buckets).await.is_empty(),
        "2.42 keeps only the native series"
    );
    let raw = native
        .query("reviewmaps_http_request_duration_seconds")
        .await;
    assert!(
        raw[0]["histogram"].is_array(),
        "a native histogram sample: {raw:?}"
    );
    assert!(!both.query(buckets).await.is_empty());
    let raw = both.query("reviewmaps_http_request_duration_seconds").await;
    assert!(raw[0]["histogram"].is_array(), "{raw:?}");

    // Two more scrape intervals, so that both servers' last samples hold every request, then
    // every panel query at one instant.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at = common::unix_now();
    let queries = common::panel_queries(&dashboard, NAMESPACE, JOB);
    assert!(queries.len() >= 15, "{queries:?}");
    let mut p95 = Vec::new();
    for (name, prom) in servers {
        for (title, legend, expr) in &queries {
            let result = prom.query_at(expr, at).await;
            assert!(
                !result.is_empty(),
                "{name}: panel \"{title}\" draws nothing: {expr}"
            );
            for r in &result {
                let v = sample_value(r);
                assert!(
                    v.is_finite(),
                    "{name}: panel \"{title}\" draws {v} for {}: {expr}",
                    r["metric"]
                );
            }
            if title == "Latency P50 / P95 / P99" && legend == "p95" {
                p95.push(sample_value(&result[0]));
            }
        }
    }

    // The same traffic's p95 from the classic buckets and from the native ones. Tolerance:
    // the width of the classic bucket holding the classic estimate (with the requests' usual
    // timings, (0.05, 0.1]). Timings are not asserted: a loaded machine may move both
    // estimates, but not apart.
    let [c, n, b] = p95[..] else {
        panic!("one p95 per server: {p95:?}")
    };
    let (lo, hi) = common::classic_bucket(c);
    eprintln!(
        "p95 of the same {total} requests: classic {c}, native {n}, both {b}; |native - classic| {}, classic bucket ({lo}, {hi}]",
        (n - c).abs()
    );
    assert!(
        (n - c).abs() <= hi - lo,
        "native p95 {n} vs classic {c} in ({lo}, {hi}]"
    );
    assert!(
        (b - c).abs() <= hi - lo,
        "p95 {b} where both forms are stored vs classic {c} in ({lo}, {hi}]"
    );
    // Where both forms are stored, the query answers once, with the classic estimate.
    let p95_query = &queries
        .iter()
        .find(|(title, legend, _)| title == "Latency P50 / P95 / P99" && legend == "p95")
        .unwrap()
        .2;
    let answer = both.query_at(p95_query, at).await;
    assert_eq!(answer.len(), 1, "{answer:?}");
    // The query reads the aggregation rule's recorded bucket rates: the classic estimate as
    // of that rule's last evaluation.
    let evaluated = both
        .query_at(
            "timestamp(namespace_job_le_method_path:reviewmaps_http_request_duration_seconds_bucket:rate10s{le=\"+Inf\",path=\"/v1/slow\"})",
            at,
        )
        .await;
    let from_buckets = both
        .query_at(
            "histogram_quantile(0.95, sum by (le) (rate(reviewmaps_http_request_duration_seconds_bucket{namespace=\"reviewmaps\",job=\"reviewmaps-server\"}[10s])))",
            sample_value(&evaluated[0]),
        )
        .await;
    assert_eq!(sample_value(&answer[0]), sample_value(&from_buckets[0]));

    // `check prometheus` finds the latency histogram in either form, and warns only where
    // neither is stored. With the exact contract (--config) on the native server too: the
    // duration family arrives there without _bucket, _count and _sum.
    let toml = dir.path().join("redmetrics.toml");
    let exact = ["--config", toml.to_str().unwrap(), "--app", "reviewmaps"];
    for (name, prom, stored) in [
        ("classic", &classic, "classic buckets"),
        ("native", &native, "native histogram"),
        ("both", &both, "classic buckets and native histogram"),
    ] {
        for contract in [&["--prefix", "reviewmaps"][..], &exact[..]] {
            let (code, report) = check_prometheus(dir.path(), prom, contract);
            let metrics = common::named_check(&report, "metrics");
            assert_eq!(code, Some(0), "{name}: {report}");
            assert_eq!(metrics["status"], "pass", "{name}: {report}");
            assert!(
                metrics["summary"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("latency stored as {stored}")),
                "{name}: {report}"
            );
        }
        // The series check of --config: each storage form is the `or` alternative of the
        // other, so the form a server does not store is never reported as missing.
        let (_, report) = check_prometheus(dir.path(), prom, &exact);
        let series = common::named_check(&report, "series");
        assert_ne!(series["status"], "fail", "{name}: {series}");
        for f in series["findings"].as_array().into_iter().flatten() {
            let m = f["message"].as_str().unwrap();
            assert!(
                m.contains("its family does") && !m.contains("duration_seconds"),
                "{name}: {m}"
            );
        }
    }
    let (code, report) = check_prometheus(dir.path(), &dropped, &["--prefix", "reviewmaps"]);
    let metrics = common::named_check(&report, "metrics");
    assert_eq!(code, Some(0), "a warning is not a failure: {report}");
    assert_eq!(metrics["status"], "warn", "{report}");
    assert_eq!(
        metrics["findings"][0]["message"],
        "Prometheus stores neither reviewmaps_http_request_duration_seconds_bucket nor the native reviewmaps_http_request_duration_seconds for job reviewmaps-server: the latency quantiles of the dashboard and RedmetricsHighLatencyP95 see nothing",
        "{report}"
    );
    // Neither alternative stored: the series check fails on both forms of the latency query.
    let (code, report) = check_prometheus(dir.path(), &dropped, &exact);
    assert_eq!(code, Some(1), "{report}");
    let series = common::named_check(&report, "series");
    assert_eq!(series["status"], "fail", "{series}");
    let missing: Vec<&str> = series["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["message"].as_str())
        .collect();
    for form in ["_bucket{", "{"] {
        let selector = format!("reviewmaps_http_request_duration_seconds{form}");
        assert!(
            missing.iter().any(|m| m.starts_with(&selector)
                && m.contains(
                    "has no series in the last 1h: read by alert RedmetricsHighLatencyP95"
                )),
            "{selector}: {series}"
        );
    }

    // Fast traffic does not fire the latency alert...
    for (name, prom) in servers {
        let alerts = prom
            .query("ALERTS{alertname=\"RedmetricsHighLatencyP95\"}")
            .await;
        assert!(alerts.is_empty(), "{name}: {alerts:?}");
    }
    // ... slow responses (0.8 s, over the 0.5 s threshold) fire it in both.
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (stop, addr) = (stop.clone(), addr.clone());
            tokio::spawn(async move {
                let deadline = Instant::now() + Duration::from_secs(90);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    get(&addr, "/v1/slow?ms=800").await;
                }
            })
        })
        .collect();
    for (name, prom) in servers {
        let firing = firing_latency_alert(prom, Duration::from_secs(60)).await;
        assert_eq!(firing.len(), 1, "{name}: {firing:?}\n{}", prom.log());
        let labels = &firing[0]["metric"];
        assert_eq!(labels["namespace"], NAMESPACE, "{name}: {labels}");
        assert_eq!(labels["job"], JOB, "{name}: {labels}");
        assert_eq!(labels["severity"], "warning", "{name}: {labels}");
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
}

/// `check manifests` warns about latency rules that read one form of the histogram only, and
/// stays silent on rules that read both and on families with one form.
#[test]
fn check_manifests_warns_on_latency_queries_that_read_one_form() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/one-form");
    let out = redmetrics(
        &common::repo(),
        &[
            "check",
            "manifests",
            fixture.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "warnings only: {out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = common::named_check(&report, "rules");
    assert_eq!(rules["status"], "warn", "{report}");
    let messages: Vec<&str> = rules["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "PrometheusRule shop/shop-rules rule ClassicOnly: reads shop_http_request_duration_seconds only as classic series (_bucket/_count/_sum)",
            "PrometheusRule shop/shop-rules rule NativeOnly: reads shop_http_request_duration_seconds only as a native histogram",
        ]
    );

    // An app whose contract serves no native buckets is only ever stored in classic form:
    // its classic-only rule is fine.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("redmetrics.toml"),
        "[[apps]]\nname = \"shop\"\nnamespace = \"shop\"\nservice = \"shop\"\nport = \"http\"\n[apps.metrics]\nnative_histogram = false\n",
    )
    .unwrap();
    let out = redmetrics(
        dir.path(),
        &[
            "check",
            "manifests",
            fixture.to_str().unwrap(),
            "--config",
            "redmetrics.toml",
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let flagged: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().cloned().unwrap_or_default())
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .filter(|m| m.contains("ClassicOnly"))
        .collect();
    assert!(flagged.is_empty(), "{report}");
}

/// The ServiceMonitor keeps the classic series (`scrapeClassicHistograms`, at `spec` level
/// as the operator's CRD declares it) by default where native buckets are served, in the
/// generated files and in the chart, and not when switched off; the CRD schema (unknown
/// fields forbidden) accepts each.
#[test]
fn service_monitors_keep_classic_series_where_native_buckets_are_served() {
    const CRD: &str = "ServiceMonitor";
    let base =
        "[[apps]]\nname = \"shop\"\nnamespace = \"shop\"\nservice = \"shop\"\nport = \"http\"\n";
    for (extra, want) in [
        ("", Some(true)),
        ("scrape_classic_histograms = false\n", None),
        ("[apps.metrics]\nnative_histogram = false\n", None),
        (
            "scrape_classic_histograms = true\n[apps.metrics]\nnative_histogram = false\n",
            Some(true),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("redmetrics.toml"), format!("{base}{extra}")).unwrap();
        let out = redmetrics(dir.path(), &["generate"]);
        assert!(out.status.success(), "{extra}: {out:?}");
        let text =
            std::fs::read_to_string(dir.path().join("deploy/shop/servicemonitor.yaml")).unwrap();
        let sm: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(
            sm["spec"]["scrapeClassicHistograms"].as_bool(),
            want,
            "{extra}: {text}"
        );
        common::assert_valid_against_crd(CRD, &text, 1);
    }

    let chart = common::repo().join("deploy/helm/redmetrics-service");
    for (set, want) in [
        ("", Some(true)),
        (",\"scrapeClassicHistograms\":false", None),
    ] {
        let values = format!("{{\"metrics\":{{\"serviceMonitor\":{{\"enabled\":true{set}}}}}}}");
        let stream = common::helm_template(&chart, "shop", "shop", &values);
        let sm = stream
            .split("---\n")
            .find(|doc| doc.contains("kind: ServiceMonitor"))
            .unwrap_or_else(|| panic!("no ServiceMonitor rendered: {stream}"));
        let parsed: Value = serde_saphyr::from_str(sm).unwrap();
        assert_eq!(
            parsed["spec"]["scrapeClassicHistograms"].as_bool(),
            want,
            "{values}: {sm}"
        );
        common::assert_valid_against_crd(CRD, sm, 1);
    }
}
