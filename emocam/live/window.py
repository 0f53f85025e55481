"""The main window: video view, controls, HUD, keyboard, recording and virtual camera."""

from __future__ import annotations

import queue
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QMainWindow, QScrollArea, QSplitter, QStatusBar

from emocam.errors import EmocamError
from emocam.live import pipeline_link
from emocam.live.controls import ControlsPanel
from emocam.live.hud import FpsMeter, hud_lines
from emocam.live.mailbox import Mailbox
from emocam.live.recorder import Recorder
from emocam.live.settings_store import LiveSettings, SettingsStore
from emocam.live.thumbnails import ThumbnailWorker
from emocam.live.video_widget import VideoWidget
from emocam.live.virtual_camera import VirtualCamera
from emocam.live.workers import CaptureWorker, ProcessWorker, Shown, WorkerEvent, is_camera
from emocam.pipeline.sources import SAMPLE_CLIP

VIDEO_FILTER = "Videos and images (*.mp4 *.mov *.m4v *.mkv *.avi *.webm *.png *.jpg *.jpeg);;All files (*)"


class MainWindow(QMainWindow):
    """Owns the worker threads and the outputs; everything here runs on the GUI thread."""

    def __init__(self, store: SettingsStore, source: str = "0", record_path: str | None = None,
                 virtual_cam: bool = False, vcam_backend: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("emocam live")
        self.store = store
        self.settings: LiveSettings = store.load()
        self.source_spec = str(source)
        self.source_fps = 0.0
        self.source_size: tuple[int, int] | None = None
        self.files: list[str] = []
        self.record_path = record_path
        self.recorder: Recorder | None = None
        self.record_pending = False
        self.vcam: VirtualCamera | None = None
        self.vcam_backend = vcam_backend
        self.want_vcam = virtual_cam
        self.devices: dict[str, str] = {}
        self.fps = FpsMeter()
        self.paused = False
        self.last_shown: Shown | None = None
        self.frames_shown = 0
        self._hud_at = 0.0

        self.video = VideoWidget()
        self.controls = ControlsPanel(self.settings, pipeline_link.list_packs())
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.controls.sizeHint().width() + 24)
        self.side = scroll
        splitter = QSplitter()
        splitter.addWidget(self.video)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        self.setCentralWidget(splitter)
        self.setStatusBar(QStatusBar())
        self._fit_to_screen()

        self.events: queue.Queue[WorkerEvent] = queue.Queue()
        self.captured: Mailbox = Mailbox()
        self.results: Mailbox[Shown] = Mailbox()
        self.capture: CaptureWorker | None = None
        self.process = ProcessWorker(self.captured, self.results, self.events,
                                     lambda: pipeline_link.make_pipeline(self.settings), pipeline_link.draw_overlay)
        self._sync_overlay()
        self.thumbs = ThumbnailWorker()

        self._connect()
        self._shortcuts()
        self._load_pack_editor()
        self.process.start()
        self.start_source(self.source_spec)

        self.poll = QTimer(self)
        self.poll.timeout.connect(self._poll)
        self.poll.start(10)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.timeout.connect(lambda: self.store.save(self.settings))

    # --- wiring ---------------------------------------------------------------------------------------
    def _connect(self) -> None:
        c = self.controls
        c.changed.connect(self._setting_changed)
        c.source_selected.connect(self.start_source)
        c.open_file.connect(self.pick_file)
        c.pause_toggled.connect(self.set_paused)
        c.record_toggled.connect(self.set_recording)
        c.vcam_toggled.connect(self.set_vcam)
        c.fullscreen_clicked.connect(self.toggle_fullscreen)
        c.style_editor.mapping_changed.connect(self._mapping_changed)
        m = self.video.message
        m.open_file.connect(self.pick_file)
        m.open_sample.connect(lambda: self.start_source(str(SAMPLE_CLIP)))
        m.retry.connect(lambda: self.start_source(self.source_spec))

    def _shortcuts(self) -> None:
        keys = {
            Qt.Key.Key_Space: lambda: self.set_paused(not self.paused),
            Qt.Key.Key_R: lambda: self.set_recording(self.recorder is None and not self.record_pending),
            Qt.Key.Key_V: lambda: self.set_vcam(self.vcam is None),
            Qt.Key.Key_O: lambda: self.controls.checks["overlay"].toggle(),
            Qt.Key.Key_F: self.toggle_fullscreen,
            Qt.Key.Key_Escape: self.leave_fullscreen,
        }
        for key, slot in keys.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

    # --- sources --------------------------------------------------------------------------------------
    def start_source(self, spec: str) -> None:
        """Stop the current source and start `spec` (camera index or file); files loop."""
        if self.capture is not None:
            self.capture.stop()  # not joined: a camera read may block; the thread ends by itself
            self.capture.join(timeout=0.2)
        self.source_spec = str(spec)
        if not is_camera(spec) and spec not in self.files:
            self.files.append(spec)
        self.controls.set_sources(pipeline_link.list_cameras(), self.source_spec, self.files)
        self.video.show_message("")
        self.statusBar().showMessage(f"opening {self._label(spec)}…")
        self.process.request(lambda p: p.reset())
        self.capture = CaptureWorker(spec, self.captured, self.events, loop=True)
        if self.paused:
            self.capture.paused.set()
        self.capture.start()

    def pick_file(self) -> None:
        start = self.settings.last_file_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open a video or image", start, VIDEO_FILTER)
        if path:
            self.settings.last_file_dir = str(Path(path).parent)
            self.start_source(path)
        else:
            self.controls.set_sources(pipeline_link.list_cameras(), self.source_spec, self.files)

    def _label(self, spec: str) -> str:
        return f"camera {spec}" if is_camera(spec) else Path(spec).name

    # --- the frame loop -------------------------------------------------------------------------------
    def _poll(self) -> None:
        while True:
            try:
                self._event(self.events.get_nowait())
            except queue.Empty:
                break
        shown = self.results.take()
        now = time.monotonic()
        if shown is not None:
            self.last_shown = shown
            self.frames_shown += 1
            self.fps.tick(now)
            self.video.set_frame(shown.display)
        if now - self._hud_at > 0.25:
            self._hud_at = now
            self._refresh_hud()
            self._check_outputs()

    def _refresh_hud(self) -> None:
        s = self.last_shown
        if not self.settings.hud or s is None:
            self.video.set_hud([])
            return
        status = []
        if self.paused:
            status.append("PAUSED")
        if self.recorder is not None:
            status.append(f"REC {self.recorder.seconds:.0f}s")
        if self.vcam is not None:
            status.append(f"VCAM {self.vcam.device}")
        self.video.set_hud(hud_lines(self.fps.fps(), self.source_fps, s.timings, s.latency_ms, s.faces,
                                     self.devices, "  ".join(status), s.emotion))

    def _event(self, event: WorkerEvent) -> None:
        if event.kind == "opened":
            self.source_fps = event.data["fps"]
            self.source_size = event.data["size"]
            w, h = self.source_size
            self.statusBar().showMessage(f"{event.text}: {w}x{h} at {self.source_fps:.1f} fps")
            self.video.show_message("")
            self.fps = FpsMeter()  # a new source: measure its frame rate afresh
            if self.record_path and self.recorder is None:
                self.set_recording(True)
            if self.want_vcam and self.vcam is None:
                self.want_vcam = False  # --virtual-cam is tried once; V tries again
                self.set_vcam(True)
        elif event.kind in ("error", "ended"):
            text = event.text if event.kind == "error" else f"{self._label(self.source_spec)}: {event.text}"
            self.statusBar().showMessage(text)
            self.video.show_message(f"{text}\n\nPick another source: open a video file, play the bundled "
                                    "sample clip, or plug a camera in and retry.")
        elif event.kind == "warning":
            self.video.set_banner(event.text)
        elif event.kind == "pipeline":
            self.devices = event.data
            self.controls.set_devices(self.devices)
            self.video.set_banner("")

    # --- settings -------------------------------------------------------------------------------------
    def _setting_changed(self, name: str, value: object) -> None:
        if name in ("overlay", "boxes", "labels", "bars", "record_overlay"):
            self._sync_overlay()
        if name == "pack":
            self._load_pack_editor()
        if name in pipeline_link.PIPELINE_FIELDS:
            self.process.request(lambda p: pipeline_link.apply(p, self.settings))
        if name == "hud":
            self._refresh_hud()
        self._save_timer.start(500)

    def _mapping_changed(self, mapping: dict) -> None:
        self.settings.styles[self.settings.pack] = dict(mapping)
        self.process.request(lambda p: pipeline_link.apply(p, self.settings))
        self._save_timer.start(500)

    def _sync_overlay(self) -> None:
        o, s = self.process.overlay, self.settings
        o.show, o.boxes, o.labels, o.bars, o.record = s.overlay, s.boxes, s.labels, s.bars, s.record_overlay

    def _load_pack_editor(self) -> None:
        try:
            info = pipeline_link.pack_info(self.settings.pack, self.settings)
        except EmocamError as exc:
            self.video.set_banner(str(exc))
            return
        self.controls.style_editor.set_pack(info.mapping, info.choices, info.editable)
        self.thumbs.render(info, self.settings.device)

    # --- outputs --------------------------------------------------------------------------------------
    def set_paused(self, on: bool) -> None:
        self.paused = on
        if self.capture is not None:
            (self.capture.paused.set if on else self.capture.paused.clear)()
        self.controls.set_checked(self.controls.pause_button, on)
        self._refresh_hud()

    def set_recording(self, on: bool) -> None:
        """Start or stop recording; the file goes to --record PATH or a timestamped file."""
        if not on:
            self._stop_recording()
            return
        if self.recorder is not None:
            return
        self.controls.set_checked(self.controls.record_button, True)
        if self.source_size is None or not self.fps.ready():
            # the encoder's keyframe interval is set in frames: wait for a measured live frame rate
            self.record_pending = True
            self.controls.set_output_status("Recording starts in a moment (measuring the frame rate)…")
            return
        self.record_pending = False
        path = self.record_path or str(self._record_dir() / time.strftime("emocam-%Y%m%d-%H%M%S.mp4"))
        self.record_path = None  # --record is used once; later recordings get new names
        try:
            self.recorder = Recorder(path, self.source_size, self.fps.fps(), max_rate=min(30.0, self.source_fps or 30))
        except EmocamError as exc:
            self.controls.set_output_status(str(exc))
            self.controls.set_checked(self.controls.record_button, False)
            return
        self.process.add_output(self.recorder)
        self.controls.set_checked(self.controls.record_button, True)
        self.controls.set_output_status(f"Recording to {path}")
        self.statusBar().showMessage(f"recording to {path}")
        print(f"emocam: recording to {path}", flush=True)

    def _stop_recording(self, reason: str = "") -> None:
        rec, self.recorder, self.record_pending = self.recorder, None, False
        self.controls.set_checked(self.controls.record_button, False)
        if rec is None:
            return
        self.process.remove_output(rec)
        rec.close()
        text = reason or rec.error or f"Saved {rec.frames_written} frames ({rec.seconds:.1f} s) to {rec.path}"
        self.controls.set_output_status(text)
        self.statusBar().showMessage(text)

    def _record_dir(self) -> Path:
        folder = Path(self.settings.record_dir) if self.settings.record_dir else Path.home() / "Videos"
        return folder if folder.is_dir() else Path.cwd()

    def set_vcam(self, on: bool) -> None:
        """Start or stop the virtual camera; when none can be opened the toggle stays off with a reason."""
        if not on:
            cam, self.vcam = self.vcam, None
            if cam is not None:
                self.process.remove_output(cam)
                cam.close()
                self.controls.set_output_status("Virtual camera off")
            self.controls.set_checked(self.controls.vcam_button, False)
            return
        if self.vcam is not None:
            return
        try:
            self.vcam = VirtualCamera(backend=self.vcam_backend)
        except EmocamError as exc:
            self.controls.set_checked(self.controls.vcam_button, False)
            self.controls.set_output_status(str(exc))
            self.statusBar().showMessage(str(exc))
            return
        self.process.add_output(self.vcam)
        self.controls.set_checked(self.controls.vcam_button, True)
        self.controls.set_output_status(f"Virtual camera on: {self.vcam.device} (1280x720, 30 fps)")

    def _check_outputs(self) -> None:
        if self.record_pending and self.fps.ready():
            self.set_recording(True)
        if self.recorder is not None and self.recorder.error:
            self._stop_recording(self.recorder.error)
        if self.vcam is not None and self.vcam.error:
            error = self.vcam.error
            self.set_vcam(False)
            self.controls.set_output_status(error)
        for name, image in self.thumbs.take():
            self.controls.style_editor.set_thumbnail(name, image)

    # --- window -----------------------------------------------------------------------------------------
    def _fit_to_screen(self) -> None:
        """About 95% of the screen, at most 1560x960."""
        screen = self.screen().availableGeometry() if self.screen() else None
        w, h = (screen.width(), screen.height()) if screen else (1400, 860)
        self.resize(min(1560, int(w * 0.95)), min(960, int(h * 0.95)))

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.leave_fullscreen()
        else:
            self.side.hide()
            self.statusBar().hide()
            self.showFullScreen()

    def leave_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
            self.side.show()
            self.statusBar().show()

    def shutdown(self) -> None:
        """Stop threads and close the outputs (the recording stays playable)."""
        self.poll.stop()
        self._stop_recording()
        self.set_vcam(False)
        if self.capture is not None:
            self.capture.stop()
        self.process.stop()
        self.thumbs.stop()
        if self.capture is not None:
            self.capture.join(timeout=2)
        self.process.join(timeout=5)
        self.store.save(self.settings)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.shutdown()
        super().closeEvent(event)
