//! The ring of one-second snapshots behind the live page, and the figures computed from it.
//!
//! Each [`History::snapshot`] reads the HTTP series through the lock-free
//! [`SeriesView`](crate::middleware::SeriesView) and keeps only deltas since the previous
//! snapshot: per second the requests by status class, the latency bucket counts summed over
//! routes and the in-flight gauge ([`SECONDS`] of them); per minute the requests, 5xx and
//! latency buckets of each route ([`MINUTES`] minutes, at most [`ROUTES_PER_MINUTE`] routes
//! each, busiest first). Memory is therefore bounded whatever the traffic: see the module
//! documentation of [`live`](super) for the figure.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use foldhash::fast::RandomState;

use super::quantile::histogram_quantile;
use crate::middleware::{RouteId, SeriesView};

/// One-second snapshots kept: 15 minutes.
pub const SECONDS: usize = 900;
/// Whole minutes of per-route figures kept besides the current one: with it, 15 minutes.
pub const MINUTES: usize = 14;
/// Routes kept per closed minute, the busiest; the rest are counted in `routes_dropped`.
pub const ROUTES_PER_MINUTE: usize = 100;
/// Seconds each chart point's ratio and quantiles cover (the point's own and those before).
pub const CHART_SECONDS: usize = 5;
/// Seconds the headline figures (the cards on the page) are computed over.
pub const SUMMARY_SECONDS: usize = 10;

/// Requests by status class: 1xx … 5xx (anything else counts as 5xx's neighbour it is
/// closest to; statuses are 100-599 in practice).
pub(crate) type ByClass = [u64; 5];

/// What one snapshot saw since the one before.
#[derive(Debug, Clone)]
pub(crate) struct Second {
    /// Wall-clock time of the snapshot, ms since the Unix epoch.
    pub(crate) at_ms: u64,
    /// Seconds since the previous snapshot (about 1).
    pub(crate) span: f64,
    pub(crate) by_class: ByClass,
    /// Cumulative latency bucket counts over all routes (`+Inf` last).
    pub(crate) buckets: Box<[u64]>,
    pub(crate) in_flight: i64,
}

/// Per-route totals over some span.
#[derive(Debug, Clone)]
pub(crate) struct RouteTotals {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    /// Cumulative latency bucket counts (`+Inf` last).
    pub(crate) buckets: Box<[u64]>,
}

#[derive(Debug)]
struct Minute {
    started: Instant,
    routes: HashMap<RouteId, RouteTotals, RandomState>,
}

impl Minute {
    fn new(started: Instant) -> Self {
        Self {
            started,
            routes: HashMap::default(),
        }
    }

    fn route(&mut self, id: RouteId, width: usize) -> &mut RouteTotals {
        self.routes.entry(id).or_insert_with(|| RouteTotals {
            requests: 0,
            errors: 0,
            buckets: vec![0; width].into_boxed_slice(),
        })
    }
}

/// Ring buffers of snapshots of one app's HTTP series. Not shared with the request path:
/// the live page's task owns it behind a lock only the task and the feed take.
#[derive(Debug)]
pub struct History {
    series: SeriesView<'static>,
    bounds: Box<[f64]>,
    last: Option<Instant>,
    prev_routes: HashMap<RouteId, Box<[u64]>, RandomState>,
    prev_requests: HashMap<(RouteId, u16), u64, RandomState>,
    names: HashMap<RouteId, (Box<str>, Box<str>), RandomState>,
    scratch: Vec<u64>,
    seconds: VecDeque<Second>,
    minutes: VecDeque<Minute>,
    current: Minute,
    routes_dropped: u64,
}

impl History {
    /// An empty history of `series` (from [`HttpMetrics::series`](crate::HttpMetrics::series)).
    /// The first [`snapshot`](Self::snapshot) only sets the baseline.
    pub fn new(series: SeriesView<'static>) -> Self {
        Self {
            series,
            bounds: series.duration_bounds().into(),
            last: None,
            prev_routes: HashMap::default(),
            prev_requests: HashMap::default(),
            names: HashMap::default(),
            scratch: Vec::new(),
            seconds: VecDeque::with_capacity(SECONDS),
            minutes: VecDeque::with_capacity(MINUTES),
            current: Minute::new(Instant::now()),
            routes_dropped: 0,
        }
    }

