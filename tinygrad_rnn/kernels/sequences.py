"""A whole recurrent layer-direction in one kernel call: the loop over time compiled, for small steps.

When a step's work is tiny (min-char-rnn: batch 1, hidden 100), the arithmetic of a step takes a few
microseconds and the Python around it (a graph node, a BLAS call, a kernel call, each way) takes
ten times that. These kernels run every step of one layer in one direction, forward or backward,
inside one compiled loop; the step math is the one-step kernels of :mod:`.cells` (their unchecked
forms, inlined, see ``policy.inline_kernel``; each loop checks every shape before its first step),
and the recurrent products are plain loops (``add_product``), which at these sizes cost what a BLAS
call does. For larger steps BLAS wins, and the same loops run in Python around BLAS calls
(``tinygrad_rnn.nn.blas_time_loops``).

The gate kernels run out of place (see :mod:`.cells`), hence the scratch ``pre`` and the alternating d c.

The input projection xp = x W_ih^T + b_ih (+ b_hh) is computed outside for all steps at once.
Shapes: xp (T, B, G*H) with G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n); h0, c0 (B, H);
``w_hh`` (G*H, H) as PyTorch stores it; ``w_hh_t`` = its transpose, C-contiguous. Outputs hs (T, B, H)
hold h_t at its own t in both directions: with ``reverse`` the loop runs t = T-1, ..., 0.

RNN:   h_t = act(xp_t + h_{t-1} W_hh^T),  act = tanh or relu
LSTM:  pre_t = xp_t + h_{t-1} W_hh^T;  (c_t, h_t) = lstm_fwd(pre_t, c_{t-1})
GRU:   hp_t = h_{t-1} W_hh^T + b_hh;   h_t = gru_fwd(xp_t, hp_t, h_{t-1})   (PyTorch's form)

Backward walks the same steps the other way: for each step, dh_t (from the next step plus
``dhs[t]``) goes through the step's backward kernel to dpre_t, then dh_{t-1} = dpre_t W_hh. It
returns d xp (T, B, G*H) and d h0 (and d c0; the GRU also every step's d hp). The weight gradient
dW_hh = sum_t dpre_t^T h_{t-1} does not depend on the order of the steps, so the caller forms it
after the loop as one GEMM over all steps, in BLAS.

>>> import numpy as np
>>> T, B, H = 3, 1, 2
>>> xp = np.zeros((T, B, H)); xp[0] = 1.0
>>> hs = np.empty((T, B, H))
>>> rnn_sequence_fwd(xp, np.zeros((B, H)), np.eye(H), False, False, hs)  # h_t = tanh(xp_t + h_{t-1})
>>> np.round(hs[:, 0, 0], 4)
array([0.7616, 0.642 , 0.5663])
"""

import numpy as np

from tinygrad_rnn.kernels.cells import (gru_bwd_unchecked, gru_fwd_unchecked, lstm_bwd_unchecked, lstm_fwd_unchecked,
                                        rnn_relu_bwd_unchecked, rnn_relu_fwd_unchecked, rnn_tanh_bwd_unchecked,
                                        rnn_tanh_fwd_unchecked)
from tinygrad_rnn.kernels.policy import inline_kernel, kernel

# --- the recurrent products as loops -----------------------------------------------------------


@inline_kernel
def add_product(a, w, out):
    """out += a @ w;  a (B, K), w (K, N), out (B, N).

    Written as rows of ``w`` scaled and added (no reduction in the inner loop, so it vectorises without
    reordering any sum), over four rows of ``a`` and four rows of ``w`` per pass over ``out``: each loaded
    value of ``w`` feeds four rows of the output, so a pass does sixteen multiply-adds per column for
    eight loads and four stores (one row at a time: four for five loads and a store).

    >>> out = np.ones((1, 2)); add_product(np.array([[1.0, 2.0]]), np.eye(2), out); out
    array([[2., 3.]])
    """
    B, K = a.shape
    N = out.shape[1]
    if w.shape != (K, N):
        raise ValueError("add_product: expected w of shape (K, N)")
    if out.shape != (B, N):
        raise ValueError("add_product: expected out of shape (B, N)")
    add_product_unchecked(a, w, out)


