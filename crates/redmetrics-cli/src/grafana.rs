//! The Grafana dashboard model (classic JSON, schemaVersion 39): what `generate` fills and
//! serialises once, what the demo's links read, and what `check` deserialises a dashboard
//! file into.
//!
//! Fields are declared in the order of their JSON keys, so a dashboard serialises with its
//! keys sorted, as the committed files under `deploy/` have them. `check` judges structure
//! and queries only: Grafana's display settings (field config, options, variables, data
//! sources) are open-ended across its versions and plugins, so they are written, never read.

use serde::{Deserialize, Serialize};

/// A whole dashboard: its panels, and around them uid, title, time range and variables.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Dashboard {
    #[serde(skip_deserializing)]
    pub(crate) annotations: Annotations,
    #[serde(skip_deserializing)]
    pub(crate) description: String,
    #[serde(skip_deserializing)]
    pub(crate) editable: bool,
    #[serde(skip_deserializing)]
    pub(crate) graph_tooltip: u8,
    #[serde(skip_deserializing)]
    pub(crate) links: NoItems,
    #[serde(default)]
    pub(crate) panels: Vec<Panel>,
    #[serde(skip_deserializing)]
    pub(crate) refresh: String,
    #[serde(skip_deserializing)]
    pub(crate) schema_version: u32,
    #[serde(skip_deserializing)]
    pub(crate) tags: Vec<String>,
    #[serde(skip_deserializing)]
    pub(crate) templating: Templating,
    #[serde(skip_deserializing)]
    pub(crate) time: TimeRange,
    #[serde(skip_deserializing)]
    pub(crate) timezone: String,
    #[serde(skip_deserializing)]
    pub(crate) title: String,
    #[serde(skip_deserializing)]
    pub(crate) uid: String,
    #[serde(skip_deserializing)]
    pub(crate) version: u32,
}

impl Dashboard {
    /// Every panel, those inside rows included, in the order they appear.
    pub(crate) fn all_panels(&self) -> Vec<&Panel> {
        fn walk<'a>(panels: &'a [Panel], out: &mut Vec<&'a Panel>) {
            for p in panels {
                out.push(p);
                walk(p.panels.as_deref().unwrap_or_default(), out);
            }
        }
        let mut out = Vec::new();
        walk(&self.panels, &mut out);
        out
    }

    /// Every query with the title of its panel, in panel order.
    pub(crate) fn exprs(&self) -> Vec<(&str, &str)> {
        self.all_panels()
            .into_iter()
            .flat_map(|p| {
                let title = if p.title.is_empty() {
                    "<untitled>"
                } else {
                    p.title.as_str()
                };
                p.targets
                    .iter()
                    .filter_map(move |t| t.expr.as_deref().map(|e| (title, e)))
            })
            .collect()
    }
}

/// The panels `generate` makes, a closed set: which one a panel is, whatever its title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PanelKind {
    /// Requests per second over all pods.
    RequestRate,
    /// Requests per second per route.
    RequestRateByRoute,
    /// Requests per second per status class.
    RequestRateByStatusClass,
    /// Latency p50, p95 and p99 over all pods.
    Latency,
    /// p95 latency per route.
    LatencyByRoute,
    /// The share of 5xx answers.
    ErrorRatio,
    /// Requests in flight.
    ActiveConnections,
    /// Request body sizes.
    RequestSize,
    /// Response body sizes.
    ResponseSize,
    /// The busiest routes as a table.
    TopRoutes,
    /// CPU per pod.
    Cpu,
    /// Resident memory per pod.
    Memory,
    /// An objective's error budget left (SLO dashboard).
    BudgetLeft,
    /// An objective's burn rate per window (SLO dashboard).
    BurnRate,
    /// An objective's share of good requests (SLO dashboard).
    GoodRequests,
}

