"""Helper threads for work the caller does not need yet: the style network while the temporal engine measures
the flow, the tracked faces' meshes while the detector runs, a render's styling of one frame while the next is
analysed.

OpenVINO, onnxruntime and OpenCV all release the GIL while they work: started together, the two sides share the
cores instead of taking turns. Measured on the bundled clip (2-core Xeon, `stable`, the network on OpenVINO bf16),
the network beside the flow: at 320 px 23.2-25.4 -> 19.6-20.6 ms a frame; at full size 65.5 -> 64 ms (there
the network alone fills both cores).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")
WORKERS = 3  # a render's styling of one frame, its style network, and the next frame's tracked meshes

_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    """This process's helper threads (made anew in a forked child, which has none of its parent's threads)."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(WORKERS, thread_name_prefix="emocam-network"))
        return _pool[1]


def submit(call: Callable[[], T]) -> "Future[T]":
    """Start `call` now on a helper thread."""
    return _executor().submit(call)


def started(call: Callable[[], T]) -> Callable[[], T]:
    """Start `call` now on a helper thread; returns the wait for its result (which raises what `call` raised)."""
    return submit(call).result
