//! The parsers read what redmetrics writes: every metric type, escaped label values and help,
//! an empty summary's `NaN` quantiles, in both formats. The OpenMetrics reading applies every
//! rule of the specification, so this also holds the encoder to them.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use redmetrics::Registry;
use redmetrics::encoding::{Format, encode};
use redmetrics::metrics::{Buckets, Counter, Gauge, Histogram, Objective, Summary, SummaryShape};
use redmetrics_parse::{MetricType, parse_openmetrics, parse_text};

/// One family of each type redmetrics writes, with values that need escaping.
fn registry() -> Registry {
    let r = Registry::new();
    let counter = "c_events_total";
    let events = r.family::<Counter, 1>(counter, "Events \"seen\".\nBy \\kind\\.", ["kind"], ());
    let events = events.unwrap();
    events.with(["tab\tquote\"newline\n\\"]).inc_by(2);
    events.with(["plain"]).inc();
    let buckets = Arc::new(Buckets::new([0.25, 4.0]).unwrap());
    let latency = r.family::<Histogram, 1>("c_wait_seconds", "Waits.", ["kind"], buckets);
    let latency = latency.unwrap();
    for (kind, v) in [("x", 0.1), ("x", 9.0), ("y", 1.0)] {
        latency.with([kind]).observe(v);
    }
    let median = [Objective {
        quantile: 0.5,
        error: 0.05,
    }];
    let shape = SummaryShape::new(&median, Duration::from_secs(60)).unwrap();
    let sizes = r.family::<Summary, 1>("c_size_bytes", "Sizes.", ["kind"], Arc::new(shape));
    let sizes = sizes.unwrap();
    sizes.with(["full"]).observe(10.0);
    sizes.with(["empty"]);
    r.family::<Gauge, 0>("c_level", "Level.", [], ())
        .unwrap()
        .with([])
        .set(-2);
    r
}

#[test]
fn both_parsers_read_every_type_redmetrics_writes() {
    let r = registry();
    let text = parse_text(&encode(&r, Format::Text)).unwrap();
    assert!(text.interleaved.is_empty());
    let h = text.family("c_wait_seconds").unwrap();
    assert_eq!((h.kind, h.samples.len()), (MetricType::Histogram, 10));

    let om = parse_openmetrics(&encode(&r, Format::OpenMetrics)).unwrap();
    let events = om.family("c_events").unwrap();
    // Two series, each a `_total` and its start (`_created`).
    let names = |suffix: &str| {
        events
            .samples
            .iter()
            .filter(|s| s.name.ends_with(suffix))
            .count()
    };
    assert_eq!(
        (events.kind, names("_total"), names("_created")),
        (MetricType::Counter, 2, 2)
    );
    assert_eq!(events.samples.len(), 4);
    assert_eq!(
        events.help.as_deref(),
        Some("Events \"seen\".\nBy \\kind\\.")
    );
    let kinds: Vec<_> = events
        .samples
        .iter()
        .filter_map(|s| s.label("kind"))
        .collect();
    assert!(kinds.contains(&"tab\tquote\"newline\n\\"), "{kinds:?}");
    let h = om.family("c_wait_seconds").unwrap();
    assert_eq!(h.unit.as_deref(), Some("seconds"));
    let s = om.family("c_size_bytes").unwrap();
    assert_eq!(s.kind, MetricType::Summary);
    assert!(s.samples.iter().any(|s| s.value.is_nan()));
}
