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
