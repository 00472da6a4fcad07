//! `deploy/<app>/global-view.yaml`: Prometheus configuration fragments that carry an app's
//! dashboards and SLO view past one Prometheus. Which rules run where decides what travels:
//!
//! - a Prometheus that evaluates the generated rules ships only their recorded series, to a
//!   global Prometheus by federation (`match[]`) or by remote write (a keep-list);
//! - a Prometheus in agent mode evaluates no rules, so it ships the raw series the rules read,
//!   and the receiver (a Prometheus with `--web.enable-remote-write-receiver`, Mimir, Thanos
//!   receive with its ruler) evaluates `rules.yaml`.

use serde_json::{Value, json};

use crate::config::Resolved;
use crate::promql::Queries;

use super::escape::promql_string;

/// A regex alternative matching exactly `name` (names are `[a-zA-Z0-9_:]`, nothing to escape).
fn names_regex(names: &[String]) -> String {
    names.join("|")
}

/// The recorded series of `r`'s rules: every `record:` name the generator writes for it.
fn recorded(r: &Resolved) -> Vec<String> {
    let mut names: Vec<String> = super::rules(r)
        .groups
        .iter()
        .flat_map(|g| g.rules.iter().filter_map(|rule| rule.record.clone()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The raw series the rules read: what the aggregation rules sum, the duration histogram's
/// native form and `_count` (the alerts read either form) and `up`.
fn rule_inputs(r: &Resolved) -> Vec<String> {
    let duration = r.contract.duration().desc().name();
    let mut names = Queries::new(&r.contract, "").aggregate_inputs();
    names.extend([
        duration.to_owned(),
        format!("{duration}_count"),
        "up".to_owned(),
    ]);
    names.sort_unstable();
    names.dedup();
    names
}

/// Keeps only the series named in `names` (a `write_relabel_configs` entry).
fn keep(names: &[String]) -> Value {
    json!([{
        "source_labels": ["__name__"],
        "regex": names_regex(names),
        "action": "keep",
    }])
}

/// The fragments for `r`.
pub(crate) fn global_view(r: &Resolved) -> Value {
    let recorded = recorded(r);
    let selector = format!(
        "{{__name__=~{},namespace={},job={}}}",
        promql_string(&names_regex(&recorded)),
        promql_string(&r.app.namespace),
        promql_string(&r.job)
    );
    let tenant = json!({ "X-Scope-OrgID": r.app.namespace });
    let url = "https://mimir.example.com/api/v1/push";
    let cluster = json!({ "cluster": "replace-with-this-cluster's-name" });
    json!({
        "federation": {
            "job_name": format!("federate-{}", r.app.name),
            "honor_labels": true,
            "metrics_path": "/federate",
            "params": { "match[]": [selector] },
            "static_configs": [{ "targets": ["prometheus-operated.monitoring.svc:9090"] }],
        },
        "remote_write_recorded": {
            "url": url,
            "headers": tenant,
            "write_relabel_configs": keep(&recorded),
        },
        "remote_write_agent": {
            "url": url,
            "headers": tenant,
            "write_relabel_configs": keep(&rule_inputs(r)),
        },
        "external_labels": cluster,
        // The same recorded remote write in the Prometheus Operator's terms, as values of
        // kube-prometheus-stack (`prometheus.prometheusSpec` is a Prometheus object's spec).
        "kube_prometheus_stack": {
            "prometheus": { "prometheusSpec": {
                "externalLabels": cluster,
                "remoteWrite": [{
                    "url": url,
                    "headers": tenant,
                    "writeRelabelConfigs": [{
                        "sourceLabels": ["__name__"],
                        "regex": names_regex(&recorded),
                        "action": "keep",
                    }],
                }],
            } },
        },
    })
}

/// The comment heading the file: what each fragment is for and which rules run where.
pub(crate) fn header(r: &Resolved) -> String {
    format!(
        "# Prometheus configuration fragments for a global view of the dashboards and SLOs of {app}.\n\
         # federation: a scrape job for the global Prometheus; it pulls only the recorded series\n\
         #   from the Prometheus that evaluates deploy/{app}/rules.yaml (set the target).\n\
         # remote_write_recorded: a remote_write entry for that same Prometheus: the same series,\n\
         #   pushed; the tenant header is for Mimir or Thanos receive.\n\
         # remote_write_agent: for a Prometheus in agent mode, which evaluates no rules: it ships\n\
         #   the raw series the rules read, and the receiver must load deploy/{app}/rules.yaml.\n\
         # external_labels: under `global:` of each sending Prometheus, to tell clusters apart.\n\
         # kube_prometheus_stack: remote_write_recorded and external_labels as values of the stack\n\
         #   (merge the keep-lists of several apps into one regex).\n\
         # The dashboards' per-pod panels (CPU, memory) read raw series: they draw only where the\n\
         #   pods are scraped.\n",
        app = r.app.name
    )
}

#[cfg(test)]
mod tests {
    use regex_automata::meta::Regex;

    use super::{global_view, header};
    use crate::config::Config;

    /// Whether the keep regex `re` keeps the series `name`: relabelling anchors the regex at
    /// both ends, as Prometheus' `relabel_config` does.
    fn keeps(re: &serde_json::Value, name: &str) -> bool {
        let re = re.as_str().expect("a regex string");
        Regex::new(&format!("^(?:{re})$"))
            .expect("a valid regex")
            .is_match(name)
    }

    /// The fragments of the repository's ReviewMaps, stated by hand: the federation, the
    /// recorded remote write and the stack's values keep recorded series (`level:metric:
    /// operation`) and no raw one; the agent's keep-list keeps the raw series the rules read
    /// (and `up`) and no recorded one.
    #[test]
    fn each_fragment_keeps_the_series_its_side_needs() {
        let text = include_str!("../../../../redmetrics.toml");
        let r = Config::parse(text).unwrap().apps.remove(0);
        assert_eq!(r.app.name, "reviewmaps");
        let v = global_view(&r);
        let recorded = [
            "namespace_job:reviewmaps_http_requests:rate5m",
            "namespace_job_slo:reviewmaps_sli_error:burn_rate1h",
            "namespace_job_slo:reviewmaps_error_budget:remaining",
        ];
        let raw = [
            "reviewmaps_http_requests_total",
            "reviewmaps_http_request_duration_seconds_count",
            "reviewmaps_http_request_duration_seconds_bucket",
            "up",
        ];
        let recorded_keep = &v["remote_write_recorded"]["write_relabel_configs"][0];
        let agent_keep = &v["remote_write_agent"]["write_relabel_configs"][0];
        let stack_keep = &v["kube_prometheus_stack"]["prometheus"]["prometheusSpec"]["remoteWrite"]
            [0]["writeRelabelConfigs"][0];
        for keep in [recorded_keep, agent_keep] {
            assert_eq!(keep["action"], "keep");
            assert_eq!(keep["source_labels"], serde_json::json!(["__name__"]));
        }
        for name in recorded {
            assert!(keeps(&recorded_keep["regex"], name), "{name}: {v}");
            assert!(keeps(&stack_keep["regex"], name), "{name}: {v}");
            assert!(!keeps(&agent_keep["regex"], name), "{name}: {v}");
        }
        for name in raw {
            assert!(!keeps(&recorded_keep["regex"], name), "{name}: {v}");
            assert!(keeps(&agent_keep["regex"], name), "{name}: {v}");
        }
        let federation = &v["federation"];
        assert_eq!(federation["job_name"], "federate-reviewmaps");
        let selector = federation["params"]["match[]"][0].as_str().unwrap();
        let names = selector
            .strip_prefix("{__name__=~\"")
            .and_then(|s| s.strip_suffix("\",namespace=\"reviewmaps\",job=\"reviewmaps-server\"}"))
            .unwrap_or_else(|| panic!("{selector}"));
        for name in recorded {
            assert!(keeps(&names.into(), name), "{name}: {selector}");
        }
        assert!(!keeps(&names.into(), raw[0]), "{selector}");
        let header = header(&r);
        assert!(header.contains("SLOs of reviewmaps.\n"), "{header}");
        assert!(header.contains("deploy/reviewmaps/rules.yaml"), "{header}");
    }
}
