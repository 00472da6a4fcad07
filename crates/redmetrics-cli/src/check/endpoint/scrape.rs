//! The scrape check: the answer's status and `Content-Type`, and what a body that is no
//! exposition is instead.

use crate::check::Expected;
use crate::check::fetch::Fetched;
use crate::check::report::Check;

/// Whether a body that does not parse is something else entirely (JSON, HTML).
pub(super) fn not_metrics(f: &Fetched) -> Option<String> {
    let first = f.body.iter().find(|b| !b.is_ascii_whitespace());
    let ct = f.content_type.as_str();
    if ct.contains("json") || first == Some(&b'{') || first == Some(&b'[') {
        Some(format!(
            "this is not a metrics endpoint: it answered JSON ({})",
            or_none(ct)
        ))
    } else if ct.contains("html") || first == Some(&b'<') {
        Some(format!(
            "this is not a metrics endpoint: it answered HTML ({})",
            or_none(ct)
        ))
    } else {
        None
    }
}

fn or_none(content_type: &str) -> &str {
    if content_type.is_empty() {
        "no Content-Type"
    } else {
        content_type
    }
}

pub(super) fn scrape_check(f: &Fetched, expected: &Expected) -> Check {
    let summary = match f.content_type.as_str() {
        "" => format!("HTTP {}, no Content-Type", f.status),
        ct => format!("HTTP {}, {ct}", f.status),
    };
    let mut c = Check::new("scrape").summary(summary);
    match f.status {
        200 => {
            if !f.content_type.starts_with("text/plain") {
                c.warn(
                    format!("Content-Type is `{}`", f.content_type),
                    "serve `text/plain; version=0.0.4; charset=utf-8` for text scrapes",
                );
            }
        }
        401 | 403 => c.fail(
            format!("the endpoint refused the scrape ({})", f.status),
            "give Prometheus the bearer token (ServiceMonitor `authorization`) or allow its network",
        ),
        404 => c.fail(
            "nothing is served at this path (404)",
            match expected.app() {
                Some(r) => format!(
                    "app {} serves its metrics at {}: scrape that path",
                    r.app.name, r.app.metrics_path
                ),
                None => "scrape the path the app serves its metrics at (the `metrics_path` it was built with; `/metrics` by default)".to_owned(),
            },
        ),
        s => c.fail(format!("the endpoint answered {s}"), "the metrics endpoint must answer 200"),
    }
    c
}
