"""Gate math of one time step of the RNN, LSTM and GRU cells, forward and backward.

The matrix products (``x @ W_ih.T + b_ih`` and ``h @ W_hh.T + b_hh``) stay outside, in NumPy's
BLAS; these kernels fuse everything elementwise that sits between them. B is the batch size and
H the hidden size. Gates are stacked along axis 1 in PyTorch's order: i, f, g, o for the LSTM and
r, z, n for the GRU. All arrays are 2-D, of one float dtype (float32 or float64); outputs are
preallocated by the caller and every kernel returns ``None``. Shapes are checked and a mismatch
raises ``ValueError`` naming the argument.

The kernels that the whole-sequence loops (:mod:`.sequences`) call each have an ``*_unchecked`` twin,
the same math without the shape checks: a loop checks every shape once before its first step, and
each check compiled into it costs numba time on the first call (without their inner checks, the
LSTM's two sequence kernels compile in 6.8 instead of 7.6 s of CPU time, float64). An unchecked
kernel given a wrong shape reads and writes out of bounds, so everything else calls the checked one.

Give every output its own array, never an input: the compiler vectorises these loops behind a
run-time check that the arrays do not overlap, and an in-place call fails that check and runs the
scalar loop, 4-5x slower (results are the same either way).

RNN:   h = tanh(pre) or relu(pre),  pre = x W_ih^T + b_ih + h_prev W_hh^T + b_hh        (B, H)

LSTM:  i, f, g, o = sig(pre_i), sig(pre_f), tanh(pre_g), sig(pre_o)     pre: (B, 4H)
       c = f * c_prev + i * g;   h = o * tanh(c)

GRU, PyTorch's form (``b_hn`` inside the reset product, "reset after"):
       xp = x W_ih^T + b_ih,  hp = h_prev W_hh^T + b_hh                  (B, 3H) each
       r = sig(xp_r + hp_r);  z = sig(xp_z + hp_z);  n = tanh(xp_n + r * hp_n)
       h = (1 - z) * n + z * h_prev

GRU, Cho et al.'s form ("reset before"); a GEMM sits between two kernels each way:
       r, z = sig(pre_rz)           pre_rz = xp_rz + h_prev W_hrz^T + b_hrz   (B, 2H)
       rh = r * h_prev
       n = tanh(pre_n)              pre_n = xp_n + rh W_hn^T + b_hn           (B, H)
       h = (1 - z) * n + z * h_prev

All kernels are serial: an LSTM forward with ``prange`` over the batch (``parallel_kernel``) was
measured on the 2-core reference machine for B from 1 to 128 and H from 100 to 1024, alone and
alternating with the BLAS GEMM as in a time loop, and was never faster; next to BLAS's own
threads it was often several times slower.

>>> import numpy as np
>>> B, H = 2, 3
>>> pre = np.zeros((B, 4 * H)); c_prev = np.ones((B, H))
>>> gates, c, h, tanh_c = np.empty((B, 4 * H)), np.empty((B, H)), np.empty((B, H)), np.empty((B, H))
>>> lstm_fwd(pre, c_prev, gates, c, h, tanh_c)
>>> c  # 0.5 * 1 + 0.5 * tanh(0)
array([[0.5, 0.5, 0.5],
       [0.5, 0.5, 0.5]])
"""

import numpy as np

from tinygrad_rnn.kernels.scalar_math import sigmoid, tanh
from tinygrad_rnn.kernels.policy import inline_kernel, kernel

# --- plain RNN -------------------------------------------------------------------------------


@inline_kernel
def rnn_tanh_fwd(pre, h_out):
    """h = tanh(pre); pre and h_out are (B, H).

    >>> h = np.empty((1, 2)); rnn_tanh_fwd(np.array([[0.0, 1000.0]]), h); h
    array([[0., 1.]])
    """
    B, H = pre.shape
    if h_out.shape != (B, H):
        raise ValueError("rnn_tanh_fwd: expected h_out of shape (B, H)")
    rnn_tanh_fwd_unchecked(pre, h_out)


