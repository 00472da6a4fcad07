//! `redmetrics check` against hostile and unusual peers (issue 12): bounded PromQL, bounded
//! scrapes (body size, deadline, findings), messages a user can act on, path-like labels,
//! bearer tokens and HTTPS, charts and empty input. The real binary runs against servers on
//! 127.0.0.1 started here (plain HTTP, rustls with a certificate made here, the demo), and
//! Helm's own Go SDK (helm-python-sdk) stands behind the `helm` put on PATH.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use common::{redmetrics_with_env, refused_addr, repo, start_demo};
use serde_json::Value;

/// Runs `redmetrics check ARGS` in `dir` with only PATH (given) and `env` set.
fn check_in(dir: &Path, args: &[&str], path: &str, env: &[(&str, &str)], stdin: &str) -> Output {
    let mut all = vec!["check"];
    all.extend(args);
    redmetrics_with_env(dir, &all, Some(stdin), path, env)
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// PATH as the tests got it, with no `helm` on it (none is installed on this machine).
fn plain_path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// PATH with a `helm` in front that renders with Helm's Go SDK.
fn path_with_helm() -> String {
    format!(
        "{}:{}",
        manifest_dir().join("tests/judges").display(),
        plain_path()
    )
}

fn check(args: &[&str]) -> Output {
    check_in(&manifest_dir(), args, &plain_path(), &[], "")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// The finding messages of check `name` in a JSON report.
fn findings(report: &Value, name: &str) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == name)
        .flat_map(|c| c["findings"].as_array().cloned().unwrap_or_default())
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

fn summary(report: &Value, name: &str) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .map(|c| c["summary"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Serves `head` + `body` to each of up to 16 connections, on loopback.
fn serve(head: String, body: Arc<Vec<u8>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut s) = stream else { continue };
            let (head, body) = (head.clone(), Arc::clone(&body));
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(head.as_bytes());
                for chunk in body.chunks(64 * 1024) {
                    if s.write_all(chunk).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A 200 answer of `content_type` with `body`, with or without Content-Length.
fn serve_body(content_type: &str, body: Vec<u8>, length: bool) -> SocketAddr {
    let length = if length {
        format!("content-length: {}\r\n", body.len())
    } else {
        String::new()
    };
    serve(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n{length}connection: close\r\n\r\n"
        ),
        Arc::new(body),
    )
}

const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn endpoint_json(addr: SocketAddr, extra: &[&str]) -> Output {
    let url = format!("http://{addr}/metrics");
    let mut args = vec!["endpoint", url.as_str(), "--format", "json"];
    args.extend(extra);
    check(&args)
}

// Item 2: PromQL nesting and length are bounded before parsing.
#[test]
fn deep_or_long_promql_is_a_finding_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let rule = |name: &str, expr: &str| format!("      - record: {name}\n        expr: '{expr}'\n");
    let parens = format!("{}up{}", "(".repeat(150_000), ")".repeat(150_000));
    let sums = format!("{}up{}", "sum(".repeat(20_000), ")".repeat(20_000));
    let deep = format!("{}up{}", "sum(".repeat(100), ")".repeat(100));
    let yaml = format!(
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: hostile\n  namespace: x\nspec:\n  groups:\n    - name: g\n      rules:\n{}{}{}",
        rule("parens", &parens),
        rule("sums", &sums),
        rule("deep", &deep)
    );
    let file = dir.path().join("rules.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = check(&[
        "manifests",
        file.to_str().unwrap(),
        "--prefix",
        "x",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        findings(&json(&out), "rules"),
        [
            "PrometheusRule x/hostile rule parens: not parsed: expression of 300002 bytes, above the 16384-byte limit",
            "PrometheusRule x/hostile rule sums: not parsed: expression of 100002 bytes, above the 16384-byte limit",
            "PrometheusRule x/hostile rule deep: not parsed: brackets nested 100 deep, above the limit of 64",
        ]
    );
}

// Item 3: a body over the cap is a "too large" finding, announced or not.
#[test]
fn an_oversized_body_is_a_too_large_finding() {
    let body = "# filler comment line\n".repeat(2 << 20 >> 4).into_bytes();
    assert!(body.len() > 1 << 20);
    for length in [true, false] {
        let addr = serve_body(TEXT, body.clone(), length);
        let out = endpoint_json(addr, &["--max-body-size", "1MiB"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert_eq!(
            findings(&json(&out), "scrape"),
            ["the body is larger than 1048576 bytes (--max-body-size): too large"]
        );
    }
    let out = check(&[
        "endpoint",
        "http://127.0.0.1:1/metrics",
        "--max-body-size",
        "3MB",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("unknown unit `MB`"), "{}", text(&out));
}

// Item 3: one line with very many distinct labels finishes (linear duplicate detection),
// and no finding is longer than the cap.
#[test]
fn one_line_with_many_labels_finishes_with_short_findings() {
    let labels: Vec<String> = (0..200_000).map(|i| format!("l{i}=\"v\"")).collect();
    let body = format!(
        "# HELP wide_total Wide.\n# TYPE wide_total counter\nwide_total{{{}}} 1\n",
        labels.join(",")
    );
    let addr = serve_body(TEXT, body.into_bytes(), true);
    let out = endpoint_json(addr, &["--prefix", "wide"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&out);
    let all: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().cloned().unwrap_or_default())
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect();
    assert!(!all.is_empty());
    assert!(all.iter().all(|m| m.len() < 1100), "{all:?}");
}

// Item 3: 20,000 duplicate lines give 50 findings and "… and N more", not 20,000.
#[test]
fn findings_per_check_are_capped() {
    let body = format!(
        "# HELP dup_total Duplicated.\n# TYPE dup_total counter\n{}",
        "dup_total{a=\"b\"} 1\n".repeat(20_000)
    );
    let addr = serve_body(TEXT, body.into_bytes(), true);
    let out = endpoint_json(addr, &["--prefix", "dup"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let structure = findings(&json(&out), "structure");
    assert_eq!(structure.len(), 51, "{structure:?}");
    assert_eq!(structure[0], "dup_total{a=\"b\"} appears twice (line 4)");
    assert_eq!(structure[50], "… and 19949 more");
    assert!(out.stdout.len() < 64 * 1024);
}

// Item 3: the whole check has a deadline.
#[test]
fn a_silent_endpoint_meets_the_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // Accept and hold the connections, answering nothing, for at most 60 s.
        let held: Vec<_> = listener.incoming().take(2).collect();
        std::thread::sleep(std::time::Duration::from_secs(60));
        drop(held);
    });
    let out = check(&[
        "endpoint",
        &format!("http://{addr}/metrics"),
        "--timeout",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("the check did not finish within 2s\n  fix: raise --timeout"),
        "{}",
        text(&out)
    );
}

// Item 11: messages a user can act on.
#[test]
fn messages_say_what_to_do() {
    let addr = serve_body("application/json", br#"{"campaigns":[]}"#.to_vec(), true);
    let out = check(&[
        "endpoint",
        &format!("http://{addr}/v1/campaigns"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        findings(&json(&out), "text exposition"),
        ["this is not a metrics endpoint: it answered JSON (application/json)"]
    );

    let addr = serve(
        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
        Arc::new(Vec::new()),
    );
    let out = endpoint_json(addr, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(summary(&json(&out), "scrape"), "HTTP 404, no Content-Type");

    let (_held, refused) = refused_addr();
    let out = check(&["endpoint", &format!("http://{refused}/metrics")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .contains("\n  fix: nothing listens there: start the app, check the port in the URL"),
        "{}",
        text(&out)
    );

    // No scheme: taken as http://.
    let addr = serve_body(
        TEXT,
        b"# HELP up_total Up.\n# TYPE up_total counter\nup_total 1\n".to_vec(),
        true,
    );
    let out = check(&[
        "endpoint",
        &format!("{addr}/metrics"),
        "--prefix",
        "up",
        "--format",
        "json",
    ]);
    assert_eq!(
        json(&out)["target"],
        format!("http://{addr}/metrics"),
        "{}",
        text(&out)
    );
    assert_eq!(summary(&json(&out), "scrape"), format!("HTTP 200, {TEXT}"));
}

// Item 15: raw paths in a label not named `path` (axum-prometheus' `endpoint`).
#[test]
fn raw_paths_in_an_endpoint_label_are_flagged() {
    let mut body = String::from(
        "# HELP axum_http_requests_total Requests.\n# TYPE axum_http_requests_total counter\n",
    );
    for i in 0..300 {
        body.push_str(&format!(
            "axum_http_requests_total{{method=\"GET\",endpoint=\"/v1/campaigns/{i}\",status=\"200\"}} 1\n"
        ));
    }
    let addr = serve_body(TEXT, body.into_bytes(), true);
    let out = endpoint_json(addr, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let found = findings(&json(&out), "cardinality");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("300 endpoint values look like raw request paths: endpoint=\"/v1/campaigns/0\" (numeric segment `0`)"),
        "{found:?}"
    );
}

/// Flags and environment of one way to pass a token.
type Way<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

// Item 12: a protected demo, with the token from a flag, a file, the environment or a header.
#[test]
fn a_protected_demo_needs_the_token() {
    let (_demo, addr) = start_demo(&["--metrics-token", "s3cret", "--traffic", "--rate", "40"]);
    let url = format!("http://{addr}/metrics");
    let out = check(&["endpoint", &url, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        findings(&json(&out), "scrape"),
        ["the endpoint refused the scrape (401)"]
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "s3cret\n").unwrap();
    let ways: [Way<'_>; 4] = [
        (&["--bearer-token", "s3cret"], &[]),
        (&["--bearer-token-file", file.to_str().unwrap()], &[]),
        (&[], &[("REDMETRICS_BEARER_TOKEN", "s3cret")]),
        (&["--header", "Authorization: Bearer s3cret"], &[]),
    ];
    for (flags, env) in ways {
        let mut args = vec!["endpoint", url.as_str()];
        args.extend(flags);
        let out = check_in(&manifest_dir(), &args, &plain_path(), env, "");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{flags:?} {env:?}: {}",
            text(&out)
        );
    }
}

/// Serves `body` over HTTPS (rustls, the certificate and key given) on loopback.
fn serve_tls(cert: Vec<u8>, key: Vec<u8>, body: &'static str) -> SocketAddr {
    let acceptor = common::tls_acceptor(cert, key);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            for _ in 0..16 {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut buf = [0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {TEXT}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.write_all(body.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
    });
    addr
}

// Item 12: HTTPS with a CA given by --cacert; refused without it.
#[test]
fn https_with_a_private_ca() {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, made.cert.pem()).unwrap();
    let addr = serve_tls(
        made.cert.der().to_vec(),
        made.signing_key.serialize_der(),
        "# HELP up_total Up.\n# TYPE up_total counter\nup_total 1\n",
    );
    let url = format!("https://{addr}/metrics");
    let out = check(&[
        "endpoint",
        &url,
        "--prefix",
        "up",
        "--cacert",
        ca.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let report = json(&out);
    assert_eq!(
        summary(&report, "scrape"),
        format!("HTTP 200, {TEXT}"),
        "{}",
        text(&out)
    );
    assert_eq!(
        summary(&report, "text exposition"),
        "1 families, 1 samples; parses as Prometheus' own parser does"
    );
    let out = check(&["endpoint", &url, "--prefix", "up"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(
            "fix: the server's certificate is not trusted: give its CA with --cacert FILE"
        ),
        "{}",
        text(&out)
    );
}

// Item 14: nothing to check fails.
#[test]
fn empty_input_fails() {
    let out = check_in(
        &manifest_dir(),
        &["manifests", "-", "--format", "json"],
        &plain_path(),
        &[],
        "# nothing\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        findings(&json(&out), "input"),
        ["nothing to check: the input holds no Kubernetes object and no dashboard"]
    );
}

// Item 14: a chart folder is rendered with `helm` when it is on PATH, else refused with the
// command to pipe in; a team's `charts/<app>/charts/server` shape fails either way.
#[test]
fn a_chart_folder_is_rendered_or_refused() {
    let chart = "tests/manifests/charts/reviewmaps/charts/server";
    let out = check(&["manifests", chart]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "FAIL  input: a chart was not rendered\n      - {chart} is a Helm chart and `helm` is not on PATH: its templates were linted, its objects not checked\n        fix: render it and pipe it in: `helm template server {chart} -n default | redmetrics check manifests - --namespace default`\n"
        )),
        "{}",
        text(&out)
    );
    let out = check_in(
        &manifest_dir(),
        &["manifests", chart],
        &path_with_helm(),
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("      - ServiceMonitor default/reviewmaps-server endpoint 0: port \"django\" is not a port name of Service default/reviewmaps-server (its ports: http)\n"),
        "{}",
        text(&out)
    );
}

// Item 8: the repository's own deploy/ passes, its chart rendered by Helm or, without
// `helm`, named as not rendered (a warning: the rest of the folder was checked).
#[test]
fn the_repositorys_deploy_folder_passes() {
    let args = ["manifests", "deploy/", "--config", "redmetrics.toml"];
    let out = check_in(&repo(), &args, &path_with_helm(), &[], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).starts_with("redmetrics check: manifests: 1 Service, 2 ServiceMonitor,"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("  input: "), "{}", text(&out));
    let out = check_in(&repo(), &args, &plain_path(), &[], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("WARN  input: a chart was not rendered\n      - deploy/helm/redmetrics-service is a Helm chart"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("REDMETRICS_PREFIX"), "{}", text(&out));
}
