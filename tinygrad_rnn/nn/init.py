"""Initialisation rules, each filling a tensor's array in place from the library's generator."""
import math

import numpy as np

from ..autograd.random import generator


def _fill(tensor, values):
    tensor.data[...] = values
    return tensor


def uniform_(tensor, low=0.0, high=1.0):
    """x ~ U(low, high)."""
    return _fill(tensor, generator().uniform(low, high, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """x ~ N(mean, std^2)."""
    return _fill(tensor, generator().normal(mean, std, tensor.shape))


def zeros_(tensor):
    return _fill(tensor, 0.0)


def constant_(tensor, value):
    return _fill(tensor, value)


def xavier_uniform_(tensor, gain=1.0):
    """x ~ U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    fan_out, fan_in = tensor.shape[0], int(np.prod(tensor.shape[1:]))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al., 2014)."""
    rows, cols = tensor.shape[0], int(np.prod(tensor.shape[1:]))
    flat = generator().standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # make the decomposition unique, so the result is uniformly distributed
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def eye_(tensor, scale=1.0):
    """scale * identity (the IRNN recurrent-weight init of Le, Jaitly and Hinton, 2015)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: expected a 2-D tensor, got shape {tensor.shape}")
    return _fill(tensor, scale * np.eye(*tensor.shape))


def lstm_forget_bias_(lstm, value=1.0):
    """Set the forget-gate bias of every layer of an LSTM (or LSTMCell) so that b_ih_f + b_hh_f = value.

    Gates are stacked i, f, g, o, so the forget gate is rows [H, 2H) of each bias.
    A positive value makes the cell remember by default early in training (Jozefowicz et al., 2015).
    """
    hidden = lstm.hidden_size
    found = False
    for name, param in lstm.named_parameters():
        if name.startswith("bias_ih"):
            param.data[hidden:2 * hidden] = value
            found = True
        elif name.startswith("bias_hh"):
            param.data[hidden:2 * hidden] = 0.0
    if not found:
        raise ValueError(f"lstm_forget_bias_: {type(lstm).__name__} has no bias_ih parameters (bias=False?)")
    return lstm
