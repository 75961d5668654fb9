"""min_char_rnn: the classic minimal character RNN, once in plain NumPy and once through tinygrad_rnn's graph.

The model, its data loop and its update rule are those of the well-known 112-line NumPy min-char-rnn:

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)        x_t one-hot (V,), h_t (H,), H = 100
    y_t = W_hy h_t + b_y,  p_t = softmax(y_t)        loss = sum over 25 steps of -log p_t[target_t]
    gradients clipped element-wise to [-5, 5], then Adagrad with learning rate 0.1
    smooth_loss <- 0.999 smooth_loss + 0.001 loss

The graph version (nn.RNN + nn.Linear + cross_entropy in float64, gradients from backward()) trains; for
the first 100 windows the NumPy version (backpropagation through time written out by hand) computes the loss
and the gradients from the graph's current weights and state, and the two must agree to 1e-9. Then both
train on their own from the same initial weights: their losses agree to 1e-9 for only a few windows,
because this training run is chaotic. In its first steps Adagrad moves every weight by about lr whatever
its gradient, so rounding differences of 1e-16 grow about a hundredfold per window. A NumPy twin whose W_hh
is changed by one part in 1e15 drifts away from the NumPy run just as fast, which shows that the drift comes
from the dynamics and not from a mistake in either version. The graph version keeps training and prints
samples as it learns.

One detail differs from the original: Adagrad's epsilon is added after the square root,
p -= lr * g / (sqrt(s) + eps), which is the form of tinygrad_rnn.optim.Adagrad (and PyTorch's); the original
puts 1e-8 inside the square root.

Run:  python demos/min_char_rnn.py [--data FILE]   (writes runs/demos/min_char_rnn/loss.png)
"""
import time
from dataclasses import dataclass

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import optim
from tinygrad_rnn.data import CharVocab, default_corpus, read_text


@dataclass
class Config:
    data: str = ""               # a UTF-8 text file; empty: the default corpus (Python's stdlib source)
    corpus_chars: int = 200_000  # how much of the default corpus to use
    hidden_size: int = 100
    seq_length: int = 25         # steps of each truncated-BPTT window
    lr: float = 0.1
    clip: float = 5.0            # element-wise gradient clip
    compare_iters: int = 100     # iterations both versions train side by side
    tolerance: float = 1e-9      # largest allowed step-by-step difference (loss and gradients)
    train_iters: int = 6000      # iterations of the graph version in all (including the compared ones)
    sample_every: int = 1000
    sample_chars: int = 200
    seed: int = 0
    out: str = "runs/demos/min_char_rnn"


QUICK = {"corpus_chars": 20_000, "compare_iters": 20, "train_iters": 40, "sample_every": 40, "sample_chars": 40}


# ---------------------------------------------------------------- the NumPy version, from the equations
def numpy_loss_and_grads(weights, inputs, targets, h_prev):
    """min-char-rnn's forward pass and backpropagation through time, in plain NumPy.

    weights: (W_xh (H, V), W_hh (H, H), W_hy (V, H), b_h (H,), b_y (V,)); inputs, targets: lists of ids;
    h_prev (H,). Returns the summed loss, the five gradients, and the last hidden state.
    """
    W_xh, W_hh, W_hy, b_h, b_y = weights
    V = W_xh.shape[1]
    xs, hs, ps = {}, {-1: h_prev}, {}
    loss = 0.0
    for t, (i, j) in enumerate(zip(inputs, targets)):
        xs[t] = np.zeros(V)
        xs[t][i] = 1.0
        hs[t] = np.tanh(W_xh @ xs[t] + W_hh @ hs[t - 1] + b_h)
        y = W_hy @ hs[t] + b_y
        e = np.exp(y - y.max())
        ps[t] = e / e.sum()
        loss -= np.log(ps[t][j])
    grads = [np.zeros_like(w) for w in weights]
    dW_xh, dW_hh, dW_hy, db_h, db_y = grads
    dh_next = np.zeros_like(h_prev)
    for t in reversed(range(len(inputs))):
        dy = ps[t].copy()
        dy[targets[t]] -= 1.0                        # d loss / d y_t = p_t - onehot(target_t)
        dW_hy += np.outer(dy, hs[t])
        db_y += dy
        dh = W_hy.T @ dy + dh_next                   # from this step's output and from step t + 1
        da = (1.0 - hs[t] ** 2) * dh                 # through tanh
        db_h += da
        dW_xh += np.outer(da, xs[t])
        dW_hh += np.outer(da, hs[t - 1])
        dh_next = W_hh.T @ da
    return loss, grads, hs[len(inputs) - 1]


