//! The live page in a real browser: headless Chromium loads the demo's page while its
//! traffic runs; the figures it shows are checked against two `/metrics` scrapes computed
//! independently (Python's `prometheus_client` parser and a `histogram_quantile` of its own,
//! `judges/live_figures.py`); Chromium's net log proves the page reached no other host.
#![allow(clippy::unwrap_used)]

mod common;

use common::SpawnTethered;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{http_get, start_demo};
use serde_json::Value;

/// Headless Chromium with the flags of `scripts/screenshots`; every host but loopback is
/// unresolvable, so a request elsewhere would fail and show in the net log. Bounded: killed
/// after 120 s.
fn chromium(url: &str, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg("--dump-dom")
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn_tethered()
        .expect("chromium (Debian: apt-get install chromium; scripts/test installs it)");
    let out = common::output_within(child, Duration::from_secs(120), "chromium");
    assert!(out.status.success(), "chromium failed: {:?}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// The text of the element with this id.
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the DOM:\n{dom}"));
    let rest = &dom[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap();
    &rest[open..open + close]
}

/// The number before a unit in a figure such as `12.5 req/s`.
fn figure(text: &str, unit: &str) -> f64 {
    let n = text
        .strip_suffix(unit)
        .unwrap_or_else(|| panic!("`{text}` does not end in `{unit}`"))
        .trim()
        .replace(',', "");
    n.parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a number in {unit}"))
}

fn judge(before: &[u8], after: &[u8], seconds: f64) -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), before).unwrap();
    std::fs::write(dir.path().join("b.txt"), after).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/judges/live_figures.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["reviewmaps", &seconds.to_string()])
        .arg(dir.path().join("a.txt"))
        .arg(dir.path().join("b.txt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "judge: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(what: &str, page: f64, scrapes: f64, relative: f64) {
    assert!(
        (page - scrapes).abs() <= relative * scrapes.abs(),
        "{what}: page {page}, scrapes {scrapes} (tolerance {}%)",
        relative * 100.0
    );
}

fn near(what: &str, page: f64, scrapes: f64, absolute: f64) {
    assert!(
        (page - scrapes).abs() <= absolute,
        "{what}: page {page}, scrapes {scrapes} (tolerance ±{absolute})"
    );
}

async fn get(addr: SocketAddr, path: &str) -> bytes::Bytes {
    http_get(&format!("http://{addr}{path}")).await.unwrap()
}

/// The figure of a quantile card (`12.3 ms` or `1.2 s`), in seconds.
fn seconds_figure(text: &str) -> f64 {
    if text.ends_with(" ms") {
        figure(text, "ms") / 1000.0
    } else {
        figure(text, "s")
    }
}

/// Every figure the page shows is compared with two scrapes taken around the browser's
/// visit: scrape A, 10 s of traffic, Chromium loads the page (its cards cover the last 10
/// one-second snapshots before it fetched the feed, a window inside A..B), scrape B.
///
/// Margins, and why: the demo's traffic is a fixed cycle of 20 requests (1 in 20 answered
/// 5xx, 1 in 20 404, 1 in 20 slow, 100-1000 ms), so two windows of ≥ 10 s at 40 req/s hold
/// the same mix to within one request of each kind per window edge; the ticker may lag on a
/// loaded machine, which moves a rate by up to a second's worth of 10 (25 % allowed for the
/// page, whose window is not A..B); the 5xx ratio by a few requests in 400 (±2 points);
/// a quantile by a few ranks: the page's quantile must lie between the scrapes' quantiles
/// 0.02 below and above (P95 sits at the edge of the slow requests, 1 in 20, so only rank
/// bounds, not a relative margin, can hold it). The feed's figures, fetched just after B,
/// cover almost the same window (15 %). In flight: by Little's law never more than the
/// requests started during the longest request of the window (rate × the highest bucket
/// bound reached) plus one, and never negative. The route table covers the whole run, as
/// does scrape B alone: ±3 points and 10 %.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_what_two_scrapes_show_and_fetches_only_its_own_host() {
    let (_demo, addr) = start_demo(&["--traffic", "--rate", "40"]);
    tokio::time::sleep(Duration::from_secs(3)).await;

    let a = get(addr, "/metrics").await;
    let ta = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    // The browser: the page, its figures, the route and the charts.
    let netlog = tempfile::tempdir().unwrap();
    let log_path = netlog.path().join("net.json");
    let dom = tokio::task::spawn_blocking({
        let log = format!("--log-net-log={}", log_path.display());
        move || chromium(&format!("http://{addr}/"), &[log])
    })
    .await
    .unwrap();
    let b = get(addr, "/metrics").await;
    let seconds = ta.elapsed().as_secs_f64();
    let feed: Value = serde_json::from_slice(&get(addr, "/metrics/live.json").await).unwrap();
    let scrapes = judge(&a, &b, seconds);
    let w = &scrapes["window"];

    // The cards.
    let scraped_rate = w["requests_per_second"].as_f64().unwrap();
    assert!(scraped_rate > 10.0, "the demo's traffic did not run: {w}");
    close(
        "card: request rate",
        figure(text_of(&dom, "rate"), "req/s"),
        scraped_rate,
        0.25,
    );
    // `2xx 36.0 req/s · 4xx 2.0 req/s · 5xx 2.0 req/s`; ±0.1 for the page's rounding.
    let classes = text_of(&dom, "rate-classes").replace("&nbsp;", " ");
    for part in classes.split(" · ") {
        let (class, value) = part
            .split_once(' ')
            .unwrap_or_else(|| panic!("`{part}` in `{classes}`"));
        let scraped = w["class_per_second"][class]
            .as_f64()
            .unwrap_or_else(|| panic!("class {class} in {w}"));
        let page = figure(value, "req/s");
        assert!(
            (page - scraped).abs() <= 0.25 * scraped + 0.1,
            "card: {class} rate: page {page}, scrapes {scraped}"
        );
    }
    assert_eq!(classes.split(" · ").count(), 3, "{classes}");
    let scraped_errors = w["error_ratio"].as_f64().unwrap();
    assert!(scraped_errors > 0.0, "the traffic answered no 5xx: {w}");
    near(
        "card: 5xx ratio",
        figure(text_of(&dom, "errors"), "%") / 100.0,
        scraped_errors,
        0.02,
    );
    for (id, q) in [("p50", "p50"), ("p95", "p95"), ("p99", "p99")] {
        let page = seconds_figure(text_of(&dom, id));
        let range = &w["quantile_ranges"][q];
        let (lo, hi) = (range[0].as_f64().unwrap(), range[1].as_f64().unwrap());
        // The page rounds to whole milliseconds at 100 ms and above: ±0.5 ms.
        assert!(
            lo - 0.000_5 <= page && page <= hi + 0.000_5,
            "card: {q}: page {page} s, the scrapes' rank range [{lo}, {hi}] s"
        );
    }
    let in_flight: f64 = text_of(&dom, "inflight")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let longest = w["highest_bucket_reached"].as_f64().unwrap();
    let bound = (scraped_rate * 1.25 * longest).ceil() + 1.0;
    for (what, v) in [
        ("card", in_flight),
        ("scrape A", scrapes["in_flight"][0].as_f64().unwrap()),
        ("scrape B", scrapes["in_flight"][1].as_f64().unwrap()),
    ] {
        assert!(
            (0.0..=bound).contains(&v),
            "in flight ({what}): {v}, expected 0..={bound} (rate {scraped_rate} × {longest} s)"
        );
    }
    assert!(
        dom.contains("<span class=\"path\">/v1/campaigns/{id}</span>"),
        "route missing from the table:\n{dom}"
    );
    for chart in ["rate", "errors", "latency", "inflight"] {
        let at = dom
            .find(&format!("id=\"chart-{chart}\""))
            .unwrap_or_else(|| panic!("no {chart} chart:\n{dom}"));
        assert!(
            dom[at..].contains("<path d=\"M"),
            "the {chart} chart has no line"
        );
    }

    // Every request the page made went to the demo. The page's requests are the URL
    // requests keyed to its site (network isolation key); Chromium's own background requests
    // (time, updates, accounts) carry another key and are not the page's doing.
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&log_path).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    let page_urls: Vec<String> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("http://127.0.0.1 "))
        })
        .map(|e| e["params"]["url"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        page_urls.iter().any(|u| u.ends_with("/metrics/live.json")),
        "the net log shows no request of the page: nothing was checked"
    );
    let own = format!("http://{addr}/");
    let others: Vec<_> = page_urls.iter().filter(|u| !u.starts_with(&own)).collect();
    assert!(
        others.is_empty(),
        "the page reached other hosts: {others:?}"
    );

    // The feed's figures agree with the scrapes.
    let s = &feed["summary"];
    let scraped_rate = w["requests_per_second"].as_f64().unwrap();
    close(
        "rate",
        s["requests_per_second"].as_f64().unwrap(),
        scraped_rate,
        0.15,
    );
    near(
        "5xx ratio",
        s["error_ratio"].as_f64().unwrap(),
        w["error_ratio"].as_f64().unwrap(),
        0.02,
    );
    close(
        "P50",
        s["p50_seconds"].as_f64().unwrap(),
        w["p50_seconds"].as_f64().unwrap(),
        0.25,
    );
    let routes = feed["routes"].as_array().unwrap();
    let route = |method: &str, path: &str| {
        routes
            .iter()
            .find(|r| r["method"] == method && r["path"] == path)
            .unwrap_or_else(|| panic!("{method} {path} not in the feed: {feed}"))
    };
    let since_start = &scrapes["routes_since_start"];
    close(
        "P95 of GET /v1/campaigns/{id}",
        route("GET", "/v1/campaigns/{id}")["p95_seconds"]
            .as_f64()
            .unwrap(),
        since_start["GET /v1/campaigns/{id}"]["p95_seconds"]
            .as_f64()
            .unwrap(),
        0.10,
    );
    near(
        "5xx ratio of GET /v1/flaky",
        route("GET", "/v1/flaky")["error_ratio"].as_f64().unwrap(),
        since_start["GET /v1/flaky"]["error_ratio"]
            .as_f64()
            .unwrap(),
        0.03,
    );
}

