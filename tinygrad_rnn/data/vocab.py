"""Vocabularies: map text to int64 token ids and back (characters or words).

Two vocabularies share one interface::

    vocab = CharVocab.from_text(text)      # sorted unique characters
    ids = vocab.encode(text)               # (N,) int64
    text == vocab.decode(ids)              # round trip
    d = vocab.to_dict()                    # JSON-safe, for checkpoints
    CharVocab.from_dict(d) == vocab

Unknown symbols follow an explicit policy chosen when the vocabulary is built:

* ``unknown='error'`` (default): encoding a symbol the vocabulary lacks raises ``ValueError`` naming the
  symbol, its position and how to fix it. No id is reserved, so ``len(vocab)`` is exactly the number of
  distinct symbols seen. This is the default because silently mapping text to a catch-all id hides data
  problems (a wrong file, a different encoding) until the model's loss looks odd.
* ``unknown='replace'``: id 0 is reserved for ``<unk>`` and every unknown symbol encodes to it.
  ``CharVocab`` decodes it as U+FFFD (the Unicode replacement character, so one id stays one character);
  ``WordVocab`` decodes it as ``<unk>``. The ``<unk>`` entry exists only in vocabularies built this way.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

UNK = "<unk>"
_POLICIES = ("error", "replace")
_FORMAT_VERSION = 1

# Word tokeniser: a run of word characters, one punctuation/symbol character, one newline, or a run of other
# whitespace (spaces, tabs). Every character of the input belongs to exactly one token, so "".join(tokens)
# reproduces the text exactly.
_WORD_RE = re.compile(r"\w+|[^\w\s]|\n|[^\S\n]+")


def tokenize_words(text: str) -> list[str]:
    """Split text into word tokens that concatenate back to the text.

    Tokens are: runs of word characters (``\\w+``), single punctuation/symbol characters, single newlines,
    and runs of other whitespace. ``"".join(tokenize_words(t)) == t`` for every string ``t``.

    >>> tokenize_words("Hi, you.\\n  Go!")
    ['Hi', ',', ' ', 'you', '.', '\\n', '  ', 'Go', '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize_words: expected text of type str, got {type(text).__name__}")
    return _WORD_RE.findall(text)


def _check_policy(owner: str, unknown: object) -> str:
    if unknown not in _POLICIES:
        raise ValueError(f"{owner}: expected unknown='error' or unknown='replace', got unknown={unknown!r}")
    return unknown  # type: ignore[return-value]


def check_token_ids(owner: str, ids: object, size: int) -> np.ndarray:
    """``ids`` as a 1-D int64 array, or a clear error naming ``owner``, the bad id and its position."""
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"{owner}: expected a 1-D sequence of token ids, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{owner}: expected integer token ids, got dtype {arr.dtype}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= size:
        bad = lo if lo < 0 else hi
        pos = int(np.flatnonzero(arr == bad)[0])
        raise ValueError(f"{owner}: expected ids in [0, {size}), got {bad} at position {pos}")
    return arr.astype(np.int64, copy=False)


class _Vocab:
    """Shared machinery: an ordered token list, the unknown policy, equality and JSON form."""

    _kind = "vocab"
    _unk_text = UNK

    def __init__(self, tokens: Sequence[str], unknown: str = "error"):
        name = type(self).__name__
        _check_policy(name, unknown)
        tokens = list(tokens)
        for i, tok in enumerate(tokens):
            if not isinstance(tok, str) or tok == "":
                raise ValueError(f"{name}: expected non-empty str tokens, got {tok!r} at index {i}")
        if len(set(tokens)) != len(tokens):
            dup = next(t for t, c in Counter(tokens).items() if c > 1)
            raise ValueError(f"{name}: expected unique tokens, got {dup!r} more than once")
        if unknown == "replace":
            if not tokens or tokens[0] != UNK:
                raise ValueError(f"{name}: with unknown='replace' expected tokens[0] == {UNK!r}, "
                                 f"got {tokens[0] if tokens else None!r}")
        self.tokens: list[str] = tokens
        self.unknown: str = unknown
        self._index = {t: i for i, t in enumerate(tokens)}

    @property
    def unk_id(self) -> int | None:
        """The id of ``<unk>`` (0) if the vocabulary was built with ``unknown='replace'``, else None."""
        return 0 if self.unknown == "replace" else None

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.tokens == other.tokens and self.unknown == other.unknown

    __hash__ = None  # mutable-looking container; compare, don't hash

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={len(self)}, unknown={self.unknown!r})"

    def _unknown_error(self, what: str, sym: str, where: str) -> ValueError:
        return ValueError(
            f"{type(self).__name__}.encode: unknown {what} {sym!r} at {where}; the vocabulary has "
            f"{len(self)} entries. Build the vocabulary from text that contains it, or build it with "
            f"unknown='replace' to map unknown symbols to {UNK!r}")

    def to_dict(self) -> dict:
        """A JSON-safe description; ``from_dict(to_dict())`` rebuilds an equal vocabulary."""
        return {"type": type(self).__name__, "version": _FORMAT_VERSION,
                "unknown": self.unknown, "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, d: dict):
        """Rebuild a vocabulary from ``to_dict()`` output, checking its type, version and tokens."""
        name = cls.__name__
        if not isinstance(d, dict):
            raise TypeError(f"{name}.from_dict: expected a dict, got {type(d).__name__}")
        if d.get("type") != name:
            raise ValueError(f"{name}.from_dict: expected type {name!r}, got {d.get('type')!r}")
        if d.get("version") != _FORMAT_VERSION:
            raise ValueError(f"{name}.from_dict: expected version {_FORMAT_VERSION}, got {d.get('version')!r}")
        tokens = d.get("tokens")
        if not isinstance(tokens, list):
            raise ValueError(f"{name}.from_dict: expected 'tokens' to be a list, got {type(tokens).__name__}")
        return cls(tokens, unknown=d.get("unknown"))


class CharVocab(_Vocab):
    """Character vocabulary: one id per distinct character, ids in sorted (code point) order.

    The order is part of the format: ``tokens = sorted(set(text))`` (after ``<unk>`` at id 0 when built
    with ``unknown='replace'``), as char-rnn and nanoGPT's shakespeare_char do.

    Shapes: ``encode(str of length N) -> (N,) int64``; ``decode((N,) ints) -> str of length N``.

    >>> v = CharVocab.from_text("hello")
    >>> v.tokens, v.encode("hole").tolist(), v.decode([3, 1])
    (['e', 'h', 'l', 'o'], [1, 3, 2, 0], 'oh')
    """

    _kind = "char"
    _unk_text = "\ufffd"

    def __init__(self, tokens: Sequence[str], unknown: str = "error"):
        super().__init__(tokens, unknown)
        chars = self.tokens[1:] if unknown == "replace" else self.tokens
        for c in chars:
            if len(c) != 1:
                raise ValueError(f"CharVocab: expected single-character tokens, got {c!r}")
        if chars != sorted(chars):
            raise ValueError("CharVocab: expected tokens in sorted order, got an unsorted list")
        self._codes = np.array([ord(c) for c in chars], dtype=np.int64)
        self._offset = 1 if unknown == "replace" else 0
        self._table = np.array(
            [self._unk_text] + chars if unknown == "replace" else chars, dtype=object)

    @classmethod
    def from_text(cls, text: str, unknown: str = "error") -> "CharVocab":
        """Build from the sorted unique characters of ``text``."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.from_text: expected text of type str, got {type(text).__name__}")
        _check_policy("CharVocab", unknown)
        chars = sorted(set(text))
        return cls([UNK] + chars if unknown == "replace" else chars, unknown=unknown)

    def encode(self, text: str) -> np.ndarray:
        """Map each character to its id: str of length N -> (N,) int64."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.encode: expected text of type str, got {type(text).__name__}")
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int64)
        if self._codes.size == 0:
            found = np.zeros(cps.shape, dtype=bool)
            pos = np.zeros(cps.shape, dtype=np.int64)
        else:
            pos = np.searchsorted(self._codes, cps)
            pos_c = np.minimum(pos, self._codes.size - 1)
            found = self._codes[pos_c] == cps
            pos = pos_c
        ids = pos + self._offset
        if not found.all():
            if self.unknown == "error":
                at = int(np.flatnonzero(~found)[0])
                raise self._unknown_error("character", text[at], f"position {at}")
            ids[~found] = 0
        return ids.astype(np.int64, copy=False)

    def decode(self, ids: Iterable[int]) -> str:
        """Map ids back to characters: (N,) ints -> str of length N (``<unk>`` decodes as U+FFFD)."""
        arr = check_token_ids("CharVocab.decode", ids, len(self))
        return "".join(self._table[arr].tolist())


