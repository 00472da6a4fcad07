//! The OTLP/HTTP transport: one `POST <endpoint>/v1/metrics` of a protobuf
//! `ExportMetricsServiceRequest` (gzip-compressed when asked) with the configured headers,
//! under one timeout for connect, send and the bounded read of the answer. The answer is
//! classified as the OTLP specification says: 2xx delivered, 429/502/503/504 and network
//! failures retryable (honouring `Retry-After` in seconds), anything else rejected.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;

use super::drops::DropReason;

/// Most bytes of an answer read (an OTLP answer is a few bytes; an error page is not needed
/// whole).
const MAX_ANSWER: usize = 64 * 1024;

/// The longest `Retry-After` honoured; a longer one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The connector: plain http, or http and https with feature `otlp-https`.
#[cfg(feature = "otlp-https")]
pub(crate) type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
/// The connector: plain http, or http and https with feature `otlp-https`.
#[cfg(not(feature = "otlp-https"))]
pub(crate) type Connector = HttpConnector;

/// A TCP connector giving up on a connect after `timeout`.
pub(crate) fn http_connector(timeout: Duration) -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(timeout));
    connector.set_nodelay(true);
    connector
}

/// What became of one export.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// 2xx: the receiver took it; `rejected` data points it refused (OTLP partial success).
    Delivered {
        /// Data points the receiver said it dropped.
        rejected: u64,
    },
    /// Worth trying again: after `after` if the receiver said so.
    Retry {
        /// The receiver's `Retry-After`.
        after: Option<Duration>,
        /// What went wrong, for the exporter's last error.
        reason: String,
    },
    /// The receiver refused it for good (400, 401, 413, ...): retrying would not help.
    Rejected {
        /// Why, as counted.
        why: DropReason,
        /// What the receiver said, control characters escaped, for the log.
        detail: String,
    },
}

/// Where and how exports are sent.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    client: Client<Connector, Full<Bytes>>,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    gzip: bool,
    timeout: Duration,
}

impl Transport {
    /// A transport to `uri` (already `…/v1/metrics`).
    pub(crate) fn new(
        connector: Connector,
        uri: Uri,
        headers: Vec<(HeaderName, HeaderValue)>,
        gzip: bool,
        timeout: Duration,
    ) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            uri,
            headers,
            gzip,
            timeout,
        }
    }

    /// The request body: protobuf, gzip-compressed when configured.
    pub(crate) fn body(&self, request: &ExportMetricsServiceRequest) -> Body {
        body(request, self.gzip)
    }

    /// Sends one body; never takes longer than the timeout.
    pub(crate) async fn send(&self, body: Body) -> Outcome {
        match tokio::time::timeout(self.timeout, self.exchange(body)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Retry {
                after: None,
                reason: format!("no answer within {:?}", self.timeout),
            },
        }
    }

    async fn exchange(&self, body: Body) -> Outcome {
        let mut req = http::Request::post(self.uri.clone())
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .header(
                header::USER_AGENT,
                concat!("redmetrics/", env!("CARGO_PKG_VERSION")),
            );
        if body.gzip {
            req = req.header(header::CONTENT_ENCODING, "gzip");
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let req = match req.body(Full::new(body.bytes)) {
            Ok(r) => r,
            // Not expected: the URL and the headers were checked when the exporter was built.
            Err(e) => {
                return Outcome::Rejected {
                    why: DropReason::Rejected,
                    detail: format!("building the request: {e}"),
                };
            }
        };
        let res = match self.client.request(req).await {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    after: None,
                    reason: format!("{}: {e}", self.uri),
                };
            }
        };
        let status = res.status();
        let retry_after = res
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let location = res
            .headers()
            .get(header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let answer = Limited::new(res.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        classify(status, retry_after, location.as_deref(), &answer)
    }
}

/// An encoded export: protobuf bytes, gzip-compressed or not.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    /// What goes on the wire.
    pub(crate) bytes: Bytes,
    /// Whether `bytes` are gzip (sent with `Content-Encoding: gzip`).
    pub(crate) gzip: bool,
}

/// `request` as protobuf, gzip-compressed (fastest level) when `gzip`.
pub(crate) fn body(request: &ExportMetricsServiceRequest, gzip: bool) -> Body {
    let raw = request.encode_to_vec();
    if gzip {
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(raw.len() / 4 + 64),
            flate2::Compression::fast(),
        );
        // Writing into a Vec does not fail; if it did, the body goes uncompressed.
        if let Ok(out) = gz.write_all(&raw).and_then(|()| gz.finish()) {
            return Body {
                bytes: out.into(),
                gzip: true,
            };
        }
    }
    Body {
        bytes: raw.into(),
        gzip: false,
    }
}

/// Most characters of the receiver's words (body, `Location`) kept for the log.
const MAX_QUOTED: usize = 200;

/// The first [`MAX_QUOTED`] characters of what a receiver said, control characters
/// escaped: it lands in a log line.
fn quoted(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars().take(MAX_QUOTED) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The OTLP/HTTP answer rules.
fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    location: Option<&str>,
    answer: &[u8],
) -> Outcome {
    if status.is_success() {
        let rejected = ExportMetricsServiceResponse::decode(answer)
            .ok()
            .and_then(|r| r.partial_success)
            .map_or(0, |p| u64::try_from(p.rejected_data_points).unwrap_or(0));
        return Outcome::Delivered { rejected };
    }
    let mut reason = format!(
        "HTTP {status}: {}",
        quoted(&String::from_utf8_lossy(
            &answer[..answer.len().min(4 * MAX_QUOTED)]
        ))
    );
    match status.as_u16() {
        429 | 502 | 503 | 504 => Outcome::Retry {
            after: retry_after,
            reason,
        },
        code => {
            let why = DropReason::of_status(code);
            if let (DropReason::Redirect, Some(to)) = (why, location) {
                reason = format!("{reason} (to {})", quoted(to));
            }
            Outcome::Rejected {
                why,
                detail: reason,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_as_the_otlp_spec_says() {
        let ok = classify(StatusCode::OK, None, None, b"");
        assert_eq!(ok, Outcome::Delivered { rejected: 0 });
        let busy = classify(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(Duration::from_secs(2)),
            None,
            b"",
        );
        assert!(
            matches!(busy, Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(2))
        );
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, None, None, b""),
            Outcome::Retry { after: None, .. }
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, None, None, b"bad"),
            Outcome::Rejected { why: DropReason::Rejected, detail } if detail.contains("bad")
        ));
        assert!(matches!(
            classify(StatusCode::TEMPORARY_REDIRECT, None, Some("http://elsewhere/"), b""),
            Outcome::Rejected { why: DropReason::Redirect, detail }
                if detail.contains("(to http://elsewhere/)")
        ));
        // What the receiver says reaches a log line: no raw control characters, bounded.
        let hostile = format!("line\nforged\x1b[31m{}", "x".repeat(10_000));
        let Outcome::Rejected { detail, .. } =
            classify(StatusCode::UNAUTHORIZED, None, None, hostile.as_bytes())
        else {
            panic!("401 is not retried")
        };
        assert!(!detail.chars().any(char::is_control), "{detail}");
        assert!(detail.contains("line\\nforged"), "{detail}");
        assert!(detail.len() < 300, "{}", detail.len());
    }
}
