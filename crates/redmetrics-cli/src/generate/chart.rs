//! A Helm chart for an instrumented service: Deployment, Service, and the monitoring objects
//! gated on values only (never on cluster capabilities, which `helm template` cannot see).
//!
//! The alert rules and the dashboard are generated from the contract like every other
//! artifact, for an app whose prefix, namespace, job and metrics path are placeholder tokens
//! (`REDMETRICS_PREFIX`, `redmetrics-namespace-token`, `redmetrics-job-token`,
//! `/redmetrics-path-token`) and whose alert thresholds are sentinels, all of which the
//! templates replace from values at render time. The tokens are valid names, so the app is
//! resolved and checked like any configured one; a namespace containing the job token would
//! be garbled, which no real name does. The files are read with `.Files.Get`, never passed
//! through `tpl`, so the `{{ $labels.job }}` of alert annotations and Grafana's `{{pod}}`
//! legends need no escaping. The monitoring objects are gated on values only, never on
//! `.Capabilities`, so `helm template` and ArgoCD render them.

use crate::config::{Alerts, App, ConfigError, PromDuration, Resolved, Stack, default_routes};
use crate::severity::Severity;

/// The chart's directory name under `deploy/helm/`.
pub(crate) const CHART: &str = "redmetrics-service";

/// Tokens the templates replace.
pub(crate) const PREFIX_TOKEN: &str = "REDMETRICS_PREFIX";
pub(crate) const NAMESPACE_TOKEN: &str = "redmetrics-namespace-token";
pub(crate) const JOB_TOKEN: &str = "redmetrics-job-token";
/// The metrics path in alert descriptions, replaced by `metrics.path`.
pub(crate) const PATH_TOKEN: &str = "/redmetrics-path-token";

/// The token app's thresholds and `for` durations are sentinels no generated text contains
/// otherwise; the `redmetrics-service.rules` helper replaces them from
/// `metrics.prometheusRule.*` (the error ratio also as its percentage, `4.213%`).
/// An app whose names and thresholds are the tokens: the source of the chart's `files/`.
pub(crate) fn token_app() -> Result<Resolved, ConfigError> {
    let mut app = App::new(CHART, NAMESPACE_TOKEN, JOB_TOKEN, "http");
    app.prefix = Some(PREFIX_TOKEN.to_owned());
    app.title = Some(PREFIX_TOKEN.to_owned());
    app.metrics_path = PATH_TOKEN.to_owned();
    let d = |s: &str| PromDuration::parse(s).map_err(|e| ConfigError::new("chart token", e));
    app.alerts = Alerts {
        error_ratio: 0.0421337,
        error_for: d("3h1m7s")?,
        latency_p95_seconds: 4.21337,
        latency_for: d("3h1m8s")?,
        min_request_rate: 0.0987654,
        target_down_for: d("3h1m9s")?,
        target_absent_for: d("3h1m11s")?,
        ..Alerts::default()
    };
    Resolved::new(app, &Stack::default())
}

/// The default `routes` of the values: each severity to its default integrations.
fn values_routes() -> String {
    Severity::ALL
        .map(|s| {
            let to: Vec<&str> = default_routes(s).iter().map(|i| i.as_str()).collect();
            format!("      {s}: [{}]", to.join(", "))
        })
        .join("\n")
}

/// Every severity as a Go template list (`list "critical" "warning"`).
fn go_list_of_severities() -> String {
    let mut all = Severity::ALL;
    all.sort_unstable();
    let quoted: Vec<String> = all.iter().map(|s| format!("{:?}", s.as_str())).collect();
    format!("list {}", quoted.join(" "))
}

