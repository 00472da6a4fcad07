//! `redmetrics check alertmanager URL`: reads a running Alertmanager's configuration through
//! its API (`/api/v2/status`, `config.original`) and follows each of the app's generated
//! alerts through the routing tree, as Alertmanager's dispatcher does, to the receivers it
//! reaches. An alert passes when one of them notifies someone: not `"null"`, not a receiver
//! without integrations (kube-prometheus-stack's default config sends everything there).
//!
//! No maintained Rust crate parses Alertmanager configurations or resolves its routing tree,
//! so the resolution is written here, after Alertmanager 0.25's `dispatch/route.go`: a route
//! matches when all its matchers (`match`, `match_re`, `matchers`; regexes anchored) hold;
//! children are tried in order, the first match wins unless it has `continue: true`; a route
//! whose children all miss takes the alert itself; a missing `receiver` is inherited.
//! Bounded: the answer is capped at [`MAX_BODY`] bytes and 10 s, the tree at [`MAX_DEPTH`]
//! levels and [`MAX_ROUTES`] routes, each regex at [`MAX_REGEX`] bytes compiled.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

use super::CheckError;
use super::fetch::get_capped;
use super::report::{Check, Report};
use crate::config::Resolved;
use crate::generate;

/// Largest `/api/v2/status` answer read (the configuration is in it).
pub(crate) const MAX_BODY: usize = 4 << 20;
/// Deepest routing tree followed.
pub(crate) const MAX_DEPTH: usize = 16;
/// Most routes in one tree.
pub(crate) const MAX_ROUTES: usize = 10_000;
/// Largest compiled regex of one matcher.
pub(crate) const MAX_REGEX: usize = 1 << 20;

/// A route as the configuration writes it.
#[derive(Debug, Default, Deserialize)]
struct RouteConfig {
    receiver: Option<String>,
    #[serde(default, rename = "match")]
    equal: BTreeMap<String, String>,
    #[serde(default)]
    match_re: BTreeMap<String, String>,
    #[serde(default)]
    matchers: Vec<String>,
    #[serde(default, rename = "continue")]
    continues: bool,
    #[serde(default)]
    routes: Vec<RouteConfig>,
}

/// The parts of an Alertmanager configuration routing depends on.
#[derive(Debug, Deserialize)]
struct AmConfig {
    route: Option<RouteConfig>,
    #[serde(default)]
    receivers: Vec<BTreeMap<String, serde_json::Value>>,
}

/// How one matcher compares a label value.
#[derive(Debug)]
enum Op {
    Equal(String),
    NotEqual(String),
    Regex(Regex),
    NotRegex(Regex),
}

/// One label matcher (a missing label is the empty string, as in Alertmanager).
#[derive(Debug)]
struct Matcher {
    label: String,
    op: Op,
}

impl Matcher {
    fn new(label: &str, op: &str, value: &str) -> Result<Self, String> {
        let regex = || {
            regex::RegexBuilder::new(&format!("^(?:{value})$"))
                .size_limit(MAX_REGEX)
                .build()
                .map_err(|e| format!("matcher {label}{op}{value:?}: {e}"))
        };
        let op_kind = match op {
            "=" => Op::Equal(value.to_owned()),
            "!=" => Op::NotEqual(value.to_owned()),
            "=~" => Op::Regex(regex()?),
            "!~" => Op::NotRegex(regex()?),
            _ => return Err(format!("matcher {label}: unknown operator {op:?}")),
        };
        Ok(Self {
            label: label.to_owned(),
            op: op_kind,
        })
    }

