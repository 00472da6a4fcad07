//! The series check of `check prometheus --config`: every vector selector of the app's
//! generated rules and dashboard queries must have series in this Prometheus, as pint's
//! `promql/series` asks. A query that reads nothing shows an empty panel or never alerts.

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::parser::token::T_LOR;
use promql_parser::parser::{Expr, VectorSelector};

use super::CheckError;
use super::limits::parse_promql;
use super::manifests::queries::{vector_selectors, without_variables};
use super::prometheus::query;
use super::report::{Check, Status};
use crate::config::Resolved;
use crate::generate::escape::promql_string;
use crate::generate::{dashboard, rules, slo_dashboard};

/// Distinct selectors asked about at most; the generated queries use a few dozen.
const MAX_SELECTORS: usize = 200;
/// How far back a selector's series may have been written and still count.
const LOOKBACK: &str = "1h";
/// Rules and panels named per absent selector.
const MAX_PLACES: usize = 6;

/// What Prometheus holds for one selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Series match the whole selector.
    Series,
    /// The family has series for the app's job, none with the selector's other label values
    /// (no 5xx yet, say).
    FamilyOnly,
    /// Nothing under that name for the app's job.
    Nothing,
}

/// The app's generated queries, derived as `generate` derives them: (where, PromQL); and the
/// names its recording rules write (the SLO series and the dashboards' aggregates).
fn generated_queries(r: &Resolved) -> (Vec<(String, String)>, BTreeSet<String>) {
    let mut out = Vec::new();
    let mut recorded = BTreeSet::new();
    let namespace = promql_string(&r.app.namespace);
    let job = promql_string(&r.job);
    let duration = r.contract.duration().desc().name();
    let classic = format!("{duration}_bucket");
    for g in rules(r).groups {
        for rule in g.rules {
            recorded.extend(rule.record.clone());
            // The aggregate of the classic buckets reads that form on purpose (the dashboards
            // join the native one with `or`): asked about as an `or` of both forms.
            let expr = match &rule.record {
                Some(name) if name.split(':').nth(1) == Some(classic.as_str()) => format!(
                    "({}) or {duration}{{namespace={namespace},job={job}}}",
                    rule.expr
                ),
                _ => rule.expr,
            };
            let at = match (rule.alert, rule.record) {
                (Some(alert), _) => format!("alert {alert}"),
                (None, record) => format!("recording rule {}", record.unwrap_or_default()),
            };
            out.push((format!("{at} (group {})", g.name), expr));
        }
    }
    let boards = [
        ("dashboard.json", Some(dashboard(r))),
        ("slo-dashboard.json", slo_dashboard(r)),
    ];
    for (file, board) in boards {
        for (title, expr) in board.iter().flat_map(|b| b.exprs()) {
            let expr = expr
                .replace("\"$namespace\"", &namespace)
                .replace("\"$job\"", &job);
            out.push((
                format!("{file} panel \"{title}\""),
                without_variables(&expr),
            ));
        }
    }
    (out, recorded)
}

/// The selector as asked about: without `offset` and `@`, which would not fit inside the
/// range selector of [`has_series`] and do not change which series exist.
fn plain(vs: &VectorSelector) -> String {
    let mut plain = vs.clone();
    plain.offset = None;
    plain.at = None;
    plain.to_string()
}

/// The selector's family in the app's scope: its name with only `namespace` and `job`.
fn family_of(vs: &VectorSelector) -> String {
    let mut family = vs.clone();
    family
        .matchers
        .matchers
        .retain(|m| matches!(m.name.as_str(), "__name__" | "namespace" | "job"));
    family.matchers.or_matchers.clear();
    plain(&family)
}

/// Whether any series matched `selector` in the last [`LOOKBACK`].
async fn has_series(base: &str, selector: &str) -> Result<bool, CheckError> {
    let answer = query(
        base,
        &format!("count(last_over_time({selector}[{LOOKBACK}]))"),
    )
    .await?;
    Ok(!answer.is_empty())
}