impl PanelKind {
    /// The panel's title on the dashboard.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::RequestRate => "Request rate",
            Self::RequestRateByRoute => "Request rate by route",
            Self::RequestRateByStatusClass => "Request rate by status class",
            Self::Latency => "Latency P50 / P95 / P99",
            Self::LatencyByRoute => "P95 latency by route",
            Self::ErrorRatio => "5xx error ratio",
            Self::ActiveConnections => "Active connections",
            Self::RequestSize => "Request size",
            Self::ResponseSize => "Response size",
            Self::TopRoutes => "Top routes",
            Self::Cpu => "CPU per pod",
            Self::Memory => "Memory per pod",
            Self::BudgetLeft => "Error budget left",
            Self::BurnRate => "Burn rate per window",
            Self::GoodRequests => "Good requests",
        }
    }
}

/// Grafana's panel types; [`PanelType::Other`] stands for any other type a dashboard read
/// by `check` holds (stat, gauge, a plugin's, none for a library panel), whose queries are
/// judged all the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PanelType {
    /// A row heading the panels below it.
    Row,
    /// A time series graph.
    Timeseries,
    /// A table.
    Table,
    /// A type `generate` never makes.
    #[default]
    #[serde(other, skip_serializing)]
    Other,
}

/// One panel: a row, a graph or a table, with its queries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Panel {
    /// Which generated panel this is; not part of the JSON, so `None` once read back.
    #[serde(skip)]
    pub(crate) generated: Option<PanelKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) collapsed: Option<bool>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub(crate) datasource: Option<DataSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub(crate) field_config: Option<FieldConfig>,
    #[serde(skip_deserializing)]
    pub(crate) grid_pos: GridPos,
    #[serde(skip_deserializing)]
    pub(crate) id: u64,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub(crate) options: Option<PanelOptions>,
    /// The panels of a row (`Some`, empty, for an expanded row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) panels: Option<Vec<Panel>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) targets: Vec<Target>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) title: String,
    #[serde(skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub(crate) transformations: Vec<Transformation>,
    #[serde(default, rename = "type")]
    pub(crate) kind: PanelType,
}

/// Where a panel sits on the dashboard's 24-column grid.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct GridPos {
    pub(crate) h: u32,
    pub(crate) w: u32,
    pub(crate) x: u32,
    pub(crate) y: u32,
}

/// The Prometheus data source a panel or query uses.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DataSource {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) uid: &'static str,
}

impl DataSource {
    /// The dashboard's `datasource` variable.
    pub(crate) const VARIABLE: Self = Self {
        kind: "prometheus",
        uid: "${datasource}",
    };
}

/// One query of a panel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Target {
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub(crate) datasource: Option<DataSource>,
    /// Whether Grafana fetches the exemplars of the query's series.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub(crate) exemplar: Option<bool>,
    /// The PromQL; `None` for a query of another kind of data source.
    #[serde(default)]
    pub(crate) expr: Option<String>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub(crate) format: Option<TargetFormat>,
    #[serde(skip_deserializing)]
    pub(crate) instant: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) legend_format: Option<String>,
    #[serde(skip_deserializing)]
    pub(crate) range: bool,
    #[serde(skip_deserializing)]
    pub(crate) ref_id: String,
}

/// How an instant query's result is shaped.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TargetFormat {
    /// One row per series, for a table panel.
    Table,
}

/// The units the generated panels show.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) enum Unit {
    /// Requests per second.
    #[serde(rename = "reqps")]
    RequestsPerSecond,
    /// Seconds.
    #[serde(rename = "s")]
    Seconds,
    /// A ratio shown as a percentage.
    #[serde(rename = "percentunit")]
    Ratio,
    /// A plain number.
    #[serde(rename = "short")]
    Count,
    /// Bytes.
    #[serde(rename = "bytes")]
    Bytes,
}

/// A panel's field settings: defaults, and overrides by field name.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FieldConfig {
    pub(crate) defaults: FieldDefaults,
    pub(crate) overrides: Vec<Override>,
}

/// The settings of every field of a panel.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct FieldDefaults {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) custom: Option<LineStyle>,
    /// The lowest value of the axis; `None` lets it go below zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unit: Option<Unit>,
}

