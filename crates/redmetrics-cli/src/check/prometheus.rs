//! `redmetrics check prometheus URL --job NAME`: ask a Prometheus server whether it scrapes
//! the job and stores the contract's families with their labels, and say which of three
//! failures it is: no target discovered, target down (and why), or up with the metrics missing.

use std::collections::BTreeSet;

use redmetrics::contract::Contract;
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
    api_data(url, f.status, &f.body)
}

/// The `data` of an API answer (`body`, answered with HTTP `status` at `url`): an error when
/// it is not JSON, too large, or says a status other than `success`.
fn api_data(url: String, status: u16, body: &[u8]) -> Result<Value, CheckError> {
    let v: Value = match parse_json(body) {
        Ok(v) => v,
        Err(JsonRefusal::OverBudget(message)) => {
            return Err(CheckError::PrometheusApi { url, message });
        }
        Err(JsonRefusal::Invalid(_)) => {
            return Err(CheckError::NotPrometheusApi { url, status });
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
    let mut checks = match judge_targets(&targets, job, expected) {
        Ok(c) => vec![c],
        Err(c) => return Ok(Report::new(target, vec![c])),
    };
    checks.push(metrics_check(base, job, expected).await?);
    if let Some(r) = expected.app() {
        checks.push(series_check(base, r).await?);
    }
    Ok(Report::new(target, checks))
}

/// The `target` check of the job's active targets (the `data` of `/api/v1/targets`): `Ok`
/// when at least one is up (its metrics can then be asked for), `Err` when none is.
fn judge_targets(targets: &Value, job: &str, expected: &Expected) -> Result<Check, Check> {
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
        return Err(c.summary("no target discovered"));
    }
    let mut up = 0usize;
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
    let c = c.summary(format!("{} target(s), {up} up", mine.len()));
    if up > 0 { Ok(c) } else { Err(c) }
}

/// The `metrics` check: which families of the contract Prometheus stores for the job, and
/// whether the request counter carries its labels and has a rate.
async fn metrics_check(base: &str, job: &str, expected: &Expected) -> Result<Check, CheckError> {
    let names: BTreeSet<String> = query(base, &format!("count by (__name__) ({{job=\"{job}\"}})"))
        .await?
        .iter()
        .filter_map(|r| r["metric"]["__name__"].as_str().map(str::to_owned))
        .collect();
    let judged = match judge_names(&names, job, expected) {
        Ok(judged) => judged,
        Err(c) => return Ok(c),
    };
    let requests = judged.contract.requests().desc().name().to_owned();
    let series = query(base, &format!("{requests}{{job=\"{job}\"}}")).await?;
    let rate = query(base, &format!("sum(rate({requests}{{job=\"{job}\"}}[5m]))")).await?;
    Ok(judged.finish(&series, rate.is_empty()))
}

/// What the metric names stored for a job said, before the request series are asked for.
struct Judged {
    c: Check,
    prefix: String,
    contract: Contract,
    latency: LatencyForms,
}

/// Judges the metric names Prometheus stores for `job` against the contract: `Err` with the
/// finished check when there is nothing more to ask (no prefix, or none of its families).
fn judge_names(names: &BTreeSet<String>, job: &str, expected: &Expected) -> Result<Judged, Check> {
    let mut c = Check::new("metrics");
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
            return Err(c.summary("UP, but the HTTP metrics are missing"));
        }
        (None, many) => {
            c.fail(
                format!("several prefixes: {}", many.join(", ")),
                "name one with --prefix",
            );
            return Err(c.summary("ambiguous prefix"));
        }
    };
    let (contract, exact) = match expected.contract(&prefix) {
        Ok(found) => found,
        Err(e) => {
            c.fail(e.rule, "pass a valid --prefix");
            return Err(c.summary("invalid prefix"));
        }
    };
    let duration = contract.duration().desc().name();
    let latency = LatencyForms::stored(names, duration);
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
        return Err(c.summary("UP, but the metrics are missing"));
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
    Ok(Judged {
        c,
        prefix,
        contract,
        latency,
    })
}