@inline_kernel
def rnn_tanh_fwd_unchecked(pre, h_out):
    """:func:`rnn_tanh_fwd` without its shape checks, for time loops that checked every shape first.

    Given a wrong shape it reads and writes out of bounds."""
    B, H = pre.shape
    for b in range(B):
        for j in range(H):
            h_out[b, j] = tanh(pre[b, j])


@inline_kernel
def rnn_tanh_bwd(h, dh, dpre_out):
    """dpre = dh * (1 - h^2), where h = tanh(pre); all (B, H).

    >>> d = np.empty((1, 2)); rnn_tanh_bwd(np.array([[0.0, 0.5]]), np.ones((1, 2)), d); d
    array([[1.  , 0.75]])
    """
    B, H = h.shape
    if dh.shape != (B, H):
        raise ValueError("rnn_tanh_bwd: expected dh of shape (B, H)")
    if dpre_out.shape != (B, H):
        raise ValueError("rnn_tanh_bwd: expected dpre_out of shape (B, H)")
    rnn_tanh_bwd_unchecked(h, dh, dpre_out)


@inline_kernel
def rnn_tanh_bwd_unchecked(h, dh, dpre_out):
    """:func:`rnn_tanh_bwd` without its shape checks, for time loops that checked every shape first.

    Given a wrong shape it reads and writes out of bounds."""
    B, H = h.shape
    one = h.dtype.type(1.0)   # float32 stays float32 (a bare 1.0 is float64 to numba)
    for b in range(B):
        for j in range(H):
            dpre_out[b, j] = dh[b, j] * (one - h[b, j] * h[b, j])


@inline_kernel
def rnn_relu_fwd(pre, h_out):
    """h = max(pre, 0) (nan stays nan); pre and h_out are (B, H).

    >>> h = np.empty((1, 2)); rnn_relu_fwd(np.array([[-1.0, 2.0]]), h); h
    array([[0., 2.]])
    """
    B, H = pre.shape
    if h_out.shape != (B, H):
        raise ValueError("rnn_relu_fwd: expected h_out of shape (B, H)")
    rnn_relu_fwd_unchecked(pre, h_out)


@inline_kernel
def rnn_relu_fwd_unchecked(pre, h_out):
    """:func:`rnn_relu_fwd` without its shape checks, for time loops that checked every shape first.

    Given a wrong shape it reads and writes out of bounds."""
    B, H = pre.shape
    for b in range(B):
        for j in range(H):
            v = pre[b, j]
            h_out[b, j] = v if (v > 0 or v != v) else 0.0


@inline_kernel
def rnn_relu_bwd(h, dh, dpre_out):
    """dpre = dh * (h > 0), where h = relu(pre); all (B, H).

    >>> d = np.empty((1, 2)); rnn_relu_bwd(np.array([[0.0, 2.0]]), np.full((1, 2), 3.0), d); d
    array([[0., 3.]])
    """
    B, H = h.shape
    if dh.shape != (B, H):
        raise ValueError("rnn_relu_bwd: expected dh of shape (B, H)")
    if dpre_out.shape != (B, H):
        raise ValueError("rnn_relu_bwd: expected dpre_out of shape (B, H)")
    rnn_relu_bwd_unchecked(h, dh, dpre_out)


@inline_kernel
def rnn_relu_bwd_unchecked(h, dh, dpre_out):
    """:func:`rnn_relu_bwd` without its shape checks, for time loops that checked every shape first.

    Given a wrong shape it reads and writes out of bounds."""
    B, H = h.shape
    for b in range(B):
        for j in range(H):
            dpre_out[b, j] = dh[b, j] if h[b, j] > 0 else 0.0


# --- LSTM ------------------------------------------------------------------------------------


