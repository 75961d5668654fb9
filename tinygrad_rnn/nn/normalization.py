"""Normalisation layers: LayerNorm (Ba, Kiros and Hinton, 2016) and BatchNorm1d (Ioffe and Szegedy, 2015),
with PyTorch's arguments and semantics, written as Tensor expressions."""
import numbers

import numpy as np

from ..autograd import Tensor
from . import init
from .layers import check_input, module_dtype
from .module import Module, Parameter


def _normalize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes``, var the biased variance; also returns the batch var."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    return centred * (var + eps) ** -0.5, mean, var


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, the statistics over the trailing
    ``len(normalized_shape)`` axes (biased variance, as PyTorch)."""
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    y = _normalize(x, axes, eps)[0]
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


class LayerNorm(Module):
    """Normalise each sample over its trailing ``normalized_shape`` axes, then scale and shift.

        y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta

    E and Var (biased) are taken per sample over the last ``len(normalized_shape)`` axes; gamma = 1 and
    beta = 0 at the start, both of shape ``normalized_shape`` (absent if ``elementwise_affine=False``).
    Shapes: x (..., *normalized_shape) -> y of the same shape. Same in training and evaluation.

    >>> import numpy as np, tinygrad_rnn as tg
    >>> y = tg.nn.LayerNorm(4)(tg.Tensor(np.array([[1.0, 2.0, 3.0, 4.0]], np.float32)))
    >>> y.numpy().round(3)
    array([[-1.342, -0.447,  0.447,  1.342]], dtype=float32)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
            normalized_shape = (int(normalized_shape),)
        if not isinstance(normalized_shape, (tuple, list)) or not all(
                isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in normalized_shape):
            raise TypeError(f"LayerNorm: normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}")
        if len(normalized_shape) == 0 or min(normalized_shape) <= 0:
            raise ValueError(f"LayerNorm: normalized_shape must be positive sizes, got {tuple(normalized_shape)}")
        if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not eps > 0:
            raise ValueError(f"LayerNorm: eps must be a positive number, got {eps!r}")
        self.normalized_shape, self.eps = tuple(int(n) for n in normalized_shape), float(eps)
        self.elementwise_affine = elementwise_affine
        self.dtype = module_dtype("LayerNorm", dtype)
        if elementwise_affine:
            self.weight = init.constant_(Parameter(np.empty(self.normalized_shape, self.dtype)), 1.0)
            self.bias = init.zeros_(Parameter(np.empty(self.normalized_shape, self.dtype)))
        else:
            self.weight = self.bias = None

    def forward(self, x):
        check_input(self, x)
        n = len(self.normalized_shape)
        if x.shape[x.ndim - n:] != self.normalized_shape or x.ndim < n:
            raise ValueError(f"LayerNorm: expected input with trailing shape {self.normalized_shape}, got {x.shape}")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class BatchNorm1d(Module):
    """Normalise each feature over the batch (and length) axes, with running statistics for evaluation.

        training:  y = (x - mean_B) / sqrt(var_B + eps) * gamma + beta      (var_B biased)
                   running_mean <- (1 - momentum) running_mean + momentum mean_B
                   running_var  <- (1 - momentum) running_var  + momentum var_B * n / (n - 1)
        eval:      y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta

    as PyTorch: n is the number of values per feature, the running variance takes the unbiased
    estimate, and ``momentum=None`` gives the cumulative average over all batches seen.
    Shapes: x (N, C) or (N, C, L), C = ``num_features``.
    ``running_mean`` and ``running_var`` (C,) are Parameters with ``requires_grad=False`` so they are
    saved in ``state_dict()`` (no gradient reaches them, so optimizers leave them alone);
    ``track_running_stats=False`` uses the batch statistics in evaluation too.

    >>> import numpy as np, tinygrad_rnn as tg
    >>> bn = tg.nn.BatchNorm1d(2)
    >>> _ = bn(tg.Tensor(np.array([[0.0, 1.0], [2.0, 5.0]], np.float32)))
    >>> bn.running_mean.numpy().round(3), bn.running_var.numpy().round(3)
    (array([0.1, 0.3], dtype=float32), array([1.1, 1.7], dtype=float32))
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=None):
        super().__init__()
        if not isinstance(num_features, numbers.Integral) or isinstance(num_features, bool):
            raise TypeError(f"BatchNorm1d: num_features must be an int, got {type(num_features).__name__}")
        if num_features <= 0:
            raise ValueError(f"BatchNorm1d: num_features must be positive, got {num_features}")
        if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not eps > 0:
            raise ValueError(f"BatchNorm1d: eps must be a positive number, got {eps!r}")
        if momentum is not None and (not isinstance(momentum, numbers.Real) or not 0.0 <= momentum <= 1.0):
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.dtype = module_dtype("BatchNorm1d", dtype)
        shape = (self.num_features,)
        self.weight = init.constant_(Parameter(np.empty(shape, self.dtype)), 1.0) if affine else None
        self.bias = init.zeros_(Parameter(np.empty(shape, self.dtype))) if affine else None
        if track_running_stats:
            self.running_mean = Parameter(np.zeros(shape, self.dtype), requires_grad=False)
            self.running_var = Parameter(np.ones(shape, self.dtype), requires_grad=False)
        else:
            self.running_mean = self.running_var = None
        self.num_batches_tracked = 0

    def forward(self, x):
        check_input(self, x)
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: expected input of shape (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got {x.shape}")
        axes = (0,) if x.ndim == 2 else (0, 2)
        view = (1, self.num_features) + (() if x.ndim == 2 else (1,))   # broadcast (C,) against x
        if self.training or not self.track_running_stats:
            count = x.size // self.num_features
            if self.training and count <= 1:
                raise ValueError(f"BatchNorm1d: expected more than 1 value per feature in training, "
                                 f"got input of shape {x.shape}")
            y, mean, var = _normalize(x, axes, self.eps)
            if self.training and self.track_running_stats:
                self._update_running(mean.data.reshape(-1), var.data.reshape(-1), count)
        else:
            mean = Tensor(self.running_mean.data.reshape(view))
            y = (x - mean) * Tensor((self.running_var.data.reshape(view) + self.dtype.type(self.eps)) ** -0.5)
        if self.affine:
            y = y * self.weight.reshape(view) + self.bias.reshape(view)
        return y

    def _update_running(self, mean, var, count):
        self.num_batches_tracked += 1
        momentum = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        keep, take = self.dtype.type(1.0 - momentum), self.dtype.type(momentum)
        unbiased = var * self.dtype.type(count / (count - 1))
        self.running_mean.data[...] = keep * self.running_mean.data + take * mean
        self.running_var.data[...] = keep * self.running_var.data + take * unbiased

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
