//! OpenMetrics 1.0 text: metadata before samples, contiguous families, type suffixes and
//! a final `# EOF`.

use super::line::Cursor;
use super::{Builder, Exposition, Kind, ParseError, help_text, lines};

/// The sample-name suffixes a family of `kind` may use.
fn suffixes(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Counter => &["_total", "_created"],
        Kind::Histogram => &["_bucket", "_count", "_sum", "_created"],
        Kind::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
        Kind::Summary => &["", "_count", "_sum", "_created"],
        Kind::Info => &["_info"],
        Kind::Gauge | Kind::StateSet | Kind::Unknown | Kind::Untyped => &[""],
    }
}

/// Parses OpenMetrics 1.0 text.
pub fn parse_openmetrics(input: &[u8]) -> Result<Exposition, ParseError> {
    let mut b = Builder::default();
    let mut current: Option<usize> = None;
    let mut eof_line: Option<usize> = None;
    let mut last = 0;
    for (n, raw, terminated) in lines(input) {
        last = n;
        if let Some(eof) = eof_line {
            return Err(ParseError::new(
                n,
                format!("data after the `# EOF` of line {eof}"),
            ));
        }
        if raw.is_empty() {
            return Err(ParseError::new(n, "empty line: OpenMetrics allows none"));
        }
        if raw == b"# EOF" {
            eof_line = Some(n);
            continue;
        }
        if !terminated {
            return Err(ParseError::new(n, "the line does not end with a newline"));
        }
        if raw[0] == b' ' || raw[0] == b'\t' {
            return Err(ParseError::new(
                n,
                "leading whitespace: OpenMetrics allows none",
            ));
        }
        if raw[0] == b'#' {
            let mut c = Cursor::new(raw);
            let _ = c.token(); // '#'
            if c.skip_blanks() != 1 {
                return Err(ParseError::new(
                    n,
                    "expected `# ` at the start of a metadata line",
                ));
            }
            let keyword = c.token();
            if !matches!(keyword, b"TYPE" | b"UNIT" | b"HELP") {
                return Err(ParseError::new(
                    n,
                    "only `# TYPE`, `# UNIT`, `# HELP` and `# EOF` lines may start with `#`",
                ));
            }
            if c.skip_blanks() != 1 {
                return Err(ParseError::new(n, "expected one space after the keyword"));
            }
            let name = c.metric_name();
            if name.is_empty() {
                return Err(ParseError::new(n, "invalid metric name in metadata"));
            }
            let text = if c.at_end() {
                Vec::new()
            } else if c.skip_blanks() != 1 {
                return Err(ParseError::new(
                    n,
                    "expected one space after the metric name",
                ));
            } else {
                c.rest().to_vec()
            };
            let i = match b.get(&name) {
                Some(i) if Some(i) == current => i,
                Some(_) => {
                    return Err(ParseError::new(
                        n,
                        format!("family {name:?} appears twice: families must not be interleaved"),
                    ));
                }
                None => b.create(&name, Kind::Unknown),
            };
            current = Some(i);
            let f = b.family_mut(i);
            if !f.samples.is_empty() {
                return Err(ParseError::new(
                    n,
                    format!("metadata for {name:?} after its samples"),
                ));
            }
            match keyword {
                b"TYPE" => {
                    if f.typed {
                        return Err(ParseError::new(n, format!("second TYPE line for {name:?}")));
                    }
                    f.kind = match text.as_slice() {
                        b"counter" => Kind::Counter,
                        b"gauge" => Kind::Gauge,
                        b"histogram" => Kind::Histogram,
                        b"gaugehistogram" => Kind::GaugeHistogram,
                        b"summary" => Kind::Summary,
                        b"info" => Kind::Info,
                        b"stateset" => Kind::StateSet,
                        b"unknown" => Kind::Unknown,
                        other => {
                            return Err(ParseError::new(
                                n,
                                format!("unknown metric type {:?}", String::from_utf8_lossy(other)),
                            ));
                        }
                    };
                    f.typed = true;
                }
                b"UNIT" => {
                    if f.unit.is_some() {
                        return Err(ParseError::new(n, format!("second UNIT line for {name:?}")));
                    }
                    let unit = String::from_utf8_lossy(&text).into_owned();
                    if !unit.is_empty() && !name.ends_with(&format!("_{unit}")) {
                        return Err(ParseError::new(
                            n,
                            format!("unit {unit:?} is not a suffix of the family name {name:?}"),
                        ));
                    }
                    f.unit = Some(unit);
                }
                _ => {
                    if f.help.is_some() {
                        return Err(ParseError::new(n, format!("second HELP line for {name:?}")));
                    }
                    f.help = Some(help_text(n, &text, true)?);
                }
            }
            continue;
        }
        let special = |_: &str| match current.map(|i| b.exposition.families[i].kind) {
            Some(Kind::Histogram | Kind::GaugeHistogram) => Some("le"),
            Some(Kind::Summary) => Some("quantile"),
            _ => None,
        };
        let lexed = Cursor::new(raw)
            .sample(true, special)
            .map_err(|m| ParseError::new(n, m))?;
        let rest = lexed.rest.trim();
        if !rest.is_empty() && !rest.starts_with("# {") {
            return Err(ParseError::new(
                n,
                format!("unexpected text after the sample: {:?}", lexed.rest),
            ));
        }
        let belongs = current.filter(|&i| {
            let f = &b.exposition.families[i];
            suffixes(f.kind).iter().any(|s| {
                lexed
                    .name
                    .strip_suffix(s)
                    .is_some_and(|base| base == f.name)
            })
        });
        let i = match belongs {
            Some(i) => i,
            None => {
                if let Some(f) = current.map(|i| &b.exposition.families[i])
                    && f.typed
                    && f.samples.is_empty()
                    && lexed.name.starts_with(&f.name)
                {
                    return Err(ParseError::new(
                        n,
                        format!(
                            "sample {:?} does not fit family {:?} of type {}: expected one of {:?}",
                            lexed.name,
                            f.name,
                            f.kind,
                            suffixes(f.kind)
                        ),
                    ));
                }
                if b.get(&lexed.name).is_some() {
                    return Err(ParseError::new(
                        n,
                        format!(
                            "family {:?} appears twice: families must not be interleaved",
                            lexed.name
                        ),
                    ));
                }
                b.create(&lexed.name, Kind::Unknown)
            }
        };
        current = Some(i);
        b.push(i, lexed.into_sample(n));
    }
    if eof_line.is_none() {
        return Err(ParseError::new(
            last + 1,
            "missing `# EOF` at the end of the exposition",
        ));
    }
    Ok(b.exposition)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_families_by_openmetrics_names() {
        let e = parse_openmetrics(
            b"# TYPE x counter\n# HELP x Things \\\"done\\\".\nx_total{a=\"1\"} 3 1700000000.5 # {trace_id=\"ab\"} 1\n# TYPE d_seconds histogram\n# UNIT d_seconds seconds\nd_seconds_bucket{le=\"+Inf\"} 1\nd_seconds_count 1\nd_seconds_sum 0.2\n# EOF\n",
        )
        .unwrap();
        let x = e.family("x").unwrap();
        assert_eq!((x.kind, x.samples.len()), (Kind::Counter, 1));
        assert_eq!(x.help.as_deref(), Some("Things \"done\"."));
        assert_eq!(
            e.family("d_seconds").unwrap().unit.as_deref(),
            Some("seconds")
        );
    }

    #[test]
    fn enforces_the_stricter_rules() {
        let cases: [(&[u8], &str); 6] = [
            (b"# TYPE x counter\nx_total 1\n", "missing `# EOF`"),
            (b"# EOF\nx 1\n", "data after"),
            (b"a 1\nb 1\na 2\n# EOF\n", "must not be interleaved"),
            (b"# TYPE x counter\nx 1\n# EOF\n", "does not fit family"),
            (
                b"# TYPE x_seconds gauge\n# UNIT x_seconds bytes\n# EOF\n",
                "not a suffix",
            ),
            (b"x 1\n\n# EOF\n", "empty line"),
        ];
        for (input, expected) in cases {
            let e = parse_openmetrics(input).unwrap_err().to_string();
            assert!(e.contains(expected), "{e} vs {expected}");
        }
    }
}