@kernel
def add_product_unchecked(a, w, out):
    """:func:`add_product` without its shape checks, for the time loops, which check every shape first.

    A kernel of its own rather than inlined: every time loop of one dtype calls the same compiled
    product, so it is compiled once per dtype, not once per loop (its four-row form takes LLVM about
    0.4 s to compile)."""
    B, K = a.shape
    N = out.shape[1]
    B4, K4 = B - B % 4, K - K % 4
    for b in range(0, B4, 4):                          # four output rows at a time
        o0, o1, o2, o3 = out[b], out[b + 1], out[b + 2], out[b + 3]
        for k in range(0, K4, 4):
            w0, w1, w2, w3 = w[k], w[k + 1], w[k + 2], w[k + 3]
            a00, a01, a02, a03 = a[b, k], a[b, k + 1], a[b, k + 2], a[b, k + 3]
            a10, a11, a12, a13 = a[b + 1, k], a[b + 1, k + 1], a[b + 1, k + 2], a[b + 1, k + 3]
            a20, a21, a22, a23 = a[b + 2, k], a[b + 2, k + 1], a[b + 2, k + 2], a[b + 2, k + 3]
            a30, a31, a32, a33 = a[b + 3, k], a[b + 3, k + 1], a[b + 3, k + 2], a[b + 3, k + 3]
            for j in range(N):
                x0, x1, x2, x3 = w0[j], w1[j], w2[j], w3[j]
                o0[j] += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3
                o1[j] += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3
                o2[j] += a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3
                o3[j] += a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3
        for k in range(K4, K):
            w_k = w[k]
            a0, a1, a2, a3 = a[b, k], a[b + 1, k], a[b + 2, k], a[b + 3, k]
            for j in range(N):
                o0[j] += a0 * w_k[j]
                o1[j] += a1 * w_k[j]
                o2[j] += a2 * w_k[j]
                o3[j] += a3 * w_k[j]
    for b in range(B4, B):                             # the last B % 4 rows (min-char-rnn's batch of one)
        out_b = out[b]
        for k in range(0, K4, 4):
            a0, a1, a2, a3 = a[b, k], a[b, k + 1], a[b, k + 2], a[b, k + 3]
            w0, w1, w2, w3 = w[k], w[k + 1], w[k + 2], w[k + 3]
            for j in range(N):
                out_b[j] += a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j]
        for k in range(K4, K):
            a_bk = a[b, k]
            w_k = w[k]
            for j in range(N):
                out_b[j] += a_bk * w_k[j]


# Whole-array statements such as ``a[:, :] = b`` or ``a += b`` compile through numba's general
# broadcasting machinery, about six seconds each on first use; these loops compile in a fraction of one.

@inline_kernel
def _copy(src, dst):
    """dst[b, j] = src[b, j];  both (B, N)."""
    for b in range(dst.shape[0]):
        for j in range(dst.shape[1]):
            dst[b, j] = src[b, j]


@inline_kernel
def _add(src, dst):
    """dst[b, j] += src[b, j];  both (B, N)."""
    for b in range(dst.shape[0]):
        for j in range(dst.shape[1]):
            dst[b, j] += src[b, j]


@inline_kernel
def _zero(dst):
    """dst[b, j] = 0;  dst (B, N)."""
    for b in range(dst.shape[0]):
        for j in range(dst.shape[1]):
            dst[b, j] = 0


@inline_kernel
def _step_at(s, T, reverse):
    """The time index of the s-th step processed: s, or T-1-s in the reverse direction."""
    return T - 1 - s if reverse else s


# --- RNN -----------------------------------------------------------------------------------------


@kernel
def rnn_sequence_fwd(xp, h0, w_hh_t, reverse, relu, hs_out):
    """h_t = act(xp_t + h_{t-1} W_hh^T) for every t; hs_out[t] = h_t.

    xp, hs_out (T, B, H); h0 (B, H); w_hh_t (H, H) = W_hh^T; act = relu if ``relu`` else tanh.
    """
    T, B, H = hs_out.shape
    if xp.shape != (T, B, H):
        raise ValueError("rnn_sequence_fwd: expected xp of shape (T, B, H)")
    if h0.shape != (B, H):
        raise ValueError("rnn_sequence_fwd: expected h0 of shape (B, H)")
    if w_hh_t.shape != (H, H):
        raise ValueError("rnn_sequence_fwd: expected w_hh_t of shape (H, H)")
    h_prev, pre = h0, np.empty((B, H), hs_out.dtype)
    for s in range(T):
        t = _step_at(s, T, reverse)
        _copy(xp[t], pre)
        add_product_unchecked(h_prev, w_hh_t, pre)
        if relu:
            rnn_relu_fwd_unchecked(pre, hs_out[t])
        else:
            rnn_tanh_fwd_unchecked(pre, hs_out[t])
        h_prev = hs_out[t]


