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
