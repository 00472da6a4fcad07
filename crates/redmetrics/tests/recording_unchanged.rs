//! The recording path may be rewritten for speed (issue 22), but what a scrape shows after a
//! fixed traffic pattern must not move by a byte: latency buckets (classic and native, per
//! route and, with `DurationByStatus::Everywhere`, per status), exemplars on buckets and
//! counters, size summaries and the request counters.
//!
//! The goldens under `tests/golden/recorded.*` were written by the build before that rewrite
//! (commit 2bea9be, with `REDMETRICS_WRITE_GOLDEN=1`), never by the code under test. Text is
//! compared byte for byte; OpenMetrics too, once each series start (`_created`) and each
//! exemplar's wall-clock timestamp are replaced by a placeholder (both are checked against
//! the clock around the recording first); protobuf is decoded by Python's protobuf runtime
//! (`judges/decode_protobuf.py`), both the golden bytes and the new ones, and compared as
//! decoded values with the same two kinds of timestamp set aside.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redmetrics::contract::DurationByStatus;
use redmetrics::encoding::{Format, encode};
use redmetrics::middleware::{Completed, TraceContext};
use redmetrics::{Contract, HttpMetrics};
use serde_json::Value;

/// Durations over every classic bucket and many native ones: zero, under the native zero
/// threshold (1 µs), exact classic bounds, exact powers of two (native bounds), just past
/// them, and past both the last classic bound and the native top (256 s).
const NANOS: [u64; 20] = [
    0,
    500,
    953,
    1_000,
    31_250,
    999_999,
    5_000_000,
    5_000_001,
    7_812_500,
    62_500_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    1_000_000_001,
    2_500_000_000,
    4_000_000_000,
    10_000_000_000,
    300_000_000_000,
    3_600_000_000_000,
];

/// Request and response sizes: zero, small, on the default size buckets and huge.
const BYTES: [u64; 7] = [0, 1, 64, 65, 4096, 1_000_000, 5_000_000_000];

/// The trace of request `i` when it has one (every third request, eight traces in turn).
fn trace(i: usize) -> Option<TraceContext> {
    i.is_multiple_of(3).then(|| {
        let n = (i / 3 % 8) as u8 + 1;
        TraceContext::new([n; 16], n.is_multiple_of(2).then_some([n + 0x40; 8])).unwrap()
    })
}

/// The fixed traffic: four (method, route) pairs, statuses repeating and alternating so the
/// last-status cache of each route both hits and misses, every duration and size above.
fn record(by_status: DurationByStatus) -> HttpMetrics {
    let contract = Contract::builder("rec")
        .duration_by_status(by_status)
        .build()
        .unwrap();
    let m = HttpMetrics::builder(contract)
        .version("9.9.9")
        .process_metrics(false)
        .build()
        .unwrap();
    let custom = http::Method::from_bytes(b"PURGE").unwrap();
    let routes: [(&http::Method, Option<&str>, &[u16]); 4] = [
        (&http::Method::GET, Some("/v1/items"), &[200, 200, 200, 304]),
        (
            &http::Method::POST,
            Some("/v1/items/{id}"),
            &[201, 400, 201, 500],
        ),
        (&custom, Some("/v1/cache"), &[204]),
        (&http::Method::GET, None, &[404, 404, 405]),
    ];
    let mut i = 0usize;
    for (n, nanos) in NANOS.iter().enumerate() {
        for (r, (method, route, statuses)) in routes.iter().enumerate() {
            if (n + r) % 5 == 4 {
                continue;
            }
            m.record_traced(
                &Completed {
                    method,
                    route: *route,
                    status: statuses[n % statuses.len()],
                    took: Duration::from_nanos(*nanos + r as u64),
                    request_bytes: BYTES[(n + r) % BYTES.len()],
                    response_bytes: BYTES[(n * 3 + r) % BYTES.len()],
                },
                trace(i).as_ref(),
            );
            i += 1;
        }
    }
    m
}

