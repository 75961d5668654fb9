"""Large arrays that a training step reuses from the step before, instead of fresh memory each step.

A training step allocates the same large arrays every time (every step's gates, states, logits and
their gradients) and frees nearly all of them by the end of its backward pass. Freed, they go back to
the C library's malloc, which returns blocks above its mmap threshold, and free memory at the top of
its heap, to the kernel. The next step's arrays then land on fresh pages, and the first touch of each
page is a page fault in which the kernel maps and zeroes it. On the 2-core machine of the speed tables in
benchmarks/README.md, a small float32 LSTM training step (T 64, B 32, H 128) took 2,000 such faults and a
GRU step 4,200, which cost the LSTM a fifth of its time and the GRU almost half.

:func:`empty` is ``np.empty`` for the arrays of the hot paths (the sequence and step nodes, ``Linear``,
``cat``, ``Unbind``'s backward, cross-entropy; :func:`dot` and :func:`concatenate` write into it). It
keeps each large array it makes in a pool, keyed by shape and dtype, and hands out a view of it. A later
call with the same key takes back a pooled array that nothing else references any more: every view,
Tensor, node or variable that still holds an array adds one to its reference count, so a pooled array
whose count is the pool's own is garbage that CPython has not been asked to free. The step's arrays
then reuse the memory that the last step's used, already mapped.

Only arrays of at least ``MIN_BYTES`` are pooled: smaller ones come from malloc's free lists, already
mapped. The pool holds at most ``LIMIT_BYTES``; past that, it first drops the arrays no one uses,
then makes unpooled ones. :func:`clear` drops every pooled array nothing else holds (the memory goes
back to malloc). On an interpreter without a global lock, whose reference counts another thread may
be changing, and wherever the counts cannot be read as expected, :func:`empty` is plain ``np.empty``.

>>> a = empty((256, 256), np.float64)          # 512 KiB: pooled
>>> address = a.__array_interface__["data"][0]
>>> del a                                      # nothing holds it now
>>> empty((256, 256), np.float64).__array_interface__["data"][0] == address
True
"""
import math
import os
import sys
import threading

import numpy as np

__all__ = ["empty", "empty_like", "zeros", "dot", "concatenate", "clear", "pooled_bytes",
           "MIN_BYTES", "LIMIT_BYTES", "MAX_PER_KEY"]

MIN_BYTES = 1 << 17
"""Smallest array the pool keeps (128 KiB, glibc's initial mmap threshold)."""

LIMIT_BYTES = 1 << 30
"""Most memory the pool keeps, in bytes (1 GiB)."""

MAX_PER_KEY = 64
"""Most arrays pooled per shape and dtype (a sequence of one-node-per-step layers holds one per step)."""

_pool = {}                 # (shape, dtype) -> [base array, ...]
_pooled_bytes = 0
_lock = threading.Lock()   # two threads must not both take the same free array


def _new_lock_in_child():
    """A forked child gets a lock of its own: the parent's may have been held by a thread the child lacks."""
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def _unused(bucket, index, held):
    """Whether ``bucket[index]`` has the reference count ``held``, the count of an array only the pool holds."""
    return sys.getrefcount(bucket[index]) == held


def _free_index(bucket, held):
    """Index of the first array in ``bucket`` that only the pool holds, else -1."""
    for index in range(len(bucket)):
        if _unused(bucket, index, held):
            return index
    return -1


def _count_held_by_pool():
    """The reference count that :func:`_unused` reads for an array that only the pool holds, or None.

    Found by trial rather than assumed, since CPython versions count a subscript's temporary differently;
    checked to tell one more holder apart."""
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        return None
    bucket = [np.empty(1)]
    for held in range(1, 8):
        if _free_index(bucket, held) == 0:
            holder = bucket[0]           # noqa: F841  (a second reference must make it "in use")
            return held if _free_index(bucket, held) == -1 else None
    return None


_HELD = _count_held_by_pool()


def _pooled(nbytes):
    """Whether an array of ``nbytes`` comes from the pool: large enough, and the counts readable."""
    return nbytes >= MIN_BYTES and _HELD is not None


