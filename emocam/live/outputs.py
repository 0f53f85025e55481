"""The live app's outputs as frame-loop sinks: the window's view, the recorder and the virtual camera.

They are owned by the processing side and always in the loop's sink list; recording and the virtual camera
each run a small state machine, so starting one is a state change, not a change to the loop:

    recording:       off -> waiting (measuring the live frame rate) -> on -> off;  waiting|on -> failed
    virtual camera:  off -> on -> off;  off|on -> failed   (failed -> on when started again)

The recorder waits for a measured rate because the file's constant rate, and with it the keyframe every
second that keeps it playable after a crash, is set from that rate. `write` runs on the loop's writer
thread; `start`/`stop` on the caller's; a lock guards each machine's state.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from emocam.errors import EmocamError
from emocam.live.mailbox import Mailbox
from emocam.live.meter import FpsMeter
from emocam.live.processing import LiveFrame
from emocam.live.recorder import MAX_RATE, Recorder
from emocam.live.virtual_camera import VirtualCamera

OFF, WAITING, ON, FAILED = "off", "waiting", "on", "failed"


class ViewOutput:
    """The window's frame: one slot, the newest frame wins (the window never falls behind)."""

    def __init__(self) -> None:
        self._box: Mailbox[LiveFrame] = Mailbox()

    def write(self, item: LiveFrame) -> None:
        self._box.put(item)

    def take(self) -> LiveFrame | None:
        return self._box.take()

    def close(self) -> None:
        self._box.close()


class RecordingOutput:
    """Records the output frames to an .mp4 (see `Recorder`); `state` and `status` say what it is doing."""

    def __init__(self, announce: Callable[[str], None] = lambda line: print(line, flush=True)) -> None:
        self.state = OFF
        self.status = ""
        self.recorder: Recorder | None = None
        self.max_rate: float = MAX_RATE
        self._path: Path | None = None
        self._rate = FpsMeter()  # the live rate, measured all the time so a start is instant once known
        self._lock = threading.Lock()
        self._announce = announce

    def start(self, path: str | Path) -> None:
        with self._lock:
            if self.state in (WAITING, ON):
                return
            self.state, self._path = WAITING, Path(path)
            self.status = "Recording starts in a moment (measuring the frame rate)…"

    def stop(self) -> None:
        """Finish the file (the encoder drains its queue); `status` says what was saved."""
        with self._lock:
            recorder, self.recorder = self.recorder, None
            if self.state != FAILED:
                self.state, self.status = OFF, ""
        if recorder is not None:
            self._finish(recorder)

    @property
    def seconds(self) -> float:
        recorder = self.recorder
        return recorder.seconds if recorder is not None else 0.0

    def write(self, item: LiveFrame) -> None:
        failed = None
        with self._lock:
            self._rate.tick(item.frame.wall)
            if self.state == WAITING and self._rate.ready():
                self._open(item)
            if self.state == ON and self.recorder is not None:
                self.recorder.submit(item.image, item.frame.wall)
                if self.recorder.error:
                    failed, self.recorder = self.recorder, None
                    self.state = FAILED
        if failed is not None:
            self._finish(failed)

    def close(self) -> None:
        self.stop()

    def _open(self, item: LiveFrame) -> None:
        h, w = item.image.shape[:2]
        try:
            self.recorder = Recorder(self._path, (w, h), self._rate.fps(item.frame.wall), max_rate=self.max_rate)
        except EmocamError as exc:
            self.state, self.status = FAILED, str(exc)
            return
        self.state, self.status = ON, f"Recording to {self._path}"
        self._announce(f"emocam: recording to {self._path}")

    def _finish(self, recorder: Recorder) -> None:
        recorder.close()
        text = recorder.error or f"Saved {recorder.frames_written} frames ({recorder.seconds:.1f} s) to {recorder.path}"
        with self._lock:
            self.status = text
            if recorder.error:
                self.state = FAILED


class VirtualCameraOutput:
    """Sends the output frames to a virtual camera (1280x720, 30 fps; see `VirtualCamera`)."""

    def __init__(self, backend: str | None = None) -> None:
        self.backend = backend  # a pyvirtualcam backend name (tests register a fake one)
        self.state = OFF
        self.status = ""
        self.camera: VirtualCamera | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Open the device now; when there is none the state is `failed` and `status` says what to do."""
        with self._lock:
            if self.state == ON:
                return
            try:
                self.camera = VirtualCamera(backend=self.backend)
            except EmocamError as exc:
                self.state, self.status = FAILED, str(exc)
                return
            self.state, self.status = ON, f"Virtual camera on: {self.camera.device} (1280x720, 30 fps)"

    def stop(self) -> None:
        with self._lock:
            camera, self.camera = self.camera, None
            if camera is not None:
                self.state, self.status = OFF, "Virtual camera off"
        if camera is not None:
            camera.close()

    def write(self, item: LiveFrame) -> None:
        broken = None
        with self._lock:
            if self.state != ON or self.camera is None:
                return
            if self.camera.error:
                broken, self.camera = self.camera, None
                self.state, self.status = FAILED, broken.error
            else:
                self.camera.submit(item.image)
        if broken is not None:
            broken.close()

    def close(self) -> None:
        self.stop()
