//! The contract's families as live series: the tables the layer records into, and their
//! rendering for the registry.

use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};

use super::method::MethodLabel;
use super::protocol::{Protocol, ProtocolSeen};
use super::route::{Classify, RequestParts};
use super::trace::TraceSource;
use super::view::SizeView;
use crate::collect::{Collect, Desc, LabelSet, Sink, TraceContext};
use crate::contract::{Contract, DurationByStatus, SizeLayout, UNMATCHED};
use crate::labels;
use crate::metrics::bounded::{BoundedSeries, OVERFLOW_SLOT, SlotRef};
use crate::metrics::{
    BucketExemplars, Buckets, Counter, CounterExemplar, FamilyMetric, Histogram, NativeLayout,
    OVERFLOW, Scratch, StripedGauge, Summary,
};

/// A route's slot in the route table; the overflow route when the table is full.
pub(crate) type RouteRef = SlotRef;

/// A route found for a request: its slot (the key of its (route, status) series) and its
/// series, kept so that recording the request never looks the route up again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route<'a> {
    pub(crate) slot: RouteRef,
    pub(crate) series: &'a RouteSeries,
}

#[derive(Debug)]
enum SizeMetric {
    Summary(Summary),
    Histogram(Histogram),
}

impl SizeMetric {
    fn new(shape: &SizeLayout) -> Self {
        match shape {
            SizeLayout::Summary(s) => Self::Summary(Summary::new(Arc::clone(s))),
            SizeLayout::Histogram(b) => Self::Histogram(Histogram::new(Arc::clone(b))),
        }
    }

    /// Records `bytes` at `now` on [`monotonic`](crate::monotonic)'s clock.
    #[inline(always)]
    fn observe(&self, bytes: u64, now: u64) {
        match self {
            Self::Summary(s) => s.observe_u64_at_nanos(bytes, now),
            Self::Histogram(h) => h.observe(bytes as f64),
        }
    }

    fn encode(&self, labels: &LabelSet, sink: &mut dyn Sink, scratch: &mut Scratch) {
        match self {
            Self::Summary(s) => s.encode(labels, sink, scratch),
            Self::Histogram(h) => h.encode(labels, sink, scratch),
        }
    }

    fn view(&self) -> SizeView<'_> {
        match self {
            Self::Summary(s) => SizeView::Summary(s),
            Self::Histogram(h) => SizeView::Histogram(h),
        }
    }
}

/// A route's latency histogram, with native buckets when the contract has them.
fn duration_histogram(buckets: &Arc<Buckets>, native: Option<NativeLayout>) -> Histogram {
    match native {
        Some(n) => Histogram::with_native(Arc::clone(buckets), n),
        None => Histogram::new(Arc::clone(buckets)),
    }
}

/// A (route, status)'s latency histogram when the contract keeps latency per status.
fn by_status(contract: &Contract, buckets: &Arc<Buckets>) -> Option<Histogram> {
    let layout = contract.layout();
    layout
        .by_status
        .records()
        .then(|| duration_histogram(buckets, layout.native))
}

/// Series of one (method, path): latency and both sizes.
#[derive(Debug)]
pub(crate) struct RouteSeries {
    method: &'static str,
    /// `method` as the key compares it: a byte, not a string (the overflow series is never
    /// compared).
    label: MethodLabel,
    path: Box<str>,
    labels: LabelSet,
    /// The (route, status) series counted last on this route, null before the first: most
    /// requests of a route repeat the status before. Read without a table lookup (an
    /// entry of `Shared::requests`, which never moves nor goes away).
    last_status: AtomicPtr<StatusSeries>,
    /// The protocol versions and URI schemes its requests had (OTLP attributes).
    protocol: ProtocolSeen,
    /// Written by every request of the route, so kept off the cache line every lookup reads
    /// the key from (false sharing cost more than the padding under two threads).
    hot: LinePadded<RouteMetrics>,
}

