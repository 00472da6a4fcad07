//! OpenMetrics 1.0 text, as the specification and its official parser test suite define it:
//! the line grammar (no blank lines, single spaces, a final `# EOF`), metadata before samples,
//! each family in one block, and the semantic rules of each type (checked while parsing, so
//! every caller gets them).
//!
//! One module per kind of line or rule: [`metadata`] (HELP, TYPE, UNIT lines), [`sample`]
//! and [`exemplar`] (sample lines), [`family`] (which family a line belongs to),
//! [`values`], [`grouping`] and [`histogram`] (what the samples of each type may hold).

mod exemplar;
mod family;
mod grouping;
mod histogram;
mod metadata;
mod sample;
mod values;

use crate::error::ParseError;
use crate::lines::lines;
use crate::model::Exposition;

/// Parses OpenMetrics 1.0 text.
///
/// ```
/// use redmetrics_parse::{MetricType, parse_openmetrics};
///
/// let e = parse_openmetrics(b"# TYPE jobs counter\njobs_total 3 # {trace_id=\"4bf9\"} 1\n# EOF\n")?;
/// assert_eq!(e.families[0].kind, MetricType::Counter);
/// assert!(e.families[0].samples[0].exemplar.is_some());
/// let e = parse_openmetrics(b"# TYPE jobs counter\njobs_total -1\n# EOF\n").unwrap_err();
/// assert_eq!(e.line, 2, "a counter never goes negative");
/// # Ok::<(), redmetrics_parse::ParseError>(())
/// ```
pub fn parse_openmetrics(input: &[u8]) -> Result<Exposition, ParseError> {
    let mut families = family::Families::default();
    let mut eof: Option<usize> = None;
    let mut last = 0;
    for line in lines(input) {
        let n = line.number;
        last = n;
        if let Some(eof) = eof {
            return Err(ParseError::new(
                n,
                format!("data after the `# EOF` of line {eof}"),
            ));
        }
        match line.bytes {
            b"# EOF" => eof = Some(n),
            [] => return Err(ParseError::new(n, "empty line: OpenMetrics allows none")),
            _ if !line.terminated => {
                return Err(ParseError::new(
                    n,
                    "the line does not end with a newline: the exposition must end with `# EOF`",
                ));
            }
            [b'#', ..] => {
                let m = metadata::lex(line.bytes).map_err(|m| ParseError::new(n, m))?;
                families.metadata(n, m)?;
            }
            _ => {
                let s = sample::lex(line.bytes).map_err(|m| ParseError::new(n, m))?;
                families.sample(n, s)?;
            }
        }
    }
    if eof.is_none() {
        return Err(ParseError::new(
            last + 1,
            "missing `# EOF` at the end of the exposition",
        ));
    }
    families.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use redmetrics_core::MetricType;

    #[test]
    fn reads_families_by_openmetrics_names() {
        let e = parse_openmetrics(
            b"# TYPE x counter\n# HELP x Things \\\"done\\\".\nx_total{a=\"1\"} 3 1700000000.5 # {trace_id=\"ab\"} 1\n# TYPE d_seconds histogram\n# UNIT d_seconds seconds\nd_seconds_bucket{le=\"+Inf\"} 1\nd_seconds_count 1\nd_seconds_sum 0.2\n# EOF\n",
        )
        .unwrap();
        let x = e.family("x").unwrap();
        assert_eq!((x.kind, x.samples.len()), (MetricType::Counter, 1));
        assert_eq!(x.help.as_deref(), Some("Things \"done\"."));
        assert_eq!(x.samples[0].exemplar.as_ref().unwrap().labels[0].1, "ab");
        assert_eq!(
            e.family("d_seconds").unwrap().unit.as_deref(),
            Some("seconds")
        );
    }

    #[test]
    fn says_which_line_breaks_which_rule() {
        let cases: [(&[u8], usize, &str); 13] = [
            (
                b"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_foo 1\n# EOF\n",
                2,
                "no `le=\"+Inf\"` bucket",
            ),
            (b"# TYPE x counter\nx_total 1\n", 3, "missing `# EOF`"),
            (b"# EOF\nx 1\n", 2, "data after"),
            (
                b"a 1\nb 1\na 2\n# EOF\n",
                3,
                "is taken by family \"a\" of line 1",
            ),
            (
                b"# TYPE x counter\nx 1\n# EOF\n",
                2,
                "does not fit the counter family",
            ),
            (
                b"# TYPE x_seconds gauge\n# UNIT x_seconds bytes\n# EOF\n",
                2,
                "not a suffix",
            ),
            (b"x 1\n\n# EOF\n", 2, "empty line"),
            (
                b"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n# EOF\n",
                3,
                "no `le=\"+Inf\"` bucket",
            ),
            (
                b"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n# EOF\n",
                3,
                "cumulative",
            ),
            (
                b"# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"2\"} 1\ng{a=\"1\"} 1\n# EOF\n",
                4,
                "split",
            ),
            (
                b"# TYPE g gauge\ng 1 # {a=\"1\"} 1\n# EOF\n",
                2,
                "exemplar on gauge sample `g`",
            ),
            (b"# TYPE i info\ni_info 2\n# EOF\n", 2, "always 1"),
            (
                b"# TYPE s summary\ns{quantile=\"2\"} 1\n# EOF\n",
                2,
                "from 0 to 1",
            ),
        ];
        for (input, line, expected) in cases {
            let e = parse_openmetrics(input).unwrap_err();
            assert!(
                e.line == line && e.message.contains(expected),
                "{}: {e} vs line {line}: {expected}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
