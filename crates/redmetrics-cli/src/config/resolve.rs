//! Resolution: one app of the schema, checked field by field, with its defaults filled in and
//! its metric contract built. [`Resolved::new`] is the only way to get a [`Resolved`], and
//! [`default_contract`] the only place a contract is built from the defaults alone.

use redmetrics::contract::{Contract, ContractBuilder, Shape, SizeMetrics};
use redmetrics::metrics::{Buckets, NativeLayout, Objective};

use super::names::{
    check_dns_label, check_label_key, check_label_value, check_port_name, check_service_name,
    require,
};
use super::notify::{self, Notify};
use super::schema::{App, Metrics, Sizes, Stack};
use super::slo::{self, Slo};
use super::{ConfigError, PromDuration};

/// Most buckets a histogram may have: each one is a series per label set.
const MAX_BUCKETS: usize = 40;
/// Most summary quantiles: each one is a series per label set.
const MAX_QUANTILES: usize = 10;
/// Bounds of `max_label_sets`.
const MAX_LABEL_SETS: usize = 100_000;
/// Shortest summary window: the sketch rotates five slices, and fewer requests make noise.
const MIN_SUMMARY_WINDOW: PromDuration = PromDuration::from_secs(60);
/// Longest summary window: quantiles older than this describe another service.
const MAX_SUMMARY_WINDOW: PromDuration = PromDuration::from_secs(3600);

/// An app with its defaults resolved and its contract built: what generators, the demo and
/// the checker consume.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) app: App,
    pub(crate) contract: Contract,
    /// The `job` label value Prometheus will give the app's series.
    pub(crate) job: String,
    pub(crate) title: String,
    pub(crate) rate_window: PromDuration,
    /// Bound on label sets per family, for the service's `HttpMetrics` builder.
    pub(crate) max_label_sets: Option<usize>,
    pub(crate) stack: Stack,
    /// Who hears about the app's alerts; `None` when no `[notify]` applies.
    pub(crate) notify: Option<Notify>,
    /// The checked `[apps.slo]`; `None` when no objective is set.
    pub(crate) slo: Option<Slo>,
}

impl Resolved {
    /// Checks every field of `app` (field names relative to the app, e.g. `port`) and builds
    /// its contract. The config file, the demo and the chart all resolve apps through here.
    pub(crate) fn new(mut app: App, stack: &Stack) -> Result<Self, ConfigError> {
        check_dns_label("name", &app.name)?;
        check_dns_label("namespace", &app.namespace)?;
        check_service_name("service", &app.service)?;
        check_port_name("port", &app.port)?;
        require(
            app.metrics_path.starts_with('/')
                && !app
                    .metrics_path
                    .contains(|c: char| c.is_whitespace() || c == '?' || c == '#'),
            "metrics_path",
            || {
                format!(
                    "`{}` must be an absolute path without query (e.g. `/metrics`)",
                    app.metrics_path
                )
            },
        )?;
        require(app.scrape_timeout <= app.interval, "scrape_timeout", || {
            format!(
                "scrapeTimeout {} is longer than interval {}: the Prometheus Operator rejects such a ServiceMonitor; make scrape_timeout at most the interval",
                app.scrape_timeout, app.interval
            )
        })?;
        require(
            app.scrape_timeout.millis() > 0 && app.interval.millis() > 0,
            "interval",
            || "interval and scrape_timeout must be positive (e.g. `30s` and `10s`)".to_owned(),
        )?;
        if let Some(ns) = &app.service_monitor_namespace {
            check_dns_label("service_monitor_namespace", ns)?;
        }
        if app.service_labels.is_empty() {
            app.service_labels
                .insert("app.kubernetes.io/name".to_owned(), app.service.clone());
        }
        for (k, v) in &app.service_labels {
            check_label_key("service_labels", k)?;
            check_label_value(&format!("service_labels.\"{k}\""), v)?;
        }
        let job = match &app.job_label {
            None => app.service.clone(),
            Some(l) => app.service_labels.get(l).cloned().ok_or_else(|| {
                ConfigError::new(
                    "job_label",
                    format!("the job label is read from the Service label `{l}`, which service_labels does not list: add it there"),
                )
            })?,
        };
        let prefix = app
            .prefix
            .clone()
            .unwrap_or_else(|| app.name.replace('-', "_"));
        let contract = contract(&prefix, &app.metrics)?;
        let max_label_sets = app.metrics.max_label_sets;
        if let Some(n) = max_label_sets {
            require(
                (1..=MAX_LABEL_SETS).contains(&n),
                "metrics.max_label_sets",
                || {
                    format!(
                        "{n} is outside 1..={MAX_LABEL_SETS}: the bound on label sets per family (e.g. `max_label_sets = 2000`)"
                    )
                },
            )?;
        }
        let rate_window = check_alerts(&app)?;
        let notify = notify::resolve(app.notify.clone())?;
        let duration_buckets = match contract.duration().shape() {
            Shape::Histogram(b) => Some(&**b),
            _ => None,
        };
        let slo = slo::resolve(
            &app.slo,
            app.alerts.availability_objective,
            duration_buckets,
        )?;
        Ok(Self {
            notify,
            slo,
            title: app.title.clone().unwrap_or_else(|| app.name.clone()),
            job,
            contract,
            rate_window,
            max_label_sets,
            stack: stack.clone(),
            app,
        })
    }

