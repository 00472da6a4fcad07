//! Alertmanager's two syntaxes for one `matchers:` entry, read as Alertmanager reads them
//! (prometheus/alertmanager `docs/configuration.md`, "Matchers"):
//!
//! - **classic** (0.26 and older; `pkg/labels/parse.go`): a comma-separated list, braces
//!   optional; each matcher a label name, an operator and a value that may be double-quoted,
//!   where only `\"`, `\n` and `\\` are escapes and any other backslash is literal;
//! - **UTF-8** (the default since 0.27; `matchers/parse`): names and values are unquoted
//!   literals without reserved characters (whitespace and `{}!=~,\"'` and backquote) or
//!   double-quoted strings with Go's string-literal escapes; braces both or neither, one
//!   trailing comma allowed.
//!
//! Since 0.27 Alertmanager tries the UTF-8 parser first, falls back to the classic one when it
//! fails, and uses the classic result when both succeed and disagree; `--enable-feature=
//! utf8-strict-mode` uses only the UTF-8 parser.

/// A matcher's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl Op {
    /// The operator as written.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        }
    }

    /// The operator at the start of `s`, longest first.
    fn prefix_of(s: &str) -> Option<Self> {
        [
            ("=~", Self::Regex),
            ("!~", Self::NotRegex),
            ("!=", Self::NotEqual),
            ("=", Self::Equal),
        ]
        .into_iter()
        .find_map(|(text, op)| s.starts_with(text).then_some(op))
    }
}

/// One matcher as a parser read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) name: String,
    pub(crate) op: Op,
    pub(crate) value: String,
}

/// How Alertmanager reads one `matchers:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Both parsers read the same matchers.
    Agreed(Vec<Spec>),
    /// Only the classic parser reads it: 0.27+ falls back to it, strict mode refuses it.
    ClassicOnly(Vec<Spec>, String),
    /// Both read it, differently: 0.27+ uses the classic reading, strict mode the other.
    Disagreed { classic: Vec<Spec>, utf8: Vec<Spec> },
    /// Only the UTF-8 parser reads it: Alertmanager 0.26 and older refuse it.
    Utf8Only(Vec<Spec>, String),
}

impl Reading {
    /// The matchers Alertmanager 0.27+ in its default (fallback) mode uses.
    pub(crate) fn fallback_mode(&self) -> &[Spec] {
        match self {
            Self::Agreed(m) | Self::ClassicOnly(m, _) | Self::Utf8Only(m, _) => m,
            Self::Disagreed { classic, .. } => classic,
        }
    }
}

/// Whether the classic parser takes a double-quoted label name: 0.27 added that to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotedNames {
    /// Alertmanager 0.27 and newer.
    Allowed,
    /// Alertmanager 0.26 and older: a label name is `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    Refused,
}

/// Reads `line` with both parsers of Alertmanager 0.27+; `Err` when neither reads it.
pub(crate) fn read(line: &str) -> Result<Reading, String> {
    match (classic(line, QuotedNames::Allowed), utf8(line)) {
        (Ok(c), Ok(u)) if c == u => Ok(Reading::Agreed(c)),
        (Ok(classic), Ok(utf8)) => Ok(Reading::Disagreed { classic, utf8 }),
        (Ok(c), Err(e)) => Ok(Reading::ClassicOnly(c, e)),
        (Err(e), Ok(u)) => Ok(Reading::Utf8Only(u, e)),
        (Err(c), Err(u)) => Err(format!(
            "matcher {line:?} reads under neither parser (classic: {c}; UTF-8: {u})"
        )),
    }
}

/// The classic parser: `ParseMatchers`, then `ParseMatcher` on each comma-separated token.
pub(crate) fn classic(line: &str, quoted_names: QuotedNames) -> Result<Vec<Spec>, String> {
    let s = line.strip_prefix('{').unwrap_or(line);
    let s = s.strip_suffix('}').unwrap_or(s);
    let (mut tokens, mut token) = (Vec::new(), String::new());
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            ',' if !quoted => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            '"' if !escaped => quoted = !quoted,
            '"' => escaped = false,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    if !token.trim().is_empty() {
        tokens.push(token.trim().to_owned());
    }
    tokens
        .iter()
        .map(|t| classic_one(t, quoted_names))
        .collect()
}

