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
/// (Written as literals: `http::Version` has no value beyond the five above, so this bit is
/// only ever set by a future version, and no test can tell it from another.)
const OTHER_VERSION: u32 = 0b10_0000;
const VERSION_BITS: u32 = 0b11_1111;
/// Scheme bits: the request URI had none (HTTP/1.1 origin-form), `http`, `https`, another.
const NO_SCHEME: u32 = 0x100;
const HTTP: u32 = 0x200;
const HTTPS: u32 = 0x400;
const OTHER_SCHEME: u32 = 0x800;
const SCHEME_BITS: u32 = 0xF00;

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
        // Disjoint bits: the sum is their union.
        let bits = v + s;
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

    /// Each scheme alone is claimed (`http`, `https`) or not (none, another), and any two
    /// different ones, a missing scheme included, claim none.
    #[test]
    fn a_scheme_is_claimed_only_when_every_request_had_it() {
        let other: Scheme = "ftp".parse().unwrap();
        let seen = |schemes: &[Option<&Scheme>]| {
            let p = ProtocolSeen::default();
            for s in schemes {
                p.note(Version::HTTP_11, *s);
            }
            p.read().scheme
        };
        assert_eq!(seen(&[None]), None);
        assert_eq!(seen(&[Some(&Scheme::HTTP)]), Some("http"));
        assert_eq!(seen(&[Some(&Scheme::HTTPS)]), Some("https"));
        assert_eq!(seen(&[Some(&other)]), None);
        for pair in [
            [Some(&Scheme::HTTP), None],
            [Some(&Scheme::HTTPS), None],
            [Some(&Scheme::HTTPS), Some(&other)],
            [Some(&Scheme::HTTP), Some(&other)],
            [Some(&Scheme::HTTP), Some(&Scheme::HTTPS)],
        ] {
            assert_eq!(seen(&pair), None, "{pair:?}");
            assert_eq!(seen(&[pair[1], pair[0]]), None, "{pair:?} reversed");
        }
    }
}
