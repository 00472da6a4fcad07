//! Links from the live page's panels to the local Prometheus' graph of the same queries.
//!
//! The queries are read from the generated Grafana dashboard (the code that writes
//! `deploy/<app>/dashboard.json`), with its variables filled in for the local Prometheus, so
//! the page and PromQL can be compared over the same traffic.

use std::net::SocketAddr;

use redmetrics::live::{LivePanel, PanelLink};

use crate::config::Resolved;
use crate::generate;
use crate::grafana::PanelKind;

/// The live page's panel a dashboard panel feeds, if any: every panel the generator makes
/// is decided here.
fn live_figure(kind: PanelKind) -> Option<LivePanel> {
    match kind {
        PanelKind::RequestRate | PanelKind::RequestRateByStatusClass => Some(LivePanel::Rate),
        PanelKind::ErrorRatio => Some(LivePanel::Errors),
        PanelKind::Latency => Some(LivePanel::Latency),
        PanelKind::ActiveConnections => Some(LivePanel::InFlight),
        PanelKind::RequestRateByRoute
        | PanelKind::LatencyByRoute
        | PanelKind::RequestSize
        | PanelKind::ResponseSize
        | PanelKind::TopRoutes
        | PanelKind::Cpu
        | PanelKind::Memory
        | PanelKind::BudgetLeft
        | PanelKind::BurnRate
        | PanelKind::GoodRequests => None,
    }
}

/// One link per query of the mapped panels, to `/classic/graph` on `prometheus` (Debian's
/// 2.42 ships only the classic UI) over the last 15 minutes, like the page.
pub(crate) fn prometheus_links(r: &Resolved, prometheus: SocketAddr) -> Vec<PanelLink> {
    let dashboard = generate::dashboard(r);
    let mut links = Vec::new();
    for panel in dashboard.all_panels() {
        let Some(live) = panel.generated.and_then(live_figure) else {
            continue;
        };
        for target in &panel.targets {
            let Some(expr) = target.expr.as_deref() else {
                continue;
            };
            let expr = local(expr, r);
            let legend = target.legend_format.as_deref().unwrap_or_default();
            let name = if legend.contains("{{") || legend.is_empty() {
                panel.title.to_lowercase()
            } else {
                legend.to_owned()
            };
            links.push(PanelLink {
                panel: live,
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
