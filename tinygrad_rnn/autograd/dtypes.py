"""Floating dtypes and the rules for turning Python values into arrays.

Policy: Python scalars and lists become the default float dtype (float32 unless changed
with ``set_default_dtype``); NumPy arrays keep their dtype; an op never turns float32 into
float64 on its own. Mixing float32 and float64 tensors in one op is an error, not an upcast.
"""
import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_default = [np.dtype(np.float32)]


def get_default_dtype():
    """The dtype given to tensors built from Python scalars and lists (float32 at start)."""
    return _default[0]


def set_default_dtype(dtype):
    """Set the dtype for tensors built from Python values and for new layers: float32 or float64.

    >>> import numpy as np, tinygrad_rnn as tg
    >>> tg.set_default_dtype(np.float64); tg.Tensor([1.0]).dtype
    dtype('float64')
    >>> tg.set_default_dtype(np.float32)
    """
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"set_default_dtype: expected float32 or float64, got {dtype}")
    _default[0] = dtype


def is_float(dtype):
    """True for the float dtypes tensors may compute gradients in."""
    return dtype in FLOAT_DTYPES


def resolve_dtype(dtype):
    """``dtype`` as a float ``np.dtype``; None means the default dtype."""
    if dtype is None:
        return _default[0]
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"expected dtype float32 or float64, got {dtype}")
    return dtype


def to_array(value, dtype=None):
    """Array for ``value`` following the policy above (``dtype`` forces a dtype)."""
    if dtype is not None:
        return np.asarray(value, dtype=dtype)
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    array = np.asarray(value)
    if array.dtype.kind in "fiu":
        array = array.astype(_default[0])
    return array
