//! The queries of rules and dashboards: they must parse as PromQL and name only metrics the
//! contract defines.

use std::collections::BTreeSet;

use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, VectorSelector};
use redmetrics::Contract;
use serde_json::Value;

use super::input::Object;
use super::{Expectations, rule_list};
use crate::check::limits::{parse_promql, promql_refusal};
use crate::check::report::{Check, Status};
use crate::check::sample_names;
use crate::config::default_contract;
use crate::grafana;

/// Metric names queries may reference.
pub(super) struct Known {
    names: BTreeSet<String>,
    prefixes: Vec<String>,
    /// Duration histograms that may be stored in either form: a query must read both.
    latency: BTreeSet<String>,
}

/// Series names a contract's families export (see [`sample_names`]).
fn contract_names(contract: &Contract, exact: bool) -> Vec<String> {
    contract
        .families()
        .flat_map(|f| sample_names(f, exact))
        .collect()
}

/// Every vector selector of an expression, those inside matrix selectors included.
pub(crate) fn vector_selectors<'a>(expr: &'a Expr, out: &mut Vec<&'a VectorSelector>) {
    match expr {
        Expr::VectorSelector(vs) => out.push(vs),
        Expr::MatrixSelector(ms) => out.push(&ms.vs),
        Expr::Aggregate(a) => {
            vector_selectors(&a.expr, out);
            if let Some(p) = &a.param {
                vector_selectors(p, out);
            }
        }
        Expr::Unary(u) => vector_selectors(&u.expr, out),
        Expr::Binary(b) => {
            vector_selectors(&b.lhs, out);
            vector_selectors(&b.rhs, out);
        }
        Expr::Paren(p) => vector_selectors(&p.expr, out),
        Expr::Subquery(s) => vector_selectors(&s.expr, out),
        Expr::Call(call) => {
            for a in &call.args.args {
                vector_selectors(a, out);
            }
        }
        _ => {}
    }
}

/// Vector selector names in an expression.
fn metric_names(expr: &Expr, out: &mut Vec<String>) {
    let mut selectors = Vec::new();
    vector_selectors(expr, &mut selectors);
    for vs in selectors {
        if let Some(n) = &vs.name {
            out.push(n.clone());
        }
        for m in &vs.matchers.matchers {
            if m.name == "__name__" && matches!(m.op, MatchOp::Equal) {
                out.push(m.value.clone());
            }
        }
    }
}

/// Grafana's variables replaced by values PromQL accepts.
pub(crate) fn without_variables(expr: &str) -> String {
    let mut s = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
        .replace("${__rate_interval}", "1m");
    while let Some(start) = s.find('$') {
        let rest = &s[start + 1..];
        let len = if let Some(r) = rest.strip_prefix('{') {
            r.find('}').map_or(rest.len(), |i| i + 2)
        } else {
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len())
        };
        s.replace_range(start..start + 1 + len, "x");
    }
    s
}

impl Known {
    pub(super) fn new(
        expect: &Expectations,
        rules: &[&Object],
        dashboards: &[(String, Value)],
        defined: BTreeSet<String>,
    ) -> Self {
        let mut names = defined;
        for app in &expect.apps {
            names.extend(contract_names(&app.contract, true));
        }
        let mut prefixes: Vec<String> = expect.prefix.iter().cloned().collect();
        if prefixes.is_empty() && expect.apps.is_empty() {
            // Infer from what the queries reference.
            let mut names = Vec::new();
            for r in rules.iter().flat_map(|r| rule_list(r)) {
                if let Some(Ok(e)) = r["expr"].as_str().map(parse_promql) {
                    metric_names(&e, &mut names);
                }
            }
            for d in dashboards.iter().filter_map(|(_, d)| grafana::read(d).ok()) {
                for (_, expr) in d.exprs() {
                    if let Ok(e) = parse_promql(&without_variables(expr)) {
                        metric_names(&e, &mut names);
                    }
                }
            }
            prefixes = names
                .iter()
                .filter_map(|n| n.strip_suffix("_http_requests_total").map(str::to_owned))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
        }
        let mut latency = BTreeSet::new();
        // An app whose contract keeps native buckets off is only ever stored in classic form.
        for app in &expect.apps {
            let duration = app.contract.duration().desc().name();
            names.insert(duration.to_owned());
            if app.contract.native_histogram().is_some() {
                latency.insert(duration.to_owned());
            }
        }
        for p in &prefixes {
            if let Ok(c) = default_contract(p) {
                names.extend(contract_names(&c, false));
                let duration = c.duration().desc().name().to_owned();
                names.insert(duration.clone());
                latency.insert(duration);
            }
        }
        prefixes.extend(expect.apps.iter().map(|a| a.prefix().to_owned()));
        names.extend(
            [
                "up",
                "ALERTS",
                "ALERTS_FOR_STATE",
                "scrape_duration_seconds",
                "scrape_samples_scraped",
                "redmetrics_cardinality_overflow_total",
                "process_cpu_seconds_total",
                "process_resident_memory_bytes",
                "process_virtual_memory_bytes",
                "process_open_fds",
                "process_max_fds",
                "process_start_time_seconds",
            ]
            .map(String::from),
        );
        Self {
            names,
            prefixes,
            latency,
        }
    }

