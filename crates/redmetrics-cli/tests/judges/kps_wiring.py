#!/usr/bin/env python3
"""Independent judge: what a kube-prometheus-stack release would pick up.

Renders the upstream chart with Helm's own Go SDK (helm-python-sdk), once per values set,
and evaluates, as the Prometheus Operator and the Grafana sidecar do, which objects its
Prometheus, Alertmanager and dashboard sidecar select, and which Secrets its pods need.

Input (JSON on stdin):
  {"chart": DIR, "release": NAME, "namespace": NS,
   "values": {"label": [values file, ...], ...},   # [] renders the chart's defaults
   "objects": [manifest file, ...],                 # objects to judge besides the chart's own
   "docs": [markdown file, ...]}                    # where `kubectl create secret` commands are
Output (JSON): {"missing": why} when the chart or a subchart that matters is absent, else
  {"absent_subcharts": [...], "renders": {label: {"selection": {object id: [selector id, ...]},
                       "sidecar": {...}, "required_secrets": [[ns, name, who]],
                       "provided_secrets": [[ns, name]]}},
   "docs_secrets": [{"namespace", "name", "keys"}], "object_ids": [...]}

Selector rules (Prometheus Operator): a nil label selector selects nothing, `{}` selects
everything; a nil namespace selector means the custom resource's own namespace, `{}` every
namespace; a namespace carries the label kubernetes.io/metadata.name. Grafana's sidecar
(k8s-sidecar): LABEL must be present, equal to LABEL_VALUE when set; NAMESPACE is ALL, a
comma-separated list, or (absent) the pod's own namespace.
"""

import json
import os
import shlex
import sys

import helm_python as helm
import yaml

# Helm's merge of values, the same for -f files as for --set: maps key by key, else replaced.
from helm_chart import merge


def docs_of(stream):
    return [d for d in yaml.safe_load_all(stream) if isinstance(d, dict) and d.get("kind")]


def oid(obj, default_ns):
    meta = obj.get("metadata") or {}
    return f"{obj['kind']} {meta.get('namespace') or default_ns}/{meta.get('name')}"


def ns_of(obj, default_ns):
    return (obj.get("metadata") or {}).get("namespace") or default_ns


def labels_of(obj):
    return {k: str(v) for k, v in ((obj.get("metadata") or {}).get("labels") or {}).items()}


def selects(selector, labels):
    """A Kubernetes LabelSelector; None selects nothing, {} everything."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != str(v):
            return False
    for e in selector.get("matchExpressions") or []:
        have, values, op = labels.get(e["key"]), [str(v) for v in e.get("values") or []], e["operator"]
        ok = {
            "In": have is not None and have in values,
            "NotIn": have is None or have not in values,
            "Exists": have is not None,
            "DoesNotExist": have is None,
        }.get(op, False)
        if not ok:
            return False
    return True


def namespace_selected(ns_selector, own_ns, ns):
    if ns_selector is None:
        return ns == own_ns
    return selects(ns_selector, {"kubernetes.io/metadata.name": ns})


def missing_subcharts(chart):
    with open(os.path.join(chart, "Chart.yaml")) as f:
        meta = yaml.safe_load(f)
    present = os.listdir(os.path.join(chart, "charts")) if os.path.isdir(os.path.join(chart, "charts")) else []
    return [
        d["name"]
        for d in meta.get("dependencies") or []
        if not any(p == d["name"] or p.startswith(d["name"] + "-") for p in present)
    ]


def pod_specs(obj):
    kind, spec = obj["kind"], obj.get("spec") or {}
    if kind == "Pod":
        return [spec]
    if kind == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return [spec["template"]["spec"]]
    return []


def secrets_needed(obj, default_ns):
    """(namespace, Secret name, who) for every Secret the object's pods cannot start without."""
    ns, who, out = ns_of(obj, default_ns), oid(obj, default_ns), []
    for ps in pod_specs(obj):
        for v in ps.get("volumes") or []:
            s = v.get("secret")
            if s and not s.get("optional"):
                out.append((ns, s["secretName"], f"{who} volume {v['name']}"))
            for src in (v.get("projected") or {}).get("sources") or []:
                s = src.get("secret")
                if s and not s.get("optional"):
                    out.append((ns, s["name"], f"{who} volume {v['name']}"))
        for c in (ps.get("containers") or []) + (ps.get("initContainers") or []):
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    out.append((ns, ref["name"], f"{who} container {c['name']} env {e['name']}"))
            for e in c.get("envFrom") or []:
                ref = e.get("secretRef")
                if ref and not ref.get("optional"):
                    out.append((ns, ref["name"], f"{who} container {c['name']} envFrom"))
    spec = obj.get("spec") or {}
    if obj["kind"] in ("Alertmanager", "Prometheus"):
        for s in spec.get("secrets") or []:
            out.append((ns, s, f"{who} spec.secrets (mounted in its pods)"))
    if obj["kind"] == "Alertmanager":
        name = spec.get("configSecret") or f"alertmanager-{obj['metadata']['name']}"
        out.append((ns, name, f"{who} configuration Secret"))
    return out


