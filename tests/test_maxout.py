"""Maxout: the documented piece layout against a NumPy reference, finite-difference gradients, errors."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3)])
def test_maxout_matches_numpy(shape):
    tg.manual_seed(0)
    layer = tg.nn.Maxout(3, 2, pieces=4, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal(shape)
    w, b = layer.weight.data, layer.bias.data
    z = x @ w.T + b                                             # row j * pieces + p: piece p of unit j
    expected = np.stack([z[..., j * 4:(j + 1) * 4].max(axis=-1) for j in range(2)], axis=-1)
    np.testing.assert_allclose(layer(Tensor(x)).numpy(), expected, atol=1e-14)


@pytest.mark.parametrize("bias", [True, False])
def test_maxout_gradcheck(bias):
    tg.manual_seed(1)
    layer = tg.nn.Maxout(3, 2, pieces=3, bias=bias, dtype=np.float64)
    x = Tensor(np.random.default_rng(1).standard_normal((4, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, *_: layer(x), [x, *layer.parameters()])


def test_maxout_gradient_reaches_only_the_winning_piece():
    layer = tg.nn.Maxout(1, 1, pieces=2, dtype=np.float64)
    layer.weight.data[...] = [[1.0], [-1.0]]
    layer.bias.data[...] = 0.0
    y = layer(Tensor(np.array([[2.0], [-3.0]])))                 # winners: piece 0, then piece 1
    np.testing.assert_allclose(y.numpy(), [[2.0], [3.0]])
    y.sum().backward()
    np.testing.assert_allclose(layer.weight.grad, [[2.0], [-3.0]])
    np.testing.assert_allclose(layer.bias.grad, [1.0, 1.0])


def test_maxout_float32_and_errors():
    assert tg.nn.Maxout(3, 2)(Tensor(np.ones((2, 3), np.float32))).dtype == np.float32
    with pytest.raises(ValueError, match="Maxout: pieces must be positive, got 0"):
        tg.nn.Maxout(3, 2, pieces=0)
    with pytest.raises(TypeError, match="Maxout: in_features must be an int, got str"):
        tg.nn.Maxout("3", 2)
    with pytest.raises(ValueError, match=r"Maxout: expected input with last dimension 3, got shape \(2, 4\)"):
        tg.nn.Maxout(3, 2)(Tensor(np.ones((2, 4), np.float32)))
