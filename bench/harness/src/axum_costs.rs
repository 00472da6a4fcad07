//! Layers that each add one of the costs axum puts on a middleware, and nothing else, for the
//! breakdown of what redmetrics pays under axum (`instructions` modes `axum-cost-*`).
//!
//! Under `Router::layer`, every route becomes a boxed service that is cloned per request
//! with a boxed future ([`Noop`]); the router boxes a request body that is not its own
//! `Body` ([`WrapRequest`]) and a response body likewise ([`WrapResponse`]). Around the
//! whole router, a response wrapper costs nothing until something needs axum's `Body` back,
//! as `axum::serve` does ([`Outer`], [`OuterBoxed`]).

use std::task::{Context, Poll};

use axum::body::Body;
use futures_util::FutureExt;
use futures_util::future::Map;
use http::{Request, Response};
use redmetrics_testkit::Pass;
use tower::{Layer, Service};

/// What a [`Response`] future of an inner service resolves to.
type Out<R, E> = Result<Response<R>, E>;

/// Passes requests and responses through untouched.
#[derive(Debug, Clone, Copy)]
pub struct Noop;

/// Wraps the request body only.
#[derive(Debug, Clone, Copy)]
pub struct WrapRequest;

/// Wraps the response body only.
#[derive(Debug, Clone, Copy)]
pub struct WrapResponse;

/// The service of one of the layers above (`K` says which).
#[derive(Debug, Clone)]
pub struct Costed<S, K> {
    inner: S,
    kind: K,
}

macro_rules! layer {
    ($k:ty) => {
        impl<S> Layer<S> for $k {
            type Service = Costed<S, $k>;
            fn layer(&self, inner: S) -> Self::Service {
                Costed { inner, kind: *self }
            }
        }
    };
}
layer!(Noop);
layer!(WrapRequest);
layer!(WrapResponse);

impl<S, B> Service<Request<B>> for Costed<S, Noop>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> S::Future {
        let _ = self.kind;
        self.inner.call(req)
    }
}

impl<S, B> Service<Request<B>> for Costed<S, WrapRequest>
where
    S: Service<Request<Pass<B>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> S::Future {
        self.inner.call(req.map(Pass::new))
    }
}

impl<S, B, R> Service<Request<B>> for Costed<S, WrapResponse>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<Pass<R>>;
    type Error = S::Error;
    type Future = Map<S::Future, fn(Out<R, S::Error>) -> Out<Pass<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.inner
            .call(req)
            .map(|r: Out<R, S::Error>| r.map(|res| res.map(Pass::new)))
    }
}

/// Wraps the whole router's response body, outside the router: no box (a server taking any
/// body type, such as hyper's own, serves it as it is).
#[derive(Debug, Clone)]
pub struct Outer<S>(pub S);

impl<S, R> Service<Request<Body>> for Outer<S>
where
    S: Service<Request<Body>, Response = Response<R>>,
{
    type Response = Response<Pass<R>>;
    type Error = S::Error;
    type Future = Map<S::Future, fn(Out<R, S::Error>) -> Out<Pass<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.0
            .call(req)
            .map(|r: Out<R, S::Error>| r.map(|res| res.map(Pass::new)))
    }
}

/// [`Outer`] boxed back into axum's `Body`, as `axum::serve` requires of the service it runs.
#[derive(Debug, Clone)]
pub struct OuterBoxed<S>(pub S);

impl<S> Service<Request<Body>> for OuterBoxed<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Map<S::Future, fn(Out<Body, S::Error>) -> Out<Body, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.0
            .call(req)
            .map(|r: Out<Body, S::Error>| r.map(|res| res.map(|b| Body::new(Pass::new(b)))))
    }
}

thread_local! {
    /// The route [`Probe`] saw, for [`Split`] to take once the router's future is ready.
    static ROUTE: std::cell::RefCell<Option<axum::extract::MatchedPath>> =
        const { std::cell::RefCell::new(None) };
}

/// Under `Router::layer`: notes the matched route for [`Split`] and passes everything
/// through, the route-learning half of a split integration.
#[derive(Debug, Clone, Copy)]
pub struct Probe;

impl<S> Layer<S> for Probe {
    type Service = Costed<S, Probe>;
    fn layer(&self, inner: S) -> Self::Service {
        Costed { inner, kind: *self }
    }
}

impl<S, B> Service<Request<B>> for Costed<S, Probe>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> S::Future {
        if let Some(route) = req.extensions().get::<axum::extract::MatchedPath>() {
            ROUTE.with(|r| *r.borrow_mut() = Some(route.clone()));
        }
        self.inner.call(req)
    }
}

/// Around the whole router (with [`Probe`] on its routes): takes the route the probe noted
/// and wraps the response body, boxed back into axum's `Body` as `axum::serve` requires. The
/// plumbing of a split integration, without recording anything.
#[derive(Debug, Clone)]
pub struct Split<S>(pub S);

impl<S> Service<Request<Body>> for Split<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Map<S::Future, fn(Out<Body, S::Error>) -> Out<Body, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.0.call(req).map(|r: Out<Body, S::Error>| {
            std::hint::black_box(ROUTE.with(|r| r.borrow_mut().take()));
            r.map(|res| res.map(|b| Body::new(Pass::new(b))))
        })
    }
}
