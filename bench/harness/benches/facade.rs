//! The `metrics` facade: what one macro operation costs through redmetrics' recorder next
//! to metrics-exporter-prometheus', run interleaved (A B A B) in one process.
//!
//! Run: `cargo bench -p redmetrics-bench --bench facade`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use redmetrics_bench::facade::{Facade, record, record_dynamic};

fn facade(c: &mut Criterion) {
    let mut group = c.benchmark_group("facade");
    for round in 1..=2 {
        for f in Facade::ALL {
            let recorder = f.recorder();
            metrics::with_local_recorder(&*recorder, || {
                let mut i = 0u64;
                group.bench_function(format!("{}/static/round{round}", f.name()), |b| {
                    b.iter(|| {
                        i += 1;
                        record(black_box(i));
                    });
                });
                group.bench_function(format!("{}/dynamic/round{round}", f.name()), |b| {
                    b.iter(|| {
                        i += 1;
                        record_dynamic(black_box(i));
                    });
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, facade);
criterion_main!(benches);
