//! Wired right in a real kube-prometheus-stack. The upstream chart (88.5.3 with its
//! subcharts; an absent exporter subchart is switched off and an absent grafana subchart read
//! from its values, both said loudly) is not redistributed with the repository, and no package
//! registry ships it: it comes from `$REDMETRICS_KPS_CHART`, else from
//! `shared/vendor/kube-prometheus-stack/chart` beside the repository; without it the tests
//! that need it fail under `CI=true` and elsewhere say NOT RUN with how to supply it. It is
//! rendered with Helm's SDK once per test binary, with its defaults and with the values the
//! README's steps install, and the `kps_wiring.py` judge evaluates what its Prometheus,
//! Alertmanager and Grafana sidecar select and which Secrets its pods need. The project's chart
//! is rendered with the README's own `--set`s next to `deploy/<app>/`, and its `job` settings
//! are tried one by one.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{judge, redmetrics, redmetrics_with_input, repo};
use serde_json::{Value, json};

const APP_CHART: &str = "deploy/helm/redmetrics-service";

/// The pages whose `sh` blocks show the cluster steps and the chart alone.
const PAGES: [&str; 2] = ["docs/operations.md", "docs/chart.md"];

/// The command lines of [`PAGES`]' `sh` blocks, continuation lines joined, with the index
/// of their block.
fn readme_commands() -> Vec<(usize, Vec<String>)> {
    let blocks: Vec<String> = PAGES
        .iter()
        .flat_map(|p| common::found_in(p, "sh block", common::code_blocks(p, "sh")))
        .collect();
    let mut out = Vec::new();
    for (b, block) in blocks.iter().enumerate() {
        for line in block.replace("\\\n", " ").lines() {
            let line = line.split(" #").next().unwrap();
            let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            if !words.is_empty() {
                out.push((b, words));
            }
        }
    }
    out
}

/// The value after `flag` (`-n ns`), if any.
fn flag<'a>(words: &'a [String], flags: &[&str]) -> Option<&'a str> {
    let i = words.iter().position(|w| flags.contains(&w.as_str()))?;
    words.get(i + 1).map(String::as_str)
}

/// Every value after `flag` (`--set a=b --set c=d`).
fn flags<'a>(words: &'a [String], flag: &str) -> Vec<&'a str> {
    words
        .windows(2)
        .filter(|w| w[0] == flag)
        .map(|w| w[1].as_str())
        .collect()
}

/// The README's cluster steps: the stack's install, and per app the chart's install and the
/// generated files applied, with each command's position.
struct Steps {
    stack_values: Vec<PathBuf>,
    stack_version: Option<String>,
    /// (position, release, namespace, `--set` expressions, whether among the cluster steps) of
    /// each app chart command.
    charts: Vec<(usize, String, String, Vec<String>, bool)>,
    /// (position, namespace, files) of each `kubectl apply`.
    applies: Vec<(usize, String, Vec<PathBuf>)>,
    /// (position, namespace) of each `kubectl create secret`, and of `kubectl create namespace`.
    secrets: Vec<(usize, String)>,
    namespaces: Vec<(usize, String)>,
    stack_at: usize,
}

fn steps() -> Steps {
    let commands = readme_commands();
    let mut s = Steps {
        stack_values: Vec::new(),
        stack_version: None,
        charts: Vec::new(),
        applies: Vec::new(),
        secrets: Vec::new(),
        namespaces: Vec::new(),
        stack_at: usize::MAX,
    };
    let steps_block = commands
        .iter()
        .find(|(_, w)| {
            w.join(" ")
                .starts_with("helm upgrade --install kube-prometheus-stack ")
        })
        .map(|(b, _)| *b);
    for (i, (block, w)) in commands.iter().enumerate() {
        let w: &[String] = w;
        let starts = |prefix: &str| w.join(" ").starts_with(prefix);
        if starts("helm upgrade --install kube-prometheus-stack ") {
            assert_eq!(flag(w, &["-n"]), Some("monitoring"), "{w:?}");
            s.stack_values = flags(w, "-f").iter().map(|f| repo().join(f)).collect();
            s.stack_version = flag(w, &["--version"]).map(str::to_owned);
            s.stack_at = i;
        } else if (starts("helm upgrade --install ") || starts("helm template "))
            && w.iter().any(|x| x == APP_CHART)
        {
            let release = if w[1] == "template" { &w[2] } else { &w[3] };
            let ns = flag(w, &["-n", "--namespace"]).unwrap();
            let sets = flags(w, "--set").into_iter().map(str::to_owned).collect();
            let step = Some(*block) == steps_block;
            s.charts
                .push((i, release.clone(), ns.to_owned(), sets, step));
        } else if starts("kubectl apply ") {
            let ns = flag(w, &["-n"]).unwrap().to_owned();
            let files = flags(w, "-f").iter().map(|f| repo().join(f)).collect();
            s.applies.push((i, ns, files));
        } else if starts("kubectl create secret ") {
            s.secrets.push((i, flag(w, &["-n"]).unwrap().to_owned()));
        } else if starts("kubectl create namespace ") {
            s.namespaces.push((i, w[3].clone()));
        }
    }
    s
}

