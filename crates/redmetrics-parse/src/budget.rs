//! What decoding a protobuf exposition may build, counted on the wire before `prost` builds it.
//!
//! A body is bounded by bytes, but what it decodes into is not: an empty `Metric` is two
//! bytes on the wire and hundreds in memory, an empty `Bucket` two against a hundred. So
//! every `Metric` is walked first, field by field, with the schema of `metrics.proto`,
//! tallying the labels, buckets, quantiles, exemplars and bytes its decoding would allocate;
//! only a message that fits the running [`DecodeBudget`] is handed to `prost`. The text
//! parsers charge the same budget for each sample line before keeping it ([`sample_tally`]):
//! a four-byte line `a 1` builds a sample of a hundred and fifty.

use std::mem::size_of;

use prost::encoding::{WireType, decode_key, decode_varint};
use redmetrics_core::proto::{Bucket, BucketSpan, Exemplar, LabelPair, Metric, Quantile};

/// How much one protobuf body may decode into. Each count bounds the objects built, and
/// `bytes` the memory they take, estimated from their sizes (strings at their length);
/// vectors growing by doubling may hold up to twice that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeBudget {
    /// `Metric` messages (series), over all families.
    pub metrics: usize,
    /// Label pairs, of series and exemplars.
    pub labels: usize,
    /// Classic buckets, native spans and native deltas or counts.
    pub buckets: usize,
    /// Summary quantiles.
    pub quantiles: usize,
    /// Exemplars.
    pub exemplars: usize,
    /// Estimated bytes of everything built.
    pub bytes: usize,
}

impl DecodeBudget {
    /// What `parse_protobuf` allows: far above any real exposition (a million series is
    /// beyond what one Prometheus target should serve), and at most 128 MiB of decoded
    /// objects, so decoding stays under 256 MiB whatever the body holds.
    pub const DEFAULT: Self = Self {
        metrics: 1_000_000,
        labels: 10_000_000,
        buckets: 10_000_000,
        quantiles: 1_000_000,
        exemplars: 1_000_000,
        bytes: 128 << 20,
    };
}

impl Default for DecodeBudget {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What one message decodes into.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) metrics: usize,
    pub(crate) labels: usize,
    pub(crate) buckets: usize,
    pub(crate) quantiles: usize,
    pub(crate) exemplars: usize,
    pub(crate) bytes: usize,
}

/// A budget being spent, message by message.
#[derive(Debug)]
pub(crate) struct Spending {
    budget: DecodeBudget,
    used: Tally,
}

impl Spending {
    pub(crate) fn new(budget: DecodeBudget) -> Self {
        Self {
            budget,
            used: Tally::default(),
        }
    }