    /// Warns when `names` (one query's) read a duration histogram in one form only: such a
    /// query returns nothing on a Prometheus that stores the other form.
    fn judge_forms(&self, c: &mut Check, at: &str, names: &[String]) {
        for h in &self.latency {
            let classic = ["_bucket", "_count", "_sum"]
                .iter()
                .any(|s| names.iter().any(|n| *n == format!("{h}{s}")));
            let native = names.iter().any(|n| n == h);
            let example = format!(
                "histogram_quantile(0.95, sum by (le) (rate({h}_bucket[5m]))) or histogram_quantile(0.95, sum (rate({h}[5m])))"
            );
            match (classic, native) {
                (true, false) => c.warn(
                    format!("{at}: reads {h} only as classic series (_bucket/_count/_sum)"),
                    format!(
                        "a Prometheus that ingests native histograms (2.42 with --enable-feature=native-histograms, 3.9+ with scrape_native_histograms) keeps only the native series unless scrapeClassicHistograms is set, and this query returns nothing there: add the native form with `or`, e.g. `{example}` (what `redmetrics generate` writes)"
                    ),
                ),
                (false, true) => c.warn(
                    format!("{at}: reads {h} only as a native histogram"),
                    format!(
                        "a Prometheus that does not ingest native histograms stores only _bucket/_count/_sum, and this query returns nothing there: add the classic form with `or`, e.g. `{example}` (what `redmetrics generate` writes)"
                    ),
                ),
                _ => {}
            }
        }
    }

    /// Whether recording rule `record` records one form of a latency histogram by name
    /// (`level:<histogram>_bucket:rate5m`): reading that form alone is what it is for, and
    /// the queries over it join the other form with `or`.
    fn records_one_form(&self, record: &str) -> bool {
        let metric = record.split(':').nth(1).unwrap_or_default();
        self.latency.iter().any(|h| {
            ["_bucket", "_count", "_sum"]
                .iter()
                .any(|s| metric == format!("{h}{s}"))
        })
    }

    /// Checks one query: it parses and names only known metrics.
    fn judge(&self, c: &mut Check, at: &str, expr: &str) {
        self.judge_query(c, at, expr, true);
    }

    /// [`Self::judge`], with the check of the latency histogram's forms when `forms`.
    fn judge_query(&self, c: &mut Check, at: &str, expr: &str, forms: bool) {
        if let Some(why) = promql_refusal(expr) {
            c.fail(
                format!("{at}: not parsed: {why}"),
                "Prometheus queries are short and shallow: split the expression into recording rules",
            );
            return;
        }
        match parse_promql(expr) {
            Err(e) => c.fail(
                format!("{at}: not valid PromQL: {}", e.trim()),
                "fix the expression (check it with `promtool check rules` or the Prometheus UI)",
            ),
            Ok(parsed) => {
                let mut names = Vec::new();
                metric_names(&parsed, &mut names);
                if forms {
                    self.judge_forms(c, at, &names);
                }
                for n in names.into_iter().filter(|n| !self.names.contains(n)) {
                    let hint = if self.prefixes.is_empty() {
                        "no redmetrics prefix found: name it with --prefix".to_owned()
                    } else {
                        format!(
                            "the contract for prefix {} defines no such metric: a typo, or the wrong prefix",
                            self.prefixes.join("/")
                        )
                    };
                    c.fail(format!("{at}: references {n}"), hint);
                }
            }
        }
    }
}

