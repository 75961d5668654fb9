"""Engine overhead: microseconds per graph node for forward + backward of chains of small ops.

Small ops are where an autograd engine's own bookkeeping (node creation, the backward walk,
gradient accumulation) dominates the arithmetic, so this measures the engine, not NumPy.

Cases (float32):
  elementwise  y <- tanh(y * a + b) on 8x8 arrays (3 nodes per step), a and b require grad
  matmul       y <- y @ W on 16x16 arrays (1 node per step), W shared by every step and requiring grad

Each repeat builds the whole chain, reduces it with sum() and calls backward(); the time is divided
by the number of nodes, and the median over repeats is reported. PyTorch eager runs the same chains
in the same process when it is installed (same thread count for its intra-op pool and for BLAS),
the two libraries taking turns repeat by repeat, so that both meet the machine's drifting speed alike.

    python benchmarks/engine_overhead.py --steps 200 --repeats 15 --out engine_overhead.json
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import time_interleaved  # noqa: E402  (imports NumPy only inside functions)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="chain length in steps")
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per case (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch intra-op threads")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--out", default="engine_overhead.json", help="where to write the JSON results")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- the chains, written once per library
def ours_elementwise(tg, np, steps):
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((8, 8)).astype(np.float32), requires_grad=True)
    a = tg.Tensor(rng.uniform(0.5, 1.0, (8, 8)).astype(np.float32), requires_grad=True)
    b = tg.Tensor(rng.uniform(-0.1, 0.1, (8, 8)).astype(np.float32), requires_grad=True)

    def run():
        y = x
        for _ in range(steps):
            y = (y * a + b).tanh()
        y.sum().backward()
        x.grad = a.grad = b.grad = None
    return run, 3 * steps + 1


def ours_matmul(tg, np, steps):
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((16, 16)).astype(np.float32), requires_grad=True)
    w = tg.Tensor((rng.standard_normal((16, 16)) / 4).astype(np.float32), requires_grad=True)

    def run():
        y = x
        for _ in range(steps):
            y = y @ w
        y.sum().backward()
        x.grad = w.grad = None
    return run, steps + 1


def torch_elementwise(torch, steps):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 8, generator=gen, requires_grad=True)
    a = (torch.rand(8, 8, generator=gen) * 0.5 + 0.5).requires_grad_()
    b = (torch.rand(8, 8, generator=gen) * 0.2 - 0.1).requires_grad_()

    def run():
        y = x
        for _ in range(steps):
            y = torch.tanh(y * a + b)
        y.sum().backward()
        x.grad = a.grad = b.grad = None
    return run, 3 * steps + 1


def torch_matmul(torch, steps):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(16, 16, generator=gen, requires_grad=True)
    w = (torch.randn(16, 16, generator=gen) / 4).requires_grad_()

    def run():
        y = x
        for _ in range(steps):
            y = y @ w
        y.sum().backward()
        x.grad = w.grad = None
    return run, steps + 1


# ---------------------------------------------------------------- timing
def us_per_node_in_turns(cases, repeats):
    """For (run, nodes) pairs: median microseconds per node over ``repeats`` timed runs of each, after one
    warm-up run each, the cases taking turns (``common.time_interleaved``)."""
    times = time_interleaved({k: run for k, (run, _) in enumerate(cases)}, repeats, math.inf, warmup=1)
    return [statistics.median(times[k]) / nodes * 1e6 for k, (_, nodes) in enumerate(cases)]


def main(argv=None):
    args = parse_args(argv)
    # BLAS reads its thread count when NumPy is first imported, so set it before importing NumPy.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    import numpy as np

    import tinygrad_rnn as tg

    torch = None
    if not args.no_torch:
        try:
            import torch
            torch.set_num_threads(args.threads)
        except ImportError:
            torch = None

    cases = [("elementwise 8x8", ours_elementwise, torch_elementwise),
             ("matmul 16x16", ours_matmul, torch_matmul)]
    results = []
    for name, ours_case, torch_case in cases:
        timed = [ours_case(tg, np, args.steps)]
        if torch is not None:
            timed.append(torch_case(torch, args.steps))
        us = us_per_node_in_turns(timed, args.repeats)
        row = {"case": name, "nodes": timed[0][1], "ours_us_per_node": us[0],
               "torch_us_per_node": None, "ratio_ours_over_torch": None}
        if torch is not None:
            row["torch_us_per_node"] = us[1]
            row["ratio_ours_over_torch"] = us[0] / us[1]
        results.append(row)

    # ---------------------------------------------------------------- report
    print(f"{'case':<18}{'nodes':>7}{'ours us/node':>15}{'torch us/node':>15}{'ours/torch':>12}")
    for row in results:
        torch_cell = "-" if row["torch_us_per_node"] is None else f"{row['torch_us_per_node']:.2f}"
        ratio_cell = "-" if row["ratio_ours_over_torch"] is None else f"{row['ratio_ours_over_torch']:.2f}"
        print(f"{row['case']:<18}{row['nodes']:>7}{row['ours_us_per_node']:>15.2f}{torch_cell:>15}{ratio_cell:>12}")
    report = {
        "benchmark": "engine_overhead", "unit": "microseconds per node, forward + backward, median",
        "steps": args.steps, "repeats": args.repeats, "threads": args.threads,
        "python": platform.python_version(), "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__, "results": results,
    }
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
