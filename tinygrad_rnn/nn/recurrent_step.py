"""One time step of each recurrent cell kind, by either path, and the one loop over time.

``CellKind`` names a cell's equations (RNN tanh/relu, LSTM, GRU in either form) and knows:
  * ``composed_step``: the step from Tensor ops (cell_math), reading like the equations;
  * ``project_inputs``: the input projection x W_ih^T (+ biases) for all time steps in one GEMM;
  * ``fused_step``: the step as one graph node (fused_steps), given its slice of that projection;
  * ``fused_sequence``: every step of the layer-direction as one graph node (fused_sequences).
``run_time_loop`` owns the loop over time and its direction for every path, and ``uses_sequence_node``
decides when a layer runs as one node.
"""
from ..autograd import stack
from ..autograd.ops.movement import Unbind
from . import cell_math
from . import fused_sequences
from . import fused_steps
from ..autograd.ops.matmul import Linear

SEQUENCE_NODE_MAX_WORK = 33_554_432
"""Largest B * G*H * H (multiply-adds of one step's recurrent product) that ``fused=True`` runs as one node
per layer-direction; above it, one node per step. The saving, a node's Python per step, is fixed while the
step's arithmetic grows. Training steps of benchmarks/rnn_speed.py's configurations, the two paths in turns
(float32 and float64, 1 and 2 threads): the sequence node took 0.8-0.9x the per-step path's time at 2.1M
(batch 32, LSTM 128), 0.83-1.01x at 12.6-16.8M (batch 64, GRU and LSTM 256) and 0.92-1.05x at 101-134M
(batch 128, hidden 1024); the limit lies between the last two."""


class CellKind:
    """The equations of one recurrent cell kind: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'."""

    def __init__(self, mode, reset_after=True):
        if mode not in ("RNN_TANH", "RNN_RELU", "LSTM", "GRU"):
            raise ValueError(f"unknown recurrent mode {mode!r}")
        self.mode, self.reset_after = mode, reset_after
        self.gate_count = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}[mode]
        self.state_size = 2 if mode == "LSTM" else 1   # (h, c) or (h,)

    def composed_step(self, x, state, weights, mask=None):
        """New state tuple from the input x_t (B, I), built from primitive ops."""
        w_ih, w_hh, b_ih, b_hh = weights
        h = state[0]
        if self.mode == "LSTM":
            h_new, c_new = cell_math.lstm_step(x, h, state[1], w_ih, w_hh, b_ih, b_hh)
            return (cell_math.keep_finished(mask, h_new, h), cell_math.keep_finished(mask, c_new, state[1]))
        if self.mode == "GRU":
            step = cell_math.gru_step if self.reset_after else cell_math.gru_reset_before_step
            h_new = step(x, h, w_ih, w_hh, b_ih, b_hh)
        else:
            h_new = cell_math.rnn_step(x, h, w_ih, w_hh, b_ih, b_hh,
                                       nonlinearity="tanh" if self.mode == "RNN_TANH" else "relu")
        return (cell_math.keep_finished(mask, h_new, h),)

    def project_inputs(self, x, weights):
        """x W_ih^T + biases for every row of x (..., I) at once, as one node. b_hh is added here too,
        except PyTorch's GRU b_hn, which sits inside the reset product and so stays in the step."""
        w_ih, _, b_ih, b_hh = weights
        if b_ih is None:
            biases = ()
        elif self.mode == "GRU" and self.reset_after:
            biases = (b_ih,)
        else:
            biases = (b_ih, b_hh)
        return Linear.apply(x, w_ih, *biases)

    def fused_step(self, xp, state, weights, mask=None, tape=None, first_step=False):
        """New state tuple from this step's projected input xp (B, gates*H), as one graph node.

        Steps of one sequence may share a ``WeightGradTape``; ``first_step`` marks the one that
        returns the summed W_hh gradient."""
        w_hh, b_hh = weights[1], weights[3]
        extra = {"mask": mask, "tape": tape, "first_step": first_step}
        if self.mode == "LSTM":
            return fused_steps.LSTMStep.apply(xp, state[0], state[1], w_hh, **extra)
        if self.mode == "GRU":
            if not self.reset_after:
                return (fused_steps.GRUResetBeforeStep.apply(xp, state[0], w_hh, **extra),)
            if b_hh is None:
                return (fused_steps.GRUStep.apply(xp, state[0], w_hh, **extra),)
            return (fused_steps.GRUStep.apply(xp, state[0], w_hh, b_hh, **extra),)
        nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
        return (fused_steps.RNNStep.apply(xp, state[0], w_hh, nonlinearity=nonlinearity, **extra),)

    @property
    def has_sequence_node(self):
        """Whether ``fused_sequence`` exists for this kind (not for the reset-before GRU)."""
        return self.mode != "GRU" or self.reset_after

    def fused_sequence(self, xp, state, weights, reverse=False):
        """(hs (T, B, H), final state tuple, each (1, B, H)) from the projected inputs xp (T, B, gates*H),
        as one graph node."""
        w_hh, b_hh = weights[1], weights[3]
        if self.mode == "LSTM":
            hs, h, c = fused_sequences.LSTMSequence.apply(xp, state[0], state[1], w_hh, reverse=reverse)
            return hs, (h, c)
        if self.mode == "GRU":
            inputs = (xp, state[0], w_hh) if b_hh is None else (xp, state[0], w_hh, b_hh)
            hs, h = fused_sequences.GRUSequence.apply(*inputs, reverse=reverse)
            return hs, (h,)
        nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
        hs, h = fused_sequences.RNNSequence.apply(xp, state[0], w_hh, nonlinearity=nonlinearity, reverse=reverse)
        return hs, (h,)


