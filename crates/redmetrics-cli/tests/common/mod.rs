//! Harness for end-to-end tests: the real `redmetrics` binary and a real Prometheus server,
//! both on loopback, both killed when the test ends.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A `redmetrics.toml` of the ReviewMaps app scraped every second, followed by `$rest` (its
/// `[apps.alerts]`, `[apps.slo]`, ...): the head the one-Prometheus suites share.
#[allow(unused_macros)]
macro_rules! reviewmaps_every_second {
    ($rest:literal) => {
        concat!(
            r#"
[[apps]]
name = "reviewmaps"
namespace = "reviewmaps"
service = "reviewmaps-server"
port = "http"
interval = "1s"
scrape_timeout = "1s"
"#,
            $rest
        )
    };
}

// The CLI's own way to start a process that dies with its parent: what a test starts dies
// with the test binary, even when that is killed before any `Drop` runs.
#[path = "../../src/tether.rs"]
mod tether;
pub(crate) use tether::SpawnTethered;

/// A child process killed on drop (and, started with [`SpawnTethered`], when the test
/// binary dies without dropping it).
pub struct Running {
    pub child: Child,
    pub name: &'static str,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The user documentation: `README.md` and every `docs/*.md`, as (path from the repository
/// root, text), README first. The tests that run the documented commands read these.
pub fn docs() -> Vec<(String, String)> {
    let mut paths: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    paths.sort();
    paths.insert(0, "README.md".to_owned());
    paths.into_iter().map(|p| (p.clone(), doc(&p))).collect()
}

/// The text of one documentation file (`README.md`, `docs/check.md`), which must exist.
pub fn doc(path: &str) -> String {
    std::fs::read_to_string(repo().join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}: the documentation moved; update the test"))
}

/// `text` without its fenced code blocks.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The inline code spans of a documentation file outside its code blocks, on one line each.
pub fn code_spans(path: &str) -> Vec<String> {
    prose(&doc(path))
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| !span.contains('\n'))
        .map(str::to_owned)
        .collect()
}

/// The blocks of a documentation file fenced as `lang` (```` ```sh ````), each without its fences.
pub fn code_blocks(path: &str, lang: &str) -> Vec<String> {
    let text = doc(path);
    let fence = format!("```{lang}\n");
    text.split(fence.as_str())
        .skip(1)
        .map(|b| b[..b.find("```").unwrap_or(b.len())].to_owned())
        .collect()
}

/// `found`, unless it is empty: a documented command that the test cannot find is a failure
/// ("nothing found to check"), not a pass.
pub fn found_in<T>(path: &str, what: &str, found: Vec<T>) -> Vec<T> {
    assert!(
        !found.is_empty(),
        "{path}: no {what} found to check: the documentation moved; update the test"
    );
    found
}

/// Runs the real binary in `dir` with a cleared environment, feeding it `stdin`.
pub fn redmetrics_with_input(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let path = std::env::var("PATH").unwrap_or_default();
    redmetrics_with_env(dir, args, stdin, &path, &[])
}

/// Runs the real binary in `dir` with only `PATH` set to `path` and the variables `env`,
/// feeding it `stdin`.
pub fn redmetrics_with_env(
    dir: &Path,
    args: &[&str],
    stdin: Option<&str>,
    path: &str,
    env: &[(&str, &str)],
) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_redmetrics"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_tethered()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// Runs the real binary in `dir` with a cleared environment and no input.
pub fn redmetrics(dir: &Path, args: &[&str]) -> Output {
    redmetrics_with_input(dir, args, None)
}

/// `redmetrics demo` on an ephemeral port; returns the process and its address.
pub fn start_demo(args: &[&str]) -> (Running, SocketAddr) {
    start_demo_in(Path::new("."), args)
}

/// `redmetrics demo` on an ephemeral port, run in `dir` (for relative `--config` paths).
pub fn start_demo_in(dir: &Path, args: &[&str]) -> (Running, SocketAddr) {
    let (running, addr, _) = start_demo_logged(dir, args);
    (running, addr)
}

/// `redmetrics demo --listen <listen>`, run in `dir`; returns once it listens.
pub fn start_demo_at(dir: &Path, listen: &str, args: &[&str]) -> (Running, SocketAddr) {
    let (running, addr, _) = start_demo_logged_at(dir, listen, args);
    (running, addr)
}

