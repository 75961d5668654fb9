"""vanishing_gradients: how the gradient dL/dh_t fades or grows with the distance from the loss, and what helps.

Backpropagation through time multiplies the gradient by one Jacobian per step. For a tanh RNN

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    dL/dh_{t-1} = W_hh^T (dL/dh_t * (1 - h_t^2))         (when the loss depends on h_{t-1} only through h_t)

so after k steps the gradient has met W_hh^T k times: it shrinks like s^k when every singular value s of
W_hh is below 1, and can grow like s^k when they are above 1 (tanh' <= 1 pulls the other way).

1. Gradient norms. A loss on the last state only, L = mean_b r . h_T; a hook on every h_t records
   ||dL/dh_t|| (register_hook), for tanh RNNs with W_hh = s Q (Q orthogonal) for s below and above 1, an
   LSTM and a GRU. The hooks' gradients are checked against the recurrence above. Gates do not keep
   gradients alive by themselves: at PyTorch's initialisation the forget gate is about sigmoid(0) = 1/2, so
   the signal still halves every step; an LSTM whose forget-gate bias starts at 3 keeps it much longer.
2. Clipping. The s > 1 tanh RNN trained with plain SGD on the adding problem, with and without
   clip_grad_norm_.
3. IRNN. On the adding problem (T pairs (value, marker); the target is the sum of the two marked values;
   always answering 1 gives mean squared error 1/6), a ReLU RNN with W_hh = I and zero biases (Le et al.,
   2015) against a tanh RNN, both trained with Adam.

Run:  python demos/vanishing_gradients.py
      (writes runs/demos/vanishing_gradients/gradient_norms.png, clipping.png, adding_problem.png)
"""
from dataclasses import dataclass

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import optim


@dataclass
class Config:
    steps: int = 60              # length of the unrolled sequence for the gradient norms
    hidden_size: int = 64
    input_size: int = 8
    batch: int = 16
    small_gain: float = 0.8      # every singular value of W_hh in the "below 1" tanh RNN
    large_gain: float = 1.5      # ... and in the "above 1" one
    forget_bias: float = 3.0     # b_f of the second LSTM: its forget gate starts near sigmoid(3) = 0.95
    clip_steps: int = 300        # SGD steps of each clipping run
    clip_lr: float = 0.1
    max_norm: float = 1.0        # clip_grad_norm_ threshold
    adding_length: int = 30      # T of the adding problem
    adding_steps: int = 1500     # Adam steps of each adding-problem run
    adding_lr: float = 1e-3
    adding_batch: int = 32
    seed: int = 0
    out: str = "runs/demos/vanishing_gradients"


QUICK = {"steps": 30, "clip_steps": 60, "adding_length": 10, "adding_steps": 300}


def orthogonal(rng, n):
    """A random (n, n) orthogonal matrix: every singular value is 1."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


# --------------------------------------------------------------------------- 1. gradient norms
def gradient_norms(cell, xs, readout):
    """Unroll ``cell`` over xs (T, B, I), L = mean_b readout . h_T; return ||dL/dh_t|| (T,) and the grads."""
    T = xs.shape[0]
    grads = [None] * T
    state, hs = None, []
    for t in range(T):
        state = cell(tg.Tensor(xs[t]), state)                   # (B, H), or (h, c) for the LSTM
        h = state[0] if isinstance(state, tuple) else state
        h.register_hook(lambda g, t=t: grads.__setitem__(t, g.numpy().copy()))
        hs.append(h)
    loss = (hs[-1] * tg.Tensor(readout)).sum() * (1.0 / xs.shape[1])
    loss.backward()
    norms = np.array([np.linalg.norm(g, axis=1).mean() for g in grads])     # mean over the batch
    return norms, grads, [h.numpy() for h in hs]


def chain_rule_error(cell, grads, hs):
    """Largest relative gap between the hooks' dL/dh_{t-1} and W_hh^T (dL/dh_t * (1 - h_t^2))."""
    w_hh = cell.weight_hh.numpy()
    worst = 0.0
    for t in range(1, len(grads)):
        expected = (grads[t] * (1.0 - hs[t] ** 2)) @ w_hh       # rows: (B, H) @ (H, H)
        worst = max(worst, float(np.abs(expected - grads[t - 1]).max() / (np.abs(expected).max() + 1e-300)))
    return worst


