//! Text format 0.0.4 with the acceptance rules of Prometheus' own parser (`expfmt`, which
//! `promtool check metrics` runs): comments anywhere, HELP and TYPE lines, samples grouped
//! into families by name and type suffix.

mod sample;

use std::collections::HashMap;

use crate::budget::{DecodeBudget, Spending, sample_tally};
use crate::error::ParseError;
use crate::escape::{Dialect, help_text};
use crate::lex::Cursor;
use crate::lines::lines;
use crate::model::{Exposition, Family, Sample};
use crate::suffix::{self, Part};
use redmetrics_core::MetricType;

/// Collects families as lines arrive, charging each sample to the decoding budget.
struct Builder {
    spending: Spending,
    exposition: Exposition,
    index: HashMap<String, usize>,
    /// Families whose type is fixed: by a TYPE line, or implicitly by a first sample.
    typed: Vec<bool>,
    last_sampled: Option<usize>,
}

impl Builder {
    /// `x_count`/`x_sum` of a summary, `x_bucket`/`x_count`/`x_sum` of a histogram, else `x`.
    fn family_of(&self, name: &str) -> Option<usize> {
        if let Some(&i) = self.index.get(name) {
            return Some(i);
        }
        let base_of = |parts: &[Part], kind: MetricType| {
            parts
                .iter()
                .find_map(|&p| suffix::family_of(kind, p, name))
                .and_then(|base| self.index.get(base).copied())
                .filter(|&i| self.exposition.families[i].kind == kind)
        };
        // Text 0.0.4 knows no `_created`: Prometheus' parser reads it as a family of its own.
        base_of(&[Part::Count, Part::Sum], MetricType::Summary).or_else(|| {
            base_of(
                &[Part::Count, Part::Sum, Part::Bucket],
                MetricType::Histogram,
            )
        })
    }

    fn family_or_create(&mut self, name: &str) -> usize {
        if let Some(i) = self.family_of(name) {
            return i;
        }
        let i = self.exposition.families.len();
        self.exposition
            .families
            .push(Family::new(name, MetricType::Unknown));
        self.index.insert(name.to_owned(), i);
        self.typed.push(false);
        i
    }

    fn push(&mut self, family: usize, sample: Sample) -> Result<(), ParseError> {
        let cost = sample_tally(
            &sample.name,
            sample.labels.iter(),
            sample.timestamp.as_ref().map_or(0, String::len),
            2,
        );
        self.spending
            .spend(&cost)
            .map_err(|m| ParseError::budget(sample.line, m))?;
        let f = &mut self.exposition.families[family];
        if self.last_sampled != Some(family) && !f.samples.is_empty() {
            self.exposition
                .interleaved
                .push((f.name.clone(), sample.line));
        }
        f.samples.push(sample);
        // A sample fixes the type: a later TYPE line is an error.
        self.typed[family] = true;
        self.last_sampled = Some(family);
        Ok(())
    }

    /// A `# HELP` or `# TYPE` line's text for family `i`.
    fn metadata(
        &mut self,
        line: usize,
        i: usize,
        help: bool,
        text: &[u8],
    ) -> Result<(), ParseError> {
        let f = &mut self.exposition.families[i];
        if help {
            if f.help.is_some() {
                return Err(ParseError::new(
                    line,
                    format!("second HELP line for metric name {:?}", f.name),
                ));
            }
            let help = help_text(text, Dialect::Text).map_err(|m| ParseError::new(line, m))?;
            f.help = Some(String::from_utf8_lossy(&help).into_owned());
            return Ok(());
        }
        if self.typed[i] {
            return Err(ParseError::new(
                line,
                format!(
                    "second TYPE line for metric name {:?}, or TYPE reported after samples",
                    f.name
                ),
            ));
        }
        f.kind = match text.to_ascii_lowercase().as_slice() {
            b"counter" => MetricType::Counter,
            b"gauge" => MetricType::Gauge,
            b"histogram" => MetricType::Histogram,
            b"summary" => MetricType::Summary,
            b"untyped" => MetricType::Unknown,
            b"gauge_histogram" => MetricType::GaugeHistogram,
            _ => {
                return Err(ParseError::new(
                    line,
                    format!("unknown metric type {:?}", String::from_utf8_lossy(text)),
                ));
            }
        };
        f.typed = true;
        self.typed[i] = true;
        Ok(())
    }
}

