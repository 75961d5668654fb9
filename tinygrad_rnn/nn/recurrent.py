"""Multilayer, bidirectional recurrent stacks with PyTorch's interface: RNN, LSTM, GRU."""
import math
import warnings

import numpy as np

from ..autograd import Tensor, cat, is_grad_enabled, stack
from ..autograd.ops.movement import Unbind
from . import functional as F
from . import init
from .layers import check_size, module_dtype
from .module import Module, Parameter
from .naming import recurrent_param_names
from .recurrent_step import CellKind, run_time_loop


def make_recurrent_weights(module, names, kind, input_size, hidden_size, recurrent_init):
    """Create and register one layer-direction's parameters, all ~ U(-1/sqrt(H), 1/sqrt(H)) as PyTorch.

    ``recurrent_init='identity'`` sets W_hh = I and zero biases (IRNN, Le et al. 2015);
    ``'orthogonal'`` draws W_hh orthogonal per gate block.
    """
    rows, bound = kind.gate_count * hidden_size, 1.0 / math.sqrt(hidden_size)
    shapes = [(rows, input_size), (rows, hidden_size), (rows,), (rows,)]
    for name, shape in zip(names, shapes):
        param = init.uniform_(Parameter(np.empty(shape, module.dtype)), -bound, bound)
        setattr(module, name, param)
    w_hh = getattr(module, names[1])
    if recurrent_init == "identity":
        for block in range(kind.gate_count):
            w_hh.data[block * hidden_size:(block + 1) * hidden_size] = np.eye(hidden_size)
        for name in names[2:]:
            init.zeros_(getattr(module, name))
    elif recurrent_init == "orthogonal":
        for block in range(kind.gate_count):
            piece = Parameter(np.empty((hidden_size, hidden_size), module.dtype))
            w_hh.data[block * hidden_size:(block + 1) * hidden_size] = init.orthogonal_(piece).data
    elif recurrent_init != "uniform":
        raise ValueError(f"{type(module).__name__}: recurrent_init must be 'uniform', 'identity' or "
                         f"'orthogonal', got {recurrent_init!r}")


def check_stack_args(name, input_size, hidden_size, num_layers, dropout):
    """Constructor checks shared by every recurrent stack: TypeError for a wrong type, then ValueError."""
    for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        check_size(name, arg, value)
    if not isinstance(dropout, (int, float, np.floating)) or isinstance(dropout, bool):
        raise TypeError(f"{name}: dropout must be a number, got {type(dropout).__name__}")
    if not 0.0 <= dropout <= 1.0:
        raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout!r}")
    if dropout > 0 and num_layers == 1:
        warnings.warn(f"{name}: dropout={dropout} acts between layers, so with num_layers=1 it does nothing",
                      stacklevel=4)  # the caller of LSTM(...) etc.


def _per_layer_direction(state):
    """A state (L*D, B, H) as its L*D slices (B, H); a graph node only if a gradient must flow back into it."""
    if state.requires_grad and is_grad_enabled():
        return Unbind.apply(state)
    data = state.data
    return tuple([Tensor._make(data[index], False, None, 0) for index in range(data.shape[0])])


def _stack_layer_directions(states):
    """The per-layer-direction final states as one (L*D, B, H).

    A sequence node hands its final state over as (1, B, H), so a single one is h_n as it is and several are
    concatenated; the one-node-per-step paths end with states (B, H), which are stacked. (All layer-directions
    of one stack take the same path.)"""
    if states[0].ndim == 2:
        return stack(states)
    return states[0] if len(states) == 1 else cat(states, axis=0)


