"""Draw finite_differences.png: error of forward and central differences against the step size.

    python docs/figures/finite_differences.py [output folder]      (default: this folder)

Shows, for f = tanh at x = 0.7, the truncation error falling with eps and the rounding error rising,
in float32 and float64 (tutorial 2).
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

X0 = 0.7


def errors(dtype, central, steps):
    """|finite difference - exact derivative| of tanh at X0 for each step, computed in ``dtype``."""
    exact = 1.0 - np.tanh(X0) ** 2
    x = dtype(X0)
    out = []
    for eps in steps:
        e = dtype(eps)
        if central:
            estimate = (np.tanh(x + e) - np.tanh(x - e)) / (2 * e)
        else:
            estimate = (np.tanh(x + e) - np.tanh(x)) / e
        out.append(max(abs(float(estimate) - exact), 1e-17))   # an exact hit would be -inf on a log axis
    return np.array(out)


def main(folder):
    steps = np.logspace(-12, -1, 45)
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    for dtype, colour in ((np.float32, "tab:orange"), (np.float64, "tab:blue")):
        name = np.dtype(dtype).name
        ax.loglog(steps, errors(dtype, False, steps), "--", color=colour, label=f"forward, {name}")
        ax.loglog(steps, errors(dtype, True, steps), "-", color=colour, label=f"central, {name}")
    ax.set_xlabel("step eps")
    ax.set_ylabel("|estimate - exact|")
    ax.set_title("Finite differences of tanh at x = 0.7")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(folder) / "finite_differences.png"
    fig.savefig(path)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent))
