"""The MelodyTransformer trained on folk tunes (``melody_corpus.py``), split
by tune, beside interpolated n-gram baselines fitted on the same training
tunes. Trained with JAX (CPU, seeded, deterministic); exported by
make_models.py to the same ONNX graph as before.

``python scripts/ml/melody.py CORPUS.json [SEED]`` prints the evaluation.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nn import split_by_group  # noqa: E402

TOKENS = 160
SEQ = 64
DIM = 64
HEADS = 4
LAYERS = 2
FF = 128
MAJOR = {0, 2, 4, 5, 7, 9, 11}
MINOR = {0, 2, 3, 5, 7, 8, 10, 11}  # natural minor and the leading tone


def split_tunes(items, seed):
    """Train / validation / test, every tune with one title on one side."""
    return split_by_group(items, lambda i: i["title"], seed, 40)


def windows(tunes, stride=31):
    """[n, SEQ + 1] token windows of every tune long enough. The stride is
    odd, so windows start on a pitch and on a duration token alike: with
    absolute positions, windows that always start on a pitch teach the
    model that token type follows position parity, and a rolling context
    at generation time then breaks the pitch/duration order (it did, in 38
    of 40 sampled continuations)."""
    out = []
    for t in tunes:
        toks = t["tokens"]
        for s in range(0, len(toks) - SEQ, stride):
            out.append(toks[s:s + SEQ + 1])
    return np.array(out, np.int32)


def targets(tunes):
    """Held-out evaluation: back-to-back windows of SEQ + 1 tokens; every
    token after the first is predicted from the tokens before it in its
    window. Returns (contexts [n, SEQ] left-padded with -1, next [n],
    windows)."""
    wins = windows(tunes, stride=SEQ + 1)
    xs, ys = [], []
    for win in wins:
        for i in range(1, SEQ + 1):
            ctx = np.full(SEQ, -1, np.int64)
            ctx[SEQ - i:] = win[:i]
            xs.append(ctx)
            ys.append(win[i])
    return np.array(xs, np.int64), np.array(ys, np.int64), wins


class TokenNGram:
    """Linearly interpolated token n-gram, weights fitted on validation."""

    def __init__(self, order, seqs):
        self.order = order
        self.tables = [dict() for _ in range(order)]
        for s in seqs:
            for i in range(len(s)):
                for o in range(order):
                    if i - o < 0:
                        break
                    ctx = tuple(s[i - o:i])
                    row = self.tables[o].setdefault(ctx, np.zeros(TOKENS))
                    row[s[i]] += 1
        for table in self.tables:
            for k, v in table.items():
                table[k] = v / v.sum()
        self.weights = np.full(order + 1, 1.0 / (order + 1))

    def components(self, x):
        out = np.zeros((self.order + 1, len(x), TOKENS))
        out[0] = 1.0 / TOKENS
        for o in range(self.order):
            for i, row in enumerate(x):
                ctx = tuple(row[len(row) - o:]) if o else ()
                if -1 in ctx:
                    continue
                found = self.tables[o].get(ctx)
                if found is not None:
                    out[o + 1, i] = found
        return out

    def fit(self, x, y, steps=10):
        parts = self.components(x)[:, np.arange(len(y)), y]
        best, best_nll = None, np.inf
        from harmony import _simplex
        for w in _simplex(self.order + 1, steps):
            if w[0] == 0:
                continue
            nll = -np.mean(np.log(np.asarray(w) @ parts))
            if nll < best_nll:
                best, best_nll = np.asarray(w), nll
        self.weights = best

    def distributions(self, x):
        return np.tensordot(self.weights, self.components(x), axes=1)


def scores(probs, y):
    p = np.clip(probs[np.arange(len(y)), y], 1e-12, None)
    return {"perplexity": float(np.exp(-np.mean(np.log(p)))),
            "accuracy": float(100 * np.mean(probs.argmax(axis=1) == y))}


def init_params(key):
    import jax
    ks = iter(jax.random.split(key, 64))
    n = lambda shape, scale: np.asarray(jax.random.normal(next(ks), shape) * scale, np.float32)
    w = {"tok": n((TOKENS, DIM), 0.1), "pos": n((SEQ, DIM), 0.1)}
    for l in range(LAYERS):
        for m in "qkvo":
            w[f"l{l}_{m}_w"] = n((DIM, DIM), np.sqrt(1.0 / DIM))
            w[f"l{l}_{m}_b"] = np.zeros(DIM, np.float32)
        w[f"l{l}_f1_w"] = n((DIM, FF), np.sqrt(2.0 / DIM)); w[f"l{l}_f1_b"] = np.zeros(FF, np.float32)
        w[f"l{l}_f2_w"] = n((FF, DIM), np.sqrt(1.0 / FF)); w[f"l{l}_f2_b"] = np.zeros(DIM, np.float32)
        for m in ("ln1", "ln2"):
            w[f"l{l}_{m}_g"] = np.ones(DIM, np.float32); w[f"l{l}_{m}_b"] = np.zeros(DIM, np.float32)
    w["lnf_g"] = np.ones(DIM, np.float32); w["lnf_b"] = np.zeros(DIM, np.float32)
    w["out_w"] = n((DIM, TOKENS), np.sqrt(1.0 / DIM)); w["out_b"] = np.zeros(TOKENS, np.float32)
    return w


def forward(w, t, xp=np):
    """Logits at every position [b, SEQ, TOKENS]: the graph of make_models.py
    (pre-LN, causal, post-final-LN), in numpy or jax.numpy."""
    mask = xp.triu(xp.full((SEQ, SEQ), -1e9, xp.float32), 1)

    def ln(x, g, b):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / xp.sqrt(v + 1e-5) * g + b

    def softmax(s):
        e = xp.exp(s - s.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    b = t.shape[0]
    x = w["tok"][t] + w["pos"]
    for l in range(LAYERS):
        p = f"l{l}_"
        n1 = ln(x, w[p + "ln1_g"], w[p + "ln1_b"])
        q, k, v = [(n1 @ w[p + m + "_w"] + w[p + m + "_b"]).reshape(b, SEQ, HEADS, DIM // HEADS) for m in "qkv"]
        s = xp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(DIM // HEADS) + mask
        ctx = xp.einsum("bhqk,bkhd->bqhd", softmax(s), v).reshape(b, SEQ, DIM)
        x1 = x + ctx @ w[p + "o_w"] + w[p + "o_b"]
        n2 = ln(x1, w[p + "ln2_g"], w[p + "ln2_b"])
        x = x1 + xp.maximum(n2 @ w[p + "f1_w"] + w[p + "f1_b"], 0) @ w[p + "f2_w"] + w[p + "f2_b"]
    return ln(x, w["lnf_g"], w["lnf_b"]) @ w["out_w"] + w["out_b"]


def last_probs(w, x, batch=512):
    out = []
    for s in range(0, len(x), batch):
        z = forward(w, x[s:s + batch])[:, -1]
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        out.append(e / e.sum(axis=1, keepdims=True))
    return np.concatenate(out)


def window_probs(w, wins, predict):
    """Probabilities of every next token in `wins` [n, SEQ + 1] (the order
    of `targets`), from `predict(w, tokens [b, SEQ]) -> logits [b, SEQ, T]`."""
    out = []
    for s in range(0, len(wins), 256):
        z = np.asarray(predict(w, wins[s:s + 256, :-1]))
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        out.append((e / e.sum(axis=-1, keepdims=True)).reshape(-1, TOKENS))
    return np.concatenate(out)


def in_key_rate(sequences, keys):
    """Share of pitched tokens whose pitch class is in the tune's key."""
    hit = total = 0
    for toks, k in zip(sequences, keys):
        tonic, scale = k % 12, (MINOR if k >= 12 else MAJOR)
        for tok in toks:
            if 0 < tok < 128:
                total += 1
                hit += ((tok - tonic) % 12) in scale
    return hit / max(total, 1)


