//! Exemplars: ` # {labels} value [timestamp]` after a sample, whose label names and values
//! together hold at most 128 characters, and only on a counter's `_total` or a histogram's
//! (or gauge histogram's) `_bucket`, where Prometheus and the specification allow them.

use super::sample::{timestamp, value};
use crate::escape::Dialect;
use crate::lex::Cursor;
use crate::model::Exemplar;
use crate::suffix::Part;
use redmetrics_core::MetricType;

/// The most characters the label names and values of one exemplar may hold.
pub(super) const MAX_LABEL_CHARS: usize = 128;

/// Lexes the exemplar after its `#`.
pub(super) fn lex(c: &mut Cursor<'_>) -> Result<Exemplar, String> {
    if !(c.eat(b' ') && c.peek() == Some(b'{')) {
        return Err("expected ` {` after the `#` that starts an exemplar".into());
    }
    let labels = c.labels(Dialect::OpenMetrics, "exemplar", None)?;
    let chars: usize = labels
        .iter()
        .map(|(n, v)| n.chars().count() + v.chars().count())
        .sum();
    if chars > MAX_LABEL_CHARS {
        return Err(format!(
            "exemplar labels hold {chars} characters: at most {MAX_LABEL_CHARS} are allowed"
        ));
    }
    if !c.eat(b' ') {
        return Err("expected one space and a value after the exemplar's labels".into());
    }
    let value = value(c.word())?;
    let mut ts = None;
    if c.eat(b' ') {
        let t = c.word();
        timestamp(t)?;
        ts = Some(String::from_utf8_lossy(t).into_owned());
    }
    if !c.at_end() {
        return Err("unexpected text after the exemplar".into());
    }
    Ok(Exemplar {
        labels,
        value,
        timestamp: ts,
    })
}

/// Whether sample `name`, playing `part` in a family of `kind`, may carry an exemplar.
pub(super) fn check_placement(kind: MetricType, part: Part, name: &str) -> Result<(), String> {
    match part {
        Part::Total | Part::Bucket => Ok(()),
        _ => Err(format!(
            "an exemplar on {} sample `{name}`: only counters' `_total` and histogram \
             buckets may carry one",
            kind.as_str(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_str(s: &str) -> Result<Exemplar, String> {
        lex(&mut Cursor::new(s.as_bytes()))
    }

    #[test]
    fn counts_characters_not_bytes() {
        let at_limit = format!(" {{a=\"☃{}\"}} 1", "x".repeat(126));
        assert!(lex_str(&at_limit).is_ok());
        let over = format!(" {{a=\"☃{}\"}} 1", "x".repeat(127));
        assert!(lex_str(&over).unwrap_err().contains("129 characters"));
    }

    #[test]
    fn refuses_malformed_exemplars() {
        for bad in [
            "",
            " ",
            "{} 1",
            " {}1",
            " {} 1 ",
            " {} 1 1 ",
            " {} ",
            " {} 0x1p-3",
            " {} 1 NaN",
        ] {
            assert!(lex_str(bad).is_err(), "{bad:?}");
        }
        assert!(check_placement(MetricType::Gauge, Part::Value, "g").is_err());
        assert!(check_placement(MetricType::Counter, Part::Created, "c_created").is_err());
        assert!(check_placement(MetricType::Histogram, Part::Sum, "h_sum").is_err());
        assert!(check_placement(MetricType::GaugeHistogram, Part::Bucket, "h_bucket").is_ok());
    }
}
