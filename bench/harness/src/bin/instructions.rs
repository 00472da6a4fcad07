//! A fixed workload per mode for `valgrind --tool=callgrind`, which counts instructions rather
//! than seconds: the count is the same on a loaded machine, so before/after comparisons of
//! the request path and the encoder hold where wall-clock benchmarks drift.
//! `bench/instructions.sh` runs each mode at two sizes and prints the difference per operation.
//!
//! Run: `target/release/instructions MODE N` (modes: axum-bare, axum-wrap-bodies,
//! axum-redmetrics, axum-redmetrics-axum-layer, axum-cost-noop, axum-cost-wrap-request,
//! axum-cost-wrap-response, axum-cost-outer, axum-cost-outer-boxed, axum-cost-split, tower-bare, tower-redmetrics, tower-redmetrics-no-exemplars,
//! tower-bare-headers, tower-redmetrics-headers, tower-bare-traceparent,
//! tower-redmetrics-traceparent, render-text-1000, render-protobuf-1000, otlp-1000,
//! otlp-gzip-1000)

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use http::Request;
use http_body_util::Full;
use tower::Service;

use redmetrics::encoding::{Format, encode_into};
use redmetrics::middleware::Completed;
use redmetrics::otlp::OtlpExporter;
use redmetrics::{Contract, HttpMetrics};
use redmetrics_bench::{
    HEADERS, PATHS, TRACED_HEADERS, Variant, axum_costs, call, call_service, call_tower_with,
    router, routes, tower_bare, tower_layered, tower_layered_by_status, tower_layered_with,
};

/// 1,000 (method, path, status) label sets, as the `render` benchmark fills them.
fn populated(label_sets: usize) -> HttpMetrics {
    let metrics = HttpMetrics::builder(Contract::new("reviewmaps").expect("valid prefix"))
        .max_label_sets(label_sets)
        .build()
        .expect("metrics");
    for i in 0..label_sets {
        let route = format!("/v1/route{}/{{id}}", i / 5);
        metrics.record(&Completed {
            method: &http::Method::GET,
            route: Some(&route),
            status: 200 + (i % 5) as u16,
            took: Duration::from_millis(10),
            request_bytes: 0,
            response_bytes: 512,
        });
    }
    metrics
}

/// `n` scrapes of 1,000 label sets in `format`.
fn render(format: Format, n: usize) {
    let metrics = populated(1_000);
    let mut out = Vec::new();
    for _ in 0..n {
        out.clear();
        encode_into(metrics.registry(), format, &mut out);
        std::hint::black_box(&out);
    }
}

/// `n` requests with `headers` through a plain tower service, cycling the paths.
fn drive<S, B>(mut svc: S, n: usize, headers: &[(&'static str, &'static str)])
where
    S: Service<Request<Full<Bytes>>, Response = http::Response<B>, Error = Infallible>,
    B: http_body::Body + Unpin,
    B::Error: std::fmt::Debug,
{
    (0..n).for_each(|i| call_tower_with(&mut svc, PATHS[i % 3], headers));
}

/// `n` requests through a service taking axum's request type, cycling the paths.
fn drive_axum<S, B>(mut svc: S, n: usize)
where
    S: Service<Request<axum::body::Body>, Response = http::Response<B>, Error = Infallible>,
    B: http_body::Body + Unpin,
    B::Error: std::fmt::Debug,
{
    (0..n).for_each(|i| call_service(&mut svc, PATHS[i % 3]));
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: instructions MODE N";
    let mode = args.next().ok_or(usage)?;
    let n: usize = args.next().and_then(|v| v.parse().ok()).ok_or(usage)?;
    let axum = |variant| {
        let mut svc = router(variant);
        for i in 0..n {
            call(&mut svc, PATHS[i % 3]);
        }
    };
    match mode.as_str() {
        "axum-bare" => axum(Variant::Bare),
        "axum-wrap-bodies" => axum(Variant::WrapBodies),
        "axum-redmetrics" => axum(Variant::Redmetrics),
        "axum-redmetrics-axum-layer" => axum(Variant::RedmetricsAxumLayer),
        // The breakdown: each of axum's costs for a middleware alone (see `axum_costs`).
        "axum-cost-noop" => drive_axum(routes().layer(axum_costs::Noop).with_state(()), n),
        "axum-cost-wrap-request" => {
            drive_axum(routes().layer(axum_costs::WrapRequest).with_state(()), n)
        }
        "axum-cost-wrap-response" => {
            drive_axum(routes().layer(axum_costs::WrapResponse).with_state(()), n)
        }
        "axum-cost-outer" => drive_axum(axum_costs::Outer(routes().with_state(())), n),
        "axum-cost-outer-boxed" => drive_axum(axum_costs::OuterBoxed(routes().with_state(())), n),
        "axum-cost-split" => drive_axum(
            axum_costs::Split(routes().layer(axum_costs::Probe).with_state(())),
            n,
        ),
        "tower-bare" => drive(tower_bare(), n, &[]),
        "tower-redmetrics" => drive(tower_layered(), n, &[]),
        "tower-redmetrics-no-exemplars" => drive(tower_layered_with(false), n, &[]),
        "tower-redmetrics-by-status-off" => drive(
            tower_layered_by_status(redmetrics::contract::DurationByStatus::Off),
            n,
            &[],
        ),
        // A client's usual headers, no trace: the `traceparent` lookup misses.
        "tower-bare-headers" => drive(tower_bare(), n, &HEADERS),
        "tower-redmetrics-headers" => drive(tower_layered(), n, &HEADERS),
        // The same plus a sampled `traceparent`: its exemplars are recorded.
        "tower-bare-traceparent" => drive(tower_bare(), n, &TRACED_HEADERS),
        "tower-redmetrics-traceparent" => drive(tower_layered(), n, &TRACED_HEADERS),
        "render-text-1000" => render(Format::Text, n),
        "render-protobuf-1000" => render(Format::Protobuf, n),
        // One OTLP export's CPU work: read the series, convert, encode (and gzip).
        "otlp-1000" | "otlp-gzip-1000" => {
            let metrics = populated(1_000);
            let export = OtlpExporter::builder(&metrics, "http://127.0.0.1:4318")
                .gzip(mode == "otlp-gzip-1000");
            let mut len = 0;
            for _ in 0..n {
                len = std::hint::black_box(export.encode_now()).len();
            }
            eprintln!("{mode}: {len} bytes a body");
        }
        other => return Err(format!("unknown mode {other}; {usage}")),
    }
    Ok(())
}
