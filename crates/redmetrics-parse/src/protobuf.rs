//! Reading Prometheus' protobuf exposition (`application/vnd.google.protobuf;
//! proto=io.prometheus.client.MetricFamily; encoding=delimited`): varint-length-delimited
//! `MetricFamily` messages, decoded with the message types of [`redmetrics_core::proto`] (shared
//! with redmetrics' encoder rather than duplicated), then checked the way Prometheus reads them: a name and a
//! type, the value its type needs on every metric, cumulative classic buckets within the
//! count, and native histograms whose schema, zero bucket, spans and deltas add up.

use prost::Message;
use redmetrics_core::proto::{Histogram, Metric, MetricFamily, MetricType as ProtoType};

use crate::budget::{DecodeBudget, Field, METRIC_BYTES, Spending, Tally, fields, tally_metric};

/// The most messages one body may hold; a real exposition has dozens.
pub const MAX_FAMILIES: usize = 100_000;

/// Why a protobuf exposition was refused: which family (0-based message index, and its name
/// when it has one) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message {index}{}: {message}", name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default())]
pub struct ProtobufError {
    /// 0-based index of the `MetricFamily` message.
    pub index: usize,
    /// Its name, if it got that far.
    pub name: Option<String>,
    /// What is wrong.
    pub message: String,
    /// Whether the body is wrong, or too much for the decoding budget.
    pub kind: ProtobufErrorKind,
}

/// The two reasons a body is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtobufErrorKind {
    /// It does not decode, or breaks a rule Prometheus reads it by.
    Invalid,
    /// It would decode into more than the [`DecodeBudget`] allows; nothing past it was built.
    OverBudget,
}

/// Decodes and checks every `MetricFamily` of a delimited protobuf body, within
/// [`DecodeBudget::DEFAULT`].
///
/// ```
/// use prost::Message;
/// use redmetrics_parse::proto::{Counter, Metric, MetricFamily, MetricType};
/// use redmetrics_parse::parse_protobuf;
///
/// let f = MetricFamily {
///     name: Some("jobs_total".into()),
///     help: Some("Jobs.".into()),
///     r#type: Some(MetricType::Counter as i32),
///     metric: vec![Metric { counter: Some(Counter { value: Some(3.0), ..Default::default() }), ..Default::default() }],
/// };
/// let body = f.encode_length_delimited_to_vec();
/// assert_eq!(parse_protobuf(&body).unwrap()[0].name(), "jobs_total");
/// assert!(parse_protobuf(&body[..body.len() - 1]).is_err(), "cut short");
/// ```
pub fn parse_protobuf(body: &[u8]) -> Result<Vec<MetricFamily>, ProtobufError> {
    parse_protobuf_within(body, DecodeBudget::DEFAULT)
}

