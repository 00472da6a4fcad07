//! Reading expositions: Prometheus text 0.0.4 and OpenMetrics 1.0, into families and samples.
//!
//! The text parser accepts and rejects what Prometheus' own parser (`expfmt`, used by
//! `promtool check metrics`) does, so the checker's verdict on a scrape matches the server's;
//! the OpenMetrics parser adds that format's stricter rules (`# EOF`, metadata before samples,
//! contiguous families, type suffixes). Written by hand: the Rust crates that parse
//! expositions are either lenient or unmaintained, and the checker needs line numbers.
//!
//! ```
//! use redmetrics::parse::{Kind, parse_text};
//!
//! let e = parse_text(b"# TYPE x counter\nx_total{a=\"1\"} 3\n").unwrap();
//! assert_eq!((e.families[0].name.as_str(), e.families[0].kind), ("x", Kind::Counter));
//! // In text 0.0.4 a counter's samples carry its exact name: `x_total` is another family.
//! assert_eq!((e.families[1].name.as_str(), e.families[1].kind), ("x_total", Kind::Untyped));
//! assert!(parse_text(b"x 1").is_err(), "the last line must end with a newline");
//! ```

mod line;
mod openmetrics;
mod text;

use std::collections::HashMap;
use std::fmt;

pub use openmetrics::parse_openmetrics;
pub use text::parse_text;

/// A family's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `histogram`
    Histogram,
    /// `summary`
    Summary,
    /// `untyped` (text) or no TYPE line.
    Untyped,
    /// OpenMetrics `gaugehistogram` (text: `gauge_histogram`).
    GaugeHistogram,
    /// OpenMetrics `info`.
    Info,
    /// OpenMetrics `stateset`.
    StateSet,
    /// OpenMetrics `unknown`.
    Unknown,
}

impl Kind {
    /// The type's name as the formats write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::Summary => "summary",
            Self::Untyped => "untyped",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Info => "info",
            Self::StateSet => "stateset",
            Self::Unknown => "unknown",
        }
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series name as written (`x_bucket`, `x_total`).
    pub name: String,
    /// Label pairs in written order, values unescaped.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
    /// The timestamp as written, if any.
    pub timestamp: Option<String>,
    /// 1-based line number.
    pub line: usize,
}

impl Sample {
    /// The value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A metric family with its metadata and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The family name (for OpenMetrics counters: without `_total`).
    pub name: String,
    /// Declared type; `Untyped` (text) or `Unknown` (OpenMetrics) without a TYPE line.
    pub kind: Kind,
    /// Whether a TYPE line declared the type.
    pub typed: bool,
    /// HELP text, unescaped.
    pub help: Option<String>,
    /// OpenMetrics UNIT.
    pub unit: Option<String>,
    /// Samples in written order.
    pub samples: Vec<Sample>,
}

impl Family {
    fn new(name: &str, kind: Kind) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            typed: false,
            help: None,
            unit: None,
            samples: Vec::new(),
        }
    }
}

/// A parsed exposition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// Families in order of first appearance.
    pub families: Vec<Family>,
    /// Families whose samples are split by another family's (`(family, line)` of the
    /// first sample that came back): text 0.0.4 parsers accept this, the format forbids it.
    pub interleaved: Vec<(String, usize)>,
}

impl Exposition {
    /// The family called `name`.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }

    /// Number of samples in all families.
    pub fn sample_count(&self) -> usize {
        self.families.iter().map(|f| f.samples.len()).sum()
    }
}

/// Why an exposition does not parse: where and what, in the words Prometheus uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl line::Lexed {
    /// The sample this line holds.
    fn into_sample(self, line: usize) -> Sample {
        Sample {
            name: self.name,
            labels: self.labels,
            value: self.value,
            timestamp: self.timestamp,
            line,
        }
    }
}

/// Collects families as lines arrive.
#[derive(Default)]
struct Builder {
    exposition: Exposition,
    index: HashMap<String, usize>,
    last_sampled: Option<usize>,
}

impl Builder {
    fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    fn create(&mut self, name: &str, kind: Kind) -> usize {
        let i = self.exposition.families.len();
        self.exposition.families.push(Family::new(name, kind));
        self.index.insert(name.to_owned(), i);
        i
    }

    fn push(&mut self, family: usize, sample: Sample) {
        let f = &mut self.exposition.families[family];
        if self.last_sampled != Some(family) && !f.samples.is_empty() {
            self.exposition
                .interleaved
                .push((f.name.clone(), sample.line));
        }
        f.samples.push(sample);
        self.last_sampled = Some(family);
    }

    fn family_mut(&mut self, i: usize) -> &mut Family {
        &mut self.exposition.families[i]
    }
}

/// Unescapes HELP text: `\\` and `\n` in both formats, `\"` in OpenMetrics only.
fn help_text(line: usize, raw: &[u8], quote: bool) -> Result<String, ParseError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b'n') => out.push(b'\n'),
            Some(b'"') if quote => out.push(b'"'),
            Some(&e) => {
                let escape = format!("invalid escape sequence '\\{}'", e as char);
                return Err(ParseError::new(line, escape));
            }
            None => return Err(ParseError::new(line, "unexpected end of input stream")),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Splits input into lines with 1-based numbers; the flag says the line ended with `\n`.
fn lines(input: &[u8]) -> impl Iterator<Item = (usize, &[u8], bool)> {
    let mut rest = input;
    let mut n = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        n += 1;
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                Some((n, line, true))
            }
            None => {
                let line = rest;
                rest = &[];
                Some((n, line, false))
            }
        }
    })
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: &str = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn text_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_text(&bytes);
            let _ = parse_openmetrics(&bytes);
        }

        #[test]
        fn mutated_expositions_never_panic(at in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
            let mut v = VALID.as_bytes().to_vec();
            let at = at % v.len();
            v[at] = byte;
            v.truncate(cut.max(1).min(v.len()));
            let _ = parse_text(&v);
            let mut om = v.clone();
            om.extend_from_slice(b"# EOF\n");
            let _ = parse_openmetrics(&om);
        }
    }
}
