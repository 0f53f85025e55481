"""A one-slot, thread-safe mailbox: the newest item wins, stale ones are dropped."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """`put` replaces an unread item (counted in `dropped`); `get` waits for the newest one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._full = False
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        """Store `item`, replacing (dropping) any unread one."""
        with self._cond:
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T | None:
        """The newest item, waiting up to `timeout` s; None on timeout or once closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._full or self._closed, timeout)
            return self._take()

    def take(self) -> T | None:
        """The newest item if there is one, without waiting."""
        with self._cond:
            return self._take()

    def close(self) -> None:
        """Wake every waiter; later `get` calls return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _take(self) -> T | None:
        if not self._full:
            return None
        item, self._item, self._full = self._item, None, False
        return item