@inline_kernel
def lstm_fwd(pre, c_prev, gates_out, c_out, h_out, tanh_c_out):
    """One LSTM step after the GEMMs: activate the gates and update the cell.

    gates_out = [sig(pre_i), sig(pre_f), tanh(pre_g), sig(pre_o)]     (B, 4H)
    c = f * c_prev + i * g;  tanh_c = tanh(c);  h = o * tanh_c          (B, H) each

    ``gates_out``, ``c_prev`` and ``tanh_c_out`` are exactly what :func:`lstm_bwd` reads.
    See the module docstring for an example.
    """
    B, H = c_prev.shape
    if pre.shape != (B, 4 * H):
        raise ValueError("lstm_fwd: expected pre of shape (B, 4H)")
    if gates_out.shape != (B, 4 * H):
        raise ValueError("lstm_fwd: expected gates_out of shape (B, 4H)")
    if c_out.shape != (B, H):
        raise ValueError("lstm_fwd: expected c_out of shape (B, H)")
    if h_out.shape != (B, H):
        raise ValueError("lstm_fwd: expected h_out of shape (B, H)")
    if tanh_c_out.shape != (B, H):
        raise ValueError("lstm_fwd: expected tanh_c_out of shape (B, H)")
    lstm_fwd_unchecked(pre, c_prev, gates_out, c_out, h_out, tanh_c_out)


@inline_kernel
def lstm_fwd_unchecked(pre, c_prev, gates_out, c_out, h_out, tanh_c_out):
    """:func:`lstm_fwd` without its shape checks, for time loops that checked every shape first.

    Given a wrong shape it reads and writes out of bounds."""
    B, H = c_prev.shape
    for b in range(B):
        # Each gate block is a slice of its own, and each loop runs from 0 over one block: a loop over
        # range(2H, 3H) indexing the whole row vectorised poorly (the float32 activations took 1.6x as long).
        pre_b, gates_b = pre[b], gates_out[b]
        pre_if, pre_g, pre_o = pre_b[:2 * H], pre_b[2 * H:3 * H], pre_b[3 * H:]
        i_f, i, f, g, o = gates_b[:2 * H], gates_b[:H], gates_b[H:2 * H], gates_b[2 * H:3 * H], gates_b[3 * H:]
        for k in range(2 * H):
            i_f[k] = sigmoid(pre_if[k])
        for k in range(H):
            g[k] = tanh(pre_g[k])
        for k in range(H):
            o[k] = sigmoid(pre_o[k])
        c_prev_b, c_b, tanh_c_b, h_b = c_prev[b], c_out[b], tanh_c_out[b], h_out[b]
        for j in range(H):
            c_b[j] = f[j] * c_prev_b[j] + i[j] * g[j]
        for j in range(H):
            tanh_c_b[j] = tanh(c_b[j])
        for j in range(H):
            h_b[j] = o[j] * tanh_c_b[j]


@inline_kernel
def lstm_bwd(gates, c_prev, tanh_c, dh, dc, dpre_out, dc_prev_out):
    """Backward of :func:`lstm_fwd`: from the gradients of h and c to those of pre and c_prev.

    dc_total = dc + dh * o * (1 - tanh_c^2)
    dpre_i = dc_total * g * i(1-i);       dpre_f = dc_total * c_prev * f(1-f)
    dpre_g = dc_total * i * (1 - g^2);    dpre_o = dh * tanh_c * o(1-o)
    dc_prev = dc_total * f

    gates, dpre_out: (B, 4H); c_prev, tanh_c, dh, dc, dc_prev_out: (B, H). Pass zeros for dh or dc
    when h or c gets no gradient.

    >>> B, H = 1, 1
    >>> gates = np.array([[0.5, 0.5, 0.0, 0.5]]); one = np.ones((B, H)); zero = np.zeros((B, H))
    >>> dpre, dc_prev = np.empty((B, 4 * H)), np.empty((B, H))
    >>> lstm_bwd(gates, one, zero, zero, one, dpre, dc_prev)  # only dc = 1 flows in
    >>> dpre, dc_prev
    (array([[0.  , 0.25, 0.5 , 0.  ]]), array([[0.5]]))
    """
    B, H = c_prev.shape
    if gates.shape != (B, 4 * H):
        raise ValueError("lstm_bwd: expected gates of shape (B, 4H)")
    if tanh_c.shape != (B, H):
        raise ValueError("lstm_bwd: expected tanh_c of shape (B, H)")
    if dh.shape != (B, H):
        raise ValueError("lstm_bwd: expected dh of shape (B, H)")
    if dc.shape != (B, H):
        raise ValueError("lstm_bwd: expected dc of shape (B, H)")
    if dpre_out.shape != (B, 4 * H):
        raise ValueError("lstm_bwd: expected dpre_out of shape (B, 4H)")
    if dc_prev_out.shape != (B, H):
        raise ValueError("lstm_bwd: expected dc_prev_out of shape (B, H)")
    lstm_bwd_unchecked(gates, c_prev, tanh_c, dh, dc, dpre_out, dc_prev_out)


