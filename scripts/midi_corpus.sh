#!/usr/bin/env bash
# Round-trips a corpus of real MIDI files that no one on the project made,
# event for event against mido (the reference reader), and checks that a
# second write gives the same bytes. The corpus: music21's bundled .mid
# files, and the MIDI files of the Debian packages openttd-openmsx, mma and
# simutrans-data (installed here if missing and we are root, as a new user
# would). KMIDI_CORPUS_EXTRA_PACKAGES adds more installed packages'
# files (freedink-data and csound-doc hold 17 more; 55 MB to download).
#
#   scripts/midi_corpus.sh            # the whole corpus
#   KMIDI_CORPUS_LIMIT=40 scripts/midi_corpus.sh   # the first 40 files
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT=target/midi-corpus
mkdir -p "$OUT"
source scripts/lib/setup.sh
ensure_packages midi_corpus 0 openttd-openmsx mma simutrans-data
ensure_eval_venv
VENV="$EVAL_VENV"

{
  "$VENV/bin/python" - <<'PY'
import glob, os, music21
root = os.path.dirname(music21.__file__)
for p in sorted(glob.glob(os.path.join(root, "**", "*.mid"), recursive=True)):
    print(p)
PY
  for pkg in openttd-openmsx mma simutrans-data ${KMIDI_CORPUS_EXTRA_PACKAGES:-}; do
    dpkg -L "$pkg" 2>/dev/null | grep -iE '\.midi?$' | sort || true
  done
} | head -n "${KMIDI_CORPUS_LIMIT:-100000}" > "$OUT/files.txt"

mido_version="$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("mido"))')"
echo "midi_corpus: $(wc -l < "$OUT/files.txt") files; mido $mido_version reads them"
"$VENV/bin/python" scripts/eval/mido_dump.py < "$OUT/files.txt" > "$OUT/mido.jsonl"
KMIDI_MIDI_CORPUS="$PWD/$OUT/mido.jsonl" cargo test -q -p kmidi-groove --test midi_corpus -- --ignored --nocapture
