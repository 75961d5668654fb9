"""Interpolated Kneser-Ney: normalisation, hand-computed probabilities, a naive reference, real data."""

import math
import os
import time
from collections import defaultdict

import numpy as np
import pytest

from tinygrad_rnn.training.ngram import KneserNeyLM

SHAKESPEARE = "/work/shared/data/tinyshakespeare.txt"


def naive_kn(train, order, V, D):
    """Straight from the equations with dicts of tuples; returns p(w | context) for one context."""
    n = len(train)
    raw = defaultdict(int)
    preceders = defaultdict(set)
    for k in range(1, order + 1):
        for i in range(n - k + 1):
            g = tuple(train[i:i + k])
            raw[g] += 1
            if i >= 1:
                preceders[g].add(train[i - 1])

    def a(k, g):
        return raw.get(g, 0) if k == order else len(preceders.get(g, ()))

    def p(w, h, k):
        if k == 0:
            return 1.0 / V
        lower = p(w, h[1:], k - 1)
        S = sum(a(k, h + (u,)) for u in range(V))
        if S == 0:
            return lower
        U = sum(1 for u in range(V) if a(k, h + (u,)) > 0)
        d = D[k - 1]
        return max(a(k, h + (w,)) - d, 0) / S + d * U / S * lower

    def dist(context):
        h = tuple(context[max(0, len(context) - (order - 1)):])
        return np.array([p(w, h, len(h) + 1) for w in range(V)])

    return dist


def test_order1_hand_computed():
    # counts c = [3, 1, 1, 0] over n = 5 tokens, U = 3 seen types, D = 0.5, V = 4:
    # p(w) = max(c - 0.5, 0) / 5 + 0.5 * 3 / 5 * 1/4
    lm = KneserNeyLM(order=1, vocab_size=4, discount=0.5).fit([0, 0, 1, 2, 0])
    expect = np.array([2.5 / 5 + 0.075, 0.5 / 5 + 0.075, 0.5 / 5 + 0.075, 0.075])
    np.testing.assert_allclose(np.exp(lm.log_prob_next([])), expect, rtol=1e-12)
    np.testing.assert_allclose(np.exp(lm.log_prob_next([3, 1])), expect, rtol=1e-12)  # context ignored


