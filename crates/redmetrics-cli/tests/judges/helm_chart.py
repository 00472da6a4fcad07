"""Independent judge: render or lint a Helm chart with Helm's own Go SDK (helm-python-sdk).

Usage:
  helm_chart.py render CHART_DIR RELEASE NAMESPACE < values.json   -> {"template path": "manifest"}
  helm_chart.py lint CHART_DIR < values.json                       -> Helm's lint report
  helm_chart.py sets 'a.b=c' ...                                   -> the values `--set` makes of them
"""

import json
import sys

import helm_python as helm


def main():
    if sys.argv[1] == "sets":
        values = {}
        for expression in sys.argv[2:]:
            values = merge(values, helm.parse_set_string(expression))
        json.dump(values, sys.stdout)
        return
    command, chart = sys.argv[1], sys.argv[2]
    values = json.loads(sys.stdin.read() or "{}")
    if command == "render":
        release, namespace = sys.argv[3], sys.argv[4]
        rendered = helm.Chart.load(chart).render(values, name=release, namespace=namespace)
        json.dump(rendered, sys.stdout)
    elif command == "lint":
        json.dump(helm.lint(chart, values, strict=True), sys.stdout)
    else:
        sys.exit(f"unknown command {command}")


def merge(base, top):
    """Helm's merge of values: later `--set`s or `-f` files win key by key, maps merge."""
    out = dict(base)
    for k, v in top.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


if __name__ == "__main__":
    main()
