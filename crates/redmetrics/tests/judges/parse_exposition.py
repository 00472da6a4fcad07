"""Independent judge: parse an exposition with Python's prometheus_client parsers.

Usage: parse_exposition.py text|openmetrics < exposition
Prints the parsed families as JSON; non-finite values are written as strings ("NaN", "+Inf").
A sample is [name, labels, value], plus [exemplar labels, value, timestamp] when it carries
an exemplar.
Exits non-zero (with the parser's message) when the exposition does not parse.
"""

import json
import math
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text


def number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return float(v)


def sample(s):
    out = [s.name, s.labels, number(s.value)]
    e = getattr(s, "exemplar", None)
    if e is not None:
        ts = None if e.timestamp is None else float(e.timestamp)
        out.append([e.labels, number(e.value), ts])
    return out


def main():
    fmt = sys.argv[1]
    data = sys.stdin.read()
    parse = parse_openmetrics if fmt == "openmetrics" else parse_text
    families = []
    for fam in parse(data):
        families.append(
            {
                "name": fam.name,
                "type": fam.type,
                "help": fam.documentation,
                "unit": getattr(fam, "unit", ""),
                "samples": [sample(s) for s in fam.samples],
            }
        )
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
