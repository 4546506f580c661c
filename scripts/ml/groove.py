"""The GroovePredictor trained on human-authored drum patterns (MMA's groove
library, ``groove_corpus.py``), split by style, with the baselines a
drummer's tool would try first: repeat the last bar, and a per-style
n-gram over whole bars.

Used by make_models.py; ``python scripts/ml/groove.py CORPUS.json [SEED]``
prints the evaluation alone.
"""

import json
import os
import sys
from collections import Counter, defaultdict

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nn import Adam, graph, split_by_group, vi  # noqa: E402

CELLS = 48  # 3 lanes x 16 steps
CONTEXT_BARS = 4  # the input: the last four bars


def split_styles(items, seed):
    """Train / validation / test grooves, whole styles on one side."""
    return split_by_group(items, lambda i: i["style"], seed, 30)


def examples(pieces):
    """(the last four bars' velocities [n, 192], oldest first; the next
    bar's hits [n, 48]; (piece, bar))."""
    xs, ys, where = [], [], []
    for i, p in enumerate(pieces):
        bars = np.asarray(p["bars"], np.float32)
        for t in range(CONTEXT_BARS, len(bars)):
            xs.append(bars[t - CONTEXT_BARS:t].reshape(-1))
            ys.append((bars[t] > 0).astype(np.float32))
            where.append((i, t))
    return np.array(xs, np.float32), np.array(ys, np.float32), where


def f_measure(pred, truth):
    """F-measure on hits over all cells, with precision and recall."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    return {
        "f": 2 * tp / max(2 * tp + fp + fn, 1),
        "precision": tp / max(tp + fp, 1),
        "recall": tp / max(tp + fn, 1),
    }


def repeat_bar(pieces, where, back):
    """Repeat the bar `back` bars ago."""
    return np.array([np.asarray(pieces[i]["bars"][t - back]) > 0 for i, t in where])


def style_ngram(pieces, where, order):
    """A per-style n-gram over whole bars (hit patterns): the successor most
    often seen after the last ``order − 1`` bars, counted over the other
    grooves of the same style and the bars of this groove heard so far;
    the most recent on a tie; a shorter context, and finally the last bar,
    when the context was never seen."""
    hits = [[tuple(np.asarray(b) > 0) for b in p["bars"]] for p in pieces]
    by_style = defaultdict(list)
    for i, p in enumerate(pieces):
        by_style[p["style"]].append(i)
    out = []
    for i, t in where:
        seqs = [hits[j] for j in by_style[pieces[i]["style"]] if j != i] + [hits[i][:t]]
        guess = None
        for n in range(order - 1, 0, -1):
            ctx = tuple(hits[i][t - n:t])
            counts, last_seen = Counter(), {}
            for k, seq in enumerate(seqs):
                for u in range(n, len(seq)):
                    if tuple(seq[u - n:u]) == ctx:
                        counts[seq[u]] += 1
                        last_seen[seq[u]] = (k, u)
            if counts:
                guess = max(counts, key=lambda b: (counts[b], last_seen[b]))
                break
        out.append(np.array(guess if guess is not None else hits[i][t - 1]))
    return np.array(out)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def heard(x):
    """Which cells of each context bar were hit: [n, 4, 48]."""
    return (x > 0).astype(np.float32).reshape(len(x), CONTEXT_BARS, CELLS)


def forward(p, x):
    """The numpy reference of the ONNX graph: one ReLU layer over the four
    bars, plus a learned weight per cell and bar for "this cell was hit
    1, 2, 3 or 4 bars ago" (so repeating a loop of up to four bars is one
    weight away), through a sigmoid."""
    z1 = x @ p["w1"] + p["b1"]
    h1 = np.maximum(z1, 0)
    copy = (heard(x) * p["copy"][None]).sum(axis=1)
    return z1, h1, sigmoid(h1 @ p["w2"] + p["b2"] + copy)


def forward_copy_only(x):
    """Repeat the bar four back, from the model's input."""
    return heard(x)[:, 0, :] > 0


def bce(prob, y):
    prob = np.clip(prob, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(prob) + (1 - y) * np.log(1 - prob)))


