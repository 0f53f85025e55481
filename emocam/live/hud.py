"""The heads-up display: frame rate, per-stage latency and each face's emotion, drawn over the video."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter


STAGES = ("detect", "classify", "stylize", "overlay")


def hud_lines(
    fps: float,
    source_fps: float,
    timings: dict[str, float],
    latency_ms: float,
    faces: list,
    devices: dict[str, str],
    status: str = "",
    emotion: str | None = None,
) -> list[str]:
    """The HUD's text, one entry per line."""
    lines = [f"{fps:5.1f} fps   (source {source_fps:.0f})   latency {latency_ms:4.0f} ms"]
    if emotion:
        lines.append(f"style: {emotion}")
    stages = [f"{k} {timings[k]:.0f}" for k in STAGES if k in timings]
    stages += [f"{k} {v:.0f}" for k, v in timings.items() if k not in STAGES and k != "total"]
    if stages:
        lines.append("ms: " + "  ".join(stages))
    if devices:
        lines.append("device: " + "  ".join(f"{k} {v}" for k, v in devices.items()))
    if not faces:
        lines.append("no face")
    for face in faces[:6]:
        probs = getattr(face, "probs", None)
        p = f" {float(max(probs)):.0%}" if probs is not None and len(probs) else ""
        lines.append(f"face {getattr(face, 'track_id', '?')}: {getattr(face, 'emotion', '?')}{p}")
    if len(faces) > 6:
        lines.append(f"... {len(faces) - 6} more faces")
    if status:
        lines.append(status)
    return lines


def paint_hud(painter: QPainter, area: QRect, lines: list[str]) -> None:
    """Draw `lines` in a translucent box at the top-left of `area`."""
    if not lines:
        return
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPixelSize(max(11, min(15, area.height() // 40)))
    painter.setFont(font)
    metrics = QFontMetrics(font)
    pad, lh = 6, metrics.height()
    width = max(metrics.horizontalAdvance(line) for line in lines) + 2 * pad
    box = QRect(area.left() + 8, area.top() + 8, width, lh * len(lines) + 2 * pad)
    painter.fillRect(box, QColor(0, 0, 0, 150))
    painter.setPen(QColor(235, 235, 235))
    for i, line in enumerate(lines):
        painter.drawText(box.left() + pad, box.top() + pad + i * lh, width, lh, Qt.AlignmentFlag.AlignLeft, line)
