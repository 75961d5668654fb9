"""Kernels against their NumPy twins in tests/reference.py, and backward kernels against finite
differences of the forward kernels. The whole file (and test_sequence_kernels.py) also runs with
NUMBA_DISABLE_JIT=1."""

import inspect
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest

import reference as ref
from tinygrad_rnn import kernels
from tinygrad_rnn.kernels import activations as act
from tinygrad_rnn.kernels import cells
from tinygrad_rnn.kernels import cross_entropy as ce
from tinygrad_rnn.kernels import optim_updates
from tinygrad_rnn.kernels import sequences
from tinygrad_rnn.kernels.policy import FASTMATH

JIT_DISABLED = bool(numba.config.DISABLE_JIT)
REPO = Path(__file__).resolve().parent.parent
DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (1, 5), (4, 1), (2, 3), (7, 33)]  # (B, H)


# --- helpers ---------------------------------------------------------------------------------

def randn(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def up(a):
    """The reference runs in float64 on exactly the values the kernel saw."""
    return np.asarray(a, dtype=np.float64)


def run(kernel, inputs, out_shapes, dtype):
    """Call ``kernel(*inputs, *outs)`` on nan-filled outputs (so an unwritten element shows)."""
    outs = [np.full(shape, np.nan, dtype=dtype) for shape in out_shapes]
    kernel(*inputs, *outs)
    return outs


def assert_close(got, want, dtype, what=""):
    assert got.dtype == dtype, f"{what}: dtype {got.dtype}, expected {np.dtype(dtype)}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    if dtype == np.float64:
        diff = np.max(np.abs(got - want), initial=0.0)
        assert diff <= 1e-12, f"{what}: max abs diff {diff:.3e} > 1e-12"
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=what)


