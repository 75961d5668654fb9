"""Speed of RNN/LSTM/GRU stacks in tinygrad_rnn against PyTorch: training steps and inference.

One training step = forward of the stack over x (T, B, I), a Linear head from every step's output to
C = I classes, cross-entropy against random targets, zero_grad and backward. Inference = the same
forward (head and loss included) under no_grad. Both libraries run on the same thread count.

    python benchmarks/rnn_speed.py                          # every config, cell and dtype
    python benchmarks/rnn_speed.py --threads 1 --configs tiny,small --cells lstm --dtypes float32
    python benchmarks/rnn_speed.py --configs medium --first-step --memory --out results.json

FLOPs counted are those of the GEMMs: forward 2*T*B*G*H*(I_layer + H) per layer-direction
(G = 1, 4, 3 gates for RNN, LSTM, GRU) plus 2*T*B*(D*H)*C for the head; a training step is
counted as three forward passes (backward does about twice the forward's GEMM work).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import configure_threads  # noqa: E402  (must run before NumPy is imported)

THREADS = configure_threads(os.cpu_count() or 1)

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

from common import (fmt, format_table, gemm_gflops, machine_header, time_in_turns, timed_turn,  # noqa: E402
                    try_import_torch)


@dataclass(frozen=True)
class Config:
    steps: int          # T
    batch: int          # B
    inputs: int         # I, also the number of classes C of the head
    hidden: int         # H
    layers: int
    bidirectional: bool = False


CONFIGS = {
    "tiny": Config(25, 1, 65, 100, 1),
    "small": Config(64, 32, 64, 128, 1),
    "medium": Config(100, 64, 128, 256, 2),
    "bidir": Config(64, 32, 64, 128, 2, bidirectional=True),
    "large": Config(50, 128, 512, 1024, 1),
}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
DTYPES = {"float32": np.float32, "float64": np.float64}


def forward_flops(cfg, cell):
    """GEMM FLOPs of one forward pass: the stack's input and recurrent products, and the head."""
    directions = 2 if cfg.bidirectional else 1
    total = 0
    for layer in range(cfg.layers):
        layer_input = cfg.inputs if layer == 0 else cfg.hidden * directions
        total += directions * 2 * cfg.steps * cfg.batch * GATES[cell] * cfg.hidden * (layer_input + cfg.hidden)
    return total + 2 * cfg.steps * cfg.batch * cfg.hidden * directions * cfg.inputs


def make_data(cfg, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cfg.steps, cfg.batch, cfg.inputs)).astype(dtype)
    targets = rng.integers(0, cfg.inputs, size=cfg.steps * cfg.batch).astype(np.int64)
    return x, targets


# ---------------------------------------------------------------- the two implementations
class Ours:
    """tinygrad_rnn stack + Linear head + cross-entropy."""

    def __init__(self, cfg, cell, dtype, fused=True):
        import tinygrad_rnn as tg
        self.tg, self.cfg = tg, cfg
        stack_cls = {"rnn": tg.nn.RNN, "lstm": tg.nn.LSTM, "gru": tg.nn.GRU}[cell]
        self.rnn = stack_cls(cfg.inputs, cfg.hidden, num_layers=cfg.layers, bidirectional=cfg.bidirectional,
                             dtype=dtype)
        self.rnn.fused = fused
        self.width = cfg.hidden * (2 if cfg.bidirectional else 1)
        self.head = tg.nn.Linear(self.width, cfg.inputs, dtype=dtype)
        x, self.targets = make_data(cfg, dtype)
        self.x = tg.Tensor(x)

    def _loss(self):
        out, _ = self.rnn(self.x)                                     # (T, B, D*H)
        logits = self.head(out.reshape(self.cfg.steps * self.cfg.batch, self.width))   # (T*B, C)
        return self.tg.cross_entropy(logits, self.targets)

    def train_step(self):
        self.rnn.zero_grad()
        self.head.zero_grad()
        self._loss().backward()

    def infer_step(self):
        with self.tg.no_grad():
            self._loss()


