"""The main window: lays out the video and the side panels and forwards what the user asks for.

The work happens in `Controller` (sources, the frame loop, the pipeline, recording, virtual camera). The
window keeps the `Settings` the controls show: a control change makes a new `Settings`, sends it to the
controller (one channel to the processing thread) and saves it to live.json a moment later.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QMainWindow, QScrollArea, QSplitter, QStatusBar

from emocam.errors import EmocamError
from emocam.live.capture import is_camera, source_label
from emocam.live.controller import Controller
from emocam.live.hud import hud_lines
from emocam.live.meter import FpsMeter
from emocam.live.outputs import ON, WAITING
from emocam.live.pack_view import list_packs, pack_info, picture_thumbnail
from emocam.live.style_editor import THUMB
from emocam.live.panels import SidePanel
from emocam.live.processing import Event, LiveFrame
from emocam.live.video_widget import VideoWidget
from emocam.io.sources import SAMPLE_CLIP, list_cameras
from emocam.settings import Settings, SettingsFile, check_value

VIDEO_FILTER = "Videos and images (*.mp4 *.mov *.m4v *.mkv *.avi *.webm *.png *.jpg *.jpeg);;All files (*)"


class MainWindow(QMainWindow):
    """Everything here runs on the GUI thread."""

    def __init__(self, settings_file: SettingsFile, settings: Settings | None = None, source: str = "0",
                 record_path: str | None = None, virtual_cam: bool = False, vcam_backend: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("emocam live")
        self.settings_file = settings_file
        self.settings = (settings or settings_file.load()).copy()
        self.controller = Controller(self.settings, vcam_backend)
        self.files: list[str] = []
        self.source_fps = 0.0
        self.devices: dict[str, str] = {}
        self.fps = FpsMeter()
        self.last_shown: LiveFrame | None = None
        self.frames_shown = 0
        self._hud_at = 0.0
        self._output_texts = ("", "")
        self._output_status = ""

        self.video = VideoWidget()
        self.side = SidePanel(self.settings, list_packs)
        scroll = QScrollArea()
        scroll.setWidget(self.side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.side.sizeHint().width() + 24)
        self.side_scroll = scroll
        splitter = QSplitter()
        splitter.addWidget(self.video)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        self.setCentralWidget(splitter)
        self.setStatusBar(QStatusBar())
        self._fit_to_screen()
        self._connect()
        self._shortcuts()
        self._load_pack_editor()

        self.start_source(str(source))
        if record_path:
            self.controller.start_recording(record_path)
        if virtual_cam:
            self.controller.start_vcam()
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.timeout.connect(lambda: self.settings_file.save(self.settings))
        self.poll = QTimer(self)
        self.poll.timeout.connect(self._poll)
        self.poll.start(10)

    # --- wiring ---------------------------------------------------------------------------------------------
    def _connect(self) -> None:
        s, out = self.side, self.side.output
        for group in s.groups:
            group.changed.connect(self.set_setting)
        s.style_editor.mapping_changed.connect(
            lambda mapping: self.set_setting("styles", {**self.settings.styles, self.settings.pack: dict(mapping)}))
        s.style_editor.picture_chosen.connect(self.set_picture)
        s.source.source_selected.connect(self.start_source)
        s.source.open_file.connect(self.pick_file)
        out.pause_toggled.connect(self.set_paused)
        out.record_toggled.connect(self.set_recording)
        out.vcam_toggled.connect(self.set_vcam)
        out.fullscreen_clicked.connect(self.toggle_fullscreen)
        m = self.video.message
        m.open_file.connect(self.pick_file)
        m.open_sample.connect(lambda: self.start_source(str(SAMPLE_CLIP)))
        m.retry.connect(lambda: self.start_source(self.controller.source_spec))

    def _shortcuts(self) -> None:
        keys = {
            Qt.Key.Key_Space: lambda: self.set_paused(not self.controller.paused.is_set()),
            Qt.Key.Key_R: lambda: self.set_recording(self.controller.recording.state not in (WAITING, ON)),
            Qt.Key.Key_V: lambda: self.set_vcam(self.controller.vcam.state != ON),
            Qt.Key.Key_O: lambda: self.set_setting("overlay", not self.settings.overlay),
            Qt.Key.Key_F: self.toggle_fullscreen,
            Qt.Key.Key_Escape: self.leave_fullscreen,
        }
        for key, slot in keys.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

    # --- what the user asks for ------------------------------------------------------------------------------
    def set_setting(self, name: str, value: object) -> None:
        """One setting changed: new Settings to the processing side, shown in the controls, saved soon."""
        try:
            value = check_value(name, value)
        except EmocamError as exc:
            self.statusBar().showMessage(str(exc))
            self.side.show_settings(self.settings)
            return
        self.settings = dataclasses.replace(self.settings.copy(), **{name: value})
        self.side.show_settings(self.settings)
        self.controller.apply(self.settings)
        if name == "pack":
            self._load_pack_editor()
        if name == "hud":
            self._refresh_hud()
        self._save_timer.start(500)

    def set_picture(self, emotion: str, path: str) -> None:
        """A picture dropped on or chosen for an emotion of a pictures pack: copied into the pack, its style
        vector computed once; the running pipeline's pack takes it in place, so the next frame shows it."""
        from emocam.packs.authoring import set_pictures

        try:
            set_pictures(self.settings.pack, {emotion: [(Path(path), 1.0)]})
        except EmocamError as exc:
            self.statusBar().showMessage(str(exc))
            return
        self.statusBar().showMessage(f"{emotion} now takes its style from {Path(path).name}")
        self._load_pack_editor()

    def start_source(self, spec: str) -> None:
        """Stop the current source and start `spec` (camera index or file; files loop)."""
        if not is_camera(spec) and spec not in self.files:
            self.files.append(spec)
        self.side.source.set_sources(list_cameras(), str(spec), self.files)
        self.video.show_message("")
        self.statusBar().showMessage(f"opening {source_label(spec)}…")
        self.controller.start_source(spec)

    def pick_file(self) -> None:
        start = self.settings.last_file_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open a video or image", start, VIDEO_FILTER)
        if path:
            self.settings = dataclasses.replace(self.settings, last_file_dir=str(Path(path).parent))
            self.start_source(path)
        else:
            self.side.source.set_sources(list_cameras(), self.controller.source_spec, self.files)

    def set_paused(self, on: bool) -> None:
        self.controller.set_paused(on)
        self._show_outputs()
        self._refresh_hud()

    def set_recording(self, on: bool) -> None:
        """Start (to --record's path once, then timestamped files in the record folder) or stop recording."""
        if on:
            self.controller.start_recording(folder=self.settings.record_dir)
        else:
            self.controller.stop_recording()
        self._show_outputs()

    def set_vcam(self, on: bool) -> None:
        (self.controller.start_vcam if on else self.controller.stop_vcam)()
        self._show_outputs()

    # --- what the processing side reports --------------------------------------------------------------------
    def _poll(self) -> None:
        for event in self.controller.events():
            self._event(event)
        shown = self.controller.view.take()
        now = time.monotonic()
        if shown is not None:
            self.last_shown = shown
            self.frames_shown += 1
            self.fps.tick(now)
            self.video.set_frame(shown.display)
        if now - self._hud_at > 0.25:
            self._hud_at = now
            self._refresh_hud()
            self._show_outputs()
            for key, image in self.controller.thumbnails.take():
                self.side.style_editor.set_thumbnail(key, image)

    def _event(self, event: Event) -> None:
        if event.kind == "opened":
            self.source_fps = event.data["fps"]
            w, h = event.data["size"]
            self.statusBar().showMessage(f"{event.text}: {w}x{h} at {self.source_fps:.1f} fps")
            self.video.show_message("")
            self.fps = FpsMeter()  # a new source: measure its frame rate afresh
        elif event.kind in ("error", "ended"):
            self.statusBar().showMessage(event.text)
            self.video.show_message(f"{event.text}\n\nPick another source: open a video file, play the bundled "
                                    "sample clip, or plug a camera in and retry.")
        elif event.kind == "warning":
            self.video.set_banner(event.text)
        elif event.kind == "devices":
            self.devices = event.data
            self.side.set_devices(self.devices)
        elif event.kind == "settings":  # the pipeline refused a change: show what is in force
            self.settings = dataclasses.replace(self.settings, **event.data)
            self.side.show_settings(self.settings)
            if "pack" in event.data:
                self._load_pack_editor()

    def _show_outputs(self) -> None:
        """Toggles follow the outputs' states; the status line shows the newest thing either one said."""
        c = self.controller
        texts = (c.recording.status, c.vcam.status)
        for new, old in zip(texts, self._output_texts):
            if new != old:
                self._output_status = new or self._output_status
        self._output_texts = texts
        self.side.output.show_state(c.paused.is_set(), c.recording.state in (WAITING, ON), c.vcam.state == ON,
                                    self._output_status)

    def _refresh_hud(self) -> None:
        s = self.last_shown
        if not self.settings.hud or s is None:
            self.video.set_hud([])
            return
        c, status = self.controller, []
        if c.paused.is_set():
            status.append("PAUSED")
        if c.recording.state == ON:
            status.append(f"REC {c.recording.seconds:.0f}s")
        if c.vcam.state == ON and c.vcam.camera is not None:
            status.append(f"VCAM {c.vcam.camera.device}")
        faces, emotion = (s.result.faces, s.result.emotion) if s.result is not None else ([], None)
        self.video.set_hud(hud_lines(self.fps.fps(), self.source_fps, s.result.timings if s.result else {},
                                     s.latency_ms, faces, self.devices, "  ".join(status), emotion))

    def _load_pack_editor(self) -> None:
        try:
            info = pack_info(self.settings.pack, self.settings.styles_for())
        except EmocamError as exc:
            self.video.set_banner(str(exc))
            return
        view = info.view
        pictures = None if view.pictures is None else \
            {e: t for e, p in view.pictures.items() if (t := picture_thumbnail(p, 2 * THUMB)) is not None}
        self.side.style_editor.set_pack(view.mapping, view.choices, view.editable, pictures)
        self.controller.thumbnails.render(info, self.settings.device)

    # --- window ------------------------------------------------------------------------------------------------
    def _fit_to_screen(self) -> None:
        """About 95% of the screen, at most 1560x960."""
        screen = self.screen().availableGeometry() if self.screen() else None
        w, h = (screen.width(), screen.height()) if screen else (1400, 860)
        self.resize(min(1560, int(w * 0.95)), min(960, int(h * 0.95)))

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.leave_fullscreen()
        else:
            self.side_scroll.hide()
            self.statusBar().hide()
            self.showFullScreen()

    def leave_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
            self.side_scroll.show()
            self.statusBar().show()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.poll.stop()
        self.controller.shutdown()
        self.settings_file.save(self.settings)
        super().closeEvent(event)
