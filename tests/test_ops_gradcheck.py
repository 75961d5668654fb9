"""Every primitive op: forward equals NumPy, backward passes gradcheck in float64, float32 stays float32.

Shapes cover broadcasting, size-1 dims, 0-d tensors and non-contiguous (transposed) inputs.
"""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


def values(shape, seed, positive=False, dtype=np.float64, transposed=False):
    """Random values away from 0 (so kinks of relu/clip/abs are never within eps); optionally a transposed view."""
    rng = np.random.default_rng(seed)
    full = shape[::-1] if transposed else shape
    magnitude = rng.uniform(0.2, 2.0, size=full)
    array = magnitude if positive else magnitude * rng.choice([-1.0, 1.0], size=full)
    array = np.asarray(array, dtype=dtype)
    if transposed:
        array = array.T
        assert not array.flags.c_contiguous or array.ndim < 2
    return array


def leaf(array):
    return Tensor(array, requires_grad=True)


def check_float32(fn, arrays):
    """fn on float32 leaves: the output and every gradient stay float32."""
    inputs = [leaf(a.astype(np.float32)) for a in arrays]
    out = fn(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    rng = np.random.default_rng(1)
    total = None
    for o in outs:
        assert o.dtype == np.float32, f"forward gave {o.dtype}"
        term = (o * Tensor(rng.standard_normal(o.shape).astype(np.float32))).sum()
        total = term if total is None else total + term
    total.backward()
    for i, x in enumerate(inputs):
        assert x.grad is not None, f"input {i} got no gradient"
        assert x.grad.dtype == np.float32, f"gradient of input {i} is {x.grad.dtype}"
        assert x.grad.shape == x.shape


# ---------------------------------------------------------------- unary elementwise
UNARY = {
    "neg": (lambda x: -x, lambda a: -a, False),
    "exp": (lambda x: x.exp(), np.exp, False),
    "log": (lambda x: x.log(), np.log, True),
    "tanh": (lambda x: x.tanh(), np.tanh, False),
    "sigmoid": (lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), False),
    "relu": (lambda x: x.relu(), lambda a: np.where(a > 0, a, 0.0), False),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), lambda a: np.where(a > 0, a, 0.1 * a), False),
    "elu": (lambda x: x.elu(0.7), lambda a: np.where(a > 0, a, 0.7 * (np.exp(a) - 1)), False),
    "clip": (lambda x: x.clip(-1.05, 0.95), lambda a: np.minimum(np.maximum(a, -1.05), 0.95), False),
    "clip_low": (lambda x: x.clip(min=0.5), lambda a: np.maximum(a, 0.5), False),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, True),
    "square": (lambda x: x ** 2, lambda a: a ** 2, False),
    "pow_frac": (lambda x: x ** 1.5, lambda a: a ** 1.5, True),
    "rpow": (lambda x: 2.0 ** x, lambda a: 2.0 ** a, False),
    "add_scalar": (lambda x: x + 2.5, lambda a: a + 2.5, False),
    "rsub_scalar": (lambda x: 3 - x, lambda a: 3 - a, False),
    "mul_np64": (lambda x: x * np.float64(1.5), lambda a: a * 1.5, False),
    "rdiv_scalar": (lambda x: 1.0 / x, lambda a: 1.0 / a, True),
    "div_np64": (lambda x: x / np.float64(4.0), lambda a: a / 4.0, False),
}
UNARY_SHAPES = [((), False), ((1,), False), ((3, 4), False), ((2, 1, 3), False), ((3, 4), True)]


