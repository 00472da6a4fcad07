//! The Grafana dashboard of one app: classic JSON model, schemaVersion 39, as
//! kube-prometheus-stack's sidecar provisions it.
//!
//! Data source, namespace and job are variables (no `__inputs`, which sidecar provisioning
//! cannot resolve); every query is summed or quantiled across pods so it is right for any
//! replica count. Every query that aggregates across pods reads the series the aggregation
//! rules record (`rules.yaml`), joined by `or` with the same query over the raw series for
//! where the rules have not evaluated yet; both use the rules' rate window, so a panel draws
//! the same figures either way. Only the per-pod panels (CPU, memory) read raw series alone.

use redmetrics::contract::{FamilySpec, Shape};
use serde_json::{Value, json};

use crate::config::Resolved;
use crate::promql::{Queries, either};

/// The data source every panel and target uses: the dashboard's `datasource` variable.
fn datasource() -> Value {
    json!({ "type": "prometheus", "uid": "${datasource}" })
}

/// The per-pod panels' rate window: Grafana's, at least four scrape intervals.
const RATE: &str = "$__rate_interval";

/// Lays panels out left to right on a 24-column grid.
#[derive(Default)]
pub(super) struct Layout {
    pub(super) panels: Vec<Value>,
    next_id: u64,
    x: u64,
    y: u64,
}

impl Layout {
    pub(super) fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.y += 8;
            self.x = 0;
        }
        let id = self.id();
        self.panels.push(json!({
            "id": id,
            "type": "row",
            "title": title,
            "collapsed": false,
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": self.y },
            "panels": [],
        }));
        self.y += 1;
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn place(&mut self, w: u64) -> Value {
        if self.x + w > 24 {
            self.x = 0;
            self.y += 8;
        }
        let pos = json!({ "h": 8, "w": w, "x": self.x, "y": self.y });
        self.x += w;
        pos
    }

    /// A time series panel with one target per `(expr, legend)`.
    pub(super) fn timeseries(
        &mut self,
        title: &str,
        description: &str,
        unit: &str,
        w: u64,
        targets: &[(String, &str)],
    ) {
        let id = self.id();
        let gridpos = self.place(w);
        self.panels.push(json!({
            "id": id,
            "type": "timeseries",
            "title": title,
            "description": description,
            "datasource": datasource(),
            "gridPos": gridpos,
            "fieldConfig": {
                "defaults": {
                    "unit": unit,
                    "min": 0,
                    "custom": { "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": false },
                },
                "overrides": [],
            },
            "options": {
                "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true },
                "tooltip": { "mode": "multi", "sort": "desc" },
            },
            "targets": target_list(targets, false),
        }));
    }

    /// Asks Grafana to fetch exemplars for the targets of the panel just placed: the trace
    /// ids the service attaches to its latency buckets show as points linking to the trace.
    fn with_exemplars(&mut self) {
        if let Some(Value::Array(targets)) = self.panels.last_mut().map(|p| &mut p["targets"]) {
            for t in targets {
                t["exemplar"] = json!(true);
            }
        }
    }

    /// A table of instant queries merged on their labels.
    fn table(&mut self, title: &str, description: &str, w: u64, columns: &[(String, &str, &str)]) {
        let id = self.id();
        let gridpos = self.place(w);
        let queries: Vec<(String, &str)> =
            columns.iter().map(|(e, _, _)| (e.clone(), "")).collect();
        let mut rename = serde_json::Map::new();
        let mut overrides = Vec::new();
        for (i, (_, name, unit)) in columns.iter().enumerate() {
            let field = format!("Value #{}", ref_id(i));
            rename.insert(field.clone(), json!(name));
            overrides.push(json!({
                "matcher": { "id": "byName", "options": name },
                "properties": [{ "id": "unit", "value": unit }],
            }));
        }
        self.panels.push(json!({
            "id": id,
            "type": "table",
            "title": title,
            "description": description,
            "datasource": datasource(),
            "gridPos": gridpos,
            "fieldConfig": { "defaults": {}, "overrides": overrides },
            "options": { "showHeader": true, "sortBy": [{ "displayName": columns[0].1, "desc": true }] },
            "targets": target_list(&queries, true),
            "transformations": [
                { "id": "merge", "options": {} },
                { "id": "organize", "options": { "excludeByName": { "Time": true }, "renameByName": rename } },
            ],
        }));
    }
}

fn ref_id(i: usize) -> char {
    (b'A' + i as u8) as char
}

