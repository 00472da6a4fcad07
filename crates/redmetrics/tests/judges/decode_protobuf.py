"""Independent judge: decode Prometheus' delimited protobuf exposition with Google's protobuf
runtime for Python, from message classes built here (io.prometheus.client, proto2, the field
numbers of client_model's metrics.proto), not from redmetrics' own types.

Usage: decode_protobuf.py [--messages] < body
Prints the families as JSON; a native histogram's spans and deltas are expanded into absolute
(key, count) pairs here. With --messages, prints each MetricFamily message as it decoded, every
field set and nothing expanded (json_format's form), for comparing two encoders message for
message. Exits non-zero when the body does not decode or is inconsistent.
"""

import json
import math
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.internal.decoder import _DecodeVarint32

F = descriptor_pb2.FieldDescriptorProto
OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED

# (message, [(field, number, type, label, type_name)])
MESSAGES = [
    ("LabelPair", [("name", 1, F.TYPE_STRING, OPT, None), ("value", 2, F.TYPE_STRING, OPT, None)]),
    ("Gauge", [("value", 1, F.TYPE_DOUBLE, OPT, None)]),
    # google.protobuf.Timestamp's fields, declared here under this package (same wire form).
    ("Timestamp", [("seconds", 1, F.TYPE_INT64, OPT, None), ("nanos", 2, F.TYPE_INT32, OPT, None)]),
    (
        "Exemplar",
        [
            ("label", 1, F.TYPE_MESSAGE, REP, "LabelPair"),
            ("value", 2, F.TYPE_DOUBLE, OPT, None),
            ("timestamp", 3, F.TYPE_MESSAGE, OPT, "Timestamp"),
        ],
    ),
    (
        "Counter",
        [
            ("value", 1, F.TYPE_DOUBLE, OPT, None),
            ("exemplar", 2, F.TYPE_MESSAGE, OPT, "Exemplar"),
            ("created_timestamp", 3, F.TYPE_MESSAGE, OPT, "Timestamp"),
        ],
    ),
    ("Untyped", [("value", 1, F.TYPE_DOUBLE, OPT, None)]),
    ("Quantile", [("quantile", 1, F.TYPE_DOUBLE, OPT, None), ("value", 2, F.TYPE_DOUBLE, OPT, None)]),
    (
        "Summary",
        [
            ("sample_count", 1, F.TYPE_UINT64, OPT, None),
            ("sample_sum", 2, F.TYPE_DOUBLE, OPT, None),
            ("quantile", 3, F.TYPE_MESSAGE, REP, "Quantile"),
            ("created_timestamp", 4, F.TYPE_MESSAGE, OPT, "Timestamp"),
        ],
    ),
    (
        "Bucket",
        [
            ("cumulative_count", 1, F.TYPE_UINT64, OPT, None),
            ("upper_bound", 2, F.TYPE_DOUBLE, OPT, None),
            ("exemplar", 3, F.TYPE_MESSAGE, OPT, "Exemplar"),
        ],
    ),
    ("BucketSpan", [("offset", 1, F.TYPE_SINT32, OPT, None), ("length", 2, F.TYPE_UINT32, OPT, None)]),
    (
        "Histogram",
        [
            ("sample_count", 1, F.TYPE_UINT64, OPT, None),
            ("sample_sum", 2, F.TYPE_DOUBLE, OPT, None),
            ("bucket", 3, F.TYPE_MESSAGE, REP, "Bucket"),
            ("created_timestamp", 15, F.TYPE_MESSAGE, OPT, "Timestamp"),
            ("schema", 5, F.TYPE_SINT32, OPT, None),
            ("zero_threshold", 6, F.TYPE_DOUBLE, OPT, None),
            ("zero_count", 7, F.TYPE_UINT64, OPT, None),
            ("negative_span", 9, F.TYPE_MESSAGE, REP, "BucketSpan"),
            ("negative_delta", 10, F.TYPE_SINT64, REP, None),
            ("positive_span", 12, F.TYPE_MESSAGE, REP, "BucketSpan"),
            ("positive_delta", 13, F.TYPE_SINT64, REP, None),
        ],
    ),
    (
        "Metric",
        [
            ("label", 1, F.TYPE_MESSAGE, REP, "LabelPair"),
            ("gauge", 2, F.TYPE_MESSAGE, OPT, "Gauge"),
            ("counter", 3, F.TYPE_MESSAGE, OPT, "Counter"),
            ("summary", 4, F.TYPE_MESSAGE, OPT, "Summary"),
            ("untyped", 5, F.TYPE_MESSAGE, OPT, "Untyped"),
            ("histogram", 7, F.TYPE_MESSAGE, OPT, "Histogram"),
        ],
    ),
    (
        "MetricFamily",
        [
            ("name", 1, F.TYPE_STRING, OPT, None),
            ("help", 2, F.TYPE_STRING, OPT, None),
            ("type", 3, F.TYPE_ENUM, OPT, "MetricType"),
            ("metric", 4, F.TYPE_MESSAGE, REP, "Metric"),
        ],
    ),
]
TYPES = ["COUNTER", "GAUGE", "SUMMARY", "UNTYPED", "HISTOGRAM", "GAUGE_HISTOGRAM"]


