//! Validated metric names, label names and prefixes.
//!
//! Prometheus 2.x accepts metric names matching `[a-zA-Z_:][a-zA-Z0-9_:]*` and label names
//! matching `[a-zA-Z_][a-zA-Z0-9_]*`; names starting with `__` are reserved for Prometheus
//! itself. redmetrics also refuses colons in metric names: they are meant for recording rules.
//! Every refusal names the rule it broke, so the fix is obvious from the message.
//!
//! ```
//! use redmetrics::name::{MetricName, NameError};
//!
//! assert!(MetricName::new("reviewmaps_http_requests_total").is_ok());
//! let err = MetricName::new("2fast").unwrap_err();
//! assert!(matches!(err, NameError::BadStart { .. }));
//! ```

use std::fmt;

/// Why a name was refused; each message names the Prometheus rule and how to comply.
/// Example: [`name`](crate::name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("{what} is empty: it must match {pattern}")]
    Empty {
        /// What was being named (a metric name, a label name, a prefix).
        what: &'static str,
        /// The rule it must follow.
        pattern: &'static str,
    },
    /// The first character is not allowed there (digits cannot start a name).
    #[error(
        "{what} `{name}` starts with {found:?}: it must match {pattern} (start with a letter or `_`)"
    )]
    BadStart {
        /// What was being named.
        what: &'static str,
        /// The refused name.
        name: String,
        /// The offending first character.
        found: char,
        /// The rule it must follow.
        pattern: &'static str,
    },
    /// A character other than letters, digits and `_` appears.
    #[error(
        "{what} `{name}` contains {found:?} at byte {at}: it must match {pattern} (use `_` instead)"
    )]
    BadChar {
        /// What was being named.
        what: &'static str,
        /// The refused name.
        name: String,
        /// The offending character.
        found: char,
        /// Its byte offset.
        at: usize,
        /// The rule it must follow.
        pattern: &'static str,
    },
    /// The name contains a colon, which Prometheus reserves for recording rules.
    #[error("{what} `{name}` contains `:`: colons are reserved for recording rules; use `_`")]
    Colon {
        /// What was being named.
        what: &'static str,
        /// The refused name.
        name: String,
    },
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    #[error("{what} of {len} bytes is longer than {max} bytes: shorten it")]
    TooLong {
        /// What was being named.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The name starts with `__`, which Prometheus reserves for internal use.
    #[error(
        "{what} `{name}` starts with `__`: that prefix is reserved for Prometheus' internal use"
    )]
    Reserved {
        /// What was being named.
        what: &'static str,
        /// The refused name.
        name: String,
    },
}

/// The longest UTF-8 metric or label name accepted ([`MetricName::utf8`], [`LabelName::utf8`]
/// and the `metrics` facade), in bytes: a name is part of every sample line, so an unbounded
/// one is an unbounded scrape.
pub const MAX_NAME_LEN: usize = 256;

const METRIC_PATTERN: &str = "[a-zA-Z_][a-zA-Z0-9_]*";
const LABEL_PATTERN: &str = "[a-zA-Z_][a-zA-Z0-9_]*";