impl RouteSeries {
    /// A request body of this route ended or was dropped after `bytes` bytes; `at` is the
    /// request's arrival on [`monotonic`](crate::monotonic)'s clock.
    #[inline]
    pub(crate) fn request_size(&self, bytes: u64, at: u64) {
        self.hot.request_size.observe(bytes, at);
    }
}

/// Aligned to a 64-byte cache line (crossbeam's `CachePadded` uses 128 on x86-64 for the
/// adjacent-line prefetcher; 64 measured the same here and saves memory per route).
#[derive(Debug)]
#[repr(align(64))]
struct LinePadded<T>(T);

impl<T> std::ops::Deref for LinePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The metrics of one (method, path).
#[derive(Debug)]
struct RouteMetrics {
    duration: Histogram,
    request_size: SizeMetric,
    response_size: SizeMetric,
    /// The latest traced observation of each latency bucket, once one was traced.
    exemplars: BucketExemplars,
}

/// The request counter of one (route, status), and its latency when the contract keeps
/// latency per status.
#[derive(Debug)]
struct StatusSeries {
    route: RouteRef,
    status: u16,
    labels: LabelSet,
    count: Counter,
    /// The latest traced request counted here, when counter exemplars are on.
    exemplar: CounterExemplar,
    /// Latency of this (route, status), unless the contract says
    /// [`DurationByStatus::Off`](crate::contract::DurationByStatus::Off).
    duration: Option<Histogram>,
    /// The latest traced observation of each bucket of `duration`.
    duration_exemplars: BucketExemplars,
}

/// Wall-clock milliseconds since the Unix epoch, for exemplar timestamps (read only for
/// traced requests).
#[inline]
fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A route's key as the table hashes it: the path's bytes, then the method's byte (no
/// terminator after the path as `str`'s own `Hash` writes: the method ends the key).
struct RouteKey<'a>(MethodLabel, &'a str);

impl std::hash::Hash for RouteKey<'_> {
    #[inline(always)]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(self.1.as_bytes());
        state.write_u8(self.0 as u8);
    }
}

/// `a == b`, without a call to `memcmp` for the 8 to 32 bytes most routes are: two
/// overlapping word compares (the route lookup compares its key once per request).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if (8..=16).contains(&n) {
        word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8)
    } else if (17..=32).contains(&n) {
        word::<16>(a, 0) == word::<16>(b, 0) && word::<16>(a, n - 16) == word::<16>(b, n - 16)
    } else {
        a == b
    }
}

/// The `N` bytes of `s` from `at`, as an array to compare in one go.
#[inline(always)]
fn word<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
    let mut w = [0; N];
    w.copy_from_slice(&s[at..at + N]);
    w
}

/// What the layer makes of a request when it arrives, from the classifier and the exclusions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Classified<'a> {
    /// Not measured: its path or route template is excluded (the metrics path is).
    Excluded,
    /// Measured under this route template.
    Route(&'a str),
    /// Measured under [`UNMATCHED`]: no route matched.
    Unmatched,
}

/// Everything the layer records into; shared by the layer, its futures and bodies.
pub(crate) struct Shared {
    routes: BoundedSeries<RouteSeries>,
    requests: BoundedSeries<StatusSeries>,
    /// Written twice by every request: striped over cache lines.
    in_flight: StripedGauge,
    duration_buckets: Arc<Buckets>,
    sizes: SizeLayout,
    build_labels: LabelSet,
    contract: Contract,
    excluded: Exclusions,
    classifier: Box<dyn Classify>,
    /// Longest route (`path` label value), in bytes, that gets its own series.
    max_value_len: usize,
    exemplars: Exemplars,
}

/// The paths and route templates not measured, with a mask of their lengths: nearly every
/// request is told apart by its lengths alone, without comparing strings.
struct Exclusions {
    entries: Box<[Box<str>]>,
    /// Bit `n` set when an entry is `n` bytes long (bit 63: 63 or more).
    lens: u64,
}

