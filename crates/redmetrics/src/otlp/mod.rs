//! OTLP/HTTP export (feature `otlp`): a tokio task that reads the same series the Prometheus
//! endpoint renders ([`HttpMetrics::series`]) every interval and pushes them to an
//! OpenTelemetry receiver as protobuf (`POST <endpoint>/v1/metrics`; over https too with
//! feature `otlp-https`). One recording, two outputs: the request path is untouched, and no
//! OpenTelemetry SDK is involved.
//!
//! ```no_run
//! # async fn run(metrics: redmetrics::HttpMetrics) -> Result<(), redmetrics::otlp::OtlpError> {
//! use std::time::Duration;
//! use redmetrics::otlp::OtlpExporter;
//!
//! let exporter = OtlpExporter::builder(&metrics, "http://127.0.0.1:4318")
//!     .interval(Duration::from_secs(10))
//!     .header("x-api-key", "s3cret")
//!     .service_version(env!("CARGO_PKG_VERSION"))
//!     .spawn()?;                                   // on the current tokio runtime
//! // ... serve ...
//! exporter.shutdown().await;                       // one last export, then stop
//! # Ok(()) }
//! ```
//!
//! What is exported (resource `service.name` = the contract's prefix unless set,
//! `service.version`; scope `redmetrics`):
//!
//! | OTLP metric | type, unit | attributes | from |
//! |---|---|---|---|
//! | `http.server.request.duration` | histogram, `s` | `http.request.method`, `http.route`, `http.response.status_code` (and `error.type` for 5xx) | the per-status latency histograms (same buckets as `<p>_http_request_duration_seconds`) |
//! | `redmetrics.http.server.requests` | monotonic sum, `{request}` | the same plus `http.response.status_code` (and `error.type` for 5xx) | `<p>_http_requests_total` |
//! | `http.server.active_requests` | non-monotonic sum, `{request}` | – | `<p>_http_active_connections` |
//! | `http.server.request.body.size`, `http.server.response.body.size` | histogram (or summary), `By` | method, route | the size histograms (or summaries) |
//!
//! Latency is kept per (method, route, status) as well as per (method, route) by default
//! ([`DurationByStatus::Otlp`](crate::contract::DurationByStatus)), so
//! `http.server.request.duration` carries `http.response.status_code`, and `error.type` (the
//! status code as a string) for server errors, as the stable conventions ask; its counts per
//! status equal `redmetrics.http.server.requests`. With `DurationByStatus::Off` the points
//! are per (method, route) without a status, rather than inventing one. With the
//! contract's default summary sizes the size metrics are OTLP summaries (count, sum and the
//! quantiles of the window; OTLP summaries are always cumulative). `OTHER` methods are the
//! conventions' `_OTHER`; an unmatched request has no `http.route`; the `__overflow__`
//! series is marked `otel.metric.overflow = true`. `network.protocol.version` and
//! `url.scheme` come from the requests (the version always; the scheme when the request URI
//! carries one, as HTTP/2's `:scheme` and absolute-form HTTP/1.1 requests do) and are set on
//! a route's points when all its requests agreed; a route seen over two versions, or with
//! and without a scheme, gets neither rather than a guess. `server.address` (opt-in) is not
//! recorded.
//!
//! Temporality is cumulative by default: every point starts at the process start (the
//! first moment any series can have counted), so a point sent after an outage carries the
//! whole count with the same start. [`Temporality::Delta`] sends each series' change since
//! the last snapshot the receiver accepted, starting at that snapshot's time (unchanged
//! series are left out; `active_requests` stays cumulative, as the SDKs keep
//! up-down counters).
//!
//! Failures never reach the request path. A snapshot the receiver did not take waits in a
//! bounded queue ([`queue_capacity`](OtlpExporterBuilder::queue_capacity), 8 by default)
//! and is retried with exponential backoff (honouring `Retry-After` in seconds, at most
//! 300 s, on 429, 502, 503 and 504, the answers OTLP calls retryable, like a network error or
//! a timeout); past the bound the oldest is dropped. So is a snapshot the receiver refused
//! for good (any other status, such as 400 or 401: sending the same bytes again cannot help;
//! redirects are not followed). Every drop is counted by [`DropReason`] in
//! `redmetrics_otlp_dropped_exports_total{reason}` on the metrics endpoint (`queue_full`,
//! `redirect`, `unauthorized`, `rejected`, `server_error`; each from 0) and logged as a
//! `tracing` warning, at most one line per reason a minute, which says how many went unlogged
//! meanwhile. A dropped snapshot loses time resolution, not counts: see [`OtlpStats`].

