//! `redmetrics demo`: an example API shaped like the seed's servers, instrumented.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use redmetrics::HttpMetrics;
use redmetrics::contract::Contract;
use serde::Deserialize;
use serde_json::{Value, json};

/// Options of `redmetrics demo`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DemoArgs {
    /// Address to listen on; port 0 picks a free one (the log says which).
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub(crate) listen: SocketAddr,
    /// Metric name prefix (the application name).
    #[arg(long, default_value = "reviewmaps")]
    pub(crate) prefix: String,
    /// Path the metrics endpoint is served at.
    #[arg(long, default_value = "/metrics")]
    pub(crate) metrics_path: String,
    /// Drive a light built-in load against the API so the numbers move.
    #[arg(long)]
    pub(crate) traffic: bool,
    /// Requests per second of the built-in load.
    #[arg(long, default_value_t = 20, requires = "traffic")]
    pub(crate) rate: u32,
    /// `/v1/flaky` answers 500 on every Nth call (1 = always).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) fail_every: u64,
    /// Also start Prometheus (from PATH) scraping the demo as the generated ServiceMonitor
    /// would, with the generated alert rules loaded.
    #[arg(long)]
    pub(crate) with_prometheus: bool,
    /// Where that Prometheus listens.
    #[arg(long, default_value = "127.0.0.1:9090", requires = "with_prometheus")]
    pub(crate) prometheus_listen: SocketAddr,
}

#[derive(Debug)]
struct AppState {
    flaky_calls: AtomicU64,
    fail_every: u64,
    next_id: AtomicU64,
}

/// Runs the demo until Ctrl-C.
pub(crate) async fn run(args: DemoArgs) -> Result<()> {
    let contract = Contract::seed(&args.prefix).context("--prefix")?;
    let metrics = HttpMetrics::builder(contract)
        .version(env!("CARGO_PKG_VERSION"))
        .metrics_path(&args.metrics_path)
        .build()
        .context("--metrics-path")?;
    let app = app(&metrics, args.fail_every);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!("listening on http://{addr} (prefix {})", args.prefix);
    tracing::info!("metrics at http://{addr}{}", args.metrics_path);
    tracing::info!(
        "try: curl -s http://{addr}{} | grep {}_http_requests_total",
        args.metrics_path,
        metrics.contract().prefix()
    );
    if args.traffic {
        tracing::info!("driving {} requests/s against http://{addr}", args.rate);
        tokio::spawn(traffic(addr, args.rate));
    }
    // Kept alive until the demo exits; dropping it stops Prometheus.
    let _prometheus = if args.with_prometheus {
        local_prometheus::start(&args, addr)?
    } else {
        None
    };
    // The library's bounded listener: stalled clients time out, connections are capped.
    tokio::select! {
        served = redmetrics::serve_service(listener, redmetrics::ServeConfig::default(), app) => {
            served.context("server failed")
        }
        () = shutdown() => Ok(()),
    }
}

mod local_prometheus {
    //! `--with-prometheus`: the seed's verification steps, done on loopback.

    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};

    use anyhow::{Context, Result};

    use super::DemoArgs;
    use crate::config::{Config, PromDuration};
    use crate::{generate, scrape};

    /// A running Prometheus and its working directory; both go away on drop.
    pub(crate) struct Running {
        child: Child,
        _dir: tempfile::TempDir,
    }

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn find_prometheus() -> Option<PathBuf> {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join("prometheus"))
            .find(|p| p.is_file())
    }

    /// Starts Prometheus scraping the demo at `addr`, or explains how to get it.
    pub(crate) fn start(args: &DemoArgs, addr: SocketAddr) -> Result<Option<Running>> {
        let Some(binary) = find_prometheus() else {
            tracing::warn!(
                "--with-prometheus: no `prometheus` on PATH; install it (Debian/Ubuntu: \
                 `apt-get install prometheus`) and run again. Running the demo alone."
            );
            return Ok(None);
        };
        let name = args.prefix.replace('_', "-").to_ascii_lowercase();
        let config = format!(
            "[[apps]]\nname = \"{name}\"\nprefix = \"{prefix}\"\nnamespace = \"{name}\"\n\
             service = \"{name}-server\"\nport = \"http\"\nmetrics_path = \"{path}\"\n\
             interval = \"5s\"\nscrape_timeout = \"5s\"\n",
            prefix = args.prefix,
            path = args.metrics_path,
        );
        let apps =
            Config::parse(&config).context("--prefix/--metrics-path for --with-prometheus")?;
        let app = &apps[0];
        let dir = tempfile::tempdir().context("temporary directory for Prometheus")?;
        std::fs::write(dir.path().join("rules.yaml"), generate::rules_yaml(app)?)?;
        std::fs::write(
            dir.path().join("prometheus.yml"),
            scrape::prometheus_config(app, &[addr], PromDuration::from_secs(5), &["rules.yaml"])?,
        )?;
        let log = std::fs::File::create(dir.path().join("prometheus.log"))?;
        let child = Command::new(&binary)
            .arg("--config.file=prometheus.yml")
            .arg("--storage.tsdb.path=data")
            .arg(format!("--web.listen-address={}", args.prometheus_listen))
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let p = args.prometheus_listen;
        let requests = app
            .contract
            .family(redmetrics::contract::Role::Requests)
            .desc
            .name()
            .to_owned();
        tracing::info!(
            "prometheus ({}) on http://{p}, log in {}",
            binary.display(),
            dir.path().join("prometheus.log").display()
        );
        tracing::info!(
            "targets: http://{p}/targets   (job {} should be UP)",
            app.job
        );
        tracing::info!("alerts:  http://{p}/alerts    (HighErrorRate, HighLatencyP95, TargetDown)");
        tracing::info!("graph:   http://{p}/graph?g0.expr=rate({requests}%5B1m%5D)");
        Ok(Some(Running { child, _dir: dir }))
    }
}

