"""The numba on-disk kernel cache: two processes compiling into one fresh cache at once both succeed with
equal results, and a damaged cache (truncated or garbled index and data files) still gives right answers
and is repaired. That the kernels are right with the JIT disabled altogether is proven by
tests/test_kernels.py::test_kernel_tests_pass_with_jit_disabled.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn

ROOT = Path(tinygrad_rnn.__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="needs the JIT")

# Three small kernels in a fresh process; prints the results and the cache hits and misses per kernel.
SCRIPT = """
import json, numpy as np
from tinygrad_rnn.kernels.activations import relu_fwd, sigmoid_fwd, tanh_bwd
x = np.linspace(-4, 4, 9)
s, r, d = np.empty(9, np.float32), np.empty(9), np.empty(9)
sigmoid_fwd(x.astype(np.float32), s)
relu_fwd(x, r)
tanh_bwd(np.tanh(x), x, d)
kernels = {"sigmoid_fwd": sigmoid_fwd, "relu_fwd": relu_fwd, "tanh_bwd": tanh_bwd}
print(json.dumps({"s": s.tolist(), "r": r.tolist(), "d": d.tolist(),
                  "hits": {k: sum(f.stats.cache_hits.values()) for k, f in kernels.items()},
                  "misses": {k: sum(f.stats.cache_misses.values()) for k, f in kernels.items()}}))
"""
KERNELS = ("sigmoid_fwd", "relu_fwd", "tanh_bwd")


def start(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(proc):
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def check_values(result):
    x = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(result["s"], 1 / (1 + np.exp(-x)), rtol=1e-6)
    np.testing.assert_array_equal(result["r"], np.maximum(x, 0))
    np.testing.assert_allclose(result["d"], x * (1 - np.tanh(x) ** 2), rtol=1e-13)


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory):
    """A fresh cache directory filled by two processes compiling into it at the same time."""
    cache = tmp_path_factory.mktemp("numba") / "cache"
    procs = [start(cache), start(cache)]
    results = [finish(p) for p in procs]
    return cache, results


def test_two_processes_compiling_into_one_fresh_cache_both_succeed(warm_cache):
    cache, (a, b) = warm_cache
    assert (a["s"], a["r"], a["d"]) == (b["s"], b["r"], b["d"])
    check_values(a)
    for k in KERNELS:
        # Each process found each kernel once; whichever compiled first may have saved it before the
        # other looked, so a hit is possible, but at least one of them compiled (the cache was empty).
        assert a["hits"][k] + a["misses"][k] == b["hits"][k] + b["misses"][k] == 1, k
        assert a["misses"][k] + b["misses"][k] >= 1, k
    assert list(cache.rglob("*.nbi")) and list(cache.rglob("*.nbc"))
    again = finish(start(cache))                                     # what they wrote is a usable cache
    assert again["hits"] == {k: 1 for k in KERNELS} and again["misses"] == {k: 0 for k in KERNELS}
    assert (again["s"], again["r"], again["d"]) == (a["s"], a["r"], a["d"])


def test_a_damaged_cache_still_gives_right_answers_and_is_repaired(warm_cache, tmp_path):
    """Each kernel's cache files damaged a different way: index truncated, data garbled, both emptied."""
    cache, _ = warm_cache
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    rng = np.random.default_rng(0)

    def files(kernel, ext):
        found = list(copy.rglob(f"activations.{kernel}-*.{ext}"))
        assert found, (kernel, ext)
        return found

    for f in files("sigmoid_fwd", "nbi"):
        f.write_bytes(f.read_bytes()[:20])                               # an interrupted write
    for f in files("relu_fwd", "nbc"):
        f.write_bytes(f.read_bytes()[:8] + rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
    for f in files("tanh_bwd", "nbi") + files("tanh_bwd", "nbc"):
        f.write_bytes(b"")                                               # a full disk
    first = finish(start(copy))
    check_values(first)
    assert first["misses"] == {k: 1 for k in KERNELS}                  # every damaged entry was a miss
    second = finish(start(copy))
    check_values(second)
    assert second["hits"] == {k: 1 for k in KERNELS}                   # ... and was written afresh
