"""Truncated-BPTT batching: B contiguous parallel streams cut into windows of T steps.

The token stream of N ids is cut into B equal contiguous streams (the tail of N mod B tokens is dropped) and
laid out time-major as ``data`` of shape (L, B) with L = N // B, so column b is stream b::

    data[t, b] = ids[b * L + t]

Window k covers steps ``k*T .. k*T + T - 1``; its targets are the inputs shifted by one step::

    inputs  = data[k*T     : k*T + T]      # (T, B) int64
    targets = data[k*T + 1 : k*T + T + 1]  # (T, B) int64

Because window k+1 continues each stream exactly where window k stopped, a model may carry its hidden state
from one window to the next (detached from the graph), as min-char-rnn carries ``hprev``; reset it when an
epoch starts. The ragged remainder of fewer than T steps at the end of each stream is not used, so every
window has the same shape.

>>> b = TBPTTBatcher(list(range(20)), batch_size=2, seq_len=3)
>>> len(b), b.data.shape
(3, (10, 2))
>>> x, y = next(iter(b))
>>> x.T.tolist(), y.T.tolist()
([[0, 1, 2], [10, 11, 12]], [[1, 2, 3], [11, 12, 13]])
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class TBPTTBatcher:
    """Yield ``(inputs, targets)`` windows of shape (seq_len, batch_size), in order, epoch after epoch.

    Iterating the batcher yields the rest of the current epoch (all of it on a fresh batcher) and then
    stops; the next ``for`` loop is the next epoch. ``epoch`` counts completed epochs and ``position`` the
    windows already handed out in the current one; ``state_dict()`` / ``load_state_dict()`` save and restore
    them, so a resumed run gets exactly the window that would have come next.
    """

    def __init__(self, ids, batch_size: int, seq_len: int):
        for name, v in (("batch_size", batch_size), ("seq_len", seq_len)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"TBPTTBatcher: expected int {name}, got {type(v).__name__}")
            if v < 1:
                raise ValueError(f"TBPTTBatcher: expected {name} >= 1, got {v}")
        arr = np.asarray(ids)
        if arr.ndim != 1:
            raise ValueError(f"TBPTTBatcher: expected a 1-D sequence of token ids, got shape {arr.shape}")
        if arr.size and arr.dtype.kind not in "iu":
            raise TypeError(f"TBPTTBatcher: expected integer token ids, got dtype {arr.dtype}")
        B, T = int(batch_size), int(seq_len)
        n = int(arr.size)
        need = B * (T + 1)
        if n < need:
            raise ValueError(
                f"TBPTTBatcher: expected at least batch_size * (seq_len + 1) = {B} * ({T} + 1) = {need} "
                f"tokens for one window, got {n} tokens; use a smaller batch_size or seq_len, or more text")
        L = n // B
        self.batch_size, self.seq_len, self.n_tokens = B, T, n
        # (L, B) time-major, column b = contiguous stream b
        self.data = np.ascontiguousarray(arr[: L * B].astype(np.int64).reshape(B, L).T)
        self.epoch = 0
        self.position = 0

    def __len__(self) -> int:
        """Windows per epoch: (L - 1) // T, the last step of the final window needing a target."""
        return (self.data.shape[0] - 1) // self.seq_len

    def window(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k-th window of an epoch: ``(inputs, targets)``, each (T, B) int64."""
        if not 0 <= k < len(self):
            raise IndexError(f"TBPTTBatcher.window: expected 0 <= k < {len(self)}, got {k}")
        s = k * self.seq_len
        return self.data[s: s + self.seq_len].copy(), self.data[s + 1: s + 1 + self.seq_len].copy()

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while True:
            k = self.position
            if k >= len(self):
                return
            x, y = self.window(k)
            # advance before handing the window out, so state_dict() taken while the caller works on this
            # window already points at the next one
            if k + 1 == len(self):
                self.epoch += 1
                self.position = 0
                yield x, y
                return
            self.position = k + 1
            yield x, y

    def state_dict(self) -> dict:
        """JSON-safe progress: epoch, position and the shape of the run (checked on load)."""
        return {"epoch": self.epoch, "position": self.position, "batch_size": self.batch_size,
                "seq_len": self.seq_len, "n_tokens": self.n_tokens}

    def load_state_dict(self, state: dict) -> None:
        """Restore progress saved by :meth:`state_dict` from a batcher built on the same data and sizes."""
        if not isinstance(state, dict):
            raise TypeError(f"TBPTTBatcher.load_state_dict: expected a dict, got {type(state).__name__}")
        for key in ("batch_size", "seq_len", "n_tokens"):
            if state.get(key) != getattr(self, key):
                raise ValueError(f"TBPTTBatcher.load_state_dict: expected {key}={getattr(self, key)} as "
                                 f"this batcher has, got {key}={state.get(key)!r}")
        epoch, position = state.get("epoch"), state.get("position")
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise ValueError(f"TBPTTBatcher.load_state_dict: expected an int epoch >= 0, got {epoch!r}")
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position < len(self):
            raise ValueError(f"TBPTTBatcher.load_state_dict: expected an int position in [0, {len(self)}), "
                             f"got {position!r}")
        self.epoch, self.position = epoch, position
