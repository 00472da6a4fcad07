//! How facade names become Prometheus names: one deterministic function of the name as
//! recorded, so the same call always lands on the same series.
//!
//! Names are kept as recorded (UTF-8, `demo.cache.entries`) and escaped when a scrape is
//! written: a scraper that allows UTF-8 gets them quoted, one that does not gets them as
//! its scheme asks, by default [`Escaping::Underscores`], which is the rule this module
//! applied before names were kept (every character outside `[A-Za-z0-9_]` becomes `_`, a
//! leading digit gets a `_` in front), so Prometheus 2.x sees the names it always saw.
//!
//! Kept metric names: the recorder's prefix joined with `_`, a leading `__` (reserved) cut
//! to `_`, and `_total` added to a counter that lacks it. Kept label names: empty becomes
//! `_`, a leading `__` is cut to `_`, and `le`/`quantile` on histograms become `le_` and
//! `quantile_`. Refused: an empty name, a gauge or histogram whose escaped name ends in
//! `_total`, a name longer than [`MAX_NAME_LEN`] bytes.

use crate::collect::MetricType;
use crate::labels::cap;
use crate::name::{Escaping, MAX_NAME_LEN};

/// How much of a refused name a message or the refusal list repeats.
pub(super) const SHOWN: usize = 128;

/// Cuts a leading `__` (reserved for Prometheus) to `_`.
fn unreserve(mut name: String) -> String {
    while name.starts_with("__") {
        name.remove(0);
    }
    name
}

/// The kept (UTF-8) name for a facade metric named `raw`, or why it is refused.
pub(super) fn metric_name(prefix: &str, raw: &str, kind: MetricType) -> Result<String, String> {
    if raw.is_empty() {
        return Err("an empty metric name".to_owned());
    }
    if raw.len() > MAX_NAME_LEN {
        return Err(format!(
            "a metric name of {} bytes (`{}`): the cap is {MAX_NAME_LEN} bytes",
            raw.len(),
            cap(raw, SHOWN)
        ));
    }
    let mut name = unreserve(if prefix.is_empty() {
        raw.to_owned()
    } else {
        format!("{prefix}_{raw}")
    });
    let legacy_total = Escaping::Underscores.escape(&name).ends_with("_total");
    match kind {
        MetricType::Counter if !name.ends_with("_total") => name.push_str("_total"),
        MetricType::Counter => {}
        _ if legacy_total => {
            return Err(format!(
                "{} `{raw}` ends in `_total`, a counter's suffix: rename it",
                kind.as_str()
            ));
        }
        _ => {}
    }
    Ok(name)
}

/// The kept (UTF-8) label name for a facade label named `raw` on a family of `kind`, or
/// `None` when it is longer than [`MAX_NAME_LEN`] bytes.
pub(super) fn label_name(raw: &str, kind: MetricType) -> Option<String> {
    if raw.len() > MAX_NAME_LEN {
        return None;
    }
    let mut name = unreserve(if raw.is_empty() {
        "_".to_owned()
    } else {
        raw.to_owned()
    });
    let reserved = matches!(kind, MetricType::Histogram | MetricType::Summary)
        && (name == "le" || name == "quantile");
    if reserved {
        name.push('_');
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::{LabelName, MetricName};

    fn legacy(name: &str) -> String {
        Escaping::Underscores.escape(name).into_owned()
    }

    #[test]
    fn names_are_kept_and_escape_as_they_were_sanitised() {
        let c = MetricType::Counter;
        let kept = metric_name("", "http.requests", c).unwrap();
        assert_eq!(kept, "http.requests_total");
        assert_eq!(legacy(&kept), "http_requests_total");
        assert_eq!(
            legacy(&metric_name("app", "db-calls_total", c).unwrap()),
            "app_db_calls_total"
        );
        assert_eq!(
            legacy(&metric_name("", "9lives", MetricType::Gauge).unwrap()),
            "_9lives"
        );
        assert_eq!(metric_name("", "__x", MetricType::Gauge).unwrap(), "_x");
        assert!(metric_name("", "", c).is_err());
        assert!(metric_name("", "x_total", MetricType::Gauge).is_err());
        assert!(metric_name("", "x.total", MetricType::Gauge).is_err());
        let long = "x".repeat(MAX_NAME_LEN + 1);
        let e = metric_name("", &long, c).unwrap_err();
        assert!(e.len() < 300, "{e}");
        let h = MetricType::Histogram;
        assert_eq!(label_name("le", h).unwrap(), "le_");
        assert_eq!(label_name("le", MetricType::Gauge).unwrap(), "le");
        assert_eq!(label_name("__name__", c).unwrap(), "_name__");
        assert_eq!(
            legacy(&label_name("http.method", c).unwrap()),
            "http_method"
        );
        assert_eq!(label_name("", c).unwrap(), "_");
        assert_eq!(label_name(&long, c), None);
        for raw in ["a.b", "0x", "__", "é", ":", "___z", "_.x"] {
            MetricName::new(legacy(&metric_name("", raw, MetricType::Gauge).unwrap())).unwrap();
            LabelName::new(legacy(&label_name(raw, h).unwrap())).unwrap();
            MetricName::utf8(metric_name("", raw, MetricType::Gauge).unwrap()).unwrap();
            LabelName::utf8(label_name(raw, h).unwrap()).unwrap();
        }
    }
}
