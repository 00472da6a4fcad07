//! Prometheus' protobuf exposition: varint-length-delimited `io.prometheus.client.MetricFamily`
//! messages ([`proto::MetricFamily`](crate::proto::MetricFamily)), the only format that
//! carries native histograms to Prometheus 2.x.
//!
//! A histogram with native buckets writes both versions in one `Histogram` message: the
//! classic buckets (finite bounds; `+Inf` is implied by `sample_count`) and the native
//! schema, zero bucket and positive spans with delta-encoded counts. Its `sample_count` is
//! the native total, which the recorder increments before the classic bucket and the
//! encoder reads after it, so the native buckets always add up to it and the classic ones
//! never exceed it. Families with no series are left out, as client_golang does.
//!
//! Exemplars ride on the classic buckets and the request counters (`Bucket.exemplar`,
//! `Counter.exemplar`), with the labels, value and time OpenMetrics writes; 2.42 reads them
//! from exactly those two places. A series' start is the `created_timestamp` of its counter,
//! histogram or summary.
//!
//! **Why the wire format is written by hand.** The messages are few and flat, so this module
//! writes their fields straight into the scrape's buffer, in prost's order (by field number),
//! each nested message's length reserved as one byte and patched when it closes (moved over
//! in the rare case it needs more). Label names and values are copied from the registry's
//! rendered label sets, unescaped only when they hold a `\`; `le` and `quantile` bounds are
//! parsed once per family, not once per series. Building `prost` messages instead cost a
//! `String` per label and per exemplar id, a `Vec` per series and a second pass to size
//! every message: `bench/instructions.sh`, mode `render-protobuf-1000`, measured 14.8 M
//! instructions and 14,000 allocations per scrape of 1,000 label sets that way, 4.9 times
//! the text scrape; written here, 4.9 M and 1.6 times, with the allocations of a text scrape
//! (BENCHMARKS.md, "Protobuf scrape"). The bytes are the ones `prost` wrote: the test module
//! keeps that encoder as its reference and compares the two byte for byte and decoded.
//! `prost` still decodes (`redmetrics-parse`, the tests).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::collect::{Desc, Exemplar, HistogramSample, LabelSet, MetricType, Sink, SummarySample};
use crate::labels::{scan_pairs, unescape_into};
use crate::name::Escaping;

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

/// Writes each family as it arrives; the open family and series are closed (their lengths
/// patched) when the next one starts.
pub(crate) struct ProtobufSink<'a> {
    out: &'a mut Vec<u8>,
    /// How names are written: protobuf carries them as strings, so only escaping applies.
    escaping: Escaping,
    family: Option<OpenFamily>,
    metric: Option<OpenMetric>,
    /// The bounds of the last `le` labels seen (a histogram family shares them).
    bounds: Parsed,
    /// The quantiles of the last `quantile` labels seen.
    quantiles: Parsed,
    /// Scratch for a name or value that must be unescaped or escaped before it is written.
    unescaped: String,
    escaped: String,
}

/// A `MetricFamily` being written: where its body starts, and whether it has a series yet.
struct OpenFamily {
    body: usize,
    has_metric: bool,
}

/// A `Metric` being written, with its value message (counter, gauge, histogram, summary).
struct OpenMetric {
    body: usize,
    value: usize,
    /// The field number and wire type (as one tag byte) of the value's `created_timestamp`,
    /// for the types that have one.
    created_tag: Option<u8>,
    /// Where the start was written, so a second one replaces it as prost's setter did.
    created_at: Option<usize>,
}

