//! The classic exposition of the HTTP families stays byte-identical now that the duration
//! histogram also keeps native buckets: a scripted set of requests rendered in text 0.0.4 and
//! OpenMetrics, compared with the output of the code before native histograms existed
//! (commit 949368b, files under `tests/golden/`, written by that commit's build).
//!
//! Since series carry their start, the OpenMetrics golden also holds one `_created` line per
//! counter, histogram and summary series, added by hand after that series' samples with the
//! value `<created>`: the test checks each written start against the clock around the
//! recording, puts the placeholder in its place, and compares the rest byte for byte.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redmetrics::encoding::{Format, encode};
use redmetrics::middleware::Completed;
use redmetrics::{Contract, HttpMetrics};

/// Requests over every latency bucket, on the bounds, beyond the last, and of zero duration.
fn scripted() -> HttpMetrics {
    let m = HttpMetrics::builder(Contract::new("golden").unwrap())
        .version("1.2.3")
        .process_metrics(false)
        .build()
        .unwrap();
    let routes = [
        (&http::Method::GET, Some("/v1/items"), 200),
        (&http::Method::GET, Some("/v1/items/{id}"), 404),
        (&http::Method::POST, Some("/v1/items"), 201),
        (&http::Method::GET, None, 404),
    ];
    let micros = [
        0u64,
        1,
        999,
        5_000,
        5_001,
        9_999,
        25_000,
        77_777,
        100_000,
        250_000,
        499_999,
        1_000_000,
        2_500_000,
        4_000_000,
        10_000_000,
        20_000_000,
        300_000_000,
    ];
    for (i, us) in micros.iter().enumerate() {
        for (j, (method, route, status)) in routes.iter().enumerate() {
            if (i + j) % 3 == 0 && j > 0 {
                continue;
            }
            m.record(&Completed {
                method,
                route: *route,
                status: *status,
                took: Duration::from_micros(*us + j as u64),
                request_bytes: (i * 10) as u64,
                response_bytes: (j * 100 + i) as u64,
            });
        }
    }
    m
}

#[test]
fn classic_text_and_openmetrics_are_unchanged() {
    let before = SystemTime::now();
    let m = scripted();
    let after = SystemTime::now();
    let text = encode(m.registry(), Format::Text);
    let om = encode(m.registry(), Format::OpenMetrics);
    if std::env::var_os("REDMETRICS_WRITE_GOLDEN").is_some() {
        std::fs::write("tests/golden/classic.txt", &text).unwrap();
    }
    assert_eq!(
        String::from_utf8(text).unwrap(),
        include_str!("golden/classic.txt")
    );
    let (om, starts) = common::created_placeholders(&String::from_utf8(om).unwrap());
    assert_eq!(om, include_str!("golden/classic.om"));
    assert_eq!(
        starts.len(),
        4 * 4 + 4,
        "one start per counter, histogram and summary series, and per overflow counter"
    );
    let nanos = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_nanos();
    for (line, at) in starts {
        assert!(
            nanos(before) <= at && at <= nanos(after),
            "{line}: not between {before:?} and {after:?}"
        );
    }
}

/// What the endpoint answers Prometheus 2.42 (scrape/scrape.go v2.42.0 `scrapeAcceptHeader`)
/// and a client without `Accept` is still the pre-native-histogram build's bytes, now that it
/// negotiates Prometheus 3's escaping.
#[tokio::test]
async fn the_endpoint_answers_prometheus_2_42_with_the_old_bytes() {
    use http_body_util::BodyExt;
    let m = scripted();
    let endpoint = m.endpoint().gzip(false);
    let p2_42 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    for (accept, golden) in [
        (Some(p2_42), include_str!("golden/classic.om")),
        (None, include_str!("golden/classic.txt")),
    ] {
        let mut headers = http::HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(http::header::ACCEPT, a.parse().unwrap());
        }
        let res = endpoint.respond(&http::Method::GET, &headers, &http::Extensions::new());
        let body = res.into_body().collect().await.unwrap().to_bytes();
        // Series starts are wall-clock times: `classic_text_and_openmetrics_are_unchanged` checks them.
        let (body, _) = common::created_placeholders(std::str::from_utf8(&body).unwrap());
        assert_eq!(body, golden, "{accept:?}");
    }
}
