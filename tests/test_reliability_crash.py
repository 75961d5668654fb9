"""Crashes lose nothing: training processes SIGKILLed at random moments, most of them inside a checkpoint
write, always leave a checkpoint that loads and resumes, and the resumed chain ends bit for bit where one
uninterrupted run ends (losses of every step, weights, optimizer state, RNG and batcher position).

The soak itself lives in benchmarks/crash_soak.py (run it with --kills 200 for the long version).
"""
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tinygrad_rnn
from tinygrad_rnn.training.checkpoint import load_checkpoint
from tinygrad_rnn.training.trainer import Trainer

ROOT = Path(tinygrad_rnn.__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("crash_soak", ROOT / "benchmarks" / "crash_soak.py")
crash_soak = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crash_soak)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def test_sigkill_during_checkpoint_writes_loses_nothing(tmp_path):
    report = crash_soak.soak(str(tmp_path), kills=16, steps=240, seed=1)
    assert report["kills"] == 16 and report["exact"]
    assert report["mid_write"] >= 4, report                 # the kills really did land inside writes
    assert report["distinct_resume_steps"] >= 8, report     # ... and at many different points of the run


def test_a_kill_before_the_first_checkpoint_leaves_nothing_to_resume(tmp_path):
    data = tmp_path / "t.txt"
    data.write_text(crash_soak.TEXT, encoding="utf-8")
    out = tmp_path / "run"
    pid = crash_soak.fork_cli(crash_soak.train_argv(str(data), str(out), 50))
    os.kill(pid, signal.SIGKILL)                            # at once: before any checkpoint exists
    crash_soak.wait(pid)
    assert crash_soak.surviving(str(out)) is None
    assert crash_soak.check_survivors(str(out)) == -1


def test_the_real_command_killed_as_a_separate_process(tmp_path):
    """The same through ``python -m tinygrad_rnn train`` in its own process (no fork)."""
    data = tmp_path / "t.txt"
    data.write_text(crash_soak.TEXT, encoding="utf-8")
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OPENBLAS_NUM_THREADS="1")
    argv = [sys.executable, "-m", "tinygrad_rnn", "train", "--data", str(data), *crash_soak.MODEL,
            "--steps", "400", "--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=str(tmp_path))
    try:
        deadline = time.perf_counter() + 120
        while not (out / "last.npz").exists() and time.perf_counter() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)                                     # a few more steps: a write is probably under way
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    _, meta = load_checkpoint(out / "last.npz")
    assert 1 <= meta["step"] < 400
    resumed = Trainer.resume(str(out / "last.npz"), log=lambda m: None)
    assert resumed.step == meta["step"]


# --- long runs --------------------------------------------------------------------------------------

_spec = importlib.util.spec_from_file_location("long_run_memory", ROOT / "benchmarks" / "long_run_memory.py")
long_run_memory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(long_run_memory)


def test_240_windows_keep_memory_bounded(tmp_path):
    """The short version of benchmarks/long_run_memory.py (5000 windows there, which also reports step
    times early and late; timing is left to the script, since a shared machine makes it noisy)."""
    r = long_run_memory.measure(240, every=20, warmup=80, workdir=str(tmp_path), hidden=16, seq_len=8, batch=4)
    # leaking a single 2 KB array per window would add 320 KB over the 160 windows after warm-up
    assert r["traced_range_after_warmup"] < 256 * 1024, r["samples"]
    rss = [s[1] for s in r["samples"] if s[0] > 80]
    assert max(rss) - min(rss) < 8 * 2 ** 20, r["samples"]
    assert r["final_loss"] < 2.0                             # it was learning all along, not idling
