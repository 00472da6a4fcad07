//! The generated SLO rules and dashboard on real Prometheus 2.42 servers scraping three demo
//! replicas: injected slow responses fire the latency SLO's burn-rate alert and the latency
//! budget left falls, on a server storing the classic buckets (the rule matches the
//! `le` label exactly as the endpoint renders it) and on one storing only native histograms
//! (the rule reads them with `histogram_fraction`). Every panel of the generated SLO
//! dashboard draws finite values. Windows are shortened in the test's `redmetrics.toml`,
//! never by editing generated files; nothing asserts on timing.
#![allow(clippy::unwrap_used)]

#[macro_use]
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
const CONFIG: &str = reviewmaps_every_second!(
    r#"
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
"#
);

/// Runs `generate` on `config` in `dir`; a reader of the app's generated files by name.
fn generate(dir: &std::path::Path, config: &str) -> impl Fn(&str) -> String + use<> {
    std::fs::write(dir.join("redmetrics.toml"), config).unwrap();
    let out = redmetrics(dir, &["generate"]);
    assert!(out.status.success(), "{out:?}");
    let generated = dir.join("deploy/reviewmaps");
    move |f| std::fs::read_to_string(generated.join(f)).unwrap()
}

/// Three replicas of the service (no built-in traffic) and two Prometheus 2.42 servers
/// scraping them as the operator would, loading `files`: one storing classic buckets, one
/// native histograms.
struct Replicas {
    _demos: Vec<(common::Running, std::net::SocketAddr)>,
    addrs: Vec<String>,
    classic: Prometheus,
    native: Prometheus,
}

impl Replicas {
    async fn start(files: &[(&str, &str)]) -> Self {
        let demos: Vec<_> = (0..3).map(|_| start_demo(&[])).collect();
        let addrs: Vec<String> = demos.iter().map(|(_, a)| a.to_string()).collect();
        let targets: Vec<&str> = addrs.iter().map(String::as_str).collect();
        let config = common::operator_prometheus_config(&targets, None);
        let classic = start_prometheus(&config, files);
        let native = start_prometheus_with(&config, files, &["--enable-feature=native-histograms"]);
        for prom in [&classic, &native] {
            prom.wait_for_targets(JOB, 3, "up", Duration::from_secs(30))
                .await;
        }
        Self {
            _demos: demos,
            addrs,
            classic,
            native,
        }
    }

    fn servers(&self) -> [(&'static str, &Prometheus); 2] {
        [("classic", &self.classic), ("native", &self.native)]
    }
}

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
    let read = generate(dir.path(), CONFIG);
    let rules = read("rules.yaml");
    assert!(rules.contains("le=\"0.1\""), "{rules}");
    let dashboard: Value = serde_json::from_str(&read("slo-dashboard.json")).unwrap();

    let replicas = Replicas::start(&[("rules.yaml", rules.as_str())]).await;
    let (classic, servers) = (&replicas.classic, replicas.servers());

    // Traffic over the three replicas until the test ends: fast, then slow on demand.
    let slow = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = traffic(replicas.addrs.clone(), slow.clone(), stop.clone());

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
    slo_panels_follow_the_config(&dashboard, &queries, classic, at).await;
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();
}