mod client;
mod convert;
mod drops;
mod queue;
mod snapshot;
#[cfg(feature = "otlp-https")]
mod tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderName, HeaderValue, Uri};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::metrics::Counter;
use crate::middleware::{HttpMetrics, SeriesView};
use crate::registry::RegistryError;
use client::{Outcome, Transport};
use convert::Convert;
pub use drops::DropReason;
use drops::Drops;
use queue::{Backoff, Queue};
use snapshot::{Snapshot, unix_nanos};
#[cfg(feature = "otlp-https")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp-https")))]
pub use tls::{TlsError, rustls_config};

/// Name of the counter of snapshots dropped (queue full, or refused by the receiver), by
/// `reason` ([`DropReason`]).
pub const DROPPED_EXPORTS: &str = "redmetrics_otlp_dropped_exports_total";

/// Shortest export interval accepted.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Longest export interval accepted.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Longest timeout accepted for one export.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);
/// Most snapshots the queue may be configured to hold.
pub const MAX_QUEUE: usize = 1024;
/// Most headers accepted.
pub const MAX_HEADERS: usize = 64;

/// How points are aggregated over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Temporality {
    /// Everything since the start, every time (the default; what Prometheus counts).
    #[default]
    Cumulative,
    /// The change since the last snapshot the receiver accepted.
    Delta,
}

/// Why an exporter could not be built or started. Each says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// The endpoint is not a usable `http://host:port` URL.
    #[error("OTLP endpoint `{url}`: {reason}")]
    Endpoint {
        /// The URL given.
        url: String,
        /// What is wrong with it and what to write instead.
        reason: String,
    },
    /// A header name or value cannot be sent.
    #[error("OTLP header `{name}`: {reason}")]
    Header {
        /// The header name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting is outside its bounds.
    #[error("OTLP {setting}: {reason}")]
    Setting {
        /// Which setting.
        setting: &'static str,
        /// The bound it must keep.
        reason: String,
    },
    /// `redmetrics_otlp_dropped_exports_total` could not be registered (a second exporter
    /// on the same registry).
    #[error(
        "registering {DROPPED_EXPORTS}: {0} (one exporter per registry: export every app from one)"
    )]
    Registry(#[from] RegistryError),
    /// The TLS setup failed (feature `otlp-https`): unreadable CA certificates.
    #[error("OTLP https: {reason}")]
    Tls {
        /// What is wrong and what to give instead.
        reason: String,
    },
    /// [`spawn`](OtlpExporterBuilder::spawn) was called outside a tokio runtime.
    #[error("the OTLP exporter is a tokio task: call spawn() inside a tokio runtime")]
    NoRuntime,
}

/// Configures an exporter; see the [module docs](self).
#[derive(Debug)]
#[must_use]
pub struct OtlpExporterBuilder {
    series: SeriesView<'static>,
    registry: crate::Registry,
    endpoint: String,
    headers: Vec<(String, String)>,
    interval: Duration,
    timeout: Duration,
    gzip: bool,
    temporality: Temporality,
    service_name: String,
    service_version: String,
    queue_capacity: usize,
    initial_backoff: Duration,
    max_backoff: Duration,
    /// Start of every cumulative series, read once.
    start_unix_nano: u64,
    /// PEM CA certificates trusted instead of the system's roots.
    #[cfg(feature = "otlp-https")]
    ca_pem: Option<Vec<u8>>,
}

