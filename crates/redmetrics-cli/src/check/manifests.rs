//! `redmetrics check --manifests`: static lint of ServiceMonitors, Services, PrometheusRules
//! and dashboard ConfigMaps together, catching what makes a target silently never appear.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr};
use redmetrics::collect::MetricType;
use redmetrics::contract::{Contract, Role};
use serde_json::Value;

use super::report::{Check, Report, Status};
use crate::config::{PromDuration, Resolved};

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

/// A Kubernetes object and where it came from.
#[derive(Debug, Clone)]
struct Object {
    value: Value,
    namespace: String,
}

impl Object {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }
    fn name(&self) -> &str {
        self.value["metadata"]["name"]
            .as_str()
            .unwrap_or("<unnamed>")
    }
    fn id(&self) -> String {
        format!("{} {}/{}", self.kind(), self.namespace, self.name())
    }
    fn labels(&self) -> BTreeMap<String, String> {
        string_map(&self.value["metadata"]["labels"])
    }
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Everything read from the given paths.
#[derive(Debug, Default)]
struct Inputs {
    objects: Vec<Object>,
    /// Dashboards given as plain JSON files.
    dashboards: Vec<(String, Value)>,
    /// Helm template sources (`templates/*.yaml` of a chart directory), unrendered.
    templates: Vec<(String, String)>,
}

fn read_paths(paths: &[String], default_ns: &str) -> Result<Inputs, String> {
    let mut inputs = Inputs::default();
    for p in paths {
        if p == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            add_yaml(&mut inputs, "<stdin>", &text, default_ns)?;
            continue;
        }
        let path = PathBuf::from(p);
        if path.is_dir() {
            if path.join("Chart.yaml").is_file() {
                for file in walk(&path.join("templates"))? {
                    let text = read(&file)?;
                    inputs.templates.push((file.display().to_string(), text));
                }
            } else {
                for file in walk(&path)? {
                    add_file(&mut inputs, &file, default_ns)?;
                }
            }
        } else if path.is_file() {
            add_file(&mut inputs, &path, default_ns)?;
        } else {
            return Err(format!("{p}: no such file or directory"));
        }
    }
    Ok(inputs)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            out.extend(walk(&e)?);
        } else if e
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json" || x == "tpl")
        {
            out.push(e);
        }
    }
    Ok(out)
}

fn add_file(inputs: &mut Inputs, path: &Path, default_ns: &str) -> Result<(), String> {
    let text = read(path)?;
    let source = path.display().to_string();
    if path.extension().is_some_and(|x| x == "json") {
        let v: Value =
            serde_json::from_str(&text).map_err(|e| format!("{source}: not valid JSON: {e}"))?;
        if v.get("panels").is_some() {
            inputs.dashboards.push((source, v));
        } else {
            add_value(inputs, v, default_ns);
        }
        return Ok(());
    }
    let in_templates = path.components().any(|c| c.as_os_str() == "templates");
    if in_templates && text.contains("{{") {
        // An unrendered Helm template: lint it as a template, not as YAML.
        inputs.templates.push((source, text));
        return Ok(());
    }
    add_yaml(inputs, &source, &text, default_ns)
}

fn add_yaml(inputs: &mut Inputs, source: &str, text: &str, default_ns: &str) -> Result<(), String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| {
        format!("{source}: not valid YAML: {e}\n  (render Helm charts first: `helm template … | redmetrics check --manifests -`)")
    })?;
    for doc in docs {
        add_value(inputs, doc, default_ns);
    }
    Ok(())
}

fn add_value(inputs: &mut Inputs, v: Value, default_ns: &str) {
    if v["kind"] == "List" {
        for item in v["items"].as_array().cloned().unwrap_or_default() {
            add_value(inputs, item, default_ns);
        }
        return;
    }
    if !v.is_object() || v["kind"].as_str().is_none() {
        return;
    }
    let namespace = v["metadata"]["namespace"]
        .as_str()
        .unwrap_or(default_ns)
        .to_owned();
    inputs.objects.push(Object {
        value: v,
        namespace,
    });
}

