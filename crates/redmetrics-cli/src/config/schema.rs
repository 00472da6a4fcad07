//! The TOML schema of `redmetrics.toml`: what a user may write, with serde defaults. Nothing
//! here is validated beyond its type; `resolve` checks every value and builds the contract.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::PromDuration;
use super::notify::NotifySettings;
use super::slo::SloSettings;

/// The kube-prometheus-stack installation that scrapes the apps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Stack {
    /// Helm release name of the stack: ServiceMonitors and PrometheusRules carry
    /// `release: <this>` so a default install selects them. Empty to omit the label.
    #[serde(default = "default_release")]
    pub(crate) release: String,
    /// Namespace the stack runs in.
    #[serde(default = "default_stack_namespace")]
    pub(crate) namespace: String,
    /// The annotation the Grafana sidecar reads folders from
    /// (`sidecar.dashboards.folderAnnotation`).
    #[serde(default = "default_folder_annotation")]
    pub(crate) folder_annotation: String,
    /// Narrow the stack's Alertmanager to AlertmanagerConfigs labelled `release: <release>`.
    /// Off by default: the stack then keeps loading every AlertmanagerConfig in the cluster,
    /// other teams' unlabelled ones included.
    #[serde(default)]
    pub(crate) narrow_alertmanager_selector: bool,
}

fn default_folder_annotation() -> String {
    "grafana_folder".to_owned()
}

fn default_release() -> String {
    "kube-prometheus-stack".to_owned()
}

fn default_stack_namespace() -> String {
    "monitoring".to_owned()
}

impl Default for Stack {
    fn default() -> Self {
        Self {
            release: default_release(),
            namespace: default_stack_namespace(),
            folder_annotation: default_folder_annotation(),
            narrow_alertmanager_selector: false,
        }
    }
}

/// Alert thresholds and timings of one app.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Alerts {
    /// RedmetricsHighErrorRate: fire when the 5xx ratio exceeds this (0.05 = 5 %).
    #[serde(default = "default_error_ratio")]
    pub(crate) error_ratio: f64,
    /// ... for this long.
    #[serde(default = "five_minutes")]
    pub(crate) error_for: PromDuration,
    /// RedmetricsHighLatencyP95: fire when p95 latency exceeds this many seconds.
    #[serde(default = "default_latency")]
    pub(crate) latency_p95_seconds: f64,
    /// ... for this long.
    #[serde(default = "five_minutes")]
    pub(crate) latency_for: PromDuration,
    /// Window of the `rate()` behind ratio and latency alerts; default 4 × scrape interval
    /// (at least 1m).
    pub(crate) rate_window: Option<PromDuration>,
    /// Requests per second below which ratio and latency alerts stay silent.
    #[serde(default = "default_min_rate")]
    pub(crate) min_request_rate: f64,
    /// RedmetricsTargetDown: a discovered target answers no scrape for this long.
    #[serde(default = "two_minutes")]
    pub(crate) target_down_for: PromDuration,
    /// RedmetricsTargetDown: no target of the job was ever discovered for this long.
    #[serde(default = "five_minutes")]
    pub(crate) target_absent_for: PromDuration,
    /// Moved to `[apps.slo]`: read only to refuse it with what to write there.
    pub(crate) availability_objective: Option<f64>,
    /// Base URL of the runbooks (your copy of `docs/runbooks.md`); each alert gets
    /// `runbook_url: <base>#<alert, lowercased>`. Unset: no `runbook_url` annotation, since
    /// any default would point at a page nobody hosts.
    pub(crate) runbook_base: Option<String>,
}

fn default_error_ratio() -> f64 {
    0.05
}
fn default_latency() -> f64 {
    1.0
}
fn default_min_rate() -> f64 {
    0.1
}
fn five_minutes() -> PromDuration {
    PromDuration::from_secs(300)
}
fn two_minutes() -> PromDuration {
    PromDuration::from_secs(120)
}

impl Default for Alerts {
    fn default() -> Self {
        Self {
            error_ratio: default_error_ratio(),
            error_for: five_minutes(),
            latency_p95_seconds: default_latency(),
            latency_for: five_minutes(),
            rate_window: None,
            min_request_rate: default_min_rate(),
            target_down_for: two_minutes(),
            target_absent_for: five_minutes(),
            availability_objective: None,
            runbook_base: None,
        }
    }
}

/// How request and response sizes are exported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Sizes {
    /// Summaries (the default): per-pod quantiles, no buckets to choose.
    #[default]
    Summary,
    /// Histograms: aggregate across pods with `histogram_quantile`.
    Histogram,
}

/// Where latency is also kept per response status: the words of
/// [`redmetrics::contract::DurationByStatus`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DurationByStatus {
    /// Per method and path only.
    Off,
    /// Also per status, for OTLP's `http.server.request.duration` (the default).
    #[default]
    Otlp,
    /// Per status on OTLP and on the Prometheus histogram (a `status` label).
    Everywhere,
}

impl DurationByStatus {
    /// The contract's value.
    pub(crate) fn contract(self) -> redmetrics::contract::DurationByStatus {
        use redmetrics::contract::DurationByStatus as C;
        match self {
            Self::Off => C::Off,
            Self::Otlp => C::Otlp,
            Self::Everywhere => C::Everywhere,
        }
    }
}

/// One summary quantile and its tolerated rank error (client_golang's `Objectives`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SummaryObjective {
    /// The quantile, in (0, 1).
    pub(crate) quantile: f64,
    /// Its rank error, in (0, 1).
    pub(crate) error: f64,
}

