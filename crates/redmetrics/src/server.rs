//! The endpoint on a listener of its own, for keeping scrapes off the application's port.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::endpoint::{MetricsEndpoint, PeerAddr};

/// Serves `endpoint` at `path` on `listener` until the task is dropped; other paths get 404.
/// Each connection's peer address is available to the endpoint's network rules.
///
/// ```no_run
/// # async fn run(metrics: redmetrics::HttpMetrics) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:9100").await?;
/// redmetrics::serve(listener, metrics.endpoint(), "/metrics").await
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    endpoint: MetricsEndpoint,
    path: impl Into<String>,
) -> std::io::Result<()> {
    let path: Arc<str> = path.into().into();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            // Out of file descriptors or a connection reset before accept: keep serving.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let endpoint = endpoint.clone();
        let path = Arc::clone(&path);
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(PeerAddr(peer));
                let res = if req.uri().path() == &*path {
                    endpoint.respond(req.method(), req.headers(), req.extensions())
                } else {
                    let mut res = Response::new(Full::new(Bytes::from_static(b"not found\n")));
                    *res.status_mut() = StatusCode::NOT_FOUND;
                    res
                };
                std::future::ready(Ok::<_, Infallible>(res))
            });
            // A connection error concerns that client only.
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
