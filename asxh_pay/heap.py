"""The process's heap at a month's scale: the collector's pace, and memory given back.

Why the collector: CPython starts a young-generation collection every 700 net allocations
and a full one whenever a quarter more objects have survived to the old generation. A
month keeps hundreds of thousands of objects alive (books, queues, payouts in flight), and
the payouts in flight live just long enough to be promoted, so full collections came
every few seconds and each walked the whole heap: 8 s of a 20,000 month and 49 s of a
100,000 one, growing faster than the month. :func:`tune_collector` makes young
collections rarer, so that short-lived objects die by reference counting before they are
promoted; cycles are still collected, only later.

Why memory given back: a month's phases (prepare, pay, close, reports, reconciliation)
each build and drop hundreds of megabytes at a province's scale. CPython frees the
objects, but glibc's allocator keeps the freed pages in its heaps, so the process's
resident size only ever grows and the next phase starts on top of the last one's
high-water mark. ``malloc_trim`` hands the free pages back; elsewhere (musl, macOS,
Windows) this is a harmless no-op.
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


#: Thresholds for a month's run: young collections every 50,000 net allocations instead of
#: 700 (a few megabytes of garbage cycles may wait a little longer), full ones at most
#: every 20 x 10 young ones.
MONTH_GC_THRESHOLDS = (50_000, 20, 10)


def tune_collector(thresholds: tuple[int, int, int] = MONTH_GC_THRESHOLDS) -> tuple[int, int, int]:
    """Pace the cyclic collector for a long run; returns the thresholds it had.

    Called by the ``asxh-pay`` command, not on import: a library must not change the
    collector of the application that imports it. An application paying big months
    itself may call it too. A threshold already higher is kept, and a collector switched
    off (threshold 0) stays off.
    """
    previous = gc.get_threshold()
    if previous[0] == 0:
        return previous
    t0, t1, t2 = (max(mine, theirs) for mine, theirs in zip(thresholds, previous, strict=True))
    gc.set_threshold(t0, t1, t2)
    return previous


def release_free_memory() -> bool:
    """Collect garbage, then return free heap pages to the OS; True if the allocator could."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
