"""Feed-forward layers: Linear, Embedding, Dropout."""
import math

import numpy as np

from ..autograd import Tensor
from ..autograd.dtypes import resolve_dtype
from . import functional as F
from . import init
from .module import Module, Parameter


def check_size(name, arg, value):
    """Raise TypeError unless ``value`` is an int (not a bool), then ValueError unless it is positive."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name}: {arg} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name}: {arg} must be positive, got {value}")


def module_dtype(name, dtype):
    """``resolve_dtype(dtype)``, with the module's name in the TypeError."""
    try:
        return resolve_dtype(dtype)
    except TypeError as error:
        raise TypeError(f"{name}: {error}") from None


def check_input(module, x, last_dim=None):
    """Raise unless ``x`` is a Tensor of the module's dtype (and last dimension ``last_dim``)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{type(module).__name__}: expected a Tensor input, got {type(x).__name__}")
    data = x.data             # read once: the Tensor properties are a Python call each, on every forward
    if data.dtype != module.dtype:
        raise TypeError(f"{type(module).__name__}: expected input of dtype {module.dtype}, got {data.dtype} "
                        f"(convert the input, or the module with .to(dtype))")
    if last_dim is not None and (data.ndim == 0 or data.shape[-1] != last_dim):
        raise ValueError(f"{type(module).__name__}: expected input with last dimension {last_dim}, "
                         f"got shape {data.shape}")


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features); W, b ~ U(-1/sqrt(in), 1/sqrt(in)) as PyTorch.

    >>> import tinygrad_rnn as tg, numpy as np
    >>> tg.nn.Linear(3, 2)(tg.Tensor(np.ones((4, 3), np.float32))).shape
    (4, 2)
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        check_size("Linear", "in_features", in_features)
        check_size("Linear", "out_features", out_features)
        self.in_features, self.out_features, self.dtype = in_features, out_features, module_dtype("Linear", dtype)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = init.uniform_(Parameter(np.empty((out_features, in_features), self.dtype)), -bound, bound)
        self.bias = init.uniform_(Parameter(np.empty(out_features, self.dtype)), -bound, bound) if bias else None

    def forward(self, x):
        check_input(self, x, self.in_features)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """y[...] = W[indices[...]]: a table of ``num_embeddings`` vectors, W ~ N(0, 1) as PyTorch."""

    def __init__(self, num_embeddings, embedding_dim, dtype=None):
        super().__init__()
        check_size("Embedding", "num_embeddings", num_embeddings)
        check_size("Embedding", "embedding_dim", embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.dtype = module_dtype("Embedding", dtype)
        self.weight = init.normal_(Parameter(np.empty((num_embeddings, embedding_dim), self.dtype)))

    def forward(self, indices):
        return F.embedding(indices, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """Zero elements with probability p in training mode, scaling the rest by 1/(1-p); identity in eval."""

    def __init__(self, p=0.5):
        super().__init__()
        if not isinstance(p, (int, float, np.floating)) or isinstance(p, bool):
            raise TypeError(f"Dropout: probability must be a number, got {type(p).__name__}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
