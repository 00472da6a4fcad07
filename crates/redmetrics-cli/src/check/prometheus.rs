//! `redmetrics check prometheus URL --job NAME`: ask a Prometheus server whether it scrapes
//! the job and stores the contract's families with their labels, and say which of three
//! failures it is: no target discovered, target down (and why), or up with the metrics missing.

use std::collections::BTreeSet;

use serde_json::Value;

use super::fetch::get;
use super::limits::{JsonRefusal, parse_json};
use super::report::{Check, Report, Status};
use super::series::series_check;
use super::{CheckError, Expected, sample_names};

/// GETs an API path and returns its `data`.
async fn api(base: &str, path: &str) -> Result<Value, CheckError> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let f = get(&url).await?;
    let v: Value = match parse_json(&f.body) {
        Ok(v) => v,
        Err(JsonRefusal::OverBudget(message)) => {
            return Err(CheckError::PrometheusApi { url, message });
        }
        Err(JsonRefusal::Invalid(_)) => {
            return Err(CheckError::NotPrometheusApi {
                url,
                status: f.status,
            });
        }
    };
    if v["status"] != "success" {
        return Err(CheckError::PrometheusApi {
            message: v["error"].as_str().unwrap_or("request failed").to_owned(),
            url,
        });
    }
    Ok(v["data"].clone())
}

