#!/usr/bin/env bash
# Fuzzes every parser kmidi has with cargo-fuzz and libFuzzer, with debug
# assertions and overflow checks on:
#
#   harmony_parsers  chord symbols, Roman numerals, scales, keys, notes,
#                    intervals, progressions
#   smf              Standard MIDI Files (and the round trip, lossless)
#   wav              the engine's WAV reader
#   engine_config    the engine's TOML config
#   onnx_model       ONNX models through kmidi-ml's session
#   perf_files       Criterion baselines, gungraun summaries, thresholds,
#                    targets, fingerprints, the SQLite history
#
#   scripts/fuzz.sh [target|all] [seconds per target] [release|dev]
#                                          default: all, 600, release
#
# `dev` builds the targets unoptimized (about 2 min instead of 4 min 20 s
# on 2 cores), for smoke runs, where the build is most of the time; the
# targets then run several times slower, so campaigns use `release`.
#
# Needs a nightly toolchain (rustup toolchain install nightly) and
# cargo-fuzz, which this script installs with `cargo install` if missing.
# Crashes land in fuzz/artifacts/<target>/; the corpus grows in
# fuzz/corpus/<target>/ (seeded from real files below); fuzz/regressions/
# <target>/ holds the inputs that once crashed, replayed by every run (and
# each has a unit test in its crate). Prints each target's executions and
# coverage at the end (libFuzzer's last stats line). `.ci/run` uses
# `scripts/fuzz.sh all 15 dev` as a smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-all}"
seconds="${2:-600}"
profile="${3:-release}"
TARGETS=(harmony_parsers smf wav engine_config onnx_model perf_files)
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "fuzz.sh: seconds must be a whole number, got '$seconds'" >&2
  exit 2
fi
case "$profile" in
  release) profile_flag=--release ;;
  dev) profile_flag=--dev ;;
  *) echo "fuzz.sh: unknown build profile '$profile'; allowed: release dev" >&2; exit 2 ;;
esac
if [[ "$target" != all ]] && ! printf '%s\n' "${TARGETS[@]}" | grep -qx "$target"; then
  echo "fuzz.sh: unknown target '$target'; allowed: all ${TARGETS[*]}" >&2
  exit 2
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz.sh: needs a nightly toolchain: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
scripts/fetch_onnxruntime.sh >/dev/null
export ORT_DYLIB_PATH="$PWD/target/onnxruntime/libonnxruntime.so.1.32.0"

seed() { # seed <target> <file...>: copies real files into the corpus
  local dir="fuzz/corpus/$1"
  shift
  mkdir -p "$dir"
  for f in "$@"; do
    [[ -f "$f" ]] && cp "$f" "$dir/seed-$(md5sum < "$f" | cut -c1-12)"
  done
  return 0
}
mkdir -p fuzz/corpus/harmony_parsers
for s in C Cm7 F#m7b5 Bb13#11 'EbmMaj7' 'A7(b9,#11)' D6/9 Gsus4 CΔ9 E7#9/G# \
  V7/V ii65 bVI 'vii°7/ii' Ger+6 N6 'V7[no5]' 'i[no3][no5]' 'V65[no1]/V' 'C major' 'F# harmonic minor' 'Eb minor' \
  C4 Bb-1 P5 m10 'G major: I vi ii65 V7 I'; do
  printf '%s' "$s" > "fuzz/corpus/harmony_parsers/seed-$(printf '%s' "$s" | md5sum | cut -c1-12)"
done
seed smf $(ls /usr/share/games/openttd/baseset/openmsx/*.mid 2>/dev/null | head -5) \
  $(find target/venv-eval -name '*.mid' 2>/dev/null | head -10)
seed onnx_model crates/ml/tests/data/typed_outputs.onnx crates/ml/models/groove_predictor.onnx \
  crates/ml/models/harmony_predictor.onnx
seed engine_config $(find crates/engine -name '*.toml' 2>/dev/null)
mkdir -p fuzz/corpus/engine_config
printf 'sample_rate = 48000\nblock_frames = 256\n[[track]]\nname = "kick"\neq = [{ type = "highpass", frequency_hz = 40.0 }]\ncompressor = { threshold_db = -12.0, ratio = 4.0 }\n[master]\nlimiter = { ceiling_db = -1.0, true_peak = true }\n' \
  > fuzz/corpus/engine_config/seed-handwritten
mkdir -p fuzz/corpus/wav
python3 - <<'PY'
import struct, wave, os
d = "fuzz/corpus/wav"
for ch, width, rate in [(1, 2, 44100), (2, 3, 48000), (2, 1, 8000)]:
    p = os.path.join(d, f"seed-{ch}ch-{width*8}bit.wav")
    with wave.open(p, "wb") as w:
        w.setnchannels(ch); w.setsampwidth(width); w.setframerate(rate)
        w.writeframes(bytes((i * 37) % 256 for i in range(ch * width * 64)))
# A 32-bit float WAV (format 3), written by hand.
data = b"".join(struct.pack("<f", (i % 50) / 50.0) for i in range(128))
fmt = struct.pack("<HHIIHH", 3, 2, 48000, 48000 * 8, 8, 32)
riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
open(os.path.join(d, "seed-float.wav"), "wb").write(b"RIFF" + struct.pack("<I", len(riff)) + riff)
PY
seed perf_files $(find target/criterion -name 'estimates.json' 2>/dev/null | head -3) perf-targets.toml perf-compare.toml

run_one() {
  local t=$1 status=0
  echo "==== fuzz $t for ${seconds} s ($profile build)"
  # The corpus grows in corpus/<t>; regressions/<t> holds every input that
  # once crashed (read, never written), so each run replays them first.
  local dirs=("corpus/$t")
  [[ -d "fuzz/regressions/$t" ]] && dirs+=("regressions/$t")
  (cd fuzz && cargo +nightly fuzz run "$profile_flag" --debug-assertions "$t" "${dirs[@]}" -- \
      -max_total_time="$seconds" -print_final_stats=1) > "target/fuzz-$t.log" 2>&1 || status=$?
  # libFuzzer's last status line (executions, coverage, corpus) and stats.
  grep -E '^#[0-9]+' "target/fuzz-$t.log" | tail -n 1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "target/fuzz-$t.log" || true
  if [[ $status -ne 0 ]]; then
    grep -E 'panicked|SUMMARY|Test unit written|error' "target/fuzz-$t.log" | head -n 20 || true
    echo "fuzz.sh: $t failed (exit $status); see target/fuzz-$t.log and fuzz/artifacts/$t/" >&2
    return "$status"
  fi
}
mkdir -p target
if [[ "$target" == all ]]; then
  for t in "${TARGETS[@]}"; do run_one "$t"; done
else
  run_one "$target"
fi
