//! Label sets rendered once, when a series is created.
//!
//! A series keeps its labels as the exact bytes the exposition needs (`method="GET",path="/x"`),
//! escaped per the text and OpenMetrics formats (`\` → `\\`, `"` → `\"`, newline → `\n`); the
//! two formats escape label values identically. Rendering at creation keeps scrapes to a copy
//! per sample line and keeps string work off the request path.

use crate::collect::LabelSet;
use crate::name::{Escaping, is_legacy};

/// Appends `value` escaped as a label value.
pub(crate) fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Appends `text` escaped as HELP text: backslash and newline in text 0.0.4; OpenMetrics also
/// escapes the double quote.
pub(crate) fn escape_help(out: &mut Vec<u8>, text: &str, escape_quote: bool) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if escape_quote => out.extend_from_slice(b"\\\""),
            b => out.push(b),
        }
    }
}

/// `value` shortened to at most `max` bytes: cut at a character boundary and, when there is
/// room, ended by `~` and 8 hex digits of a fixed hash of the whole value, so two long values
/// that share a beginning stay apart. Deterministic across processes and restarts.
pub(crate) fn cap(value: &str, max: usize) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if value.len() <= max {
        return Cow::Borrowed(value);
    }
    const TAIL: usize = 9;
    let keep = if max > 2 * TAIL { max - TAIL } else { max };
    // The last character boundary at or before `keep`, found by the standard library
    // rather than by a loop stepping back one byte at a time (whose step, changed, would
    // never end).
    let cut = value.floor_char_boundary(keep);
    let mut out = value[..cut].to_owned();
    if keep != max {
        // FNV-1a, 32 bits: fixed, so a capped value is the same in every process.
        let hash = value.bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        out.push_str(&format!("~{hash:08x}"));
    }
    Cow::Owned(out)
}

/// Marks a rendered label set holding a quoted (not legacy-valid) name; never part of
/// [`LabelSet::as_str`](crate::collect::LabelSet::as_str).
pub(crate) const QUOTED_TAG: char = '\u{1}';

/// Renders `name="value"` pairs joined by commas, without braces, in the UTF-8 form: a name
/// that is not legacy-valid is quoted (`"a.b"="v"`) and the set is tagged so encoders know
/// to escape it for scrapers without UTF-8. Names are trusted to be label names (the public
/// way in is [`LabelSet::new`](crate::collect::LabelSet::new)).
pub(crate) fn render<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> LabelSet {
    LabelSet::rendered(render_string(pairs).into())
}

fn render_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push(',');
        }
        if is_legacy(name) {
            out.push_str(name);
        } else {
            quoted = true;
            out.push('"');
            escape_label_value(&mut out, name);
            out.push('"');
        }
        out.push_str("=\"");
        escape_label_value(&mut out, value);
        out.push('"');
    }
    if quoted {
        out.insert(0, QUOTED_TAG);
    }
    out
}

/// Appends a rendered label set (see [`render`], without its tag) with every name written
/// as `escaping` asks; values are copied as they are. `allow-utf-8` keeps the quoted form.
pub(crate) fn write_escaped(out: &mut Vec<u8>, rendered: &str, escaping: Escaping) {
    let mut first = true;
    let mut name = String::new();
    let mut escaped = String::new();
    for (raw_name, value) in pairs(rendered) {
        if !first {
            out.push(b',');
        }
        first = false;
        name.clear();
        unescape_into(&mut name, raw_name);
        escaped.clear();
        escaping.escape_into(&mut escaped, &name);
        if escaping == Escaping::AllowUtf8 && !is_legacy(&escaped) {
            out.push(b'"');
            out.extend_from_slice(raw_name.trim_matches('"').as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(escaped.as_bytes());
        }
        out.extend_from_slice(b"=\"");
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    }
}

/// The (name as written, value as written without its quotes) pairs of a rendered set.
fn pairs(rendered: &str) -> impl Iterator<Item = (&str, &str)> {
    scan_pairs(rendered).map(|(name, value, _)| (name, value))
}

/// [`pairs`], each with whether its value holds an escape (a `\`): borrowed from the set,
/// in one pass over its bytes, which is how the protobuf encoder reads labels without
/// allocating.
pub(crate) fn scan_pairs(rendered: &str) -> impl Iterator<Item = (&str, &str, bool)> {
    let mut rest = rendered;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let name_end = if let Some(inner) = rest.strip_prefix('"') {
            1 + quoted_end(inner)?.0 + 1
        } else {
            rest.bytes().position(|b| b == b'=')?
        };
        let name = &rest[..name_end];
        let after = rest[name_end..].strip_prefix("=\"")?;
        let (end, escaped) = quoted_end(after)?;
        let value = &after[..end];
        let next = &after[end + 1..];
        rest = next.strip_prefix(',').unwrap_or(next);
        Some((name, value, escaped))
    })
}

/// The byte offset of the closing `"` of an escaped string starting at `s`, and whether an
/// escape came before it.
fn quoted_end(s: &str) -> Option<(usize, bool)> {
    let (mut escaped, mut any) = (false, false);
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => (escaped, any) = (true, true),
            b'"' => return Some((i, any)),
            _ => {}
        }
    }
    None
}

