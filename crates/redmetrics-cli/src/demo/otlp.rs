//! `redmetrics demo --otlp-endpoint URL`: the demo's series pushed as OTLP/HTTP to an
//! OpenTelemetry receiver by the library's exporter, next to the Prometheus endpoint. The
//! flags are checked here (URL, interval bounds, `K=V` headers) so a mistake stops the demo
//! with one sentence before it listens.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use redmetrics::HttpMetrics;
use redmetrics::otlp::{MAX_INTERVAL, MIN_INTERVAL, OtlpExporter, OtlpStats, Temporality};

use crate::config::PromDuration;

/// The OTLP options of `redmetrics demo`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OtlpArgs {
    /// Also push the metrics as OTLP/HTTP protobuf to this receiver (an OpenTelemetry
    /// Collector's http://HOST:4318, or https://; `/v1/metrics` is appended).
    #[arg(long, value_name = "URL")]
    pub(crate) otlp_endpoint: Option<String>,
    /// How often to push (100ms to 1h), e.g. 1s or 30s.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = interval, requires = "otlp_endpoint")]
    pub(crate) otlp_interval: Duration,
    /// A header sent with every push, as NAME=VALUE (an API key); repeatable.
    #[arg(long, value_name = "NAME=VALUE", value_parser = header, requires = "otlp_endpoint")]
    pub(crate) otlp_header: Vec<(String, String)>,
    /// With an https endpoint: trust only the CA certificates of this PEM file (a private
    /// collector's CA) instead of the system's.
    #[arg(long, value_name = "FILE", requires = "otlp_endpoint")]
    pub(crate) otlp_cacert: Option<std::path::PathBuf>,
    /// Push deltas (the change since the last accepted push) instead of cumulative counts.
    #[arg(long, requires = "otlp_endpoint")]
    pub(crate) otlp_delta: bool,
}

/// An interval within the exporter's bounds, in Prometheus' duration syntax.
fn interval(s: &str) -> Result<Duration, String> {
    let d = PromDuration::parse(s)?.as_std();
    if (MIN_INTERVAL..=MAX_INTERVAL).contains(&d) {
        Ok(d)
    } else {
        Err(format!("`{s}` is out of range: give 100ms to 1h, e.g. 1s"))
    }
}

/// `NAME=VALUE`.
fn header(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err("write it as NAME=VALUE, e.g. x-api-key=s3cret".to_owned()),
    }
}

/// Starts the exporter when `--otlp-endpoint` was given; keep the result alive as long as
/// the demo runs.
pub(crate) fn start(
    args: &OtlpArgs,
    metrics: &HttpMetrics,
    service_name: &str,
) -> Result<Option<Arc<OtlpExporter>>> {
    let Some(endpoint) = &args.otlp_endpoint else {
        return Ok(None);
    };
    let mut builder = OtlpExporter::builder(metrics, endpoint.as_str())
        .interval(args.otlp_interval)
        .service_name(service_name)
        .service_version(env!("CARGO_PKG_VERSION"))
        .temporality(if args.otlp_delta {
            Temporality::Delta
        } else {
            Temporality::Cumulative
        });
    if let Some(path) = &args.otlp_cacert {
        let pem = std::fs::read(path)
            .with_context(|| format!("--otlp-cacert {}: cannot read it", path.display()))?;
        builder = builder.ca_certificates_pem(pem);
    }
    for (k, v) in &args.otlp_header {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let exporter = Arc::new(builder.spawn().context("--otlp-endpoint")?);
    tokio::spawn(watch(Arc::clone(&exporter), args.otlp_interval));
    tracing::info!(
        "pushing OTLP metrics to {endpoint} every {:?}",
        args.otlp_interval
    );
    Ok(Some(exporter))
}

/// Logs a line when pushes start failing and when they recover, at most once per interval.
async fn watch(exporter: Arc<OtlpExporter>, every: Duration) {
    let mut last = OtlpStats::default();
    let mut failing = false;
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let now = exporter.stats();
        if now.failed_attempts > last.failed_attempts && !failing {
            failing = true;
            tracing::warn!(
                "OTLP push failing ({} snapshots dropped so far); retrying with backoff",
                now.dropped
            );
        } else if now.delivered > last.delivered && failing {
            failing = false;
            tracing::info!("OTLP push delivered again");
        }
        last = now;
    }
}
