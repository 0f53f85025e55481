"""The live window on the bundled sample clip: stylized frames, HUD, keys, recording, outputs, bad sources.

One window serves the whole module (the models load once); tests run in file order, the last one closes it.
"""

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import av
import numpy as np
import pytest
import pyvirtualcam
from PySide6.QtCore import Qt

from emocam.live import virtual_camera
from emocam.live.settings_store import SettingsStore
from emocam.live.virtual_camera import MODPROBE
from emocam.live.window import SAMPLE_CLIP, MainWindow

TIMEOUT_MS = 90_000


class FakeBackend:
    """A pyvirtualcam backend that keeps the frames it gets."""

    frames: list[np.ndarray] = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.size = (width, height)

    def send(self, frame):
        FakeBackend.frames.append(frame.copy())

    def close(self):
        pass

    def device(self):
        return "/dev/fake-emocam"

    def native_fourcc(self):
        return None


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("config")
    (folder / "live.json").write_text(json.dumps({"process_size": 256, "device": "cpu"}))
    return folder / "live.json"


@pytest.fixture(scope="module")
def window(qapp, config):
    win = MainWindow(SettingsStore(config), source=str(SAMPLE_CLIP))
    win.show()
    yield win
    win.close()


def wait_frames(qtbot, win, n=2, timeout=TIMEOUT_MS):
    target = win.frames_shown + n
    qtbot.waitUntil(lambda: win.frames_shown >= target, timeout=timeout)


def test_shows_stylized_frames_and_a_live_hud(qtbot, window):
    qtbot.waitUntil(lambda: window.devices != {}, timeout=TIMEOUT_MS)
    wait_frames(qtbot, window, 3)
    shown = window.last_shown
    frame = window.video.frame
    assert frame is not None and frame.shape == (480, 640, 3)
    assert frame.std() > 20, "blank frame"
    assert np.abs(shown.output.astype(int) - shown.raw.astype(int)).mean() > 15, "raw frame, not stylized"
    qtbot.waitUntil(lambda: bool(window.video.hud) and float(window.video.hud[0].split()[0]) > 0, timeout=5000)
    assert any("stylize" in line for line in window.video.hud)
    assert window.controls.devices_label.text().startswith("detect cpu")


def test_style_editor_has_26_thumbnails_and_edits_reach_the_pipeline(qtbot, window):
    editor = window.controls.style_editor
    qtbot.waitUntil(lambda: editor.thumbnail_count() == 26, timeout=TIMEOUT_MS)
    combo = editor.combos["happy"]
    assert combo.count() == 26
    combo.setCurrentIndex(combo.findData(0))
    assert window.settings.styles["default"]["happy"] == 0
    qtbot.waitUntil(lambda: window.process.pipeline.settings.styles_for().get("happy") == 0, timeout=TIMEOUT_MS)
    assert editor.previews["happy"].pixmap() is not None


def test_strength_zero_shows_the_original(qtbot, window):
    window.controls.strength.setValue(0)
    qtbot.waitUntil(lambda: np.array_equal(window.last_shown.output, window.last_shown.raw), timeout=TIMEOUT_MS)
    window.controls.strength.setValue(100)
    qtbot.waitUntil(lambda: not np.array_equal(window.last_shown.output, window.last_shown.raw), timeout=TIMEOUT_MS)


def test_record_key_writes_a_playable_mp4(qtbot, window, tmp_path):
    window.settings.record_dir = str(tmp_path)
    qtbot.keyClick(window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: window.recorder is not None and window.recorder.frames_written >= 4, timeout=TIMEOUT_MS)
    recorder = window.recorder
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert window.recorder is None
    with av.open(str(recorder.path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == recorder.frames_written >= 4
    assert (frames[0].width, frames[0].height) == (640, 480)
    assert "Saved" in window.controls.output_status.text()


def test_space_pauses_and_resumes(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.paused and window.controls.pause_button.isChecked()
    qtbot.wait(1500)
    count = window.frames_shown
    qtbot.wait(2000)
    assert window.frames_shown <= count + 1
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.paused
    wait_frames(qtbot, window, 2)


def test_o_toggles_the_overlay(qtbot, window):
    before = window.settings.overlay
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert window.settings.overlay is (not before) and window.process.overlay.show is (not before)
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert window.settings.overlay is before


def test_f_fullscreen_and_escape(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: window.isFullScreen(), timeout=5000)
    assert not window.side.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)
    assert window.side.isVisible()


def test_virtual_cam_without_a_device_says_what_to_do(qtbot, window, monkeypatch):
    monkeypatch.setattr(virtual_camera.platform, "system", lambda: "Linux")
    monkeypatch.setattr(virtual_camera.glob, "glob", lambda pattern: [])
    qtbot.keyClick(window, Qt.Key.Key_V)
    assert window.vcam is None and not window.controls.vcam_button.isChecked()
    assert MODPROBE in window.controls.output_status.text()


def test_virtual_cam_option_without_a_device_opens_the_window_with_the_hint(qtbot, window, monkeypatch):
    monkeypatch.setattr(virtual_camera.platform, "system", lambda: "Linux")
    monkeypatch.setattr(virtual_camera.glob, "glob", lambda pattern: [])
    window.controls.set_output_status("")
    window.want_vcam = True  # as --virtual-cam does: tried when the source opens
    window.start_source(str(SAMPLE_CLIP))
    qtbot.waitUntil(lambda: MODPROBE in window.controls.output_status.text(), timeout=TIMEOUT_MS)
    assert window.vcam is None and not window.want_vcam
    wait_frames(qtbot, window, 2)


def test_virtual_cam_gets_1280x720_frames(qtbot, window):
    pyvirtualcam.register_backend("emocam-window-fake", FakeBackend)
    FakeBackend.frames.clear()
    window.vcam_backend = "emocam-window-fake"
    qtbot.keyClick(window, Qt.Key.Key_V)
    assert window.vcam is not None and window.controls.vcam_button.isChecked()
    qtbot.waitUntil(lambda: len(FakeBackend.frames) >= 3, timeout=TIMEOUT_MS)
    qtbot.keyClick(window, Qt.Key.Key_V)
    assert window.vcam is None
    assert all(f.size == 1280 * 720 * 3 for f in FakeBackend.frames)
    window.vcam_backend = None


def test_broken_file_shows_a_message_then_the_sample_plays(qtbot, window, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    window.start_source(str(broken))
    panel = window.video.message
    qtbot.waitUntil(panel.isVisible, timeout=TIMEOUT_MS)
    assert "broken.mp4" in panel.label.text()
    qtbot.mouseClick(panel.findChildren(type(window.controls.pause_button))[1], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=5000)
    wait_frames(qtbot, window, 2)


def test_missing_camera_shows_a_message(qtbot, window):
    window.start_source("99")
    panel = window.video.message
    qtbot.waitUntil(panel.isVisible, timeout=TIMEOUT_MS)
    assert "camera 99" in panel.label.text()
    window.start_source(str(SAMPLE_CLIP))
    wait_frames(qtbot, window, 2)


def test_settings_persist_after_closing(qtbot, window, config):
    window.controls.strength.setValue(70)
    window.controls.detector.setCurrentIndex(window.controls.detector.findData("full"))
    window.close()
    saved = SettingsStore(config).load()
    assert saved.strength == pytest.approx(0.7)
    assert saved.detector == "full"
    assert saved.styles["default"]["happy"] == 0
    assert saved.process_size == 256