@kernel
def rnn_sequence_bwd(hs, w_hh, dhs, dh_last, reverse, relu, dxp_out, dh0_out):
    """Backward of :func:`rnn_sequence_fwd`, but for d W_hh (one GEMM, by the caller).

    hs, dhs, dxp_out (T, B, H); dh_last, dh0_out (B, H); w_hh (H, H). ``dh_last`` is the gradient
    of the state after the last step processed; ``dhs`` that of each output.
    """
    T, B, H = hs.shape
    if dhs.shape != (T, B, H):
        raise ValueError("rnn_sequence_bwd: expected dhs of shape (T, B, H)")
    if dxp_out.shape != (T, B, H):
        raise ValueError("rnn_sequence_bwd: expected dxp_out of shape (T, B, H)")
    if dh_last.shape != (B, H) or dh0_out.shape != (B, H):
        raise ValueError("rnn_sequence_bwd: expected dh_last and dh0_out of shape (B, H)")
    if w_hh.shape != (H, H):
        raise ValueError("rnn_sequence_bwd: expected w_hh of shape (H, H)")
    dh = dh0_out                                   # the running d h_t; ends as d h0
    _copy(dh_last, dh)
    for s in range(T - 1, -1, -1):
        t = _step_at(s, T, reverse)
        _add(dhs[t], dh)
        dpre = dxp_out[t]
        if relu:
            rnn_relu_bwd_unchecked(hs[t], dh, dpre)
        else:
            rnn_tanh_bwd_unchecked(hs[t], dh, dpre)
        _zero(dh)
        add_product_unchecked(dpre, w_hh, dh)


# --- LSTM ----------------------------------------------------------------------------------------


@kernel
def lstm_sequence_fwd(xp, h0, c0, w_hh_t, reverse, gates_out, cs_out, tanh_cs_out, hs_out):
    """Every LSTM step: gates_out[t], cs_out[t], tanh_cs_out[t], hs_out[t] as :func:`lstm_fwd` gives them.

    xp, gates_out (T, B, 4H); h0, c0 (B, H); w_hh_t (H, 4H); cs_out, tanh_cs_out, hs_out (T, B, H).
    """
    T, B, H = hs_out.shape
    if xp.shape != (T, B, 4 * H) or gates_out.shape != (T, B, 4 * H):
        raise ValueError("lstm_sequence_fwd: expected xp and gates_out of shape (T, B, 4H)")
    if cs_out.shape != (T, B, H) or tanh_cs_out.shape != (T, B, H):
        raise ValueError("lstm_sequence_fwd: expected cs_out and tanh_cs_out of shape (T, B, H)")
    if h0.shape != (B, H) or c0.shape != (B, H):
        raise ValueError("lstm_sequence_fwd: expected h0 and c0 of shape (B, H)")
    if w_hh_t.shape != (H, 4 * H):
        raise ValueError("lstm_sequence_fwd: expected w_hh_t of shape (H, 4H)")
    h_prev, c_prev, pre = h0, c0, np.empty((B, 4 * H), hs_out.dtype)
    for s in range(T):
        t = _step_at(s, T, reverse)
        _copy(xp[t], pre)
        add_product_unchecked(h_prev, w_hh_t, pre)
        lstm_fwd_unchecked(pre, c_prev, gates_out[t], cs_out[t], hs_out[t], tanh_cs_out[t])
        h_prev, c_prev = hs_out[t], cs_out[t]


@kernel
def lstm_sequence_bwd(gates, cs, tanh_cs, c0, w_hh, dhs, dh_last, dc_last, reverse, dxp_out, dh0_out, dc0_out):
    """Backward of :func:`lstm_sequence_fwd`, but for d W_hh (one GEMM, by the caller).

    gates, dxp_out (T, B, 4H); cs, tanh_cs, dhs (T, B, H); c0, dh_last, dc_last, dh0_out, dc0_out (B, H);
    w_hh (4H, H).
    """
    T, B, H = cs.shape
    if gates.shape != (T, B, 4 * H) or dxp_out.shape != (T, B, 4 * H):
        raise ValueError("lstm_sequence_bwd: expected gates and dxp_out of shape (T, B, 4H)")
    if cs.shape != (T, B, H) or tanh_cs.shape != (T, B, H) or dhs.shape != (T, B, H):
        raise ValueError("lstm_sequence_bwd: expected cs, tanh_cs and dhs of shape (T, B, H)")
    if w_hh.shape != (4 * H, H):
        raise ValueError("lstm_sequence_bwd: expected w_hh of shape (4H, H)")
    if c0.shape != (B, H) or dh_last.shape != (B, H) or dc_last.shape != (B, H):
        raise ValueError("lstm_sequence_bwd: expected c0, dh_last and dc_last of shape (B, H)")
    if dc0_out.shape != (B, H) or dh0_out.shape != (B, H):
        raise ValueError("lstm_sequence_bwd: expected dh0_out and dc0_out of shape (B, H)")
    dh = dh0_out                                   # the running d h_t; ends as d h0
    _copy(dh_last, dh)
    dc, dc_prev = np.empty((B, H), dh.dtype), np.empty((B, H), dh.dtype)
    _copy(dc_last, dc)
    for s in range(T - 1, -1, -1):
        t = _step_at(s, T, reverse)
        c_prev = c0 if s == 0 else cs[_step_at(s - 1, T, reverse)]
        _add(dhs[t], dh)
        dpre = dxp_out[t]
        lstm_bwd_unchecked(gates[t], c_prev, tanh_cs[t], dh, dc, dpre, dc_prev)
        _zero(dh)
        add_product_unchecked(dpre, w_hh, dh)
        dc, dc_prev = dc_prev, dc
    _copy(dc, dc0_out)


