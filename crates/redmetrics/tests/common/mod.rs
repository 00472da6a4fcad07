//! Shared helpers for integration tests: a loopback server, an HTTP client, a minimal reader
//! of text expositions for assertions, and the external judges (promtool, Python).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Serves `app` on an ephemeral loopback port, with the peer address available.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(128)
        .build_http()
}

/// Serves `endpoint` alone at `/metrics` on loopback, with a client for it.
pub async fn serve_endpoint(endpoint: redmetrics::MetricsEndpoint) -> (SocketAddr, HttpClient) {
    let app = Router::new().route_service("/metrics", endpoint);
    (serve(app).await, client())
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }
}

/// Sends one request and reads the whole response.
pub async fn send(
    client: &HttpClient,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &'static [u8],
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = client
        .request(req.body(Full::new(Bytes::from_static(body))).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(client: &HttpClient, addr: SocketAddr, path: &str) -> Reply {
    send(client, addr, "GET", path, &[], b"").await
}

/// A sample line of a text exposition: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Reads the sample lines of a text (or OpenMetrics) exposition well enough for assertions
/// on expositions that the judges have already validated.
pub fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap(),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => (name.to_owned(), parse_labels(rest.trim_end_matches('}'))),
        };
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = s.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|&c| c != '=').collect();
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("dangling escape"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(name, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}

/// The value of the one sample named `name` whose labels include `labels`.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
    found.first().map(|s| s.value)
}

/// Sum of all samples named `name`.
pub fn sum(samples: &[Sample], name: &str) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

/// Histogram invariants: per series, buckets ascend, are cumulative, and `+Inf` = `_count`.
pub fn assert_histograms_consistent(samples: &[Sample], family: &str) {
    let bucket = format!("{family}_bucket");
    let count = format!("{family}_count");
    // Labels without `le` → (le, cumulative count) per bucket.
    type Buckets = Vec<(f64, f64)>;
    let mut series: BTreeMap<Vec<(String, String)>, Buckets> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.name == bucket) {
        let mut key: Vec<(String, String)> = s.labels.clone().into_iter().collect();
        key.retain(|(k, _)| k != "le");
        let le = match s.labels["le"].as_str() {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap(),
        };
        series.entry(key).or_default().push((le, s.value));
    }
    assert!(!series.is_empty(), "no {bucket} samples");
    for (key, buckets) in series {
        for w in buckets.windows(2) {
            assert!(w[0].0 < w[1].0, "{family} {key:?}: le not ascending");
            assert!(w[0].1 <= w[1].1, "{family} {key:?}: buckets not cumulative");
        }
        let labels: Vec<(&str, &str)> = key.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let c = samples
            .iter()
            .find(|s| {
                s.name == count
                    && s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .unwrap_or_else(|| panic!("{count} {key:?} missing"));
        let last = buckets.last().unwrap();
        assert_eq!(last.0, f64::INFINITY, "{family} {key:?}: +Inf bucket last");
        assert_eq!(last.1, c.value, "{family} {key:?}: +Inf != _count");
    }
}

/// Runs `promtool check metrics` on `exposition`; returns (exit code, combined output).
pub fn promtool_check(exposition: &[u8]) -> (i32, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: run scripts/test (it installs Debian's `prometheus`)");
    child.stdin.take().unwrap().write_all(exposition).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Parses `exposition` with Python's prometheus_client (`text` or `openmetrics` parser).
pub fn python_parse(format: &str, exposition: &[u8]) -> serde_json::Value {
    python_judge(
        "parse_exposition.py",
        &[format],
        exposition,
        &format!("prometheus_client's {format} parser (pip install prometheus_client)"),
    )
}

/// Runs `tests/judges/<script>` with `args`, feeding it `input`, and reads its JSON answer;
/// fails naming `judge` (what it is and how scripts/test installs it) when it refuses.
pub fn python_judge(script: &str, args: &[&str], input: &[u8], judge: &str) -> serde_json::Value {
    let script = format!("{}/tests/judges/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3")
        .arg(&script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 not found");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{judge} rejected the input: {}
(scripts/test installs it)
--- input ---
{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(input)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The family called `name` in a judge's JSON list of families.
pub fn family_named<'a>(families: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    families
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing in {families}"))
}

/// Polls `check` every 10 ms until it holds or `limit` passes.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}

pub fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Replaces the value of every `_created` sample with `<created>`, returning the text and,
/// per such line, the line and its value in nanoseconds since the Unix epoch, read exactly
/// (`seconds.nanoseconds`, nine decimals).
pub fn created_placeholders(om: &str) -> (String, Vec<(String, u128)>) {
    let mut out = String::with_capacity(om.len());
    let mut starts = Vec::new();
    for line in om.lines() {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        if !line.starts_with('#') && line[..name_end].ends_with("_created") {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (secs, frac) = value.split_once('.').unwrap();
            assert_eq!(frac.len(), 9, "{line}: nanoseconds written in full");
            let at = secs.parse::<u128>().unwrap() * 1_000_000_000 + frac.parse::<u128>().unwrap();
            starts.push((line.to_owned(), at));
            out.push_str(series);
            out.push_str(" <created>\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    (out, starts)
}

/// A test that needs a capability this machine lacks (an IPv6 socket, a peer binary): in CI
/// (`CI=true`) that is a failure, since a skipped test proves nothing; elsewhere it prints
/// SKIPPED with `why` and the caller returns.
pub fn missing_capability(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and this machine lacks what the test needs: {why}");
    }
    eprintln!("SKIPPED: {why}");
}
