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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;

    fn fetched(status: u16, content_type: &str, body: &str) -> Fetched {
        Fetched {
            status,
            content_type: content_type.to_owned(),
            body: body.to_owned().into(),
        }
    }

    /// JSON and HTML are told by their `Content-Type` alone or by the body's first
    /// character past whitespace alone; anything else may be a broken exposition.
    #[test]
    fn json_and_html_are_told_by_either_the_type_or_the_first_character() {
        let json = |ct: &str| format!("this is not a metrics endpoint: it answered JSON ({ct})");
        let html = |ct: &str| format!("this is not a metrics endpoint: it answered HTML ({ct})");
        let cases = [
            ("application/json", "a 1\n", Some(json("application/json"))),
            ("text/plain", " \n\t{\"a\": 1}", Some(json("text/plain"))),
            ("", "[1]", Some(json("no Content-Type"))),
            (
                "text/html; charset=utf-8",
                "a 1\n",
                Some(html("text/html; charset=utf-8")),
            ),
            ("", "\n<html>", Some(html("no Content-Type"))),
            ("text/plain", "a{ 1\n", None),
            ("text/plain", " a 1 <\n", None),
            ("", "", None),
        ];
        for (ct, body, want) in cases {
            assert_eq!(
                not_metrics(&fetched(200, ct, body)),
                want,
                "{ct:?} {body:?}"
            );
        }
    }

    /// A 200 with a text `Content-Type` passes; another type warns; 401, 403, 404 and the
    /// rest fail, each with its own message.
    #[test]
    fn the_status_and_type_of_the_answer_are_judged() {
        let expected = Expected::Prefix("shop".into());
        let judged = |status: u16, ct: &str| {
            let c = scrape_check(&fetched(status, ct, ""), &expected);
            let messages: Vec<String> = c.findings.iter().map(|f| f.message.clone()).collect();
            (c.status, c.summary, messages)
        };
        assert_eq!(
            judged(200, "text/plain; version=0.0.4"),
            (
                Status::Pass,
                "HTTP 200, text/plain; version=0.0.4".into(),
                vec![]
            )
        );
        assert_eq!(
            judged(200, "application/octet-stream"),
            (
                Status::Warn,
                "HTTP 200, application/octet-stream".into(),
                vec!["Content-Type is `application/octet-stream`".into()]
            )
        );
        assert_eq!(
            judged(403, ""),
            (
                Status::Fail,
                "HTTP 403, no Content-Type".into(),
                vec!["the endpoint refused the scrape (403)".into()]
            )
        );
        assert_eq!(
            judged(404, "text/plain").2,
            ["nothing is served at this path (404)"]
        );
        assert_eq!(judged(500, "text/plain").2, ["the endpoint answered 500"]);
    }
}
