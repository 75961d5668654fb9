"""Property tests: random shapes and broadcasts, float32 and float64.

For elementwise, reduction, movement and matmul ops: forward equals NumPy in the input's dtype,
gradients pass gradcheck(fast=True) in float64, and float32 inputs give float32 outputs and gradients.
"""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True)
DTYPES = st.sampled_from([np.float32, np.float64])
# values at least 0.05 away from 0, so the kinks of relu and friends are never inside the finite difference
AWAY_FROM_ZERO = st.floats(0.05, 3.0) | st.floats(-3.0, -0.05)


def arrays(shape, elements=AWAY_FROM_ZERO, unique=False):
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)


def check(fn, arrays64, dtype, reference, rtol):
    """Forward vs ``reference`` in ``dtype``; dtype of output and gradients; gradcheck(fast) in float64."""
    inputs = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays64]
    out = fn(*inputs)
    expected = reference(*[a.astype(dtype) for a in arrays64])
    assert out.dtype == dtype
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=rtol)
    out.backward(np.ones(out.shape, dtype=dtype))
    for x in inputs:
        assert x.grad.dtype == dtype and x.grad.shape == x.shape
    assert tg.gradcheck(fn, [Tensor(a, requires_grad=True) for a in arrays64], fast=True)


BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: abs_(a) ** b, lambda a, b: np.abs(a) ** b),
}


def abs_(x):
    return tg.where(x.data > 0, x, -x)


@SETTINGS
@given(st.sampled_from(sorted(BINARY)),
       hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4), DTYPES, st.data())
def test_binary_broadcasting(name, shapes, dtype, data):
    fn, reference = BINARY[name]
    a = data.draw(arrays(shapes.input_shapes[0]))
    b = data.draw(arrays(shapes.input_shapes[1], elements=st.floats(-2.0, 2.0) if name == "pow" else AWAY_FROM_ZERO))
    check(fn, [a, b], dtype, reference, 1e-4 if dtype == np.float32 else 1e-12)


UNARY = {
    "neg": (lambda x: -x, np.negative),
    "exp": (lambda x: x.exp(), np.exp),
    "log": (lambda x: (x * x).log(), lambda a: np.log(a * a)),
    "tanh": (lambda x: x.tanh(), np.tanh),
    "sigmoid": (lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    "relu": (lambda x: x.relu(), lambda a: np.maximum(a, 0)),
    "leaky_relu": (lambda x: x.leaky_relu(0.2), lambda a: np.where(a > 0, a, a * a.dtype.type(0.2))),
    "elu": (lambda x: x.elu(), lambda a: np.where(a > 0, a, np.expm1(np.minimum(a, 0)))),
    "clip": (lambda x: x.clip(-1.0, 1.0), lambda a: np.clip(a, -1.0, 1.0)),
    "square_scalar": (lambda x: x ** 2 * 0.5 - 1, lambda a: a ** 2 * 0.5 - 1),
    "softmax": (lambda x: x.softmax(-1),
                lambda a: np.exp(a - a.max(-1, keepdims=True)) / np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True)),
}


@SETTINGS
@given(st.sampled_from(sorted(UNARY)), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), DTYPES, st.data())
def test_unary(name, shape, dtype, data):
    if name == "softmax" and shape == ():
        shape = (1,)
    fn, reference = UNARY[name]
    a = data.draw(arrays(shape))
    # clip's bounds are kinks too: keep values off them
    a = np.where(np.abs(np.abs(a) - 1.0) < 0.01, a * 1.5, a) if name == "clip" else a
    check(fn, [a], dtype, reference, 1e-5 if dtype == np.float32 else 1e-12)


@SETTINGS
@given(st.sampled_from(["sum", "mean", "max"]), hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
       st.booleans(), DTYPES, st.data())
def test_reductions(name, shape, keepdims, dtype, data):
    ndim = len(shape)
    chosen = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    axis = tuple(a - ndim if data.draw(st.booleans()) else a for a in chosen)
    axis = axis[0] if len(axis) == 1 and data.draw(st.booleans()) else axis
    axis = None if data.draw(st.integers(0, 5)) == 0 else axis
    a = data.draw(arrays(shape, unique=name == "max"))   # no ties: max is differentiable there
    fn = lambda x: getattr(x, name)(axis=axis, keepdims=keepdims)  # noqa: E731
    reference = lambda a: getattr(np, name)(a, axis=axis, keepdims=keepdims)  # noqa: E731
    check(fn, [a], dtype, reference, 1e-5 if dtype == np.float32 else 1e-12)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), DTYPES, st.data())
def test_movement(shape, dtype, data):
    a = data.draw(arrays(shape))
    ndim = len(shape)
    kind = data.draw(st.sampled_from(["reshape", "permute", "slice", "gather", "transposed_input"]))
    if kind == "reshape":
        new_shape = tuple(data.draw(st.permutations(list(shape))))
        new_shape = (-1,) + new_shape[1:] if data.draw(st.booleans()) else new_shape
        fn = lambda x: x.reshape(new_shape)  # noqa: E731
        reference = lambda a: a.reshape(new_shape)  # noqa: E731
    elif kind == "permute":
        order = tuple(data.draw(st.permutations(range(ndim))))
        fn = lambda x: x.permute(order)  # noqa: E731
        reference = lambda a: a.transpose(order)  # noqa: E731
    elif kind == "slice":
        index = tuple(slice(data.draw(st.integers(-n, n)), data.draw(st.integers(-n, n)),
                            data.draw(st.sampled_from([1, 2, -1]))) for n in shape)
        fn = lambda x: x[index] * 1.0  # noqa: E731
        reference = lambda a: a[index]  # noqa: E731
    elif kind == "gather":
        picks = np.array(data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6)))
        fn = lambda x: x[picks]  # noqa: E731
        reference = lambda a: a[picks]  # noqa: E731
    else:
        a = np.ascontiguousarray(a.T).T   # same values, non-contiguous layout
        fn = lambda x: (x.transpose() * 2).sum(axis=0)  # noqa: E731
        reference = lambda a: (a.T * 2).sum(axis=0)  # noqa: E731
    check(fn, [a], dtype, reference, 1e-5 if dtype == np.float32 else 1e-12)


@SETTINGS
@given(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=4), DTYPES, st.data())
def test_matmul_broadcasting(shapes, dtype, data):
    a = data.draw(arrays(shapes.input_shapes[0]))
    b = data.draw(arrays(shapes.input_shapes[1]))
    check(lambda x, y: x @ y, [a, b], dtype, np.matmul, 1e-5 if dtype == np.float32 else 1e-12)