/// `[apps.metrics]`: the choices the metric contract leaves to the app. Everything `generate`,
/// `demo` and `check` do for the app follows from these.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Metrics {
    /// Request and response sizes as summaries (default) or histograms.
    #[serde(default)]
    pub(crate) sizes: Sizes,
    /// Latency bucket upper bounds in seconds (default .005 … 10).
    pub(crate) duration_buckets: Option<Vec<f64>>,
    /// Size bucket upper bounds in bytes, histogram sizes only (default 64 B … 16 MiB, ×4).
    pub(crate) size_buckets: Option<Vec<f64>>,
    /// Summary quantiles and rank errors, summary sizes only (default 0.5/0.9/0.99).
    pub(crate) summary_objectives: Option<Vec<SummaryObjective>>,
    /// The summaries' sliding window, summary sizes only (default 10m).
    pub(crate) summary_window: Option<PromDuration>,
    /// Bound on label sets per family before new ones fold into `__overflow__`
    /// (default 2000). The service sets it with `HttpMetrics::builder(..).max_label_sets(n)`.
    pub(crate) max_label_sets: Option<usize>,
    /// Native (exponential) buckets on the duration histogram, served in the protobuf
    /// format (default true).
    pub(crate) native_histogram: Option<bool>,
    /// The most native buckets a scrape exposes per series, 4 to 224 (default 160).
    pub(crate) native_max_buckets: Option<u32>,
    /// Where latency is also kept per response status: `"off"`, `"otlp"` (default) or
    /// `"everywhere"` (the Prometheus histogram gains the `status` label).
    #[serde(default)]
    pub(crate) duration_by_status: DurationByStatus,
}

/// One instrumented application and how it is deployed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct App {
    /// Short name: file and object names (`reviewmaps`).
    pub(crate) name: String,
    /// Metric prefix; defaults to `name`.
    pub(crate) prefix: Option<String>,
    /// Human title for the dashboard; defaults to `name`.
    pub(crate) title: Option<String>,
    /// Namespace the app (and its Service) runs in.
    pub(crate) namespace: String,
    /// Name of the Kubernetes Service; it becomes the `job` label.
    pub(crate) service: String,
    /// Name (not number) of the Service port serving metrics. A number is read so that it
    /// can be refused with the rule rather than with a type error.
    #[serde(deserialize_with = "port_name")]
    pub(crate) port: String,
    /// Path of the metrics endpoint.
    #[serde(default = "default_metrics_path")]
    pub(crate) metrics_path: String,
    /// Scrape interval.
    #[serde(default = "thirty_seconds")]
    pub(crate) interval: PromDuration,
    /// Scrape timeout; at most `interval`.
    #[serde(default = "ten_seconds")]
    pub(crate) scrape_timeout: PromDuration,
    /// Keep the duration histogram's classic series when Prometheus ingests its native
    /// buckets (ServiceMonitor `scrapeClassicHistograms`). Default: on when the contract
    /// serves native buckets (see [`super::Resolved::scrape_classic_histograms`]).
    pub(crate) scrape_classic_histograms: Option<bool>,
    /// Labels the Service carries; the ServiceMonitor selects on them. Default:
    /// `app.kubernetes.io/name: <service>`.
    #[serde(default)]
    pub(crate) service_labels: BTreeMap<String, String>,
    /// Put the ServiceMonitor in this namespace instead of the app's (adds a
    /// `namespaceSelector`).
    pub(crate) service_monitor_namespace: Option<String>,
    /// Take the `job` label from this Service label instead of the Service name.
    pub(crate) job_label: Option<String>,
    /// Grafana folder (the sidecar's folder annotation).
    pub(crate) dashboard_folder: Option<String>,
    /// The metric contract's options.
    #[serde(default)]
    pub(crate) metrics: Metrics,
    /// Alert thresholds.
    #[serde(default)]
    pub(crate) alerts: Alerts,
    /// Service level objectives, their period and burn-rate windows.
    #[serde(default)]
    pub(crate) slo: SloSettings,
    /// Notification routing; overrides the top-level `[notify]` field by field.
    pub(crate) notify: Option<NotifySettings>,
}

impl App {
    /// An app with every optional field at its default.
    pub(crate) fn new(name: &str, namespace: &str, service: &str, port: &str) -> Self {
        Self {
            name: name.to_owned(),
            prefix: None,
            title: None,
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            port: port.to_owned(),
            metrics_path: default_metrics_path(),
            interval: thirty_seconds(),
            scrape_timeout: ten_seconds(),
            scrape_classic_histograms: None,
            service_labels: BTreeMap::new(),
            service_monitor_namespace: None,
            job_label: None,
            dashboard_folder: None,
            metrics: Metrics::default(),
            alerts: Alerts::default(),
            slo: SloSettings::default(),
            notify: None,
        }
    }
}

/// A port given as a name or, by mistake, as a number (kept as its digits, so that
/// `resolve` refuses it with the rule about port names).
fn port_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct PortName;
    impl serde::de::Visitor<'_> for PortName {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the Service port's name, e.g. \"http\"")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(PortName)
}

fn default_metrics_path() -> String {
    "/metrics".to_owned()
}
fn thirty_seconds() -> PromDuration {
    PromDuration::from_secs(30)
}
fn ten_seconds() -> PromDuration {
    PromDuration::from_secs(10)
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    #[serde(default)]
    pub(crate) stack: Stack,
    #[serde(default)]
    pub(crate) apps: Vec<App>,
    /// Notification defaults shared by every app.
    pub(crate) notify: Option<NotifySettings>,
}
