//! End to end: `redmetrics demo` scraped by a real Prometheus 2.42, and the seed plan's
//! verification queries asked through Prometheus' HTTP API.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{http_get, sample_value, start_demo, start_prometheus};

struct Seed {
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

async fn verify(seed: Seed) {
    // No built-in traffic: every request the demo serves is one this test sent.
    let (_demo, addr) = start_demo(&["--prefix", seed.prefix, "--metrics-path", seed.metrics_path]);
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: {job}\n    metrics_path: {path}\n    \
         static_configs:\n      - targets: ['{addr}']\n",
        job = seed.job,
        path = seed.metrics_path,
    );
    let prom = start_prometheus(&config, &[]);
    prom.wait_for_targets(seed.job, 1, "up", Duration::from_secs(30))
        .await;
    // The script is sent twice, with a scrape in between: rates need two samples of a
    // series that grew between them.
    let p = seed.prefix;
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
        .wait_for_series(&format!("up{{job=\"{}\"}} == 1", seed.job), limit)
        .await;
    assert_eq!(up.len(), 1);

    // Step 3: every (method, path, status) holds exactly what was sent.
    let got: BTreeMap<(String, String, String), f64> = prom
        .query(&requests)
        .await
        .iter()
        .map(|r| {
            let m = &r["metric"];
            assert_eq!(m["job"], seed.job, "{m}");
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
async fn reviewmaps_seed_checklist_passes_on_real_prometheus() {
    verify(Seed {
        prefix: "reviewmaps",
        metrics_path: "/metrics",
        job: "reviewmaps-server",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ojeomneo_seed_checklist_passes_on_real_prometheus() {
    verify(Seed {
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
    // The demo binds port 0 and logs its address; its Prometheus cannot, so a start whose
    // Prometheus lost the port (its log says so, or another server answers there) is
    // retried with a fresh port, at most PORT_ATTEMPTS times.
    let mut attempt = 0;
    let (demo, prom_url, targets) = loop {
        attempt += 1;
        let listen = format!("127.0.0.1:{}", common::candidate_port());
        let (demo, addr, log) = common::start_demo_logged(
            std::path::Path::new("."),
            &["--with-prometheus", "--prometheus-listen", &listen],
        );
        let prom_url = format!("http://{listen}");
        match demo_prometheus(&prom_url, addr, &log).await {
            Ok(targets) => break (demo, prom_url, targets),
            Err(why) if attempt < common::PORT_ATTEMPTS => {
                eprintln!("attempt {attempt}: {why}; retrying on a fresh port");
            }
            Err(why) => panic!("the demo's Prometheus never scraped it: {why}"),
        }
    };
    assert_eq!(targets[0]["labels"]["job"], "reviewmaps-server");
    assert_eq!(targets[0]["labels"]["namespace"], "reviewmaps");
    let rules: serde_json::Value =
        serde_json::from_slice(&http_get(&format!("{prom_url}/api/v1/rules")).await.unwrap())
            .unwrap();
    let names: Vec<&str> = rules["data"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "RedmetricsHighErrorRate",
            "RedmetricsHighLatencyP95",
            "RedmetricsTargetDown",
            "RedmetricsTargetDown"
        ]
    );

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

/// Waits until the Prometheus at `url` scrapes the demo at `demo` (so it is the demo's own);
/// an error when it lost its port or never came up, with the reason.
async fn demo_prometheus(
    url: &str,
    demo: std::net::SocketAddr,
    log: &common::DemoLog,
) -> Result<serde_json::Value, String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        // Bounded: whatever holds the port may accept and never answer.
        let answer = tokio::time::timeout(
            Duration::from_secs(2),
            http_get(&format!("{url}/api/v1/targets")),
        )
        .await;
        if let Ok(Ok(body)) = answer {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let t = v["data"]["activeTargets"].clone();
            let url = t[0]["scrapeUrl"].as_str().unwrap_or_default().to_owned();
            if !url.is_empty() && !url.contains(&demo.to_string()) {
                return Err(format!("another Prometheus answers there (scraping {url})"));
            }
            if t[0]["health"] == "up" {
                return Ok(t);
            }
        }
        // The demo logs where its Prometheus writes its log.
        let prom_log = log
            .lines()
            .iter()
            .find_map(|l| l.split("log in ").nth(1).map(str::to_owned))
            .and_then(|path| std::fs::read_to_string(path.trim()).ok())
            .unwrap_or_default();
        if common::lost_port(&prom_log) {
            return Err("its Prometheus lost the port".into());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("nothing scraped the demo within 30 s\n{prom_log}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
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
        .spawn()
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