fn classic_one(token: &str, quoted_names: QuotedNames) -> Result<Spec, String> {
    let t = token.trim_start();
    let name_end = if t.starts_with('"') && quoted_names == QuotedNames::Allowed {
        // `".+"` is greedy: the name ends at the last quote before an operator.
        (1..t.len())
            .rev()
            .filter(|&i| t.is_char_boundary(i) && t[..i].ends_with('"') && i > 1)
            .find(|&i| Op::prefix_of(t[i..].trim_start()).is_some())
    } else {
        let end = t
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
            })
            .map_or(t.len(), |(i, _)| i);
        (end > 0).then_some(end)
    };
    let bad = || format!("bad matcher format: {token}");
    let name_end = name_end.ok_or_else(bad)?;
    let rest = t[name_end..].trim_start();
    let op = Op::prefix_of(rest).ok_or_else(bad)?;
    let raw_value = rest[op.as_str().len()..].trim();
    let raw_name = &t[..name_end];
    let name = if raw_name.starts_with('"') {
        classic_unescape(raw_name)?
    } else {
        raw_name.to_owned()
    };
    if name.is_empty() {
        return Err(format!("invalid matcher label name in {token:?}"));
    }
    Ok(Spec {
        name,
        op,
        value: classic_unescape(raw_value)?,
    })
}

/// `unescapeMatcherString`: an optional pair of quotes, `\n`, `\"` and `\\`; any other
/// backslash is literal; an unescaped quote anywhere else is an error.
fn classic_unescape(raw: &str) -> Result<String, String> {
    let (body, mut want_quote) = match raw.strip_prefix('"') {
        Some(b) => (b, true),
        None => (raw, false),
    };
    let (mut out, mut escaped) = (String::with_capacity(body.len()), false);
    for (i, c) in body.char_indices() {
        let last = i + c.len_utf8() == body.len();
        if escaped {
            escaped = false;
            match c {
                'n' => out.push('\n'),
                '"' | '\\' => out.push(c),
                _ => {
                    out.push('\\');
                    out.push(c);
                }
            }
            continue;
        }
        match c {
            '\\' if !last => escaped = true,
            '"' if want_quote && last => want_quote = false,
            '"' => return Err(format!("contains unescaped double quote: {raw}")),
            c => out.push(c),
        }
    }
    if want_quote {
        return Err(format!("contains unescaped double quote: {raw}"));
    }
    Ok(out)
}

/// Whether the UTF-8 parser reserves `c` (it ends an unquoted literal).
fn reserved(c: char) -> bool {
    c.is_whitespace() || "{}!=~,\\\"'`".contains(c)
}

/// The UTF-8 parser.
pub(crate) fn utf8(line: &str) -> Result<Vec<Spec>, String> {
    let mut rest = line.trim();
    let braced = rest.starts_with('{');
    if braced {
        rest = rest[1..]
            .strip_suffix('}')
            .ok_or("an open brace without its close brace")?;
    } else if rest.ends_with('}') {
        return Err("a close brace without its open brace".into());
    }
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(out);
        }
        let (name, after) = utf8_literal(rest, "label name")?;
        let after = after.trim_start();
        let op =
            Op::prefix_of(after).ok_or_else(|| format!("expected an operator after {name:?}"))?;
        let (value, after) = utf8_literal(after[op.as_str().len()..].trim_start(), "label value")?;
        out.push(Spec { name, op, value });
        rest = after.trim_start();
        if rest.is_empty() {
            return Ok(out);
        }
        rest = rest
            .strip_prefix(',')
            .ok_or_else(|| format!("expected a comma or the end, found {rest:?}"))?;
    }
}

/// One unquoted literal or double-quoted string at the start of `s`, and what follows.
fn utf8_literal<'a>(s: &'a str, what: &str) -> Result<(String, &'a str), String> {
    if let Some(body) = s.strip_prefix('"') {
        let mut escaped = false;
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                let close = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                close
            })
            .map(|(i, _)| i)
            .ok_or_else(|| format!("{what}: a quoted string without its closing quote"))?;
        Ok((go_unquote(&body[..end])?, &body[end + 1..]))
    } else {
        let end = s.find(reserved).unwrap_or(s.len());
        if end == 0 {
            return Err(format!("expected a {what}"));
        }
        Ok((s[..end].to_owned(), &s[end..]))
    }
}