/// The values the README's `--set`s make, parsed by Helm's own `strvals` parser.
fn set_values(sets: &[String]) -> String {
    let args: Vec<&str> = sets.iter().map(String::as_str).collect();
    let (code, out, err) = judge("helm_chart.py", &[&["sets"], &args[..]].concat(), "");
    assert_eq!(code, 0, "{err}");
    out
}

/// The app chart rendered with Helm's SDK: manifests by template path, or Helm's error.
fn render_app_chart(
    release: &str,
    namespace: &str,
    values: &Value,
) -> Result<BTreeMap<String, String>, String> {
    let chart = repo().join(APP_CHART);
    let (code, out, err) = judge(
        "helm_chart.py",
        &["render", chart.to_str().unwrap(), release, namespace],
        &values.to_string(),
    );
    if code != 0 {
        return Err(err);
    }
    Ok(serde_json::from_str(&out).unwrap())
}

/// The rendered manifests as one stream, without `helm test` pods.
fn stream(rendered: &BTreeMap<String, String>) -> String {
    rendered
        .iter()
        .filter(|(k, _)| k.ends_with(".yaml") && !k.contains("/tests/"))
        .map(|(_, v)| format!("---\n{v}\n"))
        .collect()
}

fn report(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// ---------------------------------------------------------------------------------------------
// The upstream chart, rendered once.

/// What an older generator wrote: a narrowed AlertmanagerConfig selector and a mounted Secret
/// nothing in `monitoring` creates. The judge must catch both, or it proves nothing.
const LEGACY_VALUES: &str = "alertmanager:\n  alertmanagerSpec:\n    alertmanagerConfigSelector:\n      matchLabels:\n        release: kube-prometheus-stack\n    alertmanagerConfigNamespaceSelector: {}\n    secrets:\n      - alertmanager-receivers\n";

/// Another team's objects on the same cluster, none labelled for redmetrics.
const FOREIGN: &str = r#"---
apiVersion: monitoring.coreos.com/v1alpha1
kind: AlertmanagerConfig
metadata: {name: payments-alerts, namespace: payments}
spec: {route: {receiver: payments}, receivers: [{name: payments}]}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: payments, namespace: payments, labels: {release: kube-prometheus-stack}}
spec: {selector: {matchLabels: {app: payments}}, endpoints: [{port: http}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: payments-dashboard, namespace: payments, labels: {grafana_dashboard: "1"}}
data: {payments.json: "{}"}
"#;

/// The chart version the suite renders, which the cluster steps pin with `--version`.
const KPS_VERSION: &str = "88.5.3";

/// How to supply the chart, said when it is not there.
fn supply() -> String {
    format!(
        "set REDMETRICS_KPS_CHART to a folder holding the kube-prometheus-stack chart \
         {KPS_VERSION} with its subcharts in charts/ (as `helm pull \
         prometheus-community/kube-prometheus-stack --version {KPS_VERSION} --untar` unpacks \
         it, after the `helm repo add` of docs/operations.md), or put the project's \
         `shared/vendor/kube-prometheus-stack` beside the repository"
    )
}

/// The upstream chart's folder: `$REDMETRICS_KPS_CHART` (which must hold a chart), else the
/// project's vendored copy beside the repository, which may be absent (the judge says so).
fn kps_chart() -> PathBuf {
    if let Some(dir) = std::env::var_os("REDMETRICS_KPS_CHART") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("Chart.yaml").is_file(),
            "REDMETRICS_KPS_CHART={} holds no chart: {}",
            dir.display(),
            supply()
        );
        return dir;
    }
    repo().join("../shared/vendor/kube-prometheus-stack/chart")
}

