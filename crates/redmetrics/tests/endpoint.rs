//! The scrape endpoint over real HTTP: methods, negotiation, protection, its own listener.
#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use common::{client, send, serve};
use redmetrics::Contract;
use redmetrics::{HttpMetrics, MetricsEndpoint};

fn metrics() -> HttpMetrics {
    HttpMetrics::builder(Contract::new("reviewmaps").unwrap())
        .build()
        .unwrap()
}

fn app(endpoint: MetricsEndpoint) -> Router {
    Router::new().route_service("/metrics", endpoint)
}

#[tokio::test]
async fn head_and_other_methods() {
    let m = metrics();
    let addr = serve(app(m.endpoint())).await;
    let c = client();
    let get = send(&c, addr, "GET", "/metrics", &[], b"").await;
    let head = send(&c, addr, "HEAD", "/metrics", &[], b"").await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.headers["content-type"], get.headers["content-type"]);
    let post = send(&c, addr, "POST", "/metrics", &[], b"").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.headers["allow"], "GET, HEAD");
    assert_eq!(get.headers["vary"], "Accept, Accept-Encoding");
}

#[tokio::test]
async fn bearer_token_is_required_when_set() {
    let m = metrics();
    let addr = serve(app(m.endpoint().bearer_token("s3cret"))).await;
    let c = client();
    let none = send(&c, addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.headers["www-authenticate"], "Bearer realm=\"metrics\"");
    let wrong = send(
        &c,
        addr,
        "GET",
        "/metrics",
        &[("authorization", "Bearer nope")],
        b"",
    )
    .await;
    assert_eq!(wrong.status, 401);
    // A token that starts with the secret, or is a prefix of it, is a different token; so
    // is one of the same length with two bytes swapped (their differences must not cancel).
    for token in [
        "Bearer s3cretX",
        "Bearer s3cret s3cret",
        "Bearer s3cre",
        "Bearer 3scret",
        "Bearer s3cert",
    ] {
        let near = send(
            &c,
            addr,
            "GET",
            "/metrics",
            &[("authorization", token)],
            b"",
        )
        .await;
        assert_eq!(near.status, 401, "{token}");
    }
    let right = send(
        &c,
        addr,
        "GET",
        "/metrics",
        &[("authorization", "Bearer s3cret")],
        b"",
    )
    .await;
    assert_eq!(right.status, 200);
    assert!(right.text().contains("reviewmaps_http_active_connections"));
}

#[tokio::test]
async fn networks_use_the_real_peer_and_ignore_spoofed_headers() {
    let m = metrics();
    let c = client();
    // The test client connects from 127.0.0.1.
    let denied = serve(app(m
        .endpoint()
        .allow_networks(["10.0.0.0/8".parse().unwrap()])))
    .await;
    let spoofed = send(
        &c,
        denied,
        "GET",
        "/metrics",
        &[("x-forwarded-for", "10.1.2.3"), ("x-real-ip", "10.1.2.3")],
        b"",
    )
    .await;
    assert_eq!(spoofed.status, 403, "client-set headers are not trusted");

    let allowed = serve(app(m
        .endpoint()
        .allow_networks(["127.0.0.0/8".parse().unwrap()])))
    .await;
    assert_eq!(
        send(&c, allowed, "GET", "/metrics", &[], b"").await.status,
        200
    );

    // Behind a trusted proxy (here: loopback) the forwarded client address decides.
    let proxied = serve(app(m
        .endpoint()
        .trusted_proxies(["127.0.0.0/8".parse().unwrap()])
        .allow_networks(["10.0.0.0/8".parse().unwrap()])))
    .await;
    let inside = send(
        &c,
        proxied,
        "GET",
        "/metrics",
        &[("x-forwarded-for", "10.1.2.3")],
        b"",
    )
    .await;
    assert_eq!(inside.status, 200);
    let outside = send(
        &c,
        proxied,
        "GET",
        "/metrics",
        &[("x-forwarded-for", "10.1.2.3, 203.0.113.7")],
        b"",
    )
    .await;
    assert_eq!(
        outside.status, 403,
        "the right-most untrusted hop is the client"
    );
}

#[tokio::test]
async fn without_a_peer_address_network_rules_deny() {
    let m = metrics();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(m
        .endpoint()
        .allow_networks(["127.0.0.0/8".parse().unwrap()]));
    // Served without `into_make_service_with_connect_info`: no peer address is known.
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let c = client();
    assert_eq!(
        send(&c, addr, "GET", "/metrics", &[], b"").await.status,
        403
    );
}

