//! Kubernetes objects for one app: ServiceMonitor, PrometheusRule and the dashboard
//! ConfigMap the Grafana sidecar loads.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::rules::RuleFile;
use crate::config::Resolved;
use crate::servicemonitor::{
    Endpoint, LabelSelector, Metadata, NamespaceSelector, ServiceMonitor, Spec,
};

/// Labels every generated object carries, plus `release` for kube-prometheus-stack's
/// default selectors when a release is configured.
fn labels(r: &Resolved, with_release: bool) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), r.app.service.clone()),
        ("app.kubernetes.io/part-of".to_owned(), r.app.name.clone()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "redmetrics".to_owned(),
        ),
    ]);
    if with_release && !r.stack.release.is_empty() {
        l.insert("release".to_owned(), r.stack.release.clone());
    }
    l
}

/// The ServiceMonitor that makes Prometheus scrape the app's Service by port name.
pub(crate) fn service_monitor(r: &Resolved) -> ServiceMonitor {
    ServiceMonitor {
        api_version: "monitoring.coreos.com/v1".to_owned(),
        kind: "ServiceMonitor".to_owned(),
        metadata: Metadata {
            labels: labels(r, true),
            name: r.app.service.clone(),
            namespace: Some(r.monitor_namespace().to_owned()),
        },
        spec: Spec {
            endpoints: vec![Endpoint {
                interval: Some(r.app.interval.to_string()),
                path: Some(r.app.metrics_path.clone()),
                port: Some(r.app.port.clone()),
                scrape_timeout: Some(r.app.scrape_timeout.to_string()),
                ..Endpoint::default()
            }],
            job_label: r.app.job_label.clone(),
            namespace_selector: (r.monitor_namespace() != r.app.namespace).then(|| {
                NamespaceSelector {
                    any: false,
                    match_names: vec![r.app.namespace.clone()],
                }
            }),
            // Needs Prometheus 2.45+ (the operator leaves it out for older ones); matters only
            // where Prometheus ingests native histograms, which otherwise drops the classic
            // series.
            scrape_classic_histograms: r.scrape_classic_histograms().then_some(true),
            selector: LabelSelector {
                match_labels: r.app.service_labels.clone(),
                ..LabelSelector::default()
            },
        },
    }
}

/// The rules wrapped in a PrometheusRule object.
pub(crate) fn prometheus_rule(r: &Resolved, rules: &RuleFile) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": format!("{}-rules", r.app.service),
            "namespace": r.monitor_namespace(),
            "labels": labels(r, true),
        },
        "spec": rules,
    })
}

/// The dashboard in a ConfigMap labelled `grafana_dashboard: "1"` for the sidecar.
pub(crate) fn dashboard_config_map(
    r: &Resolved,
    dashboard_json: &str,
    slo_dashboard_json: Option<&str>,
) -> Value {
    let mut l = labels(r, false);
    l.insert("grafana_dashboard".to_owned(), "1".to_owned());
    let mut metadata = json!({
        "name": format!("{}-dashboard", r.app.name),
        "namespace": r.monitor_namespace(),
        "labels": l,
    });
    if let Some(folder) = &r.app.dashboard_folder {
        metadata["annotations"] = json!({ r.stack.folder_annotation.clone(): folder });
    }
    let mut data = json!({ format!("{}-dashboard.json", r.app.name): dashboard_json });
    if let Some(slo) = slo_dashboard_json {
        data[format!("{}-slo-dashboard.json", r.app.name)] = json!(slo);
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": data,
    })
}

/// The kube-prometheus-stack values the generated objects need (the file
/// `deploy/kube-prometheus-stack-values.yaml`): dashboards land in their folders and nothing
/// the stack selects by default stops being selected. Each line says what it is for.
pub(crate) fn stack_values(apps: &[Resolved]) -> String {
    let stack = apps.first().map(|r| &r.stack).cloned().unwrap_or_default();
    // Both are validated (label value, annotation key); JSON quoting is YAML quoting. The
    // release also appears unquoted, in comments.
    let quoted = |s: &str| serde_json::Value::from(s).to_string();
    let release = quoted(&stack.release);
    // The install command names the stack's release and namespace (both DNS-checked); with
    // no release label configured the release's name is the user's to fill in.
    let release_name = if stack.release.is_empty() {
        "<release>"
    } else {
        &stack.release
    };
    let mut out = STACK_VALUES
        .replace("{annotation}", &quoted(&stack.folder_annotation))
        .replace("{release_name}", release_name)
        .replace("{namespace}", &stack.namespace)
        .replace("{release}", &stack.release);
    if stack.narrow_alertmanager_selector && !stack.release.is_empty() {
        out.push_str(
            &NARROW_SELECTOR
                .replace("{release}", &release)
                .replace("{release_comment}", &stack.release),
        );
    }
    out
}

