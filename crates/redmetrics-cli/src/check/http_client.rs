//! The scraping client of `check endpoint`: one GET over HTTP or HTTPS (rustls; the system
//! roots, or the CA of `--cacert`) with the user's headers (bearer token, `--header`), a cap
//! on the body read and a per-exchange timeout. A body over the cap is refused as soon as its
//! `Content-Length` or the bytes read pass it, never buffered whole.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use redmetrics::otlp::{TlsError, rustls_config};

use super::error::{CheckError, RequestFailure};
use super::fetch::Fetched;

/// Default cap on a scrape body: ten times a large real endpoint (a few MiB).
pub(crate) const DEFAULT_MAX_BODY: &str = "64MiB";

/// How long one exchange may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Environment variable holding the bearer token when `--bearer-token*` is not given.
pub(crate) const TOKEN_ENV: &str = "REDMETRICS_BEARER_TOKEN";

/// What every request of one check carries and may read.
#[derive(Debug, Clone)]
pub(crate) struct Scraper {
    /// Sent with every request (Authorization, `--header`).
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// Bytes of body read at most.
    pub(crate) max_body: usize,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Scraper {
    /// Builds the header list from `--header 'K: V'` lines and an optional bearer token, and
    /// a client trusting the system roots or, with `cacert`, only the CAs of that PEM file.
    pub(crate) fn new(
        header_lines: &[String],
        token: Option<&str>,
        max_body: usize,
        cacert: Option<&Path>,
    ) -> Result<Self, String> {
        let mut headers = Vec::new();
        for line in header_lines {
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("--header `{line}`: write it as 'Name: value'"))?;
            let name = HeaderName::try_from(k.trim())
                .map_err(|_| format!("--header `{line}`: `{}` is not a header name", k.trim()))?;
            let value = HeaderValue::try_from(v.trim())
                .map_err(|_| format!("--header `{line}`: the value holds a forbidden byte"))?;
            headers.push((name, value));
        }
        if let Some(token) = token {
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.trim()))
                .map_err(|_| "the bearer token holds a forbidden byte (a newline?)".to_owned())?;
            value.set_sensitive(true);
            headers.push((http::header::AUTHORIZATION, value));
        }
        Ok(Self {
            headers,
            max_body,
            client: client(cacert)?,
        })
    }

    /// GETs `url` with `accept`, reading at most `max_body` bytes of body.
    pub(crate) async fn get(&self, url: &str, accept: &str) -> Result<Fetched, CheckError> {
        let uri: http::Uri =
            url.parse()
                .map_err(|e: http::uri::InvalidUri| CheckError::BadUrl {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })?;
        let mut req = http::Request::get(uri).header(http::header::ACCEPT, accept);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let failed = |reason: String, kind: RequestFailure| CheckError::Request {
            url: url.to_owned(),
            reason,
            kind,
        };
        let too_large = || CheckError::TooLarge {
            url: url.to_owned(),
            limit: self.max_body,
        };
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| failed(e.to_string(), RequestFailure::Other))?;
        let exchange = async {
            resolves(req.uri())
                .await
                .map_err(|e| failed(e, RequestFailure::Unresolved))?;
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| failed(error_chain(&e), RequestFailure::of(&e)))?;
            let declared = res
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > self.max_body as u64) {
                return Err(too_large());
            }
            let status = res.status().as_u16();
            let content_type = res
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = Limited::new(res.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        too_large()
                    } else {
                        failed(e.to_string(), RequestFailure::of(e.as_ref()))
                    }
                })?
                .to_bytes();
            Ok(Fetched {
                status,
                content_type,
                body,
            })
        };
        tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
            .await
            .map_err(|_| CheckError::Timeout {
                url: url.to_owned(),
                seconds: EXCHANGE_TIMEOUT.as_secs(),
            })?
    }
}

