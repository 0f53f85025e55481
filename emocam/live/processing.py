"""The live view's frame step: the pipeline on the newest frame, plus the overlay, on the processing thread.

Two frames are in flight: while a styler thread styles frame N (`Pipeline.finish`), the processing thread
analyses frame N+1 (`Pipeline.analyse`: faces, their edit, their emotions), then hands back frame N. The parts
use different networks and, on a CPU, the single-threaded analysis fills the core the style network leaves
idle between its parallel layers. Each call hands back the previous frame; `flush` the last one.

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


class LiveStep:
    """Callable per frame by `run_loop`; holds the pipeline, which only ever runs on the calling thread."""

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
        self._pending: Future | None = None  # the previous frame, being styled: a LiveFrame when done

    def send(self, change: "Settings | str") -> None:
        """The one channel into the processing thread: new settings (copied here) or RESET."""
        self._channel.put(change.copy() if isinstance(change, Settings) else change)

    def __call__(self, frame: Captured) -> LiveFrame | None:
        """Analyse `frame` and start its styling; hand back the previous frame, styled (None on the first call
        after a start or a reset: that frame comes with the next call, or with `flush`)."""
        with self._lock:
            if not self._channel.empty():
                self._settle()  # a change may rebuild what the frame being styled uses
                self._take_changes()
            if self.pipeline is None and not self._build_failed:
                self._build()
            previous, self._pending = self._pending, self._start(frame)
            return self._handed(previous) if previous is not None else None

    def flush(self) -> LiveFrame | None:
        """The frame still in flight when the frames end (`run_loop` writes it last)."""
        with self._lock:
            previous, self._pending = self._pending, None
            return self._handed(previous) if previous is not None else None

    def _handed(self, styling: Future) -> LiveFrame:
        """A styled frame as it is handed on: its warning said or cleared, its latency up to now."""
        item, error = styling.result()
        if error is not None:
            self._failed(error)
        elif item.result is not None and self._warning.startswith("Processing failed"):
            self._warn("")
        item.latency_ms = (time.monotonic() - item.frame.wall) * 1000  # captured -> handed on
        return item

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
        """Wait until the frame in flight is styled (it is still handed back, by the next call)."""
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
        if reset:
            self._pending = None  # the old source's last frame: not shown after the new one starts
            if self.pipeline is not None:
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

    def _start(self, frame: Captured) -> Future:
        """Analyse `frame` on this thread; its styling (and the overlay) follows on the styler thread."""
        started = time.perf_counter()
        pipeline, analysed = self.pipeline, None
        if pipeline is not None:
            try:
                analysed = pipeline.analyse(frame.image, frame.time)
            except Exception as exc:
                self._failed(exc)
        return self._styler.submit(self._finish, frame, pipeline, analysed, started)

    def _finish(self, frame: Captured, pipeline: Any, analysed: Any,
                started: float) -> tuple[LiveFrame, Exception | None]:
        """On the styler thread: the analysed frame styled, with the overlay (or the raw frame, and why)."""
        output, faces, result, timings, error = frame.image, [], None, {}, None
        if analysed is not None:
            try:
                result = pipeline.finish(analysed)
                output, faces, timings = result.output, result.faces, dict(result.timings)
            except Exception as exc:
                error = exc
        s, annotated = self.settings, output
        if (s.overlay or s.record_overlay) and faces:
            t = time.perf_counter()
            annotated = self.annotator.annotate(output, faces)
            timings["overlay"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        return LiveFrame(frame, result, annotated if s.record_overlay else output, raw=frame.image,
                         display=annotated if s.overlay else output), error

    def _failed(self, exc: Exception) -> None:
        detail = str(exc) if isinstance(exc, EmocamError) else f"{type(exc).__name__}: {exc}"
        self._warn(f"Processing failed, showing the raw video: {detail}")

    def _warn(self, text: str) -> None:
        if text != self._warning:
            self._warning = text
            self.events.put(Event("warning", text))