pub(super) fn rules_check(rules: &[&Object], known: &Known) -> Check {
    let mut c = Check::new("rules");
    let mut count = 0;
    for r in rules {
        for rule in rule_list(r) {
            count += 1;
            let name = rule["alert"]
                .as_str()
                .or(rule["record"].as_str())
                .unwrap_or("<unnamed>");
            let at = format!("{} rule {name}", r.id());
            let forms = !rule["record"]
                .as_str()
                .is_some_and(|r| known.records_one_form(r));
            match rule["expr"].as_str() {
                Some(expr) => known.judge_query(&mut c, &at, expr, forms),
                None => c.fail(format!("{at} has no expr"), "every rule needs an expr"),
            }
        }
    }
    let summary = match c.status {
        Status::Pass => {
            format!(
                "{count} rule expressions parse and reference only metrics the contract defines"
            )
        }
        Status::Warn => format!(
            "{count} rule expressions parse; some read the latency histogram in one form only"
        ),
        Status::Fail => "rule expressions that cannot work".to_owned(),
    };
    c.summary(summary)
}

pub(super) fn dashboards_check(dashboards: &[(String, Value)], known: &Known) -> Check {
    let mut c = Check::new("dashboards");
    let mut count = 0;
    for (source, d) in dashboards {
        if d.is_null() {
            c.fail(
                format!("{source}: not valid JSON"),
                "store the dashboard JSON as exported by Grafana",
            );
            continue;
        }
        if d.get("__inputs").is_some() || d.to_string().contains("${DS_PROMETHEUS}") {
            c.fail(
                format!("{source} uses __inputs / ${{DS_PROMETHEUS}}"),
                "sidecar provisioning cannot resolve import inputs: use a `datasource` variable of type prometheus and `\"uid\": \"${datasource}\"`",
            );
        }
        let board = match grafana::read(d) {
            Ok(board) => board,
            Err(e) => {
                c.fail(
                    format!("{source}: not a Grafana dashboard: {e}"),
                    "panels are objects whose `targets` list queries with a string `expr`, as Grafana exports them: fix or regenerate the file",
                );
                continue;
            }
        };
        for (title, expr) in board.exprs() {
            count += 1;
            known.judge(
                &mut c,
                &format!("{source} panel \"{title}\""),
                &without_variables(expr),
            );
        }
    }
    let summary = match c.status {
        Status::Pass => {
            format!("{count} panel queries parse and reference only metrics the contract defines")
        }
        Status::Warn => {
            format!("{count} panel queries parse; some read the latency histogram in one form only")
        }
        Status::Fail => "dashboard queries that cannot work".to_owned(),
    };
    c.summary(summary)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn expectations(prefix: Option<&str>) -> Expectations {
        Expectations {
            metrics_path: None,
            apps: Vec::new(),
            stack_release: None,
            prefix: prefix.map(str::to_owned),
            namespace: "default".to_owned(),
        }
    }

    fn known(prefix: Option<&str>) -> Known {
        Known::new(&expectations(prefix), &[], &[], BTreeSet::new())
    }

    /// A PrometheusRule `shop/r` holding `rules`.
    fn rule_object(rules: Value) -> Object {
        Object {
            value: json!({"kind": "PrometheusRule", "metadata": {"name": "r"},
                "spec": {"groups": [{"name": "g", "rules": rules}]}}),
            namespace: "shop".to_owned(),
        }
    }

    fn messages(c: &Check) -> Vec<String> {
        c.findings.iter().map(|f| f.message.clone()).collect()
    }

    /// Every kind of expression is walked down to its selectors: unary, parentheses,
    /// aggregations (and their parameter), binary operators, calls, ranges and subqueries.
    #[test]
    fn every_selector_of_an_expression_is_found() {
        let expr = parse_promql(
            "-u + (p) + topk(scalar(k), a) + rate(m[1m]) + max_over_time(s[5m:1m]) + v",
        )
        .expect("parses");
        let mut names = Vec::new();
        metric_names(&expr, &mut names);
        let names: BTreeSet<String> = names.into_iter().collect();
        assert_eq!(
            names,
            ["a", "k", "m", "p", "s", "u", "v"]
                .map(str::to_owned)
                .into()
        );
    }

    /// A name given as `__name__="…"` counts; a regex on `__name__`, or another label's
    /// value, is no metric name.
    #[test]
    fn names_given_by_the_name_label_count_only_when_exact() {
        let expr = parse_promql("{__name__=\"a\", job=\"b\"} + {__name__=~\"c.*\", job=\"d\"}")
            .expect("parses");
        let mut names = Vec::new();
        metric_names(&expr, &mut names);
        assert_eq!(names, ["a"]);
    }

    /// A rule reading a metric of the prefix's contract passes; a name the contract does
    /// not define fails, naming the prefix. The summary counts the rules.
    #[test]
    fn rules_reference_only_the_contracts_metrics() {
        let known = known(Some("shop"));
        let rules = rule_object(json!([
            {"alert": "A", "expr": "sum(rate(shop_http_requests_total[5m])) > 0"},
            {"record": "b", "expr": "sum(shop_http_active_connections)"},
        ]));
        let c = rules_check(&[&rules], &known);
        assert_eq!(c.status, Status::Pass, "{:?}", messages(&c));
        assert_eq!(
            c.summary,
            "2 rule expressions parse and reference only metrics the contract defines"
        );
        let rules = rule_object(json!([
            {"alert": "A", "expr": "sum(rate(shop_http_request_total[5m])) > 0"},
            {"alert": "B"},
        ]));
        let c = rules_check(&[&rules], &known);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.summary, "rule expressions that cannot work");
        assert_eq!(
            messages(&c),
            [
                "PrometheusRule shop/r rule A: references shop_http_request_total",
                "PrometheusRule shop/r rule B has no expr",
            ]
        );
        assert_eq!(
            c.findings[0].fix.as_deref(),
            Some(
                "the contract for prefix shop defines no such metric: a typo, or the wrong prefix"
            )
        );
    }

    /// A query reading the latency histogram in one form only warns; both forms joined by
    /// `or` pass; a recording rule named after one form may read that form alone.
    #[test]
    fn the_latency_histogram_is_read_in_both_forms() {
        let known = known(Some("shop"));
        let h = "shop_http_request_duration_seconds";
        let classic = format!("histogram_quantile(0.9, sum by (le) (rate({h}_bucket[5m])))");
        let native = format!("histogram_quantile(0.9, sum(rate({h}[5m])))");
        let rules = rule_object(json!([
            {"alert": "Classic", "expr": format!("{classic} > 1")},
            {"alert": "Native", "expr": format!("{native} > 1")},
            {"alert": "Both", "expr": format!("({classic} or {native}) > 1")},
            {"alert": "Neither", "expr": "shop_http_requests_total > 1"},
            {"record": format!("level:{h}_bucket:rate5m"), "expr": format!("sum by (le) (rate({h}_bucket[5m]))")},
        ]));
        let c = rules_check(&[&rules], &known);
        assert_eq!(c.status, Status::Warn);
        assert_eq!(
            c.summary,
            "5 rule expressions parse; some read the latency histogram in one form only"
        );
        assert_eq!(
            messages(&c),
            [
                format!(
                    "PrometheusRule shop/r rule Classic: reads {h} only as classic series (_bucket/_count/_sum)"
                ),
                format!("PrometheusRule shop/r rule Native: reads {h} only as a native histogram"),
            ]
        );
        assert!(known.records_one_form(&format!("level:{h}_count:rate5m")));
        assert!(!known.records_one_form(&format!("level:{h}:rate5m")));
        assert!(!known.records_one_form("level:shop_http_requests_total:rate5m"));
    }

    /// Dashboards: every panel query is judged (Grafana's variables replaced), import
    /// inputs fail, and the summary counts the queries.
    #[test]
    fn dashboards_are_judged_panel_by_panel() {
        let known = known(Some("shop"));
        let board = |expr: &str| {
            json!({"panels": [{"title": "Rate", "targets": [
                {"expr": expr},
                {"expr": "sum(rate(shop_http_requests_total[$__rate_interval]))"},
            ]}]})
        };
        let good = board("sum(shop_http_active_connections{job=\"$job\"})");
        let c = dashboards_check(&[("d.json".to_owned(), good.clone())], &known);
        assert_eq!(c.status, Status::Pass, "{:?}", messages(&c));
        assert_eq!(
            c.summary,
            "2 panel queries parse and reference only metrics the contract defines"
        );
        let bad = board("sum(shop_nothing)");
        let c = dashboards_check(&[("d.json".to_owned(), bad)], &known);
        assert_eq!(
            (c.status, messages(&c)),
            (
                Status::Fail,
                vec!["d.json panel \"Rate\": references shop_nothing".to_owned()]
            )
        );
        let mut imported = good;
        imported["__inputs"] = json!([]);
        let c = dashboards_check(&[("d.json".to_owned(), imported)], &known);
        assert_eq!(messages(&c), ["d.json uses __inputs / ${DS_PROMETHEUS}"]);
    }
}
