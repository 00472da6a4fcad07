//! Unit tests of the manifest checks in `mod.rs`, on hand-built objects: each test states the
//! status, summary or finding a Kubernetes reader expects, so a changed comparison, guard or
//! early return in a check shows here without the integration suites.

use serde_json::{Value, json};

use super::input::{Inputs, Object, Unrendered};
use super::*;
use crate::config::Config;

fn object(value: Value) -> Object {
    let namespace = value["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_owned();
    Object { value, namespace }
}

fn service(ns: &str, name: &str, app: &str, ports: Value) -> Object {
    object(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "spec": {"ports": ports},
    }))
}

fn monitor_object(ns: &str, name: &str, spec: Value) -> Object {
    object(json!({
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }))
}

fn monitor(o: &Object) -> Monitor<'_> {
    Monitor::read(o).unwrap()
}

/// A ServiceMonitor in `shop` selecting `app: api`, with one endpoint.
fn api_monitor(name: &str, endpoint: Value) -> Object {
    monitor_object(
        "shop",
        name,
        json!({"selector": {"matchLabels": {"app": "api"}}, "endpoints": [endpoint]}),
    )
}

fn api_service() -> Object {
    service(
        "shop",
        "api",
        "api",
        json!([{"name": "http", "port": 8080}]),
    )
}

/// The repository's first app: Service `reviewmaps-server` in namespace `reviewmaps`.
fn reviewmaps() -> Resolved {
    let text = include_str!("../../../../../redmetrics.toml");
    Config::parse(text).unwrap().apps.remove(0)
}

fn messages(c: &Check) -> Vec<&str> {
    c.findings.iter().map(|f| f.message.as_str()).collect()
}

fn set(names: &[&str]) -> Option<BTreeSet<String>> {
    Some(names.iter().map(|n| (*n).to_owned()).collect())
}

#[test]
fn a_monitor_looks_in_its_own_namespace_unless_told_otherwise() {
    let own = monitor_object("shop", "m", json!({}));
    assert_eq!(monitor(&own).namespaces(), set(&["shop"]));
    let empty = monitor_object("shop", "m", json!({"namespaceSelector": {}}));
    assert_eq!(monitor(&empty).namespaces(), set(&["shop"]));
    let names = monitor_object(
        "shop",
        "m",
        json!({"namespaceSelector": {"matchNames": ["a", "b"]}}),
    );
    assert_eq!(monitor(&names).namespaces(), set(&["a", "b"]));
    let any = monitor_object(
        "shop",
        "m",
        json!({"namespaceSelector": {"any": true, "matchNames": ["a"]}}),
    );
    assert_eq!(monitor(&any).namespaces(), None);
}

#[test]
fn a_monitor_selects_a_service_by_namespace_and_labels() {
    let m = api_monitor("m", json!({"port": "http"}));
    let m = monitor(&m);
    assert!(m.selects(&api_service()));
    assert!(!m.selects(&service("other", "api", "api", json!([]))));
    assert!(!m.selects(&service("shop", "web", "web", json!([]))));
}

#[test]
fn port_names_name_the_unnamed() {
    let svc = service(
        "shop",
        "api",
        "api",
        json!([{"name": "http", "port": 80}, {"port": 9090}]),
    );
    assert_eq!(port_names(&svc), ["http", "<unnamed>"]);
}

