"""Per-emotion style mapping editor: one row per emotion, each style shown as a thumbnail."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QFileDialog, QGridLayout, QLabel, QToolButton, QWidget

from emocam.labels import EMOTIONS

THUMB = 28
PICTURE_FILTER = "Pictures (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff);;All files (*)"


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """A QPixmap that owns a copy of `rgb` (GUI thread only)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())


class StyleEditor(QWidget):
    """For a multistyle pack every emotion picks one of `choices` styles; other packs are shown read-only,
    except a pictures pack: a picture dropped on an emotion's row, or chosen with its `…` button, becomes its style."""

    mapping_changed = Signal(dict)
    picture_chosen = Signal(str, str)  # emotion, picture file (pictures packs)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mapping: dict[str, int] = {}
        self.combos: dict[str, QComboBox] = {}
        self.previews: dict[str, QLabel] = {}
        self._icons: dict[object, QIcon] = {}
        self._pixmaps: dict[object, QPixmap] = {}
        self._editable = False
        self.choose_buttons: dict[str, QToolButton] = {}
        self._pictures: dict[str, QPixmap] | None = None  # a pictures pack: emotion -> its picture's thumbnail
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
            choose = QToolButton()
            choose.setText("…")
            choose.setToolTip(f"Choose a picture as the style for {emotion} (or drop one on this row)")
            choose.clicked.connect(lambda _=False, e=emotion: self._choose(e))
            choose.setVisible(False)
            grid.addWidget(choose, row, 3)
            self.choose_buttons[emotion] = choose
        grid.setColumnStretch(2, 1)
        self.setAcceptDrops(True)

    def set_pack(self, mapping: dict[str, object], choices: int, editable: bool,
                 pictures: dict[str, np.ndarray] | None = None) -> None:
        """Show a pack: `mapping` is emotion -> style index (editable) or any label (read-only). `pictures`
        (a pictures pack, emotion -> thumbnail of its picture) makes every row take a dropped or chosen picture."""
        self._editable = editable
        self._pictures = None if pictures is None else {e: self._scaled(rgb) for e, rgb in pictures.items()}
        for button in self.choose_buttons.values():
            button.setVisible(pictures is not None)
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
        for emotion in self.combos:
            self._refresh_preview(emotion)

    @staticmethod
    def _scaled(rgb: np.ndarray) -> QPixmap:
        return to_pixmap(rgb).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                     Qt.TransformationMode.SmoothTransformation)

    def set_thumbnail(self, key: object, rgb: np.ndarray) -> None:
        """Attach a thumbnail: key is a style index (multistyle) or an emotion (read-only packs)."""
        pixmap = self._scaled(rgb)
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
        """The row's preview: the style's thumbnail; for a pictures pack, the emotion's own picture."""
        pixmap = (self._pictures or {}).get(emotion) or self._pixmaps.get(self.combos[emotion].currentData())
        if pixmap is not None:
            self.previews[emotion].setPixmap(pixmap)

    # -- pictures packs: a dropped or chosen picture ---------------------------------------------------------
    def _choose(self, emotion: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Picture for {emotion}", "", PICTURE_FILTER)
        if path:
            self.picture_chosen.emit(emotion, path)

    def _dropped_file(self, event) -> str | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        local = [u.toLocalFile() for u in urls if u.isLocalFile()]
        return local[0] if self._pictures is not None and local else None

    def row_at(self, y: float) -> str:
        """The emotion whose row is nearest to height `y` (widget coordinates)."""
        return min(self.combos, key=lambda e: abs(self.combos[e].geometry().center().y() - y))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._dropped_file(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._dropped_file(event):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        path = self._dropped_file(event)
        if path:
            event.acceptProposedAction()
            self.picture_chosen.emit(self.row_at(event.position().y()), path)
