"""The side panel: source, style, emotion smoothing, detector, overlay, processing and output controls."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from emocam.live.settings_store import LiveSettings
from emocam.live.style_editor import StyleEditor

PROCESS_SIZES = (256, 320, 384, 512, 640, 768, 1024, 0)
DEVICES = ("auto", "cpu", "cuda")
OPEN_FILE = "__open_file__"


class ControlsPanel(QWidget):
    """Every control writes one `LiveSettings` field and emits `changed(name, value)`."""

    changed = Signal(str, object)
    source_selected = Signal(str)
    open_file = Signal()
    pause_toggled = Signal(bool)
    record_toggled = Signal(bool)
    vcam_toggled = Signal(bool)
    fullscreen_clicked = Signal()

    def __init__(self, settings: LiveSettings, packs: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self._source_group())
        layout.addWidget(self._output_group())
        layout.addWidget(self._style_group(packs))
        layout.addWidget(self._emotion_group())
        layout.addWidget(self._overlay_group())
        layout.addWidget(self._processing_group())
        layout.addStretch(1)
        for child in self.findChildren(QWidget):  # keys belong to the window's shortcuts
            if isinstance(child, (QPushButton, QCheckBox)):
                child.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    # --- groups ---------------------------------------------------------------------------------------
    def _source_group(self) -> QGroupBox:
        box = QGroupBox("Source")
        self.source = QComboBox()
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(18)
        self.source.activated.connect(self._source_activated)
        open_button = QPushButton("Open file…")
        open_button.clicked.connect(self.open_file.emit)
        row = QHBoxLayout(box)
        row.addWidget(self.source, 1)
        row.addWidget(open_button)
        return box

    def _output_group(self) -> QGroupBox:
        box = QGroupBox("Output")
        grid = QGridLayout(box)
        self.pause_button = self._toggle("Pause  [Space]", self.pause_toggled, "#b8860b")
        self.record_button = self._toggle("● Record  [R]", self.record_toggled, "#c0392b")
        self.vcam_button = self._toggle("Virtual cam  [V]", self.vcam_toggled, "#2e8b57")
        full = QPushButton("Fullscreen  [F]")
        full.clicked.connect(self.fullscreen_clicked.emit)
        grid.addWidget(self.pause_button, 0, 0)
        grid.addWidget(self.record_button, 0, 1)
        grid.addWidget(self.vcam_button, 1, 0)
        grid.addWidget(full, 1, 1)
        self.output_status = QLabel("")
        self.output_status.setWordWrap(True)
        self.output_status.hide()
        self.output_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(self.output_status, 2, 0, 1, 2)
        return box

    def _style_group(self, packs: list[str]) -> QGroupBox:
        box = QGroupBox("Style")
        form = QFormLayout(box)
        self.pack = QComboBox()
        self.pack.addItems(packs)
        if self.settings.pack not in packs:  # a pack given as a folder path
            self.pack.addItem(self.settings.pack)
        self.pack.setCurrentText(self.settings.pack)
        self.pack.currentTextChanged.connect(lambda name: self._set("pack", name))
        form.addRow("Pack", self.pack)
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setValue(round(self.settings.strength * 100))
        self.strength_label = QLabel(f"{self.strength.value()}%")
        self.strength_label.setMinimumWidth(36)
        self.strength.valueChanged.connect(self._strength_changed)
        row = QHBoxLayout()
        row.addWidget(self.strength, 1)
        row.addWidget(self.strength_label)
        form.addRow("Strength", row)
        self.style_editor = StyleEditor()
        form.addRow(self.style_editor)
        return box

    def _emotion_group(self) -> QGroupBox:
        box = QGroupBox("Emotion")
        form = QFormLayout(box)
        self.smoothing = self._seconds(self.settings.smoothing_s, 0.0, 5.0, "smoothing_s")
        self.dwell = self._seconds(self.settings.dwell_s, 0.0, 10.0, "dwell_s")
        form.addRow("Smoothing time", self.smoothing)
        form.addRow("Dwell before a change", self.dwell)
        self.detector = QComboBox()
        self.detector.addItem("short range (≤ 2 m)", "short")
        self.detector.addItem("full range (≤ 5 m)", "full")
        self.detector.setCurrentIndex(max(0, self.detector.findData(self.settings.detector)))
        self.detector.currentIndexChanged.connect(lambda _: self._set("detector", self.detector.currentData()))
        form.addRow("Detector", self.detector)
        return box

    def _overlay_group(self) -> QGroupBox:
        box = QGroupBox("Overlay")
        grid = QGridLayout(box)
        self.checks: dict[str, QCheckBox] = {}
        items = (("overlay", "Show overlay [O]"), ("hud", "HUD"), ("boxes", "Boxes"), ("labels", "Labels"),
                 ("bars", "Probability bars"), ("record_overlay", "Overlay in recording"))
        for i, (name, text) in enumerate(items):
            check = QCheckBox(text)
            check.setChecked(bool(getattr(self.settings, name)))
            check.toggled.connect(lambda on, n=name: self._set(n, on))
            self.checks[name] = check
            grid.addWidget(check, i // 2, i % 2)
        return box

    def _processing_group(self) -> QGroupBox:
        box = QGroupBox("Processing")
        form = QFormLayout(box)
        self.size = QComboBox()
        for s in PROCESS_SIZES:
            self.size.addItem(f"{s} px" if s else "full size", s)
        self.size.setCurrentIndex(max(0, self.size.findData(self.settings.process_size)))
        self.size.currentIndexChanged.connect(lambda _: self._set("process_size", self.size.currentData()))
        form.addRow("Style size (longest side)", self.size)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(self.settings.device)
        self.device.currentTextChanged.connect(lambda d: self._set("device", d))
        form.addRow("Device", self.device)
        self.devices_label = QLabel("starting…")
        self.devices_label.setWordWrap(True)
        form.addRow("Running on", self.devices_label)
        return box

    # --- helpers --------------------------------------------------------------------------------------
    def _toggle(self, text: str, signal, on_color: str) -> QPushButton:
        button = QPushButton(text)
        button.setCheckable(True)
        button.setStyleSheet(f"QPushButton:checked {{ background: {on_color}; color: white; font-weight: bold; }}")
        button.toggled.connect(signal.emit)
        return button

    def _seconds(self, value: float, lo: float, hi: float, name: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(lo, hi)
        spin.setSingleStep(0.1)
        spin.setDecimals(1)
        spin.setSuffix(" s")
        spin.setValue(value)
        spin.valueChanged.connect(lambda v: self._set(name, float(v)))
        return spin

    def _set(self, name: str, value: object) -> None:
        setattr(self.settings, name, value)
        self.changed.emit(name, value)

    def _strength_changed(self, value: int) -> None:
        self.strength_label.setText(f"{value}%")
        self._set("strength", value / 100)

    def _source_activated(self, index: int) -> None:
        data = self.source.itemData(index)
        if data == OPEN_FILE:
            self.open_file.emit()
        elif data is not None:
            self.source_selected.emit(str(data))

    # --- updates from the window ----------------------------------------------------------------------
    def set_sources(self, cameras: list[tuple[int, str]], current: str, files: list[str]) -> None:
        """Fill the source list: cameras by name, recent files, and "Open file…"."""
        from pathlib import Path

        self.source.blockSignals(True)
        self.source.clear()
        for index, name in cameras:
            self.source.addItem(f"Camera {index}: {name}", str(index))
        if not cameras:
            self.source.addItem("Camera 0 (none found)", "0")
        for path in files:
            self.source.addItem(Path(path).name, path)
            self.source.setItemData(self.source.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        self.source.addItem("Open file…", OPEN_FILE)
        found = self.source.findData(current)
        self.source.setCurrentIndex(found if found >= 0 else 0)
        self.source.blockSignals(False)

    def set_output_status(self, text: str) -> None:
        """A line under the output buttons (recording file, virtual camera state or what to do)."""
        self.output_status.setText(text)
        self.output_status.setVisible(bool(text))

    def set_devices(self, devices: dict[str, str]) -> None:
        text = ", ".join(f"{stage} {dev}" for stage, dev in devices.items())
        self.devices_label.setText(text or "raw video (no pipeline)")

    def set_checked(self, button: QPushButton, on: bool) -> None:
        """Change a toggle's state without emitting its signal."""
        button.blockSignals(True)
        button.setChecked(on)
        button.blockSignals(False)
