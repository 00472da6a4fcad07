//! The AlertmanagerConfig (what kube-prometheus-stack's operator turns into Alertmanager
//! configuration) and the plain `alertmanager.yaml` (what the real Alertmanager of
//! `alert_delivery.rs` and `alert_routing.rs` runs) hold the same routing, grouping,
//! `send_resolved`, receivers and inhibition, field by field. So the delivery and routing
//! tests of the plain form hold for the CRD form too.
//!
//! The CRD is translated here as prometheus-operator documents its conversion: camelCase
//! fields to Alertmanager's snake_case, `{name, value, matchType}` matchers to
//! `name<op>"value"`, a Secret key reference to the file the plain form reads it from
//! (`/etc/alertmanager/secrets/<secret>/<key>`, as the stack mounts them), `{key, value}`
//! lists to maps, and a `namespace="<ns>"` matcher added to the route and to each inhibition
//! rule (the operator's `OnNamespace` strategy). Every field on either side must have its
//! counterpart: a field dropped or changed in one generator fails here.
//!
//! Both are generated fresh, from the repository's `redmetrics.toml` and from a
//! configuration with per-app routes and overrides that the repository's does not use.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::repo;
use serde_json::{Map, Value, json};

/// `groupBy` → `group_by`, with Alertmanager's spelling of the initialisms.
fn snake(key: &str) -> String {
    match key {
        "clientURL" => return "client_url".into(),
        "apiURL" => return "api_url".into(),
        "requireTLS" => return "require_tls".into(),
        "sendResolved" => return "send_resolved".into(),
        _ => {}
    }
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// One matcher as `(name, op, value)`, from the CRD's object form.
fn crd_matcher(m: &Value) -> (String, String, String) {
    (
        m["name"].as_str().unwrap().to_owned(),
        m["matchType"].as_str().unwrap_or("=").to_owned(),
        m["value"].as_str().unwrap().to_owned(),
    )
}

/// One matcher as `(name, op, value)`, from Alertmanager's string form `name<op>"value"`.
fn plain_matcher(s: &str) -> (String, String, String) {
    let at = s
        .find(['=', '!'])
        .unwrap_or_else(|| panic!("no operator in {s}"));
    let name = s[..at].trim().to_owned();
    let rest = &s[at..];
    let op = ["=~", "!~", "!=", "="]
        .into_iter()
        .find(|op| rest.starts_with(op))
        .unwrap();
    let quoted = rest[op.len()..].trim();
    let value: String = serde_json::from_str(quoted).unwrap_or_else(|_| quoted.to_owned());
    (name, op.to_owned(), value)
}

/// A receiver's integration config from the CRD, in the plain form.
fn plain_of_crd(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                let key = snake(k);
                if v.get("name").is_some()
                    && v.get("key").is_some()
                    && v.as_object().unwrap().len() == 2
                {
                    // A Secret key reference: the plain form reads the same key from a file.
                    out.insert(
                        format!("{key}_file"),
                        json!(format!(
                            "/etc/alertmanager/secrets/{}/{}",
                            v["name"].as_str().unwrap(),
                            v["key"].as_str().unwrap()
                        )),
                    );
                } else if let Some(list) = v.as_array().filter(|l| {
                    !l.is_empty()
                        && l.iter()
                            .all(|e| e.get("key").is_some() && e.get("value").is_some())
                }) {
                    // `headers`, `details`: `{key, value}` lists are maps in the plain form.
                    let map: Map<String, Value> = list
                        .iter()
                        .map(|e| (e["key"].as_str().unwrap().to_owned(), e["value"].clone()))
                        .collect();
                    out.insert(key, Value::Object(map));
                } else {
                    out.insert(key, plain_of_crd(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(plain_of_crd).collect()),
        other => other.clone(),
    }
}

/// A route node with what it inherits: its matchers from the root down, receiver, grouping
/// and timing, and `continue`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Node {
    matchers: Vec<(String, String, String)>,
    receiver: String,
    group_by: Vec<String>,
    group_wait: String,
    group_interval: String,
    repeat_interval: String,
    cont: bool,
}

/// Every node of a route tree, with inherited settings; `crd` selects the CRD's spelling.
fn walk(route: &Value, parent: &Node, crd: bool, out: &mut Vec<Node>) {
    let field = |plain: &str, camel: &str| route[if crd { camel } else { plain }].clone();
    let mut node = parent.clone();
    for m in route["matchers"].as_array().into_iter().flatten() {
        node.matchers.push(if crd {
            crd_matcher(m)
        } else {
            plain_matcher(m.as_str().unwrap())
        });
    }
    node.matchers.sort();
    if let Some(r) = route["receiver"].as_str() {
        node.receiver = r.to_owned();
    }
    if let Some(g) = field("group_by", "groupBy").as_array() {
        node.group_by = g.iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        node.group_by.sort();
    }
    for (plain, camel, slot) in [
        ("group_wait", "groupWait", &mut node.group_wait),
        ("group_interval", "groupInterval", &mut node.group_interval),
        (
            "repeat_interval",
            "repeatInterval",
            &mut node.repeat_interval,
        ),
    ] {
        if let Some(v) = field(plain, camel).as_str() {
            *slot = v.to_owned();
        }
    }
    node.cont = route["continue"].as_bool().unwrap_or(false);
    out.push(node.clone());
    for child in route["routes"].as_array().into_iter().flatten() {
        walk(child, &node, crd, out);
    }
}

/// Alertmanager's defaults, which both forms inherit from the top of the tree.
fn root_defaults() -> Node {
    Node {
        matchers: vec![],
        receiver: String::new(),
        group_by: vec![],
        group_wait: "30s".into(),
        group_interval: "5m".into(),
        repeat_interval: "4h".into(),
        cont: false,
    }
}

fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts the two forms of one app agree; returns how many fields were compared.
fn assert_same(app: &str, namespace: &str, job: &str, amc: &Value, plain: &Value) -> usize {
    let spec = &amc["spec"];
    let mut compared = 0;

    // Routing and grouping: the CRD's route, under the operator's namespace matcher, against
    // the plain tree's subtree for this app (the child of the root matching its job).
    let plain_root = &plain["route"];
    let mut top = root_defaults();
    top.receiver = plain_root["receiver"].as_str().unwrap().to_owned();
    for (plain_key, slot) in [
        ("group_wait", &mut top.group_wait),
        ("group_interval", &mut top.group_interval),
        ("repeat_interval", &mut top.repeat_interval),
    ] {
        if let Some(v) = plain_root[plain_key].as_str() {
            *slot = v.to_owned();
        }
    }
    if let Some(g) = plain_root["group_by"].as_array() {
        top.group_by = g.iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        top.group_by.sort();
    }
    let ours = (namespace.to_owned(), job.to_owned());
    let app_route = plain_root["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            let ms: Vec<_> = r["matchers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| plain_matcher(m.as_str().unwrap()))
                .collect();
            ms.contains(&("namespace".into(), "=".into(), ours.0.clone()))
                && ms.contains(&("job".into(), "=".into(), ours.1.clone()))
        })
        .unwrap_or_else(|| panic!("{app}: no route for namespace {namespace}, job {job}"));
    let mut plain_nodes = Vec::new();
    walk(app_route, &top, false, &mut plain_nodes);

    let mut operator_root = root_defaults();
    operator_root.matchers = vec![("namespace".into(), "=".into(), namespace.into())];
    let mut crd_nodes = Vec::new();
    walk(&spec["route"], &operator_root, true, &mut crd_nodes);
    // The plain app route names the namespace itself; the operator adds it. Both must hold
    // it once, with the job.
    for n in plain_nodes.iter_mut().chain(crd_nodes.iter_mut()) {
        n.matchers.dedup();
    }
    assert_eq!(
        crd_nodes, plain_nodes,
        "{app}: the AlertmanagerConfig's route tree (left) differs from alertmanager.yaml's (right)"
    );
    compared += crd_nodes.len() * 7;

    // Receivers: the same names, each integration field equal.
    let crd_receivers: BTreeMap<String, Value> = spec["receivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), plain_of_crd(r)))
        .collect();
    let plain_receivers: BTreeMap<String, Value> = plain["receivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), r.clone()))
        .collect();
    for node in &crd_nodes {
        let name = &node.receiver;
        let (c, p) = (
            crd_receivers
                .get(name)
                .unwrap_or_else(|| panic!("{app}: the CRD routes to {name}, which it lacks")),
            plain_receivers
                .get(name)
                .unwrap_or_else(|| panic!("{app}: alertmanager.yaml lacks receiver {name}")),
        );
        assert_eq!(
            c, p,
            "{app}: receiver {name} differs (CRD translated, then plain)"
        );
        let integrations = c.as_object().unwrap().len() - 1;
        assert!(integrations > 0, "{app}: receiver {name} notifies nobody");
        for configs in c.as_object().unwrap().values().filter_map(Value::as_array) {
            for config in configs {
                assert_eq!(
                    config["send_resolved"],
                    json!(true),
                    "{app}: {name}: resolved notifications are sent"
                );
                compared += config.as_object().unwrap().len();
            }
        }
    }

    // Inhibition: the operator adds `namespace="<ns>"` to both sides; the plain form adds the
    // namespace and the job, which every rule's `equal` also holds.
    let crd_rules: Vec<Value> = spec["inhibitRules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let side = |k: &str| {
                let mut ms: Vec<_> = r[k].as_array().unwrap().iter().map(crd_matcher).collect();
                ms.push(("namespace".into(), "=".into(), namespace.into()));
                ms.sort();
                ms
            };
            json!({"source": side("sourceMatch"), "target": side("targetMatch"), "equal": r["equal"]})
        })
        .collect();
    let plain_rules: Vec<Value> = plain["inhibit_rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["source_matchers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| plain_matcher(m.as_str().unwrap()) == ("job".into(), "=".into(), job.into()))
        })
        .map(|r| {
            assert!(
                r["equal"].as_array().unwrap().contains(&json!("job")),
                "{app}: an inhibition rule that names the job must hold it equal: {r}"
            );
            let side = |k: &str| {
                let mut ms: Vec<_> = r[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| plain_matcher(m.as_str().unwrap()))
                    .filter(|m| m != &("job".to_owned(), "=".to_owned(), job.to_owned()))
                    .collect();
                ms.sort();
                ms
            };
            json!({"source": side("source_matchers"), "target": side("target_matchers"), "equal": r["equal"]})
        })
        .collect();
    assert!(
        !crd_rules.is_empty(),
        "{app}: no inhibition rule to compare"
    );
    assert_eq!(crd_rules, plain_rules, "{app}: inhibition rules differ");
    compared + crd_rules.len() * 3
}

