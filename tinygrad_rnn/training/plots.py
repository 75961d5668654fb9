"""Loss curves as a PNG: training loss (raw and smoothed) and validation loss against the step.

Matplotlib is imported only when a plot is drawn, through its object API with the Agg canvas (no pyplot,
no global backend switch, no display needed), so importing this module costs nothing.

``metrics`` is the trainer's metrics dict: ``{"train": [{"step", "loss"}, ...], "val": [{"step", "nats"}, ...]}``
(losses in nats per token; a skipped step's loss is None).
"""

from __future__ import annotations

import math
import os

import numpy as np


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` points (shorter at the start): out_i = mean(v[max(0,i-w+1)..i]).

    >>> smooth(np.array([1.0, 3.0, 5.0, 7.0]), 2).tolist()
    [1.0, 2.0, 4.0, 6.0]
    """
    if values.size == 0:
        return values
    c = np.cumsum(np.insert(values.astype(np.float64), 0, 0.0))
    i = np.arange(1, values.size + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


def plot_losses(metrics: dict, path: str | os.PathLike, title: str = "") -> None:
    """Write the loss curves of ``metrics`` to the PNG file ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    train = [(r["step"], r["loss"]) for r in metrics.get("train", [])
             if r.get("loss") is not None and math.isfinite(r["loss"])]
    val = [(r["step"], r["nats"]) for r in metrics.get("val", [])]
    fig = Figure(figsize=(7, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if train:
        steps, losses = (np.array(v) for v in zip(*train))
        ax.plot(steps, losses, color="tab:blue", alpha=0.25, linewidth=0.8, label="train (per step)")
        window = max(1, len(losses) // 50)
        ax.plot(steps, smooth(losses, window), color="tab:blue", linewidth=1.6,
                label=f"train (mean of {window})")
    if val:
        steps, losses = zip(*val)
        ax.plot(steps, losses, "o-", color="tab:orange", linewidth=1.6, label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.set_title(title or "loss")
    ax.grid(True, alpha=0.3)
    if train or val:
        ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(os.fspath(path), format="png")