def numpy_update(weights, grads, memory, lr, clip):
    """Clip each gradient element to [-clip, clip], then Adagrad, in place on ``weights`` and ``memory``."""
    for w, g, m in zip(weights, grads, memory):
        np.clip(g, -clip, clip, out=g)
        m += g * g
        w -= lr * g / (np.sqrt(m) + 1e-8)


def numpy_run(weights, windows, lr, clip):
    """Train a copy of ``weights`` on ``windows`` [(inputs, targets, restart)]; return the loss per window."""
    weights = [w.copy() for w in weights]
    memory = [np.zeros_like(w) for w in weights]
    losses, h = [], None
    for inputs, targets, restart in windows:
        if restart:
            h = np.zeros(weights[1].shape[0])
        loss, grads, h = numpy_loss_and_grads(weights, inputs, targets, h)
        numpy_update(weights, grads, memory, lr, clip)
        losses.append(loss)
    return losses


# ---------------------------------------------------------------- the same model as a tinygrad_rnn graph
class GraphCharRNN(tg.nn.Module):
    def __init__(self, vocab_size, hidden_size):
        super().__init__()
        self.rnn = tg.nn.RNN(vocab_size, hidden_size, dtype=np.float64)
        self.head = tg.nn.Linear(hidden_size, vocab_size, dtype=np.float64)

    def load(self, weights):
        """Copy min-char-rnn's (W_xh, W_hh, W_hy, b_h, b_y) in. b_h goes to bias_ih; bias_hh stays 0."""
        W_xh, W_hh, W_hy, b_h, b_y = weights
        self.load_state_dict({"rnn.weight_ih_l0": W_xh, "rnn.weight_hh_l0": W_hh, "rnn.bias_ih_l0": b_h,
                              "rnn.bias_hh_l0": np.zeros_like(b_h), "head.weight": W_hy, "head.bias": b_y})

    def min_char_rnn_view(self, attr="data"):
        """The parameters' arrays (``attr='data'``) or gradients (``'grad'``) in min-char-rnn's order."""
        names = ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "head.weight", "rnn.bias_ih_l0", "head.bias"]
        params = dict(self.named_parameters())
        return [getattr(params[name], attr) for name in names]

    def trained_parameters(self):
        """Every parameter but bias_hh: min-char-rnn has one hidden bias, so the second one is never updated."""
        return [p for name, p in self.named_parameters() if name != "rnn.bias_hh_l0"]

    def forward(self, x, h):
        output, h = self.rnn(x, h)              # x (T, 1, V) one-hot, h (1, 1, H) -> output (T, 1, H)
        return self.head(output.reshape(output.shape[0], -1)), h     # logits (T, V)


