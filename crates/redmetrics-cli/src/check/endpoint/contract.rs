//! The contract check: the contract's families with their types and labels, and with an
//! exact contract its buckets and quantiles.

use std::collections::BTreeSet;

use redmetrics::collect::MetricType;
use redmetrics::contract::{Contract, Role, Shape};
use redmetrics_parse::{Exposition, Sample};

use crate::check::Expected;
use crate::check::report::{Check, Status};

/// Whether a family's type in the text format is the contract's. Unless `exact`, size
/// families may be histograms or summaries: a prefix alone does not say which.
fn kind_matches(expected: MetricType, role: Role, actual: MetricType, exact: bool) -> bool {
    match (expected, actual) {
        (_, MetricType::Histogram | MetricType::Summary)
            if !exact && matches!(role, Role::RequestSize | Role::ResponseSize) =>
        {
            true
        }
        (MetricType::Counter, MetricType::Counter)
        | (MetricType::Gauge, MetricType::Gauge)
        | (MetricType::Histogram, MetricType::Histogram)
        | (MetricType::Summary, MetricType::Summary) => true,
        _ => false,
    }
}

/// The distinct values of label `name` on samples called `sample`, as numbers.
fn label_numbers(samples: &[Sample], sample: &str, name: &str) -> Vec<f64> {
    let mut out: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == sample)
        .filter_map(|s| s.label(name).and_then(|v| v.parse::<f64>().ok()))
        .collect();
    out.sort_by(f64::total_cmp);
    out.dedup();
    out
}

/// With an exact contract: histogram buckets and summary quantiles as configured.
fn shape_findings(c: &mut Check, name: &str, shape: &Shape, samples: &[Sample]) {
    let (found, wanted, what, fix) = match shape {
        Shape::Histogram(buckets) => {
            let mut wanted = buckets.bounds().to_vec();
            wanted.push(f64::INFINITY);
            (
                label_numbers(samples, &format!("{name}_bucket"), "le"),
                wanted,
                "buckets (le)",
                "build the service with the app's buckets ([apps.metrics] duration_buckets / size_buckets), or judge it against the app it was built for",
            )
        }
        Shape::Summary(summary) => (
            label_numbers(samples, name, "quantile"),
            summary.objectives().iter().map(|o| o.quantile).collect(),
            "quantiles",
            "build the service with the app's summary objectives ([apps.metrics] summary_objectives), or judge it against the app it was built for",
        ),
        _ => return,
    };
    if !found.is_empty() && found != wanted {
        c.fail(
            format!(
                "{name} has {what} [{}], the contract says [{}]",
                bounds_text(&found),
                bounds_text(&wanted)
            ),
            fix,
        );
    }
}

/// Bounds as the exposition writes them: `0.05, 1, +Inf`.
fn bounds_text(bounds: &[f64]) -> String {
    let text: Vec<String> = bounds
        .iter()
        .map(|b| {
            if b.is_infinite() {
                "+Inf".to_owned()
            } else {
                b.to_string()
            }
        })
        .collect();
    text.join(", ")
}

pub(super) fn contract_check(e: &Exposition, expected: &Expected) -> (Check, Option<Contract>) {
    let mut c = Check::new("contract");
    let (prefix, how) = match expected.prefix() {
        Some(p) if expected.app().is_some() => (p.to_owned(), "configured"),
        Some(p) => (p.to_owned(), "given"),
        None => {
            let found: Vec<&str> = e
                .families
                .iter()
                .filter_map(|f| f.name.strip_suffix("_http_requests_total"))
                .collect();
            match found.as_slice() {
                [one] => ((*one).to_owned(), "inferred"),
                [] => {
                    c.fail(
                        "no family named <prefix>_http_requests_total",
                        "install the redmetrics layer, or name the prefix with --prefix",
                    );
                    return (c.summary("the five HTTP families were not found"), None);
                }
                many => {
                    c.fail(
                        format!("several prefixes export HTTP families: {}", many.join(", ")),
                        "name the one to check with --prefix",
                    );
                    return (c.summary("ambiguous prefix"), None);
                }
            }
        }
    };
    let (contract, exact) = match expected.contract(&prefix) {
        Ok(found) => found,
        Err(err) => {
            c.fail(err.rule, "pass a valid --prefix");
            return (c.summary("invalid prefix"), None);
        }
    };
    for spec in contract.families() {
        let name = spec.desc().name();
        let Some(f) = e.family(name) else {
            let severity = if spec.role() == Role::BuildInfo {
                Status::Warn
            } else {
                Status::Fail
            };
            c.find(
                severity,
                format!("{name} is missing"),
                Some(format!(
                    "the {} family of the contract must be exported",
                    spec.desc().kind().as_str()
                )),
            );
            continue;
        };
        if exact {
            shape_findings(&mut c, name, spec.shape(), &f.samples);
        }
        if !kind_matches(spec.desc().kind(), spec.role(), f.kind, exact) {
            c.fail(
                format!(
                    "{name} is a {} (TYPE), the contract says {}",
                    f.kind.as_str(),
                    spec.desc().kind().as_str()
                ),
                "export the family with the contract's type",
            );
        }
        let expected: BTreeSet<&str> = spec.labels().iter().map(|l| l.as_str()).collect();
        if let Some(s) = f.samples.iter().find(|s| {
            let got: BTreeSet<&str> = s
                .labels
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| *n != "le" && *n != "quantile")
                .collect();
            got != expected
        }) {
            c.fail(
                format!(
                    "{} (line {}) has labels {:?}, the contract says {:?}",
                    s.name,
                    s.line,
                    s.labels.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
                    expected
                ),
                "use the contract's label names (method, path, status)",
            );
        }
    }
    let summary = format!(
        "prefix {prefix} ({how}): {}",
        match (c.status == Status::Pass, expected.app()) {
            (true, Some(r)) => format!(
                "the contract of app {}: families, types, labels, buckets and quantiles",
                r.app.name
            ),
            (true, None) => {
                "the five HTTP families and build info, with the right types and labels".to_owned()
            }
            (false, _) => "does not match".to_owned(),
        }
    );
    (c.summary(summary), Some(contract))
}