impl Exclusions {
    fn new(entries: Vec<Box<str>>) -> Self {
        let lens = entries.iter().fold(0, |m, e| m | Self::bit(e.len()));
        Self {
            entries: entries.into_boxed_slice(),
            lens,
        }
    }

    #[inline]
    fn bit(len: usize) -> u64 {
        1 << len.min(63)
    }

    /// Whether `s` is one of the entries, exactly.
    #[inline]
    fn contains(&self, s: &str) -> bool {
        self.lens & Self::bit(s.len()) != 0 && self.entries.iter().any(|e| **e == *s)
    }
}

/// Which samples carry exemplars, and where traces come from.
pub(crate) struct Exemplars {
    /// `None` when exemplars are off.
    pub(crate) source: Option<Source>,
    /// Whether `requests_total` carries them too (the latency buckets always do when on).
    pub(crate) counter: bool,
}

/// Where traces come from: the default is called directly (inlined on the request path),
/// an application's source through its trait object.
pub(crate) enum Source {
    /// [`W3cTraceparent`](super::W3cTraceparent).
    W3c,
    /// What [`trace_context`](super::HttpMetricsBuilder::trace_context) was given.
    Custom(Box<dyn TraceSource>),
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("routes", &self.routes.len())
            .field("requests", &self.requests.len())
            .field("in_flight", &self.in_flight.get())
            .field("excluded", &self.excluded.entries)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Series tables for `contract`, each holding at most `bound` label sets, none with a
    /// route longer than `max_value_len` bytes.
    pub(crate) fn new(
        contract: Contract,
        version: &str,
        bound: usize,
        max_value_len: usize,
        excluded: Vec<Box<str>>,
        classifier: Box<dyn Classify>,
        exemplars: Exemplars,
    ) -> Self {
        let layout = contract.layout();
        let duration_buckets = Arc::clone(&layout.duration);
        let sizes = layout.sizes.clone();
        let names = |f: &crate::contract::FamilySpec| {
            labels::render(f.labels().iter().map(|n| (n.as_str(), OVERFLOW)))
        };
        Self {
            routes: BoundedSeries::new(
                bound,
                RouteSeries {
                    method: OVERFLOW,
                    label: MethodLabel::Other,
                    path: OVERFLOW.into(),
                    labels: names(contract.duration()),
                    last_status: AtomicPtr::new(std::ptr::null_mut()),
                    protocol: ProtocolSeen::default(),
                    hot: LinePadded(RouteMetrics {
                        duration: duration_histogram(&duration_buckets, layout.native),
                        request_size: SizeMetric::new(&sizes),
                        response_size: SizeMetric::new(&sizes),
                        exemplars: BucketExemplars::default(),
                    }),
                },
            ),
            requests: BoundedSeries::new(
                bound,
                StatusSeries {
                    route: OVERFLOW_SLOT,
                    status: 0,
                    labels: names(contract.requests()),
                    count: Counter::default(),
                    exemplar: CounterExemplar::default(),
                    duration: by_status(&contract, &duration_buckets),
                    duration_exemplars: BucketExemplars::default(),
                },
            ),
            in_flight: StripedGauge::default(),
            duration_buckets,
            sizes,
            build_labels: labels::render([(contract.labels().version.as_str(), version)]),
            contract,
            excluded: Exclusions::new(excluded),
            classifier,
            max_value_len,
            exemplars,
        }
    }

    /// The contract the series follow.
    pub(crate) fn contract(&self) -> &Contract {
        &self.contract
    }

    fn route_series(&self, label: MethodLabel, path: &str) -> RouteSeries {
        let method = label.as_str();
        RouteSeries {
            method,
            label,
            path: path.into(),
            labels: labels::render([
                (self.contract.labels().method.as_str(), method),
                (self.contract.labels().path.as_str(), path),
            ]),
            last_status: AtomicPtr::new(std::ptr::null_mut()),
            protocol: ProtocolSeen::default(),
            hot: LinePadded(RouteMetrics {
                duration: duration_histogram(&self.duration_buckets, self.contract.layout().native),
                request_size: SizeMetric::new(&self.sizes),
                response_size: SizeMetric::new(&self.sizes),
                exemplars: BucketExemplars::default(),
            }),
        }
    }