def sample(model, h, seed_id, n, vocab_size):
    """n ids drawn one at a time from the model's softmax, starting from ``seed_id`` and state ``h``."""
    rng = tg.random.generator()
    eye = np.eye(vocab_size)
    ids, current = [], seed_id
    with tg.no_grad():
        for _ in range(n):
            logits, h = model(tg.Tensor(eye[current].reshape(1, 1, vocab_size)), h)
            p = tg.softmax(logits).numpy()[0]
            current = int(rng.choice(vocab_size, p=p))
            ids.append(current)
    return ids


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)
    tg.manual_seed(cfg.seed)

    # --- data
    text = read_text(cfg.data) if cfg.data else default_corpus(max_chars=cfg.corpus_chars).text
    vocab = CharVocab.from_text(text)
    data = vocab.encode(text)                              # (N,) int64
    V, H, T = len(vocab), cfg.hidden_size, cfg.seq_length
    print(f"data: {len(data):,} characters, {V} distinct")

    # --- the same initial weights for both versions (min-char-rnn's init: N(0, 0.01^2), zero biases)
    rng = np.random.default_rng(cfg.seed)
    weights = (rng.standard_normal((H, V)) * 0.01, rng.standard_normal((H, H)) * 0.01,
               rng.standard_normal((V, H)) * 0.01, np.zeros(H), np.zeros(V))
    model = GraphCharRNN(V, H)
    model.load(weights)
    params = model.trained_parameters()
    opt = optim.Adagrad(params, lr=cfg.lr, eps=1e-8)

    # --- training the graph version; for the first compare_iters windows the NumPy version checks each step:
    # from the graph's current weights and state it computes the loss and gradients by hand
    eye = np.eye(V)
    p, h = 0, None
    smooth = -np.log(1.0 / V) * T                          # the loss of uniform guessing, as in the original
    losses, smooth_losses, samples, windows = [], [], [], []
    step_loss_diff, step_grad_diff = 0.0, 0.0
    start = time.perf_counter()
    for n in range(cfg.train_iters):
        restart = p + T + 1 >= len(data) or n == 0
        if restart:                                        # start over at the beginning, with a zero state
            p, h = 0, tg.Tensor(np.zeros((1, 1, H)))
        inputs, targets = data[p:p + T], data[p + 1:p + T + 1]

        logits, h_next = model(tg.Tensor(eye[inputs].reshape(T, 1, V)), h)     # one-hot (T, 1, V)
        loss = tg.cross_entropy(logits, targets, reduction="sum")
        opt.zero_grad()
        model.zero_grad()
        loss.backward()
        if n < cfg.compare_iters:
            windows.append((inputs.tolist(), targets.tolist(), restart))
            ref_loss, ref_grads, _ = numpy_loss_and_grads(model.min_char_rnn_view(), inputs.tolist(),
                                                          targets.tolist(), h.numpy().reshape(H))
            step_loss_diff = max(step_loss_diff, abs(ref_loss - loss.item()))
            step_grad_diff = max(step_grad_diff, max(float(np.abs(g - r).max())
                                                     for g, r in zip(model.min_char_rnn_view("grad"), ref_grads)))
        optim.clip_grad_value_(params, cfg.clip)
        opt.step()
        h = tg.nn.detach_state(h_next)                      # carry the state on, cut from the graph
        losses.append(loss.item())
        smooth = smooth * 0.999 + loss.item() * 0.001
        smooth_losses.append(smooth)

        if n + 1 == cfg.compare_iters:
            print(f"step by step, {cfg.compare_iters} windows: NumPy and graph differ by at most "
                  f"{step_loss_diff:.2e} in the loss and {step_grad_diff:.2e} in any gradient "
                  f"(tolerance {cfg.tolerance:.0e})")
        if (n + 1) % cfg.sample_every == 0:
            ids = sample(model, h, int(targets[-1]), cfg.sample_chars, V)
            samples.append(vocab.decode(ids))
            print(f"\n---- iter {n + 1}, smooth loss {smooth:.3f}, {time.perf_counter() - start:.0f} s\n"
                  f"{samples[-1]}\n----")
        p += T

    # --- free-running: the NumPy version trained on its own from the same start, and a twin of it whose W_hh
    # is perturbed by one part in 1e15; the update's divisor sqrt(s) is tiny for the first steps, so
    # rounding differences grow every window, here as there
    ref_losses = numpy_run(weights, windows, cfg.lr, cfg.clip)
    nudged = list(weights)
    nudged[1] = weights[1] * (1.0 + 1e-15)
    twin_losses = numpy_run(nudged, windows, cfg.lr, cfg.clip)
    free_diff = np.abs(np.array(losses[:len(ref_losses)]) - np.array(ref_losses))
    twin_diff = np.abs(np.array(twin_losses) - np.array(ref_losses))
    agree = int(np.argmax(free_diff > cfg.tolerance)) if (free_diff > cfg.tolerance).any() else len(free_diff)
    print(f"free-running: the two trajectories agree to {cfg.tolerance:.0e} for the first {agree} windows; "
          f"largest difference over {len(free_diff)}: graph vs NumPy {free_diff.max():.2e}, "
          f"NumPy vs NumPy with W_hh * (1 + 1e-15) {twin_diff.max():.2e}")

    # --- figures: the loss curve, and how the free-running trajectories drift apart
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].plot(losses, lw=0.5, alpha=0.4, color="C0", label="loss per window")
    axes[0].plot(smooth_losses, color="C0", label="smooth loss")
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel(f"loss over {T} characters (nats)")
    axes[0].set_title("graph version")
    axes[0].legend()
    tiny = 1e-18                                         # so that exact agreement shows on the log scale
    axes[1].semilogy(free_diff + tiny, label="graph vs NumPy, each training on its own")
    axes[1].semilogy(twin_diff + tiny, "--", label="NumPy vs NumPy with W_hh * (1 + 1e-15)")
    axes[1].axhline(cfg.tolerance, color="gray", lw=0.8)
    axes[1].set_xlabel("iteration")
    axes[1].set_ylabel("|loss difference|")
    axes[1].set_title(f"step by step they agree to {max(step_loss_diff, step_grad_diff):.0e}")
    axes[1].legend()
    save_figure(fig, out / "loss.png")
    print(f"wrote {out / 'loss.png'}")
    return {"step_loss_diff": step_loss_diff, "step_grad_diff": step_grad_diff, "agree_windows": agree,
            "free_diff": free_diff, "twin_diff": twin_diff, "losses": losses,
            "smooth_start": -np.log(1.0 / V) * T, "smooth_end": smooth, "samples": samples}


if __name__ == "__main__":
    main()
