#!/usr/bin/env python3
"""Spotify's own Basic Pitch (basic-pitch 0.4.0's Python code, its nmp.onnx
in Python onnxruntime): the reference kmidi's transcription is held to.
Runs in target/venv-basic-pitch (scripts/lib/setup.sh,
ensure_basic_pitch_venv).

    python basic_pitch_reference.py notes OUT_DIR WAV...
        writes OUT_DIR/<stem>.basic_pitch.lab (onset, offset, Hz) for each
        WAV, with Basic Pitch's defaults, and prints seconds per file
    python basic_pitch_reference.py fixture
        writes crates/ml/tests/data/basic_pitch_notes.json: the notes Basic
        Pitch finds in a signal built from integer arithmetic alone (so the
        Rust test builds the identical f32 samples) at 22 050 Hz, which no
        resampler touches; crates/ml/tests/ml/transcription.rs compares
"""
import json
import logging
import os
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

logging.disable(logging.WARNING)
from basic_pitch.inference import predict  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "target", "models", "basic_pitch-0.4.0-nmp.onnx")
FIXTURE = os.path.join(ROOT, "crates", "ml", "tests", "data", "basic_pitch_notes.json")
RATE = 22050


def notes_of(wav):
    _, _, events = predict(wav, MODEL)
    return sorted((float(s), float(e), int(p), float(a)) for s, e, p, a, _ in events)


def fixture_signal():
    """Decaying harmonic tones, one key at a time and in chords, from
    integer phases: partial h of a tone with phase step `step` is the
    saw-like ramp ((i*step*h) & 0xFFFF), all in exact f32 steps."""
    n = 6 * RATE
    idx = np.arange(n, dtype=np.int64)
    x = np.zeros(n, dtype=np.float32)
    # (start sample, length, phase step): step 1300 ~ 437 Hz at 22050 Hz.
    tones = [(2205, 11025, 1300), (13230, 11025, 1638), (26460, 22050, 1300),
             (26460, 22050, 1638), (26460, 22050, 1948), (52920, 44100, 973),
             (77175, 33075, 2600)]
    for start, length, step in tones:
        seg = idx[start:start + length] - start
        ramp = ((seg * step) & 0xFFFF).astype(np.float32) / np.float32(32768.0) - np.float32(1.0)
        # A decay in powers of two: halves every 8192 samples (~0.37 s).
        env = np.exp2(-(seg // 2048).astype(np.float32) / np.float32(4.0)).astype(np.float32)
        x[start:start + length] += ramp * env * np.float32(0.125)
    return x


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "fixture":
        x = fixture_signal()
        with tempfile.TemporaryDirectory() as d:
            wav = os.path.join(d, "fixture.wav")
            sf.write(wav, x, RATE, subtype="FLOAT")
            notes = notes_of(wav)
        import basic_pitch
        import onnxruntime
        doc = {
            "basic_pitch": "0.4.0",
            "onnxruntime": onnxruntime.__version__,
            "sample_rate": RATE,
            "samples": int(len(x)),
            "signal_sha256": __import__("hashlib").sha256(x.astype("<f4").tobytes()).hexdigest(),
            "notes": [{"start_s": s, "end_s": e, "key": p, "amplitude": a} for s, e, p, a in notes],
        }
        _ = basic_pitch
        with open(FIXTURE + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(FIXTURE + ".tmp", FIXTURE)
        print(f"wrote {FIXTURE}: {len(notes)} notes")
        return 0
    if len(sys.argv) < 3 or sys.argv[1] != "notes":
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for wav in sys.argv[3:]:
        start = time.perf_counter()
        notes = notes_of(wav)
        took = time.perf_counter() - start
        stem = os.path.splitext(os.path.basename(wav))[0]
        path = os.path.join(out_dir, stem + ".basic_pitch.lab")
        with open(path + ".tmp", "w") as f:
            for s, e, p, _ in notes:
                f.write(f"{s:.6f}\t{e:.6f}\t{440.0 * 2 ** ((p - 69) / 12):.4f}\n")
        os.replace(path + ".tmp", path)
        print(f"{stem}\t{took:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
