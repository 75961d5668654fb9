"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

import numpy as np

from tinygrad_rnn import kernels
from tinygrad_rnn.optim.optimizer import Optimizer, check_hyper


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), with PyTorch's update rule and argument names.

    For each parameter ``p`` with gradient ``g`` at step ``t = 1, 2, ...``:

        g   <- g + weight_decay * p                  (if weight_decay != 0)
        clr  = lr / (1 + (t - 1) * lr_decay)
        s   <- s + g * g                             (s starts at initial_accumulator_value)
        p   <- p - clr * g / (sqrt(s) + eps)

    State per parameter: ``step`` (int) and ``sum`` (shape and dtype of the parameter).

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import Adagrad
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> w = P(np.array([1.0, 1.0]))
        >>> opt = Adagrad([w], lr=0.5)
        >>> w.grad = np.array([2.0, -4.0])
        >>> opt.step()
        >>> w.data.round(6)   # first step moves every coordinate by lr, whatever the gradient's size
        array([0.5, 1.5])
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10):
        check_hyper("learning rate", lr)
        check_hyper("lr_decay value", lr_decay)
        check_hyper("weight_decay value", weight_decay)
        check_hyper("initial_accumulator_value value", initial_accumulator_value)
        check_hyper("epsilon value", eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        data = p.data
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(data, float(group["initial_accumulator_value"]))
        t = state["step"] = state["step"] + 1
        lr, lr_decay, weight_decay = float(group["lr"]), group["lr_decay"], group["weight_decay"]
        clr = lr / (1.0 + (t - 1) * float(lr_decay)) if lr_decay else lr
        if weight_decay:
            g = np.multiply(data, float(weight_decay))
            g += grad
        else:
            g = grad
        total = state["sum"]
        if data.flags.c_contiguous and g.flags.c_contiguous and total.flags.c_contiguous:
            kernels.adagrad_update(data, g, total, clr, float(group["eps"]))
            return
        scratch = np.multiply(g, g, dtype=data.dtype)
        total += scratch
        np.sqrt(total, out=scratch)
        scratch += float(group["eps"])                      # scratch = sqrt(s) + eps
        np.divide(g, scratch, out=scratch)
        scratch *= -clr
        data += scratch
