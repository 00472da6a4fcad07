//! `redmetrics check alertmanager` against real Alertmanagers (Debian's 0.25) started with
//! hand-written configurations: one that routes the app's alerts to receivers with
//! integrations, kube-prometheus-stack's default (everything to `"null"`), and one whose
//! route ends at a receiver without integrations.
#![allow(clippy::unwrap_used)]

mod common;

use common::{redmetrics, repo, start_alertmanager, start_demo};
use serde_json::Value;

/// Routes by severity as the default routes do, with a regex matcher and `continue`.
const ROUTED: &str = r#"
route:
  receiver: "null"
  group_by: [alertname, namespace, job]
  routes:
    - matchers: ['alertname="Watchdog"']
      receiver: "null"
    - matchers: ['namespace="reviewmaps"', 'severity=~"warning|critical"']
      receiver: chat
      continue: true
    - matchers: ['namespace="reviewmaps"', 'severity="critical"']
      receiver: pager
receivers:
  - name: "null"
  - name: chat
    slack_configs:
      - api_url: http://127.0.0.1:9/slack
        channel: '#alerts'
    email_configs:
      - to: oncall@example.com
        from: alertmanager@example.com
        smarthost: 127.0.0.1:25
        require_tls: false
  - name: pager
    pagerduty_configs:
      - routing_key: not-a-secret-test-key
        url: http://127.0.0.1:9/v2/enqueue
"#;

/// kube-prometheus-stack's default Alertmanager configuration (the chart's
/// `alertmanager.config`): everything to the receiver `"null"`, and warnings silenced while a
/// critical alert of the same namespace and name fires.
const STACK_DEFAULT: &str = r#"
global:
  resolve_timeout: 5m
inhibit_rules:
  - source_matchers: ['severity = critical']
    target_matchers: ['severity =~ warning|info']
    equal: [namespace, alertname]
  - source_matchers: ['severity = warning']
    target_matchers: ['severity = info']
    equal: [namespace, alertname]
route:
  group_by: [namespace]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 12h
  receiver: "null"
  routes:
    - receiver: "null"
      matchers: ['alertname = "Watchdog"']
receivers:
  - name: "null"
"#;

/// The app's alerts are routed, but to a receiver nobody wired up.
const SILENT: &str = r#"
route:
  receiver: "null"
  routes:
    - matchers: ['namespace="reviewmaps"']
      receiver: team
receivers:
  - name: "null"
  - name: team
"#;