#[test]
fn the_alertmanager_config_and_the_plain_config_route_the_same_way_for_the_repository() {
    let config = std::fs::read_to_string(repo().join("redmetrics.toml")).unwrap();
    let dir = common::generate_fresh(&config);
    let mut compared = 0;
    for (app, ns, job) in [
        ("reviewmaps", "reviewmaps", "reviewmaps-server"),
        ("ojeomneo", "ojeomneo", "ojeomneo-server"),
    ] {
        let d = dir.path().join("deploy").join(app);
        compared += assert_same(
            app,
            ns,
            job,
            &yaml(&d.join("alertmanagerconfig.yaml")),
            &yaml(&d.join("alertmanager.yaml")),
        );
        // The shared plain config (every app in one Alertmanager) holds the same subtree.
        compared += assert_same(
            app,
            ns,
            job,
            &yaml(&d.join("alertmanagerconfig.yaml")),
            &yaml(&dir.path().join("deploy/alertmanager.yaml")),
        );
    }
    eprintln!("{compared} fields compared");
    assert!(compared > 100, "{compared}");
}

/// Settings the repository's `redmetrics.toml` does not use: per-app routes that send
/// warnings to e-mail only and criticals to PagerDuty only, per-app timings and channel.
const OVERRIDES: &str = r##"
[notify]
grafana_url = "https://grafana.example.com"
group_wait = "10s"
group_interval = "2m"
repeat_interval = "1h"