def uses_sequence_node(kind, fused, batch, hidden, masks=None):
    """Whether a layer-direction runs as one graph node (else one node per step, or composed).

    Never with ``lengths`` (masks) or for a kind without a sequence node (the reset-before GRU);
    always with ``fused="sequence"``; with ``fused=True`` when one step's recurrent product is at
    most ``SEQUENCE_NODE_MAX_WORK`` multiply-adds (``fused_sequences.step_work``).
    """
    if fused not in (True, "sequence") or masks is not None or not kind.has_sequence_node:
        return False
    work = fused_sequences.step_work(batch, kind.gate_count * hidden, hidden)
    return fused == "sequence" or work <= SEQUENCE_NODE_MAX_WORK


def run_time_loop(kind, x, state, weights, fused=True, reverse=False, masks=None):
    """Run one layer in one direction over x (T, B, I) from ``state``.

    Returns (outputs, final_state): outputs (T, B, H) holds h_t in time order (the reverse
    direction stores each h_t at its own t, so both directions line up), final_state the state
    after the last step processed: each (B, H), or (1, B, H) from a sequence node (see
    ``fused_sequences``). ``masks[t]`` (B, 1) marks rows whose sequence is running at t.
    ``fused``: True, "step", "sequence" or False, as documented on ``RNNBase``.
    """
    if uses_sequence_node(kind, fused, x.shape[1], state[0].shape[-1], masks):
        return kind.fused_sequence(kind.project_inputs(x, weights), state, weights, reverse)
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    outputs = [None] * x.shape[0]
    if fused:
        inputs, tape = Unbind.apply(kind.project_inputs(x, weights)), fused_steps.WeightGradTape()
        for t in steps:
            state = kind.fused_step(inputs[t], state, weights, None if masks is None else masks[t],
                                    tape=tape, first_step=t == steps[0])
            outputs[t] = state[0]
        return stack(outputs), state
    inputs = Unbind.apply(x)
    for t in steps:
        state = kind.composed_step(inputs[t], state, weights, None if masks is None else masks[t])
        outputs[t] = state[0]
    return stack(outputs), state