pub(super) async fn query(base: &str, promql: &str) -> Result<Vec<Value>, CheckError> {
    Ok(api(
        base,
        &format!("/api/v1/query?query={}", crate::url::query_value(promql)),
    )
    .await?["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// What a scrape error means for the ServiceMonitor.
fn diagnose(error: &str, url: &str, expected: &Expected) -> (String, String) {
    let e = error.to_ascii_lowercase();
    if e.contains("404") {
        let path = match expected.app() {
            Some(r) => format!("`path: {}` (app {})", r.app.metrics_path, r.app.name),
            None => "the path the app serves its metrics at".to_owned(),
        };
        (
            format!("the target answers 404 Not Found at {url}"),
            format!("the scrape path is wrong: set the ServiceMonitor endpoint's path to {path}"),
        )
    } else if e.contains("connection refused") {
        (
            format!("nothing listens at {url} (connection refused)"),
            "the port is wrong or the app is not running: the endpoint's `port` must name the Service port the app listens on".to_owned(),
        )
    } else if e.contains("deadline exceeded") || e.contains("timeout") {
        (
            format!("the scrape of {url} timed out"),
            "make the endpoint faster or raise scrapeTimeout (at most the interval)".to_owned(),
        )
    } else if e.contains("401") || e.contains("403") {
        (
            format!("the target refuses the scrape at {url}: {error}"),
            "give the ServiceMonitor the endpoint's bearer token (`authorization`) or allow Prometheus' network".to_owned(),
        )
    } else {
        (
            format!("scraping {url} fails: {error}"),
            "see the target's error on Prometheus' /targets page".to_owned(),
        )
    }
}

/// Which forms of the duration histogram Prometheus stores for a job. The generated latency
/// queries read either; a Prometheus that ingests native histograms keeps only the native
/// series unless classic ones are kept too (`scrapeClassicHistograms`).
#[derive(Debug, Clone, Copy)]
struct LatencyForms {
    /// `<name>_bucket` series, which classic quantiles need.
    classic: bool,
    /// The native histogram, stored under the family's own name.
    native: bool,
}

impl LatencyForms {
    fn stored(names: &BTreeSet<String>, duration: &str) -> Self {
        Self {
            classic: names.contains(&format!("{duration}_bucket")),
            native: names.contains(duration),
        }
    }

    fn describe(self) -> &'static str {
        match (self.classic, self.native) {
            (true, true) => "classic buckets and native histogram",
            (true, false) => "classic buckets",
            (false, true) => "native histogram",
            (false, false) => "neither form",
        }
    }
}

/// Runs the Prometheus checks; `Err` when the server cannot be asked.
pub(crate) async fn check(
    base: &str,
    job: &str,
    expected: &Expected,
) -> Result<Report, CheckError> {
    let target = format!("{base} job {job}");
    let targets = api(base, "/api/v1/targets?state=active").await?;
    let all = targets["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mine: Vec<&Value> = all.iter().filter(|t| t["labels"]["job"] == job).collect();
    let mut c = Check::new("target");
    if mine.is_empty() {
        let jobs: BTreeSet<&str> = all
            .iter()
            .filter_map(|t| t["labels"]["job"].as_str())
            .collect();
        c.fail(
            format!(
                "Prometheus has no target for job {job} (it scrapes: {})",
                if jobs.is_empty() { "nothing".to_owned() } else { jobs.into_iter().collect::<Vec<_>>().join(", ") }
            ),
            "the ServiceMonitor was not discovered: check it exists, carries the `release` label the stack selects (or serviceMonitorSelectorNilUsesHelmValues: false), that its selector matches the Service's labels and its namespaceSelector the Service's namespace (`redmetrics check manifests` finds these)",
        );
        return Ok(Report::new(target, vec![c.summary("no target discovered")]));
    }
    let mut up = 0;
    for t in &mine {
        let url = t["scrapeUrl"].as_str().unwrap_or("?");
        match t["health"].as_str() {
            Some("up") => up += 1,
            Some("down") => {
                let (message, fix) = diagnose(t["lastError"].as_str().unwrap_or(""), url, expected);
                c.fail(message, fix);
            }
            _ => c.warn(
                format!("{url} has not been scraped yet"),
                "wait one scrape interval and check again",
            ),
        }
    }
    let mut checks = vec![c.summary(format!("{} target(s), {up} up", mine.len()))];
    if up == 0 {
        return Ok(Report::new(target, checks));
    }
    checks.push(metrics_check(base, job, expected).await?);
    if let Some(r) = expected.app() {
        checks.push(series_check(base, r).await?);
    }
    Ok(Report::new(target, checks))
}

async fn metrics_check(base: &str, job: &str, expected: &Expected) -> Result<Check, CheckError> {
    let mut c = Check::new("metrics");
    let names: BTreeSet<String> = query(base, &format!("count by (__name__) ({{job=\"{job}\"}})"))
        .await?
        .iter()
        .filter_map(|r| r["metric"]["__name__"].as_str().map(str::to_owned))
        .collect();
    let candidates: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_suffix("_http_requests_total"))
        .collect();
    let prefix = match (expected.prefix(), candidates.as_slice()) {
        (Some(p), _) => p.to_owned(),
        (None, [one]) => (*one).to_owned(),
        (None, []) => {
            c.fail(
                format!("the target is UP but exports no <prefix>_http_requests_total ({} metric names)", names.len()),
                "the redmetrics layer is missing, or the app exports other names: check the app's /metrics",
            );
            return Ok(c.summary("UP, but the HTTP metrics are missing"));
        }
        (None, many) => {
            c.fail(
                format!("several prefixes: {}", many.join(", ")),
                "name one with --prefix",
            );
            return Ok(c.summary("ambiguous prefix"));
        }
    };
    let (contract, exact) = match expected.contract(&prefix) {
        Ok(found) => found,
        Err(e) => {
            c.fail(e.rule, "pass a valid --prefix");
            return Ok(c.summary("invalid prefix"));
        }
    };
    let duration = contract.duration().desc().name();
    let latency = LatencyForms::stored(&names, duration);
    let mut missing = Vec::new();
    for f in contract.families() {
        let n = f.desc().name();
        // An exact contract says which series a family writes: all must arrive. A prefix
        // alone does not say whether sizes are summaries or histograms: one series will do.
        // The duration histogram arrives as its classic series, its native one, or both.
        let expected = sample_names(f, exact);
        let present = (n == duration && latency.native)
            || if exact {
                expected.iter().all(|s| names.contains(s))
            } else {
                expected.iter().any(|s| names.contains(s))
            };
        if !present {
            missing.push(n.to_owned());
        }
    }
    if missing.len() == contract.families().count() {
        let exported: Vec<&str> = names
            .iter()
            // Recording rule outputs (`:` names) carry the job too, but no scrape wrote them.
            .filter(|n| n.contains("_http_") && !n.contains(':'))
            .map(String::as_str)
            .collect();
        c.fail(
            format!("the target is UP, but none of the {prefix}_http_* metrics arrive (it exports: {})", exported.join(", ")),
            "the prefix is wrong: pass the app's prefix with --prefix, or fix the prefix the app was built with",
        );
        return Ok(c.summary("UP, but the metrics are missing"));
    }
    for n in &missing {
        let build_info = n == contract.build_info().desc().name();
        c.find(
            if build_info {
                Status::Warn
            } else {
                Status::Fail
            },
            format!("{n} does not arrive"),
            Some("every family of the contract should be exported".to_owned()),
        );
    }
    if !missing.iter().any(|n| n == duration) && !latency.native && !latency.classic {
        c.warn(
            format!(
                "Prometheus stores neither {duration}_bucket nor the native {duration} for job {job}: the latency quantiles of the dashboard and RedmetricsHighLatencyP95 see nothing"
            ),
            "keep the _bucket series (a metricRelabelings or metric_relabel_configs rule dropping them?), or let Prometheus ingest the native histogram (2.42: --enable-feature=native-histograms; 3.9+: scrape_native_histograms: true)",
        );
    }
    let requests = contract.requests();
    let series = query(
        base,
        &format!("{}{{job=\"{job}\"}}", requests.desc().name()),
    )
    .await?;
    let wanted: Vec<&str> = requests.labels().iter().map(|l| l.as_str()).collect();
    if let Some(bad) = series
        .iter()
        .find(|s| wanted.iter().any(|l| s["metric"].get(*l).is_none()))
    {
        c.fail(
            format!(
                "{} lacks one of the labels {wanted:?}: {}",
                requests.desc().name(),
                bad["metric"]
            ),
            "record method, path and status on every request",
        );
    }
    let rate = query(
        base,
        &format!("sum(rate({}{{job=\"{job}\"}}[5m]))", requests.desc().name()),
    )
    .await?;
    if rate.is_empty() {
        c.warn(
            "no request rate yet: the counter needs two scrapes with traffic",
            "send a few requests and wait two scrape intervals",
        );
    }
    let summary = if c.status == Status::Fail {
        format!("prefix {prefix}: metrics missing or mislabelled")
    } else {
        format!(
            "prefix {prefix}: the HTTP families arrive with method, path and status; {} series of requests; latency stored as {}",
            series.len(),
            latency.describe()
        )
    };
    Ok(c.summary(summary))
}
