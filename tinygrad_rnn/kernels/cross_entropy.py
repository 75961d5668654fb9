"""Softmax cross-entropy over class logits, forward and backward, one row per example.

    loss[n]  = logsumexp(logits[n]) - logits[n, t_n]      (0 where t_n == ignore_index)
    probs[n] = softmax(logits[n])
    dlogits[n] = (probs[n] - onehot(t_n)) * row_scale[n]   (a zero row where t_n == ignore_index)

logits, probs, dlogits: (N, C) float32 or float64; targets: (N,) integers; losses, row_scale: (N,)
in the logits' dtype. The log-sum-exp subtracts the row maximum first, so no ``exp`` overflows for
any finite logits; that exp is :func:`.scalar_math.exp_nonpositive` (its argument is never positive),
arithmetic that vectorises, within 1e-15 of libm's in float64. A nan anywhere in a row makes that
row's loss and probabilities nan.

Invalid targets are reported, not hidden: both kernels return the index of the first row whose
target is neither in [0, C) nor ``ignore_index``, or -1 when all are valid. Such a row gets a nan
loss (and a nan gradient row), so the caller can raise with the row number, e.g.
``ValueError("cross_entropy: expected targets in [0, 5) or -100, got 7 at row 3")``.

>>> import numpy as np
>>> logits = np.array([[0.0, 0.0], [1000.0, 0.0]]); targets = np.array([1, 0])
>>> losses, probs = np.empty(2), np.empty((2, 2))
>>> cross_entropy_fwd(logits, targets, -100, losses, probs)
-1
>>> losses  # log 2, and a confident right answer
array([0.69314718, 0.        ])
"""

import numpy as np

from tinygrad_rnn.kernels.policy import kernel
from tinygrad_rnn.kernels.scalar_math import exp_nonpositive


@kernel
def cross_entropy_fwd(logits, targets, ignore_index, losses_out, probs_out):
    """Per-row losses and softmax probabilities; returns the first row with a bad target, or -1.

    See the module docstring for the equations and an example.
    """
    N, C = logits.shape
    if C < 1:
        raise ValueError("cross_entropy_fwd: expected logits of shape (N, C) with C >= 1")
    if targets.shape[0] != N:
        raise ValueError("cross_entropy_fwd: expected targets of shape (N,)")
    if losses_out.shape[0] != N:
        raise ValueError("cross_entropy_fwd: expected losses_out of shape (N,)")
    if probs_out.shape != (N, C):
        raise ValueError("cross_entropy_fwd: expected probs_out of shape (N, C)")
    bad_row = -1
    for n in range(N):
        m = logits[n, 0]
        for k in range(1, C):
            if logits[n, k] > m:
                m = logits[n, k]
        # A nan logit makes its exp(...) nan, hence the sum, every probability and the loss of the row.
        for k in range(C):                                  # no sum in this loop, so it vectorises
            probs_out[n, k] = exp_nonpositive(logits[n, k] - m)
        s = 0.0
        for k in range(C):
            s += probs_out[n, k]
        for k in range(C):
            probs_out[n, k] = probs_out[n, k] / s
        t = targets[n]
        if t == ignore_index:
            losses_out[n] = 0.0
        elif 0 <= t < C:
            losses_out[n] = np.log(s) - (logits[n, t] - m)  # no cancellation against a large m
        else:
            losses_out[n] = np.nan
            if bad_row < 0:
                bad_row = n
    return bad_row


@kernel
def cross_entropy_bwd(probs, targets, ignore_index, row_scale, dlogits_out):
    """dlogits = (probs - onehot(targets)) * row_scale[:, None]; returns the first bad row, or -1.

    Rows with ``ignore_index`` are zero; rows with a target outside [0, C) are nan.

    >>> probs = np.array([[0.25, 0.75], [0.5, 0.5]]); dlogits = np.empty((2, 2))
    >>> cross_entropy_bwd(probs, np.array([1, -100]), -100, np.array([2.0, 2.0]), dlogits)
    -1
    >>> dlogits
    array([[ 0.5, -0.5],
           [ 0. ,  0. ]])
    """
    N, C = probs.shape
    if targets.shape[0] != N:
        raise ValueError("cross_entropy_bwd: expected targets of shape (N,)")
    if row_scale.shape[0] != N:
        raise ValueError("cross_entropy_bwd: expected row_scale of shape (N,)")
    if dlogits_out.shape != (N, C):
        raise ValueError("cross_entropy_bwd: expected dlogits_out of shape (N, C)")
    bad_row = -1
    for n in range(N):
        t = targets[n]
        if t == ignore_index:
            for k in range(C):
                dlogits_out[n, k] = 0.0
        elif 0 <= t < C:
            scale = row_scale[n]
            for k in range(C):
                dlogits_out[n, k] = probs[n, k] * scale
            dlogits_out[n, t] = (probs[n, t] - 1.0) * scale
        else:
            for k in range(C):
                dlogits_out[n, k] = np.nan
            if bad_row < 0:
                bad_row = n
    return bad_row
