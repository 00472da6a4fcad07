//! `demo --with-prometheus`: a deployment's verification (target up, series with their
//! labels, alerts firing), done on loopback. A Prometheus
//! configuration equivalent to what the Prometheus Operator makes of a generated
//! ServiceMonitor runs the same scrape and the app's generated rules against the demo.
//!
//! The operator names the job `serviceMonitor/<namespace>/<name>/0`, relabels `job` to the
//! Service name and attaches `namespace`, `service`, `pod` and `endpoint` labels; static
//! labels do the same here, so generated rules and dashboards work unchanged.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use serde_json::json;

use super::local::{self, Local};
use crate::config::{PromDuration, Resolved};
use crate::generate;

/// The local scrape interval: short, so the demo's numbers move within seconds.
const LOCAL_INTERVAL: PromDuration = PromDuration::from_secs(5);

/// A running Prometheus and its working directory; both go away on drop.
pub(crate) struct Running {
    _server: Local,
    _dir: tempfile::TempDir,
}

/// Starts Prometheus on `listen` scraping the demo of `served` at `addr` and sending alerts to
/// `alertmanager`, or explains how to get it. A Prometheus that cannot start (its port taken)
/// is an error with its own log.
pub(crate) async fn start(
    served: &Resolved,
    listen: SocketAddr,
    addr: SocketAddr,
    alertmanager: Option<SocketAddr>,
) -> Result<Option<Running>> {
    let Some(binary) = local::find(&["prometheus"]) else {
        tracing::warn!(
            "--with-prometheus: no `prometheus` on PATH; install it (Debian/Ubuntu: \
             `apt-get install prometheus`) and run again. Running the demo alone."
        );
        return Ok(None);
    };
    let local = local_app(served)?;
    let classic_key = classic_histograms_key(local::version(&binary).await);
    let dir = tempfile::tempdir().context("temporary directory for Prometheus")?;
    std::fs::write(dir.path().join("rules.yaml"), generate::rules_yaml(&local)?)?;
    std::fs::write(
        dir.path().join("prometheus.yml"),
        prometheus_config(
            &local,
            &[addr],
            LOCAL_INTERVAL,
            &["rules.yaml"],
            alertmanager,
            classic_key,
        )?,
    )?;
    let args = [
        "--config.file=prometheus.yml".to_owned(),
        "--storage.tsdb.path=data".to_owned(),
        format!("--web.listen-address={listen}"),
        // Keeps the trace ids the demo's latency buckets carry (Prometheus 2.42: a feature flag).
        "--enable-feature=exemplar-storage".to_owned(),
    ];
    let server = local::start("prometheus", &binary, &args, dir.path())
        .await
        .context("--with-prometheus: Prometheus did not start (is --prometheus-listen taken?)")?;
    let base = server.addr;
    tracing::info!(
        "prometheus ({}) on http://{base}, log in {}",
        binary.display(),
        server.log.display()
    );
    let requests = local.contract.requests().desc().name().to_owned();
    let alerts: Vec<String> = generate::rules(&local)
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| r.alert.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let graph = format!("graph?g0.expr=rate({requests}%5B1m%5D)");
    // Debian's Prometheus ships only the classic UI: print only the pages that answer.
    let pages: [(&str, [String; 2], String); 3] = [
        (
            "targets:",
            ["/targets".into(), "/classic/targets".into()],
            format!("(job {} should be UP)", local.job),
        ),
        (
            "alerts:",
            ["/alerts".into(), "/classic/alerts".into()],
            format!("({})", alerts.join(", ")),
        ),
        (
            "graph:",
            [format!("/{graph}"), format!("/classic/{graph}")],
            String::new(),
        ),
    ];
    for (label, paths, note) in &pages {
        match local::first_answering(base, &paths.each_ref().map(String::as_str)).await {
            Some(url) => tracing::info!("{label:<9}{url}   {note}"),
            None => tracing::warn!("{label} neither {} nor {} answers", paths[0], paths[1]),
        }
    }
    Ok(Some(Running {
        _server: server,
        _dir: dir,
    }))
}

/// The same app as `served`, scraped every 5 s: resolved again, so its rules follow the
/// interval.
pub(crate) fn local_app(served: &Resolved) -> Result<Resolved> {
    let mut app = served.app.clone();
    app.interval = LOCAL_INTERVAL;
    app.scrape_timeout = LOCAL_INTERVAL;
    Resolved::new(app, &served.stack).context("the local scrape settings")
}

/// The scrape-config key that keeps a histogram's classic series next to its native ones:
/// `scrape_classic_histograms` in 2.45 to 2.x, `always_scrape_classic_histograms` from 3.0.
/// Older versions (Debian's 2.42) have none and refuse unknown keys, so nothing is written;
/// nor when the version is unknown.
fn classic_histograms_key(version: Option<(u32, u32)>) -> Option<&'static str> {
    match version? {
        (major, _) if major >= 3 => Some("always_scrape_classic_histograms"),
        (2, minor) if minor >= 45 => Some("scrape_classic_histograms"),
        _ => None,
    }
}

/// `prometheus.yml` scraping `targets` as replicas of `r`, loading `rule_files`; with
/// `classic_key` (see [`classic_histograms_key`]) set as the generated ServiceMonitor's
/// `scrapeClassicHistograms` says.
fn prometheus_config(
    r: &Resolved,
    targets: &[SocketAddr],
    evaluation_interval: PromDuration,
    rule_files: &[&str],
    alertmanager: Option<SocketAddr>,
    classic_key: Option<&str>,
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
    let mut config = json!({
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
    if let Some(key) = classic_key
        && r.scrape_classic_histograms()
    {
        config["scrape_configs"][0][key] = json!(true);
    }
    if let Some(am) = alertmanager {
        config["alerting"] = json!({
            "alertmanagers": [{ "static_configs": [{ "targets": [am.to_string()] }] }],
        });
    }
    Ok(serde_saphyr::to_string(&config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_histograms_key_follows_the_version() {
        assert_eq!(classic_histograms_key(Some((2, 42))), None);
        assert_eq!(classic_histograms_key(None), None);
        assert_eq!(
            classic_histograms_key(Some((2, 45))),
            Some("scrape_classic_histograms")
        );
        assert_eq!(
            classic_histograms_key(Some((3, 9))),
            Some("always_scrape_classic_histograms")
        );
        let app = |native: bool| {
            let mut a = crate::config::App::new("shop", "shop", "shop", "http");
            a.metrics.native_histogram = Some(native);
            Resolved::new(a, &crate::config::Stack::default()).unwrap()
        };
        let addr: SocketAddr = ([127, 0, 0, 1], 3000).into();
        let config = |r: &Resolved, key| {
            prometheus_config(r, &[addr], LOCAL_INTERVAL, &[], None, key).unwrap()
        };
        let key = Some("always_scrape_classic_histograms");
        assert!(config(&app(true), key).contains("always_scrape_classic_histograms: true"));
        // Nothing to keep when the app serves no native buckets, nothing 2.42 would refuse.
        assert!(!config(&app(false), key).contains("classic"));
        assert!(!config(&app(true), None).contains("classic"));
    }
}