    /// Reads the series once and records what changed since the last call; meant to run
    /// once a second. Costs about one relaxed load per bucket and counter (see
    /// `BENCHMARKS.md`), and never blocks the layer.
    pub fn snapshot(&mut self) {
        let now = Instant::now();
        let width = self.bounds.len() + 1;
        let baseline = self.last.is_none();
        let mut all = vec![0u64; width].into_boxed_slice();
        for r in self.series.routes() {
            r.duration.read(&mut self.scratch);
            let prev = self
                .prev_routes
                .entry(r.id)
                .or_insert_with(|| vec![0; width].into_boxed_slice());
            if prev[..] == self.scratch[..] {
                continue;
            }
            if !baseline {
                let totals = self.current.route(r.id, width);
                for ((t, a), (now, before)) in totals
                    .buckets
                    .iter_mut()
                    .zip(all.iter_mut())
                    .zip(self.scratch.iter().zip(prev.iter()))
                {
                    let d = now.saturating_sub(*before);
                    *t += d;
                    *a += d;
                }
            }
            prev.copy_from_slice(&self.scratch);
            self.names
                .entry(r.id)
                .or_insert_with(|| (r.method.into(), r.path.into()));
        }
        let mut by_class = ByClass::default();
        for c in self.series.requests() {
            let prev = self.prev_requests.entry((c.route, c.status)).or_insert(0);
            let d = c.count.saturating_sub(*prev);
            *prev = c.count;
            if d == 0 || baseline {
                continue;
            }
            by_class[usize::from(c.status / 100).clamp(1, 5) - 1] += d;
            let totals = self.current.route(c.route, width);
            totals.requests += d;
            if c.status >= 500 {
                totals.errors += d;
            }
        }
        let in_flight = self.series.in_flight();
        if let Some(last) = self.last {
            if self.seconds.len() == SECONDS {
                self.seconds.pop_front();
            }
            self.seconds.push_back(Second {
                at_ms: unix_ms(),
                span: now.duration_since(last).as_secs_f64(),
                by_class,
                buckets: all,
                in_flight,
            });
        }
        self.last = Some(now);
        if now.duration_since(self.current.started) >= Duration::from_secs(60) {
            self.close_minute(now);
        }
    }

    fn close_minute(&mut self, now: Instant) {
        let mut closed = std::mem::replace(&mut self.current, Minute::new(now));
        if closed.routes.len() > ROUTES_PER_MINUTE {
            let mut busiest: Vec<(RouteId, u64)> = closed
                .routes
                .iter()
                .map(|(id, t)| (*id, t.requests))
                .collect();
            busiest.sort_unstable_by_key(|b| std::cmp::Reverse(b.1));
            for (id, _) in &busiest[ROUTES_PER_MINUTE..] {
                closed.routes.remove(id);
                self.routes_dropped += 1;
            }
            closed.routes.shrink_to_fit();
        }
        if self.minutes.len() == MINUTES {
            self.minutes.pop_front();
        }
        self.minutes.push_back(closed);
    }

    /// The finite latency bounds, in seconds.
    pub(crate) fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// The one-second snapshots, oldest first.
    pub(crate) fn seconds(&self) -> &VecDeque<Second> {
        &self.seconds
    }

    /// Routes left out of closed minutes because more than [`ROUTES_PER_MINUTE`] were busy.
    pub(crate) fn routes_dropped(&self) -> u64 {
        self.routes_dropped
    }

    /// Per-route totals over the kept minutes and the current one, with the seconds they
    /// span and each route's (method, path).
    pub(crate) fn routes(&self) -> (f64, Vec<(&str, &str, RouteTotals)>) {
        let width = self.bounds.len() + 1;
        let mut sum: HashMap<RouteId, RouteTotals, RandomState> = HashMap::default();
        for m in self.minutes.iter().chain(std::iter::once(&self.current)) {
            for (id, t) in &m.routes {
                let s = sum.entry(*id).or_insert_with(|| RouteTotals {
                    requests: 0,
                    errors: 0,
                    buckets: vec![0; width].into_boxed_slice(),
                });
                s.requests += t.requests;
                s.errors += t.errors;
                for (a, b) in s.buckets.iter_mut().zip(t.buckets.iter()) {
                    *a += b;
                }
            }
        }
        let from = self
            .minutes
            .front()
            .map_or(self.current.started, |m| m.started);
        let span = self
            .last
            .map_or(0.0, |l| l.saturating_duration_since(from).as_secs_f64());
        let rows = sum
            .into_iter()
            .filter_map(|(id, t)| {
                let (m, p) = self.names.get(&id)?;
                Some((&**m, &**p, t))
            })
            .collect();
        (span, rows)
    }

    /// `q`-quantile of cumulative latency buckets, in seconds (`histogram_quantile`).
    pub(crate) fn quantile(&self, q: f64, cumulative: &[u64]) -> Option<f64> {
        histogram_quantile(q, &self.bounds, cumulative)
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
