"""The live app's processing side: the source, the frame loop thread, the pipeline step and the outputs.

No widgets here. The window calls these methods (from the GUI thread) and polls `events()` and
`view.take()`; settings go to the processing thread through the step's one channel (`apply`). Each
source runs `run_loop(paced frames, step, sinks, latest_only=True)` on its own thread: the reader keeps
only the newest frame, so a step slower than the camera drops stale frames instead of adding latency.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable

from emocam.errors import EmocamError
from emocam.live.capture import open_live_source, paced_frames, source_label
from emocam.live.memory import share_arenas
from emocam.live.outputs import RecordingOutput, ViewOutput, VirtualCameraOutput
from emocam.live.processing import RESET, Event, LiveStep
from emocam.live.recorder import MAX_RATE
from emocam.live.thumbnails import ThumbnailWorker
from emocam.pipeline.loop import run_loop
from emocam.settings import Settings

SHUTDOWN_WAIT_S = 60.0  # the longest a closing window waits for a network load to finish


class Controller:
    """Runs one source at a time through the pipeline into the view, the recorder and the virtual camera."""

    def __init__(self, settings: Settings, vcam_backend: str | None = None,
                 make_pipeline: Callable[..., Any] | None = None) -> None:
        """`make_pipeline(settings, video_mode=True)` builds the step's pipeline (default: `Pipeline`)."""
        share_arenas()  # memory stays flat over many recordings, frames stay fast (see emocam.live.memory)
        self._events: "queue.Queue[Event]" = queue.Queue()
        self.step = LiveStep(settings, self._events, make_pipeline)
        self.view = ViewOutput()
        self.recording = RecordingOutput()
        self.vcam = VirtualCameraOutput(vcam_backend)
        self.thumbnails = ThumbnailWorker()
        self.paused = threading.Event()
        self.source_spec = ""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []  # the processing threads still running, the newest last

    # -- commands from the window ----------------------------------------------------------------------------
    def apply(self, settings: Settings) -> None:
        """New settings for the processing thread: applied once, before its next frame."""
        self.step.send(settings)

    def start_source(self, spec: str) -> None:
        """Stop the current source (without waiting: a camera read may block) and start `spec`."""
        self._stop.set()
        self._stop = threading.Event()
        self.source_spec = str(spec)
        self.step.send(RESET)
        thread = threading.Thread(target=self._run, args=(self.source_spec, self._stop), name="emocam-live",
                                  daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def set_paused(self, on: bool) -> None:
        (self.paused.set if on else self.paused.clear)()

    def start_recording(self, path: str | Path | None = None, folder: str = "") -> None:
        """Record to `path`, else a timestamped file in `folder` (default ~/Videos, else the current folder)."""
        if path is None:
            where = Path(folder) if folder else Path.home() / "Videos"
            path = (where if where.is_dir() else Path.cwd()) / time.strftime("emocam-%Y%m%d-%H%M%S.mp4")
        self.recording.start(path)

    def stop_recording(self) -> None:
        self.recording.stop()

    def start_vcam(self) -> None:
        self.vcam.start()

    def stop_vcam(self) -> None:
        self.vcam.stop()

    def events(self) -> list[Event]:
        """What happened on the processing side since the last call."""
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def shutdown(self) -> None:
        """Stop the loop, close the outputs (the recording stays playable), then wait for the threads to end.

        A thread may be loading a network (a pack switch under load takes many seconds): the process must not
        exit under it, or the runtime's native threads abort it ("terminate called ...", exit 134). So after the
        outputs are closed it waits for them, saying so, for at most SHUTDOWN_WAIT_S."""
        self._stop.set()
        self.thumbnails.stop()
        _join(self._threads[-1:], 5.0)  # the current source's last frames reach the recording
        self.recording.close()
        self.vcam.close()
        self.view.close()
        threads = [t for t in self._threads + [self.thumbnails.thread] if t is not None]
        if _join(threads, 2.0):
            print("emocam: closing once the style network has finished loading", flush=True)
            _join(threads, SHUTDOWN_WAIT_S)
        self.step.close()

    # -- the processing thread ------------------------------------------------------------------------------
    def _run(self, spec: str, stop: threading.Event) -> None:
        label = source_label(spec)
        try:
            source = open_live_source(spec)
        except EmocamError as exc:
            self._events.put(Event("error", str(exc)))
            return
        fps = float(getattr(source, "fps", 0) or 30.0)
        self.recording.max_rate = min(MAX_RATE, fps)
        self._events.put(Event("opened", label, {"fps": fps, "size": tuple(source.size)}))
        try:
            run_loop(paced_frames(source, self.paused, stop), self.step, (self.view, self.recording, self.vcam),
                     latest_only=True, stop=stop, keep_last=1000)
            if not stop.is_set():
                self._events.put(Event("ended", f"{label}: the video ended"))
        except Exception as exc:
            if not stop.is_set():  # a source being replaced may fail as it closes: not news
                detail = str(exc) if isinstance(exc, EmocamError) else f"{type(exc).__name__}: {exc}"
                self._events.put(Event("error", f"{label} failed: {detail}"))
        finally:
            try:
                source.close()
            except Exception:
                pass


def _join(threads: list[threading.Thread], seconds: float) -> bool:
    """Wait up to `seconds` in all for `threads` to end; True if one is still running."""
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return any(t.is_alive() for t in threads)
