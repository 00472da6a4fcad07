//! Bounds on what a check reads and reports, so hostile input cannot exhaust the stack,
//! the CPU or the terminal: PromQL length and nesting (checked by a linear pre-scan before
//! promql-parser, whose parse is quadratic in nesting and whose drop recurses), JSON answers
//! by the values they decode into, and the number and length of findings one check prints.

use promql_parser::parser::{self, Expr};

/// Longest PromQL expression parsed, in bytes. Generated rules stay under 2 KiB.
pub(crate) const MAX_PROMQL_BYTES: usize = 16 * 1024;

/// Deepest nesting of `(`, `[` and `{` parsed. Real queries stay under 10.
pub(crate) const MAX_PROMQL_DEPTH: usize = 64;

/// Findings one check lists; the rest are counted as "… and N more".
pub(crate) const MAX_FINDINGS: usize = 50;

/// Longest human report, in bytes, before its result line; the lines past it are counted.
pub(crate) const MAX_REPORT_BYTES: usize = 256 << 10;

/// Longest finding message or summary, in bytes; a longer one is cut at a character boundary.
pub(crate) const MAX_MESSAGE_BYTES: usize = 1024;

/// Most JSON values (objects, arrays, scalars) one API answer may decode into: a real answer
/// about one app's targets and series has thousands; a value costs 32 to 100 bytes built.
pub(crate) const MAX_JSON_VALUES: usize = 1_000_000;

/// Parses `bytes` as JSON once a linear scan has counted at most [`MAX_JSON_VALUES`] values
/// in it (an upper bound: commas, openings and the first value, outside strings), so a body
/// of `[0,0,0,…]` is refused before it decodes into thirty times its size.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, JsonRefusal> {
    let (mut values, mut in_string, mut escaped) = (1usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' | b',' => values += 1,
            _ => {}
        }
    }
    if values > MAX_JSON_VALUES {
        return Err(JsonRefusal::OverBudget(format!(
            "the answer holds more than {MAX_JSON_VALUES} JSON values (the checker's budget)"
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| JsonRefusal::Invalid(e.to_string()))
}

/// Why [`parse_json`] refused a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonRefusal {
    /// More values than [`MAX_JSON_VALUES`]: not decoded.
    OverBudget(String),
    /// Not JSON.
    Invalid(String),
}

impl std::fmt::Display for JsonRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OverBudget(m) | Self::Invalid(m) => f.write_str(m),
        }
    }
}

