//! Alert routing for one app, from its `[notify]` settings: the same tree as a plain
//! Alertmanager configuration (`alertmanager.yaml`) and as an `AlertmanagerConfig` object.
//!
//! One receiver per severity (`<app>-warning`, `<app>-critical`) holding that severity's
//! integrations; `group_by` alertname, job and namespace; a down or absent target inhibits the
//! job's error and latency warnings, a critical burn-rate alert the warning one. Values are
//! checked by `config::notify` (no quote, brace or space) and, where Alertmanager reads a
//! template or a matcher, escaped with `escape` as well; YAML comes from the serializer.

use serde_json::{Value, json};

use super::escape::{go_template_text, matcher_string};
use super::messages::Messages;
use super::rules::{ERROR_BUDGET_BURN, HIGH_ERROR_RATE, HIGH_LATENCY, TARGET_DOWN};
use crate::config::{Integration, Notify, Resolved, Secret};
use crate::severity::Severity;

/// Receiver endpoints that replace the configured ones in the plain configuration, so the demo
/// and tests point the generated routing at local sinks without editing generated files. A
/// `None` keeps the configured endpoint.
#[derive(Debug, Clone, Default)]
pub(crate) struct Endpoints {
    /// Slack webhook URL written inline (a local sink; never a real webhook).
    pub(crate) slack_api_url: Option<String>,
    /// File holding the Slack webhook URL, instead of the configured `api_url_file`.
    pub(crate) slack_api_url_file: Option<String>,
    /// PagerDuty Events v2 endpoint, instead of the configured `url`.
    pub(crate) pagerduty_url: Option<String>,
    /// PagerDuty routing key written inline (for a local sink), instead of the key file.
    pub(crate) pagerduty_routing_key: Option<String>,
    /// SMTP `host:port`; a local server gets neither authentication nor required TLS.
    pub(crate) smtp_smarthost: Option<String>,
}

/// The name of the receiver of `severity` alerts of `r`.
pub(crate) fn receiver_name(r: &Resolved, severity: Severity) -> String {
    format!("{}-{severity}", r.app.name)
}

/// Matchers as `(name, operator, value)`, rendered per format.
type Matcher = (&'static str, &'static str, String);

/// The app's own alerts: everything it generates carries these labels.
fn app_matchers(r: &Resolved) -> [Matcher; 2] {
    [
        ("namespace", "=", r.app.namespace.clone()),
        ("job", "=", r.job.clone()),
    ]
}

/// The inhibition rules: (source matchers, target matchers), both equal on namespace and job.
fn inhibitions() -> [(Vec<Matcher>, Vec<Matcher>); 2] {
    [
        (
            vec![
                ("alertname", "=", TARGET_DOWN.to_owned()),
                ("severity", "=", Severity::Critical.to_string()),
            ],
            vec![
                (
                    "alertname",
                    "=~",
                    format!("{HIGH_ERROR_RATE}|{HIGH_LATENCY}"),
                ),
                ("severity", "=", Severity::Warning.to_string()),
            ],
        ),
        (
            vec![
                ("alertname", "=", ERROR_BUDGET_BURN.to_owned()),
                ("severity", "=", Severity::Critical.to_string()),
            ],
            vec![
                ("alertname", "=", ERROR_BUDGET_BURN.to_owned()),
                ("severity", "=", Severity::Warning.to_string()),
            ],
        ),
    ]
}

/// Within each severity, the fastest burn-rate window pair of an objective inhibits the
/// slower ones of the same objective (equal on [`SLO_EQUAL`]): one incident pages once.
fn slo_inhibitions(r: &Resolved) -> Vec<(Vec<Matcher>, Vec<Matcher>)> {
    let Some(slo) = &r.slo else {
        return Vec::new();
    };
    let burn = |long: String| {
        vec![
            ("alertname", "=", ERROR_BUDGET_BURN.to_owned()),
            ("long_window", "=", long),
        ]
    };
    let mut out = Vec::new();
    for (i, fastest) in slo.windows.iter().enumerate() {
        let earlier = &slo.windows[..i];
        if earlier.iter().any(|w| w.severity == fastest.severity) {
            continue;
        }
        for slower in slo.windows[i + 1..]
            .iter()
            .filter(|w| w.severity == fastest.severity)
        {
            out.push((
                burn(fastest.long.to_string()),
                burn(slower.long.to_string()),
            ));
        }
    }
    out
}

