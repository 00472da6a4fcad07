//! The live page (feature `live`): the RED view of this process in a browser, no Prometheus
//! or Grafana needed.
//!
//! [`HttpMetrics::live_page`](crate::HttpMetrics::live_page) starts a task (one thread) that
//! snapshots the app's HTTP series once a second through the lock-free
//! [`SeriesView`](crate::middleware::SeriesView) into a bounded history, and returns a
//! [`LivePage`] service. Mount it at two paths: the page (`/metrics/live`) and its feed
//! (`/metrics/live.json`); both answer only what the metrics endpoint's access rules
//! (bearer token, allowed networks) admit.
//!
//! ```
//! use axum::Router;
//! use redmetrics::{Contract, HttpMetrics};
//!
//! let metrics = HttpMetrics::builder(Contract::new("reviewmaps").unwrap()).build().unwrap();
//! let endpoint = metrics.endpoint().bearer_token("change-me");
//! let live = metrics.live_page(&endpoint);
//! let app: Router = Router::new()
//!     .layer(metrics.axum_layer())
//!     .route_service(metrics.metrics_path(), endpoint)
//!     .route_service("/metrics/live", live.clone())
//!     .route_service(redmetrics::live::DEFAULT_FEED_PATH, live);
//! ```
//!
//! **The figures.** Rates are counter deltas between snapshots divided by the time between
//! them; the 5xx ratio is 5xx requests over all requests (none when there were none);
//! P50/P95/P99 come from latency bucket deltas summed over routes, interpolated linearly
//! inside the bucket exactly as Prometheus' `histogram_quantile` does (`bucketQuantile` in
//! `promql/quantile.go`: the first bucket starts at 0, a rank in `+Inf` answers the highest
//! finite bound). The cards cover the last 10 seconds, the charts one point per second over
//! the last 15 minutes (each point's 5xx ratio and quantiles over the 5 seconds up to it),
//! the route table the current minute and the 14 before it.
//!
//! **Cost and memory.** A snapshot is one relaxed load per counter and bucket; at 1,000
//! label sets it takes well under 1 ms (`BENCHMARKS.md`). It never touches the request path.
//! History is bounded: 900 seconds × (80 + 8 × (buckets + 1)) bytes (≈ 160 KB with the 12
//! default buckets), plus per closed minute at most 100 routes × (56 + 8 × (buckets + 1))
//! bytes (14 minutes ≈ 210 KB), plus the current minute (at most the label-set bound of
//! routes) and one previous value per series (as a scrape's own buffers would).
//!
//! **The feed** (`GET <feed path>`, `application/json`, schema 1). Rates in requests per
//! second, ratios in 0..1, latencies in seconds, times in ms since the Unix epoch; a figure
//! that has no data (no request) is `null`:
//!
//! ```text
//! { "schema": 1, "prefix": "reviewmaps", "now_ms": 1764506400000, "interval_seconds": 1,
//!   "summary": { "window_seconds": 10.0, "requests_per_second": 20.1,
//!                "requests_per_second_by_class": {"1xx": 0, "2xx": 16.2, "3xx": 0, "4xx": 2.9, "5xx": 1.0},
//!                "error_ratio": 0.05, "p50_seconds": 0.0026, "p95_seconds": 0.0048,
//!                "p99_seconds": 0.43, "in_flight": 2 },
//!   "series": { "t_ms": [...], "requests_per_second": [...],
//!               "requests_per_second_by_class": {"1xx": [...], ..., "5xx": [...]},
//!               "error_ratio": [...], "p50_seconds": [...], "p95_seconds": [...],
//!               "p99_seconds": [...], "in_flight": [...] },
//!   "routes_window_seconds": 840.0,
//!   "routes": [ { "method": "GET", "path": "/v1/campaigns/{id}", "requests": 1234,
//!                 "requests_per_second": 6.0, "error_ratio": 0.0, "p95_seconds": 0.0047 } ],
//!   "routes_dropped": 0,
//!   "links": [ { "panel": "rate", "title": "sum(rate(...))", "url": "http://..." } ] }
//! ```
//!
//! `series` arrays are parallel, oldest first, one entry per second (at most 900); `routes`
//! are sorted busiest first. `links` are what the application passed to
//! [`LivePage::links`]; the page shows them and never fetches them.
//!
//! **The page** is one HTML document with its CSS and JS inlined (compiled into the binary
//! with `include_str!`, under 100 KB), SVG charts, no request to any other host; it polls the
//! feed every second and shows figures with their units (`12.5 req/s`, `0.8 %`, `38 ms`).

mod feed;
// Public, hidden, only for the benchmark harness (feature `unstable`).
#[cfg_attr(not(feature = "unstable"), allow(unreachable_pub))]
mod history;
mod quantile;

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower_service::Service;

pub use feed::{LivePanel, PanelLink};
#[cfg(not(feature = "unstable"))]
use history::History;
/// The snapshot ring and its tuning constants, public only for the benchmark harness:
/// feature `unstable`, hidden, no stability promise.
#[cfg(feature = "unstable")]
#[doc(hidden)]
pub use history::{CHART_SECONDS, History, MINUTES, ROUTES_PER_MINUTE, SECONDS, SUMMARY_SECONDS};

