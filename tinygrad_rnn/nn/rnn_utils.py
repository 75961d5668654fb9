"""Helpers around recurrent state and padded batches."""
import numpy as np

from ..autograd import Tensor


def detach_state(state):
    """Cut a (possibly nested) recurrent state from its graph, for truncated BPTT.

    Works on a Tensor, or tuples/lists of them such as an LSTM's (h, c).

    >>> import tinygrad_rnn as tg
    >>> h = tg.Tensor([1.0], requires_grad=True) * 2
    >>> detach_state((h, h))[0].requires_grad
    False
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: expected a Tensor or a tuple of them, got {type(state).__name__}")


def pad_sequences(sequences, batch_first=False, padding_value=0.0):
    """Stack arrays of shape (T_b, ...) into one padded array and their lengths.

    Returns (padded (T_max, B, ...) or (B, T_max, ...), lengths (B,) int64) to pass as
    ``rnn(Tensor(padded), lengths=lengths)``.
    """
    arrays = [np.asarray(s.data if isinstance(s, Tensor) else s) for s in sequences]
    if not arrays:
        raise ValueError("pad_sequences: expected at least one sequence")
    if any(a.shape[1:] != arrays[0].shape[1:] for a in arrays):
        raise ValueError(f"pad_sequences: trailing shapes differ: {[a.shape for a in arrays]}")
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    padded = np.full((lengths.max(), len(arrays)) + arrays[0].shape[1:], padding_value, dtype=arrays[0].dtype)
    for b, a in enumerate(arrays):
        padded[:len(a), b] = a
    return (np.swapaxes(padded, 0, 1).copy() if batch_first else padded), lengths