/// [`parse_protobuf`] within `budget`: each family is decoded on its own, and each `Metric`
/// is tallied on the wire and charged to the budget before `prost` builds it, so a body of
/// two-byte empty messages is refused at the limit instead of inflating a hundredfold.
///
/// ```
/// use prost::Message;
/// use redmetrics_parse::proto::{Gauge, Metric, MetricFamily, MetricType};
/// use redmetrics_parse::{DecodeBudget, ProtobufErrorKind, parse_protobuf_within};
///
/// let gauge = Metric { gauge: Some(Gauge { value: Some(1.0) }), ..Default::default() };
/// let f = MetricFamily {
///     name: Some("up".into()),
///     r#type: Some(MetricType::Gauge as i32),
///     metric: vec![gauge; 3],
///     ..Default::default()
/// };
/// let body = f.encode_length_delimited_to_vec();
/// let two = DecodeBudget { metrics: 2, ..DecodeBudget::DEFAULT };
/// let e = parse_protobuf_within(&body, two).unwrap_err();
/// assert_eq!(e.kind, ProtobufErrorKind::OverBudget);
/// assert!(e.message.contains("more than 2 metrics"), "{e}");
/// ```
pub fn parse_protobuf_within(
    mut body: &[u8],
    budget: DecodeBudget,
) -> Result<Vec<MetricFamily>, ProtobufError> {
    let mut spending = Spending::new(budget);
    let mut families = Vec::new();
    while !body.is_empty() {
        let index = families.len();
        let err = |name: Option<&str>, kind, message: String| ProtobufError {
            index,
            name: name.map(str::to_owned),
            message,
            kind,
        };
        let invalid = |message: String| err(None, ProtobufErrorKind::Invalid, message);
        if index == MAX_FAMILIES {
            return Err(invalid(format!("more than {MAX_FAMILIES} families")));
        }
        let framing = |e: String| format!("not a length-delimited MetricFamily: {e}");
        let len = prost::encoding::decode_varint(&mut body)
            .map_err(|e| invalid(framing(e.to_string())))?;
        let (message, rest) = usize::try_from(len)
            .ok()
            .and_then(|len| body.split_at_checked(len))
            .ok_or_else(|| invalid(framing("buffer underflow".into())))?;
        body = rest;
        let family = decode_family(message, &mut spending).map_err(|e| {
            let message = match e.kind {
                ProtobufErrorKind::Invalid => framing(e.message),
                ProtobufErrorKind::OverBudget => e.message,
            };
            err(e.name.as_deref(), e.kind, message)
        })?;
        check_family(&family)
            .map_err(|m| err(family.name.as_deref(), ProtobufErrorKind::Invalid, m))?;
        families.push(family);
    }
    Ok(families)
}

/// A refusal while decoding one family: what, the family's name if read, and why.
struct FamilyError {
    message: String,
    name: Option<String>,
    kind: ProtobufErrorKind,
}

impl From<String> for FamilyError {
    fn from(message: String) -> Self {
        Self {
            message,
            name: None,
            kind: ProtobufErrorKind::Invalid,
        }
    }
}

/// Decodes one `MetricFamily` message, charging `spending` for each `Metric` before
/// building it. Fields as `prost` reads them: the last `name`, `help` and `type` win.
fn decode_family(msg: &[u8], spending: &mut Spending) -> Result<MetricFamily, FamilyError> {
    let (mut count, mut strings) = (0usize, 0usize);
    fields(msg, |tag, field| -> Result<(), FamilyError> {
        match (tag, field) {
            (4, Field::Bytes(_)) => count += 1,
            (1 | 2, Field::Bytes(s)) => strings += s.len(),
            _ => {}
        }
        Ok(())
    })?;
    let mut family = MetricFamily::default();
    let over = |message: String, family: &MetricFamily| FamilyError {
        message,
        name: family.name.clone(),
        kind: ProtobufErrorKind::OverBudget,
    };
    let whole = Tally {
        metrics: count,
        bytes: count.saturating_mul(METRIC_BYTES).saturating_add(strings),
        ..Tally::default()
    };
    spending.spend(&whole).map_err(|e| over(e, &family))?;
    family.metric.reserve_exact(count);
    let string = |s: &[u8]| {
        String::from_utf8(s.to_vec()).map_err(|_| "a string field is not valid UTF-8".to_owned())
    };
    fields(msg, |tag, field| -> Result<(), FamilyError> {
        match (tag, field) {
            (1, Field::Bytes(s)) => family.name = Some(string(s)?),
            (2, Field::Bytes(s)) => family.help = Some(string(s)?),
            // prost reads an int32 enum from the low 32 bits of the varint.
            (3, Field::Varint(v)) => family.r#type = Some(v as i32),
            (4, Field::Bytes(m)) => {
                spending
                    .spend(&tally_metric(m)?)
                    .map_err(|e| over(e, &family))?;
                let metric = Metric::decode(m)
                    .map_err(|e| format!("metric {}: {e}", family.metric.len()))?;
                family.metric.push(metric);
            }
            (1..=4, _) => return Err(format!("field {tag} has the wrong wire type").into()),
            _ => {}
        }
        Ok(())
    })?;
    Ok(family)
}

