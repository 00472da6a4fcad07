//! The alert severities the generated rules fire and the routing delivers: one closed set,
//! its `severity` label values written here and nowhere else.

use std::fmt;

use serde::Deserialize;

/// An alert severity: the rules label each alert with one, the routing has one receiver per
/// severity, and `[notify.routes]` and `[[apps.slo.windows]]` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    /// Pages someone: a target down, a fast error-budget burn.
    Critical,
    /// Read during the day: high error rate or latency, a slow error-budget burn.
    Warning,
}

impl Severity {
    /// Every severity, in the order messages list them.
    pub(crate) const ALL: [Self; 2] = [Self::Warning, Self::Critical];

    /// The `severity` label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Warning => "warning",
        }
    }

    /// The severity whose label value is `s`.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The label values joined by `sep` (`warning and critical`).
    pub(crate) fn join(sep: &str) -> String {
        Self::ALL.map(Self::as_str).join(sep)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Severity;

    #[test]
    fn each_severity_reads_back_from_its_label_value() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("info"), None);
        assert_eq!(Severity::parse("Critical"), None);
    }
}
