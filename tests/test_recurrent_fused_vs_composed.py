"""The fused paths (one graph node per step, or per layer-direction; numba kernels) and the composed path
(primitive ops) of every recurrent stack and cell compute the same outputs, final states and gradients to
1e-12 in float64."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from recurrent_grid import CELL_KINDS, fused_option, grid

T, B, I, H = 4, 3, 3, 2
TOL = 1e-12

# (class name, extra constructor arguments) of the five cell kinds
KINDS = {kind: (stack, options) for kind, (stack, _, options) in CELL_KINDS.items()}
GRID = grid(KINDS)


def grid_id(config):
    kind, layers, bidirectional, batch_first, bias = config
    return f"{kind}-L{layers}" + ("-bi" if bidirectional else "") + ("-bf" if batch_first else "") + \
        ("" if bias else "-nobias")


def make_stack(kind, fused, seed=0, **options):
    tg.manual_seed(seed)
    name, extra = KINDS[kind]
    return getattr(tg.nn, name)(I, H, dtype=np.float64, fused=fused, **extra, **options)


def run_and_backward(module, x, states, lengths=None, seed=1):
    """Forward, then backward of a fixed random projection of (output, every final state).

    Returns {name: array} of the output, the final states and the gradients of x, the initial
    states and every parameter."""
    module.zero_grad()
    for tensor in (x, *states):
        tensor.grad = None
    hx = None if not states else (states[0] if len(states) == 1 else tuple(states))
    output, final = module(x, hx, lengths=lengths)
    finals = final if isinstance(final, tuple) else (final,)
    rng = np.random.default_rng(seed)
    loss = (output * Tensor(rng.standard_normal(output.shape))).sum()
    for state in finals:
        loss = loss + (state * Tensor(rng.standard_normal(state.shape))).sum()
    loss.backward()
    result = {"output": output.data, **{f"final{k}": s.data for k, s in enumerate(finals)}, "dx": x.grad}
    result.update({f"dstate{k}": s.grad for k, s in enumerate(states)})
    result.update({f"d{name}": p.grad for name, p in module.named_parameters()})
    return result


def assert_same(a, b, tol=TOL):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] is not None and b[key] is not None, f"{key}: no gradient"
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=tol, err_msg=key)


def stack_inputs(kind, layers, bidirectional, batch_first, seed=2):
    rng = np.random.default_rng(seed)
    shape = (B, T, I) if batch_first else (T, B, I)
    x = Tensor(rng.standard_normal(shape), requires_grad=True)
    state_shape = (layers * (2 if bidirectional else 1), B, H)
    count = 2 if kind == "lstm" else 1
    states = [Tensor(0.5 * rng.standard_normal(state_shape), requires_grad=True) for _ in range(count)]
    return x, states


@pytest.mark.parametrize("config", GRID, ids=grid_id)
@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("path", ["step", "sequence", "sequence-blas"])
def test_stack_fused_equals_composed(config, with_lengths, path, monkeypatch):
    kind, layers, bidirectional, batch_first, bias = config
    options = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    fused = make_stack(kind, fused_option(path, monkeypatch), **options)
    composed = make_stack(kind, False, **options)
    composed.load_state_dict(fused.state_dict())
    lengths = np.array([2, T, 1]) if with_lengths else None
    x, states = stack_inputs(kind, layers, bidirectional, batch_first)
    a = run_and_backward(fused, x, states, lengths)
    b = run_and_backward(composed, x, states, lengths)
    assert_same(a, b)
    if kind != "rnn_relu":  # (a relu unit may be dead for the whole sequence; the others must get gradient)
        assert all(np.abs(a[f"d{n}"]).max() > 0 for n, _ in fused.named_parameters())
    assert np.abs(a["dx"]).max() > 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", ["step", "sequence", "sequence-blas"])
def test_default_zero_state_and_unbatched_input_agree(kind, path, monkeypatch):
    fused = make_stack(kind, fused_option(path, monkeypatch), num_layers=2, bidirectional=True)
    composed = make_stack(kind, False, num_layers=2, bidirectional=True)
    composed.load_state_dict(fused.state_dict())
    x = Tensor(np.random.default_rng(3).standard_normal((T, I)), requires_grad=True)
    assert_same(run_and_backward(fused, x, []), run_and_backward(composed, x, []))


@pytest.mark.parametrize("kind", KINDS)
def test_step_path_when_only_early_outputs_get_gradient(kind):
    """The later steps get no gradient and record nothing on the weight-gradient tape: the first step's
    dW_hh must sum exactly the steps that ran."""
    stacks = [make_stack(kind, fused) for fused in ("step", False)]
    stacks[1].load_state_dict(stacks[0].state_dict())
    x = Tensor(np.random.default_rng(4).standard_normal((T, B, I)))
    grads = []
    for module in stacks:
        output, _ = module(x)
        (output[:2] * output[:2]).sum().backward()
        grads.append({name: p.grad for name, p in module.named_parameters()})
    assert_same(*grads)
    assert np.abs(grads[0]["weight_hh_l0"]).max() > 0


@pytest.mark.parametrize("kind", KINDS)
def test_step_path_backward_twice_with_retain_graph_doubles_the_gradients(kind):
    """The tape starts afresh at every backward pass through the same graph."""
    module = make_stack(kind, "step", num_layers=2)
    x = Tensor(np.random.default_rng(5).standard_normal((T, B, I)))
    output, _ = module(x)
    loss = (output * output).sum()
    loss.backward(retain_graph=True)
    once = {name: p.grad.copy() for name, p in module.named_parameters()}
    loss.backward()
    for name, p in module.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * once[name], rtol=1e-14, atol=0, err_msg=name)


CELLS = {
    "rnn_tanh": ("RNNCell", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
    "lstm": ("LSTMCell", {}),
    "gru": ("GRUCell", {}),
    "gru_reset_before": ("GRUCell", {"reset_after": False}),
}


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_fused_equals_composed(kind, bias, batched):
    name, extra = CELLS[kind]
    results = []
    for fused in (True, False):
        tg.manual_seed(0)
        cell = getattr(tg.nn, name)(I, H, bias=bias, dtype=np.float64, fused=fused, **extra)
        rng = np.random.default_rng(4)
        lead = (B,) if batched else ()
        x = Tensor(rng.standard_normal(lead + (I,)), requires_grad=True)
        states = [Tensor(rng.standard_normal(lead + (H,)), requires_grad=True)
                  for _ in range(2 if kind == "lstm" else 1)]
        new = cell(x, tuple(states) if kind == "lstm" else states[0])
        new = new if isinstance(new, tuple) else (new,)
        loss = sum(((s * Tensor(rng.standard_normal(s.shape))).sum() for s in new[1:]),
                   (new[0] * Tensor(rng.standard_normal(new[0].shape))).sum())
        loss.backward()
        result = {f"state{k}": s.data for k, s in enumerate(new)}
        result.update({"dx": x.grad, **{f"dstate{k}": s.grad for k, s in enumerate(states)}})
        result.update({f"d{n}": p.grad for n, p in cell.named_parameters()})
        results.append(result)
    assert_same(*results)


def node_names(output):
    from tinygrad_rnn.autograd.engine import topological_order
    return {type(node).__name__ for node in topological_order(output.sum().grad_fn)}


def test_fused_true_runs_one_node_per_layer_direction_up_to_a_step_size():
    from tinygrad_rnn.nn.recurrent_step import SEQUENCE_NODE_MAX_WORK
    small, large = 2, 140_000                              # batches: 4 gates * 8 * 8 multiply-adds per row
    assert small * 4 * 8 * 8 <= SEQUENCE_NODE_MAX_WORK < large * 4 * 8 * 8
    lstm = tg.nn.LSTM(I, 8, dtype=np.float64)
    x, x_large = Tensor(np.zeros((3, small, I))), Tensor(np.zeros((2, large, I)))
    assert "LSTMSequence" in node_names(lstm(x)[0])
    assert "LSTMStep" in node_names(lstm(x_large)[0])
    assert "LSTMSequence" in node_names(tg.nn.LSTM(I, 8, dtype=np.float64, fused="sequence")(x_large)[0])
    assert "LSTMStep" in node_names(lstm(x, lengths=[3, 2])[0])
    assert "LSTMStep" in node_names(tg.nn.LSTM(I, 8, dtype=np.float64, fused="step")(x)[0])
    reset_before = tg.nn.GRU(I, 8, dtype=np.float64, reset_after=False, fused="sequence")
    assert "GRUResetBeforeStep" in node_names(reset_before(x)[0])


@pytest.mark.skipif(not tg.kernels.jit_enabled(), reason="without the JIT the compiled loop would run as Python")
def test_sequence_node_compiles_its_loop_only_for_small_steps():
    from tinygrad_rnn import kernels
    from tinygrad_rnn.nn import blas_time_loops
    from tinygrad_rnn.nn.fused_sequences import LSTMSequence, compiled_loop_max_work
    small, large = 8, 300                               # batch 16: 16*4*8*8 is small, 16*4*300*300 is not
    assert 16 * 4 * small * small <= compiled_loop_max_work() < 16 * 4 * large * large
    for hidden, loops in ((small, kernels), (large, blas_time_loops)):
        node = tg.nn.LSTM(I, hidden, dtype=np.float64)(Tensor(np.zeros((3, 16, I)), requires_grad=True))[0].grad_fn
        assert isinstance(node, LSTMSequence) and node.loops is loops


@pytest.mark.parametrize("wider", [False, True], ids=["same-width", "wider-kernels"])
def test_compiled_loop_limit_is_raised_only_where_the_kernels_have_the_wider_vectors(monkeypatch, wider):
    from tinygrad_rnn.kernels import machine
    from tinygrad_rnn.nn import fused_sequences as fs
    monkeypatch.setattr(machine, "kernels_wider_than_blas", lambda: wider)
    want = fs.COMPILED_LOOP_MAX_WORK_WIDER_VECTORS if wider else fs.COMPILED_LOOP_MAX_WORK
    assert fs.compiled_loop_max_work() == want
    batch_32_lstm_128 = fs.step_work(32, 4 * 128, 128)    # benchmarks/rnn_speed.py's "small" step: 2.1 M
    assert fs.compiled_loop_pays(32, np.zeros((4 * 128, 128))) == (wider and tg.kernels.jit_enabled())
    assert fs.COMPILED_LOOP_MAX_WORK < batch_32_lstm_128 <= fs.COMPILED_LOOP_MAX_WORK_WIDER_VECTORS
