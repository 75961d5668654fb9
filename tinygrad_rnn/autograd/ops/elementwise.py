"""Elementwise primitives: arithmetic with NumPy broadcasting, and the activations.

Every binary op's backward undoes broadcasting through ``unbroadcast``.
"""
import numpy as np

from ..function import Function, unbroadcast


def stable_sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp is only ever taken of -|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _scalar_like(x, value):
    """``value`` as a scalar of float array ``x``'s dtype, so an np.float64 never upcasts float32."""
    return x.dtype.type(value) if x.dtype.kind == "f" else value


def _broadcast_error(op, a, b):
    return ValueError(f"{op}: cannot broadcast shapes {a.shape} and {b.shape}")


class Add(Function):
    """y = a + b;  da = g, db = g (each summed over its broadcast axes)."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        try:
            return a + b
        except ValueError:
            raise _broadcast_error("add", a, b) from None

    def backward(self, g):
        a_shape, b_shape = self.shapes
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g, a_shape) if need_a else None,
                unbroadcast(g, b_shape) if need_b else None)


class Sub(Function):
    """y = a - b;  da = g, db = -g."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        try:
            return a - b
        except ValueError:
            raise _broadcast_error("sub", a, b) from None

    def backward(self, g):
        a_shape, b_shape = self.shapes
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g, a_shape) if need_a else None,
                unbroadcast(-g, b_shape) if need_b else None)


class Mul(Function):
    """y = a * b;  da = g * b, db = g * a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        try:
            return a * b
        except ValueError:
            raise _broadcast_error("mul", a, b) from None

    def backward(self, g):
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g * b, a.shape) if need_a else None,
                unbroadcast(g * a, b.shape) if need_b else None)


class Div(Function):
    """y = a / b;  da = g / b, db = -g * y / b."""

    def forward(self, a, b):
        try:
            out = a / b
        except ValueError:
            raise _broadcast_error("div", a, b) from None
        self.a_shape, self.b, self.out = a.shape, b, out
        return out

    def backward(self, g):
        b = self.b
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g / b, self.a_shape) if need_a else None,
                unbroadcast(-g * self.out / b, b.shape) if need_b else None)


class Pow(Function):
    """y = a ** b;  da = g * b * a**(b-1), db = g * y * log(a)."""

    def forward(self, a, b):
        try:
            out = a ** b
        except ValueError:
            raise _broadcast_error("pow", a, b) from None
        self.a, self.b, self.out = a, b, out
        return out

    def backward(self, g):
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        grad_a = unbroadcast(g * b * a ** (b - 1), a.shape) if need_a else None
        grad_b = None
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = unbroadcast(g * self.out * np.log(a), b.shape)
        return grad_a, grad_b


class Neg(Function):
    """y = -x;  dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Exp(Function):
    """y = exp(x);  dx = g * y."""

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Function):
    """y = log(x);  dx = g / x."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, g):
        return g / self.x


class Tanh(Function):
    """y = tanh(x);  dx = g * (1 - y^2)."""

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)), computed without overflow;  dx = g * y * (1 - y)."""

    def forward(self, x):
        self.out = stable_sigmoid(x)
        return self.out

    def backward(self, g):
        return g * self.out * (1 - self.out)


class Relu(Function):
    """y = max(x, 0);  dx = g * [x > 0]."""

    def forward(self, x):
        self.out = np.maximum(x, 0)
        return self.out

    def backward(self, g):
        return g * (self.out > 0)


class LeakyRelu(Function):
    """y = x if x > 0 else slope * x;  dx = g if x > 0 else slope * g."""

    def forward(self, x, negative_slope=0.01):
        self.positive, self.slope = x > 0, _scalar_like(x, negative_slope)
        return np.where(self.positive, x, x * self.slope)

    def backward(self, g):
        return np.where(self.positive, g, g * self.slope)


class Elu(Function):
    """y = x if x > 0 else alpha * (exp(x) - 1);  dx = g if x > 0 else g * (y + alpha)."""

    def forward(self, x, alpha=1.0):
        self.positive, self.alpha = x > 0, _scalar_like(x, alpha)
        self.out = np.where(self.positive, x, self.alpha * np.expm1(np.minimum(x, 0)))
        return self.out

    def backward(self, g):
        return np.where(self.positive, g, g * (self.out + self.alpha))


class Clip(Function):
    """y = min(max(x, low), high);  dx = g where low <= x <= high, else 0."""

    def forward(self, x, low=None, high=None):
        if low is None and high is None:
            raise ValueError("clip: at least one of min and max must be given")
        low = None if low is None else _scalar_like(x, low)
        high = None if high is None else _scalar_like(x, high)
        self.x, self.low, self.high = x, low, high
        return np.clip(x, low, high)

    def backward(self, g):
        inside = np.ones(self.x.shape, dtype=bool)
        if self.low is not None:
            inside &= self.x >= self.low
        if self.high is not None:
            inside &= self.x <= self.high
        return g * inside


class Where(Function):
    """y = where(condition, a, b);  da = g where condition, db = g elsewhere."""

    def forward(self, a, b, condition=None):
        self.condition, self.shapes = condition, (a.shape, b.shape)
        try:
            return np.where(condition, a, b)
        except ValueError:
            raise ValueError(f"where: cannot broadcast condition {condition.shape}, "
                             f"a {a.shape} and b {b.shape}") from None

    def backward(self, g):
        a_shape, b_shape = self.shapes
        need_a, need_b = self.needs_input_grad
        zero = np.zeros((), dtype=g.dtype)
        return (unbroadcast(np.where(self.condition, g, zero), a_shape) if need_a else None,
                unbroadcast(np.where(self.condition, zero, g), b_shape) if need_b else None)