/// The judge's findings for the renders `defaults`, `generated` (the README's values),
/// `narrowed` (`[stack] narrow_alertmanager_selector = true`) and `legacy`; `None` when the
/// chart is missing (a failure under `CI=true`).
fn kps() -> Option<&'static Value> {
    static KPS: OnceLock<Option<Value>> = OnceLock::new();
    KPS.get_or_init(|| {
        let steps = steps();
        assert_eq!(
            steps.stack_version.as_deref(),
            Some(KPS_VERSION),
            "the cluster steps' --version is the chart version the suite renders"
        );
        assert!(
            steps
                .stack_values
                .iter()
                .any(|f| f.ends_with("deploy/kube-prometheus-stack-values.yaml")),
            "the README's stack install must use the generated values: {:?}",
            steps.stack_values
        );
        let tmp = tempfile::tempdir().unwrap();
        // The narrowing option, generated from the repository's config with it switched on.
        let config = std::fs::read_to_string(repo().join("redmetrics.toml")).unwrap();
        let narrowed = config.replacen(
            "[stack]\n",
            "[stack]\nnarrow_alertmanager_selector = true\n",
            1,
        );
        assert_ne!(narrowed, config);
        std::fs::write(tmp.path().join("redmetrics.toml"), narrowed).unwrap();
        let out = redmetrics(tmp.path(), &["generate"]);
        assert_eq!(out.status.code(), Some(0), "{}", report(&out));
        let legacy = tmp.path().join("legacy.yaml");
        std::fs::write(&legacy, LEGACY_VALUES).unwrap();
        let foreign = tmp.path().join("foreign.yaml");
        std::fs::write(&foreign, FOREIGN).unwrap();
        let mut objects: Vec<PathBuf> = steps.applies.iter().flat_map(|a| a.2.clone()).collect();
        objects.push(foreign);
        let request = json!({
            "chart": kps_chart(),
            "release": "kube-prometheus-stack",
            "namespace": "monitoring",
            "values": {
                "defaults": [],
                "generated": steps.stack_values,
                "narrowed": [tmp.path().join("deploy/kube-prometheus-stack-values.yaml")],
                "legacy": [legacy],
            },
            "objects": objects,
            "docs": PAGES.iter().map(|p| repo().join(p)).collect::<Vec<_>>(),
        });
        let (code, out, err) = judge("kps_wiring.py", &[], &request.to_string());
        assert_eq!(code, 0, "the kube-prometheus-stack judge failed: {err}");
        let found: Value = serde_json::from_str(&out).unwrap();
        if let Some(why) = found["missing"].as_str() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "kube-prometheus-stack chart missing under CI: {why}: {}",
                supply()
            );
            // Straight to the terminal: the test harness captures `eprintln!` of tests that pass.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "\n*** stack_wiring: NOT RUN against kube-prometheus-stack: {why}; {} ***\n",
                    supply()
                )
                .as_bytes(),
            );
            return None;
        }
        let absent: Vec<&str> = found["absent_subcharts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !absent.is_empty() {
            // Straight to the terminal, as above: a partial render is said, not hidden.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "\n*** stack_wiring: the chart lacks the subcharts {absent:?}: rendered with \
                     the exporters off, the Grafana sidecar judged from the values its chart \
                     reads. For a full render, {} ***\n",
                    supply()
                )
                .as_bytes(),
            );
        }
        // The README pins the version the suite renders.
        let chart_yaml = std::fs::read_to_string(kps_chart().join("Chart.yaml")).unwrap();
        let version = chart_yaml
            .lines()
            .find_map(|l| l.strip_prefix("version: "))
            .map(|v| v.trim().trim_matches('"').to_owned());
        assert_eq!(steps.stack_version, version, "the README's --version");
        Some(found)
    })
    .as_ref()
}