class WordVocab(_Vocab):
    """Word vocabulary over the tokens of :func:`tokenize_words` (words, punctuation, newlines, spaces).

    Ids are ordered by descending count, ties by token string; with ``unknown='replace'``, ``<unk>`` is
    id 0 and the rest follow. ``min_count`` drops rarer tokens and ``max_size`` caps ``len(vocab)``
    (counting ``<unk>``); both need ``unknown='replace'``, since with ``'error'`` the dropped tokens of the
    very text the vocabulary is built from could not be encoded.

    Shapes: ``encode(text) -> (K,) int64`` with K the number of tokens; ``decode((K,) ints) -> str``.

    >>> v = WordVocab.from_text("to be, or not to be")
    >>> v.encode("be to").tolist(), v.decode(v.encode("not to be"))
    ([1, 0, 2], 'not to be')
    """

    _kind = "word"

    @classmethod
    def from_text(cls, text: str, min_count: int = 1, max_size: int | None = None,
                  unknown: str = "error") -> "WordVocab":
        """Build from the tokens of ``text``, keeping those seen ``min_count`` times, at most ``max_size``."""
        if not isinstance(text, str):
            raise TypeError(f"WordVocab.from_text: expected text of type str, got {type(text).__name__}")
        if isinstance(min_count, bool) or not isinstance(min_count, int):
            raise TypeError(f"WordVocab.from_text: expected int min_count, got {type(min_count).__name__}")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)):
            raise TypeError(f"WordVocab.from_text: expected int or None max_size, got {type(max_size).__name__}")
        _check_policy("WordVocab", unknown)
        if min_count < 1:
            raise ValueError(f"WordVocab.from_text: expected min_count >= 1, got {min_count}")
        reserve = 1 if unknown == "replace" else 0
        if max_size is not None and max_size < reserve + 1:
            raise ValueError(f"WordVocab.from_text: expected max_size >= {reserve + 1}, got {max_size}")
        counts = Counter(tokenize_words(text))
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = [t for t, c in ordered if c >= min_count]
        if max_size is not None:
            kept = kept[: max_size - reserve]
        if unknown == "error" and len(kept) < len(ordered):
            raise ValueError(
                f"WordVocab.from_text: min_count={min_count}, max_size={max_size} drop "
                f"{len(ordered) - len(kept)} of {len(ordered)} distinct tokens, but unknown='error' expects "
                f"every token of the text to be kept; pass unknown='replace' to map dropped tokens to {UNK!r}")
        return cls([UNK] + kept if reserve else kept, unknown=unknown)

    def encode(self, text: str) -> np.ndarray:
        """Tokenise and map each token to its id: text -> (K,) int64."""
        if not isinstance(text, str):
            raise TypeError(f"WordVocab.encode: expected text of type str, got {type(text).__name__}")
        index = self._index
        toks = tokenize_words(text)
        if self.unknown == "replace":
            return np.fromiter((index.get(t, 0) for t in toks), dtype=np.int64, count=len(toks))
        out = np.empty(len(toks), dtype=np.int64)
        for k, t in enumerate(toks):
            i = index.get(t)
            if i is None:
                at = sum(len(x) for x in toks[:k])
                raise self._unknown_error("word", t, f"token {k} (character position {at})")
            out[k] = i
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Join the tokens of ``ids`` back into text: (K,) ints -> str."""
        arr = check_token_ids("WordVocab.decode", ids, len(self))
        toks = self.tokens
        return "".join(toks[i] for i in arr.tolist())
