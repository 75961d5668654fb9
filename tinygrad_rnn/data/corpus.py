"""Text corpora: read a UTF-8 file with clear errors, the built-in default corpus, the train/val split.

The default corpus needs no download: it is the source code of Python's own standard library, a fixed,
sorted list of modules read from ``sysconfig.get_paths()['stdlib']``, so the same Python version gives
the same text on every machine.

>>> info = default_corpus(max_chars=10_000)
>>> len(info.text) == info.n_chars <= 10_000, info.files[0]
(True, 'abc.py')
"""

from __future__ import annotations

import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

# Pure-Python stdlib modules present in every CPython from 3.10 on, in sorted order. Files missing from an
# installation are skipped; if the list runs short of max_chars, other top-level modules follow in sorted
# order. The order is fixed so the corpus (and any vocabulary built from it) is reproducible.
DEFAULT_MODULES: tuple[str, ...] = (
    "abc.py", "argparse.py", "ast.py", "base64.py", "bisect.py", "calendar.py", "collections/__init__.py",
    "configparser.py", "contextlib.py", "copy.py", "csv.py", "dataclasses.py", "datetime.py",
    "difflib.py", "doctest.py", "email/message.py", "enum.py", "fractions.py", "functools.py",
    "gettext.py", "heapq.py", "inspect.py", "ipaddress.py", "json/decoder.py", "json/encoder.py",
    "logging/__init__.py", "os.py", "pathlib.py", "pprint.py", "random.py", "shutil.py",
    "statistics.py", "string.py", "subprocess.py", "tarfile.py", "textwrap.py", "threading.py",
    "tokenize.py", "typing.py", "unittest/case.py", "urllib/parse.py", "uuid.py", "zipfile.py",
)

#: Written before each file's text in the default corpus; ``{name}`` is the path relative to the stdlib.
SEPARATOR = "\n# ==== {name} ====\n\n"


def read_text(path: str | os.PathLike) -> str:
    """Read a whole UTF-8 text file, rejecting anything that is not one with a message saying why.

    Bytes are decoded as UTF-8 (a leading byte-order mark is dropped); line endings are kept as they are.
    Raises FileNotFoundError (no such path), IsADirectoryError (a directory), ValueError (empty file, NUL
    bytes, or bytes that are not UTF-8 — naming the byte offset and the offending bytes).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"; _ = p.write_bytes("héllo\\n".encode())
    >>> read_text(p)
    'héllo\\n'
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"read_text: expected a UTF-8 text file, got no file at '{p}'")
    if p.is_dir():
        raise IsADirectoryError(f"read_text: expected a UTF-8 text file, got a directory at '{p}'")
    data = p.read_bytes()
    if not data:
        raise ValueError(f"read_text: expected a non-empty UTF-8 text file, got an empty file at '{p}'")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ValueError(
            f"read_text: expected a text file, got binary data in '{p}' (NUL byte at byte offset {nul}); "
            "pass a plain-text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        start = e.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        bad = data[start:start + max(1, e.end - e.start)]
        raise ValueError(
            f"read_text: expected UTF-8 text in '{p}', got bytes {bad!r} at byte offset {start} that are "
            f"not valid UTF-8 ({e.reason}); convert the file first, e.g. "
            f"`iconv -f latin1 -t utf-8 in.txt > out.txt` if it is Latin-1") from None


@dataclass(frozen=True)
class CorpusInfo:
    """The default corpus and where it came from."""

    text: str
    files: tuple[str, ...]        # paths relative to stdlib_dir, in the order they were concatenated
    n_chars: int                  # len(text)
    stdlib_dir: str               # directory the files were read from
    python_version: str           # e.g. '3.11.7'; the same version gives the same text
    truncated: bool               # True if the last file was cut to fit max_chars


def _stdlib_candidates(root: Path) -> list[str]:
    names = [m for m in DEFAULT_MODULES if (root / m).is_file()]
    extra = sorted(p.name for p in root.glob("*.py") if p.name not in set(DEFAULT_MODULES))
    return names + extra


def default_corpus(max_chars: int = 1_500_000) -> CorpusInfo:
    """Concatenate the source of fixed Python standard-library modules into a corpus of at most max_chars.

    Files are read in the order of ``DEFAULT_MODULES`` (then other top-level modules, sorted, if needed),
    each preceded by ``SEPARATOR``; files that are not readable UTF-8 text are skipped. The default of
    1.5 M characters is about the size of tinyshakespeare (1.1 M), with a vocabulary of ~100 characters.
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int):
        raise TypeError(f"default_corpus: expected int max_chars, got {type(max_chars).__name__}")
    if max_chars < 1:
        raise ValueError(f"default_corpus: expected max_chars >= 1, got {max_chars}")
    root = Path(sysconfig.get_paths()["stdlib"])
    if not root.is_dir():
        raise FileNotFoundError(
            f"default_corpus: expected the Python standard library at '{root}', got no directory there; "
            "pass your own text file instead")
    parts: list[str] = []
    used: list[str] = []
    total = 0
    truncated = False
    for name in _stdlib_candidates(root):
        try:
            body = read_text(root / name)
        except (OSError, ValueError):
            continue
        piece = SEPARATOR.format(name=name) + body
        if total + len(piece) > max_chars:
            piece = piece[: max_chars - total]
            truncated = True
        parts.append(piece)
        used.append(name)
        total += len(piece)
        if total >= max_chars:
            break
    if not parts:
        raise FileNotFoundError(
            f"default_corpus: expected readable .py files under '{root}', got none; pass your own text file")
    text = "".join(parts)
    v = sys.version_info
    return CorpusInfo(text=text, files=tuple(used), n_chars=len(text), stdlib_dir=str(root),
                      python_version=f"{v.major}.{v.minor}.{v.micro}", truncated=truncated)


def train_val_split(ids, val_fraction: float = 0.1, min_len: int = 2):
    """Split a token sequence into a contiguous head for training and tail for validation.

    ``n_train = int(len(ids) * (1 - val_fraction))``; returns ``(ids[:n_train], ids[n_train:])`` (views for
    arrays). This is the tinyshakespeare protocol: first 90%, last 10% (1,003,854 / 111,540 characters).
    Each part must hold at least ``min_len`` tokens (2: one input and its next-token target).

    >>> train_val_split(list(range(10)), 0.2)
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)):
        raise TypeError(f"train_val_split: expected a float val_fraction, got {type(val_fraction).__name__}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"train_val_split: expected 0 < val_fraction < 1, got {val_fraction}")
    n = len(ids)
    n_train = int(n * (1.0 - val_fraction))
    n_val = n - n_train
    if n_train < min_len or n_val < min_len:
        raise ValueError(
            f"train_val_split: expected at least {min_len} tokens in each part, got {n_train} train and "
            f"{n_val} validation tokens from {n} tokens with val_fraction={val_fraction}")
    return ids[:n_train], ids[n_train:]