def numeric_grad(loss, x, eps=1e-6):
    """Central differences of the scalar ``loss()`` with respect to every element of ``x`` (in place)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = loss()
        x[idx] = old - eps
        minus = loss()
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def assert_grad(name, analytic, numeric, tol=1e-7):
    err = np.abs(analytic - numeric)
    idx = np.unravel_index(np.argmax(err), err.shape)
    assert err[idx] <= tol * max(1.0, np.abs(numeric[idx])), (
        f"gradient of {name} at {idx}: analytic {analytic[idx]!r}, numeric {numeric[idx]!r}")


def strict_fp():
    """Turn NumPy overflow/invalid/divide warnings into errors (underflow to 0 stays allowed)."""
    return np.errstate(over="raise", invalid="raise", divide="raise")


# --- package layout and policy ---------------------------------------------------------------

def test_every_kernel_is_listed_and_importable_lazily():
    defined = {name for mod in (act, cells, ce, sequences) for name in dir(mod)
               if name.endswith(("_fwd", "_bwd"))}
    assert defined <= set(kernels.__all__)
    for name in kernels.__all__:
        assert getattr(kernels, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'lstm_forward'"):
        kernels.lstm_forward


def test_importing_kernels_package_does_not_import_numba():
    code = ("import sys, tinygrad_rnn; before = 'numba' in sys.modules; import tinygrad_rnn.kernels; "
            "print(before, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    before, after = out.stdout.split()
    assert after == before, "importing tinygrad_rnn.kernels imported numba"


@pytest.mark.skipif(JIT_DISABLED, reason="needs numba dispatchers")
def test_kernels_use_the_policy_and_compile_lazily():
    code = ("from tinygrad_rnn.kernels import cells, activations, cross_entropy as ce; "
            "print(sum(len(k.signatures) for k in (cells.lstm_fwd, cells.gru_bwd, activations.sigmoid_fwd, "
            "ce.cross_entropy_fwd)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "0", "a kernel was compiled at import"
    for name in kernels.__all__:
        k = getattr(kernels, name)
        if name in ("sigmoid", "tanh"):  # scalar helpers compiled into the kernels that call them
            assert k.__module__ == "tinygrad_rnn.kernels.scalar_math", name
            continue
        assert k.targetoptions["fastmath"] == set(FASTMATH), name
        assert k.targetoptions["error_model"] == "numpy" and k.targetoptions["nogil"], name
        assert type(k._cache).__name__ == "FunctionCache", f"{name} is not cached on disk"
    assert not FASTMATH & {"nnan", "ninf", "fast", "afn", "reassoc"}


@pytest.mark.skipif(JIT_DISABLED, reason="needs numba dispatchers")
def test_float32_runs_as_float32_code():
    B, H = 2, 3
    arrays = [np.zeros(s, np.float32) for s in [(B, 4 * H), (B, H), (B, 4 * H), (B, H), (B, H), (B, H)]]
    cells.lstm_fwd(*arrays)
    assert any(all(t.dtype == numba.float32 for t in sig) for sig in cells.lstm_fwd.signatures)


# --- activations -----------------------------------------------------------------------------

# name, kernel fwd, kernel bwd, reference fwd, reference bwd, whether bwd reads "x" or "y", params
ACTIVATIONS = [
    ("tanh", act.tanh_fwd, act.tanh_bwd, ref.tanh_fwd, ref.tanh_bwd, "y", ()),
    ("sigmoid", act.sigmoid_fwd, act.sigmoid_bwd, ref.sigmoid_fwd, ref.sigmoid_bwd, "y", ()),
    ("relu", act.relu_fwd, act.relu_bwd, ref.relu_fwd, ref.relu_bwd, "x", ()),
    ("leaky_relu", act.leaky_relu_fwd, act.leaky_relu_bwd, ref.leaky_relu_fwd, ref.leaky_relu_bwd, "x", (0.1,)),
    ("elu", act.elu_fwd, act.elu_bwd, ref.elu_fwd, ref.elu_bwd, "x", (1.3,)),
]
ACT_IDS = [a[0] for a in ACTIVATIONS]


@pytest.mark.parametrize("name,fwd,bwd,ref_fwd,ref_bwd,keeps,params", ACTIVATIONS, ids=ACT_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1,), (1, 1), (7, 33), (2, 3, 4)])
def test_activation_matches_reference(name, fwd, bwd, ref_fwd, ref_bwd, keeps, params, dtype, shape):
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    x = randn(rng, shape, dtype, scale=3.0)
    dy = randn(rng, shape, dtype)
    (y,) = run(lambda x, out: fwd(x, out, *params), (x,), [shape], dtype)
    assert_close(y, ref_fwd(up(x), *params), dtype, f"{name}_fwd")
    kept = x if keeps == "x" else y
    (dx,) = run(lambda k, g, out: bwd(k, g, out, *params), (kept, dy), [shape], dtype)
    assert_close(dx, ref_bwd(up(kept), up(dy), *params), dtype, f"{name}_bwd")


@pytest.mark.parametrize("name,fwd,bwd,ref_fwd,ref_bwd,keeps,params", ACTIVATIONS, ids=ACT_IDS)
def test_activation_backward_matches_finite_differences(name, fwd, bwd, ref_fwd, ref_bwd, keeps, params):
    rng = np.random.default_rng(0)
    x = randn(rng, (2, 5), np.float64, scale=2.0)
    x += np.where(x >= 0, 0.1, -0.1)  # stay away from the kink at 0
    dy = randn(rng, x.shape, np.float64)
    y = np.empty_like(x)

    def loss():
        fwd(x, y, *params)
        return float(np.sum(dy * y))

    numeric = numeric_grad(loss, x)
    fwd(x, y, *params)
    dx = np.empty_like(x)
    bwd(x if keeps == "x" else y, dy, dx, *params)
    assert_grad(f"{name} input", dx, numeric)


@pytest.mark.parametrize("name,fwd,bwd,ref_fwd,ref_bwd,keeps,params", ACTIVATIONS, ids=ACT_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_extreme_inputs_without_warnings(name, fwd, bwd, ref_fwd, ref_bwd, keeps, params, dtype):
    x = np.array([[-1000.0, -30.0, -1.0, 0.5, 30.0, 1000.0]], dtype=dtype)
    dy = np.ones_like(x)
    y, dx = np.empty_like(x), np.empty_like(x)
    with warnings.catch_warnings(), strict_fp():
        warnings.simplefilter("error")
        fwd(x, y, *params)
        bwd(x if keeps == "x" else y, dy, dx, *params)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    assert_close(y, ref_fwd(up(x), *params), dtype, f"{name}_fwd")


def test_activation_nan_propagates_forward():
    x = np.array([np.nan, 1.0])
    for name, fwd, _, _, _, _, params in ACTIVATIONS:
        y = np.zeros(2)
        fwd(x, y, *params)
        assert np.isnan(y[0]) and y[1] != 0, name


def test_sigmoid_scalar_is_stable():
    with warnings.catch_warnings(), strict_fp():
        warnings.simplefilter("error")
        assert act.sigmoid(np.float64(-1000.0)) == 0.0
        assert act.sigmoid(np.float64(1000.0)) == 1.0
        assert act.sigmoid(np.float32(-1000.0)) == 0.0
    assert abs(act.sigmoid(np.float64(-2.0)) - 1 / (1 + np.exp(2.0))) < 1e-16


@pytest.mark.parametrize("fwd", [act.sigmoid_fwd, act.tanh_fwd, act.relu_fwd])
def test_activation_rejects_non_contiguous_or_mismatched_out(fwd):
    x = np.zeros((4, 3))
    name = fwd.__name__
    with pytest.raises(ValueError, match=f"{name}: expected C-contiguous x and out of one shape"):
        fwd(x, np.zeros((3, 4)).T)
    with pytest.raises(ValueError, match=f"{name}: expected C-contiguous x and out of one shape"):
        fwd(x, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="relu_bwd: expected C-contiguous x, dy and dx of one shape"):
        act.relu_bwd(x, x, np.zeros(12))


# --- cells: forward and backward against the reference ---------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,H", SHAPES)
def test_rnn_tanh_and_relu_match_reference(dtype, B, H):
    rng = np.random.default_rng(B * 100 + H)
    pre, dh = randn(rng, (B, H), dtype, 2.0), randn(rng, (B, H), dtype)
    for fwd, bwd, ref_fwd, ref_bwd in [(cells.rnn_tanh_fwd, cells.rnn_tanh_bwd, ref.rnn_tanh_fwd, ref.rnn_tanh_bwd),
                                       (cells.rnn_relu_fwd, cells.rnn_relu_bwd, ref.rnn_relu_fwd, ref.rnn_relu_bwd)]:
        (h,) = run(fwd, (pre,), [(B, H)], dtype)
        assert_close(h, ref_fwd(up(pre)), dtype, fwd.__name__)
        (dpre,) = run(bwd, (h, dh), [(B, H)], dtype)
        assert_close(dpre, ref_bwd(up(h), up(dh)), dtype, bwd.__name__)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,H", SHAPES)
def test_lstm_matches_reference(dtype, B, H):
    rng = np.random.default_rng(B * 100 + H)
    pre, c_prev = randn(rng, (B, 4 * H), dtype, 2.0), randn(rng, (B, H), dtype)
    got = run(cells.lstm_fwd, (pre, c_prev), [(B, 4 * H), (B, H), (B, H), (B, H)], dtype)
    want = ref.lstm_fwd(up(pre), up(c_prev))
    for what, g, w in zip(["gates", "c", "h", "tanh_c"], got, want):
        assert_close(g, w, dtype, f"lstm_fwd {what}")

    gates, tanh_c = want[0].astype(dtype), want[3].astype(dtype)
    dh, dc = randn(rng, (B, H), dtype), randn(rng, (B, H), dtype)
    got = run(cells.lstm_bwd, (gates, c_prev, tanh_c, dh, dc), [(B, 4 * H), (B, H)], dtype)
    want = ref.lstm_bwd(up(gates), up(c_prev), up(tanh_c), up(dh), up(dc))
    for what, g, w in zip(["dpre", "dc_prev"], got, want):
        assert_close(g, w, dtype, f"lstm_bwd {what}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,H", SHAPES)
def test_gru_matches_reference(dtype, B, H):
    rng = np.random.default_rng(B * 100 + H)
    xp, hp, h_prev = randn(rng, (B, 3 * H), dtype, 2.0), randn(rng, (B, 3 * H), dtype, 2.0), randn(rng, (B, H), dtype)
    got = run(cells.gru_fwd, (xp, hp, h_prev), [(B, 3 * H), (B, H)], dtype)
    want = ref.gru_fwd(up(xp), up(hp), up(h_prev))
    for what, g, w in zip(["gates", "h"], got, want):
        assert_close(g, w, dtype, f"gru_fwd {what}")

    gates, dh = want[0].astype(dtype), randn(rng, (B, H), dtype)
    got = run(cells.gru_bwd, (gates, hp, h_prev, dh), [(B, 3 * H), (B, 3 * H), (B, H)], dtype)
    want = ref.gru_bwd(up(gates), up(hp), up(h_prev), up(dh))
    for what, g, w in zip(["dxp", "dhp", "dh_prev"], got, want):
        assert_close(g, w, dtype, f"gru_bwd {what}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,H", SHAPES)
def test_gru_reset_before_matches_reference(dtype, B, H):
    rng = np.random.default_rng(B * 100 + H)
    pre_rz, pre_n = randn(rng, (B, 2 * H), dtype, 2.0), randn(rng, (B, H), dtype, 2.0)
    h_prev = randn(rng, (B, H), dtype)
    rz, rh = run(cells.gru_rb_gates_fwd, (pre_rz, h_prev), [(B, 2 * H), (B, H)], dtype)
    want_rz, want_rh = ref.gru_rb_gates_fwd(up(pre_rz), up(h_prev))
    assert_close(rz, want_rz, dtype, "gru_rb_gates_fwd rz")
    assert_close(rh, want_rh, dtype, "gru_rb_gates_fwd rh")

    rz = want_rz.astype(dtype)
    n, h = run(cells.gru_rb_out_fwd, (pre_n, rz, h_prev), [(B, H), (B, H)], dtype)
    want_n, want_h = ref.gru_rb_out_fwd(up(pre_n), up(rz), up(h_prev))
    assert_close(n, want_n, dtype, "gru_rb_out_fwd n")
    assert_close(h, want_h, dtype, "gru_rb_out_fwd h")

    n, dh = want_n.astype(dtype), randn(rng, (B, H), dtype)
    got = run(cells.gru_rb_out_bwd, (n, rz, h_prev, dh), [(B, H)] * 3, dtype)
    want = ref.gru_rb_out_bwd(up(n), up(rz), up(h_prev), up(dh))
    for what, g, w in zip(["dpre_n", "dz", "dh_prev"], got, want):
        assert_close(g, w, dtype, f"gru_rb_out_bwd {what}")

    drh, dz = randn(rng, (B, H), dtype), randn(rng, (B, H), dtype)
    dh_prev_before = randn(rng, (B, H), dtype)
    dh_prev = dh_prev_before.copy()
    (dpre_rz,) = run(lambda *a: cells.gru_rb_gates_bwd(*a, dh_prev), (rz, h_prev, drh, dz), [(B, 2 * H)], dtype)
    want_dpre_rz, want_reset_path = ref.gru_rb_gates_bwd(up(rz), up(h_prev), up(drh), up(dz))
    assert_close(dpre_rz, want_dpre_rz, dtype, "gru_rb_gates_bwd dpre_rz")
    assert_close(dh_prev, up(dh_prev_before) + want_reset_path, dtype, "gru_rb_gates_bwd dh_prev (accumulated)")


# --- cells: backward against finite differences of the forward (float64) ---------------------

def test_rnn_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    for fwd, bwd in [(cells.rnn_tanh_fwd, cells.rnn_tanh_bwd), (cells.rnn_relu_fwd, cells.rnn_relu_bwd)]:
        pre = rng.standard_normal((2, 3))
        pre += np.where(pre >= 0, 0.1, -0.1)  # away from relu's kink
        dh, h = rng.standard_normal((2, 3)), np.empty((2, 3))

        def loss():
            fwd(pre, h)
            return float(np.sum(dh * h))

        numeric = numeric_grad(loss, pre)
        fwd(pre, h)
        dpre = np.empty_like(pre)
        bwd(h, dh, dpre)
        assert_grad(f"{fwd.__name__} pre", dpre, numeric)


def test_lstm_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    B, H = 2, 3
    pre, c_prev = rng.standard_normal((B, 4 * H)), rng.standard_normal((B, H))
    dh, dc = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    gates, c, h, tanh_c = np.empty((B, 4 * H)), np.empty((B, H)), np.empty((B, H)), np.empty((B, H))

    def loss():
        cells.lstm_fwd(pre, c_prev, gates, c, h, tanh_c)
        return float(np.sum(dh * h) + np.sum(dc * c))

    num_pre, num_c_prev = numeric_grad(loss, pre), numeric_grad(loss, c_prev)
    cells.lstm_fwd(pre, c_prev, gates, c, h, tanh_c)
    dpre, dc_prev = np.empty((B, 4 * H)), np.empty((B, H))
    cells.lstm_bwd(gates, c_prev, tanh_c, dh, dc, dpre, dc_prev)
    assert_grad("lstm pre", dpre, num_pre)
    assert_grad("lstm c_prev", dc_prev, num_c_prev)


def test_gru_backward_matches_finite_differences():
    rng = np.random.default_rng(3)
    B, H = 2, 3
    xp, hp, h_prev = rng.standard_normal((B, 3 * H)), rng.standard_normal((B, 3 * H)), rng.standard_normal((B, H))
    dh = rng.standard_normal((B, H))
    gates, h = np.empty((B, 3 * H)), np.empty((B, H))

    def loss():
        cells.gru_fwd(xp, hp, h_prev, gates, h)
        return float(np.sum(dh * h))

    numeric = {name: numeric_grad(loss, a) for name, a in [("xp", xp), ("hp", hp), ("h_prev", h_prev)]}
    cells.gru_fwd(xp, hp, h_prev, gates, h)
    dxp, dhp, dh_prev = np.empty((B, 3 * H)), np.empty((B, 3 * H)), np.empty((B, H))
    cells.gru_bwd(gates, hp, h_prev, dh, dxp, dhp, dh_prev)
    assert_grad("gru xp", dxp, numeric["xp"])
    assert_grad("gru hp", dhp, numeric["hp"])
    assert_grad("gru h_prev (direct path)", dh_prev, numeric["h_prev"])


def test_gru_reset_before_kernels_match_finite_differences_each():
    rng = np.random.default_rng(4)
    B, H = 2, 3
    pre_rz, pre_n, h_prev = rng.standard_normal((B, 2 * H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    drh, dz, dh = rng.standard_normal((B, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    rz, rh, n, h = np.empty((B, 2 * H)), np.empty((B, H)), np.empty((B, H)), np.empty((B, H))

    # gates: L = sum(drh * rh) + sum(dz * z)
    def gates_loss():
        cells.gru_rb_gates_fwd(pre_rz, h_prev, rz, rh)
        return float(np.sum(drh * rh) + np.sum(dz * rz[:, H:]))

    num_pre_rz, num_h_prev = numeric_grad(gates_loss, pre_rz), numeric_grad(gates_loss, h_prev)
    cells.gru_rb_gates_fwd(pre_rz, h_prev, rz, rh)
    dpre_rz, dh_prev = np.empty((B, 2 * H)), np.zeros((B, H))
    cells.gru_rb_gates_bwd(rz, h_prev, drh, dz, dpre_rz, dh_prev)
    assert_grad("gru_rb_gates pre_rz", dpre_rz, num_pre_rz)
    assert_grad("gru_rb_gates h_prev", dh_prev, num_h_prev)

    # output: L = sum(dh * h), as a function of pre_n, z and h_prev
    def out_loss():
        cells.gru_rb_out_fwd(pre_n, rz, h_prev, n, h)
        return float(np.sum(dh * h))

    num_pre_n, num_h_prev = numeric_grad(out_loss, pre_n), numeric_grad(out_loss, h_prev)
    num_z = numeric_grad(out_loss, rz)[:, H:]
    cells.gru_rb_out_fwd(pre_n, rz, h_prev, n, h)
    dpre_n, dz_out, dh_prev = np.empty((B, H)), np.empty((B, H)), np.empty((B, H))
    cells.gru_rb_out_bwd(n, rz, h_prev, dh, dpre_n, dz_out, dh_prev)
    assert_grad("gru_rb_out pre_n", dpre_n, num_pre_n)
    assert_grad("gru_rb_out z", dz_out, num_z)
    assert_grad("gru_rb_out h_prev (direct path)", dh_prev, num_h_prev)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_step_with_gemms_matches_finite_differences(reset_after):
    """The kernels and the caller's GEMMs, assembled as a layer would, give the true gradient."""
    rng = np.random.default_rng(5)
    B, H, I = 2, 3, 4
    x, h_prev = rng.standard_normal((B, I)), rng.standard_normal((B, H))
    w_ih, w_hh = 0.5 * rng.standard_normal((3 * H, I)), 0.5 * rng.standard_normal((3 * H, H))
    b_ih, b_hh = rng.standard_normal(3 * H), rng.standard_normal(3 * H)
    dh = rng.standard_normal((B, H))

    def step():
        xp = x @ w_ih.T + b_ih
        if reset_after:
            hp = h_prev @ w_hh.T + b_hh
            gates, h = np.empty((B, 3 * H)), np.empty((B, H))
            cells.gru_fwd(xp, hp, h_prev, gates, h)
            return h, (xp, hp, gates)
        pre_rz = xp[:, :2 * H] + h_prev @ w_hh[:2 * H].T + b_hh[:2 * H]
        rz, rh = np.empty((B, 2 * H)), np.empty((B, H))
        cells.gru_rb_gates_fwd(pre_rz, h_prev, rz, rh)
        pre_n = xp[:, 2 * H:] + rh @ w_hh[2 * H:].T + b_hh[2 * H:]
        n, h = np.empty((B, H)), np.empty((B, H))
        cells.gru_rb_out_fwd(pre_n, rz, h_prev, n, h)
        return h, (rz, n)

    def loss():
        return float(np.sum(dh * step()[0]))

    num_x, num_h_prev, num_w_hh = numeric_grad(loss, x), numeric_grad(loss, h_prev), numeric_grad(loss, w_hh)
    _, saved = step()
    if reset_after:
        xp, hp, gates = saved
        dxp, dhp, dh_prev = np.empty((B, 3 * H)), np.empty((B, 3 * H)), np.empty((B, H))
        cells.gru_bwd(gates, hp, h_prev, dh, dxp, dhp, dh_prev)
        dh_prev += dhp @ w_hh
        dw_hh = dhp.T @ h_prev
    else:
        rz, n = saved
        dpre_n, dz, dh_prev = np.empty((B, H)), np.empty((B, H)), np.empty((B, H))
        cells.gru_rb_out_bwd(n, rz, h_prev, dh, dpre_n, dz, dh_prev)
        drh = dpre_n @ w_hh[2 * H:]
        dpre_rz = np.empty((B, 2 * H))
        cells.gru_rb_gates_bwd(rz, h_prev, drh, dz, dpre_rz, dh_prev)
        dh_prev += dpre_rz @ w_hh[:2 * H]
        dxp = np.concatenate([dpre_rz, dpre_n], axis=1)
        rh = rz[:, :H] * h_prev
        dw_hh = np.concatenate([dpre_rz.T @ h_prev, dpre_n.T @ rh], axis=0)
    assert_grad("gru step x", dxp @ w_ih, num_x)
    assert_grad("gru step h_prev", dh_prev, num_h_prev)
    assert_grad("gru step w_hh", dw_hh, num_w_hh)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_cells_match_pytorch_gate_order(cell):
    """One step through the kernels equals torch.nn.LSTMCell / GRUCell with the same weights."""
    torch = pytest.importorskip("torch")
    B, I, H = 3, 4, 5
    torch.manual_seed(0)
    f64 = torch.float64
    module = torch.nn.LSTMCell(I, H, dtype=f64) if cell == "lstm" else torch.nn.GRUCell(I, H, dtype=f64)
    x, h_prev, c_prev = torch.randn(B, I, dtype=f64), torch.randn(B, H, dtype=f64), torch.randn(B, H, dtype=f64)
    w_ih, w_hh, b_ih, b_hh = (p.detach().numpy() for p in
                              (module.weight_ih, module.weight_hh, module.bias_ih, module.bias_hh))
    xp, hp = x.numpy() @ w_ih.T + b_ih, h_prev.numpy() @ w_hh.T + b_hh
    with torch.no_grad():
        if cell == "lstm":
            want_h, want_c = module(x, (h_prev, c_prev))
            out_shapes = [(B, 4 * H), (B, H), (B, H), (B, H)]
            gates, c, h, tanh_c = run(cells.lstm_fwd, (xp + hp, c_prev.numpy()), out_shapes, np.float64)
            assert_close(c, want_c.numpy(), np.float64, "c vs torch")
        else:
            want_h = module(x, h_prev)
            gates, h = run(cells.gru_fwd, (xp, hp, h_prev.numpy()), [(B, 3 * H), (B, H)], np.float64)
    assert_close(h, want_h.numpy(), np.float64, "h vs torch")


