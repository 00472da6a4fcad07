#!/usr/bin/env bash
# Wall clock before and after a change, in one run on one machine: the criterion
# `per_request` benchmark of two builds run in turn (A B A B ...), then the loopback run with
# both builds' servers, axum-prometheus and the Go reference in interleaved rounds. Ratios
# within a round are what to compare: absolute times drift with the machine's load, which is
# printed beside them.
#
# Usage: [PARTS="criterion loopback"] [BEFORE_VARIANT=redmetrics-axum-layer] \
#          bench/before-after.sh BEFORE_DIR AFTER_DIR [ROUNDS]
#   PARTS picks the halves to run. BEFORE_VARIANT is the before build's server variant: a
#   build older than `axum_layer()` (e.g. 2bea9be) only has `redmetrics` (`layer()`); the
#   after build serves both, so its `layer()` is measured too, for the same integration.
#   Each directory holds `per_request` (the criterion benchmark executable that
#   `cargo bench -p redmetrics-bench --bench per_request --no-run` names) and `bench-server`
#   (`cargo build --release -p redmetrics-bench --bin bench-server`, built after the former:
#   `cargo bench` rebuilds the package's binaries with the bench profile), copied from a
#   build of each commit. Needs wrk and Go (see bench/run.sh). Everything targets 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$1
after=$2
rounds=${3:-3}
out=target/bench/before-after
mkdir -p "$out"
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$PWD/target/go-cache"
go build -o target/go-reference ./bench/go-reference

criterion() { # NAME EXECUTABLE ROUND
  echo "== $1 round $3 (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  "$2" --bench --noplot --warm-up-time 1 --measurement-time 2 'per_request|recording_only' 2>&1 \
    | awk '/^(per_request|recording_only)/ {name = $1}
           /time:/ {for (i = 1; i <= NF; i++) if ($i == "time:") print name, $(i + 3), $(i + 4)}'
}
parts=${PARTS:-criterion loopback}
before_variant=${BEFORE_VARIANT:-redmetrics-axum-layer}
if [[ " $parts " == *" criterion "* ]]; then
{
  for r in $(seq "$rounds"); do
    criterion before "$before/per_request" "$r"
    criterion after "$after/per_request" "$r"
    echo "== go round $r (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    (cd bench/go-reference && go test -run XXX -bench . -benchtime 2s | grep ^Benchmark)
  done
} | tee "$out/criterion.txt"
fi
[[ " $parts " == *" loopback "* ]] || exit 0

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
"$after/bench-server" bare 127.0.0.1:18091 2>/dev/null & pids+=($!)
"$before/bench-server" "$before_variant" 127.0.0.1:18092 2>/dev/null & pids+=($!)
"$after/bench-server" redmetrics-axum-layer 127.0.0.1:18093 2>/dev/null & pids+=($!)
"$after/bench-server" axum-prometheus 127.0.0.1:18094 2>/dev/null & pids+=($!)
target/go-reference -variant bare -listen 127.0.0.1:18095 2>/dev/null & pids+=($!)
target/go-reference -variant instrumented -listen 127.0.0.1:18096 2>/dev/null & pids+=($!)
"$after/bench-server" redmetrics 127.0.0.1:18097 2>/dev/null & pids+=($!)
sleep 1
echo "load before loopback: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/loopback.txt"
python3 bench/loopback.py "$rounds" 3 \
  axum_bare=18091 redmetrics_before=18092:axum_bare redmetrics_after=18093:axum_bare \
  axum_prometheus=18094:axum_bare go_bare=18095 go_client_golang=18096:go_bare \
  redmetrics_after_layer=18097:axum_bare \
  | tee -a "$out/loopback.txt"
echo "load after loopback: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/loopback.txt"