/// The chart's static files, by path relative to the chart directory.
pub(crate) fn static_files() -> Vec<(&'static str, String)> {
    let a = Alerts::default();
    let values = VALUES
        .replace("{error_ratio}", &a.error_ratio.to_string())
        .replace("{latency}", &a.latency_p95_seconds.to_string())
        .replace("{min_rate}", &a.min_request_rate.to_string())
        .replace("{error_for}", &a.error_for.to_string())
        .replace("{latency_for}", &a.latency_for.to_string())
        .replace("{down_for}", &a.target_down_for.to_string())
        .replace("{absent_for}", &a.target_absent_for.to_string())
        .replace("{routes}", &values_routes());
    vec![
        ("Chart.yaml", CHART_YAML.to_owned()),
        ("values.yaml", values),
        (".helmignore", "*.tgz\n.git/\n".to_owned()),
        ("templates/_helpers.tpl", HELPERS.to_owned()),
        ("templates/deployment.yaml", DEPLOYMENT.to_owned()),
        ("templates/service.yaml", SERVICE.to_owned()),
        ("templates/servicemonitor.yaml", SERVICE_MONITOR.to_owned()),
        ("templates/prometheusrule.yaml", PROMETHEUS_RULE.to_owned()),
        ("templates/dashboard-configmap.yaml", DASHBOARD.to_owned()),
        (
            "templates/alertmanagerconfig.yaml",
            ALERTMANAGER_CONFIG.replace("{severities}", &go_list_of_severities()),
        ),
        (
            "templates/prometheusagent.yaml",
            PROMETHEUS_AGENT.to_owned(),
        ),
        ("templates/NOTES.txt", NOTES.to_owned()),
        ("templates/serviceaccount.yaml", SERVICE_ACCOUNT.to_owned()),
        ("templates/tests/test-metrics.yaml", TEST_POD.to_owned()),
        ("values.schema.json", super::schema::values_schema()),
    ]
}

const CHART_YAML: &str = r#"apiVersion: v2
name: redmetrics-service
description: An HTTP service instrumented with redmetrics, with its ServiceMonitor, alert rules and Grafana dashboard.
type: application
version: 0.1.0
appVersion: "0.1.0"
keywords: [prometheus, metrics, red, servicemonitor, grafana]
# ServiceMonitor and probes by port name need nothing newer; older clusters are out of support.
kubeVersion: ">=1.23.0-0"
"#;

const VALUES: &str = r##"# Generated by `redmetrics generate`; regenerate instead of editing.
#
# An HTTP service instrumented with redmetrics. The monitoring objects are switched on by
# values, never by cluster capabilities, so `helm template` and ArgoCD render them too.

replicaCount: 2

image:
  repository: ghcr.io/example/reviewmaps-server
  tag: ""
  pullPolicy: IfNotPresent

# Secrets holding registry credentials, e.g. [{name: regcred}].
imagePullSecrets: []
nameOverride: ""
fullnameOverride: ""

serviceAccount:
  # Create a ServiceAccount for the pods; false uses `name` (or the namespace's default).
  create: true
  # Mount its API token; the service does not talk to the Kubernetes API.
  automount: false
  annotations: {}
  # Empty means the chart's full name.
  name: ""

podAnnotations: {}
podLabels: {}

# Non-root with a read-only root filesystem: the service needs neither root nor to write.
podSecurityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]

# Extra environment variables of the container, as in a pod spec.
env: []

# The port the container listens on.
containerPort: 3000

service:
  type: ClusterIP
  port: 3000
  # ServiceMonitors select a Service port by this NAME, not by number.
  portName: http

# Liveness and readiness probes call this route.
healthPath: /v1/healthcheck

resources: {}

nodeSelector: {}
tolerations: []
affinity: {}

# `helm test`: a pod that scrapes the metrics path through the Service.
tests:
  image:
    repository: busybox
    tag: "1.36"

