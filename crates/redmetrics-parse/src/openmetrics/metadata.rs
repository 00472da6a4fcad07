//! `# HELP`, `# TYPE` and `# UNIT` lines: `#`, one space, the keyword, one space, a metric
//! name, one space, then the text (which may be empty for HELP and UNIT). OpenMetrics has no
//! other comment lines (`# EOF` is handled by the caller).

use crate::lex::Cursor;
use redmetrics_core::MetricType;

/// Which metadata a line gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    Help,
    Type,
    Unit,
}

impl Keyword {
    fn what(self) -> &'static str {
        match self {
            Self::Help => "the help text (which may be empty)",
            Self::Type => "the type",
            Self::Unit => "the unit (which may be empty)",
        }
    }
}

/// A lexed metadata line.
#[derive(Debug)]
pub(super) struct Metadata<'a> {
    pub(super) keyword: Keyword,
    pub(super) name: String,
    /// Everything after the space that follows the name, as written.
    pub(super) text: &'a [u8],
}

/// Lexes a line that starts with `#`.
pub(super) fn lex(raw: &[u8]) -> Result<Metadata<'_>, String> {
    let mut c = Cursor::new(raw);
    c.eat(b'#');
    let keyword = if c.eat(b' ') {
        match c.word() {
            b"HELP" => Some(Keyword::Help),
            b"TYPE" => Some(Keyword::Type),
            b"UNIT" => Some(Keyword::Unit),
            _ => None,
        }
    } else {
        None
    };
    let Some(keyword) = keyword else {
        return Err(
            "only `# HELP`, `# TYPE`, `# UNIT` and `# EOF` lines may start with `#`: \
             OpenMetrics has no comments"
                .into(),
        );
    };
    if !c.eat(b' ') {
        return Err("expected one space and a metric name after the keyword".into());
    }
    let name = c.metric_name();
    if name.is_empty() || !(c.at_end() || c.peek() == Some(b' ')) {
        return Err("invalid metric name in metadata".into());
    }
    if !c.eat(b' ') {
        return Err(format!(
            "expected one space and {} after the metric name",
            keyword.what()
        ));
    }
    Ok(Metadata {
        keyword,
        name,
        text: c.rest(),
    })
}

/// The type a `# TYPE` line names.
pub(super) fn kind(text: &[u8]) -> Result<MetricType, String> {
    Ok(match text {
        b"counter" => MetricType::Counter,
        b"gauge" => MetricType::Gauge,
        b"histogram" => MetricType::Histogram,
        b"gaugehistogram" => MetricType::GaugeHistogram,
        b"summary" => MetricType::Summary,
        b"info" => MetricType::Info,
        b"stateset" => MetricType::StateSet,
        b"unknown" => MetricType::Unknown,
        b"untyped" => {
            return Err("`untyped` is text 0.0.4's word: OpenMetrics writes `unknown`".into());
        }
        other => {
            return Err(format!(
                "unknown metric type {:?}: expected counter, gauge, histogram, \
                 gaugehistogram, summary, info, stateset or unknown",
                String::from_utf8_lossy(other)
            ));
        }
    })
}

/// The unit a `# UNIT` line gives for family `name`: metric-name characters only, and the
/// name must end in `_<unit>`.
pub(super) fn unit(name: &str, text: &[u8]) -> Result<String, String> {
    let unit = String::from_utf8_lossy(text);
    if !text.iter().all(|&b| crate::lex::is_name_char(b)) {
        return Err(format!(
            "invalid unit {unit:?}: letters, digits, `_` and `:` only, nothing after it"
        ));
    }
    if !unit.is_empty() && !name.strip_suffix(&*unit).is_some_and(|b| b.ends_with('_')) {
        return Err(format!(
            "unit {unit:?} is not a suffix of the family name {name:?}: name it `{name}_{unit}`"
        ));
    }
    Ok(unit.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_keywords_strictly() {
        let m = lex(b"# HELP a_b x y").unwrap();
        assert_eq!(
            (m.keyword, m.name.as_str(), m.text),
            (Keyword::Help, "a_b", &b"x y"[..])
        );
        assert_eq!(lex(b"# UNIT a ").unwrap().text, b"");
        for bad in [
            "#",
            "# ",
            "#HELP a x",
            "# HELP",
            "# HELP ",
            "# HELP a",
            "# HELP a\tx",
            "# HELP  a x",
            "# FOO a x",
            "# help a x",
            "# HELP 0a x",
            "# HELP a-b x",
        ] {
            assert!(lex(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(kind(b"gauge ").is_err());
        assert!(kind(b"untyped").is_err());
        assert_eq!(unit("a_seconds", b"seconds").unwrap(), "seconds");
        assert!(unit("a_seconds", b"seconds ").is_err());
        assert!(unit("aseconds", b"seconds").is_err());
        assert!(unit("a", b"a").is_err());
    }
}
