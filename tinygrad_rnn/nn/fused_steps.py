"""One graph node per recurrent time step: gate math in numba kernels, matrix products in BLAS.

Each Function takes the step's slice of the hoisted input projection ``xp`` (x W_ih^T + bias,
computed for all time steps in one GEMM), the previous state and the recurrent weights, and
returns the new state. Backpropagation through time is the engine walking these nodes; nothing
here loops over time.

An optional boolean ``mask`` (B, 1) marks the rows whose sequence is still running; the other
rows keep their previous state unchanged (variable-length batches). An optional ``WeightGradTape``
shared by the steps of one sequence sums the W_hh gradient in one GEMM (see its docstring).

(``np.dot`` rather than ``@`` for the 2-D products: the same BLAS call with less dispatch overhead,
and ``@`` with an inner dimension of one — a weight gradient at batch size one — measured 10x slower.)
"""
import numpy as np

from .. import kernels
from ..autograd import Function, buffers
from ..autograd.ops.matmul import column_sums


def _keep_finished(mask, new, previous):
    """new where the row's sequence is running, previous where it has ended."""
    return new if mask is None else np.where(mask, new, previous)


def _split_grad(mask, grad):
    """(gradient into the step's computation, gradient that bypasses it to the previous state)."""
    if mask is None:
        return grad, None
    return np.where(mask, grad, 0), np.where(mask, 0, grad)


def _zeros_if_none(grad, like):
    return np.zeros_like(like) if grad is None else grad


class WeightGradTape:
    """Gathers each step's recurrent-weight gradient factors so the sequence pays for one GEMM.

    dW_hh = sum_t dpre_t^T h_{t-1} is a sum of T thin products (at batch 1, T outer products, which
    BLAS does slowly). Steps sharing a tape record (dpre_t, h_{t-1}) instead; the sequence's first
    step — always the last to run backward, since every later step depends on it — stacks them and
    returns dW_hh = [dpre_1; ...; dpre_T]^T [h_0; ...; h_{T-1}] as its gradient for W_hh. The graph is
    unchanged: W_hh is an input of every step; only where its gradient is summed moves.
    """

    def __init__(self):
        self.factors = []

    def record(self, *factors):
        self.factors.append(factors)

    def take(self):
        """Per block k: (stacked left factors, stacked right factors); clears the tape for the next pass."""
        columns = list(zip(*self.factors))
        self.factors = []
        return [buffers.concatenate(column, axis=0) for column in columns]


def _recurrent_weight_grad(node, *factors):
    """This step's share of dW_hh: returned directly, or recorded on the sequence's tape.

    ``factors`` pairs up as (left_1, right_1, left_2, right_2, ...), one pair per block of rows of
    W_hh, with dW_block = left^T right. Returns the full gradient, or None while the tape collects.
    """
    tape = node.tape
    if tape is None:
        blocks = [buffers.dot(factors[k].T, factors[k + 1]) for k in range(0, len(factors), 2)]
    else:
        tape.record(*factors)
        if not node.first_step:
            return None
        stacked = tape.take()
        blocks = [buffers.dot(stacked[k].T, stacked[k + 1]) for k in range(0, len(stacked), 2)]
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=0)


class RNNStep(Function):
    """h = act(xp + h_prev W_hh^T), act = tanh or relu;  dpre = dh * act'(pre)."""

    def forward(self, xp, h_prev, w_hh, mask=None, nonlinearity="tanh", tape=None, first_step=False):
        self.tape, self.first_step = tape, first_step
        pre = buffers.dot(h_prev, w_hh.T)
        pre += xp
        h = buffers.empty_like(h_prev)
        if nonlinearity == "tanh":
            kernels.rnn_tanh_fwd(pre, h)
        else:
            kernels.rnn_relu_fwd(pre, h)
        self.h, self.h_prev, self.w_hh, self.mask, self.nonlinearity = h, h_prev, w_hh, mask, nonlinearity
        return _keep_finished(mask, h, h_prev)

    def backward(self, dh):
        dh, carry = _split_grad(self.mask, dh)
        dpre = buffers.empty_like(self.h)
        if self.nonlinearity == "tanh":
            kernels.rnn_tanh_bwd(self.h, dh, dpre)
        else:
            kernels.rnn_relu_bwd(self.h, dh, dpre)
        need_xp, need_h, need_w = self.needs_input_grad
        dh_prev = buffers.dot(dpre, self.w_hh) if need_h else None
        if carry is not None and need_h:
            dh_prev += carry
        dw_hh = _recurrent_weight_grad(self, dpre, self.h_prev) if need_w else None
        return (dpre if need_xp else None), dh_prev, dw_hh


