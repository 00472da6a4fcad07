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
//! whose children all miss takes the alert itself; a missing `receiver` is inherited (shared,
//! not copied). `matchers:` entries are read with both of Alertmanager's parsers
//! ([`super::matchers`]), as the version that answered does.
//!
//! Bounded by what it builds, not only by what it reads: the answer at [`MAX_BODY`] bytes,
//! the YAML at [`MAX_YAML_NODES`] nodes and [`MAX_YAML_SCALAR_BYTES`] of text, the tree at
//! [`MAX_DEPTH`] levels, [`MAX_ROUTES`] routes and [`MAX_MATCHERS`] matchers, regexes at
//! [`MAX_REGEXES`] distinct ones of [`MAX_REGEX`] bytes each and [`MAX_REGEX_BYTES`] in all,
//! every printed name at [`MAX_NAME_CHARS`], and the whole run at `--timeout` seconds.

use std::collections::BTreeMap;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use regex_automata::meta;
use serde::Deserialize;

use super::CheckError;
use super::fetch::get_capped;
use super::matchers::{self, Op, QuotedNames, Reading, Spec};
use super::report::{Check, Report};
use crate::config::Resolved;
use crate::generate;

/// Largest `/api/v2/status` answer read (the configuration is in it).
pub(crate) const MAX_BODY: usize = 4 << 20;
/// Most YAML nodes (scalars, sequences, mappings) read, aliases replayed included.
pub(crate) const MAX_YAML_NODES: usize = 250_000;
/// Most scalar text the YAML may decode into, aliases replayed included.
pub(crate) const MAX_YAML_SCALAR_BYTES: usize = 16 << 20;
/// Deepest routing tree followed.
pub(crate) const MAX_DEPTH: usize = 16;
/// Most routes in one tree.
pub(crate) const MAX_ROUTES: usize = 10_000;
/// Most matchers in one tree, of every kind.
pub(crate) const MAX_MATCHERS: usize = 20_000;
/// Most distinct regexes compiled (an identical pattern is compiled once and shared).
pub(crate) const MAX_REGEXES: usize = 1_000;
/// Largest compiled regex of one matcher (its NFA).
pub(crate) const MAX_REGEX: usize = 1 << 20;
/// Most heap all compiled regexes may take together, as they report it.
pub(crate) const MAX_REGEX_BYTES: usize = 64 << 20;
/// Largest lazy-DFA cache of one regex; matching labels needs little.
const REGEX_CACHE: usize = 64 << 10;
/// Longest name (receiver, route path) printed; longer ones are cut, saying how much.
pub(crate) const MAX_NAME_CHARS: usize = 80;
/// Most receivers listed in one summary line; the rest are counted.
pub(crate) const MAX_LISTED: usize = 10;

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

/// Which of Alertmanager's matcher parsers reads `matchers:` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// 0.26 and older: the classic parser only.
    Classic,
    /// 0.27 and newer: UTF-8 first, the classic reading when it fails or disagrees.
    Fallback,
}

impl Syntax {
    /// The parser of the Alertmanager whose `versionInfo.version` is `version` (`0.27.0`,
    /// `v0.28.1`); an unreadable version is taken as new.
    pub(crate) fn of_version(version: &str) -> Self {
        let mut parts = version.trim_start_matches('v').split('.');
        let major: u32 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(u32::MAX);
        let minor: u32 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(u32::MAX);
        if (major, minor) < (0, 27) {
            Self::Classic
        } else {
            Self::Fallback
        }
    }
}

/// What reading one configuration may spend: matchers, compiled regexes and time.
#[derive(Debug)]
struct Budget {
    deadline: Instant,
    syntax: Syntax,
    matchers: usize,
    regex_bytes: usize,
    regexes: HashMap<String, Arc<meta::Regex>>,
    /// Receiver names, each held once: routes naming or inheriting one share it.
    names: HashSet<Arc<str>>,
    /// Entries Alertmanager's parsers read differently, for the report.
    notes: Vec<String>,
}

impl Budget {
    fn new(deadline: Instant, syntax: Syntax) -> Self {
        Self {
            deadline,
            syntax,
            matchers: 0,
            regex_bytes: 0,
            regexes: HashMap::new(),
            names: HashSet::new(),
            notes: Vec::new(),
        }
    }

