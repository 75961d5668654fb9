"""Highway layers (Srivastava, Greff and Schmidhuber, 2015): a learned gate mixes a transform of x with x.

    g = sig(W_T x + b_T)                      the transform gate, b_T = gate_bias (-2: carry x at first)
    y = g * H(x) + (1 - g) * x

``Highway`` is the feed-forward layer with H(x) = act(W_H x + b_H). ``HighwayStack`` puts the same gate
around each recurrent layer of a stack: H is the layer itself, so a layer's output is
g_t * RNN(x)_t + (1 - g_t) * x_t and the input can skip any layer the gate closes.
"""
import numpy as np

from ..autograd import Tensor, cat
from . import init
from .layers import Linear, check_input, check_size, module_dtype
from .module import Module

_ACTIVATIONS = {"tanh": lambda x: x.tanh(), "relu": lambda x: x.relu(), "sigmoid": lambda x: x.sigmoid(),
                "identity": lambda x: x}


def highway_mix(gate, transformed, carried):
    """g * H(x) + (1 - g) * x, written as x + g * (H(x) - x) (one product fewer)."""
    return carried + gate * (transformed - carried)


class Highway(Module):
    """y = g * act(W_H x + b_H) + (1 - g) * x with g = sig(W_T x + b_T); x, y (..., size).

    ``activation``: 'tanh' (default), 'relu', 'sigmoid', 'identity', or any callable on Tensors.
    Parameters ``transform.weight/bias`` (W_H, b_H; Linear's init) and ``gate.weight/bias``
    (W_T, Linear's init; b_T = ``gate_bias``, negative so the layer starts close to the identity).

    >>> import numpy as np, tinygrad_rnn as tg
    >>> layer = tg.nn.Highway(4)
    >>> layer(tg.Tensor(np.ones((2, 3, 4), np.float32))).shape, layer.gate.bias.numpy().tolist()
    ((2, 3, 4), [-2.0, -2.0, -2.0, -2.0])
    """

    def __init__(self, size, activation="tanh", gate_bias=-2.0, dtype=None):
        super().__init__()
        check_size("Highway", "size", size)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"Highway: activation must be one of {sorted(_ACTIVATIONS)} or a callable, "
                                 f"got {activation!r}")
        elif not callable(activation):
            raise TypeError(f"Highway: activation must be a name or a callable, got {type(activation).__name__}")
        self.size, self.activation, self.dtype = size, activation, module_dtype("Highway", dtype)
        self.transform = Linear(size, size, dtype=self.dtype)
        self.gate = Linear(size, size, dtype=self.dtype)
        init.constant_(self.gate.bias, gate_bias)

    def forward(self, x):
        check_input(self, x, self.size)
        act = _ACTIVATIONS[self.activation] if isinstance(self.activation, str) else self.activation
        return highway_mix(self.gate(x).sigmoid(), act(self.transform(x)), x)

    def extra_repr(self):
        return f"{self.size}, activation={self.activation!r}"