const STACK_VALUES: &str = r#"# Generated by `redmetrics generate`; regenerate instead of editing.
#
# The kube-prometheus-stack values the generated objects need, and nothing more. Merge them
# after your own values:
#   helm upgrade --install {release_name} prometheus-community/kube-prometheus-stack -n {namespace} -f your-values.yaml -f deploy/kube-prometheus-stack-values.yaml
# The stack's defaults already select everything else, in every namespace: its Prometheus
# the ServiceMonitors and PrometheusRules labelled release: {release} (as generated),
# its Alertmanager every AlertmanagerConfig, its Grafana sidecar every ConfigMap labelled
# grafana_dashboard: "1". These values narrow none of them and mount no Secret: the
# AlertmanagerConfigs read their receivers' Secret in each app's own namespace.
grafana:
  sidecar:
    dashboards:
      # The sidecar writes each dashboard ConfigMap into the directory its annotation names
      # (deploy/<app>/dashboard-configmap.yaml sets it to the app's dashboard_folder).
      folderAnnotation: {annotation}
      provider:
        # Grafana turns those directories into dashboard folders; without both lines every
        # dashboard lands in the General folder.
        foldersFromFilesStructure: true
"#;

const NARROW_SELECTOR: &str = r#"# [stack] narrow_alertmanager_selector = true: load only the AlertmanagerConfigs labelled
# release: {release_comment} instead of the stack's default `{}` (every AlertmanagerConfig in the
# cluster). Other teams' AlertmanagerConfigs without that label stop loading.
alertmanager:
  alertmanagerSpec:
    alertmanagerConfigSelector:
      matchLabels:
        release: {release}
