//! End to end: `redmetrics demo` scraped by a real Prometheus 2.42, and a deployment's
//! verification queries (target up, each family with its labels, exact counts) asked through Prometheus' HTTP API.
#![allow(clippy::unwrap_used)]

mod common;

use common::SpawnTethered;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{http_get, sample_value, start_demo, start_prometheus};

struct Deployment {
    prefix: &'static str,
    metrics_path: &'static str,
    job: &'static str,
}

/// The requests the test sends, (method, URL path, route label, status, times), and with the
/// demo's default `--fail-every 5`, `/v1/flaky` fails on every fifth call.
const SCRIPT: [(&str, &str, &str, &str, u32); 6] = [
    ("GET", "/v1/campaigns", "/v1/campaigns", "200", 30),
    ("GET", "/v1/campaigns/7", "/v1/campaigns/{id}", "200", 20),
    ("GET", "/v1/campaigns/999", "/v1/campaigns/{id}", "404", 5),
    ("GET", "/wp-login.php", "__unmatched__", "404", 5),
    ("GET", "/v1/flaky", "/v1/flaky", "", 50),
    ("GET", "/v1/healthcheck", "/v1/healthcheck", "200", 3),
];

/// Requests held in flight while Prometheus scrapes the gauge.
const HELD: usize = 3;

