//! Escaping for every place a user string lands in a generated artifact.
//!
//! Label matchers in PromQL get [`promql_string`], Alertmanager matchers [`matcher_string`]; text in alert annotations, which Prometheus
//! expands as a Go template, gets [`go_template_text`]. YAML and JSON are always written
//! through serializers (`serde-saphyr`, `serde_json`), never by formatting, so they need no
//! helper here. Other generators (and the notification routing) reuse these functions.

use std::fmt::Write as _;

/// `s` as a double-quoted PromQL string literal, quotes included: `\`, `"` and control
/// characters escaped as Prometheus' lexer reads them (Go string syntax), so a label value
/// can never end the matcher or change the query.
pub(crate) fn promql_string(s: &str) -> String {
    quoted(s, |out, c| match c {
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() => {
            // Prometheus reads `\u` escapes as Go does.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        }
        c => out.push(c),
    })
}

/// `s` as a double-quoted Alertmanager matcher value, quotes included, that both of
/// Alertmanager's parsers read back as `s`: only `\\`, `\"` and a line feed are escaped, the
/// three escapes the classic parser knows and Go's string literals (the UTF-8 parser's rules)
/// share; every other character, controls included, is written as is, which both read
/// literally. `promql_string`'s `\t` or `\u0007` would stay two characters under the classic
/// parser (prometheus/alertmanager `docs/configuration.md`, "Matchers").
pub(crate) fn matcher_string(s: &str) -> String {
    quoted(s, String::push)
}

/// `s` double-quoted with `\\`, `"` and a line feed escaped, every other character written
/// by `rest`.
fn quoted(s: &str, rest: impl Fn(&mut String, char)) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => rest(&mut out, c),
        }
    }
    out.push('"');
    out
}

/// `s` as text of a Go template (alert annotations): every run of braces that holds `{{` or
/// `}}` becomes one action printing that run, so Prometheus and Alertmanager show the literal
/// text instead of running it. Whole runs, so no literal `{` can join an inserted `{{`.
pub(crate) fn go_template_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let run = tail.len() - tail.trim_start_matches(['{', '}']).len();
        let braces = &tail[..run];
        if braces.contains("{{") || braces.contains("}}") {
            let _ = write!(out, r#"{{{{ "{braces}" }}}}"#);
        } else {
            out.push_str(braces);
        }
        rest = &tail[run..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_strings_parse_back_to_the_value() {
        for value in [
            "plain",
            "a\"b",
            "back\\slash",
            "new\nline",
            "tab\t",
            "bell\u{7}",
            "{{x}}",
        ] {
            let query = format!("up{{job={}}}", promql_string(value));
            let expr = promql_parser::parser::parse(&query).expect("escaped matcher parses");
            let promql_parser::parser::Expr::VectorSelector(v) = expr else {
                panic!("{query} is not a selector");
            };
            let m = v
                .matchers
                .matchers
                .iter()
                .find(|m| m.name == "job")
                .expect("job matcher");
            assert_eq!(m.value, value, "{query}");
        }
    }

    #[test]
    fn go_template_braces_become_literal_actions() {
        assert_eq!(go_template_text("plain {x}"), "plain {x}");
        assert_eq!(
            go_template_text("a {{ b }}"),
            r#"a {{ "{{" }} b {{ "}}" }}"#
        );
        assert_eq!(go_template_text("{{{"), r#"{{ "{{{" }}"#);
        assert_eq!(go_template_text("a{}}b{}"), r#"a{{ "{}}" }}b{}"#);
    }
}
