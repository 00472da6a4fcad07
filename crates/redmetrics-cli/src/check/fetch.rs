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

/// GETs `url` (Accept `*/*`, no other header), giving up after 10 seconds.
pub(crate) async fn get(url: &str) -> Result<Fetched, CheckError> {
    get_capped(url, MAX_ANSWER).await
}

/// GETs `url` like [`get`], refusing a body larger than `max_bytes` as it streams in, so a
/// wrong or hostile peer cannot make the checker hold more than that.
pub(crate) async fn get_capped(url: &str, max_bytes: usize) -> Result<Fetched, CheckError> {
    let scraper =
        Scraper::new(&[], None, max_bytes, None).map_err(|reason| CheckError::Request {
            url: url.to_owned(),
            reason,
            kind: RequestFailure::Other,
        })?;
    scraper.get(url, "*/*").await
}