/// Checks `name` against the rules shared by prefixes, metric names and label names.
fn check(what: &'static str, pattern: &'static str, name: &str) -> Result<(), NameError> {
    let mut chars = name.char_indices();
    let Some((_, first)) = chars.next() else {
        return Err(NameError::Empty { what, pattern });
    };
    if name.contains(':') {
        return Err(NameError::Colon {
            what,
            name: name.to_owned(),
        });
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(NameError::BadStart {
            what,
            name: name.to_owned(),
            found: first,
            pattern,
        });
    }
    if let Some((at, found)) = chars.find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_')) {
        return Err(NameError::BadChar {
            what,
            name: name.to_owned(),
            found,
            at,
            pattern,
        });
    }
    if name.starts_with("__") {
        return Err(NameError::Reserved {
            what,
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// The rules every UTF-8 name keeps: not empty, at most [`MAX_NAME_LEN`] bytes, no `__`.
fn check_utf8(what: &'static str, name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty {
            what,
            pattern: "any UTF-8 text",
        });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            what,
            len: name.len(),
            max: MAX_NAME_LEN,
        });
    }
    if name.starts_with("__") {
        return Err(NameError::Reserved {
            what,
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Whether `name` is written as it is by every scheme: `[a-zA-Z_][a-zA-Z0-9_]*` (redmetrics
/// keeps colons for recording rules, so they count as needing escaping).
pub(crate) fn is_legacy(name: &str) -> bool {
    let b = name.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
        _ => return false,
    }
    b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// How names outside the legacy character set reach a scraper: the `escaping=` parameter of
/// Prometheus' `Accept` header (prometheus.io `instrumenting/escaping_schemes`).
///
/// ```
/// use redmetrics::name::Escaping;
///
/// assert_eq!(Escaping::Underscores.escape("demo.cache.entries"), "demo_cache_entries");
/// assert_eq!(Escaping::Dots.escape("demo.cache_entries"), "demo_dot_cache__entries");
/// assert_eq!(Escaping::Values.escape("demo.cache"), "U__demo_2e_cache");
/// assert_eq!(Escaping::AllowUtf8.escape("demo.cache"), "demo.cache");
/// assert_eq!("allow-utf-8".parse::<Escaping>(), Ok(Escaping::AllowUtf8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Escaping {
    /// `allow-utf-8`: names as they are, quoted where not legacy-valid
    /// (`{"demo.cache.entries",label="v"} 1`).
    AllowUtf8,
    /// `underscores`: what a scraper without UTF-8 gets. redmetrics' rule, stricter than
    /// Prometheus' own: every character outside `[a-zA-Z0-9_]` (colons too) becomes `_`, a
    /// leading digit gets a `_` in front (Prometheus replaces it), and a leading `__` is cut
    /// to `_`. Legacy-valid names are unchanged, so Prometheus 2.x sees what it always saw.
    #[default]
    Underscores,
    /// `dots`: `.` becomes `_dot_`, `_` becomes `__`, anything else outside the legacy set
    /// `__`; applied to every name, as prometheus/common does.
    Dots,
    /// `values`: legacy-valid names unchanged; others get `U__`, `_` doubled and every
    /// other character outside the set written as `_<hex code point>_`.
    Values,
}

/// The `escaping=` value was not one of the four schemes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown escaping scheme `{0}`: allow-utf-8, underscores, dots or values")]
pub struct UnknownEscaping(pub String);

impl std::str::FromStr for Escaping {
    type Err = UnknownEscaping;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow-utf-8" => Ok(Self::AllowUtf8),
            "underscores" => Ok(Self::Underscores),
            "dots" => Ok(Self::Dots),
            "values" => Ok(Self::Values),
            other => Err(UnknownEscaping(other.to_owned())),
        }
    }
}

impl fmt::Display for Escaping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Escaping {
    /// Every scheme, in the order of the specification.
    pub const ALL: [Self; 4] = [Self::AllowUtf8, Self::Underscores, Self::Dots, Self::Values];

    /// The parameter value (`escaping=<this>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllowUtf8 => "allow-utf-8",
            Self::Underscores => "underscores",
            Self::Dots => "dots",
            Self::Values => "values",
        }
    }

    /// `name` as this scheme writes it (without the quotes `allow-utf-8` adds).
    pub fn escape(self, name: &str) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        if !self.changes(name) {
            return Cow::Borrowed(name);
        }
        let mut out = String::with_capacity(name.len() + 4);
        self.escape_into(&mut out, name);
        Cow::Owned(out)
    }

    /// Whether [`escape`](Self::escape) writes `name` differently (so an encoder that keeps
    /// a buffer of its own escapes into it only then).
    pub(crate) fn changes(self, name: &str) -> bool {
        match self {
            Self::AllowUtf8 => false,
            Self::Underscores | Self::Values => !is_legacy(name),
            Self::Dots => true,
        }
    }

    /// Appends `name` as this scheme writes it.
    pub(crate) fn escape_into(self, out: &mut String, name: &str) {
        use std::fmt::Write;
        let legacy = |c: char, first: bool| {
            c.is_ascii_alphabetic() || c == '_' || (!first && c.is_ascii_digit())
        };
        match self {
            Self::AllowUtf8 => out.push_str(name),
            Self::Underscores => {
                let start = out.len();
                if name.starts_with(|c: char| c.is_ascii_digit()) {
                    out.push('_');
                }
                out.extend(name.chars().map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                }));
                while out[start..].starts_with("__") {
                    out.remove(start);
                }
            }
            Self::Dots => {
                for (i, c) in name.chars().enumerate() {
                    match c {
                        '_' => out.push_str("__"),
                        '.' => out.push_str("_dot_"),
                        c if legacy(c, i == 0) => out.push(c),
                        _ => out.push_str("__"),
                    }
                }
            }
            Self::Values if is_legacy(name) => out.push_str(name),
            Self::Values => {
                out.push_str("U__");
                for (i, c) in name.chars().enumerate() {
                    match c {
                        '_' => out.push_str("__"),
                        c if legacy(c, i == 0) => out.push(c),
                        c => {
                            let _ = write!(out, "_{:x}_", u32::from(c));
                        }
                    }
                }
            }
        }
    }
}

