//! The `prost` encoder the hand-written one replaced, kept for tests only: the reference the
//! new bytes are compared against (byte for byte, and decoded by prost and by Python's
//! protobuf runtime), so the rewrite is held to what Prometheus read before it.
//!
//! Apart from its name and this header it is the encoder as it was (2bea9be's
//! `encoding/protobuf.rs`): a `proto::MetricFamily` built per family with a `String` per
//! label, encoded by prost when the next family starts.

use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::collect::{Desc, Exemplar, HistogramSample, LabelSet, MetricType, Sink, SummarySample};
use crate::labels::parse_rendered;
use crate::name::Escaping;
use crate::proto;

/// Collects each family's metrics and writes the family when the next one starts.
pub(crate) struct ProstSink<'a> {
    out: &'a mut Vec<u8>,
    family: Option<proto::MetricFamily>,
    /// How names are written: protobuf carries them as strings, so only escaping applies.
    escaping: Escaping,
}

impl<'a> ProstSink<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            family: None,
            escaping: Escaping::Underscores,
        }
    }

    /// Writes names as `escaping` asks.
    pub(crate) fn escaping(mut self, escaping: Escaping) -> Self {
        self.escaping = escaping;
        self
    }

    /// Writes the last family.
    pub(crate) fn finish(mut self) {
        self.flush();
    }

    fn flush(&mut self) {
        if let Some(f) = self.family.take()
            && !f.metric.is_empty()
        {
            // Writing into a Vec cannot run out of space.
            let _ = f.encode_length_delimited(self.out);
        }
    }

    fn push(&mut self, labels: &LabelSet, fill: impl FnOnce(&mut proto::Metric)) {
        let Some(family) = self.family.as_mut() else {
            debug_assert!(false, "a sample before its family");
            return;
        };
        let escaping = self.escaping;
        let mut metric = proto::Metric {
            label: parse_rendered(labels.as_str())
                .map(|(name, value)| proto::LabelPair {
                    name: Some(escaping.escape(&name).into_owned()),
                    value: Some(value),
                })
                .collect(),
            ..Default::default()
        };
        fill(&mut metric);
        family.metric.push(metric);
    }
}

fn kind(t: MetricType) -> proto::MetricType {
    match t {
        MetricType::Counter => proto::MetricType::Counter,
        MetricType::Gauge => proto::MetricType::Gauge,
        MetricType::Histogram => proto::MetricType::Histogram,
        MetricType::Summary => proto::MetricType::Summary,
        MetricType::GaugeHistogram => proto::MetricType::GaugeHistogram,
        MetricType::Unknown | MetricType::Info | MetricType::StateSet => proto::MetricType::Untyped,
    }
}

impl Sink for ProstSink<'_> {
    fn family(&mut self, desc: &Desc) {
        self.flush();
        self.family = Some(proto::MetricFamily {
            name: Some(self.escaping.escape(desc.name()).into_owned()),
            help: Some(desc.help().to_owned()),
            r#type: Some(kind(desc.kind()) as i32),
            metric: Vec::new(),
        });
    }

    fn counter(&mut self, labels: &LabelSet, value: u64) {
        self.counter_f64(labels, value as f64);
    }

    fn counter_with_exemplar(
        &mut self,
        labels: &LabelSet,
        value: u64,
        exemplar: Option<&Exemplar>,
    ) {
        self.push(labels, |m| {
            m.counter = Some(proto::Counter {
                value: Some(value as f64),
                exemplar: exemplar.map(message),
                created_timestamp: None,
            });
        });
    }

    fn counter_f64(&mut self, labels: &LabelSet, value: f64) {
        self.push(labels, |m| {
            m.counter = Some(proto::Counter {
                value: Some(value),
                exemplar: None,
                created_timestamp: None,
            });
        });
    }

    fn gauge(&mut self, labels: &LabelSet, value: f64) {
        self.push(labels, |m| {
            m.gauge = Some(proto::Gauge { value: Some(value) });
        });
    }

    fn gauge_i64(&mut self, labels: &LabelSet, value: i64) {
        self.gauge(labels, value as f64);
    }

    fn histogram(&mut self, labels: &LabelSet, h: HistogramSample<'_>) {
        self.push(labels, |m| m.histogram = Some(histogram(&h)));
    }

    fn wants_native(&self) -> bool {
        true
    }

    fn created(&mut self, labels: &LabelSet, at: SystemTime) {
        let Some(m) = self.family.as_mut().and_then(|f| f.metric.last_mut()) else {
            debug_assert!(false, "a start before its series");
            return;
        };
        debug_assert!(m.label.len() == parse_rendered(labels.as_str()).count());
        let at = Some(timestamp(at));
        if let Some(c) = m.counter.as_mut() {
            c.created_timestamp = at;
        } else if let Some(h) = m.histogram.as_mut() {
            h.created_timestamp = at;
        } else if let Some(s) = m.summary.as_mut() {
            s.created_timestamp = at;
        }
    }

    fn summary(&mut self, labels: &LabelSet, s: SummarySample<'_>) {
        self.push(labels, |m| {
            m.summary = Some(proto::Summary {
                sample_count: Some(s.count),
                sample_sum: Some(s.sum),
                quantile: s
                    .quantile_labels
                    .iter()
                    .zip(s.quantiles)
                    .map(|(q, &v)| proto::Quantile {
                        quantile: q.parse().ok(),
                        value: Some(v),
                    })
                    .collect(),
                created_timestamp: None,
            });
        });
    }
}

