//! A sample line: metric name, optional label set, one space, the value, optionally one
//! space and a timestamp (seconds, a finite decimal), optionally an exemplar. No other
//! blanks anywhere.

use super::exemplar;
use crate::escape::Dialect;
use crate::lex::{Cursor, Labels, is_blank};
use crate::model::Exemplar;
use crate::number::{parse_number, parse_real};

/// A lexed sample line.
#[derive(Debug)]
pub(super) struct Lexed {
    pub(super) name: String,
    pub(super) labels: Labels,
    pub(super) value: f64,
    /// As written, and its value in seconds.
    pub(super) timestamp: Option<(String, f64)>,
    pub(super) exemplar: Option<Exemplar>,
}

impl Lexed {
    /// The value of label `name`.
    pub(super) fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The timestamp token `t` in seconds: a decimal, never `NaN` or infinite.
pub(super) fn timestamp(t: &[u8]) -> Result<f64, String> {
    parse_real(t).ok_or_else(|| {
        format!(
            "invalid timestamp {:?}: expected seconds as a finite decimal number",
            String::from_utf8_lossy(t)
        )
    })
}

/// The value token `v`.
pub(super) fn value(v: &[u8]) -> Result<f64, String> {
    parse_number(v).ok_or_else(|| {
        format!(
            "invalid value {:?}: expected a decimal number, +Inf, -Inf or NaN",
            String::from_utf8_lossy(v)
        )
    })
}

/// Lexes a line that does not start with `#`.
pub(super) fn lex(raw: &[u8]) -> Result<Lexed, String> {
    let mut c = Cursor::new(raw);
    if c.peek().is_some_and(is_blank) {
        return Err("leading whitespace: OpenMetrics allows none".into());
    }
    let (name, labels) = if c.peek() == Some(b'{') {
        c.braced_sample(Dialect::OpenMetrics, |_| None)?
    } else {
        let name = c.metric_name();
        if name.is_empty() {
            return Err("invalid metric name".into());
        }
        let labels = if c.peek() == Some(b'{') {
            c.labels(Dialect::OpenMetrics, &name, None)?
        } else {
            Labels::new()
        };
        (name, labels)
    };
    if !c.eat(b' ') {
        return Err(format!(
            "expected one space and a value after {name:?} and its labels"
        ));
    }
    let value = value(c.word())?;
    let mut lexed = Lexed {
        name,
        labels,
        value,
        timestamp: None,
        exemplar: None,
    };
    if c.at_end() {
        return Ok(lexed);
    }
    c.eat(b' ');
    let mut next = c.word();
    if next != b"#" {
        lexed.timestamp = Some((String::from_utf8_lossy(next).into_owned(), timestamp(next)?));
        if c.at_end() {
            return Ok(lexed);
        }
        c.eat(b' ');
        next = c.word();
        if next != b"#" {
            return Err(format!(
                "unexpected {:?} after the timestamp: only an exemplar (` # {{...}} value`) may follow",
                String::from_utf8_lossy(next)
            ));
        }
    }
    lexed.exemplar = Some(exemplar::lex(&mut c)?);
    Ok(lexed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_part() {
        let l = lex(br##"a_total{b="# }"} 1.5 17.25 # {t="x"} 2 3"##).unwrap();
        assert_eq!((l.name.as_str(), l.value), ("a_total", 1.5));
        assert_eq!(l.label("b"), Some("# }"));
        assert_eq!(l.timestamp, Some(("17.25".into(), 17.25)));
        let e = l.exemplar.unwrap();
        assert_eq!((e.value, e.timestamp.as_deref()), (2.0, Some("3")));
        assert!(lex(b"a 1 # {} 1").unwrap().timestamp.is_none());
        assert!(lex(b"a{} NaN").unwrap().value.is_nan());
    }

    #[test]
    fn refuses_extra_or_missing_blanks() {
        for bad in [
            " a 1",
            "a  1",
            "a\t1",
            "a 1 ",
            "a 1\t",
            "a{}1",
            "a",
            "a ",
            "a 1 1 ",
            "a 1  1",
            "a 1 1 x",
            "a 1 NaN",
            "a 1 Inf",
            "a 1 1_2",
            "a 1 0x1p-3",
            "a 1e310",
        ] {
            assert!(lex(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
