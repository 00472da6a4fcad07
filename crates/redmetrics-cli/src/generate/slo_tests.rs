//! `deploy/<app>/rules.test.yaml`: promtool unit tests over the app's generated SLO rules,
//! runnable as they are with `promtool test rules deploy/<app>/rules.test.yaml`.
//!
//! The expectations come from the objectives' arithmetic, not from the rule text: input
//! counters carry an error ratio chosen just above or just below `factor × (1 − objective)`
//! of a window pair, and which alerts fire at an evaluation time is worked out by replaying
//! the multi-window condition and its `for` over that ratio profile minute by minute. A rule
//! whose threshold, window or `for` differs from the objective fails these tests.

use serde_json::{Value, json};

use crate::config::{MAX_FOR_AND_SHORT_MS, Objective, Resolved, Slo, SloKind, Window};

use super::rules::ERROR_BUDGET_BURN;
use super::slo::{Names, burn_description, burn_summary};

/// The sampling step and evaluation interval of every test.
const STEP_MS: u64 = 60_000;
/// Requests per step, at least: the traffic guard divides by the whole long window even
/// when the series is younger, so [`per_step`] raises it to pass the guard from one step.
const MIN_PER_STEP: f64 = 6000.0;
/// How far above or below a threshold the chosen ratios lie.
const ABOVE: f64 = 1.1;
const BELOW: f64 = 0.9;
/// Evaluations after a `for` has run out before the expectation is checked.
const MARGIN_STEPS: u64 = 2;

/// The longest case: a pair's `for` and short window at their most, plus the margins of the
/// recovery case (fired after `for` and 1 + [`MARGIN_STEPS`] steps, resolved after the short
/// window and [`MARGIN_STEPS`] more).
const MAX_CASE_MS: u64 =
    MAX_FOR_AND_SHORT_MS + (1 + MARGIN_STEPS) * STEP_MS + MARGIN_STEPS * STEP_MS;

/// The share of requests that miss the objective in each step (index 0 is the step ending at
/// minute 1).
struct Profile(Vec<f64>);

impl Profile {
    /// The ratio over the steps fully inside `(t - window, t]` (times in ms on the step
    /// grid), as `rate()` sees it when windows start on a sample; `None` before two samples.
    fn ratio(&self, t: u64, window: u64) -> Option<f64> {
        let last = (t / STEP_MS) as usize;
        let first = (t.saturating_sub(window) / STEP_MS) as usize;
        let steps = &self.0[first.min(last)..last.min(self.0.len())];
        (!steps.is_empty()).then(|| steps.iter().sum::<f64>() / steps.len() as f64)
    }

    /// The window pairs of `slo` whose alert fires at `t`: the condition (both windows'
    /// burn rate above the factor) held at every evaluation of the last `for`.
    fn firing<'a>(&self, slo: &'a Slo, o: &Objective, t: u64) -> Vec<&'a Window> {
        let holds = |w: &Window, at: u64| {
            let burn = |window| self.ratio(at, window).map(|r| r / o.budget());
            burn(w.long.millis()).is_some_and(|b| b > w.factor)
                && burn(w.short.millis()).is_some_and(|b| b > w.factor)
        };
        slo.windows
            .iter()
            .filter(|w| {
                // A bounded walk over the evaluations 0, STEP_MS, .. up to `t`: nothing in
                // it can keep the time from advancing.
                let mut active_since = None;
                for at in (0..=t).step_by(STEP_MS as usize) {
                    if holds(w, at) {
                        active_since.get_or_insert(at);
                    } else {
                        active_since = None;
                    }
                }
                active_since.is_some_and(|since| t - since >= w.for_.millis())
            })
            .collect()
    }
}

/// Requests per step such that one step, spread over the longest window (the period),
/// is ten times the `min_request_rate` guard: the guard then never decides a case.
fn per_step(r: &Resolved, slo: &Slo) -> f64 {
    let guard = r.app.alerts.min_request_rate * slo.period.millis() as f64 / 1000.0 * 10.0;
    MIN_PER_STEP.max((guard / 1000.0).ceil() * 1000.0)
}

