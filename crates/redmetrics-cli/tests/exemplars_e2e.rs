//! Exemplars end to end: requests carrying W3C `traceparent` headers, sent to
//! `redmetrics demo` over loopback, come back from a real Prometheus 2.42 running with
//! `--enable-feature=exemplar-storage` in `/api/v1/query_exemplars`, with their trace ids,
//! on the latency buckets of their route and on their request counters.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{http_get, http_get_with, start_demo, start_prometheus_with};
use serde_json::Value;

/// (URL path, route label, trace id, parent id) of each traced request, two rounds so that a
/// bucket's exemplar is seen replaced by the next trace.
const ROUNDS: [[(&str, &str, &str, &str); 3]; 2] = [
    [
        (
            "/v1/campaigns",
            "/v1/campaigns",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "00f067aa0ba902b7",
        ),
        (
            "/v1/campaigns/7",
            "/v1/campaigns/{id}",
            "0af7651916cd43dd8448eb211c80319c",
            "b7ad6b7169203331",
        ),
        (
            "/v1/healthcheck",
            "/v1/healthcheck",
            "5f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "0123456789abcdef",
        ),
    ],
    [
        (
            "/v1/campaigns",
            "/v1/campaigns",
            "a1a2a3a4a5a6a7a8a9aaabacadaeafb0",
            "1111111111111111",
        ),
        (
            "/v1/campaigns/8",
            "/v1/campaigns/{id}",
            "c1c2c3c4c5c6c7c8c9cacbcccdcecfd0",
            "2222222222222222",
        ),
        (
            "/v1/healthcheck",
            "/v1/healthcheck",
            "e1e2e3e4e5e6e7e8e9eaebecedeeeff0",
            "3333333333333333",
        ),
    ],
];

/// Headers that must never become exemplars: malformed, unsampled, or another version.
const REFUSED: [&str; 4] = [
    "00-DEADBEEFDEADBEEFDEADBEEFDEADBEEF-00f067aa0ba902b7-01",
    "00-deadbeefdeadbeefdeadbeefdeadbeef-00f067aa0ba902b7-00",
    "01-deadbeefdeadbeefdeadbeefdeadbeef-00f067aa0ba902b7-01",
    "00-deadbeefdeadbeefdeadbeefdeadbeef-0000000000000000-01",
];

/// Prometheus scraping the demo at `addr` every second, as job `demo`.
fn scrape_config(addr: std::net::SocketAddr) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n\
         scrape_configs:\n  - job_name: demo\n    \
         static_configs:\n      - targets: ['{addr}']\n"
    )
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Every exemplar Prometheus holds for `selector`: trace id → the labels of its series.
async fn stored(prom: &common::Prometheus, selector: &str) -> BTreeMap<String, Value> {
    let (start, end) = (now() - 600.0, now() + 600.0);
    let path = format!(
        "/api/v1/query_exemplars?query={selector}&start={start:.3}&end={end:.3}",
        selector = selector.replace('{', "%7B").replace('}', "%7D")
    );
    let mut out = BTreeMap::new();
    for series in prom.api(&path).await.as_array().unwrap() {
        for e in series["exemplars"].as_array().unwrap() {
            let trace = e["labels"]["trace_id"].as_str().unwrap().to_owned();
            out.insert(trace, series["seriesLabels"].clone());
        }
    }
    out
}

