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

pub use crate::name::Escaping;
pub use negotiate::{negotiate, negotiate_exposition};

use crate::collect::{HistogramSample, LabelSet, SummarySample, suffix};
use crate::labels::escape_label_value;
use crate::name::is_legacy;
use crate::number::{write_f64, write_u64};
use crate::registry::Registry;

/// An exposition format. New versions may be added, so match with a wildcard arm.
/// Example: [`encoding`](crate::encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// Prometheus text format 1.0.0 (`text/plain;version=1.0.0`, Prometheus 3's
    /// `PrometheusText1.0.0`): text 0.0.4 whose names may be quoted UTF-8.
    TextV1_0_0,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
    /// OpenMetrics text announced as version 0.0.1 (`OpenMetricsText0.0.1`), for scrapers
    /// that accept only that version: the same body as [`OpenMetrics`](Self::OpenMetrics).
    OpenMetricsV0_0_1,
    /// Prometheus' protobuf exposition (`io.prometheus.client.MetricFamily`, delimited): what
    /// Prometheus asks for first with `--enable-feature=native-histograms`, and the only
    /// format that carries native histograms.
    #[cfg(feature = "protobuf")]
    #[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
    Protobuf,
}

impl Format {
    /// The `Content-Type` header value for this format, without an `escaping=` parameter
    /// (see [`Exposition::content_type`] for the one a scrape is served with).
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain; version=0.0.4; charset=utf-8",
            Self::TextV1_0_0 => "text/plain; version=1.0.0; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Self::OpenMetricsV0_0_1 => "application/openmetrics-text; version=0.0.1; charset=utf-8",
            #[cfg(feature = "protobuf")]
            Self::Protobuf => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            }
        }
    }

    /// Whether the format's specification defines `escaping=`, so a response names its
    /// scheme whether or not the scraper asked (prometheus.io `content_negotiation`: "for
    /// text formats version 1.0.0 and above, the escaping scheme parameter").
    fn announces_escaping(self) -> bool {
        matches!(self, Self::TextV1_0_0 | Self::OpenMetrics)
    }
}

/// What one scrape is served: a format and how names outside the legacy character set are
/// written. [`negotiate_exposition`] derives it from an `Accept` header.
///
/// ```
/// use redmetrics::encoding::{Escaping, Exposition, Format};
///
/// let e = Exposition::new(Format::TextV1_0_0, Escaping::AllowUtf8);
/// assert_eq!(e.content_type(), "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8");
/// assert_eq!(Exposition::from(Format::Text).content_type(), "text/plain; version=0.0.4; charset=utf-8");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposition {
    /// The format.
    pub format: Format,
    /// How names are escaped.
    pub escaping: Escaping,
    /// Whether the scraper named a scheme (so the response names it back).
    asked: bool,
}

impl Exposition {
    /// `format` with names escaped by `escaping`, the scheme named in the `Content-Type`.
    pub fn new(format: Format, escaping: Escaping) -> Self {
        Self {
            format,
            escaping,
            asked: true,
        }
    }

    /// The `Content-Type` header value: the format's, plus `escaping=` when the format
    /// defines it or the scraper asked for a scheme.
    pub fn content_type(&self) -> String {
        let base = self.format.content_type();
        if self.asked || self.format.announces_escaping() {
            format!("{base}; escaping={}", self.escaping)
        } else {
            base.to_owned()
        }
    }
}

impl From<Format> for Exposition {
    /// `format` for a scraper that named no scheme: legacy names ([`Escaping::Underscores`]).
    fn from(format: Format) -> Self {
        Self {
            format,
            escaping: Escaping::Underscores,
            asked: false,
        }
    }
}

/// Renders every family of `registry` in `format`, names escaped for a scraper without
/// UTF-8 ([`Escaping::Underscores`]).
/// Example: [`encoding`](crate::encoding).
pub fn encode(registry: &Registry, format: Format) -> Vec<u8> {
    encode_as(registry, format.into())
}

/// Renders every family of `registry` as `exposition` says (format and escaping).
///
/// ```
/// use redmetrics::{Registry, collect::{Desc, LabelSet, MetricType, Sink, Collect}};
/// use redmetrics::encoding::{Escaping, Exposition, Format, encode_as};
///
/// struct Entries;
/// impl Collect for Entries {
///     fn descs(&self) -> Vec<Desc> {
///         vec![Desc::utf8("demo.cache.entries", "Entries.", MetricType::Gauge).unwrap()]
///     }
///     fn collect(&self, sink: &mut dyn Sink) {
///         sink.family(&self.descs()[0]);
///         sink.gauge(LabelSet::empty(), 3.0);
///     }
/// }
/// let registry = Registry::new();
/// registry.register(Entries).unwrap();
/// let utf8 = encode_as(&registry, Exposition::new(Format::TextV1_0_0, Escaping::AllowUtf8));
/// assert!(String::from_utf8(utf8).unwrap().contains("{\"demo.cache.entries\"} 3\n"));
/// let legacy = encode_as(&registry, Format::Text.into());
/// assert!(String::from_utf8(legacy).unwrap().contains("\ndemo_cache_entries 3\n"));
/// ```
pub fn encode_as(registry: &Registry, exposition: Exposition) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * 1024);
    encode_into_as(registry, exposition, &mut out);
    out
}

/// Renders every family of `registry` in `format`, appending to `out`.
/// Example: [`encoding`](crate::encoding).
pub fn encode_into(registry: &Registry, format: Format, out: &mut Vec<u8>) {
    encode_into_as(registry, format.into(), out);
}

