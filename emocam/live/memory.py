"""Keep the live app's resident memory flat across recordings (glibc's allocator; elsewhere nothing happens).

What each recording left behind was not Python objects (tracemalloc stayed at 60 MB while resident memory rose)
but freed native memory that glibc kept. glibc serves big blocks (a 720x528 RGB frame is 1.1 MB) with mmap and
gives them back on free, but each such free raises its mmap threshold (up to 32 MB), so later frame buffers come
from the per-thread arenas instead. Every recording brings new threads (its encoder thread, libx264's) whose
frame buffers, freed in those arenas among other threads' live blocks, stayed resident. Measured with
`python -m tools.soak --minutes 5 --record-every 10 --record-seconds 5 --no-switch` on Megamind.avi (720x528):
0.8 MB per recording before (455 -> 476 MB), noise with MALLOC_ARENA_MAX=2, and with the threshold fixed at
128 KiB flat (401-405 MB over 29 recordings, +0.006 MB per recording). So `keep_big_blocks_mapped` fixes the
threshold (which also stops the dynamic adjustment) when the live app starts, and `release_freed_memory` hands
back what is free after each recording.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's default starting value, now kept


@functools.lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def release_freed_memory() -> bool:
    """Return free heap memory to the system; whether it could be asked."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


@functools.lru_cache(maxsize=1)
def keep_big_blocks_mapped() -> bool:
    """Blocks of 128 KiB and more (frames, encoder buffers) are mmapped and go back to the system when freed,
    whichever thread freed them; whether glibc took the setting. Once per process."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
