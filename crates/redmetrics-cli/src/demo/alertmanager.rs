//! `demo --with-prometheus`'s Alertmanager: single node, on loopback, loaded with the app's
//! generated routing (`generate::alertmanager_yaml`, the same code as
//! `deploy/<app>/alertmanager.yaml`) whose receivers point at the demo's own sinks, so the
//! demo shows which notification reaches Slack, e-mail and PagerDuty.

use std::net::SocketAddr;

use anyhow::{Context, Result};

use super::local::{self, Local};
use super::sinks;
use crate::config::Resolved;
use crate::generate::{self, Endpoints};

/// The binary names Debian and upstream install.
const BINARIES: [&str; 2] = ["prometheus-alertmanager", "alertmanager"];

/// A running Alertmanager and its working directory; both go away on drop.
pub(crate) struct Running {
    pub(crate) server: Local,
    _dir: tempfile::TempDir,
}

/// The receiver endpoints of the demo's sinks: HTTP ones on the demo at `demo`, e-mail at
/// `smtp`.
pub(crate) fn sink_endpoints(demo: SocketAddr, smtp: SocketAddr) -> Endpoints {
    Endpoints {
        slack_api_url: Some(format!("http://{demo}{}", sinks::SLACK_PATH)),
        pagerduty_url: Some(format!("http://{demo}{}", sinks::PAGERDUTY_PATH)),
        pagerduty_routing_key: Some("redmetrics-demo-local-sink".to_owned()),
        smtp_smarthost: Some(smtp.to_string()),
        ..Endpoints::default()
    }
}

/// Starts Alertmanager on `listen` with `r`'s routing and `endpoints`, or explains how to get
/// it and returns `None`. One that cannot start is an error with its own log.
pub(crate) async fn start(
    r: &Resolved,
    listen: SocketAddr,
    endpoints: &Endpoints,
) -> Result<Option<Running>> {
    let Some(binary) = local::find(&BINARIES) else {
        tracing::warn!(
            "--with-prometheus: no `prometheus-alertmanager` (or `alertmanager`) on PATH, so no \
             notifications; install it (Debian/Ubuntu: `apt-get install prometheus-alertmanager`) \
             and run again. Going on without Alertmanager."
        );
        return Ok(None);
    };
    if r.notify.is_none() {
        tracing::warn!(
            "--with-prometheus: app `{}` has no [notify] settings, so no routing to show; add \
             [notify] to the config (see docs/routing.md). Going on without \
             Alertmanager.",
            r.app.name
        );
        return Ok(None);
    }
    let dir = tempfile::tempdir().context("temporary directory for Alertmanager")?;
    std::fs::write(
        dir.path().join("alertmanager.yml"),
        generate::alertmanager_yaml(r, endpoints)?,
    )?;
    let args = [
        "--config.file=alertmanager.yml".to_owned(),
        "--storage.path=data".to_owned(),
        format!("--web.listen-address={listen}"),
        // Single node: no gossip port to collide with.
        "--cluster.listen-address=".to_owned(),
    ];
    let server = local::start("alertmanager", &binary, &args, dir.path())
        .await
        .context(
            "--with-prometheus: Alertmanager did not start (is --alertmanager-listen taken?)",
        )?;
    tracing::info!(
        "alertmanager ({}) on http://{}, log in {}",
        binary.display(),
        server.addr,
        server.log.display()
    );
    if let Some(url) = local::first_answering(server.addr, &["/#/alerts"]).await {
        tracing::info!("alertmanager: {url}   (grouped, inhibited and silenced alerts)");
    }
    Ok(Some(Running { server, _dir: dir }))
}