class LSTMStep(Function):
    """LSTM step, gates i, f, g, o stacked in ``xp`` (B, 4H) as PyTorch.

    pre = xp + h_prev W_hh^T;  i, f, o = sig(pre_i, pre_f, pre_o);  g = tanh(pre_g)
    c = f * c_prev + i * g;    h = o * tanh(c)
    """

    def forward(self, xp, h_prev, c_prev, w_hh, mask=None, tape=None, first_step=False):
        self.tape, self.first_step = tape, first_step
        pre = buffers.dot(h_prev, w_hh.T)
        pre += xp
        gates, c = buffers.empty_like(pre), buffers.empty_like(c_prev)
        h, tanh_c = buffers.empty_like(h_prev), buffers.empty_like(c_prev)
        kernels.lstm_fwd(pre, c_prev, gates, c, h, tanh_c)
        self.gates, self.c_prev, self.tanh_c = gates, c_prev, tanh_c
        self.h_prev, self.w_hh, self.mask = h_prev, w_hh, mask
        return _keep_finished(mask, h, h_prev), _keep_finished(mask, c, c_prev)

    def backward(self, dh, dc):
        dh, carry_h = _split_grad(self.mask, _zeros_if_none(dh, self.h_prev))
        dc, carry_c = _split_grad(self.mask, _zeros_if_none(dc, self.c_prev))
        dpre, dc_prev = buffers.empty_like(self.gates), buffers.empty_like(self.c_prev)
        kernels.lstm_bwd(self.gates, self.c_prev, self.tanh_c, dh, dc, dpre, dc_prev)
        need_xp, need_h, need_c, need_w = self.needs_input_grad
        dh_prev = buffers.dot(dpre, self.w_hh) if need_h else None
        if carry_h is not None:
            if need_h:
                dh_prev += carry_h
            dc_prev += carry_c
        return ((dpre if need_xp else None), dh_prev, (dc_prev if need_c else None),
                (_recurrent_weight_grad(self, dpre, self.h_prev) if need_w else None))


class GRUStep(Function):
    """GRU step in PyTorch's form, gates r, z, n stacked in ``xp`` (B, 3H) = x W_ih^T + b_ih.

    hp = h_prev W_hh^T + b_hh;  r = sig(xp_r + hp_r);  z = sig(xp_z + hp_z)
    n = tanh(xp_n + r * hp_n);  h = (1 - z) * n + z * h_prev
    """

    def forward(self, xp, h_prev, w_hh, b_hh=None, mask=None, tape=None, first_step=False):
        self.tape, self.first_step = tape, first_step
        hp = buffers.dot(h_prev, w_hh.T)
        if b_hh is not None:
            hp += b_hh
        gates, h = buffers.empty_like(xp), buffers.empty_like(h_prev)
        kernels.gru_fwd(xp, hp, h_prev, gates, h)
        self.gates, self.hp, self.h_prev, self.w_hh, self.mask = gates, hp, h_prev, w_hh, mask
        return _keep_finished(mask, h, h_prev)

    def backward(self, dh):
        dh, carry = _split_grad(self.mask, dh)
        dxp, dhp = buffers.empty_like(self.gates), buffers.empty_like(self.hp)
        dh_prev = buffers.empty_like(self.h_prev)
        kernels.gru_bwd(self.gates, self.hp, self.h_prev, dh, dxp, dhp, dh_prev)
        needs = self.needs_input_grad
        dh_prev += np.dot(dhp, self.w_hh)
        if carry is not None:
            dh_prev += carry
        grads = [dxp if needs[0] else None, dh_prev if needs[1] else None,
                 _recurrent_weight_grad(self, dhp, self.h_prev) if needs[2] else None]
        if len(needs) == 4:
            grads.append(column_sums(dhp) if needs[3] else None)
        return tuple(grads)


class GRUResetBeforeStep(Function):
    """GRU step in Cho et al.'s form: the reset gate scales h before the recurrent product.

    r, z = sig(xp_rz + h_prev W_hrz^T);  n = tanh(xp_n + (r * h_prev) W_hn^T);
    h = (1 - z) * n + z * h_prev.  All of b_ih and b_hh are folded into ``xp``.
    """

    def forward(self, xp, h_prev, w_hh, mask=None, tape=None, first_step=False):
        self.tape, self.first_step = tape, first_step
        hidden = h_prev.shape[1]
        w_rz, w_n = w_hh[:2 * hidden], w_hh[2 * hidden:]
        pre_rz = np.dot(h_prev, w_rz.T)
        pre_rz += xp[:, :2 * hidden]
        rz, rh = np.empty_like(pre_rz), np.empty_like(h_prev)
        kernels.gru_rb_gates_fwd(pre_rz, h_prev, rz, rh)
        pre_n = np.dot(rh, w_n.T)
        pre_n += xp[:, 2 * hidden:]
        n, h = np.empty_like(h_prev), np.empty_like(h_prev)
        kernels.gru_rb_out_fwd(pre_n, rz, h_prev, n, h)
        self.rz, self.rh, self.n, self.h_prev, self.w_hh, self.mask = rz, rh, n, h_prev, w_hh, mask
        return _keep_finished(mask, h, h_prev)

    def backward(self, dh):
        dh, carry = _split_grad(self.mask, dh)
        hidden = self.h_prev.shape[1]
        w_rz, w_n = self.w_hh[:2 * hidden], self.w_hh[2 * hidden:]
        dpre_n, dz, dh_prev = np.empty_like(self.n), np.empty_like(self.n), np.empty_like(self.n)
        kernels.gru_rb_out_bwd(self.n, self.rz, self.h_prev, dh, dpre_n, dz, dh_prev)
        drh = np.dot(dpre_n, w_n)
        dpre_rz = np.empty_like(self.rz)
        kernels.gru_rb_gates_bwd(self.rz, self.h_prev, drh, dz, dpre_rz, dh_prev)
        dh_prev += np.dot(dpre_rz, w_rz)
        if carry is not None:
            dh_prev += carry
        need_xp, need_h, need_w = self.needs_input_grad
        dxp = np.concatenate([dpre_rz, dpre_n], axis=1) if need_xp else None
        dw = _recurrent_weight_grad(self, dpre_rz, self.h_prev, dpre_n, self.rh) if need_w else None
        return dxp, (dh_prev if need_h else None), dw