"#;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{dashboard_config_map, prometheus_rule, service_monitor, stack_values};
    use crate::config::Config;
    use crate::generate::rules::rules;

    const APP: &str =
        "[[apps]]\nname = \"a\"\nnamespace = \"a\"\nservice = \"a\"\nport = \"http\"\n";

    fn install_line(config: &str) -> String {
        let apps = Config::parse(config).unwrap().apps;
        let values = stack_values(&apps);
        let line = values
            .lines()
            .find(|l| l.contains("helm upgrade --install"));
        line.expect("the install command").to_owned()
    }

    /// `[stack] namespace` and `release` are where the values file says to install the
    /// stack; the defaults are kube-prometheus-stack's usual `monitoring` and release name.
    #[test]
    fn the_install_command_names_the_stacks_release_and_namespace() {
        assert!(
            install_line(APP).contains(
                "--install kube-prometheus-stack prometheus-community/kube-prometheus-stack -n monitoring -f"
            ),
            "{}",
            install_line(APP)
        );
        let own = format!("[stack]\nrelease = \"kps\"\nnamespace = \"observability\"\n{APP}");
        assert!(
            install_line(&own).contains(
                "--install kps prometheus-community/kube-prometheus-stack -n observability -f"
            ),
            "{}",
            install_line(&own)
        );
        let unlabelled = format!("[stack]\nrelease = \"\"\n{APP}");
        assert!(
            install_line(&unlabelled).contains("--install <release> prometheus-community"),
            "{}",
            install_line(&unlabelled)
        );
    }

    /// The stack's Alertmanager is narrowed to `release: <release>` only when the option is
    /// on (the config refuses it without a release); otherwise the values leave
    /// kube-prometheus-stack's `alertmanagerConfigSelector` alone (every AlertmanagerConfig loads).
    #[test]
    fn the_alertmanager_selector_is_narrowed_only_when_asked_and_labelled() {
        let selector = |stack: &str| {
            let apps = Config::parse(&format!("[stack]\n{stack}{APP}"))
                .unwrap()
                .apps;
            let values: serde_json::Value = serde_saphyr::from_str(&stack_values(&apps)).unwrap();
            values["alertmanager"]["alertmanagerSpec"]["alertmanagerConfigSelector"].clone()
        };
        let narrowed = selector("release = \"kps\"\nnarrow_alertmanager_selector = true\n");
        assert_eq!(
            narrowed,
            serde_json::json!({ "matchLabels": { "release": "kps" } })
        );
        for left_alone in [
            "release = \"kps\"\n",
            "release = \"kps\"\nnarrow_alertmanager_selector = false\n",
        ] {
            assert_eq!(
                selector(left_alone),
                serde_json::Value::Null,
                "{left_alone}"
            );
        }
    }

    /// One app whose objects live in the stack's namespace, its Service labelled `tier: api`.
    const SHOP: &str = "[stack]\nrelease = \"kps\"\n[[apps]]\nname = \"shop\"\n\
        namespace = \"shop-ns\"\nservice = \"shop-server\"\nport = \"web\"\n\
        service_monitor_namespace = \"monitoring\"\n[apps.service_labels]\ntier = \"api\"\n";

    /// The metadata and selectors of the three objects, stated by hand: the app's three labels
    /// everywhere, `release` only on what the stack's Prometheus selects by it (ServiceMonitor,
    /// PrometheusRule; the Grafana sidecar selects the ConfigMap by `grafana_dashboard`), and a
    /// namespace selector only when the ServiceMonitor sits outside the app's namespace.
    #[test]
    fn each_object_carries_the_labels_and_selectors_its_reader_needs() {
        let apps = Config::parse(SHOP).unwrap().apps;
        let r = &apps[0];
        let app_labels = json!({
            "app.kubernetes.io/name": "shop-server",
            "app.kubernetes.io/part-of": "shop",
            "app.kubernetes.io/managed-by": "redmetrics",
        });
        let mut released = app_labels.clone();
        released["release"] = json!("kps");

        let sm = serde_json::to_value(service_monitor(r)).unwrap();
        assert_eq!(sm["kind"], "ServiceMonitor");
        assert_eq!(sm["metadata"]["name"], "shop-server");
        assert_eq!(sm["metadata"]["namespace"], "monitoring");
        assert_eq!(sm["metadata"]["labels"], released);
        assert_eq!(
            sm["spec"]["selector"],
            json!({ "matchLabels": { "tier": "api" } })
        );
        assert_eq!(
            sm["spec"]["namespaceSelector"],
            json!({ "matchNames": ["shop-ns"] })
        );
        assert_eq!(sm["spec"]["endpoints"][0]["port"], "web");

        let rule = prometheus_rule(r, &rules(r));
        assert_eq!(rule["kind"], "PrometheusRule");
        assert_eq!(rule["metadata"]["name"], "shop-server-rules");
        assert_eq!(rule["metadata"]["namespace"], "monitoring");
        assert_eq!(rule["metadata"]["labels"], released);
        assert!(rule["spec"]["groups"].is_array(), "{rule}");

        let cm = dashboard_config_map(r, "{}", None);
        let mut sidecar = app_labels.clone();
        sidecar["grafana_dashboard"] = json!("1");
        assert_eq!(cm["kind"], "ConfigMap");
        assert_eq!(cm["metadata"]["name"], "shop-dashboard");
        assert_eq!(cm["metadata"]["namespace"], "monitoring");
        assert_eq!(cm["metadata"]["labels"], sidecar);
        assert_eq!(cm["data"], json!({ "shop-dashboard.json": "{}" }));

        // In the app's own namespace, no namespace selector: the operator's default is the
        // ServiceMonitor's namespace.
        let own = SHOP.replace("service_monitor_namespace = \"monitoring\"\n", "");
        let apps = Config::parse(&own).unwrap().apps;
        let sm = serde_json::to_value(service_monitor(&apps[0])).unwrap();
        assert_eq!(sm["metadata"]["namespace"], "shop-ns");
        assert_eq!(
            sm["spec"]["namespaceSelector"],
            serde_json::Value::Null,
            "{sm}"
        );
    }
}
