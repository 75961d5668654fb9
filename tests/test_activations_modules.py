"""The activation modules: PyTorch parity of values and gradients (float64, 1e-9), finite differences,
float32 kept, constructor errors."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor

CASES = {
    "Sigmoid": ({}, "Sigmoid"),
    "Tanh": ({}, "Tanh"),
    "ReLU": ({}, "ReLU"),
    "LeakyReLU": ({"negative_slope": 0.2}, "LeakyReLU"),
    "ELU": ({"alpha": 0.7}, "ELU"),
}


def inputs(seed=0):
    x = np.random.default_rng(seed).standard_normal((4, 5)) * 3
    x[np.abs(x) < 1e-3] += 0.1                                  # keep finite differences off the kinks
    return x


@pytest.mark.parametrize("name", CASES)
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    kwargs, torch_name = CASES[name]
    x, g = inputs(0), np.random.default_rng(1).standard_normal((4, 5))
    xt, xr = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    yt, yr = getattr(tg.nn, name)(**kwargs)(xt), getattr(torch.nn, torch_name)(**kwargs)(xr)
    (yt * Tensor(g)).sum().backward()
    (yr * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(yt.numpy(), yr.detach().numpy(), atol=1e-9, rtol=0)
    np.testing.assert_allclose(xt.grad, xr.grad.numpy(), atol=1e-9, rtol=0)


@pytest.mark.parametrize("name", CASES)
def test_gradcheck_and_float32(name):
    module = getattr(tg.nn, name)(**CASES[name][0])
    assert tg.gradcheck(module, [Tensor(inputs(2), requires_grad=True)])
    assert module(Tensor(inputs(3).astype(np.float32))).dtype == np.float32


def test_values_by_hand():
    x = Tensor(np.array([-2.0, 0.5]))
    assert tg.nn.LeakyReLU(0.1)(x).tolist() == [-0.2, 0.5]
    np.testing.assert_allclose(tg.nn.ELU(2.0)(x).numpy(), [2.0 * (np.exp(-2.0) - 1), 0.5])
    assert tg.nn.ReLU()(x).tolist() == [0.0, 0.5]


def test_errors():
    with pytest.raises(TypeError, match="LeakyReLU: negative_slope must be a number, got str"):
        tg.nn.LeakyReLU("0.1")
    with pytest.raises(ValueError, match="ELU: alpha must be positive, got -1"):
        tg.nn.ELU(-1)
