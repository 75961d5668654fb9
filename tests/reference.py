"""Slow, obvious NumPy versions of every kernel in ``tinygrad_rnn.kernels``: the authority in tests.

Each function is written straight from the equation in the kernel's docstring, with whole-array
NumPy expressions and no fusion, and *returns* its results instead of filling outputs. Gates are
split with ``np.split`` in PyTorch's order (i, f, g, o for the LSTM; r, z, n for the GRU).
Backward functions are written from the chain rule over the forward's named intermediates.
"""

import numpy as np


def sigmoid(x):
    """1 / (1 + exp(-x)); exp(-x) may overflow to inf for x << 0, which gives the right limit 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


# --- activations -----------------------------------------------------------------------------

def tanh_fwd(x):
    return np.tanh(x)


def tanh_bwd(y, dy):
    return dy * (1.0 - y**2)


def sigmoid_fwd(x):
    return sigmoid(x)


def sigmoid_bwd(y, dy):
    return dy * y * (1.0 - y)


def relu_fwd(x):
    return np.maximum(x, 0.0)


def relu_bwd(x, dy):
    return np.where(x > 0, dy, 0.0)


def leaky_relu_fwd(x, negative_slope):
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_bwd(x, dy, negative_slope):
    return np.where(x > 0, dy, negative_slope * dy)


def elu_fwd(x, alpha):
    negative_part = alpha * (np.exp(np.minimum(x, 0.0)) - 1.0)
    return np.where(x > 0, x, negative_part)


def elu_bwd(x, dy, alpha):
    return np.where(x > 0, dy, dy * alpha * np.exp(np.minimum(x, 0.0)))


# --- plain RNN -------------------------------------------------------------------------------

def rnn_tanh_fwd(pre):
    return np.tanh(pre)


def rnn_tanh_bwd(h, dh):
    return dh * (1.0 - h**2)


def rnn_relu_fwd(pre):
    return np.maximum(pre, 0.0)


def rnn_relu_bwd(h, dh):
    return dh * (h > 0)


# --- LSTM ------------------------------------------------------------------------------------

def lstm_fwd(pre, c_prev):
    """Returns gates [i, f, g, o] (activated), c, h, tanh(c)."""
    pre_i, pre_f, pre_g, pre_o = np.split(pre, 4, axis=1)
    i, f, g, o = sigmoid(pre_i), sigmoid(pre_f), np.tanh(pre_g), sigmoid(pre_o)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return np.concatenate([i, f, g, o], axis=1), c, h, tanh_c


def lstm_bwd(gates, c_prev, tanh_c, dh, dc):
    """Returns dpre, dc_prev."""
    i, f, g, o = np.split(gates, 4, axis=1)
    # h = o * tanh(c)
    do = dh * tanh_c
    dc_total = dc + dh * o * (1.0 - tanh_c**2)
    # c = f * c_prev + i * g
    di = dc_total * g
    df = dc_total * c_prev
    dg = dc_total * i
    dc_prev = dc_total * f
    # through the activations
    dpre = np.concatenate([di * i * (1.0 - i), df * f * (1.0 - f), dg * (1.0 - g**2), do * o * (1.0 - o)], axis=1)
    return dpre, dc_prev


# --- GRU, PyTorch form -----------------------------------------------------------------------

def gru_fwd(xp, hp, h_prev):
    """Returns gates [r, z, n], h."""
    xr, xz, xn = np.split(xp, 3, axis=1)
    hr, hz, hn = np.split(hp, 3, axis=1)
    r = sigmoid(xr + hr)
    z = sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    h = (1.0 - z) * n + z * h_prev
    return np.concatenate([r, z, n], axis=1), h


def gru_bwd(gates, hp, h_prev, dh):
    """Returns dxp, dhp, dh_prev (the direct path dh * z only)."""
    r, z, n = np.split(gates, 3, axis=1)
    hn = np.split(hp, 3, axis=1)[2]
    # h = (1 - z) * n + z * h_prev
    dn = dh * (1.0 - z)
    dz = dh * (h_prev - n)
    dh_prev = dh * z
    # n = tanh(xn + r * hn)
    dn_pre = dn * (1.0 - n**2)
    dr = dn_pre * hn
    dhn = dn_pre * r
    # r, z = sigmoid(...)
    dr_pre = dr * r * (1.0 - r)
    dz_pre = dz * z * (1.0 - z)
    dxp = np.concatenate([dr_pre, dz_pre, dn_pre], axis=1)
    dhp = np.concatenate([dr_pre, dz_pre, dhn], axis=1)
    return dxp, dhp, dh_prev


# --- GRU, Cho et al. form (reset before) -----------------------------------------------------

def gru_rb_gates_fwd(pre_rz, h_prev):
    """Returns rz (activated), rh = r * h_prev."""
    rz = sigmoid(pre_rz)
    r = np.split(rz, 2, axis=1)[0]
    return rz, r * h_prev


def gru_rb_out_fwd(pre_n, rz, h_prev):
    """Returns n, h."""
    z = np.split(rz, 2, axis=1)[1]
    n = np.tanh(pre_n)
    return n, (1.0 - z) * n + z * h_prev


def gru_rb_out_bwd(n, rz, h_prev, dh):
    """Returns dpre_n, dz, dh_prev (direct path)."""
    z = np.split(rz, 2, axis=1)[1]
    dn = dh * (1.0 - z)
    return dn * (1.0 - n**2), dh * (h_prev - n), dh * z


def gru_rb_gates_bwd(rz, h_prev, drh, dz):
    """Returns dpre_rz and the reset path's contribution to dh_prev (drh * r)."""
    r, z = np.split(rz, 2, axis=1)
    dr = drh * h_prev
    dpre_rz = np.concatenate([dr * r * (1.0 - r), dz * z * (1.0 - z)], axis=1)
    return dpre_rz, drh * r


