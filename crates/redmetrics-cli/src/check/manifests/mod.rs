//! `redmetrics check manifests`: static lint of ServiceMonitors, Services, PrometheusRules
//! and dashboard ConfigMaps together, catching what makes a target silently never appear.

mod clash;
mod helm;
mod input;
mod jobs;
pub(crate) mod queries;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use self::input::{Inputs, Object, read_paths, string_map};
use self::queries::{Known, dashboards_check, rules_check};
use super::CheckError;
use super::report::{Check, Report, Status};
use crate::config::{PromDuration, Resolved};
use crate::servicemonitor::ServiceMonitor;

/// What the caller knows about the apps.
#[derive(Debug, Default)]
pub(crate) struct Expectations {
    /// Metrics path every ServiceMonitor must scrape.
    pub(crate) metrics_path: Option<String>,
    /// Apps from a redmetrics config: expected paths, prefixes and Services.
    pub(crate) apps: Vec<Resolved>,
    /// kube-prometheus-stack release whose label the objects must carry.
    pub(crate) stack_release: Option<String>,
    /// Metric prefix of the rules and dashboards.
    pub(crate) prefix: Option<String>,
    /// Namespace of objects that do not name one (as `helm template -n`).
    pub(crate) namespace: String,
}

/// A ServiceMonitor of the input, read into the type `generate` writes.
struct Monitor<'a> {
    object: &'a Object,
    sm: ServiceMonitor,
}

impl<'a> Monitor<'a> {
    /// `Err` with serde's reason when a field has a type the operator's CRD refuses too.
    fn read(object: &'a Object) -> Result<Self, String> {
        serde_json::from_value(object.value.clone())
            .map(|sm| Self { object, sm })
            .map_err(|e| e.to_string())
    }

    /// The namespaces it looks in; `None` means all.
    fn namespaces(&self) -> Option<BTreeSet<String>> {
        match &self.sm.spec.namespace_selector {
            Some(s) if s.any => None,
            Some(s) if !s.match_names.is_empty() => Some(s.match_names.iter().cloned().collect()),
            _ => Some(BTreeSet::from([self.object.namespace.clone()])),
        }
    }

    /// Whether it scrapes `svc`: in a namespace it looks in, with labels its selector selects.
    fn selects(&self, svc: &Object) -> bool {
        self.namespaces().is_none_or(|n| n.contains(&svc.namespace))
            && self.sm.spec.selector.selects(&svc.labels())
    }
}

