//! Values put into URLs the command builds (Prometheus API queries, the demo's links to
//! Prometheus' graph page): one percent-encoder, the `percent-encoding` crate's.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters (letters, digits, `-`, `.`, `_`, `~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` percent-encoded as a query value: every byte but the unreserved characters.
pub(crate) fn query_value(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::query_value;

    #[test]
    fn encodes_promql_for_a_query_string() {
        assert_eq!(
            query_value(r#"sum(rate(x{job="a b"}[1m]))"#),
            "sum%28rate%28x%7Bjob%3D%22a%20b%22%7D%5B1m%5D%29%29"
        );
        assert_eq!(query_value("a-b.c_d~é"), "a-b.c_d~%C3%A9");
    }
}