/// The input series of one objective for `profile`, plus good traffic for the guard.
fn input_series(r: &Resolved, slo: &Slo, o: &Objective, profile: &Profile) -> Vec<Value> {
    let per_step = per_step(r, slo);
    let labels = format!(
        "namespace=\"{}\",job=\"{}\",instance=\"10.0.0.1:3000\",method=\"GET\",path=\"/\"",
        r.app.namespace, r.job
    );
    let c = &r.contract;
    let status = c.labels().status.as_str();
    let requests = c.requests().desc().name();
    let duration = c.duration().desc().name();
    // Cumulative counters in promtool's notation, one value per sample.
    let counter = |per_step: &dyn Fn(f64) -> f64| {
        let mut total = 0.0;
        let mut values = vec!["0".to_owned()];
        for bad in &profile.0 {
            total += per_step(*bad);
            values.push(format!("{total}"));
        }
        values.join(" ")
    };
    let series = |name: String, values: String| json!({ "series": name, "values": values });
    match &o.threshold {
        None => vec![
            series(
                format!("{requests}{{{labels},{status}=\"200\"}}"),
                counter(&|bad| per_step * (1.0 - bad)),
            ),
            series(
                format!("{requests}{{{labels},{status}=\"500\"}}"),
                counter(&|bad| per_step * bad),
            ),
        ],
        Some((_, le)) => vec![
            series(
                format!("{requests}{{{labels},{status}=\"200\"}}"),
                counter(&|_| per_step),
            ),
            series(
                format!("{duration}_bucket{{{labels},le=\"{le}\"}}"),
                counter(&|bad| per_step * (1.0 - bad)),
            ),
            series(
                format!("{duration}_bucket{{{labels},le=\"+Inf\"}}"),
                counter(&|_| per_step),
            ),
            series(
                format!("{duration}_count{{{labels}}}"),
                counter(&|_| per_step),
            ),
        ],
    }
}

/// The alerts expected at `t`, with their labels and annotations as the values print.
fn expected_alerts(r: &Resolved, slo: &Slo, o: &Objective, profile: &Profile, t: u64) -> Value {
    let alerts: Vec<Value> = profile
        .firing(slo, o, t)
        .into_iter()
        .map(|w| {
            let mut annotations = json!({
                "summary": burn_summary(&r.job, &r.app.namespace, o),
                "description": burn_description(&r.title, o, w),
            });
            if let Some(base) = &r.app.alerts.runbook_base {
                annotations["runbook_url"] =
                    json!(format!("{base}#{}", ERROR_BUDGET_BURN.to_ascii_lowercase()));
            }
            json!({
                "exp_labels": {
                    "namespace": r.app.namespace,
                    "job": r.job,
                    "severity": w.severity.as_str(),
                    "slo": o.kind.as_str(),
                    "long_window": w.long.to_string(),
                    "short_window": w.short.to_string(),
                },
                "exp_annotations": annotations,
            })
        })
        .collect();
    json!(alerts)
}

/// A check that recorded `series` of objective `o` is `value` at `t`, within rounding.
fn value_test(r: &Resolved, o: &Objective, series: &str, value: f64, t: u64) -> Value {
    json!({
        "expr": format!(
            "abs({series}{{namespace=\"{}\",job=\"{}\",slo=\"{}\"}} - ({value})) < bool 1e-9",
            r.app.namespace, r.job, o.kind.as_str()
        ),
        "eval_time": minutes(t),
        "exp_samples": [{
            "labels": format!(
                "{{namespace=\"{}\",job=\"{}\",slo=\"{}\"}}",
                r.app.namespace, r.job, o.kind.as_str()
            ),
            "value": 1,
        }],
    })
}

fn minutes(t: u64) -> String {
    format!("{}m", t / STEP_MS)
}

