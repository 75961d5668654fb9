"""More property tests of the engine (tests/test_engine_properties.py has the first 400 cases): the ops
and situations not drawn there — cat, stack, split/chunk, squeeze/unsqueeze, where with broadcasting,
log_softmax, cross_entropy in every reduction with ignored rows, embedding, casts, gathers with repeated
indices and boolean masks, 1-D matmul, scalar operands of every Python/NumPy kind, zero-size arrays,
fan-out and retain_graph. For each: forward equals NumPy in the input's dtype, gradients pass
gradcheck(fast=True) in float64, and float32 never becomes float64 (outputs and gradients).
"""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)
DTYPES = st.sampled_from([np.float32, np.float64])
VALUES = st.floats(0.05, 3.0) | st.floats(-3.0, -0.05)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)


def arrays(shape, elements=VALUES):
    return hnp.arrays(np.float64, shape, elements=elements)


def tol(dtype):
    return 2e-5 if dtype == np.float32 else 1e-12


def check(fn, arrays64, dtype, reference):
    """Forward vs ``reference`` in ``dtype`` (every output), dtypes kept, gradcheck(fast) in float64."""
    inputs = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays64]
    outs = fn(*inputs)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    expected = reference(*[a.astype(dtype) for a in arrays64])
    expected = expected if isinstance(expected, (tuple, list)) else (expected,)
    assert len(outs) == len(expected)
    for out, want in zip(outs, expected):
        assert out.dtype == dtype, (out.dtype, dtype)
        assert out.shape == np.shape(want)
        np.testing.assert_allclose(out.data, want, rtol=tol(dtype), atol=tol(dtype))
    total = sum((o * Tensor(np.full(o.shape, k + 1.0, dtype))).sum() for k, o in enumerate(outs))
    total.backward()
    for x in inputs:
        assert x.grad is None or (x.grad.dtype == dtype and x.grad.shape == x.shape)
    assert tg.gradcheck(fn, [Tensor(a, requires_grad=True) for a in arrays64], fast=True)


@SETTINGS
@given(st.lists(SHAPES, min_size=1, max_size=1), st.integers(1, 3), DTYPES, st.data())
def test_cat_and_stack(base, count, dtype, data):
    shape = base[0]
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    cat_shapes = [tuple(data.draw(st.integers(1, 3)) if i == axis % len(shape) else s for i, s in enumerate(shape))
                  for _ in range(count)]
    parts = [data.draw(arrays(s)) for s in cat_shapes]
    check(lambda *xs: tg.cat(xs, axis=axis), parts, dtype, lambda *a: np.concatenate(a, axis=axis))
    same = [data.draw(arrays(shape)) for _ in range(count)]
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda *xs: tg.stack(xs, axis=new_axis), same, dtype, lambda *a: np.stack(a, axis=new_axis))


@SETTINGS
@given(SHAPES, DTYPES, st.data())
def test_split_chunk_squeeze_unsqueeze(shape, dtype, data):
    a = data.draw(arrays(shape))
    axis = data.draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    size = data.draw(st.integers(1, n))
    starts = list(range(0, n, size))
    check(lambda x: x.split(size, axis=axis), [a], dtype,
          lambda x: [np.take(x, range(s, min(s + size, n)), axis=axis) for s in starts])
    chunks = data.draw(st.integers(1, n))
    step = -(-n // chunks)
    check(lambda x: x.chunk(chunks, axis=axis), [a], dtype,
          lambda x: [np.take(x, range(s, min(s + step, n)), axis=axis) for s in range(0, n, step)])
    where = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda x: x.unsqueeze(where).squeeze(), [a], dtype, lambda x: np.squeeze(np.expand_dims(x, where)))


@SETTINGS
@given(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3), DTYPES, st.data())
def test_where_broadcasts_all_three(shapes, dtype, data):
    cond_shape, a_shape, b_shape = shapes.input_shapes
    cond = data.draw(hnp.arrays(bool, cond_shape))
    a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
    check(lambda x, y: tg.where(cond, x, y), [a, b], dtype, lambda x, y: np.where(cond, x, y))


@SETTINGS
@given(SHAPES, DTYPES, st.data())
def test_log_softmax_any_axis(shape, dtype, data):
    a = data.draw(arrays(shape, st.floats(-30, 30)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))

    def reference(x):
        m = x.max(axis=axis, keepdims=True)
        return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    check(lambda x: tg.log_softmax(x, axis=axis), [a], dtype, reference)


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 6), st.sampled_from(["mean", "sum", "none"]), DTYPES, st.data())
def test_cross_entropy_with_ignored_rows(n, c, reduction, dtype, data):
    logits = data.draw(arrays((n, c), st.floats(-20, 20)))
    targets = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    ignore = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if reduction == "mean" and ignore.all():
        ignore[0] = False                                       # a mean over no rows is undefined
    targets = np.where(ignore, -100, targets)

    def reference(x):
        m = x.max(axis=1, keepdims=True)
        lse = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
        losses = np.where(ignore, 0.0, lse - x[np.arange(n), np.where(ignore, 0, targets)]).astype(x.dtype)
        if reduction == "none":
            return losses
        return losses.sum() / (1 if reduction == "sum" else (~ignore).sum())
    check(lambda x: tg.cross_entropy(x, targets, reduction=reduction), [logits], dtype, reference)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 4), hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), DTYPES, st.data())
