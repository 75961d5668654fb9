"""Gradient clipping: rescale all gradients by their joint norm, or clamp each element."""

from __future__ import annotations

import math

import numpy as np

from tinygrad_rnn import kernels
from tinygrad_rnn.optim.optimizer import real_number

_MISSING = object()


def _grads(parameters, caller: str) -> list[np.ndarray]:
    """The gradient arrays of ``parameters`` (one Tensor or an iterable of them), skipping None."""
    if isinstance(getattr(parameters, "data", None), np.ndarray):
        parameters = [parameters]
    grads = []
    for p in parameters:
        grad = getattr(p, "grad", _MISSING)
        if grad is None:
            continue
        if grad is _MISSING:
            raise TypeError(f"{caller}: expected Tensors with a .grad attribute, got {type(p).__name__}")
        grads.append(grad)
    return grads


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    r"""Scale all gradients in place so that their joint norm is at most ``max_norm``; return the norm before.

    The joint norm treats every gradient as part of one long vector:

        total = (sum_i sum_j |g_ij| ** norm_type) ** (1 / norm_type)    (max_ij |g_ij| for norm_type=inf)
        c     = min(1, max_norm / (total + 1e-6))
        g     <- c * g                                                  (for every gradient, when c < 1)

    as ``torch.nn.utils.clip_grad_norm_`` does. Parameters whose ``.grad`` is None are skipped; with no
    gradients at all the norm is 0.0. The dtype of each gradient is kept.

    When the norm is inf or NaN, ``error_if_nonfinite=True`` raises RuntimeError and leaves the gradients
    untouched; otherwise the gradients are scaled by the non-finite coefficient, as in PyTorch, so the NaN or
    zeros that result are visible to the caller.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import clip_grad_norm_
        >>> class P:
        ...     def __init__(self, g): self.data, self.grad = np.zeros_like(g), g
        >>> a, b = P(np.array([3.0, 0.0])), P(np.array([4.0]))
        >>> clip_grad_norm_([a, b], max_norm=1.0)
        5.0
        >>> np.round(np.concatenate([a.grad, b.grad]), 4)
        array([0.6, 0. , 0.8])
    """
    norm_type = real_number(norm_type, "norm_type", "clip_grad_norm_")
    if not (norm_type > 0):
        raise ValueError(f"clip_grad_norm_: expected norm_type > 0 or inf, got {norm_type}")
    max_norm = real_number(max_norm, "max_norm", "clip_grad_norm_")
    grads = _grads(parameters, "clip_grad_norm_")
    if not grads:
        return 0.0
    # per-gradient norms first, then the norm of those norms: the same value, and PyTorch's order of sums
    if norm_type == math.inf:
        norms = [float(np.max(np.abs(g))) if g.size else 0.0 for g in grads]
        total = max(norms)
    else:
        norms = [float(np.linalg.norm(g.ravel(), ord=norm_type)) if g.size else 0.0 for g in grads]
        total = float(np.linalg.norm(np.array(norms, dtype=np.float64), ord=norm_type))
    if not math.isfinite(total):
        if error_if_nonfinite:
            raise RuntimeError(
                f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, so they "
                "cannot be clipped; pass error_if_nonfinite=False to scale them by it anyway"
            )
        coef = max_norm / (total + 1e-6)                 # 0.0 for inf, nan for nan
        coef = coef if math.isnan(coef) else min(coef, 1.0)
    else:
        coef = min(max_norm / (total + 1e-6), 1.0)
    if not coef == 1.0:
        for g in grads:
            g *= coef                                     # a Python float keeps float32 as float32
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    r"""Clamp every gradient element in place to ``[-clip_value, clip_value]``.

        g <- min(max(g, -clip_value), clip_value)

    This is min-char-rnn's per-element clip; ``torch.nn.utils.clip_grad_value_`` does the same. Parameters
    whose ``.grad`` is None are skipped.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import clip_grad_value_
        >>> class P:
        ...     def __init__(self, g): self.data, self.grad = np.zeros_like(g), g
        >>> p = P(np.array([-7.0, 0.5, 9.0]))
        >>> clip_grad_value_([p], 5.0)
        >>> p.grad
        array([-5. ,  0.5,  5. ])
    """
    clip_value = real_number(clip_value, "clip_value", "clip_grad_value_")
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: expected clip_value >= 0, got {clip_value}")
    for g in _grads(parameters, "clip_grad_value_"):
        if g.flags.c_contiguous:
            kernels.clip_values(g, clip_value)   # one compiled pass; ufuncs cost ~5 us a call
        else:
            np.maximum(g, -clip_value, out=g)
            np.minimum(g, clip_value, out=g)
