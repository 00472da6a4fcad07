//! The scrape endpoint: a tower service that renders a registry for Prometheus.
//!
//! ```
//! use axum::Router;
//! use redmetrics::{Registry, endpoint::MetricsEndpoint};
//!
//! let endpoint = MetricsEndpoint::new(Registry::new())
//!     .bearer_token("change-me")
//!     .allow_networks(["10.0.0.0/8".parse().unwrap(), "127.0.0.0/8".parse().unwrap()]);
//! let app: Router = Router::new().route_service("/ojeomneo/metrics", endpoint);
//! ```
//!
//! It answers `GET` and `HEAD` (405 otherwise) with text 0.0.4 or OpenMetrics 1.0 as the
//! `Accept` header prefers, gzip-compressed when `Accept-Encoding` allows. Network rules need
//! the peer address: serve axum with `into_make_service_with_connect_info::<SocketAddr>()`,
//! or use `serve` (feature `server`), which provides it; without one, network rules deny.

mod access;
mod compress;

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    ACCEPT, ALLOW, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, VARY,
    WWW_AUTHENTICATE,
};
use http::{Extensions, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::Full;
use ipnet::IpNet;
use tower_service::Service;

use self::access::{Access, Denial};
use crate::encoding::{self, negotiate_exposition};
use crate::registry::Registry;

/// The connection's peer address, for network rules; `serve` (feature `server`) inserts it.
/// axum's `ConnectInfo<SocketAddr>` is read as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

#[derive(Debug, Clone)]
struct Config {
    registry: Registry,
    access: Access,
    gzip: bool,
}

/// Serves a registry to scrapers. Cheap to clone.
/// Example: [`crate`] (mounted next to the layer) and `examples/separate_listener.rs`.
#[derive(Debug, Clone)]
pub struct MetricsEndpoint {
    config: Arc<Config>,
}

impl MetricsEndpoint {
    /// Serves `registry` to anyone, with gzip when accepted.
    pub fn new(registry: Registry) -> Self {
        Self {
            config: Arc::new(Config {
                registry,
                access: Access::default(),
                gzip: true,
            }),
        }
    }

    fn config(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Requires `Authorization: Bearer <token>` (Prometheus' `authorization.credentials`).
    #[must_use]
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.config().access.token = Some(token.into().into_boxed_str());
        self
    }

    /// Only clients in these networks may scrape; matched against the real peer address.
    #[must_use]
    pub fn allow_networks(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        self.config().access.networks.extend(networks);
        self
    }

    /// Peers in these networks are proxies whose `X-Forwarded-For`/`X-Real-IP` is believed.
    #[must_use]
    pub fn trusted_proxies(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        self.config().access.proxies.extend(networks);
        self
    }

    /// Whether to gzip when the scraper accepts it (default true).
    #[must_use]
    pub fn gzip(mut self, on: bool) -> Self {
        self.config().gzip = on;
        self
    }

    /// The registry served.
    pub fn registry(&self) -> &Registry {
        &self.config.registry
    }

    /// The 401 or 403 answer when this endpoint's access rules (token, networks) refuse the
    /// request; `None` when it may proceed. Other services of the same app (the live page,
    /// an application's own admin routes) reuse it so that one set of rules guards them all.
    pub fn refuse(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Option<Response<Full<Bytes>>> {
        match self.config.access.check(headers, peer(extensions)) {
            Ok(()) => None,
            Err(Denial::Unauthorized) => {
                let mut res = plain(
                    StatusCode::UNAUTHORIZED,
                    "metrics: send `Authorization: Bearer <token>`\n",
                );
                res.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"metrics\""),
                );
                Some(res)
            }
            Err(Denial::Forbidden) => Some(plain(
                StatusCode::FORBIDDEN,
                "metrics: client address not in an allowed network\n",
            )),
        }
    }

    /// Builds the response to one scrape.
    pub fn respond(
        &self,
        method: &Method,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Response<Full<Bytes>> {
        if method != Method::GET && method != Method::HEAD {
            let mut res = plain(StatusCode::METHOD_NOT_ALLOWED, "use GET or HEAD\n");
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return res;
        }
        if let Some(refused) = self.refuse(headers, extensions) {
            return refused;
        }
        let exposition = negotiate_exposition(headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
        let mut body = encoding::encode_as(&self.config.registry, exposition);
        let mut gzipped = false;
        if self.config.gzip
            && compress::accepts_gzip(headers)
            && let Some(z) = compress::gzip(&body)
        {
            body = z;
            gzipped = true;
        }
        let len = body.len();
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            Bytes::from(body)
        };
        let mut res = Response::new(Full::new(body));
        let h = res.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&exposition.content_type()) {
            h.insert(CONTENT_TYPE, v);
        }
        h.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
        h.insert(CONTENT_LENGTH, HeaderValue::from(len));
        if gzipped {
            h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        res
    }
}

fn peer(extensions: &Extensions) -> Option<SocketAddr> {
    if let Some(PeerAddr(addr)) = extensions.get::<PeerAddr>() {
        return Some(*addr);
    }
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0);
    }
    None
}

pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

impl<B> Service<Request<B>> for MetricsEndpoint {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ready(Ok(self.respond(
            req.method(),
            req.headers(),
            req.extensions(),
        )))
    }
}
