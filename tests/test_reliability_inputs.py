"""Hostile and unusual training text through read_text, the vocabularies, the batcher and a short CLI run:
single characters, binary and non-UTF-8 bytes, a 5 MB single line, thousands of distinct characters
(CJK and characters outside the BMP). Each gives a correct result or one clear line and exit code 2.
tests/test_corpus.py and tests/test_cli.py already cover the missing, empty and Latin-1 files."""
import numpy as np
import pytest

from tinygrad_rnn.cli import main
from tinygrad_rnn.data import CharVocab, TBPTTBatcher, WordVocab, read_text
from tinygrad_rnn.training.checkpoint import load_checkpoint

TINY = ["--hidden", "8", "--layers", "1", "--embedding", "4", "--seq-len", "8", "--batch", "4", "--sample-every", "0"]


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err):
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("data,expect", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL byte at byte offset 8"),
    (bytes(range(1, 256)) * 4, r"got bytes b'\\x80' at byte offset 127 that are not valid UTF-8"),
    ("hi".encode("utf-16"), "NUL byte at byte offset 3"),
    (b"ok \xed\xa0\x80 surrogate", r"b'\\xed' at byte offset 3"),                  # an encoded lone surrogate
    (b"cut mid-character \xe2\x82", "byte offset 18"),                              # a truncated euro sign
])
def test_binary_and_non_utf8_files_are_refused_with_the_offset(tmp_path, capsys, data, expect):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=expect):
        read_text(path)
    code, _, err = cli(capsys, "train", "--data", str(path), *TINY, "--steps", "1", "--out", str(tmp_path / "o"))
    one_line_error(code, err)
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_a_single_character_file(tmp_path, capsys):
    path = tmp_path / "one.txt"
    path.write_text("x", encoding="utf-8")
    assert read_text(path) == "x"
    v = CharVocab.from_text("x")
    assert len(v) == 1 and v.encode("xxx").tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="for one window"):
        TBPTTBatcher(v.encode("x"), 1, 1)
    code, _, err = cli(capsys, "train", "--data", str(path), *TINY, "--steps", "1", "--out", str(tmp_path / "o"))
    one_line_error(code, err)
    assert "at least 2 tokens" in err


def test_one_distinct_character_repeated_trains_to_zero_loss(tmp_path, capsys):
    """A vocabulary of one: the only prediction is certain, so the loss is exactly 0, not NaN."""
    path = tmp_path / "a.txt"
    path.write_text("a" * 400, encoding="utf-8")
    out = tmp_path / "run"
    code, stdout, err = cli(capsys, "train", "--data", str(path), *TINY, "--steps", "3", "--eval-every", "3",
                            "--out", str(out))
    assert code == 0, err
    _, meta = load_checkpoint(out / "last.npz")
    assert meta["vocab"]["tokens"] == ["a"]
    assert all(r["loss"] == 0.0 for r in meta["metrics"]["train"]) and meta["metrics"]["val"][-1]["nats"] == 0.0
    code, stdout, _ = cli(capsys, "sample", str(out / "last.npz"), "--length", "5", "--seed", "0")
    assert code == 0 and stdout == "aaaaa\n"


def test_crlf_and_tabs_are_kept_as_characters(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"a\tb\r\nc\r\n")
    text = read_text(path)
    assert text == "a\tb\r\nc\r\n"
    v = CharVocab.from_text(text)
    assert v.decode(v.encode(text)) == text and "\r" in v.tokens


def test_a_5_megabyte_single_line(tmp_path, capsys):
    rng = np.random.default_rng(0)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz ,.;", dtype=np.uint8)
    line = letters[rng.integers(0, letters.size, 5 * 2 ** 20)].tobytes()
    path = tmp_path / "long.txt"
    path.write_bytes(line)                                      # no newline anywhere
    text = read_text(path)
    assert len(text) == 5 * 2 ** 20 and "\n" not in text
    v = CharVocab.from_text(text)
    ids = v.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),) and len(v) == 30
    assert v.decode(ids[:1000]) == text[:1000] and v.decode(ids[-1000:]) == text[-1000:]
    b = TBPTTBatcher(ids, 16, 64)
    x, y = next(iter(b))
    assert x.shape == (64, 16) and np.array_equal(x[1:], y[:-1])
    assert WordVocab.from_text(text[:200_000]).decode(WordVocab.from_text(text[:200_000]).encode(text[:200_000])) \
        == text[:200_000]
    out = tmp_path / "run"
    code, _, err = cli(capsys, "train", "--data", str(path), *TINY, "--steps", "2", "--eval-every", "0",
                       "--val-fraction", "0.001", "--val-streams", "8", "--out", str(out))
    assert code == 0, err
    assert load_checkpoint(out / "last.npz")[1]["data"]["n_chars"] == 5 * 2 ** 20


def test_thousands_of_distinct_characters(tmp_path, capsys):
    rng = np.random.default_rng(1)
    cjk = [chr(0x4E00 + i) for i in range(3000)]
    astral = ["\U0001F600", "\U0001F680", "\U00020000"]          # outside the BMP: one character each
    symbols = np.array(cjk + astral + ["\n", "。"])
    text = "".join(symbols[rng.permutation(symbols.size)].tolist() * 3)
    path = tmp_path / "cjk.txt"
    path.write_text(text, encoding="utf-8")
    assert read_text(path) == text
    v = CharVocab.from_text(text)
    assert len(v) == symbols.size
    ids = v.encode(text)
    assert ids.max() == len(v) - 1 and v.decode(ids) == text
    assert v.encode("\U0001F680").tolist() == [v.tokens.index("\U0001F680")]
    out = tmp_path / "run"
    code, _, err = cli(capsys, "train", "--data", str(path), *TINY, "--steps", "2", "--eval-every", "2",
                       "--val-fraction", "0.2", "--out", str(out))
    assert code == 0, err
    arrays, meta = load_checkpoint(out / "last.npz")
    assert arrays["model/decoder.weight"].shape == (len(v), 8) and len(meta["vocab"]["tokens"]) == len(v)
    code, sampled, err = cli(capsys, "sample", str(out / "last.npz"), "--length", "40", "--seed", "0",
                             "--prime", "\U0001F600")
    assert code == 0, err
    assert len(sampled) == 1 + 40 + 1 and set(sampled[:-1]) <= set(v.tokens)
    code, stdout, err = cli(capsys, "eval", str(out / "last.npz"))
    assert code == 0 and "nats/char" in stdout
    unseen = tmp_path / "unseen.txt"
    unseen.write_text("\u4e00\u4e01\uac00", encoding="utf-8")    # a Hangul syllable the vocabulary lacks
    code, _, err = cli(capsys, "eval", str(out / "last.npz"), "--data", str(unseen))
    one_line_error(code, err)
    assert "'\uac00' at position 2" in err
