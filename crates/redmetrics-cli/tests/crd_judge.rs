//! The Prometheus Operator schema judge (`tests/judges/crd_validate.py`, on the schemas
//! published on PyPI as `cloudcoil-models-prometheus-operator`) is as strict as
//! `kubectl apply --validate=strict`: each generated object passes, and the same object with
//! one misspelt field or one value of the wrong type, at any depth, is refused with the path
//! and the field named. These are the refusals the CRD YAML schemas gave before the judge
//! moved to the registry package.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_valid_against_crd, judge, repo};
use serde_json::{Value, json};

/// The committed ReviewMaps object of `kind`, as JSON.
fn object(kind: &str) -> Value {
    let file = match kind {
        "ServiceMonitor" => "servicemonitor.yaml",
        "PrometheusRule" => "prometheusrule.yaml",
        "AlertmanagerConfig" => "alertmanagerconfig.yaml",
        other => panic!("no generated {other}"),
    };
    let text = std::fs::read_to_string(repo().join("deploy/reviewmaps").join(file)).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// `value` at `path` (object keys, or array indices as numbers) in `doc`.
fn set(doc: &mut Value, path: &[Value], value: Value) {
    let (last, head) = path.split_last().unwrap();
    let mut at = doc;
    for step in head {
        at = match step {
            Value::String(key) => &mut at[key.as_str()],
            Value::Number(i) => &mut at[usize::try_from(i.as_u64().unwrap()).unwrap()],
            other => panic!("bad step {other}"),
        };
    }
    match last {
        Value::String(key) => at[key.as_str()] = value,
        Value::Number(i) => at[usize::try_from(i.as_u64().unwrap()).unwrap()] = value,
        other => panic!("bad step {other}"),
    }
}

#[test]
fn the_generated_objects_pass() {
    for kind in ["ServiceMonitor", "PrometheusRule", "AlertmanagerConfig"] {
        assert_valid_against_crd(kind, &object(kind).to_string(), 1);
    }
}

#[test]
fn unknown_fields_and_wrong_types_are_refused_at_any_depth() {
    let cases: [(&str, Value, Value, &str); 18] = [
        // Misspelt fields: the API server would prune them silently.
        (
            "ServiceMonitor",
            json!(["spec", "scrapTimeout"]),
            json!("10s"),
            "spec: Additional properties are not allowed ('scrapTimeout' was unexpected)",
        ),
        (
            "ServiceMonitor",
            json!(["spec", "endpoints", 0, "intervl"]),
            json!("10s"),
            "spec.endpoints.0: Additional properties are not allowed ('intervl' was unexpected)",
        ),
        (
            "PrometheusRule",
            json!(["spec", "groups", 0, "rule"]),
            json!([]),
            "spec.groups.0: Additional properties are not allowed ('rule' was unexpected)",
        ),
        (
            "PrometheusRule",
            json!(["spec", "groups", 0, "rules", 0, "expresion"]),
            json!("up"),
            "spec.groups.0.rules.0: Additional properties are not allowed ('expresion' was unexpected)",
        ),
        (
            "AlertmanagerConfig",
            json!(["spec", "receivers", 0, "slackConfigs", 0, "chanel"]),
            json!("#alerts"),
            "spec.receivers.0.slackConfigs.0: Additional properties are not allowed ('chanel' was unexpected)",
        ),
        (
            "AlertmanagerConfig",
            json!(["spec", "route", "matchers", 0, "valu"]),
            json!("x"),
            "spec.route.matchers.0: Additional properties are not allowed ('valu' was unexpected)",
        ),
        // Wrong types.
        (
            "ServiceMonitor",
            json!(["spec", "endpoints", 0, "interval"]),
            json!(5),
            "spec.endpoints.0.interval: 5 is not of type 'string'",
        ),
        (
            "ServiceMonitor",
            json!(["spec", "endpoints"]),
            json!({ "port": "http" }),
            "spec.endpoints: {'port': 'http'} is not of type 'array'",
        ),
        (
            "ServiceMonitor",
            json!(["spec", "selector", "matchLabels", "app"]),
            json!(1),
            "spec.selector.matchLabels.app: 1 is not of type 'string'",
        ),
        (
            "ServiceMonitor",
            json!(["spec", "scrapeClassicHistograms"]),
            json!("yes"),
            "spec.scrapeClassicHistograms: 'yes' is not of type 'boolean'",
        ),
        (
            "PrometheusRule",
            json!(["spec", "groups"]),
            json!("x"),
            "spec.groups: 'x' is not of type 'array'",
        ),
        (
            "PrometheusRule",
            json!(["spec", "groups", 0, "rules", 0, "labels", "severity"]),
            json!(1),
            "spec.groups.0.rules.0.labels.severity: 1 is not of type 'string'",
        ),
        (
            "AlertmanagerConfig",
            json!(["spec", "route", "groupBy"]),
            json!("alertname"),
            "spec.route.groupBy: 'alertname' is not of type 'array'",
        ),
        (
            "AlertmanagerConfig",
            json!(["spec", "receivers", 0, "emailConfigs", 0, "requireTLS"]),
            json!("yes"),
            "spec.receivers.0.emailConfigs.0.requireTLS: 'yes' is not of type 'boolean'",
        ),
        // Values outside the declared patterns and enums.
        (
            "ServiceMonitor",
            json!(["spec", "endpoints", 0, "interval"]),
            json!("5 seconds"),
            "spec.endpoints.0.interval: '5 seconds' does not match",
        ),
        (
            "ServiceMonitor",
            json!(["spec", "endpoints", 0, "scheme"]),
            json!("ftp"),
            "spec.endpoints.0.scheme: 'ftp' is not one of",
        ),
        (
            "PrometheusRule",
            json!(["spec", "groups", 0, "rules", 0, "for"]),
            json!("5 minutes"),
            "spec.groups.0.rules.0.for: '5 minutes' does not match",
        ),
        (
            "AlertmanagerConfig",
            json!(["spec", "route", "matchers", 0, "matchType"]),
            json!("~"),
            "spec.route.matchers.0.matchType: '~' is not one of",
        ),
    ];
    // One judge run per kind, over a stream of the mutated objects (reported in order).
    for kind in ["ServiceMonitor", "PrometheusRule", "AlertmanagerConfig"] {
        let mine: Vec<_> = cases.iter().filter(|case| case.0 == kind).collect();
        let stream: String = mine
            .iter()
            .map(|(_, path, value, _)| {
                let mut doc = object(kind);
                set(&mut doc, path.as_array().unwrap(), value.clone());
                format!("---\n{doc}\n")
            })
            .collect();
        let (code, out, err) = judge("crd_validate.py", &[kind], &stream);
        assert_eq!(code, 1, "{kind}: {out}{err}");
        let report: Value = serde_json::from_str(&out).unwrap();
        let report = report.as_array().unwrap();
        assert_eq!(report.len(), mine.len(), "{kind}: {out}");
        for ((_, path, _, expected), object) in mine.iter().zip(report) {
            let errors = object["errors"].as_array().unwrap();
            assert_eq!(errors.len(), 1, "{kind} {path}: {object}");
            assert!(
                errors[0].as_str().unwrap().starts_with(expected),
                "{kind} {path}: {object}"
            );
        }
    }
}

/// The kube-prometheus-stack values of `deploy/<app>/global-view.yaml`, as the Prometheus
/// object the stack makes of `prometheus.prometheusSpec`.
fn stack_prometheus(app: &str) -> Value {
    let text =
        std::fs::read_to_string(repo().join("deploy").join(app).join("global-view.yaml")).unwrap();
    let view: Value = serde_saphyr::from_str(&text).unwrap();
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": { "name": "kube-prometheus-stack-prometheus", "namespace": "monitoring" },
        "spec": view["kube_prometheus_stack"]["prometheus"]["prometheusSpec"],
    })
}

