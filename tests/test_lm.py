"""The language model (training/lm.py) and whole-stream evaluation (training/evaluate.py)."""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.training.evaluate import bits, evaluate
from tinygrad_rnn.training.lm import CharLM


def ids_of(shape, vocab, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, size=shape).astype(np.int64)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("embedding_dim", [5, 0])
def test_forward_shapes_dtype_and_state(cell, embedding_dim):
    tg.manual_seed(0)
    model = CharLM(7, cell=cell, hidden_size=6, num_layers=2, embedding_dim=embedding_dim)
    logits, state = model(ids_of((4, 3), 7))
    assert logits.shape == (4, 3, 7) and logits.dtype == np.float32
    states = state if cell == "lstm" else (state,)
    assert len(states) == (2 if cell == "lstm" else 1)
    assert all(s.shape == (2, 3, 6) and s.dtype == np.float32 for s in states)
    assert model.rnn.input_size == (embedding_dim or 7)


def test_parameter_names_are_pytorchs():
    names = [n for n, _ in CharLM(5, "lstm", 4, 2, 3).named_parameters()]
    assert names == ["embedding.weight",
                     "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                     "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
                     "decoder.weight", "decoder.bias"]
    assert "embedding.weight" not in dict(CharLM(5, "gru", 4, 1, 0).named_parameters())


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_state_carried_across_calls_equals_one_pass(cell):
    model = CharLM(6, cell=cell, hidden_size=5, num_layers=2, embedding_dim=3)
    x = ids_of((9, 2), 6, seed=1)
    full, _ = model(x)
    first, state = model(x[:4])
    second, _ = model(x[4:], state)
    np.testing.assert_allclose(np.concatenate([first.data, second.data]), full.data, rtol=1e-5, atol=1e-6)


def test_config_rebuilds_the_same_model():
    model = CharLM(9, cell="gru", hidden_size=7, num_layers=3, embedding_dim=0, dropout=0.25)
    assert model.config == {"vocab_size": 9, "cell": "gru", "hidden_size": 7, "num_layers": 3,
                            "embedding_dim": 0, "dropout": 0.25, "dtype": "float32"}
    twin = CharLM.from_config(model.config)
    twin.load_state_dict(model.state_dict())
    x = ids_of((5, 2), 9)
    model.eval(), twin.eval()
    np.testing.assert_array_equal(model(x)[0].data, twin(x)[0].data)


def test_dropout_only_in_training_mode():
    tg.manual_seed(3)
    model = CharLM(6, "lstm", 8, 2, 4, dropout=0.5)
    x = ids_of((5, 2), 6)
    a, b = model(x)[0].data, model(x)[0].data
    assert not np.array_equal(a, b)
    model.eval()
    np.testing.assert_array_equal(model(x)[0].data, model(x)[0].data)


def test_gradients_reach_every_parameter():
    model = CharLM(6, "lstm", 5, 2, 4)
    x, y = ids_of((4, 3), 6), ids_of((4, 3), 6, seed=9)
    logits, _ = model(x)
    tg.cross_entropy(logits.reshape(12, 6), y.reshape(-1)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.dtype == np.float32 and np.abs(p.grad).sum() > 0, name


def test_constructor_and_input_errors():
    with pytest.raises(ValueError, match=r"expected cell in \['gru', 'lstm', 'rnn'\], got 'tlsm'"):
        CharLM(5, cell="tlsm")
    with pytest.raises(TypeError, match="expected int hidden_size, got float"):
        CharLM(5, hidden_size=2.0)
    with pytest.raises(ValueError, match="expected vocab_size >= 1, got 0"):
        CharLM(0)
    with pytest.raises(ValueError, match=r"expected dropout in \[0, 1\), got 1.0"):
        CharLM(5, dropout=1.0)
    model = CharLM(5, hidden_size=4, num_layers=1, embedding_dim=2)
    with pytest.raises(ValueError, match=r"expected token ids in \[0, 5\), got 5"):
        model(np.array([[1], [5]]))
    with pytest.raises(ValueError, match=r"expected token ids of shape \(T, B\), got shape \(3,\)"):
        model(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="expected integer token ids, got dtype float64"):
        model(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"missing \['dtype'\]"):
        CharLM.from_config({k: v for k, v in model.config.items() if k != "dtype"})


# ------------------------------------------------------------------------------------------- evaluate

def reference_nll(model, ids):
    """-mean log p(ids_t | ids_<t) from one full forward pass, in float64."""
    model.eval()
    logits = model(ids[:-1, None])[0].data[:, 0].astype(np.float64)
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    return -logp[np.arange(ids.size - 1), ids[1:]].mean()


def test_evaluate_is_one_pass_whatever_the_chunks():
    tg.manual_seed(1)
    model = CharLM(6, "lstm", 8, 2, 4, dropout=0.3)
    ids = ids_of((101,), 6, seed=4)
    want = reference_nll(model, ids)
    model.train()
    for chunk in (1, 7, 100, 512):
        assert evaluate(model, ids, chunk_len=chunk) == pytest.approx(want, rel=1e-5)
    assert model.training, "evaluate restores the training mode"


def test_evaluate_streams_score_every_token_once():
    model = CharLM(4, "rnn", 3, 1, 2)
    for p in model.parameters():
        p.data.fill(0.0)
    model.decoder.bias.data[:] = np.array([0.0, 1.0, 2.0, 3.0], np.float32)  # logits independent of input
    ids = np.array([0, 1, 2, 3, 3, 3, 2, 1, 0, 1, 3], dtype=np.int64)
    logp = np.arange(4.0) - np.log(np.exp(np.arange(4.0)).sum())
    want = -logp[ids[1:]].mean()
    for streams in (1, 2, 3, 4, 10, 50):
        assert evaluate(model, ids, chunk_len=3, streams=streams) == pytest.approx(want, rel=1e-6)


def test_evaluate_streams_close_to_one_stream_on_a_trained_pattern():
    tg.manual_seed(0)
    model = CharLM(5, "gru", 8, 1, 4)
    ids = np.tile(np.arange(5), 60)
    one = evaluate(model, ids)
    four = evaluate(model, ids, streams=4)
    assert abs(one - four) < 0.05 * one


def test_evaluate_errors_and_bits():
    model = CharLM(4, "rnn", 3, 1, 2)
    with pytest.raises(ValueError, match="expected at least 2 tokens"):
        evaluate(model, np.array([1]))
    with pytest.raises(ValueError, match=r"expected a 1-D stream of token ids, got shape \(2, 2\)"):
        evaluate(model, np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match="expected an int chunk_len >= 1, got 0"):
        evaluate(model, np.array([1, 2]), chunk_len=0)
    assert bits(math.log(2.0)) == pytest.approx(1.0)
