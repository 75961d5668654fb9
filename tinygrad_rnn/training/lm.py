"""The recurrent language model: token ids -> embedding -> RNN/LSTM/GRU stack -> logits over the vocabulary.

For ids x_1..x_T (one column per stream of the batch)::

    e_t      = E[x_t]                  (or the one-hot vector of x_t when embedding_dim is 0/None)
    h_t, s_t = cell stack(e_t, s_{t-1})  (num_layers layers, dropout between them and before the decoder)
    logits_t = h_t W_dec^T + b_dec     -> softmax gives p(x_{t+1} | x_1..x_t)

Parameter names are PyTorch's (``embedding.weight``, ``rnn.weight_ih_l0``, ..., ``decoder.weight``,
``decoder.bias``), so the weights load into ``torch.nn.Embedding`` + ``torch.nn.LSTM`` + ``torch.nn.Linear``.
``config`` is a JSON-safe dict from which :meth:`CharLM.from_config` rebuilds the same architecture.

Shapes: ``forward(ids (T, B) int64, state=None) -> (logits (T, B, V), state)`` with state ``h`` (L, B, H) or,
for the LSTM, ``(h, c)``.

>>> import numpy as np
>>> model = CharLM(vocab_size=5, cell="gru", hidden_size=8, num_layers=2, embedding_dim=4)
>>> logits, h = model(np.zeros((3, 2), dtype=np.int64))
>>> logits.shape, h.shape, logits.dtype
((3, 2, 5), (2, 2, 8), dtype('float32'))
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..autograd.dtypes import resolve_dtype
from ..nn import GRU, LSTM, RNN, Dropout, Embedding, Linear, Module

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}
_CONFIG_KEYS = ("vocab_size", "cell", "hidden_size", "num_layers", "embedding_dim", "dropout", "dtype")


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"CharLM: expected int {name}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"CharLM: expected {name} >= {minimum}, got {value}")
    return int(value)


class CharLM(Module):
    """A recurrent language model over characters or words (any integer token ids below ``vocab_size``).

    ``cell``: 'lstm', 'gru' or 'rnn' (tanh). ``embedding_dim``: size of the learned input vectors, or 0/None
    to feed one-hot vectors (the stack's input size is then ``vocab_size``, as in min-char-rnn).
    ``dropout`` acts between recurrent layers and on the top layer's output in training mode.
    """

    def __init__(self, vocab_size: int, cell: str = "lstm", hidden_size: int = 256, num_layers: int = 2,
                 embedding_dim: int | None = 64, dropout: float = 0.0, dtype=None):
        super().__init__()
        vocab_size = _check_int("vocab_size", vocab_size, 1)
        hidden_size = _check_int("hidden_size", hidden_size, 1)
        num_layers = _check_int("num_layers", num_layers, 1)
        embedding_dim = 0 if embedding_dim is None else _check_int("embedding_dim", embedding_dim, 0)
        if not isinstance(cell, str) or cell not in CELLS:
            raise ValueError(f"CharLM: expected cell in {sorted(CELLS)}, got {cell!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"CharLM: expected dropout in [0, 1), got {dropout!r}")
        self.dtype = resolve_dtype(dtype)
        self.vocab_size, self.cell, self.hidden_size = vocab_size, cell, hidden_size
        self.num_layers, self.embedding_dim, self.dropout = num_layers, embedding_dim, float(dropout)
        if embedding_dim:
            self.embedding = Embedding(vocab_size, embedding_dim, dtype=self.dtype)
        # between-layer dropout is the stack's own; a 1-layer stack would only warn that it has none
        self.rnn = CELLS[cell](embedding_dim or vocab_size, hidden_size, num_layers=num_layers,
                               dropout=self.dropout if num_layers > 1 else 0.0, dtype=self.dtype)
        self.drop = Dropout(self.dropout)
        self.decoder = Linear(hidden_size, vocab_size, dtype=self.dtype)

    @property
    def config(self) -> dict:
        """JSON-safe constructor arguments: ``CharLM.from_config(model.config)`` builds the same architecture."""
        return {"vocab_size": self.vocab_size, "cell": self.cell, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers, "embedding_dim": self.embedding_dim, "dropout": self.dropout,
                "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config: dict) -> "CharLM":
        """Build a model from :attr:`config` (e.g. read back from a checkpoint's JSON)."""
        if not isinstance(config, dict):
            raise TypeError(f"CharLM.from_config: expected a dict, got {type(config).__name__}")
        missing = [k for k in _CONFIG_KEYS if k not in config]
        extra = sorted(set(config) - set(_CONFIG_KEYS))
        if missing or extra:
            raise ValueError(f"CharLM.from_config: expected keys {list(_CONFIG_KEYS)}, got missing {missing}, "
                             f"unexpected {extra}")
        if config["dtype"] not in ("float32", "float64"):
            raise ValueError(f"CharLM.from_config: expected dtype 'float32' or 'float64', got {config['dtype']!r}")
        return cls(**{k: config[k] for k in _CONFIG_KEYS})

    def _check_ids(self, ids) -> np.ndarray:
        arr = ids.data if isinstance(ids, Tensor) else np.asarray(ids)
        if arr.ndim != 2:
            raise ValueError(f"CharLM: expected token ids of shape (T, B), got shape {arr.shape}")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"CharLM: expected integer token ids, got dtype {arr.dtype}")
        if arr.size == 0:
            raise ValueError(f"CharLM: expected at least one step and one stream, got shape {arr.shape}")
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= self.vocab_size:
            raise ValueError(f"CharLM: expected token ids in [0, {self.vocab_size}), got {lo if lo < 0 else hi}")
        return arr.astype(np.int64, copy=False)

    def forward(self, ids, state=None):
        """Logits (T, B, V) for the next token after each position, and the final recurrent state."""
        idx = self._check_ids(ids)
        if self.embedding_dim:
            x = self.embedding(idx)                                      # (T, B, E)
        else:
            onehot = np.zeros(idx.shape + (self.vocab_size,), dtype=self.dtype)
            np.put_along_axis(onehot, idx[..., None], 1.0, axis=-1)
            x = Tensor(onehot)                                           # (T, B, V) one-hot, no gradient
        out, state = self.rnn(x, state)                                  # (T, B, H)
        return self.decoder(self.drop(out)), state                      # (T, B, V)

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in self.config.items() if k != "dtype")
