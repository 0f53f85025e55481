"""The overlay on a finished frame: face boxes, track ids and emotions, smoothed probability bars."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from emocam.labels import EMOTIONS
from emocam.pipeline.faces import Face

# one colour per emotion (RGB), used for boxes and bars everywhere
EMOTION_COLORS = {
    "angry": (230, 40, 40),
    "disgust": (120, 170, 30),
    "fear": (150, 60, 200),
    "happy": (250, 200, 20),
    "sad": (40, 110, 230),
    "surprise": (250, 120, 200),
    "neutral": (200, 200, 200),
}


@dataclass(frozen=True)
class Annotator:
    """Draws the chosen parts of the overlay; configured once, then `annotate(frame, faces)` per frame."""

    boxes: bool = True
    labels: bool = True
    bars: bool = True

    def annotate(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """A copy of `image` with the overlay drawn for each face that has an emotion."""
        out = image.copy()
        scale = max(0.4, min(out.shape[:2]) / 720)
        thickness = max(1, int(round(2 * scale)))
        for face in faces:
            if face.emotion is None:
                continue
            x0, y0, x1, y1 = (int(round(v)) for v in face.box)
            color = EMOTION_COLORS[face.emotion]
            if self.boxes:
                cv2.rectangle(out, (x0, y0), (x1, y1), color, thickness, cv2.LINE_AA)
            if self.labels:
                text = f"#{face.track_id} {face.emotion} {float(np.max(face.smoothed)):.0%}"
                _label(out, text, (x0, max(0, y0 - int(6 * scale))), color, scale)
            if self.bars:
                _bars(out, face.smoothed, (x1 + int(6 * scale), y0), scale)
        return out


def _label(image: np.ndarray, text: str, origin: tuple[int, int], color: tuple[int, int, int], scale: float) -> None:
    font_scale = 0.6 * scale
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
    x, y = origin
    y = max(th + base, y)
    cv2.rectangle(image, (x, y - th - base), (x + tw + 4, y + 2), (0, 0, 0), -1)
    cv2.putText(image, text, (x + 2, y - base // 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, 1, cv2.LINE_AA)


def _bars(image: np.ndarray, probs: np.ndarray, origin: tuple[int, int], scale: float) -> None:
    """Seven horizontal bars with the emotion names; moved inside the frame when they would leave it."""
    row, width = int(14 * scale) + 2, int(110 * scale)
    h, w = image.shape[:2]
    x = min(origin[0], w - width - 2)
    y = min(max(0, origin[1]), max(0, h - row * len(EMOTIONS)))
    panel = image[y:y + row * len(EMOTIONS), x:x + width]
    panel[:] = (panel * 0.4).astype(np.uint8)  # darken behind the bars so they read on any style
    for i, (name, p) in enumerate(zip(EMOTIONS, probs)):
        top = y + i * row
        cv2.rectangle(image, (x, top + 1), (x + int(width * float(p)), top + row - 2), EMOTION_COLORS[name], -1)
        for color, weight in (((0, 0, 0), 3), ((255, 255, 255), 1)):  # outlined: readable over any bar
            cv2.putText(image, name, (x + 2, top + row - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale, color, weight, cv2.LINE_AA)
