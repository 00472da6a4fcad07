"""Independent judge: validate Kubernetes objects against a CustomResourceDefinition's
openAPIV3Schema (version v1), as `kubectl apply --validate=strict` would.

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


def main():
    with open(sys.argv[1]) as f:
        crd = yaml.safe_load(f)
    kind = crd["spec"]["names"]["kind"]
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = strict(version["schema"]["openAPIV3Schema"])
    validator = jsonschema.Draft7Validator(schema)
    report = []
    for doc in yaml.safe_load_all(sys.stdin.read()):
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
