"""The pieces every model script shares: numpy ops, the Adam optimizer
and the ONNX graph helpers."""

import numpy as np
from onnx import helper, numpy_helper

OPSET = 17

# Shares of the groups (tunes, styles) for training and validation; the
# rest is the held-out test set.
TRAIN_SHARE, VALIDATION_SHARE = 0.7, 0.1


def split_by_group(items, group_of, seed, salt):
    """{"train", "validation", "test"} lists of `items`, every group
    (`group_of(item)`) whole on one side: the sorted groups in a seeded
    permutation (`salt` keeps each model's split its own), 70/10/20."""
    groups = sorted({group_of(i) for i in items})
    order = np.random.default_rng([seed, salt]).permutation(len(groups))
    n_train = int(round(TRAIN_SHARE * len(groups)))
    n_val = int(round(VALIDATION_SHARE * len(groups)))
    side = {}
    for rank, g in enumerate(order):
        side[groups[g]] = "train" if rank < n_train else "validation" if rank < n_train + n_val else "test"
    out = {"train": [], "validation": [], "test": []}
    for i in items:
        out[side[group_of(i)]].append(i)
    return out


def relu(x):
    return np.maximum(x, 0)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class Adam:
    def __init__(self, params, lr=3e-3):
        self.p = params
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0
        self.lr = lr

    def step(self, grads):
        self.t += 1
        for k, g in grads.items():
            self.m[k] = 0.9 * self.m[k] + 0.1 * g
            self.v[k] = 0.999 * self.v[k] + 0.001 * g * g
            mh = self.m[k] / (1 - 0.9 ** self.t)
            vh = self.v[k] / (1 - 0.999 ** self.t)
            self.p[k] -= (self.lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)


def flush_denormals(weights):
    """Sets float32 weights below the smallest normal number to zero, in
    place (so a numpy reference holding the same arrays agrees). Weight
    decay leaves the weights of dead units there, and a CPU multiplies a
    denormal tens of times slower: the GroovePredictor ran 42 µs with
    2,802 of them, 7 µs once quantized."""
    for v in weights.values():
        if isinstance(v, np.ndarray) and v.dtype == np.float32:
            v[np.abs(v) < np.finfo(np.float32).tiny] = 0.0


def graph(nodes, name, inputs, outputs, weights):
    flush_denormals(weights)
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in weights.items()]
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="kmidi make_models.py")


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)
