"""The layer-normalised LSTM (Ba, Kiros and Hinton, 2016), as a cell and as a multilayer, bidirectional stack.

Layer normalisation is applied to the two gate pre-activations separately and to the cell state:

    [i, f, g, o] = LN(W_ih x; gamma_ih, beta_ih) + LN(W_hh h; gamma_hh, beta_hh) + b_ih + b_hh
    c' = sig(f) * c + sig(i) * tanh(g)
    h' = sig(o) * tanh(LN(c'; gamma_c, beta_c))

where LN normalises each row over its whole width (4H for the gates, H for c'). Parameters, with
PyTorch's suffixes in a stack (``_l{k}``, ``_reverse``): weight_ih (4H, I), weight_hh (4H, H),
bias_ih and bias_hh (4H,) (gates stacked i, f, g, o as ``tg.nn.LSTM``, so ``init.lstm_forget_bias_``
works), ln_ih_weight / ln_ih_bias and ln_hh_weight / ln_hh_bias (4H,), ln_c_weight / ln_c_bias (H,);
LN gains start at 1 and LN shifts at 0. Composed path (Tensor ops) only.

>>> import numpy as np, tinygrad_rnn as tg
>>> lstm = tg.nn.LayerNormLSTM(4, 8, num_layers=2)
>>> output, (h_n, c_n) = lstm(tg.Tensor(np.zeros((5, 3, 4), np.float32)))
>>> output.shape, h_n.shape, c_n.shape
((5, 3, 8), (2, 3, 8), (2, 3, 8))
"""
from .cell_math import keep_finished
from .cell_stack import CellStack, CellStep
from .normalization import layer_norm


def _affine(x, weight, bias):
    y = x @ weight.T
    return y if bias is None else y + bias


def layer_norm_lstm_step(x, h, c, weights, eps=1e-5):
    """One step (see the module docstring); x (B, I), h and c (B, H) -> (h', c')."""
    def ln(y, name):
        return layer_norm(y, y.shape[-1:], weights[name + "_weight"], weights[name + "_bias"], eps)

    pre = ln(x @ weights["weight_ih"].T, "ln_ih") + ln(h @ weights["weight_hh"].T, "ln_hh")
    if "bias_ih" in weights:
        pre = pre + weights["bias_ih"] + weights["bias_hh"]
    i, f, g, o = pre.chunk(4, axis=1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h_new = o.sigmoid() * ln(c_new, "ln_c").tanh()
    return h_new, c_new


class LayerNormLSTMKind:
    """The equations and parameter layout of the layer-normalised LSTM."""

    mode, state_size = "LayerNormLSTM", 2

    def __init__(self, eps=1e-5):
        if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not eps > 0:
            raise ValueError(f"LayerNormLSTM: eps must be a positive number, got {eps!r}")
        self.eps = float(eps)

    def param_specs(self, input_size, hidden_size, bias):
        rows = 4 * hidden_size
        specs = [("weight_ih", (rows, input_size), "uniform"), ("weight_hh", (rows, hidden_size), "uniform")]
        if bias:
            specs += [("bias_ih", (rows,), "uniform"), ("bias_hh", (rows,), "uniform")]
        for name, width in (("ln_ih", rows), ("ln_hh", rows), ("ln_c", hidden_size)):
            specs += [(name + "_weight", (width,), "ones"), (name + "_bias", (width,), "zeros")]
        return specs

    def composed_step(self, x, state, weights, mask=None):
        h, c = state
        h_new, c_new = layer_norm_lstm_step(x, h, c, weights, self.eps)
        return keep_finished(mask, h_new, h), keep_finished(mask, c_new, c)


class LayerNormLSTM(CellStack):
    """A stack of layer-normalised LSTM cells (module docstring); returns (output, (h_n, c_n)) as ``tg.nn.LSTM``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, eps=1e-5, dtype=None):
        super().__init__(LayerNormLSTMKind(eps), input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)


class LayerNormLSTMCell(CellStep):
    """One layer-normalised LSTM step: ``cell(x (B, I), (h, c) = zeros) -> (h', c')``."""

    def __init__(self, input_size, hidden_size, bias=True, eps=1e-5, dtype=None):
        super().__init__(LayerNormLSTMKind(eps), input_size, hidden_size, bias, dtype)