class Torch:
    """torch.nn stack + Linear head + cross-entropy, on the same shapes."""

    def __init__(self, torch, cfg, cell, dtype):
        self.torch, self.cfg = torch, cfg
        tdtype = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
        stack_cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        self.rnn = stack_cls(cfg.inputs, cfg.hidden, num_layers=cfg.layers, bidirectional=cfg.bidirectional,
                             dtype=tdtype)
        self.width = cfg.hidden * (2 if cfg.bidirectional else 1)
        self.head = torch.nn.Linear(self.width, cfg.inputs, dtype=tdtype)
        x, targets = make_data(cfg, dtype)
        self.x, self.targets = torch.from_numpy(x), torch.from_numpy(targets)

    def _loss(self):
        out, _ = self.rnn(self.x)
        logits = self.head(out.reshape(self.cfg.steps * self.cfg.batch, self.width))
        return self.torch.nn.functional.cross_entropy(logits, self.targets)

    def train_step(self):
        self.rnn.zero_grad()
        self.head.zero_grad()
        self._loss().backward()

    def infer_step(self):
        with self.torch.no_grad():
            self._loss()


def build(impl, cfg, cell, dtype):
    if impl == "ours":
        return Ours(cfg, cell, dtype)
    torch = try_import_torch()
    torch.set_num_threads(THREADS)
    return Torch(torch, cfg, cell, dtype)


# ---------------------------------------------------------------- child processes
def child_main(args):
    """Run inside a fresh process: print one JSON line with what was measured."""
    cfg, dtype = CONFIGS[args.config], DTYPES[args.dtype]
    if args.child == "worker":
        malloc = "default"
        if args.retain_freed_memory:
            from tinygrad_rnn.training import retain_freed_memory
            malloc = "retained" if retain_freed_memory() else "default (not glibc)"
        serve_steps(build(args.impl, cfg, args.cell, dtype), malloc)
        return
    if args.child == "first-step":
        start = time.perf_counter()
        model = build(args.impl, cfg, args.cell, dtype)
        built = time.perf_counter()
        model.train_step()
        first = time.perf_counter()
        model.train_step()
        second = time.perf_counter()
        result = dict(build_s=built - start, first_step_s=first - built, second_step_s=second - first)
    else:   # memory: kernels loaded on a tiny model first, then one step of the real one
        warm = build(args.impl, CONFIGS["tiny"], args.cell, dtype)
        warm.train_step()
        del warm
        model = build(args.impl, cfg, args.cell, dtype)
        before = reset_peak_rss()
        model.train_step()       # activations, saved tensors, gradients: the step's whole working set
        result = dict(rss_before_mb=before, step_peak_growth_mb=peak_rss() - before)
    print("RESULT " + json.dumps(result))


def serve_steps(model, malloc):
    """The worker's loop: print ``READY <malloc>``, then for each line ``<train|infer> <warmup calls> <settle
    seconds>`` on stdin run that many untimed calls and one :func:`common.timed_turn`, and print its seconds."""
    print(f"READY {malloc}", flush=True)
    for line in sys.stdin:
        mode, warmup, settle = line.split()
        fn = model.train_step if mode == "train" else model.infer_step
        for _ in range(int(warmup)):
            fn()
        print(repr(timed_turn(fn, float(settle))), flush=True)


