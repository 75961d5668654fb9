"""Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay."""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.optim.optimizer import Optimizer, check_hyper


class SGD(Optimizer):
    r"""Stochastic gradient descent, with PyTorch's update rule and argument names.

    For each parameter ``p`` with gradient ``g`` at step ``t``:

        g <- g + weight_decay * p                          (if weight_decay != 0)
        b <- g                                             (first step, if momentum != 0)
        b <- momentum * b + (1 - dampening) * g            (later steps)
        g <- g + momentum * b   if nesterov else   g <- b  (if momentum != 0)
        p <- p - lr * g

    The momentum buffer ``b`` has the parameter's shape and dtype; it is the only state.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import SGD
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> w = P(np.array([1.0, 2.0], np.float32))
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> w.grad = np.array([1.0, -1.0], np.float32)
        >>> opt.step(); opt.step()
        >>> w.data, w.data.dtype
        (array([0.71, 2.29], dtype=float32), dtype('float32'))
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False):
        check_hyper("learning rate", lr)
        check_hyper("momentum value", momentum)
        check_hyper("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=bool(nesterov))
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening, weight_decay = float(group["dampening"]), float(group["weight_decay"])
        data = p.data
        scratch = None                                       # an array this step owns and may overwrite
        if weight_decay != 0:
            scratch = np.multiply(data, weight_decay)        # never write into p.grad
            scratch += grad
            grad = scratch
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.astype(data.dtype, copy=True)
            else:
                buf *= momentum
                if dampening == 0:
                    buf += grad
                else:
                    buf += np.multiply(grad, 1.0 - dampening, dtype=data.dtype)
            if group["nesterov"]:
                nesterov = np.multiply(buf, momentum, dtype=data.dtype)
                nesterov += grad
                grad = scratch = nesterov
            else:
                grad, scratch = buf, None
        if scratch is None:
            scratch = np.multiply(grad, -lr, dtype=data.dtype)
        else:
            scratch *= -lr
        data += scratch