/// Appends `written` (a bare name, a quoted name, or a value's inside) unescaped.
pub(crate) fn unescape_into(out: &mut String, written: &str) {
    let inner = written
        .strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .unwrap_or(written);
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some(c) => out.push(c),
                None => {}
            },
            c => out.push(c),
        }
    }
}

/// Reads back a rendered label set (`name="value",…`, see [`render`]) as pairs with their
/// values unescaped, a `String` each: what the `prost` encoder read (kept as the reference
/// of the protobuf tests) and a check of [`render`].
#[cfg(test)]
pub(crate) fn parse_rendered(
    rendered: &str,
) -> impl Iterator<Item = (std::borrow::Cow<'_, str>, String)> {
    use std::borrow::Cow;
    let mut rest = rendered;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (name, after) = match rest.strip_prefix('"') {
            Some(quoted) => {
                let (name, used) = read_quoted(quoted);
                (Cow::Owned(name), quoted[used..].strip_prefix('=')?)
            }
            None => {
                let (name, after) = rest.split_once('=')?;
                (Cow::Borrowed(name), after)
            }
        };
        let after = after.strip_prefix('"')?;
        let (value, used) = read_quoted(after);
        let next = &after[used..];
        rest = next.strip_prefix(',').unwrap_or(next);
        Some((name, value))
    })
}

/// The inside of an escaped string starting after its opening `"`, unescaped, and how many
/// bytes it took with its closing quote.
#[cfg(test)]
fn read_quoted(s: &str) -> (String, usize) {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, i + 1),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, c)) => out.push(c),
                None => {}
            },
            c => out.push(c),
        }
    }
    (out, s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_backslash_quote_and_newline() {
        let s = render_string([("path", "a\\b\"c\nd"), ("method", "GET")]);
        assert_eq!(s, r#"path="a\\b\"c\nd",method="GET""#);
        let back: Vec<(String, String)> = parse_rendered(&s).map(|(n, v)| (n.into(), v)).collect();
        assert_eq!(
            back,
            [
                ("path".to_owned(), "a\\b\"c\nd".to_owned()),
                ("method".to_owned(), "GET".to_owned())
            ]
        );
        assert_eq!(parse_rendered("").count(), 0);
        let s = render_string([("a", "x,y=\"z\""), ("b", "")]);
        let back: Vec<(String, String)> = parse_rendered(&s).map(|(n, v)| (n.into(), v)).collect();
        assert_eq!(
            back,
            [
                ("a".to_owned(), "x,y=\"z\"".to_owned()),
                ("b".to_owned(), String::new())
            ]
        );
    }

    #[test]
    fn capped_values_fit_and_stay_apart() {
        assert_eq!(cap("short", 128), "short");
        let a = format!("{}a", "é".repeat(100));
        let b = format!("{}b", "é".repeat(100));
        let (ca, cb) = (cap(&a, 128), cap(&b, 128));
        assert!(ca.len() <= 128 && cb.len() <= 128, "{ca}");
        assert_ne!(ca, cb);
        assert_eq!(ca, cap(&a, 128), "deterministic");
        assert!(cap(&a, 4).len() <= 4);
        // Room for the hash means at least as many bytes kept of the value as the hash takes
        // (9): up to 18 bytes the value is only cut; from 19 on it keeps `max - 9` bytes.
        let long = "x".repeat(40);
        assert_eq!(cap(&long, 12), "x".repeat(12));
        assert_eq!(cap(&long, 18), "x".repeat(18));
        let c = cap(&long, 19);
        assert_eq!((c.len(), &c[..11]), (19, "xxxxxxxxxx~"), "{c}");
        // A thousand values that differ only past the cut stay a thousand.
        let capped: std::collections::BTreeSet<String> = (0..1000)
            .map(|i| cap(&format!("{long}{long}{i}"), 64).into_owned())
            .collect();
        assert_eq!(capped.len(), 1000);
    }

    #[test]
    fn utf8_names_are_quoted_and_escaped_on_demand() {
        let s = render_string([("a.b", "x\"y"), ("ok", "1"), ("q\"n", "")]);
        assert_eq!(s, "\u{1}\"a.b\"=\"x\\\"y\",ok=\"1\",\"q\\\"n\"=\"\"");
        let body = &s[1..];
        let write = |e| {
            let mut out = Vec::new();
            write_escaped(&mut out, body, e);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(write(Escaping::AllowUtf8), body);
        assert_eq!(
            write(Escaping::Underscores),
            "a_b=\"x\\\"y\",ok=\"1\",q_n=\"\""
        );
        assert_eq!(
            write(Escaping::Dots),
            "a_dot_b=\"x\\\"y\",ok=\"1\",q__n=\"\""
        );
        let back: Vec<(String, String)> =
            parse_rendered(body).map(|(n, v)| (n.into(), v)).collect();
        assert_eq!(back[0], ("a.b".to_owned(), "x\"y".to_owned()));
        assert_eq!(back[2], ("q\"n".to_owned(), String::new()));
    }

    #[test]
    fn help_escaping_differs_only_in_quotes() {
        let mut text = Vec::new();
        escape_help(&mut text, "say \"hi\"\\\n", false);
        assert_eq!(text, b"say \"hi\"\\\\\\n");
        let mut om = Vec::new();
        escape_help(&mut om, "say \"hi\"", true);
        assert_eq!(om, b"say \\\"hi\\\"");
    }
}
