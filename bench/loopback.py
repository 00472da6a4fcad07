"""Loopback throughput: wrk against each server in interleaved rounds (A B C ... A B C ...),
then the median requests/s per server and the ratio of each to its bare baseline.

Usage: loopback.py ROUNDS SECONDS name=port[:baseline] ...
Prints a Markdown table. Only 127.0.0.1 is targeted; every run is bounded by SECONDS.
"""

import re
import statistics
import subprocess
import sys
import time

LUA = __file__.rsplit("/", 1)[0] + "/paths.lua"


def wrk(port, seconds):
    out = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{seconds}s", "-s", LUA, f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"port {port}: {errors.group(1)} failed responses\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main():
    rounds, seconds = int(sys.argv[1]), int(sys.argv[2])
    servers = []
    for spec in sys.argv[3:]:
        name, rest = spec.split("=")
        port, _, base = rest.partition(":")
        servers.append((name, int(port), base or None))
    for _, port, _ in servers:  # warm up
        wrk(port, 2)
    results = {name: [] for name, _, _ in servers}
    for r in range(rounds):
        for name, port, _ in servers:
            results[name].append(wrk(port, seconds))
            time.sleep(0.5)
        print(f"round {r + 1}: " + ", ".join(f"{n} {results[n][-1]:.0f}" for n, _, _ in servers), file=sys.stderr)
    medians = {n: statistics.median(v) for n, v in results.items()}
    print("| server | median req/s | rounds | vs its bare baseline |")
    print("|---|---|---|---|")
    for name, _, base in servers:
        ratio = f"{medians[name] / medians[base]:.2f}x" if base else "baseline"
        runs = ", ".join(f"{v:.0f}" for v in results[name])
        print(f"| {name} | {medians[name]:.0f} | {runs} | {ratio} |")
    # Per-pair ratios, round by round (A B A B): robust to drift across rounds.
    print()
    print("| pair | per-round ratios | median |")
    print("|---|---|---|")
    for name, _, base in servers:
        if base:
            ratios = [a / b for a, b in zip(results[name], results[base])]
            print(f"| {name} / {base} | {', '.join(f'{x:.3f}' for x in ratios)} | {statistics.median(ratios):.3f} |")


if __name__ == "__main__":
    main()
