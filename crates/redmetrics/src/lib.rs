//! redmetrics: production-grade Prometheus RED metrics for tower and axum services.
//!
//! Build a [`contract::Contract`] (the five HTTP families of the seed plan plus build info),
//! hand it to [`HttpMetrics`], put its layer on your router and serve its endpoint:
//!
//! ```
//! use axum::{Router, routing::get};
//! use redmetrics::{HttpMetrics, contract::Contract};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let metrics = HttpMetrics::builder(Contract::seed("reviewmaps")?)
//!     .version(env!("CARGO_PKG_VERSION"))
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/v1/campaigns/{id}", get(|| async { "campaign" }))
//!     .layer(metrics.layer())
//!     .route_service(metrics.metrics_path(), metrics.endpoint());
//! # Ok(()) }
//! ```
//!
//! The recording path takes no lock and allocates nothing once a label set exists; labels are
//! route templates, never raw paths; statuses are what the client received (500 for a panic,
//! 499 for a request abandoned before its response). See [`http`] for the details.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod collect;
pub mod contract;
pub mod encoding;
pub mod endpoint;
pub mod http;
pub mod labels;
pub mod metrics;
pub mod name;
pub mod number;
pub mod parse;
pub mod process;
pub mod registry;
#[cfg(feature = "server")]
mod server;

pub use crate::http::{HttpMetrics, MetricsLayer};
pub use endpoint::MetricsEndpoint;
pub use registry::Registry;
#[cfg(feature = "server")]
pub use server::{ServeConfig, serve, serve_service, serve_with};