impl Judged {
    /// Finishes the check with the request counter's `series` (the `result` of an instant
    /// query) and whether its rate was empty.
    fn finish(self, series: &[Value], no_rate: bool) -> Check {
        let Self {
            mut c,
            prefix,
            contract,
            latency,
        } = self;
        let requests = contract.requests();
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
        if no_rate {
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
        c.summary(summary)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::prefix_app;

    const DURATION: &str = "shop_http_request_duration_seconds";

    /// Every family of shop's default contract, with classic duration buckets and summaries.
    const CLASSIC: &[&str] = &[
        "shop_http_requests_total",
        "shop_http_request_duration_seconds_bucket",
        "shop_http_request_duration_seconds_sum",
        "shop_http_request_duration_seconds_count",
        "shop_http_active_connections",
        "shop_http_request_size_bytes",
        "shop_http_request_size_bytes_sum",
        "shop_http_request_size_bytes_count",
        "shop_http_response_size_bytes",
        "shop_http_response_size_bytes_sum",
        "shop_http_response_size_bytes_count",
        "shop_build_info",
    ];

    fn stored(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    /// `CLASSIC` without the names `drop` matches, and with `add`.
    fn classic_but(drop: impl Fn(&str) -> bool, add: &[&str]) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = CLASSIC
            .iter()
            .filter(|n| !drop(n))
            .map(|n| (*n).to_owned())
            .collect();
        names.extend(add.iter().map(|n| (*n).to_owned()));
        names
    }

    fn shop() -> Expected {
        Expected::Prefix("shop".to_owned())
    }

    fn messages(c: &Check) -> Vec<(Status, &str)> {
        // The status of a finding is not kept: a finding's fix tells a warning from a failure
        // no better, so the check's status is asserted beside the messages.
        c.findings
            .iter()
            .map(|f| (c.status, f.message.as_str()))
            .collect()
    }

    fn judged(names: &BTreeSet<String>, expected: &Expected) -> Judged {
        match judge_names(names, "shop", expected) {
            Ok(j) => j,
            Err(c) => panic!("stopped early: {c:?}"),
        }
    }

    fn stopped(names: &BTreeSet<String>, expected: &Expected) -> Check {
        match judge_names(names, "shop", expected) {
            Ok(j) => panic!("went on: {:?}", j.c),
            Err(c) => c,
        }
    }

    #[test]
    fn an_api_answer_gives_its_data_or_says_why_not() {
        let url = || "http://p:9090/api/v1/query".to_owned();
        let data = api_data(url(), 200, br#"{"status":"success","data":{"result":[1]}}"#);
        assert_eq!(data.unwrap(), json!({"result": [1]}));
        let refused =
            br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        match api_data(url(), 400, refused) {
            Err(CheckError::PrometheusApi { url, message }) => {
                assert_eq!(url, "http://p:9090/api/v1/query");
                assert_eq!(message, "parse error at char 3");
            }
            other => panic!("{other:?}"),
        }
        match api_data(url(), 200, br#"{"data":{}}"#) {
            Err(CheckError::PrometheusApi { message, .. }) => assert_eq!(message, "request failed"),
            other => panic!("{other:?}"),
        }
        match api_data(url(), 502, b"<html>Bad Gateway</html>") {
            Err(CheckError::NotPrometheusApi { status, .. }) => assert_eq!(status, 502),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_scrape_error_gets_its_own_diagnosis() {
        let url = "http://10.0.0.7:8080/metrics";
        let (m, fix) = diagnose("server returned HTTP status 404 Not Found", url, &shop());
        assert_eq!(
            m,
            "the target answers 404 Not Found at http://10.0.0.7:8080/metrics"
        );
        assert_eq!(
            fix,
            "the scrape path is wrong: set the ServiceMonitor endpoint's path to the path the app serves its metrics at"
        );
        let app = Expected::App(Box::new(prefix_app("shop", "/internal/metrics").unwrap()));
        let (_, fix) = diagnose("server returned HTTP status 404 Not Found", url, &app);
        assert_eq!(
            fix,
            "the scrape path is wrong: set the ServiceMonitor endpoint's path to `path: /internal/metrics` (app shop)"
        );
        let (m, fix) = diagnose(
            "dial tcp 10.0.0.7:8080: connect: Connection Refused",
            url,
            &shop(),
        );
        assert_eq!(
            m,
            "nothing listens at http://10.0.0.7:8080/metrics (connection refused)"
        );
        assert!(
            fix.starts_with("the port is wrong or the app is not running"),
            "{fix}"
        );
        for error in [
            "context deadline exceeded",
            "Get \"http://10.0.0.7:8080/metrics\": timeout",
        ] {
            let (m, fix) = diagnose(error, url, &shop());
            assert_eq!(
                m, "the scrape of http://10.0.0.7:8080/metrics timed out",
                "{error}"
            );
            assert_eq!(
                fix,
                "make the endpoint faster or raise scrapeTimeout (at most the interval)"
            );
        }
        for error in [
            "server returned HTTP status 401 Unauthorized",
            "server returned HTTP status 403 Forbidden",
        ] {
            let (m, fix) = diagnose(error, url, &shop());
            assert_eq!(
                m,
                format!("the target refuses the scrape at http://10.0.0.7:8080/metrics: {error}")
            );
            assert!(
                fix.starts_with("give the ServiceMonitor the endpoint's bearer token"),
                "{fix}"
            );
        }
        let (m, fix) = diagnose("unexpected EOF", url, &shop());
        assert_eq!(
            m,
            "scraping http://10.0.0.7:8080/metrics fails: unexpected EOF"
        );
        assert_eq!(fix, "see the target's error on Prometheus' /targets page");
    }

    #[test]
    fn latency_forms_are_read_from_the_stored_names_and_described() {
        let both = stored(&[DURATION, "shop_http_request_duration_seconds_bucket"]);
        let forms = LatencyForms::stored(&both, DURATION);
        assert!(forms.classic && forms.native);
        assert_eq!(forms.describe(), "classic buckets and native histogram");
        let classic = LatencyForms::stored(
            &stored(&["shop_http_request_duration_seconds_bucket"]),
            DURATION,
        );
        assert!(classic.classic && !classic.native);
        assert_eq!(classic.describe(), "classic buckets");
        let native = LatencyForms::stored(&stored(&[DURATION]), DURATION);
        assert!(!native.classic && native.native);
        assert_eq!(native.describe(), "native histogram");
        let neither = LatencyForms::stored(
            &stored(&["shop_http_request_duration_seconds_count"]),
            DURATION,
        );
        assert!(!neither.classic && !neither.native);
        assert_eq!(neither.describe(), "neither form");
    }

    #[test]
    fn a_job_without_targets_names_the_jobs_prometheus_scrapes() {
        let targets = json!({"activeTargets": [
            {"labels": {"job": "cart"}, "health": "up", "scrapeUrl": "http://c/metrics"},
            {"labels": {"job": "billing"}, "health": "up", "scrapeUrl": "http://b/metrics"},
            {"labels": {"job": "cart"}, "health": "down", "scrapeUrl": "http://c2/metrics"},
        ]});
        let c = judge_targets(&targets, "shop", &shop()).unwrap_err();
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.summary, "no target discovered");
        assert_eq!(
            c.findings[0].message,
            "Prometheus has no target for job shop (it scrapes: billing, cart)"
        );
        let c = judge_targets(&json!({"activeTargets": []}), "shop", &shop()).unwrap_err();
        assert_eq!(
            c.findings[0].message,
            "Prometheus has no target for job shop (it scrapes: nothing)"
        );
        let c = judge_targets(&json!({}), "shop", &shop()).unwrap_err();
        assert_eq!(c.findings.len(), 1);
    }

    #[test]
    fn targets_up_down_and_unscraped_are_told_apart() {
        let targets = json!({"activeTargets": [
            {"labels": {"job": "shop"}, "health": "up", "scrapeUrl": "http://a/metrics"},
            {"labels": {"job": "shop"}, "health": "down", "scrapeUrl": "http://b/metrics",
             "lastError": "dial tcp: connection refused"},
            {"labels": {"job": "shop"}, "health": "unknown", "scrapeUrl": "http://c/metrics"},
            {"labels": {"job": "cart"}, "health": "up", "scrapeUrl": "http://d/metrics"},
        ]});
        let c = judge_targets(&targets, "shop", &shop()).unwrap();
        assert_eq!(c.name, "target");
        assert_eq!(c.summary, "3 target(s), 1 up");
        assert_eq!(
            messages(&c),
            [
                (
                    Status::Fail,
                    "nothing listens at http://b/metrics (connection refused)"
                ),
                (Status::Fail, "http://c/metrics has not been scraped yet"),
            ]
        );
        let unscraped = json!({"activeTargets": [
            {"labels": {"job": "shop"}, "health": "up", "scrapeUrl": "http://a/metrics"},
            {"labels": {"job": "shop"}, "health": "unknown", "scrapeUrl": "http://c/metrics"},
        ]});
        let c = judge_targets(&unscraped, "shop", &shop()).unwrap();
        assert_eq!(c.status, Status::Warn);
        let two_up = json!({"activeTargets": [
            {"labels": {"job": "shop"}, "health": "up", "scrapeUrl": "http://a/metrics"},
            {"labels": {"job": "shop"}, "health": "up", "scrapeUrl": "http://b/metrics"},
        ]});
        let c = judge_targets(&two_up, "shop", &shop()).unwrap();
        assert_eq!(
            (c.status, c.summary.as_str()),
            (Status::Pass, "2 target(s), 2 up")
        );
        assert!(c.findings.is_empty());
    }

    #[test]
    fn targets_none_of_which_is_up_stop_the_check() {
        let targets = json!({"activeTargets": [
            {"labels": {"job": "shop"}, "health": "down", "scrapeUrl": "http://a/metrics",
             "lastError": "server returned HTTP status 404 Not Found"},
            {"labels": {"job": "shop"}, "health": "unknown", "scrapeUrl": "http://b/metrics"},
        ]});
        let c = judge_targets(&targets, "shop", &shop()).unwrap_err();
        assert_eq!(c.summary, "2 target(s), 0 up");
        assert_eq!(
            c.findings[0].message,
            "the target answers 404 Not Found at http://a/metrics"
        );
    }

    #[test]
    fn every_family_stored_classically_passes() {
        let j = judged(&stored(CLASSIC), &shop());
        assert_eq!((j.c.status, j.prefix.as_str()), (Status::Pass, "shop"));
        assert!(j.c.findings.is_empty(), "{:?}", j.c.findings);
        let series = json!([
            {"metric": {"__name__": "shop_http_requests_total", "job": "shop", "method": "GET", "path": "/", "status": "200"}},
            {"metric": {"__name__": "shop_http_requests_total", "job": "shop", "method": "POST", "path": "/cart", "status": "201"}},
        ]);
        let c = j.finish(series.as_array().unwrap(), false);
        assert_eq!(c.status, Status::Pass);
        assert!(c.findings.is_empty());
        assert_eq!(
            c.summary,
            "prefix shop: the HTTP families arrive with method, path and status; 2 series of requests; latency stored as classic buckets"
        );
    }

    #[test]
    fn the_prefix_is_inferred_from_the_one_request_counter() {
        let j = judged(&stored(CLASSIC), &Expected::Inferred);
        assert_eq!(j.prefix, "shop");
        let c = stopped(
            &stored(&["up", "process_cpu_seconds_total"]),
            &Expected::Inferred,
        );
        assert_eq!(c.summary, "UP, but the HTTP metrics are missing");
        assert_eq!(
            c.findings[0].message,
            "the target is UP but exports no <prefix>_http_requests_total (2 metric names)"
        );
        let c = stopped(
            &classic_but(|_| false, &["cart_http_requests_total"]),
            &Expected::Inferred,
        );
        assert_eq!(c.summary, "ambiguous prefix");
        assert_eq!(c.findings[0].message, "several prefixes: cart, shop");
        let c = stopped(&stored(CLASSIC), &Expected::Prefix("shop-x".to_owned()));
        assert_eq!(
            (c.status, c.summary.as_str()),
            (Status::Fail, "invalid prefix")
        );
    }

    #[test]
    fn a_native_only_duration_histogram_counts_as_stored() {
        let names = classic_but(|n| n.starts_with(DURATION), &[DURATION]);
        let j = judged(&names, &shop());
        assert!(j.c.findings.is_empty(), "{:?}", j.c.findings);
        let c = j.finish(&[], false);
        assert!(
            c.summary
                .ends_with("0 series of requests; latency stored as native histogram"),
            "{}",
            c.summary
        );
        // Native buckets do not stand for the other families.
        let names = classic_but(
            |n| {
                n.starts_with(DURATION)
                    || n.starts_with("shop_http_response_size")
                    || n == "shop_build_info"
            },
            &[DURATION],
        );
        let j = judged(&names, &shop());
        assert_eq!(
            messages(&j.c),
            [
                (
                    Status::Fail,
                    "shop_http_response_size_bytes does not arrive"
                ),
                (Status::Fail, "shop_build_info does not arrive"),
            ]
        );
    }

    #[test]
    fn a_missing_build_info_only_warns() {
        let j = judged(&classic_but(|n| n == "shop_build_info", &[]), &shop());
        assert_eq!(
            messages(&j.c),
            [(Status::Warn, "shop_build_info does not arrive")]
        );
        let c = j.finish(&[], false);
        assert_eq!(c.status, Status::Warn);
        assert!(
            c.summary
                .starts_with("prefix shop: the HTTP families arrive"),
            "{}",
            c.summary
        );
    }

    #[test]
    fn an_exact_contract_needs_every_series_a_prefix_one() {
        let names = classic_but(|n| n == "shop_http_request_size_bytes", &[]);
        let exact = Expected::App(Box::new(prefix_app("shop", "/metrics").unwrap()));
        let j = judged(&names, &exact);
        assert_eq!(
            messages(&j.c),
            [(Status::Fail, "shop_http_request_size_bytes does not arrive")]
        );
        assert!(judged(&names, &shop()).c.findings.is_empty());
        // A prefix alone takes histogram sizes too.
        let names = classic_but(
            |n| n.starts_with("shop_http_request_size_bytes"),
            &["shop_http_request_size_bytes_bucket"],
        );
        assert!(judged(&names, &shop()).c.findings.is_empty());
    }

    #[test]
    fn a_wrong_prefix_lists_the_http_names_a_scrape_wrote() {
        let names = stored(&[
            "other_http_requests_total",
            "other_http_request_duration_seconds_bucket",
            "job:shop_http_requests:rate5m",
            "process_cpu_seconds_total",
        ]);
        let c = stopped(&names, &shop());
        assert_eq!(c.summary, "UP, but the metrics are missing");
        assert_eq!(
            messages(&c),
            [(
                Status::Fail,
                "the target is UP, but none of the shop_http_* metrics arrive (it exports: other_http_request_duration_seconds_bucket, other_http_requests_total)"
            )]
        );
    }

    #[test]
    fn a_duration_without_buckets_nor_native_histogram_warns() {
        let names = classic_but(|n| n.ends_with("_bucket") || n == "shop_build_info", &[]);
        let j = judged(&names, &shop());
        assert_eq!(j.c.status, Status::Warn);
        assert_eq!(j.c.findings.len(), 2);
        assert_eq!(j.c.findings[0].message, "shop_build_info does not arrive");
        assert!(
            j.c.findings[1].message.starts_with(
                "Prometheus stores neither shop_http_request_duration_seconds_bucket nor the native shop_http_request_duration_seconds for job shop:"
            ),
            "{}",
            j.c.findings[1].message
        );
        assert!(
            j.finish(&[], false)
                .summary
                .ends_with("latency stored as neither form")
        );
        // A duration that does not arrive at all is said once, as missing.
        let j = judged(&classic_but(|n| n.starts_with(DURATION), &[]), &shop());
        assert_eq!(
            messages(&j.c),
            [(
                Status::Fail,
                "shop_http_request_duration_seconds does not arrive"
            )]
        );
    }

    #[test]
    fn request_series_without_their_labels_or_rate_are_reported() {
        let series = json!([
            {"metric": {"__name__": "shop_http_requests_total", "method": "GET", "path": "/", "status": "200"}},
            {"metric": {"__name__": "shop_http_requests_total", "method": "GET", "path": "/"}},
        ]);
        let c = judged(&stored(CLASSIC), &shop()).finish(series.as_array().unwrap(), false);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.summary, "prefix shop: metrics missing or mislabelled");
        assert_eq!(c.findings.len(), 1);
        assert!(
            c.findings[0].message.starts_with(
                r#"shop_http_requests_total lacks one of the labels ["method", "path", "status"]: "#
            ),
            "{}",
            c.findings[0].message
        );
        let c = judged(&stored(CLASSIC), &shop()).finish(&series.as_array().unwrap()[..1], true);
        assert_eq!(c.status, Status::Warn);
        assert_eq!(
            messages(&c),
            [(
                Status::Warn,
                "no request rate yet: the counter needs two scrapes with traffic"
            )]
        );
        assert!(
            c.summary.contains("; 1 series of requests;"),
            "{}",
            c.summary
        );
    }
}