impl<'a> ProtobufSink<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            escaping: Escaping::Underscores,
            family: None,
            metric: None,
            bounds: Parsed::default(),
            quantiles: Parsed::default(),
            unescaped: String::new(),
            escaped: String::new(),
        }
    }

    /// Writes names as `escaping` asks.
    pub(crate) fn escaping(mut self, escaping: Escaping) -> Self {
        self.escaping = escaping;
        self
    }

    /// Closes the last family.
    pub(crate) fn finish(mut self) {
        self.end_family();
    }

    fn end_metric(&mut self) {
        if let Some(m) = self.metric.take() {
            wire::close(self.out, m.value);
            wire::close(self.out, m.body);
        }
    }

    /// Closes the open family, or takes it back out when it has no series.
    fn end_family(&mut self) {
        self.end_metric();
        if let Some(f) = self.family.take() {
            if f.has_metric {
                wire::close(self.out, f.body);
            } else {
                self.out.truncate(f.body - 1);
            }
        }
    }

    /// Opens a `Metric` with `labels` and its value message (field `value_tag`); false, and
    /// nothing written, outside a family.
    fn begin(&mut self, labels: &LabelSet, value_tag: u8, created_tag: Option<u8>) -> bool {
        self.end_metric();
        let Some(family) = self.family.as_mut() else {
            debug_assert!(false, "a sample before its family");
            return false;
        };
        family.has_metric = true;
        let body = wire::open(self.out, tag::FAMILY_METRIC);
        self.labels(labels);
        let value = wire::open(self.out, value_tag);
        self.metric = Some(OpenMetric {
            body,
            value,
            created_tag,
            created_at: None,
        });
        true
    }

    /// One `LabelPair` per rendered pair: names escaped as the scraper asked, values
    /// unescaped; both copied from `labels` unless they need changing.
    fn labels(&mut self, labels: &LabelSet) {
        let (text, quoted) = labels.parts();
        let plain_names = !quoted && self.escaping != Escaping::Dots;
        for (written_name, written_value, escaped_value) in scan_pairs(text) {
            let name = if plain_names {
                written_name
            } else {
                // The name ends in `escaped`, leaving `unescaped` to the value.
                self.unescaped.clear();
                unescape_into(&mut self.unescaped, written_name);
                if self.escaping.changes(&self.unescaped) {
                    self.escaped.clear();
                    self.escaping
                        .escape_into(&mut self.escaped, &self.unescaped);
                } else {
                    std::mem::swap(&mut self.escaped, &mut self.unescaped);
                }
                self.escaped.as_str()
            };
            let value = if escaped_value {
                self.unescaped.clear();
                unescape_into(&mut self.unescaped, written_value);
                self.unescaped.as_str()
            } else {
                written_value
            };
            wire::pair(self.out, tag::METRIC_LABEL, name.as_bytes(), value.len());
            self.out.extend_from_slice(value.as_bytes());
        }
    }
}

/// Tag bytes of the fields written: the field number times 8 plus the wire type (0 varint,
/// 1 64-bit, 2 length-delimited). Written as literals: the `<<` and `|` that built them gave
/// cargo-mutants 77 mutants, the 24 `|` → `^` of them equivalent (disjoint bits).
mod tag {
    pub(super) const FAMILY_NAME: u8 = 0x0a; // field 1, length-delimited
    pub(super) const FAMILY_HELP: u8 = 0x12; // field 2, length-delimited
    pub(super) const FAMILY_TYPE: u8 = 0x18; // field 3, varint
    pub(super) const FAMILY_METRIC: u8 = 0x22; // field 4, length-delimited
    pub(super) const METRIC_LABEL: u8 = 0x0a; // field 1, length-delimited
    pub(super) const METRIC_GAUGE: u8 = 0x12; // field 2, length-delimited
    pub(super) const METRIC_COUNTER: u8 = 0x1a; // field 3, length-delimited
    pub(super) const METRIC_SUMMARY: u8 = 0x22; // field 4, length-delimited
    pub(super) const METRIC_HISTOGRAM: u8 = 0x3a; // field 7, length-delimited
    /// `Gauge.value`, `Counter.value`, `Quantile.quantile`.
    pub(super) const VALUE_1: u8 = 0x09; // field 1, 64-bit
    /// `Exemplar.value`, `Summary.sample_sum`, `Histogram.sample_sum`, `Bucket.upper_bound`,
    /// `Quantile.value`.
    pub(super) const DOUBLE_2: u8 = 0x11; // field 2, 64-bit
    pub(super) const COUNTER_EXEMPLAR: u8 = 0x12; // field 2, length-delimited
    pub(super) const COUNTER_CREATED: u8 = 0x1a; // field 3, length-delimited
    /// `Summary.sample_count`, `Histogram.sample_count`, `Bucket.cumulative_count`,
    /// `Timestamp.seconds`, `BucketSpan.offset`.
    pub(super) const VARINT_1: u8 = 0x08; // field 1, varint
    /// `Timestamp.nanos`, `BucketSpan.length`.
    pub(super) const VARINT_2: u8 = 0x10; // field 2, varint
    pub(super) const SUMMARY_QUANTILE: u8 = 0x1a; // field 3, length-delimited
    pub(super) const SUMMARY_CREATED: u8 = 0x22; // field 4, length-delimited
    pub(super) const HISTOGRAM_BUCKET: u8 = 0x1a; // field 3, length-delimited
    pub(super) const HISTOGRAM_SCHEMA: u8 = 0x28; // field 5, varint
    pub(super) const HISTOGRAM_ZERO_THRESHOLD: u8 = 0x31; // field 6, 64-bit
    pub(super) const HISTOGRAM_ZERO_COUNT: u8 = 0x38; // field 7, varint
    pub(super) const HISTOGRAM_POSITIVE_SPAN: u8 = 0x62; // field 12, length-delimited
    pub(super) const HISTOGRAM_POSITIVE_DELTA: u8 = 0x6a; // field 13, length-delimited
    pub(super) const HISTOGRAM_CREATED: u8 = 0x7a; // field 15, length-delimited
    pub(super) const BUCKET_EXEMPLAR: u8 = 0x1a; // field 3, length-delimited
    pub(super) const EXEMPLAR_LABEL: u8 = 0x0a; // field 1, length-delimited
    pub(super) const EXEMPLAR_TIMESTAMP: u8 = 0x1a; // field 3, length-delimited
    pub(super) const PAIR_NAME: u8 = 0x0a; // field 1, length-delimited
    pub(super) const PAIR_VALUE: u8 = 0x12; // field 2, length-delimited
}

