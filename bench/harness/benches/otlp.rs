//! One OTLP export's CPU work at 1,000 (method, path, status) label sets (200 routes × 5
//! statuses, each route with its latency histogram and both size summaries): reading the
//! series, converting them to an `ExportMetricsServiceRequest` and encoding it, with and
//! without gzip. Paid once per export interval, off the request path.
//!
//! Run: `cargo bench -p redmetrics-bench --bench otlp`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use http::Method;
use redmetrics::middleware::Completed;
use redmetrics::otlp::OtlpExporter;
use redmetrics::{Contract, HttpMetrics};

const LABEL_SETS: usize = 1_000;

fn export(c: &mut Criterion) {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").expect("valid prefix"))
        .max_label_sets(LABEL_SETS)
        .build()
        .expect("metrics");
    for i in 0..LABEL_SETS {
        m.record(&Completed {
            method: &Method::GET,
            route: Some(&format!("/v1/route{}/{{id}}", i / 5)),
            status: [200, 201, 404, 500, 503][i % 5],
            took: Duration::from_micros(300 + (i as u64 * 37) % 20_000),
            request_bytes: 0,
            response_bytes: 512,
        });
    }
    assert_eq!(m.series().requests().count(), LABEL_SETS);
    let mut group = c.benchmark_group("otlp");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    for gzip in [false, true] {
        let builder = OtlpExporter::builder(&m, "http://127.0.0.1:4318").gzip(gzip);
        let name = if gzip {
            "export_1000_label_sets_gzip"
        } else {
            "export_1000_label_sets"
        };
        group.bench_function(name, |b| b.iter(|| builder.encode_now()));
    }
    group.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
