"""Draw gradient_norms.png: ||dL/dh_t|| against the distance T - t from the loss, for several sigma_max.

    python docs/figures/gradient_norms.py [output folder]      (default: this folder)

W_hh of a 32-unit tanh RNNCell is sigma times an orthogonal matrix; the loss reads h_T only; a hook on every
h_t records the gradient norm (tutorial 4). Dashed: tiny inputs (units near 0, tanh' = 1). Solid: unit inputs.
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402

T, H = 40, 32


def gradient_norms(sigma, input_scale, seed=0):
    """||dL/dh_t|| for t = 1..T (index t) for a loss on h_T only; every singular value of W_hh is sigma."""
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cell = tg.nn.RNNCell(H, H, bias=False, dtype=np.float64)
    tg.nn.init.orthogonal_(cell.weight_hh, gain=sigma)
    norms = np.zeros(T + 1)
    h = None
    for t in range(1, T + 1):
        h = cell(tg.Tensor(input_scale * rng.normal(size=(1, H))), h)
        h.register_hook(lambda grad, t=t: norms.__setitem__(t, np.linalg.norm(grad.data)))
    direction = rng.normal(size=(1, H))
    (h * tg.Tensor(direction / np.linalg.norm(direction))).sum().backward()
    return norms


def main(folder):
    distance = T - np.arange(1, T + 1)          # T - t for t = 1..T
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    colours = {0.5: "tab:blue", 0.9: "tab:green", 1.0: "black", 1.1: "tab:orange", 1.5: "tab:red"}
    for sigma, colour in colours.items():
        ax.semilogy(distance, gradient_norms(sigma, 1e-4)[1:], "--", color=colour)
        ax.semilogy(distance, gradient_norms(sigma, 1.0)[1:], "-", color=colour, label=f"sigma = {sigma}")
    ax.set_xlabel("T - t  (steps back from the loss)")
    ax.set_ylabel("||dL/dh_t||")
    ax.set_title("Gradient norm through time (dashed: tiny inputs, solid: unit inputs)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    path = Path(folder) / "gradient_norms.png"
    fig.savefig(path)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent))
