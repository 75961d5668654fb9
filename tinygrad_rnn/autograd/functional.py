"""Functions over tensors that are not methods: cat, stack, where, and the fused NN ops."""
import numpy as np

from .dtypes import is_float
from .ops import elementwise as E
from .ops import movement as V
from .ops import nn_ops as N
from .random import generator
from .tensor import Tensor


def _tensors(op, tensors):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{op}: all tensors must have one dtype, got {sorted(str(d) for d in dtypes)}")
    return tensors


def cat(tensors, axis=0):
    """Concatenate tensors along an existing axis.

    >>> import tinygrad_rnn as tg
    >>> tg.cat([tg.Tensor([[1.0]]), tg.Tensor([[2.0]])], axis=1).shape
    (1, 2)
    """
    return V.Cat.apply(*_tensors("cat", tensors), axis=axis)


def stack(tensors, axis=0):
    """Stack same-shaped tensors along a new axis."""
    return V.Stack.apply(*_tensors("stack", tensors), axis=axis)


def where(condition, a, b):
    """Elementwise ``a`` where ``condition`` else ``b`` (differentiable in a and b)."""
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if condition.dtype != bool:
        raise TypeError(f"where: expected a boolean condition, got dtype {condition.dtype}")
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError("where: expected a or b to be a Tensor")
        a = b._lift(a, "where")
    b = a._lift(b, "where")
    return E.Where.apply(a, b, condition=condition)


def softmax(x, axis=-1):
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j), computed stably."""
    return N.Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    """log_softmax(x)_i = x_i - log sum_j exp(x_j), computed stably."""
    return N.LogSoftmax.apply(x, axis=axis)


def cross_entropy(logits, targets, reduction="mean", ignore_index=-100):
    """Cross-entropy of integer class ``targets`` under softmax(``logits``), in nats.

    loss_n = -log softmax(logits_n)[targets_n]; reduced by 'mean' (over rows not ignored),
    'sum', or 'none'. Shapes: logits (N, C), targets (N,) integers; or logits (C,), a scalar target.

    >>> import numpy as np, tinygrad_rnn as tg
    >>> logits = tg.Tensor(np.zeros((2, 4)), requires_grad=True)
    >>> round(tg.cross_entropy(logits, np.array([1, 3])).item(), 4)   # log(4)
    1.3863
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    targets = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    ndim = logits.data.ndim
    if ndim == 1:
        loss = N.CrossEntropy.apply(logits.reshape(1, -1), targets=targets.reshape(1),
                                    reduction=reduction, ignore_index=ignore_index)
        return loss.reshape(()) if reduction == "none" else loss
    if ndim != 2:
        raise ValueError(f"cross_entropy: expected logits of shape (N, C) or (C,), got {logits.shape}")
    return N.CrossEntropy.apply(logits, targets=targets, reduction=reduction, ignore_index=ignore_index)


def embedding(indices, weight):
    """Rows of ``weight`` (V, E) picked by integer ``indices`` of any shape -> indices.shape + (E,)."""
    indices = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    return N.Embedding.apply(weight, indices=indices)


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if not is_float(x.dtype):
        raise TypeError(f"dropout: expected a float tensor, got dtype {x.dtype}")
    if p == 1.0:
        mask = np.zeros(x.shape, dtype=x.dtype)
    else:
        mask = (generator().random(x.shape, dtype=np.float64) >= p).astype(x.dtype) / x.dtype.type(1 - p)
    return N.DropoutMask.apply(x, mask=mask)
