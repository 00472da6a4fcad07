//! `redmetrics demo`: a small campaigns API, instrumented, to try the metrics, the
//! live page and the generated artifacts on without a service of one's own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use redmetrics::live::LivePage;
use redmetrics::{HttpMetrics, MetricsEndpoint};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{self, Config, Resolved};

mod alertmanager;
mod cache;
mod links;
mod local;
mod otlp;
mod prometheus;
mod sinks;
mod traceparent;

/// Options of `redmetrics demo`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DemoArgs {
    /// Address to listen on, as HOST:PORT; port 0 picks a free one (the log says which).
    #[arg(long, default_value = "127.0.0.1:3000", value_parser = listen_address)]
    pub(crate) listen: SocketAddr,
    /// Metric name prefix (the application name).
    #[arg(long, default_value = "reviewmaps", conflicts_with = "config")]
    pub(crate) prefix: String,
    /// Path the metrics endpoint is served at.
    #[arg(long, default_value = "/metrics", conflicts_with = "config")]
    pub(crate) metrics_path: String,
    /// Serve an app of this redmetrics.toml: its prefix, metrics path and contract (sizes,
    /// buckets, label-set bound).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// With --config: which app (needed when the file has several).
    #[arg(long, value_name = "NAME", requires = "config")]
    pub(crate) app: Option<String>,
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
    /// Serve the metrics only to `Authorization: Bearer TOKEN` (401 otherwise); also
    /// --metrics-token-file, or the environment variable REDMETRICS_METRICS_TOKEN.
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["metrics_token_file", "with_prometheus"])]
    pub(crate) metrics_token: Option<String>,
    /// Read the metrics token from this file (its trailing newline is dropped).
    #[arg(long, value_name = "FILE", conflicts_with = "with_prometheus")]
    pub(crate) metrics_token_file: Option<std::path::PathBuf>,
    /// Where that Prometheus listens.
    #[arg(long, default_value = "127.0.0.1:9090", requires = "with_prometheus", value_parser = listen_address)]
    pub(crate) prometheus_listen: SocketAddr,
    /// Where the Alertmanager started with --with-prometheus listens (when one is installed).
    #[arg(long, default_value = "127.0.0.1:9093", requires = "with_prometheus", value_parser = listen_address)]
    pub(crate) alertmanager_listen: SocketAddr,
    #[command(flatten)]
    pub(crate) otlp: otlp::OtlpArgs,
}

/// A listen address; a bare port is refused with the form it needs.
fn listen_address(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|_| {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            format!("expected HOST:PORT, e.g. `127.0.0.1:{s}`")
        } else {
            "expected HOST:PORT, e.g. `127.0.0.1:3000` (or `0.0.0.0:3000` for every interface)"
                .to_owned()
        }
    })
}

impl DemoArgs {
    /// The app the demo serves: one of `--config`, or one made from `--prefix` and
    /// `--metrics-path`. Both go through the same validated constructor.
    fn resolve(&self) -> Result<Resolved> {
        if let Some(path) = &self.config {
            let config = Config::load(path)?;
            return Ok(config
                .app(self.app.as_deref())
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                .clone());
        }
        config::prefix_app(&self.prefix, &self.metrics_path).map_err(|e| match e.field.as_str() {
            "metrics_path" => anyhow::anyhow!("--metrics-path: {}", e.rule),
            _ => anyhow::anyhow!("--prefix: {}", e.rule),
        })
    }
}

#[derive(Debug)]
struct AppState {
    flaky_calls: AtomicU64,
    fail_every: u64,
    next_id: AtomicU64,
}

