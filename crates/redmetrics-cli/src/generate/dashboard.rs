//! The Grafana dashboard of one app: classic JSON model, schemaVersion 39, as
//! kube-prometheus-stack's sidecar provisions it.
//!
//! Data source, namespace and job are variables (no `__inputs`, which sidecar provisioning
//! cannot resolve); every query is summed or quantiled across pods so it is right for any
//! replica count. Every query that aggregates across pods reads the series the aggregation
//! rules record (`rules.yaml`), joined by `or` with the same query over the raw series for
//! where the rules have not evaluated yet; both use the rules' rate window, so a panel draws
//! the same figures either way. Only the per-pod panels (CPU, memory) read raw series alone.

use std::collections::BTreeMap;

use redmetrics::contract::{FamilySpec, Shape};

use crate::config::Resolved;
use crate::grafana::{
    Current, Dashboard, DataSource, FieldConfig, FieldDefaults, GridPos, Legend, LineStyle,
    Override, Panel, PanelKind, PanelOptions, PanelType, SortBy, Target, TargetFormat, Templating,
    TimeRange, Tooltip, Transformation, Unit, Variable, VariableQuery, VariableType,
};
use crate::promql::{Queries, either};

/// The per-pod panels' rate window: Grafana's, at least four scrape intervals.
const RATE: &str = "$__rate_interval";

/// Lays panels out left to right on a 24-column grid.
#[derive(Default)]
pub(super) struct Layout {
    pub(super) panels: Vec<Panel>,
    next_id: u64,
    x: u32,
    y: u32,
}

impl Layout {
    pub(super) fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.y += 8;
            self.x = 0;
        }
        let id = self.id();
        self.panels.push(Panel {
            generated: None,
            collapsed: Some(false),
            datasource: None,
            description: None,
            field_config: None,
            grid_pos: GridPos {
                h: 1,
                w: 24,
                x: 0,
                y: self.y,
            },
            id,
            options: None,
            panels: Some(Vec::new()),
            targets: Vec::new(),
            title: title.to_owned(),
            transformations: Vec::new(),
            kind: PanelType::Row,
        });
        self.y += 1;
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn place(&mut self, w: u32) -> GridPos {
        if self.x + w > 24 {
            self.x = 0;
            self.y += 8;
        }
        let pos = GridPos {
            h: 8,
            w,
            x: self.x,
            y: self.y,
        };
        self.x += w;
        pos
    }

    /// A panel of `kind` placed `w` columns wide, reading the dashboard's data source, with
    /// its queries and display settings still to fill in.
    fn query_panel(&mut self, kind: PanelKind, description: &str, w: u32, of: PanelType) -> Panel {
        let id = self.id();
        Panel {
            generated: Some(kind),
            collapsed: None,
            datasource: Some(DataSource::VARIABLE),
            description: Some(description.to_owned()),
            field_config: None,
            grid_pos: self.place(w),
            id,
            options: None,
            panels: None,
            targets: Vec::new(),
            title: kind.title().to_owned(),
            transformations: Vec::new(),
            kind: of,
        }
    }

    /// A time series panel with one target per `(expr, legend)`.
    pub(super) fn timeseries(
        &mut self,
        kind: PanelKind,
        description: &str,
        unit: Unit,
        w: u32,
        targets: &[(String, &str)],
    ) {
        let panel = self.query_panel(kind, description, w, PanelType::Timeseries);
        self.panels.push(Panel {
            field_config: Some(FieldConfig {
                defaults: FieldDefaults {
                    custom: Some(LineStyle {
                        draw_style: "line",
                        fill_opacity: 10,
                        line_width: 1,
                        show_points: "never",
                        span_nulls: false,
                    }),
                    min: Some(0),
                    unit: Some(unit),
                },
                overrides: Vec::new(),
            }),
            options: Some(PanelOptions::Graph {
                legend: Legend {
                    display_mode: "list",
                    placement: "bottom",
                    show_legend: true,
                },
                tooltip: Tooltip {
                    mode: "multi",
                    sort: "desc",
                },
            }),
            targets: target_list(targets, false),
            ..panel
        });
    }

    /// Asks Grafana to fetch exemplars for the targets of the panel just placed: the trace
    /// ids the service attaches to its latency buckets show as points linking to the trace.
    fn with_exemplars(&mut self) {
        for t in self
            .panels
            .last_mut()
            .map_or(&mut [][..], |p| &mut p.targets)
        {
            t.exemplar = Some(true);
        }
    }

    /// A table of instant queries merged on their labels: (query, column name, unit).
    fn table(
        &mut self,
        kind: PanelKind,
        description: &str,
        w: u32,
        columns: &[(String, &str, Unit)],
    ) {
        let panel = self.query_panel(kind, description, w, PanelType::Table);
        let queries: Vec<(String, &str)> =
            columns.iter().map(|(e, _, _)| (e.clone(), "")).collect();
        let rename: BTreeMap<String, String> = columns
            .iter()
            .enumerate()
            .map(|(i, (_, name, _))| (format!("Value #{}", ref_id(i)), (*name).to_owned()))
            .collect();
        self.panels.push(Panel {
            field_config: Some(FieldConfig {
                defaults: FieldDefaults::default(),
                overrides: columns
                    .iter()
                    .map(|(_, name, unit)| Override::unit_of(name, *unit))
                    .collect(),
            }),
            options: Some(PanelOptions::Table {
                show_header: true,
                sort_by: columns
                    .first()
                    .map(|(_, name, _)| SortBy {
                        desc: true,
                        display_name: (*name).to_owned(),
                    })
                    .into_iter()
                    .collect(),
            }),
            targets: target_list(&queries, true),
            transformations: vec![
                Transformation::Merge {},
                Transformation::Organize {
                    exclude_by_name: BTreeMap::from([("Time".to_owned(), true)]),
                    rename_by_name: rename,
                },
            ],
            ..panel
        });
    }
}

