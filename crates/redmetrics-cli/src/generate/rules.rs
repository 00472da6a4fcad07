//! Alert and recording rules for one app: high error rate, high p95 latency and target down,
//! guarded against idle traffic, and the service level objectives' rules (`slo`) when `[apps.slo]` sets any.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{PromDuration, Resolved};
use crate::promql::Queries;
use crate::severity::Severity;

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
/// Multi-window multi-burn-rate alert of a service level objective (`slo` label).
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

pub(crate) fn alert(
    name: &str,
    expr: String,
    for_: PromDuration,
    severity: Severity,
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
        labels: BTreeMap::from([("severity".to_owned(), severity.as_str().to_owned())]),
        annotations,
    }
}

pub(crate) fn record(name: String, expr: String) -> Rule {
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
pub(crate) fn percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    let s = format!("{p:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// The job-level aggregates the dashboards draw (see [`Queries::aggregates`]), over the
/// app's rate window: what a dashboard reads at any pod count, and what a global view ships.
fn aggregation_rules(r: &Resolved, q: &Queries<'_>) -> Group {
    Group {
        name: format!("{}.recording.rules", r.prefix()),
        rules: q
            .aggregates(&r.rate_window.to_string())
            .into_iter()
            .map(|(name, expr)| record(name, expr))
            .collect(),
    }
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
        Severity::Critical,
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
        Severity::Critical,
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
            Severity::Warning,
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
            Severity::Warning,
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
    // The recordings come first, in the file and by name (see `slo::slo_rules`).
    let mut groups = vec![aggregation_rules(r, &q)];
    if let Some((recordings, burns)) = super::slo::slo_rules(r, &q) {
        groups.push(recordings);
        alerts.extend(burns);
    }
    groups.push(Group {
        name: format!("{}.rules", r.prefix()),
        rules: alerts,
    });
    RuleFile { groups }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// `verify` refuses exactly what promtool refuses: a rule file with one expression
    /// promtool rejects is refused, naming the group and the rule; the same file with that
    /// expression fixed passes both.
    #[test]
    fn verify_refuses_what_promtool_refuses() {
        let file = |expr: &str| RuleFile {
            groups: vec![Group {
                name: "shop.rules".to_owned(),
                rules: vec![
                    record("shop:up".to_owned(), "sum(up)".to_owned()),
                    record("shop:broken".to_owned(), expr.to_owned()),
                ],
            }],
        };
        let promtool_accepts = |f: &RuleFile| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("rules.json");
            std::fs::write(&path, serde_json::to_string(f).unwrap()).unwrap();
            std::process::Command::new("promtool")
                .args(["check", "rules"])
                .arg(&path)
                .output()
                .expect("promtool (Debian prometheus) is installed by scripts/test")
                .status
                .success()
        };
        let bad = file("sum(rate(up[5m])");
        assert!(!promtool_accepts(&bad));
        let e = bad.verify().unwrap_err().to_string();
        assert!(
            e.starts_with("generated rule shop:broken in group shop.rules is not valid PromQL"),
            "{e}"
        );
        let good = file("sum(rate(up[5m]))");
        assert!(promtool_accepts(&good));
        good.verify().unwrap();
    }

    #[test]
    fn percent_text() {
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(0.999), "99.9%");
        assert_eq!(percent(0.0025), "0.25%");
    }

    #[test]
    fn objective_adds_burn_rate_alerts() {
        let apps = Config::parse(
            "[[apps]]\nname = \"a\"\nnamespace = \"a\"\nservice = \"a\"\nport = \"http\"\n[apps.slo]\navailability_objective = 0.999\n",
        )
        .unwrap()
        .apps;
        let file = rules(&apps[0]);
        assert_eq!(file.groups.len(), 3);
        let burns = file.groups[2]
            .rules
            .iter()
            .filter(|r| r.alert.as_deref() == Some(ERROR_BUDGET_BURN))
            .count();
        assert_eq!(burns, 4);
        assert_eq!(
            file.groups[1].rules.len(),
            8 * 3 + 1,
            "rate, ratio and burn rate for 7 windows and the period, and the budget left"
        );
        let mut records: Vec<(&str, Option<&String>)> = file.groups[..2]
            .iter()
            .flat_map(|g| &g.rules)
            .map(|r| (r.record.as_deref().unwrap(), r.labels.get("slo")))
            .collect();
        let all = records.len();
        records.sort_unstable();
        records.dedup();
        assert_eq!(records.len(), all, "each series is recorded once");
    }

    #[test]
    fn runbook_links_only_when_configured() {
        let base = "[[apps]]\nname = \"a\"\nnamespace = \"a\"\nservice = \"a\"\nport = \"http\"\n";
        let annotated = |config: &str| -> Vec<Option<String>> {
            let apps = Config::parse(config).unwrap().apps;
            rules(&apps[0])
                .groups
                .last()
                .unwrap()
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
