//! `[notify]` and `[apps.notify]`: who hears about an app's alerts, at which severity, and
//! where the receivers' secrets live. The top-level table holds shared defaults, an app's
//! table overrides them field by field; [`resolve`] checks the merged settings.
//!
//! Secrets are referenced, never written: a Kubernetes Secret key (`{ name, key }`, the
//! AlertmanagerConfig's `SecretKeySelector`) and, for the plain Alertmanager config, a file
//! (`*_file`, by default where kube-prometheus-stack mounts `alertmanagerSpec.secrets`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::names::{check_dns_label, require};
use super::{ConfigError, PromDuration};
use crate::severity::Severity;

/// Where kube-prometheus-stack's Alertmanager mounts `alertmanagerSpec.secrets`: the default
/// `*_file` of a secret reference is `<this>/<name>/<key>`.
const SECRETS_MOUNT: &str = "/etc/alertmanager/secrets";

/// Most e-mail recipients per app.
const MAX_RECIPIENTS: usize = 20;

/// An integration a severity can be sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Integration {
    Slack,
    Email,
    PagerDuty,
}

impl Integration {
    const ALL: [Self; 3] = [Self::Slack, Self::Email, Self::PagerDuty];

    /// The name `[notify.routes]` and the chart's values give it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Email => "email",
            Self::PagerDuty => "pagerduty",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

/// A secret as the config may give it: a reference, or (refused) the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum SecretField {
    /// `{ name = "alertmanager-receivers", key = "slack-api-url" }`.
    Ref(SecretRef),
    /// A string: the secret written into the config. Kept only to be refused with the fix.
    Literal(String),
}

/// A key of a Kubernetes Secret in the app's namespace (AlertmanagerConfig `SecretKeySelector`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretRef {
    pub(crate) name: String,
    pub(crate) key: String,
}

/// `[notify.slack]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SlackSettings {
    channel: Option<String>,
    api_url: Option<SecretField>,
    api_url_file: Option<String>,
}

/// `[notify.email]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailSettings {
    to: Option<Vec<String>>,
    from: Option<String>,
    smarthost: Option<String>,
    auth_username: Option<String>,
    auth_password: Option<SecretField>,
    auth_password_file: Option<String>,
    require_tls: Option<bool>,
}

/// `[notify.pagerduty]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PagerDutySettings {
    routing_key: Option<SecretField>,
    routing_key_file: Option<String>,
    url: Option<String>,
}

/// `[notify]` or `[apps.notify]` as written: every field optional, so an app's table can
/// override the shared one field by field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotifySettings {
    /// Grafana's base URL: messages link to the app's dashboard there.
    grafana_url: Option<String>,
    group_wait: Option<PromDuration>,
    group_interval: Option<PromDuration>,
    repeat_interval: Option<PromDuration>,
    /// Severity -> integrations. Default: warning to Slack and e-mail,
    /// critical also to PagerDuty, restricted to the integrations configured.
    routes: Option<BTreeMap<String, Vec<String>>>,
    slack: Option<SlackSettings>,
    email: Option<EmailSettings>,
    pagerduty: Option<PagerDutySettings>,
}

/// `over`'s fields where set, else `under`'s.
macro_rules! overlay {
    ($over:expr, $under:expr, $($f:ident),+) => {{
        let (o, u) = ($over, $under);
        Self { $($f: o.$f.or(u.$f)),+ }
    }};
}

impl SlackSettings {
    fn overlay(self, under: Self) -> Self {
        overlay!(self, under, channel, api_url, api_url_file)
    }
}

impl EmailSettings {
    fn overlay(self, under: Self) -> Self {
        overlay!(
            self,
            under,
            to,
            from,
            smarthost,
            auth_username,
            auth_password,
            auth_password_file,
            require_tls
        )
    }
}

impl PagerDutySettings {
    fn overlay(self, under: Self) -> Self {
        overlay!(self, under, routing_key, routing_key_file, url)
    }
}

