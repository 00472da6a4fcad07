//! The rules of an app's service level objectives (`[apps.slo]`): SLI error ratios per window,
//! burn rates, the error budget left over the period, and one multi-window burn-rate alert
//! per objective and window pair, labelled with its `slo`, `long_window` and `short_window`.
//!
//! Every recorded series carries `namespace`, `job` and `slo`, so dashboards and alerts select
//! an objective by label. The names live here, for the rules, their tests and the dashboard.

use crate::config::{Objective, PromDuration, Resolved, Slo, SloKind, Window};
use crate::promql::Queries;

use super::rules::{ERROR_BUDGET_BURN, Group, Rule, alert, percent, record};

/// The labels every SLO series keeps (besides `slo`).
pub(crate) const BY: &str = "namespace, job";

/// The recorded names of one app.
pub(crate) struct Names<'a> {
    prefix: &'a str,
}

impl<'a> Names<'a> {
    pub(crate) fn new(r: &'a Resolved) -> Self {
        Self { prefix: r.prefix() }
    }

    /// Requests per second over `window`, per namespace and job (the traffic guard).
    pub(crate) fn traffic(&self, window: PromDuration) -> String {
        format!("namespace_job:{}_http_requests:rate{window}", self.prefix)
    }

    /// The share of requests that missed an objective over `window`.
    pub(crate) fn error_ratio(&self, window: PromDuration) -> String {
        format!(
            "namespace_job_slo:{}_sli_error:ratio_rate{window}",
            self.prefix
        )
    }

    /// [`Self::error_ratio`] divided by the error budget: 1 spends the budget exactly over
    /// the period.
    pub(crate) fn burn_rate(&self, window: PromDuration) -> String {
        format!(
            "namespace_job_slo:{}_sli_error:burn_rate{window}",
            self.prefix
        )
    }

    /// The share of the period's error budget not yet spent (1 untouched, 0 spent, below 0
    /// overspent).
    pub(crate) fn budget_remaining(&self) -> String {
        format!("namespace_job_slo:{}_error_budget:remaining", self.prefix)
    }
}

/// `{slo="<kind>"}`.
pub(crate) fn slo_selector(kind: SloKind) -> String {
    format!("{{slo=\"{}\"}}", kind.as_str())
}

/// Every window the rules record, shortest first, each once: the windows of the pairs and
/// the period.
pub(crate) fn recorded_windows(slo: &Slo) -> Vec<PromDuration> {
    let mut windows: Vec<PromDuration> = slo
        .windows
        .iter()
        .flat_map(|w| [w.long, w.short])
        .chain(std::iter::once(slo.period))
        .collect();
    windows.sort_unstable();
    windows.dedup();
    windows
}

/// What an objective means, for descriptions (`99.9% availability`).
pub(crate) fn describe(o: &Objective) -> String {
    match &o.threshold {
        None => format!("{} availability", percent(o.target)),
        Some((t, _)) => format!("{} latency (requests under {t}s)", percent(o.target)),
    }
}

/// The summary of a burn-rate alert, given the text that stands for the job and namespace
/// (template references in the rule, the values in its tests).
pub(crate) fn burn_summary(job: &str, namespace: &str, o: &Objective) -> String {
    format!(
        "{job} in {namespace} is burning its {} error budget fast",
        o.kind.as_str()
    )
}

/// The description of a burn-rate alert, given the app's title as it should print.
pub(crate) fn burn_description(title: &str, o: &Objective, w: &Window) -> String {
    format!(
        "{title} is spending its {} error budget {}x faster than sustainable over both {} and {}.",
        describe(o),
        w.factor,
        w.long,
        w.short
    )
}

/// The SLI of `o` over `window`: the share of requests that missed it.
fn sli(q: &Queries<'_>, o: &Objective, window: &str) -> String {
    match &o.threshold {
        None => q.error_ratio(window, BY),
        Some((t, le)) => q.latency_slow_ratio(*t, le, window, BY),
    }
}

/// A recording rule with the `slo` label.
fn record_slo(name: String, expr: String, kind: SloKind) -> Rule {
    let mut rule = record(name, expr);
    rule.labels
        .insert("slo".to_owned(), kind.as_str().to_owned());
    rule
}

/// The burn-rate alert of objective `o` over window pair `w`.
fn burn_alert(r: &Resolved, names: &Names<'_>, o: &Objective, w: &Window) -> Rule {
    let sel = slo_selector(o.kind);
    let factor = w.factor;
    let mut rule = alert(
        ERROR_BUDGET_BURN,
        format!(
            "{}{sel} > {factor}\nand\n{}{sel} > {factor}\nand on (namespace, job)\n{} > {}",
            names.burn_rate(w.long),
            names.burn_rate(w.short),
            names.traffic(w.long),
            r.app.alerts.min_request_rate
        ),
        w.for_,
        w.severity,
        r,
        &burn_summary("{{ $labels.job }}", "{{ $labels.namespace }}", o),
        burn_description(&super::escape::go_template_text(&r.title), o, w),
    );
    for (k, v) in [
        ("slo", o.kind.as_str().to_owned()),
        ("long_window", w.long.to_string()),
        ("short_window", w.short.to_string()),
    ] {
        rule.labels.insert(k.to_owned(), v);
    }
    rule
}

/// The SLO recording group and the burn-rate alerts of `r`; `None` without `[apps.slo]`.
pub(crate) fn slo_rules(r: &Resolved, q: &Queries<'_>) -> Option<(Group, Vec<Rule>)> {
    let slo = r.slo.as_ref()?;
    let names = Names::new(r);
    let mut recordings = Vec::new();
    for window in recorded_windows(slo) {
        let w = window.to_string();
        recordings.push(record(names.traffic(window), q.request_rate(&w, BY)));
        for o in &slo.objectives {
            recordings.push(record_slo(names.error_ratio(window), sli(q, o, &w), o.kind));
        }
        for o in &slo.objectives {
            recordings.push(record_slo(
                names.burn_rate(window),
                format!(
                    "{}{} / (1 - {})",
                    names.error_ratio(window),
                    slo_selector(o.kind),
                    o.target
                ),
                o.kind,
            ));
        }
    }
    for o in &slo.objectives {
        recordings.push(record_slo(
            names.budget_remaining(),
            format!(
                "1 - {}{}",
                names.burn_rate(slo.period),
                slo_selector(o.kind)
            ),
            o.kind,
        ));
    }
    let alerts = slo
        .objectives
        .iter()
        .flat_map(|o| slo.windows.iter().map(|w| burn_alert(r, &names, o, w)))
        .collect();
    Some((
        Group {
            // Sorts before `<prefix>.rules`: Prometheus lists (and promtool runs) groups by
            // name, and the alerts should read this evaluation's burn rates.
            name: format!("{}.recording.slo.rules", r.prefix()),
            rules: recordings,
        },
        alerts,
    ))
}
