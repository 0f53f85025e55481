"""Background threads (encoder, thumbnails) give way to the live view."""

from __future__ import annotations

import os
import threading


def lower_priority(step: int = 5) -> None:
    """Raise the calling thread's nice value (Linux schedules each thread); threads it starts inherit it.

    Where the platform has no per-thread priority this does nothing.
    """
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except (AttributeError, OSError):
        pass
