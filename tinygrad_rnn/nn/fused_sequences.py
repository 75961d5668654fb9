"""One graph node for all time steps of one layer in one direction, for steps too small to pay for a node each.

Each Function takes the hoisted input projection ``xp`` (T, B, G*H) of the whole sequence, the
initial state and the recurrent weights, and returns every step's h (T, B, H) plus the final state.
Its forward and backward are one call each to a time loop that reuses the one-step gate kernels:
for small steps the compiled loops of :mod:`tinygrad_rnn.kernels.sequences` (products as loops),
else the Python loops of :mod:`.blas_time_loops` (each product one BLAS call); see
``compiled_loop_pays``. The backward then forms dW_hh = sum_t dpre_t^T h_{t-1} as one GEMM over all
steps. The numbers are those of the one-node-per-step path (:mod:`.fused_steps`), which the tests
check to 1e-12 in float64. Backpropagation through time happens inside this node's backward
instead of in the engine. The final state comes out as (1, B, H): its leading axis is h_n's
layer-direction axis, so the h_n of a single layer-direction is this output itself, with no node of its own.
"""
import numpy as np

from .. import kernels
from ..kernels import machine
from ..autograd import Function, buffers
from ..autograd.ops.matmul import column_sums
from . import blas_time_loops

COMPILED_LOOP_MAX_WORK = 262144
"""Largest B * G*H * H (multiply-adds of one step's recurrent product) for which a sequence node runs
the compiled time loop rather than the BLAS one. Measured over B in {1, 4, 16} x H in {32, 64, 128},
T = 25, all three cells, float32 and float64, 1 thread: the compiled loop took 0.5-0.85x the BLAS
loop's time up to 65,536 multiply-adds, 0.65-1.0x up to 262,144, and 1.04-1.25x above."""

COMPILED_LOOP_MAX_WORK_WIDER_VECTORS = 4194304
"""The same limit where the kernels' vectors are wider than the BLAS's (``kernels.machine``): numba's code on
512-bit registers against OpenBLAS's 256-bit Haswell kernels on a Zen 5 with AVX-512. Training steps (T 64,
input 64, float32 unless said), the two loops in turns in one process, medians: at 1 thread the compiled
loop took 0.77-0.91x the BLAS loop's time for the LSTM at batch 32 and hidden 128 (2.1 M; five runs), 0.76x
for the GRU, 0.73x for the float64 LSTM, 0.86x at batch 64 (4.2 M), 0.75x at batch 16 and hidden 256 (4.2
M), 0.83x at batch 32 and hidden 256 (8.4 M); at 2 threads 0.83-1.05x for the LSTM at 2.1 M, 0.87-0.90x for
the GRU and the float64 RNN (0.78x for the GRU at batch 64), 1.08x for the float64 LSTM, 0.89x at batch 64,
1.03x at batch 16 and hidden 256, 0.98x at 8.4 M, and 1.19x for an LSTM of batch 64 and hidden 256 (16.8 M;
T 100, input 128). On the same machine with the kernels built for AVX2 the compiled loop lost at 2 threads
for the float64 LSTM (1.13x) and at batch 64 (1.29x), and against OpenBLAS's own AVX-512 kernels at 2.1 M
and at batch 64 (1.05-1.19x), so there the limit above stays."""


def step_work(batch, gate_rows, hidden):
    """Multiply-adds of one step's recurrent product h_{t-1} W_hh^T, W_hh of shape (G*H, H): B * G*H * H."""
    return batch * gate_rows * hidden


def compiled_loop_max_work():
    """The largest step (``step_work``) that runs the compiled loop on this machine: ``COMPILED_LOOP_MAX_WORK``,
    or ``COMPILED_LOOP_MAX_WORK_WIDER_VECTORS`` where the kernels' vectors are wider than the BLAS's."""
    return COMPILED_LOOP_MAX_WORK_WIDER_VECTORS if machine.kernels_wider_than_blas() else COMPILED_LOOP_MAX_WORK


