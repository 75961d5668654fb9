"""Module and Parameter (registration, names, state dicts, modes, dtypes, printing), the init rules,
and the docstring examples of every tinygrad_rnn.nn module."""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.nn import Module, Parameter, init


class Block(Module):
    def __init__(self):
        super().__init__()
        self.scale = Parameter(np.ones(3, np.float32))
        self.inner = tg.nn.Linear(3, 2)


class Net(Module):
    def __init__(self):
        super().__init__()
        self.encoder = Block()
        self.head = tg.nn.Linear(2, 1, bias=False)
        self.offset = Parameter(np.zeros(1, np.float32))

    def forward(self, x):
        return self.head(self.encoder.inner(x * self.encoder.scale)) + self.offset


# ---------------------------------------------------------------- registration and names
def test_parameter_is_a_leaf_that_requires_grad():
    p = Parameter(np.zeros((2, 2)))
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\nTensor(")
    assert not Parameter(np.zeros(2), requires_grad=False).requires_grad


def test_named_parameters_are_dotted_paths_in_registration_order():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["offset", "encoder.scale", "encoder.inner.weight", "encoder.inner.bias", "head.weight"]
    assert [p for p in net.parameters()] == [p for _, p in net.named_parameters()]
    assert [name for name, _ in net.named_modules()] == ["", "encoder", "encoder.inner", "head"]
    assert list(net.children()) == [net.encoder, net.head]


def test_shared_parameter_is_listed_once_and_reassignment_replaces_registration():
    net = Net()
    net.head.weight = net.encoder.inner.weight.T.detach()   # a plain Tensor: no longer a parameter
    assert "head.weight" not in dict(net.named_parameters())
    net.tied = net.encoder.scale                             # the same Parameter twice
    assert [n for n, p in net.named_parameters() if p is net.encoder.scale] == ["tied"]   # listed once, first seen
    del net.offset
    assert "offset" not in dict(net.named_parameters())


def test_assigning_before_init_and_missing_forward_raise():
    class Broken(Module):
        def __init__(self):
            self.w = Parameter(np.zeros(1))

    with pytest.raises(RuntimeError, match=r"Broken: call super\(\).__init__\(\) before assigning attributes"):
        Broken()
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        Module()(1)


# ---------------------------------------------------------------- state dicts
def test_state_dict_holds_copies():
    net = Net()
    state = net.state_dict()
    assert list(state) == [n for n, _ in net.named_parameters()]
    state["encoder.scale"][...] = 7.0
    assert np.all(net.encoder.scale.data == 1.0)


def test_load_state_dict_takes_arrays_and_tensors_and_casts_to_the_parameter_dtype():
    net, other = Net(), Net()
    source = {name: Tensor(value.astype(np.float64) + 1) if i % 2 else value.astype(np.float64) + 1
              for i, (name, value) in enumerate(other.state_dict().items())}
    assert net.load_state_dict(source) == ([], [])
    for name, param in net.named_parameters():
        expected = source[name].data if isinstance(source[name], Tensor) else source[name]
        assert param.dtype == np.float32
        np.testing.assert_allclose(param.data, expected, rtol=1e-6)


def test_load_state_dict_takes_torch_tensors():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Linear(3, 2)
    ours = tg.nn.Linear(3, 2)
    ours.load_state_dict(theirs.state_dict())
    ours.load_state_dict(dict(theirs.named_parameters()))   # tensors that require grad
    np.testing.assert_array_equal(ours.weight.data, theirs.weight.detach().numpy())


def test_load_state_dict_reports_every_problem_in_one_error_and_changes_nothing():
    net = Net()
    before = net.state_dict()
    state = net.state_dict()
    del state["offset"]
    state["encoder.inner.weight"] = np.zeros((3, 3))
    state["extra"] = np.zeros(1)
    state["encoder.scale"] = np.full(3, np.nan)
    with pytest.raises(ValueError) as info:
        net.load_state_dict({k: v + 5 if k == "head.weight" else v for k, v in state.items()})
    message = str(info.value)
    assert message.startswith("Net.load_state_dict: ")
    for part in ("missing: offset", "unexpected: extra", "NaN or inf in: encoder.scale",
                 "wrong shape: encoder.inner.weight: expected shape (2, 3), got (3, 3)"):
        assert part in message
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_not_strict_returns_missing_and_unexpected():
    net = Net()
    missing, unexpected = net.load_state_dict({"offset": np.full(1, 3.0), "nope": np.zeros(2)}, strict=False)
    assert net.offset.data.tolist() == [3.0]
    assert unexpected == ["nope"] and "head.weight" in missing and "offset" not in missing
    with pytest.raises(ValueError, match=r"wrong shape: offset: expected shape \(1,\), got \(2,\)"):
        net.load_state_dict({"offset": np.zeros(2)}, strict=False)


# ---------------------------------------------------------------- modes, gradients, dtypes, printing
def test_train_and_eval_reach_every_descendant():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.encoder.train(False)
    assert net.training and not net.encoder.training and not net.encoder.inner.training


def test_zero_grad():
    net = Net()
    net(Tensor(np.ones((4, 3), np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and np.all(p.grad == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_double_and_float_convert_parameters_in_place_and_the_module_dtype():
    lstm = tg.nn.LSTM(3, 4, num_layers=2)
    params = lstm.parameters()
    values = [p.data.copy() for p in params]
    lstm(Tensor(np.ones((2, 1, 3), np.float32)))[0].sum().backward()
    assert lstm.double() is lstm and lstm.dtype == np.float64
    assert lstm.parameters() == params          # the same Parameter objects (an optimizer keeps working)
    for p, v in zip(params, values):
        assert p.dtype == np.float64 and p.grad is None
        np.testing.assert_array_equal(p.data, v)
    output, (h_n, _) = lstm(Tensor(np.ones((2, 1, 3))))
    assert output.dtype == np.float64 and h_n.dtype == np.float64
    lstm.float()
    assert lstm.dtype == np.float32 and all(p.dtype == np.float32 for p in params)
    with pytest.raises(TypeError, match="LSTM.to: expected float32 or float64, got int32"):
        lstm.to(np.int32)


def test_repr_is_readable_and_nested():
    assert repr(tg.nn.Linear(3, 2)) == "Linear(in_features=3, out_features=2, bias=True)"
    assert repr(tg.nn.LSTM(4, 8, num_layers=2, bidirectional=True, batch_first=True)) == \
        "LSTM(4, 8, num_layers=2, batch_first=True, bidirectional=True)"
    assert repr(tg.nn.GRUCell(3, 4, bias=False)) == "GRUCell(3, 4, bias=False)"
    assert repr(Net()) == ("Net(\n  (encoder): Block(\n    (inner): Linear(in_features=3, out_features=2, bias=True)\n"
                           "  )\n  (head): Linear(in_features=2, out_features=1, bias=False)\n)")


# ---------------------------------------------------------------- init rules
def test_uniform_normal_zeros_constant():
    tg.manual_seed(0)
    t = init.uniform_(Tensor(np.empty((200, 100), np.float32)), -0.3, 0.5)
    assert t.dtype == np.float32 and t.data.min() >= -0.3 and t.data.max() < 0.5
    assert t.data.min() < -0.29 and t.data.max() > 0.49 and abs(t.data.mean() - 0.1) < 0.01
    n = init.normal_(Tensor(np.empty((200, 100))), mean=2.0, std=0.5)
    assert abs(n.data.mean() - 2.0) < 0.01 and abs(n.data.std() - 0.5) < 0.01
    assert np.all(init.zeros_(n).data == 0) and np.all(init.constant_(n, 1.5).data == 1.5)


def test_init_is_repeatable_under_manual_seed():
    tg.manual_seed(42)
    a = tg.nn.GRU(3, 4).state_dict()
    tg.manual_seed(42)
    b = tg.nn.GRU(3, 4).state_dict()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_xavier_uniform_bound():
    tg.manual_seed(1)
    w = init.xavier_uniform_(Tensor(np.empty((300, 100))), gain=2.0)
    bound = 2.0 * np.sqrt(6.0 / 400)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.98 * bound


@pytest.mark.parametrize("shape", [(5, 5), (7, 3), (3, 7), (4, 2, 3)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    tg.manual_seed(2)
    w = init.orthogonal_(Tensor(np.empty(shape)), gain=1.5).data.reshape(shape[0], -1) / 1.5
    rows, cols = w.shape
    gram = w.T @ w if rows >= cols else w @ w.T        # Q^T Q = I (tall) or Q Q^T = I (wide)
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12)


def test_eye():
    e = init.eye_(Tensor(np.empty((3, 4), np.float32)), scale=0.5)
    np.testing.assert_array_equal(e.data, 0.5 * np.eye(3, 4))
    with pytest.raises(ValueError, match=r"eye_: expected a 2-D tensor, got shape \(3,\)"):
        init.eye_(Tensor(np.empty(3)))


@pytest.mark.parametrize("make", [lambda: tg.nn.LSTM(3, 4, num_layers=2, bidirectional=True),
                                  lambda: tg.nn.LSTMCell(3, 4)], ids=["LSTM", "LSTMCell"])
def test_lstm_forget_bias(make):
    lstm = make()
    before = lstm.state_dict()
    assert init.lstm_forget_bias_(lstm, 1.0) is lstm
    for name, value in lstm.state_dict().items():
        if name.startswith("bias_ih"):
            np.testing.assert_array_equal(value[4:8], 1.0)
        elif name.startswith("bias_hh"):
            np.testing.assert_array_equal(value[4:8], 0.0)
        if name.startswith("bias"):
            np.testing.assert_array_equal(np.delete(value, range(4, 8)), np.delete(before[name], range(4, 8)))
        else:
            np.testing.assert_array_equal(value, before[name])


def test_lstm_forget_bias_needs_biases():
    with pytest.raises(ValueError, match=r"lstm_forget_bias_: LSTM has no bias_ih parameters \(bias=False\?\)"):
        init.lstm_forget_bias_(tg.nn.LSTM(3, 4, bias=False))


# ---------------------------------------------------------------- docstring examples
def test_docstring_examples_of_every_nn_module_run():
    import tinygrad_rnn.nn as nn
    modules = [nn] + [importlib.import_module(f"tinygrad_rnn.nn.{info.name}")
                      for info in pkgutil.iter_modules(nn.__path__)]
    attempted = 0
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, f"{module.__name__}: {result.failed} docstring example(s) failed"
        attempted += result.attempted
    assert attempted >= 15
