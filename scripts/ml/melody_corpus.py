#!/usr/bin/env python3
"""Folk tunes for the MelodyTransformer, from music21's bundled corpus: O'Neill's
1850 and Ryan's Mammoth Collection (ABC), and the Nottingham dataset's
reels. Each tune becomes pitch and duration tokens: for every note or rest,
its MIDI pitch (0 for a rest; the top note of a chord) and then 128 + the
index of its duration in DURATIONS (the nearest, in log time). The key is
music21's estimate for the tune, for the in-key test of generation.

    python scripts/ml/melody_corpus.py OUT.json
"""

import glob
import json
import math
import os
import re
import sys

import music21
from music21 import converter

PITCHES = 128
# Quarter lengths, 32 of them: what folk tunes use, straight and triplet.
DURATIONS = [0.125, 1 / 6, 0.25, 1 / 3, 0.375, 0.5, 2 / 3, 0.75, 5 / 6, 1.0, 7 / 6, 1.25, 4 / 3, 1.5,
             5 / 3, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 16.0]
assert len(DURATIONS) == 32
COLLECTIONS = ["oneills1850", "ryansMammoth", "nottingham-dataset"]


def duration_token(ql):
    best = min(range(len(DURATIONS)), key=lambda i: abs(math.log(max(ql, 1e-3)) - math.log(DURATIONS[i])))
    return PITCHES + best


def tokens_of(score):
    out = []
    for n in score.flatten().notesAndRests:
        if n.quarterLength <= 0:
            continue
        if n.isRest:
            pitch = 0
        elif n.isChord:
            pitch = max(p.midi for p in n.pitches)
        else:
            pitch = n.pitch.midi
        if not 0 <= pitch < PITCHES:
            continue
        out += [pitch, duration_token(float(n.quarterLength))]
    return out


def title_of(score, fallback):
    t = score.metadata.title if score.metadata and score.metadata.title else fallback
    return re.sub(r"[^a-z]", "", t.lower()) or fallback


def build():
    """{"music21": version, "tunes": [{tune, title, collection, key, tokens}]}."""
    base = os.path.join(os.path.dirname(music21.__file__), "corpus")
    tunes = []
    for collection in COLLECTIONS:
        for path in sorted(glob.glob(os.path.join(base, collection, "*.abc"))):
            try:
                parsed = converter.parse(path)
            except Exception as e:  # a file music21 cannot read
                print(f"melody_corpus: {path}: {e}", file=sys.stderr)
                continue
            scores = parsed.scores if hasattr(parsed, "scores") else [parsed]
            for i, score in enumerate(scores):
                name = f"{collection}/{os.path.basename(path)}#{i}"
                toks = tokens_of(score)
                if len(toks) < 32:
                    continue
                try:
                    key = score.analyze("key")
                    key_id = key.tonic.pitchClass + (12 if key.mode == "minor" else 0)
                except Exception:
                    continue
                tunes.append({"tune": name, "title": title_of(score, name), "collection": collection,
                              "key": key_id, "tokens": toks})
    return {"music21": music21.__version__, "tunes": tunes}


def main():
    corpus = build()
    with open(sys.argv[1], "w") as f:
        json.dump(corpus, f)
    t = corpus["tunes"]
    print(f"{len(t)} tunes, {sum(len(x['tokens']) for x in t)} tokens -> {sys.argv[1]}")


if __name__ == "__main__":
    main()