@inline_kernel
def lstm_bwd_unchecked(gates, c_prev, tanh_c, dh, dc, dpre_out, dc_prev_out):
    """:func:`lstm_bwd` without its shape checks, for time loops that checked every shape first.

    Given a wrong shape it reads and writes out of bounds."""
    B, H = c_prev.shape
    one = gates.dtype.type(1.0)   # float32 stays float32 (a bare 1.0 is float64 to numba)
    for b in range(B):
        # Row views, each gate block a slice of its own, and short loops from 0 over few arrays, so that each
        # loop vectorises (indexing the whole row at an offset of 3H was up to 1.7x slower).
        gates_b, dpre_b = gates[b], dpre_out[b]
        i, f, g, o = gates_b[:H], gates_b[H:2 * H], gates_b[2 * H:3 * H], gates_b[3 * H:]
        di, df, dg, do = dpre_b[:H], dpre_b[H:2 * H], dpre_b[2 * H:3 * H], dpre_b[3 * H:]
        tanh_c_b, dh_b, dc_b, c_prev_b = tanh_c[b], dh[b], dc[b], c_prev[b]
        dc_total = dc_prev_out[b]               # dc_total, kept in dc_prev_out until the last loop
        for j in range(H):
            dc_total[j] = dc_b[j] + dh_b[j] * o[j] * (one - tanh_c_b[j] * tanh_c_b[j])
        for j in range(H):
            do[j] = dh_b[j] * tanh_c_b[j] * o[j] * (one - o[j])
        for j in range(H):
            di[j] = dc_total[j] * g[j] * i[j] * (one - i[j])
            dg[j] = dc_total[j] * i[j] * (one - g[j] * g[j])
        for j in range(H):
            df[j] = dc_total[j] * c_prev_b[j] * f[j] * (one - f[j])
            dc_total[j] = dc_total[j] * f[j]


# --- GRU, PyTorch form (reset after the hidden GEMM) ------------------------------------------


@inline_kernel
def gru_fwd(xp, hp, h_prev, gates_out, h_out):
    """One GRU step (PyTorch form) after both GEMMs.

    r = sig(xp_r + hp_r);  z = sig(xp_z + hp_z);  n = tanh(xp_n + r * hp_n)
    h = (1 - z) * n + z * h_prev

    xp, hp, gates_out = [r, z, n]: (B, 3H); h_prev, h_out: (B, H).

    >>> B, H = 1, 2
    >>> gates, h = np.empty((B, 3 * H)), np.empty((B, H))
    >>> gru_fwd(np.zeros((B, 3 * H)), np.zeros((B, 3 * H)), np.ones((B, H)), gates, h)
    >>> h  # z = 0.5, n = 0
    array([[0.5, 0.5]])
    """
    B, H = h_prev.shape
    if xp.shape != (B, 3 * H):
        raise ValueError("gru_fwd: expected xp of shape (B, 3H)")
    if hp.shape != (B, 3 * H):
        raise ValueError("gru_fwd: expected hp of shape (B, 3H)")
    if gates_out.shape != (B, 3 * H):
        raise ValueError("gru_fwd: expected gates_out of shape (B, 3H)")
    if h_out.shape != (B, H):
        raise ValueError("gru_fwd: expected h_out of shape (B, H)")
    gru_fwd_unchecked(xp, hp, h_prev, gates_out, h_out)


