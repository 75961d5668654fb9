"""Neural-network layers on the autograd engine: Module, Linear, Embedding, Dropout, and the
recurrent cells and stacks (RNN, LSTM, GRU) with PyTorch's names and layouts."""
from . import functional, init
from .activations import ELU, LeakyReLU, ReLU, Sigmoid, Tanh
from .cells import GRUCell, LSTMCell, RNNCell
from .highway import Highway, HighwayStack
from .layer_norm_lstm import LayerNormLSTM, LayerNormLSTMCell
from .layers import Dropout, Embedding, Linear
from .maxout import Maxout
from .module import Module, Parameter
from .mut_cells import MUT1, MUT2, MUT3, MUT1Cell, MUT2Cell, MUT3Cell
from .normalization import BatchNorm1d, LayerNorm
from .recurrent import GRU, LSTM, RNN, RNNBase
from .rnn_utils import detach_state, pad_sequences

__all__ = [
    "Module", "Parameter", "Linear", "Embedding", "Dropout", "RNNCell", "LSTMCell", "GRUCell",
    "RNNBase", "RNN", "LSTM", "GRU", "detach_state", "pad_sequences", "functional", "init",
    "MUT1", "MUT2", "MUT3", "MUT1Cell", "MUT2Cell", "MUT3Cell", "LayerNormLSTM", "LayerNormLSTMCell",
    "Highway", "HighwayStack", "LayerNorm", "BatchNorm1d", "Maxout",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU",
]
