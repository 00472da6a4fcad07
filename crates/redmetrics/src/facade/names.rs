//! How facade names become Prometheus names: one deterministic function of the name as
//! recorded, so the same call always lands on the same series.
//!
//! Metric names: every character outside `[A-Za-z0-9_]` becomes `_` (colons too: they
//! belong to recording rules), a leading digit gets a `_` in front, a leading `__`
//! (reserved) is cut to `_`, the recorder's prefix is joined with `_`, and a counter gets
//! `_total` when it lacks it. Label names: the same character rules, and `le`/`quantile` on
//! histograms become `le_` and `quantile_`. What cannot be fixed this way (an empty name, a
//! gauge or histogram named `*_total`) is refused.

use crate::collect::MetricType;

/// Replaces what Prometheus refuses in a name.
fn replace(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 1);
    if raw.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(raw.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// The Prometheus name for a facade metric named `raw`, or why it is refused.
pub(super) fn metric_name(prefix: &str, raw: &str, kind: MetricType) -> Result<String, String> {
    if raw.is_empty() {
        return Err("an empty metric name".to_owned());
    }
    let mut name = if prefix.is_empty() {
        replace(raw)
    } else {
        format!("{prefix}_{}", replace(raw))
    };
    while name.starts_with("__") {
        name.remove(0);
    }
    match kind {
        MetricType::Counter if !name.ends_with("_total") => name.push_str("_total"),
        MetricType::Counter => {}
        _ if name.ends_with("_total") => {
            return Err(format!(
                "{} `{raw}` ends in `_total`, a counter's suffix: rename it",
                kind.as_str()
            ));
        }
        _ => {}
    }
    Ok(name)
}

/// The Prometheus label name for a facade label named `raw` on a family of `kind`.
pub(super) fn label_name(raw: &str, kind: MetricType) -> String {
    let mut name = replace(raw);
    if name.is_empty() {
        name.push('_');
    }
    while name.starts_with("__") {
        name.remove(0);
    }
    let reserved = matches!(kind, MetricType::Histogram | MetricType::Summary)
        && (name == "le" || name == "quantile");
    if reserved {
        name.push('_');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::{LabelName, MetricName};

    #[test]
    fn names_are_sanitised_the_same_way_every_time() {
        let c = MetricType::Counter;
        assert_eq!(
            metric_name("", "http.requests", c).unwrap(),
            "http_requests_total"
        );
        assert_eq!(
            metric_name("app", "db-calls_total", c).unwrap(),
            "app_db_calls_total"
        );
        assert_eq!(
            metric_name("", "9lives", MetricType::Gauge).unwrap(),
            "_9lives"
        );
        assert_eq!(metric_name("", "__x", MetricType::Gauge).unwrap(), "_x");
        assert!(metric_name("", "", c).is_err());
        assert!(metric_name("", "x_total", MetricType::Gauge).is_err());
        let h = MetricType::Histogram;
        assert_eq!(label_name("le", h), "le_");
        assert_eq!(label_name("le", MetricType::Gauge), "le");
        assert_eq!(label_name("__name__", c), "_name__");
        assert_eq!(label_name("http.method", c), "http_method");
        assert_eq!(label_name("", c), "_");
        for raw in ["a.b", "0x", "__", "é", ":", "___z"] {
            MetricName::new(metric_name("", raw, MetricType::Gauge).unwrap()).unwrap();
            LabelName::new(label_name(raw, h)).unwrap();
        }
    }
}