async fn verify(app: Deployment) {
    // No built-in traffic: every request the demo serves is one this test sent.
    let (_demo, addr) = start_demo(&["--prefix", app.prefix, "--metrics-path", app.metrics_path]);
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: {job}\n    metrics_path: {path}\n    \
         static_configs:\n      - targets: ['{addr}']\n",
        job = app.job,
        path = app.metrics_path,
    );
    let prom = start_prometheus(&config, &[]);
    prom.wait_for_targets(app.job, 1, "up", Duration::from_secs(30))
        .await;
    // The script is sent twice, with a scrape in between: rates need two samples of a
    // series that grew between them.
    let p = app.prefix;
    let limit = Duration::from_secs(30);
    let requests = format!("{p}_http_requests_total");
    let mut expected: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for round in 1..=2 {
        for (method, path, route, status, times) in SCRIPT {
            for _ in 0..times {
                let reply = http_get(&format!("http://{addr}{path}")).await;
                let got = match &reply {
                    Ok(_) => "200",
                    Err(e) => e.split(' ').next().unwrap(),
                };
                if !status.is_empty() {
                    assert_eq!(got, status, "{method} {path}: {reply:?}");
                }
                *expected
                    .entry((method.into(), route.into(), got.into()))
                    .or_default() += 1.0;
            }
        }
        let total: f64 = expected.values().sum();
        let seen = prom
            .wait_for(&format!("sum({requests})"), limit, |r| {
                r.first().map(sample_value) == Some(total)
            })
            .await;
        assert_eq!(
            seen.first().map(sample_value),
            Some(total),
            "round {round}: Prometheus scraped every request sent"
        );
    }
    assert_eq!(
        expected[&("GET".into(), "/v1/flaky".into(), "500".into())],
        20.0
    );

    // Step 2: the target is UP.
    let up = prom
        .wait_for_series(&format!("up{{job=\"{}\"}} == 1", app.job), limit)
        .await;
    assert_eq!(up.len(), 1);

    // Step 3: every (method, path, status) holds exactly what was sent.
    let got: BTreeMap<(String, String, String), f64> = prom
        .query(&requests)
        .await
        .iter()
        .map(|r| {
            let m = &r["metric"];
            assert_eq!(m["job"], app.job, "{m}");
            assert!(m.get("instance").is_some(), "instance missing on {m}");
            let label = |k: &str| m[k].as_str().unwrap().to_owned();
            (
                (label("method"), label("path"), label("status")),
                sample_value(r),
            )
        })
        .collect();
    assert_eq!(got, expected, "requests_total per (method, path, status)");
    let mut per_route: BTreeMap<(String, String), f64> = BTreeMap::new();
    for ((method, path, _), n) in &expected {
        *per_route.entry((method.clone(), path.clone())).or_default() += n;
    }
    let counts: BTreeMap<(String, String), f64> = prom
        .query(&format!(
            "sum by (method, path) ({p}_http_request_duration_seconds_count)"
        ))
        .await
        .iter()
        .map(|r| {
            let m = &r["metric"];
            let label = |k: &str| m[k].as_str().unwrap().to_owned();
            ((label("method"), label("path")), sample_value(r))
        })
        .collect();
    assert_eq!(counts, per_route, "latency _count per route");

    // Step 4: the dashboard queries return data, unfiltered: a value of 0 or NaN fails.
    let rate = prom
        .query(&format!("sum(rate({p}_http_requests_total[1m]))"))
        .await;
    let rate = sample_value(&rate[0]);
    assert!(rate.is_finite() && rate > 0.0, "request rate {rate}");
    let p95 = prom
        .query(&format!(
            "histogram_quantile(0.95, sum by (le) (rate({p}_http_request_duration_seconds_bucket[1m])))"
        ))
        .await;
    let p95 = sample_value(&p95[0]);
    assert!(p95.is_finite() && p95 > 0.0, "p95 = {p95}");
    let ratio = prom
        .query(&format!(
            "sum(rate({p}_http_requests_total{{status=~\"5..\"}}[1m])) / sum(rate({p}_http_requests_total[1m]))"
        ))
        .await;
    let ratio = sample_value(&ratio[0]);
    assert!(ratio > 0.0 && ratio < 1.0, "5xx ratio {ratio}");

    // The gauge: exactly the requests held open while Prometheus scrapes, then exactly 0.
    let gauge = format!("{p}_http_active_connections");
    prom.wait_for(&gauge, limit, |r| r.first().map(sample_value) == Some(0.0))
        .await;
    let held: Vec<_> = (0..HELD)
        .map(|_| {
            let url = format!("http://{addr}/v1/slow?ms=15000");
            tokio::spawn(async move { http_get(&url).await })
        })
        .collect();
    let seen = prom
        .wait_for(&gauge, Duration::from_secs(14), |r| {
            r.first().map(sample_value) == Some(HELD as f64)
        })
        .await;
    assert_eq!(
        seen.first().map(sample_value),
        Some(HELD as f64),
        "gauge while {HELD} requests are open"
    );
    for h in held {
        h.await.unwrap().unwrap();
    }
    let after = prom
        .wait_for(&gauge, limit, |r| r.first().map(sample_value) == Some(0.0))
        .await;
    assert_eq!(
        after.first().map(sample_value),
        Some(0.0),
        "the gauge returns to exactly 0"
    );

    for family in [
        "http_request_size_bytes",
        "http_response_size_bytes",
        "build_info",
    ] {
        prom.wait_for_series(&format!("{p}_{family}"), limit).await;
    }
    prom.wait_for_series("process_resident_memory_bytes", limit)
        .await;

    // Prometheus 2.42 negotiated OpenMetrics: only that format carries `# UNIT`.
    let meta = prom
        .api(&format!(
            "/api/v1/metadata?metric={p}_http_request_duration_seconds"
        ))
        .await;
    let entry = &meta[format!("{p}_http_request_duration_seconds")][0];
    assert_eq!(entry["type"], "histogram");
    assert_eq!(entry["unit"], "seconds", "scraped as OpenMetrics: {meta}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewmaps_verification_checklist_passes_on_real_prometheus() {
    verify(Deployment {
        prefix: "reviewmaps",
        metrics_path: "/metrics",
        job: "reviewmaps-server",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ojeomneo_verification_checklist_passes_on_real_prometheus() {
    verify(Deployment {
        prefix: "ojeomneo",
        metrics_path: "/ojeomneo/metrics",
        job: "ojeomneo-server",
    })
    .await;
}

/// `demo --with-prometheus` starts Prometheus scraping the demo with the generated rules,
/// and stops it when the demo is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_with_prometheus_runs_the_checklist_locally() {
    let (demo, _, prom_url, targets) =
        common::start_demo_with_prometheus(&["--alertmanager-listen", "127.0.0.1:0"]).await;
    assert_eq!(targets[0]["labels"]["job"], "reviewmaps-server");
    assert_eq!(targets[0]["labels"]["namespace"], "reviewmaps");
    let rules: serde_json::Value =
        serde_json::from_slice(&http_get(&format!("{prom_url}/api/v1/rules")).await.unwrap())
            .unwrap();
    // Every rule of the app's generated file, burn-rate alerts and recording rules included
    // (issue 12 item 9: it used to load 4 of 22).
    let loaded: Vec<String> = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    // The aggregation rules are named after the app's rate window, which the demo shortens
    // with its scrape interval (1m locally, 2m committed): compare them without it.
    let loaded: Vec<String> = loaded.iter().map(|n| without_rate_window(n)).collect();
    let committed: Vec<String> = committed_rule_names("reviewmaps")
        .iter()
        .map(|n| without_rate_window(n))
        .collect();
    assert_eq!(loaded, committed);

    // SIGTERM (what `kill` and Kubernetes send) stops the demo and its Prometheus.
    let pid = demo.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while http_get(&format!("{prom_url}/-/ready")).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus outlived the demo"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The names of the rules (alerting and recording) in the committed
/// `deploy/<app>/rules.yaml`, in file order.
fn committed_rule_names(app: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(common::repo().join(format!("deploy/{app}/rules.yaml"))).unwrap();
    let file: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let names: Vec<String> = file["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .map(|r| {
            r.get("alert")
                .or_else(|| r.get("record"))
                .and_then(serde_json::Value::as_str)
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(names.len() > 4, "{names:?}");
    names
}

/// A dashboard aggregate's name with its `:rate<window>` replaced by `:rate<w>`; other names
/// (the SLO windows are fixed) as they are.
fn without_rate_window(name: &str) -> String {
    match name.rsplit_once(":rate") {
        Some((head, _)) if name.contains("_method_path") => format!("{head}:rate<w>"),
        _ => name.to_owned(),
    }
}

/// Without a `prometheus` on PATH the demo says how to get one and runs alone.
#[test]
fn demo_without_prometheus_explains_and_runs_alone() {
    use std::io::{BufRead, BufReader};

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_redmetrics"))
        .args(["demo", "--listen", "127.0.0.1:0", "--with-prometheus"])
        .env_clear()
        .env("PATH", "/nonexistent")
        .stderr(std::process::Stdio::piped())
        .spawn_tethered()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take(8)
    {
        let done = line.contains("Running the demo alone");
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let warning = lines.join("\n");
    assert!(
        warning.contains("no `prometheus` on PATH")
            && warning.contains("apt-get install prometheus"),
        "{warning}"
    );
}

/// `redmetrics demo` with `args`, its log lines arriving on a channel (read on a thread, so
/// a test waits with a deadline rather than blocking on the pipe).
fn demo_with_log(args: &[&str]) -> (common::Running, std::sync::mpsc::Receiver<String>) {
    demo_with_log_on(args, &std::env::var_os("PATH").unwrap_or_default())
}

/// [`demo_with_log`] with this `PATH` (to hide installed binaries).
fn demo_with_log_on(
    args: &[&str],
    path: &std::ffi::OsStr,
) -> (common::Running, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_redmetrics"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("PATH", path)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn_tethered()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (
        common::Running {
            child,
            name: "redmetrics demo",
        },
        rx,
    )
}

/// Issue 12 item 9: every URL the demo prints for its Prometheus answers (Debian's 2.42
/// serves only the classic UI, where `/targets` and `/alerts` are 404).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_only_prometheus_urls_that_answer() {
    let (_demo, log) = demo_with_log(&[
        "--with-prometheus",
        "--prometheus-listen",
        "127.0.0.1:0",
        "--alertmanager-listen",
        "127.0.0.1:0",
    ]);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut urls = Vec::new();
    let mut lines = Vec::new();
    while urls.len() < 3 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = log
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("{e}: no URLs printed:\n{}", lines.join("\n")));
        for label in ["targets:", "alerts:", "graph:"] {
            if let Some(rest) = line.split(label).nth(1) {
                urls.push(rest.split_whitespace().next().unwrap().to_owned());
            }
        }
        lines.push(line);
    }
    for url in &urls {
        assert!(
            url.contains("/classic/"),
            "Debian's UI is the classic one: {url}"
        );
        http_get(url)
            .await
            .unwrap_or_else(|e| panic!("printed {url}, which answers {e}"));
    }
}

/// Issue 12 item 9: a Prometheus that cannot bind its port is reported with its own error
/// and the demo exits 2, printing no URL.
#[test]
fn demo_reports_a_prometheus_that_cannot_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let (mut demo, log) = demo_with_log(&[
        "--with-prometheus",
        "--prometheus-listen",
        &listen,
        "--alertmanager-listen",
        "127.0.0.1:0",
    ]);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = demo.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the demo kept running with its Prometheus dead"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // The demo has exited: its log ends, and the reader thread with it.
    let lines: Vec<String> = log.iter().collect();
    let text = lines.join("\n");
    assert_eq!(status.code(), Some(2), "{text}");
    assert!(text.contains("Prometheus did not start"), "{text}");
    assert!(
        text.contains("address already in use"),
        "Prometheus' own error: {text}"
    );
    assert!(!text.contains("targets:"), "{text}");
    drop(taken);
}

