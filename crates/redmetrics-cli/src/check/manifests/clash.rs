//! Alert names that clash with kube-prometheus-stack's default rules. Two alerts under one
//! name (the stack's `TargetDown` is severity warning and fires for any job) confuse routing,
//! inhibition and silences, so `check manifests` fails a PrometheusRule that reuses one.

use std::collections::BTreeMap;

use super::input::Object;
use super::rule_list;
use crate::check::report::{Check, Status};

/// The default alert names of kube-prometheus-stack 88.5.3, by rule group: every `alert:` in
/// the chart's `templates/prometheus/rules-1.14/*.yaml` (prometheus-community/helm-charts
/// commit cf408a2, 139 names). Regenerate the list from those files when the stack moves.
const STACK_ALERTS: &[(&str, &[&str])] = &[
    (
        "alertmanager.rules",
        &[
            "AlertmanagerFailedReload",
            "AlertmanagerMembersInconsistent",
            "AlertmanagerFailedToSendAlerts",
            "AlertmanagerClusterFailedToSendAlerts",
            "AlertmanagerConfigInconsistent",
            "AlertmanagerClusterDown",
            "AlertmanagerClusterCrashlooping",
            "AlertmanagerClusterFailedPeers",
        ],
    ),
    ("config-reloaders", &["ConfigReloaderSidecarErrors"]),
    (
        "etcd",
        &[
            "etcdMembersDown",
            "etcdInsufficientMembers",
            "etcdNoLeader",
            "etcdHighNumberOfLeaderChanges",
            "etcdHighNumberOfFailedGRPCRequests",
            "etcdGRPCRequestsSlow",
            "etcdMemberCommunicationSlow",
            "etcdHighNumberOfFailedProposals",
            "etcdHighFsyncDurations",
            "etcdHighCommitDurations",
            "etcdDatabaseQuotaLowSpace",
            "etcdExcessiveDatabaseGrowth",
            "etcdDatabaseHighFragmentationRatio",
        ],
    ),
    (
        "general.rules",
        &["TargetDown", "Watchdog", "InfoInhibitor"],
    ),
    ("kube-apiserver-slos", &["KubeAPIErrorBudgetBurn"]),
    (
        "kube-state-metrics",
        &[
            "KubeStateMetricsListErrors",
            "KubeStateMetricsWatchErrors",
            "KubeStateMetricsShardingMismatch",
            "KubeStateMetricsShardsMissing",
        ],
    ),
    (
        "kubernetes-apps",
        &[
            "KubePodCrashLooping",
            "KubePodNotReady",
            "KubeDeploymentGenerationMismatch",
            "KubeDeploymentReplicasMismatch",
            "KubeDeploymentRolloutStuck",
            "KubeStatefulSetReplicasMismatch",
            "KubeStatefulSetGenerationMismatch",
            "KubeStatefulSetUpdateNotRolledOut",
            "KubeDaemonSetRolloutStuck",
            "KubeContainerWaiting",
            "KubeDaemonSetNotScheduled",
            "KubeDaemonSetMisScheduled",
            "KubeJobNotCompleted",
            "KubeJobFailed",
            "KubeHpaReplicasMismatch",
            "KubeHpaMaxedOut",
            "KubePdbNotEnoughHealthyPods",
        ],
    ),
    (
        "kubernetes-resources",
        &[
            "KubeCPUOvercommit",
            "KubeMemoryOvercommit",
            "KubeCPUQuotaOvercommit",
            "KubeMemoryQuotaOvercommit",
            "KubeQuotaAlmostFull",
            "KubeQuotaFullyUsed",
            "KubeQuotaExceeded",
            "CPUThrottlingHigh",
        ],
    ),
    (
        "kubernetes-storage",
        &[
            "KubePersistentVolumeFillingUp",
            "KubePersistentVolumeInodesFillingUp",
            "KubePersistentVolumeErrors",
        ],
    ),
    (
        "kubernetes-system-apiserver",
        &[
            "KubeClientCertificateExpiration",
            "KubeAggregatedAPIErrors",
            "KubeAggregatedAPIDown",
            "KubeAPIDown",
            "KubeAPIInstanceUnreachable",
            "KubeAPITerminatedRequests",
        ],
    ),
    (
        "kubernetes-system-controller-manager",
        &[
            "KubeControllerManagerDown",
            "KubeControllerManagerInstanceUnreachable",
        ],
    ),
    (
        "kubernetes-system-kube-proxy",
        &["KubeProxyDown", "KubeProxyInstanceUnreachable"],
    ),
    (
        "kubernetes-system-kubelet",
        &[
            "KubeNodeNotReady",
            "KubeNodePressure",
            "KubeNodeUnreachable",
            "KubeletTooManyPods",
            "KubeNodeReadinessFlapping",
            "KubeNodeEviction",
            "KubeletPlegDurationHigh",
            "KubeletPodStartUpLatencyHigh",
            "KubeletClientCertificateExpiration",
            "KubeletServerCertificateExpiration",
            "KubeletClientCertificateRenewalErrors",
            "KubeletServerCertificateRenewalErrors",
            "KubeletInstanceUnreachable",
            "KubeletDown",
        ],
    ),
    (
        "kubernetes-system-scheduler",
        &["KubeSchedulerDown", "KubeSchedulerInstanceUnreachable"],
    ),
    (
        "kubernetes-system",
        &["KubeVersionMismatch", "KubeClientErrors"],
    ),
    (
        "node-exporter",
        &[
            "NodeFilesystemSpaceFillingUp",
            "NodeFilesystemAlmostOutOfSpace",
            "NodeFilesystemFilesFillingUp",
            "NodeFilesystemAlmostOutOfFiles",
            "NodeNetworkReceiveErrs",
            "NodeNetworkTransmitErrs",
            "NodeHighNumberConntrackEntriesUsed",
            "NodeTextFileCollectorScrapeError",
            "NodeClockSkewDetected",
            "NodeClockNotSynchronising",
            "NodeRAIDDegraded",
            "NodeRAIDDiskFailure",
            "NodeFileDescriptorLimit",
            "NodeCPUHighUsage",
            "NodeSystemSaturation",
            "NodeMemoryMajorPagesFaults",
            "NodeMemoryHighUtilization",
            "NodeDiskIOSaturation",
            "NodeSystemdServiceFailed",
            "NodeSystemdServiceCrashlooping",
            "NodeBondingDegraded",
        ],
    ),
    ("node-network", &["NodeNetworkInterfaceFlapping"]),
    (
        "prometheus-operator",
        &[
            "PrometheusOperatorListErrors",
            "PrometheusOperatorWatchErrors",
            "PrometheusOperatorSyncFailed",
            "PrometheusOperatorReconcileErrors",
            "PrometheusOperatorStatusUpdateErrors",
            "PrometheusOperatorNodeLookupErrors",
            "PrometheusOperatorNotReady",
            "PrometheusOperatorRejectedResources",
        ],
    ),
    (
        "prometheus",
        &[
            "PrometheusBadConfig",
            "PrometheusSDRefreshFailure",
            "PrometheusKubernetesListWatchFailures",
            "PrometheusNotificationQueueRunningFull",
            "PrometheusErrorSendingAlertsToSomeAlertmanagers",
            "PrometheusNotConnectedToAlertmanagers",
            "PrometheusTSDBReloadsFailing",
            "PrometheusTSDBCompactionsFailing",
            "PrometheusNotIngestingSamples",
            "PrometheusDuplicateTimestamps",
            "PrometheusOutOfOrderTimestamps",
            "PrometheusRemoteStorageFailures",
            "PrometheusRemoteWriteBehind",
            "PrometheusRemoteWriteDesiredShards",
            "PrometheusRuleFailures",
            "PrometheusMissingRuleEvaluations",
            "PrometheusTargetLimitHit",
            "PrometheusLabelLimitHit",
            "PrometheusScrapeBodySizeLimitHit",
            "PrometheusScrapeSampleLimitHit",
            "PrometheusTargetSyncFailure",
            "PrometheusHighQueryLoad",
            "PrometheusErrorSendingAlertsToAnyAlertmanager",
        ],
    ),
];