/// Labels both sides of a burn-rate inhibition share: the same objective of the same job.
const SLO_EQUAL: [&str; 3] = ["namespace", "job", "slo"];

/// Every inhibition rule of `r` with the labels its sides must share.
fn all_inhibitions(r: &Resolved) -> Vec<(Vec<Matcher>, Vec<Matcher>, &'static [&'static str])> {
    inhibitions()
        .into_iter()
        .map(|(source, target)| (source, target, &EQUAL[..]))
        .chain(
            slo_inhibitions(r)
                .into_iter()
                .map(|(source, target)| (source, target, &SLO_EQUAL[..])),
        )
        .collect()
}

/// Labels both inhibition sides must share: the same job of the same app instance.
const EQUAL: [&str; 2] = ["namespace", "job"];
/// Alerts are grouped per alert name and job.
const GROUP_BY: [&str; 3] = ["alertname", "job", "namespace"];

/// Matchers in Alertmanager's string syntax: legacy label names, values double-quoted with
/// [`matcher_string`], so a label value can never end the matcher and the classic and UTF-8
/// parsers read the same matcher.
fn plain_matchers(m: &[Matcher]) -> Value {
    json!(
        m.iter()
            .map(|(n, op, v)| format!("{n}{op}{}", matcher_string(v)))
            .collect::<Vec<_>>()
    )
}

fn crd_matchers(m: &[Matcher]) -> Value {
    json!(
        m.iter()
            .map(|(n, op, v)| json!({ "name": n, "matchType": op, "value": v }))
            .collect::<Vec<_>>()
    )
}

/// One route per severity, to that severity's receiver.
fn severity_routes(r: &Resolved, n: &Notify, matchers: fn(&[Matcher]) -> Value) -> Vec<Value> {
    n.routes
        .keys()
        .map(|s| {
            json!({
                "receiver": receiver_name(r, *s),
                "matchers": matchers(&[("severity", "=", s.to_string())]),
            })
        })
        .collect()
}

