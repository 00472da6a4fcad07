#!/usr/bin/env python3
"""The live page's figures computed independently from two /metrics scrapes.

Usage: live_figures.py PREFIX SECONDS BEFORE.txt AFTER.txt
Parses both scrapes with prometheus_client's text parser, takes the counter and bucket
deltas between them and prints JSON: request rate, rate per status class, 5xx ratio,
P50/P95/P99 and the quantiles 0.02 either side of each over the window, the in-flight gauge
of each scrape and the upper bound of the highest bucket any request reached, and per route
(method, path) the same since the process started (AFTER alone).
Quantiles follow Prometheus' histogram_quantile (promql/quantile.go, bucketQuantile).
"""
import json
import math
import sys
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families


def read(path, prefix):
    requests = defaultdict(float)  # (method, path, status) -> count
    buckets = defaultdict(float)  # (method, path, le) -> cumulative count
    gauges = {}
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == f"{prefix}_http_requests_total":
                requests[(s.labels["method"], s.labels["path"], s.labels["status"])] += s.value
            elif s.name == f"{prefix}_http_request_duration_seconds_bucket":
                le = float(s.labels["le"])
                buckets[(s.labels["method"], s.labels["path"], le)] += s.value
            elif s.name == f"{prefix}_http_active_connections":
                gauges["in_flight"] = s.value
    return requests, buckets, gauges


def quantile(q, cumulative):
    """cumulative: sorted list of (le, count), +Inf last."""
    total = cumulative[-1][1]
    if total == 0:
        return None
    rank = q * total
    for i, (le, count) in enumerate(cumulative):
        if count >= rank:
            break
    if math.isinf(le):
        return cumulative[-2][0]
    start, below = (0.0, 0.0) if i == 0 else cumulative[i - 1]
    return start + (le - start) * (rank - below) / (count - below)


def figures(requests, buckets, seconds, route=None):
    keep = lambda k: route is None or (k[0], k[1]) == route
    total = sum(v for k, v in requests.items() if keep(k))
    errors = sum(v for k, v in requests.items() if keep(k) and k[2].startswith("5"))
    by_le = defaultdict(float)
    for k, v in buckets.items():
        if keep(k):
            by_le[k[2]] += v
    cumulative = sorted(by_le.items())
    classes = defaultdict(float)
    for k, v in requests.items():
        if keep(k):
            classes[k[2][0] + "xx"] += v
    reached = [le for i, (le, n) in enumerate(cumulative) if n > (cumulative[i - 1][1] if i else 0)]
    return {
        "requests": total,
        "requests_per_second": total / seconds,
        "class_per_second": {c: classes[c] / seconds for c in ("2xx", "4xx", "5xx")},
        "highest_bucket_reached": reached[-1] if reached and not math.isinf(reached[-1]) else None,
        "quantile_ranges": {
            name: [quantile(q - 0.02, cumulative), quantile(min(q + 0.02, 1.0), cumulative)]
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        } if cumulative else None,
        "error_ratio": errors / total if total else None,
        "p50_seconds": quantile(0.5, cumulative) if cumulative else None,
        "p95_seconds": quantile(0.95, cumulative) if cumulative else None,
        "p99_seconds": quantile(0.99, cumulative) if cumulative else None,
    }


def main():
    prefix, seconds, before, after = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
    req_a, buck_a, gauge_a = read(before, prefix)
    req_b, buck_b, gauge_b = read(after, prefix)
    d_req = {k: v - req_a.get(k, 0.0) for k, v in req_b.items()}
    d_buck = {k: v - buck_a.get(k, 0.0) for k, v in buck_b.items()}
    routes = sorted({(k[0], k[1]) for k in req_b})
    print(json.dumps({
        "window": figures(d_req, d_buck, seconds),
        "in_flight": [gauge_a.get("in_flight"), gauge_b.get("in_flight")],
        "routes_since_start": {
            f"{m} {p}": figures(req_b, buck_b, 1.0, (m, p)) for (m, p) in routes
        },
    }))


if __name__ == "__main__":
    main()