#[test]
fn rule_list_flattens_every_group() {
    let rule = object(
        json!({"kind": "PrometheusRule", "metadata": {"name": "r"}, "spec": {"groups": [
            {"name": "a", "rules": [{"record": "x"}, {"alert": "Y"}]},
            {"name": "b", "rules": [{"record": "z"}]},
            {"name": "c"},
        ]}}),
    );
    let names: Vec<String> = rule_list(&rule)
        .iter()
        .map(|r| {
            r["record"]
                .as_str()
                .or(r["alert"].as_str())
                .unwrap_or("?")
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["x", "Y", "z"]);
}

#[test]
fn app_for_matches_service_name_and_namespace() {
    let expect = Expectations {
        apps: vec![reviewmaps()],
        ..Default::default()
    };
    let right = service("reviewmaps", "reviewmaps-server", "x", json!([]));
    let elsewhere = service("other", "reviewmaps-server", "x", json!([]));
    let renamed = service("reviewmaps", "other", "x", json!([]));
    assert_eq!(
        app_for(&expect, &[&right]).map(|a| a.app.name.as_str()),
        Some("reviewmaps")
    );
    assert!(app_for(&expect, &[&elsewhere]).is_none());
    assert!(app_for(&expect, &[&renamed]).is_none());
    assert!(app_for(&expect, &[&elsewhere, &renamed]).is_none());
}

fn inputs(objects: Vec<Object>, unrendered: Vec<Unrendered>) -> Inputs {
    let mut i = Inputs::default();
    i.objects = objects;
    i.unrendered = unrendered;
    i
}

fn chart(named: bool) -> Unrendered {
    Unrendered {
        dir: "charts/api".to_owned(),
        command: "helm template charts/api | redmetrics check manifests -".to_owned(),
        named,
    }
}

#[test]
fn input_check_passes_objects_read_once_or_identically_twice() {
    let c = input_check(&inputs(vec![api_service(), api_service()], vec![]), 0);
    assert_eq!(c.status, Status::Pass, "{c:?}");
    assert_eq!(c.summary, "2 object(s) and 0 dashboard(s) read");
    let c = input_check(&inputs(vec![], vec![]), 1);
    assert_eq!(c.status, Status::Pass, "{c:?}");
    assert_eq!(c.summary, "0 object(s) and 1 dashboard(s) read");
}

#[test]
fn input_check_fails_an_object_defined_twice_differently() {
    let other_ports = service("shop", "api", "api", json!([{"name": "metrics"}]));
    let c = input_check(&inputs(vec![api_service(), other_ports], vec![]), 0);
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.summary, "objects defined twice");
    assert_eq!(c.findings.len(), 1);
    assert!(messages(&c)[0].starts_with("Service shop/api is defined twice"));
}

#[test]
fn input_check_fails_empty_input() {
    let c = input_check(&inputs(vec![], vec![]), 0);
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.summary, "nothing to check");
}

#[test]
fn an_unrendered_chart_fails_when_named_and_warns_when_found() {
    let c = input_check(&inputs(vec![], vec![chart(true)]), 0);
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.summary, "a chart was not rendered");
    assert_eq!(c.findings.len(), 1);
    let c = input_check(&inputs(vec![api_service()], vec![chart(false)]), 0);
    assert_eq!(c.status, Status::Warn);
    assert_eq!(c.summary, "a chart was not rendered");
}

fn monitors_of(objects: &[Object]) -> Vec<Monitor<'_>> {
    objects.iter().map(monitor).collect()
}

fn check_monitors(monitors: &[Object], services: &[Object], expect: &Expectations) -> Check {
    let services: Vec<&Object> = services.iter().collect();
    monitor_check(&monitors_of(monitors), &[], &services, expect)
}

