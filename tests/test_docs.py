"""The documentation cannot rot: every tutorial runs, every shown output is real, every docstring example passes.

* Each ```python block of each docs/*.md file runs, in order, in one namespace per file, with the
  working directory (and ``tempfile``'s default folder) set to a temporary folder and matplotlib on the
  Agg backend.
* A ```output block right after a ```python block must equal what that block printed (doctest rules:
  ``...`` matches anything, runs of whitespace compare equal).
* Relative links and images in the docs point at files that exist.
* docs/api.md is what docs/gen_api.py writes today.
* Every docs/figures/*.py script runs and writes its PNG.
* ``doctest`` passes over the docstrings of every module of the package.
"""
import contextlib
import doctest
import importlib
import importlib.util
import io
import os
import pkgutil
import re
import runpy
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
TUTORIALS = [p for p in PAGES if re.match(r"\d\d-", p.name)]
FIGURE_SCRIPTS = sorted((DOCS / "figures").glob("*.py"))

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
CHECKER = doctest.OutputChecker()
OUTPUT_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def fenced_blocks(text):
    """(language, source, first line number of the source) for every fenced block, in order."""
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start(2)) + 1) for m in FENCE.finditer(text)]


@pytest.fixture
def temporary_files_in(tmp_path, monkeypatch):
    """Examples make their scratch folders with ``tempfile.mkdtemp()``; put those under pytest's
    ``tmp_path`` (which pytest prunes) so that the suite leaves nothing behind in the system temp folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
def clean_library_state():
    """Each page starts from the library's defaults and leaves them as it found them."""
    tg.set_default_dtype(np.float32)
    tg.manual_seed(0)
    yield
    tg.set_default_dtype(np.float32)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_runs_and_shows_real_output(page, tmp_path, monkeypatch, temporary_files_in, clean_library_state):
    import matplotlib
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    blocks = fenced_blocks(page.read_text(encoding="utf-8"))
    namespace = {"__name__": "__main__"}
    printed = None
    for language, source, line in blocks:
        if language == "python":
            # pad with newlines so a traceback names the line of the Markdown file
            code = compile("\n" * (line - 1) + source, str(page), "exec")
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(code, namespace)
            printed = buffer.getvalue()
        elif language == "output":
            assert printed is not None, f"{page.name}:{line}: an output block must follow a python block"
            assert CHECKER.check_output(source, printed, OUTPUT_FLAGS), (
                f"{page.name}:{line}: the block printed\n{printed}\nbut the page shows\n{source}")
            printed = None
        else:
            printed = None
    import matplotlib.pyplot as plt
    plt.close("all")


@pytest.mark.parametrize("page", TUTORIALS, ids=[p.name for p in TUTORIALS])
def test_tutorial_has_code(page):
    assert any(lang == "python" for lang, _, _ in fenced_blocks(page.read_text(encoding="utf-8")))


def test_expected_pages_exist():
    names = {p.name for p in PAGES}
    for name in ("index.md", "api.md", "pytorch.md", "01-autograd-from-scratch.md", "02-checking-gradients.md",
                 "03-an-rnn-is-a-graph.md", "04-vanishing-and-exploding.md", "05-lstm-and-gru.md",
                 "06-deeper-and-both-ways.md", "07-making-it-fast.md"):
        assert name in names


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_relative_links_resolve(page):
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name}: link to {target} points at nothing"


def test_index_links_every_page():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in PAGES:
        if page.name != "index.md":
            assert f"({page.name})" in index, f"index.md does not link {page.name}"


def _load_gen_api():
    spec = importlib.util.spec_from_file_location("gen_api", DOCS / "gen_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_up_to_date():
    expected = _load_gen_api().render()
    actual = (DOCS / "api.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/api.md is stale: run `python docs/gen_api.py` to regenerate it"


def test_api_reference_covers_every_exported_name():
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    for namespace in (tg, tg.nn):
        for name in namespace.__all__:
            assert f"`{name}" in text or f".{name}" in text, f"api.md does not mention {name}"


@pytest.mark.parametrize("script", FIGURE_SCRIPTS, ids=[p.name for p in FIGURE_SCRIPTS])
def test_figure_script_writes_png(script, tmp_path, monkeypatch, clean_library_state):
    import matplotlib
    matplotlib.use("Agg")
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    pngs = list(tmp_path.glob("*.png"))
    assert pngs, f"{script.name} wrote no PNG"
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (DOCS / "figures" / png.name).exists(), f"{png.name} is not committed under docs/figures/"


def _package_modules():
    names = ["tinygrad_rnn"]
    names += [m.name for m in pkgutil.walk_packages(tg.__path__, "tinygrad_rnn.")]
    return sorted(name for name in names if not name.endswith(".__main__"))  # importing it runs the CLI


def _needs_torch(name):
    spec = importlib.util.find_spec(name)
    source = Path(spec.origin).read_text(encoding="utf-8") if spec and spec.origin else ""
    return re.search(r"^\s*(import torch|from torch)", source, re.M) is not None


@pytest.mark.parametrize("name", _package_modules())
def test_docstring_examples(name, temporary_files_in, clean_library_state):
    if _needs_torch(name) and importlib.util.find_spec("torch") is None:
        pytest.skip(f"{name} needs torch")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures = []
    for test in finder.find(module, name):
        if test.filename and not os.path.samefile(test.filename, module.__file__):
            continue  # objects re-exported from another module are tested there
        buffer = io.StringIO()
        result = runner.run(test, out=buffer.write)
        if result.failed:
            failures.append(f"{test.name} ({test.filename}:{test.lineno}):\n{buffer.getvalue()}")
    assert not failures, "\n".join(failures)
