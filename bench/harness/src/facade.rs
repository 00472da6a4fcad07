//! The `metrics` facade workload: one operation records a counter with a label, a gauge and
//! a histogram through the macros, into redmetrics' recorder or metrics-exporter-prometheus'.

use metrics::Recorder;

/// Which recorder takes the macro calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facade {
    /// `redmetrics::facade::FacadeRecorder`.
    Redmetrics,
    /// `metrics_exporter_prometheus::PrometheusRecorder`.
    ExporterPrometheus,
}

impl Facade {
    /// Both, in the order benchmarks report them.
    pub const ALL: [Self; 2] = [Self::Redmetrics, Self::ExporterPrometheus];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Redmetrics => "redmetrics",
            Self::ExporterPrometheus => "metrics-exporter-prometheus",
        }
    }

    /// A fresh recorder of this kind.
    pub fn recorder(self) -> Box<dyn Recorder> {
        match self {
            Self::Redmetrics => Box::new(
                redmetrics::facade::FacadeRecorder::builder(redmetrics::Registry::new())
                    .prefix("app")
                    .build(),
            ),
            Self::ExporterPrometheus => {
                Box::new(metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder())
            }
        }
    }
}

const RESULTS: [&str; 2] = ["hit", "miss"];

/// One operation: three macro calls with static keys (the common case in libraries).
#[inline]
pub fn record(i: u64) {
    metrics::counter!("cache_lookups_total", "result" => "hit").increment(1);
    metrics::gauge!("pool_size").set(i as f64);
    metrics::histogram!("fetch_seconds").record(0.001);
}

/// One operation with a label value chosen at run time (the macro builds its key).
#[inline]
pub fn record_dynamic(i: u64) {
    metrics::counter!("cache_lookups_total", "result" => RESULTS[i as usize % 2]).increment(1);
}

/// Creates 1,024 gauges (redmetrics' `facade::MAX_FAMILIES`), so that later names are
/// refused by redmetrics; the exporter has no limit and keeps them.
pub fn fill_families() {
    for i in 0..1024 {
        metrics::gauge!(format!("filler_{i}")).set(1.0);
    }
}

/// One recording through a name created after [`fill_families`]: past redmetrics' limit.
#[inline]
pub fn record_refused(_: u64) {
    metrics::counter!("past_the_limit_total").increment(1);
}