#[cfg(feature = "server")]
#[tokio::test]
async fn serves_on_a_listener_of_its_own() {
    let m = metrics();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let endpoint = m
        .endpoint()
        .allow_networks(["127.0.0.0/8".parse().unwrap()]);
    tokio::spawn(redmetrics::serve(listener, endpoint, "/ojeomneo/metrics"));
    let c = client();
    let ok = send(&c, addr, "GET", "/ojeomneo/metrics", &[], b"").await;
    assert_eq!(ok.status, 200);
    assert!(
        ok.text()
            .contains("# TYPE reviewmaps_http_requests_total counter")
    );
    assert_eq!(
        send(&c, addr, "GET", "/metrics", &[], b"").await.status,
        404
    );
}

/// An IPv4 client of a dual-stack `[::]` listener arrives as `::ffff:127.0.0.1`; an IPv4
/// allow-list must still admit it (and keep refusing what it does not list).
#[cfg(feature = "server")]
#[tokio::test]
async fn ipv4_clients_of_a_dual_stack_listener_match_ipv4_rules() {
    let m = metrics();
    let Ok(listener) = tokio::net::TcpListener::bind("[::]:0").await else {
        common::missing_capability(
            "this machine cannot bind [::]; the unit tests in access.rs cover the rules",
        );
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let endpoint = m
        .endpoint()
        .allow_networks(["127.0.0.0/8".parse().unwrap()]);
    tokio::spawn(redmetrics::serve(listener, endpoint, "/metrics"));
    let c = client();
    let v4 = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(send(&c, v4, "GET", "/metrics", &[], b"").await.status, 200);

    let other = tokio::net::TcpListener::bind("[::]:0").await.unwrap();
    let port = other.local_addr().unwrap().port();
    let endpoint = m.endpoint().allow_networks(["10.0.0.0/8".parse().unwrap()]);
    tokio::spawn(redmetrics::serve(other, endpoint, "/metrics"));
    let v4 = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(send(&c, v4, "GET", "/metrics", &[], b"").await.status, 403);
}

/// `*/*` counts as accepting text: a scraper that prefers anything over OpenMetrics gets
/// text, one that accepts only OpenMetrics and JSON gets OpenMetrics.
#[tokio::test]
async fn a_wildcard_range_is_text_and_unrelated_types_are_not() {
    let m = metrics();
    let addr = serve(app(m.endpoint())).await;
    let client = client();
    for (accept, content_type) in [
        (
            "application/openmetrics-text;q=0.2, */*;q=0.5",
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        (
            "application/openmetrics-text;q=0.5, application/json",
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
    ] {
        let got = send(&client, addr, "GET", "/metrics", &[("accept", accept)], b"").await;
        assert_eq!(got.headers["content-type"], content_type, "{accept}");
    }
}

/// `gzip(false)` turns compression off even for a scraper that asks for it, and the
/// endpoint's `registry()` is the registry it serves: a family registered there is scraped.
#[tokio::test]
async fn gzip_can_be_turned_off_and_the_endpoint_serves_its_own_registry() {
    let m = metrics();
    let plain = m.endpoint().gzip(false);
    let jobs = plain
        .registry()
        .family::<redmetrics::metrics::Counter, 1>("mk_jobs_total", "Jobs run.", ["queue"], ())
        .unwrap();
    jobs.with(["a"]).inc();
    let app = Router::new()
        .route_service("/plain", plain)
        .route_service("/zipped", m.endpoint());
    let addr = serve(app).await;
    let client = client();
    let gzip = [("accept-encoding", "gzip")];
    let zipped = send(&client, addr, "GET", "/zipped", &gzip, b"").await;
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    let got = send(&client, addr, "GET", "/plain", &gzip, b"").await;
    assert!(!got.headers.contains_key("content-encoding"));
    let s = common::samples(&got.text());
    assert_eq!(
        common::value(&s, "mk_jobs_total", &[("queue", "a")]),
        Some(1.0)
    );
}

/// `*;q=0` refuses every coding not named, gzip included: the scrape comes back plain.
#[tokio::test]
async fn a_zero_quality_wildcard_encoding_refuses_gzip() {
    let m = metrics();
    let addr = serve(app(m.endpoint())).await;
    let client = client();
    for (accept, gzipped) in [("*;q=0", false), ("*", true), ("identity, *;q=0", false)] {
        let headers = [("accept-encoding", accept)];
        let got = send(&client, addr, "GET", "/metrics", &headers, b"").await;
        assert_eq!(
            got.headers.get("content-encoding").is_some(),
            gzipped,
            "{accept}"
        );
    }
}
