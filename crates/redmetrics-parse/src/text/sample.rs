//! A text 0.0.4 sample line, as Prometheus' parser reads it: blanks (spaces or tabs) between
//! the parts, a float value, an optional integer timestamp in milliseconds, nothing after.

use crate::escape::Dialect;
use crate::lex::{Cursor, Labels};
use crate::number::parse_number;

/// A lexed sample line.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Lexed {
    pub(super) name: String,
    pub(super) labels: Labels,
    pub(super) value: f64,
    pub(super) timestamp: Option<String>,
}

/// Lexes a whole sample line. `special` names the label the sample's family type adds
/// (`le`, `quantile`), given the sample name.
pub(super) fn lex(
    c: &mut Cursor<'_>,
    special: impl FnOnce(&str) -> Option<&'static str>,
) -> Result<Lexed, String> {
    c.skip_blanks();
    let (name, labels) = if c.peek() == Some(b'{') {
        let named = c.braced_sample(Dialect::Text, special)?;
        c.skip_blanks();
        named
    } else {
        let name = c.metric_name();
        if name.is_empty() {
            return Err("invalid metric name".into());
        }
        c.skip_blanks();
        let labels = if c.peek() == Some(b'{') {
            let l = c.labels(Dialect::Text, &name, special(&name))?;
            c.skip_blanks();
            l
        } else {
            Labels::new()
        };
        (name, labels)
    };
    let token = c.token();
    let value = parse_number(token).ok_or_else(|| {
        format!(
            "expected float as value, got {:?}",
            String::from_utf8_lossy(token)
        )
    })?;
    let mut timestamp = None;
    if !c.at_end() {
        c.skip_blanks();
        let ts = String::from_utf8_lossy(c.token()).into_owned();
        if ts.parse::<i64>().is_err() {
            return Err(format!("expected integer as timestamp, got {ts:?}"));
        }
        timestamp = Some(ts);
    }
    if !c.at_end() {
        return Err(format!(
            "spurious string after timestamp: {:?}",
            String::from_utf8_lossy(c.rest())
        ));
    }
    Ok(Lexed {
        name,
        labels,
        value,
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_line(line: &str) -> Result<Lexed, String> {
        lex(&mut Cursor::new(line.as_bytes()), |_| None)
    }

    #[test]
    fn lexes_what_prometheus_accepts() {
        let l = lex_line(r#"foo{a="x\"y\\z\n",b="2",} 1.5e3 123"#).unwrap();
        assert_eq!(l.name, "foo");
        assert_eq!(l.labels[0].1, "x\"y\\z\n");
        assert_eq!(l.value, 1500.0);
        assert_eq!(l.timestamp.as_deref(), Some("123"));
        assert!(lex_line("foo +Inf").unwrap().value.is_infinite());
        assert!(lex_line("foo nan").unwrap().value.is_nan());
        assert!(lex_line("  foo {} 1").is_ok());
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for bad in [
            r#"foo{a="\t"} 1"#,
            "foo 0x1p3",
            "foo 1_000",
            "foo 1e310",
            "foo -nan",
            "foo",
            "foo 1 ",
            "foo 1 2 3",
            r#"foo{__name__="x"} 1"#,
            r#"foo{a="1",a="2"} 1"#,
            r#"foo{a=1} 1"#,
            "9foo 1",
            r#"foo{a="1" b="2"} 1"#,
        ] {
            assert!(lex_line(bad).is_err(), "{bad}");
        }
    }
}
