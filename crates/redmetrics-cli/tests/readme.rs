//! The README's `redmetrics check` commands (and the demo command they are tried on), run as
//! written at the repository root with the real binary. Only the peers' addresses change:
//! `localhost:3000` becomes a demo on an ephemeral port, `localhost:9090` a real Prometheus
//! on loopback, and `helm template … charts/ojeomneo` (the team's chart, not in this
//! repository) the generated chart rendered with Helm's Go SDK for Ojeomneo.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::process::Output;
use std::time::Duration;

use common::{
    helm_template, http_get, redmetrics_with_input, repo, start_demo_in, start_prometheus,
};

/// Every inline code span of the README that holds a `redmetrics <subcommand> …` command
/// with arguments, from `redmetrics` on (`\|` unescaped).
fn readme_commands(subcommand: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let marker = format!("redmetrics {subcommand} ");
    readme
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| !span.contains('\n'))
        .filter_map(|span| span.find(&marker).map(|i| span[i..].replace("\\|", "|")))
        .collect()
}

/// Runs a README command line (`redmetrics …`, optionally fed by `stdin`) at the repository
/// root, with `replace` applied to its words.
fn run(command: &str, replace: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut words = command.split_whitespace();
    assert_eq!(words.next(), Some("redmetrics"));
    let args: Vec<String> = words
        .map(|w| {
            replace
                .iter()
                .fold(w.to_owned(), |w, (from, to)| w.replace(from, to))
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    redmetrics_with_input(&repo(), &args, stdin)
}

fn report(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts a README `redmetrics demo …` command on an ephemeral port at the repository root
/// and sends it one request, so its families have series.
async fn demo(command: &str) -> (common::Running, SocketAddr) {
    let args: Vec<&str> = command
        .strip_prefix("redmetrics demo ")
        .unwrap()
        .split_whitespace()
        .collect();
    let (running, addr) = start_demo_in(&repo(), &args);
    http_get(&format!("http://{addr}/v1/campaigns"))
        .await
        .unwrap();
    (running, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_check_commands_run_as_written() {
    let checks = readme_commands("check");
    assert_eq!(
        checks,
        [
            "redmetrics check endpoint http://localhost:3000/metrics",
            "redmetrics check endpoint http://localhost:3000/ojeomneo/metrics --config redmetrics.toml --app ojeomneo",
            "redmetrics check manifests - --namespace ojeomneo --config redmetrics.toml --stack-release kube-prometheus-stack",
            "redmetrics check prometheus http://localhost:9090 --job ojeomneo-server",
            "redmetrics check endpoint http://localhost:3000/metrics --bearer-token s3cret",
            "redmetrics check manifests deploy/ --config redmetrics.toml",
            "redmetrics check alertmanager http://localhost:9093 --config redmetrics.toml --app reviewmaps",
        ],
        "the README's check commands changed: run the new ones here too"
    );
    let demos = readme_commands("demo");
    let ojeomneo_demo = "redmetrics demo --config redmetrics.toml --app ojeomneo";
    assert!(demos.iter().any(|d| d == ojeomneo_demo), "{demos:?}");

    // Phase 2 on the default demo, then on Ojeomneo's demo against its configured contract.
    let (_reviewmaps, reviewmaps) = demo("redmetrics demo --traffic").await;
    let at = reviewmaps.to_string();
    let out = run(&checks[0], &[("localhost:3000", &at)], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    let (_ojeomneo, ojeomneo) = demo(ojeomneo_demo).await;
    let at = ojeomneo.to_string();
    let out = run(&checks[1], &[("localhost:3000", &at)], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    assert!(
        report(&out)
            .contains("PASS  contract: prefix ojeomneo (configured): the contract of app ojeomneo"),
        "{}",
        report(&out)
    );

    // Before merging: the rendered chart, piped in.
    let values = r#"{"fullnameOverride":"ojeomneo-server","service":{"portName":"fiber"},"metrics":{"prefix":"ojeomneo","path":"/ojeomneo/metrics","serviceMonitor":{"enabled":true},"prometheusRule":{"enabled":true},"dashboard":{"enabled":true}}}"#;
    let chart = repo().join("deploy/helm/redmetrics-service");
    let stream = helm_template(&chart, "ojeomneo", "ojeomneo", values);
    let out = run(&checks[2], &[], Some(&stream));
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));

    // After the sync: Prometheus scrapes Ojeomneo's demo as job ojeomneo-server.
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         - job_name: ojeomneo-server\n  metrics_path: /ojeomneo/metrics\n  static_configs: [{{targets: ['{ojeomneo}']}}]\n"
    );
    let prom = start_prometheus(&config, &[]);
    prom.wait_for_targets("ojeomneo-server", 1, "up", Duration::from_secs(30))
        .await;
    prom.wait_for_series(
        "ojeomneo_http_requests_total{job=\"ojeomneo-server\"}",
        Duration::from_secs(30),
    )
    .await;
    let at = prom.addr.to_string();
    let out = run(&checks[3], &[("localhost:9090", &at)], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));

    // Phase 2 on a protected demo: 401 without the token, every check passes with it.
    let protected_demo = "redmetrics demo --metrics-token s3cret";
    assert!(demos.iter().any(|d| d == protected_demo), "{demos:?}");
    let (_protected, protected) = demo(protected_demo).await;
    let at = protected.to_string();
    let out = run(&checks[0], &[("localhost:3000", &at)], None);
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    assert!(report(&out).contains("(401)"), "{}", report(&out));
    let out = run(&checks[4], &[("localhost:3000", &at)], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));

    // Phase 3 on the committed artifacts (the chart in deploy/helm is rendered when `helm`
    // is on PATH; tests/check_limits.rs runs it both ways).
    let out = run(&checks[5], &[], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));

    // Alerts reach people: an Alertmanager running the committed generated routing.
    let routing =
        std::fs::read_to_string(repo().join("deploy/reviewmaps/alertmanager.yaml")).unwrap();
    let am = common::start_alertmanager(&routing);
    let at = am.addr.to_string();
    let out = run(&checks[6], &[("localhost:9093", &at)], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
}

#[test]
fn the_readme_config_example_is_a_valid_config() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("```toml\n").unwrap() + "```toml\n".len();
    let example = &readme[start..start + readme[start..].find("```").unwrap()];
    assert!(example.contains("[apps.metrics]"), "{example}");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("redmetrics.toml"), example).unwrap();
    let out = common::redmetrics(tmp.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    assert!(tmp.path().join("deploy/ojeomneo/dashboard.json").is_file());
    // The [apps.slo] example follows, for the same app: its rules, tests and SLO dashboard.
    let rest = &readme[start + example.len()..];
    let start = rest.find("```toml\n").unwrap() + "```toml\n".len();
    let slo = &rest[start..start + rest[start..].find("```").unwrap()];
    assert!(slo.starts_with("[apps.slo]"), "{slo}");
    let example = format!("{example}{slo}");
    std::fs::write(tmp.path().join("redmetrics.toml"), &example).unwrap();
    let out = common::redmetrics(tmp.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    for file in ["rules.test.yaml", "slo-dashboard.json", "global-view.yaml"] {
        assert!(
            tmp.path().join("deploy/ojeomneo").join(file).is_file(),
            "{file}"
        );
    }
    // The [notify] example follows, for the same app.
    let rest = &rest[start + slo.len()..];
    let start = rest.find("```toml\n").unwrap() + "```toml\n".len();
    let notify = &rest[start..start + rest[start..].find("```").unwrap()];
    assert!(notify.starts_with("[notify]"), "{notify}");
    std::fs::write(
        tmp.path().join("redmetrics.toml"),
        format!("{example}{notify}"),
    )
    .unwrap();
    let out = common::redmetrics(tmp.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    assert!(
        tmp.path()
            .join("deploy/ojeomneo/alertmanagerconfig.yaml")
            .is_file()
    );
}

/// The README's first step for a service of one's own, as written, in an empty directory:
/// `init` writes a config that `generate` turns into the app's files.
#[test]
fn the_readme_init_command_starts_a_service_of_ones_own() {
    let inits = readme_commands("init");
    assert_eq!(
        inits,
        ["redmetrics init --name shop --namespace shop --service shop-api --port http"],
        "the README's init commands changed: run the new ones here too"
    );
    let tmp = tempfile::tempdir().unwrap();
    let args: Vec<&str> = inits[0].split_whitespace().skip(1).collect();
    let out = common::redmetrics(tmp.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    let out = common::redmetrics(tmp.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    for file in ["servicemonitor.yaml", "rules.yaml", "alertmanager.yaml"] {
        assert!(
            tmp.path().join("deploy/shop").join(file).is_file(),
            "{file}"
        );
    }
}
