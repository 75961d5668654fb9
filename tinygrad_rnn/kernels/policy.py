"""The one numba policy every kernel in ``tinygrad_rnn.kernels`` is compiled with.

    @kernel
    def scale_fwd(x, out):
        ...

* ``cache=True``: machine code is stored on disk next to the source (``__pycache__``), so a
  new process loads a kernel in milliseconds instead of compiling it again. A damaged cache file
  counts as a miss (the kernel is compiled again), never as an error; an edit to any module of
  this package makes every cached kernel stale (numba itself would look at one file only).
* ``nogil=True``: a running kernel releases the GIL.
* ``error_model='numpy'``: ``1.0 / 0.0`` gives ``inf`` and ``0.0 / 0.0`` gives ``nan`` instead of
  raising, exactly like NumPy arrays do.
* ``fastmath={'nsz', 'arcp', 'contract'}``: ignore the sign of zero, allow ``a / b`` as
  ``a * (1 / b)`` and allow fused multiply-add. Deliberately *without* ``nnan``/``ninf``: a loss
  must be able to see ``inf`` and ``nan``, and comparisons with ``nan`` keep their IEEE meaning.
  No approximate transcendental functions are enabled; the gate kernels take ``exp`` from
  :mod:`tinygrad_rnn.kernels.scalar_math` (arithmetic only, so it vectorises; within 1e-15 in
  float64, about 2 ulp in float32), so a fused kernel agrees with the plain NumPy composition of
  the same equation to about 1e-12 in float64.
* Literals such as ``1.0`` are float64 to numba, and float32 mixed with float64 is computed in
  float64 (half as many SIMD lanes, plus conversions). Kernels therefore write the constant one
  as ``one = x.dtype.type(1.0)``, which has the array's own type; outputs always keep the
  caller's dtype.
* No signatures are given: compilation is lazy and happens once per argument dtype on the first
  call, so float32 arrays get their own compiled code and are never copied to float64.

``inline_kernel`` is ``kernel`` plus ``inline='always'``, for kernels that other kernels call.
``parallel_kernel`` adds ``parallel=True`` so that ``numba.prange`` over the batch runs on several
threads. It is applied nowhere: measured on the 2-core reference machine it never beat the serial
kernel at RNN sizes (see ``tinygrad_rnn/kernels/cells.py``); it is here for experiments.

Setting the environment variable ``NUMBA_DISABLE_JIT=1`` turns every kernel back into the plain
Python function it was written as; the test suite runs that way too.

Kernels check the shapes of their arguments and raise ``ValueError`` naming the argument, because
numba does not check bounds. The messages are constant strings: numba compiles a constant message
in no time, while building one from the actual shapes made each kernel compile about ten times
slower. The autograd layer checks user input, with the numbers, before a kernel is reached. The
one exception are the step kernels' ``*_unchecked`` twins in :mod:`.cells`, which only the time
loops call, after checking every shape once (each compiled check costs compile time).

>>> sorted(FASTMATH)
['arcp', 'contract', 'nsz']
"""

import functools
import os
from pathlib import Path

import numba

FASTMATH = frozenset({"nsz", "arcp", "contract"})
"""LLVM fast-math flags allowed in kernels: never ``nnan``, ``ninf``, ``afn`` or ``reassoc``."""

_OPTIONS = dict(cache=True, nogil=True, error_model="numpy", fastmath=set(FASTMATH))


def _tolerate_damaged_cache(dispatcher):
    """Treat an unreadable on-disk cache entry as a miss: compile afresh and write a clean entry.

    numba raises whatever its unpickler meets in a truncated or garbled ``.nbi``/``.nbc`` file (an
    interrupted write, a full disk, a copied directory), and then every call of the kernel fails.
    Here such a load returns "not cached"; the damaged index is removed so the fresh compile can
    save a new one. Any failure to save just leaves the kernel uncached for this process.
    """
    cache = getattr(dispatcher, "_cache", None)
    if cache is None:                      # NUMBA_DISABLE_JIT=1: a plain Python function
        return dispatcher
    load, save = cache.load_overload, cache.save_overload

    def load_overload(sig, target_context):
        try:
            return load(sig, target_context)
        except Exception:                  # any unpickling error of a damaged file means "not cached"
            index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
            if index:
                try:
                    os.unlink(index)
                except OSError:
                    pass
            return None

    def save_overload(sig, data):
        try:
            save(sig, data)
        except Exception:                  # e.g. a damaged index another process is rewriting
            pass

    cache.load_overload, cache.save_overload = load_overload, save_overload
    return dispatcher


@functools.lru_cache(maxsize=None)
def _package_source_stamp():
    """(name, mtime, size) of every module of this package: what a cached kernel was built from.

    Read once per process (the files do not change under a running program), not once per kernel."""
    return tuple((p.name, p.stat().st_mtime, p.stat().st_size) for p in sorted(Path(__file__).parent.glob("*.py")))


def _stale_when_any_kernel_module_changes(dispatcher):
    """Make a kernel's disk cache stale when any module of ``tinygrad_rnn.kernels`` changes.

    numba checks only the stamp of the file that defines a kernel, but the kernels here also
    compile in code from other modules (the scalar ``sigmoid``/``tanh`` of ``scalar_math``): an
    edit there must not leave old machine code in use.
    """
    cache = getattr(dispatcher, "_cache", None)
    cache_file = getattr(cache, "_cache_file", None)
    if cache_file is not None and hasattr(cache_file, "_source_stamp"):
        cache_file._source_stamp = (cache_file._source_stamp, _package_source_stamp())
    return dispatcher


def kernel(fn):
    """Compile ``fn`` lazily with the package's numba policy (serial)."""
    return _tolerate_damaged_cache(_stale_when_any_kernel_module_changes(numba.njit(**_OPTIONS)(fn)))


def inline_kernel(fn):
    """Like :func:`kernel`, and inlined into the compiled kernels that call it (numba's ``inline='always'``).

    A kernel called from another kernel is otherwise compiled as a function of its own, each adding its
    share to the first step's compile time; inlined, it is compiled as part of its caller. Used for the
    step kernels and helpers that the whole-sequence loops call (measured: a tiny RNN's, LSTM's or GRU's
    first training step with an empty cache took about 10% less CPU time, the loops ran as fast). Called
    from Python it is an ordinary kernel.
    """
    return _tolerate_damaged_cache(
        _stale_when_any_kernel_module_changes(numba.njit(inline="always", **_OPTIONS)(fn)))


def parallel_kernel(fn):
    """Like :func:`kernel`, and run ``numba.prange`` loops on numba's thread pool."""
    return _tolerate_damaged_cache(
        _stale_when_any_kernel_module_changes(numba.njit(parallel=True, **_OPTIONS)(fn)))


prange = numba.prange
"""``numba.prange``: a plain ``range`` under :func:`kernel`, a threaded loop under :func:`parallel_kernel`."""