impl OtlpExporterBuilder {
    /// Export every `interval` (default 10 s; 100 ms to 1 h).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Give up on one export after `timeout` (connect, send and answer; default 10 s, at
    /// most 5 min). A timed-out export is retried.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Send this header with every export (an API key, a tenant); repeatable.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Compress exports with gzip (default on).
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = on;
        self
    }

    /// Cumulative (default) or delta points.
    pub fn temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }

    /// The resource's `service.name` (default: the contract's prefix).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// The resource's `service.version` (default `unknown`); pass
    /// `env!("CARGO_PKG_VERSION")`, as to `HttpMetricsBuilder::version`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = version.into();
        self
    }

    /// Snapshots kept while the receiver is unreachable (default 8, 1 to 1024).
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }

    /// Retry backoff: the first wait and the longest (defaults 1 s and 30 s).
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Trust only these CA certificates (PEM) for an https endpoint, instead of the
    /// system's roots: a collector with a private CA.
    #[cfg(feature = "otlp-https")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp-https")))]
    pub fn ca_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// The body one export would send now, cumulative (gzip-compressed unless
    /// [`gzip(false)`](Self::gzip)): to look at what a receiver gets, or to measure the
    /// conversion (`bench/harness`). Reads the series like an export; sends nothing.
    pub fn encode_now(&self) -> Vec<u8> {
        let convert = Convert::new(
            &self.service_name,
            &self.service_version,
            Temporality::Cumulative,
            self.start_unix_nano,
        );
        let request = convert.request(&Snapshot::read(&self.series), None);
        client::body(&request, self.gzip).bytes.into()
    }

    /// Checks every setting and starts the export task on the current tokio runtime.
    pub fn spawn(self) -> Result<OtlpExporter, OtlpError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| OtlpError::NoRuntime)?;
        let task = self.task()?;
        let stats = Arc::clone(&task.stats);
        let stop = Arc::clone(&task.stop);
        let handle = runtime.spawn(task.run());
        Ok(OtlpExporter {
            stats,
            stop,
            handle,
        })
    }

    fn task(self) -> Result<Task, OtlpError> {
        let uri = endpoint_uri(&self.endpoint)?;
        let headers = headers(&self.headers)?;
        let bounded = |setting, ok: bool, reason: &str| {
            if ok {
                Ok(())
            } else {
                Err(OtlpError::Setting {
                    setting,
                    reason: reason.to_owned(),
                })
            }
        };
        bounded(
            "interval",
            (MIN_INTERVAL..=MAX_INTERVAL).contains(&self.interval),
            "must be between 100ms and 1h",
        )?;
        bounded(
            "timeout",
            !self.timeout.is_zero() && self.timeout <= MAX_TIMEOUT,
            "must be above zero and at most 5 minutes",
        )?;
        bounded(
            "queue capacity",
            (1..=MAX_QUEUE).contains(&self.queue_capacity),
            "must be between 1 and 1024 snapshots",
        )?;
        bounded(
            "backoff",
            !self.initial_backoff.is_zero() && self.max_backoff <= MAX_INTERVAL,
            "the first wait must be above zero and the longest at most 1h",
        )?;
        let http = client::http_connector(self.timeout);
        #[cfg(feature = "otlp-https")]
        let connector = tls::connector(http, self.ca_pem.as_deref())
            .map_err(|reason| OtlpError::Tls { reason })?;
        #[cfg(not(feature = "otlp-https"))]
        let connector = http;
        let dropped = self.registry.family::<Counter, 1>(
            DROPPED_EXPORTS,
            "OTLP export snapshots dropped, by reason: queue_full (the receiver was unreachable or busy too long), redirect, unauthorized, rejected (another 4xx), server_error (a 5xx not retried)",
            ["reason"],
            (),
        )?;
        Ok(Task {
            series: self.series,
            transport: Transport::new(connector, uri, headers, self.gzip, self.timeout),
            convert: Convert::new(
                &self.service_name,
                &self.service_version,
                self.temporality,
                self.start_unix_nano,
            ),
            interval: self.interval,
            queue: Queue::new(self.queue_capacity),
            backoff: Backoff::new(self.initial_backoff, self.max_backoff),
            stats: Arc::default(),
            stop: Arc::default(),
            drops: Drops::new(dropped),
        })
    }
}

/// A running exporter. Dropping it leaves the task running for the life of the runtime;
/// [`shutdown`](Self::shutdown) sends one last export and stops it.
#[derive(Debug)]
pub struct OtlpExporter {
    stats: Arc<Counts>,
    stop: Arc<Notify>,
    handle: JoinHandle<()>,
}

/// What the exporter has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct OtlpStats {
    /// Exports the receiver accepted.
    pub delivered: u64,
    /// Export attempts that failed and will be retried (network error, timeout, 429/5xx).
    pub failed_attempts: u64,
    /// Snapshots dropped: the queue was full, or the receiver refused them for good. The
    /// next delivered export still carries their counts (see the module docs).
    pub dropped: u64,
    /// Data points the receiver reported rejecting in an accepted export (partial success).
    pub rejected_points: u64,
}

