//! Prometheus 2.42 and 3.x scrape negotiation: the exact `Accept` headers they send, each
//! mapped to the `Content-Type` served, over a real HTTP client on loopback; every body is
//! judged by Python's prometheus_client parsers (or, for protobuf, Google's protobuf runtime)
//! for every escaping scheme, with dotted names recorded through the `metrics` facade.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use common::{HttpClient, client, family_named, python_judge, python_parse, send, serve};
use redmetrics::facade::FacadeRecorder;
use redmetrics::{Contract, HttpMetrics};
use serde_json::Value;

// Prometheus 2.42.0, scrape/scrape.go, `scrapeAcceptHeader`.
const P2_42: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
// Prometheus 2.42.0, scrape/scrape.go, `scrapeAcceptHeaderWithProtobuf`
// (`--enable-feature=native-histograms`).
const P2_42_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
// Prometheus v3.0.0 to v3.3.x, scrape/scrape.go `acceptHeader(sps, model.UTF8Validation)`:
// `config.DefaultScrapeProtocols` (OpenMetricsText1.0.0, OpenMetricsText0.0.1,
// PrometheusText1.0.0, PrometheusText0.0.4) from config/config.go `ScrapeProtocolsHeaders`,
// `;escaping=allow-utf-8` (`config.UTF8NamesHeader`) on every one, q from 0.6 down.
const P3_0: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2";
// The same with `metric_name_validation_scheme: legacy`: no escaping parameter at all.
const P3_0_LEGACY: &str = "application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
// v3.0.0 to v3.3.x with native histograms (`config.DefaultProtoFirstScrapeProtocols`).
const P3_0_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.2,*/*;q=0.1";
// Prometheus v3.4.0 to v3.9.1, scrape/scrape.go `acceptHeader(sps, model.EscapingScheme)`:
// `escaping=<metric_name_escaping_scheme>` (default `allow-utf-8`) only on
// PrometheusText1.0.0 and OpenMetricsText1.0.0 ("Escaping header is only valid for newer
// versions of the text formats"). This is the default Accept header.
const P3_4: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
// v3.4.0 to v3.9.1 with `scrape_native_histograms: true` (or the native-histograms feature):
// `config.DefaultProtoFirstScrapeProtocols`.
const P3_4_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
// prometheus.io `instrumenting/content_negotiation`, "Default Accept Header" example, as
// printed there (q from 0.5, and a `/` range where `*/*` is meant).
const DOCS_DEFAULT: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,/;q=0.1";

/// `scrape_protocols: [<one>]` on v3.4+: that protocol's `ScrapeProtocolsHeaders` entry, its
/// escaping parameter where the 1.0.0 formats take one, q=0.6, then `*/*;q=0.5`.
fn single(protocol: &str, escaping: &str) -> String {
    let (media, with_escaping) = match protocol {
        "PrometheusProto" => (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
            false,
        ),
        "PrometheusText0.0.4" => ("text/plain;version=0.0.4", false),
        "PrometheusText1.0.0" => ("text/plain;version=1.0.0", true),
        "OpenMetricsText0.0.1" => ("application/openmetrics-text;version=0.0.1", false),
        "OpenMetricsText1.0.0" => ("application/openmetrics-text;version=1.0.0", true),
        other => panic!("{other}"),
    };
    if with_escaping {
        format!("{media};escaping={escaping};q=0.6,*/*;q=0.5")
    } else {
        format!("{media};q=0.6,*/*;q=0.5")
    }
}

const TEXT_0_0_4: &str = "text/plain; version=0.0.4; charset=utf-8";
const TEXT_1_0_0: &str = "text/plain; version=1.0.0; charset=utf-8";
const OM_1_0_0: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const OM_0_0_1: &str = "application/openmetrics-text; version=0.0.1; charset=utf-8";
const PROTO: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// The names each scheme writes for the facade's `demo.cache.entries{cache.kind}`,
/// `jobs.done` counter (family `jobs.done`) and `jobs_failed` counter (a legacy name, family
/// `jobs_failed`), worked out by hand from prometheus.io `instrumenting/escaping_schemes`,
/// not by the code under test: `dots` doubles every underscore, legacy names included.
struct Names {
    gauge: &'static str,
    label: &'static str,
    counter: &'static str,
    legacy: &'static str,
}