/// Whether a `LabelSelector` (matchLabels, matchExpressions) selects `labels`.
fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let match_labels = string_map(&selector["matchLabels"]);
    if !match_labels.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        return false;
    }
    selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let have = labels.get(key).map(String::as_str);
            match e["operator"].as_str().unwrap_or_default() {
                "In" => have.is_some_and(|h| values.contains(&h)),
                "NotIn" => have.is_none_or(|h| !values.contains(&h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            }
        })
}

/// The namespaces a ServiceMonitor looks in; `None` means all.
fn monitored_namespaces(sm: &Object) -> Option<BTreeSet<String>> {
    let sel = &sm.value["spec"]["namespaceSelector"];
    if sel["any"] == true {
        return None;
    }
    let names: BTreeSet<String> = sel["matchNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    Some(if names.is_empty() {
        BTreeSet::from([sm.namespace.clone()])
    } else {
        names
    })
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
pub(crate) fn check(paths: &[String], expect: &Expectations) -> Result<Report, String> {
    let inputs = read_paths(paths, &expect.namespace)?;
    let of_kind =
        |k: &str| -> Vec<&Object> { inputs.objects.iter().filter(|o| o.kind() == k).collect() };
    let services = of_kind("Service");
    let monitors = of_kind("ServiceMonitor");
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
        monitors.len(),
        rules.len(),
        dashboards.len(),
        inputs.templates.len()
    );
    let mut checks = vec![
        monitor_check(&monitors, &services, expect),
        coverage_check(&monitors, &services, &inputs.templates, expect),
    ];
    if let Some(release) = &expect.stack_release {
        checks.push(release_check(&monitors, &rules, release));
    }
    let defined: BTreeSet<String> = rules
        .iter()
        .flat_map(|r| rule_list(r))
        .filter_map(|r| r["record"].as_str().map(str::to_owned))
        .collect();
    let known = Known::new(expect, &rules, &dashboards, defined);
    if !rules.is_empty() {
        checks.push(rules_check(&rules, &known));
    }
    if !dashboards.is_empty() {
        checks.push(dashboards_check(&dashboards, &known));
    }
    Ok(Report::new(target, checks))
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