    /// Whether this request is measured, and under which route.
    #[inline]
    pub(crate) fn classify<'a>(&'a self, req: RequestParts<'a>) -> Classified<'a> {
        let template = self.classifier.route(req);
        let path = req.uri.path();
        let excluded =
            self.excluded.contains(path) || template.is_some_and(|t| self.excluded.contains(t));
        match template {
            _ if excluded => Classified::Excluded,
            Some(t) => Classified::Route(t),
            None => Classified::Unmatched,
        }
    }

    /// The trace of a measured request, when exemplars are on and the source knows one.
    #[inline]
    pub(crate) fn trace(&self, req: RequestParts<'_>) -> Option<TraceContext> {
        match self.exemplars.source.as_ref()? {
            Source::W3c => super::W3cTraceparent.trace_context(req),
            Source::Custom(source) => source.trace_context(req),
        }
    }

    /// Resolves the (method, path) series, creating it on first use.
    #[inline]
    pub(crate) fn route(&self, method: MethodLabel, template: Option<&str>) -> Route<'_> {
        let path = template.unwrap_or(UNMATCHED);
        let hash = self.routes.hash(&RouteKey(method, path));
        let (slot, series) = self.routes.get_or_insert(
            hash,
            |r| r.label == method && same_bytes(r.path.as_bytes(), path.as_bytes()),
            // Checked only for a new route: a longer path (a raw URL) is folded and counted.
            || (path.len() <= self.max_value_len).then(|| self.route_series(method, path)),
        );
        Route { slot, series }
    }

    /// Notes the protocol version and URI scheme of a request on `route`.
    #[inline]
    pub(crate) fn protocol(
        &self,
        route: Route<'_>,
        version: http::Version,
        scheme: Option<&http::uri::Scheme>,
    ) {
        route.series.protocol.note(version, scheme);
    }

    /// What the requests of `route` agreed on about their protocol.
    pub(crate) fn read_protocol(&self, route: RouteRef) -> Protocol {
        self.series(route).protocol.read()
    }

    #[inline]
    fn series(&self, route: RouteRef) -> &RouteSeries {
        self.routes.get(route)
    }

    /// Requests in flight right now.
    pub(crate) fn in_flight(&self) -> i64 {
        self.in_flight.get()
    }

    /// A request started: one more in flight.
    #[inline]
    pub(crate) fn start(&self) {
        self.in_flight.inc();
    }

    /// A request's response ended (or was abandoned) at `end`: record everything but the
    /// request size. `start` and `end` are on [`monotonic`](crate::monotonic)'s clock.
    #[inline]
    pub(crate) fn finish(
        &self,
        route: Route<'_>,
        status: u16,
        start: u64,
        end: u64,
        response_bytes: u64,
        trace: Option<&TraceContext>,
    ) {
        self.done(
            route,
            status,
            end.saturating_sub(start),
            end,
            response_bytes,
            trace,
        );
        self.in_flight.dec();
    }

    /// Records latency (`nanos`), response size and the request counter; `end` is when the
    /// response ended, on [`monotonic`](crate::monotonic)'s clock.
    #[inline(always)]
    pub(crate) fn done(
        &self,
        route: Route<'_>,
        status: u16,
        nanos: u64,
        end: u64,
        response_bytes: u64,
        trace: Option<&TraceContext>,
    ) {
        let series = route.series;
        // Found once: the (route, status) histogram has the same layout.
        let at = series.hot.duration.position_nanos(nanos);
        // SAFETY: found by this histogram.
        #[allow(unsafe_code)]
        unsafe {
            series.hot.duration.observe_position(at);
        }
        series.hot.response_size.observe(response_bytes, end);
        let s = self.status_series(series, route.slot, status);
        if let Some(h) = &s.duration {
            // SAFETY: every latency histogram of this `Shared`, a route's and a (route,
            // status)'s, is made over `self.duration_buckets` (`duration_histogram` and
            // `by_status`), so `at` has a classic bucket of the same bounds.
            #[allow(unsafe_code)]
            unsafe {
                h.observe_position(at);
            }
        }
        s.count.inc();
        if let Some(t) = trace {
            self.exemplars(series, s, nanos, t);
        }
    }

    /// The exemplars of a traced request, each written after the count it belongs to. Out of
    /// line: the untraced path then keeps its values in registers (fewer stack spills).
    #[inline(never)]
    fn exemplars(&self, series: &RouteSeries, s: &StatusSeries, nanos: u64, t: &TraceContext) {
        let at = unix_millis();
        let seconds = nanos as f64 * 1e-9;
        let bounds = self.duration_buckets.bounds();
        series.hot.exemplars.record(bounds, seconds, t, at);
        if s.duration.is_some() {
            s.duration_exemplars.record(bounds, seconds, t, at);
        }
        if self.exemplars.counter {
            s.exemplar.record(t, at);
        }
    }

    /// A request body ended or was dropped after `bytes` bytes.
    #[inline]
    pub(crate) fn request_size(&self, route: Route<'_>, bytes: u64, at: u64) {
        route.series.request_size(bytes, at);
    }

    /// The (route, status) series, created on first use; most requests of a route repeat
    /// the status before, which the route remembers.
    #[inline(always)]
    fn status_series(&self, series: &RouteSeries, route: RouteRef, status: u16) -> &StatusSeries {
        let cached = series.last_status.load(Ordering::Acquire);
        // SAFETY: `last_status` is null or was stored (Release, after the Acquire that
        // found it) by `find_status_series` from a `&StatusSeries` of `self.requests`, an
        // entry of the same `Shared` as `series`: boxed, never moved nor removed while
        // `self` lives (see `SlotTable`), so the reference is valid for `&self`.
        #[allow(unsafe_code)]
        let last = unsafe { cached.as_ref() };
        match last {
            // Stored by this route only, so its route is this one.
            Some(s) if s.status == status => s,
            _ => self.find_status_series(series, route, status),
        }
    }

    /// [`status_series`](Self::status_series) when the status is not the route's last one.
    #[inline(never)]
    fn find_status_series(
        &self,
        series: &RouteSeries,
        route: RouteRef,
        status: u16,
    ) -> &StatusSeries {
        let hash = self.requests.hash(&(route, status));
        let (slot, s) = self.requests.get_or_insert(
            hash,
            |s| s.route == route && s.status == status,
            || {
                let r = series;
                let names = self.contract.labels();
                Some(StatusSeries {
                    route,
                    status,
                    labels: labels::render([
                        (names.method.as_str(), r.method),
                        (names.path.as_str(), &*r.path),
                        (names.status.as_str(), itoa::Buffer::new().format(status)),
                    ]),
                    count: Counter::default(),
                    exemplar: CounterExemplar::default(),
                    duration: by_status(&self.contract, &self.duration_buckets),
                    duration_exemplars: BucketExemplars::default(),
                })
            },
        );
        if slot != OVERFLOW_SLOT {
            debug_assert!(s.route == route && s.status == status);
            series
                .last_status
                .store(std::ptr::from_ref(s).cast_mut(), Ordering::Release);
        }
        s
    }
}

