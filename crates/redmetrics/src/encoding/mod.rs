//! Exposition formats: Prometheus text 0.0.4, OpenMetrics 1.0 and (feature `protobuf`)
//! Prometheus' delimited protobuf, one module each.
//!
//! Both are written by hand into one growing buffer: a scrape is a walk over the registry with
//! pre-rendered label sets, a `memcpy` and a number per sample line. Which format a scrape
//! gets follows its `Accept` header ([`negotiate`]); Prometheus 2.42 prefers OpenMetrics.
//!
//! ```
//! use redmetrics::{Registry, encoding::{self, Format}, metrics::Counter};
//!
//! let registry = Registry::new();
//! registry.family::<Counter, 0>("jobs_total", "Jobs done.", [], ()).unwrap().with([]).inc();
//! let text = String::from_utf8(encoding::encode(&registry, Format::Text)).unwrap();
//! assert!(text.contains("# TYPE jobs_total counter\njobs_total 1\n"));
//! let om = String::from_utf8(encoding::encode(&registry, Format::OpenMetrics)).unwrap();
//! assert!(om.contains("# TYPE jobs counter\n") && om.ends_with("# EOF\n"));
//! ```

mod exemplar;
mod negotiate;
mod openmetrics;
#[cfg(feature = "protobuf")]
mod protobuf;
mod text;

pub use negotiate::negotiate;

use crate::collect::{HistogramSample, SummarySample, suffix};
use crate::number::{write_f64, write_u64};
use crate::registry::Registry;

/// An exposition format.
/// Example: [`encoding`](crate::encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
    /// Prometheus' protobuf exposition (`io.prometheus.client.MetricFamily`, delimited): what
    /// Prometheus asks for first with `--enable-feature=native-histograms`, and the only
    /// format that carries native histograms.
    #[cfg(feature = "protobuf")]
    #[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
    Protobuf,
}

impl Format {
    /// The `Content-Type` header value for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            #[cfg(feature = "protobuf")]
            Self::Protobuf => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            }
        }
    }
}

/// Renders every family of `registry` in `format`.
/// Example: [`encoding`](crate::encoding).
pub fn encode(registry: &Registry, format: Format) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * 1024);
    encode_into(registry, format, &mut out);
    out
}

/// Renders every family of `registry` in `format`, appending to `out`.
/// Example: [`encoding`](crate::encoding).
pub fn encode_into(registry: &Registry, format: Format, out: &mut Vec<u8>) {
    match format {
        Format::Text => registry.collect(&mut text::TextSink::new(out)),
        Format::OpenMetrics => {
            let mut sink = openmetrics::OpenMetricsSink::new(out);
            registry.collect(&mut sink);
            sink.finish();
        }
        #[cfg(feature = "protobuf")]
        Format::Protobuf => {
            let mut sink = protobuf::ProtobufSink::new(out);
            registry.collect(&mut sink);
            sink.finish();
        }
    }
}

/// Writes a histogram's bucket lines, then `_count` and `_sum` in the order the format uses.
fn histogram(
    out: &mut Vec<u8>,
    name: &str,
    labels: &str,
    h: HistogramSample<'_>,
    count_first: bool,
) {
    for (i, (le, &count)) in h.le.iter().zip(h.cumulative).enumerate() {
        series(out, name, suffix::BUCKET, labels, Some(("le", le)));
        write_u64(out, count);
        if let Some(Some(e)) = h.exemplars.and_then(|x| x.get(i)) {
            exemplar::write(out, e);
        }
        out.push(b'\n');
    }
    sum_and_count(
        out,
        name,
        labels,
        h.sum,
        h.cumulative.last().copied().unwrap_or(0),
        count_first,
    );
}

/// Writes a summary's quantile lines, then `_count` and `_sum` in the order the format uses.
fn summary(out: &mut Vec<u8>, name: &str, labels: &str, s: SummarySample<'_>, count_first: bool) {
    for (q, &v) in s.quantile_labels.iter().zip(s.quantiles) {
        series(out, name, "", labels, Some(("quantile", q)));
        write_f64(out, v);
        out.push(b'\n');
    }
    sum_and_count(out, name, labels, s.sum, s.count, count_first);
}

fn sum_and_count(
    out: &mut Vec<u8>,
    name: &str,
    labels: &str,
    sum: f64,
    count: u64,
    count_first: bool,
) {
    let write_sum = |out: &mut Vec<u8>| {
        series(out, name, suffix::SUM, labels, None);
        write_f64(out, sum);
        out.push(b'\n');
    };
    if !count_first {
        write_sum(out);
    }
    series(out, name, suffix::COUNT, labels, None);
    write_u64(out, count);
    out.push(b'\n');
    if count_first {
        write_sum(out);
    }
}

/// Writes `name[suffix]{labels[,extra]} ` (with the trailing space) for one sample line.
fn series(out: &mut Vec<u8>, name: &str, suffix: &str, labels: &str, extra: Option<(&str, &str)>) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    match (labels.is_empty(), extra) {
        (true, None) => {}
        (_, extra) => {
            out.push(b'{');
            out.extend_from_slice(labels.as_bytes());
            if let Some((k, v)) = extra {
                if !labels.is_empty() {
                    out.push(b',');
                }
                out.extend_from_slice(k.as_bytes());
                out.extend_from_slice(b"=\"");
                out.extend_from_slice(v.as_bytes());
                out.push(b'"');
            }
            out.push(b'}');
        }
    }
    out.push(b' ');
}
