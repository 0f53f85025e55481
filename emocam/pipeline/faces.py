"""Face detection with MediaPipe's Tasks FaceDetector, and square face crops for emotion models."""
from __future__ import annotations

import atexit
import contextlib
import os
import queue
import sys
import threading
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.modelstore.manifest import find_model

DETECTOR_MODELS = {
    "short": "face_detection_short_range.tflite",  # faces within ~2 m, fastest
    "full": "face_detection_full_range_sparse.tflite",  # smaller, farther faces
}


@dataclass
class Face:
    """One face as it crosses the stages; each stage fills in its part.

    detector: `box` (x0, y0, x1, y1 in pixels) and `score`; tracker: `track_id` and `seen` (False while the
    track coasts over a missed detection, with its last box); classifier: `probs` (this frame, EMOTIONS
    order); smoother: `smoothed` probabilities and the dominant `emotion` after hysteresis.
    """

    box: tuple[float, float, float, float]
    score: float
    track_id: int | None = None
    seen: bool = True
    probs: np.ndarray | None = None
    smoothed: np.ndarray | None = None
    emotion: str | None = None
    keypoints: np.ndarray | None = None  # detector: [6, 2] pixels (eyes, nose tip, mouth, ear tragions)
    style: dict[str, float] | None = None  # region styling (--regions person): the style this person got
    expression: dict | None = None  # expression stage: what was applied to this face, or why it was skipped

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def _import_mediapipe():
    """Import MediaPipe Tasks without its optional TensorFlow import (3 s of start-up when TF is installed)."""
    blocked = "tensorflow" not in sys.modules
    if blocked:
        sys.modules["tensorflow"] = None  # makes `from tensorflow... import` raise ModuleNotFoundError
    try:
        import mediapipe as mp
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions
    finally:
        if blocked:
            del sys.modules["tensorflow"]
    return mp, vision, BaseOptions


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """MediaPipe's LiteRT runtime prints INFO lines from C++ that no setting turns off; hide them."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class ClosedAtExit:
    """For owners of MediaPipe task objects (the face detector, the person segmenter). A MediaPipe task must be
    closed explicitly, never left to the garbage collector: collected in a reference cycle, its executor's worker
    thread is gone before its own `__del__` asks that executor to close it, and the process waits forever (the
    test suite hung so). So every task an owner opens is held in `_live_tasks` until it is closed; an owner nobody
    closed is handed by its `__del__` to one closer thread, and the atexit hook closes what is left. Owners call
    `_task_opened(task)` for each task they open and `_close_task(task)` in `close()`."""

    def close(self) -> None:
        raise NotImplementedError

    def __del__(self) -> None:
        """Hand the owner to the closer thread; never close here. The garbage collector can call this anywhere,
        even inside an import or while threading holds its own locks, and closing waits for MediaPipe's
        dispatcher. SimpleQueue.put is safe in __del__ (it is reentrant) and never waits."""
        if getattr(self, "_tasks_open", 0):
            _to_close.put(self)

    def _task_opened(self, task: object) -> None:
        """Hold `task` until it is closed, so it can never be collected open; make sure the closer thread runs."""
        _live_tasks.add(task)
        self._tasks_open = getattr(self, "_tasks_open", 0) + 1
        _start_closer()

    def _close_task(self, task: object) -> None:
        with _native_stderr_silenced():
            task.close()
        _live_tasks.discard(task)
        self._tasks_open = max(0, getattr(self, "_tasks_open", 0) - 1)


_live_tasks: set[object] = set()  # every MediaPipe task object opened and not yet closed (strong references)
_to_close: "queue.SimpleQueue[ClosedAtExit]" = queue.SimpleQueue()
_closer_started = threading.Event()


def _start_closer() -> None:
    """The one daemon thread that closes owners nobody closed (started from ordinary code, never from __del__)."""
    if _closer_started.is_set():
        return
    _closer_started.set()
    threading.Thread(target=_close_handed_over, name="mediapipe-closer", daemon=True).start()


def _close_handed_over() -> None:
    while True:
        owner = _to_close.get()
        with contextlib.suppress(Exception):
            owner.close()
        del owner


@atexit.register
def _close_live_tasks() -> None:
    """Before module teardown (MediaPipe's own finaliser fails then): close every task still open, quietly."""
    for task in list(_live_tasks):
        with contextlib.suppress(Exception):
            task.close()
        _live_tasks.discard(task)


class FaceDetector(ClosedAtExit):
    """MediaPipe face detector, short or full range; VIDEO mode for frame sequences, IMAGE mode for stills."""

    def __init__(self, detector_range: str = "short", min_confidence: float = 0.5, video_mode: bool = True) -> None:
        if detector_range not in DETECTOR_MODELS:
            raise EmocamError(f"unknown detector range {detector_range!r}; use short or full")
        mp, vision, base_options = _import_mediapipe()
        self._mp = mp
        self.range = detector_range
        self.video_mode = video_mode
        options = vision.FaceDetectorOptions(
            base_options=base_options(model_asset_path=str(find_model(DETECTOR_MODELS[detector_range]))),
            running_mode=vision.RunningMode.VIDEO if video_mode else vision.RunningMode.IMAGE,
            min_detection_confidence=min_confidence,
        )
        self._detector = None
        with _native_stderr_silenced():
            self._detector = vision.FaceDetector.create_from_options(options)
        self._task_opened(self._detector)
        self._last_ms = -1

    def detect(self, image: np.ndarray, time: float = 0.0) -> list[Face]:
        """Faces in an RGB frame; in VIDEO mode `time` (seconds) must grow, and is forced to."""
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))
        first_call = self._last_ms < 0
        if self.video_mode:
            ms = max(int(time * 1000), self._last_ms + 1)
        else:
            ms = self._last_ms + 1
        self._last_ms = ms
        with _native_stderr_silenced() if first_call else contextlib.nullcontext():
            result = self._detector.detect_for_video(mp_image, ms) if self.video_mode else self._detector.detect(mp_image)
        h, w = image.shape[:2]
        faces = []
        for detection in result.detections:
            b = detection.bounding_box
            x0, y0 = max(0.0, b.origin_x), max(0.0, b.origin_y)
            x1, y1 = min(float(w), b.origin_x + b.width), min(float(h), b.origin_y + b.height)
            if x1 - x0 >= 4 and y1 - y0 >= 4:
                points = np.array([(k.x * w, k.y * h) for k in detection.keypoints or []], np.float32)
                faces.append(Face((x0, y0, x1, y1), float(detection.categories[0].score),
                                  keypoints=points if len(points) == 6 else None))
        return faces

    def close(self) -> None:
        """Release MediaPipe's graph; safe to call twice."""
        detector, self._detector = getattr(self, "_detector", None), None
        if detector is not None:
            self._close_task(detector)



def square_crop(image: np.ndarray, box: tuple[float, float, float, float], margin: float, size: int) -> np.ndarray:
    """A square around the box, grown by `margin` of its side, padded by edge pixels, resized to size x size."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1.0 + margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    n = max(1, int(round(side)))
    h, w = image.shape[:2]
    pad = max(0, -left, -top, left + n - w, top + n - h)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = image[top + pad:top + pad + n, left + pad:left + pad + n]
    interpolation = cv2.INTER_AREA if n > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)
