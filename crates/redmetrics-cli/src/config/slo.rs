//! `[apps.slo]`: the service level objectives of one app (availability and latency), their
//! period and the multi-window multi-burn-rate alert windows. [`resolve`] checks every value
//! against the rule the generated rules depend on, naming the field and giving an example.

use serde::Deserialize;

use redmetrics::metrics::Buckets;

use super::names::require;
use super::{ConfigError, PromDuration};
use crate::severity::Severity;

/// Most window pairs: each is an alert and two recorded windows per objective.
const MAX_WINDOWS: usize = 8;
/// Longest period: a year of data is more than any Prometheus keeps for a budget.
const MAX_PERIOD_DAYS: u64 = 365;
const DAY_MS: u64 = 86_400_000;
/// Longest `for` plus short window of a pair: `generate`'s promtool tests replay a pair minute
/// by minute until its alert has fired and resolved (the workbook's longest takes 9h).
pub(crate) const MAX_FOR_AND_SHORT_MS: u64 = 7 * DAY_MS;

/// One window pair as written in `[[apps.slo.windows]]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Window {
    /// The long window: the burn rate must have lasted this long.
    pub(crate) long: PromDuration,
    /// The short window: the burn is still going on (the alert resets soon after it stops).
    pub(crate) short: PromDuration,
    /// Burn-rate factor: the error ratio must exceed `factor × (1 − objective)` in both.
    pub(crate) factor: f64,
    /// How long both must hold before the alert fires.
    #[serde(rename = "for")]
    pub(crate) for_: PromDuration,
    /// Who hears about it.
    pub(crate) severity: Severity,
}

/// `[apps.slo]` as the file says it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SloSettings {
    /// Share of requests that must not answer 5xx (0.999 = 99.9 %).
    pub(crate) availability_objective: Option<f64>,
    /// Share of requests that must be faster than `latency_threshold_seconds`.
    pub(crate) latency_objective: Option<f64>,
    /// The latency threshold: one of the duration histogram's bucket bounds.
    pub(crate) latency_threshold_seconds: Option<f64>,
    /// The period the error budget spans, whole days (default 28d).
    pub(crate) period: Option<PromDuration>,
    /// Window pairs (default: the SRE workbook's four).
    pub(crate) windows: Option<Vec<Window>>,
}

/// The SRE workbook's multi-window multi-burn-rate table: page at 1h/5m × 14.4 and
/// 6h/30m × 6, ticket at 1d/2h × 3 and 3d/6h × 1.
pub(crate) fn workbook_windows() -> Vec<Window> {
    let w = |long: u64, short: u64, factor: f64, for_: u64, severity| Window {
        long: PromDuration::from_secs(long * 60),
        short: PromDuration::from_secs(short * 60),
        factor,
        for_: PromDuration::from_secs(for_ * 60),
        severity,
    };
    vec![
        w(60, 5, 14.4, 2, Severity::Critical),
        w(360, 30, 6.0, 15, Severity::Critical),
        w(1440, 120, 3.0, 60, Severity::Warning),
        w(4320, 360, 1.0, 180, Severity::Warning),
    ]
}

/// What an objective measures; the `slo` label of its series and alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SloKind {
    /// Requests that did not answer 5xx.
    Availability,
    /// Requests faster than the threshold.
    Latency,
}

impl SloKind {
    /// The `slo` label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Availability => "availability",
            Self::Latency => "latency",
        }
    }
}

/// One checked objective.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Objective {
    pub(crate) kind: SloKind,
    /// In (0.5, 1).
    pub(crate) target: f64,
    /// Latency only: the threshold in seconds and its `le` label exactly as the endpoint
    /// renders it (`0.25`, `1.0`), so the classic query matches the scraped series.
    pub(crate) threshold: Option<(f64, String)>,
}

impl Objective {
    /// The error budget: the share of requests allowed to miss the objective.
    pub(crate) fn budget(&self) -> f64 {
        1.0 - self.target
    }
}

/// The checked `[apps.slo]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slo {
    pub(crate) objectives: Vec<Objective>,
    pub(crate) period: PromDuration,
    pub(crate) windows: Vec<Window>,
}

fn objective(field: &str, o: f64) -> Result<f64, ConfigError> {
    require(o > 0.5 && o < 1.0, field, || {
        format!(
            "{o} is not an objective in (0.5, 1): it is the share of requests that must meet it, and 1 leaves no error budget (e.g. `{} = 0.999` for 99.9 %)",
            field.rsplit('.').next().unwrap_or(field)
        )
    })?;
    Ok(o)
}