/// The lines a demo has logged so far (its stderr), kept while it runs.
#[derive(Clone, Default)]
pub struct DemoLog(Arc<Mutex<Vec<String>>>);

impl DemoLog {
    /// Every line logged so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// `redmetrics demo` on port 0 (it logs the address it bound), run in `dir`, with its log.
pub fn start_demo_logged(dir: &Path, args: &[&str]) -> (Running, SocketAddr, DemoLog) {
    start_demo_logged_at(dir, "127.0.0.1:0", args)
}

/// `redmetrics demo --listen <listen>`, run in `dir`, with its log; returns once it listens.
pub fn start_demo_logged_at(
    dir: &Path,
    listen: &str,
    args: &[&str],
) -> (Running, SocketAddr, DemoLog) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_redmetrics"))
        .current_dir(dir)
        .arg("demo")
        .args(["--listen", listen])
        .args(args)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn_tethered()
        .expect("spawn redmetrics demo");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let log = DemoLog::default();
    let addr = loop {
        let line = lines
            .next()
            .expect("demo exited before listening")
            .expect("read demo log");
        let found = line.split("listening on http://").nth(1).map(|rest| {
            rest.split_whitespace()
                .next()
                .unwrap()
                .parse::<SocketAddr>()
                .unwrap()
        });
        log.0.lock().unwrap().push(line);
        if let Some(addr) = found {
            break addr;
        }
    };
    // Keep draining (and keeping) the log so the child never blocks on a full pipe.
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            kept.0.lock().unwrap().push(line);
        }
    });
    (
        Running {
            child,
            name: "redmetrics demo",
        },
        addr,
        log,
    )
}

/// A TLS acceptor (rustls, ring) serving this DER certificate and key, for loopback HTTPS
/// peers.
pub fn tls_acceptor(cert: Vec<u8>, key: Vec<u8>) -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls;
    // Deprecated since rustls 0.23.48 (no post-quantum key exchange), which a test peer
    // does not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.into()],
            rustls::pki_types::PrivateKeyDer::try_from(key).unwrap(),
        )
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Renders a Helm chart with Helm's own Go SDK (the `helm_chart.py` judge) and returns its
/// manifests as one YAML stream, as `helm template` prints them.
pub fn helm_template(chart: &Path, release: &str, namespace: &str, values: &str) -> String {
    use std::io::Write;
    let mut helm = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/judges/helm_chart.py"))
        .args(["render", chart.to_str().unwrap(), release, namespace])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn_tethered()
        .unwrap();
    helm.stdin
        .take()
        .unwrap()
        .write_all(values.as_bytes())
        .unwrap();
    let rendered: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&helm.wait_with_output().unwrap().stdout).unwrap();
    rendered
        .iter()
        .filter(|(k, _)| k.ends_with(".yaml"))
        .map(|(_, v)| format!("---\n{v}\n"))
        .collect()
}

/// A loopback address that refuses connections for as long as the guard lives: the port is
/// bound but never listened on, so no other process can take it meanwhile.
pub fn refused_addr() -> (tokio::net::TcpSocket, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

/// How many fresh ports a Prometheus start tries before giving up.
pub const PORT_ATTEMPTS: usize = 5;

/// A port the kernel just handed out and released, for servers that cannot bind port 0 and
/// report it (Prometheus): another process may take it first, so the caller must notice
/// (`address already in use`) and try again with a fresh one.
pub fn candidate_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `redmetrics demo --with-prometheus <args>` on port 0, its Prometheus on a fresh port:
/// returns once that Prometheus scrapes this demo (its targets), retrying with another
/// port when the Prometheus lost its port, at most [`PORT_ATTEMPTS`] times.
pub async fn start_demo_with_prometheus(args: &[&str]) -> (Running, SocketAddr, String, Value) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let listen = format!("127.0.0.1:{}", candidate_port());
        let mut all = vec!["--with-prometheus", "--prometheus-listen", &listen];
        all.extend_from_slice(args);
        let (demo, addr, log) = start_demo_logged(Path::new("."), &all);
        let prom_url = format!("http://{listen}");
        match demo_prometheus(&prom_url, addr, &log).await {
            Ok(targets) => return (demo, addr, prom_url, targets),
            Err(why) if attempt < PORT_ATTEMPTS => {
                eprintln!("attempt {attempt}: {why}; retrying on a fresh port");
            }
            Err(why) => panic!("the demo's Prometheus never scraped it: {why}"),
        }
    }
}

