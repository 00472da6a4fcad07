//! Per-request cost in-process: a 3-route axum router, bare and with the redmetrics layer
//! (the seed's five metrics, summaries on). Each iteration is one `ready().call()` plus
//! reading the response body to its end, polled directly (the handlers never wait), so the
//! figures contain no runtime or network cost.
//!
//! `axum_wrap_bodies_only` is a layer that wraps both bodies and records nothing: what axum's
//! `Router::layer` and body boxing cost any such middleware.
//!
//! Run: `cargo bench -p redmetrics --bench per_request`

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::Request;
use http_body_util::BodyExt;
use redmetrics::HttpMetrics;
use redmetrics::contract::Contract;
use tower::{Service, ServiceExt};

#[path = "../tests/support/wrap_bodies.rs"]
mod wrap_bodies;

fn routes() -> Router {
    Router::new()
        .route("/v1/campaigns", get(|| async { "[]" }))
        .route("/v1/campaigns/{id}", get(|| async { "{}" }))
        .route("/v1/healthcheck", get(|| async { "ok" }))
}

/// `with_state` turns handlers into routes once, as `axum::serve` does.
fn ready(router: Router) -> Router {
    router.with_state(())
}

/// One request through `svc`, body read to the end; everything completes without waiting.
fn one(svc: &mut Router, path: &'static str) {
    let ready = ServiceExt::<Request<Body>>::ready(svc)
        .now_or_never()
        .expect("router is always ready")
        .expect("infallible");
    let res = ready
        .call(
            Request::get(path)
                .body(Body::empty())
                .expect("valid request"),
        )
        .now_or_never()
        .expect("handlers complete immediately")
        .expect("infallible");
    let mut body = res.into_body();
    while let Some(frame) = body.frame().now_or_never().expect("body is ready") {
        black_box(frame.expect("body frame"));
    }
}

fn per_request(c: &mut Criterion) {
    let paths = ["/v1/campaigns", "/v1/campaigns/42", "/v1/healthcheck"];
    let mut group = c.benchmark_group("per_request");

    let mut bare = ready(routes());
    let mut i = 0usize;
    group.bench_function("axum_bare", |b| {
        b.iter(|| {
            i += 1;
            one(&mut bare, paths[i % 3]);
        })
    });

    // The floor for any middleware that wraps both bodies under axum's `Router::layer`.
    let mut wrapping = ready(routes().layer(wrap_bodies::WrapBodies));
    group.bench_function("axum_wrap_bodies_only", |b| {
        b.iter(|| {
            i += 1;
            one(&mut wrapping, paths[i % 3]);
        })
    });

    let metrics = HttpMetrics::builder(Contract::seed("reviewmaps").expect("valid prefix"))
        .build()
        .expect("metrics");
    let mut layered = ready(routes().layer(metrics.layer()));
    group.bench_function("axum_redmetrics", |b| {
        b.iter(|| {
            i += 1;
            one(&mut layered, paths[i % 3]);
        })
    });
    group.finish();
}

criterion_group!(benches, per_request);
criterion_main!(benches);
