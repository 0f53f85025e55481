"""The side panels of the live window. Each one shows state and reports what the user asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from emocam.live.setting_controls import SettingsGroup
from emocam.live.style_editor import StyleEditor
from emocam.settings import Settings

OPEN_FILE = "__open_file__"


class SourcePanel(QGroupBox):
    """Cameras by name, recent files and "Open file…"."""

    source_selected = Signal(str)
    open_file = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Source", parent)
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(18)
        self.combo.activated.connect(self._activated)
        button = QPushButton("Open file…")
        button.clicked.connect(self.open_file.emit)
        row = QHBoxLayout(self)
        row.addWidget(self.combo, 1)
        row.addWidget(button)

    def set_sources(self, cameras: list[tuple[int, str]], current: str, files: list[str]) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        for index, name in cameras:
            self.combo.addItem(f"Camera {index}: {name}", str(index))
        if not cameras:
            self.combo.addItem("Camera 0 (none found)", "0")
        for path in files:
            self.combo.addItem(Path(path).name, path)
            self.combo.setItemData(self.combo.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        self.combo.addItem("Open file…", OPEN_FILE)
        found = self.combo.findData(current)
        self.combo.setCurrentIndex(found if found >= 0 else 0)
        self.combo.blockSignals(False)

    def _activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        if data == OPEN_FILE:
            self.open_file.emit()
        elif data is not None:
            self.source_selected.emit(str(data))


class OutputPanel(QGroupBox):
    """Pause, record, virtual camera and fullscreen toggles, and a line saying what the outputs do."""

    pause_toggled = Signal(bool)
    record_toggled = Signal(bool)
    vcam_toggled = Signal(bool)
    fullscreen_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Output", parent)
        grid = QGridLayout(self)
        self.pause_button = self._toggle("Pause  [Space]", self.pause_toggled, "#b8860b")
        self.record_button = self._toggle("● Record  [R]", self.record_toggled, "#c0392b")
        self.vcam_button = self._toggle("Virtual cam  [V]", self.vcam_toggled, "#2e8b57")
        full = QPushButton("Fullscreen  [F]")
        full.clicked.connect(self.fullscreen_clicked.emit)
        for i, button in enumerate((self.pause_button, self.record_button, self.vcam_button, full)):
            grid.addWidget(button, i // 2, i % 2)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.hide()
        grid.addWidget(self.status, 2, 0, 1, 2)

    def _toggle(self, text: str, signal, on_color: str) -> QPushButton:
        button = QPushButton(text)
        button.setCheckable(True)
        button.setStyleSheet(f"QPushButton:checked {{ background: {on_color}; color: white; font-weight: bold; }}")
        button.toggled.connect(signal.emit)
        return button

    def show_state(self, paused: bool, recording: bool, vcam: bool, status: str) -> None:
        """Set the toggles and the status line without emitting their signals."""
        for button, on in ((self.pause_button, paused), (self.record_button, recording), (self.vcam_button, vcam)):
            if button.isChecked() != on:
                button.blockSignals(True)
                button.setChecked(on)
                button.blockSignals(False)
        if status != self.status.text():
            self.status.setText(status)
            self.status.setVisible(bool(status))


class SidePanel(QWidget):
    """Source, output, style (with the per-emotion style editor), emotion, overlay and processing panels."""

    def __init__(self, settings: Settings, packs: Callable[[], list[str]], parent: QWidget | None = None) -> None:
        """`packs` lists the style packs; it is asked again each time the pack list opens."""
        super().__init__(parent)
        self.source = SourcePanel()
        self.output = OutputPanel()
        self.style = SettingsGroup("Style", settings, choices={"pack": packs})
        self.style_editor = StyleEditor()
        self.style.layout().addWidget(self.style_editor)
        self.emotion = SettingsGroup("Emotion", settings)
        self.expression = SettingsGroup("Expression", settings)  # the face edit before the style
        self.overlay = SettingsGroup("Overlay", settings)
        self.processing = SettingsGroup("Processing", settings)
        self.devices = QLabel("starting…")
        self.devices.setWordWrap(True)
        self.processing.form.addRow("Running on", self.devices)
        self.groups = (self.style, self.emotion, self.overlay, self.processing, self.expression)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        for panel in (self.source, self.output, self.style, self.emotion, self.expression, self.processing,
                      self.overlay):
            layout.addWidget(panel)
        layout.addStretch(1)
        for child in self.findChildren(QWidget):  # keys belong to the window's shortcuts
            if isinstance(child, (QPushButton, QCheckBox)):
                child.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def control(self, name: str):
        """The control of setting `name`, whichever panel holds it."""
        return next(g.controls[name] for g in self.groups if name in g.controls)

    def show_settings(self, settings: Settings) -> None:
        for group in self.groups:
            group.show_settings(settings)

    def set_devices(self, devices: dict[str, str]) -> None:
        self.devices.setText(", ".join(f"{stage} {dev}" for stage, dev in devices.items()) or "raw video (no pipeline)")