fn port_names(svc: &Object) -> Vec<String> {
    svc.value["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["name"].as_str().unwrap_or("<unnamed>").to_owned())
        .collect()
}

/// Runs every manifest check.
pub(crate) fn check(paths: &[String], expect: &Expectations) -> Result<Report, CheckError> {
    let inputs = read_paths(paths, &expect.namespace)?;
    let of_kind =
        |k: &str| -> Vec<&Object> { inputs.objects.iter().filter(|o| o.kind() == k).collect() };
    let services = of_kind("Service");
    let (monitors, unread): (Vec<_>, Vec<_>) = of_kind("ServiceMonitor")
        .into_iter()
        .map(|o| Monitor::read(o).map_err(|e| (o.id(), e)))
        .partition(Result::is_ok);
    let monitors: Vec<Monitor<'_>> = monitors.into_iter().filter_map(Result::ok).collect();
    let unread: Vec<(String, String)> = unread.into_iter().filter_map(Result::err).collect();
    let rules = of_kind("PrometheusRule");
    let dashboards: Vec<(String, Value)> = of_kind("ConfigMap")
        .into_iter()
        .filter(|cm| cm.labels().contains_key("grafana_dashboard"))
        .flat_map(|cm| {
            string_map(&cm.value["data"])
                .into_iter()
                .map(|(k, v)| {
                    (
                        format!("{} {k}", cm.id()),
                        serde_json::from_str(&v).unwrap_or(Value::Null),
                    )
                })
                .collect::<Vec<_>>()
        })
        .chain(inputs.dashboards.iter().cloned())
        .collect();
    let target = format!(
        "manifests: {} Service, {} ServiceMonitor, {} PrometheusRule, {} dashboard, {} template file(s)",
        services.len(),
        monitors.len() + unread.len(),
        rules.len(),
        dashboards.len(),
        inputs.templates.len()
    );
    // Listed only when it finds something: the target line already counts the input.
    let input = input_check(&inputs, dashboards.len());
    let mut checks: Vec<Check> = (input.status != Status::Pass)
        .then_some(input)
        .into_iter()
        .collect();
    checks.extend([
        monitor_check(&monitors, &unread, &services, expect),
        coverage_check(&monitors, &services, &inputs.templates, expect),
    ]);
    if let Some(release) = &expect.stack_release {
        let objects: Vec<&Object> = monitors.iter().map(|m| m.object).collect();
        checks.push(release_check(&objects, &rules, release));
    }
    let defined: BTreeSet<String> = rules
        .iter()
        .flat_map(|r| rule_list(r))
        .filter_map(|r| r["record"].as_str().map(str::to_owned))
        .collect();
    let known = Known::new(expect, &rules, &dashboards, defined);
    if !rules.is_empty() {
        checks.push(jobs::job_check(&monitors, &services, &rules));
        checks.push(clash::clash_check(&rules));
        checks.push(rules_check(&rules, &known));
    }
    if !dashboards.is_empty() {
        checks.push(dashboards_check(&dashboards, &known));
    }
    Ok(Report::new(target, checks))
}

/// Whether there is anything to judge: nothing to check is a failure, and so is a chart
/// named on the command line that could not be rendered. A chart found inside a folder and
/// left unrendered is a warning: the rest of the folder was checked, the chart was not.
fn input_check(inputs: &Inputs, dashboards: usize) -> Check {
    let mut c = Check::new("input");
    let mut seen: BTreeMap<String, &Value> = BTreeMap::new();
    for o in &inputs.objects {
        match seen.insert(o.id(), &o.value) {
            Some(before) if before != &o.value => c.fail(
                format!("{} is defined twice, differently: whichever is applied last replaces the other", o.id()),
                "keep one of them (e.g. the chart's monitoring objects or the generated deploy/<app>/ ones, not both)",
            ),
            _ => {}
        }
    }
    for chart in &inputs.unrendered {
        let message = format!(
            "{} is a Helm chart and `helm` is not on PATH: its templates were linted, its objects not checked",
            chart.dir
        );
        let fix = format!("render it and pipe it in: `{}`", chart.command);
        if chart.named {
            c.fail(message, fix);
        } else {
            c.warn(message, fix);
        }
    }
    if inputs.objects.is_empty() && dashboards == 0 && inputs.unrendered.is_empty() {
        c.fail(
            "nothing to check: the input holds no Kubernetes object and no dashboard",
            "pass the rendered manifests (files, folders, or `helm template … | redmetrics check manifests -`)",
        );
    }
    let summary = match c.status {
        Status::Pass => format!(
            "{} object(s) and {dashboards} dashboard(s) read",
            inputs.objects.len()
        ),
        _ if inputs.objects.is_empty() && inputs.unrendered.is_empty() => {
            "nothing to check".to_owned()
        }
        _ if inputs.unrendered.is_empty() => "objects defined twice".to_owned(),
        _ => "a chart was not rendered".to_owned(),
    };
    c.summary(summary)
}

fn rule_list(r: &Object) -> Vec<Value> {
    r.value["spec"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The app a ServiceMonitor is for, by the Services it selects.
fn app_for<'a>(expect: &'a Expectations, selected: &[&Object]) -> Option<&'a Resolved> {
    expect.apps.iter().find(|a| {
        selected
            .iter()
            .any(|s| s.name() == a.app.service && s.namespace == a.app.namespace)
    })
}

fn monitor_check(
    monitors: &[Monitor<'_>],
    unread: &[(String, String)],
    services: &[&Object],
    expect: &Expectations,
) -> Check {
    let mut c = Check::new("service monitors");
    for (id, why) in unread {
        c.fail(
            format!("{id} is not a ServiceMonitor the Prometheus Operator accepts: {why}"),
            "give the field the type the ServiceMonitor CRD declares (e.g. `port` is the Service port's name, a string)",
        );
    }
    // (Service, port, path) -> the ServiceMonitors scraping it.
    let mut scrapes: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for m in monitors {
        let id = m.object.id();
        let spec = &m.sm.spec;
        let namespaces = m.namespaces();
        let in_scope: Vec<&Object> = services
            .iter()
            .copied()
            .filter(|s| namespaces.as_ref().is_none_or(|n| n.contains(&s.namespace)))
            .collect();
        let selected: Vec<&Object> = in_scope
            .iter()
            .copied()
            .filter(|s| spec.selector.selects(&s.labels()))
            .collect();
        if selected.is_empty() {
            let same_labels: Vec<&Object> = services
                .iter()
                .copied()
                .filter(|s| spec.selector.selects(&s.labels()))
                .collect();
            if let Some(other) = same_labels.first() {
                c.fail(
                    format!("{id} looks in namespace(s) {:?} but the Service it selects, {}, is in {}", namespaces.unwrap_or_default(), other.name(), other.namespace),
                    format!("add `namespaceSelector: {{matchNames: [{}]}}` or create the ServiceMonitor in {}", other.namespace, other.namespace),
                );
            } else if in_scope.is_empty() {
                c.warn(
                    format!(
                        "{id}: no Service in its namespace(s) in the input to match it against"
                    ),
                    "pass the Service manifests too (e.g. the whole `helm template` output)",
                );
            } else {
                let labels: Vec<String> = in_scope
                    .iter()
                    .map(|s| format!("{}: {:?}", s.name(), s.labels()))
                    .collect();
                c.fail(
                    format!("{id} selects no Service: selector {} matches none of [{}]", m.object.value["spec"]["selector"], labels.join("; ")),
                    "make spec.selector.matchLabels a subset of the Service's metadata.labels (not the Pod's)",
                );
            }
        }
        let app = app_for(expect, &selected);
        for (i, ep) in spec.endpoints.iter().enumerate() {
            let at = format!("{id} endpoint {i}");
            match ep.port.as_deref() {
                Some(port) => {
                    for svc in &selected {
                        let names = port_names(svc);
                        if !names.iter().any(|n| n == port) {
                            c.fail(
                                format!("{at}: port \"{port}\" is not a port name of Service {}/{} (its ports: {})", svc.namespace, svc.name(), names.join(", ")),
                                format!("set the endpoint's port to the Service port's name, e.g. `port: {}`", names.first().map_or("http", String::as_str)),
                            );
                        }
                    }
                }
                None if ep.target_port.is_some() => c.warn(
                    format!("{at} uses targetPort"),
                    "targetPort is deprecated: name the Service port and use `port: <name>`",
                ),
                None => c.fail(
                    format!("{at} names no port"),
                    "set `port:` to the Service port's name",
                ),
            }
            let path = ep.path.as_deref().unwrap_or("/metrics");
            if let Some(port) = ep.port.as_deref() {
                for svc in &selected {
                    let key = (svc.id(), port.to_owned(), path.to_owned());
                    let by = scrapes.entry(key).or_default();
                    if !by.contains(&id) {
                        by.push(id.clone());
                    }
                }
            }
            let expected = app
                .map(|a| a.app.metrics_path.as_str())
                .or(expect.metrics_path.as_deref());
            if let Some(expected) = expected
                && path != expected
            {
                c.fail(
                    format!(
                        "{at} scrapes path {path}, but the app serves its metrics at {expected}"
                    ),
                    format!(
                        "set `path: {expected}` (a wrong path shows as a DOWN target answering 404)"
                    ),
                );
            }
            let interval = ep.interval.as_deref().map(PromDuration::parse);
            let timeout = ep.scrape_timeout.as_deref().map(PromDuration::parse);
            match (interval, timeout) {
                (Some(Err(e)), _) | (_, Some(Err(e))) => c.fail(format!("{at}: {e}"), "use Prometheus durations such as 30s"),
                (Some(Ok(i)), Some(Ok(t))) if t > i => c.fail(
                    format!("{at}: scrapeTimeout {t} is longer than interval {i}"),
                    "the Prometheus Operator rejects this ServiceMonitor: make scrapeTimeout at most the interval",
                ),
                _ => {}
            }
        }
    }
    let missed = c.status == Status::Fail;
    for ((svc, port, path), by) in scrapes.iter().filter(|(_, by)| by.len() > 1) {
        c.fail(
            format!("{svc} port \"{port}\" path {path} is scraped by {}: every series twice, under the same job", by.join(" and ")),
            "keep one ServiceMonitor per target: the chart's (metrics.serviceMonitor.enabled) or the generated deploy/<app>/servicemonitor.yaml, not both",
        );
    }
    let summary = match c.status {
        Status::Pass => format!(
            "{} ServiceMonitor(s): each selects a Service by its labels and a named port of it",
            monitors.len()
        ),
        Status::Warn => format!(
            "{} ServiceMonitor(s), not all checked against a Service",
            monitors.len()
        ),
        Status::Fail if missed => "a ServiceMonitor will not find its target".to_owned(),
        Status::Fail => "a target is scraped twice".to_owned(),
    };
    c.summary(summary)
}

fn coverage_check(
    monitors: &[Monitor<'_>],
    services: &[&Object],
    templates: &[(String, String)],
    expect: &Expectations,
) -> Check {
    let mut c = Check::new("coverage");
    for (file, text) in templates {
        let monitoring =
            text.contains("kind: ServiceMonitor") || text.contains("kind: PrometheusRule");
        if monitoring && text.contains(".Capabilities.APIVersions.Has") {
            c.fail(
                format!("{file} renders its monitoring object only when the cluster reports the CRD (.Capabilities.APIVersions.Has)"),
                "`helm template` and ArgoCD render without a cluster, so the object silently disappears: gate on values instead (`if and .Values.metrics.enabled .Values.metrics.serviceMonitor.enabled`)",
            );
        }
    }
    let selected = |svc: &Object| monitors.iter().any(|m| m.selects(svc));
    if monitors.is_empty() && !services.is_empty() {
        let names: Vec<String> = services
            .iter()
            .map(|s| format!("{}/{}", s.namespace, s.name()))
            .collect();
        c.fail(
            format!("no ServiceMonitor in the input, so Prometheus scrapes none of: {}", names.join(", ")),
            "if the chart renders it only when values allow, set both `metrics.enabled` and `metrics.serviceMonitor.enabled` to true; if it is gated on .Capabilities, gate it on values",
        );
    }
    for app in &expect.apps {
        if let Some(svc) = services
            .iter()
            .find(|s| s.name() == app.app.service && s.namespace == app.app.namespace)
            && !monitors.is_empty()
            && !selected(svc)
        {
            c.fail(
                format!(
                    "Service {}/{} of app {} is selected by no ServiceMonitor",
                    svc.namespace,
                    svc.name(),
                    app.app.name
                ),
                "add a ServiceMonitor whose selector matches the Service's labels",
            );
        }
    }
    let summary = if c.status == Status::Pass {
        "every configured Service has a ServiceMonitor, none gated on cluster capabilities"
            .to_owned()
    } else {
        "a Service will not be scraped".to_owned()
    };
    c.summary(summary)
}

fn release_check(monitors: &[&Object], rules: &[&Object], release: &str) -> Check {
    let mut c = Check::new("stack selection");
    for o in monitors.iter().chain(rules) {
        if o.labels().get("release").map(String::as_str) != Some(release) {
            c.fail(
                format!("{} has no label `release: {release}`", o.id()),
                format!(
                    "a default kube-prometheus-stack install selects only objects labelled `release: {release}`: add the label, or set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false (and ruleSelectorNilUsesHelmValues=false) in the stack's values"
                ),
            );
        }
    }
    let summary = if c.status == Status::Pass {
        format!("every ServiceMonitor and PrometheusRule carries release: {release}")
    } else {
        format!("objects the stack `{release}` will not select")
    };
    c.summary(summary)
}

#[cfg(test)]
mod tests {
    use super::queries::without_variables;
    use super::*;
    use crate::servicemonitor::LabelSelector;

    #[test]
    fn grafana_variables_become_parsable() {
        assert_eq!(
            without_variables("rate(x{job=\"$job\",ns=\"${namespace}\"}[$__rate_interval])"),
            "rate(x{job=\"x\",ns=\"x\"}[1m])"
        );
    }

    #[test]
    fn label_selectors() {
        let labels = BTreeMap::from([
            ("app".to_owned(), "a".to_owned()),
            ("tier".to_owned(), "web".to_owned()),
        ]);
        let sel: LabelSelector = serde_json::from_value(serde_json::json!({"matchLabels": {"app": "a"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]})).unwrap();
        assert!(sel.selects(&labels));
        let sel: LabelSelector = serde_json::from_value(
            serde_json::json!({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}),
        )
        .unwrap();
        assert!(!sel.selects(&labels));
    }
}

#[cfg(test)]
mod checks_tests;