def test_order2_hand_computed():
    # corpus 0 1 1 0 1 2 1, V = 4, D = 0.5.
    # continuation counts of unigrams: 0 <- {1}: 1, 1 <- {0,1,2}: 3, 2 <- {1}: 1, 3: 0; S1 = 5, U1 = 3
    p1 = np.array([0.5 / 5, 2.5 / 5, 0.5 / 5, 0.0]) + 0.5 * 3 / 5 / 4        # .175 .575 .175 .075
    lm = KneserNeyLM(order=2, vocab_size=4, discount=0.5).fit([0, 1, 1, 0, 1, 2, 1])
    # after 1: bigram counts 1->0: 1, 1->1: 1, 1->2: 1; S = 3, U = 3
    after1 = np.array([0.5 / 3, 0.5 / 3, 0.5 / 3, 0.0]) + 0.5 * 3 / 3 * p1
    # after 0: 0->1: 2; S = 2, U = 1
    after0 = np.array([0.0, 1.5 / 2, 0.0, 0.0]) + 0.5 * 1 / 2 * p1
    np.testing.assert_allclose(np.exp(lm.log_prob_next([1])), after1, rtol=1e-12)
    np.testing.assert_allclose(np.exp(lm.log_prob_next([0])), after0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(lm.log_prob_next([3])), p1, rtol=1e-12)   # unseen context backs off
    np.testing.assert_allclose(np.exp(lm.log_prob_next([])), p1, rtol=1e-12)
    # evaluate = mean NLL using the same distributions (first token: unigram level)
    stream = [3, 0, 1, 2]
    expect = -(math.log(p1[3]) + math.log(p1[0]) + math.log(after0[1]) + math.log(after1[2])) / 4
    assert lm.evaluate(stream) == pytest.approx(expect, rel=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_matches_naive_reference(order):
    rng = np.random.default_rng(order)
    V = 5
    train = rng.integers(0, 4, size=300).tolist()      # token 4 never occurs in training
    lm = KneserNeyLM(order, V).fit(train)
    ref = naive_kn(train, order, V, lm.discounts)
    for _ in range(15):
        ctx = rng.integers(0, V, size=int(rng.integers(0, order + 2))).tolist()
        np.testing.assert_allclose(np.exp(lm.log_prob_next(ctx)), ref(ctx), rtol=1e-10, atol=0)


def test_distributions_sum_to_one_and_are_positive():
    rng = np.random.default_rng(0)
    V = 30
    train = rng.integers(0, 20, size=5000)
    for discount in (None, 0.75, 1.0):
        lm = KneserNeyLM(5, V, discount).fit(train)
        for _ in range(50):
            ctx = rng.integers(0, V, size=int(rng.integers(0, 7)))   # includes unseen tokens 20..29
            p = np.exp(lm.log_prob_next(ctx))
            assert abs(p.sum() - 1.0) < 1e-9
            assert (p > 0).all()
        seen_ctx = train[100:104]                                     # a seen context too
        assert abs(np.exp(lm.log_prob_next(seen_ctx)).sum() - 1.0) < 1e-9


def test_evaluate_agrees_with_log_prob_next():
    rng = np.random.default_rng(1)
    train = rng.integers(0, 6, size=2000)
    lm = KneserNeyLM(4, 7).fit(train)
    stream = np.concatenate([train[:30], rng.integers(0, 7, size=30)])
    per_token = [-lm.log_prob_next(stream[:t])[stream[t]] for t in range(stream.size)]
    assert lm.evaluate(stream) == pytest.approx(float(np.mean(per_token)), rel=1e-12)


def test_higher_order_lowers_validation_loss_on_repetitive_text():
    rng = np.random.default_rng(2)
    phrase = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8])
    stream = np.tile(phrase, 400)
    noise = rng.random(stream.size) < 0.02
    stream[noise] = rng.integers(0, 10, size=int(noise.sum()))
    train, val = stream[:4000], stream[4000:]
    losses = [KneserNeyLM(n, 10).fit(train).evaluate(val) for n in (1, 2, 3, 5)]
    assert losses[0] > losses[1] > losses[2] > losses[3]
    assert losses[3] < 0.4 < 1.5 < losses[0]


def test_errors():
    with pytest.raises(ValueError, match="expected order >= 1, got 0"):
        KneserNeyLM(0, 5)
    with pytest.raises(ValueError, match=r"expected 0 < discount <= 1, got 1.5"):
        KneserNeyLM(2, 5, discount=1.5)
    with pytest.raises(TypeError, match="expected int order, got float"):
        KneserNeyLM(2.0, 5)
    lm = KneserNeyLM(3, 5)
    with pytest.raises(RuntimeError, match="not fitted"):
        lm.evaluate([1, 2])
    with pytest.raises(ValueError, match=r"expected ids in \[0, 5\), got 7"):
        lm.fit([1, 2, 7, 1])
    with pytest.raises(ValueError, match="expected at least order \\+ 1 = 4 tokens, got 3"):
        lm.fit([1, 2, 3])
    with pytest.raises(TypeError, match="expected integer token ids, got dtype float64"):
        lm.fit(np.ones(10))


@pytest.mark.skipif(not os.path.exists(SHAKESPEARE), reason="tinyshakespeare.txt not present")
def test_tinyshakespeare_7gram():
    text = open(SHAKESPEARE, encoding="utf-8").read()
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    ids = np.array([lookup[c] for c in text], dtype=np.int64)
    n_train = int(len(ids) * 0.9)
    t0 = time.perf_counter()
    lm = KneserNeyLM(7, len(chars), discount=0.75).fit(ids[:n_train])
    nll = lm.evaluate(ids[n_train:])
    elapsed = time.perf_counter() - t0
    assert 1.50 < nll < 1.58          # reference figure for 7-gram interpolated KN: 1.517 nats/char
    assert elapsed < 30
