#!/usr/bin/env bash
# kmidi's benchmark lab: one entry point for Criterion, instruction counts,
# flamegraphs, heap profiles and the real-time summary.
# Works from any directory; run `scripts/bench.sh help` for the subcommands.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

AREAS="mixer dsp resampling memory harmony groove ml engine"
GUNGRAUN_VERSION="$(sed -n 's/^gungraun = "\(.*\)"/\1/p' Cargo.toml)"

usage() {
  cat <<USAGE
usage: scripts/bench.sh <command> [args]

  all                  every Criterion bench (HTML: target/criterion/report/index.html)
  <area>               one area: ${AREAS// /, }
  quick                every bench with short warm-up and measurement (smoke run)
  save <name>          run all, save Criterion baseline <name>, its machine
                       fingerprint, and (with valgrind) instruction and
                       heap-block counts in target/gungraun-baselines/<name>
  compare <name>       run all and compare against baseline <name> (Criterion)
  compare <base> <new> [args]
                       kmidi-perf's verdicts on two saved baselines: table,
                       --markdown or --json; exit 1 on any regression
  ab [args]            kmidi-perf ab: base and head built once, run as
                       short processes in ABBA blocks, judged per process;
                       e.g. scripts/bench.sh ab --base-dir ../base
  flamegraph [filter]  profile benches matching the regex [filter] with pprof,
                       write one flamegraph.svg each and print their paths
  iai [--save-baseline=N|--baseline=N]
                       instruction counts under callgrind (installs
                       gungraun-runner ${GUNGRAUN_VERSION}), then kmidi-perf iai: the
                       instruction-count gate against benches/iai-baseline.json,
                       thresholds (instructions_percent) from perf-compare.toml
  iai-update           rewrite benches/iai-baseline.json from the last iai run
                       (kmidi-perf iai --update)
  dhat                 heap profiles of prepare and of steady-state process:
                       writes dhat-prepare.json and dhat-heap.json, prints totals
  summary [baseline]   median and DSP load at 48 kHz / 512 for every process
                       bench, from Criterion's files (default: the last run;
                       kmidi-perf summary)
  lab [args]           kmidi-perf (release build): run, check, profile, render;
                       e.g. scripts/bench.sh lab run --grid
  check                kmidi-perf check against perf-targets.toml (exit 1 on FAIL)
  help                 this text
USAGE
}

die() { echo "bench.sh: $*" >&2; exit 2; }

ensure_runner() {
  local have=""
  if command -v gungraun-runner >/dev/null 2>&1; then
    have="$(gungraun-runner --version 2>/dev/null | awk '{print $NF}')"
  fi
  if [ "$have" != "$GUNGRAUN_VERSION" ]; then
    echo "bench.sh: installing gungraun-runner $GUNGRAUN_VERSION (found: ${have:-none})"
    cargo install gungraun-runner --version "$GUNGRAUN_VERSION" --locked
  fi
  command -v valgrind >/dev/null 2>&1 || die "valgrind is not installed (apt-get install valgrind)"
}

# Where Criterion writes (its own rule): $CRITERION_HOME, else
# $CARGO_TARGET_DIR/criterion, else target/criterion.
criterion_dir="${CRITERION_HOME:-${CARGO_TARGET_DIR:-$ROOT/target}/criterion}"
cmd="${1:-help}"
shift || true
case "$cmd" in
  all)
    cargo bench --workspace -- "$@"
    echo "reports: $criterion_dir/report/index.html"
    ;;
  mixer|dsp|resampling|memory|harmony|groove|ml|engine)
    cargo bench -p kmidi-benches --bench "$cmd" -- "$@"
    ;;
  quick)
    KMIDI_BENCH_QUICK=1 cargo bench --workspace -- "$@"
    ;;
  save)
    [ $# -ge 1 ] || die "save needs a baseline name, e.g. scripts/bench.sh save main"
    name="$1"; shift
    case "$name" in */*|.|..|"") die "baseline name '$name': use a plain name such as main or pr-42" ;; esac
    cargo bench --workspace -- --save-baseline "$name" "$@"
    cargo run --release -q -p kmidi-perf -- fingerprint "$name"
    if command -v valgrind >/dev/null 2>&1; then
      ensure_runner
      rm -rf "target/gungraun-baselines/$name"
      GUNGRAUN_HOME="$ROOT/target/gungraun-baselines/$name" \
        cargo bench -q -p kmidi-benches --bench iai -- --save-summary=json >/dev/null
      echo "bench.sh: baseline '$name' saved (wall time, instructions, heap blocks)"
    else
      echo "bench.sh: baseline '$name' saved (wall time only: valgrind is not installed, so no instruction or allocation counts)"
    fi
    ;;
  compare)
    [ $# -ge 1 ] || die "compare needs a baseline name, e.g. scripts/bench.sh compare main"
    if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then
      # Two saved baselines: kmidi-perf's verdicts (exit 1 on a regression).
      cargo run --release -q -p kmidi-perf -- compare "$@"
      exit $?
    fi
    name="$1"; shift
    [ -n "$(find "$criterion_dir" -path "*/$name/estimates.json" -print -quit 2>/dev/null)" ] \
      || die "no Criterion baseline named '$name' under $criterion_dir: run scripts/bench.sh save $name first"
    cargo bench --workspace -- --baseline "$name" "$@"
    ;;
  flamegraph)
    filter="${1:-}"
    log="$(mktemp)"
    # The adapter prints "flamegraph: <path>" for each one it writes,
    # wherever Criterion's directory is (CRITERION_HOME, CARGO_TARGET_DIR).
    cargo bench -p kmidi-benches --benches -- --profile-time 3 ${filter:+"$filter"} 2>&1 | tee "$log"
    found=0
    while IFS= read -r svg; do
      echo "$svg"; found=$((found + 1))
    done < <(sed -n 's/^flamegraph: \(.*\.svg\)$/\1/p' "$log" | sort)
    rm -f "$log"
    [ "$found" -gt 0 ] || die "no flamegraph written${filter:+ (no bench matches '$filter')}"
    echo "bench.sh: $found flamegraph(s) written"
    ;;
  iai)
    ensure_runner
    cargo bench -p kmidi-benches --bench iai -- --save-summary=json "$@"
    cargo run --release -q -p kmidi-perf -- iai
    ;;
  iai-update)
    cargo run --release -q -p kmidi-perf -- iai --update
    ;;
  dhat)
    cargo run --release -p kmidi-benches --example dhat_profile
    ;;
  summary)
    cargo run --release -q -p kmidi-perf -- summary "$@"
    ;;
  lab)
    cargo run --release -q -p kmidi-perf -- "$@"
    ;;
  ab)
    cargo run --release -q -p kmidi-perf -- ab "$@"
    ;;
  check)
    cargo run --release -q -p kmidi-perf -- check "$@"
    ;;
  help|-h|--help)
    usage
    ;;
  *)
    usage >&2
    die "unknown command '$cmd' (see the list above)"
    ;;
esac
