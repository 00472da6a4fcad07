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
