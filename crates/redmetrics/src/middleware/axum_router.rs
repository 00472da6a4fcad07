//! The layer for axum's `Router`: the record of [`MetricsLayer`](super::MetricsLayer), with
//! axum's own body type handed back to the router so that it does not box the request again.

use std::task::{Context, Poll};

use axum::body::Body;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::body::{RequestBody, ResponseBody};
use super::future::ResponseFuture;
use super::layer::measure;
use super::record::RequestMeter;
use super::series::Shared;

/// Wraps the routes of an axum `Router` with [`AxumService`]: records what
/// [`MetricsLayer`](super::MetricsLayer) records, one heap allocation cheaper per request
/// under `Router::layer`. Get one from [`HttpMetrics::axum_layer`](super::HttpMetrics::axum_layer).
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use redmetrics::{Contract, HttpMetrics};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let metrics = HttpMetrics::builder(Contract::new("reviewmaps").unwrap()).build().unwrap();
/// let app = Router::new()
///     .route("/v1/campaigns/{id}", get(|| async { "campaign" }))
///     .layer(metrics.axum_layer());
/// let req = http::Request::get("/v1/campaigns/7").body(Body::empty()).unwrap();
/// axum::body::to_bytes(app.oneshot(req).await.unwrap().into_body(), 1024).await.unwrap();
/// let text = String::from_utf8(redmetrics::encoding::encode(metrics.registry(),
///     redmetrics::encoding::Format::Text)).unwrap();
/// assert!(text.contains(r#"reviewmaps_http_requests_total{method="GET",path="/v1/campaigns/{id}",status="200"} 1"#));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AxumLayer {
    shared: &'static Shared,
}

impl AxumLayer {
    pub(crate) fn new(shared: &'static Shared) -> Self {
        Self { shared }
    }
}

impl<S> Layer<S> for AxumLayer {
    type Service = AxumService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AxumService {
            inner,
            shared: self.shared,
        }
    }
}

/// Records the contract's metrics for every request axum's `Router` routes through it.
///
/// The generic [`MetricsService`](super::MetricsService) hands its inner service a
/// `RequestBody<B>`, which the router boxes into its own `Body` once more on every request.
/// This one passes axum's `Body` through untouched when the request has no body (its size,
/// 0, is recorded at once) and wraps only a body with bytes to count. Example: [`AxumLayer`].
#[derive(Debug, Clone)]
pub struct AxumService<S> {
    inner: S,
    shared: &'static Shared,
}

impl<S, ResBody> Service<Request<Body>> for AxumService<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let inner = &mut self.inner;
        measure(self.shared, req, pass_or_meter, |req| inner.call(req))
    }
}

/// axum's `Body` as it came when there is nothing to count; a body with bytes to come is
/// wrapped in its meter and boxed back into a `Body`, as the router would box it.
fn pass_or_meter(body: Body, meter: Option<RequestMeter>) -> Body {
    match meter {
        None => body,
        Some(meter) => Body::new(RequestBody::new(body, Some(meter))),
    }
}
