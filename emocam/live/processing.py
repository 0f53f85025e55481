"""The live view's frame step: the pipeline on the newest frame, plus the overlay, on the processing thread.

The processing thread analyses each frame (`Pipeline.analyse`: faces, their edit, their emotions) and a styler
thread styles it (`Pipeline.finish`); the step returns a future that the frame loop's writer waits for, so
frames go out in order the moment they are styled. While the styling takes less than twice the analysis (the
expression edit at 320 px), the next frame is analysed while this one is styled: on a CPU the single-threaded
analysis fills the core the style network leaves idle. When the styling takes longer (full-size stylization),
overlapping would make each frame wait for the styler longer than its analysis took, adding latency for
little gain, so the step waits for each frame's styling before it takes the next.

Every change from the window arrives through one channel (`send`): a whole new `Settings`, or a reset
when the source changes. The step takes what is waiting before the next frame, keeps only the newest
settings, and applies them once: `Pipeline.apply` rebuilds only what changed, view fields (overlay parts)
remake the `Annotator`. Nothing the window does touches the pipeline or the annotator directly.
When the pipeline cannot be built the step passes the raw frames through with a warning.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from emocam.errors import EmocamError
from emocam.live.capture import Captured
from emocam.pipeline.annotate import Annotator
from emocam.pipeline.loop import Processed
from emocam.settings import Settings, changed, meta

RESET = "reset"  # a new source: forget faces and timing


@dataclass
class Event:
    """A message from the processing side to the window: opened, ended, error, warning, devices, or settings
    (the fields the pipeline refused, with the values still in force)."""

    kind: str
    text: str = ""
    data: Any = None


@dataclass
class LiveFrame(Processed):
    """A processed live frame: `image` (from Processed) is what outputs get; `display` what the window shows."""

    raw: np.ndarray | None = None
    display: np.ndarray | None = None
    latency_ms: float = 0.0  # capture -> processed
    overlapped: bool = False  # the next frame was analysed while this one was styled


class LiveStep:
    """Callable per frame by `run_loop`; holds the pipeline: the analysis runs on the calling thread, the
    styling on the step's styler thread, each part's frames in order."""

    def __init__(self, settings: Settings, events: "queue.Queue[Event]", make_pipeline: Callable[..., Any] | None = None) -> None:
        self.settings = settings.copy()
        self.events = events
        self.pipeline: Any = None
        self.annotator = self._annotator(self.settings)
        self._make_pipeline = make_pipeline
        self._channel: "queue.Queue[Settings | str]" = queue.Queue()
        self._build_failed = False
        self._warning = ""
        self._devices: dict[str, str] = {}
        self._lock = threading.Lock()  # a replaced source's loop may still be finishing its last frame
        self._styler = ThreadPoolExecutor(1, thread_name_prefix="emocam-style")
        self._pending: Future | None = None  # the frame being styled: its LiveFrame when done
        self._analysis_s = self._styling_s = 0.0  # recent seconds per frame of each part (moving averages)
        self._warn_lock = threading.Lock()  # warnings come from both threads

    def send(self, change: "Settings | str") -> None:
        """The one channel into the processing thread: new settings (copied here) or RESET."""
        self._channel.put(change.copy() if isinstance(change, Settings) else change)

    def __call__(self, frame: Captured) -> "Future[LiveFrame]":
        """Analyse `frame` and start its styling; the future gives the styled frame."""
        with self._lock:
            if not self._channel.empty():
                self._settle()  # a change may rebuild what the frame being styled uses
                self._take_changes()
            if self.pipeline is None and not self._build_failed:
                self._build()
            started = time.perf_counter()
            pipeline, analysed = self.pipeline, None
            if pipeline is not None:
                try:
                    analysed = pipeline.analyse(frame.image, frame.time)
                except Exception as exc:
                    self._failed(exc)
            self._analysis_s = _moving(self._analysis_s, time.perf_counter() - started)
            self._settle()  # the styler takes one frame at a time: this one never queues behind two
            overlap = self.overlaps  # read once: the styler thread updates what it depends on
            self._pending = self._styler.submit(self._finish, frame, pipeline, analysed, started, overlap)
            if not overlap:
                self._settle()
            return self._pending

    @property
    def overlaps(self) -> bool:
        """Whether the next frame is analysed while this one is styled: only while the styling takes less than
        twice the analysis, so that a frame waits for the styler less than its own analysis took."""
        return 0.0 < self._styling_s < 2 * self._analysis_s

    def close(self) -> None:
        """Release the pipeline (its MediaPipe detector must be closed explicitly) and the styler thread."""
        if self._lock.acquire(timeout=5):
            try:
                self._settle()
                if self.pipeline is not None:
                    self.pipeline.close()
                self.pipeline = None
                self._styler.shutdown(wait=True)
            finally:
                self._lock.release()

    def _settle(self) -> None:
        """Wait until the frame being styled is done."""
        if self._pending is not None:
            wait([self._pending])

    # -- changes ------------------------------------------------------------------------------------------
    def _take_changes(self) -> None:
        newest, reset = None, False
        while True:
            try:
                change = self._channel.get_nowait()
            except queue.Empty:
                break
            if change == RESET:
                reset = True
            else:
                newest = change
        if reset and self.pipeline is not None:
            self.pipeline.reset()
        if newest is not None:
            self._apply(newest)

    def _apply(self, new: Settings) -> None:
        self.annotator = self._annotator(new)
        if self.pipeline is None:
            self.settings, self._build_failed = new, False  # try again with what the user chose now
            return
        try:
            self.pipeline.apply(new)
        except EmocamError as exc:  # the pipeline kept its components: say so and show what is in force
            in_force = {name: getattr(self.pipeline.settings, name) for name in changed(self.pipeline.settings, new)
                        if meta(name).applies != "view"}
            self.settings = dataclasses.replace(new, **in_force)
            self._warn(f"setting not applied: {exc}")
            self.events.put(Event("settings", str(exc), in_force))
            return
        except Exception as exc:  # a component half-built: start over with the new settings
            self._drop_pipeline()
            self._warn(f"setting not applied ({type(exc).__name__}: {exc}); restarting the pipeline")
            self.settings = new
            return
        self.settings = new
        self._report_devices()

    def _annotator(self, s: Settings) -> Annotator:
        return Annotator(s.boxes, s.labels, s.bars)

    # -- the pipeline ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        make = self._make_pipeline
        if make is None:
            from emocam.pipeline.pipeline import Pipeline as make
        try:
            self.pipeline = make(self.settings.copy(), video_mode=True)
        except EmocamError as exc:
            self._fail(f"Showing the raw video: {exc}")
            return
        except Exception as exc:
            self._fail(f"Showing the raw video: the pipeline failed to start ({type(exc).__name__}: {exc})")
            return
        self._warn("")
        self._report_devices()

    def _fail(self, text: str) -> None:
        self._build_failed = True
        self._warn(text)
        self._devices = {}
        self.events.put(Event("devices", "", {}))

    def _drop_pipeline(self) -> None:
        try:
            self.pipeline.close()
        except Exception:
            pass
        self.pipeline = None

    def _report_devices(self) -> None:
        devices = dict(getattr(self.pipeline, "devices", {}))
        if devices != self._devices:
            self._devices = devices
            self.events.put(Event("devices", "", devices))

    def _finish(self, frame: Captured, pipeline: Any, analysed: Any, started: float,
                overlapped: bool) -> LiveFrame:
        """On the styler thread: the analysed frame styled, with the overlay (or the raw frame, and why)."""
        styling = time.perf_counter()
        output, faces, result, timings = frame.image, [], None, {}
        if analysed is not None:
            try:
                result = pipeline.finish(analysed)
                output, faces, timings = result.output, result.faces, dict(result.timings)
                if self._warning.startswith("Processing failed"):
                    self._warn("")
            except Exception as exc:
                self._failed(exc)
        s, annotated = self.settings, output
        if (s.overlay or s.record_overlay) and faces:
            t = time.perf_counter()
            annotated = self.annotator.annotate(output, faces)
            timings["overlay"] = (time.perf_counter() - t) * 1000
        done = time.perf_counter()
        self._styling_s = _moving(self._styling_s, done - styling)
        timings["total"] = (done - started) * 1000
        return LiveFrame(frame, result, annotated if s.record_overlay else output, raw=frame.image,
                         display=annotated if s.overlay else output,
                         latency_ms=(time.monotonic() - frame.wall) * 1000, overlapped=overlapped)

    def _failed(self, exc: Exception) -> None:
        detail = str(exc) if isinstance(exc, EmocamError) else f"{type(exc).__name__}: {exc}"
        self._warn(f"Processing failed, showing the raw video: {detail}")

    def _warn(self, text: str) -> None:
        with self._warn_lock:
            if text != self._warning:
                self._warning = text
                self.events.put(Event("warning", text))


def _moving(average: float, sample: float, weight: float = 0.2) -> float:
    """An exponential moving average (the first sample taken as it is)."""
    return sample if average == 0.0 else average + weight * (sample - average)
