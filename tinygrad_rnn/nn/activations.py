"""The activation functions as Modules (no parameters), for use inside models built from layers.

    Sigmoid     y = 1 / (1 + exp(-x))
    Tanh        y = tanh(x)
    ReLU        y = max(x, 0)
    LeakyReLU   y = x if x > 0 else negative_slope * x
    ELU         y = x if x > 0 else alpha * (exp(x) - 1)

Each maps a tensor of any shape to one of the same shape and dtype. (Maxout, which has weights,
is ``tg.nn.Maxout``.)

>>> import numpy as np, tinygrad_rnn as tg
>>> tg.nn.LeakyReLU(0.1)(tg.Tensor(np.array([-2.0, 3.0], np.float32))).tolist()
[-0.20000000298023224, 3.0]
"""
import numbers

from .module import Module


def _check_number(name, arg, value, positive=False):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name}: {arg} must be a number, got {type(value).__name__}")
    if positive and not value > 0:
        raise ValueError(f"{name}: {arg} must be positive, got {value!r}")


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x)), elementwise."""

    def forward(self, x):
        return x.sigmoid()


class Tanh(Module):
    """y = tanh(x), elementwise."""

    def forward(self, x):
        return x.tanh()


class ReLU(Module):
    """y = max(x, 0), elementwise."""

    def forward(self, x):
        return x.relu()


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope * x, elementwise."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        _check_number("LeakyReLU", "negative_slope", negative_slope)
        self.negative_slope = negative_slope

    def forward(self, x):
        return x.leaky_relu(self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """y = x if x > 0 else alpha * (exp(x) - 1), elementwise (Clevert et al., 2016)."""

    def __init__(self, alpha=1.0):
        super().__init__()
        _check_number("ELU", "alpha", alpha, positive=True)
        self.alpha = alpha

    def forward(self, x):
        return x.elu(self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"
