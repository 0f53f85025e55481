"""The live window on the bundled sample clip: stylized frames, HUD, keys, schema-made controls, recording,
virtual camera, bad sources. Every test opens its own window (config in its own temp folder)."""

import dataclasses
import json
import os
from pathlib import Path

import av
import numpy as np
import onnx
import pytest
import pyvirtualcam
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from emocam.live import virtual_camera
from emocam.live.outputs import ON
from emocam.live.virtual_camera import MODPROBE
from emocam.live.window import MainWindow
from emocam.modelstore.manifest import find_model
from emocam.io.sources import SAMPLE_CLIP
from emocam.settings import SettingsFile

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


@pytest.fixture
def config(tmp_path):
    folder = tmp_path / "config"
    folder.mkdir()
    saved = {"process_size": 256, "device": "cpu", "record_dir": str(tmp_path)}
    (folder / "live.json").write_text(json.dumps(saved))
    return folder / "live.json"


@pytest.fixture
def open_window(qtbot, config):
    """Opens windows on the sample clip (or other options) and closes every one after the test."""
    windows = []

    def open_(**options):
        options.setdefault("source", str(SAMPLE_CLIP))
        win = MainWindow(SettingsFile(config), **options)
        win.show()
        windows.append(win)
        win.activateWindow()
        qtbot.waitUntil(win.isActiveWindow, timeout=5000)  # keys go to the active window's shortcuts
        return win

    yield open_
    for win in windows:
        win.close()


@pytest.fixture
def window(open_window):
    return open_window()


def wait_frames(qtbot, win, n=2, timeout=TIMEOUT_MS):
    target = win.frames_shown + n
    qtbot.waitUntil(lambda: win.frames_shown >= target, timeout=timeout)


def wait_styled(qtbot, win):
    """Until the pipeline runs and a processed frame is shown."""
    qtbot.waitUntil(lambda: win.last_shown is not None and win.last_shown.result is not None, timeout=TIMEOUT_MS)


def test_shows_stylized_frames_and_a_live_hud(qtbot, window):
    wait_styled(qtbot, window)
    wait_frames(qtbot, window, 3)
    shown, frame = window.last_shown, window.video.frame
    assert frame is not None and frame.shape == (480, 640, 3)
    assert frame.std() > 20, "blank frame"
    assert np.abs(shown.result.output.astype(int) - shown.raw.astype(int)).mean() > 15, "raw frame, not stylized"
    qtbot.waitUntil(lambda: bool(window.video.hud) and float(window.video.hud[0].split()[0]) > 0, timeout=5000)
    assert any("stylize" in line for line in window.video.hud)
    assert window.side.devices.text().startswith("detect cpu")


def test_style_editor_has_26_thumbnails_and_edits_reach_the_pipeline(qtbot, window):
    editor = window.side.style_editor
    qtbot.waitUntil(lambda: editor.thumbnail_count() == 26, timeout=TIMEOUT_MS)
    wait_styled(qtbot, window)
    combo = editor.combos["happy"]
    assert combo.count() == 26
    pick = 0 if combo.currentData() != 0 else 1
    combo.setCurrentIndex(combo.findData(pick))
    assert window.settings.styles["default"]["happy"] == pick

    def pipeline_uses_it() -> bool:
        pipeline = window.controller.step.pipeline
        return pipeline is not None and int(np.argmax(pipeline.pack.styles["happy"])) == pick

    qtbot.waitUntil(pipeline_uses_it, timeout=TIMEOUT_MS)
    assert editor.previews["happy"].pixmap() is not None


def test_a_control_change_is_applied_once_not_per_frame(qtbot, window):
    wait_styled(qtbot, window)
    pipeline = window.controller.step.pipeline
    applied = []
    original = pipeline.apply
    pipeline.apply = lambda new: (applied.append(new), original(new))[1]
    window.side.control("strength").slider.setValue(0)
    qtbot.waitUntil(lambda: np.array_equal(window.last_shown.result.output, window.last_shown.raw), timeout=TIMEOUT_MS)
    wait_frames(qtbot, window, 5)
    assert len(applied) == 1 and applied[0].strength == 0.0
    window.side.control("strength").slider.setValue(100)
    qtbot.waitUntil(lambda: not np.array_equal(window.last_shown.result.output, window.last_shown.raw),
                    timeout=TIMEOUT_MS)
    assert len(applied) == 2


def test_a_setting_the_pipeline_refuses_is_shown_back(qtbot, window):
    from emocam.modelstore.runtime import cuda_status

    if cuda_status()[0]:
        pytest.skip("CUDA works here, so --device cuda is not refused")
    wait_styled(qtbot, window)
    device = window.side.control("device")
    device.widget.setCurrentIndex(device.widget.findData("cuda"))
    qtbot.waitUntil(lambda: "setting not applied" in window.video.banner, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: device.value() == "cpu", timeout=5000)
    assert window.settings.device == "cpu"
    wait_frames(qtbot, window, 2)  # still running on the old components


