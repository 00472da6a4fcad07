//! Text format 0.0.4, with `expfmt`'s acceptance rules.

use super::line::Cursor;
use super::{Builder, Exposition, Kind, ParseError, help_text, lines};

/// `x_count`/`x_sum` of a summary, `x_bucket`/`x_count`/`x_sum` of a histogram, else `x`.
fn family_of(b: &Builder, name: &str) -> Option<usize> {
    if let Some(i) = b.get(name) {
        return Some(i);
    }
    let strip = |suffixes: &[&str]| {
        suffixes
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|base| !base.is_empty()))
    };
    if let Some(i) = strip(&["_count", "_sum"]).and_then(|base| b.get(base))
        && b.exposition.families[i].kind == Kind::Summary
    {
        return Some(i);
    }
    if let Some(i) = strip(&["_count", "_sum", "_bucket"]).and_then(|base| b.get(base))
        && b.exposition.families[i].kind == Kind::Histogram
    {
        return Some(i);
    }
    None
}

fn family_or_create(b: &mut Builder, name: &str) -> usize {
    match family_of(b, name) {
        Some(i) => i,
        None => b.create(name, Kind::Untyped),
    }
}

/// Parses text format 0.0.4.
pub fn parse_text(input: &[u8]) -> Result<Exposition, ParseError> {
    let mut b = Builder::default();
    // Families without a TYPE line get one implicitly with their first sample.
    let mut has_type: Vec<bool> = Vec::new();
    for (n, raw, terminated) in lines(input) {
        let mut c = Cursor::new(raw);
        c.skip_blanks();
        if c.at_end() {
            continue;
        }
        if !terminated {
            return Err(ParseError::new(n, "unexpected end of input stream"));
        }
        match c.peek() {
            Some(b'#') => {
                let mut c =
                    Cursor::new(&raw[raw.iter().position(|&x| x == b'#').unwrap_or(0) + 1..]);
                c.skip_blanks();
                let keyword = c.token();
                if c.at_end() || (keyword != b"HELP" && keyword != b"TYPE") {
                    continue;
                }
                c.skip_blanks();
                let name = c.metric_name();
                if c.at_end() {
                    continue;
                }
                if c.skip_blanks() == 0 {
                    return Err(ParseError::new(n, "invalid metric name in comment"));
                }
                let i = family_or_create(&mut b, &name);
                has_type.resize(b.exposition.families.len(), false);
                if c.at_end() {
                    continue;
                }
                let rest = c.rest();
                let f = b.family_mut(i);
                if keyword == b"HELP" {
                    if f.help.is_some() {
                        return Err(ParseError::new(
                            n,
                            format!("second HELP line for metric name {:?}", f.name),
                        ));
                    }
                    f.help = Some(help_text(n, rest, false)?);
                } else {
                    if has_type[i] {
                        return Err(ParseError::new(
                            n,
                            format!(
                                "second TYPE line for metric name {:?}, or TYPE reported after samples",
                                f.name
                            ),
                        ));
                    }
                    let word = String::from_utf8_lossy(rest).to_ascii_lowercase();
                    f.kind = match word.as_str() {
                        "counter" => Kind::Counter,
                        "gauge" => Kind::Gauge,
                        "histogram" => Kind::Histogram,
                        "summary" => Kind::Summary,
                        "untyped" => Kind::Untyped,
                        "gauge_histogram" => Kind::GaugeHistogram,
                        _ => {
                            return Err(ParseError::new(
                                n,
                                format!("unknown metric type {:?}", String::from_utf8_lossy(rest)),
                            ));
                        }
                    };
                    f.typed = true;
                    has_type[i] = true;
                }
            }
            Some(b'{') => return Err(ParseError::new(n, "invalid metric name")),
            _ => {
                let special =
                    |name: &str| match family_of(&b, name).map(|i| b.exposition.families[i].kind) {
                        Some(Kind::Histogram) => Some("le"),
                        Some(Kind::Summary) => Some("quantile"),
                        _ => None,
                    };
                let lexed = c
                    .sample(false, special)
                    .map_err(|m| ParseError::new(n, m))?;
                if !lexed.rest.is_empty() {
                    return Err(ParseError::new(
                        n,
                        format!("spurious string after timestamp: {:?}", lexed.rest),
                    ));
                }
                let i = family_or_create(&mut b, &lexed.name);
                has_type.resize(b.exposition.families.len(), false);
                // A sample fixes the type: a later TYPE line is an error.
                has_type[i] = true;
                b.push(i, lexed.into_sample(n));
            }
        }
    }
    Ok(b.exposition)
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
        assert_eq!(h.kind, Kind::Histogram);
        assert_eq!(h.help.as_deref(), Some("Latency.\nIn seconds."));
        assert_eq!(h.samples.len(), 3);
        assert_eq!(
            e.family("other").unwrap().samples[0].timestamp.as_deref(),
            Some("1700000000000")
        );
    }

    #[test]
    fn mirrors_expfmt_errors() {
        let cases: [(&[u8], &str); 8] = [
            (b"foo 1 2 3\n", "spurious string after timestamp"),
            (b"foo 1 2 \n", "spurious string after timestamp"),
            (b"# HELP x a\n# HELP x b\n", "line 2: second HELP line"),
            (b"x 1\n# TYPE x counter\n", "line 2: second TYPE line"),
            (b"# TYPE x countr\n", "line 1: unknown metric type"),
            (b"x 1\ny 2", "line 2: unexpected end of input stream"),
            (b"# HELP x a\\tb\n", "invalid escape sequence"),
            (b"#HELP x-y z\n", "invalid metric name in comment"),
        ];
        for (input, expected) in cases {
            let e = parse_text(input).unwrap_err().to_string();
            assert!(
                e.starts_with(expected) || e.contains(expected),
                "{e} vs {expected}"
            );
        }
    }

    #[test]
    fn records_interleaving() {
        let e = parse_text(b"a 1\nb 1\na{x=\"2\"} 2\n").unwrap();
        assert_eq!(e.interleaved, vec![("a".to_owned(), 3)]);
    }
}
