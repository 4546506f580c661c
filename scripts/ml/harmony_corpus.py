#!/usr/bin/env python3
"""Real chord sequences for the HarmonyPredictor, from music21's bundled
corpus (an oracle kmidi did not write):

* every four-part Bach chorale score, chordified by music21, one chord per
  beat (the sonority that sounds longest in it), keyed by music21's
  ``analyze('key')``;
* every bundled Roman-numeral analysis (``.rntxt``: 20 Bach chorales by
  Riemenschneider number, 48 Monteverdi madrigals), one chord per numeral,
  keyed by the analysis's own local key.

Each chord is projected onto kmidi-harmony's detector vocabulary (the nine
``DETECTED_KINDS`` on twelve roots; ids ``kind * 12 + root``), repeated
chords are merged (the engine feeds the model chord *changes*), and
sonorities outside the vocabulary (passing tones) are dropped.

Pieces are grouped so that a split by group never puts one tune on both
sides: every harmonization of one chorale melody (the same ChoraleList
title, or the same first twelve melodic intervals in the soprano) and its
``.rntxt`` analysis form one group.

    python scripts/ml/harmony_corpus.py OUT.json
"""

import glob
import json
import os
import re
import sys

import music21
from music21 import converter, corpus
from music21.corpus import chorales

# kmidi-harmony's DETECTED_KINDS, in order (crates/harmony/src/detect.rs).
KINDS = ["maj", "min", "dim", "aug", "sus2", "sus4", "7", "maj7", "min7"]
NO_CHORD = 108

# Pitch-class sets above the root -> detector kind. Sevenths the detector
# has no template for fall to the triad it would hear in them.
SHAPES = {
    (0, 4, 7): "maj", (0, 4): "maj",
    (0, 3, 7): "min", (0, 3): "min", (0, 3, 7, 11): "min",
    (0, 3, 6): "dim", (0, 3, 6, 9): "dim", (0, 3, 6, 10): "dim",
    (0, 4, 8): "aug",
    (0, 2, 7): "sus2", (0, 5, 7): "sus4",
    (0, 4, 7, 10): "7", (0, 4, 10): "7",
    (0, 4, 7, 11): "maj7", (0, 4, 11): "maj7",
    (0, 3, 7, 10): "min7", (0, 3, 10): "min7",
}


def chord_id(root_pc, pcs):
    """The detector id for pitch classes `pcs` over `root_pc`, or None."""
    rel = tuple(sorted({(p - root_pc) % 12 for p in pcs}))
    kind = SHAPES.get(rel)
    return None if kind is None else KINDS.index(kind) * 12 + root_pc % 12


def key_id(key):
    """kmidi's key id: tonic pitch class, plus 12 for minor."""
    return key.tonic.pitchClass + (12 if key.mode == "minor" else 0)


def changes(chords, keys):
    """Merge repeated chords (keeping the key of the first)."""
    out_c, out_k = [], []
    for c, k in zip(chords, keys):
        if c is None:
            continue
        if out_c and out_c[-1] == c:
            continue
        out_c.append(c)
        out_k.append(k)
    return out_c, out_k


def chorale_sequence(score):
    """One chord per beat of a chorale score, and its key."""
    key = key_id(score.analyze("key"))
    flat = score.chordify().flatten().getElementsByClass("Chord")
    spans = []
    for ch in flat:
        if ch.quarterLength <= 0:
            continue
        start = float(ch.offset)
        spans.append((start, start + float(ch.quarterLength), chord_id(ch.root().pitchClass, [p.pitchClass for p in ch.pitches])))
    if not spans:
        return [], []
    end = max(e for _, e, _ in spans)
    chords = []
    beat = 0.0
    while beat < end:
        best, best_len = None, 0.0
        for s, e, c in spans:
            overlap = min(beat + 1.0, e) - max(beat, s)
            if c is not None and overlap > best_len + 1e-9:
                best, best_len = c, overlap
        chords.append(best)
        beat += 1.0
    return changes(chords, [key] * len(chords))


