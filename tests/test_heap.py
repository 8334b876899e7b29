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
