//! A Prometheus configuration equivalent to what the Prometheus Operator makes of a generated
//! ServiceMonitor, for running the same scrape and rules against local targets.
//!
//! The operator names the job `serviceMonitor/<namespace>/<name>/0`, relabels `job` to the
//! Service name and attaches `namespace`, `service`, `pod` and `endpoint` labels; static
//! labels do the same here, so generated rules and dashboards work unchanged.

use std::net::SocketAddr;

use serde_json::json;

use crate::config::{PromDuration, Resolved};

/// `prometheus.yml` scraping `targets` as replicas of `r`, loading `rule_files`.
pub(crate) fn prometheus_config(
    r: &Resolved,
    targets: &[SocketAddr],
    evaluation_interval: PromDuration,
    rule_files: &[&str],
) -> anyhow::Result<String> {
    let static_configs: Vec<_> = targets
        .iter()
        .enumerate()
        .map(|(i, addr)| {
            json!({
                "targets": [addr.to_string()],
                "labels": {
                    "namespace": r.app.namespace,
                    "service": r.app.service,
                    "endpoint": r.app.port,
                    "pod": format!("{}-{i}", r.app.service),
                },
            })
        })
        .collect();
    let config = json!({
        "global": {
            "scrape_interval": r.app.interval.to_string(),
            "evaluation_interval": evaluation_interval.to_string(),
        },
        "rule_files": rule_files,
        "scrape_configs": [{
            "job_name": format!("serviceMonitor/{}/{}/0", r.monitor_namespace(), r.app.service),
            "metrics_path": r.app.metrics_path,
            "scrape_interval": r.app.interval.to_string(),
            "scrape_timeout": r.app.scrape_timeout.to_string(),
            "static_configs": static_configs,
            "relabel_configs": [{ "target_label": "job", "replacement": r.job }],
        }],
    });
    Ok(serde_saphyr::to_string(&config)?)
}