def train(seed, corpus, hidden=128, epochs=200, batch=64, lr=2e-3, dropout=0.2, weight_decay=1e-4, log=sys.stderr):
    """Trains on the training styles, keeps the epoch with the best
    validation loss; returns the parameters, the held-out examples and the
    evaluation beside the baselines."""
    rng = np.random.default_rng([seed, 31])
    parts = split_styles(corpus["pieces"], seed)
    tx, ty, _ = examples(parts["train"])
    vx, vy, _ = examples(parts["validation"])
    sx, sy, s_where = examples(parts["test"])
    init = lambda shape, fan_in: (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
    width = CONTEXT_BARS * CELLS
    p = {"w1": init((width, hidden), width), "b1": np.zeros(hidden, np.float32),
         "w2": init((hidden, CELLS), hidden), "b2": np.zeros(CELLS, np.float32),
         "copy": np.zeros((CONTEXT_BARS, CELLS), np.float32)}
    # Start from "repeat the bar four back" (index 0: the oldest bar), the
    # loop a 4-bar context sees whole; training moves away from it only
    # where the data says so.
    p["copy"][0] = 4.0
    p["b2"][:] = -2.0
    opt = Adam(p, lr)
    # Kept: the epoch with the best validation loss (the model's job is a
    # probability per cell). Selecting by validation F-measure instead kept
    # the starting point, "repeat the bar four back", for three of four
    # settings tried: on this data no epoch beat it on unseen styles.
    def score(p):
        prob = forward(p, vx)[2]
        return (-bce(prob, vy), f_measure(prob >= 0.5, vy)["f"])
    best, best_score, best_epoch = {k: v.copy() for k, v in p.items()}, score(p), 0
    for epoch in range(epochs):
        order = rng.permutation(len(tx))
        for s in range(0, len(tx), batch):
            idx = order[s:s + batch]
            x, y = tx[idx], ty[idx]
            mask = (rng.random((len(idx), hidden)) >= dropout).astype(np.float32) / (1 - dropout)
            z1, h1, _ = forward(p, x)
            h1 = h1 * mask
            hits = heard(x)
            prob = sigmoid(h1 @ p["w2"] + p["b2"] + (hits * p["copy"][None]).sum(axis=1))
            d = (prob - y) / y.size
            g = {"w2": h1.T @ d + weight_decay * p["w2"], "b2": d.sum(0),
                 "copy": (hits * d[:, None, :]).sum(axis=0)}
            dh1 = d @ p["w2"].T * mask * (z1 > 0)
            g["w1"] = x.T @ dh1 + weight_decay * p["w1"]
            g["b1"] = dh1.sum(0)
            opt.step(g)
        now = score(p)
        if now > best_score:
            best, best_score, best_epoch = {k: v.copy() for k, v in p.items()}, now, epoch + 1
    best_loss = -best_score[0]
    print(f"groove: best validation loss {best_loss:.4f} (F {best_score[1]:.4f}) at epoch {best_epoch}", file=log)
    test = parts["test"]
    evaluation = {
        "model": f_measure(forward(best, sx)[2] >= 0.5, sy),
        "repeat_last_bar": f_measure(repeat_bar(test, s_where, 1), sy),
        "repeat_bar_four_back": f_measure(repeat_bar(test, s_where, 4), sy),
        "style_bigram": f_measure(style_ngram(test, s_where, 2), sy),
        "style_trigram": f_measure(style_ngram(test, s_where, 3), sy),
        "style_5gram": f_measure(style_ngram(test, s_where, 5), sy),
        "epochs": best_epoch,
        "validation_loss": best_loss,
        "validation_f": best_score[1],
        "validation_repeat_bar_four_back_f": f_measure(forward_copy_only(vx), vy)["f"],
        "split": {side: {"styles": len({p["style"] for p in ps}), "grooves": len(ps),
                         "predicted_bars": len(examples(ps)[0])} for side, ps in parts.items()},
        "test_styles": sorted({p["style"] for p in test}),
    }
    evaluation["model"]["test_loss"] = bce(forward(best, sx)[2], sy)
    return best, (sx, sy), evaluation


def onnx_model(p):
    """The ONNX graph of `forward`: grid [b, 192] (four bars, oldest first)
    -> next_bar [b, 48]."""
    n = helper.make_node
    nodes = [
        n("Gemm", ["grid", "w1", "b1"], ["z1"]),
        n("Relu", ["z1"], ["h1"]),
        n("Gemm", ["h1", "w2", "b2"], ["z2"]),
        # "This cell was hit k bars ago", weighted per cell and bar.
        n("Greater", ["grid", "zero"], ["hit_bool"]),
        n("Cast", ["hit_bool"], ["hit"], to=TensorProto.FLOAT),
        n("Reshape", ["hit", "bars_shape"], ["hits"]),
        n("Mul", ["hits", "copy"], ["weighted"]),
        n("ReduceSum", ["weighted", "bar_axis"], ["copied"], keepdims=0),
        n("Add", ["z2", "copied"], ["z"]),
        n("Sigmoid", ["z"], ["next_bar"]),
    ]
    weights = dict(p)
    weights["zero"] = np.array(0.0, np.float32)
    weights["bars_shape"] = np.array([-1, CONTEXT_BARS, CELLS], np.int64)
    weights["bar_axis"] = np.array([1], np.int64)
    return graph(nodes, "groove_predictor", [vi("grid", TensorProto.FLOAT, ["batch", CONTEXT_BARS * CELLS])],
                 [vi("next_bar", TensorProto.FLOAT, ["batch", CELLS])], weights)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        corpus = json.load(f)
    _, _, evaluation = train(int(sys.argv[2]) if len(sys.argv) > 2 else 7, corpus)
    print(json.dumps({k: v for k, v in evaluation.items() if k != "test_styles"}, indent=1))