def secrets_provided(objs, default_ns):
    """Secrets the release itself creates: rendered ones, and those its certgen Jobs create."""
    out = set()
    for o in objs:
        if o["kind"] == "Secret":
            out.add((ns_of(o, default_ns), o["metadata"]["name"]))
        if o["kind"] == "Job":
            for ps in pod_specs(o):
                for c in ps.get("containers") or []:
                    args = c.get("args") or []
                    if args[:1] == ["create"]:
                        flags = dict(a[2:].split("=", 1) for a in args if a.startswith("--") and "=" in a)
                        if "secret-name" in flags:
                            out.add((flags.get("namespace", ns_of(o, default_ns)), flags["secret-name"]))
    return out


# Subcharts whose absence leaves the monitoring objects judged here unchanged, with the
# parent's value that switches each off (grafana stays on: the sidecar is then read from its
# values, see sidecar_from_values).
SPARE_SUBCHARTS = {
    "kube-state-metrics": "kubeStateMetrics",
    "prometheus-node-exporter": "nodeExporter",
    "prometheus-windows-exporter": "windowsMonitoring",
    "grafana": None,
}


def sidecar_from_values(grafana, default_ns):
    """The dashboard sidecar's settings as the grafana chart turns its values into the
    container's environment (grafana-community/helm-charts charts/grafana, `_pod.tpl`: LABEL,
    LABEL_VALUE, NAMESPACE from `searchNamespace` joined by commas, FOLDER_ANNOTATION) and into
    its provider ConfigMap (`foldersFromFilesStructure`); used when that subchart is absent."""
    dash = (grafana.get("sidecar") or {}).get("dashboards") or {}
    if not grafana.get("enabled", True) or not dash.get("enabled"):
        return None, False
    env = {"LABEL": dash.get("label")}
    if dash.get("labelValue") is not None:
        env["LABEL_VALUE"] = str(dash["labelValue"])
    search = dash.get("searchNamespace")
    if search:
        env["NAMESPACE"] = ",".join(search) if isinstance(search, list) else str(search)
    if dash.get("folderAnnotation"):
        env["FOLDER_ANNOTATION"] = dash["folderAnnotation"]
    folders = bool((dash.get("provider") or {}).get("foldersFromFilesStructure"))
    return {"namespace": default_ns, "env": env}, folders


def sidecar(objs, default_ns):
    for o in objs:
        if o["kind"] != "Deployment":
            continue
        for ps in pod_specs(o):
            for c in ps.get("containers") or []:
                env = {e["name"]: e.get("value") for e in c.get("env") or []}
                if c["name"] == "grafana-sc-dashboard":
                    return {"namespace": ns_of(o, default_ns), "env": env}
    return None


def provider_folders(objs):
    for o in objs:
        if o["kind"] == "ConfigMap" and "provider.yaml" in (o.get("data") or {}):
            provider = yaml.safe_load(o["data"]["provider.yaml"])
            return any((p.get("options") or {}).get("foldersFromFilesStructure") for p in provider.get("providers") or [])
    return False