class HighwayStack(Module):
    """A stack of ``num_layers`` one-layer recurrent modules of class ``cell`` (``tg.nn.LSTM``, ``GRU``,
    ``RNN``, ``MUT1``, ...) with a highway gate around each layer whose input has the output's width D*H:

        y_k = g_k * RNN_k(x_k) + (1 - g_k) * x_k,   g_k = sig(W_T x_k + b_T),   x_{k+1} = y_k

    per time step; a layer whose input width differs (the first, unless I = D*H) has no gate. Same call
    as the stacks: ``forward(input, hx=None, lengths=None)`` -> (output, h_n) or (output, (h_n, c_n)),
    h_n (num_layers*D, B, H). Layers are ``rnn_l{k}`` and gates ``gate_l{k}`` (a Linear; bias =
    ``gate_bias``). ``cell_kwargs`` go to every layer (e.g. ``reset_after=False``).

    >>> import numpy as np, tinygrad_rnn as tg
    >>> stack = tg.nn.HighwayStack(tg.nn.GRU, 4, 8, num_layers=3)
    >>> output, h_n = stack(tg.Tensor(np.zeros((5, 2, 4), np.float32)))
    >>> output.shape, h_n.shape, [name for name, _ in stack.named_modules() if 'gate' in name]
    ((5, 2, 8), (3, 2, 8), ['gate_l1', 'gate_l2'])
    """

    def __init__(self, cell, input_size, hidden_size, num_layers=2, bidirectional=False, batch_first=False,
                 gate_bias=-2.0, dtype=None, **cell_kwargs):
        super().__init__()
        if not (isinstance(cell, type) and issubclass(cell, Module)):
            raise TypeError(f"HighwayStack: cell must be a recurrent stack class such as tg.nn.LSTM, got {cell!r}")
        check_size("HighwayStack", "num_layers", num_layers)
        self.dtype = module_dtype("HighwayStack", dtype)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bidirectional, self.batch_first = bidirectional, batch_first
        self.num_directions = 2 if bidirectional else 1
        width = hidden_size * self.num_directions
        self.gated = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else width
            setattr(self, f"rnn_l{layer}", cell(layer_input, hidden_size, bidirectional=bidirectional,
                                                dtype=self.dtype, **cell_kwargs))
            if layer_input == width:
                gate = Linear(width, width, dtype=self.dtype)
                init.constant_(gate.bias, gate_bias)
                setattr(self, f"gate_l{layer}", gate)
            self.gated.append(layer_input == width)
        self.state_size = self.rnn_l0.kind.state_size

    def forward(self, input, hx=None, lengths=None):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected input to be a Tensor, got {type(input).__name__}")
        batched = input.ndim == 3
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: expected input of 3 dimensions, or 2 unbatched, got shape {input.shape}")
        x = input if batched else input.reshape(input.shape[0], 1, input.shape[1])
        if batched and self.batch_first:
            x = x.transpose(0, 1)                                       # (B, T, I) -> (T, B, I)
        states = self._split_state(hx, batched)
        finals = []
        for layer in range(self.num_layers):
            rnn = getattr(self, f"rnn_l{layer}")
            state = None if states is None else (states[layer] if self.state_size == 2 else states[layer][0])
            output, final = rnn(x, state, lengths=lengths)              # output (T, B, D*H)
            if self.gated[layer]:
                output = highway_mix(getattr(self, f"gate_l{layer}")(x).sigmoid(), output, x)
            finals.append(final if self.state_size == 2 else (final,))
            x = output
        if lengths is not None:                                         # zeros at padded steps, as the stacks
            mask = np.arange(x.shape[0])[:, None, None] < np.asarray(lengths)[None, :, None]
            x = x * Tensor(mask.astype(self.dtype))
        final = tuple(cat([f[k] for f in finals], axis=0) for k in range(self.state_size))
        if not batched:
            x = x.reshape(x.shape[0], x.shape[2])
            final = tuple(s.reshape(s.shape[0], s.shape[2]) for s in final)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, (final if self.state_size == 2 else final[0])

    def _split_state(self, hx, batched):
        """Per layer, a tuple of its (D, B, H) initial state tensors; None without hx."""
        if hx is None:
            return None
        parts = tuple(hx) if self.state_size == 2 else (hx,)
        count = self.num_layers * self.num_directions
        for part in parts:
            if not isinstance(part, Tensor) or part.shape[0] != count or part.ndim != (3 if batched else 2):
                shape = getattr(part, "shape", type(part).__name__)
                raise ValueError(f"HighwayStack: expected each initial state of shape ({count}, B, "
                                 f"{self.hidden_size}), got {shape}")
        if not batched:
            parts = tuple(p.reshape(p.shape[0], 1, p.shape[1]) for p in parts)
        d = self.num_directions
        return [tuple(p[k * d:(k + 1) * d] for p in parts) for k in range(self.num_layers)]

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
