"""Long unrolls and truncated BPTT: thousands of steps run forward and backward with no recursion,
and a sequence cut into chunks with the state carried (and detached) equals the whole sequence."""
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from recurrent_grid import FUSED_PATH_IDS, FUSED_PATHS, fused_option

LONG_T, B, I, H = 5_000, 2, 8, 16


def test_lstm_over_5000_steps_runs_forward_and_backward():
    assert LONG_T > sys.getrecursionlimit()    # a recursive graph walk could not get through this
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(I, H)
    x = Tensor(np.random.default_rng(0).standard_normal((LONG_T, B, I)).astype(np.float32), requires_grad=True)
    output, (h_n, c_n) = lstm(x)
    assert output.shape == (LONG_T, B, H) and output.dtype == np.float32
    np.testing.assert_array_equal(output.data[-1], h_n.data[0])
    (output[-1].sum() + c_n.sum()).backward()
    assert x.grad.shape == x.shape and x.grad.dtype == np.float32
    assert np.all(np.isfinite(x.grad)) and np.abs(x.grad[-1]).max() > 0
    for name, param in lstm.named_parameters():
        assert param.grad is not None and np.all(np.isfinite(param.grad)), name
    # the gradient fades going back in time, but reaches every step's input through the chain
    assert np.abs(x.grad[-1]).max() > np.abs(x.grad[0]).max()


def test_a_long_graph_dropped_without_backward_is_freed_cleanly():
    rnn = tg.nn.RNN(I, H)
    x = Tensor(np.ones((LONG_T, B, I), np.float32), requires_grad=True)
    output, h_n = rnn(x)
    del output, h_n                          # the whole 5,000-step chain becomes garbage at once
    output, _ = rnn(x[:3])
    assert output.shape == (3, B, H)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_composed_path_over_1500_steps_matches_fused(kind, monkeypatch):
    """Past the recursion limit on the primitive-op path too (about 20 graph nodes per step)."""
    steps = 1_500
    x_array = np.random.default_rng(1).standard_normal((steps, 1, 3))
    grads = []
    for path in FUSED_PATHS:
        tg.manual_seed(0)
        module = getattr(tg.nn, kind)(3, 4, dtype=np.float64, fused=fused_option(path, monkeypatch))
        x = Tensor(x_array.copy(), requires_grad=True)
        output, _ = module(x)
        output[-1].sum().backward()
        grads.append((x.grad, [p.grad for p in module.parameters()]))
    for other in grads[1:]:
        np.testing.assert_allclose(grads[0][0], other[0], rtol=0, atol=1e-12)
        for a, b in zip(grads[0][1], other[1]):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


# ---------------------------------------------------------------- truncated BPTT
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("path", FUSED_PATHS, ids=FUSED_PATH_IDS)
def test_state_carried_across_calls_equals_one_call(kind, path, monkeypatch):
    tg.manual_seed(0)
    module = getattr(tg.nn, kind)(3, 4, num_layers=2, dtype=np.float64, fused=fused_option(path, monkeypatch))
    x = np.random.default_rng(2).standard_normal((12, 2, 3))
    whole, whole_final = module(Tensor(x))
    state, pieces = None, []
    for start in range(0, 12, 5):                 # chunks of 5, 5, 2
        out, state = module(Tensor(x[start:start + 5]), state)
        state = tg.nn.detach_state(state)
        pieces.append(out.data)
    np.testing.assert_allclose(np.concatenate(pieces), whole.data, rtol=0, atol=1e-13)
    finals = state if isinstance(state, tuple) else (state,)
    whole_finals = whole_final if isinstance(whole_final, tuple) else (whole_final,)
    for a, b in zip(finals, whole_finals):
        np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-13)


def test_detach_state_cuts_the_gradient_between_chunks():
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(3, 4, dtype=np.float64)
    first = Tensor(np.ones((4, 1, 3)), requires_grad=True)
    second = Tensor(np.ones((4, 1, 3)), requires_grad=True)
    _, state = lstm(first)
    carried = tg.nn.detach_state(state)
    assert isinstance(carried, tuple) and not any(s.requires_grad for s in carried)
    output, _ = lstm(second, carried)
    output.sum().backward()
    assert first.grad is None and second.grad is not None

    # without the detach, the same loss reaches the first chunk
    _, state = lstm(first)
    output, _ = lstm(second, state)
    output.sum().backward()
    assert first.grad is not None and np.abs(first.grad).max() > 0


def test_detach_state_keeps_nesting_and_values():
    h = Tensor(np.ones(2), requires_grad=True) * 3
    nested = [(h, h), h]
    detached = tg.nn.detach_state(nested)
    assert isinstance(detached, list) and isinstance(detached[0], tuple)
    assert not detached[1].requires_grad and detached[1].is_leaf
    np.testing.assert_array_equal(detached[0][1].data, [3.0, 3.0])
    assert tg.nn.detach_state(None) is None
    with pytest.raises(TypeError, match="detach_state: expected a Tensor or a tuple of them, got ndarray"):
        tg.nn.detach_state(np.ones(2))


# ---------------------------------------------------------------- memory of the backward pass
def backward_growth(module, x):
    """Bytes allocated at the peak of backward beyond what the forward graph already holds."""
    import tracemalloc
    module(x[:2])[0].sum().backward()        # load the kernels before tracing
    tracemalloc.start()
    output, _ = module(x)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    output[-1].sum().backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - held


def test_fused_backward_does_not_hold_a_weight_gradient_per_step():
    steps, lstm = 200, tg.nn.LSTM(I, 64)
    growth = backward_growth(lstm, Tensor(np.ones((steps, B, I), np.float32), requires_grad=True))
    assert growth < 0.25 * steps * lstm.weight_hh_l0.data.nbytes


def test_composed_backward_does_not_hold_a_weight_gradient_per_step():
    steps, lstm = 200, tg.nn.LSTM(I, 64, fused=False)
    growth = backward_growth(lstm, Tensor(np.ones((steps, B, I), np.float32), requires_grad=True))
    assert growth < 0.25 * steps * lstm.weight_hh_l0.data.nbytes
