"""PyTorch parity: with torch's state_dict loaded, every stack and cell gives torch's outputs, final
states and gradients (input, h0, c0, every parameter): 1e-9 in float64, 1e-4 in float32.

Cho et al.'s GRU (reset_after=False) has no torch twin and is covered by the gradcheck and
fused-vs-composed tests instead.
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from recurrent_grid import CELL_KINDS, FUSED_PATH_IDS, FUSED_PATHS, fused_option, grid

torch = pytest.importorskip("torch")

T, B, I, H = 4, 3, 3, 5
TOLERANCE = {np.float64: 1e-9, np.float32: 1e-4}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}

KINDS = {kind: spec for kind, spec in CELL_KINDS.items() if kind != "gru_reset_before"}  # no torch twin
GRID = grid(KINDS)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny tensors: torch's threads only add overhead (and contend with other work on a small machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def grid_id(config):
    kind, layers, bidirectional, batch_first, bias = config
    return f"{kind}-L{layers}" + ("-bi" if bidirectional else "") + ("-bf" if batch_first else "") + \
        ("" if bias else "-nobias")


def twins(kind, dtype, fused, cell=False, **options):
    """A torch module (seeded init) and ours with torch's state_dict loaded."""
    stack_name, cell_name, extra = KINDS[kind]
    name = cell_name if cell else stack_name
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(I, H, dtype=TORCH_DTYPE[dtype], **extra, **options)
    ours = getattr(tg.nn, name)(I, H, dtype=dtype, fused=fused, **extra, **options)
    ours.load_state_dict(theirs.state_dict())
    return theirs, ours


def pair(array):
    """The same values as our leaf tensor and a torch leaf tensor, both requiring grad."""
    return Tensor(array.copy(), requires_grad=True), torch.tensor(array, requires_grad=True)


def projections(shapes, dtype, seed=5):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def backward_both(our_outputs, their_outputs, dtype):
    """Backpropagate the same random projection of the outputs through both graphs."""
    weights = projections([o.shape for o in our_outputs], dtype)
    ours = sum(((o * Tensor(w)).sum() for o, w in zip(our_outputs[1:], weights[1:])),
               (our_outputs[0] * Tensor(weights[0])).sum())
    theirs = sum((o * torch.tensor(w)).sum() for o, w in zip(their_outputs, weights))
    ours.backward()
    theirs.backward()


def assert_close(ours, theirs, dtype, what):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert ours is not None, f"{what}: no gradient"
    assert ours.dtype == dtype, f"{what}: dtype {ours.dtype}, expected {np.dtype(dtype)}"
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, err_msg=what)


def assert_param_grads(ours, theirs, dtype):
    their_params = dict(theirs.named_parameters())
    our_names = [name for name, _ in ours.named_parameters()]
    assert our_names == list(their_params), "parameter names or order differ from torch's"
    for name, param in ours.named_parameters():
        assert_close(param.grad, their_params[name].grad, dtype, f"grad of {name}")


def flat(output):
    """(output, h_n) or (output, (h_n, c_n)) -> [output, h_n, c_n...]."""
    output, final = output
    return [output, *(final if isinstance(final, tuple) else (final,))]


def run_stack_parity(kind, dtype, fused, layers, bidirectional, batch_first, bias, batched=True):
    theirs, ours = twins(kind, dtype, fused, num_layers=layers, bidirectional=bidirectional,
                         batch_first=batch_first, bias=bias)
    rng = np.random.default_rng(1)
    if batched:
        x_shape = (B, T, I) if batch_first else (T, B, I)
        state_shape = (layers * (2 if bidirectional else 1), B, H)
    else:
        x_shape, state_shape = (T, I), (layers * (2 if bidirectional else 1), H)
    x, tx = pair(rng.standard_normal(x_shape).astype(dtype))
    states = [pair((0.5 * rng.standard_normal(state_shape)).astype(dtype)) for _ in range(2 if kind == "lstm" else 1)]
    ohx = tuple(s[0] for s in states) if kind == "lstm" else states[0][0]
    thx = tuple(s[1] for s in states) if kind == "lstm" else states[0][1]
    our_outputs, their_outputs = flat(ours(x, ohx)), flat(theirs(tx, thx))
    for k, (o, t) in enumerate(zip(our_outputs, their_outputs)):
        assert_close(o.data, t, dtype, ["output", "h_n", "c_n"][k])
    backward_both(our_outputs, their_outputs, dtype)
    assert_close(x.grad, tx.grad, dtype, "grad of input")
    for label, (ours_state, theirs_state) in zip(("h0", "c0"), states):
        assert_close(ours_state.grad, theirs_state.grad, dtype, f"grad of {label}")
    assert_param_grads(ours, theirs, dtype)


