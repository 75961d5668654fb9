"""MUT1, MUT2, MUT3: the three gated cells found by architecture search (Jozefowicz, Zaremba and
Sutskever, 2015), as cells and as multilayer, bidirectional stacks.

With z the update gate, r the reset gate, x the input and h the state (B, H):

    MUT1: z = sig(W_xz x + b_z)
          r = sig(W_xr x + W_hr h + b_r)
          h' = tanh(W_hh (r * h) + tanh(x) + b_h) * z + h * (1 - z)
    MUT2: z = sig(W_xz x + W_hz h + b_z)
          r = sig(x + W_hr h + b_r)
          h' = tanh(W_hh (r * h) + W_xh x + b_h) * z + h * (1 - z)
    MUT3: z = sig(W_xz x + W_hz tanh(h) + b_z)
          r = sig(W_xr x + W_hr h + b_r)
          h' = tanh(W_hh (r * h) + W_xh x + b_h) * z + h * (1 - z)

Parameters, PyTorch-style (gates stacked on dim 0 in the order listed; each bias has the rows of its
weight, so a gate's bias is b_ih + b_hh of its rows, as in PyTorch's cells):

    MUT1: weight_ih = [W_xz; W_xr] (2H, I)   weight_hh = [W_hr; W_hh] (2H, H)
    MUT2: weight_ih = [W_xz; W_xh] (2H, I)   weight_hh = [W_hz; W_hr; W_hh] (3H, H)
    MUT3: weight_ih = [W_xz; W_xr; W_xh] (3H, I)   weight_hh = [W_hz; W_hr; W_hh] (3H, H)

Widths: MUT1's tanh(x) and MUT2's x + ... add the input itself to H-wide vectors, so they need
I = H. When I != H, MUT1 and MUT2 learn a projection ``weight_proj`` (H, I), no bias, and use
x~ = W_proj x in those two places (the paper's formula exactly when I = H, where no projection is
made). A projection rather than an error, because in a bidirectional stack every layer after the
first reads 2H-wide inputs: an error would rule out the stacks these cells are meant for.

These cells run on the composed path (Tensor ops): there is no fused kernel for them.

>>> import numpy as np, tinygrad_rnn as tg
>>> mut = tg.nn.MUT1(8, 8, num_layers=2, bidirectional=True)
>>> output, h_n = mut(tg.Tensor(np.zeros((5, 3, 8), np.float32)))
>>> output.shape, h_n.shape
((5, 3, 16), (4, 3, 8))
>>> 'weight_proj_l0' in dict(mut.named_parameters()), 'weight_proj_l1' in dict(mut.named_parameters())
(False, True)
"""
from .cell_math import keep_finished
from .cell_stack import CellStack, CellStep

# (rows of weight_ih, rows of weight_hh) in units of H
_GATES = {1: (2, 2), 2: (2, 3), 3: (3, 3)}


def _affine(x, weight, bias):
    y = x @ weight.T
    return y if bias is None else y + bias


def _blocks(weights, name, count):
    """``weights[name]`` split into ``count`` equal row blocks (Nones when the parameter is absent)."""
    param = weights.get(name)
    return (None,) * count if param is None else param.chunk(count, axis=0)


def _input_as_hidden(x, weights):
    """x itself when I = H, else the learned projection x W_proj^T (B, H)."""
    proj = weights.get("weight_proj")
    return x if proj is None else x @ proj.T


def mut1_step(x, h, weights):
    """One MUT1 step (see the module docstring); x (B, I), h (B, H) -> h' (B, H)."""
    w_xz, w_xr = _blocks(weights, "weight_ih", 2)
    b_xz, b_xr = _blocks(weights, "bias_ih", 2)
    w_hr, w_hh = _blocks(weights, "weight_hh", 2)
    b_hr, b_hh = _blocks(weights, "bias_hh", 2)
    z = _affine(x, w_xz, b_xz).sigmoid()
    r = (_affine(x, w_xr, b_xr) + _affine(h, w_hr, b_hr)).sigmoid()
    candidate = (_affine(r * h, w_hh, b_hh) + _input_as_hidden(x, weights).tanh()).tanh()
    return candidate * z + h * (1 - z)


