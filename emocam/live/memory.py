"""Give freed native memory back to the system after a recording.

Each recording's encoder (libx264 and its worker threads) allocates from glibc's per-thread arenas; when it is
closed the memory is free but stays in those arenas, so a session that starts and stops many recordings grew by
about 12 MB per recording (tools.soak --record-ab). `malloc_trim` returns it. Elsewhere than glibc this does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_freed_memory() -> bool:
    """Return free heap memory to the system; whether it could be asked."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