def compiled_loop_pays(batch, w_hh):
    """Whether the compiled time loop is the faster one for this batch and W_hh (G*H, H): small
    enough steps, and the kernels compiled (under NUMBA_DISABLE_JIT its loops would run as Python)."""
    return step_work(batch, *w_hh.shape) <= compiled_loop_max_work() and kernels.jit_enabled()


def time_loops(batch, w_hh):
    """(the module whose ``*_sequence_fwd/bwd`` this node runs, W_hh^T as a C-contiguous copy).

    The compiled loops need the copy; the BLAS loops gain from it: OpenBLAS multiplies h_{t-1}
    (32, 128) by a contiguous W_hh^T 25-50% faster in float32 than by the transposed view ``w_hh.T``
    (9-12% in float64), which made the small training steps of benchmarks/rnn_speed.py 3-9% faster
    in float32 (float64 within the noise), for one copy of W_hh per forward."""
    loops = kernels if compiled_loop_pays(batch, w_hh) else blas_time_loops
    return loops, np.ascontiguousarray(w_hh.T)


def _contiguous(*arrays):
    return [np.ascontiguousarray(a) for a in arrays]


def _grad_or_zeros(grad, like):
    """``grad`` as a C-contiguous array of ``like``'s shape (a final state's (1, B, H) as (B, H)); zeros if None."""
    if grad is None:
        return buffers.zeros(like.shape, like.dtype)
    grad = np.ascontiguousarray(grad)
    return grad if grad.shape == like.shape else grad.reshape(like.shape)


def _final(hs, reverse):
    """The state after the last step processed, as (1, B, H): h_{T-1}, or h_0 in the reverse direction (a copy)."""
    last = 0 if reverse else len(hs) - 1
    return hs[last:last + 1].copy()


def states_with_initial(h0, steps, reverse):
    """(hs, h_prev): two views of one (T+1, B, H) array that holds h0 and, after the time loop, every h_t.

    hs[t] = h_t, where the loop writes; h_prev[t] = h_{t-1}, the state step t started from (h0 for the
    first step processed). Forward the array is [h0, h_0, ..., h_{T-1}], reverse [h_0, ..., h_{T-1}, h0].
    So the weight gradient's GEMM reads the previous states in place: no (T, B, H) copy per backward.

    >>> hs, h_prev = states_with_initial(np.array([[0.0]]), 2, False)
    >>> hs[:] = [[[1.0]], [[2.0]]]
    >>> h_prev[:, 0, 0]
    array([0., 1.])
    """
    states = buffers.empty((steps + 1,) + h0.shape, h0.dtype)
    if reverse:
        states[steps] = h0
        return states[:steps], states[1:]
    states[0] = h0
    return states[1:], states[:steps]


def recurrent_weight_grad(dpre, h_prev):
    """dW_hh = sum_t dpre_t^T h_{t-1}, over every step and batch row in one GEMM: (G*H, H)."""
    return buffers.dot(dpre.reshape(-1, dpre.shape[-1]).T, h_prev.reshape(-1, h_prev.shape[-1]))


class RNNSequence(Function):
    """h_t = act(xp_t + h_{t-1} W_hh^T) for every t, act = tanh or relu.  Returns (hs, h_last (1, B, H))."""

    fresh_grads = True

    def forward(self, xp, h0, w_hh, nonlinearity="tanh", reverse=False):
        xp, h0, w_hh = _contiguous(xp, h0, w_hh)
        hs, self.h_prev = states_with_initial(h0, xp.shape[0], reverse)
        relu = nonlinearity == "relu"
        loops, w_hh_t = time_loops(h0.shape[0], w_hh)
        loops.rnn_sequence_fwd(xp, h0, w_hh_t, reverse, relu, hs)
        self.hs, self.h0, self.w_hh, self.relu, self.reverse, self.loops = hs, h0, w_hh, relu, reverse, loops
        return hs, _final(hs, reverse)

    def backward(self, dhs, dh_last):
        dxp, dh0 = buffers.empty_like(self.hs), np.empty_like(self.h0)
        self.loops.rnn_sequence_bwd(self.hs, self.w_hh, _grad_or_zeros(dhs, self.hs),
                                    _grad_or_zeros(dh_last, self.h0), self.reverse, self.relu, dxp, dh0)
        return dxp, dh0, recurrent_weight_grad(dxp, self.h_prev)