def test_record_key_writes_a_playable_mp4(qtbot, window):
    wait_styled(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_R)
    recording = window.controller.recording
    assert window.side.output.record_button.isChecked()
    qtbot.waitUntil(lambda: recording.recorder is not None and recording.recorder.seconds >= 2.5,
                    timeout=TIMEOUT_MS)
    recorder = recording.recorder
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert recorder.remuxed and not recorder.writing.exists()  # a regular MP4 under its name
    assert recording.state == "off" and not window.side.output.record_button.isChecked()
    with av.open(str(recorder.path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == recorder.frames_written >= 4
    assert (frames[0].width, frames[0].height) == (640, 480)
    assert frames[0].to_ndarray(format="rgb24").std() > 20
    qtbot.waitUntil(lambda: "Saved" in window.side.output.status.text(), timeout=5000)
    from browser_video import assert_browser_plays_whole, assert_regular_mp4, need_chromium

    assert_regular_mp4(recorder.path)
    need_chromium()
    assert_browser_plays_whole(recorder.path)  # the fragmented file read as 1-2 s


def test_space_pauses_and_resumes(qtbot, window):
    wait_frames(qtbot, window, 2)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.controller.paused.is_set() and window.side.output.pause_button.isChecked()
    qtbot.wait(1500)
    count = window.frames_shown
    qtbot.wait(2000)
    assert window.frames_shown <= count + 1
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.controller.paused.is_set()
    wait_frames(qtbot, window, 2)


def test_o_toggles_the_overlay_drawn_on_the_view(qtbot, window):
    def overlay_shown(on: bool) -> bool:
        s = window.last_shown
        if s is None or s.result is None or not s.result.faces:
            return False
        return (not np.array_equal(s.display, s.result.output)) is on

    qtbot.waitUntil(lambda: overlay_shown(True), timeout=TIMEOUT_MS)
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert window.settings.overlay is False and not window.side.control("overlay").value()
    qtbot.waitUntil(lambda: overlay_shown(False), timeout=TIMEOUT_MS)
    qtbot.keyClick(window, Qt.Key.Key_O)
    qtbot.waitUntil(lambda: overlay_shown(True), timeout=TIMEOUT_MS)


def test_f_fullscreen_and_escape(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: window.isFullScreen(), timeout=5000)
    assert not window.side_scroll.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)
    assert window.side_scroll.isVisible()


@pytest.fixture
def no_video_devices(monkeypatch):
    monkeypatch.setattr(virtual_camera.platform, "system", lambda: "Linux")
    monkeypatch.setattr(virtual_camera.glob, "glob", lambda pattern: [])


def test_virtual_cam_without_a_device_says_what_to_do(qtbot, window, no_video_devices):
    qtbot.keyClick(window, Qt.Key.Key_V)
    assert window.controller.vcam.state == "failed" and not window.side.output.vcam_button.isChecked()
    assert MODPROBE in window.side.output.status.text()


def test_virtual_cam_option_without_a_device_opens_the_window_with_the_hint(qtbot, open_window, no_video_devices):
    window = open_window(virtual_cam=True)
    qtbot.waitUntil(lambda: MODPROBE in window.side.output.status.text(), timeout=TIMEOUT_MS)
    assert not window.side.output.vcam_button.isChecked()
    wait_frames(qtbot, window, 2)


def test_virtual_cam_gets_1280x720_frames(qtbot, open_window):
    pyvirtualcam.register_backend("emocam-window-fake", FakeBackend)
    FakeBackend.frames.clear()
    window = open_window(vcam_backend="emocam-window-fake")
    qtbot.keyClick(window, Qt.Key.Key_V)
    assert window.controller.vcam.state == ON and window.side.output.vcam_button.isChecked()
    qtbot.waitUntil(lambda: len(FakeBackend.frames) >= 3, timeout=TIMEOUT_MS)
    qtbot.keyClick(window, Qt.Key.Key_V)
    assert window.controller.vcam.state == "off" and not window.side.output.vcam_button.isChecked()
    assert all(f.size == 1280 * 720 * 3 for f in FakeBackend.frames)
    assert max(f.std() for f in FakeBackend.frames) > 20


def test_broken_file_shows_a_message_then_the_sample_plays(qtbot, window, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    window.start_source(str(broken))
    panel = window.video.message
    qtbot.waitUntil(panel.isVisible, timeout=TIMEOUT_MS)
    assert "broken.mp4" in panel.label.text()
    sample_button = next(b for b in panel.findChildren(QPushButton) if b.text() == "Play sample clip")
    qtbot.mouseClick(sample_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=5000)
    wait_frames(qtbot, window, 2)


def test_missing_camera_shows_a_message_with_buttons(qtbot, open_window):
    window = open_window(source="99")
    panel = window.video.message
    qtbot.waitUntil(panel.isVisible, timeout=TIMEOUT_MS)
    assert "camera 99" in panel.label.text()
    assert {b.text() for b in panel.findChildren(QPushButton)} == {"Open video file…", "Play sample clip", "Retry"}


def test_settings_persist_after_closing(qtbot, window, config):
    window.side.control("strength").slider.setValue(70)
    detector = window.side.control("detector").widget
    detector.setCurrentIndex(detector.findData("full"))
    window.side.style_editor.combos["happy"].setCurrentIndex(3)
    window.close()
    saved = SettingsFile(config).load()
    assert saved.strength == pytest.approx(0.7)
    assert saved.detector == "full"
    assert saved.styles["default"]["happy"] == 3
    assert saved.process_size == 256


def test_the_window_runs_the_emotion_model_it_is_given(qtbot, open_window, config, tmp_path):
    """A copy of the FER model whose label metadata swaps happy and sad: the smiling face reads as sad."""
    model = onnx.load(str(find_model("emotion_fer_minixception.onnx")))
    labels = next(p for p in model.metadata_props if p.key == "emocam.labels")
    names = json.loads(labels.value)
    i, j = names.index("happy"), names.index("sad")
    names[i], names[j] = names[j], names[i]
    labels.value = json.dumps(names)
    swapped = tmp_path / "swapped.onnx"
    onnx.save(model, str(swapped))
    settings = dataclasses.replace(SettingsFile(config).load(), emotion_model=str(swapped))
    window = open_window(settings=settings)

    def emotion() -> str | None:
        s = window.last_shown
        return s.result.faces[0].emotion if s is not None and s.result is not None and s.result.faces else None

    qtbot.waitUntil(lambda: emotion() == "sad", timeout=TIMEOUT_MS)
    assert window.controller.step.pipeline.classifier.path == swapped


def test_the_settings_controls_are_made_from_the_schema(qapp):
    from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox

    from emocam.live.panels import SidePanel
    from emocam.settings import GUI, PROCESS_SIZES, Settings, fields_for, meta

    settings = Settings.for_surface("live")
    side = SidePanel(settings, lambda: ["default", "johnson"])
    for field in fields_for(GUI):
        if field.name == "styles":  # the style editor
            continue
        m, control = meta(field.name), side.control(field.name)
        group = next(g for g in side.groups if field.name in g.controls)
        assert group.title() == m.group
        assert control.value() == getattr(settings, field.name)
        widget = control.widget
        if isinstance(getattr(settings, field.name), bool):
            assert isinstance(widget, QCheckBox) and widget.text() == m.label
            continue
        assert group.form.labelForField(widget).text() == m.label
        if field.name == "process_size":
            assert [widget.itemData(i) for i in range(widget.count())] == list(PROCESS_SIZES)
        elif m.choices:
            assert [widget.itemData(i) for i in range(widget.count())] == list(m.choices)
        elif (m.low, m.high, m.unit) == (0.0, 1.0, ""):
            assert control.slider.maximum() == 100  # a percent slider
        elif m.unit:
            assert isinstance(widget, QDoubleSpinBox) and widget.suffix() == f" {m.unit}"
            assert (widget.minimum(), widget.maximum()) == (m.low, m.high)
    pack = side.control("pack").widget
    assert isinstance(pack, QComboBox) and pack.itemData(1) == "johnson"
    reported = []
    side.style.changed.connect(lambda name, value: reported.append((name, value)))
    side.control("strength").slider.setValue(40)
    assert reported == [("strength", 0.4)]
    side.show_settings(settings)  # shows values without reporting them
    assert reported == [("strength", 0.4)] and side.control("strength").value() == 1.0


def test_the_pack_list_shows_a_pack_made_while_the_window_is_open(qapp, qtbot, tmp_path, monkeypatch):
    """`emocam pack new` in another terminal: the pack appears when the list opens, the current pack stays."""
    from emocam.live.pack_view import list_packs
    from emocam.live.panels import SidePanel
    from emocam.settings import Settings

    monkeypatch.setenv("EMOCAM_MODELS", str(tmp_path / "models"))
    side = SidePanel(Settings.for_surface("live"), list_packs)
    combo = side.control("pack").widget
    before = [combo.itemData(i) for i in range(combo.count())]
    assert "made-meanwhile" not in before and combo.currentData() == "default"
    made = tmp_path / "models" / "packs" / "made-meanwhile"
    made.mkdir(parents=True)
    (made / "pack.json").write_text((Path(__file__).parents[1] / "emocam" / "modelstore" / "data" / "packs" /
                                     "default" / "pack.json").read_text())
    reported = []
    side.style.changed.connect(lambda name, value: reported.append((name, value)))
    combo.showPopup()
    combo.hidePopup()
    after = [combo.itemData(i) for i in range(combo.count())]
    assert after == before + ["made-meanwhile"]
    assert combo.currentData() == "default" and reported == []  # opening the list changes nothing
