//! `redmetrics check`, run as the real binary with a cleared environment, against a live
//! demo, a deliberately broken server, common hand-written manifest mistakes and a real
//! Prometheus. Expected outputs are written by hand; addresses and paths are filtered.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{helm_template, redmetrics_with_input, refused_addr, start_demo, start_prometheus};
use serde_json::Value;

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut all = vec!["check"];
    all.extend(args);
    redmetrics_with_input(Path::new(env!("CARGO_MANIFEST_DIR")), &all, stdin)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// `name -> status` of a JSON report.
fn statuses(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `check endpoint` of `addr` as JSON, asserted to fail (exit 1): the run and its report.
fn failing_endpoint_report(addr: SocketAddr) -> (Output, Value) {
    let url = format!("http://{addr}/metrics");
    let out = run(&["endpoint", &url, "--format", "json"], None);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = json(&out);
    (out, report)
}

fn findings(report: &Value, check: &str) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == check)
        .flat_map(|c| c["findings"].as_array().cloned().unwrap_or_default())
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_live_demo_passes_every_check() {
    let (_demo, addr) = start_demo(&["--traffic", "--rate", "40"]);
    std::thread::sleep(Duration::from_millis(1500));
    let url = format!("http://{addr}/metrics");
    let out = run(&["endpoint", &url, "--format", "json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report = json(&out);
    let names: Vec<(String, String)> = statuses(&report);
    let expected = [
        "scrape",
        "text exposition",
        "OpenMetrics exposition",
        "protobuf exposition",
        "Prometheus 3",
        "structure",
        "contract",
        "cardinality",
        "counters",
    ];
    assert_eq!(
        names,
        expected.map(|n| (n.to_owned(), "pass".to_owned())).to_vec()
    );
    let human = stdout(&run(&["endpoint", &url], None)).replace(&addr.to_string(), "ADDR");
    let lines: Vec<&str> = human.lines().collect();
    assert_eq!(lines[0], "redmetrics check: http://ADDR/metrics");
    assert!(lines[4].starts_with("PASS  protobuf exposition: "));
    assert!(
        lines[4].contains(
            "native histogram series in reviewmaps_http_request_duration_seconds (schema "
        ),
        "{}",
        lines[4]
    );
    // The demo's dotted facade name: quoted for Prometheus 3, escaped when it asks.
    assert!(
        lines[5].starts_with("PASS  Prometheus 3: Content-Type `application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8`")
            && lines[5].contains("UTF-8 names served quoted (`reviewmaps_demo.cache.entries`)"),
        "{}",
        lines[5]
    );
    assert!(lines[7].starts_with(
        "PASS  contract: prefix reviewmaps (inferred): the five HTTP families and build info"
    ));
    assert_eq!(
        *lines.last().unwrap(),
        "result: 0 failed, 0 warnings, 9 passed"
    );
}

/// Serves `body` to every request with the raw response head lines `head` (the
/// Content-Type, or none), over real HTTP on loopback.
fn serve_with_head(head: &'static str, body: &'static str) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(64) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\n{head}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

const VALID: &str =
    "# HELP app_jobs_total Jobs.\n# TYPE app_jobs_total counter\napp_jobs_total 1\n";

/// Prometheus 3 fails a scrape whose Content-Type is blank, unparsable or not an
/// exposition format (model/textparse `extractMediaType`) unless the scrape config sets
/// `fallback_scrape_protocol`; 2.42 parsed such bodies as text, so the text checks pass.
#[test]
fn a_content_type_prometheus_3_cannot_read_fails_its_check() {
    for (head, why) in [
        ("", "blank Content-Type"),
        ("content-type: text/plain; version\r\n", "does not parse"),
        ("content-type: application/json\r\n", "no exposition format"),
    ] {
        let addr = serve_with_head(head, VALID);
        let (out, report) = failing_endpoint_report(addr);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let found = findings(&report, "Prometheus 3");
        assert!(
            found
                .iter()
                .any(|f| f.contains(why) && f.contains("Prometheus 3 fails the scrape")),
            "{head}: {found:?}"
        );
        let status: Vec<(String, String)> = statuses(&report);
        assert!(status.contains(&("text exposition".to_owned(), "pass".to_owned())));
    }
}

/// An endpoint that writes quoted UTF-8 names whatever the scraper asked fails for the
/// scrapers that cannot read them: Prometheus 3 with legacy validation and Prometheus 2.x.
#[test]
fn quoted_names_for_a_scraper_that_did_not_allow_them_fail() {
    let addr = serve_with_head(
        "content-type: text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8\r\n",
        "# HELP \"app.jobs_total\" Jobs.\n# TYPE \"app.jobs_total\" counter\n{\"app.jobs_total\",\"queue.name\"=\"mail\"} 1\n",
    );
    let (out, report) = failing_endpoint_report(addr);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let found = findings(&report, "Prometheus 3");
    assert!(
        found
            .iter()
            .any(|f| f.contains("asked for escaping=underscores")
                && f.contains("`app.jobs_total`")
                && f.contains("`queue.name`")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.contains("Prometheus 2.x cannot parse them")),
        "{found:?}"
    );
}

const BROKEN: &str = "# HELP shop_http_requests_total Total number of HTTP requests
# TYPE shop_http_requests_total counter
shop_http_requests_total{method=\"GET\",path=\"/v1/campaigns/123\",status=\"200\"} 5
shop_http_requests_total{method=\"GET\",path=\"/v1/campaigns/456\",status=\"200\"} 1
shop_http_requests_total{method=\"GET\",path=\"/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301\",status=\"200\"} 1
# HELP shop_http_request_duration_seconds Latency.
# TYPE shop_http_request_duration_seconds histogram
shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/v1/campaigns/123\",le=\"0.1\"} 3
shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/v1/campaigns/123\",le=\"+Inf\"} 5
shop_http_request_duration_seconds_sum{method=\"GET\",path=\"/v1/campaigns/123\"} 0.4
shop_http_request_duration_seconds_count{method=\"GET\",path=\"/v1/campaigns/123\"} 6
# HELP shop_http_active_connections In flight.
# TYPE shop_http_active_connections gauge
shop_http_active_connections 0
# HELP shop_http_request_size_bytes Sizes.
# TYPE shop_http_request_size_bytes summary
shop_http_request_size_bytes{method=\"GET\",path=\"/v1/campaigns/123\",quantile=\"0.5\"} 0
shop_http_request_size_bytes_sum{method=\"GET\",path=\"/v1/campaigns/123\"} 0
shop_http_request_size_bytes_count{method=\"GET\",path=\"/v1/campaigns/123\"} 5
# HELP shop_build_info Build.
# TYPE shop_build_info gauge
shop_build_info{version=\"1\"} 1
";

/// Serves `body` as text 0.0.4 at every path, over real HTTP on loopback.
fn serve_static(body: &'static str) -> SocketAddr {
    serve_answers(move |_| body.to_owned())
}

/// Serves `answer(k)` as text 0.0.4 to the `k`th request (at most 64), on loopback.
fn serve_answers(answer: impl Fn(usize) -> String + Send + 'static) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for (k, stream) in listener.incoming().take(64).enumerate() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = answer(k);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[test]
fn a_broken_server_fails_with_the_right_findings() {
    let addr = serve_static(BROKEN);
    let (_, report) = failing_endpoint_report(addr);
    let failed: Vec<String> = statuses(&report)
        .into_iter()
        .filter(|(_, s)| s == "fail")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(failed, ["structure", "contract", "cardinality"]);
    assert_eq!(
        findings(&report, "structure"),
        [
            "shop_http_request_duration_seconds{method=\"GET\",path=\"/v1/campaigns/123\"}: +Inf bucket 5 differs from _count 6"
        ]
    );
    assert_eq!(
        findings(&report, "contract"),
        ["shop_http_response_size_bytes is missing"]
    );
    assert_eq!(
        findings(&report, "cardinality"),
        [
            "3 path values look like raw request paths: path=\"/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301\" (UUID segment `3f2504e0-4f89-11d3-9a0c-0305e82c3301`), path=\"/v1/campaigns/123\" (numeric segment `123`), path=\"/v1/campaigns/456\" (numeric segment `456`)"
        ]
    );
}

#[test]
fn an_unreachable_endpoint_is_an_error_not_a_failure() {
    let (_held, refused) = refused_addr();
    let out = run(&["endpoint", &format!("http://{refused}/metrics")], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("redmetrics: error: cannot scrape: http://127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.contains("Connection refused") || err.contains("connection refused"),
        "{err}"
    );
    let out = run(&[], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for subcommand in ["endpoint", "manifests", "prometheus"] {
        assert!(err.contains(&format!("  {subcommand} ")), "{err}");
    }
}

fn fixture(name: &str) -> String {
    format!("tests/manifests/{name}")
}

#[test]
fn common_manifest_mistakes_are_caught_with_fixes() {
    let out = run(&["manifests", &fixture("django-port")], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "redmetrics check: manifests: 1 Service, 1 ServiceMonitor, 0 PrometheusRule, 0 dashboard, 0 template file(s)
FAIL  service monitors: a ServiceMonitor will not find its target
      - ServiceMonitor reviewmaps/reviewmaps-server endpoint 0: port \"django\" is not a port name of Service reviewmaps/reviewmaps-server (its ports: http)
        fix: set the endpoint's port to the Service port's name, e.g. `port: http`
PASS  coverage: every configured Service has a ServiceMonitor, none gated on cluster capabilities
result: 1 failed, 0 warnings, 1 passed
"
    );

    let out = run(
        &[
            "manifests",
            &fixture("wrong-path"),
            "--metrics-path",
            "/ojeomneo/metrics",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains(
        "      - ServiceMonitor ojeomneo/ojeomneo-server endpoint 0 scrapes path /metrics, but the app serves its metrics at /ojeomneo/metrics
        fix: set `path: /ojeomneo/metrics` (a wrong path shows as a DOWN target answering 404)
"
    ));
    // The same mistake found from the app's redmetrics.toml instead of a flag.
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../redmetrics.toml");
    let out = run(
        &[
            "manifests",
            &fixture("wrong-path"),
            "--config",
            config.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("but the app serves its metrics at /ojeomneo/metrics"));

    let out = run(&["manifests", &fixture("never-renders")], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains(
        "      - tests/manifests/never-renders/templates/servicemonitor.yaml renders its monitoring object only when the cluster reports the CRD (.Capabilities.APIVersions.Has)
"
    ));
    let out = run(
        &["manifests", &fixture("never-renders/rendered.yaml")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains(
        "      - no ServiceMonitor in the input, so Prometheus scrapes none of: reviewmaps/reviewmaps-server
        fix: if the chart renders it only when values allow, set both `metrics.enabled` and `metrics.serviceMonitor.enabled` to true; if it is gated on .Capabilities, gate it on values
"
    ));

    let out = run(
        &[
            "manifests",
            &fixture("no-release"),
            "--stack-release",
            "kube-prometheus-stack",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains(
        "FAIL  stack selection: objects the stack `kube-prometheus-stack` will not select
      - ServiceMonitor reviewmaps/reviewmaps-server has no label `release: kube-prometheus-stack`
"
    ));
    // Without --stack-release (a stack that selects every ServiceMonitor) the same input passes.
    assert_eq!(
        run(&["manifests", &fixture("no-release")], None)
            .status
            .code(),
        Some(0)
    );

    let out = run(
        &["manifests", &fixture("bad-rules"), "--format", "json"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(
        findings(&report, "rules"),
        [
            "PrometheusRule reviewmaps/reviewmaps-rules rule RedmetricsHighErrorRate: references reviewmaps_http_request_total",
            "PrometheusRule reviewmaps/reviewmaps-rules rule RedmetricsHighLatencyP95: not valid PromQL: unclosed left parenthesis",
        ]
    );
    assert_eq!(
        findings(&report, "service monitors"),
        [
            "ServiceMonitor reviewmaps/reviewmaps-server endpoint 0: scrapeTimeout 15s is longer than interval 10s"
        ]
    );
}

#[test]
fn generated_artifacts_and_the_rendered_chart_pass() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let config = deploy.join("../redmetrics.toml");
    let out = run(
        &[
            "manifests",
            deploy.join("reviewmaps").to_str().unwrap(),
            deploy.join("ojeomneo").to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--stack-release",
            "kube-prometheus-stack",
        ],
        None,
    );
    // No Service manifests for these apps in deploy/: a warning, not a failure.
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("PASS  rules: 126 rule expressions parse"));

    // `helm template … | redmetrics check manifests -`
    let values = r#"{"fullnameOverride":"ojeomneo-server","service":{"portName":"fiber"},"metrics":{"prefix":"ojeomneo","path":"/ojeomneo/metrics","serviceMonitor":{"enabled":true},"prometheusRule":{"enabled":true},"dashboard":{"enabled":true}}}"#;
    let chart = deploy.join("helm/redmetrics-service");
    let stream = helm_template(&chart, "ojeomneo", "ojeomneo", values);
    let out = run(
        &[
            "manifests",
            "-",
            "--namespace",
            "ojeomneo",
            "--metrics-path",
            "/ojeomneo/metrics",
            "--stack-release",
            "kube-prometheus-stack",
        ],
        Some(&stream),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        "redmetrics check: manifests: 1 Service, 1 ServiceMonitor, 1 PrometheusRule, 1 dashboard, 0 template file(s)
PASS  service monitors: 1 ServiceMonitor(s): each selects a Service by its labels and a named port of it
PASS  coverage: every configured Service has a ServiceMonitor, none gated on cluster capabilities
PASS  stack selection: every ServiceMonitor and PrometheusRule carries release: kube-prometheus-stack
PASS  jobs: no jobLabel renames a job the rules ask for (1 job(s) assigned)
PASS  alert names: 4 alert(s), none named like a kube-prometheus-stack default
PASS  rules: 13 rule expressions parse and reference only metrics the contract defines
PASS  dashboards: 18 panel queries parse and reference only metrics the contract defines
result: 0 failed, 0 warnings, 7 passed
"
    );
}

// A dashboard is read into the same typed model `generate` writes: panels of any Grafana
// type, nested in rows, are judged by their queries; a panel that does not fit (targets that
// are not a list, an `expr` that is not a string) fails the check, naming where.
#[test]
fn dashboards_are_read_as_typed_panels_and_a_malformed_panel_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // As Grafana exports them: a stat panel with a data source by name, a collapsed row
    // holding an old graph panel, a library panel without type, `refresh: false`.
    let exported = dir.path().join("exported.json");
    std::fs::write(
        &exported,
        r#"{"title":"Shop","refresh":false,"panels":[
            {"type":"stat","title":"Requests","datasource":"Prometheus","targets":[{"expr":"sum(shop_http_requests_total)","refId":"A"}]},
            {"libraryPanel":{"uid":"l1","name":"shared"},"title":null},
            {"type":"row","title":"More","collapsed":true,"panels":[
                {"type":"graph","title":"Typo","targets":[{"expr":"rate(shop_http_request_total[5m])","refId":"A"},{"refId":"B"}]}]}]}"#,
    )
    .unwrap();
    // `check manifests FILE --prefix shop` fails with these findings of the dashboards check.
    let failed = |file: &Path| {
        let file = file.to_str().unwrap();
        let out = run(
            &["manifests", file, "--prefix", "shop", "--format", "json"],
            None,
        );
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        findings(&json(&out), "dashboards")
    };
    assert_eq!(
        failed(&exported),
        [format!(
            "{} panel \"Typo\": references shop_http_request_total",
            exported.display()
        )]
    );

    for (body, at) in [
        (
            r#"{"panels":[{"type":"stat","title":"Up","targets":[{"expr":"up"}]},{"type":"timeseries","title":"Rate","targets":[{"expr":42}]}]}"#,
            "at panels[1].targets[0].expr: invalid type: integer `42`, expected a string",
        ),
        (
            r#"{"panels":[{"type":"row","title":"R","panels":[{"type":"table","title":"T","targets":"up"}]}]}"#,
            "at panels[0].panels[0].targets: invalid type: string \"up\", expected a sequence",
        ),
        (
            r#"{"panels":[3]}"#,
            "at panels[0]: invalid type: integer `3`, expected struct Panel",
        ),
    ] {
        let file = dir.path().join("malformed.json");
        std::fs::write(&file, body).unwrap();
        assert_eq!(
            failed(&file),
            [format!("{}: not a Grafana dashboard: {at}", file.display())],
            "{body}"
        );
        let text = run(
            &["manifests", file.to_str().unwrap(), "--prefix", "shop"],
            None,
        );
        assert!(
            stdout(&text).contains(
                "fix: panels are objects whose `targets` list queries with a string `expr`"
            ),
            "{}",
            stdout(&text)
        );
    }
}

#[test]
fn alert_names_of_kube_prometheus_stack_are_flagged() {
    let out = run(
        &["manifests", &fixture("stack-clash"), "--format", "json"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(
        findings(&json(&out), "alert names"),
        [
            "PrometheusRule shop/shop-rules defines alert KubePodCrashLooping, which kube-prometheus-stack's kubernetes-apps already defines: two alerts under one name mix in routing, inhibition and silences",
            "PrometheusRule shop/shop-rules defines alert TargetDown, which kube-prometheus-stack's general.rules already defines: two alerts under one name mix in routing, inhibition and silences",
        ]
    );
    let out = run(&["manifests", &fixture("stack-clash")], None);
    assert!(
        stdout(&out).contains("fix: rename it with a prefix of your app or project (redmetrics generates RedmetricsTargetDown)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_broken_manifest_says_how_to_fix_it() {
    let out = run(
        &["manifests", "-"],
        Some("apiVersion: v1\nkind: Service\n  metadata: [\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("redmetrics: error: <stdin>: not valid YAML:"),
        "{err}"
    );
    assert!(err.contains("render Helm charts first"), "{err}");
    let out = run(&["manifests", "tests/manifests/nonexistent"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "redmetrics: error: tests/manifests/nonexistent: no such file or directory\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_tells_the_three_failures_apart() {
    let (_reviewmaps, good) = start_demo(&["--traffic", "--rate", "20"]);
    let (_ojeomneo, ojeomneo) = start_demo(&[
        "--prefix",
        "ojeomneo",
        "--metrics-path",
        "/ojeomneo/metrics",
    ]);
    let (_held, nothing) = refused_addr();
    // The wired job carries the namespace label the generated queries select on and its
    // rules load, so recording rules evaluate; a second job scrapes the same demo with the
    // requests family dropped, as a metric_relabel_configs mistake would.
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yaml]\nscrape_configs:\n\
         - job_name: reviewmaps-server\n  static_configs: [{{targets: ['{good}'], labels: {{namespace: reviewmaps}}}}]\n\
         - job_name: reviewmaps-norules\n  static_configs: [{{targets: ['{good}'], labels: {{namespace: reviewmaps}}}}]\n\
         - job_name: reviewmaps-dropped\n  static_configs: [{{targets: ['{good}'], labels: {{namespace: reviewmaps}}}}]\n  \
         metric_relabel_configs: [{{source_labels: [__name__], regex: reviewmaps_http_requests_total, action: drop}}]\n\
         - job_name: ojeomneo-server\n  metrics_path: /metrics\n  static_configs: [{{targets: ['{ojeomneo}']}}]\n\
         - job_name: gone-server\n  static_configs: [{{targets: ['{nothing}']}}]\n"
    );
    let rules =
        std::fs::read_to_string(common::repo().join("deploy/reviewmaps/rules.yaml")).unwrap();
    let prom = start_prometheus(&config, &[("rules.yaml", &rules)]);
    for job in [
        "reviewmaps-server",
        "reviewmaps-dropped",
        "reviewmaps-norules",
        "ojeomneo-server",
        "gone-server",
    ] {
        let health = if job.starts_with("reviewmaps-") {
            "up"
        } else {
            "down"
        };
        prom.wait_for_targets(job, 1, health, Duration::from_secs(30))
            .await;
    }
    prom.wait_for_series(
        "count(sum by (job) (rate(reviewmaps_http_requests_total[5m])) > 0) == 2",
        Duration::from_secs(30),
    )
    .await;
    let url = format!("http://{}", prom.addr);
    let ask = |job: &str, extra: &[&str]| {
        let mut args = vec!["prometheus", url.as_str(), "--job", job, "--format", "json"];
        args.extend(extra);
        run(&args, None)
    };

    let out = ask("reviewmaps-server", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        statuses(&json(&out)),
        [
            ("target".to_owned(), "pass".to_owned()),
            ("metrics".to_owned(), "pass".to_owned())
        ]
    );

    // With the config, every selector of the generated rules and dashboards is asked about.
    let config_file = common::repo().join("redmetrics.toml");
    let config_arg = config_file.to_str().unwrap();
    let out = ask(
        "reviewmaps-server",
        &["--config", config_arg, "--app", "reviewmaps"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report = json(&out);
    let series = common::named_check(&report, "series");
    assert_ne!(series["status"], "fail", "{series}");
    // Only recording rules not yet evaluated, or label values not yet seen, may warn.
    for f in findings(&report, "series") {
        assert!(
            f.contains("the recording rule output") || f.contains("its family does"),
            "{f}"
        );
    }
    assert!(
        series["summary"].as_str().unwrap().contains(" selectors "),
        "{series}"
    );

    // The app's config with another job (`service`), as a redmetrics.toml of its own.
    let dir = tempfile::tempdir().unwrap();
    let config_for = |job: &str| {
        let file = dir.path().join(format!("{job}.toml"));
        let text = std::fs::read_to_string(&config_file).unwrap().replace(
            "service = \"reviewmaps-server\"",
            &format!("service = \"{job}\""),
        );
        std::fs::write(&file, text).unwrap();
        file.to_str().unwrap().to_owned()
    };

    // A job no rules were loaded for: its recording rule outputs are missing, a warning.
    let norules = config_for("reviewmaps-norules");
    let out = ask(
        "reviewmaps-norules",
        &["--config", &norules, "--app", "reviewmaps"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(common::named_check(&report, "series")["status"], "warn");
    let f = findings(&report, "series");
    assert!(
        f.iter()
            .any(|m| m.starts_with("the recording rule output namespace_job")),
        "{f:?}"
    );
    for m in &f {
        assert!(
            m.starts_with("the recording rule output") || m.contains("its family does"),
            "{m}"
        );
    }

    // The same demo with its requests family dropped: the rules and panels reading it fail.
    let dropped_file = config_for("reviewmaps-dropped");
    let out = ask(
        "reviewmaps-dropped",
        &["--config", &dropped_file, "--app", "reviewmaps"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(common::named_check(&report, "series")["status"], "fail");
    let f = findings(&report, "series");
    let selector =
        "reviewmaps_http_requests_total{job=\"reviewmaps-dropped\",namespace=\"reviewmaps\"}";
    let found = f
        .iter()
        .find(|m| {
            m.starts_with(&format!(
                "{selector} has no series in the last 1h: read by "
            ))
        })
        .unwrap_or_else(|| panic!("{f:?}"));
    assert!(
        found.contains(
            "read by alert RedmetricsHighErrorRate (group reviewmaps.rules), dashboard.json panel "
        ),
        "{found}"
    );
    assert!(
        found.contains("dashboard.json panel \"Request rate\""),
        "{found}"
    );

    let out = ask("ojeomneo-server", &[]);
    assert_eq!(out.status.code(), Some(1));
    let f = findings(&json(&out), "target");
    assert_eq!(
        f,
        [format!(
            "the target answers 404 Not Found at http://{ojeomneo}/metrics"
        )]
    );

    let out = ask("gone-server", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        findings(&json(&out), "target"),
        [format!(
            "nothing listens at http://{nothing}/metrics (connection refused)"
        )]
    );

    let out = ask("reviewmaps-server", &["--prefix", "ojeomneo"]);
    assert_eq!(out.status.code(), Some(1));
    let f = findings(&json(&out), "metrics");
    assert!(
        f[0].starts_with("the target is UP, but none of the ojeomneo_http_* metrics arrive (it exports: reviewmaps_http_"),
        "{f:?}"
    );

    let out = ask("reviewmaps", &[]);
    assert_eq!(out.status.code(), Some(1));
    let f = findings(&json(&out), "target");
    assert_eq!(
        f,
        [
            "Prometheus has no target for job reviewmaps (it scrapes: gone-server, ojeomneo-server, reviewmaps-dropped, reviewmaps-norules, reviewmaps-server)"
        ]
    );
}

/// Serves text 0.0.4 whose every answer has smaller values than the one before: counters,
/// bucket and count series going backwards, and a sum and a gauge doing the same (which
/// may).
fn serve_shrinking() -> SocketAddr {
    serve_answers(|k| {
        let v = 1000 - k;
        format!(
            "# HELP app_jobs_total Jobs.\n# TYPE app_jobs_total counter\napp_jobs_total {v}\n\
             # HELP app_wait_seconds Wait.\n# TYPE app_wait_seconds histogram\n\
             app_wait_seconds_bucket{{le=\"+Inf\"}} {v}\napp_wait_seconds_sum {v}\napp_wait_seconds_count {v}\n\
             # HELP app_size_bytes Size.\n# TYPE app_size_bytes summary\n\
             app_size_bytes_sum {v}\napp_size_bytes_count {v}\n\
             # HELP app_queue Queue.\n# TYPE app_queue gauge\napp_queue {v}\n"
        )
    })
}

#[test]
fn counters_buckets_and_counts_that_go_backwards_fail_but_sums_and_gauges_may() {
    let addr = serve_shrinking();
    let (out, report) = failing_endpoint_report(addr);
    let went: Vec<String> = findings(&report, "counters")
        .iter()
        .filter(|m| m.contains(" went from "))
        .map(|m| m.split(" went from ").next().unwrap().to_owned())
        .collect();
    assert_eq!(
        went,
        [
            "app_jobs_total{}",
            "app_size_bytes_count{}",
            "app_wait_seconds_bucket{le=\"+Inf\"}",
            "app_wait_seconds_count{}",
        ],
        "{}",
        stdout(&out)
    );
}

/// Serves `text` as text 0.0.4, and `protobuf` to requests that accept Prometheus' protobuf
/// exposition (as Prometheus with native histograms asks), on loopback.
fn serve_with_protobuf(text: &'static str, protobuf: Vec<u8>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(64) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
            let (content_type, body) = if head.contains("accept: application/vnd.google.protobuf") {
                (
                    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
                    protobuf.clone(),
                )
            } else {
                (
                    "text/plain; version=0.0.4; charset=utf-8",
                    text.as_bytes().to_vec(),
                )
            };
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
    addr
}

/// One native histogram family, `app_wait_seconds`, with the given schema, positive spans
/// (offset, length), deltas and count, delimited as Prometheus reads it.
fn native_family(schema: i32, spans: &[(i32, u32)], deltas: &[i64], count: u64) -> Vec<u8> {
    use prost::Message;
    use redmetrics_parse::proto::{BucketSpan, Histogram, Metric, MetricFamily, MetricType};
    MetricFamily {
        name: Some("app_wait_seconds".into()),
        help: Some("Wait.".into()),
        r#type: Some(MetricType::Histogram as i32),
        metric: vec![Metric {
            histogram: Some(Histogram {
                sample_count: Some(count),
                sample_sum: Some(1.5),
                schema: Some(schema),
                zero_threshold: Some(1e-6),
                zero_count: Some(0),
                positive_span: spans
                    .iter()
                    .map(|&(o, l)| BucketSpan {
                        offset: Some(o),
                        length: Some(l),
                    })
                    .collect(),
                positive_delta: deltas.to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        }],
    }
    .encode_length_delimited_to_vec()
}

#[test]
fn native_histograms_whose_buckets_do_not_add_up_fail_the_protobuf_check() {
    const TEXT: &str = "# HELP app_wait_seconds Wait.\n# TYPE app_wait_seconds histogram\n\
        app_wait_seconds_bucket{le=\"+Inf\"} 7\napp_wait_seconds_sum 1.5\napp_wait_seconds_count 7\n";
    let cases = [
        (
            native_family(3, &[(0, 2)], &[3, -1], 7),
            "message 0 (app_wait_seconds): metric 0: native buckets hold 5 observations (zero bucket 0 + buckets) but sample_count is 7",
        ),
        (
            native_family(9, &[(0, 2)], &[3, 4], 7),
            "message 0 (app_wait_seconds): metric 0: native schema 9 is outside -4..=8",
        ),
        (
            native_family(3, &[(0, 3)], &[3, 4], 7),
            "message 0 (app_wait_seconds): metric 0: positive spans cover 3 buckets but there are 2 deltas",
        ),
    ];
    for (body, expected) in cases {
        let addr = serve_with_protobuf(TEXT, body);
        let (_, report) = failing_endpoint_report(addr);
        assert_eq!(findings(&report, "protobuf exposition"), [expected]);
    }
    // The same family, consistent, passes.
    let addr = serve_with_protobuf(TEXT, native_family(3, &[(0, 2)], &[3, 1], 7));
    let out = run(
        &[
            "endpoint",
            &format!("http://{addr}/metrics"),
            "--format",
            "json",
        ],
        None,
    );
    let report = json(&out);
    let protobuf = statuses(&report)
        .into_iter()
        .find(|(n, _)| n == "protobuf exposition");
    assert_eq!(
        protobuf,
        Some(("protobuf exposition".to_owned(), "pass".to_owned())),
        "{}",
        stdout(&out)
    );
}
