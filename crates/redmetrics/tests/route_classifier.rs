//! Where a request's route comes from, in each build of the crate: with feature `axum` a
//! builder given no classifier reads axum's `MatchedPath`; without it, such a builder is
//! refused with the fix, never a layer that records every request as `__unmatched__`.
//! Requests go over real HTTP on 127.0.0.1 and are read back from the scrape.
//!
//! `cargo test -p redmetrics --all-features --test route_classifier` runs the first half;
//! `cargo test -p redmetrics --no-default-features --test route_classifier` (scripts/test)
//! the second.
#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use axum::routing::get;
use common::{client, get as http_get, samples, serve, value};
use redmetrics::{Contract, HttpMetrics};

const REQUESTS: &str = "shop_http_requests_total";

/// Serves `/v1/items/{id}` through the layer of `m`, sends `GET /v1/items/7` and `GET /nowhere`
/// (which no route matches), and returns the scraped text.
async fn two_requests(m: &HttpMetrics) -> String {
    let app: Router = Router::new()
        .route("/v1/items/{id}", get(|| async { "item" }))
        .layer(m.layer())
        .route_service(m.metrics_path(), m.endpoint());
    let addr = serve(app).await;
    let c = client();
    assert_eq!(http_get(&c, addr, "/v1/items/7").await.status, 200);
    assert_eq!(http_get(&c, addr, "/nowhere").await.status, 404);
    http_get(&c, addr, "/metrics").await.text()
}

/// The route as the request counter labels it, for one request of `status`.
fn path_of(scrape: &str, path: &str, status: &str) -> Option<f64> {
    value(
        &samples(scrape),
        REQUESTS,
        &[("method", "GET"), ("path", path), ("status", status)],
    )
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn with_axum_a_builder_without_classifier_reads_the_matched_path() {
    let m = HttpMetrics::builder(Contract::new("shop").unwrap())
        .build()
        .unwrap();
    let scrape = two_requests(&m).await;
    assert_eq!(
        path_of(&scrape, "/v1/items/{id}", "200"),
        Some(1.0),
        "{scrape}"
    );
    assert_eq!(
        path_of(&scrape, "__unmatched__", "404"),
        Some(1.0),
        "{scrape}"
    );
}

#[cfg(not(feature = "axum"))]
#[test]
fn without_axum_a_builder_without_classifier_is_refused_with_the_fix() {
    let e = HttpMetrics::builder(Contract::new("shop").unwrap())
        .build()
        .unwrap_err();
    assert_eq!(e, redmetrics::middleware::HttpMetricsError::NoClassifier);
    let message = e.to_string();
    for fix in [
        "HttpMetricsBuilder::classifier",
        "`axum` feature",
        "__unmatched__",
    ] {
        assert!(message.contains(fix), "{message}");
    }
}

#[cfg(not(feature = "axum"))]
#[tokio::test]
async fn without_axum_the_given_classifier_names_the_route() {
    let classify = |req: redmetrics::middleware::RequestParts<'_>| {
        req.uri
            .path()
            .starts_with("/v1/items/")
            .then_some("/v1/items/{id}")
    };
    let m = HttpMetrics::builder(Contract::new("shop").unwrap())
        .classifier(classify)
        .build()
        .unwrap();
    let scrape = two_requests(&m).await;
    assert_eq!(
        path_of(&scrape, "/v1/items/{id}", "200"),
        Some(1.0),
        "{scrape}"
    );
    assert_eq!(
        path_of(&scrape, "__unmatched__", "404"),
        Some(1.0),
        "{scrape}"
    );
}
