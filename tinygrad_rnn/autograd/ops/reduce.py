"""Reductions over axes: sum, mean and max (with keepdims)."""
import numpy as np

from ..function import Function


def _axes(axis, ndim):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    normalised = []
    for a in axis:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"reduce: axis {a} is out of range for a tensor with {ndim} dimensions")
        normalised.append(a % ndim if ndim else 0)
    return tuple(sorted(normalised))


def _expand_back(g, shape, axes, keepdims):
    """Broadcast a reduced gradient back to the input's shape."""
    if not keepdims and shape:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


class Sum(Function):
    """y = sum over axes of x;  dx = g broadcast back over those axes."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, _axes(axis, x.ndim), keepdims
        return np.sum(x, axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        return _expand_back(g, self.shape, self.axes, self.keepdims)


class Mean(Function):
    """y = mean over axes of x;  dx = g / n broadcast back (n = number of elements reduced)."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, _axes(axis, x.ndim), keepdims
        self.count = int(np.prod([x.shape[a] for a in self.axes])) if x.ndim else 1
        return np.mean(x, axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        return _expand_back(g / self.count, self.shape, self.axes, self.keepdims)


class Max(Function):
    """y = max over axes of x;  dx = g at the maximal elements (shared equally between ties)."""

    def forward(self, x, axis=None, keepdims=False):
        if x.size == 0:
            raise ValueError(f"max: cannot reduce an empty tensor of shape {x.shape}")
        axes = _axes(axis, x.ndim)
        kept = np.max(x, axis=axes, keepdims=True)
        if self.needs_input_grad:
            self.mask = x == kept
            self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return kept if keepdims else np.squeeze(kept, axis=axes) if x.ndim else kept

    def backward(self, g):
        if not self.keepdims and self.shape:
            g = np.expand_dims(g, self.axes)
        ties = self.mask.sum(axis=self.axes, keepdims=True)
        return (g * self.mask / ties).astype(g.dtype, copy=False)
