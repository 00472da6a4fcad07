//! Kubernetes objects for one app: ServiceMonitor, PrometheusRule and the dashboard
//! ConfigMap the Grafana sidecar loads.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::rules::RuleFile;
use crate::config::Resolved;

/// Labels every generated object carries, plus `release` for kube-prometheus-stack's
/// default selectors when a release is configured.
fn labels(r: &Resolved, with_release: bool) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), r.app.service.clone()),
        ("app.kubernetes.io/part-of".to_owned(), r.app.name.clone()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "redmetrics".to_owned(),
        ),
    ]);
    if with_release && !r.stack.release.is_empty() {
        l.insert("release".to_owned(), r.stack.release.clone());
    }
    l
}

/// The ServiceMonitor that makes Prometheus scrape the app's Service by port name.
pub(crate) fn service_monitor(r: &Resolved) -> Value {
    let mut spec = json!({
        "selector": { "matchLabels": r.app.service_labels },
        "endpoints": [{
            "port": r.app.port,
            "path": r.app.metrics_path,
            "interval": r.app.interval.to_string(),
            "scrapeTimeout": r.app.scrape_timeout.to_string(),
        }],
    });
    if r.monitor_namespace() != r.app.namespace {
        spec["namespaceSelector"] = json!({ "matchNames": [r.app.namespace] });
    }
    if let Some(job_label) = &r.app.job_label {
        spec["jobLabel"] = json!(job_label);
    }
    // Needs Prometheus 2.45+ (the operator leaves it out for older ones); matters only where
    // Prometheus ingests native histograms, which otherwise drops the classic series.
    if r.scrape_classic_histograms() {
        spec["scrapeClassicHistograms"] = json!(true);
    }
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {
            "name": r.app.service,
            "namespace": r.monitor_namespace(),
            "labels": labels(r, true),
        },
        "spec": spec,
    })
}

/// The rules wrapped in a PrometheusRule object.
pub(crate) fn prometheus_rule(r: &Resolved, rules: &RuleFile) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": format!("{}-rules", r.app.service),
            "namespace": r.monitor_namespace(),
            "labels": labels(r, true),
        },
        "spec": rules,
    })
}

/// The dashboard in a ConfigMap labelled `grafana_dashboard: "1"` for the sidecar.
pub(crate) fn dashboard_config_map(
    r: &Resolved,
    dashboard_json: &str,
    slo_dashboard_json: Option<&str>,
) -> Value {
    let mut l = labels(r, false);
    l.insert("grafana_dashboard".to_owned(), "1".to_owned());
    let mut metadata = json!({
        "name": format!("{}-dashboard", r.app.name),
        "namespace": r.monitor_namespace(),
        "labels": l,
    });
    if let Some(folder) = &r.app.dashboard_folder {
        metadata["annotations"] = json!({ r.stack.folder_annotation.clone(): folder });
    }
    let mut data = json!({ format!("{}-dashboard.json", r.app.name): dashboard_json });
    if let Some(slo) = slo_dashboard_json {
        data[format!("{}-slo-dashboard.json", r.app.name)] = json!(slo);
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": data,
    })
}