/// A metric family name that Prometheus 2.x accepts and that is not reserved.
/// Example: [`name`](crate::name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct MetricName(String);

impl MetricName {
    /// Validates `name` as a metric name.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        check("metric name", METRIC_PATTERN, &name)?;
        Ok(Self(name))
    }

    /// Accepts any UTF-8 name (`http.server.duration`) up to [`MAX_NAME_LEN`] bytes, except
    /// an empty one or one starting with `__`. Scrapers that allow UTF-8 get it quoted; the
    /// others get it escaped as they ask ([`Escaping`]).
    ///
    /// ```
    /// use redmetrics::name::MetricName;
    ///
    /// assert!(!MetricName::utf8("demo.cache.entries").unwrap().is_legacy());
    /// assert!(MetricName::utf8("").is_err());
    /// ```
    pub fn utf8(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        check_utf8("metric name", &name)?;
        Ok(Self(name))
    }

    /// Whether Prometheus 2.x accepts the name as it is (`[a-zA-Z_][a-zA-Z0-9_]*`).
    pub fn is_legacy(&self) -> bool {
        is_legacy(&self.0)
    }

    /// The name as written in the exposition and in PromQL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for MetricName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A label name that Prometheus 2.x accepts and that is not reserved (`__*`, `le`, `quantile`
/// are refused where the metric type adds them itself).
/// Example: [`name`](crate::name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct LabelName(String);

impl LabelName {
    /// Validates `name` as a label name.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        check("label name", LABEL_PATTERN, &name)?;
        Ok(Self(name))
    }

    /// Accepts any UTF-8 label name up to [`MAX_NAME_LEN`] bytes, except an empty one or one
    /// starting with `__`; see [`MetricName::utf8`].
    pub fn utf8(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        check_utf8("label name", &name)?;
        Ok(Self(name))
    }

    /// The name as written in the exposition and in PromQL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LabelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for LabelName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The application prefix every contract family name starts with (`reviewmaps` in
/// `reviewmaps_http_requests_total`).
///
/// One trailing `_` is accepted and dropped, so the Go habit of writing `reviewmaps_` works.
/// Example: [`name`](crate::name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Prefix(String);

impl Prefix {
    /// Validates `prefix`: the metric-name rules without colons, not starting with `__`.
    pub fn new(prefix: impl Into<String>) -> Result<Self, NameError> {
        let mut prefix = prefix.into();
        if prefix.len() > 1 && prefix.ends_with('_') && !prefix.ends_with("__") {
            prefix.pop();
        }
        check("metric prefix", METRIC_PATTERN, &prefix)?;
        Ok(Self(prefix))
    }

