//! Heap allocations per request in steady state, counted by a global allocator per thread:
//! only the measuring thread's allocations count, so the test harness (or any other thread of
//! the process) allocating meanwhile cannot move the figures.
#![allow(clippy::unwrap_used)]
// A counting allocator must implement `GlobalAlloc`, an unsafe trait; it only forwards.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use futures_util::FutureExt;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use redmetrics::Contract;
use redmetrics::HttpMetrics;
use redmetrics::middleware::{RequestBody, RequestParts};
use tower::{Layer, Service, ServiceExt};

struct Counting;

thread_local! {
    /// Allocations made by this thread. A `const` thread-local of a `Cell<u64>` has no
    /// destructor and is never lazily allocated, so the allocator can touch it safely.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Counts one allocation on the calling thread (ignored while the thread is torn down).
fn count_one() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

/// Allocations made by the calling thread so far.
fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged; counting has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `n` runs of `f`, after `f` warmed up.
fn allocations_per_run(n: u64, mut f: impl FnMut(u64)) -> f64 {
    for i in 0..1000 {
        f(i);
    }
    let before = allocations();
    for i in 0..n {
        f(i);
    }
    (allocations() - before) as f64 / n as f64
}

fn drain<B: http_body::Body + Unpin>(mut body: B)
where
    B::Error: std::fmt::Debug,
{
    while let Some(frame) = body.frame().now_or_never().unwrap() {
        black_box(frame.unwrap());
    }
}

/// Allocations per request through a tower service answering at once, body drained.
fn tower_allocations<S, B>(svc: &mut S, request: impl Fn(u64) -> Request<Full<Bytes>>) -> f64
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body + Unpin,
    B::Error: std::fmt::Debug,
{
    allocations_per_run(10_000, |i| {
        drain(
            svc.call(request(i))
                .now_or_never()
                .unwrap()
                .unwrap()
                .into_body(),
        );
    })
}

const PATHS: [&str; 3] = ["/v1/campaigns", "/v1/campaigns/42", "/v1/healthcheck"];

/// Three sampled traces, one per path in turn over 12 requests, and one malformed value.
const TRACEPARENTS: [&str; 4] = [
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-11111111111111111111111111111111-2222222222222222-01",
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
];

fn route(req: RequestParts<'_>) -> Option<&'static str> {
    match req.uri.path() {
        "/v1/campaigns" => Some("/v1/campaigns"),
        "/v1/healthcheck" => Some("/v1/healthcheck"),
        _ => Some("/v1/campaigns/{id}"),
    }
}

#[test]
fn the_layer_allocates_nothing_per_request_in_steady_state() {
    // A plain tower stack with concrete body types: whatever the layer adds shows up.
    let ok = || Response::new(Full::new(Bytes::from_static(b"[]")));
    let mut bare =
        tower::service_fn(move |_: Request<Full<Bytes>>| async move { Ok::<_, Infallible>(ok()) });
    let metrics = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .classifier(route)
        .build()
        .unwrap();
    let mut layered = metrics.layer().layer(tower::service_fn(
        move |_: Request<RequestBody<Full<Bytes>>>| async move { Ok::<_, Infallible>(ok()) },
    ));
    let request = |i: u64| {
        Request::get(PATHS[i as usize % 3])
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let bare_allocs = tower_allocations(&mut bare, request);
    let layered_allocs = tower_allocations(&mut layered, request);
    assert_eq!(
        layered_allocs, bare_allocs,
        "the layer must not allocate per request (bare {bare_allocs}, layered {layered_allocs})"
    );

    // Requests carrying a sampled W3C `traceparent` (three traces in turn, and one malformed
    // value): parsing it and recording the exemplars allocates nothing either.
    let traced_request = |i: u64| {
        Request::get(PATHS[i as usize % 3])
            .header("traceparent", TRACEPARENTS[i as usize % 4])
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let bare_traced = tower_allocations(&mut bare, traced_request);
    let layered_traced = tower_allocations(&mut layered, traced_request);
    assert_eq!(
        layered_traced, bare_traced,
        "recording exemplars must not allocate (bare {bare_traced}, layered {layered_traced})"
    );
    let om = String::from_utf8(redmetrics::encoding::encode(
        metrics.registry(),
        redmetrics::encoding::Format::OpenMetrics,
    ))
    .unwrap();
    for trace in &TRACEPARENTS[..3] {
        assert!(
            om.contains(&trace[3..35]),
            "no exemplar of {trace} in\n{om}"
        );
    }

    // Under axum, `Router::layer` makes every layer cost allocations of its own: each layered
    // route is a boxed service cloned per request (1) with a boxed future (1), and the router
    // boxes any request (1) or response (1) body that is not its own `Body`. A layer that
    // wraps both bodies and records nothing pays all four; the generic layer must add nothing
    // on top. `axum_layer()` hands the router its own request body (a bodiless request is
    // passed through as it came), so it pays three: the clone, the future and the response
    // box, which any layer that learns the matched route and watches the response body pays
    // (BENCHMARKS.md, "What axum costs a middleware").
    let router = || {
        Router::new()
            .route("/v1/campaigns", get(|| async { "[]" }))
            .route("/v1/campaigns/{id}", get(|| async { "{}" }))
            .route("/v1/healthcheck", get(|| async { "ok" }))
    };
    // `with_state` turns handlers into routes once, as `axum::serve` does; a router called
    // before that rebuilds every route (and its layers) on each request.
    let axum_request = |i: u64| {
        Request::get(PATHS[i as usize % 3])
            .body(Body::empty())
            .unwrap()
    };
    let through = |svc: &mut Router, i: u64| {
        let svc = ServiceExt::<Request<Body>>::ready(svc)
            .now_or_never()
            .unwrap()
            .unwrap();
        drain(
            svc.call(axum_request(i))
                .now_or_never()
                .unwrap()
                .unwrap()
                .into_body(),
        );
    };
    let mut wrapping = router()
        .layer(redmetrics_testkit::WrapBodies)
        .with_state(());
    let mut layered = router().layer(metrics.layer()).with_state(());
    let mut axum_layered = router().layer(metrics.axum_layer()).with_state(());
    let mut bare = router().with_state(());
    let bare_allocs = allocations_per_run(10_000, |i| through(&mut bare, i));
    let wrapping_allocs = allocations_per_run(10_000, |i| through(&mut wrapping, i));
    let layered_allocs = allocations_per_run(10_000, |i| through(&mut layered, i));
    let axum_allocs = allocations_per_run(10_000, |i| through(&mut axum_layered, i));
    eprintln!(
        "axum allocations per request: bare {bare_allocs}, no-op wrapping layer {wrapping_allocs}, \
         redmetrics layer() {layered_allocs}, redmetrics axum_layer() {axum_allocs}"
    );
    assert_eq!(
        layered_allocs, wrapping_allocs,
        "axum: bare {bare_allocs}, a body-wrapping no-op layer {wrapping_allocs}, \
         redmetrics {layered_allocs} allocations per request"
    );
    // Both are whole counts over 10,000 requests: any allocation more in 10,000 fails.
    assert!(
        (axum_allocs - (bare_allocs + 3.0)).abs() < 1e-6,
        "axum_layer(): bare {bare_allocs}, redmetrics {axum_allocs} allocations per request \
         (expected bare + 3)"
    );
    // A request with a body to count: `axum_layer()` wraps and boxes it itself, the generic
    // layer's wrapper is boxed by the router; the same count either way.
    let with_body = |svc: &mut Router, i: u64| {
        let req = Request::post(PATHS[i as usize % 3])
            .body(Body::from("{\"title\":\"new\"}"))
            .unwrap();
        let svc = ServiceExt::<Request<Body>>::ready(svc)
            .now_or_never()
            .unwrap()
            .unwrap();
        drain(svc.call(req).now_or_never().unwrap().unwrap().into_body());
    };
    let layered_post = allocations_per_run(10_000, |i| with_body(&mut layered, i));
    let axum_post = allocations_per_run(10_000, |i| with_body(&mut axum_layered, i));
    assert_eq!(
        axum_post, layered_post,
        "requests with a body: layer() {layered_post}, axum_layer() {axum_post} allocations"
    );
    #[cfg(feature = "facade")]
    facade_allocates_nothing_once_a_series_exists();
}

/// The `metrics` macros through redmetrics' recorder, once their series exist: counters,
/// gauges and histograms with static labels, and labels built from borrowed values.
#[cfg(feature = "facade")]
fn facade_allocates_nothing_once_a_series_exists() {
    let recorder = redmetrics::facade::FacadeRecorder::builder(redmetrics::Registry::new())
        .prefix("app")
        .build();
    const RESULTS: [&str; 2] = ["hit", "miss"];
    // A label value chosen at run time makes the macro build its `Key` in a `Vec`: that
    // allocation is the caller's, so the baseline is the same calls into a no-op recorder.
    let record = |i: u64| {
        metrics::counter!("cache_lookups_total", "result" => RESULTS[i as usize % 2]).increment(1);
        metrics::counter!("cache_lookups_total", "result" => "hit").increment(1);
        metrics::gauge!("pool_size").set(i as f64);
        metrics::histogram!("fetch_seconds", "op" => "get").record(0.001);
    };
    let noop = metrics::NoopRecorder;
    let baseline = metrics::with_local_recorder(&noop, || allocations_per_run(10_000, record));
    let per_call = metrics::with_local_recorder(&recorder, || allocations_per_run(10_000, record));
    eprintln!(
        "facade allocations per call group: no-op recorder {baseline}, redmetrics {per_call}"
    );
    assert_eq!(
        per_call, baseline,
        "facade recording allocates once its series exist"
    );
}