    /// Adds `t` to what is spent, or says which limit it would pass.
    pub(crate) fn spend(&mut self, t: &Tally) -> Result<(), String> {
        let b = &self.budget;
        let u = &mut self.used;
        for (what, used, add, limit) in [
            ("metrics", &mut u.metrics, t.metrics, b.metrics),
            ("labels", &mut u.labels, t.labels, b.labels),
            ("buckets", &mut u.buckets, t.buckets, b.buckets),
            ("quantiles", &mut u.quantiles, t.quantiles, b.quantiles),
            ("exemplars", &mut u.exemplars, t.exemplars, b.exemplars),
            ("bytes", &mut u.bytes, t.bytes, b.bytes),
        ] {
            match used.checked_add(add) {
                Some(n) if n <= limit => *used = n,
                _ => {
                    return Err(format!(
                        "decodes into more than {limit} {what} (the checker's decoding budget; \
                         {used} spent before this): refused before building it"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One field of a message: its number and its payload.
pub(crate) enum Field<'a> {
    Varint(u64),
    Fixed,
    Bytes(&'a [u8]),
}

/// Calls `each` on every field of `msg`, checking the framing (its faults become `E` through
/// `From<String>`). Groups (wire types 3 and 4) are refused: `metrics.proto` has none.
pub(crate) fn fields<'a, E: From<String>>(
    mut msg: &'a [u8],
    mut each: impl FnMut(u32, Field<'a>) -> Result<(), E>,
) -> Result<(), E> {
    while !msg.is_empty() {
        let (tag, wire) = decode_key(&mut msg).map_err(|e| e.to_string())?;
        let field = match wire {
            WireType::Varint => Field::Varint(decode_varint(&mut msg).map_err(|e| e.to_string())?),
            WireType::SixtyFourBit | WireType::ThirtyTwoBit => {
                let n = if wire == WireType::SixtyFourBit { 8 } else { 4 };
                msg = msg.get(n..).ok_or_else(|| "buffer underflow".to_owned())?;
                Field::Fixed
            }
            WireType::LengthDelimited => {
                let len = decode_varint(&mut msg).map_err(|e| e.to_string())?;
                let (payload, rest) = usize::try_from(len)
                    .ok()
                    .and_then(|len| msg.split_at_checked(len))
                    .ok_or_else(|| "buffer underflow".to_owned())?;
                msg = rest;
                Field::Bytes(payload)
            }
            WireType::StartGroup | WireType::EndGroup => {
                return Err(
                    format!("field {tag} is a group, which metrics.proto never uses").into(),
                );
            }
        };
        each(tag, field)?;
    }
    Ok(())
}

/// The messages of `metrics.proto` below `Metric` whose decoding allocates.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Metric,
    Label,
    Counter,
    Summary,
    Histogram,
    Bucket,
    Exemplar,
    /// Gauge, untyped, quantile, span, timestamp: no allocation of their own.
    Flat,
}

/// What decoding `msg` as a `Metric` builds, besides the `Metric` itself.
pub(crate) fn tally_metric(msg: &[u8]) -> Result<Tally, String> {
    let mut t = Tally::default();
    tally(msg, Kind::Metric, &mut t)?;
    Ok(t)
}

fn tally(msg: &[u8], kind: Kind, t: &mut Tally) -> Result<(), String> {
    fields(msg, |tag, field| -> Result<(), String> {
        let Field::Bytes(payload) = field else {
            // An unpacked element of a repeated number: one more delta or count.
            if matches!(kind, Kind::Histogram) && matches!(tag, 10 | 11 | 13 | 14) {
                t.buckets += 1;
                t.bytes += 2 * size_of::<i64>();
            }
            return Ok(());
        };
        // Vectors may have twice the capacity of their length: elements count double.
        let child = match (kind, tag) {
            (Kind::Metric, 1) | (Kind::Exemplar, 1) => {
                t.labels += 1;
                t.bytes += 2 * size_of::<LabelPair>();
                Kind::Label
            }
            (Kind::Label, 1 | 2) => {
                t.bytes += payload.len();
                return Ok(());
            }
            (Kind::Metric, 3) => Kind::Counter,
            (Kind::Metric, 4) => Kind::Summary,
            (Kind::Metric, 7) => Kind::Histogram,
            (Kind::Summary, 3) => {
                t.quantiles += 1;
                t.bytes += 2 * size_of::<Quantile>();
                Kind::Flat
            }
            (Kind::Histogram, 3) => {
                t.buckets += 1;
                t.bytes += 2 * size_of::<Bucket>();
                Kind::Bucket
            }
            (Kind::Histogram, 9 | 12) => {
                t.buckets += 1;
                t.bytes += 2 * size_of::<BucketSpan>();
                Kind::Flat
            }
            (Kind::Histogram, 10 | 13) => {
                // Packed varints: one element per byte without the continuation bit.
                let n = payload.iter().filter(|b| **b < 0x80).count();
                t.buckets += n;
                t.bytes += 2 * n * size_of::<i64>();
                return Ok(());
            }
            (Kind::Histogram, 11 | 14) => {
                let n = payload.len() / size_of::<f64>();
                t.buckets += n;
                t.bytes += 2 * n * size_of::<f64>();
                return Ok(());
            }
            (Kind::Counter, 2) | (Kind::Bucket, 3) => {
                t.exemplars += 1;
                t.bytes += size_of::<Exemplar>();
                Kind::Exemplar
            }
            _ => Kind::Flat,
        };
        match child {
            Kind::Flat => Ok(()),
            child => tally(payload, child, t),
        }
    })
}

/// What keeping one parsed text sample builds: the sample, its strings, its labels and
/// exemplar labels, counted `copies` times over to cover vector slack and the keys a parser
/// keeps beside it (series keys, name claims, interleaving records).
pub(crate) fn sample_tally<'a>(
    name: &str,
    labels: impl Iterator<Item = &'a (String, String)>,
    extra_bytes: usize,
    copies: usize,
) -> Tally {
    let mut t = Tally {
        metrics: 1,
        ..Tally::default()
    };
    let mut bytes = size_of::<crate::model::Sample>() + name.len() + extra_bytes;
    for (n, v) in labels {
        t.labels += 1;
        bytes += size_of::<(String, String)>() + n.len() + v.len();
    }
    t.bytes = bytes.saturating_mul(copies);
    t
}

/// Bytes one `Metric` takes in its family's vector (reserved exactly).
pub(crate) const METRIC_BYTES: usize = size_of::<Metric>();

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use redmetrics_core::proto::{Counter, Histogram, Summary};

    #[test]
    fn the_tally_counts_what_prost_builds() {
        let m = Metric {
            label: vec![
                LabelPair {
                    name: Some("a".into()),
                    value: Some("xyz".into()),
                };
                3
            ],
            histogram: Some(Histogram {
                bucket: vec![Bucket::default(); 5],
                positive_span: vec![BucketSpan::default(); 2],
                positive_delta: vec![1, -1, 300],
                negative_count: vec![1.0, 2.0],
                ..Default::default()
            }),
            summary: Some(Summary {
                quantile: vec![Quantile::default(); 4],
                ..Default::default()
            }),
            ..Default::default()
        };
        let t = tally_metric(&m.encode_to_vec()).unwrap();
        assert_eq!(
            (t.labels, t.buckets, t.quantiles, t.exemplars),
            (3, 5 + 2 + 3 + 2, 4, 0)
        );
        assert!(t.bytes >= 3 * (4 + size_of::<LabelPair>()) + 5 * size_of::<Bucket>());
    }

    #[test]
    fn spending_stops_at_the_first_limit_passed() {
        let mut s = Spending::new(DecodeBudget {
            metrics: 2,
            ..DecodeBudget::DEFAULT
        });
        let one = Tally {
            metrics: 1,
            ..Tally::default()
        };
        s.spend(&one).unwrap();
        s.spend(&one).unwrap();
        let e = s.spend(&one).unwrap_err();
        assert!(e.contains("more than 2 metrics"), "{e}");
    }

    #[test]
    fn groups_and_cut_fields_are_refused() {
        assert!(tally_metric(&[0x0b]).is_err(), "start group");
        assert!(
            tally_metric(&[0x0a, 0x05, 0x00]).is_err(),
            "length past the end"
        );
    }

    fn lp(name: &str, value: &str) -> LabelPair {
        LabelPair {
            name: Some(name.into()),
            value: Some(value.into()),
        }
    }

    fn tally_of(m: &Metric) -> Tally {
        tally_metric(&m.encode_to_vec()).unwrap()
    }

    /// Each kind of message, alone, tallied exactly as the module's model states it:
    /// vector elements twice their size, strings at their length, an exemplar once.
    #[test]
    fn each_kind_of_message_is_tallied_exactly() {
        let label = size_of::<LabelPair>();
        let labels = Metric {
            label: vec![lp("ab", "xyz")],
            ..Default::default()
        };
        let want = Tally {
            labels: 1,
            bytes: 2 * label + 2 + 3,
            ..Tally::default()
        };
        assert_eq!(tally_of(&labels), want, "a label pair and its strings");

        let counter = Metric {
            counter: Some(Counter {
                value: Some(1.0),
                exemplar: Some(Exemplar {
                    label: vec![lp("t", "abcd")],
                    value: Some(2.0),
                    timestamp: None,
                }),
                created_timestamp: None,
            }),
            ..Default::default()
        };
        let want = Tally {
            labels: 1,
            exemplars: 1,
            bytes: size_of::<Exemplar>() + 2 * label + 1 + 4,
            ..Tally::default()
        };
        assert_eq!(
            tally_of(&counter),
            want,
            "a counter's exemplar and its label"
        );

        let summary = Metric {
            summary: Some(Summary {
                sample_count: Some(7),
                sample_sum: Some(1.5),
                quantile: vec![Quantile::default(); 3],
                created_timestamp: None,
            }),
            ..Default::default()
        };
        let want = Tally {
            quantiles: 3,
            bytes: 3 * 2 * size_of::<Quantile>(),
            ..Tally::default()
        };
        assert_eq!(tally_of(&summary), want, "a summary's quantiles");

        let with_exemplar = Bucket {
            exemplar: Some(Exemplar::default()),
            ..Default::default()
        };
        let classic = Metric {
            histogram: Some(Histogram {
                sample_count: Some(3),
                sample_sum: Some(1.5),
                bucket: vec![with_exemplar; 2],
                ..Default::default()
            }),
            ..Default::default()
        };
        let want = Tally {
            buckets: 2,
            exemplars: 2,
            bytes: 2 * 2 * size_of::<Bucket>() + 2 * size_of::<Exemplar>(),
            ..Tally::default()
        };
        assert_eq!(
            tally_of(&classic),
            want,
            "classic buckets and their exemplars"
        );

        // Spans (tags 9 and 12); packed deltas (10 and 13): 64 is zigzag 128, two bytes, the
        // first exactly 0x80; packed counts (11 and 14).
        let native = Metric {
            histogram: Some(Histogram {
                negative_span: vec![BucketSpan::default()],
                positive_span: vec![BucketSpan::default(); 2],
                negative_delta: vec![5],
                positive_delta: vec![1, -1, 64],
                negative_count: vec![1.0, 2.0, 3.0],
                positive_count: vec![4.0],
                ..Default::default()
            }),
            ..Default::default()
        };
        let want = Tally {
            buckets: 3 + 4 + 4,
            bytes: 3 * 2 * size_of::<BucketSpan>() + 4 * 2 * 8 + 4 * 2 * 8,
            ..Tally::default()
        };
        assert_eq!(tally_of(&native), want, "native spans, deltas and counts");
    }

    /// Repeated numbers written unpacked, one field each (as proto2 encoders may): one
    /// bucket each, for varint deltas and fixed64 counts; a histogram's other numbers are
    /// none.
    #[test]
    fn unpacked_deltas_and_counts_are_one_bucket_each() {
        // Histogram: positive_delta 13 (varint) twice, negative_count 11 (fixed64) once,
        // sample_count 1 (varint) and sample_sum 2 (fixed64), which build nothing.
        let mut histogram = vec![13 << 3, 0x02, 13 << 3, 0x04, 11 << 3 | 1];
        histogram.extend_from_slice(&1.0f64.to_le_bytes());
        histogram.extend_from_slice(&[1 << 3, 0x09, 2 << 3 | 1]);
        histogram.extend_from_slice(&2.5f64.to_le_bytes());
        let mut metric = vec![7 << 3 | 2, histogram.len() as u8];
        metric.extend_from_slice(&histogram);
        let want = Tally {
            buckets: 3,
            bytes: 3 * 2 * 8,
            ..Tally::default()
        };
        assert_eq!(tally_metric(&metric).unwrap(), want);
    }

    /// A kept text sample: the sample, its name, the extra bytes, each label pair and its
    /// strings, all `copies` times over; one metric whatever the copies.
    #[test]
    fn a_text_sample_is_tallied_exactly() {
        let labels = [
            ("a".to_owned(), "bc".to_owned()),
            ("de".to_owned(), "f".to_owned()),
        ];
        let t = sample_tally("abc", labels.iter(), 5, 3);
        let pair = size_of::<(String, String)>();
        let one = size_of::<crate::model::Sample>() + 3 + 5 + (pair + 3) + (pair + 3);
        let want = Tally {
            metrics: 1,
            labels: 2,
            bytes: 3 * one,
            ..Tally::default()
        };
        assert_eq!(t, want);
    }
}
