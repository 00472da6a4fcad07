//! `redmetrics.toml`: which applications to generate operations artifacts for, how they are
//! deployed, and the options of their metric contract. Every field is checked against the
//! rule Kubernetes, the Prometheus Operator or Prometheus would apply later, so a mistake is
//! reported here, naming the field, the rule and an example of a right value.
//!
//! `duration` holds Prometheus durations, `schema` what the file may say, `names` the
//! Kubernetes name rules, `notify` the notification settings, and `resolve` turns one app
//! into a checked [`Resolved`]; `slo` checks the service level objectives.

mod duration;
mod names;
mod notify;
mod prefix;
mod resolve;
mod schema;
mod slo;

use std::path::Path;

pub(crate) use self::duration::PromDuration;
pub(crate) use self::notify::{Integration, Notify, Secret, default_routes};
pub(crate) use self::prefix::prefix_app;
pub(crate) use self::resolve::{Resolved, default_contract};
pub(crate) use self::schema::{Alerts, App, Stack};
pub(crate) use self::slo::{MAX_FOR_AND_SHORT_MS, Objective, Slo, SloKind, Window};

/// A configuration mistake: the field (`apps[0] (reviewmaps).port`) and what rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub(crate) struct ConfigError {
    pub(crate) field: String,
    pub(crate) rule: String,
}

impl ConfigError {
    pub(crate) fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// The same mistake with its field inside `scope` (`apps[0] (reviewmaps)`).
    fn within(self, scope: &str) -> Self {
        Self {
            field: format!("{scope}.{}", self.field),
            rule: self.rule,
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The apps of a configuration file, each resolved.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) apps: Vec<Resolved>,
}

impl Config {
    /// Reads and checks a config file.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Parses and checks config text.
    pub(crate) fn parse(text: &str) -> Result<Self, ConfigError> {
        let file: schema::File = toml::from_str(text).map_err(|e| {
            let field = e.span().map_or_else(
                || "redmetrics.toml".to_owned(),
                |s| format!("line {}", line_of(text, s.start)),
            );
            ConfigError::new(field, e.message().to_owned())
        })?;
        if file.apps.is_empty() {
            return Err(ConfigError::new(
                "apps",
                "no application configured: add an [[apps]] table with name, namespace, service and port",
            ));
        }
        if !file.stack.release.is_empty() {
            names::check_label_value("stack.release", &file.stack.release)?;
        }
        if file.stack.narrow_alertmanager_selector && file.stack.release.is_empty() {
            return Err(ConfigError::new(
                "stack.narrow_alertmanager_selector",
                "narrows the stack's Alertmanager to objects labelled `release: <stack.release>`, but stack.release is empty: set it (e.g. `kube-prometheus-stack`) or drop the option",
            ));
        }
        names::check_dns_label("stack.namespace", &file.stack.namespace)?;
        names::check_annotation_key("stack.folder_annotation", &file.stack.folder_annotation)?;
        let mut apps: Vec<Resolved> = Vec::new();
        for (i, mut app) in file.apps.into_iter().enumerate() {
            app.notify = match (app.notify.take(), file.notify.clone()) {
                (Some(own), Some(shared)) => Some(own.overlay(shared)),
                (own, shared) => own.or(shared),
            };
            let scope = format!("apps[{i}] ({})", app.name);
            if apps.iter().any(|r| r.app.name == app.name) {
                return Err(ConfigError::new(
                    format!("{scope}.name"),
                    "another app has the same name; names must be unique",
                ));
            }
            apps.push(Resolved::new(app, &file.stack).map_err(|e| e.within(&scope))?);
        }
        Ok(Self { apps })
    }

