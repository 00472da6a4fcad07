//! One HTTP GET with a timeout, for scraping endpoints and asking Prometheus' API.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::error::CheckError;

/// How long one exchange may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A response: status, `Content-Type` and body.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
}

/// GETs `url` with `headers`, giving up after 10 seconds. Plain HTTP only.
pub(crate) async fn get(url: &str, headers: &[(&str, &str)]) -> Result<Fetched, CheckError> {
    get_limited(url, headers, usize::MAX).await
}

async fn get_limited(
    url: &str,
    headers: &[(&str, &str)],
    max_bytes: usize,
) -> Result<Fetched, CheckError> {
    if url.starts_with("https://") {
        return Err(CheckError::Https {
            url: url.to_owned(),
        });
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| CheckError::BadUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let mut req = http::Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let failed = |reason: String| CheckError::Request {
        url: url.to_owned(),
        reason,
    };
    let req = req
        .body(Full::new(Bytes::new()))
        .map_err(|e| failed(e.to_string()))?;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let exchange = async {
        let res = client.request(req).await.map_err(|e| {
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                msg = format!("{msg}: {s}");
                source = s.source();
            }
            msg
        })?;
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = http_body_util::Limited::new(res.into_body(), max_bytes)
            .collect()
            .await
            .map_err(|e| match max_bytes {
                usize::MAX => e.to_string(),
                _ => format!("{e}: the answer is larger than {max_bytes} bytes"),
            })?
            .to_bytes();
        Ok::<_, String>(Fetched {
            status,
            content_type,
            body,
        })
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| CheckError::Timeout {
            url: url.to_owned(),
            seconds: TIMEOUT.as_secs(),
        })?
        .map_err(failed)
}

/// GETs `url` like [`get`], refusing a body larger than `max_bytes` as it streams in, so a
/// wrong or hostile peer cannot make the checker hold more than that.
pub(crate) async fn get_capped(url: &str, max_bytes: usize) -> Result<Fetched, CheckError> {
    get_limited(url, &[], max_bytes).await
}