/// How a time series panel draws its lines.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LineStyle {
    pub(crate) draw_style: &'static str,
    pub(crate) fill_opacity: u32,
    pub(crate) line_width: u32,
    pub(crate) show_points: &'static str,
    pub(crate) span_nulls: bool,
}

/// A field's unit set by the field's (column's) name.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Override {
    pub(crate) matcher: Matcher,
    pub(crate) properties: [Property; 1],
}

impl Override {
    /// Shows the field `name` in `unit`.
    pub(crate) fn unit_of(name: &str, unit: Unit) -> Self {
        Self {
            matcher: Matcher {
                id: "byName",
                options: name.to_owned(),
            },
            properties: [Property {
                id: "unit",
                value: unit,
            }],
        }
    }
}

/// Which fields an override applies to.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Matcher {
    pub(crate) id: &'static str,
    pub(crate) options: String,
}

/// One overridden setting.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Property {
    pub(crate) id: &'static str,
    pub(crate) value: Unit,
}

/// A panel's display options, by panel type.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum PanelOptions {
    /// A time series panel's legend and tooltip.
    Graph { legend: Legend, tooltip: Tooltip },
    /// A table's header and sort order.
    Table {
        #[serde(rename = "showHeader")]
        show_header: bool,
        #[serde(rename = "sortBy")]
        sort_by: Vec<SortBy>,
    },
}

/// A time series panel's legend.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Legend {
    pub(crate) display_mode: &'static str,
    pub(crate) placement: &'static str,
    pub(crate) show_legend: bool,
}

/// A time series panel's tooltip.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Tooltip {
    pub(crate) mode: &'static str,
    pub(crate) sort: &'static str,
}

/// A table's sort column.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SortBy {
    pub(crate) desc: bool,
    pub(crate) display_name: String,
}

/// A table's transformations of its query results.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "id", content = "options", rename_all = "lowercase")]
pub(crate) enum Transformation {
    /// Joins the queries' results on their labels.
    Merge {},
    /// Hides and renames columns.
    Organize {
        #[serde(rename = "excludeByName")]
        exclude_by_name: std::collections::BTreeMap<String, bool>,
        #[serde(rename = "renameByName")]
        rename_by_name: std::collections::BTreeMap<String, String>,
    },
}

/// An always empty list (the dashboard's links, its annotations, a variable's options).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct NoItems([(); 0]);

/// The dashboard's annotations: none beyond Grafana's built-in ones.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Annotations {
    pub(crate) list: NoItems,
}

/// The time range a dashboard opens with.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct TimeRange {
    pub(crate) from: String,
    pub(crate) to: String,
}

/// The dashboard's variables.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Templating {
    pub(crate) list: Vec<Variable>,
}

/// One variable: the data source, or a query over label values.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Variable {
    pub(crate) current: Current,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) datasource: Option<DataSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) definition: Option<String>,
    pub(crate) hide: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) include_all: Option<bool>,
    pub(crate) label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) multi: Option<bool>,
    pub(crate) name: String,
    pub(crate) options: NoItems,
    pub(crate) query: VariableQuery,
    pub(crate) refresh: u8,
    pub(crate) regex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sort: Option<u8>,
    #[serde(rename = "type")]
    pub(crate) kind: VariableType,
}

/// A variable's value when the dashboard opens.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Current {
    pub(crate) selected: bool,
    pub(crate) text: String,
    pub(crate) value: String,
}

/// What a variable's values come from.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum VariableQuery {
    /// The data sources of this plugin type.
    Plugin(&'static str),
    /// A Prometheus query (`label_values(…)`).
    Prometheus {
        query: String,
        #[serde(rename = "refId")]
        ref_id: &'static str,
    },
}

/// A variable's type.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum VariableType {
    /// A choice of data source.
    Datasource,
    /// Values from a query.
    Query,
}

/// A string that may be `null` in a dashboard Grafana exported: empty then.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Reads a dashboard file's JSON, naming where it does not fit the model (a panel that is
/// not an object, targets that are not a list, an `expr` that is not a string).
pub(crate) fn read(value: &serde_json::Value) -> Result<Dashboard, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        format!("at {path}: {}", e.into_inner())
    })
}
