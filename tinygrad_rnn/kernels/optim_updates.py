"""Optimizer updates (and gradient clipping) fused into one pass over a parameter: one loop instead of
about seven NumPy calls.

For the small parameters of a character RNN (a few thousand elements each), each NumPy call costs more
in dispatch than in arithmetic, and an optimizer step touches every parameter of the model.

Arrays are C-contiguous and of any shape (a parameter and its gradient as they are), each read as one flat
run of elements and updated in place: the flat views are taken inside the kernel, where they cost nothing,
rather than by ``reshape(-1)`` in Python, about 0.3 us each and three per parameter at every step. The
scalars are converted to the arrays' dtype, so float32 stays float32.

>>> import numpy as np
>>> p, g, s = np.array([1.0, 1.0]), np.array([2.0, -4.0]), np.zeros(2)
>>> adagrad_update(p, g, s, 0.5, 1e-10)
>>> p.round(6), s
(array([0.5, 1.5]), array([ 4., 16.]))
"""

import numpy as np

from tinygrad_rnn.kernels.policy import kernel


@kernel
def adagrad_update(param, grad, state_sum, clr, eps):
    """Adagrad's step:  s += g * g;  p -= clr * g / (sqrt(s) + eps).  Three C-contiguous arrays of one shape,
    in place."""
    if grad.shape != param.shape or state_sum.shape != param.shape:
        raise ValueError("adagrad_update: expected grad and state_sum of param's shape")
    param, grad, state_sum = param.reshape(-1), grad.reshape(-1), state_sum.reshape(-1)
    neg_clr, eps = param.dtype.type(-clr), param.dtype.type(eps)
    for i in range(param.shape[0]):
        g = grad[i]
        s = state_sum[i] + g * g
        state_sum[i] = s
        param[i] += (g / (np.sqrt(s) + eps)) * neg_clr


@kernel
def clip_values(values, limit):
    """values <- min(max(values, -limit), limit), in place, for C-contiguous ``values``; nan stays nan.

    >>> g = np.array([[-7.0, 0.5], [np.nan, 9.0]]); clip_values(g, 5.0); g
    array([[-5. ,  0.5],
           [ nan,  5. ]])
    """
    high = values.dtype.type(limit)
    low = -high
    flat = values.reshape(-1)
    for i in range(flat.shape[0]):
        v = flat[i]
        flat[i] = low if v < low else (high if v > high else v)
