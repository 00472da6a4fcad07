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

#[cfg(test)]
mod tests {
    use redmetrics::metrics::{Buckets, Objective};

    use super::*;

    #[test]
    fn kinds_match_exactly_and_sizes_either_way_without_an_app() {
        use MetricType::{Counter, Gauge, Histogram, Summary};
        let cases = [
            (Counter, Role::Requests, Counter, false, true),
            (Gauge, Role::InFlight, Gauge, true, true),
            (Histogram, Role::Duration, Histogram, true, true),
            (Summary, Role::RequestSize, Summary, true, true),
            (Counter, Role::Requests, Gauge, false, false),
            (Counter, Role::Requests, Summary, false, false),
            (Histogram, Role::Duration, Summary, false, false),
            (Histogram, Role::RequestSize, Summary, false, true),
            (Summary, Role::ResponseSize, Histogram, false, true),
            (Summary, Role::ResponseSize, Histogram, true, false),
            (Gauge, Role::ResponseSize, Counter, false, false),
        ];
        for (expected, role, actual, exact, want) in cases {
            assert_eq!(
                kind_matches(expected, role, actual, exact),
                want,
                "{expected:?} {role:?} exported as {actual:?}, exact: {exact}"
            );
        }
    }

    fn exposition(text: &str) -> Exposition {
        redmetrics_parse::parse_text(text.as_bytes()).expect("parses")
    }

    /// The default contract's families for prefix `shop`, each right (the sizes as
    /// summaries), with a build info when `build_info`.
    fn shop(build_info: bool) -> String {
        let mut t = String::from(
            "# TYPE shop_http_requests_total counter\n\
             shop_http_requests_total{method=\"GET\",path=\"/a\",status=\"200\"} 5\n\
             # TYPE shop_http_request_duration_seconds histogram\n\
             shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/a\",le=\"0.05\"} 3\n\
             shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/a\",le=\"0.2\"} 3\n\
             shop_http_request_duration_seconds_bucket{method=\"GET\",path=\"/a\",le=\"+Inf\"} 5\n\
             shop_http_request_duration_seconds_sum{method=\"GET\",path=\"/a\"} 0.4\n\
             shop_http_request_duration_seconds_count{method=\"GET\",path=\"/a\"} 5\n\
             # TYPE shop_http_active_connections gauge\nshop_http_active_connections 0\n",
        );
        for size in ["request", "response"] {
            t.push_str(&format!(
                "# TYPE shop_http_{size}_size_bytes summary\n\
                 shop_http_{size}_size_bytes{{method=\"GET\",path=\"/a\",quantile=\"0.9\"}} 0\n\
                 shop_http_{size}_size_bytes{{method=\"GET\",path=\"/a\",quantile=\"0.5\"}} 0\n\
                 shop_http_{size}_size_bytes_sum{{method=\"GET\",path=\"/a\"}} 0\n\
                 shop_http_{size}_size_bytes_count{{method=\"GET\",path=\"/a\"}} 5\n"
            ));
        }
        if build_info {
            t.push_str("# TYPE shop_build_info gauge\nshop_build_info{version=\"1\"} 1\n");
        }
        t
    }

    fn judged(text: &str, expected: &Expected) -> (Status, String, Vec<String>) {
        let (c, _) = contract_check(&exposition(text), expected);
        let messages = c.findings.iter().map(|f| f.message.clone()).collect();
        (c.status, c.summary, messages)
    }

    /// Without an app, the default contract of the prefix given or inferred; a missing
    /// build info is a warning, a missing HTTP family a failure.
    #[test]
    fn the_default_contract_of_a_prefix_given_or_inferred() {
        let given = Expected::Prefix("shop".into());
        assert_eq!(
            judged(&shop(true), &given),
            (
                Status::Pass,
                "prefix shop (given): the five HTTP families and build info, with the right types and labels".into(),
                vec![]
            )
        );
        assert_eq!(
            judged(&shop(false), &Expected::Inferred),
            (
                Status::Warn,
                "prefix shop (inferred): does not match".into(),
                vec!["shop_build_info is missing".into()]
            )
        );
        let without_requests = shop(true).replacen("shop_http_requests_total", "shop_x_total", 2);
        let (status, _, findings) = judged(&without_requests, &given);
        assert_eq!(status, Status::Fail);
        assert_eq!(findings, ["shop_http_requests_total is missing"]);
    }

