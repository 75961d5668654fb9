"""Functional forms of the layers: the ops a model's forward pass calls directly."""
from ..autograd.functional import cross_entropy, dropout, embedding, log_softmax, softmax  # noqa: F401
from ..autograd.ops.matmul import Linear as _Linear


def linear(x, weight, bias=None):
    """y = x W^T + b, with x (..., in), W (out, in), b (out,) or None -> y (..., out)."""
    if bias is None:
        return _Linear.apply(x, weight)
    return _Linear.apply(x, weight, bias)


def relu(x):
    return x.relu()


def tanh(x):
    return x.tanh()


def sigmoid(x):
    return x.sigmoid()


def leaky_relu(x, negative_slope=0.01):
    return x.leaky_relu(negative_slope)


def elu(x, alpha=1.0):
    return x.elu(alpha)
