#!/usr/bin/env bash
# How far the regression gate can be trusted on this machine
# (docs/PERFORMANCE.md, "Measured trust"). Three experiments:
#
#   scripts/trust.sh aa [N]      N A/A comparisons of the quick suite, each
#                                an interleaved `kmidi-perf ab --quick
#                                --rounds 2` of one build against itself.
#                                Reports the share of benches flagged as
#                                regressions (all false alarms).
#   scripts/trust.sh canary [N]  N interleaved A/B runs (`kmidi-perf ab`) of
#                                the canary bench at 100% against 110% work.
#                                Reports how many flagged it.
#   scripts/trust.sh iai-canary [N]
#                                N instruction-count runs of the canary at
#                                100% against 101% work, each compared by
#                                `kmidi-perf compare`. Reports how many
#                                flagged it.
#
# Everything goes under target/kmidi-perf/trust/; nothing else is touched.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

OUT="$ROOT/target/kmidi-perf/trust"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$ROOT/target/onnxruntime/libonnxruntime.so.1.32.0}"
die() { echo "trust.sh: $*" >&2; exit 2; }
# KMIDI_PERF: a kmidi-perf binary to use instead of building one.
PERF="${KMIDI_PERF:-$ROOT/target/release/kmidi-perf}"

build_lab() {
  [ -n "${KMIDI_PERF:-}" ] || cargo build --release -q -p kmidi-perf -j2
}

cmd="${1:-help}"
shift || true
case "$cmd" in
  aa)
    n="${1:-10}"
    build_lab
    rm -rf "$OUT/aa"; mkdir -p "$OUT/aa"
    flagged=0; total=0
    for i in $(seq 1 "$n"); do
      j="$OUT/aa/compare-$i.json"
      # The same build on both sides: every flag is a false alarm.
      "$PERF" ab --quick --rounds 2 --profile-seconds 0 --out "$OUT/aa/$i" --json > "$j" 2> "$OUT/aa/ab-$i.log" \
        || [ $? = 1 ] || { tail -3 "$OUT/aa/ab-$i.log"; die "kmidi-perf ab failed in comparison $i"; }
      read -r f t names < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=[b["id"] for b in d["benches"] if b["verdict"]=="regressed"]; print(len(r), len(d["benches"]), " ".join(r))' "$j")
      echo "A/A $i: $f of $t benches flagged as regressions ${names}"
      flagged=$((flagged + f)); total=$((total + t))
    done
    python3 -c "import sys; f,t=int(sys.argv[1]),int(sys.argv[2]); print(f'A/A: {f} of {t} bench comparisons flagged ({100*f/t:.2f}%), allowed 1%'); sys.exit(0 if f <= t/100 else 1)" "$flagged" "$total"
    ;;
  canary)
    n="${1:-10}"
    build_lab
    hits=0
    for i in $(seq 1 "$n"); do
      dir="$OUT/canary/$i"
      rm -rf "$dir"
      if "$PERF" ab --benches canary --filter '^canary/' --quick --rounds 3 --out "$dir" \
           --base-env KMIDI_CANARY_WORK=100 --head-env KMIDI_CANARY_WORK=110 > "$OUT/canary-$i.txt" 2>&1; then
        echo "canary $i: not flagged"; sed -n '/canary/p' "$OUT/canary-$i.txt"
      else
        grep -q regressed "$OUT/canary-$i.txt" || { cat "$OUT/canary-$i.txt"; die "kmidi-perf ab failed"; }
        hits=$((hits + 1)); echo "canary $i: flagged"; sed -n '/canary/p' "$OUT/canary-$i.txt"
      fi
    done
    echo "canary slowed 10%: flagged in $hits of $n runs (needed: 9 of 10)"
    [ "$hits" -ge $(( (n * 9 + 9) / 10 )) ]
    ;;
  iai-canary)
    n="${1:-10}"
    build_lab
    hits=0
    for i in $(seq 1 "$n"); do
      rm -rf "$OUT/iai"
      for side in base:100 head:101; do
        name="${side%%:*}"; work="${side##*:}"
        KMIDI_CANARY_WORK="$work" GUNGRAUN_HOME="$OUT/iai/$name" \
          cargo bench -q -p kmidi-benches --bench iai -- --save-summary=json 'iai::hot_paths::canary::*' >/dev/null
      done
      if "$PERF" compare base head --criterion-dir "$OUT/none" --gungraun-dir "$OUT/iai" --allow-mismatch > "$OUT/iai-$i.txt" 2>&1; then
        echo "iai canary $i: not flagged"
      else
        grep -q regressed "$OUT/iai-$i.txt" || { cat "$OUT/iai-$i.txt"; die "kmidi-perf compare failed"; }
        hits=$((hits + 1)); echo "iai canary $i: flagged"
      fi
      grep canary "$OUT/iai-$i.txt" || true
    done
    echo "instruction count +1%: flagged in $hits of $n runs (needed: all)"
    [ "$hits" -eq "$n" ]
    ;;
  *)
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 2
    ;;
esac
