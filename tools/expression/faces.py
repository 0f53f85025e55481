"""The faces the expression tools work on: real photos on this machine (labelled by eye in
tools.emotion.crop_margin), opencv-doc's Megamind.avi frames and the bundled sample clip's frames."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tools.emotion.crop_margin import FACES, _path

MEGAMIND = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")
SAMPLE = Path(__file__).resolve().parents[2] / "emocam" / "data" / "sample.mp4"


def video_frames(path: Path, every: int, limit: int) -> list[np.ndarray]:
    """Every `every`-th RGB frame of a video, at most `limit`."""
    cap = cv2.VideoCapture(str(path))
    out, i = [], 0
    while len(out) < limit:
        ok, bgr = cap.read()
        if not ok:
            break
        if i % every == 0:
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    return out


def labelled_photos(label: str | None = None) -> list[tuple[str, np.ndarray, tuple[float, float]]]:
    """(name, RGB image, face centre) of the labelled real photos (all, or one label's); missing files skipped."""
    out = []
    for where, name, cx, cy, lab in FACES:
        if label is not None and lab != label:
            continue
        bgr = cv2.imread(str(_path(where, name)))
        if bgr is not None:
            out.append((f"{Path(name).stem}@{cx},{cy}", cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (cx, cy)))
    return out
