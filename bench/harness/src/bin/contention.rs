//! Two threads recording through one `HttpMetrics`: both on the same route (every request
//! writes the same cache lines: the route's histogram, summaries and counter) or each on a
//! route of its own (only the striped in-flight gauge is shared). Issue 22, item 5: is there
//! contention worth striping per-route cells for on the 2 cores here? Wall time, bounded:
//! `ROUNDS` interleaved rounds of `N` requests per thread; prints ns per request.
//!
//! Run: `cargo run --release -p redmetrics-bench --bin contention [N] [ROUNDS]`

use std::convert::Infallible;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http::Request;
use http_body_util::Full;
use redmetrics::middleware::{RequestBody, RequestParts};
use redmetrics::{Contract, HttpMetrics};
use redmetrics_bench::call_tower;

/// One layered service over shared metrics; every thread gets a clone.
fn service(
    metrics: &HttpMetrics,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = http::Response<redmetrics::middleware::ResponseBody<Full<Bytes>>>,
    Error = Infallible,
    Future: Send,
> + Clone
+ Send {
    tower::Layer::layer(
        &metrics.layer(),
        tower::service_fn(|_: Request<RequestBody<Full<Bytes>>>| async {
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"[]"))))
        }),
    )
}

/// Wall time per request when `paths.len()` threads each send `n` requests to their path.
fn run(metrics: &HttpMetrics, paths: &[&'static str], n: usize) -> Duration {
    let svc = service(metrics);
    let start = Barrier::new(paths.len());
    let took: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .iter()
            .map(|&path| {
                let mut svc = svc.clone();
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    let t = Instant::now();
                    for _ in 0..n {
                        call_tower(&mut svc, path);
                    }
                    t.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    took.into_iter().max().unwrap_or_default() / n as u32
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let rounds: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(5);
    let n = n.min(5_000_000);
    let rounds = rounds.clamp(1, 50);
    let metrics = HttpMetrics::builder(Contract::new("contention").expect("valid prefix"))
        .classifier(|req: RequestParts<'_>| -> Option<&'static str> {
            match req.uri.path() {
                "/a" => Some("/a"),
                _ => Some("/b"),
            }
        })
        .build()
        .expect("metrics");
    let modes: [(&str, &[&'static str]); 3] = [
        ("one thread", &["/a"]),
        ("two threads, same route", &["/a", "/a"]),
        ("two threads, distinct routes", &["/a", "/b"]),
    ];
    // Warm-up: both routes and their status series exist before anything is timed.
    run(&metrics, &["/a", "/b"], 10_000);
    let mut results: Vec<Vec<Duration>> = vec![Vec::new(); modes.len()];
    for round in 0..rounds {
        for (i, (_, paths)) in modes.iter().enumerate() {
            let t = run(&metrics, paths, n);
            results[i].push(t);
            eprintln!("round {round}: {} {:?}", modes[i].0, t);
        }
    }
    for (i, (name, _)) in modes.iter().enumerate() {
        let per: Vec<String> = results[i]
            .iter()
            .map(|d| d.as_nanos().to_string())
            .collect();
        println!(
            "{name:30} median {:>5} ns/request (rounds: {})",
            median(results[i].clone()).as_nanos(),
            per.join(" ")
        );
    }
}
