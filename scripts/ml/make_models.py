#!/usr/bin/env python3
"""Builds kmidi-ml's five ONNX models, their int8 variants, golden
input/output pairs and held-out evaluation sets.

    scripts/ml.sh [--seed 7]      (a venv in target/venv with requirements.txt)

Writes crates/ml/models/. Deterministic for a given seed: weights come from
numpy's PCG64 generator, training is minibatch Adam in numpy with a fixed
shuffling order. The HarmonyPredictor learns from real music (music21's
Bach chorales and Roman-numeral analyses, scripts/ml/harmony.py), and so
does the GroovePredictor (MMA's groove library, scripts/ml/groove.py); each
model's card is crates/ml/models/<name>.md. Every fp32 model has a numpy
reference forward pass; the golden outputs come from it, not from ONNX
Runtime.

Models (batch dimension dynamic everywhere):
  emotion_recognizer   logmel [b,1,64,96] -> valence_arousal [b,2], emotion [b,6]
                       small CNN; untrained (no labelled audio), sized for latency
  harmony_predictor    chords int64 [b,8], key int64 [b,1] -> next_chord [b,109]
                       key-relative embeddings + MLP; trained on Bach
                       chorales and .rntxt analyses, split by tune
  melody_transformer   tokens int64 [b,64] -> logits [b,160]
                       2-layer pre-LN transformer decoder, 4 heads, causal
                       mask; trained on folk tunes with JAX, split by tune
  groove_predictor     grid [b,192] (4 bars) -> next_bar [b,48]
                       MLP plus per-cell "hit k bars ago" weights; trained
                       on MMA's grooves, split by style
  dynamics_engine      features [b,32,4] -> gain_db [b,32]
                       MLP; trained to reproduce a 4:1 compressor's gain
                       computer with release smoothing
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nn import Adam, graph, relu, softmax, vi  # noqa: E402
import groove  # noqa: E402
import groove_corpus  # noqa: E402
import harmony  # noqa: E402
import harmony_corpus  # noqa: E402
import melody  # noqa: E402
import melody_corpus  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "ml", "models")
CHORDS = 109  # 12 roots x 9 kinds + no chord
KEYS = 24
MEL_TOKENS = 160  # 128 pitches + 32 durations
SEQ = 64
DIM = 64
HEADS = 4


def init(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def save(model, name):
    model.ir_version = 9
    onnx.checker.check_model(model)
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(model, path)
    return path





# ---------------------------------------------------------------- numpy ops

def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def conv2d(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, o, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return (out + b[None, :, None, None]).astype(np.float32)


# ----------------------------------------------------------- training data

def mlp_train(rng, params, forward_backward, x, y, epochs, batch=128, lr=3e-3):
    opt = Adam(params, lr)
    n = len(x)
    for _ in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            grads = forward_backward(params, x[idx], y[idx])
            opt.step(grads)


# ------------------------------------------------------------------ models

def emotion_recognizer(rng):
    w = {
        "c1_w": init(rng, (8, 1, 3, 3), 9), "c1_b": np.zeros(8, np.float32),
        "c2_w": init(rng, (16, 8, 3, 3), 72), "c2_b": np.zeros(16, np.float32),
        "fc_w": init(rng, (16, 32), 16), "fc_b": np.zeros(32, np.float32),
        "va_w": init(rng, (32, 2), 32), "va_b": np.zeros(2, np.float32),
        "em_w": init(rng, (32, 6), 32), "em_b": np.zeros(6, np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["logmel", "c1_w", "c1_b"], ["c1"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "c2_w", "c2_b"], ["c2"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["fc"]),
        helper.make_node("Relu", ["fc"], ["h"]),
        helper.make_node("Gemm", ["h", "va_w", "va_b"], ["va"]),
        helper.make_node("Tanh", ["va"], ["valence_arousal"]),
        helper.make_node("Gemm", ["h", "em_w", "em_b"], ["em"]),
        helper.make_node("Softmax", ["em"], ["emotion"], axis=-1),
    ]
    model = graph(nodes, "emotion_recognizer", [vi("logmel", TensorProto.FLOAT, ["batch", 1, 64, 96])],
                  [vi("valence_arousal", TensorProto.FLOAT, ["batch", 2]), vi("emotion", TensorProto.FLOAT, ["batch", 6])], w)

    def ref(inputs):
        x = inputs["logmel"]
        r1 = relu(conv2d(x, w["c1_w"], w["c1_b"], 2, 1))
        r2 = relu(conv2d(r1, w["c2_w"], w["c2_b"], 2, 1))
        h = relu(r2.mean(axis=(2, 3)) @ w["fc_w"] + w["fc_b"])
        return {"valence_arousal": np.tanh(h @ w["va_w"] + w["va_b"]), "emotion": softmax(h @ w["em_w"] + w["em_b"])}

    def sample(n):
        return {"logmel": rng.standard_normal((n, 1, 64, 96)).astype(np.float32)}

    return model, ref, sample


def harmony_predictor(seed):
    """Trained on real chord sequences (scripts/ml/harmony.py)."""
    print("reading music21's chorales and analyses ...", file=sys.stderr)
    corpus = harmony_corpus.build()
    params, (sx, sk, sy), evaluation = harmony.train(seed, corpus)
    rng = np.random.default_rng([seed, 21])
    model = harmony.onnx_model(params)

    def ref(inputs):
        return {"next_chord": harmony.predict(params, inputs["chords"], inputs["key"])}

    def sample(n):
        return {"chords": rng.integers(0, CHORDS, (n, 8)).astype(np.int64), "key": rng.integers(0, KEYS, (n, 1)).astype(np.int64)}

    train_targets = harmony.examples(harmony.split_groups(corpus["pieces"], seed)["train"])[2]
    heldout = {"chords": sx.tolist(), "key": sk[:, None].tolist(), "target": sy.tolist(),
               "majority": int(np.bincount(train_targets, minlength=CHORDS).argmax()),
               "evaluation": evaluation}
    return model, ref, sample, heldout


def melody_transformer(seed):
    """Trained on folk tunes with JAX (scripts/ml/melody.py)."""
    print("reading music21's folk tunes ...", file=sys.stderr)
    corpus = melody_corpus.build()
    w, (_, prompts), evaluation = melody.train(seed, corpus)
    rng = np.random.default_rng([seed, 43])
    mask = np.triu(np.full((SEQ, SEQ), -1e9, np.float32), 1)
    consts = {"mask": mask, "split_shape": np.array([0, SEQ, HEADS, DIM // HEADS], np.int64),
              "merge_shape": np.array([0, SEQ, DIM], np.int64), "scale": np.array(1 / np.sqrt(DIM // HEADS), np.float32),
              "last": np.array(SEQ - 1, np.int64)}
    nodes = [helper.make_node("Gather", ["tok", "tokens"], ["te"]), helper.make_node("Add", ["te", "pos"], ["x0"])]
    x = "x0"
    for l in range(2):
        p = f"l{l}_"
        nodes.append(helper.make_node("LayerNormalization", [x, p + "ln1_g", p + "ln1_b"], [p + "n1"], axis=-1, epsilon=1e-5))
        for n in ["q", "k", "v"]:
            nodes += [helper.make_node("MatMul", [p + "n1", p + n + "_w"], [p + n + "m"]),
                      helper.make_node("Add", [p + n + "m", p + n + "_b"], [p + n + "a"]),
                      helper.make_node("Reshape", [p + n + "a", "split_shape"], [p + n + "r"])]
        nodes += [
            helper.make_node("Transpose", [p + "qr"], [p + "qt"], perm=[0, 2, 1, 3]),
            helper.make_node("Transpose", [p + "kr"], [p + "kt"], perm=[0, 2, 3, 1]),
            helper.make_node("Transpose", [p + "vr"], [p + "vt"], perm=[0, 2, 1, 3]),
            helper.make_node("MatMul", [p + "qt", p + "kt"], [p + "s"]),
            helper.make_node("Mul", [p + "s", "scale"], [p + "ss"]),
            helper.make_node("Add", [p + "ss", "mask"], [p + "sm"]),
            helper.make_node("Softmax", [p + "sm"], [p + "att"], axis=-1),
            helper.make_node("MatMul", [p + "att", p + "vt"], [p + "ctx"]),
            helper.make_node("Transpose", [p + "ctx"], [p + "ctxt"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", [p + "ctxt", "merge_shape"], [p + "merged"]),
            helper.make_node("MatMul", [p + "merged", p + "o_w"], [p + "om"]),
            helper.make_node("Add", [p + "om", p + "o_b"], [p + "oa"]),
            helper.make_node("Add", [x, p + "oa"], [p + "x1"]),
            helper.make_node("LayerNormalization", [p + "x1", p + "ln2_g", p + "ln2_b"], [p + "n2"], axis=-1, epsilon=1e-5),
            helper.make_node("MatMul", [p + "n2", p + "f1_w"], [p + "f1m"]),
            helper.make_node("Add", [p + "f1m", p + "f1_b"], [p + "f1a"]),
            helper.make_node("Relu", [p + "f1a"], [p + "f1r"]),
            helper.make_node("MatMul", [p + "f1r", p + "f2_w"], [p + "f2m"]),
            helper.make_node("Add", [p + "f2m", p + "f2_b"], [p + "f2a"]),
            helper.make_node("Add", [p + "x1", p + "f2a"], [p + "x2"]),
        ]
        x = p + "x2"
    nodes += [helper.make_node("LayerNormalization", [x, "lnf_g", "lnf_b"], ["xf"], axis=-1, epsilon=1e-5),
              helper.make_node("Gather", ["xf", "last"], ["xl"], axis=1),
              helper.make_node("Gemm", ["xl", "out_w", "out_b"], ["logits"])]
    weights = dict(w); weights.update(consts)
    model = graph(nodes, "melody_transformer", [vi("tokens", TensorProto.INT64, ["batch", SEQ])],
                  [vi("logits", TensorProto.FLOAT, ["batch", MEL_TOKENS])], weights)

    def ref(inputs):
        return {"logits": melody.forward(w, inputs["tokens"])[:, -1]}

    def sample(n):
        return {"tokens": rng.integers(0, MEL_TOKENS, (n, SEQ)).astype(np.int64)}

    heldout = {"prompts": [t["tokens"][:SEQ] for t in prompts], "keys": [t["key"] for t in prompts],
               "evaluation": evaluation}
    return model, ref, sample, heldout


def groove_predictor(seed):
    """Trained on MMA's human-authored grooves (scripts/ml/groove.py)."""
    print("rendering MMA's groove library ...", file=sys.stderr)
    corpus = groove_corpus.build()
    params, (sx, sy), evaluation = groove.train(seed, corpus)
    rng = np.random.default_rng([seed, 32])
    model = groove.onnx_model(params)

    def ref(inputs):
        return {"next_bar": groove.forward(params, inputs["grid"])[2]}

    def sample(n):
        # Velocities with about a quarter of the cells hit.
        grid = rng.random((n, groove.CONTEXT_BARS * groove.CELLS)).astype(np.float32)
        return {"grid": np.where(rng.random(grid.shape) < 0.25, grid, 0.0).astype(np.float32)}

    train_y = groove.examples(groove.split_styles(corpus["pieces"], seed)["train"])[1]
    heldout = {"grid": sx.round(4).tolist(), "target": sy.astype(int).tolist(),
               "majority": (train_y.mean(0) > 0.5).astype(int).tolist(), "evaluation": evaluation}
    return model, ref, sample, heldout