class Worker:
    """One implementation's model in a process of its own (``--child worker``), stepping on request.

    Each library runs alone in its process, as in a user's training run: in one process, the idle
    threads of one library's pool (OpenBLAS's, or PyTorch's OpenMP team) still spin on the cores while the
    other library works, and slowed its turns by up to 7x at 2 threads. Turns are settled
    (:func:`common.timed_turn`) for the same reason, and for the caches."""

    def __init__(self, impl, config, cell, dtype, retain_freed_memory=False):
        self.name = f"{impl} {config} {cell} {dtype}"
        extra = ["--retain-freed-memory"] if retain_freed_memory else []
        self.proc = subprocess.Popen(child_command("worker", impl, config, cell, dtype) + extra,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        # READY once the model is built, with how the worker's malloc keeps freed memory
        self.malloc = self._read().partition(" ")[2]

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker {self.name} exited with code {self.proc.wait()} "
                               f"(its error is printed above)")
        return line.strip()

    def turn(self, mode, warmup=0, settle_seconds=0.0):
        """Run ``warmup`` untimed steps, then one :func:`common.timed_turn`; return its seconds."""
        self.proc.stdin.write(f"{mode} {warmup} {settle_seconds!r}\n")
        self.proc.stdin.flush()
        return float(self._read())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _proc_status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak_rss():
    """Reset the process's peak RSS (Linux: VmHWM via /proc/self/clear_refs) and return the RSS now, MB.
    Elsewhere, the peak so far (ru_maxrss, inherited from the parent on Linux, hence not used there)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _proc_status_mb("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss():
    """Peak RSS in MB since :func:`reset_peak_rss`."""
    try:
        return _proc_status_mb("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_command(mode, impl, config, cell, dtype):
    """The command line that runs this script as a child process in ``mode``."""
    return [sys.executable, os.path.abspath(__file__), "--threads", str(THREADS), "--child", mode,
            "--impl", impl, "--config", config, "--cell", cell, "--dtype", dtype]


def run_child(mode, impl, config, cell, dtype, env_extra=None):
    """Run this script in a subprocess in ``mode``; return (its JSON result, its wall seconds)."""
    env = dict(os.environ, **(env_extra or {}))
    start = time.perf_counter()
    proc = subprocess.run(child_command(mode, impl, config, cell, dtype), capture_output=True, text=True,
                          env=env, timeout=900)
    wall = time.perf_counter() - start
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):]), wall
    raise RuntimeError(f"child {mode} {impl} {config} {cell} {dtype} failed:\n{proc.stderr[-2000:]}")


# ---------------------------------------------------------------- measurements
def speed_rows(args, torch, gemm):
    rows, records = [], []
    for config in args.configs:
        cfg = CONFIGS[config]
        for cell in args.cells:
            for dname in args.dtypes:
                dtype = DTYPES[dname]
                workers = {"ours": Worker("ours", config, cell, dname, args.retain_freed_memory)}
                if torch is not None:
                    workers["torch"] = Worker("torch", config, cell, dname, args.retain_freed_memory)
                for mode in ("train", "infer"):
                    for worker in workers.values():
                        worker.turn(mode, warmup=1)     # two untimed steps
                    runs = time_in_turns({name: functools.partial(worker.turn, mode, 0, args.settle)
                                          for name, worker in workers.items()}, args.repeats, args.max_seconds)
                    med = {name: statistics.median(t) for name, t in runs.items()}
                    best = {name: t[0] for name, t in runs.items()}
                    flops = forward_flops(cfg, cell) * (3 if mode == "train" else 1)
                    ours_gflops = flops / med["ours"] / 1e9
                    record = dict(config=config, cell=cell, dtype=dname, mode=mode, threads=THREADS,
                                  runs=len(runs["ours"]), ours_ms=med["ours"] * 1e3, ours_min_ms=best["ours"] * 1e3,
                                  gflop=flops / 1e9, ours_gflops=ours_gflops,
                                  pct_of_gemm=100 * ours_gflops / gemm[dname],
                                  malloc={name: worker.malloc for name, worker in workers.items()})
                    if "torch" in med:
                        record.update(torch_ms=med["torch"] * 1e3, torch_min_ms=best["torch"] * 1e3,
                                      ratio=med["ours"] / med["torch"], ratio_min=best["ours"] / best["torch"],
                                      torch_gflops=flops / med["torch"] / 1e9)
                    records.append(record)
                    rows.append([config, cell, dname, mode, fmt(record["ours_ms"]), fmt(record.get("torch_ms")),
                                 fmt(record.get("ratio")), fmt(record.get("ratio_min")), fmt(ours_gflops),
                                 fmt(record["pct_of_gemm"], 1), fmt(record.get("torch_gflops"))])
                    print(format_table(TABLE_HEADERS, [rows[-1]], min_width=8).splitlines()[-1], flush=True)
                for worker in workers.values():
                    worker.close()
    return rows, records


TABLE_HEADERS = ["config", "cell", "dtype", "mode", "ours ms", "torch ms", "ours/torch", "min/min", "our GF/s",
                 "% gemm", "torch GF/s"]


def first_step_rows(args, torch):
    """First training step in a fresh process, numba cache cold (empty cache dir) then warm."""
    rows, records = [], []
    with tempfile.TemporaryDirectory(prefix="tgrnn_numba_cache_") as cache:
        for config in args.configs:
            for cell in args.cells:
                for dname in args.dtypes:
                    result = {}
                    for label in ("cold", "warm"):
                        res, wall = run_child("first-step", "ours", config, cell, dname,
                                              {"NUMBA_CACHE_DIR": os.path.join(cache, f"{config}_{cell}_{dname}")})
                        result[label] = dict(res, process_wall_s=wall)
                    if torch is not None:
                        res, wall = run_child("first-step", "torch", config, cell, dname)
                        result["torch"] = dict(res, process_wall_s=wall)
                    records.append(dict(config=config, cell=cell, dtype=dname, **result))
                    rows.append([config, cell, dname,
                                 fmt(result["cold"]["first_step_s"], 3), fmt(result["cold"]["process_wall_s"]),
                                 fmt(result["warm"]["first_step_s"], 3), fmt(result["warm"]["process_wall_s"]),
                                 fmt(result["warm"]["second_step_s"], 3),
                                 fmt(result.get("torch", {}).get("first_step_s"), 3),
                                 fmt(result.get("torch", {}).get("process_wall_s"))])
    headers = ["config", "cell", "dtype", "cold 1st s", "cold proc s", "warm 1st s", "warm proc s",
               "2nd step s", "torch 1st s", "torch proc s"]
    return headers, rows, records


def memory_rows(args, torch):
    """Peak memory of one medium training step: tracemalloc (our arrays) and peak-RSS growth in subprocesses."""
    from tinygrad_rnn.autograd import buffers
    rows, records = [], []
    cfg = CONFIGS["medium"]
    for cell in args.cells:
        for dname in args.dtypes:
            model = Ours(cfg, cell, DTYPES[dname])
            model.train_step()
            buffers.clear()          # so that the traced step allocates its arrays afresh instead of reusing them
            tracemalloc.start()
            model.train_step()
            traced_peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
            del model
            ours, _ = run_child("memory", "ours", "medium", cell, dname)
            theirs = run_child("memory", "torch", "medium", cell, dname)[0] if torch is not None else {}
            records.append(dict(config="medium", cell=cell, dtype=dname, ours_tracemalloc_peak_mb=traced_peak,
                                ours=ours, torch=theirs))
            rows.append(["medium", cell, dname, fmt(traced_peak, 1), fmt(ours["step_peak_growth_mb"], 1),
                         fmt(theirs.get("step_peak_growth_mb"), 1), fmt(ours["rss_before_mb"], 0),
                         fmt(theirs.get("rss_before_mb"), 0)])
    headers = ["config", "cell", "dtype", "ours traced MB", "ours RSS+ MB", "torch RSS+ MB",
               "ours base RSS MB", "torch base RSS MB"]
    return headers, rows, records


# ---------------------------------------------------------------- command line
def parse_args():
    def names(valid):
        def parse(text):
            items = [s.strip() for s in text.split(",") if s.strip()]
            bad = [s for s in items if s not in valid]
            if bad:
                raise argparse.ArgumentTypeError(f"expected names from {sorted(valid)}, got {bad}")
            return items
        return parse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=THREADS, help="BLAS/torch threads (default: all cores)")
    p.add_argument("--configs", type=names(CONFIGS), default=list(CONFIGS))
    p.add_argument("--cells", type=names(GATES), default=list(GATES))
    p.add_argument("--dtypes", type=names(DTYPES), default=list(DTYPES))
    p.add_argument("--repeats", type=int, default=7, help="timed runs after two warm-up runs (median reported)")
    p.add_argument("--max-seconds", type=float, default=5.0, help="stop repeating a measurement after this long")
    p.add_argument("--settle", type=float, default=0.25,
                   help="untimed calls for this many seconds before each timed one, so that the other "
                        "library's idle threads have stopped spinning and our data is back in the caches")
    p.add_argument("--retain-freed-memory", action="store_true",
                   help="both workers have glibc keep all the memory they free "
                        "(tinygrad_rnn.training.retain_freed_memory: glibc's malloc settings)")
    p.add_argument("--first-step", action="store_true", help="also time the first step in fresh processes")
    p.add_argument("--memory", action="store_true", help="also measure peak memory of a medium training step")
    p.add_argument("--no-speed", action="store_true", help="skip the steady-state speed table")
    p.add_argument("--no-torch", action="store_true", help="our figures alone, even if torch is installed")
    p.add_argument("--out", help="write every figure to this JSON file")
    p.add_argument("--child", choices=["worker", "first-step", "memory"], help=argparse.SUPPRESS)
    p.add_argument("--impl", choices=["ours", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--config", choices=list(CONFIGS), help=argparse.SUPPRESS)
    p.add_argument("--cell", choices=list(GATES), help=argparse.SUPPRESS)
    p.add_argument("--dtype", choices=list(DTYPES), help=argparse.SUPPRESS)
    return p.parse_args()


def main():
    args = parse_args()
    if args.child:
        child_main(args)
        return
    torch = None if args.no_torch else try_import_torch()
    if torch is not None:
        torch.set_num_threads(THREADS)
    header = machine_header(THREADS)
    header.append(f"torch {torch.__version__} (threads {torch.get_num_threads()})" if torch is not None
                  else "torch: not installed (our figures alone)")
    gemm = {name: gemm_gflops(dtype) for name, dtype in DTYPES.items()}
    header.append("NumPy GEMM 1024^3: " + "  ".join(f"{n} {g:.1f} GFLOP/s" for n, g in gemm.items()))
    header.append("malloc: " + ("freed memory retained in both workers (retain_freed_memory)"
                                if args.retain_freed_memory else "the C library's defaults"))
    print("\n".join(header), flush=True)
    results = dict(header=header, threads=THREADS, gemm_gflops=gemm, settle_seconds=args.settle,
                   retain_freed_memory=args.retain_freed_memory)

    if not args.no_speed:
        print(f"\nSteady state (median ms per step; ours and torch each in a process of its own, timed in turns, "
              f"each turn settled for {args.settle:g} s;\nmin/min = ratio of the fastest runs; "
              f"GF/s = GEMM FLOPs / median time; % gemm = of NumPy's GEMM rate)")
        print(format_table(TABLE_HEADERS, [], min_width=8), flush=True)
        rows, results["speed"] = speed_rows(args, torch, gemm)
    if args.first_step:
        headers, rows, results["first_step"] = first_step_rows(args, torch)
        print("\nFirst training step in a fresh process (cold = empty numba cache, warm = cache filled)")
        print(format_table(headers, rows), flush=True)
    if args.memory:
        headers, rows, results["memory"] = memory_rows(args, torch)
        print("\nMemory of one medium training step (traced = tracemalloc peak of our arrays in the step; "
              "RSS+ = peak RSS during the step minus RSS before it, in a fresh process with kernels loaded)")
        print(format_table(headers, rows), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