    /// The one shared copy of receiver name `name`.
    fn name(&mut self, name: String) -> Arc<str> {
        if let Some(held) = self.names.get(name.as_str()) {
            return Arc::clone(held);
        }
        let name: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&name));
        name
    }

    fn in_time(&self) -> Result<(), String> {
        if past(self.deadline) {
            return Err("the check ran out of time (--timeout) reading the routing tree".into());
        }
        Ok(())
    }

    /// `pattern` compiled anchored, as Alertmanager does, or the one compiled before.
    fn regex(&mut self, pattern: &str) -> Result<Arc<meta::Regex>, String> {
        if let Some(re) = self.regexes.get(pattern) {
            return Ok(Arc::clone(re));
        }
        if self.regexes.len() == MAX_REGEXES {
            return Err(format!(
                "more than {MAX_REGEXES} distinct regex matchers (the checker's budget)"
            ));
        }
        self.in_time()?;
        let config = meta::Config::new()
            .nfa_size_limit(Some(MAX_REGEX))
            .hybrid_cache_capacity(REGEX_CACHE);
        let re = meta::Regex::builder()
            .configure(config)
            .build(&format!("^(?:{pattern})$"))
            .map_err(|e| format!("regex {}: {e}", shown(pattern)))?;
        self.regex_bytes += re.memory_usage();
        if self.regex_bytes > MAX_REGEX_BYTES {
            return Err(format!(
                "the regex matchers compile to more than {} MiB (the checker's budget)",
                MAX_REGEX_BYTES >> 20
            ));
        }
        let re = Arc::new(re);
        self.regexes.insert(pattern.to_owned(), Arc::clone(&re));
        Ok(re)
    }

    fn matcher(&mut self, spec: &Spec) -> Result<Matcher, String> {
        self.matchers += 1;
        if self.matchers > MAX_MATCHERS {
            return Err(format!(
                "the routing tree has more than {MAX_MATCHERS} matchers (the checker's budget)"
            ));
        }
        let test = match spec.op {
            Op::Equal => Test::Equal(spec.value.clone()),
            Op::NotEqual => Test::NotEqual(spec.value.clone()),
            Op::Regex => Test::Regex(self.regex(&spec.value)?),
            Op::NotRegex => Test::NotRegex(self.regex(&spec.value)?),
        };
        Ok(Matcher {
            label: spec.name.clone(),
            test,
        })
    }

    /// The matchers of one `matchers:` entry, as the Alertmanager that answered reads it.
    fn entry(&mut self, line: &str, path: &str) -> Result<Vec<Matcher>, String> {
        let specs = match self.syntax {
            Syntax::Classic => matchers::classic(line, QuotedNames::Refused)
                .map_err(|e| format!("matcher {} at {path}: {e}", shown(line)))?,
            Syntax::Fallback => {
                let reading = matchers::read(line).map_err(|e| format!("at {path}: {e}"))?;
                let note = match &reading {
                    Reading::Agreed(_) => None,
                    Reading::ClassicOnly(..) => Some(
                        "reads only under the classic parser: Alertmanager 0.27+ falls back to it, \
                         and refuses it with --enable-feature=utf8-strict-mode",
                    ),
                    Reading::Disagreed { .. } => Some(
                        "means one thing under the classic parser, which Alertmanager 0.27+ uses, \
                         and another under the UTF-8 parser of utf8-strict-mode",
                    ),
                    Reading::Utf8Only(..) => Some(
                        "reads only under the UTF-8 parser: Alertmanager 0.26 and older refuse it",
                    ),
                };
                if let Some(note) = note {
                    self.notes
                        .push(format!("matcher {} at {path} {note}", shown(line)));
                }
                reading.fallback_mode().to_vec()
            }
        };
        specs.iter().map(|s| self.matcher(s)).collect()
    }
}

/// How one matcher compares a label value.
#[derive(Debug)]
enum Test {
    Equal(String),
    NotEqual(String),
    Regex(Arc<meta::Regex>),
    NotRegex(Arc<meta::Regex>),
}

/// One label matcher (a missing label is the empty string, as in Alertmanager).
#[derive(Debug)]
struct Matcher {
    label: String,
    test: Test,
}

impl Matcher {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.label).map_or("", String::as_str);
        match &self.test {
            Test::Equal(want) => v == want,
            Test::NotEqual(want) => v != want,
            Test::Regex(re) => re.is_match(v),
            Test::NotRegex(re) => !re.is_match(v),
        }
    }
}

/// `s` Debug-quoted, cut at [`MAX_NAME_CHARS`] characters saying how much more there was:
/// every user string a summary prints goes through it.
pub(crate) fn shown(s: &str) -> String {
    match s.char_indices().nth(MAX_NAME_CHARS) {
        None => format!("{s:?}"),
        Some((end, _)) => format!("{:?}… ({} more bytes)", &s[..end], s.len() - end),
    }
}