/// Ids (`Kind ns/name`) of the generated objects the README applies.
fn generated_ids(found: &Value) -> Vec<String> {
    found["object_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .filter(|id| !id.contains(" payments/"))
        .collect()
}

fn selected_by(found: &Value, render: &str, id: &str) -> BTreeSet<String> {
    found["renders"][render]["selection"][id]
        .as_array()
        .unwrap_or_else(|| panic!("{id} not judged in {render}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Objects selected with the defaults but not in `render` (by the same selector).
fn lost(found: &Value, render: &str) -> Vec<String> {
    let defaults = found["renders"]["defaults"]["selection"]
        .as_object()
        .unwrap();
    defaults
        .keys()
        .filter(|id| !selected_by(found, "defaults", id).is_subset(&selected_by(found, render, id)))
        .cloned()
        .collect()
}

#[test]
fn the_stack_selects_every_generated_object_with_its_defaults_and_with_the_generated_values() {
    let Some(found) = kps() else { return };
    let ours = generated_ids(found);
    for kind in [
        "ServiceMonitor",
        "PrometheusRule",
        "AlertmanagerConfig",
        "ConfigMap",
    ] {
        assert_eq!(
            ours.iter()
                .filter(|id| id.starts_with(&format!("{kind} ")))
                .count(),
            2,
            "the README applies one {kind} per app: {ours:?}"
        );
    }
    let selector = |id: &str| match id.split(' ').next().unwrap() {
        "ServiceMonitor" => "serviceMonitorSelector",
        "PrometheusRule" => "ruleSelector",
        "AlertmanagerConfig" => "alertmanagerConfigSelector",
        _ => "grafana dashboard sidecar",
    };
    for render in ["defaults", "generated", "narrowed"] {
        for id in &ours {
            let by = selected_by(found, render, id);
            assert!(
                by.iter().any(|s| s.ends_with(selector(id))),
                "{id} is not selected by the stack ({render}): {by:?}"
            );
        }
    }
}

#[test]
fn the_generated_values_drop_nothing_the_defaults_select() {
    let Some(found) = kps() else { return };
    let defaults = found["renders"]["defaults"]["selection"]
        .as_object()
        .unwrap();
    let selected = defaults
        .values()
        .filter(|v| !v.as_array().unwrap().is_empty())
        .count();
    // The chart's own ServiceMonitors, rules and dashboards, ours and the other team's.
    assert!(selected > 60, "only {selected} objects selected by default");
    for id in [
        "AlertmanagerConfig payments/payments-alerts",
        "ServiceMonitor payments/payments",
        "ConfigMap payments/payments-dashboard",
    ] {
        assert!(!selected_by(found, "defaults", id).is_empty(), "{id}");
    }
    assert_eq!(lost(found, "generated"), Vec::<String>::new());
    // The judge sees a narrowed selector: the old values and the opt-in option drop the
    // other team's AlertmanagerConfig, and only that.
    for render in ["legacy", "narrowed"] {
        assert_eq!(
            lost(found, render),
            ["AlertmanagerConfig payments/payments-alerts"],
            "{render}"
        );
    }
}

#[test]
fn dashboards_land_in_their_folders() {
    let Some(found) = kps() else { return };
    let sidecar = &found["renders"]["generated"]["sidecar"];
    assert_eq!(sidecar["found"], true, "{sidecar}");
    for app in ["reviewmaps", "ojeomneo"] {
        let cm =
            std::fs::read_to_string(repo().join(format!("deploy/{app}/dashboard-configmap.yaml")))
                .unwrap();
        let annotations: Vec<&str> = cm
            .lines()
            .skip_while(|l| *l != "  annotations:")
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .collect();
        assert_eq!(annotations.len(), 1, "{app}: {annotations:?}");
        let key = annotations[0].trim().split(':').next().unwrap();
        assert_eq!(sidecar["folder_annotation"], key, "{app}");
    }
    assert_eq!(sidecar["folders_from_files_structure"], true);
    // What the stack does without the values: every dashboard in General.
    let defaults = &found["renders"]["defaults"]["sidecar"];
    assert_eq!(defaults["folder_annotation"], Value::Null, "{defaults}");
    assert_eq!(defaults["folders_from_files_structure"], false);
}

/// (namespace, Secret name) -> keys, from the README's `kubectl create secret` commands.
fn docs_secrets(found: &Value) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for s in found["docs_secrets"].as_array().unwrap() {
        out.entry((
            s["namespace"].as_str().unwrap().to_owned(),
            s["name"].as_str().unwrap().to_owned(),
        ))
        .or_insert_with(BTreeSet::new)
        .extend(
            s["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_owned()),
        );
    }
    out
}

/// Secrets a pod of `render` needs that neither the chart nor the README creates.
fn uncreated(found: &Value, render: &str) -> Vec<String> {
    let docs = docs_secrets(found);
    let provided: BTreeSet<(String, String)> = found["renders"][render]["provided_secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found["renders"][render]["required_secrets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            let key = (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_str().unwrap().to_owned(),
            );
            !provided.contains(&key) && !docs.contains_key(&key)
        })
        .map(|r| {
            let at = |i: usize| r[i].as_str().unwrap();
            format!("{}/{} for {}", at(0), at(1), at(2))
        })
        .collect()
}

/// Every `{name, key}` Secret reference in an object.
fn secret_refs(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if m.len() == 2
                && let (Some(name), Some(key)) = (
                    m.get("name").and_then(Value::as_str),
                    m.get("key").and_then(Value::as_str),
                )
            {
                out.push((name.to_owned(), key.to_owned()));
            }
            m.values().for_each(|v| secret_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| secret_refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_secret_the_pods_and_alertmanagerconfigs_need_is_created_by_the_docs_in_its_namespace() {
    let Some(found) = kps() else { return };
    let required = found["renders"]["generated"]["required_secrets"]
        .as_array()
        .unwrap();
    // The Alertmanager's configuration Secret and the operator's webhook certificate, plus
    // Grafana's admin Secret where the grafana subchart is there to render its pod.
    let with_grafana = !found["absent_subcharts"]
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s == "grafana"));
    assert!(
        required.len() >= 2 + usize::from(with_grafana),
        "the judge found too few Secret uses: {required:?}"
    );
    assert_eq!(uncreated(found, "generated"), Vec::<String>::new());
    assert_eq!(uncreated(found, "defaults"), Vec::<String>::new());
    // The old values mounted a Secret nothing created in monitoring: the judge sees it.
    let legacy = uncreated(found, "legacy");
    assert_eq!(legacy.len(), 1, "{legacy:?}");
    assert!(
        legacy[0].starts_with("monitoring/alertmanager-receivers for "),
        "{legacy:?}"
    );

    // Each AlertmanagerConfig's Secret keys exist in its own namespace, created by the docs.
    let docs = docs_secrets(found);
    let steps = steps();
    let mut checked = 0;
    for (_, ns, files) in &steps.applies {
        for file in files
            .iter()
            .filter(|f| f.ends_with("alertmanagerconfig.yaml"))
        {
            let text = std::fs::read_to_string(file).unwrap();
            let amc: Value = serde_saphyr::from_str(&text).unwrap();
            assert_eq!(amc["metadata"]["namespace"], ns.as_str());
            let mut refs = Vec::new();
            secret_refs(&amc["spec"]["receivers"], &mut refs);
            assert!(!refs.is_empty(), "{}", file.display());
            for (name, key) in refs {
                let keys = docs.get(&(ns.clone(), name.clone()));
                assert!(
                    keys.is_some_and(|k| k.contains(&key)),
                    "{}: Secret {ns}/{name} key {key} is created by no README command ({docs:?})",
                    file.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 2, "{checked}");
}

#[test]
fn the_readme_steps_come_in_an_order_that_works() {
    // Every command of the steps' block is one this file renders, parses or orders.
    let commands = readme_commands();
    let block = commands
        .iter()
        .find(|(_, w)| {
            w.join(" ")
                .starts_with("helm upgrade --install kube-prometheus-stack ")
        })
        .unwrap()
        .0;
    for (_, w) in commands.iter().filter(|(b, _)| *b == block) {
        let line = w.join(" ");
        assert!(
            [
                "helm repo add prometheus-community https://prometheus-community.github.io/helm-charts",
                "helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack ",
                "kubectl create namespace ",
                "kubectl create secret generic ",
                "kubectl apply -n ",
            ]
            .iter()
            .any(|p| line.starts_with(p))
                || (line.starts_with("helm upgrade --install ") && line.contains(APP_CHART)),
            "a README step no test covers: {line}"
        );
    }
    let s = steps();
    assert!(s.stack_at != usize::MAX, "no stack install in the README");
    assert_eq!(s.applies.len(), 2);
    for (at, ns, _) in &s.applies {
        assert!(
            *at > s.stack_at,
            "{ns}: objects applied before the stack's CRDs exist"
        );
        let created = s.namespaces.iter().find(|(_, n)| n == ns).expect(ns).0;
        let secret = s.secrets.iter().find(|(_, n)| n == ns).expect(ns).0;
        let chart = s.charts.iter().find(|c| c.4 && &c.2 == ns).expect(ns).0;
        assert!(
            created < secret && secret < *at && created < chart,
            "{ns}: namespace, Secret, then objects"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The project's chart as the README renders it, next to deploy/<app>/.

/// `check manifests ARGS` with `rendered` written to `file` first: it must fail, saying `why`.
fn check_fails(file: &Path, rendered: &BTreeMap<String, String>, args: &[&str], why: &str) {
    std::fs::write(file, stream(rendered)).unwrap();
    let out = redmetrics(&repo(), args);
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    assert!(
        report(&out).contains(why),
        "want {why:?} in {}",
        report(&out)
    );
}

#[test]
fn the_readme_chart_and_deploy_agree_and_check_manifests_fails_when_the_service_labels_change() {
    let steps = steps();
    let tmp = tempfile::tempdir().unwrap();
    let (mut unions, mut alone) = (0, 0);
    for (_, release, ns, sets, step) in &steps.charts {
        let values: Value = serde_json::from_str(&set_values(sets)).unwrap();
        let mut rendered = render_app_chart(release, ns, &values).unwrap();
        let chart_file = tmp.path().join(format!("{release}-{ns}.yaml"));
        std::fs::write(&chart_file, stream(&rendered)).unwrap();
        let applied: Vec<&PathBuf> = steps
            .applies
            .iter()
            .filter(|a| *step && &a.1 == ns)
            .flat_map(|a| &a.2)
            .collect();
        let mut args = vec!["check", "manifests", chart_file.to_str().unwrap()];
        args.extend(applied.iter().map(|p| p.to_str().unwrap()));
        args.extend(["--namespace", ns, "--config", "redmetrics.toml"]);
        let out = redmetrics(&repo(), &args);
        assert_eq!(out.status.code(), Some(0), "{release}: {}", report(&out));
        if applied.is_empty() {
            // The chart alone, with its own ServiceMonitor and rules: never next to
            // deploy/<app>/'s, as the README says, and `check manifests` says why.
            alone += 1;
            let mut args = args.clone();
            let deploy: Vec<String> = ["servicemonitor.yaml", "prometheusrule.yaml"]
                .iter()
                .map(|f| {
                    repo()
                        .join("deploy")
                        .join(ns)
                        .join(f)
                        .to_str()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            args.splice(3..3, deploy.iter().map(String::as_str));
            let twice = format!("ServiceMonitor {ns}/{ns}-server is defined twice, differently");
            check_fails(&chart_file, &rendered, &args, &twice);
            // Named apart, both would scrape the Service: every series twice.
            let sm = rendered
                .iter_mut()
                .find(|(k, _)| k.ends_with("templates/servicemonitor.yaml"))
                .unwrap()
                .1;
            *sm = sm.replacen(
                &format!("name: {ns}-server\n"),
                &format!("name: {ns}-chart\n"),
                1,
            );
            let why = format!(
                "is scraped by ServiceMonitor {ns}/{ns}-chart and ServiceMonitor {ns}/{ns}-server: every series twice"
            );
            check_fails(&chart_file, &rendered, &args, &why);
            continue;
        }
        unions += 1;
        // The Service labelled otherwise: deploy/<app>/servicemonitor.yaml finds no target.
        let service = rendered
            .iter_mut()
            .find(|(k, _)| k.ends_with("templates/service.yaml"))
            .unwrap()
            .1;
        let name = format!(
            "app.kubernetes.io/name: {}",
            values["nameOverride"].as_str().unwrap()
        );
        assert!(service.contains(&name), "{service}");
        *service = service.replace(&name, "app.kubernetes.io/name: redmetrics-service");
        let why = format!("ServiceMonitor {ns}/{ns}-server selects no Service");
        check_fails(&chart_file, &rendered, &args, &why);
    }
    assert_eq!(
        unions, 2,
        "the README installs both apps' charts next to deploy/<app>/"
    );
    assert_eq!(alone, 1, "the README shows the chart alone once");
}

// ---------------------------------------------------------------------------------------------
// The chart's job settings.

/// Every `job="…"` an expression selects on.
fn jobs_in(text: &str) -> BTreeSet<String> {
    text.split("job=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

/// The job the Prometheus Operator gives the rendered ServiceMonitor's targets on the rendered
/// Service: its name, or the value of its `jobLabel` label when non-empty.
fn operator_job(rendered: &BTreeMap<String, String>) -> String {
    let doc = |suffix: &str| -> Value {
        let (_, text) = rendered.iter().find(|(k, _)| k.ends_with(suffix)).unwrap();
        serde_saphyr::from_str(text).unwrap()
    };
    let (svc, sm) = (
        doc("templates/service.yaml"),
        doc("templates/servicemonitor.yaml"),
    );
    sm["spec"]["jobLabel"]
        .as_str()
        .and_then(|l| svc["metadata"]["labels"][l].as_str())
        .filter(|v| !v.is_empty())
        .unwrap_or(svc["metadata"]["name"].as_str().unwrap())
        .to_owned()
}

/// One row of the job table: `jobLabel`, `metrics.job`, a relabeling's job, and the job
/// Prometheus assigns (`Ok`) or the reason the render is refused (`Err`).
type JobRow = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Result<&'static str, &'static str>,
);

#[test]
fn the_chart_job_follows_the_service_monitor_or_the_render_is_refused() {
    // (jobLabel, metrics.job, relabeling to job, the job Prometheus assigns or the refusal).
    // Release shop, fullname shop-server: the Service is labelled app.kubernetes.io/name:
    // redmetrics-service and app.kubernetes.io/instance: shop.
    let table: [JobRow; 12] = [
        ("", "", None, Ok("shop-server")),
        ("", "shop-server", None, Ok("shop-server")),
        (
            "",
            "shop",
            None,
            Err(
                "metrics.job is \"shop\", but Prometheus will name the job \"shop-server\" (the Service's name)",
            ),
        ),
        ("app.kubernetes.io/instance", "", None, Ok("shop")),
        ("app.kubernetes.io/instance", "shop", None, Ok("shop")),
        (
            "app.kubernetes.io/instance",
            "shop-server",
            None,
            Err(
                "metrics.job is \"shop-server\", but Prometheus will name the job \"shop\" (the Service's label app.kubernetes.io/instance",
            ),
        ),
        ("app.kubernetes.io/name", "", None, Ok("redmetrics-service")),
        ("no-such-label", "", None, Ok("shop-server")),
        (
            "no-such-label",
            "shop",
            None,
            Err("the Service has no label no-such-label"),
        ),
        ("", "custom", Some("custom"), Ok("custom")),
        (
            "app.kubernetes.io/instance",
            "custom",
            Some("custom"),
            Ok("custom"),
        ),
        (
            "",
            "",
            Some("custom"),
            Err("metrics.serviceMonitor.relabelings set the `job` label: set metrics.job"),
        ),
    ];
    for (job_label, job, relabel, want) in table {
        let mut sm = json!({"enabled": true, "jobLabel": job_label});
        if let Some(to) = relabel {
            sm["relabelings"] =
                json!([{"targetLabel": "job", "replacement": to, "action": "replace"}]);
        }
        let values = json!({
            "fullnameOverride": "shop-server",
            "metrics": {
                "prefix": "shop", "job": job, "serviceMonitor": sm,
                "prometheusRule": {"enabled": true},
                "dashboard": {"enabled": true},
            },
        });
        let row = format!("jobLabel {job_label:?}, metrics.job {job:?}, relabel {relabel:?}");
        match (render_app_chart("shop", "shop", &values), want) {
            (Ok(rendered), Ok(want)) => {
                let rules = rendered
                    .iter()
                    .find(|(k, _)| k.ends_with("prometheusrule.yaml"))
                    .unwrap()
                    .1;
                assert_eq!(jobs_in(rules), BTreeSet::from([want.to_owned()]), "{row}");
                let dashboard = rendered
                    .iter()
                    .find(|(k, _)| k.ends_with("dashboard-configmap.yaml"))
                    .unwrap()
                    .1;
                assert!(
                    dashboard.contains(&format!("\"value\": \"{want}\"")),
                    "{row}: the dashboard's job"
                );
                if relabel.is_none() {
                    assert_eq!(operator_job(&rendered), want, "{row}");
                }
            }
            (Err(err), Err(why)) => assert!(err.contains(why), "{row}: {err}"),
            (got, want) => panic!("{row}: want {want:?}, got {:?}", got.map(|_| "a render")),
        }
    }
}

#[test]
fn check_manifests_flags_a_job_label_that_renames_the_job_the_rules_ask_for() {
    let values = json!({
        "fullnameOverride": "shop-server",
        "metrics": {"prefix": "shop", "serviceMonitor": {"enabled": true}, "prometheusRule": {"enabled": true}},
    });
    let mut rendered = render_app_chart("shop", "shop", &values).unwrap();
    let check = |rendered: &BTreeMap<String, String>| {
        redmetrics_with_input(
            &repo(),
            &[
                "check",
                "manifests",
                "-",
                "--namespace",
                "shop",
                "--prefix",
                "shop",
            ],
            Some(&stream(rendered)),
        )
    };
    let out = check(&rendered);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    assert!(report(&out).contains("PASS  jobs:"), "{}", report(&out));
    // A jobLabel added to the chart's ServiceMonitor behind the rules' back (what a chart
    // without the job derivation renders).
    let sm = rendered
        .iter_mut()
        .find(|(k, _)| k.ends_with("servicemonitor.yaml"))
        .unwrap()
        .1;
    *sm = sm.replacen(
        "\nspec:\n",
        "\nspec:\n  jobLabel: app.kubernetes.io/instance\n",
        1,
    );
    let out = check(&rendered);
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    assert!(
        report(&out).contains("PrometheusRule shop/shop-server-rules asks for job=\"shop-server\", but ServiceMonitor shop/shop-server names the job \"shop\""),
        "{}",
        report(&out)
    );
}

/// The judge's own selector rules on small cases, so a wrong rule cannot hide behind the
/// big chart: nil selects nothing, `{}` all, a nil namespace selector the CR's namespace.
#[test]
fn the_judge_applies_the_operator_selector_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: mini\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/crs.yaml"),
        "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: nil-ns, namespace: monitoring}\nspec:\n  serviceMonitorSelector: {}\n  ruleSelector: null\n---\napiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: all-ns, namespace: monitoring}\nspec:\n  serviceMonitorSelector: {matchLabels: {release: x}}\n  serviceMonitorNamespaceSelector: {}\n  ruleSelector: {}\n  ruleNamespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [b]}]}\n",
    )
    .unwrap();
    let objects = tmp.path().join("objects.yaml");
    std::fs::write(
        &objects,
        "kind: ServiceMonitor\nmetadata: {name: here, namespace: monitoring}\n---\nkind: ServiceMonitor\nmetadata: {name: there, namespace: a, labels: {release: x}}\n---\nkind: PrometheusRule\nmetadata: {name: r, namespace: a}\n---\nkind: PrometheusRule\nmetadata: {name: r, namespace: b}\n",
    )
    .unwrap();
    let request = json!({
        "chart": chart, "release": "mini", "namespace": "monitoring",
        "values": {"only": []}, "objects": [objects], "docs": [],
    });
    let (code, out, err) = judge("kps_wiring.py", &[], &request.to_string());
    assert_eq!(code, 0, "{err}");
    let found: Value = serde_json::from_str(&out).unwrap();
    let by = |id: &str| selected_by(&found, "only", id);
    let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    assert_eq!(
        by("ServiceMonitor monitoring/here"),
        set(&["Prometheus monitoring/nil-ns serviceMonitorSelector"])
    );
    assert_eq!(
        by("ServiceMonitor a/there"),
        set(&["Prometheus monitoring/all-ns serviceMonitorSelector"])
    );
    assert_eq!(
        by("PrometheusRule a/r"),
        set(&["Prometheus monitoring/all-ns ruleSelector"])
    );
    assert_eq!(by("PrometheusRule b/r"), set(&[]));
}
