"""Interpolated Kneser-Ney n-gram language model over integer token ids: the count-based baseline.

For a context h (the previous k-1 tokens) and its shortening h' (drop the oldest token), level k is::

    p_k(w | h) = max(a_k(h w) - D_k, 0) / S_k(h)  +  D_k * U_k(h) / S_k(h) * p_{k-1}(w | h')
    S_k(h) = sum_w a_k(h w),   U_k(h) = #{w : a_k(h w) > 0},   p_0(w) = 1 / V

with ``p_k(w | h) = p_{k-1}(w | h')`` when S_k(h) = 0 (h never seen). The counts a_k are raw counts
c(h w) at the highest order N and continuation counts N1+(. h w) (the number of distinct tokens seen
before h w) at every lower order. With 0 < D_k <= 1 each p_k(. | h) sums to 1 and every probability is
at least D_1 U_1 / (S_1 V) > 0. D_k is given, or estimated per order as n1 / (n1 + 2 n2) from the numbers
of k-grams with a_k = 1 and a_k = 2 (Ney, Essen & Kneser 1994), clipped to [0.05, 0.95].

Counting is done with NumPy only: the k-gram starting at position i gets the exact key
``rank_{k-1}[i] * V + ids[i + k - 1]``, where rank_{k-1}[i] is the index of its (k-1)-gram prefix among the
sorted distinct (k-1)-grams; ``np.unique`` gives counts and ranks, ``np.searchsorted`` looks up new text.

Shapes: ``fit((N,) ints)``; ``log_prob_next((c,) ints) -> (V,) float64``; ``evaluate((M,) ints) -> float``.

>>> lm = KneserNeyLM(order=2, vocab_size=3, discount=0.5).fit([0, 1, 0, 1, 0, 1])
>>> p = np.exp(lm.log_prob_next([0]))
>>> round(float(p.sum()), 12), bool(p[1] > 0.8)
(1.0, True)
"""

from __future__ import annotations

import numpy as np

from ..data.vocab import check_token_ids


