#!/usr/bin/env python3
"""librosa's tempo estimate and beat tracker (librosa 0.11.0, Ellis 2007
with a log-normal tempo prior about 120 BPM): the peer kmidi's tempo and
beats are held beside on the same rendered files. Runs in
target/venv-basic-pitch, which already holds librosa
(scripts/lib/setup.sh, ensure_basic_pitch_venv).

    python librosa_beats_reference.py OUT_DIR WAV...
        writes OUT_DIR/<stem>.librosa.json for each WAV: {"tempo_bpm": ...,
        "beats_s": [...]}, from librosa.beat.beat_track with its defaults
        (audio loaded at 22 050 Hz, mono, hop 512)
"""
import json
import os
import sys

import librosa
import numpy as np


def beats_of(wav):
    y, sr = librosa.load(wav, sr=22050, mono=True)
    tempo, frames = librosa.beat.beat_track(y=y, sr=sr)
    tempo = float(np.atleast_1d(tempo)[0])
    return {"tempo_bpm": tempo if tempo > 0 else None,
            "beats_s": [float(t) for t in librosa.frames_to_time(frames, sr=sr)]}


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: librosa_beats_reference.py OUT_DIR WAV...")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for wav in sys.argv[2:]:
        stem = os.path.splitext(os.path.basename(wav))[0]
        path = os.path.join(out_dir, stem + ".librosa.json")
        with open(path + ".tmp", "w") as f:
            json.dump(beats_of(wav), f)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
