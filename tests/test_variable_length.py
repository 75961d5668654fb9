"""Variable-length batches: with ``lengths=``, each sequence of a padded batch gets exactly what it
gets when run alone (outputs with zeros at padded steps, final states, gradients w.r.t. its inputs,
its initial state and every parameter), in both directions and on both paths; and ``pad_sequences``."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from recurrent_grid import CELL_KINDS, grid

T, I, H = 5, 3, 4
LENGTHS = np.array([3, 5, 1, 4])
B = len(LENGTHS)

KINDS = {kind: (stack, options) for kind, (stack, _, options) in CELL_KINDS.items()}
GRID = grid(KINDS)


def grid_id(config):
    kind, layers, bidirectional, batch_first, fused = config
    return f"{kind}-L{layers}" + ("-bi" if bidirectional else "") + ("-bf" if batch_first else "") + \
        ("-fused" if fused else "-composed")


def run(module, x, states, output_weight, state_weights, lengths=None):
    """Forward and backward of sum(output * output_weight) + sum_k sum(final_k * state_weights[k]).

    Returns (output, finals, dx, [dstate...], {name: dparam}) as arrays (time-major output)."""
    module.zero_grad()
    hx = tuple(states) if len(states) == 2 else states[0]
    output, final = module(x, hx, lengths=lengths)
    finals = final if isinstance(final, tuple) else (final,)
    loss = (output * Tensor(output_weight)).sum()
    for state, weight in zip(finals, state_weights):
        loss = loss + (state * Tensor(weight)).sum()
    loss.backward()
    grads = {name: p.grad.copy() for name, p in module.named_parameters()}
    return output.data, [f.data for f in finals], x.grad, [s.grad for s in states], grads


@pytest.mark.parametrize("config", GRID, ids=grid_id)
def test_each_sequence_gets_what_it_gets_alone(config):
    kind, layers, bidirectional, batch_first, fused = config
    tg.manual_seed(0)
    name, extra = KINDS[kind]
    module = getattr(tg.nn, name)(I, H, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first,
                                  dtype=np.float64, fused=fused, **extra)
    directions = 2 if bidirectional else 1
    rng = np.random.default_rng(1)
    x_tb = rng.standard_normal((T, B, I))                      # time-major copy of the padded batch
    state_arrays = [0.5 * rng.standard_normal((layers * directions, B, H)) for _ in range(2 if kind == "lstm" else 1)]
    w_out = rng.standard_normal((T, B, directions * H))
    w_states = [rng.standard_normal(s.shape) for s in state_arrays]

    def layout(a):  # time-major (T, B, ...) -> the module's layout
        return np.swapaxes(a, 0, 1).copy() if batch_first else a

    x = Tensor(layout(x_tb), requires_grad=True)
    states = [Tensor(s.copy(), requires_grad=True) for s in state_arrays]
    output, finals, dx, dstates, dparams = run(module, x, states, layout(w_out), w_states, lengths=LENGTHS)
    output, dx = layout(output), layout(dx)                    # back to time-major

    summed = {name: np.zeros_like(g) for name, g in dparams.items()}
    for b, length in enumerate(LENGTHS):
        alone_x = Tensor(layout(x_tb[:length, b:b + 1].copy()), requires_grad=True)
        alone_states = [Tensor(s[:, b:b + 1].copy(), requires_grad=True) for s in state_arrays]
        a_out, a_finals, a_dx, a_dstates, a_dparams = run(
            module, alone_x, alone_states, layout(w_out[:length, b:b + 1].copy()),
            [w[:, b:b + 1] for w in w_states])
        a_out, a_dx = layout(a_out), layout(a_dx)
        np.testing.assert_allclose(output[:length, b], a_out[:, 0], rtol=0, atol=1e-12)
        assert np.all(output[length:, b] == 0), "padded steps must output zeros"
        for ours, alone in zip(finals, a_finals):
            np.testing.assert_allclose(ours[:, b], alone[:, 0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(dx[:length, b], a_dx[:, 0], rtol=0, atol=1e-12)
        assert np.all(dx[length:, b] == 0), "padded inputs must get zero gradient"
        for ours, alone in zip(dstates, a_dstates):
            np.testing.assert_allclose(ours[:, b], alone[:, 0], rtol=0, atol=1e-12)
        for name in summed:
            summed[name] += a_dparams[name]
    for name, grad in dparams.items():
        np.testing.assert_allclose(grad, summed[name], rtol=0, atol=1e-11, err_msg=name)


def test_reverse_direction_starts_at_each_sequences_last_real_step():
    """A one-step 'sequence' of length 1 in the reverse direction is h = tanh(W_ih x_0 + b + W_hh h0)."""
    tg.manual_seed(0)
    rnn = tg.nn.RNN(I, H, bidirectional=True, dtype=np.float64)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((T, 2, I))
    h0 = rng.standard_normal((2, 2, H))
    output, h_n = rnn(Tensor(x), Tensor(h0), lengths=[1, T])
    w_ih, w_hh = rnn.weight_ih_l0_reverse.data, rnn.weight_hh_l0_reverse.data
    bias = rnn.bias_ih_l0_reverse.data + rnn.bias_hh_l0_reverse.data
    expected = np.tanh(x[0, 0] @ w_ih.T + bias + h0[1, 0] @ w_hh.T)
    np.testing.assert_allclose(output.data[0, 0, H:], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_n.data[1, 0], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("fused", ["step", True, False])
def test_full_lengths_equal_no_lengths(fused):
    """Bit for bit on one path; with fused=True, lengths move a small layer from its one sequence node to
    a node per step, whose products sum in another order, so there the two agree to rounding error."""
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(I, H, num_layers=2, bidirectional=True, dtype=np.float64, fused=fused)
    x = Tensor(np.random.default_rng(3).standard_normal((T, B, I)))
    out_a, (h_a, c_a) = lstm(x)
    out_b, (h_b, c_b) = lstm(x, lengths=np.full(B, T))
    for a, b in ((out_a, out_b), (h_a, h_b), (c_a, c_b)):
        np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-12 if fused is True else 0.0)


def test_lengths_keep_float32():
    gru = tg.nn.GRU(I, H, bidirectional=True)
    x = Tensor(np.ones((T, B, I), np.float32), requires_grad=True)
    output, h_n = gru(x, lengths=LENGTHS)
    assert output.dtype == np.float32 and h_n.dtype == np.float32
    (output.sum() + h_n.sum()).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in gru.parameters())


# ---------------------------------------------------------------- pad_sequences
def test_pad_sequences_time_major_and_batch_first():
    seqs = [np.full((2, 3), 1.0, np.float32), np.full((4, 3), 2.0, np.float32), np.full((1, 3), 3.0, np.float32)]
    padded, lengths = tg.nn.pad_sequences(seqs, padding_value=-1.0)
    assert padded.shape == (4, 3, 3) and padded.dtype == np.float32
    assert lengths.tolist() == [2, 4, 1] and lengths.dtype == np.int64
    np.testing.assert_array_equal(padded[:2, 0], 1.0)
    np.testing.assert_array_equal(padded[2:, 0], -1.0)
    np.testing.assert_array_equal(padded[:, 1], 2.0)
    np.testing.assert_array_equal(padded[1:, 2], -1.0)
    first, lengths_bf = tg.nn.pad_sequences(seqs, batch_first=True)
    assert first.shape == (3, 4, 3) and first.flags.c_contiguous
    np.testing.assert_array_equal(first, np.swapaxes(np.where(padded == -1.0, 0.0, padded), 0, 1))
    assert lengths_bf.tolist() == [2, 4, 1]


def test_pad_sequences_accepts_tensors_and_integer_tokens():
    padded, lengths = tg.nn.pad_sequences([Tensor(np.ones((2, 2))), np.zeros((3, 2))])
    assert padded.shape == (3, 2, 2) and lengths.tolist() == [2, 3]
    tokens, _ = tg.nn.pad_sequences([np.array([4, 5]), np.array([6])])
    assert tokens.dtype.kind == "i" and tokens.tolist() == [[4, 6], [5, 0]]


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="at least one sequence"):
        tg.nn.pad_sequences([])
    with pytest.raises(ValueError, match="trailing shapes differ"):
        tg.nn.pad_sequences([np.zeros((2, 3)), np.zeros((2, 4))])


@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequences_feeds_a_stack(batch_first):
    """pad_sequences + lengths= gives each sequence its own final state, as when run alone."""
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(I, H, batch_first=batch_first, dtype=np.float64)
    rng = np.random.default_rng(4)
    seqs = [rng.standard_normal((n, I)) for n in (3, 1, 5)]
    padded, lengths = tg.nn.pad_sequences(seqs, batch_first=batch_first)
    _, (h_n, c_n) = lstm(Tensor(padded), lengths=lengths)
    for b, seq in enumerate(seqs):
        _, (h_alone, c_alone) = lstm(Tensor(seq))              # unbatched (T_b, I)
        np.testing.assert_allclose(h_n.data[:, b], h_alone.data, rtol=0, atol=1e-12)
        np.testing.assert_allclose(c_n.data[:, b], c_alone.data, rtol=0, atol=1e-12)
