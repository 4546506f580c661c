#!/usr/bin/env bash
# kmidi's accuracy harness: renders real music (music21's corpus, MMA drum
# grooves) with fluidsynth and FluidR3_GM, runs `kmidi-perf analyze` and
# `kmidi-perf transcribe` on it, and scores chords, key, onsets, beats,
# tempo and transcribed notes with mir_eval (the notes beside Spotify's own
# Python Basic Pitch on the same files, in the full run).
#
#   scripts/eval.sh        # the whole corpus (about 15 min): writes docs/ACCURACY.md
#                          # and docs/accuracy.json
#   scripts/eval.sh ci     # the CI subset (under 5 min): fails when a figure
#                          # drops more than 2 points below docs/accuracy.json
#   scripts/eval.sh render # rewrites docs/ACCURACY.md from docs/accuracy.json
#                          # (after editing accuracy-targets.toml), measuring nothing
#
# Installs what it needs the way a new user would: the Debian packages
# fluidsynth, fluid-soundfont-gm and mma (as root), and a venv under
# target/venv-eval with the packages pinned in scripts/eval/requirements.txt
# (scripts/lib/setup.sh; for the full run also target/venv-basic-pitch with
# scripts/eval/requirements-basic-pitch.txt). Rendered audio stays in
# target/eval and is never committed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode="${1:-full}"
case "$mode" in
  full|ci|render) ;;
  *) echo "eval.sh: unknown mode '$mode'; allowed: full, ci, render" >&2; exit 2 ;;
esac

source scripts/lib/setup.sh
ensure_packages eval.sh 1 fluidsynth fluid-soundfont-gm mma
ensure_eval_venv
VENV="$EVAL_VENV"

if [ "$mode" = render ]; then
  exec "$VENV/bin/python" scripts/eval/accuracy.py --mode render
fi
# ONNX Runtime and the Basic Pitch model, for `kmidi-perf transcribe`.
scripts/fetch_onnxruntime.sh
reference=()
if [ "$mode" = full ]; then
  # Spotify's own Basic Pitch, the transcription's reference.
  ensure_basic_pitch_venv
  reference=(--basic-pitch-python "$BASIC_PITCH_VENV/bin/python")
fi
cargo build --release -q -p kmidi-perf
cargo build --release -q -p kmidi-harmony --example roman_oracle
exec "$VENV/bin/python" scripts/eval/accuracy.py --mode "$mode" --kmidi target/release/kmidi-perf \
  --roman-oracle target/release/examples/roman_oracle "${reference[@]}"