/// A route ready to match, with its receiver inherited and where it sits in the tree.
#[derive(Debug)]
struct Route {
    path: String,
    receiver: Arc<str>,
    matchers: Vec<Matcher>,
    continues: bool,
    routes: Vec<Route>,
}

impl Route {
    fn compile(
        config: RouteConfig,
        path: String,
        inherited: &Arc<str>,
        depth: usize,
        count: &mut usize,
        budget: &mut Budget,
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
        budget.in_time()?;
        let receiver = match config.receiver {
            Some(name) => budget.name(name),
            None => Arc::clone(inherited),
        };
        let mut matchers = Vec::new();
        for (label, value) in &config.equal {
            matchers.push(budget.matcher(&Spec {
                name: label.clone(),
                op: Op::Equal,
                value: value.clone(),
            })?);
        }
        for (label, value) in &config.match_re {
            matchers.push(budget.matcher(&Spec {
                name: label.clone(),
                op: Op::Regex,
                value: value.clone(),
            })?);
        }
        for m in &config.matchers {
            matchers.extend(budget.entry(m, &path)?);
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
                    budget,
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

/// A parsed configuration: the tree, each receiver's integrations (`slack_configs`, …) and
/// what Alertmanager's two matcher parsers read differently.
#[derive(Debug)]
struct Routing {
    root: Route,
    receivers: BTreeMap<String, Vec<String>>,
    notes: Vec<String>,
}

impl Routing {
    fn parse(yaml: &str, syntax: Syntax, deadline: Instant) -> Result<Self, String> {
        let options = serde_saphyr::options! {
            budget: serde_saphyr::budget! {
                max_nodes: MAX_YAML_NODES,
                max_total_scalar_bytes: MAX_YAML_SCALAR_BYTES,
            },
        };
        let config: AmConfig = serde_saphyr::from_str_with_options(yaml, options)
            .map_err(|e| format!("not an Alertmanager config: {e}"))?;
        let route = config
            .route
            .ok_or_else(|| "the configuration has no `route`".to_owned())?;
        let mut count = 0;
        let mut budget = Budget::new(deadline, syntax);
        let root = Route::compile(
            route,
            "route".to_owned(),
            &Arc::from(""),
            0,
            &mut count,
            &mut budget,
        )?;
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
        Ok(Self {
            root,
            receivers,
            notes: budget.notes,
        })
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

/// Runs the check against the Alertmanager at `base` within `timeout`; `Err` when it cannot
/// be asked in time.
pub(crate) async fn check(
    base: &str,
    r: &Resolved,
    timeout: Duration,
) -> Result<Report, CheckError> {
    let deadline = Instant::now() + timeout;
    let url = format!("{}/api/v2/status", base.trim_end_matches('/'));
    let late = || CheckError::Deadline {
        url: url.clone(),
        seconds: timeout.as_secs(),
    };
    let fetched = tokio::time::timeout(timeout, get_capped(&url, MAX_BODY))
        .await
        .map_err(|_| late())??;
    let not_am = |reason: String| CheckError::NotAlertmanager {
        url: url.clone(),
        status: fetched.status,
        reason,
    };
    let status = super::limits::parse_json(&fetched.body).map_err(|e| not_am(e.to_string()))?;
    let original = status["config"]["original"]
        .as_str()
        .ok_or_else(|| not_am("no config.original".to_owned()))?;
    let version = status["versionInfo"]["version"].as_str().unwrap_or("");
    judge(
        original,
        version,
        r,
        format!("{base} app {}", r.app.name),
        deadline,
    )
    .map_err(|TooLate| late())
}

/// Whether `deadline` has passed: the one clock comparison of this check.
fn past(deadline: Instant) -> bool {
    Instant::now() > deadline
}

/// `deadline` passed before the report was done.
#[derive(Debug, PartialEq, Eq)]
struct TooLate;

/// The report on where `r`'s alerts go in `original`, the configuration of an Alertmanager of
/// `version`, read as that version reads it. Asks nothing of the network, so that every verdict
/// is tested without a server.
fn judge(
    original: &str,
    version: &str,
    r: &Resolved,
    target: String,
    deadline: Instant,
) -> Result<Report, TooLate> {
    let syntax = Syntax::of_version(version);
    let mut config_check = Check::new("configuration");
    let routing = match Routing::parse(original, syntax, deadline) {
        Ok(routing) => routing,
        Err(_) if past(deadline) => return Err(TooLate),
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
    for note in &routing.notes {
        config_check.warn(
            note.clone(),
            r#"double-quote every value and escape in it only `\\`, `\"` and `\n`: both parsers then read the same matcher"#,
        );
    }
    let notifying = routing.receivers.values().filter(|i| !i.is_empty()).count();
    let mut checks = vec![config_check.summary(format!(
        "{} receiver(s), {notifying} with integrations; default receiver {}; matchers read as \
         Alertmanager {} does",
        routing.receivers.len(),
        shown(&routing.root.receiver),
        match syntax {
            Syntax::Classic => "0.26 and older (classic parser)",
            Syntax::Fallback => "0.27 and newer (UTF-8 parser, classic fallback)",
        }
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
        if past(deadline) {
            return Err(TooLate);
        }
        checks.push(route_check(&routing, alert, r));
    }
    Ok(Report::new(target, checks))
}

/// `items` joined by `; `, at most [`MAX_LISTED`] of them, the rest counted.
fn listed(items: impl ExactSizeIterator<Item = String>) -> String {
    let total = items.len();
    let mut out: Vec<String> = items.take(MAX_LISTED).collect();
    if total > MAX_LISTED {
        out.push(format!("… and {} more", total - MAX_LISTED));
    }
    out.join("; ")
}

/// Where one alert goes, and whether anyone hears of it.
fn route_check(routing: &Routing, alert: &Alert, r: &Resolved) -> Check {
    let mut c = Check::new(&format!("route {}", alert.name()));
    let mut taken = Vec::new();
    routing.root.resolve(&alert.labels, &mut taken);
    let mut heard = Vec::new();
    let mut silent = Vec::new();
    for &route in &taken {
        match routing.receivers.get(&*route.receiver) {
            Some(integrations) if !integrations.is_empty() => heard.push((route, integrations)),
            Some(_) => silent.push((route, "has no integrations")),
            None => silent.push((route, "is not defined")),
        }
    }
    if !heard.is_empty() {
        let reached = heard.iter().map(|(route, integrations)| {
            format!(
                "{} ({}) via {}",
                shown(&route.receiver),
                integrations.join(", "),
                route.path
            )
        });
        return c.summary(format!("reaches {}", listed(reached)));
    }
    let labels = alert
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    for (route, why, paths) in grouped(&silent) {
        let default = std::ptr::eq(route, &routing.root);
        if default && &*route.receiver == "null" {
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
                    "{{{labels}}} reaches only receiver {} via {}{}, which {why}",
                    shown(&route.receiver),
                    listed(paths.iter().map(|p| p.path.clone())),
                    if default { " (the default route)" } else { "" }
                ),
                format!(
                    "give receiver {} an integration (slack_configs, email_configs, \
                     pagerduty_configs, webhook_configs) or route the alert to one that has",
                    shown(&route.receiver)
                ),
            );
        }
    }
    let receivers = grouped(&taken.iter().map(|t| (*t, "")).collect::<Vec<_>>())
        .into_iter()
        .map(|(route, _, paths)| match paths.len() {
            1 => shown(&route.receiver),
            n => format!("{} ({n} routes)", shown(&route.receiver)),
        })
        .collect::<Vec<_>>();
    c.summary(format!(
        "notifies nobody (reaches {})",
        listed(receivers.into_iter())
    ))
}

/// `routes` grouped by receiver and reason, in order of first appearance: one finding per
/// receiver, however many routes reach it. Names are held once ([`Budget::name`]), so a
/// receiver is known by its address, without hashing a hostile name once per route.
fn grouped<'a>(
    routes: &[(&'a Route, &'static str)],
) -> Vec<(&'a Route, &'static str, Vec<&'a Route>)> {
    let mut index: HashMap<(*const u8, &str), usize> = HashMap::new();
    let mut out: Vec<(&Route, &str, Vec<&Route>)> = Vec::new();
    for &(route, why) in routes {
        let key = (route.receiver.as_ptr(), why);
        match index.get(&key) {
            Some(&i) => out[i].2.push(route),
            None => {
                index.insert(key, out.len());
                out.push((route, why, vec![route]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn receivers(routing: &Routing, pairs: &[(&str, &str)]) -> Vec<String> {
        let mut out = Vec::new();
        routing.root.resolve(&labels(pairs), &mut out);
        out.iter().map(|r| r.receiver.to_string()).collect()
    }

    fn parse(yaml: &str) -> Result<Routing, String> {
        Routing::parse(
            yaml,
            Syntax::Fallback,
            Instant::now() + Duration::from_secs(60),
        )
    }

    /// One `matchers:` entry compiled as Alertmanager 0.27+ reads it.
    fn entry(line: &str) -> Result<Vec<Matcher>, String> {
        Budget::new(Instant::now() + Duration::from_secs(60), Syntax::Fallback).entry(line, "t")
    }

    #[test]
    fn matchers_parse_as_alertmanager_writes_them() {
        let m = &entry(r#"severity=~"warning|critical""#).expect("parses")[0];
        assert!(m.matches(&labels(&[("severity", "critical")])));
        assert!(
            !m.matches(&labels(&[("severity", "criticality")])),
            "anchored"
        );
        let m = &entry("team != ops").expect("parses")[0];
        assert!(m.matches(&labels(&[])), "a missing label is empty");
        let m = &entry(r#"a="x\"y""#).expect("parses")[0];
        assert!(m.matches(&labels(&[("a", "x\"y")])));
        let two = entry(r#"{a="1", b=~"2|3"}"#).expect("a list in one entry");
        assert_eq!(two.len(), 2);
        assert!(entry("=x").is_err());
        assert!(entry("a~x").is_err());
        assert!(entry(r#"a=~"(""#).is_err());
    }

    #[test]
    fn versions_pick_the_parser() {
        assert_eq!(Syntax::of_version("0.25.0"), Syntax::Classic);
        assert_eq!(Syntax::of_version("v0.26.1"), Syntax::Classic);
        assert_eq!(Syntax::of_version("0.27.0"), Syntax::Fallback);
        assert_eq!(Syntax::of_version("1.0.0"), Syntax::Fallback);
        assert_eq!(Syntax::of_version(""), Syntax::Fallback);
    }

    #[test]
    fn regexes_are_budgeted_and_shared() {
        let mut b = Budget::new(Instant::now() + Duration::from_secs(60), Syntax::Classic);
        let one = b.regex("a|b").unwrap();
        let again = b.regex("a|b").unwrap();
        assert!(
            Arc::ptr_eq(&one, &again),
            "an identical pattern is compiled once"
        );
        for i in 1..MAX_REGEXES {
            b.regex(&format!("x{i}")).unwrap();
        }
        let e = b.regex("y").unwrap_err();
        assert!(e.contains("distinct regex matchers"), "{e}");
        let late = Budget::new(Instant::now() - Duration::from_secs(1), Syntax::Classic).regex("z");
        assert!(late.unwrap_err().contains("out of time"));
    }

    #[test]
    fn printed_names_are_cut() {
        let long = "r".repeat(100_000);
        let s = shown(&long);
        assert!(s.len() < 200 && s.ends_with("(99920 more bytes)"), "{s}");
        assert_eq!(shown("x"), "\"x\"");
    }

    #[test]
    fn first_match_wins_unless_continue() {
        let routing = parse(
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
        let err = parse(&yaml).expect_err("too deep");
        assert!(err.contains("deeper than"), "{err}");
    }

    fn budget() -> Budget {
        Budget::new(Instant::now() + Duration::from_secs(60), Syntax::Fallback)
    }

    /// The repository's config: its first app (reviewmaps, namespace `reviewmaps`).
    fn reviewmaps() -> Resolved {
        let text = include_str!("../../../../redmetrics.toml");
        crate::config::Config::parse(text).unwrap().apps.remove(0)
    }

    #[test]
    fn each_operator_compares_the_label_value() {
        let mut b = budget();
        let spec = |op, value: &str| Spec {
            name: "sev".to_owned(),
            op,
            value: value.to_owned(),
        };
        let page = labels(&[("sev", "page")]);
        let info = labels(&[("sev", "info")]);
        let eq = b.matcher(&spec(Op::Equal, "page")).unwrap();
        assert!(eq.matches(&page) && !eq.matches(&info));
        let ne = b.matcher(&spec(Op::NotEqual, "page")).unwrap();
        assert!(!ne.matches(&page) && ne.matches(&info));
        let re = b.matcher(&spec(Op::Regex, "pa.e")).unwrap();
        assert!(re.matches(&page) && !re.matches(&info));
        let nre = b.matcher(&spec(Op::NotRegex, "pa.e")).unwrap();
        assert!(!nre.matches(&page) && nre.matches(&info));
        let missing = labels(&[]);
        assert!(b.matcher(&spec(Op::Equal, "")).unwrap().matches(&missing));
        assert!(!eq.matches(&missing));
    }

    #[test]
    fn receiver_names_are_held_once() {
        let mut b = budget();
        let one = b.name("pager".to_owned());
        let two = b.name("pager".to_owned());
        assert_eq!(&*one, "pager");
        assert!(Arc::ptr_eq(&one, &two));
        assert_eq!(&*b.name("chat".to_owned()), "chat");
    }

    /// Three receivers, one with an integration; every alert reaches `pager` by default.
    const THREE_RECEIVERS: &str = r#"
route:
  receiver: pager
  routes:
    - match: {to: quiet}
      receiver: quiet
receivers:
  - name: pager
    pagerduty_configs: [{routing_key: k}]
  - name: quiet
  - name: "null"
"#;

    #[test]
    fn judge_summarises_the_tree_and_routes_every_alert() {
        let r = reviewmaps();
        let later = Instant::now() + Duration::from_secs(60);
        let report = judge(THREE_RECEIVERS, "0.25.0", &r, "t".into(), later).unwrap();
        assert_eq!(report.target, "t");
        assert_eq!(report.checks[0].name, "configuration");
        assert_eq!(
            report.checks[0].summary,
            r#"3 receiver(s), 1 with integrations; default receiver "pager"; matchers read as Alertmanager 0.26 and older (classic parser) does"#
        );
        let alerts = alerts(&r);
        assert!(
            !alerts.is_empty(),
            "redmetrics.toml's first app has alert rules"
        );
        assert_eq!(report.checks.len(), 1 + alerts.len());
        assert!(report.checks.iter().all(|c| c.status == Status::Pass));
        assert!(report.passed);

        let report = judge(THREE_RECEIVERS, "0.27.0", &r, "t".into(), later).unwrap();
        assert!(
            report.checks[0]
                .summary
                .ends_with("(UTF-8 parser, classic fallback) does")
        );
    }

    #[test]
    fn judge_reports_an_unreadable_tree_unless_the_deadline_passed() {
        let r = reviewmaps();
        let later = Instant::now() + Duration::from_secs(60);
        let report = judge("route: [", "0.27.0", &r, "t".into(), later).unwrap();
        assert_eq!(report.checks.len(), 1);
        assert_eq!(report.checks[0].status, Status::Fail);
        assert_eq!(report.checks[0].summary, "unreadable routing tree");
        assert!(!report.passed);

        let gone = Instant::now() - Duration::from_secs(1);
        assert_eq!(
            judge("route: [", "0.27.0", &r, "t".into(), gone),
            Err(TooLate)
        );
        assert_eq!(
            judge(THREE_RECEIVERS, "0.27.0", &r, "t".into(), gone),
            Err(TooLate)
        );
    }

    #[test]
    fn the_deadline_is_checked() {
        assert!(budget().in_time().is_ok());
        let late = Budget::new(Instant::now() - Duration::from_secs(1), Syntax::Classic);
        assert!(late.in_time().unwrap_err().contains("ran out of time"));
    }

    #[test]
    fn regex_memory_is_counted_and_capped() {
        let mut b = budget();
        let a = b.regex("a+").unwrap();
        assert_eq!(b.regex_bytes, a.memory_usage());
        let c = b.regex("c|d").unwrap();
        assert_eq!(b.regex_bytes, a.memory_usage() + c.memory_usage());
        // The cap is inclusive: reaching it exactly is fine, one byte over is not.
        let size = budget().regex("q").unwrap().memory_usage();
        let mut full = budget();
        full.regex_bytes = MAX_REGEX_BYTES - size;
        assert!(full.regex("q").is_ok());
        let mut over = budget();
        over.regex_bytes = MAX_REGEX_BYTES - size + 1;
        let e = over.regex("q").unwrap_err();
        assert!(e.contains("64 MiB"), "{e}");
    }

    #[test]
    fn matchers_are_counted_and_capped() {
        let mut b = budget();
        let spec = Spec {
            name: "a".to_owned(),
            op: Op::Equal,
            value: "1".to_owned(),
        };
        b.matcher(&spec).unwrap();
        assert_eq!(b.matchers, 1);
        b.matchers = MAX_MATCHERS - 1;
        assert!(b.matcher(&spec).is_ok(), "the last one within the budget");
        assert!(b.matcher(&spec).unwrap_err().contains("more than 20000"));
        assert!(b.matcher(&spec).is_err(), "and every one after it");
    }

    #[test]
    fn routes_and_depth_are_capped_inclusively() {
        let root: Arc<str> = Arc::from("r");
        let compile = |depth, count: &mut usize| {
            Route::compile(
                RouteConfig::default(),
                "route".to_owned(),
                &root,
                depth,
                count,
                &mut budget(),
            )
        };
        let mut count = 0;
        assert!(compile(MAX_DEPTH, &mut count).is_ok());
        assert_eq!(count, 1);
        assert!(
            compile(MAX_DEPTH + 1, &mut 0)
                .unwrap_err()
                .contains("deeper")
        );
        assert!(
            compile(MAX_DEPTH + 2, &mut 0)
                .unwrap_err()
                .contains("deeper")
        );
        let mut count = MAX_ROUTES - 1;
        assert!(
            compile(0, &mut count).is_ok(),
            "the last route within the budget"
        );
        assert!(
            compile(0, &mut count)
                .unwrap_err()
                .contains("more than 10000 routes")
        );
        assert!(compile(0, &mut count).is_err(), "and every one after it");
        // A tree exactly MAX_DEPTH levels below the root is followed.
        let mut yaml = "route:\n  receiver: r\n".to_owned();
        let mut indent = "  ".to_owned();
        for _ in 0..MAX_DEPTH {
            yaml.push_str(&format!("{indent}routes:\n{indent}- receiver: r\n"));
            indent.push_str("  ");
        }
        assert!(parse(&yaml).is_ok());
        let late = Route::compile(
            RouteConfig::default(),
            "route".to_owned(),
            &root,
            0,
            &mut 0,
            &mut Budget::new(Instant::now() - Duration::from_secs(1), Syntax::Classic),
        );
        assert!(late.unwrap_err().contains("out of time"));
    }

    #[test]
    fn routes_compile_with_their_paths_and_inherited_receivers() {
        let routing = parse(
            r#"
route:
  receiver: root
  routes:
    - receiver: a
      match: {x: "1"}
      match_re: {y: "2|3"}
      matchers: ['z!="4"']
      routes:
        - continue: true
receivers: [{name: root}]
"#,
        )
        .unwrap();
        let child = &routing.root.routes[0];
        assert_eq!(child.path, "route.routes[0]");
        assert_eq!(&*child.receiver, "a");
        assert_eq!(child.matchers.len(), 3);
        assert!(!child.continues);
        let grandchild = &child.routes[0];
        assert_eq!(grandchild.path, "route.routes[0].routes[0]");
        assert_eq!(&*grandchild.receiver, "a");
        assert!(grandchild.continues);
        assert_eq!(&*routing.root.receiver, "root");
        assert!(parse("receivers: []\n").unwrap_err().contains("no `route`"));
        assert!(
            parse("route: [1]\n")
                .unwrap_err()
                .contains("not an Alertmanager")
        );
    }

    #[test]
    fn receivers_count_only_their_non_empty_integrations() {
        let routing = parse(
            r#"
route: {receiver: a}
receivers:
  - name: a
    slack_configs: [{channel: ops}]
  - name: b
    email_configs: []
  - name: c
    webhook_configs: [{url: "http://h"}]
    pagerduty_configs: [{routing_key: k}]
  - name: d
    other: [1]
  - slack_configs: [{channel: dev}]
"#,
        )
        .unwrap();
        let want: BTreeMap<String, Vec<String>> = [
            ("a", vec!["slack"]),
            ("b", vec![]),
            ("c", vec!["pagerduty", "webhook"]),
            ("d", vec![]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
        .collect();
        assert_eq!(routing.receivers, want);
    }

    #[test]
    fn an_alert_is_named_by_its_alertname_and_own_labels() {
        let alert = Alert {
            labels: labels(&[
                ("alertname", "HighErrorRate"),
                ("job", "svc"),
                ("namespace", "ns"),
                ("severity", "page"),
                ("window", "1h"),
            ]),
        };
        assert_eq!(alert.name(), "HighErrorRate severity=page window=1h");
    }

    #[test]
    fn alerts_carry_the_apps_namespace_and_job() {
        let r = reviewmaps();
        let alerts = alerts(&r);
        assert!(!alerts.is_empty());
        for a in &alerts {
            assert_eq!(a.labels["namespace"], "reviewmaps");
            assert_eq!(a.labels["job"], r.job);
            assert!(!a.labels["alertname"].is_empty());
        }
    }

    #[test]
    fn long_lists_are_cut_at_max_listed() {
        let items = |n: usize| {
            (0..n)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert_eq!(listed(items(2)), "0; 1");
        assert_eq!(listed(items(MAX_LISTED)), "0; 1; 2; 3; 4; 5; 6; 7; 8; 9");
        assert_eq!(
            listed(items(MAX_LISTED + 1)),
            "0; 1; 2; 3; 4; 5; 6; 7; 8; 9; … and 1 more"
        );
        assert_eq!(
            listed(items(MAX_LISTED + 3)),
            "0; 1; 2; 3; 4; 5; 6; 7; 8; 9; … and 3 more"
        );
    }

    /// The tree every `route_check` case below reads.
    fn checked(pairs: &[(&str, &str)]) -> Check {
        let routing = parse(
            r#"
route:
  receiver: "null"
  routes:
    - match: {to: pager}
      receiver: pager
    - match: {to: quiet}
      receiver: quiet
    - match: {to: twice}
      receiver: quiet
      continue: true
    - match: {to: twice}
      receiver: quiet
    - match: {to: ghost}
      receiver: ghost
receivers:
  - name: "null"
  - name: pager
    pagerduty_configs: [{routing_key: k}]
  - name: quiet
"#,
        )
        .unwrap();
        let alert = Alert {
            labels: labels(pairs),
        };
        route_check(&routing, &alert, &reviewmaps())
    }

    #[test]
    fn route_check_passes_only_when_someone_is_notified() {
        let c = checked(&[("alertname", "A"), ("to", "pager")]);
        assert_eq!(c.name, "route A to=pager");
        assert_eq!(c.status, Status::Pass);
        assert_eq!(
            c.summary,
            r#"reaches "pager" (pagerduty) via route.routes[0]"#
        );
        assert!(c.findings.is_empty());

        let c = checked(&[("to", "quiet")]);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.summary, r#"notifies nobody (reaches "quiet")"#);
        assert_eq!(c.findings.len(), 1);
        assert_eq!(
            c.findings[0].message,
            r#"{to="quiet"} reaches only receiver "quiet" via route.routes[1], which has no integrations"#
        );

        let c = checked(&[("to", "twice")]);
        assert_eq!(c.summary, r#"notifies nobody (reaches "quiet" (2 routes))"#);
        assert_eq!(c.findings.len(), 1, "one finding per receiver");
        assert!(
            c.findings[0]
                .message
                .contains("via route.routes[2]; route.routes[3], which"),
            "{}",
            c.findings[0].message
        );

        let c = checked(&[("to", "ghost")]);
        assert_eq!(c.status, Status::Fail);
        assert!(c.findings[0].message.ends_with("which is not defined"));

        let c = checked(&[("to", "nowhere")]);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.summary, r#"notifies nobody (reaches "null")"#);
        assert!(c.findings[0].message.starts_with("the \"null\" trap"));
        assert!(
            c.findings[0]
                .fix
                .as_deref()
                .unwrap()
                .contains("namespace reviewmaps")
        );
    }

    #[test]
    fn a_silent_default_route_other_than_null_is_named_as_such() {
        let routing = parse(
            r#"
route:
  receiver: quiet
  routes:
    - match: {to: "null"}
      receiver: "null"
receivers: [{name: quiet}, {name: "null"}]
"#,
        )
        .unwrap();
        let r = reviewmaps();
        let c = route_check(
            &routing,
            &Alert {
                labels: labels(&[]),
            },
            &r,
        );
        assert_eq!(
            c.findings[0].message,
            r#"{} reaches only receiver "quiet" via route (the default route), which has no integrations"#
        );
        let to_null = Alert {
            labels: labels(&[("to", "null")]),
        };
        let c = route_check(&routing, &to_null, &r);
        assert!(
            c.findings[0]
                .message
                .contains(r#"receiver "null" via route.routes[0], which"#),
            "a \"null\" receiver off the default route is no trap: {}",
            c.findings[0].message
        );
    }

    #[test]
    fn grouping_keeps_first_appearance_order() {
        let routing = parse(
            r#"
route:
  receiver: a
  routes: [{receiver: b}, {receiver: a}, {receiver: b}, {}]
receivers: []
"#,
        )
        .unwrap();
        let kids = &routing.root.routes;
        let input = [
            (&kids[0], "x"),
            (&kids[1], "x"),
            (&kids[2], "x"),
            (&kids[3], "x"),
            (&kids[0], "y"),
        ];
        let groups = grouped(&input);
        let seen: Vec<(String, &str, Vec<&str>)> = groups
            .iter()
            .map(|(r, why, paths)| {
                (
                    r.receiver.to_string(),
                    *why,
                    paths.iter().map(|p| p.path.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "b".to_owned(),
                    "x",
                    vec!["route.routes[0]", "route.routes[2]"]
                ),
                (
                    "a".to_owned(),
                    "x",
                    vec!["route.routes[1]", "route.routes[3]"]
                ),
                ("b".to_owned(), "y", vec!["route.routes[0]"]),
            ]
        );
    }
}