    /// Parses one `matchers:` entry: `name op value`, the value bare or double-quoted.
    fn parse(s: &str) -> Result<Self, String> {
        let s = s
            .trim()
            .trim_start_matches('{')
            .trim_end_matches('}')
            .trim();
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        let (label, rest) = s.split_at(end);
        if label.is_empty() {
            return Err(format!("matcher {s:?}: no label name"));
        }
        let rest = rest.trim_start();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or_else(|| format!("matcher {s:?}: no operator"))?;
        let raw = rest[op.len()..].trim();
        let value = match raw.strip_prefix('"') {
            Some(quoted) => unquote(quoted).ok_or_else(|| format!("matcher {s:?}: bad quoting"))?,
            None => raw.to_owned(),
        };
        Self::new(label, op, &value)
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.label).map_or("", String::as_str);
        match &self.op {
            Op::Equal(want) => v == want,
            Op::NotEqual(want) => v != want,
            Op::Regex(re) => re.is_match(v),
            Op::NotRegex(re) => !re.is_match(v),
        }
    }
}

/// The body of a double-quoted value after its opening quote, escapes resolved.
fn unquote(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return chars.as_str().trim().is_empty().then_some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// A route ready to match, with its receiver inherited and where it sits in the tree.
#[derive(Debug)]
struct Route {
    path: String,
    receiver: String,
    matchers: Vec<Matcher>,
    continues: bool,
    routes: Vec<Route>,
}

impl Route {
    fn compile(
        config: RouteConfig,
        path: String,
        inherited: &str,
        depth: usize,
        count: &mut usize,
    ) -> Result<Self, String> {
        *count += 1;
        if depth > MAX_DEPTH {
            return Err(format!(
                "the routing tree is deeper than {MAX_DEPTH} levels at {path}"
            ));
        }
        if *count > MAX_ROUTES {
            return Err(format!(
                "the routing tree has more than {MAX_ROUTES} routes"
            ));
        }
        let receiver = config.receiver.unwrap_or_else(|| inherited.to_owned());
        let mut matchers = Vec::new();
        for (label, value) in &config.equal {
            matchers.push(Matcher::new(label, "=", value)?);
        }
        for (label, value) in &config.match_re {
            matchers.push(Matcher::new(label, "=~", value)?);
        }
        for m in &config.matchers {
            matchers.push(Matcher::parse(m)?);
        }
        let routes = config
            .routes
            .into_iter()
            .enumerate()
            .map(|(i, child)| {
                Self::compile(
                    child,
                    format!("{path}.routes[{i}]"),
                    &receiver,
                    depth + 1,
                    count,
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            path,
            receiver,
            matchers,
            continues: config.continues,
            routes,
        })
    }

    /// The routes that take an alert with `labels`, as Alertmanager's `Route.Match`.
    fn resolve<'a>(&'a self, labels: &BTreeMap<String, String>, out: &mut Vec<&'a Route>) {
        if !self.matchers.iter().all(|m| m.matches(labels)) {
            return;
        }
        let before = out.len();
        for child in &self.routes {
            let had = out.len();
            child.resolve(labels, out);
            if out.len() > had && !child.continues {
                break;
            }
        }
        if out.len() == before {
            out.push(self);
        }
    }
}

/// A parsed configuration: the tree and each receiver's integrations (`slack_configs`, …).
#[derive(Debug)]
struct Routing {
    root: Route,
    receivers: BTreeMap<String, Vec<String>>,
}

impl Routing {
    fn parse(yaml: &str) -> Result<Self, String> {
        let config: AmConfig =
            serde_saphyr::from_str(yaml).map_err(|e| format!("not an Alertmanager config: {e}"))?;
        let route = config
            .route
            .ok_or_else(|| "the configuration has no `route`".to_owned())?;
        let mut count = 0;
        let root = Route::compile(route, "route".to_owned(), "", 0, &mut count)?;
        let receivers = config
            .receivers
            .iter()
            .filter_map(|r| {
                let name = r.get("name")?.as_str()?.to_owned();
                let integrations = r
                    .iter()
                    .filter(|(k, v)| {
                        k.ends_with("_configs") && v.as_array().is_some_and(|a| !a.is_empty())
                    })
                    .map(|(k, _)| k.trim_end_matches("_configs").to_owned())
                    .collect();
                Some((name, integrations))
            })
            .collect();
        Ok(Self { root, receivers })
    }
}

/// One alert the app's rules raise, with the labels it reaches Alertmanager with.
#[derive(Debug, Clone)]
pub(crate) struct Alert {
    pub(crate) labels: BTreeMap<String, String>,
}

impl Alert {
    fn name(&self) -> String {
        let mut name = self.labels.get("alertname").cloned().unwrap_or_default();
        for (k, v) in &self.labels {
            if !matches!(k.as_str(), "alertname" | "namespace" | "job") {
                name.push_str(&format!(" {k}={v}"));
            }
        }
        name
    }
}

/// The alerts of `r`'s generated rules: each rule's labels plus `alertname` and the
/// `namespace` and `job` its expression keeps.
pub(crate) fn alerts(r: &Resolved) -> Vec<Alert> {
    generate::rules(r)
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|rule| {
            let name = rule.alert.as_ref()?;
            let mut labels = rule.labels.clone();
            labels.insert("alertname".to_owned(), name.clone());
            labels.insert("namespace".to_owned(), r.app.namespace.clone());
            labels.insert("job".to_owned(), r.job.clone());
            Some(Alert { labels })
        })
        .collect()
}

