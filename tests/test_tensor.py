"""The Tensor API and the dtype policy: float32 by default, float32 stays float32, no silent mixing."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


@pytest.fixture(autouse=True)
def restore_default_dtype():
    yield
    tg.set_default_dtype(np.float32)


# ---------------------------------------------------------------- construction and attributes
def test_python_values_default_to_float32():
    for value in (1.5, 3, [1, 2, 3], [[1.0, 2.0]]):
        t = Tensor(value)
        assert t.dtype == np.float32, value
        assert isinstance(t.data, np.ndarray)
    np.testing.assert_array_equal(Tensor([[1, 2]]).data, np.array([[1.0, 2.0]], dtype=np.float32))


def test_numpy_arrays_keep_their_dtype_and_are_not_copied():
    a64 = np.arange(3.0)
    t = Tensor(a64)
    assert t.dtype == np.float64 and t.data is a64
    assert Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert Tensor(np.arange(3)).dtype == np.arange(3).dtype
    assert Tensor(np.float64(2.0)).dtype == np.float64
    assert Tensor(a64, dtype=np.float32).dtype == np.float32
    assert Tensor(Tensor(a64)).data is a64


def test_set_default_dtype_changes_python_values_only():
    tg.set_default_dtype(np.float64)
    assert tg.get_default_dtype() == np.float64
    assert Tensor([1.0]).dtype == np.float64
    assert Tensor(np.ones(1, dtype=np.float32)).dtype == np.float32
    tg.set_default_dtype("float32")
    assert Tensor(2.0).dtype == np.float32
    with pytest.raises(TypeError, match="set_default_dtype: expected float32 or float64, got int32"):
        tg.set_default_dtype(np.int32)
    assert Tensor([1, 2], dtype=np.int64).dtype == np.int64   # an explicit dtype is obeyed


def test_attributes_and_conversions():
    a = np.arange(6.0).reshape(2, 3)
    t = Tensor(a, requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.data is a and t.numpy() is a and t.grad is None
    assert t.requires_grad and t.is_leaf and t.grad_fn is None
    assert t.tolist() == a.tolist()
    assert Tensor([[4.5]]).item() == 4.5 and isinstance(Tensor([[4.5]]).item(), float)
    with pytest.raises(ValueError, match=r"item: expected a tensor with one element, got shape \(2, 3\)"):
        t.item()
    y = t * 2
    assert not y.is_leaf and y.requires_grad and type(y.grad_fn).__name__ == "Mul"
    assert "grad_fn=Mul" in repr(y) and "requires_grad=True" in repr(t) and "float64" in repr(t)


def test_zero_dim_results_are_arrays():
    t = Tensor(np.arange(6.0), requires_grad=True)
    s = t.sum()
    assert isinstance(s.data, np.ndarray) and isinstance(s.numpy(), np.ndarray) and s.shape == ()
    s.backward()
    scalar = Tensor(np.array(3.0), requires_grad=True)
    (scalar * scalar).backward()
    assert isinstance(scalar.grad, np.ndarray) and scalar.grad.shape == () and scalar.grad == 6.0


def test_detach_shares_data_and_has_no_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.data is y.data and not d.requires_grad and d.is_leaf


def test_requires_grad_rules():
    x = Tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    for bad in (np.array([1, 2]), np.array([True]), np.array([1, 2], dtype=np.int32)):
        with pytest.raises(TypeError, match=f"only float32 or float64 tensors can require grad, got dtype {bad.dtype}"):
            Tensor(bad, requires_grad=True)
    y = Tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)


def test_comparisons_give_boolean_tensors_outside_the_graph():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result, expected in [(x < 2, [True, False, False]), (x <= 2, [True, True, False]),
                             (x > Tensor([0.0, 5.0, 1.0]), [True, False, True]), (x >= 3, [False, False, True])]:
        assert result.dtype == bool and not result.requires_grad and result.tolist() == expected


def test_manual_seed_makes_draws_repeatable():
    tg.manual_seed(123)
    a = tg.random.generator().standard_normal(4)
    tg.manual_seed(123)
    np.testing.assert_array_equal(tg.random.generator().standard_normal(4), a)
    state = tg.random.get_rng_state()
    b = tg.random.generator().random(3)
    tg.random.set_rng_state(state)
    np.testing.assert_array_equal(tg.random.generator().random(3), b)
    with pytest.raises(ValueError, match="manual_seed: expected a non-negative integer, got -1"):
        tg.manual_seed(-1)


# ---------------------------------------------------------------- float32 never becomes float64
F32 = np.float32


def f32(values):
    return Tensor(np.array(values, dtype=F32), requires_grad=True)


SCALAR_OPERANDS = [2, 2.5, np.float64(2.5), np.float32(2.5), np.int64(2), np.array(2.5)]
SCALAR_OPS = {
    "add": lambda x, s: x + s, "radd": lambda x, s: s + x,
    "sub": lambda x, s: x - s, "rsub": lambda x, s: s - x,
    "mul": lambda x, s: x * s, "rmul": lambda x, s: s * x,
    "div": lambda x, s: x / s, "rdiv": lambda x, s: s / x,
    "pow": lambda x, s: x ** s, "rpow": lambda x, s: s ** x,
    "clip": lambda x, s: x.clip(-s, s), "clip_min": lambda x, s: x.clip(min=s),
    "leaky_relu": lambda x, s: x.leaky_relu(s), "elu": lambda x, s: x.elu(s),
    "where": lambda x, s: tg.where(np.array([True, False, True]), x, s),
}


@pytest.mark.parametrize("scalar", SCALAR_OPERANDS, ids=repr)
@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
def test_scalar_operands_never_upcast_float32(name, scalar):
    x = f32([0.5, 1.5, 2.0])
    y = SCALAR_OPS[name](x, scalar)
    assert y.dtype == F32, f"{name} with {scalar!r} gave {y.dtype}"
    y.backward(np.ones(3, dtype=F32))
    assert x.grad.dtype == F32


def test_float64_tensor_with_float32_scalar_stays_float64():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * np.float32(0.5) + np.float32(1.0)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float64


def test_integer_arrays_are_cast_to_the_tensor_dtype():
    x = f32([1.0, 2.0])
    assert (x + np.array([1, 2])).dtype == F32
    assert (x * Tensor(np.array([3, 4]))).dtype == F32
    assert (x @ np.array([1, 1])).dtype == F32


@pytest.mark.parametrize("op,name", [
    (lambda a, b: a + b, "add"), (lambda a, b: a - b, "sub"), (lambda a, b: a * b, "mul"),
    (lambda a, b: a / b, "div"), (lambda a, b: a ** b, "pow"), (lambda a, b: a @ b, "matmul"),
    (lambda a, b: b + a, "add"), (lambda a, b: tg.where(np.array([True, False]), a, b), "where"),
])
def test_mixing_float32_and_float64_tensors_is_a_type_error(op, name):
    a = Tensor(np.ones(2, dtype=F32))
    b = Tensor(np.ones(2, dtype=np.float64))
    with pytest.raises(TypeError, match=f"{name}: dtype mismatch, float(32|64) and float(64|32)"):
        op(a, b)


def test_mixing_float32_tensor_and_float64_array_is_a_type_error():
    with pytest.raises(TypeError, match="mul: dtype mismatch, tensor is float32, array is float64"):
        f32([1.0, 2.0]) * np.array([1.0, 2.0])
    with pytest.raises(TypeError, match=r"cat: all tensors must have one dtype, got \['float32', 'float64'\]"):
        tg.cat([Tensor(np.ones(2, dtype=F32)), Tensor(np.ones(2))])
    with pytest.raises(TypeError, match="stack: all tensors must have one dtype"):
        tg.stack([Tensor(np.ones(2, dtype=F32)), Tensor(np.ones(2))])


def test_float32_chain_of_every_kind_of_op_keeps_float32():
    x = f32(np.linspace(-1, 1, 12).reshape(3, 4))
    w = f32(np.linspace(0.1, 1, 20).reshape(4, 5))
    h = (x @ w).tanh().sigmoid() * 0.5 + np.float64(0.25)
    h = tg.cat([h, h.relu()], axis=1)[:, ::2].exp().log().mean(axis=0, keepdims=True)
    loss = tg.cross_entropy(h.reshape(1, -1).softmax(-1), np.array([2])) + (h ** 2).sum() / 3
    assert loss.dtype == F32
    loss.backward()
    assert x.grad.dtype == F32 and w.grad.dtype == F32
