//! The JSON feed behind the live page (schema in the [`live`](super) module documentation).

use serde::Serialize;

use super::history::{ByClass, CHART_SECONDS, History, SUMMARY_SECONDS};

/// One of the live page's four panels, the closed set a [`PanelLink`] can attach to.
/// Serialised as the page's `data-panel` name (`rate`, `errors`, `latency`, `in_flight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LivePanel {
    /// Requests per second by status class.
    Rate,
    /// The 5xx ratio.
    Errors,
    /// Latency quantiles.
    Latency,
    /// Requests in flight.
    InFlight,
}

/// A link to the same panel elsewhere (e.g. Prometheus' graph page for its query).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanelLink {
    /// The panel it belongs to.
    pub panel: LivePanel,
    /// What the link shows (the query, for a Prometheus link).
    pub title: String,
    /// Where it goes; shown as a link, never fetched by the page.
    pub url: String,
}

#[derive(Serialize)]
struct Feed<'a> {
    schema: u32,
    prefix: &'a str,
    now_ms: u64,
    interval_seconds: u32,
    summary: Summary,
    series: Series,
    routes_window_seconds: f64,
    routes: Vec<Route<'a>>,
    routes_dropped: u64,
    links: &'a [PanelLink],
}

#[derive(Serialize)]
struct Classes<T> {
    #[serde(rename = "1xx")]
    c1: T,
    #[serde(rename = "2xx")]
    c2: T,
    #[serde(rename = "3xx")]
    c3: T,
    #[serde(rename = "4xx")]
    c4: T,
    #[serde(rename = "5xx")]
    c5: T,
}

impl<T> Classes<T> {
    fn from_fn(mut f: impl FnMut(usize) -> T) -> Self {
        Self {
            c1: f(0),
            c2: f(1),
            c3: f(2),
            c4: f(3),
            c5: f(4),
        }
    }
}

#[derive(Serialize)]
struct Summary {
    window_seconds: f64,
    requests_per_second: f64,
    requests_per_second_by_class: Classes<f64>,
    error_ratio: Option<f64>,
    p50_seconds: Option<f64>,
    p95_seconds: Option<f64>,
    p99_seconds: Option<f64>,
    in_flight: i64,
}

#[derive(Serialize)]
struct Series {
    t_ms: Vec<u64>,
    requests_per_second: Vec<f64>,
    requests_per_second_by_class: Classes<Vec<f64>>,
    error_ratio: Vec<Option<f64>>,
    p50_seconds: Vec<Option<f64>>,
    p95_seconds: Vec<Option<f64>>,
    p99_seconds: Vec<Option<f64>>,
    in_flight: Vec<i64>,
}

#[derive(Serialize)]
struct Route<'a> {
    method: &'a str,
    path: &'a str,
    requests: u64,
    requests_per_second: f64,
    error_ratio: Option<f64>,
    p95_seconds: Option<f64>,
}

/// Rounds to 6 significant decimals' worth: the feed stays small, the figures exact enough.
fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64))
}

/// The feed as JSON bytes.
pub(crate) fn render(history: &History, prefix: &str, links: &[PanelLink], now_ms: u64) -> Vec<u8> {
    let seconds = history.seconds();
    let width = history.bounds().len() + 1;
    let mut recent_buckets = vec![0u64; width];
    let mut recent = ByClass::default();
    let mut recent_span = 0.0;
    for s in seconds.iter().rev().take(SUMMARY_SECONDS) {
        recent_span += s.span;
        for (a, b) in recent.iter_mut().zip(s.by_class) {
            *a += b;
        }
        for (a, b) in recent_buckets.iter_mut().zip(s.buckets.iter()) {
            *a += b;
        }
    }
    let total: u64 = recent.iter().sum();
    let per_second = |n: u64, span: f64| {
        if span > 0.0 {
            round(n as f64 / span)
        } else {
            0.0
        }
    };
    let q = |q: f64, b: &[u64]| history.quantile(q, b).map(round);
    let summary = Summary {
        window_seconds: round(recent_span),
        requests_per_second: per_second(total, recent_span),
        requests_per_second_by_class: Classes::from_fn(|i| per_second(recent[i], recent_span)),
        error_ratio: ratio(recent[4], total),
        p50_seconds: q(0.5, &recent_buckets),
        p95_seconds: q(0.95, &recent_buckets),
        p99_seconds: q(0.99, &recent_buckets),
        in_flight: seconds.back().map_or(0, |s| s.in_flight),
    };
    // Ratios and quantiles of one second are noise at low rates: each chart point covers the
    // CHART_SECONDS up to it (rates stay per second).
    let mut trailing: Vec<(ByClass, Vec<u64>)> = Vec::with_capacity(seconds.len());
    for i in 0..seconds.len() {
        let mut classes = ByClass::default();
        let mut buckets = vec![0u64; width];
        for s in seconds.range(i.saturating_sub(CHART_SECONDS - 1)..=i) {
            for (a, b) in classes.iter_mut().zip(s.by_class) {
                *a += b;
            }
            for (a, b) in buckets.iter_mut().zip(s.buckets.iter()) {
                *a += b;
            }
        }
        trailing.push((classes, buckets));
    }
    let series = Series {
        t_ms: seconds.iter().map(|s| s.at_ms).collect(),
        requests_per_second: seconds
            .iter()
            .map(|s| per_second(s.by_class.iter().sum(), s.span))
            .collect(),
        requests_per_second_by_class: Classes::from_fn(|i| {
            seconds
                .iter()
                .map(|s| per_second(s.by_class[i], s.span))
                .collect()
        }),
        error_ratio: trailing
            .iter()
            .map(|(c, _)| ratio(c[4], c.iter().sum()))
            .collect(),
        p50_seconds: trailing.iter().map(|(_, b)| q(0.5, b)).collect(),
        p95_seconds: trailing.iter().map(|(_, b)| q(0.95, b)).collect(),
        p99_seconds: trailing.iter().map(|(_, b)| q(0.99, b)).collect(),
        in_flight: seconds.iter().map(|s| s.in_flight).collect(),
    };
    let (span, rows) = history.routes();
    let mut routes: Vec<Route<'_>> = rows
        .into_iter()
        .filter(|(_, _, t)| t.requests > 0)
        .map(|(method, path, t)| Route {
            method,
            path,
            requests: t.requests,
            requests_per_second: per_second(t.requests, span),
            error_ratio: ratio(t.errors, t.requests),
            p95_seconds: q(0.95, &t.buckets),
        })
        .collect();
    routes.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.path.cmp(b.path))
            .then_with(|| a.method.cmp(b.method))
    });
    let feed = Feed {
        schema: 1,
        prefix,
        now_ms,
        interval_seconds: 1,
        summary,
        series,
        routes_window_seconds: round(span),
        routes,
        routes_dropped: history.routes_dropped(),
        links,
    };
    // Serializing plain structs of numbers and strings cannot fail.
    serde_json::to_vec(&feed).unwrap_or_default()
}
