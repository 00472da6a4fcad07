//! Drives N facade operations into one recorder, for instruction counts under callgrind:
//! the difference between two values of N divided by their difference is the cost of one
//! operation, free of start-up and of machine load.
//!
//! Run: `valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!   target/release/facade-ops redmetrics static 100000`

use std::hint::black_box;

use redmetrics_bench::facade::{Facade, fill_families, record, record_dynamic, record_refused};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: facade-ops redmetrics|metrics-exporter-prometheus static|dynamic|refused N";
    let (Some(which), Some(mode), Some(n)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let Some(facade) = Facade::ALL.into_iter().find(|f| f.name() == which) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let op: fn(u64) = match mode.as_str() {
        "dynamic" => record_dynamic,
        "refused" => record_refused,
        _ => record,
    };
    let recorder = facade.recorder();
    metrics::with_local_recorder(&*recorder, || {
        if mode == "refused" {
            fill_families();
        }
        for i in 0..n {
            op(black_box(i));
        }
    });
}