def message_class():
    fd = descriptor_pb2.FileDescriptorProto(
        name="judge_metrics.proto", package="io.prometheus.client", syntax="proto2"
    )
    enum = fd.enum_type.add(name="MetricType")
    for i, t in enumerate(TYPES):
        enum.value.add(name=t, number=i)
    for name, fields in MESSAGES:
        m = fd.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = ".io.prometheus.client." + type_name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("io.prometheus.client.MetricFamily")
    )


def number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return v


def expand(spans, deltas):
    """Absolute (key, count) pairs from spans and delta-encoded counts."""
    out, key, count, i = [], 0, 0, 0
    for n, span in enumerate(spans):
        key = span.offset if n == 0 else key + span.offset
        for _ in range(span.length):
            count += deltas[i]
            i += 1
            if count < 0:
                raise ValueError(f"negative bucket count at key {key}")
            out.append([key, count])
            key += 1
    if i != len(deltas):
        raise ValueError(f"spans cover {i} buckets, {len(deltas)} deltas")
    return out


def exemplar(e):
    """An exemplar as [labels, value, seconds since the epoch]."""
    seconds = e.timestamp.seconds + e.timestamp.nanos / 1e9
    return [{l.name: l.value for l in e.label}, number(e.value), seconds]


def histogram(h):
    out = {
        "count": h.sample_count,
        "sum": number(h.sample_sum),
        "buckets": [[number(b.upper_bound), b.cumulative_count] for b in h.bucket],
        "exemplars": [
            [number(b.upper_bound), exemplar(b.exemplar)] for b in h.bucket if b.HasField("exemplar")
        ],
        "native": None,
    }
    if len(h.positive_span) or h.zero_threshold > 0 or h.zero_count > 0:
        out["native"] = {
            "schema": h.schema,
            "zero_threshold": h.zero_threshold,
            "zero_count": h.zero_count,
            "buckets": [b for b in expand(h.positive_span, h.positive_delta) if b[1] > 0],
            "negative": expand(h.negative_span, h.negative_delta),
        }
    return out


def created(value):
    """A series' start as [seconds, nanos] (exact), or None when absent."""
    if not value.HasField("created_timestamp"):
        return None
    t = value.created_timestamp
    if not 0 <= t.nanos <= 999_999_999:
        raise ValueError(f"created_timestamp nanos {t.nanos} outside 0..999999999")
    return [t.seconds, t.nanos]


def metric(m):
    out = {"labels": {l.name: l.value for l in m.label}}
    for kind in ("counter", "summary", "histogram"):
        if m.HasField(kind):
            out["created"] = created(getattr(m, kind))
    if m.HasField("counter"):
        out["counter"] = number(m.counter.value)
        if m.counter.HasField("exemplar"):
            out["exemplar"] = exemplar(m.counter.exemplar)
    if m.HasField("gauge"):
        out["gauge"] = number(m.gauge.value)
    if m.HasField("summary"):
        s = m.summary
        out["summary"] = {
            "count": s.sample_count,
            "sum": number(s.sample_sum),
            "quantiles": [[q.quantile, number(q.value)] for q in s.quantile],
        }
    if m.HasField("histogram"):
        out["histogram"] = histogram(m.histogram)
    return out


def main():
    cls = message_class()
    messages = sys.argv[1:] == ["--messages"]
    data = sys.stdin.buffer.read()
    pos, families = 0, []
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        if pos + size > len(data):
            raise ValueError("message cut short")
        mf = cls()
        mf.ParseFromString(data[pos : pos + size])
        pos += size
        if messages:
            families.append(json_format.MessageToDict(mf, preserving_proto_field_name=True))
            continue
        families.append(
            {
                "name": mf.name,
                "help": mf.help,
                "type": TYPES[mf.type],
                "metrics": [metric(m) for m in mf.metric],
            }
        )
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
