//! The tower layer and service.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::body::{RequestBody, ResponseBody};
use super::future::ResponseFuture;
use super::method::MethodLabel;
use super::metrics::Shared;
use super::record::{Recorder, RequestMeter};
use super::route::RequestParts;

/// Wraps services with [`MetricsService`]. Get one from
/// [`HttpMetrics::layer`](super::HttpMetrics::layer).
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    shared: Arc<Shared>,
}

impl MetricsLayer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Records the contract's metrics for every request it forwards to `S`.
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MetricsService<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let parts = RequestParts {
            method: req.method(),
            uri: req.uri(),
            headers: req.headers(),
            extensions: req.extensions(),
        };
        let Some(template) = self.shared.classify(parts) else {
            let req = req.map(|b| RequestBody::new(b, None));
            return ResponseFuture::new(self.inner.call(req), None);
        };
        let route = self.shared.route(MethodLabel::of(req.method()), template);
        let recorder = Recorder::start(Arc::clone(&self.shared), route, start);
        let meter = RequestMeter::new(Arc::clone(&self.shared), route, start);
        let req = req.map(|b| RequestBody::new(b, Some(meter)));
        ResponseFuture::new(self.inner.call(req), Some(recorder))
    }
}
