#!/usr/bin/env bash
# How far the regression gate can be trusted on this machine
# (docs/PERFORMANCE.md, "Measured trust"). The experiments:
#
#   scripts/trust.sh aa [N] [ab args]
#                                N A/A comparisons, each a process-level
#                                `kmidi-perf ab --quick` of one build against
#                                itself (extra args, e.g. --bench dsp, pass
#                                through). Reports the share of benches
#                                flagged either way (all false alarms).
#   scripts/trust.sh canary [N]  N A/B runs (`kmidi-perf ab`) of the canary
#                                bench at 100% against 110% work. Reports
#                                how many flagged it.
#   scripts/trust.sh peer-gate   The CI gate on a workspace that is not
#                                kmidi: peer-suite/ (Criterion 0.5) against
#                                itself with peer-suite/slowdown.patch
#                                applied (its FIR filter ~10% slower). Passes
#                                when exactly the fir/ benches regress,
#                                nothing else is flagged either way, and the
#                                regressions have a differential profile
#                                (callgrind: the suite has no profiler hook);
#                                then again with --clock thread-cpu and
#                                --measurement-time auto.
#   scripts/trust.sh iai-canary [N]
#                                N instruction-count runs of the canary at
#                                100% against 101% work, each compared by
#                                `kmidi-perf compare`. Reports how many
#                                flagged it.
#
# Everything goes under target/kmidi-perf/trust/ (and the peer checkouts
# under target/peer/); nothing else is touched.
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
    shift || true
    build_lab
    rm -rf "$OUT/aa"; mkdir -p "$OUT/aa"
    flagged=0; total=0
    for i in $(seq 1 "$n"); do
      j="$OUT/aa/compare-$i.json"
      # The same build on both sides: every flag is a false alarm.
      "$PERF" ab --quick --profile-seconds 0 --out "$OUT/aa/$i" --json "$@" > "$j" 2> "$OUT/aa/ab-$i.log" \
        || [ $? = 1 ] || { tail -3 "$OUT/aa/ab-$i.log"; die "kmidi-perf ab failed in comparison $i"; }
      read -r f t names < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=[b["id"] for b in d["benches"] if b["verdict"]!="unchanged"]; print(len(r), len(d["benches"]), " ".join(r))' "$j")
      echo "A/A $i: $f of $t benches flagged ${names}"
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
      if "$PERF" ab --bench canary --filter '^canary/' --quick --out "$dir" \
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
  peer-gate)
    build_lab
    peer="$ROOT/target/peer"
    rm -rf "$peer" "$OUT/peer" "$OUT/peer-cpu"; mkdir -p "$peer"
    cp -r peer-suite "$peer/base"; cp -r peer-suite "$peer/head"
    (cd "$peer/head" && patch -p1 -s < slowdown.patch)
    # Twice: Criterion's wall time with differential profiles, then the
    # thread's CPU time through the preloaded clock with the measurement
    # time chosen by a pilot, at most 1 s: the error that keeps a bimodal
    # bench undecided is between processes, and a longer process does not
    # reduce it (4 s per process took one CI run's pass from 140 s to
    # 14 min with the same verdicts). The second reuses the first's builds.
    for run in wall cpu; do
      if [ "$run" = wall ]; then
        name=peer; extra=(--profile-seconds 1)
      else
        name=peer-cpu; extra=(--profile-seconds 0 --clock thread-cpu --measurement-time auto --max-measurement-time 1)
      fi
      set +e
      # One target directory for both checkouts, as a user's CARGO_TARGET_DIR
      # would be: ab copies each side's executables before building the next.
      CARGO_TARGET_DIR="$peer/target" "$PERF" ab --base-dir "$peer/base" --head-dir "$peer/head" \
        --quick "${extra[@]}" --out "$OUT/$name" --save "$OUT/$name.json" > "$OUT/$name.txt"
      code=$?
      set -e
      cat "$OUT/$name.txt"
      [ "$code" = 1 ] || die "kmidi-perf ab ($run) exited $code on the slowed FIR filter (expected 1)"
      python3 - "$OUT/$name.json" "$run" <<'PY'
import json, sys
benches = json.load(open(sys.argv[1]))["benches"]
fir = {b["id"] for b in benches if b["id"].startswith("fir/")}
regressed = {b["id"] for b in benches if b["verdict"] == "regressed"}
others = {b["id"]: b["verdict"] for b in benches if b["verdict"] != "unchanged" and b["id"] not in fir}
if not fir or regressed != fir or others:
    sys.exit(f"{sys.argv[2]}: expected exactly {sorted(fir)} regressed; got regressed {sorted(regressed)}, other flags {others}")
if sys.argv[2] == "wall":
    missing = [b["id"] for b in benches if b["id"] in fir and not b.get("diff_flamegraph")]
    if missing:
        sys.exit(f"no differential profile for {missing}")
else:
    clocks = {b["wall"]["processes"]["clock"] for b in benches}
    if clocks != {"thread-cpu"}:
        sys.exit(f"cpu: the processes measured with {clocks}, expected thread-cpu")
print(f"ok ({sys.argv[2]}): exactly the {len(fir)} fir/ benches regressed, {len(benches) - len(fir)} others unchanged")
PY
    done
    ;;
  *)
    sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 2
    ;;
esac
