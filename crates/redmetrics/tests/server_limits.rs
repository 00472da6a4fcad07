//! `serve_with`'s limits over loopback: stalled clients are closed, the connection bound
//! holds, and an honest scrape gets through while attackers hold connections open.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{client, send};
use redmetrics::contract::Contract;
use redmetrics::{HttpMetrics, ServeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PARTIAL: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\n";
/// Generous: a closed connection must be seen closed within this, whatever the load.
const EVENTUALLY: Duration = Duration::from_secs(30);

async fn start(config: ServeConfig) -> SocketAddr {
    let metrics = HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(redmetrics::serve_with(
        listener,
        metrics.endpoint(),
        "/metrics",
        config,
    ));
    addr
}

async fn stalled(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s
}

/// True when the server closed the connection (EOF or reset) within `EVENTUALLY`; whatever
/// it sent first (a 408, say) is read past.
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    let read_to_end = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(EVENTUALLY, read_to_end).await.is_ok()
}

async fn assert_all_closed(mut conns: Vec<TcpStream>, what: &str) {
    for s in &mut conns {
        assert!(closed_by_server(s).await, "{what} was kept open");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_are_closed_and_a_scrape_still_succeeds() {
    let config = ServeConfig::default()
        .header_read_timeout(Duration::from_secs(1))
        .idle_timeout(Duration::from_secs(600))
        .max_connections(200);
    let addr = start(config).await;
    let mut attackers = Vec::new();
    for _ in 0..150 {
        attackers.push(stalled(addr, PARTIAL).await);
    }
    let scrape = send(&client(), addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(scrape.status, 200);
    assert!(scrape.text().contains("reviewmaps_http_requests_total"));
    assert_all_closed(attackers, "a half-sent request").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_after_the_idle_timeout() {
    let config = ServeConfig::default()
        .header_read_timeout(Duration::from_secs(600))
        .idle_timeout(Duration::from_secs(1));
    let addr = start(config).await;
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(stalled(addr, b"").await);
    }
    assert_all_closed(silent, "a silent connection").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let config = ServeConfig::default()
        .header_read_timeout(Duration::from_secs(600))
        .idle_timeout(Duration::from_secs(600))
        .max_connections(2);
    let addr = start(config).await;
    let first = stalled(addr, PARTIAL).await;
    let _second = stalled(addr, PARTIAL).await;
    let mut third = stalled(
        addr,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let mut reply = Vec::new();
    // While both slots are held the third client is not served...
    let early =
        tokio::time::timeout(Duration::from_millis(500), third.read_to_end(&mut reply)).await;
    assert!(early.is_err(), "served beyond the connection limit");
    assert!(reply.is_empty());
    // ...and it is once a slot frees up.
    drop(first);
    tokio::time::timeout(EVENTUALLY, third.read_to_end(&mut reply))
        .await
        .unwrap()
        .unwrap();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

/// Each setter changes its own limit and keeps the others: a connection limit of 1 set
/// before the two timeouts still holds, so a scrape by a real HTTP client waits for the
/// stalled client that holds the only slot, and is served once that client leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_limit_set_before_the_timeouts_still_holds() {
    let config = ServeConfig::default()
        .max_connections(1)
        .header_read_timeout(Duration::from_secs(600))
        .idle_timeout(Duration::from_secs(600));
    let addr = start(config).await;
    let holder = stalled(addr, PARTIAL).await;
    let mut scrape =
        tokio::spawn(async move { send(&client(), addr, "GET", "/metrics", &[], b"").await });
    // While the only slot is held the scrape is not served (a wait that can only pass)...
    let early = tokio::time::timeout(Duration::from_secs(2), &mut scrape).await;
    assert!(early.is_err(), "served beyond a limit of one connection");
    // ...and it is once the slot frees up.
    drop(holder);
    let reply = tokio::time::timeout(EVENTUALLY, scrape)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("reviewmaps_http_requests_total"));
}

/// A client that keeps sending is not idle: a request body streamed by a real HTTP client in
/// small chunks for twice the idle timeout (every gap far below it) is read to its end and
/// answered. Reads alone, with nothing written back yet, must count as activity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_that_keeps_coming_is_not_idle() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full, StreamBody};
    use hyper::body::{Frame, Incoming};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    const CHUNKS: usize = 40;
    const CHUNK: &[u8] = b"0123456789";
    let config = ServeConfig::default()
        .header_read_timeout(Duration::from_secs(600))
        .idle_timeout(Duration::from_secs(2));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Answers with the number of body bytes it read.
    let counter = tower::service_fn(|req: http::Request<Incoming>| async move {
        let body = req.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>(http::Response::new(Full::new(Bytes::from(
            body.len().to_string(),
        ))))
    });
    tokio::spawn(redmetrics::serve_service(listener, config, counter));

    // 40 chunks 100 ms apart: 4 s of upload against a 2 s idle timeout.
    let chunks = futures_util::stream::unfold(0, |i| async move {
        if i == CHUNKS {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some((
            Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from_static(CHUNK))),
            i + 1,
        ))
    });
    let client = Client::builder(TokioExecutor::new()).build_http();
    let req = http::Request::post(format!("http://{addr}/upload"))
        .body(StreamBody::new(Box::pin(chunks)))
        .unwrap();
    let res = tokio::time::timeout(EVENTUALLY, client.request(req))
        .await
        .unwrap()
        .expect("the connection was closed while the body was still coming");
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, (CHUNKS * CHUNK.len()).to_string());
}
