"""Bad input gives an error naming the op, what was expected and what came; NaN is never hidden."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


def t(*shape, dtype=np.float64):
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=True)


# ---------------------------------------------------------------- shapes
@pytest.mark.parametrize("op,name", [(lambda a, b: a + b, "add"), (lambda a, b: a - b, "sub"),
                                     (lambda a, b: a * b, "mul"), (lambda a, b: a / b, "div"),
                                     (lambda a, b: a ** b, "pow")])
def test_broadcast_mismatch_names_op_and_shapes(op, name):
    with pytest.raises(ValueError, match=rf"{name}: cannot broadcast shapes \(2, 3\) and \(4,\)"):
        op(t(2, 3), t(4))


def test_matmul_shape_errors():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions do not match: \(2, 3\) @ \(2, 3\) \(3 != 2\)"):
        t(2, 3) @ t(2, 3)
    with pytest.raises(ValueError, match=r"matmul: inner dimensions do not match: \(3,\) @ \(4,\)"):
        t(3) @ t(4)
    with pytest.raises(ValueError, match=r"matmul: cannot broadcast batch dimensions of \(2, 2, 3\) and \(3, 3, 4\)"):
        t(2, 2, 3) @ t(3, 3, 4)
    with pytest.raises(ValueError, match=r"matmul: operands must have at least 1 dimension, got shapes \(\) and \(3,\)"):
        t() @ t(3)


def test_movement_shape_errors():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)"):
        t(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"permute: \(0, 0\) is not a permutation of the 2 axes of shape \(2, 3\)"):
        t(2, 3).permute(0, 0)
    with pytest.raises(ValueError, match=r"cat: shapes \[\(2, 3\), \(2, 4\)\] do not match outside axis 0"):
        tg.cat([t(2, 3), t(2, 4)])
    with pytest.raises(ValueError, match=r"stack: every tensor must have the same shape, got \[\(2,\), \(3,\)\]"):
        tg.stack([t(2), t(3)])
    with pytest.raises(ValueError, match="cat: expected a non-empty sequence of tensors"):
        tg.cat([])
    with pytest.raises(ValueError, match=r"split: sizes \[2, 2\] sum to 4, but axis 0 has length 5"):
        t(5).split([2, 2])
    with pytest.raises(ValueError, match="split: split_size must be positive, got 0"):
        t(5).split(0)
    with pytest.raises(ValueError, match=r"where: cannot broadcast condition \(3,\), a \(2,\) and b \(2,\)"):
        tg.where(np.array([True, False, True]), t(2), t(2))


def test_reduction_axis_errors():
    with pytest.raises(ValueError, match="reduce: axis 3 is out of range for a tensor with 2 dimensions"):
        t(2, 3).sum(axis=3)
    with pytest.raises(ValueError, match="reduce: axis -3 is out of range"):
        t(2, 3).max(axis=-3)
    with pytest.raises(ValueError, match=r"max: cannot reduce an empty tensor of shape \(0, 3\)"):
        t(0, 3).max()


def test_index_errors():
    with pytest.raises(IndexError, match=r"getitem: index 5 is invalid for shape \(3,\)"):
        t(3)[5]
    with pytest.raises(IndexError, match=r"getitem: .* is invalid for shape \(3, 2\)"):
        t(3, 2)[np.array([0, 3])]


# ---------------------------------------------------------------- targets and indices
def test_cross_entropy_target_errors():
    logits = t(3, 4)
    with pytest.raises(ValueError, match=r"cross_entropy: target 4 at position 1 is outside \[0, 4\)"):
        tg.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy: target -1 at position 2 is outside \[0, 4\)"):
        tg.cross_entropy(logits, np.array([0, 1, -1]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected targets of shape \(3,\), got \(2,\)"):
        tg.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(TypeError, match="cross_entropy: expected integer class targets, got dtype float64"):
        tg.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected logits of shape \(N, C\) or \(C,\), got \(2, 3, 4\)"):
        tg.cross_entropy(t(2, 3, 4), np.array([0, 1]))
    with pytest.raises(ValueError, match="cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        tg.cross_entropy(logits, np.array([0, 1, 2]), reduction="avg")


def test_embedding_index_errors():
    weight = t(5, 3)
    with pytest.raises(ValueError, match=r"embedding: index 5 is outside \[0, 5\)"):
        tg.embedding(np.array([[0, 5]]), weight)
    with pytest.raises(ValueError, match=r"embedding: index -2 is outside \[0, 5\)"):
        tg.embedding(np.array([-2, 1]), weight)
    with pytest.raises(TypeError, match="embedding: expected integer indices, got dtype float64"):
        tg.embedding(np.array([1.0]), weight)


def test_other_argument_errors():
    with pytest.raises(ValueError, match="dropout: probability must be in \\[0, 1\\], got 1.5"):
        tg.dropout(t(3), p=1.5)
    with pytest.raises(TypeError, match="where: expected a boolean condition, got dtype float64"):
        tg.where(np.array([1.0, 0.0]), t(2), t(2))
    with pytest.raises(TypeError, match="where: expected a or b to be a Tensor"):
        tg.where(np.array([True]), 1.0, 2.0)
    with pytest.raises(ValueError, match="clip: at least one of min and max must be given"):
        t(2).clip()


def test_dtype_mismatch_names_op_and_both_dtypes():
    with pytest.raises(TypeError, match="add: dtype mismatch, float32 and float64"):
        t(2, dtype=np.float32) + t(2)
    with pytest.raises(TypeError, match="matmul: dtype mismatch, float64 and float32"):
        t(2, 2) @ t(2, 2, dtype=np.float32)


# ---------------------------------------------------------------- NaN stays NaN
NAN_OPS = {
    "relu": lambda x: x.relu(),
    "leaky_relu": lambda x: x.leaky_relu(),
    "elu": lambda x: x.elu(),
    "clip": lambda x: x.clip(-1.0, 1.0),
    "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(),
    "exp": lambda x: x.exp(),
    "max": lambda x: x.max(axis=-1),
    "softmax": lambda x: x.softmax(-1),
    "log_softmax": lambda x: x.log_softmax(-1),
    "cross_entropy": lambda x: tg.cross_entropy(x, np.array([0, 1]), reduction="none"),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(NAN_OPS))
def test_nan_propagates(name, dtype):
    data = np.array([[np.nan, 2.0, -3.0], [0.5, -0.5, 1.0]], dtype=dtype)
    with np.errstate(invalid="ignore"):
        out = NAN_OPS[name](Tensor(data)).data
    assert out.dtype == dtype
    nan_row = out[0] if out.ndim else out
    assert np.all(np.isnan(nan_row if name in ("max", "softmax", "log_softmax", "cross_entropy")
                           else nan_row[0])), f"{name} turned NaN into {nan_row}"
    finite_row = out[1]
    assert np.all(np.isfinite(finite_row)), f"{name} spoiled the row without NaN: {finite_row}"


def test_nan_in_a_loss_reaches_the_reduced_value():
    logits = Tensor(np.array([[np.nan, 1.0], [0.0, 1.0]]))
    assert np.isnan(tg.cross_entropy(logits, np.array([1, 0])).item())
    assert np.isnan(Tensor(np.array([1.0, np.nan])).max().item())
    assert np.isnan(Tensor(np.array([1.0, np.nan])).sum().item())