#[test]
fn a_monitor_scraping_a_named_port_at_the_expected_path_passes() {
    let expect = Expectations {
        metrics_path: Some("/metrics".to_owned()),
        ..Default::default()
    };
    for endpoint in [
        json!({"port": "http"}),
        json!({"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}),
        json!({"port": "http", "interval": "30s", "scrapeTimeout": "30s"}),
    ] {
        let c = check_monitors(
            &[api_monitor("m", endpoint.clone())],
            &[api_service()],
            &expect,
        );
        assert_eq!(c.status, Status::Pass, "{endpoint}: {c:?}");
        assert_eq!(
            c.summary,
            "1 ServiceMonitor(s): each selects a Service by its labels and a named port of it"
        );
    }
}

#[test]
fn a_monitor_with_a_wrong_port_name_fails_and_names_the_right_one() {
    let c = check_monitors(
        &[api_monitor("m", json!({"port": "metrics"}))],
        &[api_service()],
        &Expectations::default(),
    );
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.summary, "a ServiceMonitor will not find its target");
    assert_eq!(
        messages(&c),
        [
            "ServiceMonitor shop/m endpoint 0: port \"metrics\" is not a port name of Service shop/api (its ports: http)"
        ]
    );
    assert_eq!(
        c.findings[0].fix.as_deref(),
        Some("set the endpoint's port to the Service port's name, e.g. `port: http`")
    );
}

#[test]
fn target_port_warns_and_no_port_fails() {
    let c = check_monitors(
        &[api_monitor("m", json!({"targetPort": 8080}))],
        &[api_service()],
        &Expectations::default(),
    );
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert_eq!(
        messages(&c),
        ["ServiceMonitor shop/m endpoint 0 uses targetPort"]
    );
    assert_eq!(
        c.summary,
        "1 ServiceMonitor(s), not all checked against a Service"
    );
    let c = check_monitors(
        &[api_monitor("m", json!({"path": "/metrics"}))],
        &[api_service()],
        &Expectations::default(),
    );
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert_eq!(
        messages(&c),
        ["ServiceMonitor shop/m endpoint 0 names no port"]
    );
}

#[test]
fn a_wrong_path_fails_against_the_app_path_before_the_global_one() {
    let expect = Expectations {
        metrics_path: Some("/metrics".to_owned()),
        ..Default::default()
    };
    let c = check_monitors(
        &[api_monitor("m", json!({"port": "http", "path": "/stats"}))],
        &[api_service()],
        &expect,
    );
    assert_eq!(
        messages(&c),
        [
            "ServiceMonitor shop/m endpoint 0 scrapes path /stats, but the app serves its metrics at /metrics"
        ]
    );
    // The app's own path wins over the global one.
    let mut app = reviewmaps();
    app.app.metrics_path = "/internal/metrics".to_owned();
    let expect = Expectations {
        metrics_path: Some("/metrics".to_owned()),
        apps: vec![app],
        ..Default::default()
    };
    let svc = service(
        "reviewmaps",
        "reviewmaps-server",
        "reviewmaps",
        json!([{"name": "http"}]),
    );
    let sm = monitor_object(
        "reviewmaps",
        "m",
        json!({"selector": {"matchLabels": {"app": "reviewmaps"}},
               "endpoints": [{"port": "http", "path": "/internal/metrics"}]}),
    );
    let c = check_monitors(&[sm], &[svc], &expect);
    assert_eq!(c.status, Status::Pass, "{c:?}");
}

#[test]
fn a_scrape_timeout_longer_than_the_interval_or_a_bad_duration_fails() {
    let c = check_monitors(
        &[api_monitor(
            "m",
            json!({"port": "http", "interval": "30s", "scrapeTimeout": "31s"}),
        )],
        &[api_service()],
        &Expectations::default(),
    );
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert_eq!(c.findings.len(), 1);
    assert!(
        messages(&c)[0].contains("scrapeTimeout 31s is longer than interval 30s"),
        "{c:?}"
    );
    for endpoint in [
        json!({"port": "http", "interval": "soon"}),
        json!({"port": "http", "scrapeTimeout": "soon"}),
    ] {
        let c = check_monitors(
            &[api_monitor("m", endpoint.clone())],
            &[api_service()],
            &Expectations::default(),
        );
        assert_eq!(c.status, Status::Fail, "{endpoint}: {c:?}");
        assert_eq!(c.findings.len(), 1, "{endpoint}: {c:?}");
        assert!(
            messages(&c)[0].starts_with("ServiceMonitor shop/m endpoint 0: "),
            "{c:?}"
        );
    }
}

#[test]
fn two_monitors_on_one_target_fail_as_a_double_scrape() {
    let c = check_monitors(
        &[
            api_monitor("a", json!({"port": "http"})),
            api_monitor("b", json!({"port": "http", "path": "/metrics"})),
        ],
        &[api_service()],
        &Expectations::default(),
    );
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert_eq!(c.summary, "a target is scraped twice");
    assert_eq!(
        messages(&c),
        [
            "Service shop/api port \"http\" path /metrics is scraped by ServiceMonitor shop/a and ServiceMonitor shop/b: every series twice, under the same job"
        ]
    );
    // One monitor listing the same endpoint twice is one scraper.
    let c = check_monitors(
        &[monitor_object(
            "shop",
            "a",
            json!({"selector": {"matchLabels": {"app": "api"}},
                   "endpoints": [{"port": "http"}, {"port": "http"}]}),
        )],
        &[api_service()],
        &Expectations::default(),
    );
    assert_eq!(c.status, Status::Pass, "{c:?}");
}

#[test]
fn an_unreadable_monitor_fails() {
    let unread = [(
        "ServiceMonitor shop/m".to_owned(),
        "invalid type".to_owned(),
    )];
    let c = monitor_check(&[], &unread, &[], &Expectations::default());
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.summary, "a ServiceMonitor will not find its target");
    assert_eq!(
        messages(&c),
        [
            "ServiceMonitor shop/m is not a ServiceMonitor the Prometheus Operator accepts: invalid type"
        ]
    );
}

fn coverage(
    monitors: &[Object],
    services: &[Object],
    templates: &[(&str, &str)],
    expect: &Expectations,
) -> Check {
    let services: Vec<&Object> = services.iter().collect();
    let templates: Vec<(String, String)> = templates
        .iter()
        .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
        .collect();
    coverage_check(&monitors_of(monitors), &services, &templates, expect)
}