class LSTMSequence(Function):
    """Every LSTM step (gates i, f, g, o stacked in ``xp`` (T, B, 4H) as PyTorch).

    pre_t = xp_t + h_{t-1} W_hh^T;  i, f, o = sig(.), g = tanh(.);  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
    Returns (hs, h_last, c_last), the last two (1, B, H).
    """

    fresh_grads = True

    def forward(self, xp, h0, c0, w_hh, reverse=False):
        xp, h0, c0, w_hh = _contiguous(xp, h0, c0, w_hh)
        T, B, H = xp.shape[0], h0.shape[0], h0.shape[1]
        gates = buffers.empty_like(xp)
        cs, tanh_cs = buffers.empty((T, B, H), xp.dtype), buffers.empty((T, B, H), xp.dtype)
        hs, self.h_prev = states_with_initial(h0, T, reverse)
        loops, w_hh_t = time_loops(B, w_hh)
        loops.lstm_sequence_fwd(xp, h0, c0, w_hh_t, reverse, gates, cs, tanh_cs, hs)
        self.gates, self.cs, self.tanh_cs, self.hs = gates, cs, tanh_cs, hs
        self.h0, self.c0, self.w_hh, self.reverse, self.loops = h0, c0, w_hh, reverse, loops
        return hs, _final(hs, reverse), _final(cs, reverse)

    def backward(self, dhs, dh_last, dc_last):
        dxp, dh0, dc0 = buffers.empty_like(self.gates), np.empty_like(self.h0), np.empty_like(self.c0)
        self.loops.lstm_sequence_bwd(self.gates, self.cs, self.tanh_cs, self.c0, self.w_hh,
                                     _grad_or_zeros(dhs, self.hs), _grad_or_zeros(dh_last, self.h0),
                                     _grad_or_zeros(dc_last, self.c0), self.reverse, dxp, dh0, dc0)
        return dxp, dh0, dc0, recurrent_weight_grad(dxp, self.h_prev)


class GRUSequence(Function):
    """Every GRU step in PyTorch's form (gates r, z, n; ``xp`` = x W_ih^T + b_ih, (T, B, 3H)).

    hp_t = h_{t-1} W_hh^T + b_hh;  r, z = sig(xp + hp);  n = tanh(xp_n + r hp_n);  h_t = (1 - z) n + z h_{t-1}
    ``b_hh`` may be None (bias=False). Returns (hs, h_last (1, B, H)).
    """

    fresh_grads = True

    def forward(self, xp, h0, w_hh, b_hh=None, reverse=False):
        xp, h0, w_hh = _contiguous(xp, h0, w_hh)
        bias = np.zeros(w_hh.shape[0], xp.dtype) if b_hh is None else np.ascontiguousarray(b_hh)
        T, B, H = xp.shape[0], h0.shape[0], h0.shape[1]
        gates, hps = buffers.empty_like(xp), buffers.empty_like(xp)
        hs, self.h_prev = states_with_initial(h0, T, reverse)
        loops, w_hh_t = time_loops(B, w_hh)
        loops.gru_sequence_fwd(xp, h0, w_hh_t, bias, reverse, gates, hps, hs)
        self.gates, self.hps, self.hs, self.h0, self.w_hh, self.reverse = gates, hps, hs, h0, w_hh, reverse
        self.loops = loops
        return hs, _final(hs, reverse)

    def backward(self, dhs, dh_last):
        dxp, dhps, dh0 = buffers.empty_like(self.gates), buffers.empty_like(self.hps), np.empty_like(self.h0)
        self.loops.gru_sequence_bwd(self.gates, self.hps, self.hs, self.h0, self.w_hh, _grad_or_zeros(dhs, self.hs),
                                    _grad_or_zeros(dh_last, self.h0), self.reverse, dxp, dhps, dh0)
        dw = recurrent_weight_grad(dhps, self.h_prev)
        if len(self.needs_input_grad) == 3:
            return dxp, dh0, dw
        return dxp, dh0, dw, column_sums(dhps.reshape(-1, dhps.shape[-1]))
