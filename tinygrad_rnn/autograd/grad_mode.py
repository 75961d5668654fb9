"""Global switch for graph recording: ``no_grad()`` and ``enable_grad()``.

Inside ``no_grad()`` every op computes its result and records nothing, so no memory is
kept for a backward pass (evaluation, sampling, optimizer updates).
"""
import functools


class GradMode:
    """Holds the one flag every op reads before recording a graph node."""
    enabled = True


def is_grad_enabled():
    """True when ops record the graph for ``backward()``."""
    return GradMode.enabled


class _GradModeContext:
    """Context manager and decorator that sets ``GradMode.enabled`` and restores it on exit."""

    def __init__(self, enabled):
        self._enabled = enabled
        self._previous = []

    def __enter__(self):
        self._previous.append(GradMode.enabled)
        GradMode.enabled = self._enabled
        return self

    def __exit__(self, *exc_info):
        GradMode.enabled = self._previous.pop()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradModeContext(self._enabled):
                return fn(*args, **kwargs)
        return wrapper


def no_grad():
    """Stop recording the graph inside a ``with`` block (or a decorated function).

    >>> import tinygrad_rnn as tg
    >>> w = tg.Tensor([1.0, 2.0], requires_grad=True)
    >>> with tg.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    return _GradModeContext(False)


def enable_grad():
    """Record the graph again inside a ``no_grad()`` block."""
    return _GradModeContext(True)