    /// With an app, its exact contract: the summary says so, and the buckets and
    /// quantiles are judged (the default ones here, not those `shop` serves).
    #[test]
    fn an_apps_contract_is_exact() {
        let config = crate::config::Config::parse(
            "[[apps]]\nname = \"shop\"\nnamespace = \"shop\"\nservice = \"shop\"\nport = \"http\"\n",
        )
        .expect("a valid config");
        let app = Expected::App(Box::new(config.apps[0].clone()));
        let (status, summary, findings) = judged(&shop(true), &app);
        assert_eq!(status, Status::Fail);
        assert_eq!(summary, "prefix shop (configured): does not match");
        assert!(
            findings[0].starts_with(
                "shop_http_request_duration_seconds has buckets (le) [0.05, 0.2, +Inf], the contract says [0.005,"
            ),
            "{findings:?}"
        );
    }

    /// A family of the wrong type, or a sample with other labels, fails.
    #[test]
    fn types_and_label_names_are_the_contracts() {
        let text = shop(true)
            .replace(
                "shop_http_active_connections gauge",
                "shop_http_active_connections counter",
            )
            .replace(
                "shop_http_requests_total{method=\"GET\",path=\"/a\",status=\"200\"}",
                "shop_http_requests_total{method=\"GET\",path=\"/a\"}",
            );
        let (status, summary, findings) = judged(&text, &Expected::Prefix("shop".into()));
        assert_eq!(status, Status::Fail);
        assert_eq!(summary, "prefix shop (given): does not match");
        assert_eq!(
            findings,
            [
                "shop_http_requests_total (line 2) has labels [\"method\", \"path\"], the contract says {\"method\", \"path\", \"status\"}",
                "shop_http_active_connections is a counter (TYPE), the contract says gauge",
            ]
        );
    }

    /// With an exact contract, buckets and quantiles are compared as sorted distinct
    /// numbers; a family without any is not judged here.
    #[test]
    fn buckets_and_quantiles_are_the_contracts() {
        let contract = Contract::new("shop").expect("a valid prefix");
        let e = exposition(&shop(true));
        let findings = |name: &str, shape: &Shape| {
            let mut c = Check::new("contract");
            let samples = e.family(name).map_or(&[][..], |f| &f.samples[..]);
            shape_findings(&mut c, name, shape, samples);
            c.findings
                .into_iter()
                .map(|f| f.message)
                .collect::<Vec<_>>()
        };
        let duration = contract.duration().shape();
        assert_eq!(
            findings("shop_http_request_duration_seconds", duration),
            [
                "shop_http_request_duration_seconds has buckets (le) [0.05, 0.2, +Inf], the contract says [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, +Inf]"
            ]
        );
        assert_eq!(findings("shop_nothing", duration), Vec::<String>::new());
        let sizes = contract.request_size().shape();
        assert_eq!(
            findings("shop_http_request_size_bytes", sizes),
            [
                "shop_http_request_size_bytes has quantiles [0.5, 0.9], the contract says [0.5, 0.9, 0.99]"
            ]
        );
        let right = Contract::builder("shop")
            .objectives([Objective::DEFAULTS[0], Objective::DEFAULTS[1]])
            .duration_buckets(Buckets::new([0.05, 0.2]).expect("valid bounds"))
            .build()
            .expect("a valid contract");
        assert_eq!(
            findings("shop_http_request_size_bytes", right.request_size().shape()),
            Vec::<String>::new()
        );
        assert_eq!(
            findings(
                "shop_http_request_duration_seconds",
                right.duration().shape()
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            findings("shop_http_requests_total", right.requests().shape()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn label_numbers_are_the_distinct_values_of_one_sample_name() {
        let e = exposition(
            "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"0.1\"} 1\n\
             h_bucket{le=\"+Inf\"} 1\nh_count{le=\"7\"} 1\nh_sum 1\n",
        );
        let samples = &e.family("h").expect("h").samples;
        assert_eq!(
            label_numbers(samples, "h_bucket", "le"),
            [0.1, 0.5, f64::INFINITY]
        );
        assert_eq!(label_numbers(samples, "h_count", "le"), [7.0]);
    }
}
