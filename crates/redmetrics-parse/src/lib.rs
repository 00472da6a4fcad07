//! Reading Prometheus expositions, text 0.0.4 and OpenMetrics 1.0, into families and samples,
//! with the line of every error.
//!
//! The text parser accepts and rejects what Prometheus' own parser (`expfmt`, used by
//! `promtool check metrics`) does, so a checker's verdict on a scrape matches the server's.
//! Both parsers also read Prometheus 3's quoted UTF-8 names (`{"a.b","c.d"="1"} 1`,
//! `# TYPE "a.b" gauge`), which Prometheus 2.x refuses: a checker tells them apart by name.
//! The OpenMetrics parser is as strict as the specification and agrees with every case of its
//! official parser test suite: besides the grammar it checks each type's rules (counters never
//! negative, cumulative histograms ending in `+Inf`, exemplars only where allowed, contiguous
//! Metrics with ordered timestamps). Written by hand: the Rust crates that parse expositions
//! are lenient or unmaintained, and a checker needs line numbers. Input is read in one pass;
//! no rule is quadratic in the input, and nothing recurses.
//!
//! ```
//! use redmetrics_parse::{MetricType, parse_text};
//!
//! let e = parse_text(b"# TYPE x counter\nx_total{a=\"1\"} 3\n").unwrap();
//! assert_eq!((e.families[0].name.as_str(), e.families[0].kind), ("x", MetricType::Counter));
//! // In text 0.0.4 a counter's samples carry its exact name: `x_total` is another family.
//! assert_eq!((e.families[1].name.as_str(), e.families[1].kind), ("x_total", MetricType::Unknown));
//! assert!(parse_text(b"x 1").is_err(), "the last line must end with a newline");
//! assert!(parse_text(b"x 1e310\n").is_err(), "beyond f64, as Prometheus says");
//! ```

mod budget;
mod error;
mod escape;
mod lex;
mod lines;
mod model;
mod number;
mod openmetrics;
mod protobuf;
mod suffix;
mod text;

pub use budget::DecodeBudget;
pub use error::{ParseError, RefusedBy};
pub use model::{Exemplar, Exposition, Family, Sample};
pub use openmetrics::parse_openmetrics;
pub use protobuf::{
    MAX_FAMILIES, ProtobufError, ProtobufErrorKind, is_native, parse_protobuf,
    parse_protobuf_within,
};
/// The type vocabulary the parsers speak: redmetrics' own (from `redmetrics-core`), re-exported.
pub use redmetrics_core::MetricType;
/// The protobuf exposition's message types, shared with the encoder.
pub use redmetrics_core::proto;
pub use text::parse_text;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: &str = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";

    #[test]
    fn quoted_utf8_names_in_both_formats() {
        let text = b"# HELP \"a.b\" A.\n# TYPE \"a.b\" gauge\n{\"a.b\",\"c.d\"=\"1\"} 3\n";
        let e = parse_text(text).unwrap();
        assert_eq!(e.families[0].name, "a.b");
        assert_eq!(e.families[0].samples[0].label("c.d"), Some("1"));
        let om = b"# TYPE \"a.b\" counter\n{\"a.b_total\",x=\"1\"} 3\n# EOF\n";
        let e = parse_openmetrics(om).unwrap();
        assert_eq!(e.families[0].name, "a.b");
        assert_eq!(e.families[0].samples[0].name, "a.b_total");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_text(&bytes);
            let _ = parse_openmetrics(&bytes);
        }

        #[test]
        fn mutated_expositions_never_panic(at in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
            let mut v = VALID.as_bytes().to_vec();
            let at = at % v.len();
            v[at] = byte;
            v.truncate(cut.max(1).min(v.len()));
            let _ = parse_text(&v);
            let mut om = v.clone();
            om.extend_from_slice(b"# EOF\n");
            let _ = parse_openmetrics(&om);
        }
    }
}