fn target_list(queries: &[(String, &str)], instant: bool) -> Value {
    Value::Array(
        queries
            .iter()
            .enumerate()
            .map(|(i, (expr, legend))| {
                let mut t = json!({
                    "datasource": datasource(),
                    "expr": expr,
                    "refId": ref_id(i).to_string(),
                    "range": !instant,
                    "instant": instant,
                });
                if instant {
                    t["format"] = json!("table");
                } else {
                    t["legendFormat"] = json!(legend);
                }
                t
            })
            .collect(),
    )
}

/// A `query` variable over `label_values`.
fn variable(name: &str, label: &str, query: String, current: &str) -> Value {
    json!({
        "name": name,
        "label": label,
        "type": "query",
        "datasource": datasource(),
        "query": { "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery" },
        "definition": query,
        "current": { "selected": false, "text": current, "value": current },
        "options": [],
        "refresh": 2,
        "includeAll": false,
        "multi": false,
        "sort": 1,
        "hide": 0,
        "regex": "",
    })
}

/// The dashboard's two readings of one query: the aggregation rules' recorded series, or the
/// raw ones where those have not been evaluated (see [`either`]).
struct Aggregated<'a> {
    recorded: Queries<'a>,
    raw: Queries<'a>,
    /// The rules' rate window, which names the recorded series.
    window: String,
}

impl Aggregated<'_> {
    /// `query` over the recorded series, or over the raw ones.
    fn q(&self, query: impl Fn(&Queries<'_>, &str) -> String) -> String {
        either(
            query(&self.recorded, &self.window),
            query(&self.raw, &self.window),
        )
    }
}

/// What a size panel shows: summaries give per-pod quantiles (the worst pod is shown),
/// histograms a p99 over all pods from their buckets.
fn size_description(what: &str, family: &FamilySpec) -> String {
    match family.shape() {
        Shape::Histogram(_) => format!(
            "{what} body bytes per route: average and p99 over all pods (histogram_quantile over the size buckets)."
        ),
        _ => format!(
            "{what} body bytes per route: average over all pods, and the highest per-pod p99."
        ),
    }
}

/// The dashboard of `r`.
pub(crate) fn dashboard(r: &Resolved) -> Value {
    let selector = "namespace=\"$namespace\",job=\"$job\"";
    let q = Queries::new(&r.contract, selector);
    let b = Aggregated {
        recorded: Queries::recorded(&r.contract, selector),
        raw: q.clone(),
        window: r.rate_window.to_string(),
    };
    let routes = q.route_labels();
    let route_legend = "{{method}} {{path}}";
    let mut l = Layout::default();

    l.row("Traffic");
    l.timeseries(
        "Request rate",
        "Requests per second over all pods.",
        "reqps",
        8,
        &[(b.q(|q, w| q.request_rate(w, "")), "all")],
    );
    l.timeseries(
        "Request rate by route",
        "Requests per second per route template, over all pods.",
        "reqps",
        8,
        &[(b.q(|q, w| q.request_rate(w, &routes)), route_legend)],
    );
    l.timeseries(
        "Request rate by status class",
        "Requests per second per status class (2xx, 3xx, 4xx, 5xx).",
        "reqps",
        8,
        &[(
            b.q(|q, w| q.request_rate_by_status_class(w)),
            "{{status_class}}",
        )],
    );

    l.row("Latency");
    l.timeseries(
        "Latency P50 / P95 / P99",
        "Request latency quantiles over all pods, from the duration histogram (arrival to end of response body).",
        "s",
        12,
        &[
            (b.q(|q, w| q.latency_quantile(0.5, w, "")), "p50"),
            (b.q(|q, w| q.latency_quantile(0.95, w, "")), "p95"),
            (b.q(|q, w| q.latency_quantile(0.99, w, "")), "p99"),
        ],
    );
    l.with_exemplars();
    l.timeseries(
        "P95 latency by route",
        "95th percentile latency per route template, over all pods.",
        "s",
        12,
        &[(
            b.q(|q, w| q.latency_quantile(0.95, w, &routes)),
            route_legend,
        )],
    );
    l.with_exemplars();

    l.row("Errors and saturation");
    l.timeseries(
        "5xx error ratio",
        "Share of requests answered with a 5xx status. Empty when there is no traffic (a ratio of nothing is not zero).",
        "percentunit",
        12,
        &[(b.q(|q, w| q.error_ratio(w, "")), "5xx ratio")],
    );
    l.timeseries(
        "Active connections",
        "Requests in flight, summed over pods.",
        "short",
        12,
        &[(b.q(|q, _| q.in_flight("")), "in flight")],
    );

    l.row("Sizes");
    l.timeseries(
        "Request size",
        &size_description("Request", r.contract.request_size()),
        "bytes",
        12,
        &[
            (
                b.q(|q, w| q.size_average(r.contract.request_size(), w)),
                "avg {{method}} {{path}}",
            ),
            (
                b.q(|q, w| q.size_p99(r.contract.request_size(), w)),
                "p99 {{method}} {{path}}",
            ),
        ],
    );
    l.timeseries(
        "Response size",
        &size_description("Response", r.contract.response_size()),
        "bytes",
        12,
        &[
            (
                b.q(|q, w| q.size_average(r.contract.response_size(), w)),
                "avg {{method}} {{path}}",
            ),
            (
                b.q(|q, w| q.size_p99(r.contract.response_size(), w)),
                "p99 {{method}} {{path}}",
            ),
        ],
    );

    l.row("Routes");
    l.table(
        "Top routes",
        "The ten busiest routes with their 5xx ratio and p95 latency.",
        24,
        &[
            (
                format!("topk(10, {})", b.q(|q, w| q.request_rate(w, &routes))),
                "req/s",
                "reqps",
            ),
            (
                b.q(|q, w| q.error_ratio(w, &routes)),
                "5xx ratio",
                "percentunit",
            ),
            (b.q(|q, w| q.latency_quantile(0.95, w, &routes)), "p95", "s"),
        ],
    );

    l.row("Process");
    l.timeseries(
        "CPU per pod",
        "CPU seconds used per second, per pod.",
        "short",
        12,
        &[(q.process_cpu(RATE), "{{pod}}")],
    );
    l.timeseries(
        "Memory per pod",
        "Resident memory per pod.",
        "bytes",
        12,
        &[(q.process_memory(), "{{pod}}")],
    );

    frame(
        r,
        &uid(r),
        &format!("{} · HTTP", r.title),
        &format!(
            "RED metrics of {} (prefix {}), generated by redmetrics from its metric contract.",
            r.title,
            r.prefix()
        ),
        "now-1h",
        l.panels,
    )
}

