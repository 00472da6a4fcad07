//! The `redmetrics` binary under hostile or careless use: stalled clients on the demo's
//! listener, a closed stdout, and the shell integration files it generates.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{http_get, start_demo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The demo uses the library's default 10 s header timeout; this bound is generous.
const EVENTUALLY: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_closes_half_sent_requests_and_keeps_serving() {
    let (_demo, addr) = start_demo(&[]);
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        stalled.push(s);
    }
    let body = http_get(&format!("http://{addr}/metrics")).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("reviewmaps_http_requests_total"));
    for s in &mut stalled {
        let mut buf = [0u8; 512];
        let closed = tokio::time::timeout(EVENTUALLY, async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the demo kept a half-sent request open");
    }
}
