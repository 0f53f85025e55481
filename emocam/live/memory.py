"""Keep the live app's resident memory flat across recordings without slowing every frame (glibc's allocator;
elsewhere nothing happens).

What each recording left behind was not Python objects (tracemalloc stayed at 60 MB while resident memory rose)
but freed native memory that glibc kept. Every recording brings new threads (its encoder thread, libx264's), glibc
gives new threads arenas of their own (up to eight per core), and frame buffers freed in those arenas among other
threads' live blocks stayed resident: 0.8 MB per recording (`python -m tools.soak --minutes 5 --record-every 10
--record-seconds 5 --no-switch` on Megamind.avi, 720x528: 455 -> 476 MB).

The first fix kept every block of 128 KiB and more mmapped (a fixed mmap threshold). Memory stayed flat, but every
frame-sized temporary of every stage (a 640x480 float frame is 3.7 MB) became a fresh mapping, faulted in page by
page and unmapped again each frame, and each unmapping interrupts the process's other threads: the live window
stylizing 640x480 frames (`--temporal off`, in turns) ran at 15.8 and 17.0 fps with it, 17.5 and 20.0 fps with
one shared arena. `share_arenas` caps glibc's
arenas instead, so a recording's threads reuse arenas whose freed blocks the next frames fill again, and glibc
keeps its own threshold, reusing big blocks rather than mapping them anew. `release_freed_memory` hands back what
is free after each recording.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
ARENAS = 1  # the main arena only: every thread's freed blocks are there for every other thread to reuse


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
def share_arenas() -> bool:
    """Threads started from now on take an existing arena rather than a new one; whether glibc took the
    setting. Once per process, before the live app starts its threads."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, ARENAS))