# --- GRU (PyTorch's form) ------------------------------------------------------------------------


@kernel
def gru_sequence_fwd(xp, h0, w_hh_t, b_hh, reverse, gates_out, hps_out, hs_out):
    """Every GRU step: hps_out[t] = h_{t-1} W_hh^T + b_hh, then :func:`gru_fwd`.

    xp, gates_out, hps_out (T, B, 3H); h0 (B, H); w_hh_t (H, 3H); b_hh (3H,) (zeros without bias);
    hs_out (T, B, H).
    """
    T, B, H = hs_out.shape
    if xp.shape != (T, B, 3 * H) or gates_out.shape != (T, B, 3 * H) or hps_out.shape != (T, B, 3 * H):
        raise ValueError("gru_sequence_fwd: expected xp, gates_out and hps_out of shape (T, B, 3H)")
    if h0.shape != (B, H):
        raise ValueError("gru_sequence_fwd: expected h0 of shape (B, H)")
    if w_hh_t.shape != (H, 3 * H) or b_hh.shape != (3 * H,):
        raise ValueError("gru_sequence_fwd: expected w_hh_t of shape (H, 3H) and b_hh of shape (3H,)")
    h_prev = h0
    for s in range(T):
        t = _step_at(s, T, reverse)
        hp = hps_out[t]
        for b in range(B):
            for j in range(3 * H):
                hp[b, j] = b_hh[j]
        add_product_unchecked(h_prev, w_hh_t, hp)
        gru_fwd_unchecked(xp[t], hp, h_prev, gates_out[t], hs_out[t])
        h_prev = hs_out[t]


@kernel
def gru_sequence_bwd(gates, hps, hs, h0, w_hh, dhs, dh_last, reverse, dxp_out, dhps_out, dh0_out):
    """Backward of :func:`gru_sequence_fwd`, giving every step's d hp; from those the caller forms
    d W_hh = sum_t dhp_t^T h_{t-1} and d b_hh = the sum over steps and batch.

    gates, hps, dxp_out, dhps_out (T, B, 3H); hs, dhs (T, B, H); h0, dh_last, dh0_out (B, H); w_hh (3H, H).
    """
    T, B, H = hs.shape
    shape = (T, B, 3 * H)
    if gates.shape != shape or hps.shape != shape or dxp_out.shape != shape or dhps_out.shape != shape:
        raise ValueError("gru_sequence_bwd: expected gates, hps, dxp_out and dhps_out of shape (T, B, 3H)")
    if dhs.shape != (T, B, H):
        raise ValueError("gru_sequence_bwd: expected dhs of shape (T, B, H)")
    if w_hh.shape != (3 * H, H):
        raise ValueError("gru_sequence_bwd: expected w_hh of shape (3H, H)")
    if h0.shape != (B, H) or dh_last.shape != (B, H) or dh0_out.shape != (B, H):
        raise ValueError("gru_sequence_bwd: expected h0, dh_last and dh0_out of shape (B, H)")
    dh = dh0_out                                   # the running d h_t; ends as d h0
    _copy(dh_last, dh)
    dh_prev = np.empty((B, H), dh.dtype)
    for s in range(T - 1, -1, -1):
        t = _step_at(s, T, reverse)
        h_prev = h0 if s == 0 else hs[_step_at(s - 1, T, reverse)]
        _add(dhs[t], dh)
        gru_bwd_unchecked(gates[t], hps[t], h_prev, dh, dxp_out[t], dhps_out[t], dh_prev)
        add_product_unchecked(dhps_out[t], w_hh, dh_prev)
        _copy(dh_prev, dh)