impl Shared {
    /// Every (method, path) series with its slot: method, path and latency histogram.
    pub(crate) fn read_routes(&self) -> impl Iterator<Item = (RouteRef, &str, &str, &Histogram)> {
        self.routes
            .iter_slots()
            .map(|(slot, r)| (slot, r.method, &*r.path, &r.hot.duration))
    }

    /// Every (method, path) series with its slot: request and response size metrics.
    pub(crate) fn read_sizes(
        &self,
    ) -> impl Iterator<Item = (RouteRef, SizeView<'_>, SizeView<'_>)> {
        self.routes
            .iter_slots()
            .map(|(slot, r)| (slot, r.hot.request_size.view(), r.hot.response_size.view()))
    }

    /// The finite latency bucket bounds, in seconds.
    pub(crate) fn duration_bounds(&self) -> &[f64] {
        self.duration_buckets.bounds()
    }

    /// Every (route, status) latency histogram, when the contract keeps latency per status.
    pub(crate) fn read_status_durations(
        &self,
    ) -> impl Iterator<Item = (RouteRef, u16, &Histogram)> {
        self.requests
            .iter()
            .filter_map(|r| Some((r.route, r.status, r.duration.as_ref()?)))
    }

    /// Every request counter: its route's slot, status and count.
    pub(crate) fn read_requests(&self) -> impl Iterator<Item = (RouteRef, u16, u64)> {
        self.requests
            .iter()
            .map(|r| (r.route, r.status, r.count.get()))
    }
}