@inline_kernel
def gru_fwd_unchecked(xp, hp, h_prev, gates_out, h_out):
    """:func:`gru_fwd` without its shape checks, for time loops that checked every shape first.

    Given a wrong shape it reads and writes out of bounds."""
    B, H = h_prev.shape
    one = xp.dtype.type(1.0)   # float32 stays float32 (a bare 1.0 is float64 to numba)
    for b in range(B):
        # Few arrays per pass: each loop then vectorises (one loop over all five needs more
        # run-time aliasing checks than the compiler is willing to emit).
        xp_b, hp_b, gates_b = xp[b], hp[b], gates_out[b]
        for k in range(2 * H):
            gates_b[k] = sigmoid(xp_b[k] + hp_b[k])
        for j in range(H):
            gates_b[2 * H + j] = tanh(xp_b[2 * H + j] + gates_b[j] * hp_b[2 * H + j])
        for j in range(H):
            z = gates_b[H + j]
            h_out[b, j] = (one - z) * gates_b[2 * H + j] + z * h_prev[b, j]


@inline_kernel
def gru_bwd(gates, hp, h_prev, dh, dxp_out, dhp_out, dh_prev_out):
    """Backward of :func:`gru_fwd`.

    dpre_n = dh * (1 - z) * (1 - n^2);   dxp_n = dpre_n;  dhp_n = dpre_n * r
    dpre_z = dh * (h_prev - n) * z(1-z); dxp_z = dhp_z = dpre_z
    dpre_r = dpre_n * hp_n * r(1-r);     dxp_r = dhp_r = dpre_r
    dh_prev = dh * z    (only the direct path; the caller adds dhp @ W_hh)

    gates, hp, dxp_out, dhp_out: (B, 3H); h_prev, dh, dh_prev_out: (B, H).

    >>> B, H = 1, 1
    >>> gates = np.array([[0.5, 0.5, 0.0]]); hp = np.zeros((B, 3 * H)); dh = np.ones((B, H))
    >>> dxp, dhp, dh_prev = np.empty((B, 3 * H)), np.empty((B, 3 * H)), np.empty((B, H))
    >>> gru_bwd(gates, hp, np.ones((B, H)), dh, dxp, dhp, dh_prev)
    >>> dxp, dhp, dh_prev
    (array([[0.  , 0.25, 0.5 ]]), array([[0.  , 0.25, 0.25]]), array([[0.5]]))
    """
    B, H = h_prev.shape
    if gates.shape != (B, 3 * H):
        raise ValueError("gru_bwd: expected gates of shape (B, 3H)")
    if hp.shape != (B, 3 * H):
        raise ValueError("gru_bwd: expected hp of shape (B, 3H)")
    if dh.shape != (B, H):
        raise ValueError("gru_bwd: expected dh of shape (B, H)")
    if dxp_out.shape != (B, 3 * H):
        raise ValueError("gru_bwd: expected dxp_out of shape (B, 3H)")
    if dhp_out.shape != (B, 3 * H):
        raise ValueError("gru_bwd: expected dhp_out of shape (B, 3H)")
    if dh_prev_out.shape != (B, H):
        raise ValueError("gru_bwd: expected dh_prev_out of shape (B, H)")
    gru_bwd_unchecked(gates, hp, h_prev, dh, dxp_out, dhp_out, dh_prev_out)


@inline_kernel
def gru_bwd_unchecked(gates, hp, h_prev, dh, dxp_out, dhp_out, dh_prev_out):
    """:func:`gru_bwd` without its shape checks, for time loops that checked every shape first.

    Given a wrong shape it reads and writes out of bounds."""
    B, H = h_prev.shape
    one = gates.dtype.type(1.0)   # float32 stays float32 (a bare 1.0 is float64 to numba)
    for b in range(B):
        for j in range(H):
            r = gates[b, j]
            z = gates[b, H + j]
            n = gates[b, 2 * H + j]
            dhb = dh[b, j]
            dpre_n = dhb * (one - z) * (one - n * n)
            dpre_z = dhb * (h_prev[b, j] - n) * z * (one - z)
            dpre_r = dpre_n * hp[b, 2 * H + j] * r * (one - r)
            dxp_out[b, j] = dpre_r
            dxp_out[b, H + j] = dpre_z
            dxp_out[b, 2 * H + j] = dpre_n
            dhp_out[b, j] = dpre_r
            dhp_out[b, H + j] = dpre_z
            dhp_out[b, 2 * H + j] = dpre_n * r
            dh_prev_out[b, j] = dhb * z


