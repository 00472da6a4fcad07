//! The `job` Prometheus gives each ServiceMonitor's targets, against the `job` the
//! PrometheusRules ask for: a `jobLabel` that renames the job silences every alert still
//! asking for the Service's name.

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::label::MatchOp;

use super::input::Object;
use super::queries::vector_selectors;
use super::{Monitor, rule_list};
use crate::check::limits::parse_promql;
use crate::check::report::{Check, Status};

/// A Service whose targets a ServiceMonitor's `jobLabel` gives a job other than its name.
struct Renamed {
    monitor: String,
    job_label: String,
    job: String,
}

/// The job of a ServiceMonitor's targets on a Service, as the Prometheus Operator relabels:
/// the Service's name, replaced by the value of the `jobLabel` Service label when non-empty.
/// `None` when a relabeling of an endpoint sets `job` itself.
fn scrape_job(monitor: &Monitor<'_>, service: &Object) -> Option<String> {
    let spec = &monitor.sm.spec;
    let relabeled = spec
        .endpoints
        .iter()
        .flat_map(|ep| &ep.relabelings)
        .any(|r| r.target_label.as_deref() == Some("job"));
    if relabeled {
        return None;
    }
    let from_label = spec
        .job_label
        .as_deref()
        .and_then(|l| service.labels().get(l).cloned())
        .filter(|v| !v.is_empty());
    Some(from_label.unwrap_or_else(|| service.name().to_owned()))
}

/// The `job="…"` values every rule of a PrometheusRule selects on.
fn asked_jobs(rule: &Object) -> BTreeSet<String> {
    let mut jobs = BTreeSet::new();
    for r in rule_list(rule) {
        let Some(Ok(expr)) = r["expr"].as_str().map(parse_promql) else {
            continue; // the rules check reports it
        };
        let mut selectors = Vec::new();
        vector_selectors(&expr, &mut selectors);
        for m in selectors.iter().flat_map(|vs| &vs.matchers.matchers) {
            if m.name == "job" && matches!(m.op, MatchOp::Equal) {
                jobs.insert(m.value.clone());
            }
        }
    }
    jobs
}

