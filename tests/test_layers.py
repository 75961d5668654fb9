"""Linear, Embedding, Dropout (and nn.functional), dtypes through every layer, and the recurrent
stacks' layout: PyTorch's parameter names, shapes and init, output/h_n ordering, recurrent_init,
and inter-layer dropout exactly where PyTorch puts it."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.nn import functional as F

STACKS = {
    "rnn_tanh": ("RNN", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "gru": ("GRU", {}),
    "gru_reset_before": ("GRU", {"reset_after": False}),
}


def stack(kind, *args, **kwargs):
    name, extra = STACKS[kind]
    return getattr(tg.nn, name)(*args, **extra, **kwargs)


# ---------------------------------------------------------------- Linear
def test_linear_forward_is_x_wt_plus_b_over_leading_axes():
    lin = tg.nn.Linear(3, 2, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((4, 5, 3))
    np.testing.assert_allclose(lin(Tensor(x)).data, x @ lin.weight.data.T + lin.bias.data, atol=1e-14)
    no_bias = tg.nn.Linear(3, 2, bias=False, dtype=np.float64)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    np.testing.assert_allclose(no_bias(Tensor(x)).data, x @ no_bias.weight.data.T, atol=1e-14)


def test_linear_init_bound_and_gradcheck():
    tg.manual_seed(0)
    lin = tg.nn.Linear(25, 200, dtype=np.float64)
    assert np.abs(lin.weight.data).max() <= 0.2 and np.abs(lin.weight.data).max() > 0.19
    assert np.abs(lin.bias.data).max() <= 0.2
    small = tg.nn.Linear(3, 2, dtype=np.float64)
    x = Tensor(np.random.default_rng(1).standard_normal((4, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, w, b: small(x), [x, small.weight, small.bias])



def test_linear_node_with_two_biases_adds_both_and_passes_gradcheck():
    """The node a recurrent input projection uses: y = x W^T + b_ih + b_hh, each bias its own gradient."""
    from tinygrad_rnn.autograd.ops.matmul import Linear
    rng = np.random.default_rng(2)
    x, w = (Tensor(rng.standard_normal(shape), requires_grad=True) for shape in ((2, 4, 3), (5, 3)))
    b1, b2 = (Tensor(rng.standard_normal(5), requires_grad=True) for _ in range(2))
    np.testing.assert_allclose(Linear.apply(x, w, b1, b2).data, x.data @ w.data.T + b1.data + b2.data, atol=1e-14)
    assert tg.gradcheck(lambda x, w, b1, b2: Linear.apply(x, w, b1, b2), [x, w, b1, b2])
    b1.grad = b2.grad = None
    Linear.apply(x, w, b1, b2).sum().backward()
    assert b1.grad is not b2.grad and b1.grad.base is not b2.grad and b2.grad.base is not b1.grad
    np.testing.assert_allclose(b1.grad, np.full(5, 2 * 4.0))
    np.testing.assert_allclose(b2.grad, b1.grad)
    frozen = Tensor(b1.data)                                  # a bias that wants no gradient gets none
    y = Linear.apply(x, w, frozen, b2)
    assert y._node.backward(np.ones(y.shape))[2] is None

# ---------------------------------------------------------------- Embedding
def test_embedding_picks_rows_and_accumulates_gradient_of_repeated_indices():
    tg.manual_seed(0)
    emb = tg.nn.Embedding(5, 3)
    assert emb.weight.dtype == np.float32
    indices = np.array([[1, 4], [1, 0]])
    out = emb(indices)
    assert out.shape == (2, 2, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data, emb.weight.data[indices])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [1, 2, 0, 0, 1])


def test_embedding_init_is_standard_normal():
    tg.manual_seed(0)
    w = tg.nn.Embedding(1000, 50, dtype=np.float64).weight.data
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1.0) < 0.01


# ---------------------------------------------------------------- Dropout
def test_dropout_in_training_zeros_about_p_and_scales_the_rest():
    tg.manual_seed(0)
    drop = tg.nn.Dropout(0.25)
    x = Tensor(np.ones((200, 100), np.float32), requires_grad=True)
    y = drop(x)
    assert y.dtype == np.float32
    kept = y.data != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad != 0, kept)          # the same mask on the way back
    assert x.grad.dtype == np.float32


def test_dropout_is_identity_in_eval_and_at_p_zero_and_drops_all_at_p_one():
    x = Tensor(np.ones((3, 4), np.float32))
    drop = tg.nn.Dropout(0.5).eval()
    assert drop(x) is x
    assert tg.nn.Dropout(0.0)(x) is x
    assert np.all(tg.nn.Dropout(1.0)(x).data == 0)
    assert F.dropout(x, 0.5, training=False) is x
    assert repr(tg.nn.Dropout(0.3)) == "Dropout(p=0.3)"


def test_dropout_bad_p():
    with pytest.raises(ValueError, match=r"Dropout: probability must be in \[0, 1\], got 1.5"):
        tg.nn.Dropout(1.5)
    with pytest.raises(TypeError, match="Dropout: probability must be a number, got str"):
        tg.nn.Dropout("0.5")


def test_column_sums_equal_the_sum_of_rows_in_new_arrays():
    """A bias gradient's sum over rows, done as one GEMV with cached ones: the same numbers as summing
    in float64, a fresh array each call (a leaf may keep it as .grad), and the cached ones untouched."""
    from tinygrad_rnn.autograd.ops import matmul
    rng = np.random.default_rng(3)
    for rows, dtype, atol in (((25, 65), np.float64, 1e-13), ((1, 7), np.float64, 0), ((0, 4), np.float64, 0),
                              ((3000, 33), np.float32, 2e-3)):
        g = rng.standard_normal(rows).astype(dtype)
        got = matmul.column_sums(g)
        assert got.dtype == dtype and got.shape == (rows[1],)
        np.testing.assert_allclose(got, g.astype(np.float64).sum(axis=0), rtol=0, atol=atol)
    g = rng.standard_normal((40, 6))[:, ::2]                      # a strided view sums the same
    np.testing.assert_allclose(matmul.column_sums(g), g.sum(axis=0), rtol=0, atol=1e-13)
    first = matmul.column_sums(np.ones((5, 3)))
    first += 100.0                                                 # the caller owns what it got
    np.testing.assert_array_equal(matmul.column_sums(np.ones((5, 3))), [5.0, 5.0, 5.0])
    ones = matmul._ONES[(5, np.dtype(np.float64))]
    assert not ones.flags.writeable
    for n in range(1, 2 * matmul._ONES_MAX_ENTRIES):                 # the cache stays bounded
        matmul.column_sums(np.ones((n, 1)))
    assert len(matmul._ONES) <= matmul._ONES_MAX_ENTRIES


def test_linear_and_embedding_constructor_errors():
    with pytest.raises(TypeError, match="Linear: in_features must be an int, got float"):
        tg.nn.Linear(3.5, 2)
    with pytest.raises(ValueError, match="Linear: out_features must be positive, got 0"):
        tg.nn.Linear(3, 0)
    with pytest.raises(TypeError, match="Linear: expected dtype float32 or float64, got int8"):
        tg.nn.Linear(3, 2, dtype=np.int8)
    with pytest.raises(ValueError, match="Embedding: embedding_dim must be positive, got -2"):
        tg.nn.Embedding(5, -2)
    lin = tg.nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"Linear: expected input with last dimension 3, got shape \(2, 4\)"):
        lin(Tensor(np.zeros((2, 4), np.float32)))
    with pytest.raises(TypeError, match="Linear: expected input of dtype float32, got float64"):
        lin(Tensor(np.zeros((2, 3))))
    with pytest.raises(TypeError, match="Linear: expected a Tensor input, got ndarray"):
        lin(np.zeros((2, 3), np.float32))


# ---------------------------------------------------------------- functional
def test_functional_forms():
    x = np.array([[-1.5, 0.5, 2.0]])
    w, b = np.arange(6.0).reshape(2, 3), np.array([0.5, -0.5])
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(w), Tensor(b)).data, x @ w.T + b)
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(w)).data, x @ w.T)
    np.testing.assert_allclose(F.relu(Tensor(x)).data, np.maximum(x, 0))
    np.testing.assert_allclose(F.tanh(Tensor(x)).data, np.tanh(x))
    np.testing.assert_allclose(F.sigmoid(Tensor(x)).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(F.leaky_relu(Tensor(x), 0.2).data, np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(F.elu(Tensor(x)).data, np.where(x > 0, x, np.exp(x) - 1))


# ---------------------------------------------------------------- dtypes
def test_default_dtype_is_float32_and_follows_set_default_dtype():
    assert tg.nn.Linear(2, 2).weight.dtype == np.float32 and tg.nn.LSTM(2, 2).dtype == np.float32
    tg.set_default_dtype(np.float64)
    try:
        assert tg.nn.GRU(2, 3).weight_hh_l0.dtype == np.float64
        assert tg.nn.Embedding(4, 2).weight.dtype == np.float64
    finally:
        tg.set_default_dtype(np.float32)


@pytest.mark.parametrize("kind", STACKS)
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_float32_stays_float32_through_stacks_and_cells(kind, fused):
    module = stack(kind, 3, 4, num_layers=2, bidirectional=True, dropout=0.3, fused=fused)
    x = Tensor(np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32), requires_grad=True)
    output, final = module(x, lengths=[5, 3])
    finals = final if isinstance(final, tuple) else (final,)
    assert output.dtype == np.float32 and all(f.dtype == np.float32 for f in finals)
    head = tg.nn.Linear(8, 2)
    (head(output).sum() + sum(f.sum() for f in finals)).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in module.parameters() + head.parameters())

    name = {"rnn_tanh": "RNNCell", "rnn_relu": "RNNCell", "lstm": "LSTMCell"}.get(kind, "GRUCell")
    cell = getattr(tg.nn, name)(3, 4, fused=fused, **STACKS[kind][1])
    new = cell(x[0])
    new = new if isinstance(new, tuple) else (new,)
    sum(s.sum() for s in new).backward()
    assert all(s.dtype == np.float32 for s in new) and all(p.grad.dtype == np.float32 for p in cell.parameters())


# ---------------------------------------------------------------- recurrent layout and init
def test_parameter_names_shapes_and_order_are_pytorchs():
    lstm = tg.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    expected = []
    for layer, inputs in ((0, 3), (1, 10)):
        for suffix in ("", "_reverse"):
            expected += [(f"weight_ih_l{layer}{suffix}", (20, inputs)), (f"weight_hh_l{layer}{suffix}", (20, 5)),
                         (f"bias_ih_l{layer}{suffix}", (20,)), (f"bias_hh_l{layer}{suffix}", (20,))]
    assert [(n, p.shape) for n, p in lstm.named_parameters()] == expected
    assert [n for n, _ in tg.nn.GRU(3, 5, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert [(n, p.shape) for n, p in tg.nn.GRUCell(3, 5).named_parameters()] == \
        [("weight_ih", (15, 3)), ("weight_hh", (15, 5)), ("bias_ih", (15,)), ("bias_hh", (15,))]


@pytest.mark.parametrize("kind", STACKS)
def test_default_init_is_uniform_within_one_over_sqrt_hidden(kind):
    tg.manual_seed(0)
    module = stack(kind, 30, 16, num_layers=2, dtype=np.float64)
    values = np.concatenate([p.data.ravel() for p in module.parameters()])
    assert np.abs(values).max() <= 0.25 and np.abs(values).max() > 0.249
    assert abs(values.mean()) < 0.01


def test_identity_recurrent_init_is_the_irnn():
    tg.manual_seed(0)
    rnn = tg.nn.RNN(3, 4, nonlinearity="relu", recurrent_init="identity", dtype=np.float64)
    np.testing.assert_array_equal(rnn.weight_hh_l0.data, np.eye(4))
    assert np.all(rnn.bias_ih_l0.data == 0) and np.all(rnn.bias_hh_l0.data == 0)
    assert np.abs(rnn.weight_ih_l0.data).max() > 0               # the input weights keep their uniform init
    h0 = np.array([[[0.5, 1.0, 2.0, 0.25]]])
    output, h_n = rnn(Tensor(np.zeros((6, 1, 3))), Tensor(h0))   # zero input: h stays h0 at every step
    np.testing.assert_array_equal(output.data, np.repeat(h0, 6, axis=0))
    gru = tg.nn.GRU(3, 4, recurrent_init="identity")
    for block in range(3):
        np.testing.assert_array_equal(gru.weight_hh_l0.data[4 * block:4 * block + 4], np.eye(4))


def test_orthogonal_recurrent_init_is_orthogonal_per_gate_block():
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(3, 6, num_layers=2, recurrent_init="orthogonal", dtype=np.float64)
    for name in ("weight_hh_l0", "weight_hh_l1"):
        w = getattr(lstm, name).data
        for block in range(4):
            q = w[6 * block:6 * block + 6]
            np.testing.assert_allclose(q.T @ q, np.eye(6), atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_output_and_state_shapes_and_ordering(kind, batch_first):
    """output = [forward | reverse] on the last axis; h_n[layer * 2 + direction]."""
    tg.manual_seed(0)
    module = stack(kind, 3, 4, num_layers=2, bidirectional=True, batch_first=batch_first, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    output, final = module(Tensor(x))
    h_n = final[0] if kind == "lstm" else final
    assert output.shape == ((2, 5, 8) if batch_first else (5, 2, 8)) and h_n.shape == (4, 2, 4)
    out_tb = np.swapaxes(output.data, 0, 1) if batch_first else output.data
    np.testing.assert_array_equal(h_n.data[2], out_tb[-1, :, :4])      # top layer, forward: its last step
    np.testing.assert_array_equal(h_n.data[3], out_tb[0, :, 4:])       # top layer, reverse: ends at t = 0
    # layer 0 of the stack is a one-layer bidirectional module with the same weights
    first = stack(kind, 3, 4, bidirectional=True, batch_first=batch_first, dtype=np.float64)
    first.load_state_dict({n: v for n, v in module.state_dict().items() if "_l0" in n})
    _, first_final = first(Tensor(x))
    np.testing.assert_allclose((first_final[0] if kind == "lstm" else first_final).data, h_n.data[:2], atol=1e-15)


def test_unbatched_input_gives_unbatched_output_and_state():
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((5, 3))
    output, (h_n, c_n) = lstm(Tensor(x))
    assert output.shape == (5, 8) and h_n.shape == (4, 4) and c_n.shape == (4, 4)
    batched, (h_b, _) = lstm(Tensor(x[:, None, :]))
    np.testing.assert_array_equal(output.data, batched.data[:, 0])
    np.testing.assert_array_equal(h_n.data, h_b.data[:, 0])


@pytest.mark.parametrize("kind", STACKS)
def test_cell_step_equals_one_step_of_the_stack(kind):
    tg.manual_seed(0)
    module = stack(kind, 3, 4, dtype=np.float64)
    name = {"rnn_tanh": "RNNCell", "rnn_relu": "RNNCell", "lstm": "LSTMCell"}.get(kind, "GRUCell")
    cell = getattr(tg.nn, name)(3, 4, dtype=np.float64, **STACKS[kind][1])
    cell.load_state_dict({n[:-3]: v for n, v in module.state_dict().items()})       # drop "_l0"
    x = np.random.default_rng(3).standard_normal((1, 2, 3))
    _, final = module(Tensor(x))
    new = cell(Tensor(x[0]))                                                        # default zero state
    for a, b in zip(new if isinstance(new, tuple) else (new,), final if isinstance(final, tuple) else (final,)):
        np.testing.assert_allclose(a.data, b.data[0], atol=1e-15)
    unbatched = cell(Tensor(x[0, 1]))
    h = unbatched[0] if isinstance(unbatched, tuple) else unbatched
    assert h.shape == (4,)


# ---------------------------------------------------------------- inter-layer dropout
@pytest.fixture
def recorded_dropout(monkeypatch):
    """Record every dropout call the stacks make (input, p, output), then run the real dropout."""
    import tinygrad_rnn.nn.recurrent as recurrent
    calls, real = [], recurrent.F.dropout

    def recording(x, p, training=True):
        out = real(x, p, training)
        calls.append((x, p, out))
        return out

    monkeypatch.setattr(recurrent.F, "dropout", recording)
    return calls


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_dropout_after_every_layer_but_the_last_in_training_only(kind, bidirectional, recorded_dropout):
    tg.manual_seed(0)
    module = stack(kind, 3, 4, num_layers=3, dropout=0.5, bidirectional=bidirectional, dtype=np.float64)
    x = Tensor(np.random.default_rng(4).standard_normal((6, 2, 3)))
    module.eval()
    eval_output, _ = module(x)
    assert recorded_dropout == []
    module.train()
    output, _ = module(x)
    width = 8 if bidirectional else 4
    assert [(c[0].shape, c[1]) for c in recorded_dropout] == [((6, 2, width), 0.5)] * 2
    dropped = recorded_dropout[1][2].data
    assert 0 < np.mean(dropped == 0) < 1                                # some units really were dropped
    # the last layer's output is not dropped: it is layer 3 run on layer 2's dropped output
    top = stack(kind, width, 4, bidirectional=bidirectional, dtype=np.float64)
    top.load_state_dict({n.replace("_l2", "_l0"): v for n, v in module.state_dict().items() if "_l2" in n})
    np.testing.assert_allclose(output.data, top(Tensor(dropped))[0].data, atol=1e-15)
    assert not np.allclose(output.data, eval_output.data)


def test_dropout_one_cuts_the_layers_apart():
    """With p = 1 the second layer sees zeros: its output does not depend on the input at all."""
    tg.manual_seed(0)
    gru = tg.nn.GRU(3, 4, num_layers=2, dropout=1.0, dtype=np.float64)
    x = Tensor(np.random.default_rng(5).standard_normal((4, 2, 3)), requires_grad=True)
    output, h_n = gru(x)
    output.sum().backward()
    assert np.all(x.grad == 0)
    top = tg.nn.GRU(4, 4, dtype=np.float64)
    top.load_state_dict({n.replace("_l1", "_l0"): v for n, v in gru.state_dict().items() if "_l1" in n})
    np.testing.assert_allclose(output.data, top(Tensor(np.zeros((4, 2, 4))))[0].data, atol=1e-15)
