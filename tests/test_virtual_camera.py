"""Virtual camera: frames through a registered fake pyvirtualcam backend; the 'no device' message."""

import time

import numpy as np
import pytest
import pyvirtualcam

from emocam.errors import EmocamError
from emocam.live import virtual_camera
from emocam.live.virtual_camera import MODPROBE, VirtualCamera


class FakeBackend:
    """Records what pyvirtualcam hands a backend (a 1-D RGB buffer per frame)."""

    instances: list["FakeBackend"] = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self.fps = width, height, fps
        self.frames: list[np.ndarray] = []
        self.closed = False
        FakeBackend.instances.append(self)

    def send(self, frame):
        self.frames.append(frame.copy())

    def close(self):
        self.closed = True

    def device(self):
        return "/dev/fake-emocam"

    def native_fourcc(self):
        return None


class BrokenBackend(FakeBackend):
    def __init__(self, **kw):
        raise RuntimeError("device or resource busy")


@pytest.fixture(autouse=True)
def backends():
    pyvirtualcam.register_backend("emocam-fake", FakeBackend)
    pyvirtualcam.register_backend("emocam-broken", BrokenBackend)
    FakeBackend.instances.clear()
    yield


def test_frames_arrive_letterboxed_at_1280x720():
    cam = VirtualCamera(backend="emocam-fake")
    assert cam.device == "/dev/fake-emocam"
    frame = np.full((480, 640, 3), 200, np.uint8)  # 4:3 -> pillarboxed into 16:9
    for _ in range(5):
        cam.submit(frame)
        deadline = time.monotonic() + 2
        while cam.frames_sent < _ + 1 and time.monotonic() < deadline:
            time.sleep(0.005)
    cam.close()
    backend = FakeBackend.instances[-1]
    assert (backend.width, backend.height, backend.fps) == (1280, 720, 30)
    assert backend.closed
    assert len(backend.frames) == 5 == cam.frames_sent
    img = backend.frames[0].reshape(720, 1280, 3)
    assert img[:, :150].max() == 0 and img[:, 200:1080].min() == 200  # black bars left, picture in the middle


def test_sender_never_exceeds_the_camera_rate_and_drops_stale_frames():
    cam = VirtualCamera(backend="emocam-fake", fps=10)
    start = time.monotonic()
    for i in range(40):  # 40 frames offered in ~0.4 s to a 10 fps camera
        cam.submit(np.full((72, 128, 3), i, np.uint8))
        time.sleep(0.01)
    cam.close()
    elapsed = time.monotonic() - start
    sent = len(FakeBackend.instances[-1].frames)
    assert 2 <= sent <= elapsed * 10 / 0.9 + 1


def test_no_device_says_what_to_do(monkeypatch):
    monkeypatch.setattr(virtual_camera.platform, "system", lambda: "Linux")
    monkeypatch.setattr(virtual_camera.glob, "glob", lambda pattern: [])
    with pytest.raises(EmocamError) as info:
        VirtualCamera()
    message = str(info.value)
    assert MODPROBE in message and "\n" not in message


def test_backend_failure_is_one_line_with_the_hint():
    with pytest.raises(EmocamError, match="device or resource busy.*modprobe|device or resource busy.*OBS"):
        VirtualCamera(backend="emocam-broken")
