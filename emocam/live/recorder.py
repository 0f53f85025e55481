"""Record shown frames on an encoder thread with a bounded queue: fragmented while it runs, regular when done.

While recording, frames go to `NAME.partial.mp4`, a fragmented MP4 that stays playable after a crash. When
the recording stops the file is remuxed (stream copy) into a regular MP4 with its index at the front under
`NAME.mp4` (`emocam.io.remux`), which browsers and editors read whole; if that fails, the partial file
is kept and `error` says where.
"""

from __future__ import annotations

import math
import queue
import threading
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from emocam.io.output_paths import clear_scratch, partial_path
from emocam.errors import EmocamError
from emocam.live.imageops import letterbox
from emocam.live.memory import release_freed_memory
from emocam.live.priority import lower_priority


class Sink(Protocol):
    def encode(self, rgb: np.ndarray, time: float) -> None: ...
    def close(self) -> None: ...


MAX_RATE = 30


def _video_sink(path: Path, size: tuple[int, int], fps: float) -> Sink:
    from emocam.io.sinks import VideoSink

    return VideoSink(path, size=size, fps=fps, low_latency=True)


RECORD_SUFFIXES = (".mp4", ".m4v", ".mov")  # fragmented while recording: playable up to the last second after a crash


def check_record_path(path: str | Path, option: str = "recording") -> Path:
    """`path` if a recording can go there (an .mp4 in an existing folder), else one EmocamError line."""
    path = Path(path)
    if path.suffix.lower() not in RECORD_SUFFIXES:
        raise EmocamError(f"{option} must name an .mp4 file, got {path.name}")
    if not path.parent.resolve().is_dir():
        raise EmocamError(f"{option}: folder {path.parent} does not exist")
    return path


def file_rate(live_fps: float, limit: float = MAX_RATE) -> int:
    """The file's constant frame rate: a little above the live rate (so no live frame is lost), at most `limit`."""
    return int(min(max(2, math.ceil(live_fps * 1.25)), max(2, math.floor(limit))))


_STOP = object()


class Recorder:
    """Opens the sink at once (bad paths fail here, as EmocamError) and encodes off the caller's thread.

    The file has a constant rate `rate` just above `live_fps` (the rate frames arrive at): each frame goes in
    the slot of its wall-clock time since the first one, and a slot the live view skipped repeats the frame
    before. So the file plays at the speed it was seen, and VideoSink's keyframe every `rate` frames (each one
    closes a fragment that survives kill -9) comes every second whatever the live rate.
    When the encoder falls behind, new frames are dropped (`dropped`) rather than delaying the live view.
    """

    def __init__(
        self,
        path: str | Path,
        size: tuple[int, int],
        live_fps: float,
        *,
        max_rate: float = MAX_RATE,
        queue_frames: int = 16,
        sink_factory: Callable[[Path, tuple[int, int], float], Sink] = _video_sink,
    ) -> None:
        self.path = check_record_path(path)
        self.size = (int(size[0]) // 2 * 2, int(size[1]) // 2 * 2)  # H.264 4:2:0 needs even sizes
        self.rate = file_rate(live_fps, max_rate)
        self.writing = partial_path(self.path)  # the crash-safe file while recording
        self.remuxed = False
        try:
            clear_scratch(self.writing)
            self._sink = sink_factory(self.writing, self.size, self.rate)
        except EmocamError:
            raise
        except Exception as exc:
            raise EmocamError(f"cannot record to {self.path}: {exc}") from None
        self.frames_written = 0  # slots in the file, repeats included
        self.repeats = 0
        self.dropped = 0  # live frames not recorded (encoder behind, or two in one slot)
        self.error: str | None = None
        self._t0: float | None = None
        self._slot = -1
        self._closed = False
        self._queue: queue.Queue = queue.Queue(maxsize=queue_frames)
        self._thread = threading.Thread(target=self._run, name="emocam-recorder", daemon=True)
        self._thread.start()

    @property
    def seconds(self) -> float:
        """Recorded duration so far (time of the last written frame)."""
        return max(self._slot, 0) / self.rate

    def submit(self, rgb: np.ndarray, wall: float) -> None:
        """Queue one frame seen at monotonic time `wall`; never blocks."""
        if self._closed or self.error:
            return
        if self._t0 is None:
            self._t0 = wall
        try:
            self._queue.put_nowait((rgb, wall - self._t0))
        except queue.Full:
            self.dropped += 1

    def close(self) -> None:
        """Finish the queued frames, close the file and give it its final name as a regular MP4."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        try:
            self._sink.close()
        except Exception as exc:
            self.error = self.error or f"recording failed while closing: {exc}"
        self._sink = None  # the encoder and its buffers go now, not when the next recording replaces this one
        self._finish_file()
        release_freed_memory()  # the encoder's freed memory back to the system (see emocam.live.memory)

    def _finish_file(self) -> None:
        """A recording with frames becomes a regular MP4 under its name (even one stopped by an error: what
        was written plays); an empty one leaves nothing behind."""
        if self.frames_written == 0:
            self.writing.unlink(missing_ok=True)
            return
        from emocam.io.remux import remux_to_regular

        try:
            remux_to_regular(self.writing, self.path)
            self.remuxed = True
        except EmocamError as exc:
            self.error = f"{self.error}; {exc}" if self.error else str(exc)

    def _run(self) -> None:
        lower_priority()  # the encoder (and the x264 threads it starts) yields the CPU to the live view
        previous = None
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self.error:
                continue
            rgb, t = item
            slot = round(t * self.rate)
            if slot <= self._slot:
                self.dropped += 1
                continue
            if rgb.shape[1::-1] != self.size:
                rgb = letterbox(rgb, self.size)
            gap = slot - self._slot - 1
            if previous is not None and gap <= 2 * self.rate:  # longer gaps (a pause) stay gaps
                for s in range(self._slot + 1, slot):
                    self._write(previous, s)
                    self.repeats += 1
            self._write(rgb, slot)
            previous = rgb

    def _write(self, rgb: np.ndarray, slot: int) -> None:
        if self.error:
            return
        try:
            self._sink.encode(rgb, slot / self.rate)
        except Exception as exc:
            self.error = f"recording stopped: {' '.join(str(exc).split())}"
            return
        self._slot = slot
        self.frames_written += 1
