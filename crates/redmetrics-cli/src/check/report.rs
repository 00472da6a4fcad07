//! What a check found, printed for people or as JSON for CI.

use serde::Serialize;

use super::limits::{MAX_FINDINGS, MAX_REPORT_BYTES, clip};

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        }
    }
}

/// One problem and how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Finding {
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fix: Option<String>,
}

/// One named check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Check {
    pub(crate) name: String,
    pub(crate) status: Status,
    pub(crate) summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) findings: Vec<Finding>,
    /// Findings beyond [`MAX_FINDINGS`], counted, not kept: a hostile target must not
    /// produce a report of megabytes.
    #[serde(skip)]
    omitted: usize,
}

impl Check {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            status: Status::Pass,
            summary: String::new(),
            findings: Vec::new(),
            omitted: 0,
        }
    }

    /// Sets the one-line summary, cut like a finding's message.
    pub(crate) fn summary(mut self, s: impl Into<String>) -> Self {
        self.summary = clip(s.into());
        self
    }

    /// Adds a finding at `status` (the check takes the worst of its findings).
    pub(crate) fn find(&mut self, status: Status, message: impl Into<String>, fix: Option<String>) {
        self.status = self.status.max(status);
        if self.findings.len() >= MAX_FINDINGS {
            self.omitted += 1;
            return;
        }
        self.findings.push(Finding {
            message: clip(message.into()),
            fix: fix.map(clip),
        });
    }

    pub(crate) fn fail(&mut self, message: impl Into<String>, fix: impl Into<String>) {
        self.find(Status::Fail, message, Some(fix.into()));
    }

    pub(crate) fn warn(&mut self, message: impl Into<String>, fix: impl Into<String>) {
        self.find(Status::Warn, message, Some(fix.into()));
    }
}

/// All checks of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Report {
    pub(crate) target: String,
    pub(crate) checks: Vec<Check>,
    pub(crate) passed: bool,
}

impl Report {
    pub(crate) fn new(target: impl Into<String>, mut checks: Vec<Check>) -> Self {
        for c in checks.iter_mut().filter(|c| c.omitted > 0) {
            c.findings.push(Finding {
                message: format!("… and {} more", c.omitted),
                fix: None,
            });
            c.omitted = 0;
        }
        let passed = checks.iter().all(|c| c.status != Status::Fail);
        Self {
            target: target.into(),
            checks,
            passed,
        }
    }

    /// Human-readable text, one line per check, findings indented with their fix; at most
    /// [`MAX_REPORT_BYTES`] before the result line, saying how many lines were cut.
    pub(crate) fn human(&self) -> String {
        let mut out = clip(format!("redmetrics check: {}", self.target));
        out.push('\n');
        let mut cut = 0usize;
        let mut line = |out: &mut String, text: String| {
            if cut > 0 || out.len() + text.len() > MAX_REPORT_BYTES {
                cut += 1;
            } else {
                out.push_str(&text);
            }
        };
        for c in &self.checks {
            line(
                &mut out,
                format!(
                    "{}  {}: {}\n",
                    c.status.word(),
                    clip(c.name.clone()),
                    c.summary
                ),
            );
            for f in &c.findings {
                line(&mut out, format!("      - {}\n", f.message));
                if let Some(fix) = &f.fix {
                    line(&mut out, format!("        fix: {fix}\n"));
                }
            }
        }
        if cut > 0 {
            out.push_str(&format!(
                "… {cut} more lines not shown: the report passed {} KiB (--format json has every check)\n",
                MAX_REPORT_BYTES >> 10
            ));
        }
        let count = |s| self.checks.iter().filter(|c| c.status == s).count();
        out.push_str(&format!(
            "result: {} failed, {} warnings, {} passed\n",
            count(Status::Fail),
            count(Status::Warn),
            count(Status::Pass)
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A check named `name` failing with `sizes.len()` findings, one of `n` bytes each.
    fn failing(name: &str, sizes: &[usize]) -> Check {
        let mut c = Check::new(name).summary("s");
        for &n in sizes {
            c.find(Status::Fail, "x".repeat(n), None);
        }
        c
    }

    /// Past [`MAX_FINDINGS`] a check counts its findings; a report lists each check with
    /// its word, its findings and fixes, then the result line.
    #[test]
    fn findings_past_the_budget_are_counted_and_the_report_reads_as_written() {
        let many = failing("many", &[1; MAX_FINDINGS + 2]);
        let mut warned = Check::new("warned").summary("w");
        warned.warn("careful", "do this");
        let report = Report::new("t", vec![many, warned, Check::new("fine").summary("ok")]);
        assert!(!report.passed);
        let many = &report.checks[0];
        assert_eq!(many.findings.len(), MAX_FINDINGS + 1);
        assert_eq!(many.findings[MAX_FINDINGS].message, "… and 2 more");
        let human = report.human();
        let lines: Vec<&str> = human.lines().collect();
        assert_eq!(lines[0], "redmetrics check: t");
        assert_eq!(lines[1], "FAIL  many: s");
        assert_eq!(lines[2], "      - x");
        assert_eq!(lines[MAX_FINDINGS + 2], "      - … and 2 more");
        assert_eq!(
            lines[MAX_FINDINGS + 3..],
            [
                "WARN  warned: w",
                "      - careful",
                "        fix: do this",
                "PASS  fine: ok",
                "result: 1 failed, 1 warnings, 1 passed",
            ]
        );
        assert!(Report::new("t", vec![Check::new("fine")]).passed);
    }

    /// The human report stops before a line that would take it past 256 KiB (a line
    /// ending exactly there is kept), cuts every line after, however short, and counts
    /// them.
    #[test]
    fn the_human_report_is_cut_at_256_kib() {
        // "redmetrics check: t\n" is 20 bytes, "FAIL  cN: s\n" 12, a finding of n bytes
        // n + 9 ("      - " and a line feed). Five full checks: 20 + 5 × (12 + 50 × 1009)
        // = 252 330 bytes; with the sixth's line, 252 342; nine of its findings, 261 423.
        let mut checks: Vec<Check> = (0..5)
            .map(|i| failing(&format!("c{i}"), &[1000; 50]))
            .collect();
        let mut last = vec![1000; 50];
        last[9] = 2000;
        checks.push(failing("c5", &last));
        checks.push(Check::new("c6").summary("s"));
        let human = Report::new("t", checks.clone()).human();
        assert_eq!(human.find("… 42 more lines"), Some(261_423));
        assert!(
            human.ends_with(
                "… 42 more lines not shown: the report passed 256 KiB (--format json has every check)\n\
                 result: 6 failed, 0 warnings, 1 passed\n"
            ),
            "{}",
            &human[human.len() - 300..]
        );
        // A tenth finding of 712 bytes ends the report exactly at 262 144 bytes: kept.
        checks[5] = failing("c5", &[&[1000; 9][..], &[712], &[1000; 40]].concat());
        let human = Report::new("t", checks).human();
        assert_eq!(
            human.find("… 41 more lines"),
            Some(262_144),
            "{}",
            &human[262_000..]
        );
        let short = Report::new("t", vec![failing("c", &[10])]).human();
        assert!(!short.contains("not shown"), "{short}");
    }
}