def analysis_sequence(score):
    """One chord per Roman numeral of an analysis, with its local key."""
    chords, keys = [], []
    for rn in score.recurse().getElementsByClass("RomanNumeral"):
        try:
            root = rn.root().pitchClass
            pcs = [p.pitchClass for p in rn.pitches]
        except Exception:  # a numeral music21 cannot realize
            continue
        chords.append(chord_id(root, pcs))
        keys.append(key_id(rn.key))
    return changes(chords, keys)


def soprano_signature(score):
    """The first twelve melodic intervals of the top part: the tune,
    whatever its key."""
    notes = [n.pitch.midi for n in score.parts[0].recurse().notes if n.isNote][:13]
    return tuple(b - a for a, b in zip(notes, notes[1:]))


class Groups:
    """Union-find over the names that identify one tune."""

    def __init__(self):
        self.parent = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, names):
        names = [n for n in names if n is not None]
        for n in names[1:]:
            self.parent[self.find(n)] = self.find(names[0])


def build():
    """The corpus: {"music21": version, "pieces": [{piece, source, group,
    chords, keys}]}."""
    base = os.path.join(os.path.dirname(music21.__file__), "corpus")
    catalogue = chorales.ChoraleList()
    title_by_bwv = {str(v["bwv"]): v["title"] for v in catalogue.byBWV.values()}
    bwv_by_riemenschneider = {int(k): str(v["bwv"]) for k, v in catalogue.byRiemenschneider.items()}
    pieces = []
    groups = Groups()
    for path in sorted(corpus.getComposer("bach"), key=lambda p: p.name):
        if not path.name.startswith("bwv") or path.suffix not in (".mxl", ".xml"):
            continue
        score = corpus.parse(path)
        if len(score.parts) != 4:
            continue
        m = re.fullmatch(r"bwv(\d+)", path.stem)
        title = title_by_bwv.get(m.group(1)) if m else None
        names = [("piece", path.stem), ("title", title) if title else None, ("tune", soprano_signature(score))]
        groups.join(names)
        chords, keys = chorale_sequence(score)
        if len(chords) >= 4:
            pieces.append({"piece": path.stem, "source": "chorale", "names": names[0], "chords": chords, "keys": keys})
    for path in sorted(glob.glob(os.path.join(base, "**", "*.rntxt"), recursive=True)):
        rel = os.path.relpath(path, base)
        m = re.search(r"riemenschneider(\d+)", rel)
        bwv = bwv_by_riemenschneider.get(int(m.group(1))) if m else None
        title = title_by_bwv.get(bwv) if bwv else None
        names = [("piece", rel), ("title", title) if title else None, ("piece", f"bwv{bwv}") if bwv else None]
        groups.join(names)
        chords, keys = analysis_sequence(converter.parse(path))
        if len(chords) >= 4:
            pieces.append({"piece": rel, "source": "rntxt", "names": names[0], "chords": chords, "keys": keys})
    # Each group is named by the first of its pieces, in name order.
    roots = [groups.find(p.pop("names")) for p in pieces]
    name_of = {}
    for root, p in sorted(zip(roots, pieces), key=lambda rp: rp[1]["piece"]):
        name_of.setdefault(root, p["piece"])
    for root, p in zip(roots, pieces):
        p["group"] = name_of[root]
    return {"music21": music21.__version__, "pieces": pieces}


def main():
    corpus = build()
    with open(sys.argv[1], "w") as f:
        json.dump(corpus, f)
    pieces = corpus["pieces"]
    print(f"{len(pieces)} pieces, {sum(len(p['chords']) for p in pieces)} chord changes, "
          f"{len({p['group'] for p in pieces})} groups -> {sys.argv[1]}")


if __name__ == "__main__":
    main()
