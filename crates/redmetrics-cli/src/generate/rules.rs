//! Alert and recording rules for one app: the seed's three alerts, guarded against idle
//! traffic, and multi-window multi-burn-rate alerts when an availability objective is set.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{PromDuration, Resolved};
use crate::promql::Queries;

use super::escape::{go_template_text, promql_string};

/// A rules file (`groups:`), as Prometheus and `promtool` read it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RuleFile {
    pub(crate) groups: Vec<Group>,
}

/// A rule group.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) rules: Vec<Rule>,
}

/// An alerting or recording rule.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) alert: Option<String>,
    pub(crate) expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub(crate) for_: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<String, String>,
}

/// Alert names carry the project prefix so they never clash with kube-prometheus-stack's own
/// (its `general.rules` has a `TargetDown` of severity warning). One name per alert for every
/// app: the `namespace` and `job` labels tell apps apart, runbook anchors stay fixed.
pub(crate) const HIGH_ERROR_RATE: &str = "RedmetricsHighErrorRate";
/// p95 latency above the threshold.
pub(crate) const HIGH_LATENCY: &str = "RedmetricsHighLatencyP95";
/// A target down (`reason="down"`) or never discovered (`reason="absent"`).
pub(crate) const TARGET_DOWN: &str = "RedmetricsTargetDown";
/// Multi-window multi-burn-rate alert of the availability objective.
pub(crate) const ERROR_BUDGET_BURN: &str = "RedmetricsErrorBudgetBurn";

impl RuleFile {
    /// Parses every expression with the PromQL parser `check` uses, so a rule Prometheus
    /// would refuse is never written. Errors name the group and rule.
    pub(crate) fn verify(&self) -> anyhow::Result<()> {
        for group in &self.groups {
            for rule in &group.rules {
                if let Err(e) = promql_parser::parser::parse(&rule.expr) {
                    let name = rule.alert.as_deref().or(rule.record.as_deref());
                    anyhow::bail!(
                        "generated rule {} in group {} is not valid PromQL ({e}); nothing was written. This is a bug in redmetrics or a config value it failed to refuse: please report it with your redmetrics.toml.\n{}",
                        name.unwrap_or("?"),
                        group.name,
                        rule.expr
                    );
                }
            }
        }
        Ok(())
    }
}

/// The labels alert expressions keep: one alert per app instance of the job.
const BY: &str = "namespace, job";

/// Multi-window multi-burn-rate table of the SRE workbook: long window, short window,
/// burn-rate factor, `for`, severity.
const BURN_RATES: [(&str, &str, f64, &str, &str); 4] = [
    ("1h", "5m", 14.4, "2m", "critical"),
    ("6h", "30m", 6.0, "15m", "critical"),
    ("1d", "2h", 3.0, "1h", "warning"),
    ("3d", "6h", 1.0, "3h", "warning"),
];

fn alert(
    name: &str,
    expr: String,
    for_: PromDuration,
    severity: &str,
    r: &Resolved,
    summary: &str,
    description: String,
) -> Rule {
    let mut annotations = BTreeMap::from([
        ("summary".to_owned(), summary.to_owned()),
        ("description".to_owned(), description),
    ]);
    // No invented default: without a configured base the alert carries no runbook link.
    if let Some(base) = &r.app.alerts.runbook_base {
        annotations.insert(
            "runbook_url".to_owned(),
            go_template_text(&format!("{base}#{}", name.to_ascii_lowercase())),
        );
    }
    Rule {
        record: None,
        alert: Some(name.to_owned()),
        expr,
        for_: Some(for_.to_string()),
        labels: BTreeMap::from([("severity".to_owned(), severity.to_owned())]),
        annotations,
    }
}

fn record(name: String, expr: String) -> Rule {
    Rule {
        record: Some(name),
        alert: None,
        expr,
        for_: None,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    }
}

/// The selector every rule of `r` uses.
pub(crate) fn selector(r: &Resolved) -> String {
    format!(
        "namespace={},job={}",
        promql_string(&r.app.namespace),
        promql_string(&r.job)
    )
}

