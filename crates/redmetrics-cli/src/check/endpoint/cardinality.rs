//! The cardinality check: path-like labels holding raw request paths, and families with too
//! many series.

use std::collections::{BTreeMap, BTreeSet};

use redmetrics::contract::Contract;
use redmetrics_parse::Exposition;

use super::series;
use crate::check::report::Check;

/// Above this many distinct `path` values, a family is suspect even if no value looks raw.
const MANY_PATHS: usize = 100;

/// Label names that usually hold a route or a request path, across instrumentation
/// libraries (axum-prometheus `endpoint`, Django `view`/`handler`, OpenTelemetry `http.route`).
const PATH_LIKE_NAMES: &[&str] = &[
    "path",
    "endpoint",
    "route",
    "uri",
    "url",
    "handler",
    "http_route",
    "http_target",
    "http_url",
    "target",
    "request_path",
    "view",
];

/// Every label, over all families, that holds paths: named like one (or the contract's path
/// label), or whose values all start with `/`. Each with its distinct values.
fn path_like_labels<'e>(
    e: &'e Exposition,
    contract_path: Option<&str>,
) -> BTreeMap<&'e str, BTreeSet<&'e str>> {
    let mut found: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in e.families.iter().flat_map(|f| &f.samples) {
        for (name, value) in &s.labels {
            found
                .entry(name.as_str())
                .or_default()
                .insert(value.as_str());
        }
    }
    found.retain(|name, values| {
        Some(*name) == contract_path
            || PATH_LIKE_NAMES.contains(&name.to_ascii_lowercase().as_str())
            || (*name != "le" && *name != "quantile" && values.iter().all(|v| v.starts_with('/')))
    });
    found
}

/// Why a `path` value looks like a raw request path rather than a route template.
fn raw_path_reason(path: &str) -> Option<String> {
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if seg.starts_with('{') || seg.starts_with(':') || seg == "*" {
            continue;
        }
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!("numeric segment `{seg}`"));
        }
        let hex = seg.bytes().filter(|b| b.is_ascii_hexdigit()).count();
        if seg.len() == 36 && seg.bytes().filter(|&b| b == b'-').count() == 4 && hex == 32 {
            return Some(format!("UUID segment `{seg}`"));
        }
        if seg.len() >= 16 && hex == seg.len() {
            return Some(format!("hexadecimal segment `{seg}`"));
        }
    }
    None
}

pub(super) fn cardinality_check(e: &Exposition, contract: Option<&Contract>) -> Check {
    let mut c = Check::new("cardinality");
    let mut sizes: Vec<(usize, &str)> = e
        .families
        .iter()
        .map(|f| {
            let n: BTreeSet<String> = f
                .samples
                .iter()
                .map(|s| series(s, &["le", "quantile"]))
                .collect();
            (n.len(), f.name.as_str())
        })
        .collect();
    sizes.sort_by(|a, b| b.cmp(a));
    let total: usize = sizes.iter().map(|s| s.0).sum();
    let top: Vec<String> = sizes
        .iter()
        .take(3)
        .map(|(n, f)| format!("{f} {n}"))
        .collect();
    let mut summary = format!("{total} series; largest: {}", top.join(", "));
    let path_label = contract.map(|c| c.labels().path.as_str());
    let mut overflow = false;
    for (label, values) in path_like_labels(e, path_label) {
        overflow |= values.contains(redmetrics::metrics::OVERFLOW);
        let raw: BTreeMap<&str, String> = values
            .iter()
            .filter_map(|v| raw_path_reason(v).map(|why| (*v, why)))
            .collect();
        summary = format!("{summary}; {} distinct {label} values", values.len());
        if !raw.is_empty() {
            let shown: Vec<String> = raw
                .iter()
                .take(5)
                .map(|(p, why)| format!("{label}=\"{p}\" ({why})"))
                .collect();
            let more = raw.len().saturating_sub(5);
            c.fail(
                format!(
                    "{} {label} values look like raw request paths: {}{}",
                    raw.len(),
                    shown.join(", "),
                    if more > 0 { format!(", and {more} more") } else { String::new() }
                ),
                format!("label requests with the route template (axum MatchedPath: /v1/campaigns/{{id}}), never the raw path: every scanned URL becomes a new series (label `{label}`)"),
            );
        } else if values.len() > MANY_PATHS {
            c.warn(
                format!("{} distinct {label} values", values.len()),
                format!("a service rarely has that many routes: check that {label} is the route template"),
            );
        }
    }
    if overflow {
        c.warn(
            "a family reached its bound on label sets and folds new ones into __overflow__",
            "see redmetrics_cardinality_overflow_total; raise the bound only if the label sets are legitimate",
        );
    }
    c.summary(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_paths_are_recognised() {
        assert_eq!(raw_path_reason("/v1/campaigns/{id}"), None);
        assert_eq!(raw_path_reason("__unmatched__"), None);
        assert!(raw_path_reason("/v1/campaigns/123").is_some());
        assert!(raw_path_reason("/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301").is_some());
        assert!(raw_path_reason("/blob/0123456789abcdef0123").is_some());
        assert_eq!(raw_path_reason("/v2/users/me"), None);
    }
}
