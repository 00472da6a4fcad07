"""Independent judge: validate Kubernetes objects against the Prometheus Operator's API types,
as `kubectl apply --validate=strict` would, with the schemas published on PyPI as
`cloudcoil-models-prometheus-operator` (pydantic models generated from the operator's CRDs;
scripts/test installs the pinned version). Each kind's model gives its JSON schema, which is
then made strict: unknown fields are errors (the API server would silently prune them, which
is how a misspelt `scrapTimeout` goes unnoticed), and wrong types are errors.

Usage: crd_validate.py KIND < manifests (one or more YAML documents)
KIND is ServiceMonitor, PrometheusRule, AlertmanagerConfig (v1alpha1, the version
kube-prometheus-stack's Alertmanager selects), Prometheus or PrometheusAgent (v1alpha1). Objects of other kinds are skipped. Prints a
JSON list of {"kind", "name", "errors"}; exits 1 when any object has errors, 2 on bad usage.
"""

import json
import sys

import jsonschema
import yaml
from cloudcoil.models.prometheus_operator import v1, v1alpha1

MODELS = {
    "ServiceMonitor": v1.ServiceMonitor,
    "PrometheusRule": v1.PrometheusRule,
    "AlertmanagerConfig": v1alpha1.AlertmanagerConfig,
    "Prometheus": v1.Prometheus,
    "PrometheusAgent": v1alpha1.PrometheusAgent,
}


def strict(schema):
    """Forbid properties a schema object does not declare, unless it says what extra ones
    may hold (maps such as labels carry `additionalProperties` of their own)."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for value in schema.values():
            strict(value)
    elif isinstance(schema, list):
        for value in schema:
            strict(value)
    return schema


def deepest(error):
    """The most specific cause: optional fields are `anyOf [T, null]`, whose own error only
    says the value matched neither; the deepest error inside the branches names the field."""
    if not error.context:
        return error
    return max((deepest(e) for e in error.context), key=lambda e: len(e.absolute_path))


class Loader(yaml.SafeLoader):
    """YAML 1.1 reads the enum value `=` as the `value` tag; a YAML 1.2 reader sees a string."""


Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in MODELS:
        print(f"usage: crd_validate.py {{{','.join(MODELS)}}}", file=sys.stderr)
        sys.exit(2)
    kind = sys.argv[1]
    schema = strict(MODELS[kind].model_json_schema(by_alias=True, mode="validation"))
    validator = jsonschema.Draft202012Validator(schema)
    report = []
    for doc in yaml.load_all(sys.stdin.read(), Loader=Loader):
        if not isinstance(doc, dict) or doc.get("kind") != kind:
            continue
        errors = []
        for e in validator.iter_errors(doc):
            e = deepest(e)
            path = ".".join(str(p) for p in e.absolute_path) or "<root>"
            errors.append(f"{path}: {e.message}")
        report.append({"kind": kind, "name": doc["metadata"]["name"], "errors": errors})
    json.dump(report, sys.stdout)
    sys.exit(1 if any(r["errors"] for r in report) else 0)


if __name__ == "__main__":
    main()
