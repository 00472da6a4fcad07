//! The parsers read what redmetrics writes: every metric type, escaped label values and help,
//! an empty summary's `NaN` quantiles, in both formats. The OpenMetrics reading applies every
//! rule of the specification, so this also holds the encoder to them.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use redmetrics::Registry;
use redmetrics::encoding::{Format, encode};
use redmetrics::metrics::{Buckets, Counter, Gauge, Histogram, Objective, Summary, SummaryShape};
use redmetrics_parse::{Kind, parse_openmetrics, parse_text};

fn registry() -> Registry {
    let r = Registry::new();
    let jobs = r
        .family::<Counter, 1>(
            "app_jobs_total",
            "Jobs \"done\".\nPer \\queue\\.",
            ["queue"],
            (),
        )
        .unwrap();
    jobs.with(["plain"]).inc_by(3);
    jobs.with(["back\\slash \"quoted\"\nnewline"]).inc();
    r.family::<Gauge, 0>("app_queue_depth", "Jobs waiting.", [], ())
        .unwrap()
        .with([])
        .set(-2);
    let h = r
        .family::<Histogram, 1>(
            "app_job_duration_seconds",
            "Job latency.",
            ["queue"],
            Arc::new(Buckets::new([0.005, 1.0, 2.5]).unwrap()),
        )
        .unwrap();
    for v in [0.001, 0.5, 3.0] {
        h.with(["a"]).observe(v);
    }
    h.with(["b"]).observe(1.0);
    let objectives = [Objective {
        quantile: 0.5,
        error: 0.05,
    }];
    let shape = Arc::new(SummaryShape::new(&objectives, Duration::from_secs(600)).unwrap());
    let s = r
        .family::<Summary, 1>("app_payload_bytes", "Payload sizes.", ["kind"], shape)
        .unwrap();
    s.with(["seen"]).observe(10.0);
    s.with(["empty"]);
    r
}

#[test]
fn both_parsers_read_every_type_redmetrics_writes() {
    let r = registry();
    let text = parse_text(&encode(&r, Format::Text)).unwrap();
    assert!(text.interleaved.is_empty());
    let h = text.family("app_job_duration_seconds").unwrap();
    assert_eq!((h.kind, h.samples.len()), (Kind::Histogram, 12));

    let om = parse_openmetrics(&encode(&r, Format::OpenMetrics)).unwrap();
    let jobs = om.family("app_jobs").unwrap();
    assert_eq!((jobs.kind, jobs.samples.len()), (Kind::Counter, 2));
    assert_eq!(jobs.help.as_deref(), Some("Jobs \"done\".\nPer \\queue\\."));
    assert!(
        jobs.samples
            .iter()
            .any(|s| s.label("queue") == Some("back\\slash \"quoted\"\nnewline"))
    );
    let h = om.family("app_job_duration_seconds").unwrap();
    assert_eq!(h.unit.as_deref(), Some("seconds"));
    let s = om.family("app_payload_bytes").unwrap();
    assert_eq!(s.kind, Kind::Summary);
    assert!(s.samples.iter().any(|s| s.value.is_nan()));
}
