//! Links from the live page's panels to the local Prometheus' graph of the same queries.
//!
//! The queries are read from the generated Grafana dashboard (the code that writes
//! `deploy/<app>/dashboard.json`), with its variables filled in for the local Prometheus, so
//! the page and PromQL can be compared over the same traffic.

use std::net::SocketAddr;

use redmetrics::live::PanelLink;

use crate::config::Resolved;
use crate::generate;

/// Which dashboard panel feeds which live panel.
const PANELS: [(&str, &str); 5] = [
    ("Request rate", "rate"),
    ("Request rate by status class", "rate"),
    ("5xx error ratio", "errors"),
    ("Latency P50 / P95 / P99", "latency"),
    ("Active connections", "in_flight"),
];

/// One link per query of the mapped panels, to `/classic/graph` on `prometheus` (Debian's
/// 2.42 ships only the classic UI) over the last 15 minutes, like the page.
pub(crate) fn prometheus_links(r: &Resolved, prometheus: SocketAddr) -> Vec<PanelLink> {
    let dashboard = generate::dashboard(r);
    let panels = dashboard["panels"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let mut links = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or_default();
        let Some((_, live)) = PANELS.iter().find(|(t, _)| *t == title) else {
            continue;
        };
        for target in panel["targets"].as_array().map_or(&[][..], Vec::as_slice) {
            let Some(expr) = target["expr"].as_str() else {
                continue;
            };
            let expr = local(expr, r);
            let legend = target["legendFormat"].as_str().unwrap_or_default();
            let name = if legend.contains("{{") || legend.is_empty() {
                title.to_lowercase()
            } else {
                legend.to_owned()
            };
            links.push(PanelLink {
                panel: (*live).to_owned(),
                title: name,
                url: format!(
                    "http://{prometheus}/classic/graph?g0.expr={}&g0.tab=0&g0.range_input=15m",
                    crate::url::query_value(&expr)
                ),
            });
        }
    }
    links
}

/// The dashboard's query with its Grafana variables set for the local Prometheus.
fn local(expr: &str, r: &Resolved) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$namespace", &r.app.namespace)
        .replace("$job", &r.job)
}