# --- cells: extreme inputs and shape errors --------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_cells_extreme_inputs_without_warnings(dtype):
    B, H = 2, 3
    big = np.tile(np.array([1000.0, -1000.0, 1000.0]), (B, 1)).astype(dtype)
    big4, big3, big2 = np.tile(big, 4), np.tile(big, 3), np.tile(big, 2)
    with warnings.catch_warnings(), strict_fp():
        warnings.simplefilter("error")
        gates, c, h, tanh_c = run(cells.lstm_fwd, (big4, big), [(B, 4 * H), (B, H), (B, H), (B, H)], dtype)
        dpre, dc_prev = run(cells.lstm_bwd, (gates, big, tanh_c, big, big), [(B, 4 * H), (B, H)], dtype)
        g_gates, g_h = run(cells.gru_fwd, (big3, big3, big), [(B, 3 * H), (B, H)], dtype)
        dxp, dhp, dh_prev = run(cells.gru_bwd, (g_gates, big3, big, big), [(B, 3 * H), (B, 3 * H), (B, H)], dtype)
        rz, rh = run(cells.gru_rb_gates_fwd, (big2, big), [(B, 2 * H), (B, H)], dtype)
        n, rb_h = run(cells.gru_rb_out_fwd, (big, rz, big), [(B, H), (B, H)], dtype)
        (h_tanh,) = run(cells.rnn_tanh_fwd, (big,), [(B, H)], dtype)
    for a in (gates, c, h, tanh_c, dpre, dc_prev, g_gates, g_h, dxp, dhp, dh_prev, rz, rh, n, rb_h, h_tanh):
        assert np.all(np.isfinite(a))
    assert_close(h, ref.lstm_fwd(up(big4), up(big))[2], dtype, "lstm_fwd h at |x| = 1000")
    assert_close(g_h, ref.gru_fwd(up(big3), up(big3), up(big))[1], dtype, "gru_fwd h at |x| = 1000")


