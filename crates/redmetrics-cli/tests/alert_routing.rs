//! Generated alert routing, judged by real peers: the AlertmanagerConfig CRD schema (unknown
//! fields refused), `amtool check-config`, and `amtool config routes test` walking each alert
//! through the routing tree. Bad `[notify]` settings are refused by the real binary.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{assert_valid_against_crd, judge, redmetrics, repo};
use serde_json::Value;

const APPS: [(&str, &str, &str); 2] = [
    ("reviewmaps", "reviewmaps", "reviewmaps-server"),
    ("ojeomneo", "ojeomneo", "ojeomneo-server"),
];

const AMC_CRD: &str = "AlertmanagerConfig";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn amtool(args: &[&str]) -> (i32, String, String) {
    let out = Command::new("amtool").args(args).output().expect(
        "amtool not found: run scripts/test, which installs Debian's `prometheus-alertmanager`",
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn generated_alertmanager_configs_validate_against_the_crd() {
    for (app, _, _) in APPS {
        let amc = read(&repo().join(format!("deploy/{app}/alertmanagerconfig.yaml")));
        assert_valid_against_crd(AMC_CRD, &amc, 1);
        // The judge is strict: a misspelt field is an error, not silently pruned.
        let typo = amc.replacen("channel:", "chanel:", 1);
        let (code, out, _) = judge("crd_validate.py", &[AMC_CRD], &typo);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("'chanel' was unexpected"), "{out}");
    }
}

#[test]
fn amtool_accepts_each_plain_config() {
    for (app, _, _) in APPS {
        let file = repo().join(format!("deploy/{app}/alertmanager.yaml"));
        let (code, out, err) = amtool(&["check-config", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("SUCCESS"), "{out}");
        assert!(
            // Down target over error and latency, critical burn over warning burn, and in each
            // severity the fastest burn-rate window pair over the slower one.
            out.contains(" - 4 inhibit rules") && out.contains(" - 2 receivers"),
            "{out}"
        );
    }
}

/// The default routes: the integrations each severity's receiver must have.
fn integrations(severity: &str) -> BTreeSet<&'static str> {
    match severity {
        "warning" => BTreeSet::from(["email_configs", "slack_configs"]),
        "critical" => BTreeSet::from(["email_configs", "pagerduty_configs", "slack_configs"]),
        other => panic!("no severity {other} in the default routes"),
    }
}

#[test]
fn each_alert_and_severity_reaches_exactly_the_planned_receivers() {
    for (app, namespace, job) in APPS {
        let dir = repo().join("deploy").join(app);
        let file = dir.join("alertmanager.yaml");
        let config: Value = serde_saphyr::from_str(&read(&file)).unwrap();
        // Every (alert, severity) the generated rules can fire, so none escapes the table.
        let rules: Value = serde_saphyr::from_str(&read(&dir.join("rules.yaml"))).unwrap();
        let mut fired = BTreeSet::new();
        for group in rules["groups"].as_array().unwrap() {
            for rule in group["rules"].as_array().unwrap() {
                if let Some(alert) = rule["alert"].as_str() {
                    let severity = rule["labels"]["severity"].as_str().unwrap().to_owned();
                    fired.insert((alert.to_owned(), severity));
                }
            }
        }
        let mut expected = vec![
            ("RedmetricsHighErrorRate", "warning"),
            ("RedmetricsHighLatencyP95", "warning"),
            ("RedmetricsTargetDown", "critical"),
        ];
        // Both apps set objectives in redmetrics.toml.
        expected.push(("RedmetricsErrorBudgetBurn", "critical"));
        expected.push(("RedmetricsErrorBudgetBurn", "warning"));
        let expected_set: BTreeSet<(String, String)> = expected
            .iter()
            .map(|(a, s)| ((*a).to_owned(), (*s).to_owned()))
            .collect();
        assert_eq!(
            fired, expected_set,
            "{app}: the table must list every alert"
        );
        for (alert, severity) in expected {
            let (code, out, err) = amtool(&[
                "config",
                "routes",
                "test",
                &format!("--config.file={}", file.display()),
                &format!("alertname={alert}"),
                &format!("severity={severity}"),
                &format!("namespace={namespace}"),
                &format!("job={job}"),
            ]);
            assert_eq!(code, 0, "{err}");
            let receiver = format!("{app}-{severity}");
            assert_eq!(out.trim(), receiver, "{app} {alert} {severity}");
            let rec = config["receivers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == receiver.as_str())
                .unwrap();
            let has: BTreeSet<&str> = rec
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .filter(|k| k.ends_with("_configs"))
                .collect();
            assert_eq!(has, integrations(severity), "{app} {receiver}");
            for kind in &has {
                for c in rec[*kind].as_array().unwrap() {
                    assert_eq!(c["send_resolved"], true, "{receiver} {kind}");
                }
            }
        }
        // Another job's critical alert does not page this app's on-call.
        let (_, out, _) = amtool(&[
            "config",
            "routes",
            "test",
            &format!("--config.file={}", file.display()),
            "alertname=RedmetricsTargetDown",
            "severity=critical",
            "namespace=elsewhere",
            &format!("job={job}"),
        ]);
        assert_eq!(out.trim(), format!("{app}-warning"));
    }
}

/// The one plain configuration for all apps (`deploy/alertmanager.yaml`): amtool accepts it,
/// and every alert of every app reaches that app's receiver for its severity.
#[test]
fn one_plain_config_routes_every_app() {
    let file = repo().join("deploy/alertmanager.yaml");
    let (code, out, err) = amtool(&["check-config", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(" - 8 inhibit rules") && out.contains(" - 4 receivers"),
        "{out}"
    );
    let route = |labels: &[String]| {
        let mut args = vec![
            "config".to_owned(),
            "routes".to_owned(),
            "test".to_owned(),
            format!("--config.file={}", file.display()),
        ];
        args.extend(labels.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = amtool(&args);
        assert_eq!(code, 0, "{err}");
        out.trim().to_owned()
    };
    for (app, namespace, job) in APPS {
        for (alert, severity, extra) in [
            ("RedmetricsHighErrorRate", "warning", ""),
            ("RedmetricsTargetDown", "critical", ""),
            ("RedmetricsErrorBudgetBurn", "critical", "long_window=1h"),
            ("RedmetricsErrorBudgetBurn", "warning", "long_window=3d"),
        ] {
            let mut labels = vec![
                format!("alertname={alert}"),
                format!("severity={severity}"),
                format!("namespace={namespace}"),
                format!("job={job}"),
            ];
            if !extra.is_empty() {
                labels.push(extra.to_owned());
            }
            assert_eq!(route(&labels), format!("{app}-{severity}"), "{labels:?}");
        }
    }
    // An alert of neither app still reaches a receiver that notifies someone.
    assert_eq!(
        route(&[
            "alertname=Other".to_owned(),
            "severity=critical".to_owned(),
            "namespace=elsewhere".to_owned(),
        ]),
        "reviewmaps-warning"
    );
}

#[test]
fn committed_configs_hold_no_secret() {
    let mut files = vec!["deploy/alertmanager.yaml".to_owned()];
    for (app, _, _) in APPS {
        for file in ["alertmanager.yaml", "alertmanagerconfig.yaml"] {
            files.push(format!("deploy/{app}/{file}"));
        }
    }
    for file in files {
        let text = read(&repo().join(&file));
        for secret_field in ["api_url:", "routing_key:", "auth_password:", "hooks.slack"] {
            assert!(!text.contains(secret_field), "{file}: {secret_field}");
        }
    }
}

#[test]
fn bad_notify_settings_are_refused_with_field_and_fix() {
    let base = "[[apps]]\nname = \"reviewmaps\"\nnamespace = \"reviewmaps\"\nservice = \"reviewmaps-server\"\nport = \"http\"\n";
    let slack = "[notify.slack]\nchannel = \"#alerts\"\napi_url = { name = \"alertmanager-receivers\", key = \"slack-api-url\" }\n";
    let cases = [
        (
            format!(
                "[notify.routes]\nwarning = [\"slack\"]\ncritical = [\"slack\"]\ninfo = [\"slack\"]\n{slack}{base}"
            ),
            "apps[0] (reviewmaps).notify.routes.info: unknown severity `info`: the generated rules fire warning and critical; route those (e.g. `critical = [\"slack\", \"email\", \"pagerduty\"]`)",
        ),
        (
            format!("[notify.routes]\nwarning = []\ncritical = [\"slack\"]\n{slack}{base}"),
            "apps[0] (reviewmaps).notify.routes.warning: a receiver with no integration notifies nobody (Alertmanager's \"null\" trap): list at least one of slack, email, pagerduty (e.g. `warning = [\"slack\", \"email\"]`)",
        ),
        (
            format!(
                "[notify.routes]\nwarning = [\"slack\"]\ncritical = [\"pagerduty\"]\n{slack}{base}"
            ),
            "apps[0] (reviewmaps).notify.routes.critical: routes to pagerduty, but [notify.pagerduty] is not configured: add that table (see docs/routing.md) or remove `pagerduty` here",
        ),
        (
            format!(
                "[notify.slack]\nchannel = \"#alerts\"\napi_url = \"https://hooks.slack.com/services/T000/B000/XXXX\"\n{base}"
            ),
            "apps[0] (reviewmaps).notify.slack.api_url: a secret written into the config is refused (it would end up in generated files and in git): put it in a Kubernetes Secret and reference it, e.g. `notify.slack.api_url = { name = \"alertmanager-receivers\", key = \"slack-api-url\" }`; the plain Alertmanager config reads it from `notify.slack.api_url_file`",
        ),
        (
            format!(
                "[notify.slack]\nchannel = \"https://hooks.slack.com/services/T000/B000/XXXX\"\n{base}"
            ),
            "apps[0] (reviewmaps).notify.slack.channel: this is a webhook URL, a secret: refused. Give the channel name here (e.g. `#reviewmaps-alerts`) and reference the URL with `api_url = { name = \"alertmanager-receivers\", key = \"slack-api-url\" }`",
        ),
        (
            format!(
                "{slack}[notify.pagerduty]\nrouting_key = \"0123456789abcdef0123456789abcdef\"\n{base}"
            ),
            "apps[0] (reviewmaps).notify.pagerduty.routing_key: a secret written into the config is refused (it would end up in generated files and in git): put it in a Kubernetes Secret and reference it, e.g. `notify.pagerduty.routing_key = { name = \"alertmanager-receivers\", key = \"pagerduty-routing-key\" }`; the plain Alertmanager config reads it from `notify.pagerduty.routing_key_file`",
        ),
        (
            format!(
                "{base}[apps.notify.email]\nto = [\"oncall@example.com\"]\nfrom = \"am@example.com\"\nsmarthost = \"smtp.example.com:587\"\nauth_username = \"am\"\nauth_password = \"hunter2\"\n"
            ),
            "apps[0] (reviewmaps).notify.email.auth_password: a secret written into the config is refused (it would end up in generated files and in git): put it in a Kubernetes Secret and reference it, e.g. `notify.email.auth_password = { name = \"alertmanager-receivers\", key = \"smtp-password\" }`; the plain Alertmanager config reads it from `notify.email.auth_password_file`",
        ),
        (
            format!(
                "{base}[apps.notify.email]\nto = [\"{{{{ .Foo }}}}@example.com\"]\nfrom = \"am@example.com\"\nsmarthost = \"smtp.example.com:587\"\n"
            ),
            "apps[0] (reviewmaps).notify.email.to: `{{ .Foo }}@example.com` is not a plain e-mail address (e.g. `oncall@example.com`); give one address per list entry",
        ),
    ];
    common::assert_generate_refuses(&cases);
}

fn chart() -> std::path::PathBuf {
    repo().join("deploy/helm/redmetrics-service")
}

/// The documents of a YAML stream of `kind`.
fn of_kind(stream: &str, kind: &str) -> Vec<Value> {
    stream
        .split("\n---")
        .filter_map(|d| serde_saphyr::from_str::<Value>(d).ok())
        .filter(|d| d["kind"] == kind)
        .collect()
}

#[test]
fn the_chart_renders_an_alertmanager_config_from_values() {
    let off = r#"{"metrics":{"prometheusRule":{"enabled":true}}}"#;
    let stream = common::helm_template(&chart(), "ojeomneo", "ojeomneo", off);
    assert!(
        of_kind(&stream, "AlertmanagerConfig").is_empty(),
        "gated on values"
    );
    let values = r#"{"fullnameOverride":"ojeomneo-server","metrics":{"prefix":"ojeomneo","alertmanagerConfig":{"enabled":true,"grafanaURL":"https://grafana.example.com/","email":{"to":["a@example.com","b@example.com"],"authUsername":"am@example.com"},"pagerduty":{"url":"http://127.0.0.1:9/v2/enqueue"}}}}"#;
    let stream = common::helm_template(&chart(), "ojeomneo", "ojeomneo", values);
    let amcs = of_kind(&stream, "AlertmanagerConfig");
    assert_eq!(amcs.len(), 1, "{stream}");
    let amc = &amcs[0];
    assert_valid_against_crd(AMC_CRD, &serde_json::to_string(amc).unwrap(), 1);
    assert_eq!(amc["metadata"]["namespace"], "ojeomneo");
    assert_eq!(
        amc["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
    let spec = &amc["spec"];
    assert_eq!(
        spec["route"]["groupBy"],
        serde_json::json!(["alertname", "job", "namespace"])
    );
    for severity in ["warning", "critical"] {
        let name = format!("ojeomneo-server-{severity}");
        let rec = spec["receivers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name.as_str())
            .unwrap();
        let has: BTreeSet<String> = rec
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.ends_with("Configs"))
            .map(|k| k.replace("Configs", "_configs"))
            .map(|k| match k.as_str() {
                "slack_configs" | "email_configs" | "pagerduty_configs" => k,
                other => panic!("unexpected {other}"),
            })
            .collect();
        let want: BTreeSet<String> = integrations(severity)
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(has, want, "{name}");
        assert_eq!(
            rec["slackConfigs"][0]["apiURL"]["name"],
            "alertmanager-receivers"
        );
        assert!(
            rec["slackConfigs"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Dashboard: https://grafana.example.com/d/redmetrics-ojeomneo?var-namespace=ojeomneo&var-job=ojeomneo-server\n")
        );
        assert_eq!(rec["emailConfigs"][0]["to"], "a@example.com, b@example.com");
        assert_eq!(
            rec["emailConfigs"][0]["authPassword"]["key"],
            "smtp-password"
        );
    }
    assert_eq!(spec["inhibitRules"].as_array().unwrap().len(), 2);
}

#[test]
fn chart_thresholds_and_durations_come_from_values() {
    // The same thresholds through the chart's values and through redmetrics.toml give the
    // same rules.
    let values = r#"{"fullnameOverride":"ojeomneo-server","metrics":{"prefix":"ojeomneo","path":"/ojeomneo/metrics","prometheusRule":{"enabled":true,"errorRatio":0.07,"errorFor":"1m","latencyP95Seconds":0.25,"latencyFor":"30s","minRequestRate":0.5,"targetDownFor":"1m","targetAbsentFor":"3m"}}}"#;
    let stream = common::helm_template(&chart(), "ojeomneo", "ojeomneo", values);
    let rule = of_kind(&stream, "PrometheusRule").remove(0);
    let config = "[[apps]]\nname = \"ojeomneo\"\nnamespace = \"ojeomneo\"\nservice = \"ojeomneo-server\"\nport = \"http\"\nmetrics_path = \"/ojeomneo/metrics\"\n[apps.alerts]\nerror_ratio = 0.07\nerror_for = \"1m\"\nlatency_p95_seconds = 0.25\nlatency_for = \"30s\"\nmin_request_rate = 0.5\ntarget_down_for = \"1m\"\ntarget_absent_for = \"3m\"\n";
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("t.toml"), config).unwrap();
    let out = redmetrics(
        tmp.path(),
        &["generate", "--config", "t.toml", "--out", "out"],
    );
    assert_eq!(out.status.code(), Some(0));
    let generated: Value =
        serde_saphyr::from_str(&read(&tmp.path().join("out/ojeomneo/rules.yaml"))).unwrap();
    // Every alert's description, across the groups (recording rules have none).
    let descriptions = |v: &Value| -> Vec<String> {
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .filter(|r| r.get("alert").is_some())
            .map(|r| {
                r["annotations"]["description"]
                    .as_str()
                    .unwrap()
                    .replace("ojeomneo's", "APP's")
                    .replace("of ojeomneo for", "of APP for")
            })
            .collect()
    };
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        for g in v["groups"].as_array_mut().unwrap() {
            for r in g["rules"].as_array_mut().unwrap() {
                r.as_object_mut().unwrap().remove("annotations");
            }
        }
        v
    };
    assert_eq!(strip(&rule["spec"]), strip(&generated));
    assert_eq!(descriptions(&rule["spec"]), descriptions(&generated));
    assert!(descriptions(&generated)[0].starts_with("More than 7% of"));
}

#[test]
fn chart_values_schema_refuses_bad_routing() {
    for (values, path) in [
        (
            r#"{"metrics":{"alertmanagerConfig":{"routes":{"warning":[],"critical":["slack"]}}}}"#,
            "/metrics/alertmanagerConfig/routes/warning",
        ),
        (
            r#"{"metrics":{"alertmanagerConfig":{"routes":{"warning":["sms"],"critical":["slack"]}}}}"#,
            "/metrics/alertmanagerConfig/routes/warning",
        ),
        (
            r#"{"metrics":{"alertmanagerConfig":{"slack":{"channel":"{{ .CommonLabels.x }}"}}}}"#,
            "/metrics/alertmanagerConfig/slack/channel",
        ),
        (
            r#"{"metrics":{"alertmanagerConfig":{"slack":{"apiURL":"https://hooks.slack.com/services/T/B/X"}}}}"#,
            "/metrics/alertmanagerConfig/slack/apiURL",
        ),
        (
            r#"{"metrics":{"prometheusRule":{"errorRatio":5}}}"#,
            "/metrics/prometheusRule/errorRatio",
        ),
        (
            r#"{"metrics":{"prometheusRule":{"errorFor":"5 minutes"}}}"#,
            "/metrics/prometheusRule/errorFor",
        ),
    ] {
        let (code, out, err) = judge(
            "helm_chart.py",
            &["lint", chart().to_str().unwrap()],
            values,
        );
        assert_eq!(code, 0, "{err}");
        let report: Value = serde_json::from_str(&out).unwrap();
        let errors = report["errors"].to_string();
        assert!(errors.contains(path), "{values}: {errors}");
    }
}

#[test]
fn the_documented_amtool_commands_run_as_written() {
    let spans = common::code_spans("docs/routing.md");
    let commands: Vec<&str> = spans
        .iter()
        .map(String::as_str)
        .filter(|span| span.starts_with("amtool "))
        .collect();
    let commands = common::found_in("docs/routing.md", "amtool command", commands);
    assert_eq!(commands.len(), 3, "{commands:?}");
    for command in commands {
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let out = Command::new("amtool")
            .args(&args)
            .current_dir(repo())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{command}: {stdout}");
        if command.contains("routes test") {
            let app = if command.contains("namespace=ojeomneo") {
                "ojeomneo"
            } else {
                "reviewmaps"
            };
            assert_eq!(stdout.trim(), format!("{app}-critical"), "{command}");
        }
    }
}

/// One incident pages once: a real Alertmanager loaded with `deploy/alertmanager.yaml`, given
/// the burn-rate alerts one latency incident raises, keeps only the fastest pair active; the
/// slower pairs of the same objective and job are inhibited, another objective and another
/// app are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fastest_burn_rate_pair_inhibits_the_slower_ones() {
    let config = read(&repo().join("deploy/alertmanager.yaml"));
    let am = common::start_alertmanager(&config);
    let burn = |app: &str, slo: &str, long: &str, short: &str, severity: &str| {
        serde_json::json!({
            "labels": {
                "alertname": "RedmetricsErrorBudgetBurn", "severity": severity, "slo": slo,
                "long_window": long, "short_window": short,
                "namespace": app, "job": format!("{app}-server"),
            },
            "annotations": { "summary": "burn" },
        })
    };
    let alerts = serde_json::json!([
        burn("ojeomneo", "latency", "1h", "5m", "critical"),
        burn("ojeomneo", "latency", "6h", "30m", "critical"),
        burn("ojeomneo", "latency", "1d", "2h", "warning"),
        burn("ojeomneo", "latency", "3d", "6h", "warning"),
        burn("ojeomneo", "availability", "6h", "30m", "critical"),
        burn("reviewmaps", "latency", "6h", "30m", "critical"),
    ]);
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let req = http::Request::post(format!("{}/api/v2/alerts", am.url()))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            alerts.to_string(),
        )))
        .unwrap();
    let status = client.request(req).await.unwrap().status();
    assert!(status.is_success(), "{status}\n{}", am.log());
    let list: Value = serde_json::from_slice(
        &common::http_get(&format!("{}/api/v2/alerts", am.url()))
            .await
            .unwrap(),
    )
    .unwrap();
    let mut states: Vec<(String, String, String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let l = &a["labels"];
            let s = |k: &str| l[k].as_str().unwrap().to_owned();
            (
                s("namespace"),
                s("slo"),
                s("long_window"),
                a["status"]["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    states.sort();
    let expected: Vec<(String, String, String, String)> = [
        ("ojeomneo", "availability", "6h", "active"),
        ("ojeomneo", "latency", "1d", "suppressed"),
        ("ojeomneo", "latency", "1h", "active"),
        ("ojeomneo", "latency", "3d", "suppressed"),
        ("ojeomneo", "latency", "6h", "suppressed"),
        ("reviewmaps", "latency", "6h", "active"),
    ]
    .iter()
    .map(|(a, b, c, d)| ((*a).into(), (*b).into(), (*c).into(), (*d).into()))
    .collect();
    assert_eq!(states, expected, "{list}");
}
