"""Characters per second of the classic min-char-rnn training loop: plain NumPy vs tinygrad_rnn vs PyTorch.

The model and loop are min-char-rnn's: a vanilla RNN with hidden size 100 over one-hot characters,
windows of 25 characters walked through the text, the hidden state carried from window to window
(reset at the end of the text), loss = the sum of the 25 cross-entropies, each gradient element
clipped to [-5, 5], Adagrad with learning rate 0.1. Weights start as N(0, 0.01^2), biases at zero.

    python benchmarks/min_char_rnn_speed.py                       # 1 thread, float64, 10 s per contender
    python benchmarks/min_char_rnn_speed.py --dtype float32 --seconds 5
    python benchmarks/min_char_rnn_speed.py --bare                # also our kernels called with no graph
    python benchmarks/min_char_rnn_speed.py --bare --nodes        # and the graph's nodes without the engine

``--bare`` adds a contender: tinygrad_rnn's own products and kernels for the window called directly,
without tensors, graph nodes, modules or optimizer objects. It computes what tinygrad_rnn computes (the same
losses), so the gap between the two is the framework's Python, and the bare figure is what this design could
reach with none.

``--nodes`` splits that gap in two. Its contender makes the graph nodes tinygrad_rnn makes for a window and calls
their ``forward`` and ``backward`` in the order the engine would, on plain arrays, then clips and steps with the
same optimizer objects: no module code, no ``Tensor``, no ``Function.apply``, no backward walk. Its speed is the
most that recording a window's graph once and replaying it could give; what remains between it and ``--bare``
is the nodes' own bodies and the optimizer's.

Each contender trains from the same start on the same windows for ``--seconds`` in all after a
short warm-up, the contenders taking ``--turns`` turns each so that all of them meet the machine's
changing speed alike (the table gives the ratio over all turns and its range between turns); the
mean loss of the first 200 iterations is printed beside the speed as a sanity check.
tinygrad_rnn and PyTorch give the same losses step for step at first (nn.RNN in both has two
biases, b_ih and b_hh, each with its own Adagrad state). The NumPy loop has min-char-rnn's single
bias and divides by sqrt(s + 1e-8) where the other two use sqrt(s) + 1e-10, so it departs from
them at the second iteration; training at lr 0.1 is chaotic early on, so the means differ by a
few percent while all three learn.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import configure_threads  # noqa: E402  (must run before NumPy is imported)

THREADS = configure_threads(1)

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from common import fmt, format_table, machine_header, try_import_torch  # noqa: E402

HIDDEN, SEQ, LR, CLIP = 100, 25, 0.1, 5.0
DEFAULT_TEXT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                            "tinyshakespeare.txt")


def load_text(path):
    """(text, where it came from): the given file, else tinyshakespeare, else the built-in corpus."""
    if path is None and os.path.exists(DEFAULT_TEXT):
        path = DEFAULT_TEXT
    if path is not None:
        with open(path, encoding="utf-8") as f:
            return f.read(), os.path.normpath(path)
    from tinygrad_rnn.data import default_corpus
    return default_corpus(max_chars=1_000_000).text, "tinygrad_rnn.data.default_corpus"


def encode(text):
    """(vocabulary size, the text's characters as int64 ids): ids index the sorted distinct characters."""
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    return len(chars), np.array([index[c] for c in text], dtype=np.int64)


def initial_weights(vocab, dtype, seed=0):
    """min-char-rnn's start: W_xh (H, V), W_hh (H, H), W_hy (V, H) ~ N(0, 0.01^2); b_h (H,), b_y (V,) = 0."""
    rng = np.random.default_rng(seed)
    return dict(w_xh=(rng.standard_normal((HIDDEN, vocab)) * 0.01).astype(dtype),
                w_hh=(rng.standard_normal((HIDDEN, HIDDEN)) * 0.01).astype(dtype),
                w_hy=(rng.standard_normal((vocab, HIDDEN)) * 0.01).astype(dtype),
                b_h=np.zeros(HIDDEN, dtype), b_y=np.zeros(vocab, dtype))


def windows(ids):
    """Endless (inputs, targets, reset) windows of SEQ characters; reset is True when the walk restarts."""
    position = 0
    while True:
        reset = position + SEQ + 1 > len(ids)
        if reset:
            position = 0
        yield ids[position:position + SEQ], ids[position + 1:position + SEQ + 1], reset or position == 0
        position += SEQ


# ---------------------------------------------------------------- plain NumPy, from the equations
class PlainNumpy:
    """Forward: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h), p_t = softmax(W_hy h_t + b_y), x_t one-hot.
    Backward through time by hand; clip; Adagrad s += g^2, w -= lr g / sqrt(s + 1e-8).

    Vectors are columns (n, 1) and every product, the outer products of the weight gradients included,
    is ``np.dot``, as in the lecture's code: measured here that is 5-40% faster than 1-D vectors with
    ``np.outer`` (whose broadcasting multiply is slow), so the baseline is the faster of the two."""

    name = "plain NumPy"

    def __init__(self, vocab, dtype):
        self.vocab, self.dtype = vocab, dtype
        self.params = {k: (v[:, None].copy() if v.ndim == 1 else v) for k, v in initial_weights(vocab, dtype).items()}
        self.sums = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.h = np.zeros((HIDDEN, 1), dtype)
        self.lr, self.clip, self.eps = dtype(LR), dtype(CLIP), dtype(1e-8)

    def step(self, inputs, targets, reset):
        p = self.params
        if reset:
            self.h = np.zeros((HIDDEN, 1), self.dtype)
        xs, hs, ps = [], [self.h], []
        loss = 0.0
        for t in range(SEQ):                                   # forward, one character at a time
            x = np.zeros((self.vocab, 1), self.dtype)
            x[inputs[t]] = 1
            h = np.tanh(np.dot(p["w_xh"], x) + np.dot(p["w_hh"], hs[-1]) + p["b_h"])
            y = np.dot(p["w_hy"], h) + p["b_y"]
            e = np.exp(y - y.max())
            prob = e / e.sum()
            loss -= float(np.log(prob[targets[t], 0]))
            xs.append(x)
            hs.append(h)
            ps.append(prob)
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        dh_next = np.zeros((HIDDEN, 1), self.dtype)
        for t in reversed(range(SEQ)):                         # backward through time
            dy = ps[t].copy()
            dy[targets[t]] -= 1                                # d loss / d y = p - onehot(target)
            grads["w_hy"] += np.dot(dy, hs[t + 1].T)
            grads["b_y"] += dy
            dh = np.dot(p["w_hy"].T, dy) + dh_next
            dpre = (1 - hs[t + 1] * hs[t + 1]) * dh            # tanh' = 1 - h^2
            grads["b_h"] += dpre
            grads["w_xh"] += np.dot(dpre, xs[t].T)
            grads["w_hh"] += np.dot(dpre, hs[t].T)
            dh_next = np.dot(p["w_hh"].T, dpre)
        for k, w in p.items():                                 # clip, then Adagrad
            g = np.clip(grads[k], -self.clip, self.clip, out=grads[k])
            self.sums[k] += g * g
            w -= self.lr * g / np.sqrt(self.sums[k] + self.eps)
        self.h = hs[-1]
        return loss


# ---------------------------------------------------------------- tinygrad_rnn
class Ours:
    """nn.RNN (one fused node per step, input projection in one GEMM) + Linear head, summed cross-entropy,
    clip_grad_value_, optim.Adagrad; the hidden state is carried across windows detached."""

    name = "tinygrad_rnn"

    def __init__(self, vocab, dtype):
        import tinygrad_rnn as tg
        from tinygrad_rnn.optim import Adagrad, clip_grad_value_
        self.tg, self.clip_grad_value_, self.vocab, self.dtype = tg, clip_grad_value_, vocab, dtype
        w = initial_weights(vocab, dtype)
        self.rnn = tg.nn.RNN(vocab, HIDDEN, dtype=dtype)
        self.head = tg.nn.Linear(HIDDEN, vocab, dtype=dtype)
        self.rnn.weight_ih_l0.data[...] = w["w_xh"]
        self.rnn.weight_hh_l0.data[...] = w["w_hh"]
        self.rnn.bias_ih_l0.data[...] = w["b_h"]
        self.rnn.bias_hh_l0.data[...] = 0
        self.head.weight.data[...] = w["w_hy"]
        self.head.bias.data[...] = w["b_y"]
        self.params = list(self.rnn.parameters()) + list(self.head.parameters())
        self.opt = Adagrad(self.params, lr=LR)
        self.h = None
        self.eye = np.eye(vocab, dtype=dtype)

    def step(self, inputs, targets, reset):
        tg = self.tg
        if reset or self.h is None:
            self.h = tg.Tensor(np.zeros((1, 1, HIDDEN), self.dtype))
        x = tg.Tensor(self.eye[inputs][:, None, :])             # (T, 1, V) one-hot
        out, h_n = self.rnn(x, self.h)                          # (T, 1, H), (1, 1, H)
        loss = tg.cross_entropy(self.head(out.reshape(SEQ, HIDDEN)), targets, reduction="sum")
        self.opt.zero_grad()
        loss.backward()
        self.clip_grad_value_(self.params, CLIP)
        self.opt.step()
        self.h = h_n.detach()
        return loss.item()


# ---------------------------------------------------------------- the graph's nodes, walked by hand
class GraphNodes(Ours):
    """The graph ``Ours`` builds for a window, its nodes called directly: the input projection (``Linear`` with
    both biases), the sequence node, the head's ``Linear`` and the cross-entropy, each ``forward`` then each
    ``backward`` in the engine's order, on arrays; the gradients handed to the same ``clip_grad_value_`` and
    ``Adagrad`` as ``Ours``. The reshape between the layer and the head is a view here, as it is in the
    reshape node's forward and backward."""

    name = "graph nodes, no engine"

    def __init__(self, vocab, dtype):
        super().__init__(vocab, dtype)
        from tinygrad_rnn.autograd.ops.matmul import Linear
        from tinygrad_rnn.autograd.ops.nn_ops import CrossEntropy
        from tinygrad_rnn.nn.fused_sequences import RNNSequence
        self.nodes = Linear, RNNSequence, CrossEntropy
        self.seed = np.ones((), dtype)                       # d loss / d loss, as backward() starts

    def step(self, inputs, targets, reset):
        linear, sequence, cross_entropy = self.nodes
        rnn, head = self.rnn, self.head
        if reset or self.h is None:
            self.h = np.zeros((1, HIDDEN), self.dtype)
        projection, recurrence, output, loss_node = linear(), sequence(), linear(), cross_entropy()
        projection.needs_input_grad = (False, True, True, True)  # the one-hot input needs no gradient
        recurrence.needs_input_grad = (True, False, True)         # nor the carried (detached) state
        output.needs_input_grad = (True, True, True)
        loss_node.needs_input_grad = (True,)
        xp = projection.forward(self.eye[inputs][:, None, :], rnn.weight_ih_l0.data, rnn.bias_ih_l0.data,
                                rnn.bias_hh_l0.data)
        hs, h_n = recurrence.forward(xp, self.h, rnn.weight_hh_l0.data)
        logits = output.forward(hs.reshape(SEQ, HIDDEN), head.weight.data, head.bias.data)
        loss = loss_node.forward(logits, targets=targets, reduction="sum")
        d_hs, d_w_hy, d_b_y = output.backward(loss_node.backward(self.seed))
        d_xp, _, d_w_hh = recurrence.backward(d_hs.reshape(SEQ, 1, HIDDEN), None)
        _, d_w_ih, d_b_ih, d_b_hh = projection.backward(d_xp)
        for param, grad in zip(self.params, (d_w_ih, d_w_hh, d_b_ih, d_b_hh, d_w_hy, d_b_y)):
            param.grad = grad
        self.clip_grad_value_(self.params, CLIP)
        self.opt.step()
        self.h = h_n.reshape(1, HIDDEN)
        return float(loss)


# ---------------------------------------------------------------- the same arithmetic without the framework
class BareKernels:
    """tinygrad_rnn's arithmetic for one window, called directly: the same BLAS products and numba kernels in
    the order the graph runs them, with no Tensor, graph node, module or optimizer object. The gap between
    this and ``Ours`` is what the framework's Python costs; this is the ceiling of the design."""

    name = "kernels, no graph"

    def __init__(self, vocab, dtype):
        from tinygrad_rnn import kernels
        self.k, self.dtype = kernels, dtype
        w = initial_weights(vocab, dtype)
        b_hh = np.zeros(HIDDEN, dtype)                        # nn.RNN's second bias, as in ``Ours``
        self.params = [w["w_xh"], w["w_hh"], w["b_h"], b_hh, w["w_hy"], w["b_y"]]
        self.sums = [np.zeros_like(p) for p in self.params]
        self.eye, self.h = np.eye(vocab, dtype=dtype), None
        self.ones = np.ones(SEQ, dtype)

    def step(self, inputs, targets, reset):
        k, (w_ih, w_hh, b_ih, b_hh, w_hy, b_y) = self.k, self.params
        if reset or self.h is None:
            self.h = np.zeros((1, HIDDEN), self.dtype)
        x = self.eye[inputs]                                           # (T, V) one-hot
        xp = np.dot(x, w_ih.T)
        xp += b_ih + b_hh
        xp = xp.reshape(SEQ, 1, HIDDEN)
        hs = np.empty_like(xp)
        k.rnn_sequence_fwd(xp, self.h, np.ascontiguousarray(w_hh.T), False, False, hs)
        h_rows = hs.reshape(SEQ, HIDDEN)
        logits = np.dot(h_rows, w_hy.T)
        logits += b_y
        losses, probs = np.empty(SEQ, self.dtype), np.empty_like(logits)
        k.cross_entropy_fwd(logits, targets, -100, losses, probs)
        dlogits = np.empty_like(probs)
        k.cross_entropy_bwd(probs, targets, -100, self.ones, dlogits)
        d_w_hy, d_b_y = np.dot(dlogits.T, h_rows), np.dot(self.ones, dlogits)   # a bias gradient: column sums
        dxp, dh0 = np.empty_like(hs), np.empty_like(self.h)
        k.rnn_sequence_bwd(hs, w_hh, np.dot(dlogits, w_hy).reshape(SEQ, 1, HIDDEN), np.zeros_like(self.h),
                           False, False, dxp, dh0)
        dpre = dxp.reshape(SEQ, HIDDEN)
        h_prev = np.concatenate([self.h, h_rows[:-1]], axis=0)
        d_b = np.dot(self.ones, dpre)
        grads = [np.dot(dpre.T, x), np.dot(dpre.T, h_prev), d_b, d_b.copy(), d_w_hy, d_b_y]
        for param, grad, total in zip(self.params, grads, self.sums):
            k.clip_values(grad, CLIP)
            k.adagrad_update(param, grad, total, LR, 1e-10)
        self.h = h_rows[-1:].copy()
        return float(np.add.reduce(losses, dtype=np.float64))


# ---------------------------------------------------------------- PyTorch
class Torch:
    """torch.nn.RNN + Linear, the same loop and the same start."""

    name = "PyTorch"

    def __init__(self, torch, vocab, dtype):
        self.torch = torch
        tdtype = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
        w = initial_weights(vocab, dtype)
        self.rnn = torch.nn.RNN(vocab, HIDDEN, dtype=tdtype)
        self.head = torch.nn.Linear(HIDDEN, vocab, dtype=tdtype)
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(torch.from_numpy(w["w_xh"]))
            self.rnn.weight_hh_l0.copy_(torch.from_numpy(w["w_hh"]))
            self.rnn.bias_ih_l0.copy_(torch.from_numpy(w["b_h"]))
            self.rnn.bias_hh_l0.zero_()
            self.head.weight.copy_(torch.from_numpy(w["w_hy"]))
            self.head.bias.copy_(torch.from_numpy(w["b_y"]))
        self.params = list(self.rnn.parameters()) + list(self.head.parameters())
        self.opt = torch.optim.Adagrad(self.params, lr=LR)
        self.h, self.tdtype, self.vocab = None, tdtype, vocab
        self.eye = torch.eye(vocab, dtype=tdtype)

    def step(self, inputs, targets, reset):
        torch = self.torch
        if reset or self.h is None:
            self.h = torch.zeros((1, 1, HIDDEN), dtype=self.tdtype)
        x = self.eye[torch.from_numpy(inputs)][:, None, :]
        out, h_n = self.rnn(x, self.h)
        loss = torch.nn.functional.cross_entropy(self.head(out.reshape(SEQ, HIDDEN)),
                                                 torch.from_numpy(targets), reduction="sum")
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(self.params, CLIP)
        self.opt.step()
        self.h = h_n.detach()
        return loss.item()


class Runner:
    """One contender training on its own walk through the text from the start, timed in slices."""

    def __init__(self, model, ids, warmup, check=200):
        self.model, self.batches, self.check = model, windows(ids), check
        self.losses = [model.step(*next(self.batches)) for _ in range(warmup)]
        self.count, self.elapsed = 0, 0.0

    def train_for(self, seconds):
        """Train for about ``seconds``; return this slice's chars/s."""
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            loss = self.model.step(*next(self.batches))
            if len(self.losses) < self.check:
                self.losses.append(loss)
            count += 1
        elapsed = time.perf_counter() - start
        self.count, self.elapsed = self.count + count, self.elapsed + elapsed
        return count * SEQ / elapsed

    @property
    def rate(self):
        return self.count * SEQ / self.elapsed

    @property
    def mean_loss(self):
        """The mean loss of the first ``check`` iterations (None if fewer ran)."""
        return float(np.mean(self.losses)) if len(self.losses) >= self.check else None


def measure_in_turns(runners, seconds, turns):
    """Give each runner ``seconds / turns`` in turn, ``turns`` times: every contender sees the machine in
    every state it passes through (its speed here drifts within minutes). Returns, per runner, the
    ratio of its speed to the first runner's in each turn."""
    ratios = [[] for _ in runners]
    for _ in range(turns):
        rates = [runner.train_for(seconds / turns) for runner in runners]
        for k, rate in enumerate(rates):
            ratios[k].append(rate / rates[0])
    return ratios


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=THREADS, help="BLAS/torch threads (default 1)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64",
                   help="float64 is min-char-rnn's own; float32 is what a GPU would run")
    p.add_argument("--seconds", type=float, default=10.0, help="timed training per contender, over all turns")
    p.add_argument("--turns", type=int, default=10, help="the contenders take turns this many times")
    p.add_argument("--warmup", type=int, default=20, help="untimed iterations first (numba compile included)")
    p.add_argument("--text", help="a UTF-8 text file (default: shared tinyshakespeare, else the built-in corpus)")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--bare", action="store_true",
                   help="also time the same arithmetic as direct kernel and BLAS calls (no graph): "
                        "the design's ceiling")
    p.add_argument("--nodes", action="store_true",
                   help="also time tinygrad_rnn's graph nodes called by hand, with no engine, module or Tensor: "
                        "the most a replayed graph could give")
    args = p.parse_args()

    text, source = load_text(args.text)
    vocab, ids = encode(text)
    dtype = np.float32 if args.dtype == "float32" else np.float64
    torch = None if args.no_torch else try_import_torch()
    print("\n".join(machine_header(THREADS)))
    print(f"text: {source} ({len(text):,} chars, vocabulary {vocab}); hidden {HIDDEN}, seq {SEQ}, "
          f"{args.dtype}, {args.seconds:g} s each in {args.turns} turns")
    contenders = [PlainNumpy(vocab, dtype), Ours(vocab, dtype)]
    if args.nodes:
        contenders.append(GraphNodes(vocab, dtype))
    if args.bare:
        contenders.append(BareKernels(vocab, dtype))
    if torch is not None:
        torch.set_num_threads(args.threads)
        contenders.append(Torch(torch, vocab, dtype))
    runners = [Runner(model, ids, args.warmup) for model in contenders]
    ratios = measure_in_turns(runners, args.seconds, args.turns)
    rows = []
    for runner, per_turn in zip(runners, ratios):
        rows.append([runner.model.name, fmt(runner.rate, 0), fmt(1e3 * SEQ / runner.rate, 3), runner.count,
                     fmt(runner.rate / runners[0].rate), f"{min(per_turn):.2f}-{max(per_turn):.2f}",
                     fmt(runner.mean_loss, 3)])
    print(format_table(["implementation", "chars/s", "ms/iter", "iters", "x NumPy", "x NumPy per turn",
                        "loss it 1-200"], rows))


if __name__ == "__main__":
    main()