class KneserNeyLM:
    """Interpolated Kneser-Ney model of orders 1..order (contexts of up to order-1 tokens).

    ``discount``: a float in (0, 1] used at every order (default 0.75), or None to estimate one per order.
    On tinyshakespeare (first 90% / last 10%, order 7) 0.75 gives 1.547 nats/char, the per-order estimate 1.565.
    """

    def __init__(self, order: int, vocab_size: int, discount: float | None = 0.75):
        if isinstance(order, bool) or not isinstance(order, int):
            raise TypeError(f"KneserNeyLM: expected int order, got {type(order).__name__}")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise TypeError(f"KneserNeyLM: expected int vocab_size, got {type(vocab_size).__name__}")
        if discount is not None and (isinstance(discount, bool) or not isinstance(discount, (int, float))):
            raise TypeError(f"KneserNeyLM: expected a float or None discount, got {type(discount).__name__}")
        if order < 1:
            raise ValueError(f"KneserNeyLM: expected order >= 1, got {order}")
        if vocab_size < 1:
            raise ValueError(f"KneserNeyLM: expected vocab_size >= 1, got {vocab_size}")
        if discount is not None and not 0.0 < discount <= 1.0:
            raise ValueError(f"KneserNeyLM: expected 0 < discount <= 1, got {discount}")
        self.order, self.vocab_size, self.discount = order, vocab_size, discount
        self.discounts: list[float] = []      # D_k for k = 1..order, set by fit
        # per level k (index k-1): sorted k-gram keys, a_k per key, S_k and U_k per (k-1)-gram rank
        self._keys: list[np.ndarray] = []
        self._a: list[np.ndarray] = []
        self._S: list[np.ndarray] = []
        self._U: list[np.ndarray] = []

    def __repr__(self) -> str:
        return f"KneserNeyLM(order={self.order}, vocab_size={self.vocab_size}, discount={self.discount})"

    # --------------------------------------------------------------------------------------------- fit
    def fit(self, train_ids) -> "KneserNeyLM":
        """Count the k-grams of ``train_ids`` (N,) for k = 1..order; returns self."""
        x = check_token_ids("KneserNeyLM.fit", train_ids, self.vocab_size)
        n, N, V = x.size, self.order, self.vocab_size
        if n < N + 1:
            raise ValueError(f"KneserNeyLM.fit: expected at least order + 1 = {N + 1} tokens, got {n}")
        if n * V >= 2**62:
            raise ValueError(f"KneserNeyLM.fit: {n} tokens x vocab_size {V} overflow the int64 k-gram keys")
        keys, raw, ranks, first = [], [], [], []
        prev = np.zeros(n, dtype=np.int64)        # rank of the empty (0-)gram at every position
        for k in range(1, N + 1):
            m = n - k + 1                          # number of k-grams
            key = prev[:m] * V + x[k - 1:k - 1 + m]
            uniq, idx, inv, cnt = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
            keys.append(uniq)
            raw.append(cnt.astype(np.int64))
            ranks.append(inv.reshape(-1).astype(np.int64))
            first.append(idx)
            prev = ranks[-1]
        self._keys, self._a, self._S, self._U, self.discounts = keys, [], [], [], []
        for k in range(1, N + 1):
            if k == N:
                a = raw[k - 1]
            else:  # continuation count: distinct (k+1)-grams whose last k tokens are this k-gram
                suffix = ranks[k - 1][first[k] + 1]
                a = np.bincount(suffix, minlength=keys[k - 1].size).astype(np.int64)
            n_ctx = 1 if k == 1 else keys[k - 2].size
            ctx = keys[k - 1] // V
            self._a.append(a)
            self._S.append(np.bincount(ctx, weights=a, minlength=n_ctx))
            self._U.append(np.bincount(ctx, weights=(a > 0), minlength=n_ctx))
            if self.discount is not None:
                D = float(self.discount)
            else:
                n1, n2 = int(np.sum(a == 1)), int(np.sum(a == 2))
                D = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.5
                D = min(max(D, 0.05), 0.95)
            self.discounts.append(D)
        return self

    # ------------------------------------------------------------------------------------------ lookup
    def _ranks(self, y: np.ndarray) -> list[np.ndarray]:
        """r[j][s] = rank of the training j-gram equal to y[s:s+j], or -1 if unseen (j = 0..order)."""
        V = self.vocab_size
        out = [np.zeros(y.size + 1, dtype=np.int64)]
        for k in range(1, self.order + 1):
            m = y.size - k + 1
            if m <= 0:
                break
            prev = out[-1][:m]
            key = prev * V + y[k - 1:k - 1 + m]
            table = self._keys[k - 1]
            pos = np.minimum(np.searchsorted(table, key), table.size - 1)
            out.append(np.where((prev >= 0) & (table[pos] == key), pos, -1))
        return out

    def _check_fitted(self, owner: str) -> None:
        if not self._keys:
            raise RuntimeError(f"KneserNeyLM.{owner}: the model is not fitted; call fit(train_ids) first")

    def _mix(self, k: int, p_lower: np.ndarray, ctx: np.ndarray, gram: np.ndarray) -> np.ndarray:
        """One interpolation step at level k for contexts ``ctx`` and k-grams ``gram`` (ranks, -1 unseen)."""
        S_tab, U_tab, a_tab, D = self._S[k - 1], self._U[k - 1], self._a[k - 1], self.discounts[k - 1]
        c = np.maximum(ctx, 0)
        S = np.where(ctx >= 0, S_tab[c], 0.0)
        a = np.where(gram >= 0, a_tab[np.maximum(gram, 0)], 0)
        seen = S > 0
        S_safe = np.where(seen, S, 1.0)
        mixed = np.maximum(a - D, 0.0) / S_safe + D * U_tab[c] / S_safe * p_lower
        return np.where(seen, mixed, p_lower)

    def log_prob_next(self, context_ids) -> np.ndarray:
        """Log-probabilities (V,) of the next token after ``context_ids`` (only the last order-1 are used)."""
        self._check_fitted("log_prob_next")
        ctx = check_token_ids("KneserNeyLM.log_prob_next", context_ids, self.vocab_size)
        ctx = ctx[max(0, ctx.size - (self.order - 1)):]
        c, V = ctx.size, self.vocab_size
        ranks = self._ranks(ctx)
        words = np.arange(V, dtype=np.int64)
        p = np.full(V, 1.0 / V)
        for k in range(1, c + 2):
            r = int(ranks[k - 1][c - k + 1])      # rank of the last k-1 context tokens
            if r >= 0:
                table = self._keys[k - 1]
                key = r * V + words
                pos = np.minimum(np.searchsorted(table, key), table.size - 1)
                gram = np.where(table[pos] == key, pos, -1)
            else:
                gram = np.full(V, -1, dtype=np.int64)
            p = self._mix(k, p, np.full(V, r, dtype=np.int64), gram)
        return np.log(p)

    def evaluate(self, ids) -> float:
        """Mean negative log-likelihood (nats per token) of the stream ``ids``, token t given ids[:t].

        The first order-1 tokens use the shorter contexts they have (the first token: the unigram level).
        """
        self._check_fitted("evaluate")
        y = check_token_ids("KneserNeyLM.evaluate", ids, self.vocab_size)
        m = y.size
        if m == 0:
            raise ValueError("KneserNeyLM.evaluate: expected at least one token, got an empty sequence")
        ranks = self._ranks(y)
        p = np.full(m, 1.0 / self.vocab_size)
        for k in range(1, min(self.order, m) + 1):
            s_end = m - k + 1                      # targets t = k-1..m-1 have k-grams starting at s = t-k+1
            p[k - 1:] = self._mix(k, p[k - 1:], ranks[k - 1][:s_end], ranks[k][:s_end])
        return float(-np.mean(np.log(p)))
