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
    let mut held: BTreeMap<String, Held> = BTreeMap::new();
    let mut families: BTreeMap<String, bool> = BTreeMap::new();
    let mut skipped = 0usize;
    for (_, e) in &parsed {
        let mut selectors = Vec::new();
        vector_selectors(e, &mut selectors);
        for vs in selectors {
            let key = plain(vs);
            if held.contains_key(&key) {
                continue;
            }
            if held.len() >= MAX_SELECTORS {
                skipped += 1;
                continue;
            }
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
    }
    if held.is_empty() {
        c.fail(
            "the generated rules and dashboards hold no selector to ask about",
            "nothing was checked: report this redmetrics bug with your redmetrics.toml",
        );
        return Ok(c.summary("nothing to check"));
    }
    if skipped > 0 {
        c.warn(
            format!("{skipped} selectors beyond the first {MAX_SELECTORS} were not asked about"),
            "the checker's budget: check the rest by hand",
        );
    }
    // Each absent selector once, naming the rules and panels that read it.
    let mut readers: BTreeMap<String, (bool, Vec<&str>)> = BTreeMap::new();
    for (at, e) in &parsed {
        let mut missing = Vec::new();
        absent(e, &held, &mut missing);
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
    Ok(c.summary(summary))
}