def judge(rendered, extra, default_ns, grafana=None):
    objs = rendered + extra
    selection = {oid(o, default_ns): [] for o in objs if o["kind"] in ("ServiceMonitor", "PrometheusRule", "AlertmanagerConfig", "ConfigMap")}
    pairs = {
        "Prometheus": [("ServiceMonitor", "serviceMonitorSelector", "serviceMonitorNamespaceSelector"),
                       ("PrometheusRule", "ruleSelector", "ruleNamespaceSelector")],
        "Alertmanager": [("AlertmanagerConfig", "alertmanagerConfigSelector", "alertmanagerConfigNamespaceSelector")],
    }
    for cr in objs:
        for kind, sel, ns_sel in pairs.get(cr["kind"], []):
            spec, own = cr.get("spec") or {}, ns_of(cr, default_ns)
            for o in objs:
                if o["kind"] == kind and namespace_selected(spec.get(ns_sel), own, ns_of(o, default_ns)) and selects(spec.get(sel), labels_of(o)):
                    selection[oid(o, default_ns)].append(f"{oid(cr, default_ns)} {sel}")
    if grafana is None:
        sc, folders = sidecar(rendered, default_ns), provider_folders(rendered)
    else:
        sc, folders = sidecar_from_values(grafana, default_ns)
    if sc:
        env = sc["env"]
        namespaces = env.get("NAMESPACE")
        for o in objs:
            if o["kind"] != "ConfigMap":
                continue
            ns, labels = ns_of(o, default_ns), labels_of(o)
            in_ns = namespaces == "ALL" or ns in (namespaces.split(",") if namespaces else [sc["namespace"]])
            has = env.get("LABEL") in labels and (env.get("LABEL_VALUE") is None or labels[env["LABEL"]] == env["LABEL_VALUE"])
            if in_ns and has:
                selection[oid(o, default_ns)].append("grafana dashboard sidecar")
    return {
        "selection": selection,
        "sidecar": {
            "found": sc is not None,
            "label": sc and sc["env"].get("LABEL"),
            "label_value": sc and sc["env"].get("LABEL_VALUE"),
            "namespaces": sc and sc["env"].get("NAMESPACE"),
            "folder_annotation": sc and sc["env"].get("FOLDER_ANNOTATION"),
            "folders_from_files_structure": folders,
        },
        "required_secrets": sorted({r for o in rendered for r in secrets_needed(o, default_ns)}),
        "provided_secrets": sorted(secrets_provided(rendered, default_ns)),
    }


def docs_secrets(paths):
    """Every `kubectl create secret generic NAME -n NS --from-literal=KEY=… --from-file=KEY=…`."""
    out = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("kubectl create secret generic "):
                    continue
                words = shlex.split(line, comments=True)
                name, ns, keys, i = words[4], None, [], 5
                while i < len(words):
                    w = words[i]
                    if w in ("-n", "--namespace"):
                        ns, i = words[i + 1], i + 2
                        continue
                    if w.startswith("--namespace="):
                        ns = w.split("=", 1)[1]
                    for flag in ("--from-literal=", "--from-file="):
                        if w.startswith(flag):
                            keys.append(w[len(flag):].split("=", 1)[0])
                    i += 1
                out.append({"namespace": ns or "default", "name": name, "keys": keys})
    return out


def main():
    req = json.loads(sys.stdin.read())
    chart, release, ns = req["chart"], req["release"], req["namespace"]
    if not os.path.isfile(os.path.join(chart, "Chart.yaml")):
        json.dump({"missing": f"no chart at {chart}"}, sys.stdout)
        return
    absent = missing_subcharts(chart)
    unknown = [a for a in absent if a not in SPARE_SUBCHARTS]
    if unknown:
        json.dump({"missing": f"{chart} lacks its subchart(s) {', '.join(unknown)} in charts/"}, sys.stdout)
        return
    chart_values = {}
    if os.path.isfile(os.path.join(chart, "values.yaml")):
        with open(os.path.join(chart, "values.yaml")) as f:
            chart_values = yaml.safe_load(f) or {}
    extra = []
    for p in req["objects"]:
        with open(p) as f:
            extra += docs_of(f.read())
    loaded = helm.Chart.load(chart)
    renders = {}
    for label, files in req["values"].items():
        values = {}
        for path in files:
            with open(path) as f:
                values = merge(values, yaml.safe_load(f) or {})
        # A spare subchart that is absent is switched off, as a user without it would.
        off = {SPARE_SUBCHARTS[a]: {"enabled": False} for a in absent if SPARE_SUBCHARTS[a]}
        out = loaded.render(merge(values, off), name=release, namespace=ns)
        rendered = [d for k, t in sorted(out.items()) if k.endswith(".yaml") for d in docs_of(t)]
        grafana = None
        if "grafana" in absent:
            grafana = merge(chart_values.get("grafana") or {}, values.get("grafana") or {})
        renders[label] = judge(rendered, extra, ns, grafana)
    json.dump({
        "absent_subcharts": absent,
        "renders": renders,
        "docs_secrets": docs_secrets(req["docs"]),
        "object_ids": [oid(o, ns) for o in extra],
    }, sys.stdout)


if __name__ == "__main__":
    main()
