"""Sampling from a language model (training/sampling.py)."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.data import CharVocab, WordVocab
from tinygrad_rnn.training.lm import CharLM
from tinygrad_rnn.training.sampling import sample

VOCAB = CharVocab.from_text("abcd\n")


@pytest.fixture
def model():
    tg.manual_seed(5)
    return CharLM(len(VOCAB), cell="lstm", hidden_size=12, num_layers=2, embedding_dim=4, dropout=0.2)


def fixed_logit_model(bias):
    """A model whose logits are ``bias`` at every step (decoder weight 0)."""
    m = CharLM(len(bias), cell="rnn", hidden_size=3, num_layers=1, embedding_dim=2)
    m.decoder.weight.data[:] = 0.0
    m.decoder.bias.data[:] = np.asarray(bias, np.float32)
    return m


def test_seed_repeats_and_leaves_the_library_generator_alone(model):
    tg.manual_seed(11)
    before = tg.random.get_rng_state()
    a = sample(model, VOCAB, 40, seed=3)
    assert tg.random.get_rng_state() == before
    assert sample(model, VOCAB, 40, seed=3) == a
    assert len(a) == 40 and set(a) <= set("abcd\n")
    assert any(sample(model, VOCAB, 40, seed=s) != a for s in (4, 5, 6))
    assert model.training, "sample restores the training mode"


def test_greedy_follows_the_full_sequence_argmax(model):
    text = sample(model, VOCAB, 15, greedy=True, prime="ab")
    assert text.startswith("ab") and len(text) == 17
    model.eval()
    ids = VOCAB.encode(text)
    logits = model(ids[:-1, None])[0].data[:, 0]               # one pass over the whole text
    np.testing.assert_array_equal(np.argmax(logits[1:], axis=1), ids[2:])   # each token = argmax after its prefix
    assert sample(model, VOCAB, 15, top_k=1, prime="ab", seed=0) == text


def test_temperature_and_top_k_shape_the_distribution():
    bias = np.log(np.array([0.1, 0.2, 0.3, 0.4, 1e-9]))
    model = fixed_logit_model(bias)
    n = 4000
    counts = np.bincount(VOCAB.encode(sample(model, VOCAB, n, seed=0)), minlength=5) / n
    np.testing.assert_allclose(counts, [0.1, 0.2, 0.3, 0.4, 0.0], atol=0.03)
    p = np.array([0.1, 0.2, 0.3, 0.4]) ** 2
    counts = np.bincount(VOCAB.encode(sample(model, VOCAB, n, temperature=0.5, seed=1)), minlength=5) / n
    np.testing.assert_allclose(counts[:4], p / p.sum(), atol=0.03)
    top2 = set(sample(model, VOCAB, 300, top_k=2, seed=2))
    assert top2 == {VOCAB.tokens[2], VOCAB.tokens[3]}                  # the two largest logits


def test_empty_prime_and_zero_length(model):
    assert sample(model, VOCAB, 0, prime="abc") == "abc"
    assert sample(model, VOCAB, 0) == ""
    assert len(sample(model, VOCAB, 5, seed=1)) == 5


def test_word_vocabulary():
    vocab = WordVocab.from_text("the cat sat on the mat")
    tg.manual_seed(0)
    model = CharLM(len(vocab), cell="gru", hidden_size=6, num_layers=1, embedding_dim=3)
    text = sample(model, vocab, 6, prime="the cat", seed=0)
    assert text.startswith("the cat") and len(text) > len("the cat")
    assert set(text) <= set("".join(vocab.tokens))
    with pytest.raises(ValueError, match="'dog'"):
        sample(model, vocab, 3, prime="the dog")


def test_errors_name_the_problem(model):
    with pytest.raises(ValueError, match=r"prime character 'é' \(at position 1\) is not in the model's vocabulary"):
        sample(model, VOCAB, 5, prime="aéb")
    with pytest.raises(ValueError, match="expected temperature > 0"):
        sample(model, VOCAB, 5, temperature=0)
    with pytest.raises(ValueError, match="expected top_k to be None or an int >= 1, got 0"):
        sample(model, VOCAB, 5, top_k=0)
    with pytest.raises(ValueError, match="expected an int length >= 0, got -1"):
        sample(model, VOCAB, -1)
