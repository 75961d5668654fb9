"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.optim.optimizer import Optimizer, check_hyper


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), with PyTorch's update rule and argument names.

    For each parameter ``p`` with gradient ``g``:

        g   <- g + weight_decay * p                          (if weight_decay != 0)
        v   <- alpha * v + (1 - alpha) * g * g               (v starts at 0)
        m   <- m + (1 - alpha) * (g - m)                     (centered only; m starts at 0)
        d    = sqrt(v - m * m) + eps   if centered   else   sqrt(v) + eps
        b   <- momentum * b + g / d ;  p <- p - lr * b       (if momentum > 0; b starts at 0)
        p   <- p - lr * g / d                                (otherwise)

    State per parameter: ``step`` (int), ``square_avg`` (v), ``grad_avg`` (m, centered only) and
    ``momentum_buffer`` (b, momentum > 0 only), each of the parameter's shape and dtype.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import RMSprop
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> w = P(np.array([1.0]))
        >>> opt = RMSprop([w], lr=0.01, alpha=0.99)
        >>> w.grad = np.array([3.0])
        >>> opt.step()
        >>> w.data.round(6)   # 1 - 0.01 * 3 / sqrt(0.01 * 9)
        array([0.9])
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False):
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        check_hyper("momentum value", momentum)
        check_hyper("weight_decay value", weight_decay)
        check_hyper("alpha value", alpha)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=bool(centered))
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        data = p.data
        alpha, momentum = float(group["alpha"]), float(group["momentum"])
        weight_decay, lr = float(group["weight_decay"]), float(group["lr"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(data)
        state["step"] += 1
        if weight_decay != 0:
            g = np.multiply(data, weight_decay)
            g += grad
        else:
            g = grad
        square_avg = state["square_avg"]
        scratch = np.multiply(g, g, dtype=data.dtype)
        scratch *= 1.0 - alpha
        square_avg *= alpha
        square_avg += scratch
        if group["centered"]:
            grad_avg = state.get("grad_avg")
            if grad_avg is None:
                grad_avg = state["grad_avg"] = np.zeros_like(data)
            np.subtract(g, grad_avg, out=scratch)
            scratch *= 1.0 - alpha
            grad_avg += scratch
            np.multiply(grad_avg, grad_avg, out=scratch)
            np.subtract(square_avg, scratch, out=scratch)
            np.sqrt(scratch, out=scratch)
        else:
            np.sqrt(square_avg, out=scratch)
        scratch += float(group["eps"])                      # scratch = d
        np.divide(g, scratch, out=scratch)
        if momentum > 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.zeros_like(data)
            buf *= momentum
            buf += scratch
            np.multiply(buf, -lr, out=scratch)
        else:
            scratch *= -lr
        data += scratch
