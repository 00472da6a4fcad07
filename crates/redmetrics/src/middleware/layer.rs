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
use super::series::{Classified, Shared};

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
        let inner = &mut self.inner;
        measure(self.shared, req, RequestBody::new, |req| inner.call(req))
    }
}

/// Starts the record of `req` unless it is excluded, gives its body and, when the body still
/// has bytes to count, their meter to `wrap`, and calls the inner service with the result.
/// Shared by [`MetricsService`] and the axum service, which differ only in `wrap`.
#[inline(always)]
pub(crate) fn measure<B: Body, B2, F>(
    shared: &'static Shared,
    req: Request<B>,
    wrap: impl FnOnce(B, Option<RequestMeter>) -> B2,
    call: impl FnOnce(Request<B2>) -> F,
) -> ResponseFuture<F> {
    let start = crate::monotonic::now();
    let parts = RequestParts {
        method: req.method(),
        uri: req.uri(),
        headers: req.headers(),
        extensions: req.extensions(),
    };
    let template = match shared.classify(parts) {
        Classified::Route(template) => Some(template),
        Classified::Unmatched => None,
        Classified::Excluded => {
            let req = req.map(|b| wrap(b, None));
            return ResponseFuture::new(call(req), None);
        }
    };
    let trace = shared.trace(parts);
    let route = shared.route(MethodLabel::of(req.method()), template);
    shared.protocol(route, req.version(), req.uri().scheme());
    let recorder = Recorder::start(shared, route, start, trace);
    // A request without a body (most GETs) has its size now; no meter to carry along.
    let meter = if req.body().is_end_stream() {
        shared.request_size(route, 0, start);
        None
    } else {
        Some(RequestMeter::new(route, start))
    };
    let req = req.map(|b| wrap(b, meter));
    ResponseFuture::new(call(req), Some(recorder))
}
