"""A meeting point of two threads, for tests that two pieces of work really run at the same time."""
from __future__ import annotations

import threading


class Rendezvous:
    """`meet()` returns once the other party has called it too, and records True; a party left alone waits
    `timeout` seconds and records False (run one after the other, the first caller always waits in vain)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._barrier = threading.Barrier(2)
        self.timeout = timeout
        self.met: list[bool] = []

    def meet(self) -> None:
        try:
            self._barrier.wait(timeout=self.timeout)
            self.met.append(True)
        except threading.BrokenBarrierError:
            self.met.append(False)