/// Runs the check against the Alertmanager at `base`; `Err` when it cannot be asked.
pub(crate) async fn check(base: &str, r: &Resolved) -> Result<Report, CheckError> {
    let url = format!("{}/api/v2/status", base.trim_end_matches('/'));
    let fetched = get_capped(&url, MAX_BODY).await?;
    let not_am = |reason: String| CheckError::NotAlertmanager {
        url: url.clone(),
        status: fetched.status,
        reason,
    };
    let status: serde_json::Value =
        serde_json::from_slice(&fetched.body).map_err(|e| not_am(e.to_string()))?;
    let original = status["config"]["original"]
        .as_str()
        .ok_or_else(|| not_am("no config.original".to_owned()))?;
    let target = format!("{base} app {}", r.app.name);
    let mut config_check = Check::new("configuration");
    let routing = match Routing::parse(original) {
        Ok(routing) => routing,
        Err(e) => {
            config_check.fail(
                format!("cannot follow the routing tree: {e}"),
                "fix the Alertmanager configuration (`amtool check-config FILE`)",
            );
            return Ok(Report::new(
                target,
                vec![config_check.summary("unreadable routing tree")],
            ));
        }
    };
    let notifying = routing.receivers.values().filter(|i| !i.is_empty()).count();
    let mut checks = vec![config_check.summary(format!(
        "{} receiver(s), {notifying} with integrations; default receiver {:?}",
        routing.receivers.len(),
        routing.root.receiver
    ))];
    let alerts = alerts(r);
    if alerts.is_empty() {
        let mut c = Check::new("alerts");
        c.fail(
            format!("app {} has no alert rule to route", r.app.name),
            "nothing to check: generate the app's rules (`redmetrics generate`)",
        );
        checks.push(c.summary("no alert to check"));
    }
    for alert in &alerts {
        checks.push(route_check(&routing, alert, r));
    }
    Ok(Report::new(target, checks))
}

