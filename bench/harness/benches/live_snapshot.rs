//! The live page's once-a-second snapshot at 1,000 (method, path, status) label sets (200
//! routes × 5 statuses, each route with a latency histogram), every label set changed since
//! the previous snapshot (the worst case: every delta is non-zero). Budget: 1 ms.
//!
//! Run: `cargo bench -p redmetrics-bench --bench live_snapshot`

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::Method;
use redmetrics::live::History;
use redmetrics::middleware::Completed;
use redmetrics::{Contract, HttpMetrics};

const LABEL_SETS: usize = 1_000;

fn record_all(m: &HttpMetrics, routes: &[String]) {
    for i in 0..LABEL_SETS {
        m.record(&Completed {
            method: &Method::GET,
            route: Some(&routes[i / 5]),
            status: [200, 201, 404, 500, 503][i % 5],
            took: Duration::from_micros(300 + (i as u64 * 37) % 20_000),
            request_bytes: 0,
            response_bytes: 512,
        });
    }
}

fn snapshot(c: &mut Criterion) {
    let m = HttpMetrics::builder(Contract::new("reviewmaps").expect("valid prefix"))
        .max_label_sets(LABEL_SETS)
        .build()
        .expect("metrics");
    let routes: Vec<String> = (0..LABEL_SETS / 5)
        .map(|r| format!("/v1/route{r}/{{id}}"))
        .collect();
    record_all(&m, &routes);
    assert_eq!(m.series().requests().count(), LABEL_SETS);
    let mut history = History::new(m.series());
    history.snapshot();
    let mut group = c.benchmark_group("live");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("snapshot_1000_label_sets", |b| {
        b.iter_batched(
            || record_all(&m, &routes),
            |()| history.snapshot(),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
