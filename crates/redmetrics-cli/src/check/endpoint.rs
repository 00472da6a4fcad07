//! `redmetrics check endpoint URL`: scrape a live endpoint as Prometheus would and judge the
//! result: exposition validity (both formats), the contract, cardinality and counter sanity.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use redmetrics::collect::MetricType;
use redmetrics::contract::{Contract, Role, Shape};
use redmetrics_parse::{Exposition, RefusedBy, Sample, parse_openmetrics, parse_text};

use super::fetch::Fetched;
use super::http_client::Scraper;
use super::report::{Check, Report, Status};
use super::{CheckError, Expected};

/// What Prometheus 2.42 asks for.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const TEXT_ACCEPT: &str = "text/plain;version=0.0.4;q=1,*/*;q=0.1";
/// What Prometheus 2.42 asks for with `--enable-feature=native-histograms`.
const PROTOBUF_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The fix of an exposition past the checker's decoding budget.
pub(crate) const BUDGET_FIX: &str = "an exposition this large is a cardinality problem \
     (Prometheus would try to store every series of it): bound the series the target serves, \
     and set sample_limit on its scrape";

/// Above this many distinct `path` values, a family is suspect even if no value looks raw.
const MANY_PATHS: usize = 100;

/// Runs every endpoint check; `Err` when the endpoint cannot be reached at all.
pub(crate) async fn check(
    url: &str,
    expected: &Expected,
    scraper: &Scraper,
) -> Result<Report, CheckError> {
    let get = async |accept: &str| match scraper.get(url, accept).await {
        Err(CheckError::TooLarge { limit, .. }) => Err(Ok(too_large(limit))),
        other => other.map_err(Err),
    };
    let failed = |found: Result<Check, CheckError>| found.map(|c| Report::new(url, vec![c]));
    let first = match get(TEXT_ACCEPT).await {
        Ok(f) => f,
        Err(found) => return failed(found),
    };
    let mut checks = vec![scrape_check(&first, expected)];
    if first.status != 200 {
        return Ok(Report::new(url, checks));
    }
    let text = match parse_text(&first.body) {
        Ok(e) => {
            checks.push(Check::new("text exposition").summary(format!(
                "{} families, {} samples; parses as Prometheus' own parser does",
                e.families.len(),
                e.sample_count()
            )));
            e
        }
        Err(e) => {
            let mut c = Check::new("text exposition").summary("does not parse");
            match not_metrics(&first) {
                Some(what) => c.fail(
                    what,
                    "point the check at the path the app serves its metrics at (`/metrics` by default)",
                ),
                None if e.refused_by == RefusedBy::Budget => c.fail(
                    format!("{e}"),
                    BUDGET_FIX,
                ),
                None => c.fail(
                    format!("{e}"),
                    "Prometheus rejects the whole scrape on the first bad line: fix the encoder or the line",
                ),
            }
            checks.push(c);
            return Ok(Report::new(url, checks));
        }
    };
    match get(PROMETHEUS_ACCEPT).await {
        Ok(f) => checks.push(openmetrics_check(&f)),
        Err(found) => {
            checks.push(found?);
            return Ok(Report::new(url, checks));
        }
    }
    match get(PROTOBUF_ACCEPT).await {
        Ok(f) => checks.push(super::protobuf::protobuf_check(&f, &text)),
        Err(found) => {
            checks.push(found?);
            return Ok(Report::new(url, checks));
        }
    }
    match prometheus3_scrapes(&get).await {
        Ok((utf8, legacy)) => checks.push(super::prometheus3::check(&utf8, &legacy, &text)),
        Err(found) => {
            checks.push(found?);
            return Ok(Report::new(url, checks));
        }
    }
    checks.push(structure_check(&text));
    let contract = contract_check(&text, expected);
    let prefix = contract.1;
    checks.push(contract.0);
    checks.push(cardinality_check(&text, prefix.as_ref()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = match get(TEXT_ACCEPT).await {
        Ok(f) => f,
        Err(found) => {
            checks.push(found?);
            return Ok(Report::new(url, checks));
        }
    };
    checks.push(monotonic_check(&text, &second, prefix.as_ref()));
    Ok(Report::new(url, checks))
}

/// The two scrapes Prometheus 3 makes: its default Accept header, and the one with legacy
/// name validation.
async fn prometheus3_scrapes<E>(
    get: &impl AsyncFn(&str) -> Result<Fetched, E>,
) -> Result<(Fetched, Fetched), E> {
    let utf8 = get(super::prometheus3::ACCEPT).await?;
    let legacy = get(super::prometheus3::LEGACY_ACCEPT).await?;
    Ok((utf8, legacy))
}

/// The failed scrape of a body over the cap.
fn too_large(limit: usize) -> Check {
    let mut c = Check::new("scrape").summary("body too large");
    c.fail(
        format!("the body is larger than {limit} bytes (--max-body-size): too large"),
        "Prometheus stores every series of a scrape: an exposition this large is a cardinality problem; if it is legitimate, raise --max-body-size",
    );
    c
}

/// Whether a body that does not parse is something else entirely (JSON, HTML).
fn not_metrics(f: &Fetched) -> Option<String> {
    let first = f.body.iter().find(|b| !b.is_ascii_whitespace());
    let ct = f.content_type.as_str();
    if ct.contains("json") || first == Some(&b'{') || first == Some(&b'[') {
        Some(format!(
            "this is not a metrics endpoint: it answered JSON ({})",
            or_none(ct)
        ))
    } else if ct.contains("html") || first == Some(&b'<') {
        Some(format!(
            "this is not a metrics endpoint: it answered HTML ({})",
            or_none(ct)
        ))
    } else {
        None
    }
}

fn or_none(content_type: &str) -> &str {
    if content_type.is_empty() {
        "no Content-Type"
    } else {
        content_type
    }
}

fn scrape_check(f: &Fetched, expected: &Expected) -> Check {
    let summary = match f.content_type.as_str() {
        "" => format!("HTTP {}, no Content-Type", f.status),
        ct => format!("HTTP {}, {ct}", f.status),
    };
    let mut c = Check::new("scrape").summary(summary);
    match f.status {
        200 => {
            if !f.content_type.starts_with("text/plain") {
                c.warn(
                    format!("Content-Type is `{}`", f.content_type),
                    "serve `text/plain; version=0.0.4; charset=utf-8` for text scrapes",
                );
            }
        }
        401 | 403 => c.fail(
            format!("the endpoint refused the scrape ({})", f.status),
            "give Prometheus the bearer token (ServiceMonitor `authorization`) or allow its network",
        ),
        404 => c.fail(
            "nothing is served at this path (404)",
            match expected.app() {
                Some(r) => format!(
                    "app {} serves its metrics at {}: scrape that path",
                    r.app.name, r.app.metrics_path
                ),
                None => "scrape the path the app serves its metrics at (the `metrics_path` it was built with; `/metrics` by default)".to_owned(),
            },
        ),
        s => c.fail(format!("the endpoint answered {s}"), "the metrics endpoint must answer 200"),
    }
    c
}

fn openmetrics_check(f: &Fetched) -> Check {
    let mut c = Check::new("OpenMetrics exposition");
    if f.status != 200 {
        c.fail(
            format!("answered {} to Prometheus' Accept header", f.status),
            "answer Prometheus' preferred Accept header with 200",
        );
        return c;
    }
    if !f.content_type.starts_with("application/openmetrics-text") {
        return c.summary(format!(
            "not offered (Content-Type `{}`); Prometheus falls back to text",
            f.content_type
        ));
    }
    match parse_openmetrics(&f.body) {
        Ok(e) => {
            let exemplars = e
                .families
                .iter()
                .flat_map(|f| &f.samples)
                .filter(|s| s.exemplar.is_some())
                .count();
            let mut summary = format!("{} families; parses, ends with # EOF", e.families.len());
            if exemplars > 0 {
                // The parser refuses them anywhere else, as Prometheus 2.42 does.
                summary.push_str(&format!(
                    "; {exemplars} exemplars, all on counter `_total` and histogram `_bucket` samples"
                ));
            }
            c.summary(summary)
        }
        Err(e) => {
            c.fail(
                format!("{e}"),
                match e.refused_by {
                    RefusedBy::Prometheus => {
                        "Prometheus 2.42 prefers OpenMetrics and rejects the whole scrape on this error"
                    }
                    RefusedBy::Budget => BUDGET_FIX,
                    RefusedBy::Specification => {
                        "Prometheus 2.42 scrapes it anyway (up stays 1) and stores the value as \
                         written, but the OpenMetrics specification forbids it and strict parsers \
                         (Python's prometheus_client) refuse the whole exposition: write a value \
                         that counts (never NaN, never negative)"
                    }
                },
            );
            c.summary("does not parse")
        }
    }
}

/// `name{a="x",b="y"}` with labels sorted, minus `skip`.
fn series(s: &Sample, skip: &[&str]) -> String {
    let labels: BTreeMap<&str, &str> = s
        .labels
        .iter()
        .filter(|(n, _)| !skip.contains(&n.as_str()))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let inner: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{}{{{}}}", s.name, inner.join(","))
}

fn le(s: &Sample) -> f64 {
    s.label("le")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

fn structure_check(e: &Exposition) -> Check {
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

fn contract_check(e: &Exposition, expected: &Expected) -> (Check, Option<Contract>) {
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

/// Label names that usually hold a route or a request path, across instrumentation
/// libraries (axum-prometheus `endpoint`, Django `view`/`handler`, OpenTelemetry `http.route`).
const PATH_LIKE_NAMES: &[&str] = &[
    "path",
    "endpoint",
    "route",
    "uri",
    "url",
    "handler",
    "http_route",
    "http_target",
    "http_url",
    "target",
    "request_path",
    "view",
];

/// Every label, over all families, that holds paths: named like one (or the contract's path
/// label), or whose values all start with `/`. Each with its distinct values.
fn path_like_labels<'e>(
    e: &'e Exposition,
    contract_path: Option<&str>,
) -> BTreeMap<&'e str, BTreeSet<&'e str>> {
    let mut found: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in e.families.iter().flat_map(|f| &f.samples) {
        for (name, value) in &s.labels {
            found
                .entry(name.as_str())
                .or_default()
                .insert(value.as_str());
        }
    }
    found.retain(|name, values| {
        Some(*name) == contract_path
            || PATH_LIKE_NAMES.contains(&name.to_ascii_lowercase().as_str())
            || (*name != "le" && *name != "quantile" && values.iter().all(|v| v.starts_with('/')))
    });
    found
}

/// Why a `path` value looks like a raw request path rather than a route template.
fn raw_path_reason(path: &str) -> Option<String> {
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if seg.starts_with('{') || seg.starts_with(':') || seg == "*" {
            continue;
        }
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!("numeric segment `{seg}`"));
        }
        let hex = seg.bytes().filter(|b| b.is_ascii_hexdigit()).count();
        if seg.len() == 36 && seg.bytes().filter(|&b| b == b'-').count() == 4 && hex == 32 {
            return Some(format!("UUID segment `{seg}`"));
        }
        if seg.len() >= 16 && hex == seg.len() {
            return Some(format!("hexadecimal segment `{seg}`"));
        }
    }
    None
}

fn cardinality_check(e: &Exposition, contract: Option<&Contract>) -> Check {
    let mut c = Check::new("cardinality");
    let mut sizes: Vec<(usize, &str)> = e
        .families
        .iter()
        .map(|f| {
            let n: BTreeSet<String> = f
                .samples
                .iter()
                .map(|s| series(s, &["le", "quantile"]))
                .collect();
            (n.len(), f.name.as_str())
        })
        .collect();
    sizes.sort_by(|a, b| b.cmp(a));
    let total: usize = sizes.iter().map(|s| s.0).sum();
    let top: Vec<String> = sizes
        .iter()
        .take(3)
        .map(|(n, f)| format!("{f} {n}"))
        .collect();
    let mut summary = format!("{total} series; largest: {}", top.join(", "));
    let path_label = contract.map(|c| c.labels().path.as_str());
    let mut overflow = false;
    for (label, values) in path_like_labels(e, path_label) {
        overflow |= values.contains(redmetrics::metrics::OVERFLOW);
        let raw: BTreeMap<&str, String> = values
            .iter()
            .filter_map(|v| raw_path_reason(v).map(|why| (*v, why)))
            .collect();
        summary = format!("{summary}; {} distinct {label} values", values.len());
        if !raw.is_empty() {
            let shown: Vec<String> = raw
                .iter()
                .take(5)
                .map(|(p, why)| format!("{label}=\"{p}\" ({why})"))
                .collect();
            let more = raw.len().saturating_sub(5);
            c.fail(
                format!(
                    "{} {label} values look like raw request paths: {}{}",
                    raw.len(),
                    shown.join(", "),
                    if more > 0 { format!(", and {more} more") } else { String::new() }
                ),
                format!("label requests with the route template (axum MatchedPath: /v1/campaigns/{{id}}), never the raw path: every scanned URL becomes a new series (label `{label}`)"),
            );
        } else if values.len() > MANY_PATHS {
            c.warn(
                format!("{} distinct {label} values", values.len()),
                format!("a service rarely has that many routes: check that {label} is the route template"),
            );
        }
    }
    if overflow {
        c.warn(
            "a family reached its bound on label sets and folds new ones into __overflow__",
            "see redmetrics_cardinality_overflow_total; raise the bound only if the label sets are legitimate",
        );
    }
    c.summary(summary)
}

fn monotonic_check(first: &Exposition, second: &Fetched, contract: Option<&Contract>) -> Check {
    let mut c = Check::new("counters");
    let Ok(second) = parse_text(&second.body) else {
        c.fail(
            "the second scrape does not parse",
            "see the text exposition check",
        );
        return c.summary("second scrape failed");
    };
    let cumulative = |e: &Exposition| -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        for f in &e.families {
            for s in &f.samples {
                if f.is_monotonic(s) {
                    m.insert(series(s, &[]), s.value);
                }
            }
        }
        m
    };
    let (a, b) = (cumulative(first), cumulative(&second));
    let mut compared = 0;
    for (key, before) in &a {
        if let Some(after) = b.get(key) {
            compared += 1;
            if after < before {
                c.fail(
                    format!("{key} went from {before} to {after} between two scrapes 1s apart"),
                    "counters never decrease: was the process restarted, or are several pods behind this URL?",
                );
            }
        }
    }
    if let Some(contract) = contract {
        let gauge = contract.in_flight().desc().name();
        for s in second.family(gauge).into_iter().flat_map(|f| &f.samples) {
            if s.value < 0.0 {
                c.fail(
                    format!("{gauge} is {}", s.value),
                    "requests in flight cannot be negative: increments and decrements are unbalanced",
                );
            }
        }
    }
    let summary = format!("{compared} cumulative series compared across two scrapes 1s apart");
    c.summary(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_paths_are_recognised() {
        assert_eq!(raw_path_reason("/v1/campaigns/{id}"), None);
        assert_eq!(raw_path_reason("__unmatched__"), None);
        assert!(raw_path_reason("/v1/campaigns/123").is_some());
        assert!(raw_path_reason("/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301").is_some());
        assert!(raw_path_reason("/blob/0123456789abcdef0123").is_some());
        assert_eq!(raw_path_reason("/v2/users/me"), None);
    }
}
