//! `redmetrics.toml`: which applications to generate operations artifacts for, and how they
//! are deployed. Every field is checked against the rule Kubernetes, the Prometheus Operator
//! or Prometheus would apply later, so a mistake is reported here, naming the field.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use redmetrics::Contract;
use serde::{Deserialize, Serialize};

/// A configuration mistake: the field (`apps[0].port`) and what rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub(crate) struct ConfigError {
    pub(crate) field: String,
    pub(crate) rule: String,
}

fn err(field: impl Into<String>, rule: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        rule: rule.into(),
    }
}

/// A Prometheus duration (`30s`, `5m`, `1h30m`), kept in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PromDuration(u64);

impl PromDuration {
    pub(crate) const fn from_secs(s: u64) -> Self {
        Self(s * 1000)
    }

    pub(crate) fn millis(self) -> u64 {
        self.0
    }

    /// Parses Prometheus' duration syntax: units y, w, d, h, m, s, ms, largest first.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        // Largest first; the index orders units by size.
        const UNITS: [(&str, u64); 7] = [
            ("y", 365 * 86_400_000),
            ("w", 7 * 86_400_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ];
        let bad = || format!("`{s}` is not a Prometheus duration (e.g. `30s`, `5m`, `1h30m`)");
        if s.is_empty() {
            return Err(bad());
        }
        let mut rest = s;
        let mut total = 0u64;
        let mut previous: Option<usize> = None;
        while !rest.is_empty() {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit = UNITS
                .iter()
                .rposition(|(u, _)| rest.starts_with(u))
                .ok_or_else(bad)?;
            if previous.is_some_and(|p| unit <= p) {
                return Err(bad());
            }
            previous = Some(unit);
            rest = &rest[UNITS[unit].0.len()..];
            total = n
                .checked_mul(UNITS[unit].1)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
        }
        Ok(Self(total))
    }
}

impl fmt::Display for PromDuration {
    /// The shortest canonical form Prometheus itself prints (`1h30m`, `2m`, `500ms`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut ms = self.0;
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for PromDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

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
        }
    }
}

/// Alert thresholds and timings of one app.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Alerts {
    /// HighErrorRate: fire when the 5xx ratio exceeds this (0.05 = 5 %).
    #[serde(default = "default_error_ratio")]
    pub(crate) error_ratio: f64,
    /// ... for this long.
    #[serde(default = "five_minutes")]
    pub(crate) error_for: PromDuration,
    /// HighLatencyP95: fire when p95 latency exceeds this many seconds.
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
    /// TargetDown: a discovered target answers no scrape for this long.
    #[serde(default = "two_minutes")]
    pub(crate) target_down_for: PromDuration,
    /// TargetDown: no target of the job was ever discovered for this long.
    #[serde(default = "five_minutes")]
    pub(crate) target_absent_for: PromDuration,
    /// Availability objective (0.999 = 99.9 % of requests not 5xx): adds multi-window
    /// multi-burn-rate alerts and their recording rules.
    pub(crate) availability_objective: Option<f64>,
    /// Base of each alert's `runbook_url`; the alert name, lowercased, is the anchor.
    #[serde(default = "default_runbook")]
    pub(crate) runbook_base: String,
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
fn default_runbook() -> String {
    "https://github.com/redmetrics/redmetrics/blob/main/docs/runbooks.md".to_owned()
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
            runbook_base: default_runbook(),
        }
    }
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
    /// Name (not number) of the Service port serving metrics.
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
    /// Alert thresholds.
    #[serde(default)]
    pub(crate) alerts: Alerts,
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
pub(crate) struct Config {
    #[serde(default)]
    pub(crate) stack: Stack,
    #[serde(default, rename = "apps")]
    pub(crate) apps: Vec<App>,
}

/// An app with its defaults resolved and its contract built: what generators consume.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) app: App,
    pub(crate) contract: Contract,
    /// The `job` label value Prometheus will give the app's series.
    pub(crate) job: String,
    pub(crate) title: String,
    pub(crate) rate_window: PromDuration,
    pub(crate) stack: Stack,
}

impl Resolved {
    pub(crate) fn prefix(&self) -> &str {
        self.contract.prefix().as_str()
    }

    /// Namespace the ServiceMonitor and PrometheusRule are created in.
    pub(crate) fn monitor_namespace(&self) -> &str {
        self.app
            .service_monitor_namespace
            .as_deref()
            .unwrap_or(&self.app.namespace)
    }
}

