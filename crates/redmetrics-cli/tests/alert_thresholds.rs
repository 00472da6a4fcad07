//! Every threshold, window and `for` of `[apps.alerts]` held by promtool, with values the
//! repository's own `redmetrics.toml` does not use (`rate_window` among them, whose default,
//! 4 × interval, would be 2m here).
//!
//! The rules are generated fresh in a temporary directory; the promtool tests are written
//! here from the configuration's values, never from the rules: traffic just above and just
//! below each ratio, P95 and request-rate threshold (for P95, bucket counts whose
//! interpolated quantile lies in the bucket above or below the bound), each alert checked
//! just before and just after its `for`, and a burst that the configured window has
//! forgotten while a longer one would not have. Annotations are dropped from the copy
//! promtool reads (their text is not what is judged here; `operations.rs` reads them).
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use serde_json::{Value, json};

const CONFIG: &str = r#"
[[apps]]
name = "shop"
namespace = "shop"
service = "shop-api"
port = "http"
interval = "30s"

[apps.alerts]
error_ratio = 0.2
error_for = "4m"
latency_p95_seconds = 0.5
latency_for = "3m"
rate_window = "1m"
min_request_rate = 1
target_down_for = "3m"
target_absent_for = "7m"
"#;

const SEL: &str = r#"namespace="shop",job="shop-api",instance="10.0.0.1:8080""#;

/// A counter series growing by `per_step` every 15 s, for `steps` steps.
fn counter(name: &str, labels: &str, per_step: u32, steps: u32) -> Value {
    json!({"series": format!("{name}{{{SEL}{labels}}}"), "values": format!("0+{per_step}x{steps}")})
}

/// Requests at `total` per 15 s of which `errors` answer 500.
fn requests(total: u32, errors: u32, steps: u32) -> Vec<Value> {
    vec![
        counter(
            "shop_http_requests_total",
            r#",method="GET",path="/a",status="200""#,
            total - errors,
            steps,
        ),
        counter(
            "shop_http_requests_total",
            r#",method="GET",path="/a",status="500""#,
            errors,
            steps,
        ),
    ]
}

