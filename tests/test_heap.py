"""Memory a finished phase freed goes back to the operating system (glibc's malloc_trim)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Run apart: the allocator settings below would stay with the test process otherwise.
SCRIPT = textwrap.dedent(
    """
    import ctypes, ctypes.util
    from asxh_pay.heap import release_free_memory

    def rss_kib():
        with open("/proc/self/status", encoding="ascii") as f:
            return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: blocks stay in the heap, as small objects do
    libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: free() alone gives nothing back
    blocks = [libc.malloc(64 << 10) for _ in range(1600)]  # 100 MiB of heap
    for b in blocks:
        ctypes.memset(b, 1, 64 << 10)
    keep = libc.malloc(16)  # on top of the freed blocks: the heap cannot simply shrink
    for b in blocks:
        libc.free(b)
    before = rss_kib()
    trimmed = release_free_memory()
    print(trimmed, before - rss_kib())
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc/self/status (Linux)")
def test_freed_heap_pages_are_returned() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "True"
    assert int(out[1]) > 50 << 10, out  # at least 50 of the 100 MiB given back


def test_tune_collector_makes_young_collections_rarer_and_keeps_higher_settings() -> None:
    import gc

    from asxh_pay.heap import MONTH_GC_THRESHOLDS, tune_collector

    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        assert tune_collector() == (700, 10, 10)
        assert gc.get_threshold() == MONTH_GC_THRESHOLDS
        # An application that chose a higher pace keeps it, gen by gen.
        gc.set_threshold(200_000, 5, 50)
        tune_collector()
        assert gc.get_threshold() == (200_000, MONTH_GC_THRESHOLDS[1], 50)
        # A collector switched off by threshold 0 stays off.
        gc.set_threshold(0)
        tune_collector()
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*saved)


def test_the_command_paces_the_collector_for_a_month() -> None:
    """``asxh-pay`` tunes the collector; importing the library does not."""
    code = textwrap.dedent(
        """
        import contextlib, gc, io
        print(gc.get_threshold()[0])
        import asxh_pay, asxh_pay.payroll.execute
        print(gc.get_threshold()[0])
        from asxh_pay.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            main(["config", "show"])
        print(gc.get_threshold()[0])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    default, imported, commanded = map(int, out)
    assert imported == default
    assert commanded == max(default, 50_000)
