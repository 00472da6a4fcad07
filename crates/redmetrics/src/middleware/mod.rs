//! The tower middleware: one layer recording the contract's HTTP families.
//!
//! Modelled on tower-http: [`MetricsLayer`] makes a [`MetricsService`], whose
//! [`ResponseFuture`] wraps the response body in [`ResponseBody`]; the request body is wrapped
//! in [`RequestBody`]. Under axum's `Router`, use [`AxumLayer`]
//! ([`HttpMetrics::axum_layer`]) instead: the same record, with axum's own request body
//! handed back to the router (one heap allocation less per request).
//!
//! ```
//! use axum::{Router, routing::get, body::Body};
//! use http::Request;
//! use redmetrics::{Contract, HttpMetrics};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let metrics = HttpMetrics::builder(Contract::new("reviewmaps").unwrap()).build().unwrap();
//! let app = Router::new()
//!     .route("/v1/campaigns/{id}", get(|| async { "campaign" }))
//!     .layer(metrics.axum_layer());
//! let res = app.oneshot(Request::get("/v1/campaigns/7").body(Body::empty()).unwrap()).await.unwrap();
//! axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
//! let text = String::from_utf8(redmetrics::encoding::encode(metrics.registry(),
//!     redmetrics::encoding::Format::Text)).unwrap();
//! assert!(text.contains(r#"reviewmaps_http_requests_total{method="GET",path="/v1/campaigns/{id}",status="200"} 1"#));
//! # }
//! ```
//!
//! What is recorded, and when:
//! - `path` is the route template from the [`Classify`] in use (axum's `MatchedPath` by
//!   default; without feature `axum` there is no default and building refuses to go on
//!   without one); a request that matched no route is recorded as `__unmatched__`, never
//!   with its raw path.
//! - `method` is one of the nine standard methods or `OTHER`.
//! - `status` is the status of the response this layer passed on. Put the layer outermost
//!   (the last `.layer()` call in axum) so that it sees what error handlers, timeouts and
//!   panic catchers made of the response. A handler that panics before responding is
//!   recorded as 500; a request whose future is dropped before a response exists (the client
//!   disconnected, or a timeout *outside* this layer fired) as 499; an `Err` from the inner
//!   service, and a response body that fails, as 500.
//! - Latency, response size and the request counter are recorded when the response body has
//!   been fully produced, fails, or is dropped; the in-flight gauge drops at the same moment,
//!   so it returns to zero on every path. Sizes are the bytes that actually went through the
//!   bodies, counted frame by frame, never from `Content-Length` and never buffered.
//! - The metrics endpoint and routes given to
//!   [`exclude`](HttpMetricsBuilder::exclude) are not measured: exact match of template or
//!   path, never a substring.
//! - Each family holds at most a bounded number of label sets (2000 by default); further
//!   label sets fold into one `__overflow__` series and are counted in
//!   `redmetrics_cardinality_overflow_total`. So does a new route whose `path` value is
//!   longer than 128 bytes ([`max_label_value_len`](HttpMetricsBuilder::max_label_value_len)):
//!   a raw-path classifier cannot make a scrape grow with the URLs clients send.
//!
//! - A request carrying a sampled W3C `traceparent` (or whatever trace a
//!   [`TraceSource`] given to [`trace_context`](HttpMetricsBuilder::trace_context) returns)
//!   becomes the exemplar of its latency bucket and request counter, written in OpenMetrics
//!   scrapes only (see [`exemplars`](HttpMetricsBuilder::exemplars)).
//!
//! Recording takes no lock and allocates nothing once a label set exists. Under axum the
//! router boxes a layered route's clone and future per request and the wrapped response body
//! (as it does for every tower-http body middleware; the generic layer's request body too);
//! that cost is measured in `BENCHMARKS.md`.

#[cfg(feature = "axum")]
mod axum_router;
mod body;
mod future;
mod layer;
mod method;
mod metrics;
mod protocol;
mod record;
mod route;
mod series;
mod trace;
mod view;

pub use crate::collect::TraceContext;
#[cfg(feature = "axum")]
pub use axum_router::{AxumLayer, AxumService};
pub use body::{RequestBody, ResponseBody};
pub use future::ResponseFuture;
pub use layer::{MetricsLayer, MetricsService};
pub use metrics::{Completed, HttpMetrics, HttpMetricsBuilder, HttpMetricsError};
pub use protocol::Protocol;
#[cfg(feature = "axum")]
pub use route::MatchedPathRoute;
pub use route::{Classify, RequestParts};
pub use trace::{TraceSource, W3cTraceparent};
pub use view::{
    RequestCount, RouteId, RouteSizes, RouteView, SeriesView, SizeView, StatusDuration,
};
