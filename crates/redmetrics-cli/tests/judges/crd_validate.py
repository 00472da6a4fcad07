"""Independent judge: validate Kubernetes objects against a CustomResourceDefinition's
openAPIV3Schema (version v1, or the CRD's only version, e.g. AlertmanagerConfig's v1alpha1),
as `kubectl apply --validate=strict` would. The schema itself is not checked: it carries Go
regexes (`(?i)`), and the API server does not check it either.

Usage: crd_validate.py CRD_YAML < manifests (one or more YAML documents)
Objects of other kinds are skipped. Unknown fields are errors (the API server would silently
prune them, which is how a misspelt `scrapTimeout` goes unnoticed). Prints a JSON list of
{"kind", "name", "errors"}; exits 1 when any object has errors.
"""

import json
import sys

import jsonschema
import yaml


def strict(schema):
    """Forbid properties the schema does not declare, unless it preserves unknown fields."""
    if isinstance(schema, dict):
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        for value in schema.values():
            strict(value)
    elif isinstance(schema, list):
        for value in schema:
            strict(value)
    return schema


class Loader(yaml.SafeLoader):
    """YAML 1.1 reads the enum value `=` as the `value` tag; a YAML 1.2 reader sees a string."""


Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def main():
    with open(sys.argv[1]) as f:
        crd = yaml.load(f, Loader=Loader)
    kind = crd["spec"]["names"]["kind"]
    versions = crd["spec"]["versions"]
    version = next((v for v in versions if v["name"] == "v1"), versions[0] if len(versions) == 1 else None)
    schema = strict(version["schema"]["openAPIV3Schema"])
    validator = jsonschema.Draft7Validator(schema)
    report = []
    for doc in yaml.load_all(sys.stdin.read(), Loader=Loader):
        if not doc or doc.get("kind") != kind:
            continue
        errors = [
            f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in validator.iter_errors(doc)
        ]
        report.append({"kind": kind, "name": doc["metadata"]["name"], "errors": errors})
    json.dump(report, sys.stdout)
    sys.exit(1 if any(r["errors"] for r in report) else 0)


if __name__ == "__main__":
    main()
