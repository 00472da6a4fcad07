//! One HTTP GET with a timeout, for scraping endpoints and asking Prometheus' API.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A response: status, `Content-Type` and body.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
}

/// GETs `url` with `headers`, giving up after 10 seconds. Plain HTTP only.
pub(crate) async fn get(url: &str, headers: &[(&str, &str)]) -> Result<Fetched, String> {
    if url.starts_with("https://") {
        return Err(format!(
            "{url}: https is not supported; check through plain HTTP (e.g. `kubectl port-forward`)"
        ));
    }
    let uri: http::Uri = url.parse().map_err(|e| format!("{url}: not a URL: {e}"))?;
    let mut req = http::Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::new()))
        .map_err(|e| format!("{url}: {e}"))?;
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
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>(Fetched {
            status,
            content_type,
            body,
        })
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| format!("{url}: no answer within 10s"))?
        .map_err(|e| format!("{url}: {e}"))
}
