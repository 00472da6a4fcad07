//! Every PromQL expression the generators write, built from the contract.
//!
//! Dashboards, alert rules, recording rules and the checker all take their queries from here,
//! so a metric or label renamed in the contract changes every one of them. Selectors and
//! windows are passed in: dashboards use `$namespace`/`$job` and `$__rate_interval`, rules
//! use concrete values.
//!
//! The per-job aggregates the dashboards draw are also recorded by the aggregation rules
//! ([`Queries::aggregates`]): a [`Queries::recorded`] builder writes the same queries over
//! those recorded series, so a dashboard joins both forms with [`either`].

use redmetrics::contract::{Contract, FamilySpec, Shape};

/// Where a query reads its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Rates over the raw per-pod series.
    Raw,
    /// The series the aggregation rules recorded from those same rates.
    Recorded,
}

/// What an aggregation rule does to its input before summing away the pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `sum by (level) (rate(series[window]))`: counters and classic histogram series.
    Rate,
    /// `sum by (level) (series)`: gauges.
    Sum,
    /// `max by (level) (series)`: per-pod summary quantiles, where the worst pod is shown.
    Max,
}

/// One input of a dashboard query: a raw series, the labels its aggregate keeps, and how.
#[derive(Debug, Clone)]
struct Input {
    series: String,
    level: Vec<String>,
    op: Op,
}

impl Input {
    /// The recorded series' name, `level:metric:operation` as Prometheus' recording-rule
    /// conventions have it (a counter's `_total` dropped under `rate`).
    fn record(&self, window: &str) -> String {
        let level = self.level.join("_");
        match self.op {
            Op::Rate => {
                let metric = self.series.strip_suffix("_total").unwrap_or(&self.series);
                format!("{level}:{metric}:rate{window}")
            }
            Op::Sum => format!("{level}:{}:sum", self.series),
            Op::Max => format!("{level}:{}:max", self.series),
        }
    }
}

/// `recorded or raw`: the recorded form where the aggregation rules have evaluated, the raw
/// one elsewhere. Both sides must aggregate to the same labels, so that `or` keeps one
/// series per label set and never adds the two. `or` binds loosest: no parentheses needed.
pub(crate) fn either(recorded: String, raw: String) -> String {
    format!("{recorded} or {raw}")
}

/// Builds queries over one application's families.
#[derive(Debug, Clone)]
pub(crate) struct Queries<'a> {
    contract: &'a Contract,
    /// Matchers without braces, e.g. `namespace="reviewmaps",job="reviewmaps-server"`.
    selector: String,
    read: Read,
}

impl<'a> Queries<'a> {
    /// Queries over the raw series.
    pub(crate) fn new(contract: &'a Contract, selector: impl Into<String>) -> Self {
        Self {
            contract,
            selector: selector.into(),
            read: Read::Raw,
        }
    }

    /// The same queries over the series the aggregation rules record: the window passed to
    /// each query names the recorded rate (`rate5m`), and must be the rules' window. Only the
    /// dashboards' aggregates read recorded series (rates, status classes, error ratio,
    /// latency quantiles from the classic buckets, in flight, sizes); the rules' own queries
    /// (`latency_count_rate`, `latency_slow_ratio`, `up`, per-pod) read raw series either way.
    pub(crate) fn recorded(contract: &'a Contract, selector: impl Into<String>) -> Self {
        Self {
            read: Read::Recorded,
            ..Self::new(contract, selector)
        }
    }

    /// `namespace, job` plus `labels`: what an aggregate keeps.
    fn level(labels: &[&str]) -> Vec<String> {
        ["namespace", "job"]
            .iter()
            .chain(labels)
            .map(|l| (*l).to_owned())
            .collect()
    }

    /// The request counter, per route and status.
    fn requests_input(&self) -> Input {
        let l = self.contract.labels();
        Input {
            series: self.contract.requests().desc().name().to_owned(),
            level: Self::level(&[l.method.as_str(), l.path.as_str(), l.status.as_str()]),
            op: Op::Rate,
        }
    }

    /// A histogram's classic buckets, per route.
    fn bucket_input(&self, family: &FamilySpec) -> Input {
        let l = self.contract.labels();
        Input {
            series: format!("{}_bucket", family.desc().name()),
            level: Self::level(&["le", l.method.as_str(), l.path.as_str()]),
            op: Op::Rate,
        }
    }

    /// The duration histogram's native form, per route.
    fn native_input(&self) -> Input {
        let l = self.contract.labels();
        Input {
            series: self.contract.duration().desc().name().to_owned(),
            level: Self::level(&[l.method.as_str(), l.path.as_str()]),
            op: Op::Rate,
        }
    }

    /// A size family's `_sum` or `_count`, per route.
    fn size_part_input(&self, family: &FamilySpec, part: &str) -> Input {
        let l = self.contract.labels();
        Input {
            series: format!("{}_{part}", family.desc().name()),
            level: Self::level(&[l.method.as_str(), l.path.as_str()]),
            op: Op::Rate,
        }
    }

    /// A size summary's per-pod quantiles, the worst pod per route and quantile.
    fn quantile_input(&self, family: &FamilySpec) -> Input {
        let l = self.contract.labels();
        Input {
            series: family.desc().name().to_owned(),
            level: Self::level(&[l.method.as_str(), l.path.as_str(), "quantile"]),
            op: Op::Max,
        }
    }