# --- GRU, Cho et al. form (reset before the hidden GEMM) --------------------------------------


@kernel
def gru_rb_gates_fwd(pre_rz, h_prev, rz_out, rh_out):
    """Reset-before GRU, first half: rz = [sig(pre_r), sig(pre_z)], rh = r * h_prev.

    pre_rz, rz_out: (B, 2H); h_prev, rh_out: (B, H). The caller then forms
    pre_n = xp_n + rh @ W_hn.T + b_hn and calls :func:`gru_rb_out_fwd`.

    >>> rz, rh = np.empty((1, 2)), np.empty((1, 1))
    >>> gru_rb_gates_fwd(np.zeros((1, 2)), np.full((1, 1), 4.0), rz, rh); rz, rh
    (array([[0.5, 0.5]]), array([[2.]]))
    """
    B, H = h_prev.shape
    if pre_rz.shape != (B, 2 * H):
        raise ValueError("gru_rb_gates_fwd: expected pre_rz of shape (B, 2H)")
    if rz_out.shape != (B, 2 * H):
        raise ValueError("gru_rb_gates_fwd: expected rz_out of shape (B, 2H)")
    if rh_out.shape != (B, H):
        raise ValueError("gru_rb_gates_fwd: expected rh_out of shape (B, H)")
    for b in range(B):
        for j in range(H):
            r = sigmoid(pre_rz[b, j])
            rz_out[b, j] = r
            rz_out[b, H + j] = sigmoid(pre_rz[b, H + j])
            rh_out[b, j] = r * h_prev[b, j]


@kernel
def gru_rb_out_fwd(pre_n, rz, h_prev, n_out, h_out):
    """Reset-before GRU, second half: n = tanh(pre_n), h = (1 - z) * n + z * h_prev.

    pre_n, h_prev, n_out, h_out: (B, H); rz: (B, 2H) from :func:`gru_rb_gates_fwd`.

    >>> n, h = np.empty((1, 1)), np.empty((1, 1))
    >>> gru_rb_out_fwd(np.zeros((1, 1)), np.array([[0.5, 0.25]]), np.full((1, 1), 4.0), n, h); h
    array([[1.]])
    """
    B, H = h_prev.shape
    if pre_n.shape != (B, H):
        raise ValueError("gru_rb_out_fwd: expected pre_n of shape (B, H)")
    if rz.shape != (B, 2 * H):
        raise ValueError("gru_rb_out_fwd: expected rz of shape (B, 2H)")
    if n_out.shape != (B, H):
        raise ValueError("gru_rb_out_fwd: expected n_out of shape (B, H)")
    if h_out.shape != (B, H):
        raise ValueError("gru_rb_out_fwd: expected h_out of shape (B, H)")
    one = pre_n.dtype.type(1.0)   # float32 stays float32 (a bare 1.0 is float64 to numba)
    for b in range(B):
        for j in range(H):
            n = tanh(pre_n[b, j])
            z = rz[b, H + j]
            n_out[b, j] = n
            h_out[b, j] = (one - z) * n + z * h_prev[b, j]


