"""The scalar sigmoid and tanh inside the gate kernels: within ~2 ulp in float32, 1e-15 in float64.

Both use the package's own arithmetic-only exp (so loops vectorise); these tests hold it to
float64 references over every magnitude (float64 against NumPy's libm-backed ufuncs), at the
special values, and in both the compiled kernels and the plain-Python code path.
"""
import numpy as np
import pytest

from tinygrad_rnn.kernels import scalar_math as sm
from tinygrad_rnn.kernels.activations import sigmoid_fwd
from tinygrad_rnn.kernels.cells import rnn_tanh_fwd

F32_REL_TOL = 3e-7   # about 2.5 ulp of float32 (eps = 1.19e-7)


def all_magnitudes(dtype):
    """Both signs, every decade from 1e-30 to 200, plus a dense stretch where the gates live."""
    mags = np.geomspace(1e-30, 200.0, 100_000)
    return np.concatenate([-mags, mags, np.linspace(-20, 20, 40_001)]).astype(dtype)


def kernel_sigmoid(x):
    out = np.empty_like(x)
    sigmoid_fwd(x, out)
    return out


def kernel_tanh(x):
    out = np.empty((1, x.size), x.dtype)
    rnn_tanh_fwd(x[None], out)
    return out[0]


def max_relative_error(got, exact):
    keep = np.abs(exact) > 1e-37               # float32's normal range
    return float(np.max(np.abs(got.astype(np.float64)[keep] - exact[keep]) / np.abs(exact[keep])))


def test_float32_sigmoid_and_tanh_are_within_two_ulp_everywhere():
    x = all_magnitudes(np.float32)
    x64 = x.astype(np.float64)
    assert max_relative_error(kernel_sigmoid(x), 1 / (1 + np.exp(-x64))) < F32_REL_TOL
    assert max_relative_error(kernel_tanh(x), np.tanh(x64)) < F32_REL_TOL


def test_float32_results_stay_float32_and_in_range():
    x = all_magnitudes(np.float32)
    s, t = kernel_sigmoid(x), kernel_tanh(x)
    assert s.dtype == t.dtype == np.float32
    assert s.min() >= 0 and s.max() <= 1 and np.abs(t).max() <= 1


def test_float64_is_within_1e_15_everywhere():
    x = all_magnitudes(np.float64)
    assert max_relative_error(kernel_sigmoid(x), 1 / (1 + np.exp(-x))) < 1e-15
    assert max_relative_error(kernel_tanh(x), np.tanh(x)) < 1e-15


# x, then the exact sigmoid and tanh; the last rows are float32-specific (-87: just above float32's
# smallest normal exp; -104: below it) and float64-specific (-708: above float64's; -746: below).
SPECIAL = np.array([
    [np.nan, np.nan, np.nan], [np.inf, 1.0, 1.0], [-np.inf, 0.0, -1.0], [0.0, 0.5, 0.0], [-0.0, 0.5, -0.0],
    [88.8, 1.0, 1.0], [-88.8, 1 / (1 + np.exp(88.8)), -1.0], [1e-45, 0.5, 1e-45], [-1e-300, 0.5, -1e-300],
    [-87.0, 1 / (1 + np.exp(87.0)), -1.0], [-104.0, 1 / (1 + np.exp(104.0)), -1.0],
    [-708.0, 1 / (1 + np.exp(708.0)), -1.0], [-746.0, 0.0, -1.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("path", ["kernel", "python"])
def test_special_values(path, dtype):
    x, want_s, want_t = (SPECIAL[:, k].astype(dtype) for k in range(3))
    tiny = np.finfo(dtype).tiny                 # below the smallest normal number, 0 is the answer
    want_s = np.where(np.abs(want_s) < tiny, 0.0, want_s).astype(dtype)
    if path == "kernel":
        s, t = kernel_sigmoid(x), kernel_tanh(x)
    else:
        s = np.array([sm.sigmoid(v) for v in x])
        t = np.array([sm.tanh(v) for v in x])
    rtol = F32_REL_TOL if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(s, want_s, rtol=rtol, atol=0)
    np.testing.assert_allclose(t, want_t, rtol=rtol, atol=0)
    assert np.signbit(t[4]) and not np.signbit(t[3]) and s.dtype == t.dtype == dtype


def test_python_path_agrees_with_the_compiled_one():
    # Not bit-equal: the compiled code may fuse a multiply-add that Python rounds twice.
    x = np.float32([-30.0, -3.0, -0.3, -3e-6, 0.0, 3e-6, 0.3, 3.0, 30.0])
    np.testing.assert_allclose(np.array([sm.sigmoid(v) for v in x]), kernel_sigmoid(x), rtol=F32_REL_TOL)
    np.testing.assert_allclose(np.array([sm.tanh(v) for v in x]), kernel_tanh(x), rtol=F32_REL_TOL)


@pytest.mark.parametrize("dtype, rtol, lowest", [(np.float32, F32_REL_TOL, -87.0), (np.float64, 1e-15, -708.0)])
def test_exp_and_expm1(dtype, rtol, lowest):
    x = -np.geomspace(1e-30, -lowest, 1_001).astype(dtype)
    x64 = x.astype(np.float64)
    exp = np.array([sm.exp_nonpositive(v) for v in x])
    expm1 = np.array([sm.expm1_nonpositive(v) for v in x])
    assert exp.dtype == expm1.dtype == dtype
    assert max_relative_error(exp, np.exp(x64)) < rtol
    assert max_relative_error(expm1, np.expm1(x64)) < rtol


@pytest.mark.parametrize("count", range(1, 14))
def test_even_odd_horner_evaluates_the_polynomial(count):
    # Distinct coefficients, so a power of r applied to the wrong half or a dropped term shows.
    coefficients = tuple(float(k + 1) * (-1.0) ** k for k in range(count))
    p = sm._even_odd_horner(coefficients)
    for r in (-0.35, -1e-3, 0.0, 0.2, 1.5):
        exact = sum(c * r ** k for k, c in enumerate(coefficients))
        assert p(r) == pytest.approx(exact, rel=1e-14, abs=1e-300)


@pytest.mark.skipif(bool(__import__("numba").config.DISABLE_JIT), reason="needs numba dispatchers")
def test_cached_kernels_go_stale_when_scalar_math_changes():
    # numba alone would compare the stamp of cells.py only and keep old code after an edit here.
    from tinygrad_rnn.kernels.cells import lstm_fwd
    stamp = lstm_fwd._cache._cache_file._source_stamp
    assert "scalar_math.py" in {entry[0] for entry in stamp[1]}
