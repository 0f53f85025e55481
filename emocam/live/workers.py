"""Capture and processing threads: capture -> Mailbox -> process -> Mailbox -> GUI.

Each mailbox holds one item, so the processing thread always takes the newest frame and the GUI
always shows the newest result: latency never builds up when a stage is slower than the one before.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from emocam.errors import EmocamError
from emocam.live.mailbox import Mailbox


@dataclass
class Captured:
    """One camera or file frame and the monotonic time it was taken."""

    image: np.ndarray
    time: float
    index: int
    wall: float


@dataclass
class Shown:
    """One processed frame, ready for the window and the outputs."""

    raw: np.ndarray
    output: np.ndarray  # stylized, no overlay
    display: np.ndarray  # what the window shows: output plus overlay when enabled
    recorded: np.ndarray  # what recording and the virtual camera get
    faces: list
    emotion: str | None
    timings: dict[str, float]
    wall: float  # when the frame was captured
    latency_ms: float  # capture -> processed


@dataclass
class WorkerEvent:
    """A message from a worker to the window: opened, ended, error, warning, pipeline."""

    kind: str
    text: str = ""
    data: Any = None


@dataclass
class OverlayOptions:
    show: bool = True
    boxes: bool = True
    labels: bool = True
    bars: bool = True
    record: bool = False  # draw the overlay into recorded / virtual-camera frames too


class Output(Protocol):
    def submit(self, rgb: np.ndarray, wall: float) -> None: ...


def is_camera(spec: str | int) -> bool:
    return isinstance(spec, int) or str(spec).strip().isdigit()


class CaptureWorker(threading.Thread):
    """Reads a source; a file is paced at its own fps, a camera at its own rate."""

    def __init__(
        self,
        spec: str | int,
        outbox: Mailbox[Captured],
        events: "queue.Queue[WorkerEvent]",
        opener: Callable[..., Any] | None = None,
        loop: bool = True,
    ) -> None:
        super().__init__(name="emocam-capture", daemon=True)
        self.spec = spec
        self.outbox = outbox
        self.events = events
        self.loop = loop
        self.paused = threading.Event()
        self.stopping = threading.Event()
        self.frames = 0
        self._opener = opener

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        opener = self._opener
        if opener is None:
            from emocam.pipeline.sources import open_source as opener
        label = f"camera {self.spec}" if is_camera(self.spec) else str(self.spec)
        try:
            source = opener(self.spec, loop=self.loop)
        except EmocamError as exc:
            self.events.put(WorkerEvent("error", str(exc)))
            return
        except Exception as exc:
            self.events.put(WorkerEvent("error", f"cannot open {label}: {type(exc).__name__}: {exc}"))
            return
        fps = float(getattr(source, "fps", 0) or 30.0)
        self.events.put(WorkerEvent("opened", label, {"fps": fps, "size": tuple(source.size)}))
        try:
            self._read(source, fps, paced=not is_camera(self.spec))
        except EmocamError as exc:
            self._error(str(exc))
        except Exception as exc:
            self._error(f"{label} failed: {type(exc).__name__}: {exc}")
        finally:
            try:
                source.close()
            except Exception:
                pass

    def _error(self, text: str) -> None:
        if not self.stopping.is_set():  # a source being replaced may fail as it closes: not news
            self.events.put(WorkerEvent("error", text))

    def _read(self, source: Any, fps: float, paced: bool) -> None:
        interval = 1.0 / max(fps, 0.1)
        start, n = time.monotonic(), 0
        repeat = getattr(source, "kind", "") == "images"  # a picture or a folder shows again and again
        offset = 0.0
        while True:
            t = offset
            for frame in source.frames():
                if self.stopping.is_set():
                    return
                if paced:
                    while self.paused.is_set() and not self.stopping.is_set():
                        time.sleep(0.05)
                        start, n = time.monotonic(), 0
                    due = start + n * interval
                    now = time.monotonic()
                    if due > now:
                        time.sleep(due - now)
                    elif now - due > 0.5:  # decoding fell far behind: restart the clock, do not burst
                        start, n = now, 0
                    n += 1
                elif self.paused.is_set():
                    continue
                self.frames += 1
                t = offset + float(frame.time)
                self.outbox.put(Captured(frame.image, t, int(frame.index), time.monotonic()))
            if not repeat or self.stopping.is_set():
                break
            offset = t + interval
        if not self.stopping.is_set():
            self.events.put(WorkerEvent("ended", "the video ended"))


class ProcessWorker(threading.Thread):
    """Runs the pipeline on the newest captured frame; sends results to the GUI and the outputs."""

    def __init__(
        self,
        inbox: Mailbox[Captured],
        outbox: Mailbox[Shown],
        events: "queue.Queue[WorkerEvent]",
        make_pipeline: Callable[[], Any],
        draw_overlay: Callable[..., np.ndarray] | None = None,
    ) -> None:
        super().__init__(name="emocam-process", daemon=True)
        self.inbox = inbox
        self.outbox = outbox
        self.events = events
        self.overlay = OverlayOptions()
        self.frames = 0
        self.pipeline: Any = None
        self._make_pipeline = make_pipeline
        self._draw_overlay = draw_overlay
        self._stopping = threading.Event()
        self._rebuild = True
        self._requests: "queue.Queue[Callable[[Any], None]]" = queue.Queue()
        self._outputs: list[Output] = []
        self._lock = threading.Lock()
        self._last_warning = ""
        self._devices: dict[str, str] = {}

    def stop(self) -> None:
        self._stopping.set()
        self.inbox.close()

    def rebuild(self) -> None:
        """Recreate the pipeline (device or pack changed) before the next frame."""
        self._rebuild = True

    def request(self, change: Callable[[Any], None]) -> None:
        """Run `change(pipeline)` on this thread before the next frame (settings are read per frame)."""
        self._requests.put(change)

    def add_output(self, output: Output) -> None:
        with self._lock:
            self._outputs.append(output)

    def remove_output(self, output: Output) -> None:
        with self._lock:
            if output in self._outputs:
                self._outputs.remove(output)

    def run(self) -> None:
        try:
            self._loop()
        finally:
            if self.pipeline is not None and hasattr(self.pipeline, "close"):
                try:
                    self.pipeline.close()
                except Exception:
                    pass

    def _loop(self) -> None:
        while not self._stopping.is_set():
            cap = self.inbox.get(timeout=0.2)
            if cap is None:
                continue
            if self._rebuild:
                self._build()
            self._apply_requests()
            shown = self._process(cap)
            self.frames += 1
            self.outbox.put(shown)
            with self._lock:
                outputs = list(self._outputs)
            for out in outputs:
                out.submit(shown.recorded, cap.wall)

    def _build(self) -> None:
        self._rebuild = False
        self.pipeline = None
        try:
            self.pipeline = self._make_pipeline()
        except EmocamError as exc:
            self._warn(f"Showing the raw video: {exc}")
            return
        except Exception as exc:
            self._warn(f"Showing the raw video: the pipeline failed to start ({type(exc).__name__}: {exc})")
            return
        self._last_warning = ""
        self._report_devices()

    def _report_devices(self) -> None:
        try:
            devices = dict(self.pipeline.devices)
        except Exception:
            return
        if devices != self._devices:
            self._devices = devices
            self.events.put(WorkerEvent("pipeline", "", devices))

    def _apply_requests(self) -> None:
        while True:
            try:
                change = self._requests.get_nowait()
            except queue.Empty:
                return
            if self.pipeline is not None:
                try:
                    change(self.pipeline)
                except Exception as exc:
                    self._warn(f"setting not applied: {exc}")

    def _process(self, cap: Captured) -> Shown:
        t0 = time.perf_counter()
        output, faces, emotion, timings = cap.image, [], None, {}
        if self.pipeline is not None:
            try:
                result = self.pipeline.process(cap.image, cap.time)
                output, faces, emotion = result.output, list(result.faces), result.emotion
                timings = dict(result.timings)
                self._report_devices()
                if self._last_warning.startswith("Processing failed"):
                    self._last_warning = ""
                    self.events.put(WorkerEvent("warning", ""))
            except EmocamError as exc:
                self._warn(f"Processing failed, showing the raw video: {exc}")
            except Exception as exc:
                self._warn(f"Processing failed, showing the raw video: {type(exc).__name__}: {exc}")
        overlaid = output
        opts = self.overlay
        if (opts.show or opts.record) and faces and self._draw_overlay is not None:
            t1 = time.perf_counter()
            overlaid = self._draw_overlay(output, faces, boxes=opts.boxes, labels=opts.labels, bars=opts.bars)
            timings["overlay"] = (time.perf_counter() - t1) * 1000
        display = overlaid if opts.show else output
        recorded = overlaid if opts.record else output
        timings["total"] = (time.perf_counter() - t0) * 1000
        latency = (time.monotonic() - cap.wall) * 1000
        return Shown(cap.image, output, display, recorded, faces, emotion, timings, cap.wall, latency)

    def _warn(self, text: str) -> None:
        if text != self._last_warning:
            self._last_warning = text
            self.events.put(WorkerEvent("warning", text))
