"""Single-step recurrent cells with PyTorch's interface: RNNCell, LSTMCell, GRUCell."""
import numpy as np

from ..autograd import Tensor
from .layers import check_input, check_size, module_dtype
from .module import Module
from .recurrent import make_recurrent_weights
from .recurrent_step import CellKind


class _CellBase(Module):
    """One time step: ``cell(input, hx=None)`` with input (B, I) or (I,), state (B, H) or (H,)."""

    def __init__(self, mode, input_size, hidden_size, bias, dtype, reset_after=True, fused=True,
                 recurrent_init="uniform"):
        super().__init__()
        name = type(self).__name__
        check_size(name, "input_size", input_size)
        check_size(name, "hidden_size", hidden_size)
        self.kind = CellKind(mode, reset_after)
        self.input_size, self.hidden_size, self.bias, self.fused = input_size, hidden_size, bias, fused
        self.dtype = module_dtype(name, dtype)
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
        make_recurrent_weights(self, names, self.kind, input_size, hidden_size, recurrent_init)

    def weights(self):
        return (self.weight_ih, self.weight_hh,
                self.bias_ih if self.bias else None, self.bias_hh if self.bias else None)

    def _state(self, hx, batch, batched):
        name = type(self).__name__
        shape = (batch, self.hidden_size) if batched else (self.hidden_size,)
        if hx is None:
            return (Tensor(np.zeros((batch, self.hidden_size), self.dtype)),) * self.kind.state_size
        parts = hx if self.kind.state_size == 2 else (hx,)
        if self.kind.state_size == 2 and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{name}: expected hx to be a tuple (h, c), got {type(hx).__name__}")
        states = []
        for label, h in zip(("h", "c"), parts):
            if not isinstance(h, Tensor):
                raise TypeError(f"{name}: expected {label} to be a Tensor, got {type(h).__name__}")
            if h.dtype != self.dtype:
                raise TypeError(f"{name}: expected {label} of dtype {self.dtype}, got {h.dtype}")
            if h.shape != shape:
                raise ValueError(f"{name}: expected {label} of shape {shape}, got {h.shape}")
            states.append(h if batched else h.reshape(1, self.hidden_size))
        return tuple(states)

    def forward(self, input, hx=None):
        check_input(self, input, self.input_size)
        if input.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: expected input of shape (B, {self.input_size}) or "
                             f"({self.input_size},), got {input.shape}")
        batched = input.ndim == 2
        x = input if batched else input.reshape(1, self.input_size)
        state = self._state(hx, x.shape[0], batched)
        weights = self.weights()
        if self.fused:
            new_state = self.kind.fused_step(self.kind.project_inputs(x, weights), state, weights)
        else:
            new_state = self.kind.composed_step(x, state, weights)
        if not batched:
            new_state = tuple(s.reshape(self.hidden_size) for s in new_state)
        return new_state if self.kind.state_size == 2 else new_state[0]

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None, fused=True,
                 recurrent_init="uniform"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias,
                         dtype, fused=fused, recurrent_init=recurrent_init)
        self.nonlinearity = nonlinearity


class LSTMCell(_CellBase):
    """One LSTM step (gates i, f, g, o); returns (h', c').

    >>> import numpy as np, tinygrad_rnn as tg
    >>> h, c = tg.nn.LSTMCell(3, 5)(tg.Tensor(np.zeros((2, 3), np.float32)))
    >>> h.shape, c.shape
    ((2, 5), (2, 5))
    """

    def __init__(self, input_size, hidden_size, bias=True, dtype=None, fused=True):
        super().__init__("LSTM", input_size, hidden_size, bias, dtype, fused=fused)


class GRUCell(_CellBase):
    """One GRU step (gates r, z, n), PyTorch's form unless ``reset_after=False`` (Cho et al.)."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None, reset_after=True, fused=True):
        super().__init__("GRU", input_size, hidden_size, bias, dtype, reset_after=reset_after, fused=fused)
