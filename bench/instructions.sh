#!/usr/bin/env bash
# Instructions per request (and per scrape) under callgrind: each mode runs at two sizes and
# the difference is divided by the extra operations, so set-up cost cancels out. Counts, not
# seconds: they hold on a loaded machine, which makes them the before/after figure of record
# for refactors of the request path and the encoder (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
cargo build -q --release -p redmetrics-bench --bin instructions
bin=target/release/instructions
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 \
  | awk '/Collected/ {print $4}'; }
per_op() { local a b; a=$(count "$1" "$2"); b=$(count "$1" "$3"); echo $(( (b - a) / ($3 - $2) )); }
printf '%-30s %s\n' mode instructions/op
for mode in axum-bare axum-wrap-bodies axum-redmetrics axum-redmetrics-axum-layer \
  axum-cost-noop axum-cost-wrap-request axum-cost-wrap-response axum-cost-outer axum-cost-outer-boxed axum-cost-split \
  tower-bare tower-redmetrics \
  tower-redmetrics-no-exemplars tower-redmetrics-by-status-off tower-bare-headers tower-redmetrics-headers \
  tower-bare-traceparent tower-redmetrics-traceparent; do
  printf '%-30s %s\n' "$mode" "$(per_op "$mode" 2000 12000)"
done
text=$(per_op render-text-1000 2 12)
protobuf=$(per_op render-protobuf-1000 2 12)
printf '%-30s %s\n' render-text-1000 "$text"
printf '%-30s %s (%s x text)\n' render-protobuf-1000 "$protobuf" \
  "$(awk -v p="$protobuf" -v t="$text" 'BEGIN { printf "%.2f", p / t }')"
for mode in otlp-1000 otlp-gzip-1000; do
  printf '%-30s %s\n' "$mode" "$(per_op "$mode" 2 12)"
done