/// Renders every family of `registry` as `exposition` says, appending to `out`.
/// Example: [`encode_as`].
pub fn encode_into_as(registry: &Registry, exposition: Exposition, out: &mut Vec<u8>) {
    let escaping = exposition.escaping;
    match exposition.format {
        Format::Text | Format::TextV1_0_0 => {
            registry.collect(&mut text::TextSink::new(out).escaping(escaping));
        }
        Format::OpenMetrics | Format::OpenMetricsV0_0_1 => {
            let mut sink = openmetrics::OpenMetricsSink::new(out).escaping(escaping);
            registry.collect(&mut sink);
            sink.finish();
        }
        #[cfg(feature = "protobuf")]
        Format::Protobuf => {
            let mut sink = protobuf::ProtobufSink::new(out).escaping(escaping);
            registry.collect(&mut sink);
            sink.finish();
        }
    }
}

/// A family's name as one exposition writes it: escaped for the scheme, and quoted (with
/// `"`, `\` and newlines escaped) when the scheme allows UTF-8 and the name needs it.
#[derive(Debug, Default)]
pub(crate) struct FamilyName {
    text: String,
    quoted: bool,
    escaping: Escaping,
}

impl FamilyName {
    pub(crate) fn new(escaping: Escaping) -> Self {
        Self {
            escaping,
            ..Self::default()
        }
    }

    /// Sets the name for the next family.
    pub(crate) fn set(&mut self, name: &str) {
        self.set_with_suffix(name, "");
    }

    /// Sets the name for the next family to `base` escaped, then `suffix` (legacy
    /// characters, left as they are: a counter's `_total` reads the same in text and
    /// OpenMetrics, which appends it to the family name).
    pub(crate) fn set_with_suffix(&mut self, base: &str, suffix: &str) {
        self.text.clear();
        self.quoted = self.escaping == Escaping::AllowUtf8 && !is_legacy(base);
        if self.quoted {
            escape_label_value(&mut self.text, base);
        } else if is_legacy(base) && self.escaping != Escaping::Dots {
            self.text.push_str(base);
        } else {
            self.escaping.escape_into(&mut self.text, base);
        }
        self.text.push_str(suffix);
    }

    /// Whether the written name ends in `_<unit>`.
    pub(crate) fn ends_with_unit(&self, unit: &str) -> bool {
        self.text
            .strip_suffix(unit)
            .is_some_and(|rest| rest.ends_with('_'))
    }

    /// The name as a `# HELP`/`# TYPE`/`# UNIT` line writes it.
    pub(crate) fn write_meta(&self, out: &mut Vec<u8>) {
        if self.quoted {
            out.push(b'"');
            out.extend_from_slice(self.text.as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(self.text.as_bytes());
        }
    }
}

/// Appends a label set's rendered pairs (`text`, `quoted` when a name is not legacy-valid)
/// with names as `escaping` writes them.
#[inline]
fn write_labels(out: &mut Vec<u8>, text: &str, quoted: bool, escaping: Escaping) {
    let plain = match escaping {
        Escaping::AllowUtf8 => true,
        Escaping::Underscores | Escaping::Values => !quoted,
        Escaping::Dots => false,
    };
    if plain {
        out.extend_from_slice(text.as_bytes());
    } else {
        crate::labels::write_escaped(out, text, escaping);
    }
}

/// Writes a histogram's bucket lines, then `_count` and `_sum` in the order the format uses.
fn histogram(
    out: &mut Vec<u8>,
    name: &FamilyName,
    labels: &LabelSet,
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
fn summary(
    out: &mut Vec<u8>,
    name: &FamilyName,
    labels: &LabelSet,
    s: SummarySample<'_>,
    count_first: bool,
) {
    for (q, &v) in s.quantile_labels.iter().zip(s.quantiles) {
        series(out, name, "", labels, Some(("quantile", q)));
        write_f64(out, v);
        out.push(b'\n');
    }
    sum_and_count(out, name, labels, s.sum, s.count, count_first);
}

/// `count_first` is OpenMetrics' order, and OpenMetrics forbids a NaN or negative sum (1.0:
/// "Sum ... MUST NOT be NaN or negative"; with negative observations "the Histogram
/// MetricPoint MUST NOT contain a sum"), while its parsers want `_count` and `_sum` together:
/// there such a series is written without both (a histogram's `+Inf` bucket still counts).
/// Text keeps both.
fn sum_and_count(
    out: &mut Vec<u8>,
    name: &FamilyName,
    labels: &LabelSet,
    sum: f64,
    count: u64,
    count_first: bool,
) {
    let write_sum = |out: &mut Vec<u8>| {
        series(out, name, suffix::SUM, labels, None);
        write_f64(out, sum);
        out.push(b'\n');
    };
    if count_first {
        if sum.is_nan() || sum < 0.0 {
            return;
        }
    } else {
        write_sum(out);
    }
    series(out, name, suffix::COUNT, labels, None);
    write_u64(out, count);
    out.push(b'\n');
    if count_first {
        write_sum(out);
    }
}

/// Writes `name[suffix]{labels[,extra]} ` (with the trailing space) for one sample line; a
/// quoted name goes inside the braces: `{"name[suffix]",labels} `.
fn series(
    out: &mut Vec<u8>,
    name: &FamilyName,
    suffix: &str,
    labels: &LabelSet,
    extra: Option<(&str, &str)>,
) {
    let (text, quoted) = labels.parts();
    let empty = text.is_empty();
    if name.quoted {
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(name.text.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        out.push(b'"');
        if !empty || extra.is_some() {
            out.push(b',');
        }
    } else {
        out.extend_from_slice(name.text.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
    }
    match (empty && !name.quoted, extra) {
        (true, None) => {}
        (_, extra) => {
            if !name.quoted {
                out.push(b'{');
            }
            write_labels(out, text, quoted, name.escaping);
            if let Some((k, v)) = extra {
                if !empty {
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