metrics:
  # Master switch of everything below.
  enabled: true
  # The metric prefix the service was built with (its redmetrics Contract).
  prefix: reviewmaps
  # Where the service serves its metrics (Ojeomneo: /ojeomneo/metrics).
  path: /metrics
  # The `job` label the rules, dashboard and routing ask for. Empty: the job the ServiceMonitor
  # makes Prometheus assign (the Service's name, or its serviceMonitor.jobLabel label's value).
  # With the ServiceMonitor rendered, any other value is refused unless a relabeling sets `job`.
  job: ""

  serviceMonitor:
    # Rendered only when metrics.enabled and this are both true.
    enabled: false
    # Namespace of the ServiceMonitor; empty means the release namespace. Another
    # namespace adds a namespaceSelector pointing back at the release namespace.
    namespace: ""
    # A default kube-prometheus-stack install selects ServiceMonitors labelled
    # `release: <stack release>`; without it the target silently never appears.
    labels:
      release: kube-prometheus-stack
    # A label of the Service whose value becomes `job` instead of the Service's name; the
    # rules, dashboard and routing follow it.
    jobLabel: ""
    interval: 30s
    # At most `interval`, or the Prometheus Operator rejects the object.
    scrapeTimeout: 10s
    honorLabels: false
    relabelings: []
    metricRelabelings: []
    # Keep the latency histogram's classic series (_bucket, _count, _sum) when Prometheus
    # ingests its native buckets, which otherwise keeps only the native series (needs
    # Prometheus 2.45+). The chart's rules and dashboard read either form; other tools'
    # dashboards read the classic one. False saves those series if nothing else reads them.
    scrapeClassicHistograms: true

  prometheusRule:
    # RedmetricsHighErrorRate, RedmetricsHighLatencyP95 and RedmetricsTargetDown, with the
    # thresholds below (the contract's defaults, as in redmetrics.toml's [apps.alerts]).
    enabled: false
    namespace: ""
    labels:
      release: kube-prometheus-stack
    # RedmetricsHighErrorRate: share of 5xx responses above this, for errorFor.
    errorRatio: {error_ratio}
    errorFor: {error_for}
    # RedmetricsHighLatencyP95: p95 latency above this many seconds, for latencyFor.
    latencyP95Seconds: {latency}
    latencyFor: {latency_for}
    # Below this many requests/s the two alerts above stay silent.
    minRequestRate: {min_rate}
    # RedmetricsTargetDown: a target unreachable (reason=down) or never discovered
    # (reason=absent) for this long.
    targetDownFor: {down_for}
    targetAbsentFor: {absent_for}

  alertmanagerConfig:
    # An AlertmanagerConfig in the release namespace routing this service's alerts by
    # severity (warning: Slack and e-mail; critical: also PagerDuty). A default
    # kube-prometheus-stack Alertmanager loads every AlertmanagerConfig in the cluster.
    enabled: false
    # For a stack whose alertmanagerConfigSelector is narrowed to its release label.
    labels:
      release: kube-prometheus-stack
    groupWait: 30s
    groupInterval: 5m
    repeatInterval: 4h
    # Grafana's base URL: messages link to the service's dashboard there. Empty: no link.
    grafanaURL: ""
    # Severity -> integrations; each needs its settings below.
    routes:
{routes}
    # Secrets are keys of a Kubernetes Secret in the release namespace, never values here.
    slack:
      channel: "#alerts"
      apiURL: {name: alertmanager-receivers, key: slack-api-url}
    email:
      to: [oncall@example.com]
      from: alertmanager@example.com
      smarthost: smtp.example.com:587
      # Empty: no SMTP authentication.
      authUsername: ""
      authPassword: {name: alertmanager-receivers, key: smtp-password}
      requireTLS: true
    pagerduty:
      routingKey: {name: alertmanager-receivers, key: pagerduty-routing-key}
      # Events v2 endpoint; empty means PagerDuty's.
      url: ""

  globalView:
    # A global view (Mimir, Thanos receive, a Prometheus with --web.enable-remote-write-
    # receiver) fed by a Prometheus in agent mode: a PrometheusAgent (monitoring.coreos.com/
    # v1alpha1, Prometheus Operator 0.64+) scrapes this service through the ServiceMonitor
    # above and pushes only the raw series the rules read. An agent evaluates no rules: the
    # receiver must load this chart's rules (metrics.prometheusRule) or its ruler must.
    # Where the stack's Prometheus evaluates the rules, ship the recorded series instead:
    # redmetrics generate's deploy/<app>/global-view.yaml has that remoteWrite for the stack.
    agent:
      enabled: false
      # A ServiceAccount allowed to discover and scrape the service's endpoints; empty uses
      # the namespace's default, which usually is not.
      serviceAccountName: ""
    remoteWrite:
      # Where to push, e.g. https://mimir.example.com/api/v1/push (required when enabled).
      url: ""
      # Tenant of Mimir or Thanos receive, sent as the X-Scope-OrgID header; empty: none.
      tenant: ""
    # Labels added to every pushed series, to tell clusters apart, e.g. {cluster: eu-1}.
    externalLabels: {}

  dashboard:
    # A ConfigMap the Grafana sidecar loads (label grafana_dashboard: "1").
    enabled: false
    namespace: ""
    labels:
      grafana_dashboard: "1"
    # Grafana folder; needs sidecar.dashboards.folderAnnotation set to folderAnnotation.
    folder: ""
    folderAnnotation: grafana_folder