/// A latency histogram: per 15 s, `n` requests of which `fast` at most 0.25 s and `mid` in
/// (0.25 s, 0.5 s]; the rest in (0.5 s, 1 s].
fn latencies(n: u32, fast: u32, mid: u32, steps: u32) -> Vec<Value> {
    let b = |le: &str, per: u32| {
        counter(
            "shop_http_request_duration_seconds_bucket",
            &format!(r#",method="GET",path="/a",le="{le}""#),
            per,
            steps,
        )
    };
    vec![
        b("0.25", fast),
        b("0.5", fast + mid),
        b("1", n),
        b("+Inf", n),
        counter(
            "shop_http_request_duration_seconds_count",
            r#",method="GET",path="/a""#,
            n,
            steps,
        ),
    ]
}

fn warning() -> Value {
    json!([{"exp_labels": {"severity": "warning", "namespace": "shop", "job": "shop-api"}}])
}

/// One promtool test case: `name`, input series, and (eval time, alert, expected alerts).
fn case(name: &str, series: Vec<Value>, checks: &[(&str, &str, Value)]) -> Value {
    json!({
        "name": name,
        "interval": "15s",
        "input_series": series,
        "alert_rule_test": checks.iter().map(|(at, alert, exp)| json!({
            "eval_time": at, "alertname": alert, "exp_alerts": exp,
        })).collect::<Vec<_>>(),
    })
}

fn tests() -> Value {
    let none = json!([]);
    // The expression is first true at 15 s (two samples in the window).
    let cases = vec![
        // 10 req/s, 22 % errors: above 20 %. Pending at 4m (true for 3m45s < error_for),
        // firing at 4m30s.
        case(
            "error ratio just above",
            requests(150, 33, 40),
            &[
                ("4m", "RedmetricsHighErrorRate", none.clone()),
                ("4m30s", "RedmetricsHighErrorRate", warning()),
            ],
        ),
        case(
            "error ratio just below",
            requests(150, 27, 40),
            &[("8m", "RedmetricsHighErrorRate", none.clone())],
        ),
        // 50 % errors, at 0.8 req/s (below min_request_rate = 1): silent; at 1.2 req/s: fires.
        case(
            "below the traffic floor",
            requests(12, 6, 40),
            &[("8m", "RedmetricsHighErrorRate", none.clone())],
        ),
        case(
            "above the traffic floor",
            requests(18, 9, 40),
            &[("8m", "RedmetricsHighErrorRate", warning())],
        ),
        // 50 % errors for 6m, then none at the same rate: at 6m45s the 1m window holds one
        // step of errors in four (12.5 %, silent); a 2m window would hold 5 in 8 (31 %, firing).
        case(
            "the window forgets a burst",
            vec![
                json!({"series": format!("shop_http_requests_total{{{SEL},method=\"GET\",path=\"/a\",status=\"200\"}}"), "values": "0+75x24 1950+150x20"}),
                json!({"series": format!("shop_http_requests_total{{{SEL},method=\"GET\",path=\"/a\",status=\"500\"}}"), "values": "0+75x24 1800x20"}),
            ],
            &[
                ("6m", "RedmetricsHighErrorRate", warning()),
                ("6m45s", "RedmetricsHighErrorRate", none.clone()),
            ],
        ),
        // P95 in (0.5, 1]: 0.5 + 0.5 × (142.5 − 135) / 15 = 0.75 s. Pending at 3m, firing at
        // 3m30s.
        case(
            "p95 just above",
            latencies(150, 135, 0, 40),
            &[
                ("3m", "RedmetricsHighLatencyP95", none.clone()),
                ("3m30s", "RedmetricsHighLatencyP95", warning()),
            ],
        ),
        // P95 in (0.25, 0.5]: 0.25 + 0.25 × (142.5 − 135) / 15 = 0.375 s.
        case(
            "p95 just below",
            latencies(150, 135, 15, 40),
            &[("8m", "RedmetricsHighLatencyP95", none.clone())],
        ),
        // Slow, but at 0.8 req/s: below the floor.
        case(
            "p95 above, traffic below the floor",
            latencies(12, 6, 0, 40),
            &[("8m", "RedmetricsHighLatencyP95", none.clone())],
        ),
        // Down from the first sample: pending at 2m45s, firing at 3m15s.
        case(
            "target down",
            vec![json!({"series": format!("up{{{SEL}}}"), "values": "0x40"})],
            &[
                ("2m45s", "RedmetricsTargetDown", none.clone()),
                (
                    "3m15s",
                    "RedmetricsTargetDown",
                    json!([{"exp_labels": {"severity": "critical", "reason": "down",
                        "namespace": "shop", "job": "shop-api", "instance": "10.0.0.1:8080"}}]),
                ),
            ],
        ),
        // No target at all: pending at 6m45s, firing at 7m15s.
        case(
            "target absent",
            vec![json!({"series": "up{namespace=\"other\",job=\"other\"}", "values": "1x40"})],
            &[
                ("6m45s", "RedmetricsTargetDown", none.clone()),
                (
                    "7m15s",
                    "RedmetricsTargetDown",
                    json!([{"exp_labels": {"severity": "critical", "reason": "absent",
                        "namespace": "shop", "job": "shop-api"}}]),
                ),
            ],
        ),
    ];
    json!({"rule_files": ["rules.json"], "evaluation_interval": "15s", "tests": cases})
}

/// The generated rules without their annotations, as JSON (which promtool reads as YAML).
fn rules_without_annotations(rules: &str) -> String {
    let mut v: Value = serde_saphyr::from_str(rules).unwrap();
    for group in v["groups"].as_array_mut().unwrap() {
        for rule in group["rules"].as_array_mut().unwrap() {
            rule.as_object_mut().unwrap().remove("annotations");
        }
    }
    v.to_string()
}

/// Generates the rules of `config` and runs the promtool `tests` over them.
fn promtool_judges(config: &str, tests: &Value) {
    let dir = common::generate_fresh(config);
    let rules = std::fs::read_to_string(dir.path().join("deploy/shop/rules.yaml")).unwrap();
    std::fs::write(
        dir.path().join("rules.json"),
        rules_without_annotations(&rules),
    )
    .unwrap();
    std::fs::write(dir.path().join("tests.json"), tests.to_string()).unwrap();
    let out = Command::new("promtool")
        .args(["test", "rules", "tests.json"])
        .current_dir(dir.path())
        .output()
        .expect("promtool (Debian: apt-get install prometheus)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}\nrules:\n{rules}");
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn each_alert_setting_holds_just_above_and_just_below_its_value_under_promtool() {
    promtool_judges(CONFIG, &tests());
}

/// An app that sets nothing in `[apps.alerts]`: the documented defaults (error ratio 5 %
/// for 5m, P95 1 s for 5m, a floor of 0.1 req/s, target down for 2m, absent for 5m, a
/// rate window of 4 × the 30s interval), each held by promtool on both sides. The
/// repository's own `redmetrics.toml` sets every one of them, so nothing else meets them.
const DEFAULTS: &str = r#"
[[apps]]
name = "shop"
namespace = "shop"
service = "shop-api"
port = "http"
"#;

fn default_tests() -> Value {
    let none = json!([]);
    // A default latency histogram (bounds as the endpoint renders them): per 15 s, `n`
    // requests of which `fast` at most 0.5 s and `mid` in (0.5 s, 1 s]; the rest in (1, 2.5].
    let latencies = |n: u32, fast: u32, mid: u32| {
        let b = |le: &str, per: u32| {
            counter(
                "shop_http_request_duration_seconds_bucket",
                &format!(r#",method="GET",path="/a",le="{le}""#),
                per,
                40,
            )
        };
        vec![
            b("0.5", fast),
            b("1.0", fast + mid),
            b("2.5", n),
            b("+Inf", n),
            counter(
                "shop_http_request_duration_seconds_count",
                r#",method="GET",path="/a""#,
                n,
                40,
            ),
        ]
    };
    // The 2m window holds two samples from 15 s: each expression is true from there.
    let cases = vec![
        // 10 req/s, 6 % errors: pending at 5m (true for 4m45s), firing at 5m30s.
        case(
            "default error ratio just above",
            requests(150, 9, 40),
            &[
                ("5m", "RedmetricsHighErrorRate", none.clone()),
                ("5m30s", "RedmetricsHighErrorRate", warning()),
            ],
        ),
        case(
            "default error ratio just below",
            requests(150, 6, 40),
            &[("9m", "RedmetricsHighErrorRate", none.clone())],
        ),
        // Every request fails at 1 per 15 s (0.067 req/s, below the floor): silent; half of
        // them at 2 per 15 s (0.133 req/s): firing.
        case(
            "below the default traffic floor",
            requests(1, 1, 40),
            &[("9m", "RedmetricsHighErrorRate", none.clone())],
        ),
        case(
            "above the default traffic floor",
            requests(2, 1, 40),
            &[("9m", "RedmetricsHighErrorRate", warning())],
        ),
        // P95 in (1, 2.5]: 1 + 1.5 × (142.5 − 135) / 15 = 1.75 s. Pending at 5m, firing at
        // 5m30s. P95 in (0.5, 1]: 0.75 s, silent.
        case(
            "default p95 just above",
            latencies(150, 135, 0),
            &[
                ("5m", "RedmetricsHighLatencyP95", none.clone()),
                ("5m30s", "RedmetricsHighLatencyP95", warning()),
            ],
        ),
        case(
            "default p95 just below",
            latencies(150, 135, 15),
            &[("9m", "RedmetricsHighLatencyP95", none.clone())],
        ),
        case(
            "default target down",
            vec![json!({"series": format!("up{{{SEL}}}"), "values": "0x40"})],
            &[
                ("1m45s", "RedmetricsTargetDown", none.clone()),
                (
                    "2m15s",
                    "RedmetricsTargetDown",
                    json!([{"exp_labels": {"severity": "critical", "reason": "down",
                        "namespace": "shop", "job": "shop-api", "instance": "10.0.0.1:8080"}}]),
                ),
            ],
        ),
        case(
            "default target absent",
            vec![json!({"series": "up{namespace=\"other\",job=\"other\"}", "values": "1x40"})],
            &[
                ("4m45s", "RedmetricsTargetDown", none.clone()),
                (
                    "5m15s",
                    "RedmetricsTargetDown",
                    json!([{"exp_labels": {"severity": "critical", "reason": "absent",
                        "namespace": "shop", "job": "shop-api"}}]),
                ),
            ],
        ),
    ];
    json!({"rule_files": ["rules.json"], "evaluation_interval": "15s", "tests": cases})
}

#[test]
fn the_alert_defaults_hold_just_above_and_just_below_under_promtool() {
    promtool_judges(DEFAULTS, &default_tests());
}