/// Parses text format 0.0.4, accepting exactly what Prometheus 2.42's parser accepts.
///
/// ```
/// use redmetrics_parse::parse_text;
///
/// let e = parse_text(b"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 1\n")?;
/// assert_eq!(e.families[0].samples.len(), 3, "suffixed samples join their family");
/// let e = parse_text(b"ok 1\nbad{a=\"\\t\"} 1\n").unwrap_err();
/// assert_eq!((e.line, e.message.as_str()), (2, "invalid escape sequence '\\t'"));
/// # Ok::<(), redmetrics_parse::ParseError>(())
/// ```
pub fn parse_text(input: &[u8]) -> Result<Exposition, ParseError> {
    let mut b = Builder {
        spending: Spending::new(DecodeBudget::DEFAULT),
        exposition: Exposition::default(),
        index: HashMap::new(),
        typed: Vec::new(),
        last_sampled: None,
    };
    for line in lines(input) {
        let n = line.number;
        let mut c = Cursor::new(line.bytes);
        c.skip_blanks();
        if c.at_end() {
            continue;
        }
        if !line.terminated {
            return Err(ParseError::new(n, "unexpected end of input stream"));
        }
        match c.peek() {
            Some(b'#') => comment(&mut b, n, line.bytes)?,
            _ => {
                let special =
                    |name: &str| match b.family_of(name).map(|i| b.exposition.families[i].kind) {
                        Some(MetricType::Histogram) => Some("le"),
                        Some(MetricType::Summary) => Some("quantile"),
                        _ => None,
                    };
                let lexed = sample::lex(&mut c, special).map_err(|m| ParseError::new(n, m))?;
                let i = b.family_or_create(&lexed.name);
                b.push(
                    i,
                    Sample {
                        name: lexed.name,
                        labels: lexed.labels,
                        value: lexed.value,
                        timestamp: lexed.timestamp,
                        exemplar: None,
                        line: n,
                    },
                )?;
            }
        }
    }
    Ok(b.exposition)
}

/// A line starting with `#`: HELP and TYPE lines are metadata, anything else a comment.
fn comment(b: &mut Builder, n: usize, raw: &[u8]) -> Result<(), ParseError> {
    let hash = raw.iter().position(|&x| x == b'#').unwrap_or(0);
    let mut c = Cursor::new(&raw[hash + 1..]);
    c.skip_blanks();
    let keyword = c.token();
    if c.at_end() || (keyword != b"HELP" && keyword != b"TYPE") {
        return Ok(());
    }
    c.skip_blanks();
    let name = c.metric_name();
    if c.at_end() {
        return Ok(());
    }
    if c.skip_blanks() == 0 {
        return Err(ParseError::new(n, "invalid metric name in comment"));
    }
    let i = b.family_or_create(&name);
    if c.at_end() {
        return Ok(());
    }
    b.metadata(n, i, keyword == b"HELP", c.rest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_histogram_samples_and_reads_metadata() {
        let e = parse_text(
            b"# HELP h Latency.\\nIn seconds.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n# a comment\n\nother 1 1700000000000\n",
        )
        .unwrap();
        let h = e.family("h").unwrap();
        assert_eq!(h.kind, MetricType::Histogram);
        assert_eq!(h.help.as_deref(), Some("Latency.\nIn seconds."));
        assert_eq!(h.samples.len(), 3);
        assert_eq!(
            e.family("other").unwrap().samples[0].timestamp.as_deref(),
            Some("1700000000000")
        );
    }

    #[test]
    fn mirrors_expfmt_errors() {
        let cases: [(&[u8], &str); 9] = [
            (b"foo 1 2 3\n", "spurious string after timestamp"),
            (b"foo 1 2 \n", "spurious string after timestamp"),
            (b"# HELP x a\n# HELP x b\n", "line 2: second HELP line"),
            (b"x 1\n# TYPE x counter\n", "line 2: second TYPE line"),
            (b"# TYPE x countr\n", "line 1: unknown metric type"),
            (b"x 1\ny 2", "line 2: unexpected end of input stream"),
            (b"# HELP x a\\tb\n", "invalid escape sequence"),
            (b"#HELP x-y z\n", "invalid metric name in comment"),
            (b"x 1\ny 1e310\n", "line 2: expected float as value"),
        ];
        for (input, expected) in cases {
            let e = parse_text(input).unwrap_err().to_string();
            assert!(e.contains(expected), "{e} vs {expected}");
        }
    }

    #[test]
    fn records_interleaving() {
        let e = parse_text(b"a 1\nb 1\na{x=\"2\"} 2\n").unwrap();
        assert_eq!(e.interleaved, vec![("a".to_owned(), 3)]);
    }
}