# kernel, multiples of H for each (B, k*H) argument (for lstm_fwd: pre, c_prev, gates_out, ...)
CELL_LAYOUTS = [
    (cells.rnn_tanh_fwd, [1, 1]), (cells.rnn_tanh_bwd, [1, 1, 1]),
    (cells.rnn_relu_fwd, [1, 1]), (cells.rnn_relu_bwd, [1, 1, 1]),
    (cells.lstm_fwd, [4, 1, 4, 1, 1, 1]), (cells.lstm_bwd, [4, 1, 1, 1, 1, 4, 1]),
    (cells.gru_fwd, [3, 3, 1, 3, 1]), (cells.gru_bwd, [3, 3, 1, 1, 3, 3, 1]),
    (cells.gru_rb_gates_fwd, [2, 1, 2, 1]), (cells.gru_rb_out_fwd, [1, 2, 1, 1, 1]),
    (cells.gru_rb_out_bwd, [1, 2, 1, 1, 1, 1, 1]), (cells.gru_rb_gates_bwd, [2, 1, 1, 1, 2, 1]),
]


@pytest.mark.parametrize("kernel,layout", CELL_LAYOUTS, ids=[k.__name__ for k, _ in CELL_LAYOUTS])
def test_cell_kernel_rejects_a_wrong_output_shape(kernel, layout):
    B, H = 2, 3
    args = [np.zeros((B, k * H)) for k in layout]
    kernel(*args)  # the documented layout is accepted
    last = list(inspect.signature(getattr(kernel, "py_func", kernel)).parameters)[-1]
    args[-1] = np.zeros((B, layout[-1] * H + 1))
    shape = f"(B, {layout[-1]}H)" if layout[-1] > 1 else "(B, H)"
    with pytest.raises(ValueError, match=rf"^{kernel.__name__}: expected {last} of shape \{shape[:-1]}\)$"):
        kernel(*args)