class RNNBase(Module):
    """A stack of ``num_layers`` recurrent layers, each run forward (and backward in time if
    ``bidirectional``), over inputs (T, B, I), (B, T, I) with ``batch_first``, or unbatched (T, I).

    ``forward(input, hx=None, lengths=None)`` returns ``(output, h_n)``, or for the LSTM
    ``(output, (h_n, c_n))``: output (T, B, D*H) with the directions concatenated [forward | reverse]
    on the last axis, h_n (num_layers*D, B, H) indexed ``layer * D + direction``.
    ``lengths`` (B,) gives each sequence's real length in a padded batch: a sequence then gets the
    outputs, final state and gradients it would get alone, with zeros at its padded steps.
    ``fused`` picks how the steps become graph nodes; every choice computes the same numbers:
      * ``"step"``: one node per time step (numba gate kernels, BLAS products), so the engine walks the
        unrolled graph;
      * ``"sequence"``: one node per layer and direction, whose forward and backward each run the whole
        time loop: compiled, recurrent products included, for small steps (batch * gates*H * H up to
        ``fused_sequences.compiled_loop_max_work()``, e.g. min-char-rnn's batch 1, hidden 100), else in
        Python around one BLAS call per step. Not with ``lengths`` or for the reset-before GRU, which
        run one node per step;
      * ``True`` (default): ``"sequence"`` up to ``recurrent_step.SEQUENCE_NODE_MAX_WORK`` multiply-adds
        per step's recurrent product (e.g. batch 32, LSTM 128), ``"step"`` above, where the arithmetic
        dwarfs a node's overhead;
      * ``False``: the composed path, each step built from primitive ops (the readable reference).
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None, reset_after=True, fused=True,
                 recurrent_init="uniform"):
        super().__init__()
        self.configure(CellKind(mode, reset_after), input_size, hidden_size, num_layers, bias, batch_first,
                       dropout, bidirectional, dtype, reset_after, fused)
        for layer, direction, layer_input in self.layer_directions():
            names = recurrent_param_names(layer, direction == 1, bias)
            make_recurrent_weights(self, names, self.kind, layer_input, hidden_size, recurrent_init)
            self._weight_names.append(names)

    def configure(self, kind, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                  dtype, reset_after, fused):
        """Check and store a stack's configuration (every stack kind shares this; parameters are its own)."""
        name = type(self).__name__
        check_stack_args(name, input_size, hidden_size, num_layers, dropout)
        if not (isinstance(fused, bool) or fused in ("step", "sequence")):
            raise ValueError(f"{name}: expected fused to be True, False, 'step' or 'sequence', got {fused!r}")
        self.kind, self.mode = kind, kind.mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.reset_after, self.fused = bidirectional, reset_after, fused
        self.dtype = module_dtype(name, dtype)
        self.num_directions = 2 if bidirectional else 1
        self._weight_names = []

    def layer_directions(self):
        """(layer, direction, input width of that layer) for every layer-direction, in parameter order."""
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for direction in range(self.num_directions):
                yield layer, direction, layer_input

    def layer_weights(self, layer, direction):
        """(w_ih, w_hh, b_ih, b_hh) of one layer-direction (biases None when bias=False)."""
        names = self._weight_names[layer * self.num_directions + direction]
        weights = [getattr(self, name) for name in names]
        return tuple(weights) if len(weights) == 4 else (weights[0], weights[1], None, None)

    # ------------------------------------------------------------------ input checking
    def _check_input(self, x):
        """(x as (T, B, I), whether it came batched), or a clear error for a wrong type, dtype or shape."""
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: expected input to be a Tensor, got {type(x).__name__}")
        data = x.data
        if data.dtype != self.dtype:
            raise TypeError(f"{type(self).__name__}: expected input of dtype {self.dtype}, got {data.dtype} "
                            "(convert the input, or the module with .to(dtype))")
        shape = data.shape
        if len(shape) not in (2, 3) or shape[-1] != self.input_size:
            order = "(B, T, {0})" if self.batch_first else "(T, B, {0})"
            expected = f"{order.format(self.input_size)} or (T, {self.input_size})"
            raise ValueError(f"{type(self).__name__}: expected input of shape {expected}, got {shape}")
        batched = len(shape) == 3
        if not batched:
            x = x.reshape(shape[0], 1, self.input_size)
        elif self.batch_first:
            x = x.transpose(0, 1)
        shape = x.data.shape
        if shape[0] == 0:
            raise ValueError(f"{type(self).__name__}: expected a sequence of at least one step, got an empty one "
                             f"(shape {shape})")
        if shape[1] == 0:
            raise ValueError(f"{type(self).__name__}: expected a batch of at least one sequence, got shape {shape}")
        return x, batched

    def _initial_state(self, hx, batch, batched):
        """The initial state as a tuple of tensors (L*D, B, H): (h0,) or (h0, c0)."""
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        state_size = self.kind.state_size
        if hx is None:
            zeros = Tensor(np.zeros(shape, self.dtype))
            return (zeros,) * state_size
        if state_size == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{type(self).__name__}: expected hx to be a tuple (h0, c0), got {type(hx).__name__}")
        else:
            hx = (hx,)
        want = shape if batched else (shape[0], shape[2])
        states = []
        for label, h in zip(("h0", "c0"), hx):
            if not isinstance(h, Tensor):
                raise TypeError(f"{type(self).__name__}: expected {label} to be a Tensor, got {type(h).__name__}")
            data = h.data
            if data.dtype != self.dtype:
                raise TypeError(f"{type(self).__name__}: expected {label} of dtype {self.dtype}, got {data.dtype}")
            if data.shape != want:
                raise ValueError(f"{type(self).__name__}: expected {label} of shape {want}, got {data.shape}")
            states.append(h if batched else h.reshape(shape))
        return tuple(states)

    def _masks(self, lengths, steps, batch):
        """Boolean masks (T, B, 1): True while a sequence is running; None without lengths."""
        if lengths is None:
            return None
        name = type(self).__name__
        lengths = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
        if lengths.dtype.kind not in "iu" or lengths.shape != (batch,):
            raise ValueError(f"{name}: expected lengths to be {batch} integers (one per sequence), "
                             f"got shape {lengths.shape} dtype {lengths.dtype}")
        if lengths.min() < 1 or lengths.max() > steps:
            raise ValueError(f"{name}: expected every length in [1, {steps}] (T = {steps}), "
                             f"got min {lengths.min()} max {lengths.max()}")
        return np.arange(steps)[:, None, None] < lengths[None, :, None]

    # ------------------------------------------------------------------ forward
    def forward(self, input, hx=None, lengths=None):
        x, batched = self._check_input(input)
        steps, batch = x.data.shape[0], x.data.shape[1]
        initial = [_per_layer_direction(s) for s in self._initial_state(hx, batch, batched)]
        masks = None if lengths is None else self._masks(lengths, steps, batch)
        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            directions = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                state = tuple([s[index] for s in initial])
                outputs, final = run_time_loop(self.kind, layer_input, state, self.layer_weights(layer, direction),
                                               fused=self.fused, reverse=direction == 1, masks=masks)
                directions.append(outputs)
                finals.append(final)
            layer_input = directions[0] if len(directions) == 1 else cat(directions, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input
        if masks is not None:
            output = output * Tensor(masks.astype(self.dtype))
        final_states = tuple([_stack_layer_directions([f[k] for f in finals]) for k in range(self.kind.state_size)])
        if not batched:
            output = output.reshape(steps, output.shape[2])
            final_states = tuple([s.reshape(s.shape[0], s.shape[2]) for s in final_states])
        elif self.batch_first:
            output = output.transpose(0, 1)
        if self.kind.state_size == 2:
            return output, final_states
        return output, final_states[0]

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for flag, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, flag) != default:
                text += f", {flag}={getattr(self, flag)}"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), layer by layer.

    ``RNN(I, H, nonlinearity='relu', recurrent_init='identity')`` is the IRNN.

    >>> import numpy as np, tinygrad_rnn as tg
    >>> rnn = tg.nn.RNN(4, 8, num_layers=2)
    >>> output, h_n = rnn(tg.Tensor(np.zeros((5, 3, 4), np.float32)))
    >>> output.shape, h_n.shape
    ((5, 3, 8), (2, 3, 8))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None, fused=True, recurrent_init="uniform"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, dtype, fused=fused,
                         recurrent_init=recurrent_init)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter and Schmidhuber, 1997), gates i, f, g, o as PyTorch:

    i, f, o = sig(.), g = tanh(.) of x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh (split in that order);
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t).  Returns (output, (h_n, c_n)).

    >>> import numpy as np, tinygrad_rnn as tg
    >>> lstm = tg.nn.LSTM(4, 8, bidirectional=True)
    >>> output, (h_n, c_n) = lstm(tg.Tensor(np.zeros((5, 3, 4), np.float32)))
    >>> output.shape, h_n.shape, c_n.shape
    ((5, 3, 16), (2, 3, 8), (2, 3, 8))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None, fused=True, recurrent_init="uniform"):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype, fused=fused, recurrent_init=recurrent_init)


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n, in PyTorch's form by default:

    r = sig(W_ir x + b_ir + W_hr h + b_hr);  z = sig(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) * n + z * h.
    ``reset_after=False`` gives Cho et al.'s (2014) form, n = tanh(W_in x + b_in + W_hn (r * h) + b_hn).

    >>> import numpy as np, tinygrad_rnn as tg
    >>> output, h_n = tg.nn.GRU(4, 8, batch_first=True)(tg.Tensor(np.zeros((3, 5, 4), np.float32)))
    >>> output.shape, h_n.shape
    ((3, 5, 8), (1, 3, 8))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None, reset_after=True, fused=True, recurrent_init="uniform"):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype, reset_after=reset_after, fused=fused, recurrent_init=recurrent_init)
