//! `redmetrics check endpoint URL`: scrape a live endpoint as Prometheus would and judge the
//! result: exposition validity (both formats), the contract, cardinality and counter sanity.
//!
//! One file per check: [`scrape`] (the answer itself), [`openmetrics`], [`structure`] (what
//! Prometheus would refuse or misread), [`contract`] (the families and their shapes),
//! [`cardinality`] (raw paths, too many series) and [`monotonic`] (counters between two
//! scrapes); the protobuf and Prometheus 3 scrapes are `super::protobuf` and
//! `super::prometheus3`.

mod cardinality;
mod contract;
mod monotonic;
mod openmetrics;
mod scrape;
mod structure;

use std::collections::BTreeMap;
use std::time::Duration;

use redmetrics_parse::{RefusedBy, Sample, parse_text};

use self::cardinality::cardinality_check;
use self::contract::contract_check;
use self::monotonic::monotonic_check;
use self::openmetrics::openmetrics_check;
use self::scrape::{not_metrics, scrape_check};
use self::structure::structure_check;
use super::fetch::Fetched;
use super::http_client::Scraper;
use super::report::{Check, Report};
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