impl Config {
    /// Reads and checks a config file.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Vec<Resolved>> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Parses and checks config text.
    pub(crate) fn parse(text: &str) -> Result<Vec<Resolved>, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let field = e
                .span()
                .map(|s| {
                    let line = text[..s.start].lines().count().max(1);
                    format!("line {line}")
                })
                .unwrap_or_else(|| "redmetrics.toml".to_owned());
            err(field, e.message().to_owned())
        })?;
        config.resolve()
    }

    fn resolve(self) -> Result<Vec<Resolved>, ConfigError> {
        if self.apps.is_empty() {
            return Err(err(
                "apps",
                "no application configured: add an [[apps]] table with name, namespace, service and port",
            ));
        }
        if !self.stack.release.is_empty() {
            check_label_value("stack.release", &self.stack.release)?;
        }
        check_dns_label("stack.namespace", &self.stack.namespace)?;
        let mut out: Vec<Resolved> = Vec::new();
        for (i, mut app) in self.apps.into_iter().enumerate() {
            let at = |f: &str| format!("apps[{i}] ({}).{f}", app.name);
            check_dns_label(&format!("apps[{i}].name"), &app.name)?;
            if out.iter().any(|r| r.app.name == app.name) {
                return Err(err(
                    at("name"),
                    "another app has the same name; names must be unique",
                ));
            }
            check_dns_label(&at("namespace"), &app.namespace)?;
            check_dns_label(&at("service"), &app.service)?;
            if !app.service.starts_with(|c: char| c.is_ascii_lowercase()) {
                return Err(err(
                    at("service"),
                    "a Service name must start with a lowercase letter (DNS-1035 label)",
                ));
            }
            check_port_name(&at("port"), &app.port)?;
            if !app.metrics_path.starts_with('/')
                || app
                    .metrics_path
                    .contains(|c: char| c.is_whitespace() || c == '?' || c == '#')
            {
                return Err(err(
                    at("metrics_path"),
                    format!(
                        "`{}` must be an absolute path without query (e.g. `/metrics`)",
                        app.metrics_path
                    ),
                ));
            }
            if app.scrape_timeout > app.interval {
                return Err(err(
                    at("scrape_timeout"),
                    format!(
                        "scrapeTimeout {} is longer than interval {}: the Prometheus Operator rejects such a ServiceMonitor; make scrape_timeout at most the interval",
                        app.scrape_timeout, app.interval
                    ),
                ));
            }
            if app.scrape_timeout.millis() == 0 || app.interval.millis() == 0 {
                return Err(err(
                    at("interval"),
                    "interval and scrape_timeout must be positive",
                ));
            }
            if let Some(ns) = &app.service_monitor_namespace {
                check_dns_label(&at("service_monitor_namespace"), ns)?;
            }
            if app.service_labels.is_empty() {
                app.service_labels
                    .insert("app.kubernetes.io/name".to_owned(), app.service.clone());
            }
            for (k, v) in &app.service_labels {
                check_label_key(&at("service_labels"), k)?;
                check_label_value(&at(&format!("service_labels.\"{k}\"")), v)?;
            }
            let job = match &app.job_label {
                None => app.service.clone(),
                Some(l) => app.service_labels.get(l).cloned().ok_or_else(|| {
                    err(
                        at("job_label"),
                        format!("the job label is read from the Service label `{l}`, which service_labels does not list: add it there"),
                    )
                })?,
            };
            let prefix = app
                .prefix
                .clone()
                .unwrap_or_else(|| app.name.replace('-', "_"));
            let contract = Contract::new(&prefix).map_err(|e| err(at("prefix"), e.to_string()))?;
            let a = &app.alerts;
            if !(a.error_ratio > 0.0 && a.error_ratio < 1.0) {
                return Err(err(
                    at("alerts.error_ratio"),
                    format!("{} is not a ratio in (0, 1): 0.05 means 5 %", a.error_ratio),
                ));
            }
            if !(a.latency_p95_seconds > 0.0 && a.latency_p95_seconds.is_finite()) {
                return Err(err(
                    at("alerts.latency_p95_seconds"),
                    "must be a positive number of seconds",
                ));
            }
            if !(a.min_request_rate >= 0.0 && a.min_request_rate.is_finite()) {
                return Err(err(
                    at("alerts.min_request_rate"),
                    "must be zero or a positive rate in requests per second",
                ));
            }
            if let Some(o) = a.availability_objective
                && !(o > 0.5 && o < 1.0)
            {
                return Err(err(
                    at("alerts.availability_objective"),
                    format!(
                        "{o} is not an objective in (0.5, 1): 0.999 means 99.9 % of requests succeed"
                    ),
                ));
            }
            let rate_window = a
                .rate_window
                .unwrap_or_else(|| PromDuration((app.interval.millis() * 4).max(60_000)));
            if rate_window.millis() < app.interval.millis() * 2 {
                return Err(err(
                    at("alerts.rate_window"),
                    format!(
                        "{rate_window} holds fewer than two scrapes at interval {}: rate() needs two samples; use at least {} (4 × the interval is the usual)",
                        app.interval,
                        PromDuration(app.interval.millis() * 2)
                    ),
                ));
            }
            out.push(Resolved {
                title: app.title.clone().unwrap_or_else(|| app.name.clone()),
                job,
                contract,
                rate_window,
                stack: self.stack.clone(),
                app,
            });
        }
        Ok(out)
    }
}

/// `Ok` when `ok`, else the error for `field` with the rule `rule()` states.
fn require(ok: bool, field: &str, rule: impl FnOnce() -> String) -> Result<(), ConfigError> {
    if ok { Ok(()) } else { Err(err(field, rule())) }
}

