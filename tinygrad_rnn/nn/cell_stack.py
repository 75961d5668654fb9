"""Stacks and single-step cells for cell kinds that declare their own parameters (MUT1-3, the
layer-normalised LSTM), on the same time loop, interface and checks as RNN/LSTM/GRU.

A kind is an object with ``mode`` (its name), ``state_size`` (1 for (h,), 2 for (h, c)),
``param_specs(input_size, hidden_size, bias)`` -> [(base name, shape, init)] with init one of
'uniform' (U(-1/sqrt(H), 1/sqrt(H)), PyTorch's rule), 'ones' or 'zeros', and
``composed_step(x, state, weights, mask=None)`` -> new state tuple, where ``weights`` maps each base
name to its Parameter. In a stack, parameter names get PyTorch's suffix: ``weight_ih`` of layer 1's
reverse direction is ``weight_ih_l1_reverse``. These kinds run on the composed path only.
"""
import math

import numpy as np

from . import init
from .cells import _CellBase
from .layers import check_size, module_dtype
from .module import Module, Parameter
from .recurrent import RNNBase


def _make_params(module, kind, input_size, hidden_size, bias, suffix=""):
    """Create and register one layer-direction's parameters; return their {base name: full name}."""
    bound = 1.0 / math.sqrt(hidden_size)
    names = {}
    for base, shape, rule in kind.param_specs(input_size, hidden_size, bias):
        param = Parameter(np.empty(shape, module.dtype))
        if rule == "uniform":
            init.uniform_(param, -bound, bound)
        else:
            init.constant_(param, 1.0 if rule == "ones" else 0.0)
        setattr(module, base + suffix, param)
        names[base] = base + suffix
    return names


class CellStack(RNNBase):
    """A multilayer, optionally bidirectional stack of a ``kind``'s cells, with ``RNNBase.forward``
    (inputs (T, B, I), (B, T, I) with ``batch_first`` or (T, I); ``hx``; ``lengths``)."""

    def __init__(self, kind, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None):
        Module.__init__(self)
        self.configure(kind, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                       dtype, reset_after=True, fused=False)
        for layer, direction, layer_input in self.layer_directions():
            suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
            self._weight_names.append(_make_params(self, kind, layer_input, hidden_size, bias, suffix))

    def layer_weights(self, layer, direction):
        """{base name: Parameter} of one layer-direction."""
        names = self._weight_names[layer * self.num_directions + direction]
        return {base: getattr(self, full) for base, full in names.items()}


class CellStep(_CellBase):
    """One time step of a ``kind``'s cell: ``cell(input, hx=None)`` with input (B, I) or (I,)."""

    def __init__(self, kind, input_size, hidden_size, bias=True, dtype=None):
        Module.__init__(self)
        name = type(self).__name__
        check_size(name, "input_size", input_size)
        check_size(name, "hidden_size", hidden_size)
        self.kind = kind
        self.input_size, self.hidden_size, self.bias, self.fused = input_size, hidden_size, bias, False
        self.dtype = module_dtype(name, dtype)
        self._names = _make_params(self, kind, input_size, hidden_size, bias)

    def weights(self):
        return {base: getattr(self, base) for base in self._names}
