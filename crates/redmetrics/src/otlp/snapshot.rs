//! One reading of the HTTP series at an instant: the values a scrape would render, copied out
//! of the lock-free view so that a later export can be encoded (or diffed for deltas) after
//! the series moved on. Reading never blocks the layer.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::metrics::{Histogram, Summary};
use crate::middleware::{Protocol, RouteId, SeriesView, SizeView};

/// A histogram's per-bucket counts (not cumulative; `+Inf` last) and its sum.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Buckets {
    /// The finite upper bounds (one fewer than `counts`).
    pub(crate) bounds: &'static [f64],
    pub(crate) counts: Vec<u64>,
    pub(crate) sum: f64,
}

impl Buckets {
    fn read(h: &'static Histogram, scratch: &mut Vec<u64>) -> Self {
        let sum = h.read(scratch);
        let mut prev = 0;
        let counts = scratch
            .iter()
            .map(|&c| {
                let n = c.saturating_sub(prev);
                prev = c;
                n
            })
            .collect();
        Self {
            bounds: h.buckets().bounds(),
            counts,
            sum,
        }
    }

    /// Observations in all buckets.
    pub(crate) fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// A body size series as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Size {
    /// From a histogram layout.
    Histogram(Buckets),
    /// From a summary layout: count and sum since start, quantiles over its window.
    Summary {
        count: u64,
        sum: f64,
        quantiles: Vec<(f64, f64)>,
    },
}

impl Size {
    fn read(v: SizeView<'static>, now: u64, scratch: &mut Scratch) -> Self {
        match v {
            SizeView::Histogram(h) => Self::Histogram(Buckets::read(h, &mut scratch.cumulative)),
            SizeView::Summary(s) => Self::summary(s, now, scratch),
        }
    }

    fn summary(s: &Summary, now: u64, scratch: &mut Scratch) -> Self {
        let (sum, count) = s.read_at(now, &mut scratch.values, &mut scratch.sketch);
        let quantiles = s
            .shape()
            .objectives()
            .iter()
            .zip(&scratch.values)
            .map(|(o, &v)| (o.quantile, v))
            .collect();
        Self::Summary {
            count,
            sum,
            quantiles,
        }
    }
}

/// One (method, path) series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Route {
    pub(crate) id: RouteId,
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) duration: Buckets,
    pub(crate) request_size: Size,
    pub(crate) response_size: Size,
    /// What its requests agreed on: `network.protocol.version`, `url.scheme`.
    pub(crate) protocol: Protocol,
}

/// One (method, path, status) request counter, and its latency when the contract keeps
/// latency per status.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Requests {
    pub(crate) route: RouteId,
    pub(crate) status: u16,
    pub(crate) count: u64,
    pub(crate) duration: Option<Buckets>,
}

/// Every HTTP series at one instant; routes sorted by id, requests by (route, status).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    /// When it was read, in nanoseconds since the Unix epoch.
    pub(crate) time_unix_nano: u64,
    pub(crate) in_flight: i64,
    pub(crate) routes: Vec<Route>,
    pub(crate) requests: Vec<Requests>,
}

#[derive(Default)]
struct Scratch {
    cumulative: Vec<u64>,
    values: Vec<f64>,
    sketch: Vec<(usize, u64)>,
}

impl Snapshot {
    /// Reads every series of `view` now.
    pub(crate) fn read(view: &SeriesView<'static>) -> Self {
        let now = crate::monotonic::now();
        let mut scratch = Scratch::default();
        // Two passes over the route table: a route published between them is in one only,
        // so sizes are matched by id, not by position (it is read next time).
        let mut sizes: Vec<_> = view.sizes().collect();
        sizes.sort_unstable_by_key(|s| s.route);
        let mut routes: Vec<Route> = view
            .routes()
            .filter_map(|r| {
                let s = sizes
                    .binary_search_by_key(&r.id, |s| s.route)
                    .ok()
                    .map(|i| sizes[i])?;
                Some(Route {
                    id: r.id,
                    method: r.method,
                    path: r.path,
                    duration: Buckets::read(r.duration, &mut scratch.cumulative),
                    request_size: Size::read(s.request, now, &mut scratch),
                    response_size: Size::read(s.response, now, &mut scratch),
                    protocol: view.protocol(r.id),
                })
            })
            .collect();
        routes.sort_unstable_by_key(|r| r.id);
        let mut durations: Vec<_> = view
            .status_durations()
            .map(|d| {
                (
                    (d.route, d.status),
                    Buckets::read(d.duration, &mut scratch.cumulative),
                )
            })
            .collect();
        durations.sort_unstable_by_key(|(key, _)| *key);
        let mut requests: Vec<Requests> = view
            .requests()
            .map(|r| Requests {
                route: r.route,
                status: r.status,
                count: r.count,
                duration: durations
                    .binary_search_by_key(&(r.route, r.status), |(key, _)| *key)
                    .ok()
                    .map(|i| durations[i].1.clone()),
            })
            .collect();
        requests.sort_unstable_by_key(|r| (r.route, r.status));
        Self {
            time_unix_nano: unix_nanos(SystemTime::now()),
            in_flight: view.in_flight(),
            routes,
            requests,
        }
    }

    /// The route with this id, if it was read.
    pub(crate) fn route(&self, id: RouteId) -> Option<&Route> {
        self.routes
            .binary_search_by_key(&id, |r| r.id)
            .ok()
            .map(|i| &self.routes[i])
    }

    /// The request counter of (route, status), if it was read.
    pub(crate) fn requests(&self, route: RouteId, status: u16) -> Option<&Requests> {
        self.requests
            .binary_search_by_key(&(route, status), |r| (r.route, r.status))
            .ok()
            .map(|i| &self.requests[i])
    }
}

/// Nanoseconds since the Unix epoch (0 for a clock set before it).
pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
