//! The app made of a bare metric prefix, for `demo --prefix` and `check alertmanager
//! --prefix`: what a configured app would be with every default, so both judge and show the
//! same rules and routing `generate` writes for a configured app.

use super::{App, ConfigError, Resolved, Stack};

/// The notification settings of an app made from a bare prefix: the default routes (warning to
/// Slack and e-mail, critical also to PagerDuty), secrets by reference as in a real config.
const PREFIX_NOTIFY: &str = r##"
[slack]
channel = "#alerts"
api_url = { name = "alertmanager-receivers", key = "slack-api-url" }
[email]
to = ["oncall@example.com"]
from = "alertmanager@example.com"
smarthost = "smtp.example.com:587"
[pagerduty]
routing_key = { name = "alertmanager-receivers", key = "pagerduty-routing-key" }
"##;

/// The app of a bare `prefix` serving metrics at `metrics_path`: named after the prefix, with
/// the default contract and settings, the repository's ReviewMaps objectives (99.9 % available,
/// 99 % under 0.25 s: its rules are the full set, burn-rate alerts included) and the default notification routing. Errors name
/// the field (`prefix`, `metrics_path`) as the config would.
pub(crate) fn prefix_app(prefix: &str, metrics_path: &str) -> Result<Resolved, ConfigError> {
    let name = app_name(prefix);
    let mut app = App::new(&name, &name, &format!("{name}-server"), "http");
    app.prefix = Some(prefix.to_owned());
    app.metrics_path = metrics_path.to_owned();
    app.slo.availability_objective = Some(0.999);
    app.slo.latency_objective = Some(0.99);
    app.slo.latency_threshold_seconds = Some(0.25);
    app.notify =
        Some(toml::from_str(PREFIX_NOTIFY).map_err(|e| ConfigError::new("notify", e.to_string()))?);
    Resolved::new(app, &Stack::default())
}

/// A Kubernetes-valid app name for a metric prefix (`my_app` -> `my-app`).
fn app_name(prefix: &str) -> String {
    let name: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let name = name.trim_matches('-');
    if name.is_empty() {
        "demo".to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_app_has_the_full_rules_and_routing() {
        let r = prefix_app("my_shop", "/metrics").expect("valid");
        assert_eq!(r.app.name, "my-shop");
        assert!(r.notify.is_some());
        assert_eq!(r.app.slo.availability_objective, Some(0.999));
        assert_eq!(
            prefix_app("", "/metrics").expect_err("no prefix").field,
            "prefix"
        );
    }
}
