"""Keep the memory a process frees for its later allocations instead of handing it back to the OS.

With glibc's malloc, blocks above its mmap threshold (128 KiB at first, raised as such blocks are freed)
each get fresh pages from the kernel, and free memory at the top of the heap beyond its trim threshold is
returned to the kernel. Code that allocates and frees the same large arrays over and over then touches
fresh pages every time, and each first touch is a page fault in which the kernel zeroes the page (2 MiB
at a time where NumPy asks for transparent huge pages). A training step's own large arrays no longer do
that: they come from :mod:`tinygrad_rnn.autograd.buffers`, which reuses the last step's. Before that pool,
these settings took the default ``tinygrad-rnn train`` from 371,000 page faults in 100 steps to 29,000 and
14-22% more tokens per second; with it, they gain that run nothing measurable (28,100 tokens/s with them,
28,700-28,900 without, two runs each), so the command no longer applies them. They remain for a script
whose own large arrays (outside the library's hot paths) churn.

:func:`retain_freed_memory` raises both thresholds: ``M_MMAP_THRESHOLD`` to its largest allowed value (32 MiB
on 64-bit systems; larger blocks keep their own mapping) and ``M_TRIM_THRESHOLD`` to 1 GiB, so that freed
blocks stay in the heap and later requests reuse pages that are already mapped. The process keeps up to
that much freed memory until it exits, and its peak grows a little (freed blocks that no later request
fits stay mapped too). The settings hold for the whole process, so the library never applies them itself;
a script calls this first thing.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1        # mallopt parameter numbers, from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 2**30


def _glibc():
    """The C library as a ctypes handle if it is glibc, else None."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        return ctypes.CDLL("libc.so.6")
    except (AttributeError, ValueError, OSError):   # no confstr name here (not glibc), or no such library
        return None


def retain_freed_memory() -> bool:
    """Make glibc's malloc keep the memory the process frees for later requests; process-wide.

    Raises malloc's mmap threshold to 32 MiB and its trim threshold to 1 GiB, so that freed blocks stay
    mapped and later requests reuse them instead of faulting in fresh, zeroed pages (the module docstring
    says when that still pays). Returns True if both settings took effect, False where the C library is not
    glibc (macOS, Windows, musl), where nothing is changed.
    """
    libc = _glibc()
    if libc is None:
        return False
    # Setting either threshold stops glibc from adapting the other, and a trim threshold alone would leave
    # every block above 128 KiB its own mapping: so the trim threshold only if the mmap threshold took.
    if libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) != 1:   # e.g. above a 32-bit system's limit
        return False
    return libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