/// The label the stack puts on its own PrometheusRules (`app: <chart name>`): those are
/// where the names come from, not a clash.
const STACK_APP: &str = "kube-prometheus-stack";

/// The stack's rule group defining `alert`, if any.
fn stack_group(alert: &str) -> Option<&'static str> {
    STACK_ALERTS
        .iter()
        .find(|(_, names)| names.contains(&alert))
        .map(|(group, _)| *group)
}

/// Fails each alert of `rules` named like one of the stack's defaults.
pub(super) fn clash_check(rules: &[&Object]) -> Check {
    let mut c = Check::new("alert names");
    let mut alerts = 0;
    let mut clashes: BTreeMap<String, (&'static str, Vec<String>)> = BTreeMap::new();
    for r in rules {
        if r.labels().get("app").map(String::as_str) == Some(STACK_APP) {
            continue;
        }
        for rule in rule_list(r) {
            let Some(name) = rule["alert"].as_str() else {
                continue;
            };
            alerts += 1;
            if let Some(group) = stack_group(name) {
                clashes
                    .entry(name.to_owned())
                    .or_insert_with(|| (group, Vec::new()))
                    .1
                    .push(r.id());
            }
        }
    }
    for (name, (group, ids)) in &clashes {
        let mut ids = ids.clone();
        ids.dedup();
        c.fail(
            format!("{} defines alert {name}, which kube-prometheus-stack's {group} already defines: two alerts under one name mix in routing, inhibition and silences", ids.join(", ")),
            format!("rename it with a prefix of your app or project (redmetrics generates Redmetrics{name})"),
        );
    }
    let summary = if c.status == Status::Pass {
        format!("{alerts} alert(s), none named like a kube-prometheus-stack default")
    } else {
        "alert names clash with kube-prometheus-stack's defaults".to_owned()
    };
    c.summary(summary)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn the_list_holds_the_stack_names_that_matter() {
        let count: usize = STACK_ALERTS.iter().map(|(_, n)| n.len()).sum();
        assert_eq!(count, 139);
        assert_eq!(stack_group("TargetDown"), Some("general.rules"));
        assert_eq!(stack_group("KubePodCrashLooping"), Some("kubernetes-apps"));
        assert_eq!(
            stack_group("NodeFilesystemSpaceFillingUp"),
            Some("node-exporter")
        );
        assert_eq!(stack_group("RedmetricsTargetDown"), None);
    }

    fn rules(app: &str, name: &str, alerts: &[&str]) -> Object {
        let rules: Vec<Value> = alerts
            .iter()
            .map(|a| json!({"alert": a, "expr": "vector(1)"}))
            .collect();
        Object {
            value: json!({"kind": "PrometheusRule", "metadata": {"name": name, "labels": {"app": app}},
                "spec": {"groups": [{"name": "g", "rules": rules}, {"name": "h", "rules": [{"record": "r", "expr": "vector(1)"}]}]}}),
            namespace: "shop".to_owned(),
        }
    }

    /// The stack's own rules are not judged; every other alert is counted, and one named
    /// like a stack default fails, once per object.
    #[test]
    fn alerts_named_like_the_stacks_fail_unless_the_stack_defines_them() {
        let stack = rules(STACK_APP, "stack", &["TargetDown", "Watchdog"]);
        let mine = rules("shop", "mine", &["ShopDown", "ShopSlow"]);
        let c = clash_check(&[&stack, &mine]);
        assert_eq!(c.status, Status::Pass, "{:?}", c.findings);
        assert_eq!(
            c.summary,
            "2 alert(s), none named like a kube-prometheus-stack default"
        );
        let clashing = rules("shop", "clash", &["TargetDown", "ShopDown", "TargetDown"]);
        let c = clash_check(&[&stack, &mine, &clashing]);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            c.summary,
            "alert names clash with kube-prometheus-stack's defaults"
        );
        let messages: Vec<&str> = c.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "PrometheusRule shop/clash defines alert TargetDown, which kube-prometheus-stack's general.rules already defines: two alerts under one name mix in routing, inhibition and silences"
            ]
        );
    }
}
