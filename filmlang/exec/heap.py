"""The process's heap, kept from growing with the film: big buffers go back to the system.

glibc's malloc serves a request over its mmap threshold with a mapping of its own and
unmaps it on free; smaller ones come from its heaps, which keep what is freed for reuse
and can only shrink from the top. The threshold starts at 128 KiB but rises to the size
of every mapped block freed, up to 32 MiB, so once the first 30-second piece of the mix
(23 MB of float64) has been freed, every later piece, music window and frame buffer comes
from a heap. A long build interleaves those with small objects that live on (results,
records, caches), and each small one pins the heap under it: the peak of a cold build
grew with the film while an edit's did not.

`bound_heap` fixes the threshold at `THRESHOLD` (`mallopt(M_MMAP_THRESHOLD)`, which also
stops the rise): buffers of the mix and the music are mapped and given back whole, frames
and stills (2.7 MB for 720p RGB, 4.3 MB for its still) stay in the heaps, where they are
reused at once. Measured on `bench/scale.py`'s films at 720p, cold builds: 657 → 499 MB
peak at 5 minutes, 586 → 460 MB at 1 minute, and the 60-minute film's peak 1.20 times the
1-minute film's (1.61 before). The price is system CPU: every buffer of 8 MiB or more is
mapped and zeroed afresh (about 3.5 s more on the 1-minute film, against 3.3 s in all
before; docs/performance.md). 1 MiB cut the peak further but cost a third more CPU (a
page fault per new page of every frame). Set `MALLOC_MMAP_THRESHOLD_` to choose another
trade (glibc reads it at start, and this module then leaves malloc alone).

Written here, not taken from a library: it is one call to the C library, through ctypes.
Only where glibc is (Linux); elsewhere, or when the user set MALLOC_MMAP_THRESHOLD_ (glibc
then reads it at start), nothing is changed. Called by the executors before their first
job, once per process.
"""

from __future__ import annotations

import os
import sys

THRESHOLD = 8 << 20
"""Bytes: requests of this size or more are mapped, and unmapped when freed."""
M_MMAP_THRESHOLD = -3
"""glibc's mallopt parameter number (malloc.h)."""

_done: list[bool] = []


def bound_heap() -> bool:
    """Fix this process's mmap threshold at THRESHOLD, once; whether it is fixed now."""
    if _done:
        return _done[0]
    fixed = False
    if sys.platform.startswith("linux") and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        import ctypes

        try:
            libc = ctypes.CDLL("libc.so.6")
            fixed = bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD))
        except (OSError, AttributeError):  # not glibc (musl has no mallopt)
            fixed = False
    _done.append(fixed)
    return fixed
