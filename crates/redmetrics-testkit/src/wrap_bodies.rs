//! A layer that wraps request and response bodies in pass-through types and records nothing.
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::Map;
use http::{Request, Response};
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// A tower layer that wraps both bodies in [`Pass`] and records nothing.
///
/// ```
/// use tower::Layer;
/// let _svc = redmetrics_testkit::WrapBodies.layer(tower::service_fn(
///     |_req: http::Request<redmetrics_testkit::Pass<String>>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
///     },
/// ));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WrapBodies;

/// The service [`WrapBodies`] makes (example there).
#[derive(Debug, Clone)]
pub struct Wrapped<S>(S);

impl<S> Layer<S> for WrapBodies {
    type Service = Wrapped<S>;
    fn layer(&self, inner: S) -> Wrapped<S> {
        Wrapped(inner)
    }
}

pin_project! {
    /// A body that passes every frame of `B` through unchanged (example: [`WrapBodies`]).
    #[derive(Debug)]
    pub struct Pass<B> { #[pin] inner: B }
}

impl<B> Pass<B> {
    /// Wraps `inner`, for layers that wrap only one of the two bodies.
    pub fn new(inner: B) -> Self {
        Self { inner }
    }
}

impl<B: Body> Body for Pass<B> {
    type Data = B::Data;
    type Error = B::Error;
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

type Out<R, E> = Result<Response<Pass<R>>, E>;

impl<S, B, R> Service<Request<B>> for Wrapped<S>
where
    S: Service<Request<Pass<B>>, Response = Response<R>>,
{
    type Response = Response<Pass<R>>;
    type Error = S::Error;
    type Future = Map<S::Future, fn(Result<Response<R>, S::Error>) -> Out<R, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.0
            .call(req.map(|inner| Pass { inner }))
            .map(|r| r.map(|res| res.map(|inner| Pass { inner })))
    }
}
