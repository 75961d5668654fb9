"""Crash soak: SIGKILL a training run again and again, mostly in the middle of checkpoint writes, and prove
that nothing is lost.

One chain of forked processes runs ``tinygrad-rnn train`` (the CLI's ``main``) on a tiny LSTM with a
checkpoint after every step (``--eval-every 1``: best.npz and last.npz, each written to a temporary file,
fsynced and renamed). Each process is killed with SIGKILL, either a moment after a checkpoint's temporary
file appears (the kill lands inside the write) or at a random time; the next process resumes from what
survived. After every kill:

    every checkpoint in the run directory loads (load_checkpoint) and resumes (Trainer.resume),
    its step never goes backwards.

At the end the chain runs to completion, and its final weights, optimizer state and the losses of every
step equal those of one uninterrupted run, bit for bit.

    python benchmarks/crash_soak.py --kills 200           # about 7 minutes on a busy 2-core machine
    python benchmarks/crash_soak.py --kills 50 --seed 3 --keep /tmp/soak

Linux/macOS only (os.fork). tests/test_reliability_crash.py runs a short version of the same soak.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import io
import os
import random
import shutil
import signal
import sys
import tempfile
import time

import numpy as np

TEXT = "the rain in spain stays mainly in the plain.\n" * 20
MODEL = ["--cell", "lstm", "--hidden", "8", "--layers", "1", "--embedding", "4", "--dropout", "0.1",
         "--seq-len", "6", "--batch", "3", "--eval-every", "1", "--sample-every", "0"]


def fork_cli(argv: list[str]) -> int:
    """Run the CLI's ``main(argv)`` in a forked child with its output discarded; return the child's pid."""
    pid = os.fork()
    if pid == 0:                                       # child: never return into the caller's code
        code = 99
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            from tinygrad_rnn.cli import main
            code = main(argv)
        finally:
            os._exit(code)
    return pid


def temp_files(out: str) -> list[str]:
    return glob.glob(os.path.join(out, ".*.npz.*.tmp"))


def ended(pid: int) -> int | None:
    """The child's exit code if it has ended (it is then reaped), else None."""
    done, status = os.waitpid(pid, os.WNOHANG)
    return os.waitstatus_to_exitcode(status) if done else None


def kill_during_write(pid: int, out: str, rng: random.Random, timeout: float = 20.0) -> tuple[bool, int | None]:
    """Wait until the n-th new checkpoint temporary file appears (n random in 1..6), then SIGKILL after
    0-1 ms (a small checkpoint's write takes about that long, so most of these kills land inside it).
    Returns (True, None) when killed, (False, exit code) if the child ended first."""
    seen = set(temp_files(out))
    wanted = rng.randint(1, 6)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        new = set(temp_files(out)) - seen
        if new:
            seen |= new
            wanted -= len(new)
            if wanted <= 0:
                time.sleep(rng.uniform(0.0, 0.001))
                os.kill(pid, signal.SIGKILL)
                return True, None
        code = ended(pid)
        if code is not None:
            return False, code
    os.kill(pid, signal.SIGKILL)
    return True, None


def kill_at_random(pid: int, rng: random.Random, low: float = 0.02, high: float = 0.4) -> tuple[bool, int | None]:
    """SIGKILL after a random pause; like :func:`kill_during_write`, (False, exit code) if the child ended first."""
    time.sleep(rng.uniform(low, high))
    code = ended(pid)
    if code is not None:
        return False, code
    os.kill(pid, signal.SIGKILL)
    return True, None


def surviving(out: str) -> str | None:
    """The checkpoint to resume from: last.npz, else best.npz (a kill inside the first checkpoint leaves
    best.npz alone), else None."""
    for name in ("last.npz", "best.npz"):
        if os.path.exists(os.path.join(out, name)):
            return os.path.join(out, name)
    return None


def check_survivors(out: str) -> int:
    """Load and resume every checkpoint in ``out``; return the step of the one a restart would use."""
    from tinygrad_rnn.training.checkpoint import load_checkpoint
    from tinygrad_rnn.training.trainer import Trainer
    for name in ("last.npz", "best.npz"):
        path = os.path.join(out, name)
        if os.path.exists(path):
            load_checkpoint(path)                           # raises if damaged
            Trainer.resume(path, log=lambda m: None, progress_stream=open(os.devnull, "w"))
    path = surviving(out)
    return -1 if path is None else int(load_checkpoint(path)[1]["step"])


def train_argv(data: str, out: str, steps: int) -> list[str]:
    resume = surviving(out)
    if resume is not None:
        return ["train", "--resume", resume, "--steps", str(steps)]
    return ["train", "--data", data, *MODEL, "--steps", str(steps), "--out", out]


def wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def run_state(path: str) -> dict:
    """What must match between runs: every array and the per-step losses and validations."""
    from tinygrad_rnn.training.checkpoint import load_checkpoint
    arrays, meta = load_checkpoint(path)
    metrics = meta["metrics"]
    return {"arrays": arrays, "step": meta["step"], "rng": meta["rng"], "batcher": meta["batcher"],
            "train": [(r["step"], r["loss"], r["lr"], r["grad_norm"]) for r in metrics["train"]],
            "val": [(r["step"], r["nats"]) for r in metrics["val"]]}


def soak(root: str, kills: int, steps: int = 120, seed: int = 0, during_write: float = 0.6) -> dict:
    """Kill a chain of training processes ``kills`` times, then finish it and compare with a clean run.

    Returns a report: kills done, kills that landed inside a write (a temporary file was left behind),
    the steps reached, and whether the final state equals the uninterrupted run's (``exact``).
    Raises AssertionError (with the reason) if a survivor fails to load or the runs differ.
    """
    from tinygrad_rnn.cli import main
    rng = random.Random(seed)
    data = os.path.join(root, "text.txt")
    with open(data, "w", encoding="utf-8") as f:
        f.write(TEXT)
    reference, chain = os.path.join(root, "reference"), os.path.join(root, "chain")
    t0 = time.perf_counter()
    # the uninterrupted run goes in this process, so the kernels are loaded before the first fork and
    # every child starts warm
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(train_argv(data, reference, steps))
    assert code == 0, f"the uninterrupted run exited with {code}"
    clean_seconds = time.perf_counter() - t0
    os.makedirs(chain)

    done = mid_write = completed_early = 0
    last_step, steps_seen = -1, []
    t0 = time.perf_counter()
    while done < kills:
        before = len(temp_files(chain))
        pid = fork_cli(train_argv(data, chain, steps))
        if rng.random() < during_write:
            killed, code = kill_during_write(pid, chain, rng)
        else:
            killed, code = kill_at_random(pid, rng)
        if killed:
            code = wait(pid)        # the exit status of a child that ended by itself was read above
        if not killed:
            assert code == 0, f"a training process exited with {code} before it was killed"
            completed_early += 1
            break
        done += 1
        mid_write += len(temp_files(chain)) > before
        step = check_survivors(chain)
        assert step >= last_step, f"kill {done}: the surviving checkpoint went back from step {last_step} to {step}"
        last_step = step
        steps_seen.append(step)
    code = wait(fork_cli(train_argv(data, chain, steps)))
    assert code == 0, f"the final resumed run exited with {code}"
    chain_seconds = time.perf_counter() - t0

    want, got = run_state(os.path.join(reference, "last.npz")), run_state(os.path.join(chain, "last.npz"))
    assert got["step"] == want["step"] == steps, (got["step"], want["step"])
    assert got["train"] == want["train"], "per-step losses differ from the uninterrupted run"
    assert got["val"] == want["val"], "validation losses differ from the uninterrupted run"
    assert got["rng"] == want["rng"] and got["batcher"] == want["batcher"]
    assert set(got["arrays"]) == set(want["arrays"])
    for key, value in want["arrays"].items():
        assert np.array_equal(got["arrays"][key], value), f"array {key} differs from the uninterrupted run"
    return {"kills": done, "mid_write": mid_write, "completed_before_kill": completed_early,
            "distinct_resume_steps": len(set(steps_seen)), "steps": steps, "exact": True,
            "leftover_temp_files": len(temp_files(chain)), "clean_seconds": clean_seconds,
            "chain_seconds": chain_seconds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--steps", type=int, default=None, help="steps of the run (default: 6 per kill)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--during-write", type=float, default=0.6,
                        help="fraction of kills aimed inside a checkpoint write (default 0.6)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary directory)")
    args = parser.parse_args(argv)
    if not hasattr(os, "fork"):
        print("crash_soak needs os.fork (Linux or macOS)", file=sys.stderr)
        return 2
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    root = args.keep or tempfile.mkdtemp(prefix="crash_soak_")
    os.makedirs(root, exist_ok=True)
    try:
        report = soak(root, args.kills, steps=args.steps or max(60, 6 * args.kills), seed=args.seed,
                      during_write=args.during_write)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"kills: {report['kills']} ({report['mid_write']} inside a checkpoint write, leaving a temporary "
          f"file); resumed from {report['distinct_resume_steps']} different steps of {report['steps']}")
    print(f"every survivor loaded and resumed; final state equal to the uninterrupted run: {report['exact']}")
    print(f"time: clean run {report['clean_seconds']:.1f} s, killed-and-resumed chain {report['chain_seconds']:.1f} s"
          f"; temporary files left behind by kills: {report['leftover_temp_files']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
