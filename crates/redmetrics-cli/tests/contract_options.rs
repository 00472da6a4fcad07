//! One app's contract options (`[apps.metrics]`) end to end, through the real binary:
//! `generate` (dashboards query its size buckets, promtool accepts its rules), `demo --config
//! --app` (its exposition, scraped over loopback, has those buckets and not the default ones)
//! and `check endpoint --config --app` (its own demo passes, a demo of another contract
//! fails). Expected values are written by hand from the config below. `shop` also keeps
//! latency per status everywhere, so its duration histogram carries the `status` label.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{http_get, http_get_with, redmetrics, start_demo};
use http_body_util::Full;
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// `shop` has histogram sizes and its own buckets; `shop-default` has the same prefix and
/// path with every option at its default (summary sizes, latency buckets .005 … 10).
const CONFIG: &str = r#"
[[apps]]
name = "shop"
namespace = "shop"
service = "shop-server"
port = "http"
metrics_path = "/shop/metrics"

[apps.metrics]
sizes = "histogram"
duration_buckets = [0.05, 0.2, 1, 3]
size_buckets = [128, 2048, 65536]
duration_by_status = "everywhere"

[[apps]]
name = "shop-default"
prefix = "shop"
namespace = "shop"
service = "shop-default"
port = "http"
metrics_path = "/shop/metrics"
"#;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every panel query of a dashboard.
fn panel_queries(board: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut panels: Vec<&Value> = board["panels"].as_array().unwrap().iter().collect();
    while let Some(p) = panels.pop() {
        panels.extend(p["panels"].as_array().into_iter().flatten());
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((
                p["title"].as_str().unwrap().to_owned(),
                t["expr"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

#[test]
fn generate_follows_the_apps_contract() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("shop.toml"), CONFIG).unwrap();
    let out = redmetrics(
        tmp.path(),
        &["generate", "--config", "shop.toml", "--out", "deploy"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let board: Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("deploy/shop/dashboard.json")).unwrap(),
    )
    .unwrap();
    let queries = panel_queries(&board);
    for (family, panel) in [
        ("shop_http_request_size_bytes", "Request size"),
        ("shop_http_response_size_bytes", "Response size"),
    ] {
        // The aggregation rules' recorded buckets, or the raw ones where those are missing,
        // both over the rules' window.
        let expected = format!(
            "histogram_quantile(0.99, sum by (le, method, path) (namespace_job_le_method_path:{family}_bucket:rate2m{{namespace=\"$namespace\",job=\"$job\"}})) or histogram_quantile(0.99, sum by (le, method, path) (rate({family}_bucket{{namespace=\"$namespace\",job=\"$job\"}}[2m])))"
        );
        assert!(
            queries.iter().any(|(t, q)| t == panel && *q == expected),
            "{panel} has no p99 over the size buckets: {queries:?}"
        );
    }
    // The app with default sizes reads per-pod summary quantiles instead.
    let default_board =
        std::fs::read_to_string(tmp.path().join("deploy/shop-default/dashboard.json")).unwrap();
    assert!(!default_board.contains("shop_http_request_size_bytes_bucket"));
    assert!(default_board.contains("shop_http_request_size_bytes{namespace=\\\"$namespace\\\",job=\\\"$job\\\",quantile=\\\"0.99\\\"}"));

    let rules = tmp.path().join("deploy/shop/rules.yaml");
    let promtool = Command::new("promtool")
        .args(["check", "rules", rules.to_str().unwrap()])
        .output()
        .expect("promtool not found: run scripts/test, which installs Debian's `prometheus`");
    assert_eq!(
        promtool.status.code(),
        Some(0),
        "{}{}",
        text(&promtool.stdout),
        text(&promtool.stderr)
    );

    // The manifest checker judges the dashboard against the same contract: the size
    // buckets exist for `shop`, and not for the app whose sizes are summaries.
    let shop = tmp.path().join("deploy/shop");
    let judge = |app: &str| {
        redmetrics(
            tmp.path(),
            &[
                "check",
                "manifests",
                shop.to_str().unwrap(),
                "--config",
                "shop.toml",
                "--app",
                app,
            ],
        )
    };
    let out = judge("shop");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = judge("shop-default");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("references shop_http_request_size_bytes_bucket"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_and_check_endpoint_follow_the_apps_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("shop.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let config = config.to_str().unwrap();

    let (_shop, shop) = start_demo(&["--config", config, "--app", "shop"]);
    let (_default, default) = start_demo(&["--config", config, "--app", "shop-default"]);
    for addr in [shop, default] {
        http_get(&format!("http://{addr}/v1/campaigns"))
            .await
            .unwrap();
    }
    let scraped = text(
        &http_get(&format!("http://{shop}/shop/metrics"))
            .await
            .unwrap(),
    );
    for line in [
        "# TYPE shop_http_request_duration_seconds histogram",
        "shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/v1/campaigns\",status=\"200\",le=\"0.05\"}",
        "shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/v1/campaigns\",status=\"200\",le=\"3.0\"}",
        "shop_http_request_duration_seconds_count{method=\"GET\",path=\"/v1/campaigns\",status=\"200\"} 1",
        "# TYPE shop_http_request_size_bytes histogram",
        "shop_http_response_size_bytes_bucket{method=\"GET\",path=\"/v1/campaigns\",le=\"2048.0\"}",
        "shop_http_response_size_bytes_bucket{method=\"GET\",path=\"/v1/campaigns\",le=\"65536.0\"}",
    ] {
        assert!(scraped.contains(line), "missing `{line}` in:\n{scraped}");
    }
    for default_only in ["le=\"0.005\"", "le=\"10.0\"", "quantile="] {
        assert!(
            !scraped.contains(default_only),
            "`{default_only}` of the default contract in:\n{scraped}"
        );
    }

    let check = |addr| {
        redmetrics(
            tmp.path(),
            &[
                "check",
                "endpoint",
                &format!("http://{addr}/shop/metrics"),
                "--config",
                "shop.toml",
                "--app",
                "shop",
                "--format",
                "json",
            ],
        )
    };
    let own = check(shop);
    assert_eq!(own.status.code(), Some(0), "{}", text(&own.stdout));

    let other = check(default);
    assert_eq!(other.status.code(), Some(1), "{}", text(&other.stdout));
    let report: Value = serde_json::from_slice(&other.stdout).unwrap();
    let contract = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "contract")
        .unwrap();
    let findings: Vec<&str> = contract["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        findings,
        [
            "shop_http_request_duration_seconds has buckets (le) [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, +Inf], the contract says [0.05, 0.2, 1, 3, +Inf]",
            "shop_http_request_duration_seconds_bucket (line 6) has labels [\"method\", \"path\", \"le\"], the contract says {\"method\", \"path\", \"status\"}",
            "shop_http_request_size_bytes is a summary (TYPE), the contract says histogram",
            "shop_http_response_size_bytes is a summary (TYPE), the contract says histogram",
        ]
    );
}

#[test]
fn flag_mistakes_get_hints() {
    let tmp = tempfile::tempdir().unwrap();
    let stderr = |args: &[&str]| {
        let out = redmetrics(tmp.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        text(&out.stderr)
    };
    let e = stderr(&["demo", "--prometheus"]);
    assert!(
        e.contains("tip: a similar argument exists: '--with-prometheus'")
            && !e.contains("'--prometheus-listen'"),
        "{e}"
    );
    let e = stderr(&["demo", "--port", "3001"]);
    assert!(
        e.contains("tip: a similar argument exists: '--listen'")
            && e.contains("`--listen 127.0.0.1:3000`"),
        "{e}"
    );
    let e = stderr(&["demo", "--listen", "3001"]);
    assert!(
        e.contains("expected HOST:PORT, e.g. `127.0.0.1:3001`"),
        "{e}"
    );
    let e = stderr(&["check", "--manifests", "deploy/"]);
    assert!(
        e.contains("tip: checks are subcommands: `redmetrics check manifests PATH...`"),
        "{e}"
    );
    std::fs::write(tmp.path().join("shop.toml"), CONFIG).unwrap();
    let e = stderr(&["demo", "--config", "shop.toml", "--listen", "127.0.0.1:0"]);
    assert_eq!(
        e,
        "redmetrics: error: shop.toml: --app: the config has several apps; name one with --app (shop, shop-default)\n"
    );
}

/// Options the repository's `redmetrics.toml` does not set, judged on the demo's exposition
/// by prometheus_client's parser: `summary_objectives` are exactly the size summaries'
/// quantiles, and `max_label_sets` bounds each family (here 3 label sets of the request
/// counter for 5 routes: the rest folds into `__overflow__` and the total stays exact).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_objectives_and_the_label_set_bound_reach_the_exposition() {
    const TIGHT: &str = r#"
[[apps]]
name = "tight"
namespace = "tight"
service = "tight"
port = "http"

[apps.metrics]
summary_objectives = [{ quantile = 0.5, error = 0.05 }, { quantile = 0.9, error = 0.01 }]
max_label_sets = 3
"#;
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("tight.toml");
    std::fs::write(&config, TIGHT).unwrap();
    let (_demo, addr) = start_demo(&["--config", config.to_str().unwrap(), "--app", "tight"]);
    let paths = [
        "/v1/campaigns",
        "/v1/healthcheck",
        "/v1/campaigns/1",
        "/v1/slow?ms=1",
        "/v1/campaigns/2",
        "/v1/flaky",
    ];
    for p in paths {
        // `/v1/flaky` may answer 500; the request counts either way.
        let _ = http_get(&format!("http://{addr}{p}")).await;
    }
    let scraped = http_get(&format!("http://{addr}/metrics")).await.unwrap();
    let samples = parsed(&text(&scraped));

    for family in [
        "tight_http_request_size_bytes",
        "tight_http_response_size_bytes",
    ] {
        let mut quantiles: Vec<&str> = samples
            .iter()
            .filter(|(n, _, _)| n == family)
            .filter_map(|(_, l, _)| l["quantile"].as_str())
            .collect();
        quantiles.sort_unstable();
        quantiles.dedup();
        assert_eq!(quantiles, ["0.5", "0.9"], "{family}:\n{}", text(&scraped));
    }
    let requests: Vec<&(String, Value, Option<f64>)> = samples
        .iter()
        .filter(|(n, _, _)| n == "tight_http_requests_total")
        .collect();
    let overflow: Vec<_> = requests
        .iter()
        .filter(|(_, l, _)| l.as_object().unwrap().values().any(|v| v == "__overflow__"))
        .collect();
    assert_eq!(
        requests.len() - overflow.len(),
        3,
        "3 label sets of their own:\n{}",
        text(&scraped)
    );
    assert_eq!(
        overflow.len(),
        1,
        "one overflow series:\n{}",
        text(&scraped)
    );
    let total: f64 = requests.iter().map(|(_, _, v)| v.unwrap_or(f64::NAN)).sum();
    assert_eq!(
        total,
        paths.len() as f64,
        "every request counted:\n{}",
        text(&scraped)
    );
}

/// The two `[apps.metrics]` options no other test sets, judged on the demo's exposition:
/// `native_max_buckets = 4` caps the latency histogram's populated native buckets (decoded
/// by Google's protobuf runtime, `judges/decode_protobuf.py`), and `summary_window = "1m"`
/// makes the size quantiles forget a request after 48 to 60 s (five 12 s slices), where the
/// default 10 minutes would keep it (read by prometheus_client's text parser).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_window_and_the_native_bucket_limit_reach_the_exposition() {
    const WINDOWED: &str = r#"
[[apps]]
name = "windowed"
namespace = "windowed"
service = "windowed"
port = "http"

[apps.metrics]
summary_window = "1m"
native_max_buckets = 4
"#;
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("windowed.toml");
    std::fs::write(&config, WINDOWED).unwrap();
    let (_demo, addr) = start_demo(&["--config", config.to_str().unwrap(), "--app", "windowed"]);
    let metrics = format!("http://{addr}/metrics");

    // Latencies from 1 ms to 0.3 s fall in about 70 buckets of the default schema (3).
    let slow = [1u64, 3, 10, 30, 100, 300];
    for ms in slow {
        http_get(&format!("http://{addr}/v1/slow?ms={ms}"))
            .await
            .unwrap();
    }
    let body = http_get_with(
        &metrics,
        &[(
            "accept",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        )],
    )
    .await
    .unwrap();
    let judge =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../redmetrics/tests/judges/decode_protobuf.py");
    let families: Value =
        serde_json::from_slice(&piped("python3", &[judge.to_str().unwrap()], &body)).unwrap();
    let latency = families
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "windowed_http_request_duration_seconds")
        .expect("the latency family in the protobuf scrape");
    let series = latency["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["labels"]["path"] == "/v1/slow")
        .unwrap_or_else(|| panic!("no /v1/slow latency series: {latency}"));
    let native = &series["histogram"]["native"];
    let buckets = native["buckets"].as_array().unwrap();
    let counted: u64 = buckets.iter().map(|b| b[1].as_u64().unwrap()).sum::<u64>()
        + native["zero_count"].as_u64().unwrap();
    assert!(
        !buckets.is_empty() && buckets.len() <= 4,
        "{} populated native buckets, the limit is 4: {native}",
        buckets.len()
    );
    assert!(
        native["schema"].as_i64().unwrap() < 3,
        "schema not reduced: {native}"
    );
    assert_eq!(
        counted,
        slow.len() as u64,
        "every request in a bucket: {native}"
    );

    // The window: 20 requests of 100 KB, then (once the window has passed) 20 of a few bytes.
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let post = |n: usize| {
        let body = format!(r#"{{"title":"{}"}}"#, "x".repeat(n));
        let req = Request::post(format!("http://{addr}/v1/campaigns"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let client = client.clone();
        async move {
            let status = client.request(req).await.unwrap().status();
            assert_eq!(status, 201);
        }
    };
    for _ in 0..20 {
        post(100_000).await;
    }
    let big_sent = Instant::now();
    let p99 = || async {
        let text = String::from_utf8(http_get(&metrics).await.unwrap().to_vec()).unwrap();
        let samples = parsed(&text);
        samples
            .iter()
            .find(|(n, l, _)| {
                n == "windowed_http_request_size_bytes"
                    && l["path"] == "/v1/campaigns"
                    && l["quantile"] == "0.99"
            })
            .and_then(|(_, _, v)| *v)
            .unwrap_or_else(|| panic!("no request size p99 for POST /v1/campaigns:\n{text}"))
    };
    let fresh = p99().await;
    assert!(
        fresh >= 90_000.0,
        "p99 {fresh} just after the 100 KB requests"
    );
    // Half-way through the shortest stay (48 s), with 18 s of margin for a slow machine.
    tokio::time::sleep_until((big_sent + Duration::from_secs(30)).into()).await;
    let kept = p99().await;
    assert!(
        kept >= 90_000.0,
        "p99 {kept} 30 s after: a window shorter than 1m"
    );
    // Past the longest stay (60 s), where the default 10m window would still hold them.
    tokio::time::sleep_until((big_sent + Duration::from_secs(63)).into()).await;
    for _ in 0..20 {
        post(10).await;
    }
    let forgotten = p99().await;
    assert!(
        forgotten < 100.0,
        "p99 {forgotten} 63 s after the 100 KB requests: the 1m window did not forget them"
    );
}

/// Runs `program` with `input` on stdin; its stdout, or a panic with its stderr.
fn piped(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every sample of a text exposition as (name, labels, value), by prometheus_client's parser;
/// NaN (a quantile over an empty window) reads as `None`.
fn parsed(text: &str) -> Vec<(String, Value, Option<f64>)> {
    let out = piped(
        "python3",
        &[
            "-c",
            "import sys, json\n\
             from prometheus_client.parser import text_string_to_metric_families as parse\n\
             print(json.dumps([[s.name, s.labels, None if s.value != s.value else s.value] for f in parse(sys.stdin.read()) for s in f.samples]))",
        ],
        text.as_bytes(),
    );
    serde_json::from_slice(&out).unwrap()
}
