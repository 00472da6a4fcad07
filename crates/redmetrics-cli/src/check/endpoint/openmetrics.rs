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