fn nanos(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

/// Replaces each exemplar's timestamp (the last field after ` # {…} value`) with `<at>`,
/// checking it lies within `[before, after]` (milliseconds are what the layer keeps).
fn exemplar_placeholders(om: &str, before: SystemTime, after: SystemTime) -> (String, usize) {
    let mut out = String::with_capacity(om.len());
    let mut seen = 0;
    for line in om.lines() {
        match line.split_once(" # {") {
            Some((sample, exemplar)) if !line.starts_with('#') => {
                let (rest, at) = exemplar.rsplit_once(' ').unwrap();
                let at: f64 = at.parse().unwrap();
                let at = (at * 1e9) as u128;
                assert!(
                    nanos(before) / 1_000_000 * 1_000_000 <= at + 1_000_000
                        && at <= nanos(after) + 1_000_000,
                    "{line}: exemplar time outside the recording"
                );
                seen += 1;
                out.push_str(&format!("{sample} # {{{rest} <at>\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    (out, seen)
}

/// Sets every `created` and exemplar timestamp of a decoded protobuf exposition to null,
/// after checking it lies within `[before, after]`.
fn protobuf_placeholders(v: &mut Value, before: SystemTime, after: SystemTime, seen: &mut usize) {
    let within = |secs: f64| {
        let at = (secs * 1e9) as u128;
        at + 1_000_000 >= nanos(before) / 1_000_000 * 1_000_000 && at <= nanos(after) + 1_000_000
    };
    match v {
        Value::Object(map) => {
            if let Some(c) = map.get_mut("created")
                && !c.is_null()
            {
                let secs = c[0].as_f64().unwrap() + c[1].as_f64().unwrap() / 1e9;
                assert!(within(secs), "created {c} outside the recording");
                *c = Value::Null;
                *seen += 1;
            }
            if let Some(e) = map.get_mut("exemplar") {
                assert!(within(e[2].as_f64().unwrap()), "exemplar {e}");
                e[2] = Value::Null;
                *seen += 1;
            }
            if let Some(Value::Array(list)) = map.get_mut("exemplars") {
                for pair in list {
                    assert!(within(pair[1][2].as_f64().unwrap()), "exemplar {pair}");
                    pair[1][2] = Value::Null;
                    *seen += 1;
                }
            }
            for x in map.values_mut() {
                protobuf_placeholders(x, before, after, seen);
            }
        }
        Value::Array(list) => {
            for x in list {
                protobuf_placeholders(x, before, after, seen);
            }
        }
        _ => {}
    }
}

fn decode(body: &[u8]) -> Value {
    common::python_judge(
        "decode_protobuf.py",
        &[],
        body,
        "Python's protobuf runtime (pip install protobuf)",
    )
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/golden/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn check(by_status: DurationByStatus, name: &str) {
    let before = SystemTime::now();
    let m = record(by_status);
    let after = SystemTime::now();
    let text = encode(m.registry(), Format::Text);
    let om = encode(m.registry(), Format::OpenMetrics);
    let pb = encode(m.registry(), Format::Protobuf);
    if std::env::var_os("REDMETRICS_WRITE_GOLDEN").is_some() {
        let dir = format!("{}/tests/golden", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(format!("{dir}/recorded-{name}.txt"), &text).unwrap();
        let (om_golden, _) = common::created_placeholders(std::str::from_utf8(&om).unwrap());
        let (om_golden, _) = exemplar_placeholders(&om_golden, before, after);
        std::fs::write(format!("{dir}/recorded-{name}.om"), om_golden).unwrap();
        std::fs::write(format!("{dir}/recorded-{name}.pb"), &pb).unwrap();
    }
    assert_eq!(
        String::from_utf8(text).unwrap(),
        String::from_utf8(golden(&format!("recorded-{name}.txt"))).unwrap(),
        "text 0.0.4"
    );

    let (om, starts) = common::created_placeholders(std::str::from_utf8(&om).unwrap());
    assert!(!starts.is_empty(), "no series start to check");
    for (line, at) in &starts {
        assert!(
            nanos(before) <= *at && *at <= nanos(after),
            "{line}: start outside the recording"
        );
    }
    let (om, exemplars) = exemplar_placeholders(&om, before, after);
    assert!(exemplars > 10, "only {exemplars} exemplars written");
    assert_eq!(
        om,
        String::from_utf8(golden(&format!("recorded-{name}.om"))).unwrap(),
        "OpenMetrics"
    );

    let mut new = decode(&pb);
    let mut old = decode(&golden(&format!("recorded-{name}.pb")));
    let (mut seen_new, mut seen_old) = (0, 0);
    protobuf_placeholders(&mut new, before, after, &mut seen_new);
    // The golden's timestamps are from the run that wrote it: only their presence counts.
    protobuf_placeholders(&mut old, UNIX_EPOCH, SystemTime::now(), &mut seen_old);
    assert!(
        seen_new > 10,
        "only {seen_new} timestamps in the protobuf scrape"
    );
    assert_eq!(seen_new, seen_old);
    assert_eq!(new, old, "protobuf, decoded");
}

#[test]
fn the_default_contract_scrapes_as_before() {
    check(DurationByStatus::Otlp, "otlp");
}

#[test]
fn latency_per_status_scrapes_as_before() {
    check(DurationByStatus::Everywhere, "everywhere");
}

#[test]
fn without_latency_per_status_it_scrapes_as_before() {
    check(DurationByStatus::Off, "off");
}
