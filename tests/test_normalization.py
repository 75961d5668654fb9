"""LayerNorm, BatchNorm1d and the layer-normalised LSTM: finite-difference gradients, PyTorch parity
(float64, 1e-9) including BatchNorm's running statistics, the LN-LSTM equations, and the errors."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


def randomize(module, seed=0):
    """Move gains and shifts away from 1 and 0 so the checks see them."""
    rng = np.random.default_rng(seed)
    for param in module.parameters():
        if param.requires_grad:
            param.data[...] = rng.uniform(0.5, 1.5, param.shape) * rng.choice([-1, 1], param.shape)
    return module


@pytest.mark.parametrize("shape, normalized", [((3, 4), 4), ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradcheck(shape, normalized, affine):
    ln = randomize(tg.nn.LayerNorm(normalized, elementwise_affine=affine, dtype=np.float64))
    x = Tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)
    assert tg.gradcheck(lambda x, *_: ln(x), [x, *ln.parameters()])


@pytest.mark.parametrize("shape, normalized", [((5, 6), 6), ((2, 3, 4), (3, 4))])
def test_layer_norm_matches_torch(shape, normalized):
    torch = pytest.importorskip("torch")
    ln = randomize(tg.nn.LayerNorm(normalized, eps=1e-3, dtype=np.float64))
    ref = torch.nn.LayerNorm(normalized, eps=1e-3, dtype=torch.float64)
    ref.load_state_dict({k: torch.tensor(v) for k, v in ln.state_dict().items()})
    x = np.random.default_rng(2).standard_normal(shape) * 3 + 1
    weights = np.random.default_rng(3).standard_normal(shape)
    xt = Tensor(x.copy(), requires_grad=True)
    (ln(xt) * Tensor(weights)).sum().backward()
    xr = torch.tensor(x, requires_grad=True)
    (ref(xr) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ln(Tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), atol=1e-9)
    np.testing.assert_allclose(xt.grad, xr.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(ln.weight.grad, ref.weight.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(ln.bias.grad, ref.bias.grad.numpy(), atol=1e-9)


def test_layer_norm_float32_stays_float32_and_normalises():
    y = tg.nn.LayerNorm(8)(Tensor(np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32) * 5 + 3))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy().mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(y.numpy().std(axis=1), 1, atol=1e-3)


@pytest.mark.parametrize("shape", [(4, 3), (3, 3, 5)])
def test_batch_norm_gradcheck_training(shape):
    bn = randomize(tg.nn.BatchNorm1d(3, dtype=np.float64))
    x = Tensor(np.random.default_rng(4).standard_normal(shape), requires_grad=True)
    assert tg.gradcheck(lambda x, *_: bn(x), [x, bn.weight, bn.bias])


def test_batch_norm_gradcheck_eval():
    bn = randomize(tg.nn.BatchNorm1d(3, dtype=np.float64))
    bn.running_mean.data[...] = [0.5, -1.0, 2.0]
    bn.running_var.data[...] = [2.0, 0.5, 1.5]
    bn.eval()
    x = Tensor(np.random.default_rng(5).standard_normal((4, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, *_: bn(x), [x, bn.weight, bn.bias])


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5)])
def test_batch_norm_matches_torch_in_training_and_eval(momentum, shape):
    torch = pytest.importorskip("torch")
    bn = randomize(tg.nn.BatchNorm1d(4, eps=1e-4, momentum=momentum, dtype=np.float64))
    ref = torch.nn.BatchNorm1d(4, eps=1e-4, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(bn.weight.data))
        ref.bias.copy_(torch.tensor(bn.bias.data))
    rng = np.random.default_rng(6)
    for _ in range(3):                                   # running statistics over several batches
        x = rng.standard_normal(shape) * 2 + rng.standard_normal((1, 4) + (1,) * (len(shape) - 2))
        g = rng.standard_normal(shape)
        xt, xr = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
        bn.zero_grad()
        ref.zero_grad()
        yt, yr = bn(xt), ref(xr)
        (yt * Tensor(g)).sum().backward()
        (yr * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(yt.numpy(), yr.detach().numpy(), atol=1e-9)
        np.testing.assert_allclose(xt.grad, xr.grad.numpy(), atol=1e-9)
        np.testing.assert_allclose(bn.weight.grad, ref.weight.grad.numpy(), atol=1e-9)
        np.testing.assert_allclose(bn.running_mean.data, ref.running_mean.numpy(), atol=1e-12)
        np.testing.assert_allclose(bn.running_var.data, ref.running_var.numpy(), atol=1e-12)  # unbiased
    bn.eval()
    ref.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(bn(Tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), atol=1e-9)


def test_batch_norm_running_stats_by_hand_and_state_dict():
    bn = tg.nn.BatchNorm1d(2, momentum=0.5, affine=False)
    x = np.array([[1.0, 0.0], [3.0, 0.0], [5.0, 6.0]], np.float32)
    y = bn(Tensor(x))
    assert y.dtype == np.float32 and bn.running_mean.dtype == np.float32
    np.testing.assert_allclose(bn.running_mean.data, [0.5 * 3.0, 0.5 * 2.0], rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.data, [0.5 + 0.5 * 4.0, 0.5 + 0.5 * 12.0], rtol=1e-6)
    assert set(bn.state_dict()) == {"running_mean", "running_var"}
    assert all(p.grad is None for p in bn.parameters())


def test_normalization_errors():
    with pytest.raises(ValueError, match=r"LayerNorm: expected input with trailing shape \(4,\), got \(2, 3\)"):
        tg.nn.LayerNorm(4)(Tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(TypeError, match="LayerNorm: normalized_shape must be an int or a tuple of ints"):
        tg.nn.LayerNorm("4")
    with pytest.raises(ValueError, match="LayerNorm: eps must be a positive number, got 0"):
        tg.nn.LayerNorm(4, eps=0)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input of shape \(N, 3\) or \(N, 3, L\), got \(2, 4\)"):
        tg.nn.BatchNorm1d(3)(Tensor(np.zeros((2, 4), np.float32)))
    with pytest.raises(ValueError, match="BatchNorm1d: expected more than 1 value per feature in training"):
        tg.nn.BatchNorm1d(3)(Tensor(np.zeros((1, 3), np.float32)))
    with pytest.raises(ValueError, match=r"BatchNorm1d: momentum must be in \[0, 1\] or None, got 2"):
        tg.nn.BatchNorm1d(3, momentum=2)
    with pytest.raises(TypeError, match="BatchNorm1d: num_features must be an int, got float"):
        tg.nn.BatchNorm1d(3.0)
    with pytest.raises(TypeError, match="BatchNorm1d: expected input of dtype float32, got float64"):
        tg.nn.BatchNorm1d(3)(Tensor(np.zeros((2, 3))))


# ---------------------------------------------------------------- the layer-normalised LSTM
def numpy_ln(v, gain, shift, eps=1e-5):
    return (v - v.mean(axis=1, keepdims=True)) / np.sqrt(v.var(axis=1, keepdims=True) + eps) * gain + shift


def test_layer_norm_lstm_cell_matches_the_equations():
    tg.manual_seed(0)
    cell = randomize(tg.nn.LayerNormLSTMCell(3, 4, dtype=np.float64))
    p = {name: q.data for name, q in cell.named_parameters()}
    rng = np.random.default_rng(7)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    pre = (numpy_ln(x @ p["weight_ih"].T, p["ln_ih_weight"], p["ln_ih_bias"])
           + numpy_ln(h @ p["weight_hh"].T, p["ln_hh_weight"], p["ln_hh_bias"]) + p["bias_ih"] + p["bias_hh"])
    i, f, g, o = np.split(pre, 4, axis=1)
    sig = lambda a: 1 / (1 + np.exp(-a))                                    # noqa: E731
    c_ref = sig(f) * c + sig(i) * np.tanh(g)
    h_ref = sig(o) * np.tanh(numpy_ln(c_ref, p["ln_c_weight"], p["ln_c_bias"]))
    h_new, c_new = cell(Tensor(x), (Tensor(h), Tensor(c)))
    np.testing.assert_allclose(h_new.numpy(), h_ref, atol=1e-12)
    np.testing.assert_allclose(c_new.numpy(), c_ref, atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_lstm_cell_gradcheck(bias):
    tg.manual_seed(0)
    cell = randomize(tg.nn.LayerNormLSTMCell(3, 2, bias=bias, dtype=np.float64))
    rng = np.random.default_rng(8)
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h, c = (Tensor(rng.standard_normal((2, 2)), requires_grad=True) for _ in range(2))
    assert tg.gradcheck(lambda x, h, c, *_: cell(x, (h, c)), [x, h, c, *cell.parameters()])


def test_layer_norm_lstm_stack_gradcheck_and_names():
    tg.manual_seed(0)
    lstm = randomize(tg.nn.LayerNormLSTM(3, 2, num_layers=2, bidirectional=True, dtype=np.float64))
    rng = np.random.default_rng(9)
    x = Tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    h0, c0 = (Tensor(rng.standard_normal((4, 2, 2)), requires_grad=True) for _ in range(2))
    assert tg.gradcheck(lambda x, h0, c0, *_: lstm(x, (h0, c0)), [x, h0, c0, *lstm.parameters()], fast=True)
    names = dict(lstm.named_parameters())
    assert names["ln_c_weight_l1_reverse"].shape == (2,) and names["ln_hh_bias_l0"].shape == (8,)
    assert names["weight_ih_l1"].shape == (8, 4)
    tg.nn.init.lstm_forget_bias_(lstm, 1.0)                 # gates stacked i, f, g, o as tg.nn.LSTM
    assert np.all(names["bias_ih_l0"].data[2:4] == 1.0)