fn check_family(f: &MetricFamily) -> Result<(), String> {
    let name = f.name.as_deref().unwrap_or_default();
    if name.is_empty() {
        return Err("the family has no name".into());
    }
    let valid = name.bytes().enumerate().all(|(i, b)| {
        b.is_ascii_alphabetic() || b == b'_' || b == b':' || (i > 0 && b.is_ascii_digit())
    });
    if !valid {
        return Err(format!("`{name}` is not a valid metric name"));
    }
    let kind = ProtoType::try_from(f.r#type.unwrap_or(0))
        .map_err(|_| format!("unknown metric type {}", f.r#type.unwrap_or(0)))?;
    if f.metric.is_empty() {
        return Err("the family has no metric".into());
    }
    for (i, m) in f.metric.iter().enumerate() {
        check_metric(kind, m).map_err(|e| format!("metric {i}: {e}"))?;
    }
    Ok(())
}

fn check_metric(kind: ProtoType, m: &Metric) -> Result<(), String> {
    for l in &m.label {
        let n = l.name.as_deref().unwrap_or_default();
        if n.is_empty()
            || n.starts_with(|c: char| c.is_ascii_digit())
            || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(format!("label name `{n}` is not valid"));
        }
    }
    let missing = |what: &str| format!("a {what} family's metric has no {what} value");
    match kind {
        ProtoType::Counter => {
            let v = m
                .counter
                .as_ref()
                .and_then(|c| c.value)
                .ok_or_else(|| missing("counter"))?;
            if v.is_nan() || v < 0.0 {
                return Err(format!("counter value {v} is negative or NaN"));
            }
        }
        ProtoType::Gauge => {
            m.gauge
                .as_ref()
                .and_then(|g| g.value)
                .ok_or_else(|| missing("gauge"))?;
        }
        ProtoType::Untyped => {
            m.untyped
                .as_ref()
                .and_then(|g| g.value)
                .ok_or_else(|| missing("untyped"))?;
        }
        ProtoType::Summary => {
            let s = m.summary.as_ref().ok_or_else(|| missing("summary"))?;
            let mut prev = f64::NEG_INFINITY;
            for q in &s.quantile {
                let q = q.quantile.unwrap_or(f64::NAN);
                if !(0.0..=1.0).contains(&q) || q <= prev {
                    return Err(format!("quantile {q} is outside 0..1 or out of order"));
                }
                prev = q;
            }
        }
        ProtoType::Histogram | ProtoType::GaugeHistogram => {
            let h = m.histogram.as_ref().ok_or_else(|| missing("histogram"))?;
            check_histogram(h)?;
        }
    }
    Ok(())
}

/// Whether Prometheus reads `h` as a native histogram (its rule in 2.42: any native bucket,
/// zero count or zero threshold, or the no-op span).
pub fn is_native(h: &Histogram) -> bool {
    !h.positive_span.is_empty()
        || !h.negative_span.is_empty()
        || h.zero_count.unwrap_or(0) > 0
        || h.zero_threshold.unwrap_or(0.0) > 0.0
}

fn check_histogram(h: &Histogram) -> Result<(), String> {
    let count = h.sample_count.unwrap_or(0);
    let mut prev = (f64::NEG_INFINITY, 0u64);
    for b in &h.bucket {
        let (le, c) = (
            b.upper_bound.unwrap_or(f64::NAN),
            b.cumulative_count.unwrap_or(0),
        );
        if le.is_nan() || le <= prev.0 {
            return Err(format!(
                "classic bucket bound {le} is NaN or not above {}",
                prev.0
            ));
        }
        if c < prev.1 {
            return Err(format!(
                "classic bucket le={le} counts {c}, fewer than the bucket below ({})",
                prev.1
            ));
        }
        if c > count {
            return Err(format!(
                "classic bucket le={le} counts {c}, more than sample_count {count}"
            ));
        }
        prev = (le, c);
    }
    if !is_native(h) {
        return Ok(());
    }
    let schema = h.schema.unwrap_or(0);
    if !(-4..=8).contains(&schema) {
        return Err(format!("native schema {schema} is outside -4..=8"));
    }
    let zt = h.zero_threshold.unwrap_or(0.0);
    if !(zt >= 0.0 && zt.is_finite()) {
        return Err(format!("zero threshold {zt} is negative or not finite"));
    }
    let negative = buckets("negative", &h.negative_span, &h.negative_delta)?;
    let positive = buckets("positive", &h.positive_span, &h.positive_delta)?;
    let total = h
        .zero_count
        .unwrap_or(0)
        .checked_add(negative)
        .and_then(|t| t.checked_add(positive))
        .ok_or("native bucket counts overflow")?;
    let sum_nan = h.sample_sum.is_some_and(f64::is_nan);
    // A NaN observation is counted but lands in no bucket.
    if total != count && !(sum_nan && total < count) {
        return Err(format!(
            "native buckets hold {total} observations (zero bucket {} + buckets) but sample_count is {count}",
            h.zero_count.unwrap_or(0)
        ));
    }
    Ok(())
}

/// Checks one side's spans against its deltas and returns the observations it holds.
fn buckets(
    side: &str,
    spans: &[redmetrics_core::proto::BucketSpan],
    deltas: &[i64],
) -> Result<u64, String> {
    let mut len = 0u64;
    for (i, s) in spans.iter().enumerate() {
        let l = s.length.unwrap_or(0);
        let noop = spans.len() == 1 && l == 0 && s.offset.unwrap_or(0) == 0;
        if l == 0 && !noop {
            return Err(format!(
                "{side} span {i} is empty (only a lone no-op span may be)"
            ));
        }
        if i > 0 && s.offset.unwrap_or(0) < 0 {
            return Err(format!("{side} span {i} has a negative gap"));
        }
        len += u64::from(l);
    }
    if len != deltas.len() as u64 {
        return Err(format!(
            "{side} spans cover {len} buckets but there are {} deltas",
            deltas.len()
        ));
    }
    let (mut abs, mut total) = (0i64, 0u64);
    for (i, d) in deltas.iter().enumerate() {
        abs = abs.checked_add(*d).ok_or("bucket count overflows")?;
        if abs < 0 {
            return Err(format!("{side} bucket {i} has a negative count ({abs})"));
        }
        total = total
            .checked_add(abs as u64)
            .ok_or("bucket counts overflow")?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redmetrics_core::proto::BucketSpan;

    fn native(spans: &[(i32, u32)], deltas: &[i64], zero: u64, count: u64) -> Histogram {
        Histogram {
            sample_count: Some(count),
            sample_sum: Some(1.0),
            schema: Some(3),
            zero_threshold: Some(1e-6),
            zero_count: Some(zero),
            positive_span: spans
                .iter()
                .map(|&(o, l)| BucketSpan {
                    offset: Some(o),
                    length: Some(l),
                })
                .collect(),
            positive_delta: deltas.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn native_sanity() {
        check_histogram(&native(&[(-3, 2), (4, 1)], &[2, 1, -2], 1, 7)).unwrap();
        check_histogram(&native(&[(0, 0)], &[], 0, 0)).unwrap();
        let e = check_histogram(&native(&[(-3, 2)], &[2, 1, 1], 0, 5)).unwrap_err();
        assert!(e.contains("cover 2 buckets but there are 3"), "{e}");
        let e = check_histogram(&native(&[(-3, 2)], &[2, -3], 0, 1)).unwrap_err();
        assert!(e.contains("negative count"), "{e}");
        let e = check_histogram(&native(&[(-3, 2)], &[2, 1], 0, 9)).unwrap_err();
        assert!(e.contains("hold 5 observations"), "{e}");
        let mut h = native(&[(0, 1)], &[1], 0, 1);
        h.schema = Some(9);
        assert!(check_histogram(&h).unwrap_err().contains("-4..=8"));
    }
}
