//! The generated SLO rules and dashboard on real Prometheus 2.42 servers scraping three demo
//! replicas: injected slow responses fire the latency SLO's burn-rate alert and the latency
//! budget left falls, on a server storing the classic buckets (the rule matches the
//! `le` label exactly as the endpoint renders it) and on one storing only native histograms
//! (the rule reads them with `histogram_fraction`). Every panel of the generated SLO
//! dashboard draws finite values. Windows are shortened in the test's `redmetrics.toml`,
//! never by editing generated files; nothing asserts on timing.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{
    Prometheus, http_get, redmetrics, sample_value, start_demo, start_prometheus,
    start_prometheus_with,
};
use serde_json::{Value, json};

const JOB: &str = "reviewmaps-server";
const NAMESPACE: &str = "reviewmaps";

/// Scraped every second; two window pairs of seconds; 95 % of requests under 0.1 s.
const CONFIG: &str = r#"
[[apps]]
name = "reviewmaps"
namespace = "reviewmaps"
service = "reviewmaps-server"
port = "http"
interval = "1s"
scrape_timeout = "1s"

[apps.alerts]
min_request_rate = 0.01

[apps.slo]
availability_objective = 0.95
latency_objective = 0.95
latency_threshold_seconds = 0.1
period = "1d"
windows = [
  { long = "20s", short = "5s", factor = 10, for = "2s", severity = "critical" },
  { long = "40s", short = "10s", factor = 2, for = "4s", severity = "warning" },
]
"#;

