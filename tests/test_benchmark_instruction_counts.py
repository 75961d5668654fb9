"""benchmarks/instruction_counts.py reads callgrind's dumps right and counts the contenders it names.

The counted run itself (under valgrind, a minute or two) is a benchmark, not a test. Outside valgrind the
helper's client requests do nothing, so the child's loop can run here as it runs there.
"""
import json
import shutil
import subprocess
import sys
import warnings
from types import SimpleNamespace

import pytest
from benchmark_modules import load_benchmark


@pytest.fixture
def counts(monkeypatch):
    """The script as a module; ``min_char_rnn_speed``, which its child imports, is forgotten afterwards."""
    yield load_benchmark("instruction_counts", monkeypatch)
    sys.modules.pop("min_char_rnn_speed", None)


def test_read_parts_maps_each_dump_to_its_total(counts, tmp_path):
    (tmp_path / "callgrind.out.41.1").write_text("version: 1\npart: 1\nevents: Ir\nsummary: 2500\n")
    (tmp_path / "callgrind.out.41.2").write_text("version: 1\npart: 2\nevents: Ir\nsummary: 700\ntotals: 700\n")
    (tmp_path / "callgrind.out.41").write_text("version: 1\nevents: Ir\n")      # no part: ignored
    (tmp_path / "names.json").write_text("[]")
    assert counts.read_parts(tmp_path) == {1: 2500, 2: 700}


def _have_helper_toolchain():
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return False
    probe = subprocess.run([compiler, "-E", "-x", "c", "-"], input="#include <valgrind/callgrind.h>\n",
                           capture_output=True, text=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _have_helper_toolchain(), reason="needs a C compiler and valgrind/callgrind.h")
def test_child_counts_every_contender_in_order(counts, tmp_path):
    helper = counts.build_helper(tmp_path)
    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 20, encoding="utf-8")
    args = SimpleNamespace(helper=str(helper), text=str(text), dtype="float64", warmup=1, windows=2,
                           out_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "NumPy was imported first": the thread count is the suite's
        counts.count_in_child(args)
    assert json.loads((tmp_path / "names.json").read_text()) == ["plain NumPy", "tinygrad_rnn",
                                                                  "graph nodes, no engine", "kernels, no graph"]
