//! Resident memory per (method, path) label set, both summaries included: the growth of the
//! process' resident set while N route series fill with realistic observations (GET request
//! bodies of 0 bytes, responses around a per-route typical size, millisecond latencies).
//!
//! The second argument says what exemplars cost: `untraced` (the default: exemplars on, no
//! request traced, so no exemplar storage is made), `traced` (every request carries a trace:
//! a slot per latency bucket and per request counter) or `off` (`.exemplars(false)`).
//! `--no-native` anywhere leaves out the duration histogram's native buckets;
//! `--by-status=off|otlp|everywhere` sets the contract's `DurationByStatus` (default `otlp`):
//! every request here has status 200, so each label set is one (method, path, status) and the
//! difference between `off` and the others is one per-status latency histogram.
//!
//! Run: `cargo run --release -p redmetrics-bench --bin memory -- 20000 [untraced|traced|off] [--no-native] [--by-status=off]`

use std::time::Duration;

use redmetrics::Contract;
use redmetrics::HttpMetrics;
use redmetrics::contract::DurationByStatus;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let native = !std::env::args().any(|a| a == "--no-native");
    let by_status = match std::env::args()
        .find_map(|a| a.strip_prefix("--by-status=").map(str::to_owned))
        .as_deref()
    {
        None | Some("otlp") => DurationByStatus::Otlp,
        Some("off") => DurationByStatus::Off,
        Some("everywhere") => DurationByStatus::Everywhere,
        Some(other) => panic!("--by-status={other}: use off, otlp or everywhere"),
    };
    let mode = std::env::args()
        .skip(2)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "untraced".to_owned());
    let trace = redmetrics::collect::TraceContext::new([0xab; 16], Some([0xcd; 8]));
    let trace = (mode == "traced").then_some(trace).flatten();
    let routes: Vec<String> = (0..n).map(|i| format!("/v1/resource{i}/{{id}}")).collect();
    let contract = Contract::builder("reviewmaps")
        .native_histogram(native)
        .duration_by_status(by_status)
        .build()
        .expect("valid prefix");
    let metrics = HttpMetrics::builder(contract)
        .max_label_sets(n)
        .process_metrics(false)
        .exemplars(mode != "off")
        .build()
        .expect("metrics");
    let before = resident_bytes();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for (i, route) in routes.iter().enumerate() {
        let typical = 200 + (i as u64 % 50) * 100;
        for _ in 0..20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let size = typical - typical / 5 + x % (typical * 2 / 5 + 1);
            let took = Duration::from_micros(500 + x % 20_000);
            let request = redmetrics::middleware::Completed {
                method: &http::Method::GET,
                route: Some(route),
                status: 200,
                took,
                request_bytes: 0,
                response_bytes: size,
            };
            metrics.record_traced(&request, trace.as_ref());
        }
    }
    let after = resident_bytes();
    let per = (after - before) as f64 / n as f64;
    println!(
        "{n} (method, path) label sets, each with its request counter, latency histogram ({}) and two summaries, latency per status {}, exemplars {mode}: {:.0} bytes resident per label set ({:.1} MiB in all)",
        if native {
            "classic and native buckets"
        } else {
            "classic buckets only"
        },
        by_status.as_str(),
        per,
        (after - before) as f64 / 1_048_576.0
    );
}