/// Requests over the replicas, round robin, until `stop`: fast ones, or 150 ms ones while
/// `slow` is set. Bounded: at most 20 requests a second for at most 4 minutes.
fn traffic(
    addrs: Vec<String>,
    slow: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sent = 0u32;
        while !stop.load(Ordering::Relaxed) && sent < 4800 {
            let addr = &addrs[sent as usize % addrs.len()];
            let path = if slow.load(Ordering::Relaxed) {
                "/v1/slow?ms=150"
            } else {
                "/v1/campaigns"
            };
            let _ = http_get(&format!("http://{addr}{path}")).await;
            sent += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

async fn budget_left(prom: &Prometheus) -> Option<f64> {
    prom.query(
        "namespace_job_slo:reviewmaps_error_budget:remaining{namespace=\"reviewmaps\",job=\"reviewmaps-server\",slo=\"latency\"}",
    )
    .await
    .first()
    .map(sample_value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_responses_fire_the_latency_slo_alert_and_spend_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("redmetrics.toml"), CONFIG).unwrap();
    let out = redmetrics(dir.path(), &["generate"]);
    assert!(out.status.success(), "{out:?}");
    let generated = dir.path().join("deploy/reviewmaps");
    let rules = std::fs::read_to_string(generated.join("rules.yaml")).unwrap();
    assert!(rules.contains("le=\"0.1\""), "{rules}");
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(generated.join("slo-dashboard.json")).unwrap(),
    )
    .unwrap();

    // Three replicas of the service, no built-in traffic.
    let demos: Vec<_> = (0..3).map(|_| start_demo(&[])).collect();
    let owned: Vec<String> = demos.iter().map(|(_, a)| a.to_string()).collect();
    let addrs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let files = [("rules.yaml", rules.as_str())];
    let classic = start_prometheus(&common::operator_prometheus_config(&addrs, None), &files);
    let native = start_prometheus_with(
        &common::operator_prometheus_config(&addrs, None),
        &files,
        &["--enable-feature=native-histograms"],
    );
    let servers = [("classic", &classic), ("native", &native)];
    for (_, prom) in servers {
        prom.wait_for_targets(JOB, 3, "up", Duration::from_secs(30))
            .await;
    }

    // Traffic over the three replicas until the test ends: fast, then slow on demand.
    let slow = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = traffic(owned.clone(), slow.clone(), stop.clone());

    // The threshold's bucket as the endpoint renders it is what the classic server stores.
    let bucket = classic
        .wait_for(
            "reviewmaps_http_request_duration_seconds_bucket{le=\"0.1\"}",
            Duration::from_secs(30),
            |r| r.len() == 3,
        )
        .await;
    assert_eq!(bucket.len(), 3, "one per replica: {bucket:?}");

    // Fast traffic: the budget is recorded on both servers, the page (more than half the
    // requests slow) does not fire.
    let mut before = Vec::new();
    for (name, prom) in servers {
        let seen = prom
            .wait_for(
                "namespace_job_slo:reviewmaps_sli_error:burn_rate40s{slo=\"latency\"}",
                Duration::from_secs(60),
                |r| !r.is_empty(),
            )
            .await;
        assert!(
            !seen.is_empty(),
            "{name}: no latency burn rate\n{}",
            prom.log()
        );
        let b = budget_left(prom).await;
        assert!(b.is_some_and(f64::is_finite), "{name}: budget left {b:?}");
        before.push(b.unwrap());
        let firing = prom
            .query("ALERTS{alertname=\"RedmetricsErrorBudgetBurn\",alertstate=\"firing\",long_window=\"20s\"}")
            .await;
        assert!(
            firing.is_empty(),
            "{name}: fires on fast traffic: {firing:?}"
        );
    }

    slow.store(true, Ordering::Relaxed);
    for ((name, prom), before) in servers.iter().zip(&before) {
        let alert = prom
            .wait_for(
                "ALERTS{alertname=\"RedmetricsErrorBudgetBurn\",alertstate=\"firing\",slo=\"latency\",long_window=\"20s\"}",
                Duration::from_secs(90),
                |r| !r.is_empty(),
            )
            .await;
        assert_eq!(alert.len(), 1, "{name}: {alert:?}\n{}", prom.log());
        let labels = &alert[0]["metric"];
        assert_eq!(labels["short_window"], "5s", "{name}: {labels}");
        assert_eq!(labels["severity"], "critical", "{name}: {labels}");
        assert_eq!(labels["namespace"], NAMESPACE, "{name}: {labels}");
        // The availability objective holds: no 5xx was served.
        let availability = prom
            .query("ALERTS{alertname=\"RedmetricsErrorBudgetBurn\",slo=\"availability\"}")
            .await;
        assert!(availability.is_empty(), "{name}: {availability:?}");
        let mut after = None;
        for _ in 0..40 {
            after = budget_left(prom).await;
            if after.is_some_and(|a| a < *before) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(
            after.is_some_and(|a| a < *before),
            "{name}: budget left {before} then {after:?}"
        );
    }

    // Every panel of the SLO dashboard draws finite values on both servers.
    let queries = common::panel_queries(&dashboard, NAMESPACE, JOB);
    assert!(queries.len() >= 12, "{queries:?}");
    let at = common::unix_now();
    for (name, prom) in servers {
        for (title, _, expr) in &queries {
            let result = prom.query_at(expr, at).await;
            assert!(
                !result.is_empty(),
                "{name}: panel \"{title}\" draws nothing: {expr}"
            );
            for r in &result {
                let v = sample_value(r);
                assert!(v.is_finite(), "{name}: panel \"{title}\" draws {v}: {expr}");
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();
}

/// [`CONFIG`] with windows long enough for remote write's batching.
fn global_config() -> String {
    CONFIG
        .replace(
            "long = \"20s\", short = \"5s\"",
            "long = \"30s\", short = \"10s\"",
        )
        .replace(
            "long = \"40s\", short = \"10s\"",
            "long = \"1m\", short = \"20s\"",
        )
}

/// Generates the test app's artifacts: rules, SLO dashboard, global-view fragments.
fn generate_global(dir: &std::path::Path) -> (String, Value, Value) {
    std::fs::write(dir.join("redmetrics.toml"), global_config()).unwrap();
    let out = redmetrics(dir, &["generate"]);
    assert!(out.status.success(), "{out:?}");
    let generated = dir.join("deploy/reviewmaps");
    let read = |f: &str| std::fs::read_to_string(generated.join(f)).unwrap();
    (
        read("rules.yaml"),
        serde_json::from_str(&read("slo-dashboard.json")).unwrap(),
        serde_saphyr::from_str(&read("global-view.yaml")).unwrap(),
    )
}

/// Sends `n` requests to `path` of each demo.
async fn requests(addrs: &[&str], path: &str, n: usize) {
    for _ in 0..n {
        for addr in addrs {
            let _ = http_get(&format!("http://{addr}{path}")).await;
        }
    }
}

/// A second Prometheus federating with the generated `match[]` gets every series the SLO
/// dashboard reads, and nothing raw; each panel query gives the same figures there as on
/// the Prometheus that evaluates the rules, at the timestamp of a federated evaluation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federating_prometheus_draws_the_same_slo_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, dashboard, view) = generate_global(dir.path());
    let demos: Vec<_> = (0..3).map(|_| start_demo(&[])).collect();
    let owned: Vec<String> = demos.iter().map(|(_, a)| a.to_string()).collect();
    let addrs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let local = start_prometheus(
        &common::operator_prometheus_config(&addrs, None),
        &[("rules.yaml", rules.as_str())],
    );
    let mut federation = view["federation"].clone();
    federation["static_configs"] = json!([{ "targets": [local.addr.to_string()] }]);
    let global = start_prometheus(
        &json!({
            "global": { "scrape_interval": "1s", "evaluation_interval": "1s" },
            "scrape_configs": [federation],
        })
        .to_string(),
        &[],
    );
    local
        .wait_for_targets(JOB, 3, "up", Duration::from_secs(30))
        .await;
    // Fast and slow requests, so that both objectives have a non-trivial SLI.
    requests(&addrs, "/v1/campaigns", 10).await;
    requests(&addrs, "/v1/slow?ms=150", 2).await;
    let budget = "namespace_job_slo:reviewmaps_error_budget:remaining{slo=\"latency\"}";
    let seen = global
        .wait_for(budget, Duration::from_secs(60), |r| {
            r.first().is_some_and(|s| sample_value(s) < 1.0)
        })
        .await;
    assert!(!seen.is_empty(), "{}", global.log());
    // Only recorded series travel: no raw family, no `up` of the app (the global server's
    // own `up` is that of its federation job).
    let raw = global
        .query("count({__name__=~\"reviewmaps_.+\"}) or count(up{job=\"reviewmaps-server\"})")
        .await;
    assert!(raw.is_empty(), "raw series federated: {raw:?}");

    let stamp = global.query(&format!("timestamp({budget})")).await;
    let at = sample_value(&stamp[0]);
    let queries = common::panel_queries(&dashboard, NAMESPACE, JOB);
    let mut compared = 0;
    for (title, legend, expr) in &queries {
        let figures = |r: Vec<Value>| {
            let mut v: Vec<(String, String)> = r
                .iter()
                .map(|s| {
                    (
                        s["metric"]["slo"].as_str().unwrap_or_default().to_owned(),
                        format!("{:.9}", sample_value(s)),
                    )
                })
                .collect();
            v.sort();
            v
        };
        let here = figures(local.query_at(expr, at).await);
        let there = figures(global.query_at(expr, at).await);
        assert_eq!(here, there, "panel \"{title}\" ({legend}): {expr}");
        compared += usize::from(!here.is_empty());
    }
    assert!(
        compared >= 12,
        "{compared} of {} queries had data",
        queries.len()
    );
}

/// A Prometheus in agent mode (it evaluates no rules) remote-writes the generated keep-list
/// of raw series to a Prometheus with the remote-write receiver, which evaluates the
/// generated rules: slow responses fire the latency burn-rate alert there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_remote_writes_what_the_receivers_slo_rules_need() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, _, view) = generate_global(dir.path());
    let demos: Vec<_> = (0..3).map(|_| start_demo(&[])).collect();
    let owned: Vec<String> = demos.iter().map(|(_, a)| a.to_string()).collect();
    let addrs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let receiver = start_prometheus_with(
        &json!({
            "global": { "evaluation_interval": "1s" },
            "rule_files": ["rules.yaml"],
        })
        .to_string(),
        &[("rules.yaml", rules.as_str())],
        &["--web.enable-remote-write-receiver"],
    );
    let mut agent: Value =
        serde_json::from_str(&common::operator_prometheus_config(&addrs, None)).unwrap();
    agent.as_object_mut().unwrap().remove("rule_files");
    let mut write = view["remote_write_agent"].clone();
    write["url"] = json!(format!("http://{}/api/v1/write", receiver.addr));
    // Test-side only: send every second rather than batching for 5 s.
    write["queue_config"] = json!({ "batch_send_deadline": "1s" });
    agent["remote_write"] = json!([write]);
    agent["global"]["external_labels"] = view["external_labels"].clone();
    let agent = start_prometheus_with(&agent.to_string(), &[], &["--enable-feature=agent"]);

    let slow = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = traffic(owned.clone(), slow.clone(), stop.clone());
    let seen = receiver
        .wait_for(
            "namespace_job_slo:reviewmaps_sli_error:burn_rate30s{slo=\"latency\"}",
            Duration::from_secs(60),
            |r| !r.is_empty(),
        )
        .await;
    assert!(!seen.is_empty(), "{}\n{}", receiver.log(), agent.log());
    // The keep-list: the active-connections gauge, which no rule reads, stays behind
    // (the demos serve it: the agent scraped it).
    let dropped = receiver
        .query("count(reviewmaps_http_active_connections)")
        .await;
    assert!(dropped.is_empty(), "{dropped:?}");
    slow.store(true, Ordering::Relaxed);
    let alert = receiver
        .wait_for(
            "ALERTS{alertname=\"RedmetricsErrorBudgetBurn\",alertstate=\"firing\",slo=\"latency\",long_window=\"30s\"}",
            Duration::from_secs(120),
            |r| !r.is_empty(),
        )
        .await;
    assert_eq!(alert.len(), 1, "{alert:?}\n{}", receiver.log());
    assert_eq!(alert[0]["metric"]["short_window"], "10s");
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();
}