/// Protobuf's wire encoding, appended to a buffer.
mod wire {
    /// Appends `v` as a base-128 varint: seven bits a byte, the high bit set on all but the
    /// last. In debug builds (the tests) the loop checks that it stays within the 10 bytes a
    /// `u64` takes, so that a wrong condition fails there instead of appending for ever; a
    /// bounded loop in release cost 2.4 % of a protobuf scrape (BENCHMARKS.md).
    #[inline]
    pub(super) fn varint(out: &mut Vec<u8>, mut v: u64) {
        let start = out.len();
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
            debug_assert!(out.len() - start < 10, "a varint of more than 10 bytes");
        }
        out.push(v as u8);
    }

    /// How many bytes [`varint`] writes for `v`.
    #[inline]
    pub(super) fn varint_len(v: u64) -> usize {
        (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
    }

    /// `sint32`'s zigzag form.
    pub(super) fn zigzag32(v: i32) -> u64 {
        u64::from(((v << 1) ^ (v >> 31)) as u32)
    }

    /// `sint64`'s zigzag form.
    pub(super) fn zigzag64(v: i64) -> u64 {
        ((v << 1) ^ (v >> 63)) as u64
    }

    /// A `double` field.
    #[inline]
    pub(super) fn double(out: &mut Vec<u8>, tag: u8, v: f64) {
        out.push(tag);
        out.extend_from_slice(&v.to_le_bytes());
    }

    /// A varint field.
    #[inline]
    pub(super) fn uint(out: &mut Vec<u8>, tag: u8, v: u64) {
        out.push(tag);
        varint(out, v);
    }

    /// A `string` field.
    pub(super) fn string(out: &mut Vec<u8>, tag: u8, s: &[u8]) {
        out.push(tag);
        varint(out, s.len() as u64);
        out.extend_from_slice(s);
    }

    /// The start of a `LabelPair` field (`tag`) named `name` whose value of `value_len` bytes
    /// the caller appends next.
    pub(super) fn pair(out: &mut Vec<u8>, tag: u8, name: &[u8], value_len: usize) {
        let len = 2 + varint_len(name.len() as u64) + name.len() + varint_len(value_len as u64);
        uint(out, tag, (len + value_len) as u64);
        string(out, super::tag::PAIR_NAME, name);
        uint(out, super::tag::PAIR_VALUE, value_len as u64);
    }

    /// A `google.protobuf.Timestamp` field; like prost, a zero part is left out.
    pub(super) fn timestamp(out: &mut Vec<u8>, tag: u8, seconds: i64, nanos: i32) {
        let (seconds, nanos) = (seconds as u64, i64::from(nanos) as u64);
        let part = |v: u64| if v == 0 { 0 } else { 1 + varint_len(v) };
        uint(out, tag, (part(seconds) + part(nanos)) as u64);
        if seconds != 0 {
            uint(out, super::tag::VARINT_1, seconds);
        }
        if nanos != 0 {
            uint(out, super::tag::VARINT_2, nanos);
        }
    }

    /// Starts a length-delimited field (`tag`, or the bare length of a delimited stream's
    /// message when `None`): one byte is reserved for the length. Returns where the body
    /// starts, for [`close`].
    #[inline]
    pub(super) fn open(out: &mut Vec<u8>, tag: impl Into<Option<u8>>) -> usize {
        if let Some(tag) = tag.into() {
            out.push(tag);
        }
        out.push(0);
        out.len()
    }

    /// Writes the length of the body started at `body`; a length of 128 or more moves the
    /// body over to make room.
    #[inline]
    pub(super) fn close(out: &mut Vec<u8>, body: usize) {
        let len = out.len() - body;
        if len < 0x80 {
            out[body - 1] = len as u8;
            return;
        }
        let extra = varint_len(len as u64) - 1;
        out.resize(out.len() + extra, 0);
        out.copy_within(body..body + len, body + extra);
        let (mut at, mut v) = (body - 1, len);
        while v >= 0x80 {
            out[at] = v as u8 | 0x80;
            v >>= 7;
            at += 1;
        }
        out[at] = v as u8;
    }
}