/// Lowercase letters, digits and `-`, at most `max`, starting and ending alphanumeric.
fn dns_label_like(v: &str, max: usize) -> bool {
    !v.is_empty()
        && v.len() <= max
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-')
}

fn check_dns_label(field: &str, v: &str) -> Result<(), ConfigError> {
    require(dns_label_like(v, 63), field, || {
        format!(
            "`{v}` is not a DNS-1123 label: lowercase letters, digits and `-`, at most 63, starting and ending alphanumeric"
        )
    })
}

/// Kubernetes `IANA_SVC_NAME`: what a named Service port must look like.
fn check_port_name(field: &str, v: &str) -> Result<(), ConfigError> {
    require(
        v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()),
        field,
        || {
            format!(
                "`{v}` is a port number, but a ServiceMonitor endpoint selects the Service port by its name: name the port in the Service (e.g. `http`) and give that name here"
            )
        },
    )?;
    let ok =
        dns_label_like(v, 15) && v.bytes().any(|b| b.is_ascii_lowercase()) && !v.contains("--");
    require(ok, field, || {
        format!(
            "`{v}` is not a valid port name (IANA_SVC_NAME): at most 15 lowercase letters, digits and single `-`, with at least one letter"
        )
    })
}

fn check_label_value(field: &str, v: &str) -> Result<(), ConfigError> {
    let ok = v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && (v.is_empty()
            || (v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric())));
    require(ok, field, || {
        format!(
            "`{v}` is not a Kubernetes label value: at most 63 of [A-Za-z0-9-_.], starting and ending alphanumeric"
        )
    })
}

fn check_label_key(field: &str, k: &str) -> Result<(), ConfigError> {
    let (prefix, name) = k.rsplit_once('/').unwrap_or(("", k));
    let name_ok = !name.is_empty() && check_label_value(field, name).is_ok();
    let prefix_ok = prefix.is_empty()
        || (prefix.len() <= 253 && prefix.split('.').all(|p| dns_label_like(p, 63)));
    require(name_ok && prefix_ok, field, || {
        format!(
            "`{k}` is not a Kubernetes label key: an optional DNS prefix and `/`, then at most 63 of [A-Za-z0-9-_.]"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[apps]]
name = "reviewmaps"
namespace = "reviewmaps"
service = "reviewmaps-server"
port = "http"
"#;

    fn field_error(extra: &str) -> ConfigError {
        Config::parse(&format!("{MINIMAL}{extra}")).unwrap_err()
    }

    #[test]
    fn durations_follow_prometheus() {
        for (s, ms) in [
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("500ms", 500),
            ("1d", 86_400_000),
        ] {
            let d = PromDuration::parse(s).unwrap();
            assert_eq!(d.millis(), ms);
            assert_eq!(d.to_string(), s);
        }
        for bad in ["", "5", "m", "5x", "1m1h", "1.5m", "-1m"] {
            assert!(PromDuration::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_resolve() {
        let r = &Config::parse(MINIMAL).unwrap()[0];
        assert_eq!(r.prefix(), "reviewmaps");
        assert_eq!(r.job, "reviewmaps-server");
        assert_eq!(r.rate_window.to_string(), "2m");
        assert_eq!(
            r.app.service_labels["app.kubernetes.io/name"],
            "reviewmaps-server"
        );
        assert_eq!(r.stack.release, "kube-prometheus-stack");
    }

    #[test]
    fn mistakes_name_the_field_and_the_rule() {
        let e = Config::parse(&MINIMAL.replace("\"http\"", "\"3000\"")).unwrap_err();
        assert_eq!(e.field, "apps[0] (reviewmaps).port");
        assert!(e.rule.contains("by its name"), "{e}");
        let e = field_error("interval = \"10s\"\nscrape_timeout = \"15s\"\n");
        assert!(
            e.field.ends_with("scrape_timeout") && e.rule.contains("at most the interval"),
            "{e}"
        );
        let e = field_error("metrics_path = \"metrics\"\n");
        assert!(e.field.ends_with("metrics_path"), "{e}");
        let e = field_error("prefix = \"review-maps\"\n");
        assert!(
            e.field.ends_with("prefix") && e.rule.contains("[a-zA-Z_]"),
            "{e}"
        );
        let e = field_error("job_label = \"team\"\n");
        assert!(e.rule.contains("service_labels"), "{e}");
        let e = field_error("[apps.alerts]\nerror_ratio = 5\n");
        assert!(e.field.ends_with("alerts.error_ratio"), "{e}");
        let e = field_error("[apps.alerts]\nrate_window = \"30s\"\n");
        assert!(e.rule.contains("two scrapes"), "{e}");
        let e = field_error("intervall = \"30s\"\n");
        assert!(
            e.rule.contains("unknown field") && e.field.starts_with("line"),
            "{e}"
        );
        let e = Config::parse(&MINIMAL.replace("reviewmaps-server", "Reviewmaps")).unwrap_err();
        assert!(e.field.ends_with("service"), "{e}");
    }
}
