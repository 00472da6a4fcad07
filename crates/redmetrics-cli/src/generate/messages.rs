//! Notification texts: Alertmanager Go templates showing each alert's summary, description,
//! runbook link and a link to the app's Grafana dashboard. The only generated value placed in
//! them, the dashboard URL, was checked to hold no brace, quote or space, so Go's template
//! parser reads it as plain text.

use serde_json::{Value, json};

use super::dashboard;
use super::escape::go_template_text;
use crate::config::Resolved;
use crate::severity::Severity;

/// The messages of one app.
pub(crate) struct Messages {
    dashboard: Option<String>,
}

impl Messages {
    /// Messages of `r`, linking to its dashboard under `grafana_url` when one is given.
    pub(crate) fn new(r: &Resolved, grafana_url: Option<&str>) -> Self {
        let dashboard = grafana_url.map(|base| {
            go_template_text(&format!(
                "{base}/d/{}?var-namespace={}&var-job={}",
                dashboard::uid(r),
                r.app.namespace,
                r.job
            ))
        });
        Self { dashboard }
    }

    /// The app's dashboard in Grafana, when a Grafana URL is configured.
    pub(crate) fn dashboard(&self) -> Option<&str> {
        self.dashboard.as_deref()
    }

    /// One line: status, count, alert name, job and namespace.
    pub(crate) fn title(&self) -> &'static str {
        "[{{ .Status | toUpper }}{{ if eq .Status \"firing\" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.job }} ({{ .CommonLabels.namespace }}, {{ .CommonLabels.severity }})"
    }

    /// Per alert: summary, description, runbook; then the dashboard link.
    pub(crate) fn text(&self) -> String {
        self.body("\n")
    }

    /// The same as [`Self::text`] for HTML mail (Alertmanager escapes the alert's values).
    pub(crate) fn html(&self) -> String {
        self.body("<br>\n")
    }

    fn body(&self, br: &str) -> String {
        let mut t = format!(
            "{{{{ range .Alerts }}}}{{{{ .Status | toUpper }}}}: {{{{ .Annotations.summary }}}}{br}{{{{ .Annotations.description }}}}{br}{{{{ if .Annotations.runbook_url }}}}Runbook: {{{{ .Annotations.runbook_url }}}}{br}{{{{ end }}}}{br}{{{{ end }}}}"
        );
        if let Some(d) = &self.dashboard {
            t.push_str(&format!("Dashboard: {d}{br}"));
        }
        t
    }

    /// PagerDuty's severity from the alert's.
    pub(crate) fn pagerduty_severity(&self) -> String {
        let (critical, warning) = (Severity::Critical, Severity::Warning);
        format!(
            "{{{{ if eq .CommonLabels.severity \"{critical}\" }}}}{critical}{{{{ else }}}}{warning}{{{{ end }}}}"
        )
    }

    /// PagerDuty custom details as (key, template) pairs.
    pub(crate) fn details_list(&self) -> Vec<(&'static str, String)> {
        let mut d = vec![
            ("summary", "{{ .CommonAnnotations.summary }}".to_owned()),
            (
                "description",
                "{{ .CommonAnnotations.description }}".to_owned(),
            ),
            ("runbook", "{{ .CommonAnnotations.runbook_url }}".to_owned()),
            ("firing", "{{ .Alerts.Firing | len }}".to_owned()),
        ];
        if let Some(link) = &self.dashboard {
            d.push(("dashboard", link.clone()));
        }
        d
    }

    /// PagerDuty custom details as a map (plain configuration).
    pub(crate) fn details(&self) -> Value {
        let map: serde_json::Map<String, Value> = self
            .details_list()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        Value::Object(map)
    }
}
