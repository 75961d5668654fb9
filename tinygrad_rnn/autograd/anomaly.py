"""Anomaly mode: stop at the first op whose forward output or backward gradient holds NaN or inf.

Inside ``with detect_anomaly():`` every ``Function`` checks what it makes:

    forward:   y = f(x_1, ..., x_n)        every float output y must be finite
    backward:  dL/dx_k = f'(..., dL/dy)    every gradient returned for an input that needs one must be finite

and the first violation raises ``FloatingPointError`` naming the op (the Function class), the pass
(forward, or backward and for which input), how many values are NaN and inf, and whether what came
in was already non-finite (then the trouble started earlier, outside any recorded op).

A node recorded inside the block is checked in its backward too, even if ``backward()`` runs after
the block ends; nodes recorded outside are not checked. Entering the block swaps a checking
``apply`` onto ``Function`` and leaving puts the plain one back, so outside the block the engine
runs exactly the code it runs without this module: not one extra attribute read. The switch is
process-wide (like ``no_grad``), not per thread.

>>> import numpy as np, tinygrad_rnn as tg
>>> x = tg.Tensor(np.array([1.0, 0.0, 2.0]), requires_grad=True)
>>> with np.errstate(divide="ignore"), tg.detect_anomaly():   # (NumPy's own warning silenced)
...     y = x.log()
Traceback (most recent call last):
    ...
FloatingPointError: detect_anomaly: Log forward produced output 0 of shape (3,) with 0 NaN and 1 inf of 3 values; its inputs were finite
"""
import numpy as np

from .function import Function

_PLAIN_APPLY = Function.__dict__["apply"]   # the classmethod the engine normally runs
_depth = [0]                                # nesting level of detect_anomaly blocks


def _non_finite(array) -> bool:
    return array.dtype.kind == "f" and not np.isfinite(array).all()


def _counts(array) -> str:
    n_nan = int(np.isnan(array).sum())
    n_inf = int(np.isinf(array).sum())
    return f"{n_nan} NaN and {n_inf} inf of {array.size} values"


def _origin(arrays, what: str) -> str:
    """Say whether the arrays that flowed into an op were finite (then the op itself made the NaN/inf)."""
    bad = [i for i, a in enumerate(arrays) if a is not None and _non_finite(np.asarray(a))]
    if not bad:
        return f"its {what} were finite"
    return f"{what} {bad} already held NaN or inf, so the trouble started before this op"


def _checked_backward(node):
    """A backward for ``node`` that raises on the first non-finite gradient it returns."""
    plain = type(node).backward
    name = type(node).__name__

    def backward(*grad_outputs):
        grads = plain(node, *grad_outputs)
        needs = node.needs_input_grad
        for index, g in enumerate(grads if type(grads) is tuple else (grads,)):
            if g is None or index >= len(needs) or not needs[index]:
                continue
            g = np.asarray(g)
            if _non_finite(g):
                raise FloatingPointError(
                    f"detect_anomaly: {name} backward produced the gradient for input {index} of shape "
                    f"{g.shape} with {_counts(g)}; {_origin(grad_outputs, 'incoming gradients')}")
        return grads

    return backward


def _checking_apply(cls, *inputs, **kwargs):
    """``Function.apply`` followed by the forward check, and a checked backward on the new node."""
    result = _PLAIN_APPLY.__func__(cls, *inputs, **kwargs)
    outputs = result if type(result) is tuple else (result,)
    for index, out in enumerate(outputs):
        if _non_finite(out.data):
            raise FloatingPointError(
                f"detect_anomaly: {cls.__name__} forward produced output {index} of shape {out.data.shape} "
                f"with {_counts(out.data)}; {_origin([t.data for t in inputs], 'inputs')}")
    node = outputs[0]._node if outputs else None
    if node is not None:
        node.backward = _checked_backward(node)   # an instance attribute: the engine calls it first
    return result


class detect_anomaly:
    """Context manager (and decorator) that checks every op's outputs and gradients for NaN/inf.

    ``FloatingPointError`` is raised at the first non-finite value, naming the Function class and
    whether it arose in forward or in backward (and for which input). Blocks may nest.

    >>> import tinygrad_rnn as tg
    >>> with tg.detect_anomaly():
    ...     tg.is_anomaly_enabled()
    True
    >>> tg.is_anomaly_enabled()
    False
    """

    def __enter__(self):
        if _depth[0] == 0:
            Function.apply = classmethod(_checking_apply)
        _depth[0] += 1
        return self

    def __exit__(self, *exc_info):
        _depth[0] -= 1
        if _depth[0] == 0:
            Function.apply = _PLAIN_APPLY
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly():
                return fn(*args, **kwargs)
        return wrapper


def is_anomaly_enabled() -> bool:
    """True inside a ``detect_anomaly()`` block."""
    return _depth[0] > 0