fn monitor_check(monitors: &[&Object], services: &[&Object], expect: &Expectations) -> Check {
    let mut c = Check::new("service monitors");
    for sm in monitors {
        let id = sm.id();
        let spec = &sm.value["spec"];
        let namespaces = monitored_namespaces(sm);
        let in_scope: Vec<&Object> = services
            .iter()
            .copied()
            .filter(|s| namespaces.as_ref().is_none_or(|n| n.contains(&s.namespace)))
            .collect();
        let selected: Vec<&Object> = in_scope
            .iter()
            .copied()
            .filter(|s| selects(&spec["selector"], &s.labels()))
            .collect();
        if selected.is_empty() {
            let same_labels: Vec<&Object> = services
                .iter()
                .copied()
                .filter(|s| selects(&spec["selector"], &s.labels()))
                .collect();
            if let Some(other) = same_labels.first() {
                c.fail(
                    format!("{id} looks in namespace(s) {:?} but the Service it selects, {}, is in {}", namespaces.unwrap_or_default(), other.name(), other.namespace),
                    format!("add `namespaceSelector: {{matchNames: [{}]}}` or create the ServiceMonitor in {}", other.namespace, other.namespace),
                );
            } else if services.is_empty() {
                c.warn(
                    format!("{id}: no Service in the input to match it against"),
                    "pass the Service manifests too (e.g. the whole `helm template` output)",
                );
            } else {
                let labels: Vec<String> = in_scope
                    .iter()
                    .map(|s| format!("{}: {:?}", s.name(), s.labels()))
                    .collect();
                c.fail(
                    format!("{id} selects no Service: selector {} matches none of [{}]", spec["selector"], labels.join("; ")),
                    "make spec.selector.matchLabels a subset of the Service's metadata.labels (not the Pod's)",
                );
            }
        }
        let app = app_for(expect, &selected);
        for (i, ep) in spec["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{id} endpoint {i}");
            match ep["port"].as_str() {
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
                None if ep.get("targetPort").is_some() => c.warn(
                    format!("{at} uses targetPort"),
                    "targetPort is deprecated: name the Service port and use `port: <name>`",
                ),
                None => c.fail(
                    format!("{at} names no port"),
                    "set `port:` to the Service port's name",
                ),
            }
            let path = ep["path"].as_str().unwrap_or("/metrics");
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
            let interval = ep["interval"].as_str().map(PromDuration::parse);
            let timeout = ep["scrapeTimeout"].as_str().map(PromDuration::parse);
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
    let summary = match c.status {
        Status::Pass => format!(
            "{} ServiceMonitor(s): each selects a Service by its labels and a named port of it",
            monitors.len()
        ),
        Status::Warn => format!(
            "{} ServiceMonitor(s), not all checked against a Service",
            monitors.len()
        ),
        Status::Fail => "a ServiceMonitor will not find its target".to_owned(),
    };
    c.summary(summary)
}

fn coverage_check(
    monitors: &[&Object],
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
    let selected = |svc: &Object| {
        monitors.iter().any(|sm| {
            monitored_namespaces(sm).is_none_or(|n| n.contains(&svc.namespace))
                && selects(&sm.value["spec"]["selector"], &svc.labels())
        })
    };
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

/// Metric names queries may reference.
struct Known {
    names: BTreeSet<String>,
    prefixes: Vec<String>,
}

/// Series names a contract's family exports (size families may be histograms or summaries).
fn contract_names(contract: &Contract) -> Vec<String> {
    let mut out = Vec::new();
    for f in contract.families() {
        let n = f.desc.name();
        out.push(n.to_owned());
        let sizes = matches!(f.role, Role::RequestSize | Role::ResponseSize);
        if f.desc.kind() == MetricType::Histogram || sizes {
            out.extend(["_bucket", "_sum", "_count"].map(|s| format!("{n}{s}")));
        }
        if f.desc.kind() == MetricType::Summary {
            out.extend(["_sum", "_count"].map(|s| format!("{n}{s}")));
        }
    }
    out
}

/// Vector selector names in an expression.
fn metric_names(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::VectorSelector(vs) => {
            if let Some(n) = &vs.name {
                out.push(n.clone());
            }
            for m in &vs.matchers.matchers {
                if m.name == "__name__" && matches!(m.op, MatchOp::Equal) {
                    out.push(m.value.clone());
                }
            }
        }
        Expr::MatrixSelector(ms) => metric_names(&Expr::VectorSelector(ms.vs.clone()), out),
        Expr::Aggregate(a) => {
            metric_names(&a.expr, out);
            if let Some(p) = &a.param {
                metric_names(p, out);
            }
        }
        Expr::Unary(u) => metric_names(&u.expr, out),
        Expr::Binary(b) => {
            metric_names(&b.lhs, out);
            metric_names(&b.rhs, out);
        }
        Expr::Paren(p) => metric_names(&p.expr, out),
        Expr::Subquery(s) => metric_names(&s.expr, out),
        Expr::Call(call) => {
            for a in &call.args.args {
                metric_names(a, out);
            }
        }
        _ => {}
    }
}

/// Grafana's variables replaced by values PromQL accepts.
fn without_variables(expr: &str) -> String {
    let mut s = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
        .replace("${__rate_interval}", "1m");
    while let Some(start) = s.find('$') {
        let rest = &s[start + 1..];
        let len = if let Some(r) = rest.strip_prefix('{') {
            r.find('}').map_or(rest.len(), |i| i + 2)
        } else {
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len())
        };
        s.replace_range(start..start + 1 + len, "x");
    }
    s
}

impl Known {
    fn new(
        expect: &Expectations,
        rules: &[&Object],
        dashboards: &[(String, Value)],
        defined: BTreeSet<String>,
    ) -> Self {
        let mut prefixes: Vec<String> = expect.prefix.iter().cloned().collect();
        prefixes.extend(expect.apps.iter().map(|a| a.prefix().to_owned()));
        if prefixes.is_empty() {
            // Infer from what the queries reference.
            let mut names = Vec::new();
            for r in rules.iter().flat_map(|r| rule_list(r)) {
                if let Some(Ok(e)) = r["expr"].as_str().map(parser::parse) {
                    metric_names(&e, &mut names);
                }
            }
            for (_, d) in dashboards {
                for t in dashboard_exprs(d) {
                    if let Ok(e) = parser::parse(&without_variables(&t.1)) {
                        metric_names(&e, &mut names);
                    }
                }
            }
            prefixes = names
                .iter()
                .filter_map(|n| n.strip_suffix("_http_requests_total").map(str::to_owned))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
        }
        let mut names = defined;
        for p in &prefixes {
            if let Ok(c) = Contract::seed(p) {
                names.extend(contract_names(&c));
            }
        }
        names.extend(
            [
                "up",
                "ALERTS",
                "ALERTS_FOR_STATE",
                "scrape_duration_seconds",
                "scrape_samples_scraped",
                "redmetrics_cardinality_overflow_total",
                "process_cpu_seconds_total",
                "process_resident_memory_bytes",
                "process_virtual_memory_bytes",
                "process_open_fds",
                "process_max_fds",
                "process_start_time_seconds",
            ]
            .map(String::from),
        );
        Self { names, prefixes }
    }