/// The dashboard around `panels`: its uid, title and description, the time range shown, and
/// the data source, namespace and job variables every query uses.
pub(super) fn frame(
    r: &Resolved,
    uid: &str,
    title: &str,
    description: &str,
    from: &str,
    panels: Vec<Value>,
) -> Value {
    let requests = r.contract.requests().desc().name();
    json!({
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["redmetrics", r.prefix()],
        "editable": true,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": { "from": from, "to": "now" },
        "timezone": "browser",
        "annotations": { "list": [] },
        "links": [],
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": { "selected": false, "text": "default", "value": "default" },
                    "options": [],
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                },
                variable("namespace", "Namespace", format!("label_values({requests}, namespace)"), &r.app.namespace),
                variable("job", "Job", format!("label_values({requests}{{namespace=\"$namespace\"}}, job)"), &r.job),
            ]
        },
        "panels": panels,
    })
}

/// The dashboard's Grafana uid: stable, at most 40 characters, so links to it survive
/// regeneration.
pub(crate) fn uid(r: &Resolved) -> String {
    format!("redmetrics-{}", r.prefix().replace('_', "-"))
        .chars()
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// The names in `text` that only recording rules write (they hold a colon).
    fn recorded_names(text: &str) -> std::collections::BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .filter(|w| w.contains(':') && !w.starts_with(':') && !w.ends_with(':'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_dashboard_reads_every_aggregate_the_rules_record_and_nothing_else() {
        let apps = Config::parse(
            "[[apps]]\nname = \"a\"\nnamespace = \"a\"\nservice = \"a\"\nport = \"http\"\n",
        )
        .unwrap()
        .apps;
        let board = dashboard(&apps[0]).to_string();
        let read = recorded_names(&board);
        let rules = super::super::rules(&apps[0]);
        let written: std::collections::BTreeSet<String> = rules.groups[0]
            .rules
            .iter()
            .filter_map(|r| r.record.clone())
            .collect();
        assert_eq!(read, written);
        assert!(written.len() >= 8, "{written:?}");
        // Every query that reads a recorded series falls back to the raw one.
        for panel in dashboard(&apps[0])["panels"].as_array().unwrap() {
            for t in panel["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().unwrap();
                if !recorded_names(expr).is_empty() {
                    assert!(expr.contains(" or "), "{expr}");
                    assert!(expr.contains("rate(") || expr.contains("a_http_"), "{expr}");
                }
            }
        }
    }
}
