"""The time loops of the sequence nodes in Python, each step's recurrent product one BLAS call.

Same names, arguments and results as the compiled loops of :mod:`tinygrad_rnn.kernels.sequences`
(see there for the equations and shapes), and the same one-step gate kernels inside; only the
recurrent products differ: here ``np.dot`` writes each step's product straight into its slot of
the output. Above a few tens of thousands of multiply-adds per step BLAS is faster than the
compiled loop's products, and one Python loop per layer-direction still costs far less than a
graph node per step. ``w_hh_t`` may be any view of W_hh^T; the sequence nodes pass a C-contiguous
copy, which BLAS multiplies by faster than by the view ``w_hh.T`` (see ``fused_sequences.time_loops``).

The gate kernels run out of place (see :mod:`tinygrad_rnn.kernels.cells`), hence the scratch ``pre``
and the two alternating d c buffers. Like the compiled loops, each loop checks every array's shape once
and then calls the gate kernels' unchecked forms, which compile faster for having no checks of their own.
The shapes checked here are those :mod:`tinygrad_rnn.kernels.sequences` checks, with the numbers in the message.
"""
import numpy as np

from .. import kernels


def _steps(T, reverse):
    """The time indices in the order the forward pass processes them."""
    return range(T - 1, -1, -1) if reverse else range(T)


def _check_shapes(loop, expected):
    """Raise ValueError unless every (argument name, array, shape) in ``expected`` has that shape."""
    for name, array, shape in expected:
        if array.shape != shape:
            raise ValueError(f"{loop}: expected {name} of shape {shape}, got {array.shape}")


def rnn_sequence_fwd(xp, h0, w_hh_t, reverse, relu, hs_out):
    """h_t = act(xp_t + h_{t-1} W_hh^T) for every t; hs_out[t] = h_t."""
    T, B, H = hs_out.shape
    _check_shapes("rnn_sequence_fwd", [("xp", xp, (T, B, H)), ("h0", h0, (B, H)), ("w_hh_t", w_hh_t, (H, H))])
    activate = kernels.rnn_relu_fwd_unchecked if relu else kernels.rnn_tanh_fwd_unchecked
    h_prev, pre = h0, np.empty_like(h0)
    for t in _steps(len(xp), reverse):
        np.dot(h_prev, w_hh_t, out=pre)
        pre += xp[t]
        activate(pre, hs_out[t])
        h_prev = hs_out[t]


def rnn_sequence_bwd(hs, w_hh, dhs, dh_last, reverse, relu, dxp_out, dh0_out):
    """dpre_t = act'(.) * (dhs_t + dh_t), dh_{t-1} = dpre_t W_hh, walking the steps backwards."""
    T, B, H = hs.shape
    _check_shapes("rnn_sequence_bwd", [("dhs", dhs, (T, B, H)), ("dxp_out", dxp_out, (T, B, H)),
                                       ("dh_last", dh_last, (B, H)), ("dh0_out", dh0_out, (B, H)),
                                       ("w_hh", w_hh, (H, H))])
    step_backward = kernels.rnn_relu_bwd_unchecked if relu else kernels.rnn_tanh_bwd_unchecked
    dh = dh0_out                                   # the running d h_t; ends as d h0
    dh[...] = dh_last
    for t in reversed(_steps(len(hs), reverse)):
        dh += dhs[t]
        step_backward(hs[t], dh, dxp_out[t])
        np.dot(dxp_out[t], w_hh, out=dh)


def lstm_sequence_fwd(xp, h0, c0, w_hh_t, reverse, gates_out, cs_out, tanh_cs_out, hs_out):
    """pre_t = xp_t + h_{t-1} W_hh^T, then the LSTM step kernel: gates_out[t], c_t, tanh(c_t), h_t."""
    T, B, H = hs_out.shape
    _check_shapes("lstm_sequence_fwd", [("xp", xp, (T, B, 4 * H)), ("gates_out", gates_out, (T, B, 4 * H)),
                                        ("cs_out", cs_out, (T, B, H)), ("tanh_cs_out", tanh_cs_out, (T, B, H)),
                                        ("h0", h0, (B, H)), ("c0", c0, (B, H)), ("w_hh_t", w_hh_t, (H, 4 * H))])
    h_prev, c_prev, pre = h0, c0, np.empty_like(xp[0])
    for t in _steps(len(xp), reverse):
        np.dot(h_prev, w_hh_t, out=pre)
        pre += xp[t]
        kernels.lstm_fwd_unchecked(pre, c_prev, gates_out[t], cs_out[t], hs_out[t], tanh_cs_out[t])
        h_prev, c_prev = hs_out[t], cs_out[t]


