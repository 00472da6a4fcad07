//! The one error both parsers return: the line and what is wrong with it.

/// Why an exposition does not parse: where (1-based line) and what, in the words Prometheus
/// and the OpenMetrics specification use, so a reader can find and fix the line (example:
/// [`parse_openmetrics`](crate::parse_openmetrics)), and whether Prometheus refuses it too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// Who refuses it: Prometheus too, or only the specification and strict parsers.
    pub refused_by: RefusedBy,
}

/// Who refuses what a [`ParseError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedBy {
    /// Prometheus' own parser: it fails the whole scrape.
    Prometheus,
    /// The OpenMetrics specification and strict parsers (Python's `prometheus_client`), not
    /// Prometheus: 2.42's parser does not judge sample values and stores them as written.
    Specification,
    /// Nobody but this parser's [`DecodeBudget`](crate::DecodeBudget): the exposition would
    /// build more than it allows, so it was not read to the end.
    Budget,
}

impl ParseError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
            refused_by: RefusedBy::Prometheus,
        }
    }

    /// An exposition past the decoding budget.
    pub(crate) fn budget(line: usize, message: impl Into<String>) -> Self {
        Self {
            refused_by: RefusedBy::Budget,
            ..Self::new(line, message)
        }
    }

    /// An error Prometheus' parser does not see (a value the specification forbids).
    pub(crate) fn specification(line: usize, message: impl Into<String>) -> Self {
        Self {
            refused_by: RefusedBy::Specification,
            ..Self::new(line, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ParseError, RefusedBy};

    /// Each constructor says who refuses the line, and keeps the line and the message.
    #[test]
    fn each_error_names_who_refuses_it() {
        let cases = [
            (ParseError::new(3, "m"), RefusedBy::Prometheus),
            (ParseError::budget(3, "m"), RefusedBy::Budget),
            (ParseError::specification(3, "m"), RefusedBy::Specification),
        ];
        for (e, by) in cases {
            assert_eq!((e.line, e.message.as_str(), e.refused_by), (3, "m", by));
        }
    }
}
