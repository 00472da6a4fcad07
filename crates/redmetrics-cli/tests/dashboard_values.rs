//! Every query of every panel of a freshly generated dashboard, asked of a real Prometheus
//! 2.42, returns finite values of the magnitude the test's own traffic implies.
//!
//! The demo runs without built-in traffic; the test sends a known mix (counts, statuses,
//! body sizes, sleeps), measures each request on the client side, and derives each panel's
//! expected value from that: rates from the counts and the query window, ratios exactly,
//! quantiles within the classic buckets that the requests' durations can fall in, sizes from
//! the bytes sent and received, in-flight from requests held open, process figures from the
//! kernel's own account of the demo. A panel the test has no expectation for fails it, so a
//! new panel needs one here. The dashboard comes from `generate` in a temporary directory,
//! never from `deploy/`. Nothing asserts on timing: durations only widen the bounds.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{sample_value, start_demo, start_prometheus};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

const CONFIG: &str = reviewmaps_every_second!(
    r#"
# The dashboard's aggregated panels read the rules' window (recorded or raw): short, so the
# measured burst below fills one.
[apps.alerts]
rate_window = "30s"
"#
);

/// The window of `rate_window` above, in seconds.
const WINDOW: f64 = 30.0;

/// One kind of request of the known traffic: method, path and query, body, how many in the
/// measured burst, the sleep the demo does (a lower bound of its duration).
struct Kind {
    method: &'static str,
    uri: &'static str,
    path: &'static str,
    body: &'static str,
    times: usize,
    sleep: f64,
}

/// `/v1/slow` mixes two sleeps so that its P50 and P95 lie in different buckets, and its 8
/// slow requests are 10 % of the burst, so the overall P50 and P95 do too.
const TRAFFIC: [Kind; 5] = [
    Kind {
        method: "GET",
        uri: "/v1/campaigns",
        path: "/v1/campaigns",
        body: "",
        times: 30,
        sleep: 0.0,
    },
    Kind {
        method: "POST",
        uri: "/v1/campaigns",
        path: "/v1/campaigns",
        body: r#"{"title":"a campaign of a known size"}"#,
        times: 10,
        sleep: 0.0,
    },
    // With --fail-every 2: every second call answers 500 (empty body), the others 200.
    Kind {
        method: "GET",
        uri: "/v1/flaky",
        path: "/v1/flaky",
        body: "",
        times: 20,
        sleep: 0.0,
    },
    Kind {
        method: "GET",
        uri: "/v1/slow?ms=30",
        path: "/v1/slow",
        body: "",
        times: 12,
        sleep: 0.03,
    },
    Kind {
        method: "GET",
        uri: "/v1/slow?ms=300",
        path: "/v1/slow",
        body: "",
        times: 8,
        sleep: 0.3,
    },
];

/// What one request of the test did: its route, status, bytes each way, and its duration as
/// the client saw it (an upper bound of what the server recorded).
#[derive(Debug, Clone)]
struct Sent {
    method: &'static str,
    path: &'static str,
    status: u16,
    request_bytes: usize,
    response_bytes: usize,
    sleep: f64,
    client_seconds: f64,
}

async fn send(addr: &str, kind: &Kind) -> Sent {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = http::Request::builder()
        .method(kind.method)
        .uri(format!("http://{addr}{}", kind.uri))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(kind.body.as_bytes())))
        .unwrap();
    let start = Instant::now();
    let res = client.request(req).await.unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Sent {
        method: kind.method,
        path: kind.path,
        status,
        request_bytes: kind.body.len(),
        response_bytes: body.len(),
        sleep: kind.sleep,
        client_seconds: start.elapsed().as_secs_f64(),
    }
}

/// The classic bucket `(lo, hi]` holding `seconds`.
fn bucket(seconds: f64) -> (f64, f64) {
    common::classic_bucket(seconds)
}

/// The range `histogram_quantile(q, …)` can answer over `requests`: the bucket holding the
/// request of rank ⌈q·n⌉ is the one the quantile interpolates in. That request's true duration
/// lies between the ⌈q·n⌉-th smallest lower bound (the sleep) and the ⌈q·n⌉-th smallest upper
/// bound (the client's duration), so the answer lies between the lower edge of the first's
/// bucket and the upper edge of the second's.
fn quantile_range(q: f64, requests: &[&Sent]) -> (f64, f64) {
    let n = requests.len();
    assert!(n > 0);
    let k = ((q * n as f64).ceil() as usize).clamp(1, n);
    let mut lows: Vec<f64> = requests.iter().map(|s| s.sleep).collect();
    let mut highs: Vec<f64> = requests.iter().map(|s| s.client_seconds).collect();
    lows.sort_by(f64::total_cmp);
    highs.sort_by(f64::total_cmp);
    (bucket(lows[k - 1].max(1e-9)).0, bucket(highs[k - 1]).1)
}