/// Resolves on Ctrl-C or SIGTERM, so that a local Prometheus is stopped with the demo.
async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The demo API with metrics on it, as an application would write it.
pub(crate) fn app(metrics: &HttpMetrics, fail_every: u64) -> Router {
    let state = Arc::new(AppState {
        flaky_calls: AtomicU64::new(0),
        fail_every,
        next_id: AtomicU64::new(101),
    });
    Router::new()
        .route("/v1/campaigns", get(list_campaigns).post(create_campaign))
        .route("/v1/campaigns/{id}", get(get_campaign))
        .route("/v1/healthcheck", get(|| async { "ok" }))
        .route("/v1/flaky", get(flaky))
        .route("/v1/slow", get(slow))
        .with_state(state)
        .layer(metrics.layer())
        .route_service(metrics.metrics_path(), metrics.endpoint())
}

fn campaign(id: u64) -> Value {
    json!({ "id": id, "title": format!("Campaign {id}"), "reward": "free dinner for two" })
}

async fn list_campaigns() -> Json<Value> {
    Json(Value::Array((1..=20).map(campaign).collect()))
}

async fn get_campaign(Path(id): Path<String>) -> Result<Json<Value>, StatusCode> {
    match id.parse::<u64>() {
        Ok(id @ 1..=100) => Ok(Json(campaign(id))),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

async fn create_campaign(
    State(state): State<Arc<AppState>>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::CREATED,
        Json(json!({ "id": id, "campaign": body })),
    )
}

async fn flaky(State(state): State<Arc<AppState>>) -> Result<&'static str, StatusCode> {
    let n = state.flaky_calls.fetch_add(1, Ordering::Relaxed) + 1;
    if n % state.fail_every == 0 {
        Err(StatusCode::INTERNAL_SERVER_ERROR)
    } else {
        Ok("lucky")
    }
}

#[derive(Debug, Deserialize)]
struct SlowQuery {
    ms: Option<u64>,
}

async fn slow(Query(q): Query<SlowQuery>) -> &'static str {
    let ms = q.ms.unwrap_or(300).min(30_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "finally"
}

/// A light, bounded mix of requests against the demo itself (loopback only).
async fn traffic(addr: SocketAddr, rate: u32) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let in_flight = Arc::new(AtomicU64::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    for n in 0u64.. {
        tick.tick().await;
        // Bounded: never more than 64 requests of our own outstanding.
        if in_flight.load(Ordering::Relaxed) >= 64 {
            continue;
        }
        let (method, path, body) = match n % 20 {
            0..=5 => ("GET", "/v1/campaigns".to_owned(), ""),
            6..=11 => ("GET", format!("/v1/campaigns/{}", n % 120 + 1), ""),
            12 | 13 => ("POST", "/v1/campaigns".to_owned(), r#"{"title":"new"}"#),
            14 => ("GET", "/v1/healthcheck".to_owned(), ""),
            15..=17 => ("GET", "/v1/flaky".to_owned(), ""),
            18 => ("GET", format!("/v1/slow?ms={}", 100 + (n * 37) % 900), ""),
            _ => ("GET", format!("/wp-login.php?probe={n}"), ""),
        };
        let Ok(req) = http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .header("content-type", "application/json")
            .body(Full::new(bytes::Bytes::from_static(body.as_bytes())))
        else {
            continue;
        };
        let client = client.clone();
        let in_flight = Arc::clone(&in_flight);
        in_flight.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            if let Ok(res) = client.request(req).await {
                let _ = res.into_body().collect().await;
            }
            in_flight.fetch_sub(1, Ordering::Relaxed);
        });
    }
}