/// Both tables' field overlay, per integration table too.
fn overlay_table<T>(over: Option<T>, under: Option<T>, f: fn(T, T) -> T) -> Option<T> {
    match (over, under) {
        (Some(o), Some(u)) => Some(f(o, u)),
        (o, u) => o.or(u),
    }
}

impl NotifySettings {
    /// The app's settings (`self`) over the shared ones.
    pub(crate) fn overlay(self, under: Self) -> Self {
        Self {
            grafana_url: self.grafana_url.or(under.grafana_url),
            group_wait: self.group_wait.or(under.group_wait),
            group_interval: self.group_interval.or(under.group_interval),
            repeat_interval: self.repeat_interval.or(under.repeat_interval),
            routes: self.routes.or(under.routes),
            slack: overlay_table(self.slack, under.slack, SlackSettings::overlay),
            email: overlay_table(self.email, under.email, EmailSettings::overlay),
            pagerduty: overlay_table(self.pagerduty, under.pagerduty, PagerDutySettings::overlay),
        }
    }
}

/// A checked secret: the Kubernetes reference and the file the plain config reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Secret {
    pub(crate) name: String,
    pub(crate) key: String,
    pub(crate) file: String,
}

/// A checked Slack receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slack {
    pub(crate) channel: String,
    pub(crate) api_url: Secret,
}

/// SMTP authentication: the user and the password's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SmtpAuth {
    pub(crate) username: String,
    pub(crate) password: Secret,
}

/// A checked e-mail receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Email {
    pub(crate) to: Vec<String>,
    pub(crate) from: String,
    pub(crate) smarthost: String,
    pub(crate) auth: Option<SmtpAuth>,
    pub(crate) require_tls: bool,
}

/// A checked PagerDuty (Events v2) receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PagerDuty {
    pub(crate) routing_key: Secret,
    /// Events v2 endpoint override; `None` is Alertmanager's default.
    pub(crate) url: Option<String>,
}

/// An app's notification settings, checked: what the routing generators consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notify {
    /// Without trailing `/`.
    pub(crate) grafana_url: Option<String>,
    pub(crate) group_wait: PromDuration,
    pub(crate) group_interval: PromDuration,
    pub(crate) repeat_interval: PromDuration,
    /// Every [`Severity`], each to a non-empty, configured set.
    pub(crate) routes: BTreeMap<Severity, Vec<Integration>>,
    pub(crate) slack: Option<Slack>,
    pub(crate) email: Option<Email>,
    pub(crate) pagerduty: Option<PagerDuty>,
}

/// Which integrations each severity reaches by default: a warning is read during the day
/// (Slack, e-mail), a critical alert pages someone (PagerDuty too).
pub(crate) fn default_routes(severity: Severity) -> &'static [Integration] {
    match severity {
        Severity::Critical => &[
            Integration::Slack,
            Integration::Email,
            Integration::PagerDuty,
        ],
        Severity::Warning => &[Integration::Slack, Integration::Email],
    }
}

/// An http(s) URL that lands in YAML and Go templates unchanged: no whitespace, quotes,
/// braces or fragment.
fn plain_url(v: &str) -> bool {
    (v.starts_with("https://") || v.starts_with("http://"))
        && v.len() <= 2048
        && !v.contains(|c: char| c.is_whitespace() || c.is_control() || "\"'{}#<>\\`".contains(c))
}

/// Text that looks like a secret itself rather than a reference to one.
fn looks_like_secret(v: &str) -> bool {
    v.contains("://") || v.contains("hooks.slack.com")
}