impl OtlpExporter {
    /// Starts configuring an exporter of `metrics`' series to the OTLP/HTTP receiver at
    /// `endpoint` (`http://host:port`, optionally with a base path; `/v1/metrics` is
    /// appended unless the URL already ends with it).
    pub fn builder(metrics: &HttpMetrics, endpoint: impl Into<String>) -> OtlpExporterBuilder {
        OtlpExporterBuilder {
            series: metrics.series(),
            registry: metrics.registry().clone(),
            endpoint: endpoint.into(),
            headers: Vec::new(),
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            gzip: true,
            temporality: Temporality::Cumulative,
            service_name: metrics.contract().prefix().as_str().to_owned(),
            service_version: "unknown".to_owned(),
            queue_capacity: 8,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            start_unix_nano: start_unix_nano(),
            #[cfg(feature = "otlp-https")]
            ca_pem: None,
        }
    }

    /// Counts of what happened so far.
    pub fn stats(&self) -> OtlpStats {
        self.stats.read()
    }

    /// Takes one last snapshot, tries to deliver what is queued (each try bounded by the
    /// timeout), and stops the task.
    pub async fn shutdown(self) {
        self.stop.notify_one();
        // A panicked task has nothing left to deliver.
        let _ = self.handle.await;
    }
}

#[derive(Debug, Default)]
struct Counts {
    delivered: AtomicU64,
    failed_attempts: AtomicU64,
    dropped: AtomicU64,
    rejected_points: AtomicU64,
}

impl Counts {
    fn read(&self) -> OtlpStats {
        OtlpStats {
            delivered: self.delivered.load(Ordering::Relaxed),
            failed_attempts: self.failed_attempts.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            rejected_points: self.rejected_points.load(Ordering::Relaxed),
        }
    }
}

/// The export loop and everything it owns.
struct Task {
    series: SeriesView<'static>,
    transport: Transport,
    convert: Convert,
    interval: Duration,
    queue: Queue,
    backoff: Backoff,
    stats: Arc<Counts>,
    stop: Arc<Notify>,
    drops: Drops,
}

impl Task {
    async fn run(mut self) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The last snapshot the receiver accepted: the base of the next delta.
        let mut delivered: Option<Snapshot> = None;
        let mut retry_at: Option<tokio::time::Instant> = None;
        loop {
            let stopping = tokio::select! {
                _ = ticks.tick() => {
                    self.enqueue();
                    false
                }
                () = sleep_until(retry_at), if retry_at.is_some() => {
                    retry_at = None;
                    false
                }
                () = self.stop.notified() => {
                    self.enqueue();
                    true
                }
            };
            if retry_at.is_none() || stopping {
                retry_at = self.drain(&mut delivered, stopping).await;
            }
            if stopping {
                return;
            }
        }
    }

    fn enqueue(&mut self) {
        if self.queue.push(Snapshot::read(&self.series)) {
            let detail = format!(
                "the oldest of {} snapshots waiting for the receiver",
                self.queue.capacity()
            );
            self.drop_one(DropReason::QueueFull, &detail);
        }
    }

    fn drop_one(&mut self, reason: DropReason, detail: &str) {
        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        self.drops.drop_one(reason, detail);
    }

    /// Sends queued snapshots oldest first until the queue is empty or one fails; returns
    /// when to try again after a failure. When `stopping`, one try each, no waiting.
    async fn drain(
        &mut self,
        delivered: &mut Option<Snapshot>,
        stopping: bool,
    ) -> Option<tokio::time::Instant> {
        while let Some(head) = self.queue.front() {
            let body = self
                .transport
                .body(&self.convert.request(head, delivered.as_ref()));
            match self.transport.send(body).await {
                Outcome::Delivered { rejected } => {
                    self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .rejected_points
                        .fetch_add(rejected, Ordering::Relaxed);
                    self.backoff.reset();
                    *delivered = self.queue.pop();
                }
                Outcome::Rejected { why, detail } => {
                    // Refused for good: retrying the same bytes cannot help. Its counts
                    // reach the receiver with the next snapshot delivered.
                    self.queue.pop();
                    self.drop_one(why, &detail);
                }
                Outcome::Retry { after, .. } => {
                    self.stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
                    if stopping {
                        return None;
                    }
                    let wait = self.backoff.delay(after);
                    return Some(tokio::time::Instant::now() + wait);
                }
            }
        }
        None
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// The start of every cumulative series: the process start where the platform tells it
/// (every series counts from zero after it), else now.
fn start_unix_nano() -> u64 {
    let now = SystemTime::now();
    let process = crate::process::read()
        .start_time_seconds
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(s).ok()?))
        .filter(|t| *t <= now);
    unix_nanos(process.unwrap_or(now))
}

