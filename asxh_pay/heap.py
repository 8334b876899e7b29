"""Give memory freed by a finished phase back to the operating system.

Why: a month's phases (prepare, pay, close, reports, reconciliation) each build and drop
hundreds of megabytes at a province's scale. CPython frees the objects, but glibc's
allocator keeps the freed pages in its heaps, so the process's resident size only ever
grows and the next phase starts on top of the last one's high-water mark. ``malloc_trim``
hands the free pages back; elsewhere (musl, macOS, Windows) this is a harmless no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Collect garbage, then return free heap pages to the OS; True if the allocator could."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
