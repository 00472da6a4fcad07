//! An axum service with the five RED metrics, an application metric of its own, and the
//! scrape endpoint on the same port.
//!
//! Run: `cargo run -p redmetrics --example axum_app`, then
//! `curl localhost:3000/v1/campaigns/7` and `curl localhost:3000/metrics`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use redmetrics::Contract;
use redmetrics::HttpMetrics;
use redmetrics::metrics::Counter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let metrics = HttpMetrics::builder(Contract::new("reviewmaps")?)
        .version(env!("CARGO_PKG_VERSION"))
        .exclude(["/v1/healthcheck"])
        .build()?;
    // Application metrics live in the same registry and are served by the same endpoint.
    let queries = metrics.registry().family::<Counter, 1>(
        "reviewmaps_db_queries_total",
        "Database queries by table.",
        ["table"],
        (),
    )?;

    let app = Router::new()
        .route(
            "/v1/campaigns/{id}",
            get(move |Path(id): Path<u32>| {
                let queries = queries.clone();
                async move {
                    queries.with(["campaigns"]).inc();
                    format!("campaign {id}")
                }
            }),
        )
        .route("/v1/healthcheck", get(|| async { "ok" }))
        // Last `.layer()` = outermost: it sees the status the client receives.
        .layer(metrics.axum_layer())
        // Added after the layer, so the scrape is never measured.
        .route_service(metrics.metrics_path(), metrics.endpoint());

    let addr = "127.0.0.1:3000";
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}; stop what uses the port, or change `addr`");
            std::process::exit(1);
        }
    };
    println!("http://{}/metrics", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
