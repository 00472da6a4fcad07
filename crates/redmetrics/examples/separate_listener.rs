//! The application on one port, the metrics on another, open only to the cluster network
//! and a bearer token (as Prometheus' `authorization.credentials` sends it).
//!
//! Run: `cargo run -p redmetrics --features server --example separate_listener`, then
//! `curl -H 'Authorization: Bearer change-me' localhost:9100/metrics`.

use axum::Router;
use axum::routing::get;
use redmetrics::Contract;
use redmetrics::HttpMetrics;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let metrics = HttpMetrics::builder(Contract::new("ojeomneo")?).build()?;
    let app = Router::new()
        .route("/v1/menus", get(|| async { "[]" }))
        .layer(metrics.axum_layer());

    let endpoint = metrics
        .endpoint()
        .bearer_token(std::env::var("METRICS_TOKEN").unwrap_or_else(|_| "change-me".into()))
        .allow_networks(["127.0.0.0/8".parse()?, "10.0.0.0/8".parse()?]);
    let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:9100").await?;
    tokio::spawn(redmetrics::serve(metrics_listener, endpoint, "/metrics"));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
