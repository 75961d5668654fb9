"""Instructions per min-char-rnn window, counted by valgrind's callgrind: a figure the machine's load cannot move.

On a shared machine, wall-clock speed drifts by 10-50% within minutes, so a change that saves a few percent of
the framework's overhead cannot be seen in ``min_char_rnn_speed.py``'s ratios. The number of instructions a
window executes is the same in every run of the same code on the same data, whatever else the machine is doing
(the counted run gets ``PYTHONHASHSEED=0`` unless the variable is set: a hash seed drawn per process moved the
counts of one code by up to 7,000 a window). It is not a time: Python runs at fewer instructions per cycle
than BLAS or the numba kernels, so the framework's share of the instructions is smaller than its share of the
time. Use it to compare two versions of the code, and the timed benchmark for speed.

    python benchmarks/instruction_counts.py                 # float64, 100 windows per contender
    python benchmarks/instruction_counts.py --dtype float32 --windows 50

The contenders are those of ``min_char_rnn_speed.py`` (plain NumPy, tinygrad_rnn, tinygrad_rnn's graph nodes
called by hand, and its kernels called with no graph), each warmed up first, then counted over the same
windows of the same text. The script runs itself again under ``valgrind --tool=callgrind``; counting starts
and stops at client requests made by a four-line C helper that it compiles on the spot, so it needs
valgrind, its headers (``valgrind/callgrind.h``) and a C compiler. A run takes one to two minutes; the first
may take longer, since the kernels are compiled again for the processor that valgrind presents.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
HELPER_SOURCE = """#include <valgrind/callgrind.h>
void count_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; }
void count_stop(void) { CALLGRIND_DUMP_STATS; CALLGRIND_STOP_INSTRUMENTATION; }
"""
CONTENDERS = ("PlainNumpy", "Ours", "GraphNodes", "BareKernels")


def build_helper(directory):
    """Compile the client-request helper into ``directory``; return the shared library's path."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("instruction_counts: needs a C compiler (cc or gcc) for its helper")
    source, library = Path(directory) / "count.c", Path(directory) / "libcount.so"
    source.write_text(HELPER_SOURCE)
    result = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(source)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit("instruction_counts: could not compile the helper (are valgrind's headers, "
                         f"valgrind/callgrind.h, installed?):\n{result.stderr}")
    return library


def read_parts(directory):
    """{dump number: instructions} from the callgrind output files in ``directory``."""
    counts = {}
    for path in Path(directory).glob("callgrind.out.*"):
        text = path.read_text(errors="replace")
        part, summary = re.search(r"^part: (\d+)$", text, re.M), re.search(r"^summary: (\d+)$", text, re.M)
        if part and summary:
            counts[int(part.group(1))] = int(summary.group(1))
    return counts


def count_in_child(args):
    """Under valgrind: warm every contender up, then count each one's windows between two client requests."""
    import ctypes

    import numpy as np
    import min_char_rnn_speed as bench

    helper = ctypes.CDLL(args.helper)
    text, _ = bench.load_text(args.text)
    vocab, ids = bench.encode(text)
    dtype = np.float32 if args.dtype == "float32" else np.float64
    names = []
    for name in CONTENDERS:
        model, batches = getattr(bench, name)(vocab, dtype), bench.windows(ids)
        for _ in range(args.warmup):
            model.step(*next(batches))
        windows = [next(batches) for _ in range(args.windows)]
        helper.count_start()
        for window in windows:
            model.step(*window)
        helper.count_stop()
        names.append(model.name)
    Path(args.out_dir, "names.json").write_text(json.dumps(names))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    p.add_argument("--windows", type=int, default=100, help="counted windows per contender")
    p.add_argument("--warmup", type=int, default=20, help="windows run first, uncounted (compilation included)")
    p.add_argument("--text", help="a UTF-8 text file (default: shared tinyshakespeare, else the built-in corpus)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--helper", help=argparse.SUPPRESS)
    p.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        count_in_child(args)
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("instruction_counts: needs valgrind (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="instruction_counts.") as directory:
        helper = build_helper(directory)
        command = [valgrind, "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={directory}/callgrind.out.%p",
                   sys.executable, str(Path(__file__).resolve()), "--child", "--helper", str(helper),
                   "--out-dir", directory, "--dtype", args.dtype, "--windows", str(args.windows),
                   "--warmup", str(args.warmup)] + (["--text", args.text] if args.text else [])
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PYTHONHASHSEED=os.environ.get("PYTHONHASHSEED", "0"))
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        names_file = Path(directory, "names.json")
        if result.returncode != 0 or not names_file.exists():
            raise SystemExit(f"instruction_counts: the counted run failed:\n{result.stderr[-3000:]}")
        names, counts = json.loads(names_file.read_text()), read_parts(directory)
    from common import format_table
    per_window = {name: counts[k + 1] / args.windows for k, name in enumerate(names)}
    numpy_count = per_window[names[0]]
    print(f"{args.dtype}, {args.windows} windows each, 1 thread; instructions counted by callgrind")
    print(format_table(["implementation", "instructions per window", "NumPy's count / this"],
                       [[name, f"{count:,.0f}", f"{numpy_count / count:.2f}"] for name, count in per_window.items()]))
    ours, nodes, bare = (per_window[name] for name in names[1:])
    print(f"framework (tinygrad_rnn minus its kernels called with no graph): {ours - bare:,.0f} per window, "
          f"{100 * (ours - bare) / ours:.1f}% of tinygrad_rnn's; of it the graph's machinery (tinygrad_rnn minus "
          f"its nodes called by hand) {ours - nodes:,.0f}, the nodes' bodies and the optimizer's {nodes - bare:,.0f}")

if __name__ == "__main__":
    main()
