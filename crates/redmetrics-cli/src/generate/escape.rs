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

    /// Prometheus itself reads each escaped value back: for every value, a recording rule
    /// counts the series whose label equals `promql_string(value)`, and promtool must find
    /// exactly one. The input series are written with Go's `\U` escape for every character
    /// (promtool's series notation), independent of the code under test. Characters outside
    /// the Basic Multilingual Plane, controls and quotes are among them.
    #[test]
    fn promtool_reads_every_escaped_value_back() {
        let values = [
            "plain",
            "a\"b",
            "back\\slash",
            "new\nline",
            "tab\t",
            "cr\r",
            "bell\u{7}",
            "del\u{7f}",
            "next line\u{85}",
            "emoji \u{1f600}",
            "cjk \u{65e5}\u{672c}",
            "{{x}}",
        ];
        let go_escaped = |v: &str| -> String {
            v.chars()
                .map(|c| format!("\\U{:08x}", u32::from(c)))
                .collect()
        };
        let rules = serde_json::json!({"groups": [{"name": "escape", "rules": values
            .iter()
            .enumerate()
            .map(|(i, v)| serde_json::json!({
                "record": format!("matched_{i}"),
                "expr": format!("count(up{{v={}}})", promql_string(v)),
            }))
            .collect::<Vec<_>>()}]});
        let tests = serde_json::json!({
            "rule_files": ["rules.json"],
            "evaluation_interval": "1m",
            "tests": [{
                "interval": "1m",
                "input_series": values.iter().map(|v| serde_json::json!({
                    "series": format!("up{{v=\"{}\"}}", go_escaped(v)),
                    "values": "1x2",
                })).collect::<Vec<_>>(),
                "promql_expr_test": (0..values.len()).map(|i| serde_json::json!({
                    "expr": format!("matched_{i}"),
                    "eval_time": "1m",
                    "exp_samples": [{"labels": format!("matched_{i}"), "value": 1}],
                })).collect::<Vec<_>>(),
            }],
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.json"), rules.to_string()).unwrap();
        std::fs::write(dir.path().join("tests.json"), tests.to_string()).unwrap();
        let out = std::process::Command::new("promtool")
            .args(["test", "rules", "tests.json"])
            .current_dir(dir.path())
            .output()
            .expect("promtool (Debian prometheus) is installed by scripts/test");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}\nrules: {rules}");
    }
}
