//! Every PromQL expression the generators write, built from the contract.
//!
//! Dashboards, alert rules, recording rules and the checker all take their queries from here,
//! so a metric or label renamed in the contract changes every one of them. Selectors and
//! windows are passed in: dashboards use `$namespace`/`$job` and `$__rate_interval`, rules
//! use concrete values.

use redmetrics::contract::{Contract, FamilySpec, Shape};

/// Builds queries over one application's families.
#[derive(Debug, Clone)]
pub(crate) struct Queries<'a> {
    contract: &'a Contract,
    /// Matchers without braces, e.g. `namespace="reviewmaps",job="reviewmaps-server"`.
    selector: String,
}

impl<'a> Queries<'a> {
    pub(crate) fn new(contract: &'a Contract, selector: impl Into<String>) -> Self {
        Self {
            contract,
            selector: selector.into(),
        }
    }

    /// The `status` label name.
    fn status(&self) -> &str {
        self.contract.labels().status.as_str()
    }

    /// `method, path`: the route labels.
    pub(crate) fn route_labels(&self) -> String {
        let l = self.contract.labels();
        format!("{}, {}", l.method, l.path)
    }

    /// `{selector[, extra]}`
    fn sel(&self, extra: Option<&str>) -> String {
        match (self.selector.is_empty(), extra) {
            (true, None) => String::new(),
            (true, Some(e)) => format!("{{{e}}}"),
            (false, None) => format!("{{{}}}", self.selector),
            (false, Some(e)) => format!("{{{},{e}}}", self.selector),
        }
    }

    fn by(by: &str) -> String {
        if by.is_empty() {
            "sum".to_owned()
        } else {
            format!("sum by ({by})")
        }
    }

    /// Request rate, summed `by` the given labels (empty: one series).
    pub(crate) fn request_rate(&self, window: &str, by: &str) -> String {
        format!(
            "{} (rate({}{}[{window}]))",
            Self::by(by),
            self.contract.requests().desc().name(),
            self.sel(None)
        )
    }

    /// 5xx request rate, summed `by` the given labels.
    pub(crate) fn error_rate(&self, window: &str, by: &str) -> String {
        let errors = format!("{}=~\"5..\"", self.status());
        format!(
            "{} (rate({}{}[{window}]))",
            Self::by(by),
            self.contract.requests().desc().name(),
            self.sel(Some(&errors))
        )
    }

    /// Request rate by status class (`2xx`, `4xx`, `5xx`).
    pub(crate) fn request_rate_by_status_class(&self, window: &str) -> String {
        format!(
            "sum by (status_class) (label_replace(rate({}{}[{window}]), \"status_class\", \"${{1}}xx\", \"{}\", \"(.)..\"))",
            self.contract.requests().desc().name(),
            self.sel(None),
            self.status()
        )
    }

    /// The 5xx share of requests. A window without 5xx gives 0 (not "no data"); a window
    /// without requests gives nothing (not NaN), so idle services neither show nor alert on
    /// a ratio.
    pub(crate) fn error_ratio(&self, window: &str, by: &str) -> String {
        let total = self.request_rate(window, by);
        format!(
            "({} or {total} * 0) / ({total} > 0)",
            self.error_rate(window, by)
        )
    }

    /// The `q` latency quantile over all instances, per `by` (empty: overall), from whichever
    /// form of the duration histogram Prometheus stores. A Prometheus that ingests native
    /// histograms keeps only the native series unless told to keep the classic ones too, so
    /// the classic estimate is joined by `or` with the native one: each side is empty where
    /// its form is missing, and where both are stored, their label sets are the same and
    /// `or` keeps the classic one. Parenthesised, so comparisons apply to the whole.
    pub(crate) fn latency_quantile(&self, q: f64, window: &str, by: &str) -> String {
        let classic_by = if by.is_empty() {
            "le".to_owned()
        } else {
            format!("le, {by}")
        };
        let (n, sel) = (self.contract.duration().desc().name(), self.sel(None));
        format!(
            "(histogram_quantile({q}, sum by ({classic_by}) (rate({n}_bucket{sel}[{window}]))) or histogram_quantile({q}, {} (rate({n}{sel}[{window}]))))",
            Self::by(by)
        )
    }

    /// Requests per second that the latency histogram saw, for traffic guards: the classic
    /// `_count` or, where only the native histogram is stored, its `histogram_count` (see
    /// [`Self::latency_quantile`]). Parenthesised.
    pub(crate) fn latency_count_rate(&self, window: &str, by: &str) -> String {
        let (n, sel, sum) = (
            self.contract.duration().desc().name(),
            self.sel(None),
            Self::by(by),
        );
        format!(
            "({sum} (rate({n}_count{sel}[{window}])) or {sum} (histogram_count(rate({n}{sel}[{window}]))))"
        )
    }