def test_embedding_with_repeated_ids(vocab, dim, index_shape, dtype, data):
    weight = data.draw(arrays((vocab, dim)))
    ids = data.draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, vocab - 1)))
    check(lambda w: tg.embedding(ids, w), [weight], dtype, lambda w: w[ids])


@SETTINGS
@given(SHAPES, DTYPES, st.data())
def test_gathers_masks_and_casts(shape, dtype, data):
    a = data.draw(arrays(shape))
    picks = np.array(data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=8)))
    check(lambda x: x[picks, ...] * 1.5, [a], dtype, lambda x: x[picks, ...] * x.dtype.type(1.5))
    mask = data.draw(hnp.arrays(bool, shape))
    check(lambda x: x[mask], [a], dtype, lambda x: x[mask])
    other = np.float64 if dtype == np.float32 else np.float32
    out = Tensor(a.astype(dtype), requires_grad=True)
    y = out.astype(other)
    assert y.dtype == other
    (y * 2.0).sum().backward()
    assert out.grad.dtype == dtype and np.all(out.grad == 2.0)


SCALARS = {
    "python float": lambda: 0.75, "python int": lambda: 3, "bool": lambda: True,
    "np.float64": lambda: np.float64(0.75), "np.float32": lambda: np.float32(0.75), "np.int64": lambda: np.int64(2),
    "0-d float64 array": lambda: np.array(0.75),
}


@SETTINGS
@given(st.sampled_from(sorted(SCALARS)), st.sampled_from(["add", "radd", "sub", "rsub", "mul", "rmul", "div",
                                                          "rdiv", "pow"]), SHAPES, DTYPES, st.data())
def test_scalar_operands_never_upcast(kind, op, shape, dtype, data):
    """Every kind of scalar on either side keeps the tensor's dtype (NumPy's own rules would upcast some)."""
    s = SCALARS[kind]()
    fns = {"add": lambda x: x + s, "radd": lambda x: s + x, "sub": lambda x: x - s, "rsub": lambda x: s - x,
           "mul": lambda x: x * s, "rmul": lambda x: s * x, "div": lambda x: x / s, "rdiv": lambda x: s / x,
           "pow": lambda x: (x * x) ** s}
    sv = float(s)
    refs = {"add": lambda x: x + sv, "radd": lambda x: sv + x, "sub": lambda x: x - sv, "rsub": lambda x: sv - x,
            "mul": lambda x: x * sv, "rmul": lambda x: sv * x, "div": lambda x: x / sv, "rdiv": lambda x: sv / x,
            "pow": lambda x: (x * x) ** sv}
    a = data.draw(arrays(shape))
    x = Tensor(a.astype(dtype), requires_grad=True)
    y = fns[op](x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data, refs[op](a), rtol=1e-5 if dtype == np.float32 else 1e-12)
    y.sum().backward()
    assert x.grad.dtype == dtype
    assert tg.gradcheck(fns[op], [Tensor(a, requires_grad=True)], fast=True)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), DTYPES, st.data())
def test_vector_matmuls(n, k, m, dtype, data):
    A, v, w = data.draw(arrays((n, k))), data.draw(arrays((k,))), data.draw(arrays((n,)))
    check(lambda a, x: a @ x, [A, v], dtype, lambda a, x: a @ x)
    check(lambda x, a: x @ a, [w, A], dtype, lambda x, a: x @ a)
    check(lambda x, y: x @ y, [v, v[::-1].copy()], dtype, lambda x, y: x @ y)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3).filter(lambda s: 0 in s), DTYPES)
def test_zero_size_arrays(shape, dtype):
    """Empty tensors flow through every kind of op and get empty gradients of the right shape and dtype."""
    x = Tensor(np.ones(shape, dtype), requires_grad=True)
    y = ((x * 2.0 + 1.0).tanh().exp() - x.sigmoid()).reshape(-1)
    z = tg.cat([y, Tensor(np.ones(2, dtype))]).sum() + x.sum(axis=0).sum() + x.permute(*range(len(shape))[::-1]).sum()
    assert z.dtype == dtype and y.shape == (0,) and z.item() == 2.0
    z.backward()
    assert x.grad.shape == shape and x.grad.dtype == dtype


@SETTINGS
@given(SHAPES, st.integers(1, 5), DTYPES, st.data())
def test_fan_out_sums_and_retain_graph_accumulates(shape, uses, dtype, data):
    """A tensor used k times gets the sum of k gradients; a second backward over a retained graph adds again."""
    a = data.draw(arrays(shape))
    x = Tensor(a.astype(dtype), requires_grad=True)
    h = x.tanh()
    total = h
    for _ in range(uses - 1):
        total = total + h
    loss = total.sum()
    loss.backward(retain_graph=True)
    once = x.grad.copy()
    want = uses * (1 - np.tanh(a.astype(dtype)) ** 2)
    np.testing.assert_allclose(once, want, rtol=tol(dtype), atol=tol(dtype))
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * once, rtol=tol(dtype), atol=tol(dtype))
    assert x.grad.dtype == dtype
