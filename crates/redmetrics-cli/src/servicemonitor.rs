//! The Prometheus Operator's ServiceMonitor, as far as redmetrics writes and judges it: one
//! serde type that `generate` writes and `check manifests` reads back, so both name each
//! field once. Fields redmetrics does not use are ignored when read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A `monitoring.coreos.com/v1` ServiceMonitor. Fields are declared in the order they are
/// written (alphabetical, as the generated YAML has always been).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceMonitor {
    #[serde(default)]
    pub(crate) api_version: String,
    #[serde(default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) metadata: Metadata,
    #[serde(default)]
    pub(crate) spec: Spec,
}

/// The object's name, namespace and labels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Metadata {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) labels: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) namespace: Option<String>,
}

/// What to scrape: the endpoints, which Services, in which namespaces, and how to name the job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Spec {
    #[serde(default)]
    pub(crate) endpoints: Vec<Endpoint>,
    /// The Service label whose value becomes the `job` label (default: the Service's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) job_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) namespace_selector: Option<NamespaceSelector>,
    /// Keep the classic series of histograms that also have native buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scrape_classic_histograms: Option<bool>,
    #[serde(default)]
    pub(crate) selector: LabelSelector,
}

/// One scrape endpoint of the selected Services.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Endpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
    /// The Service port's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) port: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) relabelings: Vec<Relabeling>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scrape_timeout: Option<String>,
    /// Deprecated: the Pod's port, by number or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) target_port: Option<IntOrString>,
}

/// A relabeling of the scraped targets; only where it writes matters here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Relabeling {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) target_label: Option<String>,
}

/// A Kubernetes int-or-string field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum IntOrString {
    Int(i64),
    String(String),
}

/// The namespaces whose Services are selected: all (`any`), the ones named, or (neither) the
/// ServiceMonitor's own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NamespaceSelector {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) any: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) match_names: Vec<String>,
}

/// A Kubernetes `LabelSelector`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LabelSelector {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) match_expressions: Vec<LabelRequirement>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) match_labels: BTreeMap<String, String>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct LabelRequirement {
    pub(crate) key: String,
    pub(crate) operator: String,
    #[serde(default)]
    pub(crate) values: Vec<String>,
}

impl LabelSelector {
    /// Whether the selector selects an object with `labels`, as Kubernetes matches: every
    /// `matchLabels` pair and every expression (an unknown operator selects nothing).
    pub(crate) fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|e| {
                let have = labels.get(&e.key);
                match e.operator.as_str() {
                    "In" => have.is_some_and(|h| e.values.contains(h)),
                    "NotIn" => have.is_none_or(|h| !e.values.contains(h)),
                    "Exists" => have.is_some(),
                    "DoesNotExist" => have.is_none(),
                    _ => false,
                }
            })
    }
}
