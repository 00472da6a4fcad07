//! The live page over a real HTTP connection: guarded by the metrics endpoint's rules, and
//! its feed counting what the layer recorded.
#![cfg(feature = "live")]
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get as route_get;
use common::{client, get, send, serve};
use redmetrics::{Contract, HttpMetrics};
use serde_json::Value;

#[tokio::test]
async fn a_token_protected_endpoint_protects_the_page_and_its_feed() {
    let metrics = HttpMetrics::builder(Contract::new("shop").unwrap())
        .build()
        .unwrap();
    let endpoint = metrics.endpoint().bearer_token("s3cret");
    let live = metrics.live_page(&endpoint);
    let app = Router::new()
        .route("/v1/items/{id}", route_get(|| async { "item" }))
        .layer(metrics.layer())
        .route_service("/metrics", endpoint)
        .route_service("/metrics/live", live.clone())
        .route_service(live.feed_path(), live.clone());
    let addr = serve(app).await;
    let c = client();
    for path in ["/metrics", "/metrics/live", "/metrics/live.json"] {
        let r = get(&c, addr, path).await;
        assert_eq!(r.status, 401, "{path} answered without the token");
        let r = send(
            &c,
            addr,
            "GET",
            path,
            &[("authorization", "Bearer wrong")],
            b"",
        )
        .await;
        assert_eq!(r.status, 401, "{path} answered a wrong token");
        let r = send(
            &c,
            addr,
            "GET",
            path,
            &[("authorization", "Bearer s3cret")],
            b"",
        )
        .await;
        assert_eq!(r.status, 200, "{path} refused the token");
    }
    let page = send(
        &c,
        addr,
        "GET",
        "/metrics/live",
        &[("authorization", "Bearer s3cret")],
        b"",
    )
    .await;
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().contains("data-feed=\"/metrics/live.json\""));

    // The feed counts requests after the next snapshot (the task snapshots every second).
    for _ in 0..7 {
        assert_eq!(get(&c, addr, "/v1/items/7").await.status, 200);
    }
    let mut seen = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let feed: Value = serde_json::from_slice(&live.feed()).unwrap();
        seen = feed["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == "/v1/items/{id}")
            .map_or(0, |r| r["requests"].as_u64().unwrap());
        if seen == 7 {
            assert_eq!(feed["schema"], 1);
            assert_eq!(feed["prefix"], "shop");
            assert_eq!(feed["routes"][0]["error_ratio"], 0.0);
            assert!(feed["routes"][0]["p95_seconds"].as_f64().unwrap() > 0.0);
            break;
        }
    }
    assert_eq!(seen, 7, "the feed never counted the 7 requests");
}
