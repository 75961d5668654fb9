"""The whole-sequence time loops, compiled (kernels/sequences.py) and in Python over BLAS products
(nn/blas_time_loops.py), against their NumPy twins in tests/reference.py (forward and backward, both
directions; the weight gradients formed from the loops' per-step gradients as nn/fused_sequences.py forms
them), and their backward against finite differences of their forward. Also runs with NUMBA_DISABLE_JIT=1
(from test_kernels.py)."""

import numpy as np
import pytest

import reference as ref
from test_kernels import DTYPES, assert_grad, numeric_grad, randn, up
from tinygrad_rnn.kernels import sequences as seq
from tinygrad_rnn.nn import blas_time_loops
from tinygrad_rnn.nn.fused_sequences import recurrent_weight_grad

SHAPES = [(1, 1, 1), (4, 2, 3), (3, 1, 7), (2, 5, 33)]  # (T, B, H)
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
LOOPS = pytest.mark.parametrize("loops", [seq, blas_time_loops], ids=["compiled", "blas"])


def close(got, want, dtype, what):
    assert got.dtype == dtype and got.shape == want.shape, f"{what}: {got.dtype} {got.shape} vs {want.shape}"
    atol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(got, want, rtol=0, atol=atol, err_msg=what)


def make_inputs(kind, T, B, H, dtype, seed=0):
    rng = np.random.default_rng(seed)
    G = GATES[kind]
    return dict(xp=randn(rng, (T, B, G * H), dtype), h0=randn(rng, (B, H), dtype, 0.5),
                c0=randn(rng, (B, H), dtype, 0.5), w_hh=randn(rng, (G * H, H), dtype, 0.7),
                b_hh=randn(rng, (G * H,), dtype, 0.3), dhs=randn(rng, (T, B, H), dtype),
                dh_last=randn(rng, (B, H), dtype), dc_last=randn(rng, (B, H), dtype))


def forward(loops, kind, a, reverse):
    """(the forward's outputs, the last being hs; hs) from the time loop."""
    T, B, H = a["dhs"].shape
    w_t, like = np.ascontiguousarray(a["w_hh"].T), a["xp"]
    hs = np.full((T, B, H), np.nan, like.dtype)
    if kind == "lstm":
        gates, cs, tanh_cs = np.full_like(like, np.nan), np.full_like(hs, np.nan), np.full_like(hs, np.nan)
        loops.lstm_sequence_fwd(a["xp"], a["h0"], a["c0"], w_t, reverse, gates, cs, tanh_cs, hs)
        return (gates, cs, tanh_cs, hs), hs
    if kind == "gru":
        gates, hps = np.full_like(like, np.nan), np.full_like(like, np.nan)
        loops.gru_sequence_fwd(a["xp"], a["h0"], w_t, a["b_hh"], reverse, gates, hps, hs)
        return (gates, hps, hs), hs
    loops.rnn_sequence_fwd(a["xp"], a["h0"], w_t, reverse, kind == "rnn_relu", hs)
    return (hs,), hs


def previous(hs, h0, reverse):
    """h_{t-1} for every t: h0 first in the loop's order of steps."""
    return np.concatenate([hs[1:], h0[None]] if reverse else [h0[None], hs[:-1]])


def backward(loops, kind, a, saved, reverse):
    """(dxp, dh0, [dc0,] dw_hh, [db_hh]): the time loop's, with d W_hh (and d b_hh) formed from its per-step
    gradients as the Functions of nn/fused_sequences.py form them."""
    out = lambda like: np.full_like(like, np.nan)  # noqa: E731  (an unwritten element shows as nan)
    hs = saved[-1]
    if kind == "lstm":
        grads = out(a["xp"]), out(a["h0"]), out(a["c0"])
        loops.lstm_sequence_bwd(*saved[:3], a["c0"], a["w_hh"], a["dhs"], a["dh_last"], a["dc_last"], reverse, *grads)
        return (*grads, recurrent_weight_grad(grads[0], previous(hs, a["h0"], reverse)))
    if kind == "gru":
        dxp, dhps, dh0 = out(a["xp"]), out(a["xp"]), out(a["h0"])
        loops.gru_sequence_bwd(*saved, a["h0"], a["w_hh"], a["dhs"], a["dh_last"], reverse, dxp, dhps, dh0)
        return dxp, dh0, recurrent_weight_grad(dhps, previous(hs, a["h0"], reverse)), dhps.sum(axis=(0, 1))
    grads = out(a["xp"]), out(a["h0"])
    loops.rnn_sequence_bwd(hs, a["w_hh"], a["dhs"], a["dh_last"], reverse, kind == "rnn_relu", *grads)
    return (*grads, recurrent_weight_grad(grads[0], previous(hs, a["h0"], reverse)))


