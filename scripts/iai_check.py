#!/usr/bin/env python3
"""Instruction-count regression check for kmidi's hot paths.

Reads the summary.json files that `cargo bench --bench iai -- --save-summary=json`
(scripts/bench.sh iai) writes under target/gungraun/kmidi-benches/iai/, and
compares each benchmark's instruction count (callgrind's Ir) with the
committed benches/iai-baseline.json. Exits 1 when any hot path grew by more
than the limit (default 2%), or when the set of benchmarks differs from the
baseline; exits 2 when the files cannot be read.

Instruction counts are deterministic for a given toolchain, Cargo.lock and
CPU feature set (the DSP code picks AVX/AVX2 kernels at run time, and
valgrind reports the host's features). When a change is meant to be slower,
run `scripts/bench.sh iai` and then `scripts/bench.sh iai-update`, and commit
the new baseline with the change that explains it.

usage: scripts/iai_check.py [--limit PCT] [--update] [--summaries DIR] [--baseline FILE]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SCHEMA = 1


def fail(msg, code=2):
    print(f"iai_check: {msg}", file=sys.stderr)
    sys.exit(code)


def read_summaries(directory):
    counts = {}
    if not os.path.isdir(directory):
        fail(f"{directory} does not exist: run scripts/bench.sh iai first")
    for dirpath, _dirs, files in os.walk(directory):
        if "summary.json" not in files:
            continue
        path = os.path.join(dirpath, "summary.json")
        try:
            with open(path) as f:
                s = json.load(f)
            name = f"{s['function_name']}.{s['id']}"
            ir = s["profiles"][0]["data"]["total"]["metrics"]["Ir"]["values"]["new"]
        except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
            fail(f"{path} is not a gungraun summary this script understands ({e!r})")
        counts[name] = int(ir)
    if not counts:
        fail(f"no summary.json under {directory}: run scripts/bench.sh iai first")
    return counts


def rustc_version():
    try:
        return subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_atomically(path, data):
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".iai-baseline.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=2.0, help="allowed growth in percent (default 2)")
    ap.add_argument("--update", action="store_true", help="write the current counts as the new baseline")
    ap.add_argument("--summaries", default=os.path.join(ROOT, "target", "gungraun", "kmidi-benches", "iai"))
    ap.add_argument("--baseline", default=os.path.join(ROOT, "benches", "iai-baseline.json"))
    args = ap.parse_args()

    current = read_summaries(args.summaries)
    if args.update:
        write_atomically(args.baseline, {
            "schema": SCHEMA,
            "metric": "callgrind Ir (instructions executed) per benchmark call",
            "rustc": rustc_version(),
            "machine": platform.machine(),
            "benchmarks": current,
        })
        print(f"iai_check: wrote {len(current)} counts to {os.path.relpath(args.baseline, ROOT)}")
        return

    try:
        with open(args.baseline) as f:
            base = json.load(f)
        if base.get("schema") != SCHEMA:
            fail(f"{args.baseline} has schema {base.get('schema')!r}; this script reads schema {SCHEMA}")
        baseline = {k: int(v) for k, v in base["benchmarks"].items()}
    except OSError as e:
        fail(f"cannot read {args.baseline}: {e.strerror}; create it with scripts/bench.sh iai-update")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        fail(f"{args.baseline} is not a valid baseline file ({e!r})")

    rustc = rustc_version()
    if base.get("rustc") not in (None, rustc):
        print(f"iai_check: WARNING: baseline was recorded with {base.get('rustc')}, this is {rustc}; "
              "counts can move with the toolchain", file=sys.stderr)

    width = max(len(k) for k in set(current) | set(baseline))
    print(f"{'benchmark':<{width}}  {'baseline':>10}  {'now':>10}  {'change':>8}")
    regressions = []
    for name in sorted(set(current) | set(baseline)):
        if name not in baseline:
            print(f"{name:<{width}}  {'-':>10}  {current[name]:>10}  {'new':>8}")
            regressions.append(f"{name} is not in the baseline")
            continue
        if name not in current:
            print(f"{name:<{width}}  {baseline[name]:>10}  {'-':>10}  {'missing':>8}")
            regressions.append(f"{name} did not run")
            continue
        b, n = baseline[name], current[name]
        change = (n - b) / b * 100 if b else 0.0
        flag = "  REGRESSED" if change > args.limit else ""
        print(f"{name:<{width}}  {b:>10}  {n:>10}  {change:>+7.2f}%{flag}")
        if change > args.limit:
            regressions.append(f"{name} grew {change:+.2f}% ({b} -> {n} instructions)")
    if regressions:
        print(f"\niai_check: FAIL (limit +{args.limit}%):", file=sys.stderr)
        for r in regressions:
            print(f"  {r}", file=sys.stderr)
        print("If the change is meant to be slower: scripts/bench.sh iai-update, and commit the baseline.",
              file=sys.stderr)
        sys.exit(1)
    print(f"\niai_check: ok, {len(current)} hot paths within +{args.limit}% of the baseline")


if __name__ == "__main__":
    main()