def _key(shape, dtype):
    """(shape as a tuple, the dtype, the bytes an array of them takes)."""
    dtype, shape = np.dtype(dtype), tuple(shape)
    return shape, dtype, dtype.itemsize * math.prod(shape)


def empty(shape, dtype):
    """An uninitialised C-contiguous array of ``shape`` and ``dtype``, as ``np.empty``, reusing a pooled one.

    Large arrays (at least ``MIN_BYTES``) are views of a pooled array; see the module docstring."""
    shape, dtype, nbytes = _key(shape, dtype)
    return _from_pool(shape, dtype, nbytes) if _pooled(nbytes) else np.empty(shape, dtype)


def empty_like(array):
    """:func:`empty` with ``array``'s shape and dtype (always C-contiguous)."""
    nbytes = array.nbytes
    if nbytes < MIN_BYTES or _HELD is None:   # ``_pooled`` written out: this runs several times per node
        return np.empty(array.shape, array.dtype)
    return _from_pool(array.shape, array.dtype, nbytes)


def zeros(shape, dtype):
    """:func:`empty` filled with zeros (``np.zeros`` itself for a small array)."""
    shape, dtype, nbytes = _key(shape, dtype)
    if not _pooled(nbytes):
        return np.zeros(shape, dtype)
    out = _from_pool(shape, dtype, nbytes)
    out.fill(0)
    return out


def _from_pool(shape, dtype, nbytes):
    """A view of a pooled array of this key that nothing else holds, or of a new one (pooled if it fits)."""
    key = (shape, dtype)
    with _lock:
        bucket = _pool.get(key)
        if bucket is None:
            bucket = _pool[key] = []
        index = _free_index(bucket, _HELD)
        if index >= 0:
            return bucket[index].view()
        base = np.empty(shape, dtype)
        _keep(bucket, base, nbytes)
        return base.view()


def dot(a, b):
    """``np.dot(a, b)`` for 2-D ``a`` and ``b``; a large product of one dtype goes into an array from :func:`empty`."""
    rows, columns = a.shape[0], b.shape[1]
    nbytes = rows * columns * a.itemsize
    if nbytes < MIN_BYTES or _HELD is None or a.dtype != b.dtype:
        return np.dot(a, b)
    return np.dot(a, b, out=_from_pool((rows, columns), a.dtype, nbytes))


def concatenate(arrays, axis=0):
    """``np.concatenate(arrays, axis)`` into an array from :func:`empty` when all have one dtype and rank."""
    if not arrays:
        return np.concatenate(arrays, axis=axis)
    first = arrays[0]
    if any(a.dtype != first.dtype or a.ndim != first.ndim for a in arrays) or not -first.ndim <= axis < first.ndim:
        return np.concatenate(arrays, axis=axis)
    shape = list(first.shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    return np.concatenate(arrays, axis=axis, out=empty(shape, first.dtype))


def _keep(bucket, base, nbytes):
    """Add ``base`` to its bucket if the limits allow (first dropping unused arrays at the byte limit)."""
    global _pooled_bytes
    if len(bucket) >= MAX_PER_KEY:
        return
    if _pooled_bytes + nbytes > LIMIT_BYTES:
        _drop_unused()
        if _pooled_bytes + nbytes > LIMIT_BYTES:
            return
    bucket.append(base)
    _pooled_bytes += nbytes


def _drop_unused():
    """Forget every pooled array that nothing else holds; its memory goes back to malloc."""
    global _pooled_bytes
    for key in list(_pool):
        bucket = _pool[key]
        kept = [bucket[index] for index in range(len(bucket)) if not _unused(bucket, index, _HELD)]
        if kept:
            _pool[key] = kept
        else:
            del _pool[key]
    _pooled_bytes = sum(base.nbytes for bucket in _pool.values() for base in bucket)


def clear():
    """Drop every pooled array that nothing else holds, so that its memory goes back to malloc."""
    with _lock:
        _drop_unused()


def pooled_bytes():
    """Bytes of all arrays in the pool, in use or not."""
    return _pooled_bytes
