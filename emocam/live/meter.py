"""A frame-rate meter (Qt-free: the window's HUD and the recorder's rate both use it)."""

from __future__ import annotations

import time
from collections import deque


class FpsMeter:
    """Frames per second over the last `window_s` seconds."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._times.append(now)
        self._forget(now)

    def ready(self) -> bool:
        """True once at least a second of frames (three or more) has been measured."""
        return len(self._times) >= 3 and self._times[-1] - self._times[0] >= 1.0

    def fps(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._forget(now)
        if len(self._times) < 2:
            return 0.0
        span = now - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def _forget(self, now: float) -> None:
        """Drop frames older than the window, but keep the last three: a source slower than a frame a second
        (an overloaded machine) must still be measurable, or a recording waiting for the rate never starts."""
        while len(self._times) > 3 and now - self._times[0] > self.window_s:
            self._times.popleft()
