//! End to end, a notification's whole trip: the demo serves failing requests, a real
//! Prometheus (Debian's 2.42) evaluates the generated rules, a real Alertmanager (0.25)
//! routes with the generated configuration, and sinks written here, not the demo's, play
//! Slack (incoming-webhook JSON), PagerDuty (Events v2, through the `url` field) and a mail
//! server (minimal SMTP). Durations are shortened in the test's `redmetrics.toml`, never by
//! editing generated files. Every wait polls with a generous deadline; nothing asserts on
//! timing.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use common::{
    Running, http_get, redmetrics, start_alertmanager, start_demo_at, start_prometheus_any_port,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One notification a sink received: which integration, the title it carried and its text
/// (Slack's message body; empty for the others).
#[derive(Debug, Clone)]
struct Delivery {
    via: &'static str,
    title: String,
    text: String,
}

type Inbox = Arc<Mutex<Vec<Delivery>>>;

fn record(inbox: &Inbox, via: &'static str, title: String) {
    record_text(inbox, via, title, String::new());
}

fn record_text(inbox: &Inbox, via: &'static str, title: String, text: String) {
    inbox.lock().unwrap().push(Delivery { via, title, text });
}

/// Slack's and PagerDuty's HTTP APIs, as far as Alertmanager uses them, on port 0.
async fn http_sinks(inbox: Inbox) -> SocketAddr {
    async fn slack(State(inbox): State<Inbox>, Json(body): Json<Value>) -> &'static str {
        let field = |k: &str| body["attachments"][0][k].as_str().unwrap_or("").to_owned();
        record_text(&inbox, "slack", field("title"), field("text"));
        "ok"
    }
    async fn pagerduty(
        State(inbox): State<Inbox>,
        Json(body): Json<Value>,
    ) -> (axum::http::StatusCode, Json<Value>) {
        assert_eq!(body["routing_key"], "test-routing-key", "{body}");
        let action = body["event_action"].as_str().unwrap_or("").to_owned();
        let summary = body["payload"]["summary"].as_str().unwrap_or("").to_owned();
        // Events v2 says trigger/resolve; the title carries FIRING/RESOLVED as well.
        record(&inbox, "pagerduty", format!("{action} {summary}"));
        (
            axum::http::StatusCode::ACCEPTED,
            Json(json!({"status": "success", "dedup_key": body["dedup_key"]})),
        )
    }
    let app = axum::Router::new()
        .route("/slack", post(slack))
        .route("/v2/enqueue", post(pagerduty))
        .with_state(inbox);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A mail server that speaks just enough SMTP for Alertmanager (no TLS, no AUTH) and keeps
/// each message's Subject.
async fn smtp_sink(inbox: Inbox) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let inbox = inbox.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                let mut subject = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            record(&inbox, "email", std::mem::take(&mut subject));
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else if let Some(s) = line.strip_prefix("Subject: ") {
                            subject = s.to_owned();
                        } else if line.starts_with(' ') && !subject.is_empty() {
                            subject.push_str(&line);
                        }
                        continue;
                    }
                    let reply: &[u8] =
                        match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                            "EHLO" => b"250-test\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                in_data = true;
                                b"354 go on\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"250 ok\r\n",
                        };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    addr
}

/// Where the test's runbooks live: each alert's `runbook_url` is this plus `#` and the
/// alert's name in lower case, shown in the Slack text by Alertmanager's template.
const RUNBOOKS: &str = "https://git.example.com/team/ops/blob/main/docs/runbooks.md";

/// The test's configuration: the default routing, every duration short, endpoints at the
/// sinks (secrets in files, as the plain config reads them).
fn test_config(dir: &Path, http: SocketAddr, smtp: SocketAddr) -> String {
    let slack_file = dir.join("slack-url");
    let key_file = dir.join("pagerduty-key");
    std::fs::write(&slack_file, format!("http://{http}/slack")).unwrap();
    std::fs::write(&key_file, "test-routing-key").unwrap();
    format!(
        r##"
[notify]
group_wait = "1s"
group_interval = "2s"
repeat_interval = "1h"

[notify.slack]
channel = "#test"
api_url = {{ name = "receivers", key = "slack" }}
api_url_file = "{slack}"

[notify.email]
to = ["oncall@example.com"]
from = "alertmanager@example.com"
smarthost = "{smtp}"
require_tls = false

[notify.pagerduty]
routing_key = {{ name = "receivers", key = "pagerduty" }}
routing_key_file = "{key}"
url = "http://{http}/v2/enqueue"

[[apps]]
name = "reviewmaps"
prefix = "reviewmaps"
namespace = "reviewmaps"
service = "reviewmaps-server"
port = "http"
metrics_path = "/metrics"
interval = "1s"
scrape_timeout = "1s"

[apps.alerts]
runbook_base = "{RUNBOOKS}"
error_for = "3s"
latency_for = "3s"
target_down_for = "2s"
target_absent_for = "10m"
# Long enough that the error ratio outlives the demo: its warning is then inhibited.
rate_window = "1m"
"##,
        slack = slack_file.display(),
        key = key_file.display(),
    )
}

