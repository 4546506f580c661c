#!/usr/bin/env python3
"""Runs the two reference models that scripts/fetch_onnxruntime.sh fetches
(Silero VAD 6.2.3, Basic Pitch 0.4.0's nmp.onnx) in Python onnxruntime on
inputs built from integer arithmetic alone (so Rust builds the identical
f32 inputs), and writes what they output to
crates/ml/tests/data/reference_models.json. crates/ml/tests/ml/reference_models.rs
runs the same models through kmidi's ModelSession and compares.

    target/venv/bin/pip install onnxruntime==1.32.0 numpy
    target/venv/bin/python scripts/ml/record_reference_outputs.py
"""
import hashlib
import json
import os

import numpy as np
import onnxruntime as ort

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MODELS = os.path.join(ROOT, "target", "models")
OUT = os.path.join(ROOT, "crates", "ml", "tests", "data", "reference_models.json")


def saw_chord(n, steps, gain_shift, noise_shift, seed, gate):
    """Saws at integer phase steps, plus LCG noise, gated on and off every
    `gate` samples; every value is an exact f32 (k / 2^15, scaled by powers
    of two, summed in the same order as the Rust side)."""
    idx = np.arange(n, dtype=np.int64)
    x = np.zeros(n, dtype=np.float32)
    for step in steps:
        saw = ((idx * step) & 0xFFFF).astype(np.float32) / np.float32(32768.0) - np.float32(1.0)
        x = x + saw * np.float32(2.0 ** -gain_shift)
    state = np.uint32(seed)
    noise = np.empty(n, dtype=np.float32)
    for i in range(n):
        state = np.uint32((int(state) * 1664525 + 1013904223) & 0xFFFFFFFF)
        noise[i] = np.float32((int(state) >> 16) & 0xFFFF) / np.float32(32768.0) - np.float32(1.0)
    x = x * ((idx // gate) % 2).astype(np.float32) + noise * np.float32(2.0 ** -noise_shift)
    return x.astype(np.float32)


def f32_sha(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def session(path):
    """One intra-op thread, as kmidi's SessionConfig::default: a reduction
    split across threads can round differently."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options)


VARYING_LENGTHS = [512, 576, 640, 576]


def silero():
    s = session(os.path.join(MODELS, "silero_vad-6.2.3.onnx"))
    chunks, size = 40, 512
    streams = [saw_chord(chunks * size, [1433, 1801, 2141], 3, 7, 7, 4000),
               saw_chord(chunks * size, [977, 1231], 2, 6, 11, 2600)]
    out = {}
    # One stream, batch 1, state carried from chunk to chunk.
    state = np.zeros((2, 1, 128), dtype=np.float32)
    probs = []
    for c in range(chunks):
        x = streams[0][c * size:(c + 1) * size][None, :]
        p, state = s.run(None, {"input": x, "state": state, "sr": np.array(16000, dtype=np.int64)})
        probs.append(float(p[0, 0]))
    out["batch1_probs"] = probs
    out["batch1_final_state_sha256"] = f32_sha(state)
    # Both streams at once: batch 2, state [2, 2, 128], a scalar sr.
    state = np.zeros((2, 2, 128), dtype=np.float32)
    probs = []
    for c in range(chunks):
        x = np.stack([st[c * size:(c + 1) * size] for st in streams])
        p, state = s.run(None, {"input": x, "state": state, "sr": np.array(16000, dtype=np.int64)})
        probs.append([float(p[0, 0]), float(p[1, 0])])
    out["batch2_probs"] = probs
    # The sample dimension is dynamic too: chunk lengths that change from
    # run to run (one stream, state carried).
    state = np.zeros((2, 1, 128), dtype=np.float32)
    probs, pos = [], 0
    for c in range(12):
        n = VARYING_LENGTHS[c % len(VARYING_LENGTHS)]
        x = streams[0][pos:pos + n][None, :]
        pos += n
        p, state = s.run(None, {"input": x, "state": state, "sr": np.array(16000, dtype=np.int64)})
        probs.append(float(p[0, 0]))
    out["varying_lengths"] = VARYING_LENGTHS
    out["varying_probs"] = probs
    return out


def basic_pitch():
    s = session(os.path.join(MODELS, "basic_pitch-0.4.0-nmp.onnx"))
    n = 43844
    batch = np.stack([saw_chord(n, [1361, 1715, 2040], 3, 9, 3, 11025),
                      saw_chord(n, [1019, 1528], 2, 8, 5, 7000)])[:, :, None]
    name = s.get_inputs()[0].name
    outs = s.run(None, {name: batch})
    result = {"input": name, "outputs": []}
    for meta, o in zip(s.get_outputs(), outs):
        result["outputs"].append({
            "name": meta.name,
            "shape": list(o.shape),
            "sha256": f32_sha(o),
            "frame_max": [float(v) for v in o.max(axis=-1).ravel()],
        })
    return result


if __name__ == "__main__":
    data = {
        "onnxruntime": ort.__version__,
        "silero_vad": silero(),
        "basic_pitch": basic_pitch(),
    }
    with open(OUT, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")
