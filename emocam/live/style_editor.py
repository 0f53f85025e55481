"""Per-emotion style mapping editor: one row per emotion, each style shown as a thumbnail."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QWidget

from emocam.labels import EMOTIONS

THUMB = 28


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """A QPixmap that owns a copy of `rgb` (GUI thread only)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())


class StyleEditor(QWidget):
    """For a multistyle pack every emotion picks one of `choices` styles; other packs are shown read-only."""

    mapping_changed = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mapping: dict[str, int] = {}
        self.combos: dict[str, QComboBox] = {}
        self.previews: dict[str, QLabel] = {}
        self._icons: dict[object, QIcon] = {}
        self._pixmaps: dict[object, QPixmap] = {}
        self._editable = False
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 4, 0, 0)
        grid.setVerticalSpacing(2)
        for row, emotion in enumerate(EMOTIONS):
            preview = QLabel()
            preview.setFixedSize(THUMB, THUMB)
            preview.setStyleSheet("background: #222; border: 1px solid #444;")
            combo = QComboBox()
            combo.setIconSize(QSize(THUMB, THUMB))
            combo.currentIndexChanged.connect(lambda _, e=emotion: self._picked(e))
            grid.addWidget(QLabel(emotion), row, 0)
            grid.addWidget(preview, row, 1)
            grid.addWidget(combo, row, 2)
            self.combos[emotion], self.previews[emotion] = combo, preview
        grid.setColumnStretch(2, 1)

    def set_pack(self, mapping: dict[str, object], choices: int, editable: bool) -> None:
        """Show a pack: `mapping` is emotion -> style index (editable) or any label (read-only)."""
        self._editable = editable
        self._icons.clear()
        self._pixmaps.clear()
        for emotion, combo in self.combos.items():
            combo.blockSignals(True)
            combo.clear()
            if editable:
                for i in range(choices):
                    combo.addItem(f"style {i}", i)
                current = mapping.get(emotion)
                combo.setCurrentIndex(max(0, combo.findData(current)))
            else:
                combo.addItem(str(mapping.get(emotion, "—")), emotion)
            combo.setEnabled(editable)
            combo.blockSignals(False)
            self.previews[emotion].clear()
        self.mapping = {e: int(v) for e, v in mapping.items() if editable and isinstance(v, int)}

    def set_thumbnail(self, key: object, rgb: np.ndarray) -> None:
        """Attach a thumbnail: key is a style index (multistyle) or an emotion (read-only packs)."""
        pixmap = to_pixmap(rgb).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                       Qt.TransformationMode.SmoothTransformation)
        self._pixmaps[key] = pixmap
        self._icons[key] = QIcon(pixmap)
        for emotion, combo in self.combos.items():
            for i in range(combo.count()):
                if combo.itemData(i) == key:
                    combo.setItemIcon(i, self._icons[key])
            self._refresh_preview(emotion)

    def thumbnail_count(self) -> int:
        return len(self._pixmaps)

    def _picked(self, emotion: str) -> None:
        combo = self.combos[emotion]
        if self._editable and combo.currentData() is not None:
            self.mapping[emotion] = int(combo.currentData())
            self.mapping_changed.emit(dict(self.mapping))
        self._refresh_preview(emotion)

    def _refresh_preview(self, emotion: str) -> None:
        pixmap = self._pixmaps.get(self.combos[emotion].currentData())
        if pixmap is not None:
            self.previews[emotion].setPixmap(pixmap)
