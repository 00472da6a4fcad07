//! A read-only view of the HTTP series for readers inside the process (the live page): the
//! values a scrape renders, without encoding them. Reading takes no lock and never blocks
//! the layer; every value is one relaxed atomic load.

use super::series::Shared;
use crate::metrics::{Histogram, Summary};

/// Identifies one (method, path) series for the life of the process (its slot in the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(pub u32);

/// The read-only series of one [`HttpMetrics`](super::HttpMetrics); see
/// [`HttpMetrics::series`](super::HttpMetrics::series).
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'a> {
    shared: &'a Shared,
}

/// One (method, path) series: its labels and latency histogram.
#[derive(Debug, Clone, Copy)]
pub struct RouteView<'a> {
    /// Stable identity, the key of [`RequestCount::route`].
    pub id: RouteId,
    /// The `method` label.
    pub method: &'a str,
    /// The `path` label (a route template, `__unmatched__` or `__overflow__`).
    pub path: &'a str,
    /// The `<prefix>_http_request_duration_seconds` histogram of this route.
    pub duration: &'a Histogram,
}

/// One `<prefix>_http_requests_total` series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCount {
    /// The route it belongs to.
    pub route: RouteId,
    /// The `status` label.
    pub status: u16,
    /// The counter's value.
    pub count: u64,
}

/// The latency of one (method, path, status), kept when the contract's
/// [`DurationByStatus`](crate::contract::DurationByStatus) is not `Off`.
#[derive(Debug, Clone, Copy)]
pub struct StatusDuration<'a> {
    /// The route it belongs to.
    pub route: RouteId,
    /// The response status.
    pub status: u16,
    /// The latency histogram of this route and status.
    pub duration: &'a Histogram,
}

/// A body size series: a summary or a histogram, as the contract's size layout says.
#[derive(Debug, Clone, Copy)]
pub enum SizeView<'a> {
    /// Sizes as a summary (the default layout).
    Summary(&'a Summary),
    /// Sizes as a histogram (`SizeMetrics::default_histogram()` and the like).
    Histogram(&'a Histogram),
}

/// The body size series of one (method, path): what `<prefix>_http_request_size_bytes` and
/// `<prefix>_http_response_size_bytes` render for it.
#[derive(Debug, Clone, Copy)]
pub struct RouteSizes<'a> {
    /// The route, as in [`RouteView::id`].
    pub route: RouteId,
    /// Request body bytes read.
    pub request: SizeView<'a>,
    /// Response body bytes sent.
    pub response: SizeView<'a>,
}

impl<'a> SeriesView<'a> {
    pub(crate) fn new(shared: &'a Shared) -> Self {
        Self { shared }
    }

    /// Every (method, path) series, in the order they were first seen (overflow last).
    pub fn routes(&self) -> impl Iterator<Item = RouteView<'a>> + 'a {
        self.shared
            .read_routes()
            .map(|(id, method, path, duration)| RouteView {
                id: RouteId(id),
                method,
                path,
                duration,
            })
    }

    /// The body size series of every (method, path), in the order of [`routes`](Self::routes).
    pub fn sizes(&self) -> impl Iterator<Item = RouteSizes<'a>> + 'a {
        self.shared
            .read_sizes()
            .map(|(id, request, response)| RouteSizes {
                route: RouteId(id),
                request,
                response,
            })
    }

    /// Every request counter.
    pub fn requests(&self) -> impl Iterator<Item = RequestCount> + 'a {
        self.shared
            .read_requests()
            .map(|(route, status, count)| RequestCount {
                route: RouteId(route),
                status,
                count,
            })
    }

    /// Every (method, path, status) latency histogram; none when the contract keeps latency
    /// per route only.
    pub fn status_durations(&self) -> impl Iterator<Item = StatusDuration<'a>> + 'a {
        self.shared
            .read_status_durations()
            .map(|(route, status, duration)| StatusDuration {
                route: RouteId(route),
                status,
                duration,
            })
    }

    /// The protocol version and URI scheme all requests of a route had, where they agreed
    /// (nothing for a route recorded only through [`HttpMetrics::record`](super::HttpMetrics::record)).
    pub fn protocol(&self, route: RouteId) -> super::Protocol {
        self.shared.read_protocol(route.0)
    }

    /// `<prefix>_http_active_connections`: requests in flight right now.
    pub fn in_flight(&self) -> i64 {
        self.shared.in_flight()
    }

    /// The finite latency bucket bounds in seconds (each histogram has one more, `+Inf`).
    pub fn duration_bounds(&self) -> &'a [f64] {
        self.shared.duration_bounds()
    }
}
