"""Evaluate a language model on a whole token stream: mean negative log-likelihood in nats per token.

The stream ids_0..ids_{N-1} is read from a zero state, in eval mode (no dropout) and under ``no_grad``; every
token after the first is scored exactly once, given the tokens before it::

    nll = -(1 / (N - 1)) * sum_{t=1}^{N-1} log p(ids_t | context)

With ``streams=1`` (the default) the context is the whole prefix ids_0..ids_{t-1}: one pass over the stream.
``streams=S`` cuts it into S contiguous pieces read side by side as a batch, each from a zero state (the
last token of piece b predicts the first token of piece b+1, so still every token is scored once); the
tokens at the start of each piece see less context, which costs a little accuracy and gains up to S times
the speed. Either way the stream is fed in chunks of ``chunk_len`` steps with the state carried, so only
one chunk's activations are held. Bits per token = nats / ln 2; perplexity = exp(nats).

Shapes: ``ids`` (N,) ints, N >= 2; the model maps ``(T, S)`` ids and a state to ``(T, S, V)`` logits.

>>> import numpy as np
>>> from tinygrad_rnn.training.lm import CharLM
>>> model = CharLM(vocab_size=4, cell="rnn", hidden_size=3, num_layers=1)
>>> _ = [p.data.fill(0.0) for p in model.parameters()]      # uniform predictions: log(4) nats per token
>>> round(evaluate(model, np.array([0, 1, 2, 3, 0, 1])), 4)
1.3863
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import cross_entropy, no_grad

IGNORE = -100   # target id of padding positions, skipped by cross_entropy


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"evaluate: expected an int {name} >= 1, got {value!r}")
    return int(value)


def evaluate(model, ids, chunk_len: int = 512, streams: int = 1) -> float:
    """Mean NLL in nats per predicted token of the stream ``ids`` (N,) under ``model``; N >= 2.

    The model's training mode is restored afterwards.
    """
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"evaluate: expected a 1-D stream of token ids, got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"evaluate: expected at least 2 tokens (one input and its target), got {arr.size}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"evaluate: expected integer token ids, got dtype {arr.dtype}")
    chunk_len = _check_positive_int("chunk_len", chunk_len)
    streams = min(_check_positive_int("streams", streams), arr.size - 1)
    n = arr.size
    L = -(-(n - 1) // streams)                       # steps per piece; pieces cover inputs 0..n-2
    pos = np.arange(streams)[None, :] * L + np.arange(L)[:, None]                          # (L, S)
    x = np.where(pos < n - 1, arr[np.minimum(pos, n - 1)], 0).astype(np.int64)           # (L, S) inputs
    y = np.where(pos < n - 1, arr[np.minimum(pos + 1, n - 1)], IGNORE).astype(np.int64)  # (L, S) targets
    was_training = model.training
    model.eval()
    total, state = 0.0, None
    try:
        with no_grad():
            for s in range(0, L, chunk_len):
                xs, ys = x[s: s + chunk_len], y[s: s + chunk_len]
                logits, state = model(xs, state)                                          # (T, S, V)
                loss = cross_entropy(logits.reshape(ys.size, -1), ys.reshape(-1), reduction="sum",
                                     ignore_index=IGNORE)
                total += float(loss.item())
    finally:
        model.train(was_training)
    return total / (n - 1)


def bits(nats: float) -> float:
    """Nats to bits: nats / ln 2."""
    return nats / math.log(2.0)