/// Runs the demo until Ctrl-C.
pub(crate) async fn run(args: DemoArgs) -> Result<()> {
    let served = args.resolve()?;
    let mut builder = HttpMetrics::builder(served.contract.clone())
        .version(env!("CARGO_PKG_VERSION"))
        .metrics_path(&served.app.metrics_path);
    if let Some(bound) = served.max_label_sets {
        builder = builder.max_label_sets(bound);
    }
    let metrics = builder.build().context("metrics")?;
    cache::install(&metrics, served.prefix())?;
    let _otlp = otlp::start(&args.otlp, &metrics, served.prefix())?;
    let token = crate::secret::token(
        args.metrics_token.as_deref(),
        args.metrics_token_file.as_deref(),
        "--metrics-token-file",
        "REDMETRICS_METRICS_TOKEN",
    )
    .map_err(anyhow::Error::msg)?;
    let endpoint = match &token {
        Some(t) => metrics.endpoint().bearer_token(t.clone()),
        None => metrics.endpoint(),
    };
    let inbox = sinks::Inbox::default();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!("listening on http://{addr} (prefix {})", served.prefix());
    tracing::info!("live page at http://{addr}/ (also /metrics/live)");
    tracing::info!(
        "metrics at http://{addr}{}{}",
        served.app.metrics_path,
        if token.is_some() {
            " (bearer token required)"
        } else {
            ""
        }
    );
    tracing::info!(
        "try: curl -s http://{addr}{} | grep {}_http_requests_total",
        served.app.metrics_path,
        served.prefix()
    );
    if args.traffic {
        tracing::info!("driving {} requests/s against http://{addr}", args.rate);
        tokio::spawn(traffic(addr, args.rate));
    }
    // Kept alive until the demo exits; dropping them stops Prometheus and Alertmanager.
    let (_alertmanager, _prometheus) = if args.with_prometheus {
        let local = prometheus::local_app(&served)?;
        // Alertmanager and Prometheus reach the demo over loopback even when it listens on
        // every interface.
        let reach = if addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        };
        let smtp = sinks::start_smtp(inbox.clone()).await?;
        let endpoints = alertmanager::sink_endpoints(reach, smtp);
        let am = alertmanager::start(&local, args.alertmanager_listen, &endpoints).await?;
        if am.is_some() {
            tracing::info!(
                "notifications (Slack, e-mail, PagerDuty sinks): http://{reach}{}",
                sinks::NOTIFICATIONS_PATH
            );
        }
        let prom = prometheus::start(
            &served,
            args.prometheus_listen,
            reach,
            am.as_ref().map(|a| a.server.addr),
        )
        .await?;
        (am, prom)
    } else {
        (None, None)
    };
    let mut live = metrics.live_page(&endpoint);
    if _prometheus.is_some() {
        live = live.links(links::prometheus_links(&served, args.prometheus_listen));
    }
    let sinks = sinks::routes(inbox, endpoint.clone());
    let app = app(&metrics, endpoint, live, args.fail_every).merge(sinks);
    // The library's bounded listener: stalled clients time out, connections are capped.
    tokio::select! {
        served = redmetrics::serve_service(listener, redmetrics::ServeConfig::default(), app) => {
            served.context("server failed")
        }
        () = shutdown() => Ok(()),
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
/// The metrics and the live page are served by `endpoint`'s rules (e.g. a token).
pub(crate) fn app(
    metrics: &HttpMetrics,
    endpoint: MetricsEndpoint,
    live: LivePage,
    fail_every: u64,
) -> Router {
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
        // An explicit fallback, inside the layer: routers merged into this one later (the
        // notification sinks) keep it, so unmatched requests stay measured.
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(state)
        .layer(metrics.axum_layer())
        .route_service(metrics.metrics_path(), endpoint)
        .route_service("/", live.clone())
        .route_service("/metrics/live", live.clone())
        .route_service(redmetrics::live::DEFAULT_FEED_PATH, live)
}

fn campaign(id: u64) -> Value {
    json!({ "id": id, "title": format!("Campaign {id}"), "reward": "free dinner for two" })
}

async fn list_campaigns() -> Json<Value> {
    Json(Value::Array((1..=20).map(campaign).collect()))
}

async fn get_campaign(Path(id): Path<String>) -> Result<Json<Value>, StatusCode> {
    cache::lookup(id.parse().ok());
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
    let run = traceparent::run_id();
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
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .header("content-type", "application/json");
        if let Some(tp) = traceparent::for_request(run, n) {
            req = req.header("traceparent", tp);
        }
        let Ok(req) = req.body(Full::new(bytes::Bytes::from_static(body.as_bytes()))) else {
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