/// Waits for the demo's log line containing `marker` and returns the first URL after it.
fn url_after(log: &std::sync::mpsc::Receiver<String>, marker: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = log
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("{e}: no `{marker}` line:\n{}", lines.join("\n")));
        if let Some(rest) = line.split(marker).nth(1)
            && let Some(url) = rest.split_whitespace().find(|w| w.starts_with("http://"))
        {
            return url.trim_end_matches(',').to_owned();
        }
        lines.push(line);
    }
}

/// `demo --with-prometheus` with Alertmanager installed: Alertmanager runs with the app's
/// generated routing, Prometheus sends to it, and a notification reaches the demo's Slack,
/// e-mail and PagerDuty sinks, listed at `/notifications`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_starts_alertmanager_and_shows_where_notifications_went() {
    let dir = tempfile::tempdir().unwrap();
    let config = r##"
[notify]
group_wait = "1s"
group_interval = "2s"
[notify.slack]
channel = "#demo"
api_url = { name = "receivers", key = "slack" }
[notify.email]
to = ["oncall@example.com"]
from = "alertmanager@example.com"
smarthost = "smtp.example.com:587"
[notify.pagerduty]
routing_key = { name = "receivers", key = "pagerduty" }

[[apps]]
name = "reviewmaps"
namespace = "reviewmaps"
service = "reviewmaps-server"
port = "http"
"##;
    std::fs::write(dir.path().join("redmetrics.toml"), config).unwrap();
    let config_path = dir.path().join("redmetrics.toml");
    let (_demo, log) = demo_with_log(&[
        "--config",
        config_path.to_str().unwrap(),
        "--with-prometheus",
        "--prometheus-listen",
        "127.0.0.1:0",
        "--alertmanager-listen",
        "127.0.0.1:0",
    ]);
    let am = url_after(&log, "alertmanager (");
    let notifications = url_after(&log, "notifications (");
    let prom = url_after(&log, "prometheus (");

    // Prometheus is wired to this Alertmanager.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let v: serde_json::Value = serde_json::from_slice(
            &http_get(&format!("{prom}/api/v1/alertmanagers"))
                .await
                .unwrap(),
        )
        .unwrap();
        let active = v["data"]["activeAlertmanagers"].to_string();
        if active.contains(am.trim_start_matches("http://")) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{v}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // A critical alert of the app, as its rules raise it, goes to all three sinks.
    let alert = serde_json::json!([{
        "labels": {
            "alertname": "RedmetricsTargetDown", "severity": "critical", "reason": "down",
            "namespace": "reviewmaps", "job": "reviewmaps-server",
        },
        "annotations": { "summary": "reviewmaps-server is down" },
    }]);
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let req = http::Request::post(format!("{am}/api/v2/alerts"))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            alert.to_string(),
        )))
        .unwrap();
    assert!(client.request(req).await.unwrap().status().is_success());
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let list: serde_json::Value =
            serde_json::from_slice(&http_get(&notifications).await.unwrap()).unwrap();
        let via = |name: &str| {
            list.as_array().unwrap().iter().any(|n| {
                n["via"] == name
                    && n["title"]
                        .as_str()
                        .unwrap()
                        .contains("[FIRING:1] RedmetricsTargetDown")
            })
        };
        if via("slack") && via("email") && via("pagerduty") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{list}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Without Alertmanager on PATH (Prometheus alone), the demo says how to install it and