/// The selectors of `expr` to report: both sides of an `or` only when neither side has all
/// its series (the classic and the native form of a histogram are alternatives).
fn absent<'a>(expr: &'a Expr, held: &BTreeMap<String, Held>, out: &mut Vec<&'a VectorSelector>) {
    match expr {
        Expr::Binary(b) if b.op.id() == T_LOR => {
            let (mut left, mut right) = (Vec::new(), Vec::new());
            absent(&b.lhs, held, &mut left);
            absent(&b.rhs, held, &mut right);
            if !left.is_empty() && !right.is_empty() {
                out.extend(left);
                out.extend(right);
            }
        }
        Expr::Binary(b) => {
            absent(&b.lhs, held, out);
            absent(&b.rhs, held, out);
        }
        Expr::Aggregate(a) => {
            absent(&a.expr, held, out);
            if let Some(p) = &a.param {
                absent(p, held, out);
            }
        }
        Expr::Unary(u) => absent(&u.expr, held, out),
        Expr::Paren(p) => absent(&p.expr, held, out),
        Expr::Subquery(s) => absent(&s.expr, held, out),
        Expr::Call(call) => {
            for a in &call.args.args {
                absent(a, held, out);
            }
        }
        Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {
            let mut one = Vec::new();
            vector_selectors(expr, &mut one);
            out.extend(one.into_iter().filter(|vs| {
                matches!(held.get(&plain(vs)), Some(Held::FamilyOnly | Held::Nothing))
            }));
        }
        _ => {}
    }
}

/// The distinct selectors of `parsed` by their plain text, in order of first appearance: the
/// first [`MAX_SELECTORS`], and how many distinct ones there were beyond them.
fn selectors_to_ask(parsed: &[(String, Expr)]) -> (Vec<(String, &VectorSelector)>, usize) {
    let mut seen = BTreeSet::new();
    let mut ask = Vec::new();
    let mut skipped = 0usize;
    for (_, e) in parsed {
        let mut selectors = Vec::new();
        vector_selectors(e, &mut selectors);
        for vs in selectors {
            let key = plain(vs);
            if !seen.insert(key.clone()) {
                continue;
            }
            if ask.len() >= MAX_SELECTORS {
                skipped += 1;
            } else {
                ask.push((key, vs));
            }
        }
    }
    (ask, skipped)
}

/// Asks `base` about every selector of `r`'s generated rules and dashboards.
pub(super) async fn series_check(base: &str, r: &Resolved) -> Result<Check, CheckError> {
    let mut c = Check::new("series");
    let mut parsed = Vec::new();
    let (queries, recorded_names) = generated_queries(r);
    for (at, expr) in queries {
        match parse_promql(&expr) {
            Ok(e) => parsed.push((at, e)),
            Err(e) => c.fail(
                format!("{at}: not PromQL ({e})"),
                "report this redmetrics bug",
            ),
        }
    }
    let (ask, skipped) = selectors_to_ask(&parsed);
    let mut held: BTreeMap<String, Held> = BTreeMap::new();
    let mut families: BTreeMap<String, bool> = BTreeMap::new();
    for (key, vs) in ask {
        let state = if has_series(base, &key).await? {
            Held::Series
        } else {
            let family = family_of(vs);
            let present = match families.get(&family) {
                Some(p) => *p,
                None => {
                    let p = has_series(base, &family).await?;
                    families.insert(family, p);
                    p
                }
            };
            if present {
                Held::FamilyOnly
            } else {
                Held::Nothing
            }
        };
        held.insert(key, state);
    }
    Ok(report(c, &parsed, &held, &recorded_names, skipped))
}