# --- cross-entropy ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,C", [(1, 1), (1, 5), (4, 1), (7, 33)])
def test_cross_entropy_matches_reference(dtype, N, C):
    rng = np.random.default_rng(N * 100 + C)
    logits = randn(rng, (N, C), dtype, 3.0)
    targets = rng.integers(0, C, size=N)
    targets[N // 2] = -100 if N > 1 else targets[0]
    losses, probs = np.empty(N, dtype), np.empty((N, C), dtype)
    assert ce.cross_entropy_fwd(logits, targets, -100, losses, probs) == -1
    want_losses, want_probs = ref.cross_entropy_fwd(up(logits), targets, -100)
    assert_close(losses, want_losses, dtype, "losses")
    assert_close(probs, want_probs, dtype, "probs")

    row_scale = np.full(N, 1.0 / N, dtype=dtype)
    dlogits = np.full((N, C), np.nan, dtype)
    assert ce.cross_entropy_bwd(probs, targets, -100, row_scale, dlogits) == -1
    assert_close(dlogits, ref.cross_entropy_bwd(up(probs), targets, -100, up(row_scale)), dtype, "dlogits")


def test_cross_entropy_backward_matches_finite_differences():
    rng = np.random.default_rng(6)
    N, C = 4, 5
    logits, targets = rng.standard_normal((N, C)), np.array([0, 4, 2, 2])
    row_scale = rng.uniform(0.5, 2.0, N)
    losses, probs = np.empty(N), np.empty((N, C))
    ignore = 2  # a valid class id used as ignore_index: rows 2 and 3 are ignored

    def loss():
        ce.cross_entropy_fwd(logits, targets, ignore, losses, probs)
        return float(np.sum(row_scale * losses))

    numeric = numeric_grad(loss, logits)
    ce.cross_entropy_fwd(logits, targets, ignore, losses, probs)
    dlogits = np.empty((N, C))
    assert ce.cross_entropy_bwd(probs, targets, ignore, row_scale, dlogits) == -1
    assert_grad("cross_entropy logits", dlogits, numeric)
    assert np.all(dlogits[2:] == 0.0) and np.all(losses[2:] == 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nan_at", [0, 2, 4])
def test_cross_entropy_nan_logit_gives_nan_loss(dtype, nan_at):
    rng = np.random.default_rng(7)
    logits = randn(rng, (3, 5), dtype)
    logits[1, nan_at] = np.nan
    targets = np.array([1, 3, 0])
    losses, probs = np.empty(3, dtype), np.empty((3, 5), dtype)
    ce.cross_entropy_fwd(logits, targets, -100, losses, probs)
    assert np.isnan(losses[1]) and np.all(np.isnan(probs[1]))
    assert np.all(np.isfinite(losses[[0, 2]])) and np.all(np.isfinite(probs[[0, 2]]))
    dlogits = np.empty_like(probs)
    ce.cross_entropy_bwd(probs, targets, -100, np.ones(3, dtype), dlogits)
    assert np.all(np.isnan(dlogits[1])) and np.all(np.isfinite(dlogits[[0, 2]]))


def test_cross_entropy_infinite_logit_is_not_silently_a_number():
    losses, probs = np.empty(2), np.empty((2, 3))
    logits = np.array([[np.inf, 0.0, 0.0], [0.0, 0.0, 0.0]])
    with np.errstate(invalid="ignore"):  # inf - inf, when the kernel runs as Python
        ce.cross_entropy_fwd(logits, np.array([1, 1]), -100, losses, probs)
    assert not np.isfinite(losses[0]) and np.isfinite(losses[1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extreme_logits_without_warnings(dtype):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]], dtype=dtype)
    losses, probs = np.empty(2, dtype), np.empty((2, 3), dtype)
    with warnings.catch_warnings(), strict_fp():
        warnings.simplefilter("error")
        assert ce.cross_entropy_fwd(logits, np.array([1, 2]), -100, losses, probs) == -1
    assert losses[0] == 2000.0
    assert abs(losses[1] - np.log(3.0)) < 1e-6
    assert_close(probs, ref.cross_entropy_fwd(up(logits), np.array([1, 2]), -100)[1], dtype, "probs")


def test_cross_entropy_reports_the_first_out_of_range_target():
    N, C = 5, 4
    logits = np.zeros((N, C))
    targets = np.array([0, -100, 4, -1, 3])  # rows 2 (== C) and 3 (negative, not ignore_index) are bad
    losses, probs = np.empty(N), np.empty((N, C))
    assert ce.cross_entropy_fwd(logits, targets, -100, losses, probs) == 2
    assert np.isnan(losses[2]) and np.isnan(losses[3])
    assert losses[1] == 0.0 and np.isclose(losses[0], np.log(C)) and np.isclose(losses[4], np.log(C))
    dlogits = np.empty((N, C))
    assert ce.cross_entropy_bwd(probs, targets, -100, np.ones(N), dlogits) == 2
    assert np.all(np.isnan(dlogits[2:4])) and np.all(dlogits[1] == 0.0) and np.all(np.isfinite(dlogits[[0, 4]]))


def test_cross_entropy_rejects_mismatched_shapes():
    logits, probs, losses = np.zeros((3, 4)), np.zeros((3, 4)), np.zeros(3)
    with pytest.raises(ValueError, match=r"^cross_entropy_fwd: expected targets of shape \(N,\)$"):
        ce.cross_entropy_fwd(logits, np.zeros(2, np.int64), -100, losses, probs)
    with pytest.raises(ValueError, match=r"^cross_entropy_fwd: expected probs_out of shape \(N, C\)$"):
        ce.cross_entropy_fwd(logits, np.zeros(3, np.int64), -100, losses, np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"^cross_entropy_bwd: expected row_scale of shape \(N,\)$"):
        ce.cross_entropy_bwd(probs, np.zeros(3, np.int64), -100, np.ones(4), np.zeros((3, 4)))


# --- optimizer updates -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N", [1, 7, 1000])
def test_adagrad_update_matches_reference(dtype, N):
    rng = np.random.default_rng(N)
    param, grad = randn(rng, (N,), dtype), randn(rng, (N,), dtype, 3.0)
    state_sum = np.abs(randn(rng, (N,), dtype))
    want_param, want_sum = ref.adagrad_update(up(param), up(grad), up(state_sum), 0.05, 1e-10)
    optim_updates.adagrad_update(param, grad, state_sum, 0.05, 1e-10)
    assert_close(state_sum, want_sum, dtype, "adagrad sum")
    assert_close(param, want_param, dtype, "adagrad param")
    with pytest.raises(ValueError, match=r"^adagrad_update: expected grad and state_sum of param's shape$"):
        optim_updates.adagrad_update(param, grad[:-1] if N > 1 else grad[:0], state_sum, 0.05, 1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adagrad_update_takes_a_matrix_as_it_is(dtype):
    rng = np.random.default_rng(5)
    param, grad = randn(rng, (4, 6), dtype), randn(rng, (4, 6), dtype, 3.0)
    state_sum = np.abs(randn(rng, (4, 6), dtype))
    flat_param, flat_sum = param.reshape(-1).copy(), state_sum.reshape(-1).copy()
    optim_updates.adagrad_update(flat_param, grad.reshape(-1), flat_sum, 0.05, 1e-10)
    optim_updates.adagrad_update(param, grad, state_sum, 0.05, 1e-10)
    np.testing.assert_array_equal(param.reshape(-1), flat_param)     # the same pass, element for element
    np.testing.assert_array_equal(state_sum.reshape(-1), flat_sum)
    with pytest.raises(ValueError, match=r"^adagrad_update: expected grad and state_sum of param's shape$"):
        optim_updates.adagrad_update(param, grad.reshape(6, 4), state_sum, 0.05, 1e-10)
    with pytest.raises(ValueError, match=r"^adagrad_update: expected grad and state_sum of param's shape$"):
        optim_updates.adagrad_update(param, grad.reshape(-1), state_sum, 0.05, 1e-10)
    scalar, scalar_sum = np.array(1.5, dtype), np.array(0.0, dtype)     # a 0-d parameter: one element
    optim_updates.adagrad_update(scalar, np.array(2.0, dtype), scalar_sum, 0.5, 0.0)
    assert scalar_sum == 4.0 and scalar == dtype(1.0)                  # s = 4, p = 1.5 - 0.5 * 2 / 2


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_values_matches_numpy_clip(dtype):
    values = np.array([-np.inf, -7.5, -5.0, -0.0, 0.25, 5.0, 6.0, np.inf, np.nan], dtype)
    want = np.clip(values, -5.0, 5.0)
    optim_updates.clip_values(values, 5.0)
    assert values.dtype == dtype
    np.testing.assert_array_equal(values, want)        # equal_nan: nan stays nan
    matrix = np.array([[-7.0, 0.5, 5.5], [np.nan, -0.0, 9.0]], dtype)
    want = np.clip(matrix, -5.0, 5.0)
    optim_updates.clip_values(matrix, 5.0)
    np.testing.assert_array_equal(matrix, want)
    scalar = np.array(-9.0, dtype)
    optim_updates.clip_values(scalar, 5.0)
    assert scalar == -5.0


# --- the same file without the JIT -----------------------------------------------------------

@pytest.mark.skipif(JIT_DISABLED, reason="already running with NUMBA_DISABLE_JIT=1")
def test_kernel_tests_pass_with_jit_disabled():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    files = [str(Path(__file__)), str(Path(__file__).with_name("test_sequence_kernels.py"))]
    proc = subprocess.run([sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout
