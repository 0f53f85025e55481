"""Test clips for the temporal engine, made in memory from real pictures (nothing large is committed).

* ``sample``: emocam/data/sample.mp4 frames 90-209: a pan over the astronaut photo, a hard cut (frame 150),
  then two faces side by side.
* ``megamind``: the OpenCV sample video Megamind.avi (Debian package opencv-doc), a talking animated face with
  head and camera motion, cropped to 4:3.
* ``faces_fast``: a cut from the Megamind video to a photo (opencv-doc aloeL.jpg); the astronaut's head
  (skimage) enters from the left, crosses at ~32 px/frame and leaves; then the camera shakes hard.
All clips are 640x480 RGB at 30 fps.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emocam.io.sources import SAMPLE_CLIP, open_source

SIZE = (640, 480)
FPS = 30.0
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
CLIPS = ("sample", "megamind", "faces_fast")


def read_video(path: Path, start: int, count: int) -> list[np.ndarray]:
    """Frames start..start+count-1 of a video, center-cropped to 4:3 and resized to SIZE."""
    out: list[np.ndarray] = []
    source = open_source(path)
    try:
        for frame in source.frames():
            if frame.index >= start:
                out.append(_fit(frame.image))
            if len(out) == count:
                break
    finally:
        source.close()
    return out


def _fit(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    cw = min(w, round(h * 4 / 3))
    ch = min(h, round(cw * 3 / 4))
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return cv2.resize(image[y0:y0 + ch, x0:x0 + cw], SIZE, interpolation=cv2.INTER_AREA)


def _window(image: np.ndarray, cx: float, cy: float, width: float) -> np.ndarray:
    """A 4:3 window of `width` source pixels centred on (cx, cy), scaled to SIZE."""
    scale = SIZE[0] / width
    height = width * 3 / 4
    matrix = np.array([[scale, 0, -(cx - width / 2) * scale], [0, scale, -(cy - height / 2) * scale]], np.float32)
    return cv2.warpAffine(image, matrix, SIZE, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)


def faces_fast() -> list[np.ndarray]:
    """Cut, a head crossing fast, camera shake (see the module docstring)."""
    import skimage.data

    photo = cv2.cvtColor(cv2.imread(str(OPENCV_DATA / "aloeL.jpg")), cv2.COLOR_BGR2RGB)
    head = cv2.resize(skimage.data.astronaut()[20:260, 130:340], (210, 240), interpolation=cv2.INTER_AREA)
    mask = np.zeros(head.shape[:2], np.float32)
    cv2.ellipse(mask, (105, 120), (95, 115), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (9, 9), 0)[..., None]
    frames = read_video(OPENCV_DATA / "Megamind.avi", 60, 12)
    for i in range(78):
        frame = _window(photo, 640 + 1.5 * i, 560, 900)
        x = -240 + 32 * (i - 8)  # enters at frame 8, gone by frame 35
        if 8 <= i < 36:
            frame = _paste(frame, head, mask, x, 140)
        if i >= 48:  # camera shake
            t = i - 48
            frame = _window(photo, 640 + 1.5 * i + 28 * np.sin(t * 1.3), 560 + 20 * np.cos(t * 1.7), 900)
        frames.append(frame)
    return frames


def _paste(frame: np.ndarray, patch: np.ndarray, mask: np.ndarray, x: int, y: int) -> np.ndarray:
    out = frame.astype(np.float32)
    ph, pw = patch.shape[:2]
    x0, x1 = max(0, x), min(SIZE[0], x + pw)
    if x1 <= x0:
        return frame
    region = out[y:y + ph, x0:x1]
    m, p = mask[:, x0 - x:x1 - x], patch[:, x0 - x:x1 - x].astype(np.float32)
    out[y:y + ph, x0:x1] = region * (1 - m) + p * m
    return out.astype(np.uint8)


# Photos (opencv-doc) a pan can cross at their own resolution or below: name -> canvas size (None: as it is).
PAN_PHOTOS = {"aloeL.jpg": (900, 780), "building.jpg": None, "graf1.png": None}


def pan_with_oracle(stylize, count: int = 30, step: tuple[float, float] = (3, 1),
                    photo: str = "aloeL.jpg") -> tuple[list, list]:
    """A camera pan over a photo (PAN_PHOTOS), and its ideal temporally stable stylization: the photo stylized once
    and cut with the same windows. The oracle's flicker is the measure's floor for a style. Whole-pixel steps cut
    exactly; a fractional step (a slow camera) samples each window once, bicubic, from the photo and from its
    stylization alike, so the oracle still moves exactly with the picture."""
    image = cv2.imread(str(OPENCV_DATA / photo))
    if image is None or photo not in PAN_PHOTOS:
        raise ValueError(f"no pan photo {photo!r} (one of {', '.join(PAN_PHOTOS)}; apt-get install opencv-doc)")
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    canvas = cv2.resize(image, PAN_PHOTOS[photo], interpolation=cv2.INTER_AREA) if PAN_PHOTOS[photo] else image
    last = (40 + step[0] * (count - 1), 40 + step[1] * (count - 1))
    if last[0] + SIZE[0] > canvas.shape[1] or last[1] + SIZE[1] > canvas.shape[0]:
        raise ValueError(f"a pan of {count} frames at {step[0]:g}x{step[1]:g} px per frame leaves {photo} "
                         f"({canvas.shape[1]}x{canvas.shape[0]}): fewer frames or a smaller step")
    styled = stylize(canvas)

    def cut(image: np.ndarray, i: int) -> np.ndarray:
        x, y = 40 + step[0] * i, 40 + step[1] * i
        if float(x).is_integer() and float(y).is_integer():
            return image[int(y):int(y) + SIZE[1], int(x):int(x) + SIZE[0]].copy()
        shift = np.float32([[1, 0, -x], [0, 1, -y]])
        return cv2.warpAffine(image, shift, SIZE, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)

    return [cut(canvas, i) for i in range(count)], [cut(styled, i) for i in range(count)]


def parse_pan_steps(spec: str) -> list[tuple[float, float]]:
    """'0.37x0.13,3x1' -> pan steps in px per frame (x, y), each from 0 to 8, not both 0; ValueError otherwise."""
    steps = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        try:
            x, y = (float(v) for v in item.lower().split("x"))
        except ValueError:
            raise ValueError(f"{item!r} is not XxY (px per frame, e.g. 0.37x0.13)") from None
        if not (0 <= x <= 8 and 0 <= y <= 8 and x + y > 0):
            raise ValueError(f"{item!r}: each of x and y from 0 to 8 px per frame, not both 0")
        steps.append((x, y))
    if not steps:
        raise ValueError("no pan step given")
    return steps


def load_clip(name: str, frames: int | None = None) -> list[np.ndarray]:
    """A clip by name (see CLIPS), optionally only its first `frames` frames."""
    if name == "sample":
        clip = read_video(SAMPLE_CLIP, 90, 120)
    elif name == "megamind":
        clip = read_video(OPENCV_DATA / "Megamind.avi", 100, 120)
    elif name == "faces_fast":
        clip = faces_fast()
    else:
        raise ValueError(f"unknown clip {name!r}; use one of {', '.join(CLIPS)}")
    return clip[:frames] if frames else clip


def available() -> list[str]:
    """The clips that can be made here (the opencv-doc ones need `apt-get install opencv-doc`)."""
    return [c for c in CLIPS if c == "sample" or (OPENCV_DATA / "Megamind.avi").is_file()]
