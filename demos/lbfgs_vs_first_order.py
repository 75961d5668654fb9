"""lbfgs_vs_first_order: L-BFGS, SGD with momentum and Adam fit one short sequence exactly with a tiny RNN.

The task, small and deterministic, as in the lectures' "memorise one sequence" exercises: a tanh RNN
with a linear read-out, fed a single impulse, must output a fixed target curve (a damped oscillation):

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)      x_0 = 1, x_t = 0 afterwards
    y_t = w . h_t + b                                     L = mean_t (y_t - target_t)^2

All three methods start from the same weights (float64) and may evaluate the loss and gradient the same
number of times; L-BFGS spends some evaluations on its strong-Wolfe line search. With few parameters and
an exact, noise-free gradient, the curvature model of L-BFGS pays: it drives the loss down by orders of
magnitude while the first-order methods are still creeping.

Run:  python demos/lbfgs_vs_first_order.py   (writes runs/demos/lbfgs_vs_first_order/loss_curves.png)
"""
from dataclasses import dataclass

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import optim


@dataclass
class Config:
    hidden_size: int = 8
    length: int = 16              # time steps of the target sequence
    evaluations: int = 600        # loss-and-gradient evaluations allowed to every method
    sgd_lr: float = 0.1
    momentum: float = 0.9
    adam_lr: float = 0.02
    history_size: int = 20        # L-BFGS: (s, y) pairs kept
    seed: int = 0
    out: str = "runs/demos/lbfgs_vs_first_order"


QUICK = {"evaluations": 150}


class TinyRNN(tg.nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.rnn = tg.nn.RNN(1, hidden_size, dtype=np.float64)
        self.head = tg.nn.Linear(hidden_size, 1, dtype=np.float64)

    def forward(self, x):
        out, _ = self.rnn(x)                      # x (T, 1) unbatched -> out (T, H)
        return self.head(out).reshape(-1)         # (T,)


def task(length):
    """(impulse input (T, 1), target (T,)): a damped oscillation the network must reproduce."""
    t = np.arange(length)
    x = np.zeros((length, 1))
    x[0] = 1.0
    return x, 0.8 * np.exp(-t / 8) * np.sin(2 * np.pi * t / 6)


def fit(name, initial, cfg, x, target):
    """Train a copy of the initial model; return the loss at every evaluation."""
    model = TinyRNN(cfg.hidden_size)
    model.load_state_dict(initial)
    params = model.parameters()
    if name == "L-BFGS":
        opt = optim.LBFGS(params, history_size=cfg.history_size, line_search_fn="strong_wolfe",
                          max_iter=cfg.evaluations, tolerance_grad=1e-12, tolerance_change=1e-16)
    elif name == "SGD + momentum":
        opt = optim.SGD(params, lr=cfg.sgd_lr, momentum=cfg.momentum)
    else:
        opt = optim.Adam(params, lr=cfg.adam_lr)
    losses = []

    def closure():
        opt.zero_grad()
        loss = ((model(tg.Tensor(x)) - tg.Tensor(target)) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
        return loss

    while len(losses) < cfg.evaluations:
        before = len(losses)
        opt.step(closure)
        if len(losses) == before + 1 and name == "L-BFGS":       # converged: nothing left to do
            break
    return np.array(losses[:cfg.evaluations])


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)
    x, target = task(cfg.length)

    # --- one initial model for every method
    tg.manual_seed(cfg.seed)
    initial = TinyRNN(cfg.hidden_size).state_dict()
    n_params = sum(v.size for v in initial.values())
    print(f"a tanh RNN with {n_params} parameters fits a {cfg.length}-step sequence; "
          f"{cfg.evaluations} loss-and-gradient evaluations each")

    # --- the three runs
    results = {}
    for name in ("SGD + momentum", "Adam", "L-BFGS"):
        losses = fit(name, initial, cfg, x, target)
        results[name] = {"losses": losses, "final_loss": float(losses.min()), "evaluations": len(losses)}
        print(f"{name:15s}: loss {losses[0]:.3e} -> {losses.min():.3e} (best of {len(losses)} evaluations)")

    # --- figure: loss against evaluations, log scale
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, r in results.items():
        ax.semilogy(np.minimum.accumulate(r["losses"]), label=f"{name} ({r['final_loss']:.1e})")
    ax.set_xlabel("loss-and-gradient evaluations")
    ax.set_ylabel("best mean squared error so far")
    ax.set_title(f"tiny RNN (hidden {cfg.hidden_size}) fitting one {cfg.length}-step sequence")
    ax.legend()
    save_figure(fig, out / "loss_curves.png")
    print(f"wrote {out / 'loss_curves.png'}")
    return results


if __name__ == "__main__":
    main()
