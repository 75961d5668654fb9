"""benchmarks/rnn_speed.py times each library in a process of its own, in settled turns.

The script is run as a user runs it (a subprocess) on the smallest configuration; the turn helper and the
worker's failure report are checked in-process.
"""
import json
import os
import platform
import subprocess
import sys
import time

import pytest
from benchmark_modules import BENCHMARKS, load_benchmark

SCRIPT = BENCHMARKS / "rnn_speed.py"


def _run_script(tmp_path, *args):
    out = tmp_path / "speed.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--configs", "tiny", "--cells", "gru", "--dtypes",
                           "float64", "--out", str(out), *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


def test_script_times_our_worker_alone_without_torch(tmp_path):
    results, stdout = _run_script(tmp_path, "--no-torch", "--threads", "1", "--repeats", "3", "--settle", "0")
    assert results["settle_seconds"] == 0.0
    assert [r["mode"] for r in results["speed"]] == ["train", "infer"]
    for record in results["speed"]:
        assert record["runs"] == 3
        assert 0 < record["ours_min_ms"] <= record["ours_ms"]
        assert "torch_ms" not in record and "ratio" not in record
        assert record["malloc"] == {"ours": "default"}
    assert "each in a process of its own" in stdout


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="retain_freed_memory sets glibc's malloc")
def test_script_can_run_both_workers_with_freed_memory_retained(tmp_path):
    results, stdout = _run_script(tmp_path, "--no-torch", "--threads", "1", "--repeats", "1", "--settle", "0",
                                  "--retain-freed-memory")
    assert results["retain_freed_memory"] is True
    assert all(record["malloc"] == {"ours": "retained"} for record in results["speed"])
    assert "malloc: freed memory retained in both workers" in stdout


def test_script_times_both_libraries_in_settled_turns(tmp_path):
    pytest.importorskip("torch")
    results, _ = _run_script(tmp_path, "--threads", "2", "--repeats", "2", "--settle", "0.05")
    assert results["settle_seconds"] == 0.05
    for record in results["speed"]:
        assert record["runs"] == 2 and record["torch_ms"] > 0
        assert record["ratio"] == pytest.approx(record["ours_ms"] / record["torch_ms"])


def test_timed_turn_calls_untimed_until_settled_then_times_one_call(monkeypatch):
    common = load_benchmark("common", monkeypatch)
    calls = []

    def step():
        calls.append(time.perf_counter())
        time.sleep(0.01)

    start = time.perf_counter()
    seconds = common.timed_turn(step, settle_seconds=0.05)
    total = time.perf_counter() - start
    assert 2 <= len(calls) <= 6                    # 1-5 untimed calls (each sleeps >= 0.01 s), one timed
    assert calls[-1] - calls[0] >= 0.05 - 1e-3     # the timed call starts only after the settling
    assert 0.01 <= seconds < total - 0.05 + 1e-9   # and only it is reported
    calls.clear()
    assert common.timed_turn(step) >= 0.01 and len(calls) == 1


def test_worker_that_dies_is_reported_with_its_name_and_exit_code(monkeypatch):
    bench = load_benchmark("rnn_speed", monkeypatch)
    monkeypatch.setattr(bench, "child_command", lambda *args: [sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RuntimeError, match=r"worker ours tiny rnn float64 exited with code 3"):
        bench.Worker("ours", "tiny", "rnn", "float64")


def test_header_names_the_openblas_kernels_a_forced_core_type_selects(monkeypatch):
    """The header reports which OpenBLAS kernels run: OPENBLAS_CORETYPE changes every figure."""
    common = load_benchmark("common", monkeypatch)
    if common.openblas_core() is None:
        pytest.skip("NumPy here is not linked to an OpenBLAS that reports its core type")
    code = (f"import sys; sys.path.insert(0, {str(BENCHMARKS)!r}); import numpy, common; "
            "print(common.openblas_core()); print(common.machine_header(1)[-2])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OPENBLAS_CORETYPE": "Haswell"})
    assert proc.returncode == 0, proc.stderr
    core, blas_line = proc.stdout.splitlines()
    assert core == "Haswell" and blas_line.endswith("(OpenBLAS kernels: Haswell)")