# --------------------------------------------------------------------------- 2 and 3. the adding problem
def adding_batch(rng, batch, length):
    """x (T, B, 2) = (value in [0, 1), marker); one marker in each half; y (B,) the sum of the marked values."""
    values = rng.random((length, batch))
    markers = np.zeros((length, batch))
    columns = np.arange(batch)
    markers[rng.integers(0, length // 2, batch), columns] = 1.0
    markers[rng.integers(length // 2, length, batch), columns] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    return x, (values * markers).sum(axis=0).astype(np.float32)


class Regressor(tg.nn.Module):
    def __init__(self, rnn, hidden_size):
        super().__init__()
        self.rnn, self.head = rnn, tg.nn.Linear(hidden_size, 1)

    def forward(self, x):
        _, h_n = self.rnn(x)                                    # h_n (1, B, H)
        return self.head(h_n[0]).reshape(-1)                    # (B,)


def train_adding(model, opt, rng, cfg, steps, length, max_norm=None):
    """Train on fresh batches; return the loss and the gradient norm (before clipping) per step."""
    losses, norms = [], []
    params = model.parameters()
    for _ in range(steps):
        x, y = adding_batch(rng, cfg.adding_batch, length)
        loss = ((model(tg.Tensor(x)) - tg.Tensor(y)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        norms.append(optim.clip_grad_norm_(params, max_norm if max_norm else float("inf")))
        opt.step()
        losses.append(loss.item())
    return np.array(losses), np.array(norms)


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)
    tg.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    plt = pyplot()
    H, I = cfg.hidden_size, cfg.input_size
    result = {}

    # --- 1. ||dL/dh_t|| against the distance T - 1 - t, all in float64 so the chain-rule check is sharp
    xs = rng.standard_normal((cfg.steps, cfg.batch, I))
    readout = rng.standard_normal((cfg.batch, H))
    q = orthogonal(rng, H)
    cells = {}
    for label, gain in ((f"tanh RNN, s = {cfg.small_gain}", cfg.small_gain),
                        (f"tanh RNN, s = {cfg.large_gain}", cfg.large_gain)):
        cell = tg.nn.RNNCell(I, H, dtype=np.float64)
        cell.weight_hh.data[...] = gain * q
        cells[label] = cell
    cells["LSTM"] = tg.nn.LSTMCell(I, H, dtype=np.float64)
    cells[f"LSTM, forget bias {cfg.forget_bias:g}"] = tg.nn.init.lstm_forget_bias_(
        tg.nn.LSTMCell(I, H, dtype=np.float64), cfg.forget_bias)
    cells["GRU"] = tg.nn.GRUCell(I, H, dtype=np.float64)
    norms = {}
    print(f"||dL/dh_t|| / ||dL/dh_T|| at distance k = T - t ({cfg.steps} steps, hidden {H}):")
    marks = [k for k in (1, 5, 10, 20, 40) if k < cfg.steps]
    print("  " + " " * 22 + "".join(f"k={k:<10d}" for k in marks))
    for label, cell in cells.items():
        n, grads, hs = gradient_norms(cell, xs, readout)
        by_distance = n[::-1] / n[-1]                           # index k = distance from the loss
        norms[label] = by_distance
        print(f"  {label:22s}" + "".join(f"{by_distance[k]:<12.2e}" for k in marks))
        if label.startswith("tanh"):
            error = chain_rule_error(cell, grads, hs)
            result.setdefault("chain_rule_error", 0.0)
            result["chain_rule_error"] = max(result["chain_rule_error"], error)
    print(f"  hooks vs the recurrence dL/dh_(t-1) = W_hh^T (dL/dh_t * (1 - h_t^2)): largest relative gap "
          f"{result['chain_rule_error']:.1e}")
    result["norms"] = norms
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, by_distance in norms.items():
        ax.semilogy(np.arange(cfg.steps), by_distance, label=label)
    ax.set_xlabel("distance from the loss, T - t (steps)")
    ax.set_ylabel("||dL/dh_t|| / ||dL/dh_T||")
    ax.set_title("gradient flowing back through time")
    ax.legend()
    save_figure(fig, out / "gradient_norms.png")

    # --- 2. clipping: the s > 1 tanh RNN with plain SGD on the adding problem, without and with clipping
    clip_runs = {}
    for label, max_norm in (("no clipping", None), (f"clip_grad_norm_({cfg.max_norm})", cfg.max_norm)):
        tg.manual_seed(cfg.seed)
        rnn = tg.nn.RNN(2, H)
        rnn.weight_hh_l0.data[...] = cfg.large_gain * q.astype(np.float32)
        model = Regressor(rnn, H)
        with np.errstate(over="ignore", invalid="ignore"):
            losses, grad_norms = train_adding(model, optim.SGD(model.parameters(), lr=cfg.clip_lr),
                                              np.random.default_rng(cfg.seed + 1), cfg, cfg.clip_steps,
                                              cfg.adding_length, max_norm)
        clip_runs[label] = (losses, grad_norms)
        finite = np.isfinite(losses)
        print(f"{label:20s}: largest gradient norm {np.nanmax(grad_norms):.2e}, largest loss "
              f"{np.nanmax(losses):.2e}, non-finite losses {int((~finite).sum())}, mean loss of the last 50 "
              f"steps {np.mean(losses[-50:]):.3g}")
    result["clip_runs"] = clip_runs
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for label, (losses, grad_norms) in clip_runs.items():
        axes[0].semilogy(losses, label=label)
        axes[1].semilogy(grad_norms, label=label)
    axes[0].set_ylabel("mean squared error")
    axes[1].set_ylabel("gradient norm before clipping")
    for ax in axes:
        ax.set_xlabel("SGD step")
        ax.legend()
    fig.suptitle(f"tanh RNN with W_hh = {cfg.large_gain} Q on the adding problem (T = {cfg.adding_length})")
    save_figure(fig, out / "clipping.png")

    # --- 3. IRNN against a tanh RNN on the adding problem
    adding = {}
    for label, make in (("IRNN (relu, W_hh = I)",
                         lambda: tg.nn.RNN(2, H, nonlinearity="relu", recurrent_init="identity")),
                        ("tanh RNN", lambda: tg.nn.RNN(2, H))):
        tg.manual_seed(cfg.seed)
        model = Regressor(make(), H)
        losses, _ = train_adding(model, optim.Adam(model.parameters(), lr=cfg.adding_lr),
                                 np.random.default_rng(cfg.seed + 2), cfg, cfg.adding_steps, cfg.adding_length,
                                 max_norm=10.0)
        adding[label] = losses
        print(f"adding problem, T = {cfg.adding_length}, {label:22s}: mean squared error of the last 100 steps "
              f"{losses[-100:].mean():.4f} (answering 1 always: {1 / 6:.4f})")
    result["adding"] = adding
    fig, ax = plt.subplots(figsize=(7, 4.5))
    window = 25
    for label, losses in adding.items():
        ax.semilogy(np.convolve(losses, np.ones(window) / window, mode="valid"), label=label)
    ax.axhline(1 / 6, color="gray", ls="--", label="always answer 1")
    ax.set_xlabel("Adam step")
    ax.set_ylabel(f"mean squared error (moving mean of {window})")
    ax.set_title(f"adding problem, T = {cfg.adding_length}")
    ax.legend()
    save_figure(fig, out / "adding_problem.png")
    print(f"wrote {out / 'gradient_norms.png'}, {out / 'clipping.png'}, {out / 'adding_problem.png'}")
    return result


if __name__ == "__main__":
    main()
