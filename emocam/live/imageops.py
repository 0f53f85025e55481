"""Small image helpers shared by the recorder, the virtual camera and the window."""

from __future__ import annotations

import cv2
import numpy as np


def letterbox(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize `rgb` to fit `size` (w, h) with its aspect ratio kept; pad with black."""
    w, h = size
    ih, iw = rgb.shape[:2]
    if (iw, ih) == (w, h):
        return np.ascontiguousarray(rgb)
    scale = min(w / iw, h / ih)
    nw, nh = max(1, round(iw * scale)), max(1, round(ih * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (nw, nh), interpolation=interp)
    out = np.zeros((h, w, 3), np.uint8)
    x, y = (w - nw) // 2, (h - nh) // 2
    out[y : y + nh, x : x + nw] = resized
    return out


def fit_rect(src: tuple[int, int], dst: tuple[int, int]) -> tuple[int, int, int, int]:
    """The (x, y, w, h) rectangle inside `dst` (w, h) that shows `src` (w, h) with aspect kept."""
    sw, sh = src
    dw, dh = dst
    if sw <= 0 or sh <= 0 or dw <= 0 or dh <= 0:
        return 0, 0, max(dw, 0), max(dh, 0)
    scale = min(dw / sw, dh / sh)
    w, h = max(1, round(sw * scale)), max(1, round(sh * scale))
    return (dw - w) // 2, (dh - h) // 2, w, h
