//! The structure check: what Prometheus would refuse or misread in a parsed exposition
//! (duplicate series, negative counters, histograms and summaries out of order).

use std::collections::{BTreeMap, BTreeSet};

use redmetrics::collect::MetricType;
use redmetrics_parse::{Exposition, Sample};

use super::{le, series};
use crate::check::report::{Check, Status};

pub(super) fn structure_check(e: &Exposition) -> Check {
    let mut c = Check::new("structure");
    for f in &e.families {
        if f.help.is_none() && !f.samples.is_empty() {
            c.warn(
                format!("{} has no HELP", f.name),
                "give every family a one-sentence HELP (promtool lints its absence)",
            );
        }
    }
    for (family, line) in &e.interleaved {
        c.fail(
            format!("samples of {family} are split by another family (again at line {line})"),
            "write all samples of a family together",
        );
    }
    let mut seen = BTreeSet::new();
    for s in e.families.iter().flat_map(|f| &f.samples) {
        if !seen.insert(series(s, &[])) {
            c.fail(
                format!("{} appears twice (line {})", series(s, &[]), s.line),
                "each name and label set may appear once per scrape",
            );
        }
        if let Some((n, _)) = s.labels.iter().find(|(n, _)| n.starts_with("__")) {
            c.fail(
                format!("label {n} on {} (line {}) starts with `__`", s.name, s.line),
                "names starting with `__` are reserved for Prometheus",
            );
        }
    }
    for f in &e.families {
        match f.kind {
            MetricType::Histogram => histogram_findings(&mut c, &f.name, &f.samples),
            MetricType::Summary => summary_findings(&mut c, &f.name, &f.samples),
            MetricType::Counter => {
                for s in f.samples.iter().filter(|s| s.value < 0.0) {
                    c.fail(
                        format!("counter {} is negative ({})", series(s, &[]), s.value),
                        "counters only go up from 0",
                    );
                }
            }
            _ => {}
        }
    }
    let summary = match c.status {
        Status::Pass => "names, labels, metadata, histograms and summaries are consistent",
        _ => "inconsistencies found",
    };
    c.summary(summary)
}

fn histogram_findings(c: &mut Check, name: &str, samples: &[Sample]) {
    let bucket = format!("{name}_bucket");
    let count = format!("{name}_count");
    let mut buckets: BTreeMap<String, Vec<&Sample>> = BTreeMap::new();
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    for s in samples {
        let key = series(s, &["le"]).replacen(&s.name, name, 1);
        if s.name == bucket {
            buckets.entry(key).or_default().push(s);
        } else if s.name == count {
            counts.insert(key, s.value);
        }
    }
    for (key, bs) in &buckets {
        let fix = "buckets are cumulative: ascending `le`, non-decreasing counts, `+Inf` equal to `_count`";
        if let Some(w) = bs
            .windows(2)
            .find(|w| le(w[0]).partial_cmp(&le(w[1])) != Some(std::cmp::Ordering::Less))
        {
            c.fail(
                format!(
                    "{key}: le {} is not below le {} (line {})",
                    le(w[0]),
                    le(w[1]),
                    w[1].line
                ),
                fix,
            );
        }
        if let Some(w) = bs.windows(2).find(|w| w[1].value < w[0].value) {
            c.fail(
                format!(
                    "{key}: bucket le={} holds {} after {} (line {}): not cumulative",
                    le(w[1]),
                    w[1].value,
                    w[0].value,
                    w[1].line
                ),
                fix,
            );
        }
        match bs.last() {
            Some(last) if le(last) == f64::INFINITY => match counts.get(key) {
                Some(&n) if n != last.value => c.fail(
                    format!("{key}: +Inf bucket {} differs from _count {n}", last.value),
                    fix,
                ),
                None => c.fail(format!("{key}: no _count"), fix),
                _ => {}
            },
            _ => c.fail(format!("{key}: no le=\"+Inf\" bucket"), fix),
        }
    }
}