fn ref_id(i: usize) -> char {
    (b'A' + i as u8) as char
}

fn target_list(queries: &[(String, &str)], instant: bool) -> Vec<Target> {
    queries
        .iter()
        .enumerate()
        .map(|(i, (expr, legend))| Target {
            datasource: Some(DataSource::VARIABLE),
            exemplar: None,
            expr: Some(expr.clone()),
            format: instant.then_some(TargetFormat::Table),
            instant,
            legend_format: (!instant).then(|| (*legend).to_owned()),
            range: !instant,
            ref_id: ref_id(i).to_string(),
        })
        .collect()
}

/// A `query` variable over `label_values`.
fn variable(name: &str, label: &str, query: String, current: &str) -> Variable {
    Variable {
        current: Current {
            selected: false,
            text: current.to_owned(),
            value: current.to_owned(),
        },
        datasource: Some(DataSource::VARIABLE),
        definition: Some(query.clone()),
        hide: 0,
        include_all: Some(false),
        label: label.to_owned(),
        multi: Some(false),
        name: name.to_owned(),
        options: Default::default(),
        query: VariableQuery::Prometheus {
            query,
            ref_id: "PrometheusVariableQueryEditor-VariableQuery",
        },
        refresh: 2,
        regex: String::new(),
        sort: Some(1),
        kind: VariableType::Query,
    }
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
pub(crate) fn dashboard(r: &Resolved) -> Dashboard {
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
        PanelKind::RequestRate,
        "Requests per second over all pods.",
        Unit::RequestsPerSecond,
        8,
        &[(b.q(|q, w| q.request_rate(w, "")), "all")],
    );
    l.timeseries(
        PanelKind::RequestRateByRoute,
        "Requests per second per route template, over all pods.",
        Unit::RequestsPerSecond,
        8,
        &[(b.q(|q, w| q.request_rate(w, &routes)), route_legend)],
    );
    l.timeseries(
        PanelKind::RequestRateByStatusClass,
        "Requests per second per status class (2xx, 3xx, 4xx, 5xx).",
        Unit::RequestsPerSecond,
        8,
        &[(
            b.q(|q, w| q.request_rate_by_status_class(w)),
            "{{status_class}}",
        )],
    );

    l.row("Latency");
    l.timeseries(
        PanelKind::Latency,
        "Request latency quantiles over all pods, from the duration histogram (arrival to end of response body).",
        Unit::Seconds,
        12,
        &[
            (b.q(|q, w| q.latency_quantile(0.5, w, "")), "p50"),
            (b.q(|q, w| q.latency_quantile(0.95, w, "")), "p95"),
            (b.q(|q, w| q.latency_quantile(0.99, w, "")), "p99"),
        ],
    );
    l.with_exemplars();
    l.timeseries(
        PanelKind::LatencyByRoute,
        "95th percentile latency per route template, over all pods.",
        Unit::Seconds,
        12,
        &[(
            b.q(|q, w| q.latency_quantile(0.95, w, &routes)),
            route_legend,
        )],
    );
    l.with_exemplars();

    l.row("Errors and saturation");
    l.timeseries(
        PanelKind::ErrorRatio,
        "Share of requests answered with a 5xx status. Empty when there is no traffic (a ratio of nothing is not zero).",
        Unit::Ratio,
        12,
        &[(b.q(|q, w| q.error_ratio(w, "")), "5xx ratio")],
    );
    l.timeseries(
        PanelKind::ActiveConnections,
        "Requests in flight, summed over pods.",
        Unit::Count,
        12,
        &[(b.q(|q, _| q.in_flight("")), "in flight")],
    );

    l.row("Sizes");
    l.timeseries(
        PanelKind::RequestSize,
        &size_description("Request", r.contract.request_size()),
        Unit::Bytes,
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
        PanelKind::ResponseSize,
        &size_description("Response", r.contract.response_size()),
        Unit::Bytes,
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
        PanelKind::TopRoutes,
        "The ten busiest routes with their 5xx ratio and p95 latency.",
        24,
        &[
            (
                format!("topk(10, {})", b.q(|q, w| q.request_rate(w, &routes))),
                "req/s",
                Unit::RequestsPerSecond,
            ),
            (
                b.q(|q, w| q.error_ratio(w, &routes)),
                "5xx ratio",
                Unit::Ratio,
            ),
            (
                b.q(|q, w| q.latency_quantile(0.95, w, &routes)),
                "p95",
                Unit::Seconds,
            ),
        ],
    );

    l.row("Process");
    l.timeseries(
        PanelKind::Cpu,
        "CPU seconds used per second, per pod.",
        Unit::Count,
        12,
        &[(q.process_cpu(RATE), "{{pod}}")],
    );
    l.timeseries(
        PanelKind::Memory,
        "Resident memory per pod.",
        Unit::Bytes,
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
    panels: Vec<Panel>,
) -> Dashboard {
    let requests = r.contract.requests().desc().name();
    let data_source = Variable {
        current: Current {
            selected: false,
            text: "default".to_owned(),
            value: "default".to_owned(),
        },
        datasource: None,
        definition: None,
        hide: 0,
        include_all: None,
        label: "Data source".to_owned(),
        multi: None,
        name: "datasource".to_owned(),
        options: Default::default(),
        query: VariableQuery::Plugin("prometheus"),
        refresh: 1,
        regex: String::new(),
        sort: None,
        kind: VariableType::Datasource,
    };
    Dashboard {
        annotations: Default::default(),
        description: description.to_owned(),
        editable: true,
        graph_tooltip: 1,
        links: Default::default(),
        panels,
        refresh: "30s".to_owned(),
        schema_version: 39,
        tags: vec!["redmetrics".to_owned(), r.prefix().to_owned()],
        templating: Templating {
            list: vec![
                data_source,
                variable(
                    "namespace",
                    "Namespace",
                    format!("label_values({requests}, namespace)"),
                    &r.app.namespace,
                ),
                variable(
                    "job",
                    "Job",
                    format!("label_values({requests}{{namespace=\"$namespace\"}}, job)"),
                    &r.job,
                ),
            ],
        },
        time: TimeRange {
            from: from.to_owned(),
            to: "now".to_owned(),
        },
        timezone: "browser".to_owned(),
        title: title.to_owned(),
        uid: uid.to_owned(),
        version: 1,
    }
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
        let board = serde_json::to_string(&dashboard(&apps[0])).unwrap();
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
        for (_, expr) in dashboard(&apps[0]).exprs() {
            if !recorded_names(expr).is_empty() {
                assert!(expr.contains(" or "), "{expr}");
                assert!(expr.contains("rate(") || expr.contains("a_http_"), "{expr}");
            }
        }
    }

    const APP: &str =
        "[[apps]]\nname = \"a\"\nnamespace = \"a-ns\"\nservice = \"a\"\nport = \"http\"\n";

    /// The layout of the 24-column grid, worked out by hand from its rules: a row is one unit
    /// high and starts a new line; panels are eight high and fill a line left to right, wrapping
    /// only when the next would pass column 24. Ids count from 1 in reading order.
    #[test]
    fn the_panels_sit_where_the_grid_rules_put_them() {
        let apps = Config::parse(APP).unwrap().apps;
        let board = serde_json::to_value(dashboard(&apps[0])).unwrap();
        let panels = board["panels"].as_array().unwrap();
        // (type, x, y, w): rows are h 1, the others h 8.
        let expected = [
            ("row", 0, 0, 24),
            ("timeseries", 0, 1, 8),
            ("timeseries", 8, 1, 8),
            ("timeseries", 16, 1, 8),
            ("row", 0, 9, 24),
            ("timeseries", 0, 10, 12),
            ("timeseries", 12, 10, 12),
            ("row", 0, 18, 24),
            ("timeseries", 0, 19, 12),
            ("timeseries", 12, 19, 12),
            ("row", 0, 27, 24),
            ("timeseries", 0, 28, 12),
            ("timeseries", 12, 28, 12),
            ("row", 0, 36, 24),
            ("table", 0, 37, 24),
            ("row", 0, 45, 24),
            ("timeseries", 0, 46, 12),
            ("timeseries", 12, 46, 12),
        ];
        assert_eq!(panels.len(), expected.len(), "{board}");
        for (i, (p, (kind, x, y, w))) in panels.iter().zip(expected).enumerate() {
            let h = if kind == "row" { 1 } else { 8 };
            assert_eq!(p["type"], kind, "panel {i}");
            assert_eq!(p["id"], i + 1, "panel {i}");
            assert_eq!(
                p["gridPos"],
                serde_json::json!({ "h": h, "w": w, "x": x, "y": y }),
                "panel {i}: {}",
                p["title"]
            );
        }
    }

    /// Each panel's queries, stated by hand: refIds A, B, C…; time series draw range queries
    /// with a legend, the latency panels asking for exemplars; the table asks for instant
    /// queries in table format, merged and renamed from `Value #<refId>` to its columns.
    #[test]
    fn each_panel_asks_grafana_for_what_it_draws() {
        let apps = Config::parse(APP).unwrap().apps;
        let board = serde_json::to_value(dashboard(&apps[0])).unwrap();
        let mut exemplars = Vec::new();
        for p in board["panels"].as_array().unwrap() {
            let title = p["title"].as_str().unwrap();
            let targets = p["targets"].as_array().cloned().unwrap_or_default();
            for (t, id) in targets.iter().zip(["A", "B", "C"]) {
                assert_eq!(t["refId"], id, "{title}");
                assert!(t["expr"].as_str().is_some_and(|e| !e.is_empty()), "{title}");
            }
            match p["type"].as_str().unwrap() {
                "row" => assert!(targets.is_empty(), "{title}"),
                "timeseries" => {
                    assert!(!targets.is_empty(), "{title}");
                    for t in targets {
                        assert_eq!(t["range"], true, "{title}");
                        assert_eq!(t["instant"], false, "{title}");
                        assert!(t["legendFormat"].is_string(), "{title}");
                        assert_eq!(t.get("format"), None, "{title}");
                        if t["exemplar"] == true {
                            exemplars.push(title.to_owned());
                        }
                    }
                    assert!(p["fieldConfig"]["defaults"]["unit"].is_string(), "{title}");
                    assert!(p["options"]["legend"].is_object(), "{title}: {p}");
                }
                "table" => {
                    assert_eq!(targets.len(), 3, "{title}");
                    for t in targets {
                        assert_eq!(t["instant"], true, "{title}");
                        assert_eq!(t["range"], false, "{title}");
                        assert_eq!(t["format"], "table", "{title}");
                        assert_eq!(t.get("legendFormat"), None, "{title}");
                    }
                    assert_eq!(p["fieldConfig"]["overrides"].as_array().unwrap().len(), 3);
                    assert_eq!(p["options"]["sortBy"][0]["displayName"], "req/s");
                    let t = &p["transformations"];
                    assert_eq!(t[0]["id"], "merge", "{t}");
                    assert_eq!(
                        t[1]["options"]["renameByName"],
                        serde_json::json!({ "Value #A": "req/s", "Value #B": "5xx ratio", "Value #C": "p95" }),
                        "{t}"
                    );
                }
                other => panic!("{title}: a {other} panel"),
            }
        }
        // The p50/p95/p99 panel's three targets and the per-route p95's one.
        assert_eq!(exemplars.len(), 4, "{exemplars:?}");
        exemplars.dedup();
        assert_eq!(exemplars.len(), 2, "{exemplars:?}");
    }

    /// The frame: uid from the prefix, title, the three variables, and the size panels'
    /// descriptions following the sizes' shape (summaries by default, histograms on demand).
    #[test]
    fn the_frame_and_descriptions_follow_the_config() {
        let apps = Config::parse(APP).unwrap().apps;
        let board = serde_json::to_value(dashboard(&apps[0])).unwrap();
        assert_eq!(board["uid"], "redmetrics-a");
        assert_eq!(board["title"], format!("{} · HTTP", apps[0].title));
        let vars: Vec<&str> = board["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(vars, ["datasource", "namespace", "job"]);
        assert_eq!(board["templating"]["list"][1]["current"]["value"], "a-ns");
        assert_eq!(
            board["templating"]["list"][2]["query"]["query"],
            "label_values(a_http_requests_total{namespace=\"$namespace\"}, job)"
        );
        let size = |board: &serde_json::Value| {
            board["panels"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| {
                    p["title"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("Request size"))
                })
                .map(|p| p["description"].clone())
                .unwrap_or_else(|| panic!("no request size panel: {board}"))
        };
        assert_eq!(
            size(&board),
            "Request body bytes per route: average over all pods, and the highest per-pod p99."
        );
        let histograms = format!("{APP}[apps.metrics]\nsizes = \"histogram\"\n");
        let apps = Config::parse(&histograms).unwrap().apps;
        let board = serde_json::to_value(dashboard(&apps[0])).unwrap();
        assert_eq!(
            size(&board),
            "Request body bytes per route: average and p99 over all pods (histogram_quantile over the size buckets)."
        );
        let long = APP.replace(
            "name = \"a\"",
            "name = \"a\"\nprefix = \"a_very_long_prefix_of_forty_characters_and_more\"",
        );
        let apps = Config::parse(&long).unwrap().apps;
        assert_eq!(uid(&apps[0]), "redmetrics-a-very-long-prefix-of-forty-c");
    }

    /// A panel that would pass column 24 starts the next line, eight units down (the
    /// generated dashboards fill each line exactly before a row, so none of them wraps):
    /// three 12-wide panels after a row sit at (0, 1), (12, 1) and (0, 9), by hand.
    #[test]
    fn a_panel_past_column_24_wraps_to_the_next_line() {
        let mut l = Layout::default();
        l.row("r");
        for _ in 0..3 {
            l.timeseries(PanelKind::RequestRate, "d", Unit::Count, 12, &[]);
        }
        let at: Vec<(u32, u32)> = l
            .panels
            .iter()
            .map(|p| (p.grid_pos.x, p.grid_pos.y))
            .collect();
        assert_eq!(at, [(0, 0), (0, 1), (12, 1), (0, 9)]);
    }
}
