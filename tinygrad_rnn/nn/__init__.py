"""Neural-network layers on the autograd engine: Module, Linear, Embedding, Dropout, and the
recurrent cells and stacks (RNN, LSTM, GRU) with PyTorch's names and layouts."""
from . import functional, init
from .cells import GRUCell, LSTMCell, RNNCell
from .layers import Dropout, Embedding, Linear
from .module import Module, Parameter
from .recurrent import GRU, LSTM, RNN, RNNBase
from .rnn_utils import detach_state, pad_sequences

__all__ = [
    "Module", "Parameter", "Linear", "Embedding", "Dropout", "RNNCell", "LSTMCell", "GRUCell",
    "RNNBase", "RNN", "LSTM", "GRU", "detach_state", "pad_sequences", "functional", "init",
]