fn check(url: &str) -> (Option<i32>, String, String) {
    let out = redmetrics(
        &repo(),
        &[
            "check",
            "alertmanager",
            url,
            "--config",
            "redmetrics.toml",
            "--app",
            "reviewmaps",
            "--format",
            "json",
        ],
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn passes_when_every_alert_reaches_a_receiver_that_notifies() {
    let am = start_alertmanager(ROUTED);
    let (code, stdout, stderr) = check(&am.url());
    assert_eq!(code, Some(0), "{stdout}\n{stderr}\n{}", am.log());
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let routes: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("route "))
        .collect();
    // Every alerting rule of the committed rules file is followed, none skipped.
    let rules = std::fs::read_to_string(repo().join("deploy/reviewmaps/rules.yaml")).unwrap();
    let alert_rules = rules.lines().filter(|l| l.contains("- alert:")).count();
    assert!(alert_rules > 0);
    assert_eq!(routes.len(), alert_rules, "{stdout}");
    for c in routes {
        let summary = c["summary"].as_str().unwrap();
        assert!(summary.contains("\"chat\" (email, slack)"), "{summary}");
        let critical = c["name"].as_str().unwrap().contains("severity=critical");
        assert_eq!(
            summary.contains("\"pager\" (pagerduty)"),
            critical,
            "{summary}"
        );
    }
}

#[test]
fn fails_on_the_kube_prometheus_stack_null_trap_and_names_it() {
    let am = start_alertmanager(STACK_DEFAULT);
    let (code, stdout, stderr) = check(&am.url());
    assert_eq!(code, Some(1), "{stdout}\n{stderr}\n{}", am.log());
    assert!(stdout.contains("the \\\"null\\\" trap"), "{stdout}");
    assert!(stdout.contains("AlertmanagerConfig"), "{stdout}");
    // Human output says the same.
    let out = redmetrics(
        &repo(),
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
    let human = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{human}");
    assert!(human.contains("FAIL  route "), "{human}");
    assert!(
        human.contains("kube-prometheus-stack's default config"),
        "{human}"
    );
}

#[test]
fn fails_when_the_route_ends_at_a_receiver_without_integrations() {
    let am = start_alertmanager(SILENT);
    let (code, stdout, stderr) = check(&am.url());
    assert_eq!(code, Some(1), "{stdout}\n{stderr}\n{}", am.log());
    assert!(stdout.contains("receiver \\\"team\\\""), "{stdout}");
    assert!(stdout.contains("has no integrations"), "{stdout}");
    assert!(!stdout.contains("trap"), "not the default route: {stdout}");
}

#[test]
fn something_that_is_not_alertmanager_is_an_error() {
    let (_demo, addr) = start_demo(&[]);
    let (code, stdout, stderr) = check(&format!("http://{addr}"));
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("not Alertmanager's API v2"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
}

/// The answer is read up to a cap: a peer streaming more is refused, not buffered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_answer_is_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let huge = format!(
        "{{\"config\":{{\"original\":\"{}\"}}}}",
        "#".repeat(5 << 20)
    );
    let app = axum::Router::new().route(
        "/api/v2/status",
        axum::routing::get(move || {
            let huge = huge.clone();
            async move { huge }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}");
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || check(&url))
        .await
        .unwrap();
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("larger than"), "{stderr}");
}

/// Routes that steer the app's alerts with every matcher operator (`=`, `!=`, `=~`, `!~`):
/// warnings reach `chat` through `!=`, criticals reach `pager` through `=~` and `!~`.
/// `{PAGER}` is the pager route's `alertname` matcher.
const OPERATORS: &str = r#"
route:
  receiver: "null"
  group_by: [alertname]
  routes:
    - matchers: ['alertname="Watchdog"']
      receiver: "null"
    - matchers: ['namespace=~"review.*"', 'severity!="critical"']
      receiver: chat
    - matchers: ['namespace="reviewmaps"', '{PAGER}', 'severity=~"crit.*"']
      receiver: pager
receivers:
  - name: "null"
  - name: chat
    slack_configs:
      - api_url: http://127.0.0.1:9/slack
        channel: '#alerts'
  - name: pager
    pagerduty_configs:
      - routing_key: not-a-secret-test-key
        url: http://127.0.0.1:9/v2/enqueue
"#;

/// The receivers amtool's own routing walk picks for `labels` (`k=v` words).
fn amtool_receivers(config: &std::path::Path, labels: &[&str]) -> Vec<String> {
    let out = std::process::Command::new("amtool")
        .args(["config", "routes", "test"])
        .arg(format!("--config.file={}", config.display()))
        .args(labels)
        .output()
        .expect("amtool (Debian: apt-get install prometheus-alertmanager)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut r: Vec<String> = text
        .trim()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    r.sort();
    r
}

/// Each alert's verdict of `check alertmanager` agrees with amtool's walk of the same
/// configuration, for every matcher operator, both where the alerts reach people (exit 0)
/// and where a `!~` sends the criticals to `"null"` (exit 1).
#[test]
fn every_matcher_operator_routes_as_amtool_routes() {
    for (pager, expect_code) in [
        (r#"alertname!~"Watchdog|InfoInhibitor""#, 0),
        (r#"alertname!~"Redmetrics.*""#, 1),
    ] {
        let config = OPERATORS.replace("{PAGER}", pager);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("alertmanager.yml");
        std::fs::write(&file, &config).unwrap();
        let am = start_alertmanager(&config);
        let (code, stdout, stderr) = check(&am.url());
        assert_eq!(code, Some(expect_code), "{pager}: {stdout}\n{stderr}");
        let report: Value = serde_json::from_str(&stdout).unwrap();
        let mut followed = 0;
        for c in report["checks"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            let Some(labels) = name.strip_prefix("route ") else {
                continue;
            };
            // `RedmetricsHighErrorRate severity=warning …`: the alert name, then its labels;
            // the app's namespace and job (from the --config the check was given) as well.
            let mut tokens = labels.split([' ', ',', '{', '}']);
            let alertname = format!("alertname={}", tokens.next().unwrap());
            let mut words: Vec<String> = vec![alertname];
            words.extend(tokens.filter(|w| w.contains('=')).map(str::to_owned));
            for (k, v) in [("namespace", "reviewmaps"), ("job", "reviewmaps-server")] {
                if !words.iter().any(|w| w.starts_with(&format!("{k}="))) {
                    words.push(format!("{k}={v}"));
                }
            }
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let expected = amtool_receivers(&file, &words);
            assert!(!expected.is_empty(), "amtool routed {words:?} nowhere");
            let summary = c["summary"].as_str().unwrap();
            for receiver in &expected {
                assert!(
                    summary.contains(&format!("\"{receiver}\"")),
                    "{pager}: {name}: amtool routes it to {expected:?}; the check says: {summary}"
                );
            }
            let notifies = !expected.iter().all(|r| r == "null");
            assert_eq!(
                c["status"] != "fail",
                notifies,
                "{pager}: {name}: amtool routes it to {expected:?}; the check says {c}"
            );
            followed += 1;
        }
        assert!(
            followed >= 4,
            "{pager}: only {followed} routes followed: {stdout}"
        );
    }
}
