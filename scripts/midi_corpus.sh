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
VENV=target/venv-midi
MIDO=1.3.3
MUSIC21=10.5.1
mkdir -p "$OUT"

missing=()
for pkg in openttd-openmsx mma simutrans-data; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "midi_corpus: installing ${missing[*]} (Debian packages with MIDI files)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "midi_corpus: ${missing[*]} missing; install them (apt-get install ${missing[*]}) for the full corpus" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import mido, music21" 2>/dev/null; then
  "$VENV/bin/pip" install -q "mido==$MIDO" "music21==$MUSIC21"
fi

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

echo "midi_corpus: $(wc -l < "$OUT/files.txt") files; mido $MIDO reads them"
"$VENV/bin/python" scripts/eval/mido_dump.py < "$OUT/files.txt" > "$OUT/mido.jsonl"
KMIDI_MIDI_CORPUS="$PWD/$OUT/mido.jsonl" cargo test -q -p kmidi-groove --test midi_corpus -- --ignored --nocapture