[notify.routes]
warning = ["slack"]
critical = ["slack", "pagerduty"]

[notify.slack]
channel = "#alerts"
api_url = { name = "receivers", key = "slack" }

[notify.email]
to = ["oncall@example.com"]
from = "am@example.com"
smarthost = "smtp.example.com:587"

[notify.pagerduty]
routing_key = { name = "receivers", key = "pd" }
url = "https://events.example.com/v2/enqueue"

[[apps]]
name = "shop"
namespace = "shop"
service = "shop-api"
port = "http"

[apps.notify]
group_wait = "45s"
repeat_interval = "12h"

[apps.notify.routes]
warning = ["email"]
critical = ["pagerduty"]

[[apps]]
name = "cart"
namespace = "cart"
service = "cart-api"
port = "http"
"##;

#[test]
fn per_app_routes_and_timings_are_the_same_in_both_forms() {
    let dir = common::generate_fresh(OVERRIDES);
    let mut compared = 0;
    for (app, job) in [("shop", "shop-api"), ("cart", "cart-api")] {
        let d = dir.path().join("deploy").join(app);
        let amc = yaml(&d.join("alertmanagerconfig.yaml"));
        compared += assert_same(app, app, job, &amc, &yaml(&d.join("alertmanager.yaml")));
        compared += assert_same(
            app,
            app,
            job,
            &amc,
            &yaml(&dir.path().join("deploy/alertmanager.yaml")),
        );
    }
    // And the overrides took effect (a generator ignoring them would pass the equality).
    let shop = yaml(&dir.path().join("deploy/shop/alertmanagerconfig.yaml"));
    assert_eq!(shop["spec"]["route"]["groupWait"], "45s", "{shop}");
    assert_eq!(shop["spec"]["route"]["groupInterval"], "2m", "{shop}");
    assert_eq!(shop["spec"]["route"]["repeatInterval"], "12h", "{shop}");
    let receivers = shop["spec"]["receivers"].as_array().unwrap();
    let kinds = |name: &str| -> Vec<String> {
        let r = receivers
            .iter()
            .find(|r| r["name"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no receiver {name}: {receivers:?}"));
        let mut k: Vec<String> = r
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.ends_with("Configs"))
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(kinds("warning"), ["emailConfigs"]);
    let critical = receivers
        .iter()
        .find(|r| r["name"].as_str().unwrap().ends_with("critical"))
        .unwrap();
    assert_eq!(
        critical["pagerdutyConfigs"][0]["url"], "https://events.example.com/v2/enqueue",
        "{critical}"
    );
    assert_eq!(kinds("critical"), ["pagerdutyConfigs"]);
    let cart = yaml(&dir.path().join("deploy/cart/alertmanagerconfig.yaml"));
    assert_eq!(cart["spec"]["route"]["groupWait"], "10s", "{cart}");
    assert_eq!(cart["spec"]["route"]["repeatInterval"], "1h", "{cart}");
    eprintln!("{compared} fields compared");
}