#[test]
fn the_global_view_stack_values_are_a_valid_prometheus_spec() {
    for app in ["reviewmaps", "ojeomneo"] {
        let prometheus = stack_prometheus(app);
        let write = &prometheus["spec"]["remoteWrite"][0];
        assert_eq!(write["writeRelabelConfigs"][0]["action"], "keep", "{app}");
        assert!(
            write["url"].as_str().unwrap().starts_with("https://"),
            "{app}"
        );
        assert_valid_against_crd("Prometheus", &prometheus.to_string(), 1);
        // The judge reads this kind as strictly as the others.
        let mut wrong = prometheus.clone();
        set(
            &mut wrong,
            &[
                json!("spec"),
                json!("remoteWrite"),
                json!(0),
                json!("writeRelabelConfig"),
            ],
            json!([]),
        );
        let (code, out, err) = judge("crd_validate.py", &["Prometheus"], &wrong.to_string());
        assert_eq!(code, 1, "{out}{err}");
        assert!(
            out.contains("spec.remoteWrite.0: Additional properties are not allowed ('writeRelabelConfig' was unexpected)"),
            "{out}"
        );
    }
}

#[test]
fn an_unknown_kind_is_a_usage_error_not_a_pass() {
    let (code, out, err) = judge("crd_validate.py", &["Probe"], "");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("usage"), "{err}");
}