/// Where one alert goes, and whether anyone hears of it.
fn route_check(routing: &Routing, alert: &Alert, r: &Resolved) -> Check {
    let mut c = Check::new(&format!("route {}", alert.name()));
    let mut taken = Vec::new();
    routing.root.resolve(&alert.labels, &mut taken);
    let mut heard = Vec::new();
    let mut silent = Vec::new();
    for route in &taken {
        match routing.receivers.get(&route.receiver) {
            Some(integrations) if !integrations.is_empty() => heard.push(format!(
                "{:?} ({}) via {}",
                route.receiver,
                integrations.join(", "),
                route.path
            )),
            Some(_) => silent.push((route, "has no integrations")),
            None => silent.push((route, "is not defined")),
        }
    }
    if !heard.is_empty() {
        return c.summary(format!("reaches {}", heard.join("; ")));
    }
    let labels = alert
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    for (route, why) in &silent {
        let default = std::ptr::eq(**route, &routing.root);
        if default && route.receiver == "null" {
            c.fail(
                format!(
                    "the \"null\" trap: no route matches {{{labels}}}, so the default route \
                     sends it to receiver \"null\", which notifies nobody (kube-prometheus-stack's \
                     default config routes every alert there)"
                ),
                format!(
                    "route the app's alerts: apply its generated AlertmanagerConfig in namespace \
                     {ns} and let the stack's Alertmanager select it \
                     (alertmanager.alertmanagerSpec.alertmanagerConfigSelector), or add a route \
                     matching namespace=\"{ns}\" to a receiver with slack_configs, email_configs \
                     or pagerduty_configs",
                    ns = r.app.namespace
                ),
            );
        } else {
            c.fail(
                format!(
                    "{{{labels}}} reaches only receiver {:?} via {}{}, which {why}",
                    route.receiver,
                    route.path,
                    if default { " (the default route)" } else { "" }
                ),
                format!(
                    "give receiver {:?} an integration (slack_configs, email_configs, \
                     pagerduty_configs, webhook_configs) or route the alert to one that has",
                    route.receiver
                ),
            );
        }
    }
    let receivers: Vec<String> = taken.iter().map(|r| format!("{:?}", r.receiver)).collect();
    c.summary(format!(
        "notifies nobody (reaches {})",
        receivers.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn receivers(routing: &Routing, pairs: &[(&str, &str)]) -> Vec<String> {
        let mut out = Vec::new();
        routing.root.resolve(&labels(pairs), &mut out);
        out.iter().map(|r| r.receiver.clone()).collect()
    }

    #[test]
    fn matchers_parse_as_alertmanager_writes_them() {
        let m = Matcher::parse(r#"severity=~"warning|critical""#).expect("parses");
        assert!(m.matches(&labels(&[("severity", "critical")])));
        assert!(
            !m.matches(&labels(&[("severity", "criticality")])),
            "anchored"
        );
        let m = Matcher::parse("team != ops").expect("parses");
        assert!(m.matches(&labels(&[])), "a missing label is empty");
        let m = Matcher::parse(r#"a="x\"y""#).expect("parses");
        assert!(m.matches(&labels(&[("a", "x\"y")])));
        assert!(Matcher::parse("=x").is_err());
        assert!(Matcher::parse("a~x").is_err());
        assert!(Matcher::parse(r#"a=~"(""#).is_err());
    }

    #[test]
    fn first_match_wins_unless_continue() {
        let routing = Routing::parse(
            r#"
route:
  receiver: root
  routes:
    - matchers: ['severity=~"warning|critical"']
      receiver: chat
      continue: true
    - match: {severity: critical}
      receiver: pager
    - match_re: {severity: ".+"}
      receiver: never
      routes:
        - matchers: [team="x"]
receivers: [{name: root}, {name: chat}, {name: pager}, {name: never}]
"#,
        )
        .expect("parses");
        assert_eq!(
            receivers(&routing, &[("severity", "critical")]),
            ["chat", "pager"]
        );
        assert_eq!(
            receivers(&routing, &[("severity", "warning")]),
            ["chat", "never"]
        );
        assert_eq!(receivers(&routing, &[("severity", "info")]), ["never"]);
        assert_eq!(
            receivers(&routing, &[("severity", "info"), ("team", "x")]),
            ["never"],
            "the child inherits its parent's receiver"
        );
        assert_eq!(receivers(&routing, &[]), ["root"]);
    }

    #[test]
    fn the_tree_is_bounded() {
        let mut yaml = "route:\n  receiver: r\n".to_owned();
        let mut indent = "  ".to_owned();
        for _ in 0..=MAX_DEPTH {
            yaml.push_str(&format!("{indent}routes:\n{indent}- receiver: r\n"));
            indent.push_str("  ");
        }
        yaml.push_str("receivers: [{name: r}]\n");
        let err = Routing::parse(&yaml).expect_err("too deep");
        assert!(err.contains("deeper than"), "{err}");
    }
}
