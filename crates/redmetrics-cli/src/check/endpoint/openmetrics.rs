//! The OpenMetrics check: the scrape Prometheus 2.42 makes, parsed as strictly as the
//! specification.

use redmetrics_parse::{RefusedBy, parse_openmetrics};

use super::BUDGET_FIX;
use crate::check::fetch::Fetched;
use crate::check::report::Check;

pub(super) fn openmetrics_check(f: &Fetched) -> Check {
    let mut c = Check::new("OpenMetrics exposition");
    if f.status != 200 {
        c.fail(
            format!("answered {} to Prometheus' Accept header", f.status),
            "answer Prometheus' preferred Accept header with 200",
        );
        return c;
    }
    if !f.content_type.starts_with("application/openmetrics-text") {
        return c.summary(format!(
            "not offered (Content-Type `{}`); Prometheus falls back to text",
            f.content_type
        ));
    }
    match parse_openmetrics(&f.body) {
        Ok(e) => {
            let exemplars = e
                .families
                .iter()
                .flat_map(|f| &f.samples)
                .filter(|s| s.exemplar.is_some())
                .count();
            let mut summary = format!("{} families; parses, ends with # EOF", e.families.len());
            if exemplars > 0 {
                // The parser refuses them anywhere else, as Prometheus 2.42 does.
                summary.push_str(&format!(
                    "; {exemplars} exemplars, all on counter `_total` and histogram `_bucket` samples"
                ));
            }
            c.summary(summary)
        }
        Err(e) => {
            c.fail(
                format!("{e}"),
                match e.refused_by {
                    RefusedBy::Prometheus => {
                        "Prometheus 2.42 prefers OpenMetrics and rejects the whole scrape on this error"
                    }
                    RefusedBy::Budget => BUDGET_FIX,
                    RefusedBy::Specification => {
                        "Prometheus 2.42 scrapes it anyway (up stays 1) and stores the value as \
                         written, but the OpenMetrics specification forbids it and strict parsers \
                         (Python's prometheus_client) refuse the whole exposition: write a value \
                         that counts (never NaN, never negative)"
                    }
                },
            );
            c.summary("does not parse")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;

    fn judged(status: u16, content_type: &str, body: &str) -> (Status, String, Vec<String>) {
        let c = openmetrics_check(&Fetched {
            status,
            content_type: content_type.to_owned(),
            body: body.to_owned().into(),
        });
        let messages = c.findings.iter().map(|f| f.message.clone()).collect();
        (c.status, c.summary, messages)
    }

    const OM: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// The summary counts families and, when there are any, exemplars.
    #[test]
    fn the_summary_names_exemplars_only_when_there_are_some() {
        assert_eq!(
            judged(200, OM, "# TYPE a counter\na_total 1\n# EOF\n"),
            (
                Status::Pass,
                "1 families; parses, ends with # EOF".into(),
                vec![]
            )
        );
        assert_eq!(
            judged(200, OM, "# TYPE a counter\na_total 1 # {trace_id=\"x\"} 1\n# EOF\n"),
            (
                Status::Pass,
                "1 families; parses, ends with # EOF; 1 exemplars, all on counter `_total` and histogram `_bucket` samples"
                    .into(),
                vec![]
            )
        );
    }

    /// Another status fails; a 200 in another type is a fallback to text, not a failure;
    /// an exposition without `# EOF` fails.
    #[test]
    fn a_refusal_fails_and_another_type_is_a_fallback() {
        assert_eq!(
            judged(406, OM, ""),
            (
                Status::Fail,
                String::new(),
                vec!["answered 406 to Prometheus' Accept header".into()]
            )
        );
        assert_eq!(
            judged(200, "text/plain; version=0.0.4", "a 1\n"),
            (
                Status::Pass,
                "not offered (Content-Type `text/plain; version=0.0.4`); Prometheus falls back to text".into(),
                vec![]
            )
        );
        let (status, summary, _) = judged(200, OM, "# TYPE a counter\na_total 1\n");
        assert_eq!((status, summary.as_str()), (Status::Fail, "does not parse"));
    }
}
