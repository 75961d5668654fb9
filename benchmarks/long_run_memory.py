"""Long runs: memory and step time over thousands of truncated-BPTT windows must stay flat.

The trainer's own step (``Trainer.train_step``: forward over a window, backward, clip, Adam update, carry
the detached state) runs ``--windows`` times on a small LSTM language model. Every ``--every`` windows it
records the process's resident set size (RSS, from /proc or getrusage) and the bytes Python's allocators
hold (tracemalloc; NumPy reports its array buffers there too), and the median step time of the chunk.

    growth per 1000 windows = slope of a least-squares line through the samples after warm-up
    slowdown               = 10th-percentile step time of the last quarter / that of the second quarter
                             (medians are printed too; on a shared machine they move with the load)

A leak of one small array per window (say 1 KB) shows as ~1 MB per 1000 windows of tracemalloc growth;
a graph kept alive across windows shows as growing step time and memory both.

    python benchmarks/long_run_memory.py                        # 5000 windows, about 1-2 minutes
    python benchmarks/long_run_memory.py --windows 20000 --cell gru --no-tracemalloc

tests/test_reliability_crash.py runs the short version (``measure`` with 300 windows) and asserts the
memory stays bounded and the steps do not slow down.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc

import numpy as np


def rss_bytes() -> int:
    """Current resident set size of this process (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def slope_per_1000(xs: list[int], ys: list[float]) -> float:
    """Least-squares slope of ys against xs, per 1000 units of x."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 0.0 if var == 0 else 1000.0 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var


def make_trainer(workdir: str, cell: str = "lstm", hidden: int = 32, seq_len: int = 16, batch: int = 8):
    from tinygrad_rnn.training.trainer import TrainConfig, Trainer
    data = os.path.join(workdir, "text.txt")
    with open(data, "w", encoding="utf-8") as f:
        f.write("it was the best of times, it was the worst of times; " * 200)
    cfg = TrainConfig(data=data, cell=cell, layers=2, hidden=hidden, embedding=16, dropout=0.1, seq_len=seq_len,
                      batch=batch, steps=10 ** 9, eval_every=0, sample_every=0, schedule="constant",
                      out=os.path.join(workdir, "run"))
    return Trainer(cfg, log=lambda m: None, progress_stream=open(os.devnull, "w"))


def measure(windows: int, every: int = 100, warmup: int = 100, use_tracemalloc: bool = True,
            workdir: str | None = None, **model) -> dict:
    """Train ``windows`` windows; return per-sample memory, step times, growth slopes and the slowdown."""
    workdir = workdir or tempfile.mkdtemp(prefix="long_run_")
    trainer = make_trainer(workdir, **model)
    if use_tracemalloc:
        tracemalloc.start()
    samples = []                                    # (windows done, rss bytes, traced bytes, median step s)
    times = np.empty(windows)                       # preallocated: a growing list would itself be a "leak"
    try:
        for k in range(1, windows + 1):
            t0 = time.perf_counter()
            record = trainer.train_step()
            times[k - 1] = time.perf_counter() - t0
            if record["loss"] is None:
                raise RuntimeError(f"window {k}: non-finite loss")
            if k % every == 0:
                traced = tracemalloc.get_traced_memory()[0] if use_tracemalloc else 0
                samples.append((k, rss_bytes(), traced, float(np.median(times[k - every:k]))))
    finally:
        if use_tracemalloc:
            tracemalloc.stop()
    after = [s for s in samples if s[0] > warmup]
    xs = [s[0] for s in after]
    n = windows
    early, late = float(np.median(times[n // 4: n // 2])), float(np.median(times[3 * n // 4:]))
    # the 10th percentile: other processes on the machine only ever add time, so the fast steps show what
    # the code itself costs, and a slowdown of the code shifts them too
    fast_early = float(np.percentile(times[n // 4: n // 2], 10))
    fast_late = float(np.percentile(times[3 * n // 4:], 10))
    return {"windows": windows, "samples": samples,
            "rss_growth_per_1000": slope_per_1000(xs, [s[1] for s in after]),
            "traced_growth_per_1000": slope_per_1000(xs, [s[2] for s in after]),
            "traced_range_after_warmup": (max(s[2] for s in after) - min(s[2] for s in after)) if after else 0,
            "step_early": early, "step_late": late, "step_early_p10": fast_early, "step_late_p10": fast_late,
            "slowdown": fast_late / fast_early,
            "final_loss": record["loss"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=5000)
    parser.add_argument("--every", type=int, default=250, help="sample memory every N windows (default 250)")
    parser.add_argument("--warmup", type=int, default=500, help="windows ignored by the growth fit (default 500)")
    parser.add_argument("--cell", default="lstm", choices=("lstm", "gru", "rnn"))
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--no-tracemalloc", action="store_true", help="RSS only (tracemalloc slows steps ~2x)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    r = measure(args.windows, every=args.every, warmup=args.warmup, use_tracemalloc=not args.no_tracemalloc,
                cell=args.cell, hidden=args.hidden)
    print(f"{args.windows} windows of 16 steps x 8 streams, 2-layer {args.cell.upper()} hidden {args.hidden}")
    print(f"{'windows':>8} {'RSS MB':>9} {'traced MB':>10} {'step ms':>8}")
    for k, rss, traced, step in r["samples"]:
        print(f"{k:>8} {rss / 2**20:>9.2f} {traced / 2**20:>10.3f} {1000 * step:>8.2f}")
    print(f"growth per 1000 windows after {args.warmup}: RSS {r['rss_growth_per_1000'] / 1024:+.1f} KB, "
          f"traced {r['traced_growth_per_1000'] / 1024:+.1f} KB")
    print(f"step time, median: {1000 * r['step_early']:.2f} ms (2nd quarter) -> {1000 * r['step_late']:.2f} ms "
          f"(last quarter); 10th percentile: {1000 * r['step_early_p10']:.2f} -> {1000 * r['step_late_p10']:.2f} ms, "
          f"ratio {r['slowdown']:.3f}; final loss {r['final_loss']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
