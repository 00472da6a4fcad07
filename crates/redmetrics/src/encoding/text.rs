//! Prometheus text format 0.0.4.

use super::{Escaping, FamilyName, series};
use crate::collect::{Desc, HistogramSample, LabelSet, MetricType, Sink, SummarySample, suffix};
use crate::labels::escape_help;
use crate::number::{write_f64, write_i64, write_u64};

/// Writes text 0.0.4: `# HELP`, `# TYPE`, then samples named as in PromQL.
pub(crate) struct TextSink<'a> {
    out: &'a mut Vec<u8>,
    name: FamilyName,
}

impl<'a> TextSink<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            name: FamilyName::new(Escaping::Underscores),
        }
    }

    /// Writes names as `escaping` asks.
    pub(crate) fn escaping(mut self, escaping: Escaping) -> Self {
        self.name = FamilyName::new(escaping);
        self
    }

    fn line_end(&mut self) {
        self.out.push(b'\n');
    }
}

impl Sink for TextSink<'_> {
    fn family(&mut self, desc: &Desc) {
        match desc.kind() {
            MetricType::Counter => self.name.set_with_suffix(desc.family_name(), suffix::TOTAL),
            _ => self.name.set(desc.name()),
        }
        let out = &mut *self.out;
        out.extend_from_slice(b"# HELP ");
        self.name.write_meta(out);
        out.push(b' ');
        escape_help(out, desc.help(), false);
        out.extend_from_slice(b"\n# TYPE ");
        self.name.write_meta(out);
        out.push(b' ');
        out.extend_from_slice(desc.kind().as_str().as_bytes());
        out.push(b'\n');
    }

    fn counter(&mut self, labels: &LabelSet, value: u64) {
        series(self.out, &self.name, "", labels, None);
        write_u64(self.out, value);
        self.line_end();
    }

    fn counter_f64(&mut self, labels: &LabelSet, value: f64) {
        series(self.out, &self.name, "", labels, None);
        write_f64(self.out, value);
        self.line_end();
    }

    fn gauge(&mut self, labels: &LabelSet, value: f64) {
        self.counter_f64(labels, value);
    }

    fn gauge_i64(&mut self, labels: &LabelSet, value: i64) {
        series(self.out, &self.name, "", labels, None);
        write_i64(self.out, value);
        self.line_end();
    }

    fn histogram(&mut self, labels: &LabelSet, h: HistogramSample<'_>) {
        // Text 0.0.4 has no exemplars.
        let h = HistogramSample {
            exemplars: None,
            ..h
        };
        super::histogram(self.out, &self.name, labels, h, false);
    }

    fn summary(&mut self, labels: &LabelSet, s: SummarySample<'_>) {
        super::summary(self.out, &self.name, labels, s, false);
    }
}
