//! Numbers as the two formats write them. Both share one grammar: Go's `strconv.ParseFloat`
//! as Prometheus' text parser restricts it (decimal only: no hex, no `_`) is the OpenMetrics
//! `number` rule: an optional sign, digits with an optional fraction and exponent, or
//! `Inf`/`Infinity` (signed or not) and `NaN` (unsigned), in any case. A decimal beyond the
//! `f64` range (`1e310`) is an error, as in Go; one below it rounds to a subnormal or zero.

/// The value of a number token, or `None` when the token is not one.
pub(crate) fn parse_number(token: &[u8]) -> Option<f64> {
    special(token).or_else(|| parse_real(token))
}

/// The value of a decimal token (the OpenMetrics `realnumber`, also its timestamps): finite
/// by construction, `None` when malformed or out of the `f64` range.
pub(crate) fn parse_real(token: &[u8]) -> Option<f64> {
    if !is_decimal(token) {
        return None;
    }
    // The grammar admits only ASCII, so the conversion cannot fail.
    let value: f64 = std::str::from_utf8(token).ok()?.parse().ok()?;
    value.is_finite().then_some(value)
}

/// `[+-]inf`, `[+-]infinity` and `nan`, case-insensitive.
fn special(token: &[u8]) -> Option<f64> {
    if token.eq_ignore_ascii_case(b"nan") {
        return Some(f64::NAN);
    }
    let (negative, word) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, token),
    };
    let inf = word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"infinity");
    inf.then_some(if negative {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    })
}

/// `[sign] digits ["." digits] [("e"|"E") [sign] digits]` with at least one mantissa digit.
fn is_decimal(token: &[u8]) -> bool {
    let mut i = usize::from(matches!(token.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while token.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut mantissa = digits(&mut i);
    if token.get(i) == Some(&b'.') {
        i += 1;
        mantissa += digits(&mut i);
    }
    if mantissa == 0 {
        return false;
    }
    if matches!(token.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(token.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == token.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shared_grammar() {
        for (token, value) in [
            ("1", 1.0),
            ("-1.5e3", -1500.0),
            ("+.5", 0.5),
            ("5.", 5.0),
            ("1.e2", 100.0),
            ("0001", 1.0),
            ("1E+2", 100.0),
            ("1e-400", 0.0),
            ("1.7976931348623157e308", f64::MAX),
            ("+Inf", f64::INFINITY),
            ("-infinity", f64::NEG_INFINITY),
            ("INF", f64::INFINITY),
        ] {
            assert_eq!(parse_number(token.as_bytes()), Some(value), "{token}");
        }
        assert!(parse_number(b"NaN").is_some_and(f64::is_nan));
        assert!(parse_number(b"4.9e-324").is_some_and(|v| v > 0.0));
    }

    #[test]
    fn refuses_what_go_refuses() {
        for token in [
            "",
            ".",
            "e5",
            "1e",
            "1e+",
            "+",
            "1_000",
            "0x10",
            "0x1p3",
            "1e310",
            "-1e310",
            "1.7976931348623159e308",
            "+nan",
            "-NaN",
            "infinit",
            "in",
            "1 ",
            " 1",
            "1,5",
            "١",
            "++1",
            "1e+-5",
            "1.2.3",
        ] {
            assert_eq!(parse_number(token.as_bytes()), None, "{token}");
        }
        assert_eq!(parse_real(b"Inf"), None);
        assert_eq!(parse_real(b"NaN"), None);
    }
}
