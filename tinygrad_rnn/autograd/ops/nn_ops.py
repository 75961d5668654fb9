"""Fused ops that neural networks lean on: softmax, log-softmax, cross-entropy, embedding, dropout."""
import numpy as np

from ... import kernels
from .. import buffers
from ..function import Function


class Softmax(Function):
    """y_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j;  dx = y * (g - sum(g * y))."""

    def forward(self, x, axis=-1):
        shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
        self.out = shifted / np.sum(shifted, axis=axis, keepdims=True)
        self.axis = axis
        return self.out

    def backward(self, g):
        y = self.out
        return y * (g - np.sum(g * y, axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y_i = x_i - m - log(sum_j exp(x_j - m));  dx = g - softmax(x) * sum(g)."""

    def forward(self, x, axis=-1):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        self.out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        self.axis = axis
        return self.out

    def backward(self, g):
        return g - np.exp(self.out) * np.sum(g, axis=self.axis, keepdims=True)


def check_class_targets(op, targets, n_rows):
    """Raise a clear error unless ``targets`` are ``n_rows`` integers."""
    if targets.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer class targets, got dtype {targets.dtype}")
    if targets.shape != (n_rows,):
        raise ValueError(f"{op}: expected targets of shape ({n_rows},), got {targets.shape}")


def _bad_target(targets, row, n_classes):
    return ValueError(f"cross_entropy: target {int(targets[row])} at position {row} is outside [0, {n_classes})")


class CrossEntropy(Function):
    """Softmax cross-entropy from logits, fused (one numba kernel each way) and stable.

    loss_n = logsumexp(x_n) - x_n[t_n];  dx_n = (softmax(x_n) - onehot(t_n)) * dL/dloss_n.
    Rows whose target equals ``ignore_index`` contribute 0 and get no gradient; 'mean' divides
    by the number of rows not ignored (as PyTorch).
    """

    def forward(self, logits, targets, reduction="mean", ignore_index=-100):
        check_class_targets("cross_entropy", targets, logits.shape[0])
        logits = np.ascontiguousarray(logits)
        targets = np.ascontiguousarray(targets, dtype=np.int64)
        losses = np.empty(logits.shape[0], dtype=logits.dtype)
        probs = buffers.empty_like(logits)
        bad_row = kernels.cross_entropy_fwd(logits, targets, ignore_index, losses, probs)
        if bad_row >= 0:
            raise _bad_target(targets, bad_row, logits.shape[1])
        self.reduction, self.targets, self.ignore_index, self.probs = reduction, targets, ignore_index, probs
        if reduction == "none":
            return losses
        total = np.add.reduce(losses, dtype=np.float64)   # the ufunc itself: .sum's wrapper costs more here
        if reduction == "sum":
            return np.asarray(total, dtype=logits.dtype)
        self.count = int(np.count_nonzero(targets != ignore_index))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(total / self.count, dtype=logits.dtype)

    def backward(self, g):
        if self.reduction == "none":
            row_scale = np.ascontiguousarray(g)
        else:
            scale = g / self.count if self.reduction == "mean" else g
            row_scale = np.empty(len(self.targets), dtype=self.probs.dtype)
            row_scale.fill(scale)
        grad = buffers.empty_like(self.probs)
        kernels.cross_entropy_bwd(self.probs, self.targets, self.ignore_index, row_scale, grad)
        return grad


class Embedding(Function):
    """y[...] = weight[indices[...]] (a gather);  dweight[k] = sum of g rows whose index is k."""

    def forward(self, weight, indices):
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding: expected integer indices, got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
            bad = indices[(indices < 0) | (indices >= weight.shape[0])].flat[0]
            raise ValueError(f"embedding: index {int(bad)} is outside [0, {weight.shape[0]})")
        self.indices, self.weight_shape, self.dtype = indices, weight.shape, weight.dtype
        return weight[indices]

    def backward(self, g):
        grad = np.zeros(self.weight_shape, dtype=self.dtype)
        np.add.at(grad, self.indices.ravel(), g.reshape(-1, self.weight_shape[1]))
        return grad


class DropoutMask(Function):
    """y = x * mask, mask_i = [u_i >= p] / (1 - p) drawn once;  dx = g * mask."""

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, g):
        return g * self.mask
