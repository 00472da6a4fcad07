//! Prometheus durations (`30s`, `5m`, `1h30m`) as the config, ServiceMonitors and rules use
//! them: parsed with Prometheus' syntax and printed in its shortest canonical form.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Prometheus duration, kept in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PromDuration(u64);

impl PromDuration {
    /// The longest duration Prometheus holds (`model.Duration`, int64 nanoseconds; about 292
    /// years). Longer ones make Prometheus 2.42 refuse the rule file ("duration out of range").
    pub(crate) const MAX: Self = Self(i64::MAX as u64 / 1_000_000);

    pub(crate) const fn from_secs(s: u64) -> Self {
        Self(s * 1000)
    }

    pub(crate) const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    pub(crate) fn millis(self) -> u64 {
        self.0
    }

    /// The same span as a `std` duration.
    pub(crate) fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }

    /// Parses Prometheus' duration syntax: units y, w, d, h, m, s, ms, largest first.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        // Largest first; the index orders units by size.
        const UNITS: [(&str, u64); 7] = [
            ("y", 365 * 86_400_000),
            ("w", 7 * 86_400_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ];
        let bad = || format!("`{s}` is not a Prometheus duration (e.g. `30s`, `5m`, `1h30m`)");
        if s.is_empty() {
            return Err(bad());
        }
        let mut rest = s;
        let mut total = 0u64;
        let mut previous: Option<usize> = None;
        while !rest.is_empty() {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit = UNITS
                .iter()
                .rposition(|(u, _)| rest.starts_with(u))
                .ok_or_else(bad)?;
            if previous.is_some_and(|p| unit <= p) {
                return Err(bad());
            }
            previous = Some(unit);
            rest = &rest[UNITS[unit].0.len()..];
            total = n
                .checked_mul(UNITS[unit].1)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
        }
        if total > Self::MAX.0 {
            return Err(Self::too_long(s));
        }
        Ok(Self(total))
    }
}

impl PromDuration {
    /// Why `what` cannot be used, with the fix.
    pub(crate) fn too_long(what: &str) -> String {
        format!(
            "`{what}` is longer than Prometheus can hold (at most {}, about 292 years; it refuses the file with \"duration out of range\"): use a shorter duration (e.g. `30s`, `5m`)",
            Self::MAX
        )
    }
}

impl fmt::Display for PromDuration {
    /// The shortest canonical form Prometheus itself prints (`1h30m`, `2m`, `500ms`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut ms = self.0;
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for PromDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_prometheus() {
        for (s, ms) in [
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("500ms", 500),
            ("1d", 86_400_000),
        ] {
            let d = PromDuration::parse(s).unwrap();
            assert_eq!(d.millis(), ms);
            assert_eq!(d.to_string(), s);
        }
        assert_eq!(
            PromDuration::parse("106751d").unwrap().millis(),
            9_223_286_400_000
        );
        assert_eq!(PromDuration::MAX.to_string(), "106751d23h47m16s854ms");
        assert!(PromDuration::parse("106751d23h47m16s854ms").is_ok());
        for bad in ["106752d", "293y", "10000y", "106751d23h47m16s855ms"] {
            let e = PromDuration::parse(bad).unwrap_err();
            assert!(e.contains("longer than Prometheus can hold"), "{e}");
        }
        for bad in ["", "5", "m", "5x", "1m1h", "1.5m", "-1m"] {
            assert!(PromDuration::parse(bad).is_err(), "{bad}");
        }
    }

    /// Runs `promtool check <what> <file>` on `text`; whether promtool accepted it.
    fn promtool_accepts(what: &str, text: &str) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("judged.yaml");
        std::fs::write(&file, text).unwrap();
        std::process::Command::new("promtool")
            .args(["check", what])
            .arg(&file)
            .output()
            .expect("promtool (Debian prometheus) is installed by scripts/test")
            .status
            .success()
    }

    /// promtool is the judge of both the syntax and the value. Syntax: a rule's `for` takes
    /// the string, and promtool accepts it exactly when `parse` does (units out of order or
    /// repeated, fractions and bare numbers are refused by both). Value: Prometheus refuses a
    /// scrape timeout longer than the scrape interval, so an interval of `s` with a timeout
    /// of `parse(s)` milliseconds passes and one millisecond more fails: the value promtool
    /// gives `s` is exactly ours, for every unit (weeks and years included).
    #[test]
    fn promtool_reads_every_duration_as_parse_does() {
        for s in [
            "5m5m", "1m1h", "1s1m", "1d1y", "1ms1s", "1.5m", "5", "m", "1h 30m", "1w", "1y2w3d",
            "1h30m", "90s", "0s", "250ms",
        ] {
            let rule = format!(
                "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    for: {s}\n"
            );
            assert_eq!(
                promtool_accepts("rules", &rule),
                PromDuration::parse(s).is_ok(),
                "`{s}`: promtool and parse disagree"
            );
        }
        for s in [
            "1y", "1w", "1d", "2w3d12h", "1y2w", "1h30m", "90s", "1500ms",
        ] {
            let ms = PromDuration::parse(s).unwrap().millis();
            let config = |timeout: u64| {
                format!("global:\n  scrape_interval: {s}\n  scrape_timeout: {timeout}ms\n")
            };
            assert!(
                promtool_accepts("config", &config(ms)),
                "`{s}` is not {ms} ms"
            );
            assert!(
                !promtool_accepts("config", &config(ms + 1)),
                "`{s}` is not {ms} ms"
            );
        }
    }
}
