"""Sample text from a language model, one token at a time, carrying the recurrent state.

After the prime has been read, each new token is drawn from the model's next-token distribution::

    p = softmax(logits / temperature)          (only the top_k largest logits kept, if top_k is given)
    x_{t+1} ~ p,   or x_{t+1} = argmax logits  (greedy)

and fed back as the next input, with the state from the previous step (no re-reading of the history).
Everything runs in eval mode under ``no_grad``. ``seed`` gives a private generator, so sampling with a
seed neither reads nor advances the library's generator (a training run's random stream is untouched).

>>> import numpy as np
>>> from tinygrad_rnn.data import CharVocab
>>> from tinygrad_rnn.training.lm import CharLM
>>> vocab = CharVocab.from_text("ab\\n")
>>> model = CharLM(len(vocab), cell="gru", hidden_size=8, num_layers=1, embedding_dim=4)
>>> text = sample(model, vocab, 10, prime="ab", seed=0)
>>> text.startswith("ab"), len(text)
(True, 12)
"""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..autograd import random as tg_random
from ..data import CharVocab


def encode_prime(vocab, prime: str) -> np.ndarray:
    """The ids of ``prime``, or a ValueError naming the first symbol the vocabulary does not have."""
    if not isinstance(prime, str):
        raise TypeError(f"sample: expected prime of type str, got {type(prime).__name__}")
    if isinstance(vocab, CharVocab):
        known = set(vocab.tokens)
        for i, ch in enumerate(prime):
            if ch not in known:
                raise ValueError(f"sample: prime character {ch!r} (at position {i}) is not in the model's "
                                 f"vocabulary of {len(vocab)} characters; use only characters of the "
                                 f"training text")
        return vocab.encode(prime) if prime else np.zeros(0, np.int64)
    try:
        return vocab.encode(prime)
    except ValueError as e:
        raise ValueError(f"sample: prime text has a word the model's vocabulary lacks: {e}") from None


def _next_token(logits: np.ndarray, temperature: float, top_k: int | None, greedy: bool, rng) -> int:
    """One draw from the (V,) logits of the last step."""
    if greedy:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < z.size:
        cutoff = np.partition(z, -top_k)[-top_k]
        z = np.where(z >= cutoff, z, -np.inf)
    z -= z.max()
    p = np.exp(z)
    p /= p.sum()
    return int(rng.choice(p.size, p=p))


def sample(model, vocab, length: int, temperature: float = 1.0, top_k: int | None = None,
           greedy: bool = False, prime: str = "", seed: int | None = None) -> str:
    """Return ``prime`` followed by ``length`` generated tokens, decoded to text.

    With an empty prime the model starts from a newline (if the vocabulary has one, else token 0), which is
    not part of the returned text. ``temperature`` > 0 sharpens (< 1) or flattens (> 1) the distribution;
    ``top_k`` keeps only the k most likely tokens; ``greedy`` always takes the most likely one.
    """
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ValueError(f"sample: expected an int length >= 0, got {length!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"sample: expected temperature > 0 (use greedy=True for argmax), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise ValueError(f"sample: expected top_k to be None or an int >= 1, got {top_k!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"sample: expected seed to be None or an int >= 0, got {seed!r}")
    ids = encode_prime(vocab, prime)
    if ids.size == 0:
        start = vocab.tokens.index("\n") if "\n" in vocab.tokens else 0
        ids = np.array([start], dtype=np.int64)
    rng = np.random.default_rng(seed) if seed is not None else tg_random.generator()
    was_training = model.training
    model.eval()
    out: list[int] = []
    try:
        with no_grad():
            logits, state = model(ids[:, None])                          # read the prime: (P, 1, V)
            for i in range(int(length)):
                token = _next_token(logits.data[-1, 0], float(temperature), top_k, greedy, rng)
                out.append(token)
                if i + 1 < length:
                    logits, state = model(np.array([[token]], dtype=np.int64), state)   # (1, 1, V)
    finally:
        model.train(was_training)
    return prime + vocab.decode(np.array(out, dtype=np.int64))
