//! One HTTP(S) GET with a timeout, for asking Prometheus' API: the scraping client of
//! `check endpoint` with no credentials and a 64 MiB cap on the answer.

use bytes::Bytes;

use super::error::{CheckError, RequestFailure};
use super::http_client::Scraper;

/// The most an API answer may hold.
const MAX_ANSWER: usize = 64 << 20;

/// A response: status, `Content-Type` and body.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
}

/// GETs `url` with `headers` (an `accept` among them is sent as the Accept header), giving
/// up after 10 seconds.
pub(crate) async fn get(url: &str, headers: &[(&str, &str)]) -> Result<Fetched, CheckError> {
    get_limited(url, headers, MAX_ANSWER).await
}

/// GETs `url` like [`get`], refusing a body larger than `max_bytes` as it streams in, so a
/// wrong or hostile peer cannot make the checker hold more than that.
pub(crate) async fn get_capped(url: &str, max_bytes: usize) -> Result<Fetched, CheckError> {
    get_limited(url, &[], max_bytes).await
}

async fn get_limited(
    url: &str,
    headers: &[(&str, &str)],
    max_bytes: usize,
) -> Result<Fetched, CheckError> {
    let accept = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("accept"))
        .map_or("*/*", |(_, v)| *v);
    let lines: Vec<String> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("accept"))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let scraper =
        Scraper::new(&lines, None, max_bytes, None).map_err(|reason| CheckError::Request {
            url: url.to_owned(),
            reason,
            kind: RequestFailure::Other,
        })?;
    scraper.get(url, accept).await
}