@pytest.mark.parametrize("shape,transposed", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward_and_gradcheck(name, shape, transposed):
    fn, reference, positive = UNARY[name]
    a = values(shape, 0, positive, transposed=transposed)
    out = fn(Tensor(a))
    assert out.shape == np.shape(reference(a))
    np.testing.assert_allclose(out.data, reference(a), rtol=1e-12, atol=1e-14)
    assert tg.gradcheck(fn, [leaf(a)])


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float32_stays_float32(name):
    fn, _, positive = UNARY[name]
    check_float32(fn, [values((3, 4), 2, positive)])


def test_activation_gradients_match_closed_forms():
    a = values((5,), 3)
    for fn, derivative in [(lambda x: x.tanh(), lambda a: 1 - np.tanh(a) ** 2),
                           (lambda x: x.sigmoid(), lambda a: np.exp(-a) / (1 + np.exp(-a)) ** 2),
                           (lambda x: x.relu(), lambda a: (a > 0) * 1.0),
                           (lambda x: x.elu(), lambda a: np.where(a > 0, 1.0, np.exp(a)))]:
        x = leaf(a)
        fn(x).sum().backward()
        np.testing.assert_allclose(x.grad, derivative(a), rtol=1e-12)


def test_sigmoid_and_elu_do_not_overflow():
    x = Tensor(np.array([-1000.0, 1000.0], dtype=np.float32))
    with np.errstate(over="raise"):
        assert x.sigmoid().tolist() == [0.0, 1.0]
        assert x.elu().tolist() == [-1.0, 1000.0]


# ---------------------------------------------------------------- binary elementwise
BINARY = {
    "add": (lambda a, b: a + b, np.add, False),
    "sub": (lambda a, b: a - b, np.subtract, False),
    "mul": (lambda a, b: a * b, np.multiply, False),
    "div": (lambda a, b: a / b, np.divide, False),
    "pow": (lambda a, b: a ** b, np.power, True),
}
BINARY_SHAPES = [
    ((3, 4), (3, 4), False), ((3, 4), (4,), False), ((3, 1), (1, 4), False), ((), (2, 3), False),
    ((2, 3), (), False), ((2, 1, 3), (4, 1), False), ((1,), (3, 1), False), ((3, 4), (3, 4), True),
]


@pytest.mark.parametrize("a_shape,b_shape,transposed", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_forward_and_gradcheck(name, a_shape, b_shape, transposed):
    fn, reference, positive_base = BINARY[name]
    a = values(a_shape, 0, positive_base, transposed=transposed)
    b = values(b_shape, 1, transposed=transposed)
    out = fn(Tensor(a), Tensor(b))
    np.testing.assert_allclose(out.data, reference(a, b), rtol=1e-12)
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    assert tg.gradcheck(fn, [leaf(a), leaf(b)])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_float32_stays_float32(name):
    fn, _, positive_base = BINARY[name]
    check_float32(fn, [values((3, 1), 0, positive_base), values((4,), 1)])


def test_binary_with_constant_operand_gets_no_gradient_and_broadcast_is_summed():
    a = leaf(np.ones((2, 3)))
    b = Tensor(np.array([1.0, 2.0, 3.0]))
    (a * b).sum().backward()
    np.testing.assert_array_equal(a.grad, [[1, 2, 3], [1, 2, 3]])
    assert b.grad is None
    c = leaf(np.array(2.0))
    (a * c).sum().backward()
    assert c.grad.shape == () and c.grad == 6.0


def test_ndarray_on_the_left_calls_the_tensor_operator():
    x = leaf(np.array([1.0, 2.0]))
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# ---------------------------------------------------------------- matmul
MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,)), ((1, 3), (3, 1)),
]


@pytest.mark.parametrize("a_shape,b_shape", MATMUL_SHAPES, ids=str)
def test_matmul_forward_and_gradcheck(a_shape, b_shape):
    a, b = values(a_shape, 0), values(b_shape, 1)
    out = Tensor(a) @ Tensor(b)
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-12)
    assert tg.gradcheck(lambda x, y: x @ y, [leaf(a), leaf(b)])


def test_matmul_transposed_inputs_and_float32():
    a, b = values((2, 3), 0, transposed=True), values((3, 4), 1, transposed=True)
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).data, a @ b, rtol=1e-12)
    assert tg.gradcheck(lambda x, y: x @ y, [leaf(a), leaf(b)])
    check_float32(lambda x, y: x @ y, [values((5, 2, 3), 0), values((3, 4), 1)])
    check_float32(lambda x, y: x @ y, [values((3,), 0), values((3,), 1)])