fn names(scheme: &str) -> Names {
    match scheme {
        "allow-utf-8" => Names {
            gauge: "demo.cache.entries",
            label: "cache.kind",
            counter: "jobs.done",
            legacy: "jobs_failed",
        },
        "underscores" => Names {
            gauge: "demo_cache_entries",
            label: "cache_kind",
            counter: "jobs_done",
            legacy: "jobs_failed",
        },
        "dots" => Names {
            gauge: "demo_dot_cache_dot_entries",
            label: "cache_dot_kind",
            counter: "jobs_dot_done",
            legacy: "jobs__failed",
        },
        "values" => Names {
            gauge: "U__demo_2e_cache_2e_entries",
            label: "U__cache_2e_kind",
            counter: "U__jobs_2e_done",
            legacy: "jobs_failed",
        },
        other => panic!("{other}"),
    }
}

async fn app() -> (SocketAddr, HttpClient) {
    let metrics = HttpMetrics::builder(Contract::new("neg").unwrap())
        .build()
        .unwrap();
    let recorder = FacadeRecorder::builder(metrics.registry().clone()).build();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_gauge!("demo.cache.entries", "Entries in the demo cache.");
        metrics::gauge!("demo.cache.entries", "cache.kind" => "lru").set(3.0);
        metrics::counter!("jobs.done").increment(2);
        metrics::counter!("jobs_failed").increment(1);
        // Quoted histogram lines (`{"demo.fetch.seconds_bucket","le"="0.25"}`), a label
        // that needs quoting and one that does not: the judges must read them all.
        metrics::histogram!("demo.fetch.seconds", "http.method" => "GET", "ok" => "1").record(0.2);
        metrics::histogram!("demo.fetch.seconds", "http.method" => "GET", "ok" => "1")
            .record(f64::NAN);
    });
    assert!(recorder.refused().is_empty(), "{:?}", recorder.refused());
    let router = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(metrics.layer())
        .route_service(metrics.metrics_path(), metrics.endpoint());
    (serve(router).await, client())
}

/// Judges a body by its Content-Type, finding the gauge and both counters under the names
/// `want` gives, and returns the gauge's label names as the judge read them.
fn judge(content_type: &str, body: &[u8], want: &Names) -> (Vec<String>, bool) {
    let (gauge, counter, legacy) = (want.gauge, want.counter, want.legacy);
    if content_type.starts_with("application/vnd.google.protobuf") {
        let families = python_judge(
            "decode_protobuf.py",
            &[],
            body,
            "Python's protobuf runtime (pip install protobuf)",
        );
        let g = family_named(&families, gauge);
        assert_eq!(g["metrics"][0]["gauge"], 3.0, "{g}");
        let labels = g["metrics"][0]["labels"].as_object().unwrap();
        let c = family_named(&families, &format!("{counter}_total"));
        assert_eq!(c["metrics"][0]["counter"], 2.0, "{c}");
        let l = family_named(&families, &format!("{legacy}_total"));
        assert_eq!(l["metrics"][0]["counter"], 1.0, "{l}");
        (labels.keys().cloned().collect(), true)
    } else {
        let parser = if content_type.starts_with("application/openmetrics-text") {
            "openmetrics"
        } else {
            "text"
        };
        let families = python_parse(parser, body);
        let g = family_named(&families, gauge);
        assert_eq!(g["type"], "gauge");
        assert_eq!(g["help"], "Entries in the demo cache.");
        let sample = &g["samples"][0];
        assert_eq!(
            (&sample[0], &sample[2]),
            (&Value::from(gauge), &Value::from(3.0))
        );
        // Both parsers name a counter's family without `_total`.
        let counter_family = counter;
        let c = family_named(&families, counter_family);
        assert_eq!(c["samples"][0][2], 2.0, "{c}");
        let l = family_named(&families, legacy);
        assert_eq!(l["samples"][0][2], 1.0, "{l}");
        let labels = sample[1].as_object().unwrap();
        (labels.keys().cloned().collect(), false)
    }
}

