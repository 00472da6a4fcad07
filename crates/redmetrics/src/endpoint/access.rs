//! Who may scrape: a bearer token and/or allowed client networks.
//!
//! The client address is the real peer address of the connection. `X-Forwarded-For` and
//! `X-Real-IP` are client-set headers and are ignored unless the peer itself is a trusted
//! proxy; then the right-most address not belonging to a trusted proxy is the client, the
//! standard way to read that header without letting clients spoof it.
//!
//! An IPv4 client of a dual-stack (`[::]`) listener arrives as `::ffff:a.b.c.d`; every
//! address is compared in both forms, so `127.0.0.0/8` admits it as an IPv4 rule should.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use http::header::AUTHORIZATION;
use ipnet::IpNet;

/// Why a scrape was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial {
    /// No or a wrong bearer token: 401.
    Unauthorized,
    /// The client address is not in an allowed network, or unknown: 403.
    Forbidden,
}

/// The endpoint's access rules; empty rules allow everyone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    pub(crate) token: Option<Box<str>>,
    pub(crate) networks: Vec<IpNet>,
    pub(crate) proxies: Vec<IpNet>,
}

impl Access {
    pub(crate) fn check(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<(), Denial> {
        if !self.networks.is_empty() {
            let client = self.client_ip(headers, peer.map(|p| p.ip()));
            if !client.is_some_and(|ip| contains(&self.networks, ip)) {
                return Err(Denial::Forbidden);
            }
        }
        if let Some(token) = &self.token {
            let given = headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    let (scheme, rest) = v.split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
                });
            if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
                return Err(Denial::Unauthorized);
            }
        }
        Ok(())
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        contains(&self.proxies, ip)
    }

    /// The client address: the peer, or behind trusted proxies the right-most untrusted hop.
    /// `None` when the peer is unknown or a forwarded address does not parse.
    pub(crate) fn client_ip(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
        let peer = peer?.to_canonical();
        if !self.trusted(peer) {
            return Some(peer);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        if hops.is_empty() {
            return match headers.get("x-real-ip").and_then(|v| v.to_str().ok()) {
                Some(real) => parse_hop(real.trim()),
                None => Some(peer),
            };
        }
        let mut client = peer;
        for hop in hops.iter().rev() {
            client = parse_hop(hop)?;
            if !self.trusted(client) {
                break;
            }
        }
        Some(client)
    }
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// Whether `ip` is in one of `nets`, as written or in its IPv4-mapped IPv6 form (and back),
/// so that a rule matches whichever form the configuration and the socket chose.
fn contains(nets: &[IpNet], ip: IpAddr) -> bool {
    let canonical = ip.to_canonical();
    let mapped = match canonical {
        IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
        v6 @ IpAddr::V6(_) => v6,
    };
    nets.iter()
        .any(|n| n.contains(&canonical) || n.contains(&mapped))
}

/// Compares without an early exit, so response timing does not reveal the matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_headers_are_ignored_from_untrusted_peers() {
        let a = Access::default();
        let h = headers(&[("x-forwarded-for", "10.0.0.1"), ("x-real-ip", "10.0.0.2")]);
        assert_eq!(a.client_ip(&h, ip("203.0.113.9")), ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let a = Access {
            proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..Access::default()
        };
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(a.client_ip(&h, ip("10.0.0.5")), ip("198.51.100.7"));
        let h = headers(&[("x-real-ip", "198.51.100.8")]);
        assert_eq!(a.client_ip(&h, ip("10.0.0.5")), ip("198.51.100.8"));
        let h = headers(&[("x-forwarded-for", "garbage")]);
        assert_eq!(a.client_ip(&h, ip("10.0.0.5")), None);
    }

    #[test]
    fn token_and_networks() {
        let a = Access {
            token: Some("s3cret".into()),
            networks: vec!["127.0.0.0/8".parse().unwrap()],
            proxies: vec![],
        };
        let peer = Some("127.0.0.1:5000".parse().unwrap());
        let ok = headers(&[("authorization", "Bearer s3cret")]);
        assert_eq!(a.check(&ok, peer), Ok(()));
        let bad = headers(&[("authorization", "Bearer s3cre")]);
        assert_eq!(a.check(&bad, peer), Err(Denial::Unauthorized));
        assert_eq!(a.check(&HeaderMap::new(), peer), Err(Denial::Unauthorized));
        let far = Some("192.0.2.1:5000".parse().unwrap());
        assert_eq!(a.check(&ok, far), Err(Denial::Forbidden));
        assert_eq!(a.check(&ok, None), Err(Denial::Forbidden));
    }

    #[test]
    fn ipv4_mapped_clients_match_ipv4_rules() {
        let a = Access {
            networks: vec!["127.0.0.0/8".parse().unwrap()],
            ..Access::default()
        };
        let mapped = Some("[::ffff:127.0.0.1]:5000".parse().unwrap());
        assert_eq!(a.check(&HeaderMap::new(), mapped), Ok(()));
        let far = Some("[::ffff:192.0.2.1]:5000".parse().unwrap());
        assert_eq!(a.check(&HeaderMap::new(), far), Err(Denial::Forbidden));
        // A rule written in the mapped form admits a plain IPv4 peer as well.
        let a = Access {
            networks: vec!["::ffff:10.0.0.0/104".parse().unwrap()],
            ..Access::default()
        };
        let v4 = Some("10.1.2.3:5000".parse().unwrap());
        assert_eq!(a.check(&HeaderMap::new(), v4), Ok(()));
        // A real IPv6 peer is not mistaken for an IPv4 one.
        let a = Access {
            networks: vec!["127.0.0.0/8".parse().unwrap()],
            ..Access::default()
        };
        let v6 = Some("[::1]:5000".parse().unwrap());
        assert_eq!(a.check(&HeaderMap::new(), v6), Err(Denial::Forbidden));
    }

    #[test]
    fn ipv4_mapped_proxies_are_trusted_and_hops_normalised() {
        let a = Access {
            proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..Access::default()
        };
        let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.7, ::ffff:10.1.1.1")]);
        assert_eq!(a.client_ip(&h, ip("::ffff:10.0.0.5")), ip("198.51.100.7"));
        let h = headers(&[("x-real-ip", "198.51.100.8")]);
        assert_eq!(a.client_ip(&h, ip("::ffff:10.0.0.5")), ip("198.51.100.8"));
        assert_eq!(a.client_ip(&h, ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
    }
}