    /// Checks one query: it parses and names only known metrics.
    fn judge(&self, c: &mut Check, at: &str, expr: &str) {
        match parser::parse(expr) {
            Err(e) => c.fail(
                format!("{at}: not valid PromQL: {}", e.trim()),
                "fix the expression (check it with `promtool check rules` or the Prometheus UI)",
            ),
            Ok(parsed) => {
                let mut names = Vec::new();
                metric_names(&parsed, &mut names);
                for n in names.into_iter().filter(|n| !self.names.contains(n)) {
                    let hint = if self.prefixes.is_empty() {
                        "no redmetrics prefix found: name it with --prefix".to_owned()
                    } else {
                        format!(
                            "the contract for prefix {} defines no such metric: a typo, or the wrong prefix",
                            self.prefixes.join("/")
                        )
                    };
                    c.fail(format!("{at}: references {n}"), hint);
                }
            }
        }
    }
}

fn rules_check(rules: &[&Object], known: &Known) -> Check {
    let mut c = Check::new("rules");
    let mut count = 0;
    for r in rules {
        for rule in rule_list(r) {
            count += 1;
            let name = rule["alert"]
                .as_str()
                .or(rule["record"].as_str())
                .unwrap_or("<unnamed>");
            let at = format!("{} rule {name}", r.id());
            match rule["expr"].as_str() {
                Some(expr) => known.judge(&mut c, &at, expr),
                None => c.fail(format!("{at} has no expr"), "every rule needs an expr"),
            }
        }
    }
    let summary = if c.status == Status::Pass {
        format!("{count} rule expressions parse and reference only metrics the contract defines")
    } else {
        "rule expressions that cannot work".to_owned()
    };
    c.summary(summary)
}

fn dashboard_exprs(d: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut panels: Vec<&Value> = d["panels"].as_array().into_iter().flatten().collect();
    while let Some(p) = panels.pop() {
        panels.extend(p["panels"].as_array().into_iter().flatten());
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = t["expr"].as_str() {
                out.push((
                    p["title"].as_str().unwrap_or("<untitled>").to_owned(),
                    expr.to_owned(),
                ));
            }
        }
    }
    out
}

fn dashboards_check(dashboards: &[(String, Value)], known: &Known) -> Check {
    let mut c = Check::new("dashboards");
    let mut count = 0;
    for (source, d) in dashboards {
        if d.is_null() {
            c.fail(
                format!("{source}: not valid JSON"),
                "store the dashboard JSON as exported by Grafana",
            );
            continue;
        }
        if d.get("__inputs").is_some() || d.to_string().contains("${DS_PROMETHEUS}") {
            c.fail(
                format!("{source} uses __inputs / ${{DS_PROMETHEUS}}"),
                "sidecar provisioning cannot resolve import inputs: use a `datasource` variable of type prometheus and `\"uid\": \"${datasource}\"`",
            );
        }
        for (title, expr) in dashboard_exprs(d) {
            count += 1;
            known.judge(
                &mut c,
                &format!("{source} panel \"{title}\""),
                &without_variables(&expr),
            );
        }
    }
    let summary = if c.status == Status::Pass {
        format!("{count} panel queries parse and reference only metrics the contract defines")
    } else {
        "dashboard queries that cannot work".to_owned()
    };
    c.summary(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let sel: Value = serde_json::json!({"matchLabels": {"app": "a"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]});
        assert!(selects(&sel, &labels));
        let sel: Value =
            serde_json::json!({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]});
        assert!(!selects(&sel, &labels));
    }
}