    /// The app called `name`, or the only one when `name` is `None`.
    pub(crate) fn app(&self, name: Option<&str>) -> Result<&Resolved, ConfigError> {
        let names = || {
            self.apps
                .iter()
                .map(|a| a.app.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(n) => self.apps.iter().find(|a| a.app.name == n).ok_or_else(|| {
                ConfigError::new(
                    "--app",
                    format!("no app named `{n}` in the config; it has: {}", names()),
                )
            }),
            None if self.apps.len() == 1 => Ok(&self.apps[0]),
            None => Err(ConfigError::new(
                "--app",
                format!(
                    "the config has several apps; name one with --app ({})",
                    names()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use redmetrics::contract::Shape;

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
    fn defaults_resolve() {
        let config = Config::parse(MINIMAL).unwrap();
        let r = &config.apps[0];
        assert_eq!(r.prefix(), "reviewmaps");
        assert_eq!(r.job, "reviewmaps-server");
        assert_eq!(r.rate_window.to_string(), "2m");
        assert_eq!(
            r.app.service_labels["app.kubernetes.io/name"],
            "reviewmaps-server"
        );
        assert_eq!(r.stack.release, "kube-prometheus-stack");
        assert_eq!(r.app.alerts.runbook_base, None);
        assert_eq!(r.contract, default_contract("reviewmaps").unwrap());
    }

    #[test]
    fn narrowing_the_alertmanager_selector_needs_a_release() {
        let e = field_error("[stack]\nrelease = \"\"\nnarrow_alertmanager_selector = true\n");
        assert!(
            e.to_string()
                .contains("stack.narrow_alertmanager_selector: narrows the stack's Alertmanager"),
            "{e}"
        );
        let narrowed = Config::parse(&format!(
            "[stack]\nnarrow_alertmanager_selector = true\n{MINIMAL}"
        ))
        .unwrap();
        assert!(narrowed.apps[0].stack.narrow_alertmanager_selector);
        assert!(
            !Config::parse(MINIMAL).unwrap().apps[0]
                .stack
                .narrow_alertmanager_selector
        );
    }

    /// The stack's release lands in a `release:` label (a Kubernetes label value, see
    /// `names`), and its namespace is a DNS-1123 label; an empty release omits the label.
    /// Two apps of one name would write over each other's files.
    #[test]
    fn the_stack_and_app_names_are_checked() {
        let stack = |s: &str| Config::parse(&format!("[stack]\n{s}\n{MINIMAL}"));
        let e = stack("release = \"kube prometheus\"").unwrap_err();
        assert_eq!(e.field, "stack.release", "{e}");
        assert!(e.rule.contains("not a Kubernetes label value"), "{e}");
        assert_eq!(stack("release = \"\"").unwrap().apps[0].stack.release, "");
        let e = stack("namespace = \"Monitoring\"").unwrap_err();
        assert_eq!(e.field, "stack.namespace", "{e}");
        let e = Config::parse(&format!("{MINIMAL}{MINIMAL}")).unwrap_err();
        assert_eq!(e.field, "apps[1] (reviewmaps).name", "{e}");
        assert!(e.rule.contains("same name"), "{e}");
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

    #[test]
    fn a_port_number_gets_the_rule_about_port_names() {
        let e = Config::parse(&MINIMAL.replace("\"http\"", "3000")).unwrap_err();
        assert_eq!(e.field, "apps[0] (reviewmaps).port");
        assert!(e.rule.starts_with("`3000` is a port number, but a ServiceMonitor endpoint selects the Service port by its name"), "{e}");
        // Above i64::MAX, the TOML reader hands the number over as a u64.
        let e = Config::parse(&MINIMAL.replace("\"http\"", "9223372036854775808")).unwrap_err();
        assert_eq!(e.field, "apps[0] (reviewmaps).port");
        assert!(
            e.rule.starts_with("`9223372036854775808` is a port number"),
            "{e}"
        );
        let e = Config::parse(&MINIMAL.replace("\"http\"", "true")).unwrap_err();
        assert_eq!(e.field, "line 6", "{e}");
        assert!(
            e.rule.contains(
                "invalid type: boolean `true`, expected the Service port's name, e.g. \"http\""
            ),
            "{e}"
        );
    }

    #[test]
    fn errors_point_at_the_line_of_the_mistake() {
        // MINIMAL starts with an empty line: `port` is on line 6, the next key on line 7.
        let e = field_error("metric_path = \"/metrics\"\n");
        assert_eq!(e.field, "line 7", "{e}");
        let e = field_error("interval = \"30 seconds\"\n");
        assert_eq!(e.field, "line 7", "{e}");
        assert_eq!(line_of("a\nb\n", 0), 1);
        assert_eq!(line_of("a\nb\n", 2), 2);
    }

    #[test]
    fn metrics_options_reach_the_contract() {
        let config = Config::parse(&format!(
            "{MINIMAL}[apps.metrics]\nsizes = \"histogram\"\nduration_buckets = [0.1, 0.5, 2]\nsize_buckets = [100, 10000]\nmax_label_sets = 500\n"
        ))
        .unwrap();
        let r = &config.apps[0];
        let bounds = |shape: &Shape| match shape {
            Shape::Histogram(b) => b.bounds().to_vec(),
            _ => Vec::new(),
        };
        assert_eq!(bounds(r.contract.duration().shape()), [0.1, 0.5, 2.0]);
        assert_eq!(bounds(r.contract.request_size().shape()), [100.0, 10000.0]);
        assert_eq!(bounds(r.contract.response_size().shape()), [100.0, 10000.0]);
        assert_eq!(r.max_label_sets, Some(500));
        let config = Config::parse(&format!(
            "{MINIMAL}[apps.metrics]\nsummary_objectives = [{{ quantile = 0.5, error = 0.05 }}, {{ quantile = 0.95, error = 0.01 }}]\nsummary_window = \"5m\"\n"
        ))
        .unwrap();
        let Shape::Summary(summary) = config.apps[0].contract.request_size().shape() else {
            panic!("sizes are summaries");
        };
        assert_eq!(summary.objectives().len(), 2);
        assert_eq!(summary.window().as_secs(), 300);
    }

    #[test]
    fn bad_metrics_options_are_refused_with_an_example() {
        for (extra, field, rule) in [
            (
                "size_buckets = [100, 1000]",
                "metrics.size_buckets",
                "sizes are summaries: add `sizes = \"histogram\"`",
            ),
            (
                "sizes = \"histogram\"\nsummary_window = \"5m\"",
                "metrics.summary_window",
                "sizes are histograms",
            ),
            (
                "sizes = \"histograms\"",
                "line 8",
                "unknown variant `histograms`",
            ),
            (
                "duration_buckets = [1, 0.5]",
                "metrics.duration_buckets",
                "strictly increase",
            ),
            (
                "duration_buckets = []",
                "metrics.duration_buckets",
                "list 1 to 40 upper bounds",
            ),
            (
                "duration_buckets = [-1, 1]",
                "metrics.duration_buckets",
                "not a positive finite number",
            ),
            (
                "sizes = \"histogram\"\nsize_buckets = [0, 10]",
                "metrics.size_buckets",
                "e.g. `size_buckets = [",
            ),
            (
                "summary_window = \"1s\"",
                "metrics.summary_window",
                "e.g. `summary_window = \"10m\"`",
            ),
            (
                "summary_objectives = [{ quantile = 1.5, error = 0.1 }]",
                "metrics.summary_objectives",
                "outside (0, 1): use e.g. 0.5 for the median, 0.99 for p99 (e.g. `summary_objectives = [",
            ),
            (
                "summary_objectives = []",
                "metrics.summary_objectives",
                "e.g. `summary_objectives = [",
            ),
            (
                "max_label_sets = 0",
                "metrics.max_label_sets",
                "e.g. `max_label_sets = 2000`",
            ),
        ] {
            let e = field_error(&format!("[apps.metrics]\n{extra}\n"));
            let field = if field.starts_with("line") {
                field.to_owned()
            } else {
                format!("apps[0] (reviewmaps).{field}")
            };
            assert_eq!(e.field, field, "{extra}: {e}");
            assert!(e.rule.contains(rule), "{extra}: {e}");
        }
    }

    #[test]
    fn runbook_base_must_be_a_url() {
        let e = field_error("[apps.alerts]\nrunbook_base = \"docs/runbooks.md\"\n");
        assert_eq!(e.field, "apps[0] (reviewmaps).alerts.runbook_base");
        let config = Config::parse(&format!(
            "{MINIMAL}[apps.alerts]\nrunbook_base = \"https://git.example.com/ops/runbooks.md\"\n"
        ))
        .unwrap();
        assert!(config.apps[0].app.alerts.runbook_base.is_some());
    }

    #[test]
    fn apps_are_picked_by_name() {
        let two = format!("{MINIMAL}{}", MINIMAL.replace("reviewmaps", "ojeomneo"));
        let config = Config::parse(&two).unwrap();
        assert_eq!(config.app(Some("ojeomneo")).unwrap().prefix(), "ojeomneo");
        let e = config.app(None).unwrap_err();
        assert!(e.rule.contains("reviewmaps, ojeomneo"), "{e}");
        let e = config.app(Some("nope")).unwrap_err();
        assert!(e.rule.contains("no app named `nope`"), "{e}");
    }

    /// `demo --config` and `check --config` without `--app` take the only app there is.
    #[test]
    fn the_only_app_needs_no_name() {
        let config = Config::parse(MINIMAL).unwrap();
        assert_eq!(config.app(None).unwrap().app.name, "reviewmaps");
        let e = config.app(Some("ojeomneo")).unwrap_err();
        assert_eq!(
            e.rule,
            "no app named `ojeomneo` in the config; it has: reviewmaps"
        );
    }
}
