"""The recurrent cells' equations, one step each, written with Tensor ops (the composed path).

These read like the lecture notes and are the reference the fused path is tested against.
x: (B, I), h and c: (B, H); weights in PyTorch's layout with gates stacked on dim 0.
"""
from ..autograd import where


def _affine(x, weight, bias):
    y = x @ weight.T
    return y if bias is None else y + bias


def rnn_step(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh)  (or relu)."""
    pre = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def lstm_step(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """i, f, g, o = sig, sig, tanh, sig of (W_ih x + b_ih + W_hh h + b_hh), split in that order;
    c' = f * c + i * g;  h' = o * tanh(c')."""
    i, f, g, o = (_affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)).chunk(4, axis=1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h_new = o.sigmoid() * c_new.tanh()
    return h_new, c_new


def gru_step(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """PyTorch's GRU: r = sig(W_ir x + b_ir + W_hr h + b_hr); z likewise;
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) * n + z * h."""
    x_r, x_z, x_n = _affine(x, w_ih, b_ih).chunk(3, axis=1)
    h_r, h_z, h_n = _affine(h, w_hh, b_hh).chunk(3, axis=1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * h


def gru_reset_before_step(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """Cho et al.'s GRU: r and z as above; n = tanh(W_in x + b_in + W_hn (r * h) + b_hn);
    h' = (1 - z) * n + z * h."""
    x_r, x_z, x_n = _affine(x, w_ih, b_ih).chunk(3, axis=1)
    w_hr, w_hz, w_hn = w_hh.chunk(3, axis=0)
    b_hr, b_hz, b_hn = b_hh.chunk(3, axis=0) if b_hh is not None else (None, None, None)
    r = (x_r + _affine(h, w_hr, b_hr)).sigmoid()
    z = (x_z + _affine(h, w_hz, b_hz)).sigmoid()
    n = (x_n + _affine(r * h, w_hn, b_hn)).tanh()
    return (1 - z) * n + z * h


def keep_finished(mask, new, previous):
    """new where the row's sequence is still running (mask True), previous where it has ended."""
    return new if mask is None else where(mask, new, previous)