def mut2_step(x, h, weights):
    """One MUT2 step (see the module docstring); x (B, I), h (B, H) -> h' (B, H)."""
    w_xz, w_xh = _blocks(weights, "weight_ih", 2)
    b_xz, b_xh = _blocks(weights, "bias_ih", 2)
    w_hz, w_hr, w_hh = _blocks(weights, "weight_hh", 3)
    b_hz, b_hr, b_hh = _blocks(weights, "bias_hh", 3)
    z = (_affine(x, w_xz, b_xz) + _affine(h, w_hz, b_hz)).sigmoid()
    r = (_input_as_hidden(x, weights) + _affine(h, w_hr, b_hr)).sigmoid()
    candidate = (_affine(r * h, w_hh, b_hh) + _affine(x, w_xh, b_xh)).tanh()
    return candidate * z + h * (1 - z)


def mut3_step(x, h, weights):
    """One MUT3 step (see the module docstring); x (B, I), h (B, H) -> h' (B, H)."""
    w_xz, w_xr, w_xh = _blocks(weights, "weight_ih", 3)
    b_xz, b_xr, b_xh = _blocks(weights, "bias_ih", 3)
    w_hz, w_hr, w_hh = _blocks(weights, "weight_hh", 3)
    b_hz, b_hr, b_hh = _blocks(weights, "bias_hh", 3)
    z = (_affine(x, w_xz, b_xz) + _affine(h.tanh(), w_hz, b_hz)).sigmoid()
    r = (_affine(x, w_xr, b_xr) + _affine(h, w_hr, b_hr)).sigmoid()
    candidate = (_affine(r * h, w_hh, b_hh) + _affine(x, w_xh, b_xh)).tanh()
    return candidate * z + h * (1 - z)


class MUTKind:
    """The equations and parameter layout of MUT1, MUT2 or MUT3 (``variant`` 1, 2 or 3)."""

    state_size = 1
    _STEPS = {1: mut1_step, 2: mut2_step, 3: mut3_step}

    def __init__(self, variant):
        if variant not in _GATES:
            raise ValueError(f"MUT: variant must be 1, 2 or 3, got {variant!r}")
        self.variant, self.mode = variant, f"MUT{variant}"

    def param_specs(self, input_size, hidden_size, bias):
        ih, hh = _GATES[self.variant]
        specs = [("weight_ih", (ih * hidden_size, input_size), "uniform"),
                 ("weight_hh", (hh * hidden_size, hidden_size), "uniform")]
        if bias:
            specs += [("bias_ih", (ih * hidden_size,), "uniform"), ("bias_hh", (hh * hidden_size,), "uniform")]
        if self.variant in (1, 2) and input_size != hidden_size:
            specs.append(("weight_proj", (hidden_size, input_size), "uniform"))
        return specs

    def composed_step(self, x, state, weights, mask=None):
        h = state[0]
        return (keep_finished(mask, self._STEPS[self.variant](x, h, weights), h),)


class MUT1(CellStack):
    """A stack of MUT1 cells (equations and layout in the module docstring); returns (output, h_n)
    as ``tg.nn.GRU``: output (T, B, D*H), h_n (num_layers*D, B, H)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None):
        super().__init__(MUTKind(1), input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)


class MUT2(CellStack):
    """A stack of MUT2 cells (equations and layout in the module docstring); returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None):
        super().__init__(MUTKind(2), input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)


class MUT3(CellStack):
    """A stack of MUT3 cells (equations and layout in the module docstring); returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None):
        super().__init__(MUTKind(3), input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)


class MUT1Cell(CellStep):
    """One MUT1 step: ``cell(x (B, I), h (B, H) = zeros) -> h' (B, H)``.

    >>> import numpy as np, tinygrad_rnn as tg
    >>> tg.nn.MUT1Cell(4, 4)(tg.Tensor(np.ones((2, 4), np.float32))).shape
    (2, 4)
    """

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__(MUTKind(1), input_size, hidden_size, bias, dtype)


class MUT2Cell(CellStep):
    """One MUT2 step: ``cell(x (B, I), h (B, H) = zeros) -> h' (B, H)``."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__(MUTKind(2), input_size, hidden_size, bias, dtype)


class MUT3Cell(CellStep):
    """One MUT3 step: ``cell(x (B, I), h (B, H) = zeros) -> h' (B, H)``."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__(MUTKind(3), input_size, hidden_size, bias, dtype)
