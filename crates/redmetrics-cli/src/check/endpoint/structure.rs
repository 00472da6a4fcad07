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
