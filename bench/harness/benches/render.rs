//! Rendering a scrape: 1k, 10k and 100k (method, path, status) label sets (five statuses per
//! route, so a fifth as many routes, each with a latency histogram and two summaries), as
//! text, OpenMetrics, gzip-compressed text and protobuf (Prometheus' native-histogram Accept
//! header) through the endpoint; and axum-prometheus
//! rendering 1k label sets for comparison. Body sizes are printed once per case.
//!
//! Run: `cargo bench -p redmetrics-bench --bench render`

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{HeaderMap, Method, StatusCode};
use redmetrics::Contract;
use redmetrics::HttpMetrics;
use redmetrics::middleware::Completed;
use redmetrics_bench::call;

/// What Prometheus 2.42 sends with `--enable-feature=native-histograms`.
const PROTOBUF_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn populated(label_sets: usize) -> HttpMetrics {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").expect("valid prefix"))
        .max_label_sets(label_sets)
        .build()
        .expect("metrics");
    for i in 0..label_sets {
        let route = format!("/v1/route{}/{{id}}", i / 5);
        m.record(&Completed {
            method: &Method::GET,
            route: Some(&route),
            status: 200 + (i % 5) as u16,
            took: Duration::from_millis(10),
            request_bytes: 0,
            response_bytes: 512,
        });
    }
    m
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().expect("valid header"));
    }
    h
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    let variants = [
        ("text", headers(&[])),
        ("openmetrics", headers(&[("accept", PROMETHEUS_ACCEPT)])),
        ("text_gzip", headers(&[("accept-encoding", "gzip")])),
        ("protobuf", headers(&[("accept", PROTOBUF_ACCEPT)])),
    ];
    for n in [1_000usize, 10_000, 100_000] {
        let endpoint = populated(n).endpoint();
        let ext = http::Extensions::new();
        for (name, h) in &variants {
            let body = endpoint.respond(&Method::GET, h, &ext);
            let len = body.headers()["content-length"]
                .to_str()
                .unwrap_or("?")
                .to_owned();
            eprintln!("render/{name}/{n}: {len} bytes");
            group.bench_with_input(BenchmarkId::new(*name, n), &n, |b, _| {
                b.iter(|| endpoint.respond(&Method::GET, h, &ext))
            });
        }
    }
    group.finish();
}

/// axum-prometheus with 1k label sets, recorded by real requests through its layer.
fn axum_prometheus_render(c: &mut Criterion) {
    let mut router = Router::new();
    for r in 0..200 {
        router = router.route(
            &format!("/v1/route{r}/{{status}}"),
            get(|Path(status): Path<u16>| async move {
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
            }),
        );
    }
    let (layer, handle) = {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let _g = rt.enter();
        let pair = axum_prometheus::PrometheusMetricLayer::pair();
        std::mem::forget(rt);
        pair
    };
    let mut app = router.layer(layer).with_state(());
    for i in 0..1000 {
        let path: &'static str =
            Box::leak(format!("/v1/route{}/{}", i / 5, 200 + i % 5).into_boxed_str());
        call(&mut app, path);
    }
    let text = handle.render();
    eprintln!(
        "render/axum_prometheus_text/1000: {} bytes, {} lines",
        text.len(),
        text.lines().count()
    );
    let mut group = c.benchmark_group("render");
    group.sample_size(20);
    group.bench_function(BenchmarkId::new("axum_prometheus_text", 1000), |b| {
        b.iter(|| handle.render())
    });
    group.finish();
}

criterion_group!(benches, render, axum_prometheus_render);
criterion_main!(benches);