def sample(w, prompt, n, rng):
    """n tokens sampled after a SEQ-token prompt (rolling context)."""
    ctx = list(prompt)
    out = []
    for _ in range(n):
        p = last_probs(w, np.array([ctx[-SEQ:]], np.int64))[0].astype(np.float64)
        tok = int(rng.choice(TOKENS, p=p / p.sum()))
        out.append(tok)
        ctx.append(tok)
    return out


def train(seed, corpus, epochs=30, batch=64, lr=2e-3, log=sys.stderr):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", False)
    parts = split_tunes(corpus["tunes"], seed)
    train_w = windows(parts["train"])
    vx, vy, vwin = targets(parts["validation"])
    sx, sy, swin = targets(parts["test"])
    key = jax.random.PRNGKey(seed)
    w = {k: jnp.asarray(v) for k, v in init_params(key).items()}

    def loss(w, win):
        z = forward(w, win[:, :-1], jnp)
        logp = jax.nn.log_softmax(z, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, win[:, 1:, None], axis=-1))

    predict = jax.jit(lambda w, t: forward(w, t, jnp))

    @jax.jit
    def step(w, m, v, t, win):
        g = jax.grad(loss)(w, win)
        m = jax.tree.map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
        v = jax.tree.map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
        w = jax.tree.map(lambda p, a, b: p - lr * (a / (1 - 0.9 ** t)) / (jnp.sqrt(b / (1 - 0.999 ** t)) + 1e-8), w, m, v)
        return w, m, v

    m = jax.tree.map(jnp.zeros_like, w)
    v = jax.tree.map(jnp.zeros_like, w)
    rng = np.random.default_rng([seed, 41])
    best, best_ppl, best_epoch, t = None, np.inf, 0, 0
    for epoch in range(epochs):
        order = rng.permutation(len(train_w))
        for s in range(0, len(order) - batch + 1, batch):
            t += 1
            w, m, v = step(w, m, v, t, jnp.asarray(train_w[order[s:s + batch]]))
        wn = {k: np.array(a) for k, a in w.items()}
        ppl = scores(window_probs(w, vwin, predict), vy)["perplexity"]
        print(f"melody epoch {epoch + 1}: validation perplexity {ppl:.3f}", file=log)
        if ppl < best_ppl:
            best, best_ppl, best_epoch = wn, ppl, epoch + 1
    evaluation = {"model": scores(window_probs(best, swin, predict), sy), "epochs": best_epoch,
                  "validation_perplexity": float(best_ppl)}
    train_seqs = [t["tokens"] for t in parts["train"]]
    for order, name in [(1, "unigram"), (2, "bigram"), (3, "trigram"), (5, "5gram")]:
        ng = TokenNGram(order, train_seqs)
        ng.fit(vx, vy)
        evaluation[name] = scores(ng.distributions(sx), sy)
        evaluation[name]["weights"] = [round(float(x), 2) for x in ng.weights]
    # Generation: 64 tokens after the first 64 of each of 40 held-out tunes.
    gen_rng = np.random.default_rng([seed, 42])
    prompts = [t for t in parts["test"] if len(t["tokens"]) >= SEQ][:40]
    sampled = [sample(best, t["tokens"][:SEQ], SEQ, gen_rng) for t in prompts]
    evaluation["generation"] = {
        "tunes": len(prompts),
        "in_key_sampled": in_key_rate(sampled, [t["key"] for t in prompts]),
        "in_key_held_out_tunes": in_key_rate([t["tokens"] for t in parts["test"]], [t["key"] for t in parts["test"]]),
        "pitch_then_duration": float(np.mean([all((a < 128) == (i % 2 == 0) for i, a in enumerate(s)) for s in sampled])),
    }
    # The rate the card states and the Rust test holds ORT-sampled
    # continuations to: five points under what these samples reached.
    evaluation["generation"]["in_key_stated"] = float(np.floor((evaluation["generation"]["in_key_sampled"] - 0.05) * 100) / 100)
    evaluation["split"] = {side: {"tunes": len(ts), "tokens": int(sum(len(t["tokens"]) for t in ts)),
                                  "predicted": int(sum(max(len(t["tokens"]) - SEQ, 0) for t in ts))}
                           for side, ts in parts.items()}
    return best, (swin, prompts), evaluation


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        corpus = json.load(f)
    _, _, evaluation = train(int(sys.argv[2]) if len(sys.argv) > 2 else 7, corpus)
    print(json.dumps(evaluation, indent=1))