use crate::endpoint::{MetricsEndpoint, plain};
use crate::middleware::HttpMetrics;

/// Where the feed is served unless [`LivePage::feed_path`] says otherwise.
pub const DEFAULT_FEED_PATH: &str = "/metrics/live.json";

const HTML: &str = include_str!("page.html");
const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

#[derive(Debug)]
struct Shared {
    history: Mutex<History>,
    prefix: Box<str>,
}

/// The live page and its JSON feed, as one tower service: a request for the feed path gets
/// the feed, any other path the page. Cheap to clone; the snapshot task stops when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct LivePage {
    shared: Arc<Shared>,
    guard: MetricsEndpoint,
    feed_path: Arc<str>,
    links: Arc<[PanelLink]>,
    html: Bytes,
}

impl HttpMetrics {
    /// The live page of these metrics, guarded by `endpoint`'s access rules (token,
    /// networks). Starts the once-a-second snapshot task. See [`live`](crate::live).
    pub fn live_page(&self, endpoint: &MetricsEndpoint) -> LivePage {
        let mut history = History::new(self.series());
        history.snapshot();
        let shared = Arc::new(Shared {
            history: Mutex::new(history),
            prefix: self.contract().prefix().as_str().into(),
        });
        spawn_snapshots(Arc::downgrade(&shared));
        LivePage {
            shared,
            guard: endpoint.clone(),
            feed_path: DEFAULT_FEED_PATH.into(),
            links: Arc::new([]),
            html: page(DEFAULT_FEED_PATH),
        }
    }
}

/// Snapshots once a second until the page is dropped. A thread, not a task of some
/// runtime: the library does not choose the application's executor.
fn spawn_snapshots(shared: Weak<Shared>) {
    let spawned = std::thread::Builder::new()
        .name("redmetrics-live".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                shared
                    .history
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .snapshot();
            }
        });
    // Without the thread the page still answers, with an empty history.
    drop(spawned);
}

/// The page with its CSS and JS inlined and the feed path filled in (HTML-escaped).
fn page(feed_path: &str) -> Bytes {
    let escaped = feed_path
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Bytes::from(
        HTML.replace("{{css}}", CSS)
            .replace("{{js}}", JS)
            .replace("{{feed}}", &escaped),
    )
}

impl LivePage {
    /// Serves the feed at `path` instead of [`DEFAULT_FEED_PATH`] (mount it there too).
    #[must_use]
    pub fn serve_feed_at(mut self, path: &str) -> Self {
        self.html = page(path);
        self.feed_path = path.into();
        self
    }

    /// The path the feed is served at (and the page fetches).
    pub fn feed_path(&self) -> &str {
        &self.feed_path
    }

    /// Links the page shows next to its panels (e.g. to Prometheus' graph of each query).
    #[must_use]
    pub fn links(mut self, links: impl IntoIterator<Item = PanelLink>) -> Self {
        self.links = links.into_iter().collect();
        self
    }

    /// The feed as JSON, as served (see the module documentation for its schema).
    pub fn feed(&self) -> Vec<u8> {
        let history = self
            .shared
            .history
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        feed::render(&history, &self.shared.prefix, &self.links, now_ms)
    }

    /// The page, as served.
    pub fn html(&self) -> &[u8] {
        &self.html
    }

    /// Answers one request: the access rules first, then the feed or the page.
    pub fn respond<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET or HEAD\n");
        }
        if let Some(refused) = self.guard.refuse(req.headers(), req.extensions()) {
            return refused;
        }
        let (body, kind) = if req.uri().path() == &*self.feed_path {
            (Bytes::from(self.feed()), "application/json")
        } else {
            (self.html.clone(), "text/html; charset=utf-8")
        };
        let body = if req.method() == Method::HEAD {
            Bytes::new()
        } else {
            body
        };
        let mut res = Response::new(Full::new(body));
        let h = res.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

impl<B> Service<Request<B>> for LivePage {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ready(Ok(self.respond(&req)))
    }
}

#[cfg(test)]
mod tests {
    use super::{CSS, HTML, JS, LivePanel};

    /// Each panel a link can name is a `data-panel` box on the page, or its links would
    /// never show.
    #[test]
    fn every_link_panel_has_a_box_on_the_page() {
        for panel in [
            LivePanel::Rate,
            LivePanel::Errors,
            LivePanel::Latency,
            LivePanel::InFlight,
        ] {
            let name = serde_json::to_string(&panel).expect("a unit variant serialises");
            let attribute = format!("data-panel={name}");
            assert_eq!(
                HTML.matches(&attribute).count(),
                1,
                "{attribute} in page.html"
            );
        }
    }

    #[test]
    fn assets_are_small_and_name_no_other_host() {
        let size = HTML.len() + CSS.len() + JS.len();
        assert!(size < 100 * 1024, "page is {size} bytes");
        for (name, text) in [("html", HTML), ("css", CSS), ("js", JS)] {
            // Absolute and protocol-relative URLs, CSS imports and resources.
            for needle in ["http:", "https:", "\"//", "'//", "`//", "@import", "url("] {
                assert!(
                    !text.contains(needle),
                    "{name} contains `{needle}`: the page must not reach other hosts"
                );
            }
        }
    }
}