fn summary_findings(c: &mut Check, name: &str, samples: &[Sample]) {
    let mut quantiles: BTreeMap<String, Vec<(f64, f64, usize)>> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.name == name) {
        let q = s
            .label("quantile")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN);
        quantiles
            .entry(series(s, &["quantile"]))
            .or_default()
            .push((q, s.value, s.line));
    }
    for (key, qs) in quantiles {
        let fix = "quantiles ascend and so do their values (NaN means an empty window)";
        if let Some(q) = qs.iter().find(|q| !(0.0..=1.0).contains(&q.0)) {
            c.fail(
                format!("{key}: quantile {} outside [0, 1] (line {})", q.0, q.2),
                fix,
            );
        }
        if let Some(w) = qs
            .windows(2)
            .find(|w| w[0].0.partial_cmp(&w[1].0) != Some(std::cmp::Ordering::Less))
        {
            c.fail(
                format!(
                    "{key}: quantile {} follows {} (line {})",
                    w[1].0, w[0].0, w[1].2
                ),
                fix,
            );
        }
        if let Some(w) = qs
            .windows(2)
            .find(|w| !w[0].1.is_nan() && !w[1].1.is_nan() && w[1].1 < w[0].1)
        {
            c.fail(
                format!(
                    "{key}: quantile {} is {} but quantile {} is {} (line {})",
                    w[1].0, w[1].1, w[0].0, w[0].1, w[1].2
                ),
                fix,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The structure check of `text`: its status, summary and finding messages.
    fn judged(text: &str) -> (Status, String, Vec<String>) {
        let e = redmetrics_parse::parse_text(text.as_bytes()).expect("parses");
        let c = structure_check(&e);
        let messages = c.findings.iter().map(|f| f.message.clone()).collect();
        (c.status, c.summary, messages)
    }

    /// Everything at the edge of a rule and still right: a counter at 0, equal neighbouring
    /// buckets, equal neighbouring quantile values and a NaN between them, a negative gauge.
    #[test]
    fn a_consistent_exposition_passes() {
        let (status, summary, findings) = judged(
            "# HELP c_total Requests.\n# TYPE c_total counter\n\
             c_total{a=\"x\"} 0\nc_total{a=\"y\"} 3\n\
             # HELP h Latency.\n# TYPE h histogram\n\
             h_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 2\nh_bucket{le=\"+Inf\"} 5\nh_sum 7\nh_count 5\n\
             # HELP s Sizes.\n# TYPE s summary\n\
             s{quantile=\"0.5\"} 1\ns{quantile=\"0.9\"} 1\ns{quantile=\"0.99\"} NaN\n\
             s{quantile=\"0.999\"} 4\ns_sum 9\ns_count 3\n\
             # HELP g Temperature.\n# TYPE g gauge\ng -4\n",
        );
        assert_eq!(findings, Vec::<String>::new());
        assert_eq!(status, Status::Pass);
        assert_eq!(
            summary,
            "names, labels, metadata, histograms and summaries are consistent"
        );
    }

    #[test]
    fn a_family_with_samples_and_no_help_is_a_warning() {
        let (status, summary, findings) =
            judged("# TYPE n_total counter\nn_total 1\n# TYPE f gauge\n");
        assert_eq!(findings, ["n_total has no HELP"]);
        assert_eq!(status, Status::Warn);
        assert_eq!(summary, "inconsistencies found");
    }

    #[test]
    fn split_duplicate_reserved_and_negative_series_fail() {
        let (status, _, findings) = judged(
            "# HELP x X.\n# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\nx{__y=\"1\"} 1\n\
             # HELP z Z.\n# TYPE z gauge\nz 1\nx{a=\"2\"} 1\n\
             # HELP c_total C.\n# TYPE c_total counter\nc_total{a=\"x\"} -1\n",
        );
        assert_eq!(
            findings,
            [
                "samples of x are split by another family (again at line 9)",
                "x{a=\"1\"} appears twice (line 4)",
                "label __y on x (line 5) starts with `__`",
                "counter c_total{a=\"x\"} is negative (-1)",
            ]
        );
        assert_eq!(status, Status::Fail);
    }

    #[test]
    fn each_histogram_rule_fails_alone() {
        let (_, _, findings) = judged(
            "# HELP h H.\n# TYPE h histogram\n\
             h_bucket{k=\"a\",le=\"2\"} 1\nh_bucket{k=\"a\",le=\"1\"} 2\n\
             h_bucket{k=\"a\",le=\"+Inf\"} 2\nh_count{k=\"a\"} 2\n\
             h_bucket{k=\"b\",le=\"1\"} 3\nh_bucket{k=\"b\",le=\"+Inf\"} 2\nh_count{k=\"b\"} 2\n\
             h_bucket{k=\"c\",le=\"1\"} 1\nh_count{k=\"c\"} 1\n\
             h_bucket{k=\"d\",le=\"+Inf\"} 1\nh_count{k=\"d\"} 2\n\
             h_bucket{k=\"e\",le=\"+Inf\"} 1\n",
        );
        assert_eq!(
            findings,
            [
                "h{k=\"a\"}: le 2 is not below le 1 (line 4)",
                "h{k=\"b\"}: bucket le=inf holds 2 after 3 (line 8): not cumulative",
                "h{k=\"c\"}: no le=\"+Inf\" bucket",
                "h{k=\"d\"}: +Inf bucket 1 differs from _count 2",
                "h{k=\"e\"}: no _count",
            ]
        );
    }

    #[test]
    fn each_summary_rule_fails_alone() {
        let (_, _, findings) = judged(
            "# HELP s S.\n# TYPE s summary\n\
             s{k=\"a\",quantile=\"1.5\"} 1\n\
             s{k=\"b\",quantile=\"0.9\"} 1\ns{k=\"b\",quantile=\"0.5\"} 2\n\
             s{k=\"c\",quantile=\"0.5\"} 2\ns{k=\"c\",quantile=\"0.9\"} 1\n",
        );
        assert_eq!(
            findings,
            [
                "s{k=\"a\"}: quantile 1.5 outside [0, 1] (line 3)",
                "s{k=\"b\"}: quantile 0.5 follows 0.9 (line 5)",
                "s{k=\"c\"}: quantile 0.9 is 1 but quantile 0.5 is 2 (line 7)",
            ]
        );
    }
}
