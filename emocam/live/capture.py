"""The live app's frames: a source opened for the frame loop and paced like a live feed.

`run_loop` reads a frames iterable; for the live view that iterable is `paced_frames`: a file plays at its
own frame rate and loops, a picture (or a folder of pictures) repeats, a camera comes at its own rate.
Pausing holds frames back instead of queueing them, so resuming shows the present, not a backlog.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from emocam.errors import EmocamError
from emocam.io.sources import Frame, Source, open_source


@dataclass
class Captured(Frame):
    """A source frame and the monotonic time it was taken (the HUD's latency and the recorder's clock)."""

    wall: float = 0.0


def is_camera(spec: str | int) -> bool:
    return isinstance(spec, int) or str(spec).strip().isdigit()


def source_label(spec: str) -> str:
    """How the window names a source: "camera 0" or the file name."""
    return f"camera {spec}" if is_camera(spec) else Path(spec).name


def open_live_source(spec: str) -> Source:
    """Open a camera index, video file (looping), picture or folder; every failure is one EmocamError line."""
    try:
        return open_source(spec, loop=True)
    except EmocamError:
        raise
    except Exception as exc:  # a camera backend or codec failing in its own way
        raise EmocamError(f"cannot open {source_label(spec)}: {type(exc).__name__}: {exc}") from None


def paced_frames(source: Source, paused: threading.Event, stop: threading.Event) -> Iterator[Captured]:
    """The frames of `source` as a live feed (see the module docstring); ends when `stop` is set."""
    camera = source.kind == "camera"
    interval = 1.0 / max(float(getattr(source, "fps", 0) or 30.0), 0.1)
    start, n, offset, t = time.monotonic(), 0, 0.0, 0.0
    while not stop.is_set():
        for frame in source.frames():
            if stop.is_set():
                return
            if camera:
                if paused.is_set():
                    continue  # keep reading so the camera's buffer stays fresh
            else:
                if paused.is_set():
                    while paused.is_set() and not stop.is_set():
                        time.sleep(0.05)
                    start, n = time.monotonic(), 0
                due, now = start + n * interval, time.monotonic()
                if due > now:
                    time.sleep(due - now)
                elif now - due > 0.5:  # decoding fell far behind: restart the clock rather than burst
                    start, n = now, 0
                n += 1
            t = offset + float(frame.time)
            yield Captured(frame.image, t, frame.index, frame.path, wall=time.monotonic())
        if source.kind != "images":
            return  # a looping file never gets here; a camera that stops raised instead
        offset = t + interval  # a picture or a folder shows again and again
