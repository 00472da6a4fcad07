//! OpenMetrics 1.0 text.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{Escaping, FamilyName, series};
use crate::collect::{
    Desc, Exemplar, HistogramSample, LabelSet, MetricType, Sink, SummarySample, suffix,
};
use crate::labels::escape_help;
use crate::number::{write_f64, write_i64, write_u64};

/// Writes OpenMetrics 1.0: `# TYPE`, `# UNIT`, `# HELP` on the family name (a counter's name
/// without `_total`), samples with the type's suffixes, and `# EOF` at the end.
pub(crate) struct OpenMetricsSink<'a> {
    out: &'a mut Vec<u8>,
    /// The family name; a counter's samples add `_total`.
    name: FamilyName,
    /// The family's type: only counters, histograms and summaries get `_created`.
    kind: MetricType,
}

impl<'a> OpenMetricsSink<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            name: FamilyName::new(Escaping::Underscores),
            kind: MetricType::Unknown,
        }
    }

    /// Writes names as `escaping` asks.
    pub(crate) fn escaping(mut self, escaping: Escaping) -> Self {
        self.name = FamilyName::new(escaping);
        self
    }

    /// Ends the exposition.
    pub(crate) fn finish(self) {
        self.out.extend_from_slice(b"# EOF\n");
    }

    fn line_end(&mut self) {
        self.out.push(b'\n');
    }

    fn meta(&mut self, keyword: &[u8], value: &[u8]) {
        self.out.extend_from_slice(keyword);
        self.name.write_meta(self.out);
        self.out.push(b' ');
        self.out.extend_from_slice(value);
        self.out.push(b'\n');
    }
}

impl Sink for OpenMetricsSink<'_> {
    fn family(&mut self, desc: &Desc) {
        self.name.set(desc.family_name());
        self.kind = desc.kind();
        self.meta(b"# TYPE ", desc.kind().as_str().as_bytes());
        // OpenMetrics: "the unit MUST be a suffix of the MetricFamily name"; a quoted UTF-8
        // name (`"x.seconds"`) has none, so it goes without `# UNIT`.
        if let Some(unit) = desc.unit().filter(|u| self.name.ends_with_unit(u.as_str())) {
            self.meta(b"# UNIT ", unit.as_str().as_bytes());
        }
        let mut help = Vec::with_capacity(desc.help().len());
        escape_help(&mut help, desc.help(), true);
        self.meta(b"# HELP ", &help);
        debug_assert!(desc.kind() != MetricType::Counter || desc.name().ends_with(suffix::TOTAL));
    }

    fn counter(&mut self, labels: &LabelSet, value: u64) {
        self.counter_with_exemplar(labels, value, None);
    }

    fn counter_with_exemplar(
        &mut self,
        labels: &LabelSet,
        value: u64,
        exemplar: Option<&Exemplar>,
    ) {
        series(self.out, &self.name, suffix::TOTAL, labels, None);
        write_u64(self.out, value);
        if let Some(e) = exemplar {
            super::exemplar::write(self.out, e);
        }
        self.line_end();
    }

    fn counter_f64(&mut self, labels: &LabelSet, value: f64) {
        series(self.out, &self.name, suffix::TOTAL, labels, None);
        write_f64(self.out, value);
        self.line_end();
    }

    fn gauge(&mut self, labels: &LabelSet, value: f64) {
        series(self.out, &self.name, "", labels, None);
        write_f64(self.out, value);
        self.line_end();
    }

    fn gauge_i64(&mut self, labels: &LabelSet, value: i64) {
        series(self.out, &self.name, "", labels, None);
        write_i64(self.out, value);
        self.line_end();
    }

    fn histogram(&mut self, labels: &LabelSet, h: HistogramSample<'_>) {
        super::histogram(self.out, &self.name, labels, h, true);
    }

    fn summary(&mut self, labels: &LabelSet, s: SummarySample<'_>) {
        super::summary(self.out, &self.name, labels, s, true);
    }

    fn created(&mut self, labels: &LabelSet, at: SystemTime) {
        if !self.kind.has_created() {
            debug_assert!(false, "a start for a {} series", self.kind.as_str());
            return;
        }
        series(self.out, &self.name, suffix::CREATED, labels, None);
        write_timestamp(self.out, at);
        self.line_end();
    }
}

/// A timestamp in seconds with all nine decimals (`1700000000.045000000`): the specification
/// asks for no exponent where nanoseconds matter, and a float would round them. A time before
/// the Unix epoch is written as 0.
fn write_timestamp(out: &mut Vec<u8>, at: SystemTime) {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    write_u64(out, since.as_secs());
    let mut nanos = since.subsec_nanos();
    let mut digits = [b'0'; 10];
    digits[0] = b'.';
    for d in digits[1..].iter_mut().rev() {
        *d = b'0' + (nanos % 10) as u8;
        nanos /= 10;
    }
    out.extend_from_slice(&digits);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_keep_every_nanosecond() {
        let mut out = Vec::new();
        write_timestamp(
            &mut out,
            UNIX_EPOCH + Duration::new(1_700_000_000, 45_000_007),
        );
        assert_eq!(out, b"1700000000.045000007");
        out.clear();
        write_timestamp(&mut out, UNIX_EPOCH - Duration::from_secs(1));
        assert_eq!(out, b"0.000000000");
    }
}
