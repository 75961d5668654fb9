"""The grid of recurrent configurations the layer tests run over, defined once.

Each cell kind maps to (stack class name, cell class name, extra constructor arguments); a grid entry is
(kind, layers, bidirectional, batch_first, last flag), the last flag being whatever a test varies
(bias, or the fused path).
"""
import itertools

CELL_KINDS = {
    "rnn_tanh": ("RNN", "RNNCell", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNN", "RNNCell", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", "LSTMCell", {}),
    "gru": ("GRU", "GRUCell", {}),
    "gru_reset_before": ("GRU", "GRUCell", {"reset_after": False}),
}


def grid(kinds):
    """Every (kind, layers, bidirectional, batch_first, flag) over ``kinds``, layers 1 and 2, flags True/False."""
    return list(itertools.product(kinds, (1, 2), (False, True), (False, True), (True, False)))


# The ways a stack can run its steps, as test parameters: "sequence-blas" is fused="sequence" with the
# time loop over BLAS products forced (at the tests' small sizes the compiled loop is otherwise chosen).
FUSED_PATHS = ["step", "sequence", "sequence-blas", False]
FUSED_PATH_IDS = ["step", "sequence", "sequence-blas", "composed"]


def fused_option(path, monkeypatch):
    """The ``fused=`` argument for a path of ``FUSED_PATHS`` (patching the loop choice for "sequence-blas")."""
    if path != "sequence-blas":
        return path
    from tinygrad_rnn.nn import fused_sequences
    monkeypatch.setattr(fused_sequences, "compiled_loop_max_work", lambda: -1)
    return "sequence"