/// With `--with-prometheus`, each panel links to the local Prometheus' graph of the
/// dashboard's query; every linked page answers, and every query, asked through the real
/// Prometheus' API, returns data about the demo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_prometheus_the_panels_link_to_its_graph_of_each_dashboard_query() {
    // The harness' start: a Prometheus that lost its port is retried on a fresh one, and
    // the one answering is checked to scrape this demo (TESTING.md, "Ports").
    let (_demo, addr, prom, _) =
        common::start_demo_with_prometheus(&["--traffic", "--alertmanager-listen", "127.0.0.1:0"])
            .await;
    let prom = prom.strip_prefix("http://").unwrap().to_owned();
    let feed: Value = serde_json::from_slice(&get(addr, "/metrics/live.json").await).unwrap();
    let links = feed["links"].as_array().unwrap().clone();
    let panels: Vec<&str> = links.iter().map(|l| l["panel"].as_str().unwrap()).collect();
    for panel in ["rate", "errors", "latency", "in_flight"] {
        assert!(panels.contains(&panel), "no link for {panel}: {links:?}");
    }
    for link in &links {
        let url = link["url"].as_str().unwrap();
        let expr = url
            .strip_prefix(&format!("http://{prom}/classic/graph?g0.expr="))
            .unwrap_or_else(|| panic!("not a classic graph link: {url}"))
            .split('&')
            .next()
            .unwrap();
        let mut answered = false;
        for _ in 0..60 {
            if http_get(url).await.is_ok()
                && let Ok(body) =
                    http_get(&format!("http://{prom}/api/v1/query?query={expr}")).await
            {
                let v: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(v["status"], "success", "{url}: {v}");
                if !v["data"]["result"].as_array().unwrap().is_empty() {
                    answered = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(answered, "Prometheus never had data for {url}");
    }
}
