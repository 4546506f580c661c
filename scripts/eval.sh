#!/usr/bin/env bash
# kmidi's accuracy harness: renders real music (music21's corpus, MMA drum
# grooves) with fluidsynth and FluidR3_GM, runs `kmidi-perf analyze` on it,
# and scores chords, key, onsets, beats and tempo with mir_eval.
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
# target/venv-eval with pinned Python packages. Rendered audio stays in
# target/eval and is never committed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode="${1:-full}"
case "$mode" in
  full|ci|render) ;;
  *) echo "eval.sh: unknown mode '$mode'; allowed: full, ci, render" >&2; exit 2 ;;
esac

missing=()
command -v fluidsynth >/dev/null || missing+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing+=(fluid-soundfont-gm)
command -v mma >/dev/null || missing+=(mma)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "eval.sh: installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "eval.sh: needs ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

VENV=target/venv-eval
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import mir_eval, music21, mido, soundfile" 2>/dev/null; then
  "$VENV/bin/pip" install -q "mir_eval==0.8.2" "music21==10.5.1" "mido==1.3.3" \
    "numpy==2.4.6" "scipy==1.17.1" "soundfile==0.14.0"
fi

if [ "$mode" = render ]; then
  exec "$VENV/bin/python" scripts/eval/accuracy.py --mode render
fi
cargo build --release -q -p kmidi-perf
cargo build --release -q -p kmidi-harmony --example roman_oracle
exec "$VENV/bin/python" scripts/eval/accuracy.py --mode "$mode" --kmidi target/release/kmidi-perf \
  --roman-oracle target/release/examples/roman_oracle
