#!/usr/bin/env python3
"""Human-authored drum patterns for the GroovePredictor: the groove library
of MMA (Musical MIDI Accompaniment, Debian package ``mma``, GPL-2+, Bob van
der Poel), every 4/4 style file of its ``stdlib``.

Each groove is rendered by MMA itself for ``BARS`` bars (random seed fixed,
timing humanization off, MMA's own random volume and skipped hits kept), and
its drum channel is read back into kmidi's groove grid: kick, snare and
hat lanes on 16 steps per bar, the velocity / 127 of the hit on each step.
Lanes: kick 35-36; snare 37-40 (side stick, snare, clap, electric snare);
hat 42, 44, 46 and the ride cymbals 51, 53, 59 (the time-keeping cymbal).
Grooves whose drums repeat another groove of the same style exactly
(``Sus`` and ``Plus`` variants add other instruments only) are kept once.

    python scripts/ml/groove_corpus.py OUT.json
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import mido

STDLIB = "/usr/share/mma/lib/stdlib"
BARS = 16
STEPS = 16
LANES = {
    **{n: 0 for n in (35, 36)},
    **{n: 1 for n in (37, 38, 39, 40)},
    **{n: 2 for n in (42, 44, 46, 51, 53, 59)},
}


def styles():
    """(style, [groove names]) for every 4/4 style file of the library."""
    out = []
    for path in sorted(glob.glob(os.path.join(STDLIB, "*.mma"))):
        text = open(path, encoding="latin-1").read()
        time = re.search(r"^\s*Time\s+(\d+)", text, re.M | re.I)
        if not time or time.group(1) != "4":
            continue
        names = re.findall(r"^\s*DefGroove\s+(\S+)", text, re.M | re.I)
        if names:
            out.append((os.path.splitext(os.path.basename(path))[0], names))
    return out


def render(grooves, work):
    """Every groove for BARS bars, one after another, in one MMA song."""
    lines = ["RndSeed 1", "Tempo 120"]
    bar = 1
    for g in grooves:
        lines += [f"Groove {g}", "AllTracks RTime 0"]
        for _ in range(BARS):
            lines.append(f"{bar} C")
            bar += 1
    src, out = os.path.join(work, "song.mma"), os.path.join(work, "song.mid")
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    done = subprocess.run(["mma", "-f", out, src], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"mma failed: {done.stdout[-400:]} {done.stderr[-400:]}")
    return mido.MidiFile(out)


def grids(midi, bars):
    """[bars][3 * 16] velocities from the drum channel, one row per bar."""
    per_bar = 4 * midi.ticks_per_beat
    step = per_bar / STEPS
    out = [[0.0] * (3 * STEPS) for _ in range(bars)]
    tick = 0
    for msg in mido.merge_tracks(midi.tracks):
        tick += msg.time
        if msg.type != "note_on" or msg.velocity == 0 or msg.channel != 9 or msg.note not in LANES:
            continue
        cell = int(round(tick / step))
        b, s = divmod(cell, STEPS)
        if b < bars:
            i = LANES[msg.note] * STEPS + s
            out[b][i] = max(out[b][i], msg.velocity / 127.0)
    return out


def build():
    """{"mma": version, "pieces": [{style, groove, bars}]}."""
    pieces = []
    version = subprocess.run(["mma", "-v"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as work:
        for style, names in styles():
            try:
                midi = render(names, work)
            except RuntimeError as e:
                print(f"groove_corpus: {style} skipped: {e}", file=sys.stderr)
                continue
            rows = grids(midi, BARS * len(names))
            seen = set()
            for i, name in enumerate(names):
                bars = rows[i * BARS:(i + 1) * BARS]
                key = tuple(tuple(round(v, 3) for v in b) for b in bars)
                if key in seen or not any(any(b) for b in bars):
                    continue
                seen.add(key)
                pieces.append({"style": style, "groove": name, "bars": [[round(v, 4) for v in b] for b in bars]})
    return {"mma": version, "pieces": pieces}


def main():
    corpus = build()
    with open(sys.argv[1], "w") as f:
        json.dump(corpus, f)
    p = corpus["pieces"]
    print(f"{len(p)} grooves from {len({x['style'] for x in p})} styles -> {sys.argv[1]}")


if __name__ == "__main__":
    main()
