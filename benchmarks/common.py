"""Shared helpers for the benchmark scripts: thread settings, timing, the machine's GEMM rate, tables.

NumPy's BLAS reads its thread count from the environment when NumPy is first imported, so a script
calls :func:`configure_threads` before it imports NumPy (this module imports NumPy only inside functions).
"""
import functools
import os
import platform
import statistics
import sys
import time
import warnings

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def configure_threads(default):
    """Read ``--threads N`` from sys.argv (``default`` if absent) and export it to every BLAS/OpenMP
    thread variable. Must run before NumPy is imported to take effect; warns if it was not."""
    threads = default
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            threads = int(sys.argv[i + 1])
        elif arg.startswith("--threads="):
            threads = int(arg.split("=", 1)[1])
    if "numpy" in sys.modules:
        warnings.warn(f"configure_threads: NumPy was imported first, so its BLAS keeps the thread count it "
                      f"started with, not necessarily {threads}", stacklevel=2)
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    return threads


def time_call(fn, repeats, max_seconds, warmup=1):
    """Run ``fn`` ``warmup`` times, then up to ``repeats`` times or until ``max_seconds`` have passed
    (at least once). Returns (median seconds, list of all timed seconds, first warm-up seconds)."""
    first = None
    for _ in range(warmup):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        first = elapsed if first is None else first
    times = []
    deadline = time.perf_counter() + max_seconds
    while len(times) < repeats and (not times or time.perf_counter() < deadline):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, first


def timed_turn(fn, settle_seconds=0.0):
    """One turn of a turn-taking measurement: with ``settle_seconds`` > 0, call ``fn`` untimed, again and
    again until that long has passed; then return the seconds of one more, timed call.

    The first call of a turn runs in a state that a loop of calls never sees. Multithreaded BLAS and
    OpenMP pools keep their idle threads spinning on the cores for a while after their last parallel
    call (OpenBLAS's for up to about 0.1 s), so it would run against the previous turn's spinning
    threads; and the caches hold the previous contender's data, which slowed a 0.7 s training step
    by about 30% even at one thread. Sleeping instead is no cure: the threads then fall asleep, and
    waking them costs the next call."""
    if settle_seconds > 0:
        turn_start = time.perf_counter()
        fn()
        while time.perf_counter() - turn_start < settle_seconds:
            fn()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_in_turns(turns, repeats, max_seconds):
    """Take turns (a, b, a, b, ...) ``repeats`` times, or fewer once ``max_seconds`` per contender have
    passed (at least one round), so that the contenders share whatever else the machine is doing. ``turns``
    maps name -> callable that runs one turn and returns its timed seconds. Returns name -> sorted seconds."""
    times = {name: [] for name in turns}
    deadline = time.perf_counter() + max_seconds * len(turns)
    for round_ in range(repeats):
        if round_ and time.perf_counter() > deadline:
            break
        for name, turn in turns.items():
            times[name].append(turn())
    return {name: sorted(t) for name, t in times.items()}


def time_interleaved(fns, repeats, max_seconds, warmup=2, settle_seconds=0.0):
    """Time several callables of this process in turns (:func:`time_in_turns`), each turn a
    :func:`timed_turn`, after ``warmup`` untimed calls of each. ``fns`` maps name -> callable.
    Returns name -> sorted list of timed seconds (at least one each)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    return time_in_turns({name: functools.partial(timed_turn, fn, settle_seconds) for name, fn in fns.items()},
                         repeats, max_seconds)


def gemm_gflops(dtype, size=1024, max_seconds=2.0):
    """GFLOP/s of NumPy's ``a @ b`` on square ``size`` x ``size`` matrices of ``dtype`` (median of runs)."""
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    out = np.empty((size, size), dtype)
    median, _, _ = time_call(lambda: np.matmul(a, b, out=out), repeats=20, max_seconds=max_seconds, warmup=2)
    return 2.0 * size ** 3 / median / 1e9


def machine_header(threads):
    """Lines describing the machine and the settings that change the numbers."""
    import numpy as np
    lines = [
        f"python {platform.python_version()}  numpy {np.__version__}  machine {platform.machine()}  "
        f"cpus {os.cpu_count()}  threads {threads}",
        "env: " + "  ".join(f"{var}={os.environ.get(var, '(unset)')}" for var in THREAD_VARS)
        + f"  OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}",
    ]
    try:
        import numba
        lines[0] += f"  numba {numba.__version__}"
    except ImportError:
        pass
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        lines.append(f"blas: {blas.get('name', '?')} {blas.get('version', '')}".rstrip())
    except Exception:   # show_config's layout is not a stable API; the header is informative only
        pass
    core = openblas_core()
    if core:
        lines[-1] += f"  (OpenBLAS kernels: {core})"
    lines.append("cpu: " + cpu_description())
    from tinygrad_rnn.kernels.machine import kernel_vector_bits, kernels_wider_than_blas
    lines[-1] += f"  (numba kernels: {kernel_vector_bits()}-bit vectors"
    lines[-1] += ", wider than the BLAS's)" if kernels_wider_than_blas() else ")"
    return lines


def openblas_core():
    """The core type whose kernels the loaded OpenBLAS runs (e.g. 'Haswell', 'SkylakeX'), or None: the
    package's own reading (``tinygrad_rnn.kernels.machine``), which also decides how far its compiled loops reach."""
    # Imported on call, not at the top: importing the package imports NumPy, which must wait for configure_threads.
    from tinygrad_rnn.kernels.machine import openblas_core as core
    return core()


def cpu_description():
    """The CPU's model name and its widest x86 vector extension, as /proc/cpuinfo gives them."""
    model, flags = platform.processor() or "?", set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    widest = next((ext for ext in ("avx512f", "avx2", "avx") if ext in flags), None)
    return model + (f", {widest}" if widest else "")


def format_table(headers, rows, min_width=0):
    """A plain-text table with right-aligned columns (None prints as '-'); with ``min_width`` wide
    enough for every cell, tables printed a row at a time line up with their header."""
    text_rows = [[("-" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [max(len(h), min_width, *(len(r[i]) for r in text_rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in text_rows]
    return "\n".join(lines)


def fmt(value, digits=2):
    """A number with ``digits`` decimals, or None when there is no value."""
    return None if value is None else f"{value:.{digits}f}"


def try_import_torch():
    """torch, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch
