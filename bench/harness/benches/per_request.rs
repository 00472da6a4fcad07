//! Per-request cost in-process, side by side: a 3-route axum router bare, with a
//! body-wrapping no-op layer (axum's floor for body middleware), with redmetrics (its
//! default contract's five families, summaries on; through the generic `layer()` and through
//! `axum_layer()`) and with axum-prometheus 0.10. Each request is one
//! `ready().call()` plus reading the body to its end, polled directly: no runtime, no network.
//! "2 threads" runs two threads each driving its own router clone over the same metrics and
//! reports wall time per request (ideal: half the single-thread time).
//!
//! Run: `cargo bench -p redmetrics-bench --bench per_request`

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use redmetrics_bench::{PATHS, Variant, call, router};

const VARIANTS: [(&str, Variant); 5] = [
    ("axum_bare", Variant::Bare),
    ("axum_wrap_bodies_only", Variant::WrapBodies),
    ("axum_redmetrics", Variant::Redmetrics),
    ("axum_redmetrics_axum_layer", Variant::RedmetricsAxumLayer),
    ("axum_prometheus", Variant::AxumPrometheus),
];

fn one_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_request_1_thread");
    for (name, variant) in VARIANTS {
        let mut svc = router(variant);
        let mut i = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                call(&mut svc, PATHS[i % 3]);
            })
        });
    }
    group.finish();
}

fn two_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_request_2_threads");
    for (name, variant) in VARIANTS {
        let svc = router(variant);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let per_thread = iters.div_ceil(2);
                let start = Instant::now();
                std::thread::scope(|s| {
                    for t in 0..2 {
                        let mut svc = svc.clone();
                        s.spawn(move || {
                            for i in 0..per_thread {
                                call(&mut svc, PATHS[(i as usize + t) % 3]);
                            }
                        });
                    }
                });
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per_thread * 2) as f64)
            })
        });
    }
    group.finish();
}

/// The layer alone, around a `service_fn` with concrete bodies: what recording costs when
/// no framework boxes anything.
fn recording_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("recording_only");
    let (mut bare, mut layered) = (
        redmetrics_bench::tower_bare(),
        redmetrics_bench::tower_layered(),
    );
    let mut i = 0usize;
    group.bench_function("tower_bare", |b| {
        b.iter(|| {
            i += 1;
            redmetrics_bench::call_tower(&mut bare, PATHS[i % 3]);
        })
    });
    group.bench_function("tower_redmetrics", |b| {
        b.iter(|| {
            i += 1;
            redmetrics_bench::call_tower(&mut layered, PATHS[i % 3]);
        })
    });
    // A client's usual headers, then the same with a sampled `traceparent`: the exemplars'
    // cost, each against the bare service given the same headers.
    for (name, headers) in [
        ("headers", &redmetrics_bench::HEADERS[..]),
        ("traceparent", &redmetrics_bench::TRACED_HEADERS[..]),
    ] {
        group.bench_function(format!("tower_bare_{name}"), |b| {
            b.iter(|| {
                i += 1;
                redmetrics_bench::call_tower_with(&mut bare, PATHS[i % 3], headers);
            })
        });
        group.bench_function(format!("tower_redmetrics_{name}"), |b| {
            b.iter(|| {
                i += 1;
                redmetrics_bench::call_tower_with(&mut layered, PATHS[i % 3], headers);
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4));
    targets = one_thread, two_threads, recording_only
}
criterion_main!(benches);