/// What [`CONFIG`] asks of the SLO dashboard, stated from the config and judged on
/// Prometheus: per objective, a burn rate for each of the four alert windows (never the
/// 1 d period) that the server returns as a rate at or above zero, one line per factor, the
/// objective 0.95 as the good-requests line, shares of good requests within [0, 1], and a
/// budget panel that can show an overspent (negative) budget.
async fn slo_panels_follow_the_config(
    dashboard: &Value,
    queries: &[(String, String, String)],
    prom: &Prometheus,
    at: f64,
) {
    for slo in ["availability", "latency"] {
        let of = |title: &str| -> Vec<(&str, &str)> {
            queries
                .iter()
                .filter(|(t, _, e)| t == title && (e.contains(slo) || e.starts_with("vector(")))
                .map(|(_, legend, e)| (legend.as_str(), e.as_str()))
                .collect()
        };
        let burns = of("Burn rate per window");
        let mut legends: Vec<&str> = burns.iter().map(|(l, _)| *l).collect();
        legends.sort_unstable();
        legends.dedup();
        assert_eq!(
            legends,
            ["10s", "20s", "40s", "5s", "alert at 10x", "alert at 2x"],
            "{slo}: {burns:?}"
        );
        for (legend, expr) in &burns {
            let result = prom.query_at(expr, at).await;
            assert_eq!(result.len(), 1, "{slo} {legend}: {expr} {result:?}");
            let v = sample_value(&result[0]);
            match legend.strip_prefix("alert at ") {
                Some(f) => assert_eq!(format!("{v}x"), f, "{slo}: {expr}"),
                None => assert!(v >= 0.0, "{slo} {legend}: {v}"),
            }
        }
        let good = of("Good requests");
        assert_eq!(
            good.len(),
            4,
            "its two lines and both objective lines: {good:?}"
        );
        for (legend, expr) in good.iter().filter(|(_, e)| e.contains(slo)) {
            let result = prom.query_at(expr, at).await;
            assert_eq!(result.len(), 1, "{slo} {legend}: {expr} {result:?}");
            let v = sample_value(&result[0]);
            assert!((0.0..=1.0).contains(&v), "{slo} {legend}: {v}");
            assert!(["5s", "1d"].contains(legend), "{slo}: {legend}");
        }
        let objective = good.iter().filter(|(l, _)| *l == "objective").count();
        assert_eq!(objective, 2, "one objective line per SLO: {good:?}");
        for (_, expr) in good.iter().filter(|(l, _)| *l == "objective") {
            let v = sample_value(&prom.query_at(expr, at).await[0]);
            assert!((v - 0.95).abs() < 1e-12, "{expr}: {v}");
        }
    }
    // The budget left goes below zero once more than the budget is spent: its panels must
    // not clip at 0 (Grafana's `min`).
    let budget_panels: Vec<&Value> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["title"] == "Error budget left")
        .collect();
    assert_eq!(budget_panels.len(), 2, "one per objective");
    for p in budget_panels {
        assert!(
            p["fieldConfig"]["defaults"]
                .get("min")
                .is_none_or(Value::is_null),
            "{p}"
        );
    }
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
    let read = generate(dir, &global_config());
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
    // Fast and slow requests, so that both objectives have a non-trivial SLI. A series'
    // first scrape already holds its first requests, which `rate` cannot see: more follow
    // once every replica's series were scraped.
    requests(&addrs, "/v1/campaigns", 10).await;
    requests(&addrs, "/v1/slow?ms=150", 1).await;
    local
        .wait_for_series(
            "count(reviewmaps_http_requests_total{path=\"/v1/slow\"}) == 3",
            Duration::from_secs(30),
        )
        .await;
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

    // The main dashboard's aggregates travel too: every one the first server records
    // arrives, and each aggregated panel draws the same figures there, at an instant when
    // the global server holds one whole evaluation of the aggregation group.
    // Requests keep flowing: the waits below can outlast the 1m rate window on a loaded
    // machine, and a panel that divides by a zero rate draws nothing (seen once in CI).
    let slow = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = traffic(owned.clone(), slow, stop.clone());
    let agg = format!("{{__name__=~\"{}\"}}", aggregation_names(&rules).join("|"));
    let names = |r: Vec<Value>| {
        let mut v: Vec<String> = r
            .iter()
            .map(|s| s["metric"]["__name__"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    // Each aggregate appears at the group's first evaluation after its inputs were scraped:
    // wait for them rather than read once (seen failing once on a loaded machine).
    let here = names(
        local
            .wait_for(
                &format!("count by (__name__) ({agg})"),
                Duration::from_secs(30),
                |r: &[Value]| r.len() >= 8,
            )
            .await,
    );
    assert!(here.len() >= 8, "{here:?}");
    let there = global
        .wait_for(
            &format!("count by (__name__) ({agg})"),
            Duration::from_secs(30),
            |r| r.len() == here.len(),
        )
        .await;
    assert_eq!(names(there), here);
    let main: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("deploy/reviewmaps/dashboard.json")).unwrap(),
    )
    .unwrap();
    // Up to 5 whole evaluations, the first where every panel agrees counts: twice in CI on
    // a loaded machine, one evaluation found the 5xx ratio panel empty on the global server
    // (its rate's denominator gone for that one instant) although traffic kept flowing. A
    // panel that differs or draws nothing at every one of them still fails.
    let mut drawn = 0;
    let mut failures = Vec::new();
    for _ in 0..5 {
        failures.clear();
        drawn = 0;
        let at = whole_evaluation(&global, &here).await;
        for (title, legend, expr) in common::panel_queries(&main, NAMESPACE, JOB) {
            if halves(&expr).is_none() {
                continue; // per pod: raw series, which stay where the pods are scraped
            }
            let mine = series_of(&local.query_at(&expr, at).await);
            let there = series_of(&global.query_at(&expr, at).await);
            if there.is_empty() {
                failures.push(format!(
                    "at {at}: panel \"{title}\" ({legend}) draws nothing: {expr}"
                ));
            } else if !same(&mine, &there) {
                failures.push(format!(
                    "at {at}: panel \"{title}\" ({legend}): {mine:?} vs {there:?}"
                ));
            } else {
                drawn += 1;
            }
        }
        if failures.is_empty() {
            break;
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();
    assert!(drawn >= 14, "{drawn}");
}

/// The names the aggregation group of a generated rules file records.
fn aggregation_names(rules: &str) -> Vec<String> {
    let file: Value = serde_saphyr::from_str(rules).unwrap();
    file["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["name"].as_str().unwrap().ends_with(".recording.rules"))
        .flat_map(|g| g["rules"].as_array().unwrap())
        .map(|r| r["record"].as_str().unwrap().to_owned())
        .collect()
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
    // The keep-list: the process metrics, which no rule reads, stay behind (the demos
    // serve them: the agent scraped them).
    let dropped = receiver.query("count(process_cpu_seconds_total)").await;
    assert!(dropped.is_empty(), "{dropped:?}");
    // Everything the aggregation rules read arrives: the receiver records each aggregate.
    let agg = aggregation_names(&rules);
    let recorded = receiver
        .wait_for(
            &format!("count by (__name__) ({{__name__=~\"{}\"}})", agg.join("|")),
            Duration::from_secs(60),
            |r| r.len() == agg.len(),
        )
        .await;
    assert_eq!(recorded.len(), agg.len(), "{agg:?}: {recorded:?}");
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

/// The sample timestamps of the series of `names` that `prom` holds at `at` (now: `None`);
/// `timestamp` drops the names, so each name is asked about on its own.
async fn stamps(prom: &Prometheus, names: &[String], at: Option<f64>) -> Vec<f64> {
    let mut all = Vec::new();
    for name in names {
        let q = format!("timestamp({name})");
        let r = match at {
            Some(t) => prom.query_at(&q, t).await,
            None => prom.query(&q).await,
        };
        all.extend(r.iter().map(sample_value));
    }
    all
}

/// An instant at which `prom` holds one whole evaluation of the aggregation group `names`:
/// every series it holds has a sample at exactly that time, and a later one has arrived
/// since (so nothing of that evaluation is still being written). Prometheus 2.42 now and
/// then evaluates a native-histogram rule to nothing (a stale sample): such an evaluation
/// is skipped.
async fn whole_evaluation(prom: &Prometheus, names: &[String]) -> f64 {
    let mut candidate: Option<f64> = None;
    for _ in 0..120 {
        let now = stamps(prom, names, None).await;
        let newest = now.iter().copied().fold(f64::MIN, f64::max);
        if let Some(c) = candidate.filter(|c| newest > *c) {
            let then = stamps(prom, names, Some(c)).await;
            if then.len() == now.len() && then.iter().all(|t| *t == c) {
                return c;
            }
        }
        candidate = Some(newest);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("no whole evaluation of {names:?}\n{}", prom.log());
}

/// The recorded and the raw half of a panel query `recorded or raw` (at the top, inside
/// parentheses or inside an aggregation such as `topk`); `None` for a query of raw series
/// alone. Read with the PromQL parser, not from the generator.
fn halves(expr: &str) -> Option<(String, String)> {
    use promql_parser::parser::token::T_LOR;
    use promql_parser::parser::{Expr, ParenExpr};
    fn recorded(e: &Expr) -> bool {
        e.to_string().contains(':')
    }
    fn split(e: &Expr) -> Option<(Expr, Expr)> {
        match e {
            Expr::Binary(b) if b.op.id() == T_LOR && recorded(&b.lhs) && !recorded(&b.rhs) => {
                Some(((*b.lhs).clone(), (*b.rhs).clone()))
            }
            Expr::Paren(p) => split(&p.expr).map(|(a, b)| {
                let paren = |x| Expr::Paren(ParenExpr { expr: Box::new(x) });
                (paren(a), paren(b))
            }),
            Expr::Aggregate(a) => split(&a.expr).map(|(x, y)| {
                let (mut l, mut r) = (a.clone(), a.clone());
                l.expr = Box::new(x);
                r.expr = Box::new(y);
                (Expr::Aggregate(l), Expr::Aggregate(r))
            }),
            _ => None,
        }
    }
    let parsed = promql_parser::parser::parse(expr).unwrap();
    split(&parsed).map(|(a, b)| (a.to_string(), b.to_string()))
}

/// A result vector as (labels, value) pairs, sorted by labels.
fn series_of(result: &[Value]) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = result
        .iter()
        .map(|s| (s["metric"].to_string(), sample_value(s)))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Whether two results hold the same label sets with the same values (relative 1e-9: the
/// same rates summed in another order; NaN, a quantile of a route without requests in the
/// window, equals NaN).
fn same(a: &[(String, f64)], b: &[(String, f64)]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((la, va), (lb, vb))| {
            la == lb
                && (va == vb
                    || (va.is_nan() && vb.is_nan())
                    || (va - vb).abs() <= 1e-9 * va.abs().max(vb.abs()))
        })
}

/// The main dashboard on real Prometheus 2.42 servers (classic buckets, native histograms)
/// scraping three demo replicas. Before the aggregation rules are loaded, every panel draws
/// from the raw series, and the query gives exactly what its raw half gives. Once the rules
/// evaluated, at the time of a recorded sample, the recorded half answers every aggregated
/// panel with the same label sets and values as the raw half, and the whole query answers
/// once per label set with those values: nothing counted twice. Hand-written raw queries
/// give the same request rate and in-flight sum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_reads_the_aggregation_rules_and_raw_series_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let read = generate(dir.path(), CONFIG);
    let rules = read("rules.yaml");
    let dashboard: Value = serde_json::from_str(&read("dashboard.json")).unwrap();
    let queries = common::panel_queries(&dashboard, NAMESPACE, JOB);
    let aggregated: Vec<(&str, &str, String, String, &str)> = queries
        .iter()
        .filter_map(|(title, legend, expr)| {
            halves(expr)
                .map(|(rec, raw)| (title.as_str(), legend.as_str(), rec, raw, expr.as_str()))
        })
        .collect();
    // Every panel but the per-pod ones reads the aggregates.
    let per_pod: Vec<&str> = queries
        .iter()
        .filter(|(_, _, e)| halves(e).is_none())
        .map(|(t, _, _)| t.as_str())
        .collect();
    assert_eq!(per_pod, ["CPU per pod", "Memory per pod"], "{queries:?}");
    assert!(aggregated.len() >= 14, "{aggregated:?}");

    let replicas = Replicas::start(&[("rules.yaml", "groups: []\n")]).await;
    let servers = replicas.servers();
    let addrs: Vec<&str> = replicas.addrs.iter().map(String::as_str).collect();
    let slow = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = traffic(replicas.addrs.clone(), slow.clone(), stop.clone());
    // Some 5xx and some POSTs too, so that every status class and size panel has data.
    requests(&addrs, "/v1/flaky", 5).await;

    let total = "sum(rate(reviewmaps_http_requests_total{namespace=\"reviewmaps\",job=\"reviewmaps-server\"}[1m]))";
    let in_flight = "sum(reviewmaps_http_active_connections{namespace=\"reviewmaps\",job=\"reviewmaps-server\"})";
    let recorded_requests = "namespace_job_method_path_status:reviewmaps_http_requests:rate1m";

    // Before the rules: the raw halves answer, the recorded ones are empty.
    for (name, prom) in servers {
        let r = prom
            .wait_for(total, Duration::from_secs(30), |r| {
                r.first().is_some_and(|s| sample_value(s) > 0.0)
            })
            .await;
        assert!(!r.is_empty(), "{name}: no request rate\n{}", prom.log());
        tokio::time::sleep(Duration::from_secs(3)).await;
        // Two seconds back: the scrapes of that instant are all written.
        let at = common::unix_now() - 2.0;
        for (title, legend, rec, raw, expr) in &aggregated {
            assert!(
                prom.query_at(rec, at).await.is_empty(),
                "{name}: {title} ({legend}) reads recorded series before any rule ran"
            );
            let whole = series_of(&prom.query_at(expr, at).await);
            let raw = series_of(&prom.query_at(raw, at).await);
            assert!(
                !whole.is_empty(),
                "{name}: {title} ({legend}) draws nothing: {expr}"
            );
            assert!(
                same(&whole, &raw),
                "{name}: {title} ({legend}): {whole:?} vs raw {raw:?}"
            );
            assert!(
                whole.iter().any(|(_, v)| v.is_finite()),
                "{name}: {title} ({legend}): {whole:?}"
            );
        }
    }

    // The rules loaded: the recorded halves answer, with the raw halves' figures.
    for (name, prom) in servers {
        prom.reload_with("rules.yaml", &rules).await;
        let r = prom
            .wait_for(recorded_requests, Duration::from_secs(30), |r| {
                !r.is_empty()
            })
            .await;
        assert!(
            !r.is_empty(),
            "{name}: no aggregate recorded\n{}",
            prom.log()
        );
        // The group evaluates all its rules at one timestamp: compare at such an instant.
        // A scrape appended after that evaluation with a timestamp before it (ingestion lags
        // on a loaded machine) lets the raw half see a sample the rule did not: such an
        // instant is replaced by the group's next whole evaluation, up to 5 times; the
        // assertions below then judge the last one.
        let names = aggregation_names(&rules);
        let mut attempts = 0;
        let at = loop {
            let at = whole_evaluation(prom, &names).await;
            attempts += 1;
            let mut agree = true;
            for (_, _, rec, raw, _) in &aggregated {
                let recorded = series_of(&prom.query_at(rec, at).await);
                let raw = series_of(&prom.query_at(raw, at).await);
                agree &= recorded.is_empty() || same(&recorded, &raw);
            }
            if agree || attempts == 5 {
                break at;
            }
        };
        for (title, legend, rec, raw, expr) in &aggregated {
            let recorded = series_of(&prom.query_at(rec, at).await);
            let raw = series_of(&prom.query_at(raw, at).await);
            let whole = series_of(&prom.query_at(expr, at).await);
            // The native latency histogram is not recorded: there, latency panels read it raw.
            if name == "native" && rec.contains("_duration_seconds") {
                assert!(
                    recorded.is_empty(),
                    "{name}: {title} ({legend}): {recorded:?}"
                );
                assert!(!raw.is_empty(), "{name}: {title} ({legend}) draws nothing");
            } else {
                assert!(
                    !recorded.is_empty(),
                    "{name}: {title} ({legend}) has no recorded series: {rec}"
                );
                assert!(
                    same(&recorded, &raw),
                    "{name}: {title} ({legend}): recorded {recorded:?} vs raw {raw:?}"
                );
            }
            assert!(
                same(&whole, &raw),
                "{name}: {title} ({legend}): {whole:?} vs raw {raw:?}"
            );
        }
        // Independent of the generator: the request rate and the in-flight sum.
        let panel = |title: &str| {
            aggregated
                .iter()
                .find(|(t, ..)| *t == title)
                .map(|(.., expr)| *expr)
                .unwrap()
        };
        for (title, by_hand) in [("Request rate", total), ("Active connections", in_flight)] {
            let drawn = series_of(&prom.query_at(panel(title), at).await);
            let hand = series_of(&prom.query_at(by_hand, at).await);
            assert!(
                same(&drawn, &hand),
                "{name}: {title}: {drawn:?} vs {hand:?}"
            );
        }
        // Magnitude: the traffic sends at most 20 requests a second; a double count would
        // read about twice what it sends.
        let rate = series_of(&prom.query_at(panel("Request rate"), at).await)[0].1;
        assert!(rate > 0.0 && rate <= 25.0, "{name}: {rate} req/s");
        let p95 = prom
            .query_at(
                aggregated
                    .iter()
                    .find(|(t, l, ..)| *t == "Latency P50 / P95 / P99" && *l == "p95")
                    .unwrap()
                    .4,
                at,
            )
            .await;
        let p95 = sample_value(&p95[0]);
        assert!(p95 > 0.0 && p95 < 1.0, "{name}: p95 {p95} s");
    }
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();
}