    /// The prefix without its joining underscore.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<prefix>_<suffix>` as a metric name; `suffix` is trusted to be name characters.
    pub(crate) fn join(&self, suffix: &str) -> MetricName {
        MetricName(format!("{}_{suffix}", self.0))
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The regular expression of the Prometheus docs, written out as a predicate.
    fn prometheus_accepts(name: &str) -> bool {
        let mut chars = name.chars();
        match chars.next() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
            _ => return false,
        }
        chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    proptest! {
        #[test]
        fn metric_names_follow_the_documented_rule(name in "\\PC{0,12}") {
            let ours = MetricName::new(name.clone()).is_ok();
            let expected = prometheus_accepts(&name) && !name.starts_with("__");
            prop_assert_eq!(ours, expected, "name {:?}", name);
        }

        #[test]
        fn label_names_follow_the_documented_rule(name in "[a-zA-Z0-9_:\\-. ]{0,10}") {
            let ours = LabelName::new(name.clone()).is_ok();
            let expected = prometheus_accepts(&name) && !name.starts_with("__");
            prop_assert_eq!(ours, expected, "name {:?}", name);
        }

        #[test]
        fn every_valid_prefix_makes_valid_family_names(prefix in "[a-zA-Z][a-zA-Z0-9_]{0,10}") {
            let p = Prefix::new(prefix).unwrap();
            prop_assert!(MetricName::new(p.join("http_requests_total").as_str()).is_ok());
        }
    }

    #[test]
    fn messages_name_the_rule() {
        let e = Prefix::new("review-maps").unwrap_err().to_string();
        assert!(
            e.contains("'-'") && e.contains("[a-zA-Z_][a-zA-Z0-9_]*"),
            "{e}"
        );
        let e = Prefix::new("__x").unwrap_err().to_string();
        assert!(e.contains("reserved"), "{e}");
        let e = MetricName::new("a:b").unwrap_err().to_string();
        assert!(e.contains("recording rules"), "{e}");
        let e = Prefix::new("9lives").unwrap_err().to_string();
        assert!(e.contains("start with a letter"), "{e}");
        assert!(matches!(LabelName::new(""), Err(NameError::Empty { .. })));
    }

    /// UTF-8 names are refused only when empty, reserved or past the cap (256 bytes is
    /// accepted, 257 is not), for metric and label names alike.
    #[test]
    fn utf8_names_keep_the_length_cap() {
        let at_cap = "é".repeat(MAX_NAME_LEN / 2);
        assert_eq!(at_cap.len(), 256);
        assert!(MetricName::utf8(at_cap.clone()).is_ok());
        assert!(LabelName::utf8(at_cap.clone()).is_ok());
        let past = format!("{at_cap}x");
        let too_long = NameError::TooLong {
            what: "metric name",
            len: 257,
            max: 256,
        };
        assert_eq!(MetricName::utf8(past.clone()), Err(too_long));
        assert!(matches!(
            LabelName::utf8(past),
            Err(NameError::TooLong { len: 257, .. })
        ));
        assert!(matches!(MetricName::utf8(""), Err(NameError::Empty { .. })));
        assert!(matches!(
            LabelName::utf8("__x.y"),
            Err(NameError::Reserved { .. })
        ));
        assert!(MetricName::utf8("_x.y").is_ok());
    }

    /// Each scheme's output, written out by hand from prometheus.io's escaping schemes (and
    /// redmetrics' stricter `underscores`, which escapes colons too), and whether the scheme
    /// counts it as a change: legacy names are kept by every scheme but `dots`.
    #[test]
    fn each_scheme_escapes_as_specified() {
        use Escaping::{AllowUtf8, Dots, Underscores, Values};
        let cases: &[(Escaping, &str, &str)] = &[
            (AllowUtf8, "a.b-c", "a.b-c"),
            (AllowUtf8, "abc", "abc"),
            (Underscores, "abc_1", "abc_1"),
            (Underscores, "a.b:c", "a_b_c"),
            (Underscores, "1a", "_1a"),
            (Underscores, "..x", "_x"),
            (Dots, "abc", "abc"),
            (Dots, "a_b", "a__b"),
            (Dots, "a.b", "a_dot_b"),
            (Dots, "a1", "a1"),
            (Dots, "1a", "__a"),
            (Dots, "a-b", "a__b"),
            (Dots, "a:é", "a____"),
            (Values, "abc_1", "abc_1"),
            (Values, "a.b", "U__a_2e_b"),
            (Values, "a_b.c", "U__a__b_2e_c"),
            (Values, "x.1", "U__x_2e_1"),
            (Values, "1x", "U___31_x"),
            (Values, "é", "U___e9_"),
            (Values, "a:b", "U__a_3a_b"),
            (Values, "_.", "U_____2e_"),
            (Values, "Z.z", "U__Z_2e_z"),
        ];
        for &(scheme, name, escaped) in cases {
            assert_eq!(scheme.escape(name), escaped, "{scheme} of {name:?}");
            let mut out = String::from(">");
            scheme.escape_into(&mut out, name);
            assert_eq!(out, format!(">{escaped}"), "{scheme} into a buffer");
            // `dots` is applied to every name, so it always counts as a change.
            assert_eq!(
                scheme.changes(name),
                scheme == Dots || name != escaped,
                "{scheme} changes {name:?}"
            );
        }
    }

    /// What the name types show: the name as given, by `Display`, `AsRef` and `as_str`, and
    /// whether a metric name is legacy-valid.
    #[test]
    fn names_read_back_as_given() {
        let m = MetricName::utf8("http.server.duration").unwrap();
        assert!(!m.is_legacy());
        assert_eq!(m.to_string(), "http.server.duration");
        assert_eq!(m.as_ref(), "http.server.duration");
        let m = MetricName::new("http_server_duration").unwrap();
        assert!(m.is_legacy());
        assert_eq!(m.to_string(), "http_server_duration");
        assert_eq!(m.as_ref(), "http_server_duration");
        let l = LabelName::utf8("service.name").unwrap();
        assert_eq!(
            (l.to_string(), l.as_ref()),
            ("service.name".into(), "service.name")
        );
        assert_eq!(LabelName::new("status").unwrap().as_str(), "status");
        let p = Prefix::new("reviewmaps_").unwrap();
        assert_eq!(p.to_string(), "reviewmaps");
    }

    #[test]
    fn one_trailing_underscore_is_dropped() {
        assert_eq!(Prefix::new("reviewmaps_").unwrap().as_str(), "reviewmaps");
        assert_eq!(Prefix::new("reviewmaps").unwrap().as_str(), "reviewmaps");
        assert_eq!(Prefix::new("_").unwrap().as_str(), "_");
    }
}
