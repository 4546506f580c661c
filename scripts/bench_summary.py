#!/usr/bin/env python3
"""Real-time view of the Criterion results: median time and DSP load.

Reads Criterion's own files (target/criterion/**/<baseline>/estimates.json
and the benchmark.json beside each), so it shows exactly what Criterion
measured. DSP load at 48 kHz / 512 is the median divided by the 10.667 ms
block period; for benches swept over block size (an id with frames=N) the
load at that bench's own block (N / 48 kHz) is shown as well.

usage: scripts/bench_summary.py [baseline]   (default: "new", the last run)
"""
import json
import os
import re
import signal
import sys

SAMPLE_RATE = 48_000.0
BLOCK_PERIOD_NS = 512 / SAMPLE_RATE * 1e9  # 10.667 ms


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.3f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.3f} µs"
    return f"{ns:.1f} ns"


def main():
    baseline = sys.argv[1] if len(sys.argv) > 1 else "new"
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")
    if not os.path.isdir(root):
        sys.exit(f"bench_summary: {os.path.normpath(root)} does not exist: run scripts/bench.sh all first")
    rows = []
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != baseline or "estimates.json" not in files:
            continue
        est_path = os.path.join(dirpath, "estimates.json")
        bench_path = os.path.join(dirpath, "benchmark.json")
        try:
            with open(est_path) as f:
                median = json.load(f)["median"]["point_estimate"]
            with open(bench_path) as f:
                bench = json.load(f)
        except (OSError, ValueError, KeyError) as e:
            sys.exit(f"bench_summary: cannot read {est_path}: {e}")
        if not bench.get("throughput"):
            continue  # not a process bench (set-up, reset, construction)
        full_id = bench["full_id"]
        m = re.search(r"frames=(\d+)", full_id)
        own = None
        if m:
            own = median / (int(m.group(1)) / SAMPLE_RATE * 1e9) * 100
        rows.append((full_id, median, median / BLOCK_PERIOD_NS * 100, own))
    if not rows:
        sys.exit(f"bench_summary: no results for baseline '{baseline}' under {os.path.normpath(root)}")
    rows.sort()
    width = max(len(r[0]) for r in rows)
    print(f"{'bench':<{width}}  {'median':>11}  {'load@48k/512':>12}  {'load@own block':>14}")
    for full_id, median, load, own in rows:
        own_s = f"{own:.4f} %" if own is not None else "-"
        print(f"{full_id:<{width}}  {fmt_time(median):>11}  {load:>10.4f} %  {own_s:>14}")
    print(f"\n{len(rows)} process benches, baseline '{baseline}'; block period at 48 kHz / 512 = 10.667 ms")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    main()
