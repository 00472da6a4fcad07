//! redmetrics: production-grade Prometheus RED metrics for tower and axum services.
//!
//! Build a [`Contract`] (the five HTTP RED families plus build info),
//! hand it to [`HttpMetrics`], put its layer on your router and serve its endpoint:
//!
//! ```
//! use axum::{Router, routing::get};
//! use redmetrics::{Contract, HttpMetrics};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let metrics = HttpMetrics::builder(Contract::new("reviewmaps")?)
//!     .version(env!("CARGO_PKG_VERSION"))
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/v1/campaigns/{id}", get(|| async { "campaign" }))
//!     .layer(metrics.axum_layer())
//!     .route_service(metrics.metrics_path(), metrics.endpoint());
//! # Ok(()) }
//! ```
//!
//! The recording path takes no lock and allocates nothing once a label set exists; labels are
//! route templates, never raw paths; statuses are what the client received (500 for a panic,
//! 499 for a request abandoned before its response). See [`middleware`] for the details.
//!
//! Where things are: [`contract`] (the families, their labels, buckets and objectives, built
//! with [`Contract::builder`]), [`middleware`] (the tower layer and [`HttpMetrics`]),
//! [`metrics`] and [`Registry`] (application metrics in the same endpoint), [`collect`] (the
//! seam to write a collector of your own), [`encoding`] and [`MetricsEndpoint`] (the scrape
//! side), `live` (feature `live`: a live page of the RED figures), `otlp` (feature `otlp`:
//! the same series pushed as OTLP/HTTP). Feature `serde` derives `Serialize` for the contract; `server` adds `serve` for a
//! listener of its own.
//! Feature `protobuf` (default) adds Prometheus' protobuf exposition (`proto`,
//! `encoding::Format::Protobuf`), which carries the latency histogram's native buckets.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod collect;
pub mod contract;
pub mod encoding;
pub mod endpoint;
#[cfg(feature = "facade")]
#[cfg_attr(docsrs, doc(cfg(feature = "facade")))]
pub mod facade;
mod labels;
#[cfg(feature = "live")]
#[cfg_attr(docsrs, doc(cfg(feature = "live")))]
pub mod live;
pub mod metrics;
pub mod middleware;
mod monotonic;
pub mod name;
mod number;
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub mod otlp;
pub mod process;
#[cfg(feature = "protobuf")]
#[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
#[doc(inline)]
pub use redmetrics_core::proto;
pub mod registry;
#[cfg(feature = "server")]
mod server;

pub use contract::Contract;
pub use endpoint::MetricsEndpoint;
pub use middleware::{HttpMetrics, MetricsLayer};
pub use registry::Registry;
#[cfg(feature = "server")]
pub use server::{ServeConfig, serve, serve_service, serve_with};