/// Checks `settings` against the duration buckets; `None` when no objective is set. The
/// deprecated `[apps.alerts] availability_objective` is refused with what to write instead.
pub(crate) fn resolve(
    settings: &SloSettings,
    old_availability: Option<f64>,
    duration: Option<&Buckets>,
) -> Result<Option<Slo>, ConfigError> {
    if let Some(o) = old_availability {
        return Err(ConfigError::new(
            "alerts.availability_objective",
            format!(
                "moved to [apps.slo], which also holds the latency objective and the period: remove it from [apps.alerts] and write `[apps.slo]` with `availability_objective = {o}`"
            ),
        ));
    }
    let mut objectives = Vec::new();
    if let Some(o) = settings.availability_objective {
        objectives.push(Objective {
            kind: SloKind::Availability,
            target: objective("slo.availability_objective", o)?,
            threshold: None,
        });
    }
    match (
        settings.latency_objective,
        settings.latency_threshold_seconds,
    ) {
        (None, None) => {}
        (Some(_), None) => {
            return Err(ConfigError::new(
                "slo.latency_threshold_seconds",
                "a latency objective needs its threshold: the share of requests faster than it (e.g. `latency_threshold_seconds = 0.25`)",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "slo.latency_objective",
                "a latency threshold needs its objective: the share of requests that must be faster (e.g. `latency_objective = 0.99`)",
            ));
        }
        (Some(o), Some(t)) => {
            let target = objective("slo.latency_objective", o)?;
            let le = threshold_le(t, duration)?;
            objectives.push(Objective {
                kind: SloKind::Latency,
                target,
                threshold: Some((t, le)),
            });
        }
    }
    if objectives.is_empty() {
        require(
            settings.period.is_none() && settings.windows.is_none(),
            "slo",
            || {
                "period and windows apply to objectives, but none is set: add `availability_objective = 0.999` or `latency_objective = 0.99` with `latency_threshold_seconds = 0.25`".to_owned()
            },
        )?;
        return Ok(None);
    }
    let period = settings
        .period
        .unwrap_or(PromDuration::from_secs(28 * 86_400));
    require(
        period.millis() > 0
            && period.millis().is_multiple_of(DAY_MS)
            && period.millis() / DAY_MS <= MAX_PERIOD_DAYS,
        "slo.period",
        || {
            format!(
                "{period} is not a whole number of days from 1d to {MAX_PERIOD_DAYS}d: the error budget spans the period (e.g. `period = \"28d\"` or `\"30d\"`)"
            )
        },
    )?;
    let windows = settings.windows.clone().unwrap_or_else(workbook_windows);
    check_windows(&windows, period, &objectives)?;
    Ok(Some(Slo {
        objectives,
        period,
        windows,
    }))
}

/// The `le` label of `threshold`: it must be one of the classic buckets' bounds, since a
/// classic `_bucket{le="..."}` selector matches only a rendered bound, and the generated
/// rules read the classic series wherever Prometheus stores them.
fn threshold_le(threshold: f64, duration: Option<&Buckets>) -> Result<String, ConfigError> {
    let field = "slo.latency_threshold_seconds";
    let Some(buckets) = duration else {
        return Err(ConfigError::new(
            field,
            "the latency histogram has no buckets in this contract",
        ));
    };
    let bounds = buckets.bounds();
    if let Some(i) = bounds.iter().position(|b| *b == threshold) {
        return Ok(buckets.le()[i].to_string());
    }
    let below = bounds.iter().rev().find(|b| **b < threshold);
    let above = bounds.iter().find(|b| **b > threshold);
    let nearest = match (below, above) {
        (Some(b), Some(a)) => format!("the nearest are {b} and {a}"),
        (Some(b), None) => format!("the largest is {b}"),
        (None, Some(a)) => format!("the smallest is {a}"),
        (None, None) => "there are none".to_owned(),
    };
    let example = above.or(below).copied().unwrap_or(0.25);
    Err(ConfigError::new(
        field,
        format!(
            "{threshold} is not a bound of the duration buckets, so no `le` series counts the requests faster than it; {nearest} (e.g. `latency_threshold_seconds = {example}`), or add {threshold} to [apps.metrics] duration_buckets"
        ),
    ))
}