/// An exemplar as the protobuf format carries it: the same `trace_id`/`span_id` labels
/// as in OpenMetrics, the value, and the time of the observation.
fn message(e: &Exemplar) -> proto::Exemplar {
    let label = |name: &str, id: &[u8]| {
        let mut hex = Vec::with_capacity(id.len() * 2);
        super::super::exemplar::hex(&mut hex, id);
        proto::LabelPair {
            name: Some(name.to_owned()),
            value: Some(String::from_utf8_lossy(&hex).into_owned()),
        }
    };
    let mut labels = vec![label("trace_id", &e.trace.trace_id())];
    if let Some(span) = e.trace.span_id() {
        labels.push(label("span_id", &span));
    }
    proto::Exemplar {
        label: labels,
        value: Some(e.value),
        timestamp: Some(proto::Timestamp {
            seconds: (e.timestamp_ms / 1000) as i64,
            nanos: (e.timestamp_ms % 1000) as i32 * 1_000_000,
        }),
    }
}

/// A wall-clock time as `google.protobuf.Timestamp` (the epoch for a time before it).
fn timestamp(at: SystemTime) -> proto::Timestamp {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    proto::Timestamp {
        seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanos: since.subsec_nanos() as i32,
    }
}

/// The classic buckets and, when present, the native ones of one histogram.
fn histogram(h: &HistogramSample<'_>) -> proto::Histogram {
    let classic_count = h.cumulative.last().copied().unwrap_or(0);
    let mut out = proto::Histogram {
        sample_count: Some(h.native.map_or(classic_count, |n| n.count)),
        sample_sum: Some(h.sum),
        bucket: h
            .le
            .iter()
            .zip(h.cumulative)
            .enumerate()
            .filter_map(|(i, (le, &c))| {
                let bound: f64 = le.parse().ok()?;
                bound.is_finite().then(|| proto::Bucket {
                    cumulative_count: Some(c),
                    upper_bound: Some(bound),
                    exemplar: h
                        .exemplars
                        .and_then(|e| e.get(i).copied().flatten())
                        .map(|e| message(&e)),
                    ..Default::default()
                })
            })
            .collect(),
        ..Default::default()
    };
    if let Some(n) = h.native {
        out.schema = Some(n.schema);
        out.zero_threshold = Some(n.zero_threshold);
        out.zero_count = Some(n.zero_count);
        let (spans, deltas) = spans_and_deltas(n.buckets);
        out.positive_span = spans;
        out.positive_delta = deltas;
        if out.positive_span.is_empty() {
            // The no-op span that marks a native histogram with no buckets yet.
            out.positive_span.push(proto::BucketSpan {
                offset: Some(0),
                length: Some(0),
            });
        }
    }
    out
}

/// Spans of consecutive keys (the first offset is its key, the others the gap since the
/// previous span) and each count as the difference to the one before.
fn spans_and_deltas(buckets: &[(i32, u64)]) -> (Vec<proto::BucketSpan>, Vec<i64>) {
    let mut spans: Vec<proto::BucketSpan> = Vec::new();
    let mut deltas = Vec::with_capacity(buckets.len());
    let mut prev_key: Option<i32> = None;
    let mut prev_count = 0i64;
    for &(key, count) in buckets {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        match (prev_key, spans.last_mut()) {
            (Some(p), Some(span)) if key == p + 1 => {
                span.length = Some(span.length.unwrap_or(0) + 1);
            }
            (p, _) => spans.push(proto::BucketSpan {
                offset: Some(p.map_or(key, |p| key - p - 1)),
                length: Some(1),
            }),
        }
        deltas.push(count - prev_count);
        prev_count = count;
        prev_key = Some(key);
    }
    (spans, deltas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_start_at_the_first_key_then_count_gaps() {
        let (spans, deltas) = spans_and_deltas(&[(-3, 2), (-2, 5), (1, 1), (2, 1), (7, 4)]);
        let s: Vec<(i32, u32)> = spans
            .iter()
            .map(|s| (s.offset.unwrap(), s.length.unwrap()))
            .collect();
        assert_eq!(s, [(-3, 2), (2, 2), (4, 1)]);
        assert_eq!(deltas, [2, 3, -4, 0, 3]);
        assert_eq!(spans_and_deltas(&[]).0, []);
    }
}
