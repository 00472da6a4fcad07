//! `check manifests` reads each ServiceMonitor into the serde type `generate` writes: the
//! generated ones read back whole, and a field of a type the Prometheus Operator's CRD
//! refuses (judged by the CRD schemas, `crd_validate.py`) is a failure naming the object,
//! not a field silently taken as missing.
#![allow(clippy::unwrap_used)]

mod common;

use common::{judge, redmetrics, repo};

const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: shop-api
  namespace: shop
  labels:
    app.kubernetes.io/name: shop-api
spec:
  ports:
  - name: http
    port: 8080
";

/// A ServiceMonitor for `SERVICE` whose endpoint port is `port` (YAML).
fn monitor(port: &str) -> String {
    format!(
        "apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: shop-api
  namespace: shop
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: shop-api
  endpoints:
  - port: {port}
    path: /metrics
    interval: 30s
    scrapeTimeout: 10s
"
    )
}

fn check(manifests: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("objects.yaml");
    std::fs::write(&file, manifests).unwrap();
    let out = redmetrics(
        dir.path(),
        &[
            "check",
            "manifests",
            file.to_str().unwrap(),
            "--namespace",
            "shop",
        ],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn a_port_number_is_refused_as_the_crd_refuses_it() {
    let good = monitor("http");
    let (code, text) = check(&format!("{SERVICE}---\n{good}"));
    assert_eq!(code, Some(0), "{text}");
    let (code, _, _) = judge("crd_validate.py", &["ServiceMonitor"], &good);
    assert_eq!(code, 0, "the CRD accepts the named port");

    let bad = monitor("8080");
    let (code, out, err) = judge("crd_validate.py", &["ServiceMonitor"], &bad);
    assert_eq!(code, 1, "the CRD refuses a numeric port: {out}{err}");
    let (code, text) = check(&format!("{SERVICE}---\n{bad}"));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            "ServiceMonitor shop/shop-api is not a ServiceMonitor the Prometheus Operator accepts"
        ),
        "{text}"
    );
}

#[test]
fn the_generated_service_monitors_read_back_and_pass() {
    let out = redmetrics(
        &repo(),
        &[
            "check",
            "manifests",
            "deploy/reviewmaps/servicemonitor.yaml",
            "deploy/ojeomneo/servicemonitor.yaml",
            "--config",
            "redmetrics.toml",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 ServiceMonitor"), "{text}");
    assert!(!text.contains("not a ServiceMonitor"), "{text}");
}
