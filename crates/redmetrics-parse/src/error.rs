//! The one error both parsers return: the line and what is wrong with it.

/// Why an exposition does not parse: where (1-based line) and what, in the words Prometheus
/// and the OpenMetrics specification use, so a reader can find and fix the line (example:
/// [`parse_openmetrics`](crate::parse_openmetrics)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}