"##;

const HELPERS: &str = r#"{{/* Generated by `redmetrics generate`; regenerate instead of editing. */}}

{{- define "redmetrics-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "redmetrics-service.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "redmetrics-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "redmetrics-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "redmetrics-service.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "redmetrics-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "redmetrics-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "redmetrics-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The job the Prometheus Operator gives the Service's targets: the Service's name, replaced
by the value of the Service label serviceMonitor.jobLabel names when it has a non-empty one. */}}
{{- define "redmetrics-service.scrapeJob" -}}
{{- $name := include "redmetrics-service.fullname" . }}
{{- with .Values.metrics.serviceMonitor.jobLabel }}
{{- get (include "redmetrics-service.labels" $ | fromYaml) . | default $name }}
{{- else }}
{{- $name }}
{{- end }}
{{- end }}

{{/* The job label of the service's series, which the rules, dashboard and routing ask for:
the job the ServiceMonitor makes Prometheus assign. metrics.job may differ only when the chart
renders no ServiceMonitor, or a relabeling of it sets `job` (then it must say which). */}}
{{- define "redmetrics-service.job" -}}
{{- $sm := .Values.metrics.serviceMonitor }}
{{- $scrape := include "redmetrics-service.scrapeJob" . }}
{{- $job := .Values.metrics.job | default $scrape }}
{{- $relabeled := false }}
{{- range $sm.relabelings }}
{{- if eq (toString .targetLabel) "job" }}{{ $relabeled = true }}{{ end }}
{{- end }}
{{- if and .Values.metrics.enabled $sm.enabled }}
{{- if and $relabeled (not .Values.metrics.job) }}
{{- fail "metrics.serviceMonitor.relabelings set the `job` label: set metrics.job to the job they assign, so that the rules, dashboard and routing ask for that job" }}
{{- else if and (not $relabeled) (ne $job $scrape) }}
{{- $how := "the Service's name" }}
{{- if $sm.jobLabel }}{{ $how = printf "the Service's name; the Service has no label %s for serviceMonitor.jobLabel" $sm.jobLabel }}{{ end }}
{{- if ne $scrape (include "redmetrics-service.fullname" .) }}{{ $how = printf "the Service's label %s, serviceMonitor.jobLabel" $sm.jobLabel }}{{ end }}
{{- fail (printf "metrics.job is %q, but Prometheus will name the job %q (%s): the rules would ask for a job that never exists and none of their alerts could fire. Leave metrics.job empty to follow the ServiceMonitor, or set serviceMonitor.jobLabel to a Service label whose value is %q" $job $scrape $how $job) }}
{{- end }}
{{- end }}
{{- $job }}
{{- end }}

{{/* A file generated from the contract, with its tokens replaced: (list $ "files/x"). */}}
{{- define "redmetrics-service.fromContract" -}}
{{- $root := index . 0 }}
{{- $root.Files.Get (index . 1) | replace "REDMETRICS_PREFIX" $root.Values.metrics.prefix | replace "redmetrics-namespace-token" $root.Release.Namespace | replace "redmetrics-job-token" (include "redmetrics-service.job" $root) | replace "/redmetrics-path-token" $root.Values.metrics.path }}
{{- end }}

