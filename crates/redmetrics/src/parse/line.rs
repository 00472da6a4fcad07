//! Lexing one sample line: name, labels, value, timestamp. Shared by both formats; follows
//! the rules of Prometheus' own text parser (expfmt) byte for byte where it matters: which
//! escapes exist, where blanks may go, which floats parse.

/// A lexed sample line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lexed {
    pub(crate) name: String,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: f64,
    /// The timestamp as written (milliseconds in text, seconds in OpenMetrics).
    pub(crate) timestamp: Option<String>,
    /// Whatever follows the timestamp (an OpenMetrics exemplar), trimmed.
    pub(crate) rest: String,
}

/// A cursor over one line (without its newline).
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

pub(crate) fn is_name_char(b: u8) -> bool {
    is_name_start(b) || b.is_ascii_digit()
}

fn is_label_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_label_char(b: u8) -> bool {
    is_label_start(b) || b.is_ascii_digit()
}

/// Parses a float as Go's `strconv.ParseFloat` does for expfmt: decimal and exponent forms,
/// `Inf`/`Infinity`/`NaN` in any case with an optional sign; no hex, no `_`.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains(['p', 'P', '_', 'x', 'X']) {
        return None;
    }
    s.parse::<f64>().ok()
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Self {
            bytes: line,
            pos: 0,
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(crate) fn skip_blanks(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
        self.pos - start
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        &self.bytes[start..self.pos]
    }

    /// A token up to the next blank or the end of the line.
    pub(crate) fn token(&mut self) -> &'a [u8] {
        self.take_while(|b| !is_blank(b))
    }

    /// The rest of the line.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let r = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        r
    }

    /// A metric name, or an empty string when the next byte cannot start one.
    pub(crate) fn metric_name(&mut self) -> String {
        if !self.peek().is_some_and(is_name_start) {
            return String::new();
        }
        String::from_utf8_lossy(self.take_while(is_name_char)).into_owned()
    }

    /// `{name="value",...}` after the opening brace has been seen (not consumed). `special`
    /// is the label a histogram (`le`) or summary (`quantile`) adds: its value must be a
    /// float and, as in expfmt, it is left out of the duplicate-name check.
    fn labels(
        &mut self,
        family: &str,
        special: Option<&str>,
    ) -> Result<Vec<(String, String)>, String> {
        self.pos += 1; // '{'
        let mut labels: Vec<(String, String)> = Vec::new();
        loop {
            self.skip_blanks();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(labels);
                }
                None => return Err("unexpected end of input stream".into()),
                _ => {}
            }
            if !self.peek().is_some_and(is_label_start) {
                return Err(format!("invalid label name for metric {family:?}"));
            }
            let name = String::from_utf8_lossy(self.take_while(is_label_char)).into_owned();
            self.skip_blanks();
            match self.peek() {
                Some(b'=') => self.pos += 1,
                Some(b) => {
                    return Err(format!(
                        "expected '=' after label name, found {:?}",
                        b as char
                    ));
                }
                None => return Err("unexpected end of input stream".into()),
            }
            if name == "__name__" {
                return Err("label name \"__name__\" is reserved".into());
            }
            let is_special = special == Some(name.as_str());
            if !is_special && labels.iter().any(|(n, _)| *n == name) {
                return Err(format!("duplicate label names for metric {family:?}"));
            }
            self.skip_blanks();
            match self.peek() {
                Some(b'"') => self.pos += 1,
                Some(b) => {
                    return Err(format!(
                        "expected '\"' at start of label value, found {:?}",
                        b as char
                    ));
                }
                None => return Err("unexpected end of input stream".into()),
            }
            let value = self.label_value()?;
            if is_special && parse_float(&value).is_none() {
                return Err(format!(
                    "expected float as value for {name:?} label, got {value:?}"
                ));
            }
            labels.push((name, value));
            self.skip_blanks();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                None => return Err("unexpected end of input stream".into()),
                Some(_) => {
                    return Err(format!(
                        "unexpected end of label value {:?}",
                        labels.last().map(|l| l.1.as_str()).unwrap_or("")
                    ));
                }
            }
        }
    }

    /// A quoted label value after its opening quote: escapes `\\`, `\"` and `\n` only.
    fn label_value(&mut self) -> Result<String, String> {
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(format!(
                    "label value {:?} contains unescaped new-line",
                    String::from_utf8_lossy(&out)
                ));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err("unexpected end of input stream".into());
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' => out.push(e),
                        b'n' => out.push(b'\n'),
                        e => return Err(format!("invalid escape sequence '\\{}'", e as char)),
                    }
                }
                b => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|e| {
            format!(
                "invalid label value {:?}",
                String::from_utf8_lossy(e.as_bytes())
            )
        })
    }

    /// Lexes a whole sample line; `float_timestamp` for OpenMetrics. `special` names the
    /// label the sample's family type adds (`le`, `quantile`), given the sample name.
    pub(crate) fn sample(
        &mut self,
        float_timestamp: bool,
        special: impl FnOnce(&str) -> Option<&'static str>,
    ) -> Result<Lexed, String> {
        self.skip_blanks();
        let name = self.metric_name();
        if name.is_empty() {
            return Err("invalid metric name".into());
        }
        self.skip_blanks();
        let labels = if self.peek() == Some(b'{') {
            let l = self.labels(&name, special(&name))?;
            self.skip_blanks();
            l
        } else {
            Vec::new()
        };
        let token = String::from_utf8_lossy(self.token()).into_owned();
        let value =
            parse_float(&token).ok_or_else(|| format!("expected float as value, got {token:?}"))?;
        if self.at_end() {
            return Ok(Lexed {
                name,
                labels,
                value,
                timestamp: None,
                rest: String::new(),
            });
        }
        self.skip_blanks();
        let ts = String::from_utf8_lossy(self.token()).into_owned();
        let ts_ok = if float_timestamp {
            ts == "#" || parse_float(&ts).is_some()
        } else {
            ts.parse::<i64>().is_ok()
        };
        if !ts_ok {
            return Err(format!("expected integer as timestamp, got {ts:?}"));
        }
        let (timestamp, rest) = if ts == "#" {
            (
                None,
                format!("# {}", String::from_utf8_lossy(self.rest()).trim()),
            )
        } else {
            (Some(ts), String::from_utf8_lossy(self.rest()).into_owned())
        };
        Ok(Lexed {
            name,
            labels,
            value,
            timestamp,
            rest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(line: &str) -> Result<Lexed, String> {
        Cursor::new(line.as_bytes()).sample(false, |_| None)
    }

    #[test]
    fn lexes_what_expfmt_accepts() {
        let l = lex(r#"foo{a="x\"y\\z\n",b="2",} 1.5e3 123"#).unwrap();
        assert_eq!(l.name, "foo");
        assert_eq!(l.labels[0].1, "x\"y\\z\n");
        assert_eq!(l.value, 1500.0);
        assert_eq!(l.timestamp.as_deref(), Some("123"));
        assert!(lex("foo +Inf").unwrap().value.is_infinite());
        assert!(lex("foo nan").unwrap().value.is_nan());
        assert!(lex("  foo {} 1").is_ok());
    }

    #[test]
    fn rejects_what_expfmt_rejects() {
        for bad in [
            r#"foo{a="\t"} 1"#,
            "foo 0x1p3",
            "foo 1_000",
            "foo",
            "foo 1 ",
            r#"foo{__name__="x"} 1"#,
            r#"foo{a="1",a="2"} 1"#,
            r#"foo{a=1} 1"#,
            "9foo 1",
            r#"foo{a="1" b="2"} 1"#,
        ] {
            assert!(lex(bad).is_err(), "{bad}");
        }
    }
}