    /// The in-flight gauge, per job.
    fn in_flight_input(&self) -> Input {
        Input {
            series: self.contract.in_flight().desc().name().to_owned(),
            level: Self::level(&[]),
            op: Op::Sum,
        }
    }

    /// The inputs of a size panel: average (`_sum`, `_count`) and p99.
    fn size_inputs(&self, family: &FamilySpec) -> [Input; 3] {
        let p99 = match family.shape() {
            Shape::Histogram(_) => self.bucket_input(family),
            _ => self.quantile_input(family),
        };
        [
            self.size_part_input(family, "sum"),
            self.size_part_input(family, "count"),
            p99,
        ]
    }

    /// Every input the dashboards aggregate across pods. Not the duration histogram's native
    /// form: Prometheus 2.42 discards a recorded native histogram whenever float rounding
    /// puts its count a hair below the sum of its buckets ("Rule evaluation result
    /// discarded"), so a recorded sum would silently miss routes; the latency panels read
    /// the native series raw.
    fn inputs(&self) -> Vec<Input> {
        let mut inputs = vec![
            self.requests_input(),
            self.bucket_input(self.contract.duration()),
            self.in_flight_input(),
        ];
        inputs.extend(self.size_inputs(self.contract.request_size()));
        inputs.extend(self.size_inputs(self.contract.response_size()));
        inputs
    }

    /// The aggregation recording rules, `(record, expr)` over `window`: one per input of the
    /// dashboards, keeping `namespace`, `job` and the labels the panels group or filter by,
    /// summing away pods and instances. Called on raw queries with the rules' selector.
    pub(crate) fn aggregates(&self, window: &str) -> Vec<(String, String)> {
        self.inputs()
            .into_iter()
            .map(|input| {
                let op = if input.op == Op::Max { "max" } else { "sum" };
                let expr = format!(
                    "{op} by ({}) ({})",
                    input.level.join(", "),
                    self.read_input(&input, window, None)
                );
                (input.record(window), expr)
            })
            .collect()
    }

    /// The raw series the aggregation rules read, by name.
    pub(crate) fn aggregate_inputs(&self) -> Vec<String> {
        self.inputs().into_iter().map(|i| i.series).collect()
    }

    /// `input` as this builder reads it: the raw series (under `rate` for a rate), or the
    /// recorded one; `extra` matchers added to the selector.
    fn read_input(&self, input: &Input, window: &str, extra: Option<&str>) -> String {
        match (self.read, input.op) {
            (Read::Recorded, _) => format!("{}{}", input.record(window), self.sel(extra)),
            (Read::Raw, Op::Rate) => format!("rate({}{}[{window}])", input.series, self.sel(extra)),
            (Read::Raw, Op::Sum | Op::Max) => format!("{}{}", input.series, self.sel(extra)),
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
            "{} ({})",
            Self::by(by),
            self.read_input(&self.requests_input(), window, None)
        )
    }

    /// 5xx request rate, summed `by` the given labels.
    pub(crate) fn error_rate(&self, window: &str, by: &str) -> String {
        let errors = format!("{}=~\"5..\"", self.status());
        format!(
            "{} ({})",
            Self::by(by),
            self.read_input(&self.requests_input(), window, Some(&errors))
        )
    }

    /// Request rate by status class (`2xx`, `4xx`, `5xx`).
    pub(crate) fn request_rate_by_status_class(&self, window: &str) -> String {
        format!(
            "sum by (status_class) (label_replace({}, \"status_class\", \"${{1}}xx\", \"{}\", \"(.)..\"))",
            self.read_input(&self.requests_input(), window, None),
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
        let buckets = self.read_input(&self.bucket_input(self.contract.duration()), window, None);
        let classic = format!("histogram_quantile({q}, sum by ({classic_by}) ({buckets}))");
        match self.read {
            // The native form is not recorded (see `inputs`).
            Read::Recorded => format!("({classic})"),
            Read::Raw => {
                let native = self.read_input(&self.native_input(), window, None);
                format!(
                    "({classic} or histogram_quantile({q}, {} ({native})))",
                    Self::by(by)
                )
            }
        }
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
            "{} ({})",
            Self::by(by),
            self.read_input(&self.in_flight_input(), "", None)
        )
    }

    /// Average size per request of a size family, per route, across instances.
    pub(crate) fn size_average(&self, family: &FamilySpec, window: &str) -> String {
        let [sum, count, _] = self.size_inputs(family);
        let by = self.route_labels();
        format!(
            "sum by ({by}) ({}) / (sum by ({by}) ({}) > 0)",
            self.read_input(&sum, window, None),
            self.read_input(&count, window, None)
        )
    }

    /// A high quantile of a size family per route: from the summaries (the worst instance)
    /// or, when sizes are histograms, aggregated across instances.
    pub(crate) fn size_p99(&self, family: &FamilySpec, window: &str) -> String {
        let [_, _, p99] = self.size_inputs(family);
        let by = self.route_labels();
        match family.shape() {
            Shape::Histogram(_) => format!(
                "histogram_quantile(0.99, sum by (le, {by}) ({}))",
                self.read_input(&p99, window, None)
            ),
            _ => format!(
                "max by ({by}) ({})",
                self.read_input(&p99, window, Some("quantile=\"0.99\""))
            ),
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