    /// The share of requests slower than a latency threshold, per `by`, from whichever form
    /// of the duration histogram Prometheus stores (see [`Self::latency_quantile`]): the
    /// classic bucket whose `le` is `le` exactly as the endpoint renders it, or the native
    /// histogram's `histogram_fraction` below `threshold`. Empty without traffic.
    /// Parenthesised.
    pub(crate) fn latency_slow_ratio(
        &self,
        threshold: f64,
        le: &str,
        window: &str,
        by: &str,
    ) -> String {
        let (n, sel, sum) = (
            self.contract.duration().desc().name(),
            self.sel(None),
            Self::by(by),
        );
        let bucket = self.sel(Some(&format!(
            "le={}",
            crate::generate::escape::promql_string(le)
        )));
        format!(
            "(1 - {sum} (rate({n}_bucket{bucket}[{window}])) / ({sum} (rate({n}_count{sel}[{window}])) > 0) or 1 - histogram_fraction(0, {threshold}, {sum} (rate({n}{sel}[{window}]))))"
        )
    }

    /// Requests in flight, summed over instances `by` the given labels.
    pub(crate) fn in_flight(&self, by: &str) -> String {
        format!(
            "{} ({}{})",
            Self::by(by),
            self.contract.in_flight().desc().name(),
            self.sel(None)
        )
    }

    /// Average size per request of a size family, per route, across instances.
    pub(crate) fn size_average(&self, family: &FamilySpec, window: &str) -> String {
        let n = family.desc().name();
        let sel = self.sel(None);
        let by = self.route_labels();
        format!(
            "sum by ({by}) (rate({n}_sum{sel}[{window}])) / (sum by ({by}) (rate({n}_count{sel}[{window}])) > 0)"
        )
    }

    /// A high quantile of a size family per route: from the summaries (the worst instance)
    /// or, when sizes are histograms, aggregated across instances.
    pub(crate) fn size_p99(&self, family: &FamilySpec, window: &str) -> String {
        let n = family.desc().name();
        let by = self.route_labels();
        match family.shape() {
            Shape::Histogram(_) => format!(
                "histogram_quantile(0.99, sum by (le, {by}) (rate({n}_bucket{}[{window}])))",
                self.sel(None)
            ),
            _ => format!("max by ({by}) ({n}{})", self.sel(Some("quantile=\"0.99\""))),
        }
    }

    /// CPU seconds per second, per pod.
    pub(crate) fn process_cpu(&self, window: &str) -> String {
        format!(
            "sum by (pod) (rate(process_cpu_seconds_total{}[{window}]))",
            self.sel(None)
        )
    }

    /// Resident memory per pod.
    pub(crate) fn process_memory(&self) -> String {
        format!(
            "sum by (pod) (process_resident_memory_bytes{})",
            self.sel(None)
        )
    }

    /// The scrape health series of the job.
    pub(crate) fn up(&self) -> String {
        format!("up{}", self.sel(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_ratio_is_guarded() {
        let c = crate::config::default_contract("reviewmaps").unwrap();
        let q = Queries::new(&c, "job=\"j\"");
        assert_eq!(
            q.error_ratio("5m", ""),
            "(sum (rate(reviewmaps_http_requests_total{job=\"j\",status=~\"5..\"}[5m])) or sum (rate(reviewmaps_http_requests_total{job=\"j\"}[5m])) * 0) / (sum (rate(reviewmaps_http_requests_total{job=\"j\"}[5m])) > 0)"
        );
        assert_eq!(
            q.latency_quantile(0.95, "1m", ""),
            "(histogram_quantile(0.95, sum by (le) (rate(reviewmaps_http_request_duration_seconds_bucket{job=\"j\"}[1m]))) or histogram_quantile(0.95, sum (rate(reviewmaps_http_request_duration_seconds{job=\"j\"}[1m]))))"
        );
        assert_eq!(
            q.latency_count_rate("1m", "job"),
            "(sum by (job) (rate(reviewmaps_http_request_duration_seconds_count{job=\"j\"}[1m])) or sum by (job) (histogram_count(rate(reviewmaps_http_request_duration_seconds{job=\"j\"}[1m]))))"
        );
        // Parenthesised: a comparison after it applies to both forms, not to the native one.
        let alert = format!("{} > 1", q.latency_quantile(0.95, "1m", "job"));
        let parsed = promql_parser::parser::parse(&alert).unwrap();
        assert!(
            matches!(&parsed, promql_parser::parser::Expr::Binary(b) if matches!(*b.lhs, promql_parser::parser::Expr::Paren(_))),
            "{parsed:?}"
        );
    }
}
