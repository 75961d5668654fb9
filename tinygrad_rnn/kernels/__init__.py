"""Numba kernels: the fused elementwise math under the autograd Functions.

Kernels are plain functions on NumPy arrays; they never see a Tensor and import nothing from the
rest of the package. They write into preallocated outputs (``*_fwd`` / ``*_bwd``), keep float32 as
float32, and are compiled with the one policy in :mod:`tinygrad_rnn.kernels.policy`.

=====================  =================================================================
module                 kernels
=====================  =================================================================
``scalar_math``        sigmoid, tanh of one scalar, from an exp that vectorises
``activations``        tanh, sigmoid, relu, leaky_relu, elu (``*_fwd``, ``*_bwd``)
``cells``              rnn_tanh, rnn_relu, lstm, gru, gru_rb_gates, gru_rb_out; the first four also
                       ``*_unchecked``, for time loops that check every shape first
``sequences``          rnn_sequence, lstm_sequence, gru_sequence: all steps of a layer in one call
``cross_entropy``      cross_entropy (``*_fwd``, ``*_bwd``)
``optim_updates``      adagrad_update, clip_values: an optimizer step, a gradient clip, in one pass
=====================  =================================================================

``machine`` holds no kernels: it reads how wide the kernels' vectors are and those of NumPy's BLAS.

Importing this package is free: numba (about half a second to import) is loaded only when a
kernel is first looked up. Write ``from tinygrad_rnn import kernels`` at the top of a module and
``kernels.lstm_fwd(...)`` where it runs; the first such attribute access imports the submodule
that defines it. ``from tinygrad_rnn.kernels.cells import lstm_fwd`` works too, and pays for
numba at that import.

>>> from tinygrad_rnn import kernels
>>> kernels.lstm_fwd.__module__
'tinygrad_rnn.kernels.cells'
"""

import importlib

# Which submodule defines each kernel; read by __getattr__ below on first access.
_HOME = {
    "sigmoid": "scalar_math", "tanh": "scalar_math",
    "tanh_fwd": "activations", "tanh_bwd": "activations",
    "sigmoid_fwd": "activations", "sigmoid_bwd": "activations",
    "relu_fwd": "activations", "relu_bwd": "activations",
    "leaky_relu_fwd": "activations", "leaky_relu_bwd": "activations",
    "elu_fwd": "activations", "elu_bwd": "activations",
    "rnn_tanh_fwd": "cells", "rnn_tanh_bwd": "cells",
    "rnn_relu_fwd": "cells", "rnn_relu_bwd": "cells",
    "lstm_fwd": "cells", "lstm_bwd": "cells",
    "gru_fwd": "cells", "gru_bwd": "cells",
    "rnn_tanh_fwd_unchecked": "cells", "rnn_tanh_bwd_unchecked": "cells",
    "rnn_relu_fwd_unchecked": "cells", "rnn_relu_bwd_unchecked": "cells",
    "lstm_fwd_unchecked": "cells", "lstm_bwd_unchecked": "cells",
    "gru_fwd_unchecked": "cells", "gru_bwd_unchecked": "cells",
    "gru_rb_gates_fwd": "cells", "gru_rb_out_fwd": "cells",
    "gru_rb_out_bwd": "cells", "gru_rb_gates_bwd": "cells",
    "add_product": "sequences",
    "rnn_sequence_fwd": "sequences", "rnn_sequence_bwd": "sequences",
    "lstm_sequence_fwd": "sequences", "lstm_sequence_bwd": "sequences",
    "gru_sequence_fwd": "sequences", "gru_sequence_bwd": "sequences",
    "adagrad_update": "optim_updates", "clip_values": "optim_updates",
    "cross_entropy_fwd": "cross_entropy", "cross_entropy_bwd": "cross_entropy",
}

__all__ = sorted(_HOME)


def __getattr__(name):
    """Import the submodule that defines kernel ``name`` and return the kernel (PEP 562)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'tinygrad_rnn.kernels' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tinygrad_rnn.kernels.{home}"), name)
    globals()[name] = value  # later lookups are ordinary attribute reads
    return value


def jit_enabled():
    """Whether kernels run compiled (False under ``NUMBA_DISABLE_JIT=1``, where they run as Python)."""
    import numba
    return not numba.config.DISABLE_JIT


def __dir__():
    return sorted(set(globals()) | set(_HOME))
