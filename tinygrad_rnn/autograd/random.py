"""The one random number generator behind initialisation, dropout and sampling.

``manual_seed(n)`` makes every random draw of the library repeatable.
"""
import numpy as np

_generator = [np.random.default_rng()]


def manual_seed(seed):
    """Reseed the library's generator (initialisation, dropout, sampling) for repeatable runs.

    >>> import tinygrad_rnn as tg
    >>> _ = tg.manual_seed(0); a = tg.random.generator().random()
    >>> _ = tg.manual_seed(0); b = tg.random.generator().random()
    >>> a == b
    True
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: expected a non-negative integer, got {seed!r}")
    _generator[0] = np.random.default_rng(int(seed))
    return _generator[0]


def generator():
    """The library's current ``np.random.Generator``."""
    return _generator[0]


def get_rng_state():
    """The generator's state as plain JSON-safe data (for checkpoints)."""
    return _generator[0].bit_generator.state


def set_rng_state(state):
    """Restore a state returned by ``get_rng_state``."""
    bit_generator = np.random.PCG64()
    bit_generator.state = state
    _generator[0] = np.random.Generator(bit_generator)