/// One test: `profile` of objective `o`, alerts checked at each of `at`, the burn rate of
/// every recorded pair window and the budget left checked at the last of them.
fn case(
    r: &Resolved,
    slo: &Slo,
    o: &Objective,
    name: String,
    profile: &Profile,
    at: &[u64],
) -> Value {
    let names = Names::new(r);
    let alert_tests: Vec<Value> = at
        .iter()
        .map(|t| {
            json!({
                "eval_time": minutes(*t),
                "alertname": ERROR_BUDGET_BURN,
                "exp_alerts": expected_alerts(r, slo, o, profile, *t),
            })
        })
        .collect();
    let last = at.iter().copied().max().unwrap_or(0);
    let mut values = Vec::new();
    for w in &slo.windows {
        for window in [w.long, w.short] {
            if let Some(ratio) = profile.ratio(last, window.millis()) {
                values.push(value_test(
                    r,
                    o,
                    &names.burn_rate(window),
                    ratio / o.budget(),
                    last,
                ));
            }
        }
    }
    if let Some(ratio) = profile.ratio(last, slo.period.millis()) {
        values.push(value_test(
            r,
            o,
            &names.budget_remaining(),
            1.0 - ratio / o.budget(),
            last,
        ));
    }
    values.dedup();
    json!({
        "name": name,
        "interval": minutes(STEP_MS),
        "input_series": input_series(r, slo, o, profile),
        "alert_rule_test": alert_tests,
        "promql_expr_test": values,
    })
}

/// The steps of a case `ms` long. The configuration bounds every case by [`MAX_CASE_MS`];
/// a longer one is a bug, stopped here before it is replayed minute by minute.
fn steps_of(ms: u64) -> usize {
    assert!(
        ms <= MAX_CASE_MS,
        "a rule test case of {ms} ms: longer than any pair makes"
    );
    ms.div_ceil(STEP_MS) as usize
}

/// The tests of one objective.
fn objective_cases(r: &Resolved, slo: &Slo, o: &Objective) -> Vec<Value> {
    let kind = o.kind.as_str();
    let mut cases = Vec::new();
    for w in &slo.windows {
        // The condition holds from the second sample on, so `for` runs out one step later.
        let t = w.for_.millis() + (1 + MARGIN_STEPS) * STEP_MS;
        let n = steps_of(t);
        let threshold = w.factor * o.budget();
        for (how, ratio) in [
            ("fires just above", ABOVE),
            ("holds back just below", BELOW),
        ] {
            let profile = Profile(vec![ratio * threshold; n]);
            cases.push(case(
                r,
                slo,
                o,
                format!(
                    "{kind}: {} over {}/{} {how} {}x the budget ({} of requests)",
                    w.severity.as_str(),
                    w.long,
                    w.short,
                    w.factor,
                    ratio * threshold
                ),
                &profile,
                // One evaluation before `for` has run out, too: a shortened `for` fails.
                &[w.for_.millis(), t],
            ));
        }
    }
    // Every page at once: the fastest burn held until the slowest critical pair's `for` ran
    // out, so the pairs differ only by their window labels (which the inhibition matches).
    if let Some(fastest) = slo.windows.first() {
        let last_for = slo
            .windows
            .iter()
            .filter(|w| w.severity == fastest.severity)
            .map(|w| w.for_.millis())
            .max()
            .unwrap_or(0);
        let t = last_for + (1 + MARGIN_STEPS) * STEP_MS;
        let profile = Profile(vec![ABOVE * fastest.factor * o.budget(); steps_of(t)]);
        cases.push(case(
            r,
            slo,
            o,
            format!(
                "{kind}: a fast burn fires every {} pair, each with its windows",
                fastest.severity.as_str()
            ),
            &profile,
            &[t],
        ));
        // Recovery: the burn stops; once the short window holds only good requests the
        // alert resolves, while the long window still remembers the burn.
        let fired = fastest.for_.millis() + (1 + MARGIN_STEPS) * STEP_MS;
        let resolved = fired + fastest.short.millis() + MARGIN_STEPS * STEP_MS;
        let mut steps = vec![ABOVE * fastest.factor * o.budget(); steps_of(fired)];
        steps.resize(steps_of(resolved), 0.0);
        let profile = Profile(steps);
        cases.push(case(
            r,
            slo,
            o,
            format!(
                "{kind}: the {}/{} alert resolves once the burn has left the short window",
                fastest.long, fastest.short
            ),
            &profile,
            &[fired, resolved],
        ));
    }
    cases
}