/// Waits until the Prometheus at `url` scrapes the demo at `demo` (so it is the demo's own);
/// an error when it lost its port or never came up, with the reason.
async fn demo_prometheus(
    url: &str,
    demo: std::net::SocketAddr,
    log: &DemoLog,
) -> Result<serde_json::Value, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Bounded: whatever holds the port may accept and never answer.
        let answer = tokio::time::timeout(
            Duration::from_secs(2),
            http_get(&format!("{url}/api/v1/targets")),
        )
        .await;
        if let Ok(Ok(body)) = answer {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let t = v["data"]["activeTargets"].clone();
            let url = t[0]["scrapeUrl"].as_str().unwrap_or_default().to_owned();
            if !url.is_empty() && !url.contains(&demo.to_string()) {
                return Err(format!("another Prometheus answers there (scraping {url})"));
            }
            if t[0]["health"] == "up" {
                return Ok(t);
            }
        }
        // The demo logs where its Prometheus writes its log.
        let prom_log = log
            .lines()
            .iter()
            .find_map(|l| l.split("log in ").nth(1).map(str::to_owned))
            .and_then(|path| std::fs::read_to_string(path.trim()).ok())
            .unwrap_or_default();
        if lost_port(&prom_log) {
            return Err("its Prometheus lost the port".into());
        }
        if Instant::now() > deadline {
            return Err(format!("nothing scraped the demo within 30 s\n{prom_log}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits for `child` at most `limit`, killing it and failing the test past that: every
/// external program a test runs is bounded in time.
pub fn output_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// Whether a Prometheus log says its listener lost the port to another process.
pub fn lost_port(log: &str) -> bool {
    log.contains("address already in use")
}

/// A Prometheus server with `config` (YAML) and optional rule files, on loopback.
pub struct Prometheus {
    pub running: Running,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

pub fn prometheus_binary() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("prometheus"))
            .find(|p| p.is_file())
    });
    found.expect(
        "the `prometheus` binary is not on PATH: run scripts/test, which installs Debian's \
         `prometheus` package (apt-get install -y prometheus)",
    )
}

/// Starts a Prometheus with `config` (YAML) and optional rule files on a loopback port. The
/// port cannot be 0 (Prometheus does not report the one it got), so a start that loses its
/// port to another process is retried on a fresh one, at most [`PORT_ATTEMPTS`] times; the
/// server is ours once `/api/v1/status/flags` reports our own configuration file.
pub fn start_prometheus(config: &str, files: &[(&str, &str)]) -> Prometheus {
    start_prometheus_with(config, files, &[])
}