#[tokio::test]
async fn every_prometheus_accept_header_gets_its_format_and_scheme() {
    let (addr, c) = app().await;
    // (source, Accept, Content-Type served, scheme of the names in the body)
    let mut table: Vec<(String, String, String, &str)> = vec![
        (
            "2.42".into(),
            P2_42.into(),
            format!("{OM_1_0_0}; escaping=underscores"),
            "underscores",
        ),
        (
            "2.42 native".into(),
            P2_42_NATIVE.into(),
            PROTO.into(),
            "underscores",
        ),
        (
            "3.0".into(),
            P3_0.into(),
            format!("{OM_1_0_0}; escaping=allow-utf-8"),
            "allow-utf-8",
        ),
        (
            "3.0 legacy".into(),
            P3_0_LEGACY.into(),
            format!("{OM_1_0_0}; escaping=underscores"),
            "underscores",
        ),
        (
            "3.0 native".into(),
            P3_0_NATIVE.into(),
            format!("{PROTO}; escaping=allow-utf-8"),
            "allow-utf-8",
        ),
        (
            "3.4+".into(),
            P3_4.into(),
            format!("{OM_1_0_0}; escaping=allow-utf-8"),
            "allow-utf-8",
        ),
        (
            "3.4+ native".into(),
            P3_4_NATIVE.into(),
            PROTO.into(),
            "underscores",
        ),
        (
            "docs example".into(),
            DOCS_DEFAULT.into(),
            format!("{OM_1_0_0}; escaping=allow-utf-8"),
            "allow-utf-8",
        ),
        (
            "no Accept".into(),
            String::new(),
            TEXT_0_0_4.into(),
            "underscores",
        ),
    ];
    for scheme in ["allow-utf-8", "underscores", "dots", "values"] {
        for (protocol, content_type, named) in [
            ("PrometheusProto", PROTO.to_owned(), "underscores"),
            ("PrometheusText0.0.4", TEXT_0_0_4.to_owned(), "underscores"),
            (
                "PrometheusText1.0.0",
                format!("{TEXT_1_0_0}; escaping={scheme}"),
                scheme,
            ),
            ("OpenMetricsText0.0.1", OM_0_0_1.to_owned(), "underscores"),
            (
                "OpenMetricsText1.0.0",
                format!("{OM_1_0_0}; escaping={scheme}"),
                scheme,
            ),
        ] {
            table.push((
                format!("3.4+ scrape_protocols [{protocol}], metric_name_escaping_scheme {scheme}"),
                single(protocol, scheme),
                content_type,
                named,
            ));
        }
    }
    let mut judged = 0;
    for (source, accept, content_type, scheme) in &table {
        let headers: Vec<(&str, &str)> = if accept.is_empty() {
            vec![]
        } else {
            vec![("accept", accept.as_str())]
        };
        let reply = send(&c, addr, "GET", "/metrics", &headers, b"").await;
        assert_eq!(reply.status, 200, "{source}");
        assert_eq!(
            reply.headers["content-type"],
            content_type.as_str(),
            "{source}: {accept}"
        );
        let want = names(scheme);
        let (labels, _) = judge(content_type, &reply.body, &want);
        assert_eq!(labels, [want.label], "{source}");
        judged += 1;
    }
    assert_eq!(judged, table.len());
    assert!(judged >= 29, "every row was scraped and judged");
}

/// A registry of legacy names (what every redmetrics service had before UTF-8 names) is
/// written byte for byte the same whatever the scheme, and text 1.0.0 reads as 0.0.4: the
/// escaping code never touches what Prometheus 2.42 receives from it.
#[test]
fn legacy_names_are_written_the_same_under_every_scheme() {
    use redmetrics::encoding::{Escaping, Exposition, Format, encode, encode_as};
    use redmetrics::metrics::{Buckets, Counter, Histogram};
    let r = redmetrics::Registry::new();
    let c = r
        .family::<Counter, 2>("app_jobs_total", "Jobs.", ["queue", "state"], ())
        .unwrap();
    c.with(["mail", "done"]).inc_by(3);
    c.with(["sms \"x\"", "failed"]).inc();
    let h = r
        .family::<Histogram, 1>(
            "app_job_seconds",
            "Job time.",
            ["queue"],
            std::sync::Arc::new(Buckets::new([0.1, 1.0]).unwrap()),
        )
        .unwrap();
    h.with(["mail"]).observe(0.3);
    for format in [Format::Text, Format::OpenMetrics] {
        let legacy = encode(&r, format);
        for scheme in [Escaping::AllowUtf8, Escaping::Underscores, Escaping::Values] {
            assert!(
                encode_as(&r, Exposition::new(format, scheme)) == legacy,
                "{format:?} {scheme}"
            );
        }
    }
    assert!(
        encode_as(&r, Exposition::new(Format::TextV1_0_0, Escaping::AllowUtf8))
            == encode(&r, Format::Text)
    );
}