# --- whole sequences: the step references in a loop over time --------------------------------
# xp (T, B, G*H); h0, c0 (B, H); w_hh (G*H, H); the reverse direction runs t = T-1, ..., 0 and
# still stores each step at its own t. Backward walks the steps in the opposite order.

def _time_order(T, reverse):
    return list(range(T - 1, -1, -1)) if reverse else list(range(T))


def rnn_sequence_fwd(xp, h0, w_hh, reverse, relu):
    """Returns hs (T, B, H)."""
    act = rnn_relu_fwd if relu else rnn_tanh_fwd
    hs, h = np.zeros(xp.shape[:2] + h0.shape[1:]), h0
    for t in _time_order(len(xp), reverse):
        h = act(xp[t] + h @ w_hh.T)
        hs[t] = h
    return hs


def rnn_sequence_bwd(hs, h0, w_hh, dhs, dh_last, reverse, relu):
    """Returns dxp, dh0, dw_hh."""
    act_bwd = rnn_relu_bwd if relu else rnn_tanh_bwd
    order = _time_order(len(hs), reverse)
    dxp, dw, dh = np.zeros(hs.shape), np.zeros(w_hh.shape), dh_last
    for k in reversed(range(len(order))):
        t, h_prev = order[k], h0 if k == 0 else hs[order[k - 1]]
        dpre = act_bwd(hs[t], dh + dhs[t])
        dxp[t], dw, dh = dpre, dw + dpre.T @ h_prev, dpre @ w_hh
    return dxp, dh, dw


def lstm_sequence_fwd(xp, h0, c0, w_hh, reverse):
    """Returns gates (T, B, 4H), cs, tanh_cs, hs (T, B, H)."""
    T, (B, H) = len(xp), h0.shape
    gates, cs, tanh_cs, hs = np.zeros(xp.shape), np.zeros((T, B, H)), np.zeros((T, B, H)), np.zeros((T, B, H))
    h, c = h0, c0
    for t in _time_order(T, reverse):
        gates[t], c, h, tanh_cs[t] = lstm_fwd(xp[t] + h @ w_hh.T, c)
        cs[t], hs[t] = c, h
    return gates, cs, tanh_cs, hs


