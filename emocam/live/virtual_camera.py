"""Send the shown frames to a virtual camera (pyvirtualcam), letterboxed, on their own thread."""

from __future__ import annotations

import glob
import platform
import threading
import time

import numpy as np

from emocam.errors import EmocamError
from emocam.live.imageops import letterbox
from emocam.live.mailbox import Mailbox

MODPROBE = 'sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="emocam"'


def setup_hint() -> str:
    """What the user must do so that a virtual camera device exists on this platform."""
    system = platform.system()
    if system == "Linux":
        return f"install v4l2loopback and run: {MODPROBE}"
    if system in ("Windows", "Darwin"):
        return "install OBS Studio and start its Virtual Camera once"
    return "this platform has no virtual camera support in pyvirtualcam"


def no_device_reason(backend: str | None = None) -> str | None:
    """A one-line reason when no virtual camera can exist (Linux without /dev/video*), else None."""
    if backend is None and platform.system() == "Linux" and not glob.glob("/dev/video*"):
        return f"No virtual camera device (no /dev/video*): {setup_hint()}"
    return None


class VirtualCamera:
    """Opens the camera at `size` / `fps`; `submit` hands frames to a sender thread (newest wins)."""

    def __init__(
        self,
        size: tuple[int, int] = (1280, 720),
        fps: float = 30.0,
        backend: str | None = None,
        device: str | None = None,
    ) -> None:
        import pyvirtualcam

        reason = no_device_reason(backend)
        if reason:
            raise EmocamError(reason)
        try:
            self._cam = pyvirtualcam.Camera(
                size[0], size[1], fps, fmt=pyvirtualcam.PixelFormat.RGB, backend=backend, device=device
            )
        except Exception as exc:  # pyvirtualcam reports every backend failure as a plain exception
            detail = " ".join(str(exc).split())
            raise EmocamError(f"Virtual camera unavailable ({detail}): {setup_hint()}") from None
        self.size = size
        self.fps = fps
        self.device = self._cam.device
        self.frames_sent = 0
        self.error: str | None = None
        self._box: Mailbox[np.ndarray] = Mailbox()
        self._thread = threading.Thread(target=self._run, name="emocam-vcam", daemon=True)
        self._thread.start()

    def submit(self, rgb: np.ndarray, wall: float = 0.0) -> None:
        """Queue a frame for sending; an unsent older frame is dropped."""
        if self.error is None:
            self._box.put(rgb)

    def close(self) -> None:
        """Stop the sender and release the device."""
        self._box.close()
        self._thread.join(timeout=5)
        try:
            self._cam.close()
        except Exception:
            pass

    def _run(self) -> None:
        interval = 1.0 / self.fps
        next_due = 0.0
        while True:
            frame = self._box.get()
            if frame is None:
                return
            wait = next_due - time.monotonic()
            if wait > 0:  # never faster than the camera's fps
                time.sleep(wait)
            try:
                self._cam.send(letterbox(frame, self.size))
            except Exception as exc:
                self.error = f"Virtual camera stopped: {' '.join(str(exc).split())}"
                return
            self.frames_sent += 1
            next_due = time.monotonic() + interval * 0.9