/// Prometheus as the operator would configure it from the generated ServiceMonitor: the
/// demo's target with `namespace` and `job` labels, the generated rules, our Alertmanager.
fn prometheus_config(rules: &Path, demo: SocketAddr, am: SocketAddr) -> String {
    json!({
        "global": { "scrape_interval": "1s", "evaluation_interval": "1s" },
        "rule_files": [rules.display().to_string()],
        "alerting": { "alertmanagers": [{ "static_configs": [{ "targets": [am.to_string()] }] }] },
        "scrape_configs": [{
            "job_name": "serviceMonitor/reviewmaps/reviewmaps-server/0",
            "scrape_timeout": "1s",
            "static_configs": [{
                "targets": [demo.to_string()],
                "labels": { "namespace": "reviewmaps", "service": "reviewmaps-server" },
            }],
            "relabel_configs": [{ "target_label": "job", "replacement": "reviewmaps-server" }],
        }],
    })
    .to_string()
}

/// Waits (at most 180 s) until `done` holds for the deliveries so far.
async fn wait_for(inbox: &Inbox, what: &str, done: impl Fn(&[Delivery]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let seen = inbox.lock().unwrap().clone();
        if done(&seen) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: never; received {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn has(seen: &[Delivery], via: &str, status: &str, alert: &str) -> bool {
    seen.iter()
        .any(|d| d.via == via && d.title.contains(status) && d.title.contains(alert))
}

/// Restarts the demo on `addr` (the target Prometheus scrapes), retrying while the port is
/// still being released.
fn restart_demo(dir: &Path, addr: SocketAddr) -> Running {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listen = addr.to_string();
        let attempt = std::panic::catch_unwind(|| {
            start_demo_at(
                dir,
                &listen,
                &["--config", "redmetrics.toml", "--app", "reviewmaps"],
            )
        });
        match attempt {
            Ok((running, _)) => return running,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(500)),
            Err(e) => std::panic::resume_unwind(e),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_travel_from_failing_requests_to_slack_email_and_pagerduty() {
    let inbox: Inbox = Arc::default();
    let http = http_sinks(inbox.clone()).await;
    let smtp = smtp_sink(inbox.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("redmetrics.toml"),
        test_config(dir.path(), http, smtp),
    )
    .unwrap();
    let generated = redmetrics(dir.path(), &["generate"]);
    assert!(generated.status.success(), "{generated:?}");
    let deploy = dir.path().join("deploy/reviewmaps");
    let am =
        start_alertmanager(&std::fs::read_to_string(deploy.join("alertmanager.yaml")).unwrap());
    let (demo, addr) = start_demo_at(
        dir.path(),
        "127.0.0.1:0",
        &[
            "--config",
            "redmetrics.toml",
            "--app",
            "reviewmaps",
            "--fail-every",
            "1",
        ],
    );
    let prom = start_prometheus_any_port(&prometheus_config(
        &deploy.join("rules.yaml"),
        addr,
        am.addr,
    ));
    prom.wait_for_targets("reviewmaps-server", 1, "up", Duration::from_secs(120))
        .await;

    // The check agrees before anything fires: every alert reaches a receiver that notifies.
    let check = redmetrics(
        dir.path(),
        &[
            "check",
            "alertmanager",
            &am.url(),
            "--config",
            "redmetrics.toml",
            "--app",
            "reviewmaps",
        ],
    );
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // 1. Injected 5xx traffic: the warning reaches Slack and e-mail, never PagerDuty.
    let traffic = tokio::spawn(async move {
        for _ in 0..20_000 {
            let _ = http_get(&format!("http://{addr}/v1/flaky")).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let error = "RedmetricsHighErrorRate";
    wait_for(&inbox, "the error warning on Slack and e-mail", |seen| {
        has(seen, "slack", "FIRING", error) && has(seen, "email", "FIRING", error)
    })
    .await;
    traffic.abort();
    // `runbook_base`: the link Prometheus put in the alert's annotations, as Alertmanager's
    // Slack template renders it.
    let runbook = format!("Runbook: {RUNBOOKS}#redmetricshigherrorrate");
    let seen = inbox.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|d| d.via == "slack" && d.title.contains(error) && d.text.contains(&runbook)),
        "no Slack message for {error} with `{runbook}`: {seen:#?}"
    );

    // 2. The demo stops: the critical target-down alert reaches all three, and the error
    //    warning of that job is inhibited (Alertmanager holds it as suppressed).
    drop(demo);
    let down = "RedmetricsTargetDown";
    wait_for(&inbox, "the target-down alert on all three", |seen| {
        has(seen, "slack", "FIRING", down)
            && has(seen, "email", "FIRING", down)
            && has(seen, "pagerduty", "trigger", down)
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let alerts: Value = serde_json::from_slice(
            &http_get(&format!(
                "{}/api/v2/alerts?filter=alertname%3D%22{error}%22",
                am.url()
            ))
            .await
            .unwrap(),
        )
        .unwrap();
        let inhibited = alerts.as_array().unwrap().iter().any(|a| {
            a["status"]["state"] == "suppressed"
                && !a["status"]["inhibitedBy"].as_array().unwrap().is_empty()
        });
        if inhibited {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the error warning was never inhibited: {alerts}\n{}",
            am.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // 3. Recovery: the demo is back, and the resolved notifications go out.
    let _demo = restart_demo(dir.path(), addr);
    wait_for(
        &inbox,
        "resolved target-down notifications on all three",
        |seen| {
            has(seen, "slack", "RESOLVED", down)
                && has(seen, "email", "RESOLVED", down)
                && has(seen, "pagerduty", "resolve", down)
        },
    )
    .await;

    // PagerDuty heard only of the critical alert, never of the warning.
    let seen = inbox.lock().unwrap().clone();
    assert!(
        !seen
            .iter()
            .any(|d| d.via == "pagerduty" && d.title.contains(error)),
        "{seen:#?}"
    );
    drop(prom);
}