    pub(crate) fn prefix(&self) -> &str {
        self.contract.prefix().as_str()
    }

    /// Whether Prometheus should keep the duration histogram's classic series next to its
    /// native ones. On by default when the app serves native buckets: the generated queries
    /// read either form, but a Prometheus that ingests native histograms would otherwise
    /// drop `_bucket`/`_count`/`_sum`, which other tools' dashboards and rules still read.
    pub(crate) fn scrape_classic_histograms(&self) -> bool {
        self.app
            .scrape_classic_histograms
            .unwrap_or(self.contract.native_histogram().is_some())
    }

    /// Namespace the ServiceMonitor and PrometheusRule are created in.
    pub(crate) fn monitor_namespace(&self) -> &str {
        self.app
            .service_monitor_namespace
            .as_deref()
            .unwrap_or(&self.app.namespace)
    }
}

/// The contract of an app configured with nothing but its prefix: `[apps.metrics]` at its
/// defaults. What `check --prefix` judges against when no config is given.
pub(crate) fn default_contract(prefix: &str) -> Result<Contract, ConfigError> {
    contract(prefix, &Metrics::default())
}

/// Checks `[apps.metrics]` and builds the contract of `prefix` from it.
fn contract(prefix: &str, m: &Metrics) -> Result<Contract, ConfigError> {
    let mut b = Contract::builder(prefix);
    if let Some(bounds) = &m.duration_buckets {
        b = b.duration_buckets(buckets(
            "metrics.duration_buckets",
            bounds,
            "duration_buckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]",
        )?);
    }
    b = native(b, m)?;
    b = b.duration_by_status(m.duration_by_status.contract());
    match m.sizes {
        Sizes::Summary => {
            let refuse = |field: &str| {
                ConfigError::new(
                    format!("metrics.{field}"),
                    format!(
                        "{field} applies to histogram sizes, but sizes are summaries: add `sizes = \"histogram\"` or remove {field}"
                    ),
                )
            };
            if m.size_buckets.is_some() {
                return Err(refuse("size_buckets"));
            }
            if let Some(objectives) = &m.summary_objectives {
                require(
                    !objectives.is_empty() && objectives.len() <= MAX_QUANTILES,
                    "metrics.summary_objectives",
                    || {
                        format!(
                            "list 1 to {MAX_QUANTILES} quantiles (e.g. `summary_objectives = [{{ quantile = 0.5, error = 0.05 }}, {{ quantile = 0.99, error = 0.001 }}]`)"
                        )
                    },
                )?;
                let objectives: Vec<Objective> = objectives
                    .iter()
                    .map(|o| Objective {
                        quantile: o.quantile,
                        error: o.error,
                    })
                    .collect();
                b = b.objectives(objectives);
            }
            if let Some(w) = m.summary_window {
                require(
                    (MIN_SUMMARY_WINDOW..=MAX_SUMMARY_WINDOW).contains(&w),
                    "metrics.summary_window",
                    || {
                        format!(
                            "{w} is outside {MIN_SUMMARY_WINDOW} to {MAX_SUMMARY_WINDOW}: shorter windows hold too few requests for a quantile, longer ones describe the past (e.g. `summary_window = \"10m\"`)"
                        )
                    },
                )?;
                b = b.summary_window(w.as_std());
            }
        }
        Sizes::Histogram => {
            let refuse = |field: &str| {
                ConfigError::new(
                    format!("metrics.{field}"),
                    format!(
                        "{field} applies to summary sizes, but sizes are histograms: remove {field} (histograms take size_buckets)"
                    ),
                )
            };
            if m.summary_objectives.is_some() {
                return Err(refuse("summary_objectives"));
            }
            if m.summary_window.is_some() {
                return Err(refuse("summary_window"));
            }
            let sizes = match &m.size_buckets {
                Some(bounds) => SizeMetrics::Histogram(buckets(
                    "metrics.size_buckets",
                    bounds,
                    "size_buckets = [256, 1024, 4096, 16384, 65536, 262144, 1048576]",
                )?),
                None => SizeMetrics::default_histogram(),
            };
            b = b.sizes(sizes);
        }
    }
    b.build().map_err(|e| match e {
        redmetrics::contract::ContractError::Summary(_) => ConfigError::new(
            "metrics.summary_objectives",
            format!("{e} (e.g. `summary_objectives = [{{ quantile = 0.5, error = 0.05 }}, {{ quantile = 0.99, error = 0.001 }}]`)"),
        ),
        _ => ConfigError::new("prefix", e.to_string()),
    })
}