/// Fails a PrometheusRule asking for `job="<Service name>"` while the ServiceMonitor of that
/// Service names the job after a label (`jobLabel`): none of its alerts can ever fire.
pub(super) fn job_check(
    monitors: &[Monitor<'_>],
    services: &[&Object],
    rules: &[&Object],
) -> Check {
    let mut c = Check::new("jobs");
    let mut assigned: BTreeSet<(String, String)> = BTreeSet::new();
    let mut renamed: BTreeMap<(String, String), Renamed> = BTreeMap::new();
    for sm in monitors {
        for svc in services.iter().filter(|s| sm.selects(s)) {
            let Some(job) = scrape_job(sm, svc) else {
                continue;
            };
            assigned.insert((svc.namespace.clone(), job.clone()));
            if job != svc.name() {
                renamed.insert(
                    (svc.namespace.clone(), svc.name().to_owned()),
                    Renamed {
                        monitor: sm.object.id(),
                        job_label: sm.sm.spec.job_label.clone().unwrap_or_default(),
                        job,
                    },
                );
            }
        }
    }
    for rule in rules {
        for job in asked_jobs(rule) {
            let key = (rule.namespace.clone(), job.clone());
            if assigned.contains(&key) {
                continue;
            }
            if let Some(r) = renamed.get(&key) {
                c.fail(
                    format!(
                        "{} asks for job=\"{job}\", but {} names the job \"{}\" (jobLabel {}: the Service's label, not its name): none of these alerts can fire",
                        rule.id(),
                        r.monitor,
                        r.job,
                        r.job_label
                    ),
                    format!(
                        "drop `jobLabel` from the ServiceMonitor, or make the rules ask for job=\"{}\" (in the redmetrics-service chart: leave metrics.job empty and the rules follow jobLabel)",
                        r.job
                    ),
                );
            }
        }
    }
    let summary = if c.status == Status::Pass {
        format!(
            "no jobLabel renames a job the rules ask for ({} job(s) assigned)",
            assigned.len()
        )
    } else {
        "rules ask for a job Prometheus never assigns".to_owned()
    };
    c.summary(summary)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn object(value: Value) -> Object {
        Object {
            value,
            namespace: "shop".to_owned(),
        }
    }

    fn service() -> Object {
        object(
            json!({"kind": "Service", "metadata": {"name": "shop-server", "labels": {"app": "shop", "empty": ""}}}),
        )
    }

    fn monitor(spec: Value) -> Object {
        object(json!({"kind": "ServiceMonitor", "metadata": {"name": "shop"}, "spec": spec}))
    }

    #[test]
    fn the_job_is_the_service_name_unless_a_non_empty_job_label_names_it() {
        let svc = service();
        let job = |spec: Value| scrape_job(&Monitor::read(&monitor(spec)).unwrap(), &svc);
        assert_eq!(job(json!({})).as_deref(), Some("shop-server"));
        assert_eq!(job(json!({"jobLabel": "app"})).as_deref(), Some("shop"));
        assert_eq!(
            job(json!({"jobLabel": "empty"})).as_deref(),
            Some("shop-server")
        );
        assert_eq!(
            job(json!({"jobLabel": "absent"})).as_deref(),
            Some("shop-server")
        );
        let relabeled = json!({"jobLabel": "app", "endpoints": [{"relabelings": [{"targetLabel": "job", "replacement": "x"}]}]});
        assert_eq!(job(relabeled), None);
    }

    #[test]
    fn rules_asking_for_the_renamed_job_fail_and_others_pass() {
        let svc = service();
        let rule = |job: &str| {
            object(
                json!({"kind": "PrometheusRule", "metadata": {"name": "r"}, "spec": {"groups": [{"name": "g", "rules": [
                    {"alert": "A", "expr": format!("absent(up{{job=\"{job}\"}}) or rate(x_total{{job=~\"{job}\"}}[1m]) > 0")}
                ]}]}}),
            )
        };
        let renamed =
            monitor(json!({"jobLabel": "app", "selector": {"matchLabels": {"app": "shop"}}}));
        let renamed = Monitor::read(&renamed).unwrap();
        let c = job_check(
            std::slice::from_ref(&renamed),
            &[&svc],
            &[&rule("shop-server")],
        );
        assert_eq!(c.status, Status::Fail);
        let c = job_check(std::slice::from_ref(&renamed), &[&svc], &[&rule("shop")]);
        assert_eq!(c.status, Status::Pass);
        let plain = monitor(json!({"selector": {"matchLabels": {"app": "shop"}}}));
        let plain = Monitor::read(&plain).unwrap();
        let c = job_check(
            std::slice::from_ref(&plain),
            &[&svc],
            &[&rule("shop-server")],
        );
        assert_eq!(c.status, Status::Pass);
    }

    /// Only `job="…"` matchers count: a regex or a negative matcher on `job`, and the
    /// metric's name, ask for no job.
    #[test]
    fn only_equality_matchers_on_job_are_asked_for() {
        let rule = object(
            json!({"kind": "PrometheusRule", "metadata": {"name": "r"}, "spec": {"groups": [{"name": "g", "rules": [
                {"alert": "A", "expr": "up{job=\"a\"} + x_total{job=~\"b\",job!=\"c\"}"},
                {"record": "r", "expr": "sum(rate(y_total{job=\"d\"}[1m]))"},
                {"alert": "B", "expr": "up{"}
            ]}]}}),
        );
        assert_eq!(
            asked_jobs(&rule),
            BTreeSet::from(["a".to_owned(), "d".to_owned()])
        );
    }

    /// The summary counts the (namespace, job) pairs assigned when nothing fails.
    #[test]
    fn the_summary_counts_the_jobs_assigned() {
        let svc = service();
        let plain = monitor(json!({"selector": {"matchLabels": {"app": "shop"}}}));
        let plain = Monitor::read(&plain).unwrap();
        let c = job_check(std::slice::from_ref(&plain), &[&svc], &[]);
        assert_eq!(
            (c.status, c.summary.as_str()),
            (
                Status::Pass,
                "no jobLabel renames a job the rules ask for (1 job(s) assigned)"
            )
        );
        let renamed =
            monitor(json!({"jobLabel": "app", "selector": {"matchLabels": {"app": "shop"}}}));
        let renamed = Monitor::read(&renamed).unwrap();
        let rule = object(
            json!({"kind": "PrometheusRule", "metadata": {"name": "r"}, "spec": {"groups": [{"name": "g", "rules": [
                {"alert": "A", "expr": "up{job!=\"shop-server\"} or up{job=~\"shop-server\"}"}
            ]}]}}),
        );
        let c = job_check(std::slice::from_ref(&renamed), &[&svc], &[&rule]);
        assert_eq!(c.status, Status::Pass, "{:?}", c.findings);
        let rule = object(
            json!({"kind": "PrometheusRule", "metadata": {"name": "r"}, "spec": {"groups": [{"name": "g", "rules": [
                {"alert": "A", "expr": "up{job=\"shop-server\"}"}
            ]}]}}),
        );
        let c = job_check(std::slice::from_ref(&renamed), &[&svc], &[&rule]);
        assert_eq!(
            (c.status, c.summary.as_str()),
            (Status::Fail, "rules ask for a job Prometheus never assigns")
        );
        assert_eq!(
            c.findings[0].message,
            "PrometheusRule shop/r asks for job=\"shop-server\", but ServiceMonitor shop/shop names the job \"shop\" (jobLabel app: the Service's label, not its name): none of these alerts can fire"
        );
    }
}