@kernel
def gru_rb_out_bwd(n, rz, h_prev, dh, dpre_n_out, dz_out, dh_prev_out):
    """Backward of :func:`gru_rb_out_fwd`.

    dpre_n = dh * (1 - z) * (1 - n^2);  dz = dh * (h_prev - n);  dh_prev = dh * z (direct path)

    n, h_prev, dh and all outputs: (B, H); rz: (B, 2H). The caller then forms drh = dpre_n @ W_hn
    and calls :func:`gru_rb_gates_bwd`.

    >>> dpre_n, dz, dh_prev = np.empty((1, 1)), np.empty((1, 1)), np.empty((1, 1))
    >>> gru_rb_out_bwd(np.zeros((1, 1)), np.array([[0.5, 0.25]]), np.ones((1, 1)), np.ones((1, 1)),
    ...                dpre_n, dz, dh_prev)
    >>> dpre_n, dz, dh_prev
    (array([[0.75]]), array([[1.]]), array([[0.25]]))
    """
    B, H = h_prev.shape
    if n.shape != (B, H):
        raise ValueError("gru_rb_out_bwd: expected n of shape (B, H)")
    if rz.shape != (B, 2 * H):
        raise ValueError("gru_rb_out_bwd: expected rz of shape (B, 2H)")
    if dh.shape != (B, H):
        raise ValueError("gru_rb_out_bwd: expected dh of shape (B, H)")
    if dpre_n_out.shape != (B, H):
        raise ValueError("gru_rb_out_bwd: expected dpre_n_out of shape (B, H)")
    if dz_out.shape != (B, H):
        raise ValueError("gru_rb_out_bwd: expected dz_out of shape (B, H)")
    if dh_prev_out.shape != (B, H):
        raise ValueError("gru_rb_out_bwd: expected dh_prev_out of shape (B, H)")
    one = n.dtype.type(1.0)   # float32 stays float32 (a bare 1.0 is float64 to numba)
    for b in range(B):
        for j in range(H):
            nb = n[b, j]
            z = rz[b, H + j]
            dhb = dh[b, j]
            dpre_n_out[b, j] = dhb * (one - z) * (one - nb * nb)
            dz_out[b, j] = dhb * (h_prev[b, j] - nb)
            dh_prev_out[b, j] = dhb * z


@kernel
def gru_rb_gates_bwd(rz, h_prev, drh, dz, dpre_rz_out, dh_prev_inout):
    """Backward of :func:`gru_rb_gates_fwd`; adds the reset path into ``dh_prev_inout``.

    dpre_r = drh * h_prev * r(1-r);  dpre_z = dz * z(1-z);  dh_prev += drh * r

    rz, dpre_rz_out: (B, 2H); h_prev, drh, dz, dh_prev_inout: (B, H).

    >>> dpre_rz, dh_prev = np.empty((1, 2)), np.ones((1, 1))
    >>> gru_rb_gates_bwd(np.array([[0.5, 0.5]]), np.full((1, 1), 2.0), np.ones((1, 1)), np.ones((1, 1)),
    ...                  dpre_rz, dh_prev)
    >>> dpre_rz, dh_prev
    (array([[0.5 , 0.25]]), array([[1.5]]))
    """
    B, H = h_prev.shape
    if rz.shape != (B, 2 * H):
        raise ValueError("gru_rb_gates_bwd: expected rz of shape (B, 2H)")
    if drh.shape != (B, H):
        raise ValueError("gru_rb_gates_bwd: expected drh of shape (B, H)")
    if dz.shape != (B, H):
        raise ValueError("gru_rb_gates_bwd: expected dz of shape (B, H)")
    if dpre_rz_out.shape != (B, 2 * H):
        raise ValueError("gru_rb_gates_bwd: expected dpre_rz_out of shape (B, 2H)")
    if dh_prev_inout.shape != (B, H):
        raise ValueError("gru_rb_gates_bwd: expected dh_prev_inout of shape (B, H)")
    one = rz.dtype.type(1.0)   # float32 stays float32 (a bare 1.0 is float64 to numba)
    for b in range(B):
        for j in range(H):
            r = rz[b, j]
            z = rz[b, H + j]
            d = drh[b, j]
            dpre_rz_out[b, j] = d * h_prev[b, j] * r * (one - r)
            dpre_rz_out[b, H + j] = dz[b, j] * z * (one - z)
            dh_prev_inout[b, j] += d * r