def test_matmul_with_ndarray_operand():
    x = leaf(values((2, 3), 0))
    w = values((3, 4), 1)
    (x @ w).sum().backward()
    np.testing.assert_allclose(x.grad, np.ones((2, 4)) @ w.T, rtol=1e-12)
    out = w.T @ x.T
    assert isinstance(out, Tensor) and out.shape == (4, 2)


# ---------------------------------------------------------------- reductions
REDUCE_AXES = [None, 0, -1, (0, 2), (-1, 0), 1]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", REDUCE_AXES, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reduction_forward_and_gradcheck(name, axis, keepdims):
    a = values((2, 3, 4), 0)
    fn = lambda x: getattr(x, name)(axis=axis, keepdims=keepdims)  # noqa: E731
    reference = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    out = fn(Tensor(a))
    assert isinstance(out.data, np.ndarray) and out.shape == np.shape(reference)
    np.testing.assert_allclose(out.data, reference, rtol=1e-12)
    assert tg.gradcheck(fn, [leaf(a)])


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reduction_edge_shapes(name):
    for shape, axis in [((), None), ((1, 3, 1), None), ((1, 3, 1), 0), ((1, 3, 1), (0, 2)), ((4,), 0),
                        ((3, 4), np.int64(1))]:
        a = values(shape, 5, transposed=len(shape) == 2)
        fn = lambda x: getattr(x, name)(axis=axis)  # noqa: E731
        np.testing.assert_allclose(fn(Tensor(a)).data, getattr(np, name)(a, axis=axis), rtol=1e-12)
        assert tg.gradcheck(fn, [leaf(a)])
    check_float32(lambda x: getattr(x, name)(axis=(0, 2), keepdims=True), [values((2, 3, 4), 0)])
    check_float32(lambda x: getattr(x, name)(), [values((2, 3), 0)])


def test_max_gradient_is_shared_between_ties():
    x = leaf(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]))
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [1, 0, 0]])
    y = leaf(np.array([2.0, 2.0, 2.0, 2.0], dtype=np.float32))
    y.max().backward()
    assert y.grad.dtype == np.float32 and y.grad.tolist() == [0.25] * 4


def test_mean_gradient_is_one_over_count():
    x = leaf(np.zeros((4, 5)))
    x.mean(axis=0).sum().backward()
    np.testing.assert_allclose(x.grad, np.full((4, 5), 0.25))


# ---------------------------------------------------------------- movement
MOVEMENT = {
    "reshape": (lambda x: x.reshape(4, 6), lambda a: a.reshape(4, 6)),
    "reshape_infer": (lambda x: x.reshape((-1, 3)), lambda a: a.reshape(-1, 3)),
    "flatten": (lambda x: x.flatten(), lambda a: a.reshape(-1)),
    "transpose_all": (lambda x: x.transpose(), lambda a: a.transpose()),
    "transpose_swap": (lambda x: x.transpose(0, 2), lambda a: np.swapaxes(a, 0, 2)),
    "permute": (lambda x: x.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0)),
    "permute_negative": (lambda x: x.permute((-1, 0, 1)), lambda a: a.transpose(2, 0, 1)),
    "T": (lambda x: x.T, lambda a: a.T),
    "unsqueeze": (lambda x: x.unsqueeze(1), lambda a: a[:, None]),
    "slice": (lambda x: x[1:, ::2], lambda a: a[1:, ::2]),
    "slice_negative_step": (lambda x: x[:, ::-1, 1], lambda a: a[:, ::-1, 1]),
    "ellipsis_newaxis": (lambda x: x[None, ..., 0], lambda a: a[None, ..., 0]),
    "int_index": (lambda x: x[1], lambda a: a[1]),
    "int_index_negative": (lambda x: x[-1, 2], lambda a: a[-1, 2]),
    "array_repeats": (lambda x: x[np.array([0, 0, 1, 0])], lambda a: a[np.array([0, 0, 1, 0])]),
    "list_repeats": (lambda x: x[:, [2, 2, 0]], lambda a: a[:, [2, 2, 0]]),
    "array_pairs": (lambda x: x[np.array([0, 1, 1]), np.array([2, 0, 2])],
                    lambda a: a[np.array([0, 1, 1]), np.array([2, 0, 2])]),
    "array_2d_index": (lambda x: x[np.array([[1, 1], [0, 1]])], lambda a: a[np.array([[1, 1], [0, 1]])]),
    "tensor_index": (lambda x: x[Tensor(np.array([1, 1]))], lambda a: a[np.array([1, 1])]),
    "bool_mask": (lambda x: x[np.array([True, False])], lambda a: a[np.array([True, False])]),
}


