//! Series starts end to end: `redmetrics demo` (no built-in traffic) scraped by a real
//! Prometheus 2.42, which negotiates OpenMetrics and so receives every `_created` line. The
//! target stays up, the request counters are exactly the requests this test sent, an
//! exemplar still lands beside the starts, and the OpenMetrics body passes the parser that
//! agrees with every case of the OpenMetrics suite (`redmetrics-parse`, see its
//! `openmetrics_suite` test).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{http_get, http_get_with, sample_value, start_demo, start_prometheus_with};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn prometheus_2_42_scrapes_the_starts_and_counts_exactly() {
    let (_demo, addr) = start_demo(&[]);
    let config = format!(
        "global:\n  scrape_interval: 1s\n\
         scrape_configs:\n  - job_name: demo\n    \
         static_configs:\n      - targets: ['{addr}']\n"
    );
    let prom = start_prometheus_with(&config, &[], &["--enable-feature=exemplar-storage"]);
    prom.wait_for_targets("demo", 1, "up", Duration::from_secs(30))
        .await;

    let campaigns = format!("http://{addr}/v1/campaigns");
    let health = format!("http://{addr}/v1/healthcheck");
    let before = now();
    http_get(&campaigns).await.unwrap();
    let after = now();
    for _ in 0..6 {
        http_get(&campaigns).await.unwrap();
    }
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
    http_get_with(&health, &[("traceparent", &traceparent)])
        .await
        .unwrap();
    http_get(&health).await.unwrap();

    let count = |path: &str| {
        format!(
            "reviewmaps_http_requests_total{{job=\"demo\",method=\"GET\",path=\"{path}\",status=\"200\"}}"
        )
    };
    for (path, sent) in [("/v1/campaigns", 7.0), ("/v1/healthcheck", 2.0)] {
        let seen = prom
            .wait_for(&count(path), Duration::from_secs(30), |r| {
                r.len() == 1 && sample_value(&r[0]) == sent
            })
            .await;
        assert!(
            seen.len() == 1 && sample_value(&seen[0]) == sent,
            "{path}: {seen:?}, sent {sent}\n{}",
            prom.log()
        );
    }
    let targets = prom.api("/api/v1/targets").await;
    let target = &targets["activeTargets"][0];
    assert_eq!(
        (&target["health"], &target["lastError"]),
        (&"up".into(), &"".into()),
        "{target}"
    );

    // Prometheus 2.42 keeps a start as a series of its own, `<family>_created`, whose value
    // is the start in seconds: the first request of the route falls in [before, after].
    let created = prom
        .query("reviewmaps_http_requests_created{job=\"demo\",path=\"/v1/campaigns\"}")
        .await;
    assert_eq!(created.len(), 1, "{created:?}");
    let start = sample_value(&created[0]);
    assert!(
        before - 1e-6 <= start && start <= after + 1e-6,
        "start {start} outside [{before}, {after}]"
    );

    // The traced request's exemplar is stored beside the starts.
    let (from, to) = (now() - 600.0, now() + 600.0);
    let exemplars = prom
        .api(&format!(
            "/api/v1/query_exemplars?query=reviewmaps_http_requests_total&start={from:.3}&end={to:.3}"
        ))
        .await;
    assert!(exemplars.to_string().contains(trace), "{exemplars}");

    let om = http_get_with(
        &format!("http://{addr}/metrics"),
        &[("accept", "application/openmetrics-text; version=1.0.0")],
    )
    .await
    .unwrap();
    let text = String::from_utf8(om.to_vec()).unwrap();
    assert!(text.contains("reviewmaps_http_requests_created{"), "{text}");
    if let Err(e) = redmetrics_parse::parse_openmetrics(&om) {
        panic!("{e:?}\n{text}");
    }
}