@pytest.mark.parametrize("config", GRID, ids=grid_id)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("path", FUSED_PATHS, ids=FUSED_PATH_IDS)
def test_stack_matches_torch(config, dtype, path, monkeypatch):
    run_stack_parity(*config[:1], dtype, fused_option(path, monkeypatch), *config[1:])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_unbatched_stack_matches_torch(kind, dtype, fused):
    run_stack_parity(kind, dtype, fused, layers=2, bidirectional=True, batch_first=False, bias=True, batched=False)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_default_zero_state_matches_torch(kind, dtype, fused):
    theirs, ours = twins(kind, dtype, fused, num_layers=2)
    x, tx = pair(np.random.default_rng(2).standard_normal((T, B, I)).astype(dtype))
    our_outputs, their_outputs = flat(ours(x)), flat(theirs(tx))
    for o, t in zip(our_outputs, their_outputs):
        assert_close(o.data, t, dtype, "forward")
    backward_both(our_outputs, their_outputs, dtype)
    assert_close(x.grad, tx.grad, dtype, "grad of input")
    assert_param_grads(ours, theirs, dtype)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_cell_matches_torch(kind, dtype, fused, bias, batched):
    theirs, ours = twins(kind, dtype, fused, cell=True, bias=bias)
    rng = np.random.default_rng(3)
    lead = (B,) if batched else ()
    x, tx = pair(rng.standard_normal(lead + (I,)).astype(dtype))
    states = [pair(rng.standard_normal(lead + (H,)).astype(dtype)) for _ in range(2 if kind == "lstm" else 1)]
    ohx = tuple(s[0] for s in states) if kind == "lstm" else states[0][0]
    thx = tuple(s[1] for s in states) if kind == "lstm" else states[0][1]
    our_new, their_new = ours(x, ohx), theirs(tx, thx)
    our_new = list(our_new) if isinstance(our_new, tuple) else [our_new]
    their_new = list(their_new) if isinstance(their_new, tuple) else [their_new]
    for o, t in zip(our_new, their_new):
        assert_close(o.data, t, dtype, "new state")
    backward_both(our_new, their_new, dtype)
    assert_close(x.grad, tx.grad, dtype, "grad of input")
    for label, (o, t) in zip(("h", "c"), states):
        assert_close(o.grad, t.grad, dtype, f"grad of {label}")
    assert_param_grads(ours, theirs, dtype)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tb", "bf"])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_lengths_match_torch_packed_sequence(kind, layers, bidirectional, batch_first, fused):
    """Unsorted lengths, as pack_padded_sequence(enforce_sorted=False) takes them."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    dtype = np.float64
    theirs, ours = twins(kind, dtype, fused, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    lengths = np.array([2, T, 1])
    rng = np.random.default_rng(4)
    x_array = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    x, tx = pair(x_array)
    state_shape = (layers * (2 if bidirectional else 1), B, H)
    states = [pair(0.5 * rng.standard_normal(state_shape)) for _ in range(2 if kind == "lstm" else 1)]
    ohx = tuple(s[0] for s in states) if kind == "lstm" else states[0][0]
    thx = tuple(s[1] for s in states) if kind == "lstm" else states[0][1]

    our_outputs = flat(ours(x, ohx, lengths=lengths))
    packed = pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    their_packed, their_final = theirs(packed, thx)
    their_output, _ = pad_packed_sequence(their_packed, batch_first=batch_first, total_length=T)
    their_outputs = flat((their_output, their_final))
    for k, (o, t) in enumerate(zip(our_outputs, their_outputs)):
        assert_close(o.data, t, dtype, ["output", "h_n", "c_n"][k])
    backward_both(our_outputs, their_outputs, dtype)
    assert_close(x.grad, tx.grad, dtype, "grad of input")
    for label, (o, t) in zip(("h0", "c0"), states):
        assert_close(o.grad, t.grad, dtype, f"grad of {label}")
    assert_param_grads(ours, theirs, dtype)


def test_state_dict_round_trips_into_torch():
    """Our state_dict, loaded into torch, gives torch the same forward: names and layouts are PyTorch's."""
    tg.manual_seed(3)
    ours = tg.nn.LSTM(I, H, num_layers=2, bidirectional=True, dtype=np.float64)
    theirs = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    theirs.load_state_dict({name: torch.tensor(array) for name, array in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((T, B, I))
    our_out, _ = ours(Tensor(x))
    their_out, _ = theirs(torch.tensor(x))
    np.testing.assert_allclose(our_out.data, their_out.detach().numpy(), rtol=1e-12, atol=1e-12)