/// `native_histogram` and `native_max_buckets`: the limit is refused when native buckets
/// are off (it would do nothing) and outside what the fixed range can use.
fn native(b: ContractBuilder, m: &Metrics) -> Result<ContractBuilder, ConfigError> {
    let on = m.native_histogram.unwrap_or(true);
    let Some(max) = m.native_max_buckets else {
        return Ok(b.native_histogram(on));
    };
    require(on, "metrics.native_max_buckets", || {
        "native_max_buckets limits native buckets, but native_histogram = false: remove native_max_buckets or turn native_histogram on".to_owned()
    })?;
    let layout = NativeLayout::new(max).map_err(|e| {
        ConfigError::new(
            "metrics.native_max_buckets",
            format!("{e} (e.g. `native_max_buckets = 160`)"),
        )
    })?;
    Ok(b.native_max_buckets(layout.max_buckets()))
}

/// Bucket bounds: 1 to [`MAX_BUCKETS`] positive, finite, strictly increasing numbers.
fn buckets(field: &str, bounds: &[f64], example: &str) -> Result<Buckets, ConfigError> {
    require(
        !bounds.is_empty() && bounds.len() <= MAX_BUCKETS,
        field,
        || {
            format!(
                "list 1 to {MAX_BUCKETS} upper bounds, not {} (e.g. `{example}`)",
                bounds.len()
            )
        },
    )?;
    if let Some(b) = bounds.iter().find(|b| !(b.is_finite() && **b > 0.0)) {
        return Err(ConfigError::new(
            field,
            format!(
                "bound {b} is not a positive finite number; `+Inf` is added for you (e.g. `{example}`)"
            ),
        ));
    }
    Buckets::new(bounds.to_vec())
        .map_err(|e| ConfigError::new(field, format!("{e} (e.g. `{example}`)")))
}

