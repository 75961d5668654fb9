"""Highway layers: the equation against NumPy, the negative gate-bias init, finite-difference gradients,
and HighwayStack = recurrent layers with the highway gate around each equal-width layer."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


def sig(a):
    return 1 / (1 + np.exp(-a))


@pytest.mark.parametrize("activation, act", [("tanh", np.tanh), ("relu", lambda v: np.maximum(v, 0))])
def test_highway_matches_the_equation(activation, act):
    tg.manual_seed(0)
    layer = tg.nn.Highway(4, activation=activation, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((3, 2, 4))
    g = sig(x @ layer.gate.weight.data.T + layer.gate.bias.data)
    h = act(x @ layer.transform.weight.data.T + layer.transform.bias.data)
    np.testing.assert_allclose(layer(Tensor(x)).numpy(), g * h + (1 - g) * x, atol=1e-14)


def test_gate_bias_init_and_callable_transform():
    layer = tg.nn.Highway(3, gate_bias=-3.0, activation=lambda v: v * 0)
    assert layer.gate.bias.numpy().tolist() == [-3.0] * 3
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    y = layer(Tensor(x))                                         # H = 0: y = (1 - g) x
    assert y.dtype == np.float32
    g = sig(x @ layer.gate.weight.data.T - 3.0)
    np.testing.assert_allclose(y.numpy(), (1 - g) * x, rtol=1e-5)


def test_highway_gradcheck():
    tg.manual_seed(2)
    layer = tg.nn.Highway(3, dtype=np.float64)
    x = Tensor(np.random.default_rng(2).standard_normal((4, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, *_: layer(x), [x, *layer.parameters()])


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "MUT3"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_stack_gradcheck(cell, bidirectional):
    tg.manual_seed(3)
    stack = tg.nn.HighwayStack(getattr(tg.nn, cell), 3, 2, num_layers=3, bidirectional=bidirectional,
                               dtype=np.float64)
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, *_: stack(x), [x, *stack.parameters()], fast=True)


def test_stack_is_layers_with_gates_between():
    tg.manual_seed(4)
    stack = tg.nn.HighwayStack(tg.nn.LSTM, 4, 3, num_layers=3, dtype=np.float64)
    assert [name for name, _ in stack.named_modules() if name.startswith("gate")] == ["gate_l1", "gate_l2"]
    assert stack.gate_l1.bias.numpy().tolist() == [-2.0] * 3
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 2, 4))
    h0, c0 = rng.standard_normal((3, 2, 3)), rng.standard_normal((3, 2, 3))
    output, (h_n, c_n) = stack(Tensor(x), (Tensor(h0), Tensor(c0)))
    layer_in, finals = Tensor(x), []
    for k in range(3):
        out, (h, c) = getattr(stack, f"rnn_l{k}")(layer_in, (Tensor(h0[k:k + 1]), Tensor(c0[k:k + 1])))
        if k > 0:
            gate = sig(layer_in.numpy() @ getattr(stack, f"gate_l{k}").weight.data.T - 2.0)
            out = Tensor(gate * out.numpy() + (1 - gate) * layer_in.numpy())
        finals.append((h.numpy(), c.numpy()))
        layer_in = out
    np.testing.assert_allclose(output.numpy(), layer_in.numpy(), atol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), np.concatenate([f[0] for f in finals]), atol=1e-12)
    np.testing.assert_allclose(c_n.numpy(), np.concatenate([f[1] for f in finals]), atol=1e-12)


def test_stack_batch_first_unbatched_and_lengths():
    tg.manual_seed(5)
    stack = tg.nn.HighwayStack(tg.nn.GRU, 4, 2, num_layers=2, bidirectional=True, batch_first=True)
    x = np.random.default_rng(5).standard_normal((3, 6, 4)).astype(np.float32)
    output, h_n = stack(Tensor(x), lengths=np.array([6, 2, 4]))
    assert output.shape == (3, 6, 4) and h_n.shape == (4, 3, 2) and output.dtype == np.float32
    assert np.all(output.numpy()[1, 2:] == 0) and np.all(output.numpy()[2, 4:] == 0)
    alone, h_alone = stack(Tensor(x[1:2, :2]))                    # a padded sequence gets what it gets alone
    np.testing.assert_allclose(output.numpy()[1:2, :2], alone.numpy(), atol=1e-6)
    np.testing.assert_allclose(h_n.numpy()[:, 1:2], h_alone.numpy(), atol=1e-6)
    single, h_single = stack(Tensor(x[0]))                        # unbatched (T, I)
    assert single.shape == (6, 4) and h_single.shape == (4, 2)


def test_errors():
    with pytest.raises(ValueError, match="Highway: activation must be one of"):
        tg.nn.Highway(3, activation="swish")
    with pytest.raises(TypeError, match="Highway: activation must be a name or a callable, got int"):
        tg.nn.Highway(3, activation=3)
    with pytest.raises(ValueError, match=r"Highway: expected input with last dimension 3, got shape \(2, 4\)"):
        tg.nn.Highway(3)(Tensor(np.zeros((2, 4), np.float32)))
    with pytest.raises(TypeError, match="HighwayStack: cell must be a recurrent stack class"):
        tg.nn.HighwayStack("lstm", 3, 3)
    stack = tg.nn.HighwayStack(tg.nn.RNN, 3, 3, num_layers=2)
    with pytest.raises(ValueError, match=r"HighwayStack: expected each initial state of shape \(2, B, 3\), "
                                         r"got \(1, 2, 3\)"):
        stack(Tensor(np.zeros((4, 2, 3), np.float32)), Tensor(np.zeros((1, 2, 3), np.float32)))
