//! `redmetrics init`: the first step for a service of your own. Writes a commented
//! `redmetrics.toml` for one app from a few flags, checked by the same loader as any config
//! before anything is written, so `redmetrics generate` works on it at once. An existing file
//! is kept unless `--force` says otherwise.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, anyhow};

use crate::config::Config;

/// Flags of `redmetrics init`.
#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Short name of the app: names the generated files and objects (e.g. `shop`).
    #[arg(long)]
    name: String,
    /// Kubernetes namespace the app and its Service run in.
    #[arg(long)]
    namespace: String,
    /// Name of the app's Kubernetes Service; it becomes the `job` label of its series.
    #[arg(long)]
    service: String,
    /// Name (not number) of the Service port that serves the metrics (e.g. `http`).
    #[arg(long)]
    port: String,
    /// Path the app serves its metrics on.
    #[arg(long, default_value = "/metrics")]
    metrics_path: String,
    /// Metric name prefix (`<prefix>_http_requests_total`); default: the name, `-` as `_`.
    #[arg(long)]
    prefix: Option<String>,
    /// The file to write.
    #[arg(long, default_value = "redmetrics.toml")]
    config: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    force: bool,
}

/// A TOML string literal holding `s`, escaped.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The commented configuration for one app. User values land only in TOML strings.
fn template(args: &InitArgs) -> String {
    let prefix = args
        .prefix
        .clone()
        .unwrap_or_else(|| args.name.replace('-', "_"));
    let [name, namespace, service, port, metrics_path, prefix] = [
        &args.name,
        &args.namespace,
        &args.service,
        &args.port,
        &args.metrics_path,
        &prefix,
    ]
    .map(|s| quoted(s));
    format!(
        r##"# redmetrics.toml, written by `redmetrics init`: the app that `redmetrics generate` writes
# a Grafana dashboard, alert rules (plain and as a PrometheusRule), a ServiceMonitor,
# Alertmanager routing and a Helm chart for, under deploy/. Edit it, then run
# `redmetrics generate` again; `redmetrics check manifests deploy/` checks the result.

# The kube-prometheus-stack that scrapes the app.
[stack]
# ServiceMonitors and PrometheusRules get `release: <this>`, which a default install of the
# stack selects on. Empty ("") leaves the label out.
release = "kube-prometheus-stack"
# The namespace the stack (and its Grafana) runs in.
namespace = "monitoring"

# Who hears about the alerts: warning goes to Slack and e-mail, critical also to PagerDuty.
# Replace the example addresses. Secrets are never written here: they are keys of the
# Kubernetes Secret `alertmanager-receivers` in the app's namespace, which the generated
# AlertmanagerConfig reads.
[notify]
grafana_url = "https://grafana.example.com"

[notify.slack]
channel = "#alerts"
api_url = {{ name = "alertmanager-receivers", key = "slack-api-url" }}

[notify.email]
to = ["oncall@example.com"]
from = "alertmanager@example.com"
smarthost = "smtp.example.com:587"

[notify.pagerduty]
routing_key = {{ name = "alertmanager-receivers", key = "pagerduty-routing-key" }}

[[apps]]
name = {name}
# Metric names start with this: {{prefix}}_http_requests_total, ... Give the same prefix to
# `HttpMetrics::builder` in the service.
prefix = {prefix}
namespace = {namespace}
# The Kubernetes Service in front of the app; its name becomes the `job` label.
service = {service}
# The NAME of the Service port serving the metrics (not its number).
port = {port}
metrics_path = {metrics_path}
interval = "30s"
scrape_timeout = "10s"

# The labels the Service carries: the ServiceMonitor selects it by these.
[apps.service_labels]
"app.kubernetes.io/name" = {service}

# When the alerts fire (these are the defaults).
[apps.alerts]
error_ratio = 0.05                   # RedmetricsHighErrorRate: 5xx share above 5 %
error_for = "5m"
latency_p95_seconds = 1.0            # RedmetricsHighLatencyP95: p95 above 1 s
latency_for = "5m"
min_request_rate = 0.1               # below 0.1 req/s the ratio alerts stay silent
target_down_for = "2m"
# availability_objective = 0.999     # adds multi-window multi-burn-rate alerts
# runbook_base = "https://runbooks.example.com/redmetrics"
"##
    )
}

/// Writes the file, after checking it as `generate` will read it.
pub(crate) fn run(args: &InitArgs) -> Result<()> {
    let text = template(args);
    Config::parse(&text).map_err(|e| anyhow!("{e}"))?;
    let path = &args.config;
    let mut file = if args.force {
        std::fs::File::create(path)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    }
    .map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => anyhow!(
            "{} already exists and is kept: pass --force to overwrite it, or --config to write another file",
            path.display()
        ),
        _ => anyhow!("cannot write {}: {e}", path.display()),
    })?;
    file.write_all(text.as_bytes())
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    crate::output::outln!(
        "wrote {} for app {}; next: `redmetrics generate{}` writes its files under deploy/",
        path.display(),
        args.name,
        if path.as_os_str() == "redmetrics.toml" {
            String::new()
        } else {
            format!(" --config {}", path.display())
        }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(name: &str) -> InitArgs {
        InitArgs {
            name: name.to_owned(),
            namespace: "shop".to_owned(),
            service: "shop-api".to_owned(),
            port: "http".to_owned(),
            metrics_path: "/metrics".to_owned(),
            prefix: None,
            config: PathBuf::from("redmetrics.toml"),
            force: false,
        }
    }

    #[test]
    fn the_template_loads_as_the_app_it_was_given() {
        let config = Config::parse(&template(&args("my-shop"))).unwrap();
        let app = &config.apps[0].app;
        assert_eq!(app.name, "my-shop");
        assert_eq!(app.prefix.as_deref(), Some("my_shop"));
        assert_eq!(app.service, "shop-api");
        assert_eq!(app.port, "http");
    }

    #[test]
    fn values_cannot_break_out_of_their_strings() {
        let mut a = args("shop");
        a.metrics_path = "/m\"\nname = \"x".to_owned();
        let text = template(&a);
        let file: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(
            file["apps"][0]["metrics_path"].as_str(),
            Some(a.metrics_path.as_str())
        );
        assert_eq!(file["apps"][0]["name"].as_str(), Some("shop"));
    }
}