def lstm_sequence_bwd(gates, cs, tanh_cs, hs, h0, c0, w_hh, dhs, dh_last, dc_last, reverse):
    """Returns dxp, dh0, dc0, dw_hh."""
    order = _time_order(len(hs), reverse)
    dxp, dw, dh, dc = np.zeros(gates.shape), np.zeros(w_hh.shape), dh_last, dc_last
    for k in reversed(range(len(order))):
        t = order[k]
        h_prev, c_prev = (h0, c0) if k == 0 else (hs[order[k - 1]], cs[order[k - 1]])
        dpre, dc = lstm_bwd(gates[t], c_prev, tanh_cs[t], dh + dhs[t], dc)
        dxp[t], dw, dh = dpre, dw + dpre.T @ h_prev, dpre @ w_hh
    return dxp, dh, dc, dw


def gru_sequence_fwd(xp, h0, w_hh, b_hh, reverse):
    """Returns gates (T, B, 3H), hps (T, B, 3H), hs (T, B, H)."""
    gates, hps, hs, h = np.zeros(xp.shape), np.zeros(xp.shape), np.zeros(xp.shape[:2] + h0.shape[1:]), h0
    for t in _time_order(len(xp), reverse):
        hps[t] = h @ w_hh.T + b_hh
        gates[t], h = gru_fwd(xp[t], hps[t], h)
        hs[t] = h
    return gates, hps, hs


def gru_sequence_bwd(gates, hps, hs, h0, w_hh, dhs, dh_last, reverse):
    """Returns dxp, dh0, dw_hh, db_hh."""
    order = _time_order(len(hs), reverse)
    dxp, dw, db, dh = np.zeros(gates.shape), np.zeros(w_hh.shape), np.zeros(w_hh.shape[0]), dh_last
    for k in reversed(range(len(order))):
        t, h_prev = order[k], h0 if k == 0 else hs[order[k - 1]]
        dxp[t], dhp, dh_direct = gru_bwd(gates[t], hps[t], h_prev, dh + dhs[t])
        dw, db, dh = dw + dhp.T @ h_prev, db + dhp.sum(axis=0), dh_direct + dhp @ w_hh
    return dxp, dh, dw, db


# --- optimizer updates -----------------------------------------------------------------------

def adagrad_update(param, grad, state_sum, clr, eps):
    """Returns the new parameter and sum."""
    new_sum = state_sum + grad * grad
    return param - clr * grad / (np.sqrt(new_sum) + eps), new_sum


# --- cross-entropy ---------------------------------------------------------------------------

def cross_entropy_fwd(logits, targets, ignore_index):
    """Returns per-row losses (0 for ignored rows) and softmax probabilities."""
    m = np.max(logits, axis=1, keepdims=True)
    shifted_exp = np.exp(logits - m)
    total = np.sum(shifted_exp, axis=1, keepdims=True)
    probs = shifted_exp / total
    logsumexp = (m + np.log(total))[:, 0]
    keep = targets != ignore_index
    safe_targets = np.where(keep, targets, 0)
    picked = logits[np.arange(len(targets)), safe_targets]
    losses = np.where(keep, logsumexp - picked, 0.0).astype(logits.dtype)
    return losses, probs


def cross_entropy_bwd(probs, targets, ignore_index, row_scale):
    """Returns (probs - onehot(targets)) * row_scale[:, None], with zero rows where ignored."""
    N, C = probs.shape
    keep = targets != ignore_index
    onehot = np.zeros_like(probs)
    onehot[np.arange(N)[keep], targets[keep]] = 1.0
    dlogits = (probs - onehot) * row_scale[:, None]
    dlogits[~keep] = 0.0
    return dlogits
