"""The classic min-char-rnn (one-hot chars, tanh RNN, linear readout, summed softmax cross-entropy)
built on the framework gets exactly the gradients of a hand-written NumPy BPTT of the same model."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from recurrent_grid import FUSED_PATH_IDS, FUSED_PATHS, fused_option

V, H, T = 6, 10, 8          # vocabulary, hidden units, steps per chunk


def numpy_bptt(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
    """Loss, gradients and last hidden state of one chunk, written from the equations:

    h_t = tanh(Wxh x_t + Whh h_{t-1} + bh);  y_t = Why h_t + by;  p_t = softmax(y_t)
    loss = sum_t -log p_t[target_t]
    """
    xs, hs, ps = {}, {-1: hprev.copy()}, {}
    loss = 0.0
    for t in range(len(inputs)):                                   # forward
        xs[t] = np.zeros(V)
        xs[t][inputs[t]] = 1.0
        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)
        y = Why @ hs[t] + by
        ps[t] = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
        loss += -np.log(ps[t][targets[t]])
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros(H)
    for t in reversed(range(len(inputs))):                         # backward through time
        dy = ps[t].copy()
        dy[targets[t]] -= 1.0                                      # d loss_t / d y_t = p_t - onehot
        dWhy += np.outer(dy, hs[t])
        dby += dy
        dh = Why.T @ dy + dhnext                                   # from the readout and from step t+1
        dhraw = (1.0 - hs[t] ** 2) * dh                            # through tanh
        dbh += dhraw
        dWxh += np.outer(dhraw, xs[t])
        dWhh += np.outer(dhraw, hs[t - 1])
        dhnext = Whh.T @ dhraw
    grads = {"dWxh": dWxh, "dWhh": dWhh, "dWhy": dWhy, "dbh": dbh, "dby": dby, "dh_prev": dhnext}
    return loss, grads, hs[len(inputs) - 1]


def one_hot(indices):
    x = np.zeros((len(indices), 1, V))          # (T, B=1, V)
    x[np.arange(len(indices)), 0, indices] = 1.0
    return x


@pytest.fixture
def model():
    rng = np.random.default_rng(0)
    return {"Wxh": 0.3 * rng.standard_normal((H, V)), "Whh": 0.3 * rng.standard_normal((H, H)),
            "Why": 0.3 * rng.standard_normal((V, H)), "bh": 0.1 * rng.standard_normal(H),
            "by": 0.1 * rng.standard_normal(V)}


def data(seed):
    rng = np.random.default_rng(seed)
    text = rng.integers(0, V, T + 1)
    return text[:-1], text[1:]


def framework_rnn(model, fused):
    rnn = tg.nn.RNN(V, H, dtype=np.float64, fused=fused)
    readout = tg.nn.Linear(H, V, dtype=np.float64)
    rnn.load_state_dict({"weight_ih_l0": model["Wxh"], "weight_hh_l0": model["Whh"],
                         "bias_ih_l0": model["bh"], "bias_hh_l0": np.zeros(H)})
    readout.load_state_dict({"weight": model["Why"], "bias": model["by"]})
    return rnn, readout


def assert_grads(ours, reference):
    for key, expected in reference.items():
        np.testing.assert_allclose(ours[key], expected, rtol=0, atol=1e-9, err_msg=key)
        assert np.abs(expected).max() > 1e-3, f"{key} is too small to prove anything"


@pytest.mark.parametrize("path", FUSED_PATHS, ids=FUSED_PATH_IDS)
def test_nn_rnn_matches_hand_written_bptt_over_two_chunks(model, path, monkeypatch):
    """Two consecutive chunks with hprev carried (and detached) between them, as min-char-rnn trains."""
    rnn, readout = framework_rnn(model, fused_option(path, monkeypatch))
    hprev_np = np.zeros(H)
    hprev = Tensor(np.zeros((1, 1, H)))
    for chunk in range(2):
        inputs, targets = data(chunk)
        loss_np, grads_np, hlast_np = numpy_bptt(inputs, targets, hprev_np, **model)

        rnn.zero_grad()
        readout.zero_grad()
        h0 = Tensor(hprev.data.copy(), requires_grad=True)
        output, h_n = rnn(Tensor(one_hot(inputs)), h0)                     # (T, 1, H), (1, 1, H)
        logits = readout(output.reshape(T, H))                             # (T, V)
        loss = tg.cross_entropy(logits, targets, reduction="sum")
        loss.backward()

        assert loss.item() == pytest.approx(loss_np, rel=1e-12)
        np.testing.assert_allclose(h_n.data.reshape(H), hlast_np, rtol=0, atol=1e-12)
        ours = {"dWxh": rnn.weight_ih_l0.grad, "dWhh": rnn.weight_hh_l0.grad, "dWhy": readout.weight.grad,
                "dbh": rnn.bias_ih_l0.grad, "dby": readout.bias.grad, "dh_prev": h0.grad.reshape(H)}
        assert_grads(ours, grads_np)
        # the two biases are added, so each receives the whole dbh
        np.testing.assert_allclose(rnn.bias_hh_l0.grad, grads_np["dbh"], rtol=0, atol=1e-9)

        hprev, hprev_np = tg.nn.detach_state(h_n), hlast_np


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_rnn_cell_loop_matches_hand_written_bptt(model, fused):
    cell = tg.nn.RNNCell(V, H, dtype=np.float64, fused=fused)
    cell.load_state_dict({"weight_ih": model["Wxh"], "weight_hh": model["Whh"],
                          "bias_ih": model["bh"], "bias_hh": np.zeros(H)})
    readout = tg.nn.Linear(H, V, dtype=np.float64)
    readout.load_state_dict({"weight": model["Why"], "bias": model["by"]})
    inputs, targets = data(5)
    hprev_np = np.random.default_rng(6).uniform(-0.5, 0.5, H)
    loss_np, grads_np, _ = numpy_bptt(inputs, targets, hprev_np, **model)

    h0 = Tensor(hprev_np.reshape(1, H).copy(), requires_grad=True)
    h, loss = h0, None
    x = one_hot(inputs)
    for t in range(T):
        h = cell(Tensor(x[t]), h)                                          # (1, H)
        step_loss = tg.cross_entropy(readout(h), targets[t:t + 1], reduction="sum")
        loss = step_loss if loss is None else loss + step_loss
    loss.backward()

    assert loss.item() == pytest.approx(loss_np, rel=1e-12)
    ours = {"dWxh": cell.weight_ih.grad, "dWhh": cell.weight_hh.grad, "dWhy": readout.weight.grad,
            "dbh": cell.bias_ih.grad, "dby": readout.bias.grad, "dh_prev": h0.grad.reshape(H)}
    assert_grads(ours, grads_np)


def test_reference_bptt_agrees_with_finite_differences(model):
    """The hand-written reference is itself right (central differences on a few entries)."""
    inputs, targets = data(7)
    hprev = np.random.default_rng(8).uniform(-0.5, 0.5, H)
    _, grads, _ = numpy_bptt(inputs, targets, hprev, **model)
    eps = 1e-6
    for name, grad_name, index in (("Whh", "dWhh", (2, 3)), ("Wxh", "dWxh", (4, inputs[0])),
                                   ("bh", "dbh", (1,)), ("Why", "dWhy", (0, 5))):
        plus = {k: v.copy() for k, v in model.items()}
        minus = {k: v.copy() for k, v in model.items()}
        plus[name][index] += eps
        minus[name][index] -= eps
        numeric = (numpy_bptt(inputs, targets, hprev, **plus)[0] - numpy_bptt(inputs, targets, hprev, **minus)[0])
        assert grads[grad_name][index] == pytest.approx(numeric / (2 * eps), rel=1e-5, abs=1e-8)