fn secret(
    field: &str,
    given: Option<SecretField>,
    file: Option<String>,
    example_key: &str,
) -> Result<Secret, ConfigError> {
    let example =
        format!("`{field} = {{ name = \"alertmanager-receivers\", key = \"{example_key}\" }}`");
    let r = match given {
        Some(SecretField::Ref(r)) => r,
        Some(SecretField::Literal(_)) => {
            return Err(ConfigError::new(
                field,
                format!(
                    "a secret written into the config is refused (it would end up in generated files and in git): put it in a Kubernetes Secret and reference it, e.g. {example}; the plain Alertmanager config reads it from `{field}_file`"
                ),
            ));
        }
        None => {
            return Err(ConfigError::new(
                field,
                format!("missing: reference the Kubernetes Secret key holding it, e.g. {example}"),
            ));
        }
    };
    require(
        r.name.len() <= 253 && r.name.split('.').all(|p| check_dns_label(field, p).is_ok()),
        &format!("{field}.name"),
        || {
            format!(
                "`{}` is not a Secret name (DNS-1123 subdomain, e.g. `alertmanager-receivers`)",
                r.name
            )
        },
    )?;
    require(
        !r.key.is_empty()
            && r.key.len() <= 253
            && r.key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)),
        &format!("{field}.key"),
        || {
            format!(
                "`{}` is not a Secret key: letters, digits, `-`, `_` and `.` (e.g. `{example_key}`)",
                r.key
            )
        },
    )?;
    let file = match file {
        Some(f) => {
            require(
                f.starts_with('/')
                    && f.len() <= 4096
                    && !f.contains(|c: char| {
                        c.is_whitespace() || c.is_control() || "\"'{}\\`".contains(c)
                    }),
                &format!("{field}_file"),
                || {
                    format!(
                        "`{f}` is not an absolute file path without spaces, quotes or braces (e.g. `{SECRETS_MOUNT}/alertmanager-receivers/{example_key}`); the file holds the secret, the config only its path"
                    )
                },
            )?;
            f
        }
        None => format!("{SECRETS_MOUNT}/{}/{}", r.name, r.key),
    };
    Ok(Secret {
        name: r.name,
        key: r.key,
        file,
    })
}

/// An e-mail address as a recipient or sender: `local@domain`, nothing a header, YAML or a
/// Go template would read differently.
fn check_address(field: &str, v: &str) -> Result<(), ConfigError> {
    let ok = v.len() <= 254
        && v.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.contains('@')
        })
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@.-_+".contains(&b));
    require(ok, field, || {
        format!(
            "`{v}` is not a plain e-mail address (e.g. `oncall@example.com`); give one address per list entry"
        )
    })
}

fn slack(s: SlackSettings) -> Result<Slack, ConfigError> {
    let channel = s.channel.ok_or_else(|| {
        ConfigError::new(
            "notify.slack.channel",
            "missing: the channel to post to (e.g. `channel = \"#reviewmaps-alerts\"`)",
        )
    })?;
    if looks_like_secret(&channel) {
        return Err(ConfigError::new(
            "notify.slack.channel",
            "this is a webhook URL, a secret: refused. Give the channel name here (e.g. `#reviewmaps-alerts`) and reference the URL with `api_url = { name = \"alertmanager-receivers\", key = \"slack-api-url\" }`",
        ));
    }
    let body = channel.strip_prefix('#').unwrap_or(&channel);
    require(
        !body.is_empty()
            && body.len() <= 80
            && body
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)),
        "notify.slack.channel",
        || {
            format!(
                "`{channel}` is not a Slack channel name: up to 80 lowercase letters, digits, `-`, `_`, `.`, optionally after `#` (e.g. `#reviewmaps-alerts`)"
            )
        },
    )?;
    if let Some(f) = &s.api_url_file
        && looks_like_secret(f)
    {
        return Err(ConfigError::new(
            "notify.slack.api_url_file",
            "this is the webhook URL itself, a secret: refused. Write the URL into a file and give the file's path (e.g. `/etc/alertmanager/secrets/alertmanager-receivers/slack-api-url`)",
        ));
    }
    Ok(Slack {
        channel,
        api_url: secret(
            "notify.slack.api_url",
            s.api_url,
            s.api_url_file,
            "slack-api-url",
        )?,
    })
}