/// The promtool test file of `r`, next to its `rules.yaml`; `None` without `[apps.slo]`.
pub(crate) fn rules_test(r: &Resolved) -> Option<Value> {
    let slo = r.slo.as_ref()?;
    let tests: Vec<Value> = slo
        .objectives
        .iter()
        .flat_map(|o| objective_cases(r, slo, o))
        .collect();
    Some(json!({
        "rule_files": ["rules.yaml"],
        "evaluation_interval": minutes(STEP_MS),
        "tests": tests,
    }))
}

/// The SLO kinds tested, for the file's header.
pub(crate) fn header(r: &Resolved) -> String {
    let kinds: Vec<&str> = r
        .slo
        .iter()
        .flat_map(|s| s.objectives.iter().map(|o| o.kind))
        .map(SloKind::as_str)
        .collect();
    format!(
        "# promtool unit tests of the {} SLO rules in rules.yaml. Run them as they are:\n#   promtool test rules deploy/{}/rules.test.yaml\n# Expected alerts and values follow from the objectives' arithmetic (ratios just above and\n# below factor x (1 - objective)), not from the rule text: edit a threshold and they fail.\n",
        kinds.join(" and "),
        r.app.name
    )
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::config::Config;

    /// One objective of 0.75 (a budget of exactly 1/4) and one window pair of 10m/5m at
    /// factor 2, `for` 1m: a burn of exactly 2 is an error ratio of exactly 0.5, and every
    /// figure below is exact in binary.
    const EXACT: &str = "[[apps]]\nname = \"a\"\nnamespace = \"a\"\nservice = \"a\"\nport = \"http\"\n\
        [apps.slo]\navailability_objective = 0.75\n\
        [[apps.slo.windows]]\nlong = \"10m\"\nshort = \"5m\"\nfactor = 2.0\nfor = \"1m\"\nseverity = \"critical\"\n";

    /// A burn rate exactly at the factor does not fire: the rule's `>` is strict, in both
    /// windows. Each profile holds one window at exactly 2 at 10m and 11m while the other is
    /// above it (worked out by hand: `(0.75 + 4 × 0.125 + 5 × 0.75) / 10 = 0.5`, and so on), so
    /// nothing may fire at 11m; promtool, running the generated rules over the same series,
    /// must agree with that expectation.
    #[test]
    fn a_burn_exactly_at_the_factor_does_not_fire_under_promtool() {
        let r = Config::parse(EXACT).unwrap().apps.remove(0);
        let slo = r.slo.as_ref().unwrap();
        let o = &slo.objectives[0];
        assert_eq!(o.budget(), 0.25);
        let t = 11 * STEP_MS;
        // The long window at exactly 0.5 (10m and 11m), the short one at 0.75.
        let long_at = Profile(
            [0.75, 0.125, 0.125, 0.125, 0.125]
                .into_iter()
                .chain([0.75; 6])
                .collect(),
        );
        // The short window at exactly 0.5 (10m and 11m), the long one at 0.625 and 0.6: the
        // alert that fired from 2m resolves at 10m.
        let short_at = Profile([0.75; 5].into_iter().chain([0.5; 6]).collect());
        assert_eq!(long_at.ratio(t, 10 * STEP_MS), Some(0.5));
        assert_eq!(short_at.ratio(t, 5 * STEP_MS), Some(0.5));
        let mut cases = Vec::new();
        for (name, profile) in [
            ("long at the factor", &long_at),
            ("short at the factor", &short_at),
        ] {
            assert!(profile.firing(slo, o, t).is_empty(), "{name}");
            assert!(profile.firing(slo, o, 10 * STEP_MS).is_empty(), "{name}");
            cases.push(case(&r, slo, o, name.to_owned(), profile, &[t]));
        }
        assert_eq!(
            short_at.firing(slo, o, 9 * STEP_MS).len(),
            1,
            "fires before"
        );
        cases.push(case(
            &r,
            slo,
            o,
            "fired before".to_owned(),
            &short_at,
            &[9 * STEP_MS],
        ));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("rules.yaml"),
            super::super::rules_yaml(&r).unwrap(),
        )
        .unwrap();
        let tests = json!({
            "rule_files": ["rules.yaml"],
            "evaluation_interval": minutes(STEP_MS),
            "tests": cases,
        });
        std::fs::write(
            dir.path().join("rules.test.yaml"),
            serde_saphyr::to_string(&tests).unwrap(),
        )
        .unwrap();
        crate::generate::peer_verdict(
            Command::new("promtool")
                .args(["test", "rules", "rules.test.yaml"])
                .current_dir(dir.path()),
            "promtool (Debian prometheus) is installed by scripts/test",
        );
    }

    fn exact() -> Resolved {
        Config::parse(EXACT).unwrap().apps.remove(0)
    }

    /// The value a [`value_test`] check compares its series with, read back from its expr.
    fn checked_value(test: &Value) -> f64 {
        let expr = test["expr"].as_str().unwrap();
        let start = expr.find(" - (").unwrap() + 4;
        let end = expr.find(")) < bool").unwrap();
        expr[start..end].parse().unwrap()
    }

    /// Each alert test of a case as (eval time, how many alerts are expected).
    fn evals(case: &Value) -> Vec<(String, usize)> {
        case["alert_rule_test"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let time = a["eval_time"].as_str().unwrap().to_owned();
                (time, a["exp_alerts"].as_array().unwrap().len())
            })
            .collect()
    }

    /// The ratio averages the steps inside `(t - window, t]`, only those the profile holds,
    /// and is `None` at the first sample.
    #[test]
    fn the_ratio_averages_the_steps_inside_the_window() {
        let p = Profile(vec![0.25, 0.5, 0.75, 1.0]);
        assert_eq!(p.ratio(0, 10 * STEP_MS), None);
        assert_eq!(p.ratio(STEP_MS, 10 * STEP_MS), Some(0.25));
        assert_eq!(p.ratio(3 * STEP_MS, 2 * STEP_MS), Some(0.625));
        assert_eq!(p.ratio(4 * STEP_MS, STEP_MS), Some(1.0));
        assert_eq!(p.ratio(4 * STEP_MS, 10 * STEP_MS), Some(0.625));
        assert_eq!(p.ratio(6 * STEP_MS, 3 * STEP_MS), Some(1.0));
    }

    /// 0.75 is a burn of 3 (budget 1/4) in both windows from the first step on: the
    /// condition holds from 1m, so the `for` of 1m runs out at 2m, not earlier.
    #[test]
    fn an_alert_fires_once_the_condition_has_held_for_its_for() {
        let r = exact();
        let slo = r.slo.as_ref().unwrap();
        let o = &slo.objectives[0];
        let burning = Profile(vec![0.75; 6]);
        assert!(burning.firing(slo, o, 0).is_empty());
        assert!(burning.firing(slo, o, STEP_MS).is_empty());
        let fired = burning.firing(slo, o, 2 * STEP_MS);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].long.to_string(), "10m");
        assert_eq!(fired[0].short.to_string(), "5m");
        assert_eq!(burning.firing(slo, o, 5 * STEP_MS).len(), 1);
        // 0.25 is a burn of 1, under the factor 2.
        assert!(
            Profile(vec![0.25; 6])
                .firing(slo, o, 5 * STEP_MS)
                .is_empty()
        );
    }

    /// Both windows must burn: at 7m the long window is at 3.75/7 (a burn of about 2.14)
    /// but the short one at 2.25/5 (1.8); at 12m the short one is at 4/5 (3.2) but the long
    /// one at 4/10 (1.6). Either alone, held over the `for`, would fire.
    #[test]
    fn one_window_above_the_factor_does_not_fire() {
        let r = exact();
        let slo = r.slo.as_ref().unwrap();
        let o = &slo.objectives[0];
        let long_only = Profile([0.75; 5].into_iter().chain([0.0; 2]).collect());
        assert_eq!(long_only.firing(slo, o, 6 * STEP_MS).len(), 1);
        assert!(long_only.firing(slo, o, 7 * STEP_MS).is_empty());
        let short_only = Profile([0.0; 8].into_iter().chain([1.0; 4]).collect());
        assert!(short_only.firing(slo, o, 12 * STEP_MS).is_empty());
    }

    /// Ten times the guard in one step: 0.1 requests/s (the default) over 28 days is
    /// 241,920 requests; ten times that, rounded up to a thousand, is 2,420,000. With no
    /// guard, the floor of 6000.
    #[test]
    fn per_step_puts_ten_times_the_guard_in_one_step() {
        let r = exact();
        assert_eq!(per_step(&r, r.slo.as_ref().unwrap()), 2_420_000.0);
        let r = Config::parse(&format!("{EXACT}[apps.alerts]\nmin_request_rate = 0.0\n"))
            .unwrap()
            .apps
            .remove(0);
        assert_eq!(per_step(&r, r.slo.as_ref().unwrap()), 6000.0);
    }

    /// The counters add up each step's good and bad requests from 0: 2,420,000 a step, a
    /// quarter then half of them bad. The metrics carry the app's name as their prefix.
    #[test]
    fn the_input_counters_accumulate_each_steps_requests() {
        let r = exact();
        let slo = r.slo.as_ref().unwrap();
        let labels =
            "namespace=\"a\",job=\"a\",instance=\"10.0.0.1:3000\",method=\"GET\",path=\"/\"";
        assert_eq!(
            input_series(&r, slo, &slo.objectives[0], &Profile(vec![0.25, 0.5])),
            vec![
                json!({
                    "series": format!("a_http_requests_total{{{labels},status=\"200\"}}"),
                    "values": "0 1815000 3025000",
                }),
                json!({
                    "series": format!("a_http_requests_total{{{labels},status=\"500\"}}"),
                    "values": "0 605000 1815000",
                }),
            ]
        );
    }

    #[test]
    fn expected_alerts_carry_the_pairs_labels() {
        let r = exact();
        let slo = r.slo.as_ref().unwrap();
        let o = &slo.objectives[0];
        let alerts = expected_alerts(&r, slo, o, &Profile(vec![0.75; 3]), 2 * STEP_MS);
        assert_eq!(alerts.as_array().unwrap().len(), 1);
        assert_eq!(
            alerts[0]["exp_labels"],
            json!({
                "namespace": "a",
                "job": "a",
                "severity": "critical",
                "slo": "availability",
                "long_window": "10m",
                "short_window": "5m",
            })
        );
        assert!(alerts[0]["exp_annotations"]["summary"].is_string());
        assert_eq!(
            expected_alerts(&r, slo, o, &Profile(vec![0.75; 3]), STEP_MS),
            json!([])
        );
    }

    #[test]
    fn a_value_test_compares_the_series_with_the_value() {
        let r = exact();
        let o = &r.slo.as_ref().unwrap().objectives[0];
        assert_eq!(
            value_test(&r, o, "x:y", 0.5, 3 * STEP_MS),
            json!({
                "expr": "abs(x:y{namespace=\"a\",job=\"a\",slo=\"availability\"} - (0.5)) < bool 1e-9",
                "eval_time": "3m",
                "exp_samples": [{
                    "labels": "{namespace=\"a\",job=\"a\",slo=\"availability\"}",
                    "value": 1,
                }],
            })
        );
    }

    #[test]
    fn minutes_and_steps_round_as_promtool_reads_them() {
        assert_eq!(minutes(0), "0m");
        assert_eq!(minutes(3 * STEP_MS), "3m");
        assert_eq!(minutes(90_000), "1m");
        assert_eq!(steps_of(0), 0);
        assert_eq!(steps_of(1), 1);
        assert_eq!(steps_of(STEP_MS), 1);
        assert_eq!(steps_of(STEP_MS + 1), 2);
        assert_eq!(steps_of(3 * STEP_MS), 3);
    }

    /// A ratio of 1/16 against a budget of 1/4 is a burn of 1/4 in both windows and leaves
    /// 3/4 of the budget, checked at the last evaluation (3m).
    #[test]
    fn a_case_checks_the_burn_rates_and_the_budget_left_at_its_last_evaluation() {
        let r = exact();
        let slo = r.slo.as_ref().unwrap();
        let o = &slo.objectives[0];
        let c = case(
            &r,
            slo,
            o,
            "n".to_owned(),
            &Profile(vec![0.0625; 3]),
            &[STEP_MS, 3 * STEP_MS],
        );
        assert_eq!(c["name"], "n");
        assert_eq!(c["interval"], "1m");
        assert_eq!(evals(&c), [("1m".to_owned(), 0), ("3m".to_owned(), 0)]);
        assert_eq!(c["input_series"].as_array().unwrap().len(), 2);
        let values = c["promql_expr_test"].as_array().unwrap();
        let checked: Vec<f64> = values.iter().map(checked_value).collect();
        assert_eq!(checked, [0.25, 0.25, 0.75]);
        assert!(values.iter().all(|v| v["eval_time"] == "3m"));
    }

    /// For the one 10m/5m pair at factor 2 with `for` 1m: the threshold is 0.5, the checks
    /// fall at 1m and 1m + 3 steps = 4m; the recovery case resolves at 4m + 5m + 2m = 11m.
    #[test]
    fn the_objective_cases_check_just_above_just_below_all_pages_and_recovery() {
        let r = exact();
        let slo = r.slo.as_ref().unwrap();
        let cases = objective_cases(&r, slo, &slo.objectives[0]);
        assert_eq!(cases.len(), 4);
        let at = |list: &[(&str, usize)]| -> Vec<(String, usize)> {
            list.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect()
        };
        assert_eq!(
            cases[0]["name"],
            "availability: critical over 10m/5m fires just above 2x the budget (0.55 of requests)"
        );
        assert_eq!(evals(&cases[0]), at(&[("1m", 0), ("4m", 1)]));
        assert_eq!(
            cases[1]["name"],
            "availability: critical over 10m/5m holds back just below 2x the budget (0.45 of requests)"
        );
        assert_eq!(evals(&cases[1]), at(&[("1m", 0), ("4m", 0)]));
        assert_eq!(evals(&cases[2]), at(&[("4m", 1)]));
        assert_eq!(evals(&cases[3]), at(&[("4m", 1), ("11m", 0)]));
        // One sample per step plus the leading 0.
        let samples = |c: &Value| {
            c["input_series"][0]["values"]
                .as_str()
                .unwrap()
                .split(' ')
                .count()
        };
        assert_eq!(samples(&cases[0]), 5);
        assert_eq!(samples(&cases[2]), 5);
        assert_eq!(samples(&cases[3]), 12);
    }

    #[test]
    fn the_test_file_holds_every_objectives_cases() {
        let r = Config::parse(&EXACT.replace(
            "availability_objective = 0.75\n",
            "availability_objective = 0.75\nlatency_objective = 0.75\nlatency_threshold_seconds = 0.25\n",
        ))
        .unwrap()
        .apps
        .remove(0);
        let file = rules_test(&r).unwrap();
        assert_eq!(file["rule_files"], json!(["rules.yaml"]));
        assert_eq!(file["evaluation_interval"], "1m");
        assert_eq!(file["tests"].as_array().unwrap().len(), 8);
        assert!(header(&r).starts_with(
            "# promtool unit tests of the availability and latency SLO rules in rules.yaml. Run them as they are:\n#   promtool test rules deploy/a/rules.test.yaml\n"
        ));
        let plain = "[[apps]]\nname = \"a\"\nnamespace = \"a\"\nservice = \"a\"\nport = \"http\"\n";
        assert_eq!(
            rules_test(&Config::parse(plain).unwrap().apps.remove(0)),
            None
        );
    }

    /// The longest pair the configuration accepts (`for` and short window a week together):
    /// its recovery case is exactly the longest a case may be, and one millisecond more stops.
    #[test]
    fn the_longest_accepted_pair_builds_its_cases_and_no_longer_case_is_made() {
        let text = EXACT
            .replace("long = \"10m\"", "long = \"1h\"")
            .replace("for = \"1m\"", "for = \"10075m\"");
        let r = Config::parse(&text).unwrap().apps.remove(0);
        let file = rules_test(&r).unwrap();
        let tests = file["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 4);
        let recovery = &tests[3]["alert_rule_test"];
        let last = recovery.as_array().unwrap().last().unwrap();
        assert_eq!(last["eval_time"], "10085m", "7d + 5m: {last}");
        let week_and_five_minutes = 7 * 86_400_000 + 5 * 60_000;
        assert_eq!(steps_of(week_and_five_minutes), 10_085);
        assert!(std::panic::catch_unwind(|| steps_of(week_and_five_minutes + 1)).is_err());
    }
}