/// Numbers parsed from the rendered `le` or `quantile` labels last seen, with those labels,
/// so that the next series with the same labels (every series of a family) costs a
/// comparison rather than a float parse per bucket. Compared by content: a collector may
/// build its labels anew for each series.
#[derive(Default)]
struct Parsed {
    text: String,
    ends: Vec<usize>,
    values: Vec<Option<f64>>,
}

impl Parsed {
    /// Each of `labels` parsed (`None` when it is not a number).
    fn of(&mut self, labels: &[Box<str>]) -> &[Option<f64>] {
        if !self.holds(labels) {
            self.text.clear();
            self.ends.clear();
            self.values.clear();
            for l in labels {
                self.text.push_str(l);
                self.ends.push(self.text.len());
                self.values.push(l.parse().ok());
            }
        }
        &self.values
    }

    fn holds(&self, labels: &[Box<str>]) -> bool {
        let mut start = 0;
        self.ends.len() == labels.len()
            && labels.iter().zip(&self.ends).all(|(l, &end)| {
                let same = self.text.get(start..end) == Some(&**l);
                start = end;
                same
            })
    }
}

fn kind(t: MetricType) -> u64 {
    // `MetricType` of metrics.proto.
    match t {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        MetricType::Summary => 2,
        MetricType::Unknown | MetricType::Info | MetricType::StateSet => 3,
        MetricType::Histogram => 4,
        MetricType::GaugeHistogram => 5,
    }
}

