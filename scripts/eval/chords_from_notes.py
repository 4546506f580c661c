#!/usr/bin/env python3
"""Chords from transcribed notes instead of the audio's chroma, on the
piano chorales `scripts/eval.sh` rendered and transcribed (run it first):
sonorities cut where Basic Pitch's notes start and end, labelled the way
the harness labels the written notes (`accuracy.sonority_reference`), and
scored with mir_eval's majmin against the written notes' sonorities, beside
`kmidi-perf analyze`'s chords on the same files.

    target/venv-eval/bin/python scripts/eval/chords_from_notes.py

The figure is quoted in accuracy-targets.toml (chords.sonority.majmin's
note); it is not a target.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import accuracy as A  # noqa: E402

WORK = os.path.join(A.ROOT, "target", "eval", "full")


def main():
    audio, notes = [], []
    for name, score in A.four_voice_chorales(40):
        piece = A.score_piece(name, score, round(A.seeded(name, 66, 96)))
        stem = os.path.join(WORK, "analysis", f"{piece.name}.piano")
        if not (os.path.exists(stem + ".notes.json") and os.path.exists(stem + ".json")):
            print(f"{piece.name}: not rendered and transcribed; run scripts/eval.sh first", file=sys.stderr)
            return 1
        with open(stem + ".notes.json") as f:
            found = json.load(f)["notes"]
        with open(stem + ".json") as f:
            analysis = json.load(f)
        ri, rl = A.sonority_reference(piece)
        audio.append(A.chord_comparisons(ri, rl, analysis))
        est = A.Piece("notes", [(n["start_s"], n["end_s"], n["key"], 80, 0) for n in found], [], 100, None, {})
        ei, el = A.sonority_reference(est)
        labelled = {"chords": [{"start_s": a, "end_s": b, "label": "N" if lab == "X" else lab}
                               for (a, b), lab in zip(ei, el)]}
        notes.append(A.chord_comparisons(ri, rl, labelled))
    pool = lambda items: A.pooled([(d, c["majmin"]) for d, c in items])  # noqa: E731
    print(f"{len(audio)} piano chorales, mir_eval majmin against the written sonorities:")
    print(f"  kmidi-perf analyze (audio chroma): {pool(audio):.3f}")
    print(f"  sonorities of Basic Pitch's notes: {pool(notes):.3f}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