/// One receiver per severity, holding for each of its integrations the config `config`
/// builds, under the key it names (`slack_configs`, `slackConfigs`, ...).
fn receivers(
    r: &Resolved,
    n: &Notify,
    config: impl Fn(Integration) -> Option<(&'static str, Value)>,
) -> Vec<Value> {
    n.routes
        .iter()
        .map(|(severity, integrations)| {
            let mut rec = json!({ "name": receiver_name(r, *severity) });
            for (key, c) in integrations.iter().filter_map(|i| config(*i)) {
                rec[key] = json!([c]);
            }
            rec
        })
        .collect()
}

/// The plain Alertmanager configuration of `r`, with `endpoints` replacing configured ones.
/// `None` when the app has no `[notify]`.
pub(crate) fn plain_config(r: &Resolved, endpoints: &Endpoints) -> Option<Value> {
    let n = r.notify.as_ref()?;
    let msg = Messages::new(r, n.grafana_url.as_deref());
    let receivers = receivers(r, n, |i| match i {
        Integration::Slack => n.slack.as_ref().map(|s| {
            let mut c = json!({
                "send_resolved": true,
                "channel": go_template_text(&s.channel),
                "title": msg.title(),
                "text": msg.text(),
            });
            match (&endpoints.slack_api_url, &endpoints.slack_api_url_file) {
                (Some(url), _) => c["api_url"] = json!(url),
                (None, Some(file)) => c["api_url_file"] = json!(file),
                (None, None) => c["api_url_file"] = json!(s.api_url.file),
            }
            ("slack_configs", c)
        }),
        Integration::Email => n.email.as_ref().map(|e| {
            let mut c = json!({
                "send_resolved": true,
                "to": go_template_text(&e.to.join(", ")),
                "from": e.from,
                "smarthost": e.smarthost,
                "require_tls": e.require_tls,
                "headers": { "Subject": msg.title() },
                "html": msg.html(),
                "text": msg.text(),
            });
            match &endpoints.smtp_smarthost {
                Some(host) => {
                    c["smarthost"] = json!(host);
                    c["require_tls"] = json!(false);
                }
                None => {
                    if let Some(a) = &e.auth {
                        c["auth_username"] = json!(a.username);
                        c["auth_password_file"] = json!(a.password.file);
                    }
                }
            }
            ("email_configs", c)
        }),
        Integration::PagerDuty => n.pagerduty.as_ref().map(|p| {
            let mut c = json!({
                "send_resolved": true,
                "description": msg.title(),
                "severity": msg.pagerduty_severity(),
                "details": msg.details(),
            });
            if let Some(url) = endpoints.pagerduty_url.as_ref().or(p.url.as_ref()) {
                c["url"] = json!(url);
            }
            if let Some(link) = msg.dashboard() {
                c["client"] = json!("Grafana");
                c["client_url"] = json!(link);
            }
            match &endpoints.pagerduty_routing_key {
                Some(key) => c["routing_key"] = json!(key),
                None => c["routing_key_file"] = json!(p.routing_key.file),
            }
            ("pagerduty_configs", c)
        }),
    });
    let scoped = |mut m: Vec<Matcher>| {
        m.extend(app_matchers(r));
        plain_matchers(&m)
    };
    let inhibit_rules: Vec<Value> = all_inhibitions(r)
        .into_iter()
        .map(|(source, target, equal)| {
            json!({
                "source_matchers": scoped(source),
                "target_matchers": scoped(target),
                "equal": equal,
            })
        })
        .collect();
    Some(json!({
        "route": {
            // Nothing reaches an empty receiver: what matches no route below (another
            // source's alerts, a severity the rules never set) goes to the warning receiver.
            "receiver": receiver_name(r, Severity::Warning),
            "group_by": GROUP_BY,
            "group_wait": n.group_wait.to_string(),
            "group_interval": n.group_interval.to_string(),
            "repeat_interval": n.repeat_interval.to_string(),
            "routes": [{
                "receiver": receiver_name(r, Severity::Warning),
                "matchers": plain_matchers(&app_matchers(r)),
                "routes": severity_routes(r, n, plain_matchers),
            }],
        },
        "inhibit_rules": inhibit_rules,
        "receivers": receivers,
    }))
}

/// One plain Alertmanager configuration for every app with `[notify]` (`deploy/alertmanager.yaml`):
/// each app's tree becomes a route of its own, matched on its namespace and job and carrying
/// its own grouping and timing; inhibition rules and receivers are those of the apps together.
/// Alerts of no app go to the first app's warning receiver, as in each app's own file.
/// `None` when no app has `[notify]`.
pub(crate) fn plain_config_all(apps: &[Resolved], endpoints: &Endpoints) -> Option<Value> {
    let configs: Vec<Value> = apps
        .iter()
        .filter_map(|r| plain_config(r, endpoints))
        .collect();
    let first = configs.first()?;
    let mut routes = Vec::new();
    let (mut inhibit_rules, mut receivers) = (Vec::new(), Vec::new());
    for c in &configs {
        let top = &c["route"];
        for app_route in top["routes"].as_array().into_iter().flatten() {
            let mut route = app_route.clone();
            for key in [
                "group_by",
                "group_wait",
                "group_interval",
                "repeat_interval",
            ] {
                route[key] = top[key].clone();
            }
            routes.push(route);
        }
        inhibit_rules.extend(c["inhibit_rules"].as_array().into_iter().flatten().cloned());
        receivers.extend(c["receivers"].as_array().into_iter().flatten().cloned());
    }
    let mut route = first["route"].clone();
    route["routes"] = json!(routes);
    Some(json!({
        "route": route,
        "inhibit_rules": inhibit_rules,
        "receivers": receivers,
    }))
}

/// Labels of the generated routing objects: those of every generated object, and
/// `release: <stack release>`, which a stack narrowed to its release selects.
fn labels(r: &Resolved) -> Value {
    let mut l = json!({
        "app.kubernetes.io/name": r.app.service,
        "app.kubernetes.io/part-of": r.app.name,
        "app.kubernetes.io/managed-by": "redmetrics",
    });
    if !r.stack.release.is_empty() {
        l["release"] = json!(r.stack.release);
    }
    l
}

fn secret_ref(s: &Secret) -> Value {
    json!({ "name": s.name, "key": s.key })
}

/// The inhibition rules in `AlertmanagerConfig` form (the operator scopes them to the object's
/// namespace).
fn crd_inhibit_rules(r: &Resolved) -> Value {
    all_inhibitions(r)
        .into_iter()
        .map(|(source, target, equal)| {
            json!({
                "sourceMatch": crd_matchers(&source),
                "targetMatch": crd_matchers(&target),
                "equal": equal,
            })
        })
        .collect()
}

/// What the chart's AlertmanagerConfig template reads from `files/alerting.yaml`: the
/// inhibition rules and the message templates of `token` (an app without dashboard link;
/// the template adds it from values). Read with `.Files.Get`, never through `tpl`, so the
/// Alertmanager templates need no escaping from Helm.
pub(crate) fn chart_alerting(token: &Resolved) -> Value {
    let msg = Messages::new(token, None);
    json!({
        "inhibitRules": crd_inhibit_rules(token),
        "messages": {
            "title": msg.title(),
            "text": msg.text(),
            "html": msg.html(),
            "pagerdutySeverity": msg.pagerduty_severity(),
            "details": msg
                .details_list()
                .into_iter()
                .map(|(k, v)| json!({ "key": k, "value": v }))
                .collect::<Vec<_>>(),
        },
    })
}

/// The `AlertmanagerConfig` of `r` in its namespace, or `None` without `[notify]`. The operator
/// adds `namespace="<the app's namespace>"` to the top route and the inhibition rules.
pub(crate) fn alertmanager_config(r: &Resolved) -> Option<Value> {
    let n: &Notify = r.notify.as_ref()?;
    let msg = Messages::new(r, n.grafana_url.as_deref());
    let receivers = receivers(r, n, |i| match (i, &n.slack, &n.email, &n.pagerduty) {
        (Integration::Slack, Some(s), _, _) => Some((
            "slackConfigs",
            json!({
                "sendResolved": true,
                "apiURL": secret_ref(&s.api_url),
                "channel": go_template_text(&s.channel),
                "title": msg.title(),
                "text": msg.text(),
            }),
        )),
        (Integration::Email, _, Some(e), _) => {
            let mut c = json!({
                "sendResolved": true,
                "to": go_template_text(&e.to.join(", ")),
                "from": e.from,
                "smarthost": e.smarthost,
                "requireTLS": e.require_tls,
                "headers": [{ "key": "Subject", "value": msg.title() }],
                "html": msg.html(),
                "text": msg.text(),
            });
            if let Some(a) = &e.auth {
                c["authUsername"] = json!(a.username);
                c["authPassword"] = secret_ref(&a.password);
            }
            Some(("emailConfigs", c))
        }
        (Integration::PagerDuty, _, _, Some(p)) => {
            let mut c = json!({
                "sendResolved": true,
                "routingKey": secret_ref(&p.routing_key),
                "description": msg.title(),
                "severity": msg.pagerduty_severity(),
                "details": msg
                    .details_list()
                    .into_iter()
                    .map(|(k, v)| json!({ "key": k, "value": v }))
                    .collect::<Vec<_>>(),
            });
            if let Some(url) = &p.url {
                c["url"] = json!(url);
            }
            if let Some(link) = msg.dashboard() {
                c["client"] = json!("Grafana");
                c["clientURL"] = json!(link);
            }
            Some(("pagerdutyConfigs", c))
        }
        _ => None,
    });
    let inhibit_rules = crd_inhibit_rules(r);
    Some(json!({
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {
            "name": format!("{}-alerts", r.app.name),
            "namespace": r.app.namespace,
            "labels": labels(r),
        },
        "spec": {
            "route": {
                "receiver": receiver_name(r, Severity::Warning),
                "groupBy": GROUP_BY,
                "groupWait": n.group_wait.to_string(),
                "groupInterval": n.group_interval.to_string(),
                "repeatInterval": n.repeat_interval.to_string(),
                "matchers": crd_matchers(&[("job", "=", r.job.clone())]),
                "routes": severity_routes(r, n, crd_matchers),
            },
            "receivers": receivers,
            "inhibitRules": inhibit_rules,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// The repository's config: the default routes for both apps.
    fn reviewmaps() -> Resolved {
        let text = include_str!("../../../../redmetrics.toml");
        Config::parse(text).unwrap().apps.remove(0)
    }

    #[test]
    fn endpoints_point_the_plain_config_at_local_sinks_and_amtool_accepts_it() {
        let endpoints = Endpoints {
            slack_api_url: Some("http://127.0.0.1:9/slack".to_owned()),
            slack_api_url_file: None,
            pagerduty_url: Some("http://127.0.0.1:9/v2/enqueue".to_owned()),
            pagerduty_routing_key: Some("local-test-key".to_owned()),
            smtp_smarthost: Some("127.0.0.1:2525".to_owned()),
        };
        let text = super::super::alertmanager_yaml(&reviewmaps(), &endpoints).unwrap();
        assert!(!text.contains("_file"), "{text}");
        for local in [
            "api_url: http://127.0.0.1:9/slack",
            "url: http://127.0.0.1:9/v2/enqueue",
            "routing_key: local-test-key",
            "smarthost: 127.0.0.1:2525",
            "require_tls: false",
        ] {
            assert!(text.contains(local), "{local}: {text}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("alertmanager.yaml");
        std::fs::write(&file, text).unwrap();
        crate::generate::peer_verdict(
            std::process::Command::new("amtool")
                .arg("check-config")
                .arg(&file),
            "amtool (Debian prometheus-alertmanager) is installed by scripts/test",
        );
    }
}

/// Issue 18 part 5: every generated matcher means the same under Alertmanager's classic
/// parser (amtool 0.25, the real one) and under the UTF-8 parser, the default since 0.27.
#[cfg(test)]
mod matcher_table {
    use std::path::Path;
    use std::process::Command;

    use super::*;
    use crate::config::Config;

    /// The UTF-8 parser's reading of one `name op "value"` matcher, written out from
    /// prometheus/alertmanager `docs/configuration.md`, "UTF-8 matchers": the name is an
    /// unquoted literal (no whitespace, none of `{}!=~,\"'` and backquote); the value a
    /// double-quoted string following Go's string-literal rules, of which a generated value
    /// may use only `\\`, `\"` and `\n` (the escapes the classic parser shares, "Classic
    /// matchers"). Anything else panics: the matcher would not be portable.
    fn utf8_reading(m: &str) -> (String, &'static str, String) {
        let reserved = |c: char| c.is_whitespace() || "{}!=~,\\\"'`".contains(c);
        let end = m.find(reserved).expect("an operator follows the name");
        let (name, rest) = m.split_at(end);
        assert!(!name.is_empty(), "{m}: no unquoted name");
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .unwrap_or_else(|| panic!("{m}: no operator"));
        let quoted = &rest[op.len()..];
        let body = quoted
            .strip_prefix('"')
            .and_then(|b| b.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{m}: the value is not double-quoted"));
        let (mut value, mut chars) = (String::new(), body.chars());
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => {
                        panic!("{m}: escape \\{other:?} means different things to the two parsers")
                    }
                },
                '"' => panic!("{m}: an unescaped quote inside the value"),
                '\n' => panic!("{m}: a raw line feed, which Go's string literals refuse"),
                c => value.push(c),
            }
        }
        (name.to_owned(), op, value)
    }

    /// Every string under a `matchers`, `source_matchers` or `target_matchers` key.
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if k.ends_with("matchers") {
                        out.extend(
                            v.as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|m| m.as_str().map(str::to_owned)),
                        );
                    } else {
                        collect(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
            _ => {}
        }
    }

    fn amtool(args: &[&str]) -> String {
        crate::generate::peer_verdict(
            Command::new("amtool").args(args),
            "amtool (Debian prometheus-alertmanager) is installed by scripts/test",
        )
    }

    /// A configuration routing what `matcher` matches to receiver `hit`, the rest to `miss`.
    fn config_with(dir: &Path, matcher: &str) -> String {
        let config = json!({
            "route": {
                "receiver": "miss",
                "routes": [{ "receiver": "hit", "matchers": [matcher] }],
            },
            "receivers": [{ "name": "miss" }, { "name": "hit" }],
        });
        let file = dir.join("am.yaml");
        std::fs::write(&file, serde_saphyr::to_string(&config).unwrap()).unwrap();
        file.to_str().unwrap().to_owned()
    }

    /// Checks one matcher against both readings; `value` is what it must mean, when known.
    fn same_under_both(
        dir: &Path,
        matcher: &str,
        value: Option<&str>,
    ) -> (String, &'static str, String) {
        let (name, op, utf8_value) = utf8_reading(matcher);
        if let Some(v) = value {
            assert_eq!(utf8_value, v, "{matcher}: the UTF-8 reading");
        }
        let file = config_with(dir, matcher);
        amtool(&["check-config", &file]);
        // amtool prints each parsed matcher re-escaped with the same three escapes: the
        // classic reading equals the UTF-8 one exactly when it prints the matcher unchanged.
        let shown = amtool(&["config", "routes", "show", "--config.file", &file]);
        assert!(
            shown.contains(&format!("{{{matcher}}}  receiver: hit")),
            "{matcher}: amtool reads it as\n{shown}"
        );
        (name, op, utf8_value)
    }

    #[test]
    fn every_generated_matcher_means_the_same_under_both_parsers() {
        let dir = tempfile::tempdir().unwrap();
        let text = include_str!("../../../../redmetrics.toml");
        let mut table = Vec::new();
        for r in Config::parse(text).unwrap().apps {
            collect(
                &plain_config(&r, &Endpoints::default()).unwrap(),
                &mut table,
            );
        }
        table.sort();
        table.dedup();
        // Two apps: namespace and job each, two severities, three alert-name matchers, and
        // the four long windows the burn-rate inhibitions name.
        assert_eq!(table.len(), 13, "the matchers found: {table:?}");
        for matcher in &table {
            let (name, op, value) = same_under_both(dir.path(), matcher, None);
            let file = config_with(dir.path(), matcher);
            // And amtool routes the values the matcher means to `hit`.
            let hits: Vec<&str> = match op {
                "=" => vec![value.as_str()],
                "=~" => value.split('|').collect(),
                other => panic!("{matcher}: generated matchers use = and =~ only, not {other}"),
            };
            for v in hits {
                let label = format!("{name}={v}");
                let got = amtool(&["config", "routes", "test", "--config.file", &file, &label]);
                assert_eq!(got.trim(), "hit", "{matcher} with {label}");
            }
            let miss = format!("{name}={value}-other");
            let got = amtool(&["config", "routes", "test", "--config.file", &file, &miss]);
            assert_eq!(got.trim(), "miss", "{matcher} with {miss}");
        }
        // Values no configuration holds today, through the same writer.
        for hostile in [
            "a\"b",
            "back\\slash",
            "trailing\\",
            "new\nline",
            "tab\there",
            "bell\u{7}",
            "comma,and}brace{",
            "ünïcödé 🙂",
            r"\xf0\x9f\x99\x82",
        ] {
            let m = plain_matchers(&[("job", "=", hostile.to_owned())]);
            let m = m[0].as_str().unwrap();
            same_under_both(dir.path(), m, Some(hostile));
        }
    }
}

/// The AlertmanagerConfig side and the burn-rate inhibitions, stated by hand for the
/// repository's config, and the combined plain configuration routed by amtool.
#[cfg(test)]
mod by_hand {
    use std::process::Command;

    use serde_json::json;

    use super::*;
    use crate::config::Config;

    fn apps() -> Vec<Resolved> {
        Config::parse(include_str!("../../../../redmetrics.toml"))
            .unwrap()
            .apps
    }

    /// `name = value` matchers in the CRD's form.
    fn crd(m: &[(&str, &str)]) -> Value {
        json!(
            m.iter()
                .map(|(n, v)| json!({ "name": n, "matchType": "=", "value": v }))
                .collect::<Vec<_>>()
        )
    }

    /// The default windows (critical 1h/5m and 6h/30m, warning 1d/2h and 3d/6h): in each
    /// severity the fastest pair inhibits the slower one, and no pair inhibits itself (a rule
    /// whose sides match the same alerts, which Alertmanager ignores, so only a hand-written
    /// list can tell it is there).
    #[test]
    fn the_fastest_burn_pair_of_each_severity_inhibits_the_slower_one() {
        let r = &apps()[0];
        let longs: Vec<(String, String)> = slo_inhibitions(r)
            .into_iter()
            .map(|(source, target)| {
                assert_eq!(source[0], ("alertname", "=", ERROR_BUDGET_BURN.to_owned()));
                assert_eq!(target[0], ("alertname", "=", ERROR_BUDGET_BURN.to_owned()));
                assert_eq!((source.len(), target.len()), (2, 2));
                (source[1].2.clone(), target[1].2.clone())
            })
            .collect();
        let pairs = [("1h", "6h"), ("1d", "3d")].map(|(a, b)| (a.to_owned(), b.to_owned()));
        assert_eq!(longs, pairs);
    }

    /// The AlertmanagerConfig of ReviewMaps: labelled for the stack's release, routed by
    /// severity under the job's matcher, each receiver's secrets by Secret reference, and the
    /// four inhibition rules in the CRD's matcher form.
    #[test]
    fn the_alertmanager_config_is_the_routing_in_the_crds_terms() {
        let r = &apps()[0];
        let amc = alertmanager_config(r).expect("reviewmaps has [notify]");
        assert_eq!(amc["kind"], "AlertmanagerConfig");
        assert_eq!(
            amc["metadata"]["labels"],
            json!({
                "app.kubernetes.io/name": "reviewmaps-server",
                "app.kubernetes.io/part-of": "reviewmaps",
                "app.kubernetes.io/managed-by": "redmetrics",
                "release": "kube-prometheus-stack",
            })
        );
        let route = &amc["spec"]["route"];
        assert_eq!(route["receiver"], "reviewmaps-warning");
        assert_eq!(route["matchers"], crd(&[("job", "reviewmaps-server")]));
        assert_eq!(
            route["routes"],
            json!([
                { "receiver": "reviewmaps-critical", "matchers": crd(&[("severity", "critical")]) },
                { "receiver": "reviewmaps-warning", "matchers": crd(&[("severity", "warning")]) },
            ])
        );
        let secret = |key: &str| json!({ "name": "alertmanager-receivers", "key": key });
        let receivers = amc["spec"]["receivers"].as_array().unwrap();
        assert_eq!(receivers.len(), 2);
        for (rec, name, pagerduty) in [
            (&receivers[0], "reviewmaps-critical", true),
            (&receivers[1], "reviewmaps-warning", false),
        ] {
            assert_eq!(rec["name"], name);
            assert_eq!(
                rec["slackConfigs"][0]["apiURL"],
                secret("slack-api-url"),
                "{rec}"
            );
            assert_eq!(
                rec["slackConfigs"][0]["channel"], "#reviewmaps-alerts",
                "{rec}"
            );
            assert_eq!(
                rec["emailConfigs"][0]["authPassword"],
                secret("smtp-password"),
                "{rec}"
            );
            assert_eq!(
                rec["emailConfigs"][0]["to"], "reviewmaps-oncall@example.com",
                "{rec}"
            );
            let pd = &rec["pagerdutyConfigs"][0]["routingKey"];
            if pagerduty {
                assert_eq!(*pd, secret("pagerduty-routing-key"), "{rec}");
            } else {
                assert_eq!(rec.get("pagerdutyConfigs"), None, "{rec}");
            }
        }
        let burn = |long: &str| crd(&[("alertname", ERROR_BUDGET_BURN), ("long_window", long)]);
        let rules = &amc["spec"]["inhibitRules"];
        assert_eq!(rules.as_array().map(Vec::len), Some(4), "{rules}");
        assert_eq!(
            rules[0]["sourceMatch"],
            crd(&[("alertname", TARGET_DOWN), ("severity", "critical")])
        );
        assert_eq!(rules[0]["equal"], json!(["namespace", "job"]));
        assert_eq!(rules[2]["sourceMatch"], burn("1h"));
        assert_eq!(rules[2]["targetMatch"], burn("6h"));
        assert_eq!(rules[3]["sourceMatch"], burn("1d"));
        assert_eq!(rules[3]["targetMatch"], burn("3d"));
        assert_eq!(rules[3]["equal"], json!(["namespace", "job", "slo"]));
        // The chart's alerting file carries the same four rules.
        let chart = chart_alerting(r);
        assert_eq!(chart["inhibitRules"], *rules);
        assert!(
            chart["messages"]["title"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        // An app whose stack has no release label gets none.
        let mut bare = r.clone();
        bare.stack.release = String::new();
        let amc = alertmanager_config(&bare).unwrap();
        assert_eq!(amc["metadata"]["labels"].get("release"), None, "{amc}");
    }

    /// `deploy/alertmanager.yaml` for both apps, as amtool routes it: each app's alerts by
    /// severity to its own receivers, anything else to the first app's warning receiver.
    #[test]
    fn amtool_routes_both_apps_through_the_combined_configuration() {
        let all = plain_config_all(&apps(), &Endpoints::default()).expect("both have [notify]");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("alertmanager.yaml");
        std::fs::write(&file, serde_saphyr::to_string(&all).unwrap()).unwrap();
        let route = |labels: &[&str]| {
            crate::generate::peer_verdict(
                Command::new("amtool")
                    .args(["config", "routes", "test", "--config.file"])
                    .arg(&file)
                    .args(labels),
                "amtool (Debian prometheus-alertmanager) is installed by scripts/test",
            )
            .trim()
            .to_owned()
        };
        for (ns, job, severity, receiver) in [
            (
                "reviewmaps",
                "reviewmaps-server",
                "critical",
                "reviewmaps-critical",
            ),
            (
                "reviewmaps",
                "reviewmaps-server",
                "warning",
                "reviewmaps-warning",
            ),
            (
                "ojeomneo",
                "ojeomneo-server",
                "critical",
                "ojeomneo-critical",
            ),
            ("ojeomneo", "ojeomneo-server", "warning", "ojeomneo-warning"),
            ("other", "other", "critical", "reviewmaps-warning"),
        ] {
            let labels = [
                format!("namespace={ns}"),
                format!("job={job}"),
                format!("severity={severity}"),
            ];
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            assert_eq!(route(&labels), receiver, "{labels:?}");
        }
        assert_eq!(all["inhibit_rules"].as_array().map(Vec::len), Some(8));
    }
}
