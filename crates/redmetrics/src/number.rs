//! Rendering numbers as the exposition formats want them.
//!
//! Sample values use the shortest round-trip form (`ryu`); `le` and `quantile` label values use
//! the OpenMetrics *canonical* form (Go's `%g` with `.0` added to integers: `0.005`, `1.0`,
//! `1e-05`, `+Inf`). Both formats use the canonical form so that a Prometheus scraping text
//! and one scraping OpenMetrics store the same `le` series. Written by hand: no crate renders
//! Go's `%g`.

/// Appends `v` in the shortest form that parses back to the same `f64`.
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let mut buf = ryu::Buffer::new();
        let s = buf.format_finite(v);
        // ryu writes integral values as `42.0`; both formats accept that, but the short form
        // is what client_golang writes and it keeps scrapes smaller.
        out.extend_from_slice(s.strip_suffix(".0").unwrap_or(s).as_bytes());
    } else if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_sign_positive() {
        out.extend_from_slice(b"+Inf");
    } else {
        out.extend_from_slice(b"-Inf");
    }
}

/// Appends an unsigned integer.
pub(crate) fn write_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// Appends a signed integer.
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// The OpenMetrics canonical rendering of `v`, for `le` and `quantile` label values.
pub(crate) fn canonical(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v.is_sign_positive() { "+Inf" } else { "-Inf" }.to_owned();
    }
    if v == 0.0 {
        return "0.0".to_owned();
    }
    // Shortest round-trip digits and decimal exponent, from ryu's scientific output.
    let mut buf = ryu::Buffer::new();
    let (negative, digits, exp) = split_digits(buf.format_finite(v));
    let mut s = String::new();
    if negative {
        s.push('-');
    }
    // Go's strconv `%g` at shortest precision uses exponent form when the decimal exponent
    // is below -4 or at least 6.
    if !(-4..6).contains(&exp) {
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp.is_negative() { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            s.push('0');
        }
        s.push_str(&e.to_string());
        return s;
    }
    if exp < 0 {
        s.push_str("0.");
        for _ in 0..(-exp - 1) {
            s.push('0');
        }
        s.push_str(&digits);
    } else {
        // `exp` is not negative here; `unsigned_abs` keeps a sign slip from wrapping around.
        let int_len = exp.unsigned_abs() as usize + 1;
        if digits.len() <= int_len {
            s.push_str(&digits);
            for _ in digits.len()..int_len {
                s.push('0');
            }
            s.push_str(".0");
        } else {
            s.push_str(&digits[..int_len]);
            s.push('.');
            s.push_str(&digits[int_len..]);
        }
    }
    s
}

/// Splits ryu output (`1.5e-7`, `0.005`, `123.0`) into sign, significant digits and the
/// decimal exponent of the first digit.
fn split_digits(s: &str) -> (bool, String, i32) {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exp_part) = match s.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = int_part.chars().chain(frac_part.chars()).collect();
    let leading_zeros = all.chars().take_while(|&c| c == '0').count();
    let digits = all[leading_zeros..].trim_end_matches('0').to_owned();
    let exp = int_part.len() as i32 - 1 - leading_zeros as i32 + exp_part;
    let digits = if digits.is_empty() {
        "0".to_owned()
    } else {
        digits
    };
    (negative, digits, exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_matches_the_openmetrics_examples() {
        // Examples listed in the OpenMetrics 1.0 spec, "Considerations: Canonical Numbers".
        let cases = [
            (0.0, "0.0"),
            (0.001, "0.001"),
            (0.002, "0.002"),
            (0.01, "0.01"),
            (0.1, "0.1"),
            (0.9, "0.9"),
            (0.95, "0.95"),
            (0.99, "0.99"),
            (0.999, "0.999"),
            (1.0, "1.0"),
            (1.7, "1.7"),
            (10.0, "10.0"),
            (1e-10, "1e-10"),
            (1e-9, "1e-09"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (100000.0, "100000.0"),
            (1e6, "1e+06"),
            (1e10, "1e+10"),
            (f64::INFINITY, "+Inf"),
            // Go's `%g` keeps the sign in front of either form.
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (-0.25, "-0.25"),
            (-2.0, "-2.0"),
            (-1.5e-7, "-1.5e-07"),
            (-2.5e12, "-2.5e+12"),
        ];
        for (v, want) in cases {
            assert_eq!(canonical(v), want, "{v}");
        }
    }

    #[test]
    fn default_buckets_render_as_go_does() {
        let rendered: Vec<String> = [0.005, 0.025, 0.25, 2.5, 5.0, 1234567.0]
            .iter()
            .map(|&v| canonical(v))
            .collect();
        assert_eq!(
            rendered,
            ["0.005", "0.025", "0.25", "2.5", "5.0", "1.234567e+06"]
        );
    }

    #[test]
    fn values_use_the_short_form() {
        let mut out = Vec::new();
        for v in [
            42.0,
            0.5,
            f64::NAN,
            f64::NEG_INFINITY,
            1e-7,
            f64::INFINITY,
            -3.0,
        ] {
            write_f64(&mut out, v);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "42 0.5 NaN -Inf 1e-7 +Inf -3 "
        );
    }
}
