"""Time and memory of backpropagation through a long unroll: an LSTM over T = 5,000 steps.

For each hidden size and path (fused: one graph node per step; composed: primitive ops), one run
is timed (forward, then backward of output[-1].sum() + c_n.sum()), and a second run measures the
peak of the memory NumPy and Python allocate during forward + backward (tracemalloc), which is
the graph the backward pass must keep: every step's saved activations. Peak RSS of the process
(resource.getrusage) is printed at the end.

    python benchmarks/long_unroll.py                         # T=5000, B=2, I=8, H=16 and 128, fused
    python benchmarks/long_unroll.py --hidden 16 --paths fused,composed --steps 5000
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import configure_threads  # noqa: E402  (must run before NumPy is imported)

THREADS = configure_threads(1)

import argparse  # noqa: E402
import gc  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

from common import format_table, machine_header  # noqa: E402


def build(steps, batch, inputs, hidden, fused, dtype):
    import tinygrad_rnn as tg
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(inputs, hidden, dtype=dtype, fused=fused)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((steps, batch, inputs)).astype(dtype),
                  requires_grad=True)
    return lstm, x


def forward_backward(lstm, x):
    """Seconds of the forward pass and of the backward pass."""
    start = time.perf_counter()
    output, (_, c_n) = lstm(x)
    loss = output[-1].sum() + c_n.sum()
    middle = time.perf_counter()
    loss.backward()
    end = time.perf_counter()
    if not np.all(np.isfinite(x.grad)):
        raise RuntimeError("long_unroll: the input gradient is not finite")
    return middle - start, end - middle


def measure(steps, batch, inputs, hidden, fused, dtype):
    lstm, x = build(3, batch, inputs, hidden, fused, dtype)
    forward_backward(lstm, x)                             # compile or load the kernels first
    lstm, x = build(steps, batch, inputs, hidden, fused, dtype)
    gc.collect()
    forward_s, backward_s = forward_backward(lstm, x)
    lstm.zero_grad()
    x.grad = None
    gc.collect()
    tracemalloc.start()
    forward_backward(lstm, x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return forward_s, backward_s, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5_000, help="sequence length T")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--inputs", type=int, default=8, help="input size I")
    parser.add_argument("--hidden", default="16,128", help="comma-separated hidden sizes H")
    parser.add_argument("--paths", default="fused", help="comma-separated: fused, composed")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=THREADS, help="BLAS threads (read before NumPy loads)")
    args = parser.parse_args()

    print("\n".join(machine_header(THREADS)))
    print(f"LSTM, T={args.steps}, B={args.batch}, I={args.inputs}, {args.dtype}; loss = output[-1].sum() + c_n.sum()")
    rows = []
    for hidden in (int(h) for h in args.hidden.split(",")):
        for path in args.paths.split(","):
            if path not in ("fused", "composed"):
                parser.error(f"--paths: expected fused or composed, got {path!r}")
            forward_s, backward_s, peak = measure(args.steps, args.batch, args.inputs, hidden, path == "fused",
                                                  np.dtype(args.dtype))
            rows.append([hidden, path, f"{forward_s:.3f}", f"{backward_s:.3f}",
                         f"{1e6 * (forward_s + backward_s) / args.steps:.1f}",
                         f"{peak / 2 ** 20:.1f}", f"{peak / args.steps / 1024:.2f}"])
    print(format_table(["H", "path", "forward s", "backward s", "us/step", "peak MiB", "KiB/step"], rows))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss    # KiB on Linux
    print(f"peak RSS of the process: {rss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