/// Checks `[apps.alerts]`; returns the rate window.
fn check_alerts(app: &App) -> Result<PromDuration, ConfigError> {
    let a = &app.alerts;
    require(
        a.error_ratio > 0.0 && a.error_ratio < 1.0,
        "alerts.error_ratio",
        || format!("{} is not a ratio in (0, 1): 0.05 means 5 %", a.error_ratio),
    )?;
    require(
        a.latency_p95_seconds > 0.0 && a.latency_p95_seconds.is_finite(),
        "alerts.latency_p95_seconds",
        || "must be a positive number of seconds (e.g. `1.0`)".to_owned(),
    )?;
    require(
        a.min_request_rate >= 0.0 && a.min_request_rate.is_finite(),
        "alerts.min_request_rate",
        || "must be zero or a positive rate in requests per second (e.g. `0.1`)".to_owned(),
    )?;
    if let Some(base) = &a.runbook_base {
        require(
            (base.starts_with("https://") || base.starts_with("http://"))
                && !base.contains(|c: char| c.is_whitespace() || c == '#' || c == '{' || c == '}'),
            "alerts.runbook_base",
            || {
                format!(
                    "`{base}` is not an http(s) URL without fragment or template braces (e.g. `https://git.example.com/team/ops/blob/main/docs/runbooks.md`)"
                )
            },
        )?;
    }
    // Four scrapes at most: interval is capped at PromDuration::MAX, so this cannot overflow.
    let rate_window = a
        .rate_window
        .unwrap_or_else(|| PromDuration::from_millis((app.interval.millis() * 4).max(60_000)));
    require(
        rate_window <= PromDuration::MAX,
        "alerts.rate_window",
        || {
            format!(
                "{}; the default is 4 × interval {}, so set a shorter interval or an explicit rate_window",
                PromDuration::too_long(&rate_window.to_string()),
                app.interval
            )
        },
    )?;
    require(
        rate_window.millis() >= app.interval.millis() * 2,
        "alerts.rate_window",
        || {
            format!(
                "{rate_window} holds fewer than two scrapes at interval {}: rate() needs two samples; use at least {} (4 × the interval is the usual)",
                app.interval,
                PromDuration::from_millis(app.interval.millis() * 2)
            )
        },
    )?;
    Ok(rate_window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::SummaryObjective;

    #[test]
    fn the_default_contract_is_the_config_default() {
        let app = App::new("reviewmaps", "reviewmaps", "reviewmaps-server", "http");
        let r = Resolved::new(app, &Stack::default()).unwrap();
        assert_eq!(r.contract, default_contract("reviewmaps").unwrap());
        assert_eq!(r.max_label_sets, None);
        assert_eq!(
            r.contract.native_histogram().map(NativeLayout::max_buckets),
            Some(160)
        );
    }

    #[test]
    fn duration_by_status_reaches_the_contract() {
        use redmetrics::contract::DurationByStatus as C;
        let resolve = |toml_value: &str| {
            let m: Metrics = toml::from_str(&format!("duration_by_status = {toml_value}"))
                .map_err(|e| e.to_string())?;
            let mut app = App::new("shop", "shop", "shop", "http");
            app.metrics = m;
            Resolved::new(app, &Stack::default()).map_err(|e| e.to_string())
        };
        assert_eq!(
            resolve("\"off\"").unwrap().contract.duration_by_status(),
            C::Off
        );
        let everywhere = resolve("\"everywhere\"").unwrap().contract;
        assert_eq!(everywhere.duration_by_status(), C::Everywhere);
        assert_eq!(everywhere.duration().labels().len(), 3);
        let e = resolve("\"per-status\"").unwrap_err();
        assert!(e.contains("off") && e.contains("everywhere"), "{e}");
        let app = App::new("shop", "shop", "shop", "http");
        assert_eq!(
            Resolved::new(app, &Stack::default())
                .unwrap()
                .contract
                .duration_by_status(),
            C::Otlp
        );
    }

    #[test]
    fn native_settings_are_checked_with_the_fix() {
        let resolve = |on: Option<bool>, max: Option<u32>| {
            let mut app = App::new("shop", "shop", "shop", "http");
            app.metrics.native_histogram = on;
            app.metrics.native_max_buckets = max;
            Resolved::new(app, &Stack::default())
        };
        let r = resolve(Some(false), None).unwrap();
        assert!(r.contract.native_histogram().is_none());
        let r = resolve(None, Some(40)).unwrap();
        assert_eq!(
            r.contract.native_histogram().map(|n| n.max_buckets()),
            Some(40)
        );
        let e = resolve(None, Some(1000)).unwrap_err().to_string();
        assert!(
            e.contains("metrics.native_max_buckets")
                && e.contains("4..=224")
                && e.contains("native_max_buckets = 160"),
            "{e}"
        );
        let e = resolve(Some(false), Some(40)).unwrap_err().to_string();
        assert!(e.contains("native_histogram = false"), "{e}");
    }

    /// Each `[apps.alerts]` and `[apps.metrics]` rule at its edge: the edge refused where the
    /// rule is strict, with the rule's own message (not a later check's), the value just
    /// inside accepted. Written from the mutant list of this file (each comparison's `>` →
    /// `>=`, `&&` → `||`, and `interval * 2` → `interval + 2`).
    #[test]
    fn every_alert_and_bucket_rule_holds_at_its_edge() {
        type Edit = Box<dyn Fn(&mut App)>;
        fn objectives(n: usize) -> Vec<SummaryObjective> {
            (1..=n)
                .map(|k| SummaryObjective {
                    quantile: k as f64 / 20.0,
                    error: 0.01,
                })
                .collect()
        }
        let resolve = |edit: &Edit| {
            let mut app = App::new("shop", "shop", "shop", "http");
            edit(&mut app);
            Resolved::new(app, &Stack::default())
        };
        let runbook = |base: &str| -> Edit {
            let base = base.to_owned();
            Box::new(move |a: &mut App| a.alerts.runbook_base = Some(base.clone()))
        };
        let mut refused: Vec<(Edit, &str, &str)> = vec![
            (
                Box::new(|a| a.alerts.error_ratio = 0.0),
                "alerts.error_ratio",
                "not a ratio in (0, 1)",
            ),
            (
                Box::new(|a| a.alerts.error_ratio = 1.0),
                "alerts.error_ratio",
                "not a ratio in (0, 1)",
            ),
            (
                Box::new(|a| a.alerts.latency_p95_seconds = 0.0),
                "alerts.latency_p95_seconds",
                "positive number of seconds",
            ),
            (
                Box::new(|a| a.alerts.latency_p95_seconds = f64::INFINITY),
                "alerts.latency_p95_seconds",
                "positive number of seconds",
            ),
            (
                Box::new(|a| a.alerts.min_request_rate = f64::INFINITY),
                "alerts.min_request_rate",
                "zero or a positive rate",
            ),
            (
                Box::new(|a| a.alerts.min_request_rate = -0.1),
                "alerts.min_request_rate",
                "zero or a positive rate",
            ),
            (
                Box::new(|a| a.alerts.rate_window = Some(PromDuration::from_millis(59_999))),
                "alerts.rate_window",
                "fewer than two scrapes at interval 30s",
            ),
            (
                Box::new(|a| a.metrics.summary_objectives = Some(objectives(MAX_QUANTILES + 1))),
                "metrics.summary_objectives",
                "list 1 to 10 quantiles",
            ),
            (
                Box::new(|a| {
                    a.metrics.duration_buckets =
                        Some((1..=MAX_BUCKETS + 1).map(|b| b as f64).collect())
                }),
                "metrics.duration_buckets",
                "list 1 to 40 upper bounds, not 41",
            ),
        ];
        for bound in [0.0, f64::INFINITY, f64::NAN] {
            refused.push((
                Box::new(move |a| a.metrics.duration_buckets = Some(vec![bound, 1.0])),
                "metrics.duration_buckets",
                "is not a positive finite number",
            ));
        }
        for base in [
            "https://x.example/a b",
            "https://x.example/a#b",
            "https://x.example/{a",
            "https://x.example/a}",
        ] {
            refused.push((runbook(base), "alerts.runbook_base", "not an http(s) URL"));
        }
        for (i, (edit, field, rule)) in refused.iter().enumerate() {
            let e = resolve(edit).expect_err(&format!("case {i} ({field}) is refused"));
            assert_eq!(e.field, *field, "case {i}: {e}");
            assert!(e.rule.contains(rule), "case {i}: {e}");
        }
        let accepted: Vec<Edit> = vec![
            Box::new(|a| a.alerts.error_ratio = 1e-9),
            Box::new(|a| a.alerts.error_ratio = 1.0 - 1e-9),
            Box::new(|a| a.alerts.latency_p95_seconds = 1e-9),
            Box::new(|a| a.alerts.min_request_rate = 0.0),
            Box::new(|a| a.alerts.rate_window = Some(PromDuration::from_secs(60))),
            Box::new(|a| a.metrics.summary_objectives = Some(objectives(MAX_QUANTILES))),
            Box::new(|a| {
                a.metrics.duration_buckets = Some((1..=MAX_BUCKETS).map(|b| b as f64).collect())
            }),
            runbook("http://x.example/runbooks.md"),
        ];
        for (i, edit) in accepted.iter().enumerate() {
            assert!(
                resolve(edit).is_ok(),
                "accepted case {i}: {:?}",
                resolve(edit).err()
            );
        }
    }
}
