"""Character and word vocabularies: ordering, round trips, unknown policy, JSON form, errors."""

import json

import numpy as np
import pytest

from tinygrad_rnn.data.vocab import UNK, CharVocab, WordVocab, tokenize_words


def test_char_vocab_sorted_and_round_trip():
    text = "hello, wörld\n\té😀"
    v = CharVocab.from_text(text)
    assert v.tokens == sorted(set(text))
    assert len(v) == len(set(text))
    ids = v.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert [v.tokens[i] for i in ids] == list(text)
    assert v.decode(ids) == text
    assert v.encode("").shape == (0,) and v.decode([]) == ""


def test_char_vocab_ids_are_positions_in_sorted_order():
    v = CharVocab.from_text("cab")
    assert v.encode("abcba").tolist() == [0, 1, 2, 1, 0]


def test_char_unknown_error_names_char_position_and_hint():
    v = CharVocab.from_text("abc")
    with pytest.raises(ValueError, match=r"unknown character 'z' at position 3.*unknown='replace'"):
        v.encode("abcz")


def test_char_unknown_replace():
    v = CharVocab.from_text("bca", unknown="replace")
    assert v.tokens == [UNK, "a", "b", "c"] and v.unk_id == 0
    assert v.encode("abzc").tolist() == [1, 2, 0, 3]
    assert v.decode([1, 0, 3]) == "a\ufffdc"
    assert UNK not in CharVocab.from_text("abc").tokens and CharVocab.from_text("abc").unk_id is None


def test_word_tokeniser_round_trips_and_keeps_newlines_and_punctuation():
    text = "Hello,  world!\nIt's 3.14\t-- ok.\n\n"
    toks = tokenize_words(text)
    assert "".join(toks) == text
    assert "\n" in toks and "," in toks and "!" in toks and "  " in toks
    assert toks[:4] == ["Hello", ",", "  ", "world"]


def test_word_vocab_order_round_trip_and_errors():
    text = "the cat. the dog.\nthe end"
    v = WordVocab.from_text(text)
    # most frequent first, ties broken by the token string
    assert v.tokens[:3] == [" ", "the", "."]
    assert v.decode(v.encode(text)) == text
    with pytest.raises(ValueError, match=r"unknown word 'bird' at token 2 \(character position 4\)"):
        v.encode("the bird")


def test_word_vocab_min_count_max_size_need_replace():
    text = "a a a b b c"
    with pytest.raises(ValueError, match="drop 1 of 4 distinct tokens.*unknown='replace'"):
        WordVocab.from_text(text, min_count=2)
    v = WordVocab.from_text(text, min_count=2, unknown="replace")
    assert v.tokens == [UNK, " ", "a", "b"]
    assert v.decode(v.encode("a c")) == "a <unk>"
    v3 = WordVocab.from_text(text, max_size=3, unknown="replace")
    assert len(v3) == 3 and v3.tokens == [UNK, " ", "a"]


def test_to_dict_from_dict_json_and_equality():
    for v in (CharVocab.from_text("xyz\n"), CharVocab.from_text("q", unknown="replace"),
              WordVocab.from_text("to be or not"), WordVocab.from_text("a b", unknown="replace")):
        d = json.loads(json.dumps(v.to_dict()))
        w = type(v).from_dict(d)
        assert w == v and w.tokens == v.tokens and w.unknown == v.unknown
    assert CharVocab.from_text("ab") != CharVocab.from_text("abc")
    assert CharVocab.from_text("ab") != CharVocab.from_text("ab", unknown="replace")
    assert CharVocab.from_text("ab") != WordVocab.from_text("ab")


def test_from_dict_rejects_wrong_content():
    d = CharVocab.from_text("ab").to_dict()
    with pytest.raises(ValueError, match="expected type 'WordVocab', got 'CharVocab'"):
        WordVocab.from_dict(d)
    with pytest.raises(ValueError, match="expected tokens in sorted order"):
        CharVocab.from_dict({**d, "tokens": ["b", "a"]})
    with pytest.raises(ValueError, match="expected unique tokens, got 'a'"):
        CharVocab.from_dict({**d, "tokens": ["a", "a"]})
    with pytest.raises(ValueError, match="expected single-character tokens, got 'ab'"):
        CharVocab.from_dict({**d, "tokens": ["ab"]})
    with pytest.raises(ValueError, match="expected version 1, got 7"):
        CharVocab.from_dict({**d, "version": 7})
    with pytest.raises(ValueError, match="expected unknown='error' or unknown='replace', got unknown='skip'"):
        CharVocab.from_text("ab", unknown="skip")


def test_decode_errors():
    v = CharVocab.from_text("ab")
    with pytest.raises(ValueError, match=r"expected ids in \[0, 2\), got 5 at position 1"):
        v.decode([0, 5])
    with pytest.raises(ValueError, match=r"expected ids in \[0, 2\), got -1 at position 0"):
        v.decode([-1])
    with pytest.raises(TypeError, match="expected integer token ids, got dtype float64"):
        v.decode(np.array([0.0]))
    with pytest.raises(ValueError, match=r"expected a 1-D sequence of token ids, got shape \(1, 1\)"):
        v.decode([[0]])
    with pytest.raises(TypeError, match="expected text of type str, got bytes"):
        v.encode(b"ab")
