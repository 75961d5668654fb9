"""Matrix product with NumPy's rules (1-D, 2-D and batched with broadcasting), in BLAS."""
import numpy as np

from .. import buffers
from ..function import Function, unbroadcast


_ONES = {}            # (n, dtype) -> a read-only vector of n ones, for column_sums
_ONES_MAX_ENTRIES = 32


def column_sums(rows):
    """sum_r rows[r, :] for 2-D ``rows`` (R, N), as one GEMV with a vector of R ones.

    A bias gradient is this sum of the output gradient's rows. BLAS takes 0.3-0.7x the time of
    ``rows.sum(axis=0)`` here, from (25, 65) in float64 to (6400, 4096) in float32, at the same
    accuracy (its blocked sums against NumPy's pairwise ones).

    >>> column_sums(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([4., 6.])
    """
    key = (rows.shape[0], rows.dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= _ONES_MAX_ENTRIES:
            _ONES.clear()
        ones = np.ones(rows.shape[0], rows.dtype)
        ones.flags.writeable = False
        _ONES[key] = ones
    return np.dot(ones, rows)


def _swap_last(x):
    return np.swapaxes(x, -1, -2)


def _as_rows(x):
    """x (..., n) as a 2-D (rows, n) array; a view whenever NumPy can make one."""
    return x.reshape(-1, x.shape[-1])


class MatMul(Function):
    """y = a @ b.  For 2-D: da = g @ b^T, db = a^T @ g; batch axes are unbroadcast.

    A 1-D operand is treated as NumPy does (a row vector on the left, a column on the right).
    """

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: inner dimensions do not match: {a.shape} @ {b.shape} "
                             f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
        try:
            out = a @ b
        except ValueError:
            raise ValueError(f"matmul: cannot broadcast batch dimensions of {a.shape} and {b.shape}") from None
        self.a, self.b = a, b
        return out

    def backward(self, g):
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:
            return (np.dot(g, b.T) if need_a else None), (np.dot(a.T, g) if need_b else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        grad_a = grad_b = None
        if need_a:
            grad_a = unbroadcast(g @ _swap_last(b2), a2.shape).reshape(a.shape)
        if need_b:
            grad_b = unbroadcast(_swap_last(a2) @ g, b2.shape).reshape(b.shape)
        return grad_a, grad_b


class Linear(Function):
    """y = x W^T + b_1 + ... + b_k (k >= 0 bias vectors), for x of shape (..., in), W (out, in), each b (out,):
    one node instead of 2 + k.

    dx = g W;  dW = g^T x and each db = the sum of g, all summed over the leading axes of x.
    A recurrent layer's input projection passes both of its biases, b_ih and b_hh.
    """

    fresh_grads = True

    def forward(self, x, weight, *biases):
        if x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: expected input with last dimension {weight.shape[1]}, got shape {x.shape}")
        # (..., in) as one (rows, in) matrix: a single GEMM, where ``@`` on a 3-D x makes one per slice.
        # np.dot: NumPy's ``@`` is ~10x slower when the inner dimension is 1 (a one-row weight gradient).
        out = buffers.dot(_as_rows(x), weight.T)
        if biases:                    # the biases summed first: one add over the (rows, out) product
            total = biases[0]
            for bias in biases[1:]:
                total = total + bias
            np.add(out, total, out=out)
        self.x, self.weight = x, weight
        return out.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, g):
        needs = self.needs_input_grad
        x, weight = self.x, self.weight
        g2 = _as_rows(g)
        grad_x = buffers.dot(g2, weight).reshape(x.shape) if needs[0] else None
        grad_w = buffers.dot(g2.T, _as_rows(x)) if needs[1] else None
        grads, grad_bias = [grad_x, grad_w], None
        for need in needs[2:]:
            if not need:
                grads.append(None)
            elif grad_bias is None:
                grad_bias = column_sums(g2)
                grads.append(grad_bias)
            else:
                grads.append(grad_bias.copy())   # no two inputs share one gradient array
        return tuple(grads)