#[tokio::test]
async fn prometheus_stores_the_trace_ids_sent_as_exemplars() {
    // No built-in traffic: every trace the demo sees is one this test sent.
    let (_demo, addr) = start_demo(&[]);
    let config = scrape_config(addr);
    let prom = start_prometheus_with(&config, &[], &["--enable-feature=exemplar-storage"]);
    prom.wait_for_targets("demo", 1, "up", Duration::from_secs(30))
        .await;
    let buckets = "reviewmaps_http_request_duration_seconds_bucket";
    let requests = "reviewmaps_http_requests_total";
    let mut sent = BTreeSet::new();
    for round in ROUNDS {
        for (path, _, trace, parent) in round {
            let url = format!("http://{addr}{path}");
            for refused in REFUSED {
                http_get_with(&url, &[("traceparent", refused)])
                    .await
                    .unwrap();
            }
            http_get(&url).await.unwrap();
            let tp = format!("00-{trace}-{parent}-01");
            http_get_with(&url, &[("traceparent", &tp)]).await.unwrap();
            sent.insert(trace);
        }
        // Each round's traces are each bucket's latest until the next round: wait for a
        // scrape to store them (bounded), then send the next round.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = stored(&prom, buckets).await;
            if round.iter().all(|(.., t, _)| seen.contains_key(*t)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round:?} never stored: {seen:?}\n{}",
                prom.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    let on_buckets = stored(&prom, buckets).await;
    let on_counters = stored(&prom, requests).await;
    fn ids(m: &BTreeMap<String, Value>) -> BTreeSet<&str> {
        m.keys().map(String::as_str).collect()
    }
    assert_eq!(
        ids(&on_buckets),
        sent,
        "exactly the trace ids sent, on the buckets"
    );
    assert_eq!(ids(&on_counters), sent, "and on the request counters");
    for (_, route, trace, _) in ROUNDS.iter().flatten() {
        let series = &on_buckets[*trace];
        assert_eq!(series["__name__"], buckets);
        assert_eq!(series["path"], *route, "{trace} on {series}");
        assert_eq!(series["job"], "demo");
        assert!(series["le"].is_string(), "{series}");
        let counter = &on_counters[*trace];
        assert_eq!(
            (&counter["path"], &counter["status"]),
            (&Value::from(*route), &Value::from("200"))
        );
    }
}

#[tokio::test]
async fn the_demo_traffic_carries_exemplars() {
    let (_demo, addr) = start_demo(&["--traffic", "--rate", "40"]);
    let url = format!("http://{addr}/metrics");
    let accept = [("accept", "application/openmetrics-text; version=1.0.0")];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = http_get_with(&url, &accept).await.unwrap();
        let om = String::from_utf8(body.to_vec()).unwrap();
        let traced = om
            .lines()
            .find(|l| l.contains(" # {trace_id=\""))
            .map(str::to_owned);
        if let Some(line) = traced {
            assert!(
                line.starts_with("reviewmaps_http_re"),
                "exemplar on the HTTP families only: {line}"
            );
            let text = http_get(&url).await.unwrap();
            assert!(!String::from_utf8_lossy(&text).contains("trace_id"));
            return;
        }
        assert!(Instant::now() < deadline, "no exemplar in\n{om}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The exemplar steps of docs/library.md run as written, with `curl`, against the demo on a
/// free port.
#[test]
fn the_documented_exemplar_steps_run() {
    let blocks = common::code_blocks("docs/library.md", "sh");
    let block = blocks
        .iter()
        .find(|b| b.contains("traceparent: 00-"))
        .expect("docs/library.md shows the exemplar steps");
    let steps: Vec<&str> = block
        .lines()
        .map(|l| l.split("  #").next().unwrap().trim())
        .collect();
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert_eq!(steps[0], "redmetrics demo");
    let (_demo, addr) = start_demo(&[]);
    let shell = |step: &str| {
        assert!(step.starts_with("curl -s "), "{step}");
        let line = step.replace("127.0.0.1:3000", &addr.to_string());
        let out = std::process::Command::new("sh")
            .args(["-c", &line])
            .output()
            .expect("sh");
        assert!(out.status.success(), "{line}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(shell(steps[1]).starts_with('['), "the campaign list");
    let grep = shell(steps[2]);
    let lines: Vec<&str> = grep.lines().collect();
    assert_eq!(lines.len(), 2, "a bucket and a counter: {grep}");
    for l in lines {
        assert!(
            l.contains(
                "# {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"}"
            ),
            "{l}"
        );
    }
}

/// With native histograms Prometheus 2.42 scrapes protobuf: the exemplars ride on the
/// classic buckets and counters there, and it files them under the native histogram
/// series (no `_bucket`, no `le`) and the request counters.
#[tokio::test]
async fn protobuf_scrapes_carry_the_exemplars_to_native_histograms() {
    let (_demo, addr) = start_demo(&[]);
    let config = scrape_config(addr);
    let prom = start_prometheus_with(
        &config,
        &[],
        &["--enable-feature=native-histograms,exemplar-storage"],
    );
    prom.wait_for_targets("demo", 1, "up", Duration::from_secs(30))
        .await;
    let histogram = "reviewmaps_http_request_duration_seconds";
    let requests = "reviewmaps_http_requests_total";
    for (path, _, trace, parent) in ROUNDS[0] {
        let tp = format!("00-{trace}-{parent}-01");
        http_get_with(&format!("http://{addr}{path}"), &[("traceparent", &tp)])
            .await
            .unwrap();
    }
    let sent: BTreeSet<&str> = ROUNDS[0].iter().map(|(.., t, _)| *t).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (on_histograms, on_counters) = loop {
        let h = stored(&prom, histogram).await;
        let c = stored(&prom, requests).await;
        if h.len() >= sent.len() && c.len() >= sent.len() {
            break (h, c);
        }
        assert!(
            Instant::now() < deadline,
            "not stored: {h:?} {c:?}\n{}",
            prom.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let ids = |m: &BTreeMap<String, Value>| m.keys().cloned().collect::<BTreeSet<_>>();
    let sent: BTreeSet<String> = sent.into_iter().map(str::to_owned).collect();
    assert_eq!(ids(&on_histograms), sent);
    assert_eq!(ids(&on_counters), sent);
    for (_, route, trace, _) in ROUNDS[0] {
        let series = &on_histograms[trace];
        assert_eq!(series["__name__"], histogram, "{series}");
        assert_eq!(series["path"], route);
        assert!(series.get("le").is_none(), "a native series: {series}");
    }
    // The target stayed up throughout: no scrape failed on an exemplar.
    prom.wait_for_targets("demo", 1, "up", Duration::from_secs(5))
        .await;
}