/// Percent text for descriptions (`5%`, `0.5%`).
fn percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    let s = format!("{p:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// The rules for one app.
pub(crate) fn rules(r: &Resolved) -> RuleFile {
    let q = Queries::new(&r.contract, selector(r));
    let a = &r.app.alerts;
    let w = r.rate_window.to_string();
    let min = a.min_request_rate;
    // User text in annotations is Go template text: escaped so it prints literally.
    let title = go_template_text(&r.title);
    let metrics_path = go_template_text(&r.app.metrics_path);
    let job = go_template_text(&r.job);
    let namespace = go_template_text(&r.app.namespace);
    let mut down = alert(
        TARGET_DOWN,
        format!("{} == 0", q.up()),
        a.target_down_for,
        "critical",
        r,
        "{{ $labels.job }} target {{ $labels.instance }} is down",
        format!(
            "Prometheus could not scrape {{{{ $labels.instance }}}} of {title} for {}: check the pod, then the ServiceMonitor's port name and path ({}).",
            a.target_down_for, metrics_path
        ),
    );
    down.labels.insert("reason".to_owned(), "down".to_owned());
    let mut absent = alert(
        TARGET_DOWN,
        format!("absent({})", q.up()),
        a.target_absent_for,
        "critical",
        r,
        "{{ $labels.job }} in {{ $labels.namespace }} has no scrape target",
        format!(
            "Prometheus has discovered no target of job {job} in namespace {namespace} for {}: the ServiceMonitor is missing, not selected by the stack (release label), or its selector or port name does not match the Service.",
            a.target_absent_for
        ),
    );
    // Same alert name, told apart by `reason` (promtool refuses identical name + labels).
    absent
        .labels
        .insert("reason".to_owned(), "absent".to_owned());
    let mut alerts = vec![
        alert(
            HIGH_ERROR_RATE,
            format!(
                "{ratio}\n  > {threshold}\nand\n{traffic}\n  > {min}",
                ratio = q.error_ratio(&w, BY),
                threshold = a.error_ratio,
                traffic = q.request_rate(&w, BY),
            ),
            a.error_for,
            "warning",
            r,
            "{{ $labels.job }} in {{ $labels.namespace }}: {{ $value | humanizePercentage }} of requests fail with 5xx",
            format!(
                "More than {} of {title}'s requests answered with a 5xx status (rate over {w}) for {}, at more than {min} requests/s.",
                percent(a.error_ratio),
                a.error_for
            ),
        ),
        alert(
            HIGH_LATENCY,
            format!(
                "{p95}\n  > {threshold}\nand\n{traffic}\n  > {min}",
                p95 = q.latency_quantile(0.95, &w, BY),
                threshold = a.latency_p95_seconds,
                traffic = q.latency_count_rate(&w, BY),
            ),
            a.latency_for,
            "warning",
            r,
            "{{ $labels.job }} in {{ $labels.namespace }}: p95 latency is {{ $value | humanizeDuration }}",
            format!(
                "The 95th percentile of {title}'s request latency (over {w}, all instances) stayed above {}s for {}, at more than {min} requests/s.",
                a.latency_p95_seconds, a.latency_for
            ),
        ),
        down,
        absent,
    ];
    let mut groups = Vec::new();
    if let Some(objective) = a.availability_objective {
        let prefix = r.prefix();
        let ratio =
            |window: &str| format!("namespace_job:{prefix}_http_requests:error_ratio_rate{window}");
        let traffic = |window: &str| format!("namespace_job:{prefix}_http_requests:rate{window}");
        let mut windows: Vec<&str> = BURN_RATES.iter().flat_map(|b| [b.0, b.1]).collect();
        windows.sort_by_key(|w| {
            PromDuration::parse(w)
                .map(PromDuration::millis)
                .unwrap_or(0)
        });
        windows.dedup();
        let mut recordings = Vec::new();
        for window in windows {
            recordings.push(record(traffic(window), q.request_rate(window, BY)));
            recordings.push(record(ratio(window), q.error_ratio(window, BY)));
        }
        groups.push(Group {
            name: format!("{}.slo.rules", r.prefix()),
            rules: recordings,
        });
        for (long, short, factor, for_, severity) in BURN_RATES {
            let threshold = format!("({factor} * (1 - {objective}))");
            let mut rule = alert(
                ERROR_BUDGET_BURN,
                format!(
                    "{} > {threshold}\nand\n{} > {threshold}\nand\n{} > {min}",
                    ratio(long),
                    ratio(short),
                    traffic(long)
                ),
                PromDuration::parse(for_).unwrap_or(PromDuration::from_secs(0)),
                severity,
                r,
                "{{ $labels.job }} in {{ $labels.namespace }} is burning its error budget fast",
                format!(
                    "{title} is spending its {} availability error budget {factor}x faster than sustainable over both {long} and {short}.",
                    percent(objective)
                ),
            );
            rule.labels
                .insert("long_window".to_owned(), long.to_owned());
            rule.labels
                .insert("short_window".to_owned(), short.to_owned());
            alerts.push(rule);
        }
    }
    groups.insert(
        0,
        Group {
            name: format!("{}.rules", r.prefix()),
            rules: alerts,
        },
    );
    RuleFile { groups }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn percent_text() {
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(0.999), "99.9%");
        assert_eq!(percent(0.0025), "0.25%");
    }

    #[test]
    fn objective_adds_burn_rate_alerts() {
        let apps = Config::parse(
            "[[apps]]\nname = \"a\"\nnamespace = \"a\"\nservice = \"a\"\nport = \"http\"\n[apps.alerts]\navailability_objective = 0.999\n",
        )
        .unwrap()
        .apps;
        let file = rules(&apps[0]);
        assert_eq!(file.groups.len(), 2);
        let burns = file.groups[0]
            .rules
            .iter()
            .filter(|r| r.alert.as_deref() == Some(ERROR_BUDGET_BURN))
            .count();
        assert_eq!(burns, 4);
        assert_eq!(
            file.groups[1].rules.len(),
            14,
            "rate and ratio for 7 windows"
        );
    }

    #[test]
    fn runbook_links_only_when_configured() {
        let base = "[[apps]]\nname = \"a\"\nnamespace = \"a\"\nservice = \"a\"\nport = \"http\"\n";
        let annotated = |config: &str| -> Vec<Option<String>> {
            let apps = Config::parse(config).unwrap().apps;
            rules(&apps[0]).groups[0]
                .rules
                .iter()
                .map(|r| r.annotations.get("runbook_url").cloned())
                .collect()
        };
        assert!(annotated(base).iter().all(Option::is_none));
        let links = annotated(&format!(
            "{base}[apps.alerts]\nrunbook_base = \"https://git.example.com/ops/runbooks.md\"\n"
        ));
        assert_eq!(
            links[0].as_deref(),
            Some("https://git.example.com/ops/runbooks.md#redmetricshigherrorrate")
        );
    }
}
