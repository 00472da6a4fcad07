//! The tower layer and service.

use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::body::{RequestBody, ResponseBody};
use super::future::ResponseFuture;
use super::method::MethodLabel;
use super::record::{Recorder, RequestMeter};
use super::route::RequestParts;
use super::series::Shared;

/// Wraps services with [`MetricsService`]. Get one from
/// [`HttpMetrics::layer`](super::HttpMetrics::layer).
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    shared: &'static Shared,
}

impl MetricsLayer {
    pub(crate) fn new(shared: &'static Shared) -> Self {
        Self { shared }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            shared: self.shared,
        }
    }
}

/// Records the contract's metrics for every request it forwards to `S`.
/// Example: [`middleware`](crate::middleware).
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    shared: &'static Shared,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MetricsService<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let start = crate::monotonic::now();
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
        let trace = self.shared.trace(parts);
        let route = self.shared.route(MethodLabel::of(req.method()), template);
        self.shared
            .protocol(route, req.version(), req.uri().scheme());
        let recorder = Recorder::start(self.shared, route, start, trace);
        // A request without a body (most GETs) has its size now; no meter to carry along.
        let meter = if req.body().is_end_stream() {
            self.shared.request_size(route, 0, start);
            None
        } else {
            Some(RequestMeter::new(self.shared, route, start))
        };
        let req = req.map(|b| RequestBody::new(b, meter));
        ResponseFuture::new(self.inner.call(req), Some(recorder))
    }
}