/// The expected answer of a query for one result row: `[lo, hi]`.
type Range = (f64, f64);

fn exact(v: f64) -> Range {
    (v - 1e-9 * v.abs(), v + 1e-9 * v.abs())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_query_answers_the_magnitude_of_the_traffic_sent() {
    let dir = common::generate_fresh(CONFIG);
    let generated = dir.path().join("deploy/reviewmaps");
    let rules = std::fs::read_to_string(generated.join("rules.yaml")).unwrap();
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(generated.join("dashboard.json")).unwrap())
            .unwrap();

    // No built-in traffic: every request the demo serves is one this test sent.
    let (demo, addr) = start_demo(&["--fail-every", "2"]);
    let pid = demo.child.id();
    let addr = addr.to_string();
    let prom = start_prometheus(
        &common::operator_prometheus_config(&[&addr], None),
        &[("rules.yaml", rules.as_str())],
    );
    prom.wait_for_targets("reviewmaps-server", 1, "up", Duration::from_secs(30))
        .await;

    // Warm-up: two requests of each kind (so both statuses of /v1/flaky exist), scraped,
    // so that every series exists before the measured window opens.
    let mut warm = Vec::new();
    for kind in &TRAFFIC {
        for _ in 0..2 {
            warm.push(send(&addr, kind).await);
        }
    }
    let total = |n: usize| move |r: &[Value]| r.first().map(sample_value) == Some(n as f64);
    let seen = prom
        .wait_for(
            "sum(reviewmaps_http_requests_total)",
            Duration::from_secs(30),
            total(warm.len()),
        )
        .await;
    assert_eq!(seen.first().map(sample_value), Some(warm.len() as f64));
    let t0 = common::unix_now();
    // Ten scrape intervals with the warm-up values only (a longer window, a smaller share of
    // it extrapolated), then the measured burst.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let mut burst = Vec::new();
    for kind in &TRAFFIC {
        for _ in 0..kind.times {
            burst.push(send(&addr, kind).await);
        }
    }
    let n = burst.len();
    let seen = prom
        .wait_for(
            "sum(reviewmaps_http_requests_total)",
            Duration::from_secs(30),
            total(warm.len() + n),
        )
        .await;
    assert_eq!(
        seen.first().map(sample_value),
        Some((warm.len() + n) as f64)
    );

    // Three requests held open (the demo sleeps 30 s), seen in flight by a scrape.
    let held: Vec<_> = (0..3)
        .map(|_| {
            let url = format!("http://{addr}/v1/slow?ms=30000");
            tokio::spawn(async move { common::http_get(&url).await })
        })
        .collect();
    let seen = prom
        .wait_for(
            "sum(reviewmaps_http_active_connections)",
            Duration::from_secs(20),
            total(3),
        )
        .await;
    assert_eq!(seen.first().map(sample_value), Some(3.0), "{}", prom.log());

    // The window: it opens after the warm-up was scraped (t0 + 0.2 s) and, being at least
    // 1.8 s longer than the time since the burst began, holds a sample taken before it. So
    // every counter's increase inside it is the burst's own, and `rate` extrapolates that
    // increase to the window by at most W / (W - 3): a scrape interval of 1 s, up to 1.1
    // intervals at each edge, and a second of lag on a loaded machine.
    // The aggregated panels read the rules' fixed window, evaluated each second: the last
    // evaluation before `at` lies within 1 s of it, so `at` = t0 + 0.2 + W + 1.5 keeps that
    // evaluation's window after the warm-up's scrape (and 8 s before the burst), and, with
    // the burst and the waits above done at least a second before `at` (asserted: they take
    // about 6 s of the 31.7), after every scrape of the burst and of the requests held open.
    let window = WINDOW;
    let at = t0 + 0.2 + window + 1.5;
    let late = at - common::unix_now();
    assert!(
        late >= 1.0,
        "the burst and its scrapes took too long for a {window} s window ({late} s left)"
    );
    tokio::time::sleep(Duration::from_secs_f64(late)).await;
    let stretch = window / (window - 3.0);
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .map(|v| v.trim().trim_end_matches(" kB").parse::<f64>().unwrap() * 1024.0)
        .unwrap();
    let cores = std::thread::available_parallelism().unwrap().get() as f64;

    let rate = |count: usize| -> Range {
        let c = count as f64 / window;
        (c * (1.0 - 1e-9), c * stretch)
    };
    // A ratio of two such rates: each series is extrapolated on its own (towards zero at most
    // as far as its first value allows), so the ratio is within `stretch` either way.
    let ratio = |part: usize, whole: usize| -> Range {
        let r = part as f64 / whole as f64;
        (r / stretch, r * stretch)
    };
    let routes: BTreeMap<(String, String), Vec<&Sent>> =
        burst.iter().fold(BTreeMap::new(), |mut m, s| {
            m.entry((s.method.to_owned(), s.path.to_owned()))
                .or_insert_with(Vec::new)
                .push(s);
            m
        });
    let everything: Vec<&Sent> = burst.iter().collect();
    let of_route = |labels: &Value| -> Vec<&Sent> {
        let key = (
            labels["method"].as_str().unwrap_or_default().to_owned(),
            labels["path"].as_str().unwrap_or_default().to_owned(),
        );
        routes
            .get(&key)
            .cloned()
            .unwrap_or_else(|| panic!("a series of a route the test never used: {labels}"))
    };
    let errors = |s: &[&Sent]| s.iter().filter(|s| s.status >= 500).count();
    let sizes = |s: &[&Sent], request: bool| -> Vec<f64> {
        s.iter()
            .map(|s| {
                if request {
                    s.request_bytes as f64
                } else {
                    s.response_bytes as f64
                }
            })
            .collect()
    };
    // Every request of the route since the start, for the sketch's windowed quantile.
    let all_of_route = |labels: &Value| -> Vec<Sent> {
        let m = labels["method"].as_str().unwrap_or_default();
        let p = labels["path"].as_str().unwrap_or_default();
        warm.iter()
            .chain(burst.iter())
            .filter(|s| s.method == m && s.path == p)
            .cloned()
            .collect()
    };
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let min_max = |v: Vec<f64>| -> Range {
        (
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };

    let mut checked = 0;
    let mut panels_seen = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().unwrap();
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {title} has no query");
        for t in targets {
            let legend = t["legendFormat"].as_str().unwrap_or_default();
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", &format!("{window}s"))
                .replace("$namespace", "reviewmaps")
                .replace("$job", "reviewmaps-server");
            let result = prom.query_at(&expr, at).await;
            assert!(
                !result.is_empty(),
                "panel \"{title}\" ({legend}) answers nothing: {expr}"
            );
            for row in &result {
                let labels = &row["metric"];
                let v = sample_value(row);
                assert!(
                    v.is_finite(),
                    "panel \"{title}\" ({legend}) answers {v} for {labels}: {expr}"
                );
                let is_ratio = expr.contains("status=~\"5..\"");
                let is_quantile = expr.contains("histogram_quantile(");
                let (lo, hi): Range = match title {
                    "Request rate" => rate(n),
                    "Request rate by route" => rate(of_route(labels).len()),
                    "Top routes" if is_ratio => {
                        let r = of_route(labels);
                        ratio(errors(&r), r.len())
                    }
                    "Top routes" if is_quantile => quantile_range(0.95, &of_route(labels)),
                    "Top routes" => rate(of_route(labels).len()),
                    "Request rate by status class" => {
                        let class = labels["status_class"].as_str().unwrap();
                        let c = burst
                            .iter()
                            .filter(|s| format!("{}xx", s.status / 100) == class)
                            .count();
                        assert!(c > 0, "a status class the test never caused: {class}");
                        rate(c)
                    }
                    "Latency P50 / P95 / P99" => {
                        let q = match legend {
                            "p50" => 0.5,
                            "p95" => 0.95,
                            "p99" => 0.99,
                            other => panic!("no quantile for legend {other}"),
                        };
                        quantile_range(q, &everything)
                    }
                    "P95 latency by route" => quantile_range(0.95, &of_route(labels)),
                    "5xx error ratio" => ratio(errors(&everything), n),
                    "Active connections" => exact(3.0),
                    "Request size" | "Response size" => {
                        let request = title == "Request size";
                        if legend.starts_with("avg") {
                            // The ratio of the route's `_sum` and `_count` rates.
                            let m = mean(sizes(&of_route(labels), request));
                            (m / stretch - 1e-9, m * stretch + 1e-9)
                        } else {
                            // The sketch's quantiles are clamped to the exact minimum and
                            // maximum of its window (10 min), which holds every request.
                            let all = all_of_route(labels);
                            min_max(sizes(&all.iter().collect::<Vec<_>>(), request))
                        }
                    }
                    // Nothing uses more CPU seconds per second than the machine has cores.
                    "CPU per pod" => (0.0, cores * stretch),
                    // The kernel's count for the same process, read a second after the scrape:
                    // within a factor of two.
                    "Memory per pod" => (rss / 2.0, rss * 2.0),
                    other => panic!(
                        "panel \"{other}\" has no expected value here: add one derived from the traffic"
                    ),
                };
                assert!(
                    lo <= v && v <= hi,
                    "panel \"{title}\" ({legend}) answers {v} for {labels}, expected [{lo}, {hi}] \
                     (window {window} s): {expr}"
                );
                checked += 1;
            }
            panels_seen.insert(title.to_owned());
        }
    }
    eprintln!(
        "{checked} values of {} panels checked, window {window} s",
        panels_seen.len()
    );
    assert!(panels_seen.len() >= 12, "{panels_seen:?}");
    for h in held {
        h.abort();
    }
}