def reference(kind, a, saved, reverse):
    """(forward results, backward results) of the reference, in float64 on the same values."""
    u = {k: up(v) for k, v in a.items()}
    s = [up(x) for x in saved]
    if kind == "lstm":
        return (ref.lstm_sequence_fwd(u["xp"], u["h0"], u["c0"], u["w_hh"], reverse),
                ref.lstm_sequence_bwd(*s, u["h0"], u["c0"], u["w_hh"], u["dhs"], u["dh_last"], u["dc_last"], reverse))
    if kind == "gru":
        return (ref.gru_sequence_fwd(u["xp"], u["h0"], u["w_hh"], u["b_hh"], reverse),
                ref.gru_sequence_bwd(*s, u["h0"], u["w_hh"], u["dhs"], u["dh_last"], reverse))
    relu = kind == "rnn_relu"
    return ((ref.rnn_sequence_fwd(u["xp"], u["h0"], u["w_hh"], reverse, relu),),
            ref.rnn_sequence_bwd(*s, u["h0"], u["w_hh"], u["dhs"], u["dh_last"], reverse, relu))


@LOOPS
@pytest.mark.parametrize("kind", GATES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,B,H", SHAPES)
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_sequence_loops_match_reference(loops, kind, dtype, T, B, H, reverse):
    a = make_inputs(kind, T, B, H, dtype, seed=T * 100 + B * 10 + H)
    saved, _ = forward(loops, kind, a, reverse)
    want_fwd, want_bwd = reference(kind, a, saved, reverse)
    for k, (got, want) in enumerate(zip(saved, want_fwd)):
        close(got, want, dtype, f"{kind} forward output {k}")
    for k, (got, want) in enumerate(zip(backward(loops, kind, a, saved, reverse), want_bwd)):
        close(got, want, dtype, f"{kind} backward output {k}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_product_adds_the_matrix_product_for_every_remainder_of_its_blocks(dtype):
    """The product runs over blocks of four rows of a and of w: batches and inner sizes that leave
    0-3 rows over, and an output that already holds values (the product is added to it)."""
    rng = np.random.default_rng(5)
    for B in range(1, 10):
        for K in (1, 2, 3, 4, 5, 7, 8, 13):
            a, w, out = randn(rng, (B, K), dtype), randn(rng, (K, 11), dtype), randn(rng, (B, 11), dtype)
            want = out.astype(np.float64) + a.astype(np.float64) @ w.astype(np.float64)
            seq.add_product(a, w, out)
            close(out, want.astype(dtype), dtype, f"add_product B={B} K={K}")


@pytest.mark.parametrize("kind", GATES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_blas_loops_equal_compiled_loops(kind, dtype):
    """The two time loops differ only in how the recurrent products are summed (1e-12 in float64)."""
    a = make_inputs(kind, 6, 3, 9, dtype, seed=11)
    for reverse in (False, True):
        compiled, blas = forward(seq, kind, a, reverse)[0], forward(blas_time_loops, kind, a, reverse)[0]
        for k, (got, want) in enumerate(zip(blas, compiled)):
            close(got, want, dtype, f"{kind} forward output {k}")
        grads = zip(backward(blas_time_loops, kind, a, compiled, reverse), backward(seq, kind, a, compiled, reverse))
        for k, (got, want) in enumerate(grads):
            close(got, want, dtype, f"{kind} backward output {k}")


@LOOPS
@pytest.mark.parametrize("kind", GATES)
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_sequence_backward_matches_finite_differences(loops, kind, reverse):
    """d/d(inputs) of  sum(dhs * hs) + sum(dh_last * h_last) (+ sum(dc_last * c_last))  in float64."""
    a = make_inputs(kind, 3, 2, 2, np.float64, seed=7)
    if kind == "rnn_relu":
        a["xp"] += np.where(a["xp"] >= 0, 1.0, -1.0)    # away from relu's kink
    last = 0 if reverse else -1

    def loss():
        saved, hs = forward(loops, kind, a, reverse)
        total = np.sum(a["dhs"] * hs) + np.sum(a["dh_last"] * hs[last])
        if kind == "lstm":
            total += np.sum(a["dc_last"] * saved[1][last])
        return float(total)

    names = ["xp", "h0"] + (["c0"] if kind == "lstm" else []) + ["w_hh"] + (["b_hh"] if kind == "gru" else [])
    numeric = {name: numeric_grad(loss, a[name]) for name in names}
    analytic = backward(loops, kind, a, forward(loops, kind, a, reverse)[0], reverse)
    for name, grad in zip(names, analytic):
        assert_grad(f"{kind} {name}", grad, numeric[name])


def test_sequence_kernels_reject_wrong_shapes():
    a = make_inputs("lstm", 3, 2, 4, np.float64)
    hs = np.empty((3, 2, 4))
    with pytest.raises(ValueError, match=r"^lstm_sequence_fwd: expected w_hh_t of shape \(H, 4H\)$"):
        seq.lstm_sequence_fwd(a["xp"], a["h0"], a["c0"], a["w_hh"], False, np.empty_like(a["xp"]), hs, hs.copy(),
                              hs.copy())
    with pytest.raises(ValueError, match=r"^rnn_sequence_fwd: expected xp of shape \(T, B, H\)$"):
        seq.rnn_sequence_fwd(a["xp"], a["h0"], np.eye(4), False, False, hs)
    with pytest.raises(ValueError, match=r"^add_product: expected w of shape \(K, N\)$"):
        seq.add_product(np.ones((1, 3)), np.ones((2, 3)), np.zeros((1, 3)))


@LOOPS
def test_sequence_loops_check_every_array_their_steps_read(loops):
    """Both loops call the step kernels unchecked, so their own checks must cover every array a step reads."""
    T, B, H = 3, 2, 4
    gates, per_step, state = np.zeros((T, B, 4 * H)), np.zeros((T, B, H)), np.zeros((B, H))
    with pytest.raises(ValueError, match=r"^lstm_sequence_bwd: expected (c0, dh_last and )?dc_last of shape"):
        loops.lstm_sequence_bwd(gates, per_step, per_step.copy(), state, np.zeros((4 * H, H)), per_step.copy(),
                                state.copy(), np.zeros((1, H)), False, np.empty_like(gates), np.empty((B, H)),
                                np.empty((B, H)))
    gru_gates = np.zeros((T, B, 3 * H))
    with pytest.raises(ValueError, match=r"^gru_sequence_bwd: expected (h0, )?dh_last (and dh0_out )?of shape"):
        loops.gru_sequence_bwd(gru_gates, gru_gates.copy(), per_step, state, np.zeros((3 * H, H)), per_step.copy(),
                               np.zeros((B, 1)), False, np.empty_like(gru_gates), np.empty_like(gru_gates),
                               np.empty((B, H)))
    with pytest.raises(ValueError, match=r"^lstm_sequence_fwd: expected .*cs_out.* of shape"):
        loops.lstm_sequence_fwd(np.zeros((T, B, 4 * H)), state, state.copy(), np.zeros((H, 4 * H)), False,
                                np.empty((T, B, 4 * H)), np.empty((T, B, H - 1)), np.empty((T, B, H)),
                                np.empty((T, B, H)))
    with pytest.raises(ValueError, match=r"^rnn_sequence_bwd: expected dh_last( and dh0_out)? of shape"):
        loops.rnn_sequence_bwd(per_step, np.zeros((H, H)), per_step.copy(), np.zeros((B + 1, H)), False, False,
                               np.empty((T, B, H)), np.empty((B, H)))
