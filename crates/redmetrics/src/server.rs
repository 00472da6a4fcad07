//! The endpoint on a listener of its own, for keeping scrapes off the application's port,
//! and the bounded accept loop behind it: a header-read timeout, an idle timeout and a
//! connection limit, so that clients which connect and stall cannot exhaust descriptors.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower_service::Service;

use crate::endpoint::{MetricsEndpoint, PeerAddr};

/// Limits of a listener served by [`serve_with`] or [`serve_service`]; the defaults are safe
/// for a listener reachable by untrusted clients.
///
/// ```
/// use std::time::Duration;
/// let config = redmetrics::ServeConfig::default()
///     .header_read_timeout(Duration::from_secs(5))
///     .max_connections(64);
/// # let _ = config;
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
}

impl Default for ServeConfig {
    /// 10 s to send a request head, 60 s without a byte in either direction, and 256
    /// connections at once.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 256,
        }
    }
}

impl ServeConfig {
    /// How long an HTTP/1 client has to send a complete request head (hyper's timer). hyper
    /// starts it whenever the connection waits for a request, so an idle keep-alive
    /// connection is also closed after this long. Zero is raised to one millisecond.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a connection may go without a byte read or written before it is closed:
    /// covers a client silent before its first byte, HTTP/2, and a peer that stops reading.
    /// It must exceed the slowest response. Zero is raised to one millisecond.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many connections are served at once; beyond it the listener stops accepting and
    /// new clients wait in the kernel's backlog until one closes. Zero is raised to one.
    #[must_use]
    pub fn max_connections(mut self, limit: usize) -> Self {
        self.max_connections = limit.clamp(1, Semaphore::MAX_PERMITS);
        self
    }
}

/// Serves `endpoint` at `path` on `listener` until the task is dropped; other paths get 404.
/// Each connection's peer address is available to the endpoint's network rules. Uses
/// [`ServeConfig::default`]'s limits; [`serve_with`] takes others.
///
/// ```no_run
/// # async fn run(metrics: redmetrics::HttpMetrics) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:9100").await?;
/// redmetrics::serve(listener, metrics.endpoint(), "/metrics").await
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub async fn serve(
    listener: TcpListener,
    endpoint: MetricsEndpoint,
    path: impl Into<String>,
) -> std::io::Result<()> {
    serve_with(listener, endpoint, path, ServeConfig::default()).await
}

/// [`serve`] with the listener's limits given.
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub async fn serve_with(
    listener: TcpListener,
    endpoint: MetricsEndpoint,
    path: impl Into<String>,
    config: ServeConfig,
) -> std::io::Result<()> {
    let path: Arc<str> = path.into().into();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let res = if req.uri().path() == &*path {
            endpoint.respond(req.method(), req.headers(), req.extensions())
        } else {
            let mut res = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        };
        std::future::ready(Ok::<_, Infallible>(res))
    });
    serve_service(listener, config, HyperToTower(svc)).await
}

/// Serves any tower service (an axum `Router`, say) on `listener` with `config`'s limits,
/// HTTP/1 and HTTP/2, until the task is dropped. Each request carries a [`PeerAddr`].
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub async fn serve_service<S, B>(
    listener: TcpListener,
    config: ServeConfig,
    service: S,
) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    loop {
        // Waiting here, not after accept, keeps excess clients in the backlog, not in memory.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return Ok(());
        };
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            // Out of file descriptors or a connection reset before accept: keep serving.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = service.clone();
        let builder = builder.clone();
        let idle = config.idle_timeout;
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(PeerAddr(peer));
                let mut service = service.clone();
                async move {
                    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                    service.call(req).await
                }
            });
            let activity = Arc::new(Activity::new());
            let io = TokioIo::new(Watched {
                io: stream,
                activity: Arc::clone(&activity),
            });
            let conn = builder.serve_connection(io, svc);
            tokio::pin!(conn);
            loop {
                tokio::select! {
                    // The connection first: bytes that arrive as the idle timer fires are
                    // read, and count as activity, before the idle check.
                    biased;
                    // A connection error concerns that client only.
                    _ = conn.as_mut() => break,
                    () = tokio::time::sleep_until(activity.last() + idle) => {
                        if activity.last() + idle <= Instant::now() {
                            break; // dropping the connection closes the socket
                        }
                    }
                }
            }
            drop(slot);
        });
    }
}

/// A hyper service used where a tower one is expected.
#[derive(Clone)]
struct HyperToTower<S>(S);

impl<S, R> Service<R> for HyperToTower<S>
where
    S: hyper::service::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: R) -> Self::Future {
        self.0.call(req)
    }
}

/// When a connection last moved a byte, in milliseconds since it was accepted.
struct Activity {
    accepted: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            accepted: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.accepted + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

pin_project_lite::pin_project! {
    /// A socket that records when bytes last went through it.
    struct Watched {
        #[pin]
        io: TcpStream,
        activity: Arc<Activity>,
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let res = this.io.poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        res
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.project();
        let res = this.io.poll_write(cx, data);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        res
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.project();
        let res = this.io.poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The wrapper passes every write and the shutdown through to the socket: what is
    /// written plainly and vectored reaches the peer over loopback, then the peer sees the
    /// end of the stream while the wrapper is still alive. hyper writes vectored to a TCP
    /// socket, so its HTTP paths never call the plain `poll_write`; this test does.
    #[tokio::test]
    async fn the_watched_socket_passes_writes_and_shutdown_through() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (io, _) = listener.accept().await.unwrap();
        let mut watched = Box::pin(Watched {
            io,
            activity: Arc::new(Activity::new()),
        });
        watched.write_all(b"plain,").await.unwrap();
        let parts = [
            std::io::IoSlice::new(b"vect"),
            std::io::IoSlice::new(b"ored"),
        ];
        let n = watched.write_vectored(&parts).await.unwrap();
        assert_eq!(n, 8, "loopback takes 8 bytes at once");
        watched.flush().await.unwrap();
        watched.shutdown().await.unwrap();
        let mut got = Vec::new();
        // A bound only against a hang: the peer's end of stream is already there.
        tokio::time::timeout(Duration::from_secs(30), peer.read_to_end(&mut got))
            .await
            .expect("no end of stream after shutdown")
            .unwrap();
        assert_eq!(got, b"plain,vectored");
        drop(watched);
    }
}
