#!/usr/bin/env python3
"""Writes crates/ml/tests/data/mel_reference.json: test tones and
librosa.feature.melspectrogram of each with its defaults (n_fft 2048,
hop 512, periodic Hann, centred with zero padding, power 2, 128 Slaney
mel bands with Slaney normalization), plus one HTK-scale, unnormalized
case. Run once; the Rust test compares against the committed file.

    python3 -m pip install librosa==0.11.0 numpy
    python3 scripts/ml/make_mel_reference.py
"""
import json
import os

import librosa
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "ml", "tests", "data", "mel_reference.json")


def tone(sr, seconds, freqs, seed):
    t = np.arange(int(sr * seconds)) / sr
    y = sum(0.3 / (i + 1) * np.sin(2 * np.pi * f * t + i) for i, f in enumerate(freqs))
    rng = np.random.default_rng(seed)
    return (y + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


cases = []
for name, sr, freqs, kwargs in [
    ("a440_chord_48k", 48000, [440.0, 554.37, 659.25], {}),
    ("bass_and_hats_44k1", 44100, [55.0, 110.0, 7000.0], {}),
    ("htk_64_bands_48k", 48000, [261.63, 392.0], {"n_mels": 64, "htk": True, "norm": None, "fmin": 30.0, "fmax": 16000.0}),
]:
    y = tone(sr, 0.25, freqs, len(cases))
    mel = librosa.feature.melspectrogram(y=y, sr=sr, **kwargs)
    cases.append({
        "name": name,
        "sample_rate": sr,
        "n_mels": kwargs.get("n_mels", 128),
        "htk": kwargs.get("htk", False),
        "slaney_norm": kwargs.get("norm", "slaney") == "slaney",
        "fmin": kwargs.get("fmin", 0.0),
        "fmax": kwargs.get("fmax", sr / 2),
        "signal": y.tolist(),
        "frames": mel.shape[1],
        "mel": mel.T.reshape(-1).astype(np.float64).tolist(),
    })
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"librosa": librosa.__version__, "n_fft": 2048, "hop": 512, "cases": cases}, f)
print(OUT, [c["frames"] for c in cases])