fn email(s: EmailSettings) -> Result<Email, ConfigError> {
    let to = s.to.unwrap_or_default();
    require(
        !to.is_empty() && to.len() <= MAX_RECIPIENTS,
        "notify.email.to",
        || format!("list 1 to {MAX_RECIPIENTS} addresses (e.g. `to = [\"oncall@example.com\"]`)"),
    )?;
    for a in &to {
        check_address("notify.email.to", a)?;
    }
    let from = s.from.ok_or_else(|| {
        ConfigError::new(
            "notify.email.from",
            "missing: the sender address (e.g. `from = \"alertmanager@example.com\"`)",
        )
    })?;
    check_address("notify.email.from", &from)?;
    let smarthost = s.smarthost.ok_or_else(|| {
        ConfigError::new(
            "notify.email.smarthost",
            "missing: the SMTP server as host:port (e.g. `smarthost = \"smtp.example.com:587\"`)",
        )
    })?;
    let host_ok = smarthost.rsplit_once(':').is_some_and(|(h, p)| {
        !h.is_empty()
            && h.len() <= 253
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
            && p.parse::<u16>().is_ok_and(|p| p > 0)
    });
    require(host_ok, "notify.email.smarthost", || {
        format!("`{smarthost}` is not host:port (e.g. `smtp.example.com:587`)")
    })?;
    let auth = match s.auth_username {
        Some(username) => {
            require(
                !username.is_empty()
                    && username.len() <= 254
                    && !username.contains(|c: char| {
                        c.is_whitespace() || c.is_control() || "\"'{}\\`".contains(c)
                    }),
                "notify.email.auth_username",
                || {
                    "must be a user name without spaces, quotes or braces (e.g. `alertmanager@example.com`)".to_owned()
                },
            )?;
            Some(SmtpAuth {
                username,
                password: secret(
                    "notify.email.auth_password",
                    s.auth_password,
                    s.auth_password_file,
                    "smtp-password",
                )?,
            })
        }
        None if s.auth_password.is_some() || s.auth_password_file.is_some() => {
            return Err(ConfigError::new(
                "notify.email.auth_username",
                "a password is set but no user: add `auth_username = \"alertmanager@example.com\"` or remove the password",
            ));
        }
        None => None,
    };
    Ok(Email {
        to,
        from,
        smarthost,
        auth,
        require_tls: s.require_tls.unwrap_or(true),
    })
}

fn pagerduty(s: PagerDutySettings) -> Result<PagerDuty, ConfigError> {
    if let Some(u) = &s.url {
        require(plain_url(u), "notify.pagerduty.url", || {
            format!(
                "`{u}` is not an http(s) URL without spaces, quotes or braces (e.g. `https://events.pagerduty.com/v2/enqueue`)"
            )
        })?;
    }
    Ok(PagerDuty {
        routing_key: secret(
            "notify.pagerduty.routing_key",
            s.routing_key,
            s.routing_key_file,
            "pagerduty-routing-key",
        )?,
        url: s.url,
    })
}

