"""Adam and AdamW: bias-corrected running moments of the gradient (AdamW decouples weight decay)."""

from __future__ import annotations

import math

import numpy as np

from tinygrad_rnn.optim.optimizer import Optimizer, check_hyper


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's update rule and argument names.

    For each parameter ``p`` with gradient ``g`` at step ``t = 1, 2, ...``, with ``(b1, b2) = betas``:

        g     <- g + weight_decay * p                 (L2 penalty, if weight_decay != 0)
        m     <- m + (1 - b1) * (g - m)               (= b1 * m + (1 - b1) * g; m starts at 0)
        v     <- b2 * v + (1 - b2) * g * g            (v starts at 0)
        vmax  <- max(vmax, v)                         (amsgrad only; then v below means vmax)
        p     <- p - lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)

    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v) and ``max_exp_avg_sq`` (vmax,
    amsgrad only), each of the parameter's shape and dtype.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import Adam
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> w = P(np.array([1.0, 1.0], np.float32))
        >>> opt = Adam([w], lr=0.1)
        >>> w.grad = np.array([5.0, -0.01], np.float32)
        >>> opt.step()
        >>> w.data.round(4), w.data.dtype   # the first step moves each coordinate by about lr
        (array([0.9, 1.1], dtype=float32), dtype('float32'))
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False):
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair of floats, got {betas!r}")
        check_hyper("beta parameter at index 0", betas[0], upper=1.0)
        check_hyper("beta parameter at index 1", betas[1], upper=1.0)
        check_hyper("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=bool(amsgrad))
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        data = p.data
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(data)
            state["exp_avg_sq"] = np.zeros_like(data)
        state["step"] += 1
        t = state["step"]
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                data *= 1.0 - lr * weight_decay
                g = grad
            else:
                g = np.multiply(data, weight_decay)
                g += grad
        else:
            g = grad
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        scratch = np.subtract(g, exp_avg, dtype=data.dtype)
        scratch *= 1.0 - beta1
        exp_avg += scratch
        np.multiply(g, g, out=scratch)
        scratch *= 1.0 - beta2
        exp_avg_sq *= beta2
        exp_avg_sq += scratch
        if group["amsgrad"]:
            vmax = state.get("max_exp_avg_sq")
            if vmax is None:
                vmax = state["max_exp_avg_sq"] = np.zeros_like(data)
            np.maximum(vmax, exp_avg_sq, out=vmax)
            second = vmax
        else:
            second = exp_avg_sq
        step_size = lr / (1.0 - beta1 ** t)
        np.sqrt(second, out=scratch)
        scratch /= math.sqrt(1.0 - beta2 ** t)
        scratch += eps                                     # scratch = denominator
        np.divide(exp_avg, scratch, out=scratch)
        scratch *= -step_size
        data += scratch


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with weight decay decoupled from the gradient.

    Same as :class:`Adam` except that, before the moment updates and with no L2 term in ``g``:

        p <- p * (1 - lr * weight_decay)

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import AdamW
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> w = P(np.array([2.0]))
        >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
        >>> w.grad = np.array([0.0])
        >>> opt.step()
        >>> w.data   # a zero gradient leaves only the decay: 2 * (1 - 0.1 * 0.5)
        array([1.9])
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
