#!/usr/bin/env bash
# Runs every benchmark behind BENCHMARKS.md and leaves the raw output in target/bench/:
# in-process cost per request (1 and 2 threads) next to a bare router and axum-prometheus,
# scrape rendering, memory per label set, the Go reference (in-process and over loopback),
# and loopback throughput with wrk. Everything targets 127.0.0.1 and is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench
mkdir -p "$out"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v wrk >/dev/null || ! command -v go >/dev/null \
   || [ ! -d /usr/share/gocode/src/github.com/prometheus/client_golang ]; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq wrk golang-go golang-github-prometheus-client-golang-dev >/dev/null
fi
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$PWD/target/go-cache"

{ uname -srm; nproc; grep -m1 'model name' /proc/cpuinfo; rustc --version; go version; { wrk --version 2>&1 || true; } | head -1; } | tee "$out/machine.txt"

cargo bench -p redmetrics-bench --bench per_request 2>&1 | tee "$out/per_request.txt"
cargo bench -p redmetrics-bench --bench render 2>&1 | tee "$out/render.txt"
cargo run -q --release -p redmetrics-bench --bin memory -- 20000 | tee "$out/memory.txt"
(cd bench/go-reference && go test -run XXX -bench . -benchtime 3s) | tee "$out/go.txt"

go build -o target/go-reference ./bench/go-reference
cargo build -q --release -p redmetrics-bench --bin bench-server
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for spec in bare:18081 redmetrics:18082 axum-prometheus:18083; do
  target/release/bench-server "${spec%%:*}" "127.0.0.1:${spec##*:}" & pids+=($!)
done
target/go-reference -variant bare -listen 127.0.0.1:18084 2>/dev/null & pids+=($!)
target/go-reference -variant instrumented -listen 127.0.0.1:18085 2>/dev/null & pids+=($!)
sleep 1
python3 bench/loopback.py 5 5 \
  axum_bare=18081 axum_redmetrics=18082:axum_bare axum_prometheus=18083:axum_bare \
  go_bare=18084 go_client_golang=18085:go_bare | tee "$out/loopback.txt"