/// The body of a Go double-quoted string literal (`strconv.Unquote`), as UTF-8.
fn go_unquote(body: &str) -> Result<String, String> {
    let bad = |why: &str| format!("invalid quoted string {body:?}: {why}");
    let mut bytes = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\n' {
            return Err(bad("a raw line feed"));
        }
        if c != '\\' {
            let mut buf = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or_else(|| bad("ends in a backslash"))?;
        let simple = match e {
            'a' => Some(7),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            bytes.push(b);
            continue;
        }
        let mut digits = |n: usize, radix: u32| -> Result<u32, String> {
            let text: String = chars.by_ref().take(n).collect();
            if text.chars().count() != n {
                return Err(bad("a short escape"));
            }
            u32::from_str_radix(&text, radix).map_err(|_| bad("a bad escape"))
        };
        match e {
            'x' => bytes.push(digits(2, 16)? as u8),
            '0'..='7' => {
                let rest = digits(2, 8)?;
                let v = (e as u32 - '0' as u32) * 64 + rest;
                bytes.push(u8::try_from(v).map_err(|_| bad("an octal escape above 255"))?);
            }
            'u' | 'U' => {
                let v = digits(if e == 'u' { 4 } else { 8 }, 16)?;
                let c = char::from_u32(v).ok_or_else(|| bad("not a code point"))?;
                let mut buf = [0; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(bad("an unknown escape")),
        }
    }
    String::from_utf8(bytes).map_err(|_| bad("not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, op: Op, value: &str) -> Spec {
        Spec {
            name: name.into(),
            op,
            value: value.into(),
        }
    }

    /// The examples of Alertmanager's `docs/configuration.md`, "Matchers".
    #[test]
    fn the_documented_examples_read_as_documented() {
        let both = [
            (
                r#"{alertname="Watchdog", severity=~"warning|critical"}"#,
                vec![
                    spec("alertname", Op::Equal, "Watchdog"),
                    spec("severity", Op::Regex, "warning|critical"),
                ],
            ),
            (
                r#"{alertname="Watchdog", severity=~"warning|critical",}"#,
                vec![
                    spec("alertname", Op::Equal, "Watchdog"),
                    spec("severity", Op::Regex, "warning|critical"),
                ],
            ),
            ("foo = bar", vec![spec("foo", Op::Equal, "bar")]),
            ("dings != bums", vec![spec("dings", Op::NotEqual, "bums")]),
            (
                r#"foo = "bar,baz""#,
                vec![spec("foo", Op::Equal, "bar,baz")],
            ),
            (
                r#"{quote=~"She said: \"Hi, all!( How're you…)?\""}"#,
                vec![spec(
                    "quote",
                    Op::Regex,
                    r#"She said: "Hi, all!( How're you…)?""#,
                )],
            ),
        ];
        for (line, want) in both {
            assert_eq!(read(line), Ok(Reading::Agreed(want)), "{line}");
        }
        // The documented disagreement: `\xf0…` is a byte escape under UTF-8 only.
        let Ok(Reading::Disagreed {
            classic: c,
            utf8: u,
        }) = read(r#"qux="\xf0\x9f\x99\x82""#)
        else {
            panic!("disagreement expected");
        };
        assert_eq!(c[0].value, r"\xf0\x9f\x99\x82");
        assert_eq!(u[0].value, "🙂");
        // The documented classic-only input: `foo=` (an empty unquoted value).
        assert!(matches!(read("foo="), Ok(Reading::ClassicOnly(..))));
        // Quoted UTF-8 label names, and incomplete braces.
        assert_eq!(
            utf8(r#"{"http.status"="500"}"#),
            Ok(vec![spec("http.status", Op::Equal, "500")])
        );
        assert!(utf8(r#"{alertname="Watchdog""#).is_err());
        assert!(utf8(r#"alertname="Watchdog"}"#).is_err());
        assert!(utf8("foo!=bar!").is_err(), "`!` is reserved");
    }

    #[test]
    fn classic_escapes_only_quote_backslash_and_newline() {
        let classic = |line| classic(line, QuotedNames::Allowed);
        assert_eq!(classic(r#"a="x\ty""#).unwrap()[0].value, r"x\ty");
        assert_eq!(utf8(r#"a="x\ty""#).unwrap()[0].value, "x\ty");
        assert_eq!(classic(r#"a="x\"y\\z\n""#).unwrap()[0].value, "x\"y\\z\n");
        assert!(classic(r#"a="x"y""#).is_err());
        assert!(classic("=x").is_err());
        assert!(utf8("=x").is_err());
        assert!(
            super::classic(r#""a"="x""#, QuotedNames::Refused).is_err(),
            "0.26"
        );
        assert_eq!(classic(r#""a.b"="x""#).unwrap()[0].name, "a.b");
    }

    /// The matchers amtool (Alertmanager 0.25, the classic parser without quoted names)
    /// reads from `line`, as its routing tree prints them (`{a="x",b=~"y"}`, values escaped
    /// with `\\`, `\"` and `\n`), or its error message.
    fn amtool_reads(line: &str) -> Result<Vec<Spec>, String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("am.yaml");
        let config = serde_json::json!({
            "route": { "receiver": "miss", "routes": [{ "receiver": "hit", "matchers": [line] }] },
            "receivers": [{ "name": "miss" }, { "name": "hit" }],
        });
        std::fs::write(&file, config.to_string()).unwrap();
        let out = std::process::Command::new("amtool")
            .args(["config", "routes", "--config.file"])
            .arg(&file)
            .output()
            .expect("amtool (Debian prometheus-alertmanager) is installed by scripts/test");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        if !out.status.success() {
            let why = stderr.lines().find(|l| l.contains("amtool: error:"));
            return Err(why.unwrap_or(&stderr).to_owned());
        }
        let tree = stdout
            .lines()
            .find_map(|l| l.strip_suffix("  receiver: hit"))
            .and_then(|l| l.split_once("── {"))
            .and_then(|(_, m)| m.strip_suffix('}'))
            .unwrap_or_else(|| panic!("no route to `hit` in {stdout}"));
        // The test's own reader of the printed form: name, operator, quoted value.
        let (mut out, mut rest) = (Vec::new(), tree);
        while !rest.is_empty() {
            let op_at = rest.find(['=', '!']).expect("an operator");
            let name = rest[..op_at].to_owned();
            let op = [Op::Regex, Op::NotRegex, Op::NotEqual, Op::Equal]
                .into_iter()
                .find(|op| rest[op_at..].starts_with(op.as_str()))
                .expect("an operator");
            let mut chars = rest[op_at + op.as_str().len()..].char_indices().skip(1);
            let mut value = String::new();
            let end = loop {
                match chars.next().expect("a closing quote") {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().expect("an escape").1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    (_, c) => value.push(c),
                }
            };
            out.push(Spec { name, op, value });
            rest = &rest[op_at + op.as_str().len() + end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
        Ok(out)
    }

    /// amtool 0.25 is the judge of the classic parser as 0.26 and older run it: each line
    /// is accepted by both or refused by both, with the same matchers (names with `_`, `:`
    /// and digits, operators, escapes, a trailing backslash, braces, lists) or the same
    /// message (`bad matcher format`, an unescaped quote).
    #[test]
    fn amtool_reads_every_line_as_the_classic_parser_does() {
        let lines = [
            r#"foo_bar="x""#,
            r#"a:b="x""#,
            r#"a1="x""#,
            r#"_a="x""#,
            r#":a9_="x""#,
            r#"1a="x""#,
            r#"a-b="x""#,
            "=x",
            r#""a"="x""#,
            r#"a=x""#,
            r#"a=x\"#,
            r#"a="x\\""#,
            r#"a="x\ty""#,
            r#"a="x\\\"y\n""#,
            r#"a = "b=c""#,
            r#"a=~"é|\xf0""#,
            r#"a="x€""#,
            r#"b!~  "q" "#,
            r#"c != d"#,
            r#"{a="1", b=~"2|3"}"#,
            r#"a="1",b="2","#,
            r#"{a="b,c"}"#,
            "a=",
            r#"a="x"y""#,
        ];
        for line in lines {
            let ours = classic(line, QuotedNames::Refused);
            match (amtool_reads(line), ours) {
                (Ok(theirs), Ok(ours)) => assert_eq!(ours, theirs, "{line}"),
                (Err(theirs), Err(ours)) => assert!(
                    theirs.ends_with(&ours),
                    "{line}: amtool says {theirs:?}, the parser {ours:?}"
                ),
                (theirs, ours) => panic!("{line}: amtool read {theirs:?}, the parser {ours:?}"),
            }
        }
    }

    /// 0.27's classic parser takes a quoted name up to the last quote before an operator:
    /// an operator inside the value does not end the name, and a lone quote is no name.
    #[test]
    fn quoted_names_end_at_the_quote_before_the_operator() {
        let classic = |line| classic(line, QuotedNames::Allowed);
        assert_eq!(
            classic(r#""a"="b=c""#),
            Ok(vec![spec("a", Op::Equal, "b=c")])
        );
        assert_eq!(
            classic(r#""a.b" =~ "c!=d""#),
            Ok(vec![spec("a.b", Op::Regex, "c!=d")])
        );
        for bad in [r#""="x""#, "=x"] {
            let e = classic(bad).unwrap_err();
            assert_eq!(e, format!("bad matcher format: {bad}"));
        }
        let e = classic(r#"""="x""#).unwrap_err();
        assert!(e.contains("invalid matcher label name"), "{e}");
    }

    /// Alertmanager 0.27+ uses the classic reading when the two disagree, either one when
    /// only one reads the line.
    #[test]
    fn the_fallback_mode_uses_the_classic_reading_first() {
        let agreed = read("a=b").unwrap();
        assert_eq!(agreed.fallback_mode(), [spec("a", Op::Equal, "b")]);
        let disagreed = read(r#"a="\x41""#).unwrap();
        assert_eq!(disagreed.fallback_mode(), [spec("a", Op::Equal, r"\x41")]);
        let classic_only = read("a=").unwrap();
        assert_eq!(classic_only.fallback_mode(), [spec("a", Op::Equal, "")]);
        let utf8_only = read("é=ü").unwrap();
        assert!(matches!(utf8_only, Reading::Utf8Only(..)), "{utf8_only:?}");
        assert_eq!(utf8_only.fallback_mode(), [spec("é", Op::Equal, "ü")]);
        assert!(read("{a").is_err());
    }

    /// Go's `strconv.Unquote` escapes, each by its value (Go's spec: "Rune literals").
    #[test]
    fn utf8_strings_take_every_go_escape() {
        let value = |body: &str| utf8(&format!("a=\"{body}\"")).map(|m| m[0].value.clone());
        assert_eq!(
            value(r#"\a\b\f\n\r\t\v\\\""#).unwrap(),
            "\u{7}\u{8}\u{c}\n\r\t\u{b}\\\""
        );
        assert_eq!(value(r"\101\x42\u0043\U00000044").unwrap(), "ABCD");
        assert_eq!(value(r"\303\251").unwrap(), "é", "two octal bytes");
        assert_eq!(value(r"\xc3\xa9\u00e9\U0001F642").unwrap(), "éé🙂");
        assert_eq!(value(r"\000\177").unwrap(), "\0\u{7f}");
        for bad in [
            r"\q",
            r"\x4",
            r"\x4g",
            r"\u00e",
            r"\U0001F64",
            r"\400",
            r"\ud800",
            r"\xff",
            r"\8",
        ] {
            assert!(value(bad).is_err(), "{bad}");
        }
        assert!(go_unquote("x\\").is_err(), "a trailing backslash");
        assert!(go_unquote("x\ny").is_err(), "a raw line feed");
        assert_eq!(go_unquote("x\ty").unwrap(), "x\ty", "a raw tab is kept");
    }

    /// The UTF-8 parser's literals: reserved characters end an unquoted one, a quoted one
    /// runs to its first unescaped quote, and what follows must be a comma or the end.
    #[test]
    fn utf8_literals_end_where_alertmanager_ends_them() {
        assert_eq!(
            utf8(r#"{a="x\"y", b = c}"#),
            Ok(vec![
                spec("a", Op::Equal, "x\"y"),
                spec("b", Op::Equal, "c")
            ])
        );
        assert_eq!(utf8(r#"a="\\",b=c"#).unwrap()[0].value, "\\");
        assert_eq!(utf8("é=ü").unwrap(), [spec("é", Op::Equal, "ü")]);
        for bad in [
            "a=b c", "a=b}", "{a=b", "a=", r#"a="b"#, "a=b\"", "a=b'", "a=`b`", "a b=c",
        ] {
            assert!(utf8(bad).is_err(), "{bad}");
        }
        assert_eq!(utf8(""), Ok(vec![]));
        assert_eq!(utf8("{}"), Ok(vec![]));
    }
}