@pytest.mark.parametrize("name", sorted(MOVEMENT))
def test_movement_forward_and_gradcheck(name):
    fn, reference = MOVEMENT[name]
    a = values((2, 3, 4), 0)
    out = fn(Tensor(a))
    np.testing.assert_array_equal(out.data, reference(a))
    assert tg.gradcheck(fn, [leaf(a)])
    check_float32(fn, [a])


def test_transpose_of_2d_swaps_as_pytorch():
    a = values((2, 3), 0)
    np.testing.assert_array_equal(Tensor(a).transpose(0, 1).data, a.T)
    np.testing.assert_array_equal(Tensor(a).transpose(1, 0).data, a.T)


def test_getitem_repeated_indices_scatter_add():
    x = leaf(np.array([10.0, 20.0, 30.0]))
    x[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])
    y = leaf(np.zeros((2, 2)))
    (y[[0, 0, 1], [1, 1, 0]] * Tensor(np.array([1.0, 2.0, 5.0]))).sum().backward()
    np.testing.assert_array_equal(y.grad, [[0.0, 3.0], [5.0, 0.0]])


def test_squeeze_and_view():
    a = values((1, 3, 1), 0)
    assert tg.gradcheck(lambda x: x.squeeze() * 2, [leaf(a)])
    assert Tensor(a).squeeze(0).shape == (3, 1)
    assert Tensor(a).view(3).shape == (3,)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cat_forward_and_gradcheck(axis):
    parts = [values((2, 3, 2), 0), values((2, 3, 2), 1), values((2, 3, 2), 2)]
    if axis != 0:
        parts[1] = values((2, 1, 2), 1) if axis == 1 else values((2, 3, 1), 1)
    out = tg.cat([Tensor(p) for p in parts], axis=axis)
    np.testing.assert_array_equal(out.data, np.concatenate(parts, axis=axis))
    assert tg.gradcheck(lambda *xs: tg.cat(xs, axis=axis), [leaf(p) for p in parts])
    check_float32(lambda *xs: tg.cat(xs, axis=axis), parts)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_forward_and_gradcheck(axis):
    parts = [values((2, 3), 0), values((2, 3), 1, transposed=True), values((2, 3), 2)]
    out = tg.stack([Tensor(p) for p in parts], axis=axis)
    np.testing.assert_array_equal(out.data, np.stack(parts, axis=axis))
    assert tg.gradcheck(lambda *xs: tg.stack(xs, axis=axis), [leaf(p) for p in parts])
    check_float32(lambda *xs: tg.stack(xs, axis=axis), parts)


def test_split_and_chunk():
    a = values((7, 3), 0)
    pieces = Tensor(a).split(3)
    assert [p.shape for p in pieces] == [(3, 3), (3, 3), (1, 3)]
    for got, want in zip(pieces, np.split(a, [3, 6])):
        np.testing.assert_array_equal(got.data, want)
    pieces = Tensor(a).split([2, 4, 1])
    assert [p.shape for p in pieces] == [(2, 3), (4, 3), (1, 3)]
    assert [p.shape for p in Tensor(a).chunk(2, axis=0)] == [(4, 3), (3, 3)]
    assert [p.shape for p in Tensor(a).chunk(3, axis=1)] == [(7, 1)] * 3
    assert tg.gradcheck(lambda x: x.split([2, 4, 1]), [leaf(a)])
    assert tg.gradcheck(lambda x: x.chunk(3, axis=-1), [leaf(a)])
    check_float32(lambda x: x.split(3), [a])


