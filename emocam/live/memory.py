"""Give freed native memory back to the system after a recording.

Each recording's encoder (libx264 and its worker threads) allocates from glibc's per-thread arenas; once it is
closed the memory is free but stays in those arenas. `python -m tools.soak --minutes 5 --record-ab 30` (a recording
started every minute) grew 12 MB/min without this and 6 MB/min with it (with MALLOC_ARENA_MAX=2 instead: 5 MB/min,
flat in the last minute). So this halves the growth, it does not end it. Elsewhere than glibc this does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def release_freed_memory() -> bool:
    """Return free heap memory to the system; whether it could be asked."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