/// Checks merged settings; `None` when nothing is configured (the app gets no routing).
pub(crate) fn resolve(s: Option<NotifySettings>) -> Result<Option<Notify>, ConfigError> {
    let Some(s) = s else { return Ok(None) };
    let grafana_url = match s.grafana_url {
        Some(u) => {
            require(plain_url(&u), "notify.grafana_url", || {
                format!(
                    "`{u}` is not an http(s) URL without spaces, quotes, braces or fragment (e.g. `https://grafana.example.com`)"
                )
            })?;
            Some(u.trim_end_matches('/').to_owned())
        }
        None => None,
    };
    let slack = s.slack.map(slack).transpose()?;
    let email = s.email.map(email).transpose()?;
    let pagerduty = s.pagerduty.map(pagerduty).transpose()?;
    let configured = |i: Integration| match i {
        Integration::Slack => slack.is_some(),
        Integration::Email => email.is_some(),
        Integration::PagerDuty => pagerduty.is_some(),
    };
    let mut routes = BTreeMap::new();
    match s.routes {
        None => {
            for severity in Severity::ALL {
                let to: Vec<Integration> = default_routes(severity)
                    .iter()
                    .copied()
                    .filter(|i| configured(*i))
                    .collect();
                require(!to.is_empty(), "notify", || {
                    "no receiver is configured: add [notify.slack], [notify.email] or [notify.pagerduty] (see docs/routing.md)".to_owned()
                })?;
                routes.insert(severity, to);
            }
        }
        Some(given) => {
            for (severity, names) in given {
                let field = format!("notify.routes.{severity}");
                let severity = Severity::parse(&severity).ok_or_else(|| {
                    ConfigError::new(
                        &field,
                        format!(
                            "unknown severity `{severity}`: the generated rules fire {}; route those (e.g. `critical = [\"slack\", \"email\", \"pagerduty\"]`)",
                            Severity::join(" and ")
                        ),
                    )
                })?;
                require(!names.is_empty(), &field, || {
                    "a receiver with no integration notifies nobody (Alertmanager's \"null\" trap): list at least one of slack, email, pagerduty (e.g. `warning = [\"slack\", \"email\"]`)".to_owned()
                })?;
                let mut to = Vec::new();
                for n in &names {
                    let i = Integration::parse(n).ok_or_else(|| {
                        ConfigError::new(
                            &field,
                            format!("unknown integration `{n}`: use slack, email or pagerduty"),
                        )
                    })?;
                    require(configured(i), &field, || {
                        format!(
                            "routes to {n}, but [notify.{n}] is not configured: add that table (see docs/routing.md) or remove `{n}` here"
                        )
                    })?;
                    if !to.contains(&i) {
                        to.push(i);
                    }
                }
                routes.insert(severity, to);
            }
            for severity in Severity::ALL {
                require(routes.contains_key(&severity), "notify.routes", || {
                    format!(
                        "no route for severity `{severity}`: its alerts would reach nobody; add e.g. `{severity} = [\"slack\", \"email\"]`"
                    )
                })?;
            }
        }
    }
    let group_wait = s.group_wait.unwrap_or(PromDuration::from_secs(30));
    let group_interval = s.group_interval.unwrap_or(PromDuration::from_secs(300));
    let repeat_interval = s
        .repeat_interval
        .unwrap_or(PromDuration::from_secs(4 * 3600));
    require(
        group_wait.millis() > 0 && group_interval.millis() > 0,
        "notify.group_interval",
        || "group_wait and group_interval must be positive (e.g. `30s` and `5m`)".to_owned(),
    )?;
    require(
        repeat_interval >= group_interval,
        "notify.repeat_interval",
        || {
            format!(
                "{repeat_interval} is shorter than group_interval {group_interval}: Alertmanager resends at most every group_interval; use e.g. `4h`"
            )
        },
    )?;
    Ok(Some(Notify {
        grafana_url,
        group_wait,
        group_interval,
        repeat_interval,
        routes,
        slack,
        email,
        pagerduty,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    const APP: &str =
        "[[apps]]\nname = \"a\"\nnamespace = \"a\"\nservice = \"a\"\nport = \"http\"\n";
    const SLACK: &str =
        "[notify.slack]\nchannel = \"#shared\"\napi_url = { name = \"s\", key = \"slack\" }\n";

    fn notify(text: &str) -> Notify {
        let config = Config::parse(text).unwrap();
        config.apps[0].notify.clone().unwrap()
    }

    #[test]
    fn an_app_overrides_the_shared_settings_field_by_field() {
        let n = notify(&format!(
            "{SLACK}{APP}[apps.notify]\ngroup_wait = \"1s\"\n[apps.notify.slack]\nchannel = \"#mine\"\n"
        ));
        let slack = n.slack.unwrap();
        assert_eq!(slack.channel, "#mine");
        assert_eq!(slack.api_url.name, "s", "the secret comes from [notify]");
        assert_eq!(slack.api_url.file, "/etc/alertmanager/secrets/s/slack");
        assert_eq!(n.group_wait.to_string(), "1s");
        assert_eq!(n.group_interval.to_string(), "5m");
        // docs/routing.md's defaults, Alertmanager's own; the repository's config sets all three.
        assert_eq!(n.repeat_interval.to_string(), "4h");
        assert_eq!(
            notify(&format!("{SLACK}{APP}")).group_wait.to_string(),
            "30s"
        );
    }

    /// Each integration's table overlays field by field too: an app that changes only the
    /// PagerDuty URL or the e-mail recipients keeps the shared routing key, sender and host.
    #[test]
    fn each_integration_overlays_the_shared_one_field_by_field() {
        let n = notify(&format!(
            "{SLACK}[notify.pagerduty]\nrouting_key = {{ name = \"s\", key = \"pd\" }}\n[notify.email]\nto = [\"all@example.com\"]\nfrom = \"am@example.com\"\nsmarthost = \"smtp.example.com:587\"\n{APP}[apps.notify.pagerduty]\nurl = \"https://events.eu.pagerduty.com/v2/enqueue\"\n[apps.notify.email]\nto = [\"mine@example.com\"]\n"
        ));
        let pd = n.pagerduty.unwrap();
        assert_eq!(
            (pd.routing_key.name.as_str(), pd.routing_key.key.as_str()),
            ("s", "pd")
        );
        assert_eq!(
            pd.url.as_deref(),
            Some("https://events.eu.pagerduty.com/v2/enqueue")
        );
        let email = n.email.unwrap();
        assert_eq!(email.to, ["mine@example.com"]);
        assert_eq!(
            (email.from.as_str(), email.smarthost.as_str()),
            ("am@example.com", "smtp.example.com:587")
        );
    }

    #[test]
    fn default_routes_follow_the_plan_within_what_is_configured() {
        let n = notify(&format!("{SLACK}{APP}"));
        assert_eq!(n.routes[&Severity::Warning], [Integration::Slack]);
        assert_eq!(n.routes[&Severity::Critical], [Integration::Slack]);
        let n = notify(&format!(
            "{SLACK}[notify.pagerduty]\nrouting_key = {{ name = \"s\", key = \"pd\" }}\n{APP}"
        ));
        assert_eq!(n.routes[&Severity::Warning], [Integration::Slack]);
        assert_eq!(
            n.routes[&Severity::Critical],
            [Integration::Slack, Integration::PagerDuty]
        );
        assert!(Config::parse(APP).unwrap().apps[0].notify.is_none());
    }

    #[test]
    fn a_route_must_cover_every_severity() {
        let e = Config::parse(&format!(
            "[notify.routes]\nwarning = [\"slack\"]\n{SLACK}{APP}"
        ))
        .unwrap_err();
        assert_eq!(e.field, "apps[0] (a).notify.routes");
        assert!(e.rule.contains("no route for severity `critical`"), "{e}");
        let e = Config::parse(&format!(
            "{SLACK}{APP}[apps.notify]\nrepeat_interval = \"1m\"\n"
        ))
        .unwrap_err();
        assert!(e.field.ends_with("notify.repeat_interval"), "{e}");
    }

    /// `v` as a TOML basic string: quotes, backslashes and control characters escaped.
    fn toml_string(v: &str) -> String {
        let mut out = String::from("\"");
        for c in v.chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// Each check of a notification setting at its edge: every length limit refused one past
    /// it and accepted at it, and each clause of each rule refused on a value that breaks
    /// only that clause (a space that is not a control character, a bell that is not
    /// whitespace, a brace), with the rule's own message. Written from this file's mutant
    /// list (each `&&` → `||`, `||` → `&&` and `>` → `>=`).
    #[test]
    fn every_notify_rule_holds_at_its_edge() {
        let s = |v: &str| toml_string(v);
        let slack = |channel: &str, extra: &str| {
            format!(
                "[notify.slack]\nchannel = {}\napi_url = {{ name = \"s\", key = \"slack\" }}\n{extra}",
                s(channel)
            )
        };
        let secret = |name: &str, key: &str, file: Option<&str>| {
            format!(
                "[notify.slack]\nchannel = \"#a\"\napi_url = {{ name = {}, key = {} }}\n{}",
                s(name),
                s(key),
                file.map_or(String::new(), |f| format!("api_url_file = {}\n", s(f)))
            )
        };
        let email = |to: &[&str], host: &str, extra: &str| {
            let to: Vec<String> = to.iter().map(|a| s(a)).collect();
            format!(
                "[notify.email]\nto = [{}]\nfrom = \"am@example.com\"\nsmarthost = {}\n{extra}",
                to.join(", "),
                s(host)
            )
        };
        let ok_to = ["oncall@example.com"];
        let host = "smtp.example.com:587";
        let grafana = |u: &str| format!("[notify]\ngrafana_url = {}\n{SLACK}", s(u));
        let long_label = "a".repeat(63);
        let name_253 = format!("{long_label}.{long_label}.{long_label}.{}", "a".repeat(61));
        let address = |len: usize| format!("{}@example.com", "a".repeat(len - 12));
        let many =
            |n: usize| -> Vec<String> { (0..n).map(|i| format!("a{i}@example.com")).collect() };
        let (twenty, twenty_one) = (many(20), many(21));
        fn as_refs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        let refused: Vec<(String, &str, &str)> = vec![
            (
                grafana("ftp://grafana.example.com"),
                "notify.grafana_url",
                "not an http(s) URL",
            ),
            (
                grafana(&format!("https://{}", "a".repeat(2041))),
                "notify.grafana_url",
                "not an http(s) URL",
            ),
            (
                grafana("https://g.example.com/a b"),
                "notify.grafana_url",
                "not an http(s) URL",
            ),
            (
                grafana("https://g.example.com/a\u{7}"),
                "notify.grafana_url",
                "not an http(s) URL",
            ),
            (
                grafana("https://g.example.com/a#b"),
                "notify.grafana_url",
                "not an http(s) URL",
            ),
            (
                slack("hooks.slack.com/services/T0/B0/X", ""),
                "notify.slack.channel",
                "this is a webhook URL",
            ),
            (
                slack(
                    "#a",
                    "api_url_file = \"https://hooks.slack.com/services/T0/B0/X\"\n",
                ),
                "notify.slack.api_url_file",
                "the webhook URL itself",
            ),
            (
                slack("#", ""),
                "notify.slack.channel",
                "not a Slack channel name",
            ),
            (
                slack("#Alerts", ""),
                "notify.slack.channel",
                "not a Slack channel name",
            ),
            (
                slack(&format!("#{}", "a".repeat(81)), ""),
                "notify.slack.channel",
                "not a Slack channel name",
            ),
            (
                secret(&format!("{name_253}a"), "k", None),
                "notify.slack.api_url.name",
                "not a Secret name",
            ),
            (
                secret("s", "", None),
                "notify.slack.api_url.key",
                "not a Secret key",
            ),
            (
                secret("s", "a/b", None),
                "notify.slack.api_url.key",
                "not a Secret key",
            ),
            (
                secret("s", &"a".repeat(254), None),
                "notify.slack.api_url.key",
                "not a Secret key",
            ),
            (
                secret("s", "k", Some("etc/secret")),
                "notify.slack.api_url_file",
                "not an absolute file path",
            ),
            (
                secret("s", "k", Some("/etc/a b")),
                "notify.slack.api_url_file",
                "not an absolute file path",
            ),
            (
                secret("s", "k", Some("/etc/a\u{7}")),
                "notify.slack.api_url_file",
                "not an absolute file path",
            ),
            (
                secret("s", "k", Some("/etc/{a}")),
                "notify.slack.api_url_file",
                "not an absolute file path",
            ),
            (
                secret("s", "k", Some(&format!("/{}", "a".repeat(4096)))),
                "notify.slack.api_url_file",
                "not an absolute file path",
            ),
            (
                email(&[], host, ""),
                "notify.email.to",
                "list 1 to 20 addresses",
            ),
            (
                email(&as_refs(&twenty_one), host, ""),
                "notify.email.to",
                "list 1 to 20 addresses",
            ),
            (
                email(&["oncall"], host, ""),
                "notify.email.to",
                "not a plain e-mail address",
            ),
            (
                email(&[&address(255)], host, ""),
                "notify.email.to",
                "not a plain e-mail address",
            ),
            (
                email(&["@example.com"], host, ""),
                "notify.email.to",
                "not a plain e-mail address",
            ),
            (
                email(&["a@localhost"], host, ""),
                "notify.email.to",
                "not a plain e-mail address",
            ),
            (
                email(&["a@.example.com"], host, ""),
                "notify.email.to",
                "not a plain e-mail address",
            ),
            (
                email(&["a@b@example.com"], host, ""),
                "notify.email.to",
                "not a plain e-mail address",
            ),
            (
                email(&ok_to, ":587", ""),
                "notify.email.smarthost",
                "not host:port",
            ),
            (
                email(&ok_to, "smtp_x.example.com:587", ""),
                "notify.email.smarthost",
                "not host:port",
            ),
            (
                email(&ok_to, "smtp.example.com:0", ""),
                "notify.email.smarthost",
                "not host:port",
            ),
            (
                email(&ok_to, "smtp.example.com:smtp", ""),
                "notify.email.smarthost",
                "not host:port",
            ),
            (
                email(
                    &ok_to,
                    host,
                    "auth_username = \"\"\nauth_password = { name = \"s\", key = \"smtp\" }\n",
                ),
                "notify.email.auth_username",
                "without spaces, quotes or braces",
            ),
            (
                email(
                    &ok_to,
                    host,
                    "auth_username = \"a b\"\nauth_password = { name = \"s\", key = \"smtp\" }\n",
                ),
                "notify.email.auth_username",
                "without spaces, quotes or braces",
            ),
            (
                email(
                    &ok_to,
                    host,
                    "auth_username = \"a\\u0007\"\nauth_password = { name = \"s\", key = \"smtp\" }\n",
                ),
                "notify.email.auth_username",
                "without spaces, quotes or braces",
            ),
            (
                email(
                    &ok_to,
                    host,
                    "auth_username = \"a{b\"\nauth_password = { name = \"s\", key = \"smtp\" }\n",
                ),
                "notify.email.auth_username",
                "without spaces, quotes or braces",
            ),
            (
                email(
                    &ok_to,
                    host,
                    "auth_password = { name = \"s\", key = \"smtp\" }\n",
                ),
                "notify.email.auth_username",
                "a password is set but no user",
            ),
            (
                email(&ok_to, host, "auth_password_file = \"/etc/smtp\"\n"),
                "notify.email.auth_username",
                "a password is set but no user",
            ),
            (
                format!("[notify]\ngroup_wait = \"0s\"\n{SLACK}"),
                "notify.group_interval",
                "must be positive",
            ),
            (
                format!("[notify]\ngroup_interval = \"0s\"\n{SLACK}"),
                "notify.group_interval",
                "must be positive",
            ),
        ];
        for (notify, field, rule) in &refused {
            let text = format!("{notify}{APP}");
            let e = Config::parse(&text).expect_err(&text);
            assert_eq!(e.field, format!("apps[0] (a).{field}"), "{text}: {e}");
            assert!(e.rule.contains(rule), "{text}: {e}");
        }
        let accepted = [
            grafana("http://grafana.example.com/"),
            grafana(&format!("https://{}", "a".repeat(2040))),
            slack(&format!("#{}", "a".repeat(80)), ""),
            secret(
                &name_253,
                &"a".repeat(253),
                Some(&format!("/{}", "a".repeat(4095))),
            ),
            email(&as_refs(&twenty), host, ""),
            email(&[&address(254)], "[::1]:25", ""),
            email(
                &ok_to,
                host,
                "auth_username = \"am@example.com\"\nauth_password = { name = \"s\", key = \"smtp\" }\n",
            ),
        ];
        for notify in accepted {
            let text = format!("{notify}{APP}");
            assert!(
                Config::parse(&text).is_ok(),
                "{text}: {:?}",
                Config::parse(&text).err()
            );
        }
    }
}