/// The findings of the answers in `held` for the `parsed` queries: each absent selector once
/// with the rules and panels that read it, a warning for the `skipped` selectors, the summary.
/// Apart from the asking, so that what is reported for which answers is tested by hand.
fn report(
    mut c: Check,
    parsed: &[(String, Expr)],
    held: &BTreeMap<String, Held>,
    recorded_names: &BTreeSet<String>,
    skipped: usize,
) -> Check {
    if held.is_empty() {
        c.fail(
            "the generated rules and dashboards hold no selector to ask about",
            "nothing was checked: report this redmetrics bug with your redmetrics.toml",
        );
        return c.summary("nothing to check");
    }
    if skipped > 0 {
        c.warn(
            format!("{skipped} selectors beyond the first {MAX_SELECTORS} were not asked about"),
            "the checker's budget: check the rest by hand",
        );
    }
    // Each absent selector once, naming the rules and panels that read it.
    let mut readers: BTreeMap<String, (bool, Vec<&str>)> = BTreeMap::new();
    for (at, e) in parsed {
        let mut missing = Vec::new();
        absent(e, held, &mut missing);
        for vs in missing {
            let recorded = vs
                .name
                .as_deref()
                .is_some_and(|n| recorded_names.contains(n));
            let entry = readers.entry(plain(vs)).or_insert((recorded, Vec::new()));
            if !entry.1.contains(&at.as_str()) {
                entry.1.push(at);
            }
        }
    }
    let mut reported = 0usize;
    for (key, (recorded, places)) in &mut readers {
        // Alerts first, then panels, then the recording rules built on the selector.
        places.sort_by_key(|p| match p.split(' ').next() {
            Some("alert") => 0,
            Some("recording") => 2,
            _ => 1,
        });
        let (status, what, fix) = match held.get(key) {
            None | Some(Held::Series) => continue,
            Some(_) if *recorded => (
                Status::Warn,
                format!("the recording rule output {key} has no series yet"),
                "load the app's rules.yaml (PrometheusRule) and wait for its first evaluation; until then the dashboards read the raw series, and the SLO alerts see nothing",
            ),
            Some(Held::FamilyOnly) => (
                Status::Warn,
                format!(
                    "{key} has no series in the last {LOOKBACK}; its family does, with other label values"
                ),
                "normal until such traffic happens (no 5xx yet, say)",
            ),
            Some(Held::Nothing) => (
                Status::Fail,
                format!("{key} has no series in the last {LOOKBACK}"),
                "the query reads nothing: is the family dropped (metric_relabel_configs / metricRelabelings), renamed, or are the namespace and job labels not the config's?",
            ),
        };
        reported += 1;
        let shown = places
            .iter()
            .take(MAX_PLACES)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = places.len().saturating_sub(MAX_PLACES);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        c.find(
            status,
            format!("{what}: read by {shown}{more}"),
            Some(fix.to_owned()),
        );
    }
    let summary = match c.status {
        Status::Pass => format!(
            "the {} generated queries all read series ({} selectors asked; one storage form of a histogram is enough)",
            parsed.len(),
            held.len()
        ),
        Status::Warn => format!(
            "{} selectors of {} generated queries: {reported} without series yet",
            held.len(),
            parsed.len()
        ),
        Status::Fail => {
            "generated queries that read series this Prometheus does not have".to_owned()
        }
    };
    c.summary(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::prefix_app;

    fn expr(q: &str) -> Expr {
        parse_promql(q).unwrap()
    }

    fn selector(q: &str) -> VectorSelector {
        match expr(q) {
            Expr::VectorSelector(vs) => vs,
            other => panic!("not a selector: {other:?}"),
        }
    }

    /// The plain selectors `absent` reports for `q` under `held`.
    fn absent_in(q: &str, held: &[(&str, Held)]) -> Vec<String> {
        let held: BTreeMap<String, Held> =
            held.iter().map(|(k, h)| ((*k).to_owned(), *h)).collect();
        let e = expr(q);
        let mut out = Vec::new();
        absent(&e, &held, &mut out);
        out.into_iter().map(plain).collect()
    }

    #[test]
    fn a_selector_is_asked_about_without_offset_and_at() {
        assert_eq!(
            plain(&selector(r#"up{job="a"} offset 5m"#)),
            r#"up{job="a"}"#
        );
        assert_eq!(plain(&selector("up @ 100")), "up");
        assert_eq!(
            family_of(&selector(
                r#"x_total{namespace="n",code=~"5..",job="j"} offset 1m"#
            )),
            // promql_parser prints matchers sorted by label name.
            r#"x_total{job="j",namespace="n"}"#
        );
    }

    #[test]
    fn absent_walks_every_kind_of_expression() {
        use Held::{FamilyOnly, Nothing, Series};
        let held = [("a", Nothing), ("b", FamilyOnly), ("c", Series)];
        assert_eq!(absent_in("a", &held), ["a"]);
        assert_eq!(absent_in("c", &held), Vec::<String>::new());
        assert_eq!(absent_in("unknown", &held), Vec::<String>::new());
        assert_eq!(absent_in("rate(b[5m])", &held), ["b"]);
        assert_eq!(absent_in("sum by (x) (a)", &held), ["a"]);
        assert_eq!(absent_in("-a", &held), ["a"]);
        assert_eq!(absent_in("(b)", &held), ["b"]);
        assert_eq!(absent_in("max_over_time(a[5m:1m])", &held), ["a"]);
        assert_eq!(absent_in("a + c", &held), ["a"]);
        assert_eq!(absent_in("a / b", &held), ["a", "b"]);
        assert_eq!(absent_in("a and b", &held), ["a", "b"]);
    }

    #[test]
    fn an_or_is_absent_only_when_both_sides_are() {
        use Held::{Nothing, Series};
        let held = [("a", Nothing), ("b", Nothing), ("c", Series)];
        assert_eq!(absent_in("a or b", &held), ["a", "b"]);
        assert_eq!(absent_in("a or c", &held), Vec::<String>::new());
        assert_eq!(absent_in("c or a", &held), Vec::<String>::new());
        assert_eq!(absent_in("sum(a) or (b + c)", &held), ["a", "b"]);
    }

    #[test]
    fn the_generated_queries_are_the_rules_and_both_dashboards() {
        let r = prefix_app("shop", "/metrics").unwrap();
        let (queries, recorded) = generated_queries(&r);
        assert!(recorded.contains("namespace_job:shop_http_requests:rate5m"));
        assert!(recorded.contains("namespace_job_slo:shop_error_budget:remaining"));
        assert!(!recorded.contains(""));
        // Only the classic buckets' aggregate is asked about with the native form beside it.
        let native =
            r#" or shop_http_request_duration_seconds{namespace="shop",job="shop-server"}"#;
        let with_native: Vec<&str> = queries
            .iter()
            .filter(|(_, q)| q.ends_with(native))
            .map(|(at, _)| at.as_str())
            .collect();
        assert_eq!(with_native.len(), 1, "{with_native:?}");
        let name = with_native[0]
            .strip_prefix("recording rule ")
            .and_then(|n| n.split(' ').next())
            .unwrap_or_default();
        assert_eq!(
            name.split(':').nth(1),
            Some("shop_http_request_duration_seconds_bucket")
        );
        let kinds = |prefix: &str| {
            queries
                .iter()
                .filter(|(at, _)| at.starts_with(prefix))
                .count()
        };
        assert!(kinds("alert ") > 0);
        assert!(kinds("recording rule ") > 0);
        assert!(kinds("dashboard.json panel \"") > 0);
        assert!(kinds("slo-dashboard.json panel \"") > 0);
        for (at, q) in &queries {
            assert!(!q.contains('$'), "{at}: {q}");
            assert!(parse_promql(q).is_ok(), "{at}: {q}");
        }
        assert!(
            queries
                .iter()
                .any(|(at, q)| at.starts_with("dashboard.json")
                    && q.contains(r#"namespace="shop""#)
                    && q.contains(r#"job="shop-server""#))
        );
    }

    fn parsed(queries: &[(&str, &str)]) -> Vec<(String, Expr)> {
        queries
            .iter()
            .map(|(at, q)| ((*at).to_owned(), expr(q)))
            .collect()
    }

    fn held(entries: &[(&str, Held)]) -> BTreeMap<String, Held> {
        entries.iter().map(|(k, h)| ((*k).to_owned(), *h)).collect()
    }

    fn messages(c: &Check) -> Vec<&str> {
        c.findings.iter().map(|f| f.message.as_str()).collect()
    }

    #[test]
    fn an_absent_selector_is_reported_once_with_its_readers_alerts_first() {
        let p = parsed(&[
            ("recording rule r (group g)", r#"sum(x_total{code="5xx"})"#),
            (
                "dashboard.json panel \"P\"",
                r#"x_total{code="5xx"} + x_total{code="5xx"}"#,
            ),
            ("alert A (group g)", r#"x_total{code="5xx"} / y"#),
        ]);
        let h = held(&[
            (r#"x_total{code="5xx"}"#, Held::FamilyOnly),
            ("y", Held::Series),
        ]);
        let c = report(Check::new("series"), &p, &h, &BTreeSet::new(), 0);
        assert_eq!(c.status, Status::Warn);
        assert_eq!(
            messages(&c),
            [concat!(
                r#"x_total{code="5xx"} has no series in the last 1h; its family does, with other label values: "#,
                r#"read by alert A (group g), dashboard.json panel "P", recording rule r (group g)"#
            )]
        );
        assert_eq!(
            c.summary,
            "2 selectors of 3 generated queries: 1 without series yet"
        );
    }

    #[test]
    fn nothing_fails_and_a_recorded_name_only_warns() {
        let p = parsed(&[
            ("alert A (group g)", "gone_total or ns:x:rate5m"),
            ("panel", "x"),
        ]);
        let h = held(&[
            ("gone_total", Held::Nothing),
            ("ns:x:rate5m", Held::Nothing),
            ("x", Held::FamilyOnly),
        ]);
        let recorded = BTreeSet::from(["ns:x:rate5m".to_owned()]);
        let c = report(Check::new("series"), &p, &h, &recorded, 0);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            messages(&c),
            [
                "gone_total has no series in the last 1h: read by alert A (group g)",
                "the recording rule output ns:x:rate5m has no series yet: read by alert A (group g)",
                "x has no series in the last 1h; its family does, with other label values: read by panel",
            ]
        );
        assert_eq!(
            c.summary,
            "generated queries that read series this Prometheus does not have"
        );
    }

    #[test]
    fn readers_past_six_are_counted() {
        let six: Vec<String> = (1..=6).map(|i| format!("panel {i}")).collect();
        let seven: Vec<String> = (1..=7).map(|i| format!("panel {i}")).collect();
        let h = held(&[("x", Held::FamilyOnly)]);
        let run = |places: &[String]| {
            let p: Vec<(String, Expr)> = places.iter().map(|at| (at.clone(), expr("x"))).collect();
            let c = report(Check::new("series"), &p, &h, &BTreeSet::new(), 0);
            c.findings[0].message.clone()
        };
        let head = "x has no series in the last 1h; its family does, with other label values: read by panel 1, panel 2, panel 3, panel 4, panel 5, panel 6";
        assert_eq!(run(&six), head);
        assert_eq!(run(&seven), format!("{head} and 1 more"));
    }

    #[test]
    fn all_series_pass_and_skipped_selectors_warn() {
        let p = parsed(&[("alert A (group g)", "a / b"), ("panel", "a")]);
        let h = held(&[("a", Held::Series), ("b", Held::Series)]);
        let c = report(Check::new("series"), &p, &h, &BTreeSet::new(), 0);
        assert_eq!(c.status, Status::Pass);
        assert!(c.findings.is_empty());
        assert_eq!(
            c.summary,
            "the 2 generated queries all read series (2 selectors asked; one storage form of a histogram is enough)"
        );
        let c = report(Check::new("series"), &p, &h, &BTreeSet::new(), 3);
        assert_eq!(c.status, Status::Warn);
        assert_eq!(
            messages(&c),
            ["3 selectors beyond the first 200 were not asked about"]
        );
        assert_eq!(
            c.summary,
            "2 selectors of 2 generated queries: 0 without series yet"
        );
    }

    #[test]
    fn selectors_are_asked_once_and_at_most_two_hundred() {
        let queries: Vec<(String, String)> = (0..205)
            .map(|i| (format!("panel {i}"), format!("m{i} + m{i} + m0")))
            .collect();
        let p: Vec<(String, Expr)> = queries
            .iter()
            .map(|(at, q)| (at.clone(), expr(q)))
            .collect();
        let (ask, skipped) = selectors_to_ask(&p);
        let keys: Vec<&str> = ask.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys.len(), 200);
        assert_eq!(keys[..3], ["m0", "m1", "m2"]);
        assert_eq!(keys[199], "m199");
        assert_eq!(skipped, 5, "m200 to m204, each counted once");
        let (ask, skipped) = selectors_to_ask(&p[..200]);
        assert_eq!((ask.len(), skipped), (200, 0));
    }

    #[test]
    fn no_selector_at_all_fails() {
        let c = report(
            Check::new("series"),
            &parsed(&[("panel", "1")]),
            &BTreeMap::new(),
            &BTreeSet::new(),
            0,
        );
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.summary, "nothing to check");
    }
}
