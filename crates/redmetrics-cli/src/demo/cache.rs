//! The demo's application metric, recorded through the `metrics` facade as a library would:
//! `<prefix>_demo_cache_lookups_total{result="hit"|"miss"}`, counted on each campaign read.

use anyhow::{Context, Result};
use redmetrics::HttpMetrics;
use redmetrics::facade::FacadeRecorder;

/// Installs redmetrics' facade recorder globally, writing into the demo's registry.
pub(super) fn install(metrics: &HttpMetrics, prefix: &str) -> Result<()> {
    FacadeRecorder::builder(metrics.registry().clone())
        .prefix(prefix)
        .build()
        .install()
        .context("metrics facade")?;
    metrics::describe_counter!(
        "demo_cache_lookups_total",
        "Campaign cache lookups in the demo, by result (hit or miss)."
    );
    Ok(())
}

/// Counts one cache lookup of campaign `id`: the demo's cache holds campaigns 1 to 50.
pub(super) fn lookup(id: Option<u64>) {
    let result = match id {
        Some(1..=50) => "hit",
        _ => "miss",
    };
    metrics::counter!("demo_cache_lookups_total", "result" => result).increment(1);
}