#[test]
fn coverage_fails_monitoring_templates_gated_on_capabilities() {
    let gate = "{{- if .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" }}\n";
    let expect = Expectations::default();
    for kind in ["ServiceMonitor", "PrometheusRule"] {
        let text = format!("{gate}kind: {kind}\n");
        let c = coverage(&[], &[], &[("templates/m.yaml", &text)], &expect);
        assert_eq!(c.status, Status::Fail, "{kind}");
        assert_eq!(c.summary, "a Service will not be scraped");
    }
    for text in [
        "kind: ServiceMonitor\n".to_owned(),
        format!("{gate}kind: Deployment\n"),
    ] {
        let c = coverage(&[], &[], &[("templates/m.yaml", &text)], &expect);
        assert_eq!(c.status, Status::Pass, "{text}");
        assert_eq!(
            c.summary,
            "every configured Service has a ServiceMonitor, none gated on cluster capabilities"
        );
    }
}

#[test]
fn coverage_fails_services_with_no_monitor_at_all() {
    let expect = Expectations::default();
    let c = coverage(&[], &[api_service()], &[], &expect);
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        messages(&c),
        ["no ServiceMonitor in the input, so Prometheus scrapes none of: shop/api"]
    );
    assert_eq!(coverage(&[], &[], &[], &expect).status, Status::Pass);
    let m = api_monitor("m", json!({"port": "http"}));
    assert_eq!(
        coverage(&[m], &[api_service()], &[], &expect).status,
        Status::Pass
    );
}

#[test]
fn coverage_fails_the_configured_service_no_monitor_selects() {
    let expect = Expectations {
        apps: vec![reviewmaps()],
        ..Default::default()
    };
    let selector = |app: &str| {
        monitor_object(
            "reviewmaps",
            "m",
            json!({"selector": {"matchLabels": {"app": app}}, "endpoints": [{"port": "http"}]}),
        )
    };
    // Unselected decoys first: a same-named Service elsewhere and another Service alongside.
    let services = [
        service("elsewhere", "reviewmaps-server", "decoy", json!([])),
        service("reviewmaps", "other", "decoy", json!([])),
        service("reviewmaps", "reviewmaps-server", "server", json!([])),
    ];
    let c = coverage(&[selector("server")], &services, &[], &expect);
    assert_eq!(c.status, Status::Pass, "{c:?}");
    let c = coverage(&[selector("nothing")], &services, &[], &expect);
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert_eq!(
        messages(&c),
        ["Service reviewmaps/reviewmaps-server of app reviewmaps is selected by no ServiceMonitor"]
    );
}

#[test]
fn release_check_names_objects_without_the_release_label() {
    let labelled = |kind: &str, name: &str, labels: Value| {
        object(
            json!({"kind": kind, "metadata": {"name": name, "namespace": "shop", "labels": labels}}),
        )
    };
    let sm = labelled("ServiceMonitor", "m", json!({"release": "kps"}));
    let rule = labelled("PrometheusRule", "r", json!({"release": "kps"}));
    let c = release_check(&[&sm], &[&rule], "kps");
    assert_eq!(c.status, Status::Pass);
    assert_eq!(
        c.summary,
        "every ServiceMonitor and PrometheusRule carries release: kps"
    );
    let other = labelled("PrometheusRule", "o", json!({"release": "other"}));
    let c = release_check(&[&sm], &[&rule, &other], "kps");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        messages(&c),
        ["PrometheusRule shop/o has no label `release: kps`"]
    );
    assert_eq!(c.summary, "objects the stack `kps` will not select");
}

#[test]
fn check_counts_each_kind_and_runs_the_checks_the_input_calls_for() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.yaml");
    std::fs::write(
        &file,
        r#"apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  endpoints: [{port: http}]
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: api, namespace: shop}
spec:
  groups:
    - name: api
      rules:
        - record: job:http_requests:rate5m
          expr: sum by (job) (rate(http_requests_total[5m]))
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dash, namespace: shop, labels: {grafana_dashboard: "1"}}
data: {api.json: '{"title": "api", "panels": []}'}
"#,
    )
    .unwrap();
    let expect = Expectations {
        namespace: "default".to_owned(),
        ..Default::default()
    };
    let report = check(&[file.display().to_string()], &expect).unwrap();
    assert_eq!(
        report.target,
        "manifests: 1 Service, 1 ServiceMonitor, 1 PrometheusRule, 1 dashboard, 0 template file(s)"
    );
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "service monitors",
            "coverage",
            "jobs",
            "alert names",
            "rules",
            "dashboards"
        ]
    );
    // Without rules and dashboards, only the checks of what is there run.
    let bare = dir.path().join("bare.yaml");
    std::fs::write(
        &bare,
        "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: shop}\n",
    )
    .unwrap();
    let report = check(&[bare.display().to_string()], &expect).unwrap();
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["service monitors", "coverage"]);
}