def dynamics_engine(rng):
    p = {"w1": init(rng, (128, 64), 128), "b1": np.zeros(64, np.float32),
         "w2": init(rng, (64, 32), 64) * 0.5, "b2": np.zeros(32, np.float32)}

    def make(n):
        # Features per 10 ms frame: loudness (dBFS / 60 + 1), onset
        # strength, crest factor (/ 20 dB), and a constant 1.
        loud_db = np.cumsum(rng.normal(0, 3, (n, 32)), axis=1) - rng.uniform(5, 40, (n, 1))
        loud_db = np.clip(loud_db, -60, 0)
        onset = np.clip(np.diff(loud_db, axis=1, prepend=loud_db[:, :1]) / 10, 0, 1)
        crest = rng.uniform(3, 18, (n, 32)) / 20
        feats = np.stack([loud_db / 60 + 1, onset, crest, np.ones_like(crest)], axis=-1).astype(np.float32)
        # Target: a 4:1 compressor above -18 dBFS with fast attack, slower release.
        static = -np.maximum(0, loud_db + 18) * 0.75
        gain = np.zeros_like(static)
        g = np.zeros(n)
        for t in range(32):
            g = np.where(static[:, t] < g, static[:, t], g + 0.3 * (static[:, t] - g))
            gain[:, t] = g
        return feats.reshape(n, 128), gain.astype(np.float32)

    x, y = make(20000)

    def fb(p, x, y):
        z1 = x @ p["w1"] + p["b1"]; h1 = np.tanh(z1)
        out = h1 @ p["w2"] + p["b2"]
        d = 2 * (out - y) / y.size
        dh1 = d @ p["w2"].T * (1 - h1 ** 2)
        return {"w2": h1.T @ d, "b2": d.sum(0), "w1": x.T @ dh1, "b1": dh1.sum(0)}

    mlp_train(rng, p, fb, x, y, epochs=40, lr=2e-3)
    xt, yt = make(2000)
    pred = np.tanh(xt @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
    rmse = float(np.sqrt(((pred - yt) ** 2).mean()))
    w = dict(p); w["shape"] = np.array([-1, 128], np.int64)
    nodes = [helper.make_node("Reshape", ["features", "shape"], ["flat"]),
             helper.make_node("Gemm", ["flat", "w1", "b1"], ["z1"]), helper.make_node("Tanh", ["z1"], ["h1"]),
             helper.make_node("Gemm", ["h1", "w2", "b2"], ["gain_db"])]
    model = graph(nodes, "dynamics_engine", [vi("features", TensorProto.FLOAT, ["batch", 32, 4])],
                  [vi("gain_db", TensorProto.FLOAT, ["batch", 32])], w)

    def ref(inputs):
        return {"gain_db": np.tanh(inputs["features"].reshape(-1, 128) @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]}

    def sample(n):
        return {"features": make(n)[0].reshape(n, 32, 4)}

    return model, ref, sample, {"rmse_db": rmse, "target_std_db": float(yt.std())}


def golden(ref, sample, n=2):
    inputs = sample(n)
    outputs = ref(inputs)
    enc = lambda a: {"shape": list(a.shape), "data": np.asarray(a).reshape(-1).tolist()}
    return {"inputs": {k: enc(v) for k, v in inputs.items()}, "outputs": {k: enc(v.astype(np.float32)) for k, v in outputs.items()}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    report = {"seed": args.seed}
    built = {}
    m, ref, sample = emotion_recognizer(rng)
    built["emotion_recognizer"] = (m, ref, sample)
    m, ref, sample, held = harmony_predictor(args.seed)
    report["harmony_predictor"] = {k: v for k, v in held["evaluation"].items() if k != "test_pieces"}
    built["harmony_predictor"] = (m, ref, sample)
    with open(os.path.join(OUT, "harmony_predictor.heldout.json"), "w") as f:
        json.dump(held, f)
    m, ref, sample, held = melody_transformer(args.seed)
    built["melody_transformer"] = (m, ref, sample)
    with open(os.path.join(OUT, "melody_transformer.heldout.json"), "w") as f:
        json.dump(held, f)
    report["melody_transformer"] = held["evaluation"]
    m, ref, sample, held = groove_predictor(args.seed)
    report["groove_predictor"] = {k: v for k, v in held["evaluation"].items() if k != "test_styles"}
    built["groove_predictor"] = (m, ref, sample)
    with open(os.path.join(OUT, "groove_predictor.heldout.json"), "w") as f:
        json.dump(held, f)
    m, ref, sample, dyn = dynamics_engine(rng)
    built["dynamics_engine"] = (m, ref, sample)
    report["dynamics_engine"] = dyn
    from onnxruntime.quantization import QuantType, quantize_dynamic
    for name, (model, ref, sample) in built.items():
        path = save(model, name)
        with open(os.path.join(OUT, name + ".golden.json"), "w") as f:
            json.dump(golden(ref, sample), f)
        quantize_dynamic(path, os.path.join(OUT, name + ".int8.onnx"), weight_type=QuantType.QInt8)
        report[name + ".onnx"] = os.path.getsize(path)
        report[name + ".int8.onnx"] = os.path.getsize(os.path.join(OUT, name + ".int8.onnx"))
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
    print(json.dumps(report, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
