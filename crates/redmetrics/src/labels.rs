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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_backslash_quote_and_newline() {
        let s = render_string([("path", "a\\b\"c\nd"), ("method", "GET")]);
        assert_eq!(s, r#"path="a\\b\"c\nd",method="GET""#);
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