/// Why `expr` is refused before parsing, if it is: too long or nested too deep. Linear in
/// the length; brackets inside string literals do not count.
pub(crate) fn promql_refusal(expr: &str) -> Option<String> {
    if expr.len() > MAX_PROMQL_BYTES {
        return Some(format!(
            "expression of {} bytes, above the {MAX_PROMQL_BYTES}-byte limit",
            expr.len()
        ));
    }
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for b in expr.bytes() {
        if let Some(q) = quote {
            match b {
                _ if escaped => escaped = false,
                b'\\' if q != b'`' => escaped = true,
                _ if b == q => quote = None,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' | b'\'' | b'`' => quote = Some(b),
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (deepest > MAX_PROMQL_DEPTH)
        .then(|| format!("brackets nested {deepest} deep, above the limit of {MAX_PROMQL_DEPTH}"))
}

/// Parses `expr` as PromQL once it is within the bounds above.
pub(crate) fn parse_promql(expr: &str) -> Result<Expr, String> {
    match promql_refusal(expr) {
        Some(why) => Err(why),
        None => parser::parse(expr),
    }
}

/// `message` cut to [`MAX_MESSAGE_BYTES`] at a character boundary, saying how much was cut.
pub(crate) fn clip(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let end = message.floor_char_boundary(MAX_MESSAGE_BYTES);
        let cut = message.len() - end;
        message.truncate(end);
        message.push_str(&format!("… ({cut} more bytes)"));
    }
    message
}

/// Parses a size such as `64MiB`, `512KiB`, `1GiB` or a plain number of bytes.
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let scale: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit `{other}`: write bytes, KiB, MiB or GiB, e.g. 64MiB"
            ));
        }
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{text}` is not a size: write e.g. 64MiB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_outside_strings() {
        assert_eq!(promql_refusal("sum(rate(x{a=\"((((\"}[5m]))"), None);
        let deep = format!("{}x{}", "(".repeat(65), ")".repeat(65));
        assert!(promql_refusal(&deep).is_some());
        assert!(promql_refusal(&"x".repeat(MAX_PROMQL_BYTES + 1)).is_some());
    }

    #[test]
    fn json_is_counted_before_it_is_built() {
        assert_eq!(parse_json(br#"{"a":[1,"x,[{"]}"#).unwrap()["a"][1], "x,[{");
        let many = format!("[{}0]", "0,".repeat(MAX_JSON_VALUES));
        assert!(matches!(
            parse_json(many.as_bytes()),
            Err(JsonRefusal::OverBudget(_))
        ));
        let strings = format!("[\"{}\"]", ",".repeat(MAX_JSON_VALUES));
        assert!(
            parse_json(strings.as_bytes()).is_ok(),
            "commas in strings do not count"
        );
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("3MB").is_err());
    }

    #[test]
    fn long_messages_are_clipped_on_a_char_boundary() {
        let m = clip("é".repeat(MAX_MESSAGE_BYTES));
        assert!(m.len() < MAX_MESSAGE_BYTES + 40);
        assert!(m.ends_with("more bytes)"));
    }

    /// Each PromQL limit at its edge: 16 KiB and 64 levels are parsed, a byte or a level
    /// more is refused; brackets inside strings (after an escaped quote too, but not after a
    /// backslash in a raw backquoted string, which escapes nothing) do not count, and closed
    /// brackets do not add up.
    #[test]
    fn promql_limits_hold_at_their_edges() {
        assert_eq!(promql_refusal(&"x".repeat(16 * 1024)), None);
        assert_eq!(
            promql_refusal(&"x".repeat(16 * 1024 + 1)).as_deref(),
            Some("expression of 16385 bytes, above the 16384-byte limit")
        );
        let nested = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(promql_refusal(&nested(64)), None);
        assert_eq!(
            promql_refusal(&nested(65)).as_deref(),
            Some("brackets nested 65 deep, above the limit of 64")
        );
        assert_eq!(promql_refusal(&vec!["(x)"; 100].join(" + ")), None);
        let brackets = "([{".repeat(22);
        for string in [
            format!("\"{brackets}\""),
            format!("'{brackets}'"),
            format!("`{brackets}`"),
            format!("\"\\\"{brackets}\""),
            format!("'\\'{brackets}'"),
            format!("\"\\\\{brackets}\\\\\""),
        ] {
            let expr = format!("x{{a={string}}}");
            assert_eq!(promql_refusal(&expr), None, "{expr}");
        }
        for string in ["\"a\"", "'a'", "`a`", "\"\\\\\"", "`\\`", "\"\\\"\""] {
            let expr = format!("x{{a={string}}} + {}", nested(65));
            assert!(promql_refusal(&expr).is_some(), "{expr}");
        }
    }

    /// The JSON budget at its edge: an array of `MAX_JSON_VALUES - 1` numbers is the
    /// array and its numbers, `MAX_JSON_VALUES` values, and decodes; one more is refused.
    /// A quote escaped in a string does not end it; a string that ends lets commas count.
    #[test]
    fn the_json_budget_holds_at_its_edge() {
        let numbers = |n: usize| format!("[{}0]", "0,".repeat(n - 1));
        let at = parse_json(numbers(MAX_JSON_VALUES - 1).as_bytes()).expect("within");
        assert_eq!(at.as_array().map(Vec::len), Some(MAX_JSON_VALUES - 1));
        let over = parse_json(numbers(MAX_JSON_VALUES).as_bytes()).unwrap_err();
        assert!(matches!(over, JsonRefusal::OverBudget(_)), "{over:?}");
        assert_eq!(
            over.to_string(),
            "the answer holds more than 1000000 JSON values (the checker's budget)"
        );
        let escaped = format!("[\"\\\"{}\"]", ",".repeat(MAX_JSON_VALUES));
        let v = parse_json(escaped.as_bytes()).expect("commas in a string");
        assert_eq!(v[0].as_str().map(str::len), Some(MAX_JSON_VALUES + 1));
        let after = format!("[\"\",{}0]", "0,".repeat(MAX_JSON_VALUES));
        assert!(matches!(
            parse_json(after.as_bytes()),
            Err(JsonRefusal::OverBudget(_))
        ));
        let invalid = parse_json(b"[1,").unwrap_err();
        assert!(matches!(invalid, JsonRefusal::Invalid(_)), "{invalid:?}");
        assert!(invalid.to_string().contains("EOF"), "{invalid}");
    }

    /// A message of exactly 1 KiB is kept; a longer one keeps the whole characters of its
    /// first KiB and says how many bytes it lost.
    #[test]
    fn clipping_keeps_whole_characters_of_the_first_kib() {
        let exact = "x".repeat(1024);
        assert_eq!(clip(exact.clone()), exact);
        // 1 + 600 × 2 = 1201 bytes; byte 1024 falls inside an `é`.
        let odd = format!("x{}", "é".repeat(600));
        assert_eq!(clip(odd), format!("x{}… (178 more bytes)", "é".repeat(511)));
    }

    #[test]
    fn every_size_unit_scales() {
        assert_eq!(parse_size("1B"), Ok(1));
        assert_eq!(parse_size("512KiB"), Ok(524_288));
        assert_eq!(parse_size(" 2 MiB "), Ok(2_097_152));
        assert_eq!(parse_size("1GiB"), Ok(1_073_741_824));
        assert!(parse_size("KiB").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
    }
}
