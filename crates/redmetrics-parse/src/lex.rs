//! Lexing what both formats share: a cursor over one line, metric names and label sets.
//! Text 0.0.4 follows Prometheus' parser (blanks inside braces, a trailing comma); OpenMetrics
//! follows its grammar (neither). Duplicate label names are found in linear time.

use std::collections::HashSet;

use crate::escape::{Dialect, Escaped};

/// Label pairs as written, values unescaped.
pub(crate) type Labels = Vec<(String, String)>;

/// A cursor over one line (without its newline).
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

pub(crate) fn is_blank(b: u8) -> bool {
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

fn end_of_input() -> String {
    "unexpected end of input stream".into()
}

/// The first label name that appears twice, ignoring `exempt`. Linear: a hash set once the
/// set is larger than a handful.
fn duplicate<'l>(labels: &'l Labels, exempt: Option<&str>) -> Option<&'l str> {
    let mut names = labels
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| Some(*n) != exempt);
    if labels.len() <= 8 {
        let names: Vec<&str> = names.collect();
        return names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
            .map(|(_, n)| *n);
    }
    let mut seen = HashSet::with_capacity(labels.len());
    names.find(|n| !seen.insert(*n))
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

    /// Consumes `b` if it comes next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        let next = self.peek() == Some(b);
        self.pos += usize::from(next);
        next
    }

    pub(crate) fn skip_blanks(&mut self) -> usize {
        self.take_while(is_blank).len()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// The bytes from here for which `f` holds, consumed. Counted over the rest of the
    /// line, so that the walk ends at its end whatever the step.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        let rest = self.bytes.get(start..).unwrap_or_default();
        self.pos += rest.iter().take_while(|b| f(**b)).count();
        &self.bytes[start..self.pos]
    }

    /// A token up to the next blank or the end of the line.
    pub(crate) fn token(&mut self) -> &'a [u8] {
        self.take_while(|b| !is_blank(b))
    }

    /// A token up to the next space (a tab belongs to the token) or the end of the line.
    pub(crate) fn word(&mut self) -> &'a [u8] {
        self.take_while(|b| b != b' ')
    }

    /// The rest of the line.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let r = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        r
    }

    /// A metric name, or an empty string when the next byte cannot start one. A quoted name
    /// (`"http.server.duration"`, Prometheus 3's UTF-8 form) is read unescaped; an invalid
    /// quoted one also gives an empty string.
    pub(crate) fn metric_name(&mut self) -> String {
        if self.peek() == Some(b'"') {
            self.pos += 1;
            return self.label_value(Dialect::Text).unwrap_or_default();
        }
        if !self.peek().is_some_and(is_name_start) {
            return String::new();
        }
        String::from_utf8_lossy(self.take_while(is_name_char)).into_owned()
    }

    /// A sample whose quoted name opens its braces (`{"a.b",x="1"} 1`), the cursor on the
    /// `{`: the name, then its labels. Text allows blanks around the name, as elsewhere.
    pub(crate) fn braced_sample(
        &mut self,
        dialect: Dialect,
        special: impl FnOnce(&str) -> Option<&'static str>,
    ) -> Result<(String, Labels), String> {
        let text = dialect == Dialect::Text;
        self.pos += 1; // '{'
        if text {
            self.skip_blanks();
        }
        if !self.eat(b'"') {
            return Err("invalid metric name".into());
        }
        let name = self.label_value(dialect)?;
        if name.is_empty() {
            return Err("invalid metric name: empty".into());
        }
        if text {
            self.skip_blanks();
        }
        match self.peek() {
            // The comma stands where `labels` expects the opening brace.
            Some(b',') => {
                let labels = self.labels(dialect, &name, special(&name))?;
                Ok((name, labels))
            }
            Some(b'}') => {
                self.pos += 1;
                Ok((name, Labels::new()))
            }
            _ => Err(format!("expected ',' or '}}' after metric name {name:?}")),
        }
    }

    /// `{name="value",...}`, the cursor on the opening brace. `special` is the label a text
    /// histogram (`le`) or summary (`quantile`) adds: its value must be a float and, as in
    /// Prometheus' parser, it is left out of the duplicate-name check.
    pub(crate) fn labels(
        &mut self,
        dialect: Dialect,
        family: &str,
        special: Option<&str>,
    ) -> Result<Labels, String> {
        let text = dialect == Dialect::Text;
        self.pos += 1; // '{'
        let mut labels = Labels::new();
        loop {
            if text {
                self.skip_blanks();
            }
            // OpenMetrics: `}` only right after `{`, never after a comma.
            if (text || labels.is_empty()) && self.eat(b'}') {
                break;
            }
            if self.at_end() {
                return Err(end_of_input());
            }
            labels.push(self.label(dialect, family, special)?);
            if text {
                self.skip_blanks();
            }
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                None => return Err(end_of_input()),
                Some(_) => {
                    return Err(format!(
                        "unexpected end of label value {:?}",
                        labels.last().map(|l| l.1.as_str()).unwrap_or("")
                    ));
                }
            }
        }
        if let Some(name) = duplicate(&labels, special) {
            return Err(format!(
                "duplicate label name {name:?} for metric {family:?}"
            ));
        }
        Ok(labels)
    }

    /// One `name="value"` pair.
    fn label(
        &mut self,
        dialect: Dialect,
        family: &str,
        special: Option<&str>,
    ) -> Result<(String, String), String> {
        let name = if self.eat(b'"') {
            let name = self.label_value(dialect)?;
            if name.is_empty() {
                return Err(format!("empty label name for metric {family:?}"));
            }
            name
        } else if self.peek().is_some_and(is_label_start) {
            String::from_utf8_lossy(self.take_while(is_label_char)).into_owned()
        } else {
            return Err(format!("invalid label name for metric {family:?}"));
        };
        self.expect(dialect, b'=', "after label name")?;
        if name == "__name__" {
            return Err("label name \"__name__\" is reserved".into());
        }
        self.expect(dialect, b'"', "at start of label value")?;
        let value = self.label_value(dialect)?;
        if special == Some(name.as_str()) && crate::number::parse_number(value.as_bytes()).is_none()
        {
            return Err(format!(
                "expected float as value for {name:?} label, got {value:?}"
            ));
        }
        Ok((name, value))
    }

    /// Consumes `b`, after blanks in text 0.0.4; `where_` says where it belongs.
    fn expect(&mut self, dialect: Dialect, b: u8, where_: &str) -> Result<(), String> {
        if dialect == Dialect::Text {
            self.skip_blanks();
        }
        match self.peek() {
            Some(found) if found == b => {
                self.pos += 1;
                Ok(())
            }
            Some(found) => Err(format!(
                "expected {:?} {where_}, found {:?}",
                b as char, found as char
            )),
            None => Err(end_of_input()),
        }
    }

    /// A quoted label value after its opening quote, unescaped; it must be UTF-8.
    fn label_value(&mut self, dialect: Dialect) -> Result<String, String> {
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
                        return Err(end_of_input());
                    };
                    self.pos += 1;
                    match dialect.escape(e, true) {
                        Escaped::Byte(u) => out.push(u),
                        Escaped::Verbatim => out.extend_from_slice(&[b'\\', e]),
                        Escaped::Invalid => {
                            return Err(format!("invalid escape sequence '\\{}'", e as char));
                        }
                    }
                }
                b => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|e| {
            format!(
                "invalid label value {:?}: not UTF-8",
                String::from_utf8_lossy(e.as_bytes())
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(dialect: Dialect, s: &str) -> Result<Labels, String> {
        Cursor::new(s.as_bytes()).labels(dialect, "x", None)
    }

    /// A line cut anywhere inside its braces gets Prometheus' own words for it.
    #[test]
    fn a_line_cut_inside_its_braces_ends_the_input() {
        for s in ["{", "{a", "{a=", r#"{a="x""#, r#"{a="x\"#] {
            for d in [Dialect::Text, Dialect::OpenMetrics] {
                let e = labels(d, s).unwrap_err();
                assert_eq!(e, "unexpected end of input stream", "{s}");
            }
        }
    }

    #[test]
    fn text_allows_blanks_and_a_trailing_comma_openmetrics_does_not() {
        for s in [r#"{ a = "1" , }"#, r#"{a="1",}"#, "{ }"] {
            assert!(labels(Dialect::Text, s).is_ok(), "{s}");
            assert!(labels(Dialect::OpenMetrics, s).is_err(), "{s}");
        }
        let both = r#"{a="x\"y\\z\n",b=""}"#;
        for d in [Dialect::Text, Dialect::OpenMetrics] {
            let l = labels(d, both).unwrap();
            assert_eq!(l[0].1, "x\"y\\z\n");
            assert!(labels(d, "{}").unwrap().is_empty());
        }
        assert_eq!(
            labels(Dialect::OpenMetrics, r#"{a="\z"}"#).unwrap()[0].1,
            r"\z"
        );
        assert!(labels(Dialect::Text, r#"{a="\z"}"#).is_err());
    }

    #[test]
    fn quoted_utf8_names() {
        for d in [Dialect::Text, Dialect::OpenMetrics] {
            let mut c = Cursor::new(br#"{"a.b","c d"="1",e="2"} 1"#);
            let (name, labels) = c.braced_sample(d, |_| None).unwrap();
            assert_eq!(name, "a.b");
            assert_eq!(
                labels,
                [("c d".into(), "1".into()), ("e".into(), "2".into())]
            );
            let mut c = Cursor::new(br#"{"a\"b"} 1"#);
            let (name, labels) = c.braced_sample(d, |_| None).unwrap();
            assert_eq!((name.as_str(), labels.len()), ("a\"b", 0));
            assert_eq!(c.pos, 8, "the cursor is past the closing brace");
            assert!(
                Cursor::new(br#"{"",x="1"}"#)
                    .braced_sample(d, |_| None)
                    .is_err()
            );
            assert!(
                Cursor::new(br#"{"a" x}"#)
                    .braced_sample(d, |_| None)
                    .is_err()
            );
        }
        // Text allows blanks around a quoted name, OpenMetrics does not.
        for spaced in [&br#"{ "a.b" , x="1" } 1"#[..], br#"{ "a.b" } 1"#] {
            let text = Cursor::new(spaced).braced_sample(Dialect::Text, |_| None);
            assert_eq!(text.unwrap().0, "a.b");
            let om = Cursor::new(spaced).braced_sample(Dialect::OpenMetrics, |_| None);
            assert!(om.is_err());
        }
        assert_eq!(Cursor::new(br#""x.y" help"#).metric_name(), "x.y");
    }

    #[test]
    fn finds_duplicates_in_large_sets() {
        let many: Vec<String> = (0..2000).map(|i| format!("l{i}=\"v\"")).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert_eq!(labels(Dialect::OpenMetrics, &ok).unwrap().len(), 2000);
        let dup = format!("{{{},l7=\"w\"}}", many.join(","));
        let e = labels(Dialect::OpenMetrics, &dup).unwrap_err();
        assert!(e.contains("\"l7\""), "{e}");
    }
}
