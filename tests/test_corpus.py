"""read_text errors, the standard-library default corpus, the contiguous train/val split."""

import os
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

from tinygrad_rnn.data.corpus import SEPARATOR, default_corpus, read_text, train_val_split


def test_read_text_utf8_and_bom(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("naïve\r\nline\n".encode("utf-8"))
    assert read_text(p) == "naïve\r\nline\n"
    p.write_bytes(b"\xef\xbb\xbfhi")
    assert read_text(str(p)) == "hi"


def test_read_text_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected a UTF-8 text file, got no file at .*nope.txt"):
        read_text(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError, match="got a directory"):
        read_text(tmp_path)
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="expected a non-empty UTF-8 text file, got an empty file"):
        read_text(tmp_path / "empty.txt")
    (tmp_path / "bin.dat").write_bytes(b"abc\x00def")
    with pytest.raises(ValueError, match="got binary data .*NUL byte at byte offset 3"):
        read_text(tmp_path / "bin.dat")
    (tmp_path / "latin.txt").write_bytes("abcé".encode("latin-1") + b"xyz")
    with pytest.raises(ValueError, match=r"got bytes b'\\xe9' at byte offset 3 that are not valid UTF-8.*iconv"):
        read_text(tmp_path / "latin.txt")


def test_default_corpus_deterministic_and_sized():
    a = default_corpus(max_chars=200_000)
    b = default_corpus(max_chars=200_000)
    assert a == b
    assert a.n_chars == len(a.text) == 200_000 and a.truncated
    assert a.stdlib_dir == sysconfig.get_paths()["stdlib"]
    assert a.files[0] == "abc.py" and a.text.startswith(SEPARATOR.format(name="abc.py"))
    # each listed file's text appears in the corpus right after its separator
    first = open(os.path.join(a.stdlib_dir, a.files[0]), encoding="utf-8").read()
    assert a.text[len(SEPARATOR.format(name="abc.py")):].startswith(first)
    # a shorter corpus is a prefix of a longer one
    assert a.text.startswith(default_corpus(max_chars=1000).text)


def test_default_corpus_default_size_is_about_tinyshakespeare():
    info = default_corpus()
    assert 1_000_000 <= info.n_chars <= 2_000_000
    assert 60 <= len(set(info.text)) <= 200


def test_default_corpus_same_in_another_process():
    code = ("import hashlib; from tinygrad_rnn.data.corpus import default_corpus; "
            "print(hashlib.sha256(default_corpus(50_000).text.encode()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    import hashlib
    assert out.strip() == hashlib.sha256(default_corpus(50_000).text.encode()).hexdigest()


def test_default_corpus_errors():
    with pytest.raises(ValueError, match="expected max_chars >= 1, got 0"):
        default_corpus(max_chars=0)
    with pytest.raises(TypeError, match="expected int max_chars, got float"):
        default_corpus(max_chars=1e6)


def test_train_val_split_tinyshakespeare_protocol():
    ids = np.arange(1_115_394)
    tr, va = train_val_split(ids)
    assert (tr.size, va.size) == (1_003_854, 111_540)
    assert tr[-1] + 1 == va[0] and np.shares_memory(tr, ids)
    tr, va = train_val_split("abcdefghij", 0.3)
    assert (tr, va) == ("abcdefg", "hij")


def test_train_val_split_errors():
    with pytest.raises(ValueError, match="expected at least 2 tokens in each part, got 9 train and 1 validation"):
        train_val_split(list(range(10)), 0.1)
    with pytest.raises(ValueError, match="expected 0 < val_fraction < 1, got 1.0"):
        train_val_split(list(range(10)), 1.0)