def test_split_gradient_with_unused_pieces_is_zero_there():
    x = leaf(np.arange(6.0))
    first, _, third = x.split(2)
    (first * 2 + third).sum().backward()
    np.testing.assert_array_equal(x.grad, [2, 2, 0, 0, 1, 1])


def test_where_forward_and_gradcheck():
    condition = np.array([[True, False, True], [False, False, True]])
    a, b = values((2, 3), 0), values((3,), 1)
    out = tg.where(condition, Tensor(a), Tensor(b))
    np.testing.assert_array_equal(out.data, np.where(condition, a, b))
    assert tg.gradcheck(lambda x, y: tg.where(condition, x, y), [leaf(a), leaf(b)])
    assert tg.gradcheck(lambda x: tg.where(Tensor(condition), x, 0.5), [leaf(a)])
    check_float32(lambda x, y: tg.where(condition, x, y), [a, b])
    check_float32(lambda x: tg.where(condition, 0.0, x), [a])
    x = leaf(np.ones(3))
    tg.where(np.array([True, False, True]), x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 0, 1])


# ---------------------------------------------------------------- softmax family
def np_log_softmax(a, axis):
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("shape,axis", [((5,), -1), ((5,), 0), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1),
                                        ((2, 3, 4), -1), ((1, 1), -1)], ids=str)
def test_softmax_and_log_softmax(shape, axis):
    a = values(shape, 0)
    np.testing.assert_allclose(tg.softmax(Tensor(a), axis).data, np.exp(np_log_softmax(a, axis)), rtol=1e-12)
    np.testing.assert_allclose(Tensor(a).log_softmax(axis).data, np_log_softmax(a, axis), rtol=1e-12)
    assert tg.gradcheck(lambda x: tg.softmax(x, axis), [leaf(a)])
    assert tg.gradcheck(lambda x: tg.log_softmax(x, axis), [leaf(a)])
    check_float32(lambda x: x.softmax(axis), [a])
    check_float32(lambda x: x.log_softmax(axis), [a])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_is_stable_for_huge_logits(dtype):
    big = np.array([[1e30, 0.0, -1e30], [3e38 if dtype == np.float32 else 1e300, 1.0, 2.0]], dtype=dtype)
    x = leaf(big)
    for out in (tg.softmax(x), tg.log_softmax(x), tg.cross_entropy(x, np.array([0, 1]))):
        assert np.all(np.isfinite(out.data)), out
    np.testing.assert_allclose(tg.softmax(Tensor(big)).data, [[1, 0, 0], [1, 0, 0]])
    tg.cross_entropy(x, np.array([2, 1]), reduction="sum").backward()
    assert np.all(np.isfinite(x.grad)) and x.grad.dtype == dtype


# ---------------------------------------------------------------- cross-entropy
def np_cross_entropy(logits, targets, reduction, ignore_index=-100):
    kept = targets != ignore_index
    rows = np.arange(len(targets))
    losses = -np_log_softmax(logits, 1)[rows, np.where(kept, targets, 0)] * kept
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / kept.sum()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_numpy_and_gradchecks(reduction):
    logits, targets = values((6, 5), 0), np.array([0, 4, 2, 2, 1, 3])
    out = tg.cross_entropy(Tensor(logits), targets, reduction=reduction)
    np.testing.assert_allclose(out.data, np_cross_entropy(logits, targets, reduction), rtol=1e-12)
    assert tg.gradcheck(lambda x: tg.cross_entropy(x, targets, reduction=reduction), [leaf(logits)])
    check_float32(lambda x: tg.cross_entropy(x, targets, reduction=reduction), [logits])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_ignore_index(reduction):
    logits, targets = values((5, 4), 1), np.array([1, -100, 3, 7, 0])
    kwargs = dict(reduction=reduction, ignore_index=7)
    with pytest.raises(ValueError, match="target -100"):
        tg.cross_entropy(Tensor(logits), targets, **kwargs)
    targets = np.array([1, 7, 3, 7, 0])
    out = tg.cross_entropy(Tensor(logits), targets, **kwargs)
    np.testing.assert_allclose(out.data, np_cross_entropy(logits, targets, reduction, 7), rtol=1e-12)
    x = leaf(logits)
    tg.cross_entropy(x, targets, **kwargs).sum().backward()
    np.testing.assert_array_equal(x.grad[[1, 3]], 0.0)
    assert tg.gradcheck(lambda x: tg.cross_entropy(x, targets, **kwargs), [leaf(logits)])
    default = tg.cross_entropy(Tensor(logits), np.array([1, -100, 3, -100, 0]))
    np.testing.assert_allclose(default.data, np_cross_entropy(logits, np.array([1, -100, 3, -100, 0]), "mean"))


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    logits = values((3, 4), 2)
    targets = np.array([3, 0, 1])
    x = leaf(logits)
    tg.cross_entropy(x, targets).backward()
    expected = (np.exp(np_log_softmax(logits, 1)) - np.eye(4)[targets]) / 3
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


