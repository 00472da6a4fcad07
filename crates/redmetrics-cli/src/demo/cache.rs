//! The demo's application metrics, recorded through the `metrics` facade as a library would:
//! `<prefix>_demo_cache_lookups_total{result="hit"|"miss"}`, counted on each campaign read,
//! and the dotted `<prefix>_demo.cache.entries`, which a scraper that allows UTF-8
//! (Prometheus 3) reads quoted and Prometheus 2.x as `<prefix>_demo_cache_entries`.

use anyhow::{Context, Result};
use redmetrics::HttpMetrics;
use redmetrics::facade::FacadeRecorder;

/// The cache's size, recorded under a name outside Prometheus 2.x's character set.
const CACHE_ENTRIES: &str = "demo.cache.entries";

/// The demo's cache holds campaigns 1 to this.
const CACHED: u32 = 50;

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
    metrics::describe_gauge!(
        CACHE_ENTRIES,
        "Campaigns the demo's cache holds; a dotted name, served quoted to scrapers that allow UTF-8."
    );
    metrics::gauge!(CACHE_ENTRIES).set(f64::from(CACHED));
    Ok(())
}

/// Counts one cache lookup of campaign `id`: the demo's cache holds campaigns 1 to 50.
pub(super) fn lookup(id: Option<u64>) {
    let result = match id {
        Some(id) if (1..=u64::from(CACHED)).contains(&id) => "hit",
        _ => "miss",
    };
    metrics::counter!("demo_cache_lookups_total", "result" => result).increment(1);
}