impl Sink for ProtobufSink<'_> {
    fn family(&mut self, desc: &Desc) {
        self.end_family();
        let body = wire::open(self.out, None);
        let name = if self.escaping.changes(desc.name()) {
            self.escaped.clear();
            self.escaping.escape_into(&mut self.escaped, desc.name());
            self.escaped.as_str()
        } else {
            desc.name()
        };
        wire::string(self.out, tag::FAMILY_NAME, name.as_bytes());
        wire::string(self.out, tag::FAMILY_HELP, desc.help().as_bytes());
        wire::uint(self.out, tag::FAMILY_TYPE, kind(desc.kind()));
        self.family = Some(OpenFamily {
            body,
            has_metric: false,
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
        if self.begin(labels, tag::METRIC_COUNTER, Some(tag::COUNTER_CREATED)) {
            wire::double(self.out, tag::VALUE_1, value as f64);
            if let Some(e) = exemplar {
                write_exemplar(self.out, tag::COUNTER_EXEMPLAR, e);
            }
        }
    }

    fn counter_f64(&mut self, labels: &LabelSet, value: f64) {
        if self.begin(labels, tag::METRIC_COUNTER, Some(tag::COUNTER_CREATED)) {
            wire::double(self.out, tag::VALUE_1, value);
        }
    }

    fn gauge(&mut self, labels: &LabelSet, value: f64) {
        if self.begin(labels, tag::METRIC_GAUGE, None) {
            wire::double(self.out, tag::VALUE_1, value);
        }
    }

    fn gauge_i64(&mut self, labels: &LabelSet, value: i64) {
        self.gauge(labels, value as f64);
    }

    fn histogram(&mut self, labels: &LabelSet, h: HistogramSample<'_>) {
        if self.begin(labels, tag::METRIC_HISTOGRAM, Some(tag::HISTOGRAM_CREATED)) {
            write_histogram(self.out, &h, self.bounds.of(h.le));
        }
    }

    fn wants_native(&self) -> bool {
        true
    }

    fn created(&mut self, _labels: &LabelSet, at: SystemTime) {
        let Some(m) = self.metric.as_mut() else {
            debug_assert!(false, "a start before its series");
            return;
        };
        let Some(tag) = m.created_tag else {
            return;
        };
        if let Some(at) = m.created_at {
            self.out.truncate(at);
        }
        m.created_at = Some(self.out.len());
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let seconds = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
        wire::timestamp(self.out, tag, seconds, since.subsec_nanos() as i32);
    }

    fn summary(&mut self, labels: &LabelSet, s: SummarySample<'_>) {
        if !self.begin(labels, tag::METRIC_SUMMARY, Some(tag::SUMMARY_CREATED)) {
            return;
        }
        let out = &mut *self.out;
        wire::uint(out, tag::VARINT_1, s.count);
        wire::double(out, tag::DOUBLE_2, s.sum);
        for (q, &v) in self.quantiles.of(s.quantile_labels).iter().zip(s.quantiles) {
            out.push(tag::SUMMARY_QUANTILE);
            match q {
                Some(q) => {
                    out.push(18);
                    wire::double(out, tag::VALUE_1, *q);
                }
                None => out.push(9),
            }
            wire::double(out, tag::DOUBLE_2, v);
        }
    }
}

/// An exemplar as the protobuf format carries it: the same `trace_id`/`span_id` labels
/// as in OpenMetrics, the value, and the time of the observation.
fn write_exemplar(out: &mut Vec<u8>, tag: u8, e: &Exemplar) {
    let body = wire::open(out, tag);
    let id = |out: &mut Vec<u8>, name: &str, id: &[u8]| {
        wire::pair(out, tag::EXEMPLAR_LABEL, name.as_bytes(), 2 * id.len());
        super::exemplar::hex(out, id);
    };
    id(out, "trace_id", &e.trace.trace_id());
    if let Some(span) = e.trace.span_id() {
        id(out, "span_id", &span);
    }
    wire::double(out, tag::DOUBLE_2, e.value);
    wire::timestamp(
        out,
        tag::EXEMPLAR_TIMESTAMP,
        (e.timestamp_ms / 1000) as i64,
        (e.timestamp_ms % 1000) as i32 * 1_000_000,
    );
    wire::close(out, body);
}

/// The classic buckets (those of a finite, numeric bound) and, when present, the native
/// ones of one histogram; `bounds` are its `le` labels parsed.
fn write_histogram(out: &mut Vec<u8>, h: &HistogramSample<'_>, bounds: &[Option<f64>]) {
    let classic_count = h.cumulative.last().copied().unwrap_or(0);
    wire::uint(
        out,
        tag::VARINT_1,
        h.native.map_or(classic_count, |n| n.count),
    );
    wire::double(out, tag::DOUBLE_2, h.sum);
    for (i, (bound, &count)) in bounds.iter().zip(h.cumulative).enumerate() {
        let Some(bound) = bound.filter(|b| b.is_finite()) else {
            continue;
        };
        let body = wire::open(out, tag::HISTOGRAM_BUCKET);
        wire::uint(out, tag::VARINT_1, count);
        wire::double(out, tag::DOUBLE_2, bound);
        if let Some(Some(e)) = h.exemplars.and_then(|x| x.get(i)) {
            write_exemplar(out, tag::BUCKET_EXEMPLAR, e);
        }
        wire::close(out, body);
    }
    let Some(n) = h.native else {
        return;
    };
    wire::uint(out, tag::HISTOGRAM_SCHEMA, wire::zigzag32(n.schema));
    wire::double(out, tag::HISTOGRAM_ZERO_THRESHOLD, n.zero_threshold);
    wire::uint(out, tag::HISTOGRAM_ZERO_COUNT, n.zero_count);
    write_spans(out, n.buckets);
    if !n.buckets.is_empty() {
        let body = wire::open(out, tag::HISTOGRAM_POSITIVE_DELTA);
        let mut prev = 0i64;
        for &(_, count) in n.buckets {
            let count = i64::try_from(count).unwrap_or(i64::MAX);
            wire::varint(out, wire::zigzag64(count - prev));
            prev = count;
        }
        wire::close(out, body);
    }
}

/// Spans of consecutive keys (the first offset is its key, the others the gap since the
/// previous span); a histogram with no bucket yet gets the no-op span that marks it native.
fn write_spans(out: &mut Vec<u8>, buckets: &[(i32, u64)]) {
    let span = |out: &mut Vec<u8>, offset: i32, length: u32| {
        let (offset, length) = (wire::zigzag32(offset), u64::from(length));
        let len = 2 + wire::varint_len(offset) + wire::varint_len(length);
        wire::uint(out, tag::HISTOGRAM_POSITIVE_SPAN, len as u64);
        wire::uint(out, tag::VARINT_1, offset);
        wire::uint(out, tag::VARINT_2, length);
    };
    let Some((&(first, _), rest)) = buckets.split_first() else {
        span(out, 0, 0);
        return;
    };
    let (mut offset, mut length, mut prev) = (first, 1u32, first);
    for &(key, _) in rest {
        if key == prev + 1 {
            length += 1;
        } else {
            span(out, offset, length);
            (offset, length) = (key - prev - 1, 1);
        }
        prev = key;
    }
    span(out, offset, length);
}