def test_cross_entropy_single_row_and_torch_parity():
    logits = values((4,), 3)
    out = tg.cross_entropy(Tensor(logits), 2)
    np.testing.assert_allclose(out.item(), -np_log_softmax(logits[None], 1)[0, 2], rtol=1e-12)
    assert tg.cross_entropy(Tensor(logits), 2, reduction="none").shape == ()
    torch = pytest.importorskip("torch")
    batch, targets = values((6, 5), 4), np.array([0, 4, 2, 2, 1, 3])
    x = leaf(batch)
    tg.cross_entropy(x, targets).backward()
    tx = torch.tensor(batch, requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor(targets)).backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10)


# ---------------------------------------------------------------- embedding and dropout
def test_embedding_gathers_rows_and_scatter_adds_repeats():
    weight = values((5, 3), 0)
    indices = np.array([[1, 4, 1], [1, 0, 2]])
    out = tg.embedding(indices, Tensor(weight))
    np.testing.assert_array_equal(out.data, weight[indices])
    w = leaf(weight)
    tg.embedding(Tensor(indices), w).sum().backward()
    np.testing.assert_array_equal(w.grad[:, 0], [1, 3, 1, 0, 1])
    assert tg.gradcheck(lambda w: tg.embedding(indices, w), [leaf(weight)])
    check_float32(lambda w: tg.embedding(indices, w), [weight])


def test_dropout_mask_statistics_scaling_and_gradient():
    tg.manual_seed(0)
    x = leaf(np.ones((200, 200), dtype=np.float32))
    y = tg.dropout(x, p=0.3)
    assert y.dtype == np.float32
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.01                         # 40,000 draws: sd of the rate is 0.0023
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-6)  # survivors are scaled by 1/(1-p)
    assert abs(y.data.mean() - 1.0) < 0.02                        # so the expectation is unchanged
    y.backward(np.full(y.shape, 2.0, dtype=np.float32))
    np.testing.assert_array_equal(x.grad, 2 * y.data)             # gradient = mask (here x = 1)
    assert x.grad.dtype == np.float32


def test_dropout_eval_identity_p_edges_and_seed():
    x = leaf(values((4, 5), 0))
    assert tg.dropout(x, 0.5, training=False) is x
    assert tg.dropout(x, 0.0) is x
    assert np.all(tg.dropout(x, 1.0).data == 0)
    tg.manual_seed(7)
    first = tg.dropout(x, 0.5).data
    tg.manual_seed(7)
    np.testing.assert_array_equal(tg.dropout(x, 0.5).data, first)
    tg.manual_seed(3)
    out = tg.dropout(x, 0.5)
    mask = out.data / x.data
    out.sum().backward()
    np.testing.assert_allclose(x.grad, mask)


def test_cast_between_float_dtypes_is_differentiable():
    x = leaf(values((2, 3), 0).astype(np.float32))
    y = x.double()
    assert y.dtype == np.float64 and x.float() is x
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32 and np.all(x.grad == 2)
