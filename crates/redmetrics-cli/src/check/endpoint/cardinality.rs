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

/// Why a `path` value looks like a raw request path rather than a route template. A
/// template's parameter segments (`{id}`, `:id`, `*`) are never all digits, a UUID or hex,
/// so they need no case of their own.
fn raw_path_reason(path: &str) -> Option<String> {
    for seg in path.split('/').filter(|s| !s.is_empty()) {
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
    use crate::check::report::Status;

    #[test]
    fn raw_paths_are_recognised() {
        assert_eq!(raw_path_reason("/v1/campaigns/{id}"), None);
        assert_eq!(raw_path_reason("__unmatched__"), None);
        assert!(raw_path_reason("/v1/campaigns/123").is_some());
        assert!(raw_path_reason("/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301").is_some());
        assert!(raw_path_reason("/blob/0123456789abcdef0123").is_some());
        assert_eq!(raw_path_reason("/v2/users/me"), None);
    }

    /// Each rule of a raw segment broken alone: 36 characters with four dashes but a
    /// non-hex digit, 32 hex digits and four dashes in 37 characters, three dashes; 15 hex
    /// digits, or 16 characters that are not all hex.
    #[test]
    fn each_rule_of_a_raw_segment_holds_alone() {
        let uuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
        assert_eq!(
            raw_path_reason(&format!("/u/{uuid}")).as_deref(),
            Some("UUID segment `3f2504e0-4f89-11d3-9a0c-0305e82c3301`")
        );
        for not_uuid in [
            "3f2504e0-4f89-11d3-9a0c-0305e82c330g",
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301x",
            "3f2504e0-4f89-11d3x9a0c-0305e82c3301",
        ] {
            assert_eq!(
                raw_path_reason(&format!("/u/{not_uuid}")),
                None,
                "{not_uuid}"
            );
        }
        assert_eq!(
            raw_path_reason("/blob/0123456789abcde"),
            None,
            "15 hex digits"
        );
        assert_eq!(
            raw_path_reason("/blob/0123456789abcdef").as_deref(),
            Some("hexadecimal segment `0123456789abcdef`")
        );
        assert_eq!(raw_path_reason("/v1/campaign-statistics"), None);
        assert_eq!(
            raw_path_reason("/v1/:id/{id}/*/7").as_deref(),
            Some("numeric segment `7`")
        );
    }

    fn check_of(text: &str) -> Check {
        let e = redmetrics_parse::parse_text(text.as_bytes()).expect("parses");
        cardinality_check(&e, None)
    }

    /// The labels judged: named like a path (any case), or whose values all start with `/`
    /// (never `le` or `quantile`); not `method`, nor a label with one value not a path.
    #[test]
    fn path_like_labels_are_named_so_or_hold_only_paths() {
        let c = check_of(
            "# TYPE a_total counter\n\
             a_total{method=\"GET\",Handler=\"home\",file=\"/etc/x\",mixed=\"/a\"} 1\n\
             a_total{method=\"PUT\",Handler=\"list\",file=\"/etc/y\",mixed=\"b\"} 1\n\
             # TYPE d histogram\n\
             d_bucket{le=\"1\"} 1\nd_bucket{le=\"+Inf\"} 1\nd_sum 1\nd_count 1\n",
        );
        assert_eq!(c.status, Status::Pass, "{c:?}");
        assert_eq!(
            c.summary,
            "5 series; largest: d 3, a_total 2; 2 distinct Handler values; 2 distinct file values"
        );
    }

    /// A path label fails on raw paths (five shown, the rest counted), warns above 100
    /// distinct routes and not at 100, and warns when a family folded label sets into
    /// `__overflow__`.
    #[test]
    fn paths_fail_when_raw_and_warn_when_too_many() {
        let family = |values: &mut dyn Iterator<Item = String>| {
            let mut t = String::from("# TYPE r_total counter\n");
            for v in values {
                t.push_str(&format!("r_total{{path=\"{v}\"}} 1\n"));
            }
            t
        };
        let at = check_of(&family(&mut (0..100).map(|i| format!("/r{i}/{{id}}"))));
        assert_eq!(at.status, Status::Pass, "{at:?}");
        let over = check_of(&family(&mut (0..101).map(|i| format!("/r{i}/{{id}}"))));
        assert_eq!(over.status, Status::Warn);
        assert_eq!(over.findings[0].message, "101 distinct path values");
        let raw = check_of(&family(&mut (0..7).map(|i| format!("/c/{i}"))));
        assert_eq!(raw.status, Status::Fail);
        assert_eq!(raw.findings.len(), 1);
        assert!(
            raw.findings[0]
                .message
                .starts_with("7 path values look like raw request paths: ")
                && raw.findings[0]
                    .message
                    .ends_with("path=\"/c/4\" (numeric segment `4`), and 2 more"),
            "{:?}",
            raw.findings
        );
        let folded = check_of(&family(
            &mut ["/a".into(), "__overflow__".into()].into_iter(),
        ));
        assert_eq!(folded.status, Status::Warn);
        assert!(
            folded.findings[0].message.contains("__overflow__"),
            "{folded:?}"
        );
    }
}
