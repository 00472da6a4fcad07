//! The protobuf part of `check endpoint`: scrape as Prometheus 2.42 with native histograms
//! does, decode the delimited `MetricFamily` messages and judge them (native histograms'
//! schema, zero bucket, spans and deltas against their count), then hold them against the
//! text scrape: every family that had series there must be here. Decoding is bounded by
//! what it builds (`DecodeBudget::DEFAULT`), not only by the body's size.

use std::collections::BTreeSet;

use redmetrics_parse::{Exposition, ProtobufErrorKind, is_native, parse_protobuf};

use super::fetch::Fetched;
use super::report::Check;

/// The media type of Prometheus' protobuf exposition.
const PROTOBUF: &str = "application/vnd.google.protobuf";

/// Judges the answer to Prometheus' native-histogram Accept header; `text` is the text
/// scrape taken just before.
pub(crate) fn protobuf_check(f: &Fetched, text: &Exposition) -> Check {
    let mut c = Check::new("protobuf exposition");
    if f.status != 200 {
        c.fail(
            format!("answered {} to the protobuf Accept header", f.status),
            "answer Prometheus' native-histogram Accept header with 200",
        );
        return c;
    }
    if !f.content_type.starts_with(PROTOBUF) {
        return c.summary(format!(
            "not offered (Content-Type `{}`); Prometheus with native histograms falls back to it, and sees no native histogram",
            f.content_type
        ));
    }
    let families = match parse_protobuf(&f.body) {
        Ok(families) => families,
        Err(e) if e.kind == ProtobufErrorKind::OverBudget => {
            c.fail(e.to_string(), super::endpoint::BUDGET_FIX);
            return c.summary("more than the checker decodes");
        }
        Err(e) => {
            c.fail(
                e.to_string(),
                "Prometheus with --enable-feature=native-histograms prefers protobuf and rejects the whole scrape on this error",
            );
            return c.summary("does not decode");
        }
    };
    let names: BTreeSet<&str> = families.iter().map(|f| f.name()).collect();
    for family in text.families.iter().filter(|f| !f.samples.is_empty()) {
        if !names.contains(family.name.as_str()) {
            c.fail(
                format!(
                    "family {} has series in the text scrape but none in protobuf",
                    family.name
                ),
                "write every family in every format: Prometheus stores what the format it negotiated carries",
            );
        }
    }
    let native: Vec<(&str, i32)> = families
        .iter()
        .flat_map(|f| f.metric.iter().map(move |m| (f.name(), m)))
        .filter_map(|(name, m)| {
            let h = m.histogram.as_ref()?;
            is_native(h).then(|| (name, h.schema.unwrap_or(0)))
        })
        .collect();
    let kinds: BTreeSet<&str> = native.iter().map(|(n, _)| *n).collect();
    let schemas: BTreeSet<i32> = native.iter().map(|(_, s)| *s).collect();
    c.summary(match (schemas.first(), schemas.last()) {
        (Some(lo), Some(hi)) => format!(
            "{} families; {} native histogram series in {} (schema {lo}..={hi}), spans and deltas add up to their counts",
            families.len(),
            native.len(),
            kinds.into_iter().collect::<Vec<_>>().join(", "),
        ),
        _ => format!("{} families, no native histogram", families.len()),
    })
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use redmetrics_parse::parse_text;
    use redmetrics_parse::proto::{
        BucketSpan, Counter, Histogram, Metric, MetricFamily, MetricType,
    };

    use super::*;
    use crate::check::report::Status;

    const TYPE: &str = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

    fn judged(status: u16, content_type: &str, body: Vec<u8>, text: &str) -> Check {
        let text = parse_text(text.as_bytes()).expect("parses");
        protobuf_check(
            &Fetched {
                status,
                content_type: content_type.to_owned(),
                body: body.into(),
            },
            &text,
        )
    }

    fn messages(c: &Check) -> Vec<String> {
        c.findings.iter().map(|f| f.message.clone()).collect()
    }

    fn counter(name: &str) -> Vec<u8> {
        MetricFamily {
            name: Some(name.into()),
            r#type: Some(MetricType::Counter as i32),
            metric: vec![Metric {
                counter: Some(Counter {
                    value: Some(1.0),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }
        .encode_length_delimited_to_vec()
    }

    /// `app_wait_seconds`, one native histogram of schema 3: two buckets of 3 and 4.
    fn native() -> Vec<u8> {
        MetricFamily {
            name: Some("app_wait_seconds".into()),
            r#type: Some(MetricType::Histogram as i32),
            metric: vec![Metric {
                histogram: Some(Histogram {
                    sample_count: Some(7),
                    sample_sum: Some(1.5),
                    schema: Some(3),
                    zero_threshold: Some(1e-6),
                    zero_count: Some(0),
                    positive_span: vec![BucketSpan {
                        offset: Some(0),
                        length: Some(2),
                    }],
                    positive_delta: vec![3, 1],
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }
        .encode_length_delimited_to_vec()
    }

    /// Every family with series in the text scrape must be in protobuf; one without
    /// series (only its TYPE) need not.
    #[test]
    fn a_family_with_series_in_text_must_be_in_protobuf() {
        let text = "# TYPE a_total counter\na_total 1\n# TYPE b_total counter\nb_total 1\n\
                    # TYPE c_total counter\n";
        let c = judged(200, TYPE, counter("a_total"), text);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            messages(&c),
            ["family b_total has series in the text scrape but none in protobuf"]
        );
        let mut both = counter("a_total");
        both.extend(counter("b_total"));
        let c = judged(200, TYPE, both, text);
        assert_eq!(c.status, Status::Pass, "{:?}", messages(&c));
        assert_eq!(c.summary, "2 families, no native histogram");
    }

    /// The summary names the native histograms and their schemas.
    #[test]
    fn native_histograms_are_named_with_their_schemas() {
        let mut body = counter("a_total");
        body.extend(native());
        let c = judged(200, TYPE, body, "# TYPE a_total counter\na_total 1\n");
        assert_eq!(c.status, Status::Pass, "{:?}", messages(&c));
        assert_eq!(
            c.summary,
            "2 families; 1 native histogram series in app_wait_seconds (schema 3..=3), spans and deltas add up to their counts"
        );
    }

    /// Another status fails; another type is a fallback; a body past the decoding budget
    /// gets the budget's fix and a malformed one the fix of a bad scrape.
    #[test]
    fn refusals_fallbacks_and_the_two_kinds_of_bad_body() {
        let c = judged(406, TYPE, Vec::new(), "");
        assert_eq!(c.status, Status::Fail);
        assert_eq!(messages(&c), ["answered 406 to the protobuf Accept header"]);
        let c = judged(200, "text/plain; version=0.0.4", Vec::new(), "");
        assert_eq!(c.status, Status::Pass);
        assert!(
            c.summary
                .starts_with("not offered (Content-Type `text/plain; version=0.0.4`)"),
            "{}",
            c.summary
        );

        // One family of 1 000 001 empty metrics (field 4, length 0): one past the budget's
        // million series.
        let mut family = vec![0x0a, 0x01, b'x'];
        for _ in 0..1_000_001 {
            family.extend([0x22, 0x00]);
        }
        let mut body = Vec::new();
        prost::encoding::encode_varint(family.len() as u64, &mut body);
        body.extend(family);
        let c = judged(200, TYPE, body, "");
        assert_eq!(
            (c.status, c.summary.as_str()),
            (Status::Fail, "more than the checker decodes")
        );
        let fix = c.findings[0].fix.as_deref().unwrap_or_default();
        assert!(
            fix.starts_with("an exposition this large is a cardinality problem"),
            "{fix}"
        );

        let c = judged(200, TYPE, vec![0x05, 0x0a], "");
        assert_eq!(
            (c.status, c.summary.as_str()),
            (Status::Fail, "does not decode")
        );
        let fix = c.findings[0].fix.as_deref().unwrap_or_default();
        assert!(
            fix.ends_with("rejects the whole scrape on this error"),
            "{fix}"
        );
    }
}