{{/* The alert rules with thresholds and `for` durations from metrics.prometheusRule. */}}
{{- define "redmetrics-service.rules" -}}
{{- $r := .Values.metrics.prometheusRule }}
{{- $percent := printf "%v%%" (round (mulf $r.errorRatio 100) 4) }}
{{- include "redmetrics-service.fromContract" (list . "files/rules.yaml") | replace "0.0421337" (toString $r.errorRatio) | replace "4.213%" $percent | replace "4.21337" (toString $r.latencyP95Seconds) | replace "0.0987654" (toString $r.minRequestRate) | replace "3h1m7s" $r.errorFor | replace "3h1m8s" $r.latencyFor | replace "3h1m9s" $r.targetDownFor | replace "3h1m11s" $r.targetAbsentFor }}
{{- end }}
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "redmetrics-service.fullname" . }}
  labels:
    {{- include "redmetrics-service.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "redmetrics-service.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      labels:
        {{- include "redmetrics-service.selectorLabels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      serviceAccountName: {{ include "redmetrics-service.serviceAccountName" . }}
      automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
      {{- with .Values.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .Values.env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: {{ .Values.service.portName }}
              containerPort: {{ .Values.containerPort }}
              protocol: TCP
          livenessProbe:
            httpGet:
              path: {{ .Values.healthPath }}
              port: {{ .Values.service.portName }}
          readinessProbe:
            httpGet:
              path: {{ .Values.healthPath }}
              port: {{ .Values.service.portName }}
          {{- with .Values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
"#;

const SERVICE_ACCOUNT: &str = r#"{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "redmetrics-service.serviceAccountName" . }}
  labels:
    {{- include "redmetrics-service.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
{{- end }}
"#;

/// `helm test`: fetches the metrics path through the Service, as Prometheus would, and
/// fails unless the contract's request counter is declared in the answer.
const TEST_POD: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: {{ include "redmetrics-service.fullname" . }}-test-metrics
  labels:
    {{- include "redmetrics-service.labels" . | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: scrape
      image: "{{ .Values.tests.image.repository }}:{{ .Values.tests.image.tag }}"
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: [ALL]
      command:
        - sh
        - -c
        - >-
          wget -q -T 10 -O - "$METRICS_URL" | grep -q "^# TYPE $REQUESTS counter"
          || { echo "no $REQUESTS family at $METRICS_URL"; exit 1; }
      env:
        - name: METRICS_URL
          value: {{ printf "http://%s:%v%s" (include "redmetrics-service.fullname" .) .Values.service.port .Values.metrics.path | quote }}
        - name: REQUESTS
          value: {{ printf "%s_http_requests_total" .Values.metrics.prefix | quote }}
"#;

const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: {{ include "redmetrics-service.fullname" . }}
  labels:
    {{- include "redmetrics-service.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - name: {{ .Values.service.portName }}
      port: {{ .Values.service.port }}
      targetPort: {{ .Values.service.portName }}
      protocol: TCP
  selector:
    {{- include "redmetrics-service.selectorLabels" . | nindent 4 }}
"#;

const SERVICE_MONITOR: &str = r#"{{- if and .Values.metrics.enabled .Values.metrics.serviceMonitor.enabled }}
{{- $sm := .Values.metrics.serviceMonitor }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "redmetrics-service.fullname" . }}
  namespace: {{ $sm.namespace | default .Release.Namespace }}
  labels:
    {{- include "redmetrics-service.labels" . | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- with $sm.jobLabel }}
  jobLabel: {{ . }}
  {{- end }}
  {{- if $sm.scrapeClassicHistograms }}
  scrapeClassicHistograms: true
  {{- end }}
  selector:
    matchLabels:
      {{- include "redmetrics-service.selectorLabels" . | nindent 6 }}
  {{- if and $sm.namespace (ne $sm.namespace .Release.Namespace) }}
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  {{- end }}
  endpoints:
    - port: {{ .Values.service.portName }}
      path: {{ .Values.metrics.path }}
      interval: {{ $sm.interval }}
      scrapeTimeout: {{ $sm.scrapeTimeout }}
      {{- if $sm.honorLabels }}
      honorLabels: true
      {{- end }}
      {{- with $sm.relabelings }}
      relabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $sm.metricRelabelings }}
      metricRelabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
"#;

const PROMETHEUS_RULE: &str = r#"{{- if and .Values.metrics.enabled .Values.metrics.prometheusRule.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ include "redmetrics-service.fullname" . }}-rules
  namespace: {{ .Values.metrics.prometheusRule.namespace | default .Release.Namespace }}
  labels:
    {{- include "redmetrics-service.labels" . | nindent 4 }}
    {{- with .Values.metrics.prometheusRule.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- include "redmetrics-service.rules" . | nindent 2 }}
{{- end }}
"#;

const DASHBOARD: &str = r#"{{- if and .Values.metrics.enabled .Values.metrics.dashboard.enabled }}
{{- $d := .Values.metrics.dashboard }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "redmetrics-service.fullname" . }}-dashboard
  namespace: {{ $d.namespace | default .Release.Namespace }}
  labels:
    {{- include "redmetrics-service.labels" . | nindent 4 }}
    {{- with $d.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $d.folder }}
  annotations:
    {{ $d.folderAnnotation }}: {{ . | quote }}
  {{- end }}
data:
  {{ include "redmetrics-service.fullname" . }}-dashboard.json: |-
    {{- include "redmetrics-service.fromContract" (list . "files/dashboard.json") | nindent 4 }}
{{- end }}
"#;

/// The AlertmanagerConfig: receivers per severity from values, inhibition rules and message
/// templates from `files/alerting.yaml` (generated, read without `tpl`). Every value lands
/// through `toJson`, and the values schema keeps quotes and braces out of them.
const ALERTMANAGER_CONFIG: &str = r#"{{- if and .Values.metrics.enabled .Values.metrics.alertmanagerConfig.enabled }}
{{- $a := .Values.metrics.alertmanagerConfig }}
{{- $f := .Files.Get "files/alerting.yaml" | fromYaml }}
{{- $m := $f.messages }}
{{- $name := include "redmetrics-service.fullname" . }}
{{- $job := include "redmetrics-service.job" . }}
{{- $dashboard := "" }}
{{- if $a.grafanaURL }}
{{- $uid := printf "redmetrics-%s" (.Values.metrics.prefix | replace "_" "-") | trunc 40 }}
{{- $dashboard = printf "%s/d/%s?var-namespace=%s&var-job=%s" (trimSuffix "/" $a.grafanaURL) $uid .Release.Namespace $job }}
{{- end }}
{{- $text := $m.text }}
{{- $html := $m.html }}
{{- $details := $m.details }}
{{- if $dashboard }}
{{- $text = printf "%sDashboard: %s\n" $m.text $dashboard }}
{{- $html = printf "%sDashboard: %s<br>\n" $m.html $dashboard }}
{{- $details = append $m.details (dict "key" "dashboard" "value" $dashboard) }}
{{- end }}
apiVersion: monitoring.coreos.com/v1alpha1
kind: AlertmanagerConfig
metadata:
  name: {{ $name }}-alerts
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "redmetrics-service.labels" . | nindent 4 }}
    {{- with $a.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  route:
    receiver: {{ $name }}-warning
    groupBy: [alertname, job, namespace]
    groupWait: {{ $a.groupWait }}
    groupInterval: {{ $a.groupInterval }}
    repeatInterval: {{ $a.repeatInterval }}
    matchers:
      - name: job
        matchType: "="
        value: {{ $job | toJson }}
    routes:
      {{- range $severity := {severities} }}
      - receiver: {{ $name }}-{{ $severity }}
        matchers:
          - name: severity
            matchType: "="
            value: {{ $severity }}
      {{- end }}
  receivers:
    {{- range $severity := {severities} }}
    {{- $to := index $a.routes $severity }}
    - name: {{ $name }}-{{ $severity }}
      {{- if has "slack" $to }}
      slackConfigs:
        - sendResolved: true
          apiURL: {{ required "metrics.alertmanagerConfig.slack.apiURL: routes send to slack; reference the webhook URL's Secret key ({name, key})" $a.slack.apiURL | toJson }}
          channel: {{ required "metrics.alertmanagerConfig.slack.channel: routes send to slack; name the channel (e.g. #alerts)" $a.slack.channel | toJson }}
          title: {{ $m.title | toJson }}
          text: {{ $text | toJson }}
      {{- end }}
      {{- if has "email" $to }}
      emailConfigs:
        - sendResolved: true
          to: {{ required "metrics.alertmanagerConfig.email.to: routes send to email; list the addresses" $a.email.to | join ", " | toJson }}
          from: {{ required "metrics.alertmanagerConfig.email.from: the sender address" $a.email.from | toJson }}
          smarthost: {{ required "metrics.alertmanagerConfig.email.smarthost: the SMTP server as host:port" $a.email.smarthost | toJson }}
          requireTLS: {{ $a.email.requireTLS }}
          {{- if $a.email.authUsername }}
          authUsername: {{ $a.email.authUsername | toJson }}
          authPassword: {{ required "metrics.alertmanagerConfig.email.authPassword: reference the SMTP password's Secret key ({name, key})" $a.email.authPassword | toJson }}
          {{- end }}
          headers:
            - key: Subject
              value: {{ $m.title | toJson }}
          html: {{ $html | toJson }}
          text: {{ $text | toJson }}
      {{- end }}
      {{- if has "pagerduty" $to }}
      pagerdutyConfigs:
        - sendResolved: true
          routingKey: {{ required "metrics.alertmanagerConfig.pagerduty.routingKey: routes send to pagerduty; reference the routing key's Secret key ({name, key})" $a.pagerduty.routingKey | toJson }}
          {{- with $a.pagerduty.url }}
          url: {{ . | toJson }}
          {{- end }}
          description: {{ $m.title | toJson }}
          severity: {{ $m.pagerdutySeverity | toJson }}
          details: {{ $details | toJson }}
          {{- if $dashboard }}
          client: Grafana
          clientURL: {{ $dashboard | toJson }}
          {{- end }}
      {{- end }}
    {{- end }}
  inhibitRules: {{ $f.inhibitRules | toJson }}
{{- end }}
"#;

/// The PrometheusAgent of `metrics.globalView`: the ServiceMonitor's targets, remote-written
/// through the keep-list `generate` derives from the rules (`files/global-view.yaml`). Every
/// user string lands through `toJson`; the values schema refuses a URL, tenant or label name
/// that is not one.
const PROMETHEUS_AGENT: &str = r#"{{- $g := .Values.metrics.globalView }}
{{- if and .Values.metrics.enabled $g.agent.enabled }}
{{- $sm := .Values.metrics.serviceMonitor }}
{{- if not $sm.enabled }}
{{- fail "metrics.globalView.agent.enabled: the agent scrapes the service through the chart's ServiceMonitor; set metrics.serviceMonitor.enabled=true too" }}
{{- end }}
{{- $view := include "redmetrics-service.fromContract" (list . "files/global-view.yaml") | fromYaml }}
{{- $keep := index $view.remote_write_agent.write_relabel_configs 0 }}
{{- $smNamespace := $sm.namespace | default .Release.Namespace }}
apiVersion: monitoring.coreos.com/v1alpha1
kind: PrometheusAgent
metadata:
  name: {{ include "redmetrics-service.fullname" . }}-agent
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "redmetrics-service.labels" . | nindent 4 }}
spec:
  replicas: 1
  {{- with $g.agent.serviceAccountName }}
  serviceAccountName: {{ . | toJson }}
  {{- end }}
  serviceMonitorSelector:
    matchLabels:
      {{- include "redmetrics-service.selectorLabels" . | nindent 6 }}
  {{- if ne $smNamespace .Release.Namespace }}
  serviceMonitorNamespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ $smNamespace | toJson }}
  {{- end }}
  {{- with $g.externalLabels }}
  externalLabels: {{ toJson . }}
  {{- end }}
  remoteWrite:
    - url: {{ required "metrics.globalView.remoteWrite.url: where the agent pushes, e.g. https://mimir.example.com/api/v1/push" $g.remoteWrite.url | toJson }}
      {{- with $g.remoteWrite.tenant }}
      headers:
        X-Scope-OrgID: {{ . | toJson }}
      {{- end }}
      writeRelabelConfigs:
        - sourceLabels: [__name__]
          regex: {{ $keep.regex | toJson }}
          action: keep
{{- end }}
"#;

const NOTES: &str = r#"{{ include "redmetrics-service.fullname" . }} serves metrics at {{ .Values.metrics.path }} on Service port "{{ .Values.service.portName }}".
{{- if not (and .Values.metrics.enabled .Values.metrics.serviceMonitor.enabled) }}
No ServiceMonitor was rendered: apply one selecting app.kubernetes.io/name: {{ include "redmetrics-service.name" . }} (the Service's label; redmetrics generate's deploy/<app>/servicemonitor.yaml selects the app's service_labels), or set metrics.serviceMonitor.enabled=true.
{{- end }}
Check the wiring: helm template ... | redmetrics check manifests - --namespace {{ .Release.Namespace }}
"#;

#[cfg(test)]
mod tests {
    use std::process::Command;

    use serde_json::{Value, json};

    use super::{HELPERS, static_files, token_app};

    /// The sentinels the `redmetrics-service.rules` helper replaces from values, written out by
    /// hand: each must be in the rules generated for the token app (else that threshold or
    /// `for` could not be set) and in the helper's replace chain.
    #[test]
    fn the_token_rules_carry_every_sentinel_the_helper_replaces() {
        let rules = super::super::rules_yaml(&token_app().unwrap()).unwrap();
        for sentinel in [
            "0.0421337",
            "4.213%",
            "4.21337",
            "0.0987654",
            "3h1m7s",
            "3h1m8s",
            "3h1m9s",
            "3h1m11s",
        ] {
            assert!(
                rules.contains(sentinel),
                "{sentinel} not in the rules:\n{rules}"
            );
            assert!(
                HELPERS.contains(&format!("replace {sentinel:?} ")),
                "{sentinel} not replaced by the helper"
            );
        }
    }

    /// The default values route each severity as `default_routes` says (warning to Slack and
    /// e-mail, critical also to PagerDuty), the AlertmanagerConfig template ranges over both
    /// severities, and Python's jsonschema accepts `values.yaml` against `values.schema.json`
    /// as `helm lint` must.
    #[test]
    fn the_static_files_route_both_severities_and_pass_their_schema() {
        let files = static_files();
        let file = |path: &str| {
            files
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, text)| text.clone())
                .unwrap_or_else(|| panic!("no {path}"))
        };
        let values: Value = serde_saphyr::from_str(&file("values.yaml")).unwrap();
        assert_eq!(
            values["metrics"]["alertmanagerConfig"]["routes"],
            json!({ "warning": ["slack", "email"], "critical": ["slack", "email", "pagerduty"] })
        );
        let template = file("templates/alertmanagerconfig.yaml");
        assert_eq!(
            template
                .matches("range $severity := list \"critical\" \"warning\" }}")
                .count(),
            2,
            "{template}"
        );
        let dir = tempfile::tempdir().unwrap();
        let schema = dir.path().join("values.schema.json");
        std::fs::write(&schema, file("values.schema.json")).unwrap();
        let script = "import json, sys\n\
            from jsonschema import Draft7Validator\n\
            errors = [e.message for e in Draft7Validator(json.load(open(sys.argv[1])))\n\
            \x20         .iter_errors(json.loads(sys.argv[2]))]\n\
            assert not errors, errors\n";
        crate::generate::peer_verdict(
            Command::new("python3")
                .args(["-c", script])
                .arg(&schema)
                .arg(values.to_string()),
            "python3 with jsonschema is installed by scripts/test",
        );
    }
}
