//! `redmetrics check endpoint` on exemplars: accepted on counter `_total` and histogram
//! `_bucket` samples, where Prometheus 2.42 accepts them; reported anywhere else, where
//! Prometheus fails the whole scrape. The server answers over real HTTP on loopback, in
//! OpenMetrics when asked for it as Prometheus asks.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::{redmetrics_with_input, start_prometheus_with};
use serde_json::Value;

const TEXT: &str = "# HELP shop_http_requests_total Requests.
# TYPE shop_http_requests_total counter
shop_http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"} 3
# HELP shop_http_request_duration_seconds Latency.
# TYPE shop_http_request_duration_seconds histogram
shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/x\",le=\"0.1\"} 3
shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/x\",le=\"+Inf\"} 3
shop_http_request_duration_seconds_sum{method=\"GET\",path=\"/x\"} 0.06
shop_http_request_duration_seconds_count{method=\"GET\",path=\"/x\"} 3
";

/// The same series in OpenMetrics; `{BUCKET}`, `{COUNT}` and `{TOTAL}` are where exemplars go.
const OPENMETRICS: &str = "# TYPE shop_http_requests counter
# HELP shop_http_requests Requests.
shop_http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"} 3{TOTAL}
# TYPE shop_http_request_duration_seconds histogram
# UNIT shop_http_request_duration_seconds seconds
# HELP shop_http_request_duration_seconds Latency.
shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/x\",le=\"0.1\"} 3{BUCKET}
shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/x\",le=\"+Inf\"} 3
shop_http_request_duration_seconds_count{method=\"GET\",path=\"/x\"} 3{COUNT}
shop_http_request_duration_seconds_sum{method=\"GET\",path=\"/x\"} 0.06
# EOF
";

const EXEMPLAR: &str = " # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 0.02 1700000000.123";

/// Serves `om` to scrapes accepting OpenMetrics and [`TEXT`] to the others.
fn serve(om: String) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(256) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let (ct, body) = if head.contains("accept: application/openmetrics-text") {
                (
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    om.as_str(),
                )
            } else {
                ("text/plain; version=0.0.4; charset=utf-8", TEXT)
            };
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// The `OpenMetrics exposition` check of `check endpoint` against `om`: exit code, status,
/// summary and findings.
fn openmetrics_check(om: String) -> (Option<i32>, Value) {
    let addr = serve(om);
    let url = format!("http://{addr}/metrics");
    let out = redmetrics_with_input(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "check", "endpoint", &url, "--prefix", "shop", "--format", "json",
        ],
        None,
    );
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "OpenMetrics exposition")
        .cloned()
        .unwrap_or_else(|| panic!("no OpenMetrics check in {report}"));
    (out.status.code(), check)
}

fn with(total: &str, bucket: &str, count: &str) -> String {
    OPENMETRICS
        .replace("{TOTAL}", total)
        .replace("{BUCKET}", bucket)
        .replace("{COUNT}", count)
}

#[test]
fn exemplars_where_prometheus_takes_them_pass() {
    let (_, check) = openmetrics_check(with(EXEMPLAR, EXEMPLAR, ""));
    assert_eq!(check["status"], "pass", "{check}");
    let summary = check["summary"].as_str().unwrap();
    assert!(
        summary.contains("2 exemplars, all on counter `_total` and histogram `_bucket` samples"),
        "{check}"
    );
    let (_, none) = openmetrics_check(with("", "", ""));
    assert_eq!(none["status"], "pass", "{none}");
    assert!(
        !none["summary"].as_str().unwrap().contains("exemplar"),
        "{none}"
    );
}

#[test]
fn an_exemplar_prometheus_would_reject_fails_the_check() {
    let (code, check) = openmetrics_check(with("", "", EXEMPLAR));
    assert_eq!(code, Some(1), "{check}");
    assert_eq!(check["status"], "fail", "{check}");
    let message = check["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("exemplar on histogram sample `shop_http_request_duration_seconds_count`"),
        "{message}"
    );
    let malformed = with("", " # {trace_id=\"x\"}", "");
    let (code, check) = openmetrics_check(malformed);
    assert_eq!(
        (code, &check["status"]),
        (Some(1), &Value::from("fail")),
        "{check}"
    );
}

/// The judge of the two tests above: Prometheus 2.42 itself takes the exemplars the check
/// passes and fails the whole scrape on the one it reports.
#[tokio::test]
async fn prometheus_agrees_with_the_check() {
    let good = serve(with(EXEMPLAR, EXEMPLAR, ""));
    let bad = serve(with("", "", EXEMPLAR));
    let config = format!(
        "global:\n  scrape_interval: 1s\n\
         scrape_configs:\n  - job_name: good\n    static_configs:\n      - targets: ['{good}']\n  \
         - job_name: bad\n    static_configs:\n      - targets: ['{bad}']\n"
    );
    let prom = start_prometheus_with(&config, &[], &["--enable-feature=exemplar-storage"]);
    let limit = Duration::from_secs(30);
    prom.wait_for_targets("good", 1, "up", limit).await;
    prom.wait_for_targets("bad", 1, "down", limit).await;
    let targets = prom.api("/api/v1/targets").await;
    let bad_target = targets["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["labels"]["job"] == "bad")
        .unwrap();
    let error = bad_target["lastError"].as_str().unwrap();
    assert!(error.contains("exemplar"), "{error}");
}
