"""tinygrad_rnn: a small reverse-mode autograd engine on NumPy and numba, with RNN, LSTM and GRU
built as computational graphs, so that backpropagation through time is the generic backward().

>>> import tinygrad_rnn as tg
>>> x = tg.Tensor([[0.5, -0.25]], requires_grad=True)
>>> y = (x @ x.T).tanh().sum()
>>> y.backward()
>>> x.grad.shape
(1, 2)
"""
from .autograd import (
    Function, GradcheckError, Tensor, cat, cross_entropy, detect_anomaly, dropout, embedding, enable_grad,
    get_default_dtype, gradcheck, is_anomaly_enabled, is_grad_enabled, log_softmax, manual_seed, no_grad,
    random, set_default_dtype, softmax, stack, unbroadcast, where,
)

from . import nn  # noqa: E402  (layers sit on the engine imported above)

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "unbroadcast", "no_grad", "enable_grad", "is_grad_enabled",
    "get_default_dtype", "set_default_dtype", "manual_seed", "random", "gradcheck", "GradcheckError",
    "cat", "stack", "where", "softmax", "log_softmax", "cross_entropy", "embedding", "dropout", "nn",
    "detect_anomaly", "is_anomaly_enabled",
]
