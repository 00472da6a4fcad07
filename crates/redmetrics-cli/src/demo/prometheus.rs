//! `demo --with-prometheus`: the seed's verification steps, done on loopback. A Prometheus
//! configuration equivalent to what the Prometheus Operator makes of a generated
//! ServiceMonitor runs the same scrape and the app's generated rules against the demo.
//!
//! The operator names the job `serviceMonitor/<namespace>/<name>/0`, relabels `job` to the
//! Service name and attaches `namespace`, `service`, `pod` and `endpoint` labels; static
//! labels do the same here, so generated rules and dashboards work unchanged.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};
use serde_json::json;

use crate::config::{PromDuration, Resolved};
use crate::generate;

/// The local scrape interval: short, so the demo's numbers move within seconds.
const LOCAL_INTERVAL: PromDuration = PromDuration::from_secs(5);

/// A running Prometheus and its working directory; both go away on drop.
pub(crate) struct Running {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_prometheus() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("prometheus"))
        .find(|p| p.is_file())
}

/// Starts Prometheus on `listen` scraping the demo of `served` at `addr`, or explains how to
/// get it.
pub(crate) fn start(
    served: &Resolved,
    listen: SocketAddr,
    addr: SocketAddr,
) -> Result<Option<Running>> {
    let Some(binary) = find_prometheus() else {
        tracing::warn!(
            "--with-prometheus: no `prometheus` on PATH; install it (Debian/Ubuntu: \
             `apt-get install prometheus`) and run again. Running the demo alone."
        );
        return Ok(None);
    };
    // The same app, scraped every 5 s: resolved again, so its rules follow the interval.
    let mut app = served.app.clone();
    app.interval = LOCAL_INTERVAL;
    app.scrape_timeout = LOCAL_INTERVAL;
    let local = Resolved::new(app, &served.stack).context("the local scrape settings")?;
    let dir = tempfile::tempdir().context("temporary directory for Prometheus")?;
    std::fs::write(dir.path().join("rules.yaml"), generate::rules_yaml(&local)?)?;
    std::fs::write(
        dir.path().join("prometheus.yml"),
        prometheus_config(&local, &[addr], LOCAL_INTERVAL, &["rules.yaml"])?,
    )?;
    let log = std::fs::File::create(dir.path().join("prometheus.log"))?;
    let child = Command::new(&binary)
        .arg("--config.file=prometheus.yml")
        .arg("--storage.tsdb.path=data")
        .arg(format!("--web.listen-address={listen}"))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let requests = local.contract.requests().desc().name().to_owned();
    tracing::info!(
        "prometheus ({}) on http://{listen}, log in {}",
        binary.display(),
        dir.path().join("prometheus.log").display()
    );
    tracing::info!(
        "targets: http://{listen}/targets   (job {} should be UP)",
        local.job
    );
    tracing::info!(
        "alerts:  http://{listen}/alerts    (RedmetricsHighErrorRate, RedmetricsHighLatencyP95, RedmetricsTargetDown)"
    );
    tracing::info!("graph:   http://{listen}/graph?g0.expr=rate({requests}%5B1m%5D)");
    Ok(Some(Running { child, _dir: dir }))
}

/// `prometheus.yml` scraping `targets` as replicas of `r`, loading `rule_files`.
fn prometheus_config(
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
