//! gzip for scrapes, when the scraper accepts it (Prometheus always does).

use http::HeaderMap;
use http::header::ACCEPT_ENCODING;

/// Whether `Accept-Encoding` allows gzip (`gzip` or `*` with a non-zero quality).
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for coding in value.split(',') {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q > 0.0);
            } else if name == "*" {
                any = Some(q > 0.0);
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// Compresses `body` at the fastest level: scrapes are frequent and compress well anyway.
#[cfg(feature = "gzip")]
pub(crate) fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;

    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    enc.write_all(body).ok()?;
    enc.finish().ok()
}

/// Without the `gzip` feature nothing is compressed.
#[cfg(not(feature = "gzip"))]
pub(crate) fn gzip(_body: &[u8]) -> Option<Vec<u8>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(v: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, v.parse().unwrap());
        accepts_gzip(&h)
    }

    #[test]
    fn reads_qualities() {
        assert!(accepts("gzip"));
        assert!(accepts("br, gzip;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("identity"));
        assert!(!accepts("*, gzip;q=0"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
