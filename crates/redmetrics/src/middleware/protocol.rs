//! What a route's requests say about their protocol, for the OpenTelemetry HTTP conventions'
//! `network.protocol.version` and `url.scheme`: a bitset per route, written only when a
//! request shows a value the route had not seen (one relaxed load otherwise). A route seen
//! over one version (one scheme) reports it; a mixed one reports none rather than a guess.

use std::sync::atomic::{AtomicU32, Ordering};

use http::Version;
use http::uri::Scheme;

/// The versions with a name in the conventions, each one bit; any other is `OTHER_VERSION`.
const VERSIONS: [(Version, &str); 5] = [
    (Version::HTTP_09, "0.9"),
    (Version::HTTP_10, "1.0"),
    (Version::HTTP_11, "1.1"),
    (Version::HTTP_2, "2"),
    (Version::HTTP_3, "3"),
];
const OTHER_VERSION: u32 = 1 << 5;
const VERSION_BITS: u32 = (1 << 6) - 1;
/// Scheme bits: the request URI had none (HTTP/1.1 origin-form), `http`, `https`, another.
const NO_SCHEME: u32 = 1 << 8;
const HTTP: u32 = 1 << 9;
const HTTPS: u32 = 1 << 10;
const OTHER_SCHEME: u32 = 1 << 11;
const SCHEME_BITS: u32 = NO_SCHEME | HTTP | HTTPS | OTHER_SCHEME;

/// The protocol version and URI scheme every request of a route had, where they agreed.
///
/// ```
/// use redmetrics::middleware::Protocol;
///
/// let p = Protocol::default();
/// assert_eq!((p.version, p.scheme), (None, None), "nothing seen, nothing claimed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Protocol {
    /// `network.protocol.version` (`1.1`, `2`, …) when all requests used the same one.
    pub version: Option<&'static str>,
    /// `url.scheme` (`http` or `https`) when every request's URI carried the same one (an
    /// HTTP/1.1 request in origin form carries none).
    pub scheme: Option<&'static str>,
}

/// The bits of one route, see the module docs.
#[derive(Debug, Default)]
pub(crate) struct ProtocolSeen(AtomicU32);

impl ProtocolSeen {
    /// Notes one request's version and URI scheme.
    #[inline]
    pub(crate) fn note(&self, version: Version, scheme: Option<&Scheme>) {
        let v = VERSIONS
            .iter()
            .position(|(known, _)| *known == version)
            .map_or(OTHER_VERSION, |i| 1 << i);
        let s = match scheme {
            None => NO_SCHEME,
            Some(s) if *s == Scheme::HTTP => HTTP,
            Some(s) if *s == Scheme::HTTPS => HTTPS,
            Some(_) => OTHER_SCHEME,
        };
        let bits = v | s;
        if self.0.load(Ordering::Relaxed) & bits != bits {
            self.0.fetch_or(bits, Ordering::Relaxed);
        }
    }

    /// What the route's requests agreed on so far.
    pub(crate) fn read(&self) -> Protocol {
        let bits = self.0.load(Ordering::Relaxed);
        let versions = bits & VERSION_BITS;
        let version = (versions.count_ones() == 1 && versions != OTHER_VERSION)
            .then(|| VERSIONS[versions.trailing_zeros() as usize].1);
        let scheme = match bits & SCHEME_BITS {
            HTTP => Some("http"),
            HTTPS => Some("https"),
            _ => None,
        };
        Protocol { version, scheme }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_is_reported_and_a_mix_is_not() {
        let p = ProtocolSeen::default();
        p.note(Version::HTTP_11, None);
        assert_eq!(
            p.read(),
            Protocol {
                version: Some("1.1"),
                scheme: None
            }
        );
        let h2 = ProtocolSeen::default();
        h2.note(Version::HTTP_2, Some(&Scheme::HTTPS));
        h2.note(Version::HTTP_2, Some(&Scheme::HTTPS));
        assert_eq!(
            h2.read(),
            Protocol {
                version: Some("2"),
                scheme: Some("https")
            }
        );
        h2.note(Version::HTTP_11, Some(&Scheme::HTTP));
        assert_eq!(h2.read(), Protocol::default(), "mixed: neither is claimed");
        let http = ProtocolSeen::default();
        http.note(Version::HTTP_10, Some(&Scheme::HTTP));
        assert_eq!(http.read().scheme, Some("http"));
        assert_eq!(http.read().version, Some("1.0"));
    }
}