def lstm_sequence_bwd(gates, cs, tanh_cs, c0, w_hh, dhs, dh_last, dc_last, reverse, dxp_out, dh0_out, dc0_out):
    """Through each step's gates back to d pre_t (into dxp_out[t]), d c_{t-1} and dh_{t-1} = dpre_t W_hh."""
    T, B, H = cs.shape
    _check_shapes("lstm_sequence_bwd", [("gates", gates, (T, B, 4 * H)), ("dxp_out", dxp_out, (T, B, 4 * H)),
                                        ("tanh_cs", tanh_cs, (T, B, H)), ("dhs", dhs, (T, B, H)),
                                        ("c0", c0, (B, H)), ("dh_last", dh_last, (B, H)), ("dc_last", dc_last, (B, H)),
                                        ("dh0_out", dh0_out, (B, H)), ("dc0_out", dc0_out, (B, H)),
                                        ("w_hh", w_hh, (4 * H, H))])
    dh = dh0_out                                   # the running d h_t; ends as d h0
    dh[...] = dh_last
    dc, dc_prev = dc_last.copy(), np.empty_like(dc_last)
    order = _steps(len(gates), reverse)
    for s in range(len(order) - 1, -1, -1):
        t = order[s]
        c_prev = c0 if s == 0 else cs[order[s - 1]]
        dh += dhs[t]
        kernels.lstm_bwd_unchecked(gates[t], c_prev, tanh_cs[t], dh, dc, dxp_out[t], dc_prev)
        np.dot(dxp_out[t], w_hh, out=dh)
        dc, dc_prev = dc_prev, dc
    dc0_out[...] = dc


def gru_sequence_fwd(xp, h0, w_hh_t, b_hh, reverse, gates_out, hps_out, hs_out):
    """hp_t = h_{t-1} W_hh^T + b_hh into hps_out[t], then the GRU step kernel."""
    T, B, H = hs_out.shape
    _check_shapes("gru_sequence_fwd", [("xp", xp, (T, B, 3 * H)), ("gates_out", gates_out, (T, B, 3 * H)),
                                       ("hps_out", hps_out, (T, B, 3 * H)), ("h0", h0, (B, H)),
                                       ("w_hh_t", w_hh_t, (H, 3 * H)), ("b_hh", b_hh, (3 * H,))])
    h_prev = h0
    for t in _steps(len(xp), reverse):
        hp = hps_out[t]
        np.dot(h_prev, w_hh_t, out=hp)
        hp += b_hh
        kernels.gru_fwd_unchecked(xp[t], hp, h_prev, gates_out[t], hs_out[t])
        h_prev = hs_out[t]


def gru_sequence_bwd(gates, hps, hs, h0, w_hh, dhs, dh_last, reverse, dxp_out, dhps_out, dh0_out):
    """Every step's d xp and d hp; dh_{t-1} = (the gate kernel's direct part) + d hp_t W_hh."""
    T, B, H = hs.shape
    _check_shapes("gru_sequence_bwd", [("gates", gates, (T, B, 3 * H)), ("hps", hps, (T, B, 3 * H)),
                                       ("dxp_out", dxp_out, (T, B, 3 * H)), ("dhps_out", dhps_out, (T, B, 3 * H)),
                                       ("dhs", dhs, (T, B, H)), ("h0", h0, (B, H)), ("dh_last", dh_last, (B, H)),
                                       ("dh0_out", dh0_out, (B, H)), ("w_hh", w_hh, (3 * H, H))])
    dh = dh0_out                                   # the running d h_t; ends as d h0
    dh[...] = dh_last
    direct = np.empty_like(dh)                     # d h_{t-1} through z * h_{t-1}
    order = _steps(len(gates), reverse)
    for s in range(len(order) - 1, -1, -1):
        t = order[s]
        h_prev = h0 if s == 0 else hs[order[s - 1]]
        dh += dhs[t]
        kernels.gru_bwd_unchecked(gates[t], hps[t], h_prev, dh, dxp_out[t], dhps_out[t], direct)
        np.dot(dhps_out[t], w_hh, out=dh)
        dh += direct
