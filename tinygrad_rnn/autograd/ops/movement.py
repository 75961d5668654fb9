"""Ops that move or select elements: reshape, permute, indexing, cat, stack, split, cast."""
import numpy as np

from .. import buffers
from ..function import Function


class Reshape(Function):
    """y = x viewed with a new shape;  dx = g reshaped back."""

    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into {tuple(shape)}") from None

    def backward(self, g):
        return g.reshape(self.shape)


class Permute(Function):
    """y = x with its axes reordered;  dx = g with the inverse order."""

    def forward(self, x, axes=None):
        if axes is not None and sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
            raise ValueError(f"permute: {tuple(axes)} is not a permutation of the {x.ndim} axes of shape {x.shape}")
        self.axes = axes
        return np.transpose(x, axes)

    def backward(self, g):
        if self.axes is None:
            return np.transpose(g)
        return np.transpose(g, np.argsort([a % g.ndim for a in self.axes]))


def _is_basic(index):
    """True when indexing with ``index`` selects every element at most once (no gather)."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if part is None or part is Ellipsis or isinstance(part, (int, np.integer, slice)):
            continue
        if isinstance(part, np.ndarray) and part.dtype == bool:
            continue
        return False
    return True


class GetItem(Function):
    """y = x[index] (basic slicing or integer-array gather);  dx = g scattered back, summed where repeated."""

    def forward(self, x, index):
        try:
            out = x[index]
        except IndexError as error:
            raise IndexError(f"getitem: index {index!r} is invalid for shape {x.shape}: {error}") from None
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return out

    def backward(self, g):
        grad = np.zeros(self.shape, dtype=self.dtype)
        if _is_basic(self.index):
            grad[self.index] = g
        else:
            np.add.at(grad, self.index, g)
        return grad


class Cat(Function):
    """y = concatenate(xs, axis);  each dx_k = the slice of g that x_k filled."""

    def forward(self, *xs, axis=0):
        try:
            out = buffers.concatenate(xs, axis=axis)
        except ValueError:
            raise ValueError(f"cat: shapes {[x.shape for x in xs]} do not match outside axis {axis}") from None
        self.axis = axis
        self.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return out

    def backward(self, g):
        return tuple(np.split(g, self.bounds, axis=self.axis))


class Stack(Function):
    """y = stack(xs, axis) (a new axis);  each dx_k = g indexed at k along that axis."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        if len(xs) == 1 and axis == 0:   # one tensor (a one-layer RNN's final state): np.stack's Python costs ~8 us
            return xs[0][np.newaxis].copy()
        try:
            out = np.stack(xs, axis=axis)
        except ValueError:
            raise ValueError(f"stack: every tensor must have the same shape, got {[x.shape for x in xs]}") from None
        return out

    def backward(self, g):
        return tuple(np.moveaxis(g, self.axis, 0))


class Unbind(Function):
    """ys = (x[0], x[1], ...) along axis 0, as one node with one output per slice;  dx = stack(gs).

    Recurrent layers use it to hand each time step its slice of the hoisted input projection:
    one node for all steps, and a backward that writes each step's gradient once.
    """

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        return tuple(x)

    def backward(self, *grads):
        grad = buffers.empty(self.shape, self.dtype)
        for t, g in enumerate(grads):
            grad[t] = 0 if g is None else g
        return grad


class Split(Function):
    """ys = split(x, at the given boundaries, axis) (one node, several outputs);  dx = cat(gs)."""

    def forward(self, x, bounds, axis=0):
        self.shape, self.dtype, self.axis, self.bounds = x.shape, x.dtype, axis, bounds
        return tuple(np.split(x, bounds, axis=axis))

    def backward(self, *grads):
        pieces = []
        edges = [0, *self.bounds, self.shape[self.axis]]
        for piece, start, stop in zip(grads, edges[:-1], edges[1:]):
            if piece is None:
                shape = list(self.shape)
                shape[self.axis] = stop - start
                piece = np.zeros(shape, dtype=self.dtype)
            pieces.append(piece)
        return np.concatenate(pieces, axis=self.axis)


class Cast(Function):
    """y = x in another float dtype;  dx = g cast back to x's dtype."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return g.astype(self.dtype)


def split(tensor, split_size_or_sections, axis=0):
    """Pieces of ``tensor`` along ``axis``: of size ``split_size`` each, or of the listed sizes."""
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        bounds = list(range(split_size_or_sections, length, split_size_or_sections))
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise ValueError(f"split: sizes {sizes} sum to {sum(sizes)}, but axis {axis} has length {length}")
        bounds = list(np.cumsum(sizes)[:-1])
    if not bounds:
        return (tensor,)
    return Split.apply(tensor, bounds=bounds, axis=axis)