/// A client for `http://` and `https://` URLs (HTTP/1.1), with the library's rustls setup:
/// the system's roots, or only the CAs of `cacert`.
fn client(
    cacert: Option<&Path>,
) -> Result<Client<HttpsConnector<HttpConnector>, Full<Bytes>>, String> {
    let bad = |path: &Path, e: &dyn std::fmt::Display| {
        format!(
            "--cacert {}: {e} (give a PEM file of CA certificates)",
            path.display()
        )
    };
    let pem = cacert
        .map(|path| std::fs::read(path).map_err(|e| bad(path, &e)))
        .transpose()?;
    let config = rustls_config(pem.as_deref()).map_err(|e| match (e, cacert) {
        (TlsError::NoCertificate, Some(path)) => bad(path, &"no certificate in the file"),
        (TlsError::Certificate(e), Some(path)) => bad(path, &e),
        (e, _) => e.to_string(),
    })?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// `Err` with the lookup's error when the URI names a host that does not resolve: looked up
/// here so that the failure is known as such (an IP address is not looked up).
async fn resolves(uri: &http::Uri) -> Result<(), String> {
    let Some(host) = uri.host() else {
        return Ok(());
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let port = uri.port_u16().unwrap_or(80);
    match tokio::net::lookup_host((host, port)).await {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("cannot resolve the host {host}: {e}")),
    }
}

/// An error and its sources, joined by `: `.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}

/// `url` with `http://` added when it names no scheme (`localhost:3000/metrics`).
pub(crate) fn with_scheme(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener};

    use super::*;

    /// Serves `body` (announced by `Content-Length` when `length`) to every request, on
    /// loopback.
    fn serve(body: &'static str, length: bool) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let head = if length {
                    format!("content-length: {}\r\n", body.len())
                } else {
                    String::new()
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n{head}connection: close\r\n\r\n{body}"
                );
            }
        });
        addr
    }

    /// A body of exactly the cap is read whole, announced or not; one byte more is refused.
    #[tokio::test]
    async fn a_body_of_exactly_the_cap_is_read_and_one_byte_more_is_not() {
        const BODY: &str = "a_total 1\n";
        for length in [true, false] {
            let url = format!("http://{}/metrics", serve(BODY, length));
            let at_cap = Scraper::new(&[], None, BODY.len(), None).expect("a client");
            let f = at_cap.get(&url, "*/*").await.expect("read whole");
            assert_eq!((f.status, &f.body[..]), (200, BODY.as_bytes()));
            assert_eq!(f.content_type, "text/plain");
            let below = Scraper::new(&[], None, BODY.len() - 1, None).expect("a client");
            match below.get(&url, "*/*").await {
                Err(CheckError::TooLarge { limit, .. }) => assert_eq!(limit, BODY.len() - 1),
                other => panic!("length {length}: {other:?}"),
            }
        }
    }

    /// A host that does not resolve is told as such; a refused connection says what the
    /// operating system said.
    #[tokio::test]
    async fn an_unresolved_host_and_a_refused_port_are_told_apart() {
        let scraper = Scraper::new(&[], None, 1024, None).expect("a client");
        match scraper
            .get("http://no-such-host.invalid/metrics", "*/*")
            .await
        {
            Err(CheckError::Request { reason, kind, .. }) => {
                assert_eq!(kind, RequestFailure::Unresolved, "{reason}");
                assert!(
                    reason.starts_with("cannot resolve the host no-such-host.invalid: "),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A socket bound and held, never listening: the port is refused and no other
        // process can take it meanwhile.
        let held = tokio::net::TcpSocket::new_v4().expect("a socket");
        held.bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("a loopback port");
        let addr = held.local_addr().expect("its address");
        match scraper.get(&format!("http://{addr}/"), "*/*").await {
            Err(CheckError::Request { reason, kind, .. }) => {
                assert_eq!(kind, RequestFailure::Refused, "{reason}");
                assert!(reason.contains("Connection refused"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_url_without_a_scheme_is_taken_as_http() {
        assert_eq!(
            with_scheme("localhost:3000/metrics"),
            "http://localhost:3000/metrics"
        );
        assert_eq!(with_scheme("https://a.example/m"), "https://a.example/m");
    }
}