/// goes on with Prometheus.
#[test]
fn demo_without_alertmanager_explains_and_goes_on() {
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(common::prometheus_binary(), bin.path().join("prometheus")).unwrap();
    let (running, log) = demo_with_log_on(
        &["--with-prometheus", "--prometheus-listen", "127.0.0.1:0"],
        bin.path().as_os_str(),
    );
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !lines.iter().any(|l: &String| l.contains("targets:")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        lines.push(
            log.recv_timeout(left)
                .unwrap_or_else(|e| panic!("{e}:\n{}", lines.join("\n"))),
        );
    }
    drop(running);
    let text = lines.join("\n");
    assert!(
        text.contains("apt-get install prometheus-alertmanager")
            && text.contains("Going on without Alertmanager"),
        "{text}"
    );
}

/// The "from a failing request to Slack, e-mail and PagerDuty" steps of docs/demo.md run as written
/// (only the ports move to free ones): the demo with Prometheus, Alertmanager and the sinks,
/// the notifications list, and `check alertmanager` against the demo's Alertmanager.
#[test]
fn the_documented_alerting_steps_run() {
    let blocks = common::code_blocks("docs/demo.md", "sh");
    let block = blocks
        .iter()
        .find(|b| b.starts_with("redmetrics demo --with-prometheus --fail-every"))
        .expect("docs/demo.md shows the alerting steps");
    let steps: Vec<&str> = block
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(steps.len(), 3, "{steps:?}");
    let mut args: Vec<&str> = steps[0]
        .strip_prefix("redmetrics demo ")
        .unwrap()
        .split_whitespace()
        .collect();
    args.extend([
        "--prometheus-listen",
        "127.0.0.1:0",
        "--alertmanager-listen",
        "127.0.0.1:0",
    ]);
    let (_demo, log) = demo_with_log(&args);
    let am = url_after(&log, "alertmanager (");
    let notifications = url_after(&log, "notifications (");
    let _ = url_after(&log, "alerts:");

    let curl = steps[1].strip_prefix("curl -s ").unwrap();
    assert_eq!(curl, "http://127.0.0.1:3000/notifications");
    let demo_addr = notifications
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    let body = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(http_get(&curl.replace("127.0.0.1:3000", demo_addr)))
        .unwrap();
    assert!(body.starts_with(b"["), "{body:?}");

    let check: Vec<String> = steps[2]
        .split_whitespace()
        .skip(1)
        .map(|w| w.replace("http://127.0.0.1:9093", &am))
        .collect();
    let check: Vec<&str> = check.iter().map(String::as_str).collect();
    let out = common::redmetrics(&common::repo(), &check);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