/// [`start_prometheus`] with extra command-line flags (`--enable-feature=…`).
pub fn start_prometheus_with(config: &str, files: &[(&str, &str)], flags: &[&str]) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let config_file = config_path.display().to_string();
    let mut dir = Some(dir);
    for attempt in 1..=PORT_ATTEMPTS {
        let port = candidate_port();
        let here = dir.take().unwrap();
        let log = std::fs::File::create(here.path().join("prometheus.log")).unwrap();
        // Agent mode refuses the server's storage flag and has its own.
        let storage = if flags.contains(&"--enable-feature=agent") {
            "--storage.agent.path"
        } else {
            "--storage.tsdb.path"
        };
        let child = Command::new(prometheus_binary())
            .arg(format!("--config.file={config_file}"))
            .arg(format!("{storage}={}", here.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-lifecycle")
            .args(flags)
            .current_dir(here.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn_tethered()
            .expect("spawn prometheus");
        let mut prom = Prometheus {
            running: Running {
                child,
                name: "prometheus",
            },
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: here,
        };
        match prom.wait_until_ours(&config_file, Duration::from_secs(30)) {
            Ok(()) => return prom,
            Err(log) if lost_port(&log) && attempt < PORT_ATTEMPTS => {
                // Lost the port: stop this one (its drop kills it) and keep the directory.
                eprintln!("prometheus lost port {port} to another process; trying a fresh one");
                let Prometheus {
                    running, dir: d, ..
                } = prom;
                drop(running);
                std::fs::remove_dir_all(d.path().join("data")).ok();
                dir = Some(d);
            }
            Err(log) => panic!("prometheus did not start (attempt {attempt}):\n{log}"),
        }
    }
    unreachable!("the last attempt returns or panics")
}

/// One blocking HTTP/1.0 GET on loopback: the body of a 200 response, or `None`.
fn get_blocking(addr: SocketAddr, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    s.take(1 << 20).read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    (head.split(' ').nth(1) == Some("200")).then(|| body.to_owned())
}

impl Prometheus {
    /// Waits until the server on `addr` is this process, reporting `config_file`; on exit or
    /// after `limit`, returns the log.
    fn wait_until_ours(&mut self, config_file: &str, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.running.child.try_wait().unwrap().is_some() {
                return Err(self.log());
            }
            if let Some(body) = get_blocking(self.addr, "/api/v1/status/flags") {
                let flags: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                if flags["data"]["config.file"] == config_file {
                    return Ok(());
                }
                // Another server holds the port: ours will fail to bind, if it has not yet.
            }
            if lost_port(&self.log()) {
                return Err(self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("not answering after {limit:?}\n{}", self.log()))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// GET an API path and return its `data`, panicking with the log on failure.
    pub async fn api(&self, path_and_query: &str) -> Value {
        let body = http_get(&format!("http://{}{}", self.addr, path_and_query))
            .await
            .unwrap_or_else(|e| panic!("prometheus API {path_and_query}: {e}\n{}", self.log()));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], "success", "{path_and_query}: {v}");
        v["data"].clone()
    }

    /// Replaces the rule or config file `name` and asks the server to reload
    /// (`POST /-/reload`, which `--web.enable-lifecycle` allows).
    pub async fn reload_with(&self, name: &str, content: &str) {
        std::fs::write(self.dir.path().join(name), content).unwrap();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let req = http::Request::post(format!("http://{}/-/reload", self.addr))
            .body(Full::default())
            .unwrap();
        let res = client.request(req).await.unwrap();
        assert!(
            res.status().is_success(),
            "reload: {}\n{}",
            res.status(),
            self.log()
        );
    }

    /// An instant query's result vector.
    pub async fn query(&self, promql: &str) -> Vec<Value> {
        let q = urlencode(promql);
        self.api(&format!("/api/v1/query?query={q}")).await["result"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// An instant query's result vector at a Unix time.
    pub async fn query_at(&self, promql: &str, time: f64) -> Vec<Value> {
        let q = urlencode(promql);
        self.api(&format!("/api/v1/query?query={q}&time={time}"))
            .await["result"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Waits until Prometheus answers and every target of `job` reports `health`.
    pub async fn wait_for_targets(&self, job: &str, count: usize, health: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(body) = http_get(&format!("http://{}/api/v1/targets", self.addr)).await {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let targets: Vec<&Value> = v["data"]["activeTargets"]
                    .as_array()
                    .map(|a| a.iter().filter(|t| t["labels"]["job"] == job).collect())
                    .unwrap_or_default();
                if targets.len() == count && targets.iter().all(|t| t["health"] == health) {
                    return;
                }
                if Instant::now() > deadline {
                    panic!("targets of {job} never all {health}: {v}\n{}", self.log());
                }
            } else if Instant::now() > deadline {
                panic!("prometheus never answered\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls `promql` until `done` holds for its result or `limit` passes; returns the last
    /// result, for the caller to assert on (so a miss fails with the value seen).
    pub async fn wait_for(
        &self,
        promql: &str,
        limit: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let r = self.query(promql).await;
            if done(&r) || Instant::now() > deadline {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Polls `promql` until it returns at least one series, or panics after `limit`.
    pub async fn wait_for_series(&self, promql: &str, limit: Duration) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let r = self.query(promql).await;
            if !r.is_empty() {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "`{promql}` returned nothing within {limit:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

pub fn dir_path(p: &Prometheus) -> &Path {
    p.dir.path()
}

/// The default classic latency bucket `(lo, hi]` holding `seconds`: the tolerance within
/// which two estimates of one quantile, classic and native, agree.
pub fn classic_bucket(seconds: f64) -> (f64, f64) {
    let bounds = redmetrics::metrics::Buckets::DEFAULT_SECONDS;
    let i = bounds
        .iter()
        .position(|&b| seconds <= b)
        .unwrap_or_else(|| panic!("{seconds} s is above the last bound"));
    (if i == 0 { 0.0 } else { bounds[i - 1] }, bounds[i])
}

/// The current Unix time in seconds, for instant queries at one moment.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The check called `name` of a `redmetrics check … --format json` report.
pub fn named_check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

/// The numeric value of an instant-vector element.
pub fn sample_value(v: &Value) -> f64 {
    v["value"][1].as_str().unwrap().parse().unwrap()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A GET with a real HTTP client; the body, or an error for non-2xx and connect failures.
pub async fn http_get(url: &str) -> Result<Bytes, String> {
    http_get_with(url, &[]).await
}

/// [`http_get`] with request headers.
pub async fn http_get_with(url: &str, headers: &[(&str, &str)]) -> Result<Bytes, String> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = http::Request::get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::default()).map_err(|e| format!("{e}"))?;
    let res = client.request(req).await.map_err(|e| format!("{e}"))?;
    let status = res.status();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(body)
}

/// A single-node Alertmanager on a loopback port it picked itself, killed on drop.
pub struct Alertmanager {
    pub running: Running,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl Alertmanager {
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Debian's `prometheus-alertmanager` (or upstream's `alertmanager`) from PATH.
pub fn alertmanager_binary() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|p| [p.join("prometheus-alertmanager"), p.join("alertmanager")])
            .find(|p| p.is_file())
    });
    found.expect(
        "no `prometheus-alertmanager` on PATH: run scripts/test, which installs Debian's \
         `prometheus-alertmanager` package (apt-get install -y prometheus-alertmanager)",
    )
}

/// Starts Alertmanager with `config` (YAML) on `127.0.0.1:0`, clustering off, and waits (at
/// most 60 s) for the address it logs.
pub fn start_alertmanager(config: &str) -> Alertmanager {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("alertmanager.yml"), config).unwrap();
    let (running, addr) = spawn_listening(
        "alertmanager",
        &alertmanager_binary(),
        &[
            "--config.file=alertmanager.yml",
            "--storage.path=data",
            "--web.listen-address=127.0.0.1:0",
            "--cluster.listen-address=",
        ],
        dir.path(),
    );
    Alertmanager { running, addr, dir }
}

/// Starts `binary` with `args` in `dir`, its stderr in `dir/<name>.log`, and returns once
/// it logs the address it listens on.
fn spawn_listening(
    name: &'static str,
    binary: &Path,
    args: &[&str],
    dir: &Path,
) -> (Running, SocketAddr) {
    let log_path = dir.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn_tethered()
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
    let addr = wait_listening(&mut child, &log_path, name);
    (Running { child, name }, addr)
}

/// The address a Prometheus-family server logs once it listens (`msg="Listening on"
/// address=…`, the real port also when asked for port 0); panics with its log if it exits
/// first or takes more than 60 s.
pub fn wait_listening(child: &mut Child, log: &Path, what: &str) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(addr) = text
            .lines()
            .filter(|l| l.contains("msg=\"Listening on\""))
            .find_map(|l| l.split("address=").nth(1))
            .and_then(|a| a.split_whitespace().next())
            .and_then(|a| a.parse().ok())
        {
            return addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}):\n{text}");
        }
        assert!(Instant::now() < deadline, "{what} never listened:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Prometheus with `config` (YAML, paths in it absolute) on `127.0.0.1:0`, reading back the
/// port it bound.
pub fn start_prometheus_any_port(config: &str) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let (running, addr) = spawn_listening(
        "prometheus",
        &prometheus_binary(),
        &[
            "--config.file=prometheus.yml",
            "--storage.tsdb.path=data",
            "--web.listen-address=127.0.0.1:0",
        ],
        dir.path(),
    );
    Prometheus { running, addr, dir }
}

/// Runs a Python judge with `stdin`; returns (exit code, stdout, stderr).
pub fn judge(script: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/judges")
        .join(script);
    use std::io::Write;
    let mut child = Command::new("python3")
        .arg(path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_tethered()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Validates manifests (one or more YAML documents) against the Prometheus Operator's schema
/// for `kind` (`ServiceMonitor`, `PrometheusRule`, `AlertmanagerConfig`, `Prometheus` or
/// `PrometheusAgent`), unknown fields forbidden: `tests/judges/crd_validate.py`, with the
/// schemas scripts/test installs from PyPI.
pub fn assert_valid_against_crd(kind: &str, manifests: &str, expect_objects: usize) {
    let (code, out, err) = judge("crd_validate.py", &[kind], manifests);
    assert_eq!(
        code, 0,
        "{kind}: {out}{err}\n{manifests}\n(the judge needs `cloudcoil-models-prometheus-operator`: run scripts/test, which installs the pinned version)"
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report.as_array().unwrap().len(), expect_objects, "{out}");
}

/// `redmetrics generate` run on `config` (a `redmetrics.toml`) in a fresh temporary
/// directory, never the repository's `deploy/`: the directory, with `deploy/<app>/` inside.
pub fn generate_fresh(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("redmetrics.toml"), config).unwrap();
    let out = redmetrics(dir.path(), &["generate"]);
    assert!(
        out.status.success(),
        "generate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Runs `redmetrics generate` on each bad config: exit 2, exactly `redmetrics: error:
/// bad.toml: <expected>` on stderr, and nothing written.
pub fn assert_generate_refuses(cases: &[(String, &str)]) {
    let tmp = tempfile::tempdir().unwrap();
    for (config, expected) in cases {
        std::fs::write(tmp.path().join("bad.toml"), config).unwrap();
        let out = redmetrics(
            tmp.path(),
            &["generate", "--config", "bad.toml", "--out", "out"],
        );
        assert_eq!(out.status.code(), Some(2), "{config}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("redmetrics: error: bad.toml: {expected}\n"),
            "{config}"
        );
        assert!(!tmp.path().join("out").exists(), "nothing written on error");
    }
}

/// Every target expression of a generated dashboard as `(panel title, legend, expr)`, its
/// Grafana variables set to `namespace` and `job` and `$__rate_interval` to 1m.
pub fn panel_queries(
    dashboard: &Value,
    namespace: &str,
    job: &str,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "1m")
                .replace("$namespace", namespace)
                .replace("$job", job);
            out.push((
                panel["title"].as_str().unwrap().to_owned(),
                t["legendFormat"].as_str().unwrap_or_default().to_owned(),
                expr,
            ));
        }
    }
    out
}

/// Prometheus as the operator configures it from the generated ReviewMaps ServiceMonitor:
/// each demo a pod (`reviewmaps-server-<i>`) with `namespace` and `service` labels, `job`
/// the Service name, scraped every second, `rules.yaml` loaded; `metric_relabel` as the
/// scrape's `metric_relabel_configs`.
pub fn operator_prometheus_config(demos: &[&str], metric_relabel: Option<Value>) -> String {
    let targets: Vec<Value> = demos
        .iter()
        .enumerate()
        .map(|(i, d)| {
            serde_json::json!({
                "targets": [d],
                "labels": {
                    "namespace": "reviewmaps",
                    "service": "reviewmaps-server",
                    "pod": format!("reviewmaps-server-{i}"),
                },
            })
        })
        .collect();
    let mut scrape = serde_json::json!({
        "job_name": "serviceMonitor/reviewmaps/reviewmaps-server/0",
        "scrape_timeout": "1s",
        "static_configs": targets,
        "relabel_configs": [{ "target_label": "job", "replacement": "reviewmaps-server" }],
    });
    if let Some(r) = metric_relabel {
        scrape["metric_relabel_configs"] = r;
    }
    serde_json::json!({
        "global": { "scrape_interval": "1s", "evaluation_interval": "1s" },
        "rule_files": ["rules.yaml"],
        "scrape_configs": [scrape],
    })
    .to_string()
}