/// Window pairs: 1 to [`MAX_WINDOWS`], each short < long <= period, long windows strictly
/// increasing, factors positive and low enough that the threshold is a ratio below 1.
fn check_windows(
    windows: &[Window],
    period: PromDuration,
    objectives: &[Objective],
) -> Result<(), ConfigError> {
    let example = "e.g. `windows = [{ long = \"1h\", short = \"5m\", factor = 14.4, for = \"2m\", severity = \"critical\" }]`";
    require(
        !windows.is_empty() && windows.len() <= MAX_WINDOWS,
        "slo.windows",
        || {
            format!(
                "list 1 to {MAX_WINDOWS} window pairs, not {} ({example})",
                windows.len()
            )
        },
    )?;
    for (i, w) in windows.iter().enumerate() {
        let field = format!("slo.windows[{i}]");
        require(w.short.millis() > 0 && w.short < w.long, &field, || {
            format!(
                "short window {} must be positive and shorter than the long window {} ({example})",
                w.short, w.long
            )
        })?;
        require(
            w.for_.millis().saturating_add(w.short.millis()) <= MAX_FOR_AND_SHORT_MS,
            &field,
            || {
                format!(
                    "`for` {} plus the short window {} is longer than 7d: the generated rule tests (rules.test.yaml) replay a pair minute by minute until its alert resolves ({example})",
                    w.for_, w.short
                )
            },
        )?;
        require(w.long <= period, &field, || {
            format!(
                "long window {} is longer than the period {period} ({example})",
                w.long
            )
        })?;
        if let Some(prev) = i.checked_sub(1).map(|p| windows[p]) {
            require(prev.long < w.long, &field, || {
                format!(
                    "window pairs are listed by increasing long window, fastest burn first, but {} follows {} ({example})",
                    w.long, prev.long
                )
            })?;
        }
        require(w.factor.is_finite() && w.factor > 0.0, &field, || {
            format!("factor {} is not a positive number ({example})", w.factor)
        })?;
        for o in objectives {
            require(w.factor * o.budget() < 1.0, &field, || {
                format!(
                    "factor {} × (1 − {}) is at least 1: the error ratio can never exceed it, so the alert could never fire; lower the factor or raise the objective",
                    w.factor, o.target
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> SloSettings {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_are_the_workbook_and_28_days() {
        let b = Buckets::new(vec![0.1, 0.25, 1.0]).unwrap();
        let slo = resolve(
            &settings("availability_objective = 0.999\nlatency_objective = 0.99\nlatency_threshold_seconds = 1\n"),
            None,
            Some(&b),
        )
        .unwrap()
        .unwrap();
        assert_eq!(slo.period.to_string(), "28d");
        assert_eq!(slo.windows.len(), 4);
        assert_eq!(slo.objectives[1].threshold, Some((1.0, "1.0".to_owned())));
        assert!(
            resolve(&SloSettings::default(), None, Some(&b))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn mistakes_name_the_field() {
        let b = Buckets::new(vec![0.1, 0.25, 1.0]).unwrap();
        for (text, field, rule) in [
            (
                "availability_objective = 1",
                "slo.availability_objective",
                "(0.5, 1)",
            ),
            (
                "latency_objective = 0.99\nlatency_threshold_seconds = 0.3",
                "slo.latency_threshold_seconds",
                "the nearest are 0.25 and 1",
            ),
            (
                "latency_objective = 0.99",
                "slo.latency_threshold_seconds",
                "needs its threshold",
            ),
            (
                "availability_objective = 0.99\nperiod = \"0s\"",
                "slo.period",
                "whole number of days",
            ),
            (
                "availability_objective = 0.99\nperiod = \"36h\"",
                "slo.period",
                "whole number of days",
            ),
            (
                "availability_objective = 0.99\nwindows = [{ long = \"6h\", short = \"30m\", factor = 6, for = \"15m\", severity = \"critical\" }, { long = \"1h\", short = \"5m\", factor = 14.4, for = \"2m\", severity = \"critical\" }]",
                "slo.windows[1]",
                "increasing long window",
            ),
            (
                "availability_objective = 0.99\nwindows = [{ long = \"5m\", short = \"1h\", factor = 6, for = \"15m\", severity = \"critical\" }]",
                "slo.windows[0]",
                "shorter than the long window",
            ),
            (
                "availability_objective = 0.9\nwindows = [{ long = \"1h\", short = \"5m\", factor = 14.4, for = \"2m\", severity = \"critical\" }]",
                "slo.windows[0]",
                "never fire",
            ),
            ("period = \"30d\"", "slo", "none is set"),
        ] {
            let e = resolve(&settings(text), None, Some(&b)).unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
            assert!(e.rule.contains(rule), "{text}: {e}");
        }
        let e = resolve(&SloSettings::default(), Some(0.999), Some(&b)).unwrap_err();
        assert!(
            e.rule
                .contains("`[apps.slo]` with `availability_objective = 0.999`"),
            "{e}"
        );
    }

    /// Each rule at its edge: the value just inside is accepted and the edge itself refused
    /// where the rule is strict (an objective of 0.5, a window as long as the previous one, a
    /// factor whose threshold is exactly 1, which no error ratio can exceed).
    #[test]
    fn every_rule_holds_at_its_edge() {
        let b = Buckets::new(vec![0.1, 0.25, 1.0]).unwrap();
        let window = |long: &str, short: &str, factor: &str| {
            format!(
                "{{ long = \"{long}\", short = \"{short}\", factor = {factor}, for = \"2m\", severity = \"warning\" }}"
            )
        };
        let windows = |ws: &[String]| format!("windows = [{}]", ws.join(", "));
        let nine: Vec<String> = (1..=9)
            .map(|h| window(&format!("{h}h"), "5m", "1"))
            .collect();
        for (text, field, rule) in [
            (
                "availability_objective = 0.5",
                "slo.availability_objective",
                "(0.5, 1)",
            ),
            (
                "availability_objective = 0.99\nperiod = \"366d\"",
                "slo.period",
                "from 1d to 365d",
            ),
            (
                "availability_objective = 0.99\nwindows = []",
                "slo.windows",
                "not 0",
            ),
            (
                &format!("availability_objective = 0.99\n{}", windows(&nine)),
                "slo.windows",
                "not 9",
            ),
            (
                &format!(
                    "availability_objective = 0.99\n{}",
                    windows(&[window("1h", "0s", "1")])
                ),
                "slo.windows[0]",
                "must be positive",
            ),
            (
                &format!(
                    "availability_objective = 0.99\n{}",
                    windows(&[window("1h", "1h", "1")])
                ),
                "slo.windows[0]",
                "shorter than the long window",
            ),
            (
                &format!(
                    "availability_objective = 0.99\n{}",
                    windows(&[window("1h", "5m", "1"), window("1h", "10m", "1")])
                ),
                "slo.windows[1]",
                "increasing long window",
            ),
            (
                &format!(
                    "availability_objective = 0.99\n{}",
                    windows(&[window("1h", "5m", "0")])
                ),
                "slo.windows[0]",
                "factor 0 is not a positive number",
            ),
            (
                &format!(
                    "availability_objective = 0.99\n{}",
                    windows(&[window("1h", "5m", "inf")])
                ),
                "slo.windows[0]",
                "factor inf is not a positive number",
            ),
            (
                &format!(
                    "availability_objective = 0.75\n{}",
                    windows(&[window("1h", "5m", "4")])
                ),
                "slo.windows[0]",
                "never fire",
            ),
        ] {
            let e = resolve(&settings(text), None, Some(&b)).unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
            assert!(e.rule.contains(rule), "{text}: {e}");
        }
        let eight = format!("availability_objective = 0.99\n{}", windows(&nine[..8]));
        for text in [
            &format!(
                "availability_objective = 0.5000001\n{}",
                windows(&[window("1h", "5m", "1")])
            ),
            "availability_objective = 0.99\nperiod = \"365d\"",
            &eight,
            &format!(
                "availability_objective = 0.75\n{}",
                windows(&[window("1h", "5m", "3.99")])
            ),
        ] {
            let slo = resolve(&settings(text), None, Some(&b));
            assert!(matches!(slo, Ok(Some(_))), "{text}: {slo:?}");
        }
    }

    /// `for` and the short window together: a week at most, to the minute.
    #[test]
    fn for_and_short_window_are_a_week_at_most() {
        let b = Buckets::new(vec![0.1, 0.25, 1.0]).unwrap();
        let text = |for_: &str| {
            format!(
                "availability_objective = 0.99\nwindows = [{{ long = \"1h\", short = \"5m\", factor = 1, for = \"{for_}\", severity = \"warning\" }}]"
            )
        };
        let slo = resolve(&settings(&text("10075m")), None, Some(&b));
        assert!(matches!(slo, Ok(Some(_))), "{slo:?}");
        let e = resolve(&settings(&text("10076m")), None, Some(&b)).unwrap_err();
        assert_eq!(e.field, "slo.windows[0]");
        assert!(
            e.rule
                .starts_with("`for` 6d23h56m plus the short window 5m is longer than 7d"),
            "{e}"
        );
    }
}