/// `http://host:port[/base]` to `…/v1/metrics`.
fn endpoint_uri(url: &str) -> Result<Uri, OtlpError> {
    let bad = |reason: &str| OtlpError::Endpoint {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    if url.len() > 2048 {
        return Err(bad("longer than 2048 bytes"));
    }
    let uri: Uri = url
        .parse()
        .map_err(|_| bad("not a URL; write it as http://host:4318"))?;
    let scheme = match uri.scheme_str() {
        Some("http") => "http",
        Some("https") if cfg!(feature = "otlp-https") => "https",
        Some("https") => {
            return Err(bad(
                "https needs the feature `otlp-https`; or export over http to a local OpenTelemetry Collector, which forwards with TLS",
            ));
        }
        _ => return Err(bad("needs http://, e.g. http://127.0.0.1:4318")),
    };
    let Some(authority) = uri.authority() else {
        return Err(bad("needs a host, e.g. http://127.0.0.1:4318"));
    };
    if authority.as_str().contains('@') {
        return Err(bad(
            "credentials in the URL are not sent; use a header (--otlp-header) instead",
        ));
    }
    if uri.query().is_some() {
        return Err(bad("takes no query string"));
    }
    let base = uri.path().trim_end_matches('/');
    let path = if base.ends_with("/v1/metrics") {
        base.to_owned()
    } else {
        format!("{base}/v1/metrics")
    };
    Uri::builder()
        .scheme(scheme)
        .authority(authority.clone())
        .path_and_query(path)
        .build()
        .map_err(|e| bad(&e.to_string()))
}

fn headers(given: &[(String, String)]) -> Result<Vec<(HeaderName, HeaderValue)>, OtlpError> {
    if given.len() > MAX_HEADERS {
        return Err(OtlpError::Setting {
            setting: "headers",
            reason: format!("at most {MAX_HEADERS}"),
        });
    }
    given
        .iter()
        .map(|(k, v)| {
            let bad = |reason: &str| OtlpError::Header {
                name: k.clone(),
                reason: reason.to_owned(),
            };
            let name = HeaderName::try_from(k.trim())
                .map_err(|_| bad("not a header name (letters, digits and -)"))?;
            if matches!(
                name.as_str(),
                "content-type" | "content-encoding" | "content-length" | "host"
            ) {
                return Err(bad("set by the exporter itself"));
            }
            let mut value = HeaderValue::try_from(v.trim())
                .map_err(|_| bad("the value holds a forbidden byte (a newline?)"))?;
            value.set_sensitive(true);
            Ok((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_v1_metrics_once_and_bad_ones_say_what_to_write() {
        let ok = |u: &str| endpoint_uri(u).map(|u| u.to_string());
        assert_eq!(
            ok("http://127.0.0.1:4318").as_deref(),
            Ok("http://127.0.0.1:4318/v1/metrics")
        );
        assert_eq!(
            ok("http://collector:4318/otlp/").as_deref(),
            Ok("http://collector:4318/otlp/v1/metrics")
        );
        assert_eq!(
            ok("http://c:4318/v1/metrics").as_deref(),
            Ok("http://c:4318/v1/metrics")
        );
        if cfg!(feature = "otlp-https") {
            assert_eq!(
                ok("https://c:4318").as_deref(),
                Ok("https://c:4318/v1/metrics")
            );
        } else {
            let e = endpoint_uri("https://c:4318").unwrap_err().to_string();
            assert!(e.contains("otlp-https"), "{e}");
        }
        for (url, says) in [
            ("ftp://c", "http://"),
            ("127.0.0.1:4318", "http://"),
            ("http://u:p@c:4318", "header"),
            ("http://c:4318/?a=b", "query"),
            ("not a url", "http://"),
        ] {
            let e = endpoint_uri(url).unwrap_err().to_string();
            assert!(e.contains(says), "{url}: {e}");
        }
    }

    #[test]
    fn headers_are_checked() {
        assert!(headers(&[("x-api-key".into(), "k".into())]).is_ok());
        let e = headers(&[("bad name".into(), "v".into())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a header name"), "{e}");
        let e = headers(&[("x".into(), "a\nb".into())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("forbidden"), "{e}");
        let e = headers(&[("Content-Type".into(), "x".into())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("exporter itself"), "{e}");
    }
}
