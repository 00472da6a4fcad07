//! The record of one request in flight, finished exactly once however the request ends.

use super::series::{Route, RouteRef, RouteSeries, Shared};
use crate::collect::TraceContext;
use crate::contract::{STATUS_CLIENT_CLOSED, STATUS_PANIC};

/// Owns one in-flight request's measurement; dropping it records the request. It moves from
/// the response future into the response body, so whichever is dropped last-but-first
/// decides the end: body fully sent, body dropped mid-stream, future dropped (client gone or
/// an outer timeout: 499), or unwinding from a panic before a response (500).
#[derive(Debug)]
pub(crate) struct Recorder {
    shared: &'static Shared,
    /// The route's series and slot, side by side rather than as one padded [`Route`]: with
    /// the two-byte status the record fits 64 bytes, and it moves twice per request.
    series: &'static RouteSeries,
    slot: RouteRef,
    /// Arrival, on [`monotonic`](crate::monotonic)'s clock.
    start: u64,
    /// The status passed on; 0 until then (a status is 100 to 999).
    status: u16,
    response_bytes: u64,
    /// The request's trace, for exemplars.
    trace: Option<TraceContext>,
}

impl Recorder {
    /// Counts the request as in flight from `start`.
    #[inline]
    pub(crate) fn start(
        shared: &'static Shared,
        route: Route<'static>,
        start: u64,
        trace: Option<TraceContext>,
    ) -> Self {
        shared.start();
        Self {
            shared,
            series: route.series,
            slot: route.slot,
            start,
            status: 0,
            response_bytes: 0,
            trace,
        }
    }

    /// The status the client receives.
    #[inline]
    pub(crate) fn responded(&mut self, status: u16) {
        self.status = status;
    }
}

/// Counts a body's bytes; the count is recorded when the tally is dropped.
pub(crate) trait Tally {
    /// `bytes` more went through the body.
    fn add(&mut self, bytes: usize);

    /// The body failed: the client got a truncated response, whatever status it began with.
    fn failed(&mut self) {}
}

impl Tally for Recorder {
    #[inline]
    fn add(&mut self, bytes: usize) {
        self.response_bytes += bytes as u64;
    }

    /// A response body that fails is a server error, as an inner service's `Err` is.
    fn failed(&mut self) {
        self.status = STATUS_PANIC;
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // The clock first: the record's fields are then read after the call, not kept
        // across it (fewer registers to save, fewer stack spills).
        let end = crate::monotonic::now();
        let status = match self.status {
            0 if std::thread::panicking() => STATUS_PANIC,
            0 => STATUS_CLIENT_CLOSED,
            s => s,
        };
        self.shared.finish(
            Route {
                slot: self.slot,
                series: self.series,
            },
            status,
            self.start,
            end,
            self.response_bytes,
            self.trace.as_ref(),
        );
    }
}

/// Counts request body bytes; dropping it records the request size. Only the route's series
/// is kept (24 bytes): the meter rides inside every wrapped request body.
#[derive(Debug)]
pub(crate) struct RequestMeter {
    series: &'static RouteSeries,
    /// The request's arrival, on [`monotonic`](crate::monotonic)'s clock.
    start: u64,
    bytes: u64,
}

impl RequestMeter {
    pub(crate) fn new(route: Route<'static>, start: u64) -> Self {
        Self {
            series: route.series,
            start,
            bytes: 0,
        }
    }
}

impl Tally for RequestMeter {
    #[inline]
    fn add(&mut self, bytes: usize) {
        self.bytes += bytes as u64;
    }
}

impl Drop for RequestMeter {
    fn drop(&mut self) {
        // The request's start instant places the size in the right summary window slice
        // without reading the clock again.
        self.series.request_size(self.bytes, self.start);
    }
}