/// Writes the contract's families from the live series.
pub(crate) struct HttpCollector(pub(crate) &'static Shared);

impl Collect for HttpCollector {
    fn descs(&self) -> Vec<Desc> {
        self.0
            .contract
            .families()
            .map(|f| f.desc().clone())
            .collect()
    }

    fn collect(&self, sink: &mut dyn Sink) {
        let s = self.0;
        let c = &s.contract;
        let mut scratch = Scratch::default();
        sink.family(c.requests().desc());
        for (_, created, r) in s.requests.iter_stamped() {
            let exemplar = r.exemplar.read();
            sink.counter_with_exemplar(&r.labels, r.count.get(), exemplar.as_ref());
            sink.created(&r.labels, created);
        }
        sink.family(c.duration().desc());
        if c.duration_by_status() == DurationByStatus::Everywhere {
            for (_, created, r) in s.requests.iter_stamped() {
                if let Some(h) = &r.duration {
                    h.encode_with(&r.labels, Some(&r.duration_exemplars), sink, &mut scratch);
                    sink.created(&r.labels, created);
                }
            }
        } else {
            for (_, created, r) in s.routes.iter_stamped() {
                r.hot
                    .duration
                    .encode_with(&r.labels, Some(&r.hot.exemplars), sink, &mut scratch);
                sink.created(&r.labels, created);
            }
        }
        sink.family(c.in_flight().desc());
        sink.gauge_i64(LabelSet::empty(), s.in_flight.get());
        sink.family(c.request_size().desc());
        for (_, created, r) in s.routes.iter_stamped() {
            r.hot.request_size.encode(&r.labels, sink, &mut scratch);
            sink.created(&r.labels, created);
        }
        sink.family(c.response_size().desc());
        for (_, created, r) in s.routes.iter_stamped() {
            r.hot.response_size.encode(&r.labels, sink, &mut scratch);
            sink.created(&r.labels, created);
        }
        sink.family(c.build_info().desc());
        sink.gauge_i64(&s.build_labels, 1);
    }

    fn overflow(&self, report: &mut dyn FnMut(&str, u64)) {
        let s = self.0;
        let c = &s.contract;
        report(c.requests().desc().name(), s.requests.folded());
        let duration = match c.duration_by_status() {
            DurationByStatus::Everywhere => s.requests.folded(),
            DurationByStatus::Off | DurationByStatus::Otlp => s.routes.folded(),
        };
        report(c.duration().desc().name(), duration);
        for f in [c.request_size(), c.response_size()] {
            report(f.desc().name(), s.routes.folded());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    /// The word compares agree with `==` at every length up to past the longest word, for
    /// equal strings and for a difference at every position (first, middle, overlap, last).
    #[test]
    fn same_bytes_is_slice_equality() {
        for n in 0..40 {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "equal, {n} bytes");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert_eq!(same_bytes(&a, &b), a == b, "{n} bytes, differing at {at}");
                assert!(!same_bytes(&a, &b));
            }
            let mut longer = a.clone();
            longer.push(b'x');
            assert!(!same_bytes(&a, &longer), "{n} against {} bytes", n + 1);
        }
    }
}
