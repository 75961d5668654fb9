"""Fused ops that neural networks lean on: softmax, log-softmax, cross-entropy, embedding, dropout."""
import numpy as np

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


def check_class_targets(op, targets, n_rows, n_classes, ignore_index):
    """Raise a clear error unless ``targets`` are integers in [0, n_classes) or ``ignore_index``."""
    if targets.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer class targets, got dtype {targets.dtype}")
    if targets.shape != (n_rows,):
        raise ValueError(f"{op}: expected targets of shape ({n_rows},), got {targets.shape}")
    bad = (targets < 0) | (targets >= n_classes)
    if ignore_index is not None:
        bad &= targets != ignore_index
    if bad.any():
        position = int(np.argmax(bad))
        raise ValueError(f"{op}: target {int(targets[position])} at position {position} is outside "
                         f"[0, {n_classes})")


class CrossEntropy(Function):
    """Softmax cross-entropy from logits, fused and stable.

    loss_n = logsumexp(x_n) - x_n[t_n];  dx_n = (softmax(x_n) - onehot(t_n)) * dL/dloss_n.
    Rows whose target equals ``ignore_index`` contribute 0 and get no gradient; 'mean' divides
    by the number of rows not ignored (as PyTorch).
    """

    def forward(self, logits, targets, reduction="mean", ignore_index=-100):
        check_class_targets("cross_entropy", targets, logits.shape[0], logits.shape[1], ignore_index)
        kept = targets != ignore_index
        safe_targets = np.where(kept, targets, 0)
        shifted = logits - np.max(logits, axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = np.sum(exp, axis=1)
        losses = np.log(sum_exp) - shifted[np.arange(len(targets)), safe_targets]
        losses = np.where(kept, losses, 0).astype(logits.dtype, copy=False)
        self.reduction, self.kept, self.targets = reduction, kept, safe_targets
        if self.needs_input_grad:
            self.probs = exp / sum_exp[:, None]
        if reduction == "none":
            return losses
        if reduction == "sum":
            return np.asarray(losses.sum(), dtype=logits.dtype)
        self.count = int(kept.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(losses.sum() / self.count, dtype=logits.dtype)

    def backward(self, g):
        grad = self.probs.copy()
        grad[np.arange(len(self.targets)), self.targets] -= 1
        if self.reduction == "none":
            scale = g * self.kept
        else:
            scale = self.kept * (g / self.count if self.reduction == "mean" else g)
        grad *= scale.astype(grad.dtype, copy=False)[:, None]
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
