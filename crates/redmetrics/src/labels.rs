//! Label sets rendered once, when a series is created.
//!
//! A series keeps its labels as the exact bytes the exposition needs (`method="GET",path="/x"`),
//! escaped per the text and OpenMetrics formats (`\` → `\\`, `"` → `\"`, newline → `\n`); the
//! two formats escape label values identically. Rendering at creation keeps scrapes to a copy
//! per sample line and keeps string work off the request path.

use crate::collect::LabelSet;

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

/// Renders `name="value"` pairs joined by commas, without braces; names are trusted to be
/// valid label names (the public way in is [`LabelSet::new`](crate::collect::LabelSet::new)).
pub(crate) fn render<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> LabelSet {
    LabelSet::rendered(render_string(pairs).into())
}

fn render_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape_label_value(&mut out, value);
        out.push('"');
    }
    out
}

/// Reads back a rendered label set (`name="value",…`, see [`render`]) as pairs with their
/// values unescaped: for formats that carry labels as fields rather than text (protobuf).
#[cfg_attr(not(feature = "protobuf"), allow(dead_code))]
pub(crate) fn parse_rendered(rendered: &str) -> impl Iterator<Item = (&str, String)> {
    let mut rest = rendered;
    std::iter::from_fn(move || {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = i + 1;
                    break;
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => {}
                },
                c => value.push(c),
            }
        }
        rest = after[end..].strip_prefix(',').unwrap_or(&after[end..]);
        Some((name, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_backslash_quote_and_newline() {
        let s = render_string([("path", "a\\b\"c\nd"), ("method", "GET")]);
        assert_eq!(s, r#"path="a\\b\"c\nd",method="GET""#);
        let back: Vec<(&str, String)> = parse_rendered(&s).collect();
        assert_eq!(
            back,
            [
                ("path", "a\\b\"c\nd".to_owned()),
                ("method", "GET".to_owned())
            ]
        );
        assert_eq!(parse_rendered("").count(), 0);
        let s = render_string([("a", "x,y=\"z\""), ("b", "")]);
        let back: Vec<(&str, String)> = parse_rendered(&s).collect();
        assert_eq!(back, [("a", "x,y=\"z\"".to_owned()), ("b", String::new())]);
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
