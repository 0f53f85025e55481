"""The video view: a QImage drawn in paintEvent, scaled with its aspect ratio kept, plus HUD and messages."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from emocam.live.hud import paint_hud
from emocam.live.imageops import fit_rect


class MessagePanel(QFrame):
    """A centred notice with buttons to pick another source."""

    open_file = Signal()
    open_sample = Signal()
    retry = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("messagePanel")
        self.setStyleSheet(
            "#messagePanel { background: rgba(20, 20, 24, 225); border: 1px solid #555; border-radius: 8px; }"
            "QLabel { color: #eee; font-size: 15px; }"
        )
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        for text, signal in (("Open video file…", self.open_file), ("Play sample clip", self.open_sample),
                             ("Retry", self.retry)):
            button = QPushButton(text, self)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(signal.emit)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addLayout(buttons)
        self.hide()


class VideoWidget(QWidget):
    """Shows the newest frame; never resizes itself to the frame (unlike QLabel.setPixmap)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._frame: np.ndarray | None = None
        self._image: QImage | None = None
        self._hud: list[str] = []
        self._banner = ""
        self.message = MessagePanel(self)

    def sizeHint(self) -> QSize:
        return QSize(960, 540)

    @property
    def frame(self) -> np.ndarray | None:
        """The frame now shown (RGB uint8), or None."""
        return self._frame

    def set_frame(self, rgb: np.ndarray) -> None:
        """Show `rgb`; the array is kept alive as long as the QImage that wraps it."""
        rgb = np.ascontiguousarray(rgb)
        h, w = rgb.shape[:2]
        self._frame = rgb
        self._image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self.update()

    def clear_frame(self) -> None:
        self._frame, self._image = None, None
        self.update()

    @property
    def hud(self) -> list[str]:
        """The HUD lines now drawn."""
        return list(self._hud)

    @property
    def banner(self) -> str:
        return self._banner

    def set_hud(self, lines: list[str]) -> None:
        self._hud = lines
        self.update()

    def set_banner(self, text: str) -> None:
        """A one-line warning along the bottom of the video ("" hides it)."""
        self._banner = text
        self.update()

    def show_message(self, text: str) -> None:
        """A centred notice with source buttons ("" hides it)."""
        if not text:
            self.message.hide()
            return
        self.message.label.setText(text)
        self._place_message()
        self.message.show()
        self.message.raise_()
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self._place_message()
        super().resizeEvent(event)

    def _place_message(self) -> None:
        w = min(620, self.width() - 40)
        self.message.setFixedWidth(max(200, w))
        self.message.adjustSize()
        self.message.move((self.width() - self.message.width()) // 2, (self.height() - self.message.height()) // 2)

    def video_rect(self) -> QRect:
        if self._image is None:
            return self.rect()
        return QRect(*fit_rect((self._image.width(), self._image.height()), (self.width(), self.height())))

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(16, 16, 18))
        target = self.video_rect()
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
        paint_hud(painter, target, self._hud)
        if self._banner:
            metrics = painter.fontMetrics()
            box = QRect(target.left(), target.bottom() - metrics.height() - 12, target.width(), metrics.height() + 12)
            painter.fillRect(box, QColor(120, 60, 0, 200))
            painter.setPen(QColor(255, 240, 220))
            painter.drawText(box.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             metrics.elidedText(self._banner, Qt.TextElideMode.ElideRight, box.width() - 16))
        painter.end()
