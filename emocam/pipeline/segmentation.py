"""People masks: MediaPipe's selfie segmentation through the Tasks ImageSegmenter (one confidence mask)."""
from __future__ import annotations

import contextlib

import numpy as np

from emocam.modelstore.manifest import find_model
from emocam.pipeline.faces import ClosedAtExit, _import_mediapipe, _native_stderr_silenced

SELFIE_MODELS = {
    "general": "selfie_segmentation.tflite",  # 256x256 input: square and portrait frames
    "landscape": "selfie_segmentation_landscape.tflite",  # 144x256 input: wide frames, about twice as fast
}
LANDSCAPE_ASPECT = 1.3  # frames at least this much wider than tall use the landscape model


def model_for(width: int, height: int) -> str:
    """The selfie model that fits a frame's shape."""
    return "landscape" if width >= LANDSCAPE_ASPECT * height else "general"


class PersonSegmenter(ClosedAtExit):
    """Person confidence (0..1 per pixel, the frame's size) for RGB frames; one segmenter per model kept open.

    VIDEO mode lets MediaPipe reuse the previous frame; `time` must grow and is forced to (like FaceDetector).
    Always `close()` it: MediaPipe's own finaliser can deadlock."""

    def __init__(self, video_mode: bool = True) -> None:
        self._mp, self._vision, self._base_options = _import_mediapipe()
        self.video_mode = video_mode
        self._segmenters: dict[str, object] = {}
        self._last_ms: dict[str, int] = {}
        self._open("general")  # fail now, in one line, if the model is missing or damaged

    def _open(self, kind: str):
        if kind not in self._segmenters:
            vision = self._vision
            options = vision.ImageSegmenterOptions(
                base_options=self._base_options(model_asset_path=str(find_model(SELFIE_MODELS[kind]))),
                running_mode=vision.RunningMode.VIDEO if self.video_mode else vision.RunningMode.IMAGE,
                output_confidence_masks=True, output_category_mask=False)
            with _native_stderr_silenced():
                self._segmenters[kind] = vision.ImageSegmenter.create_from_options(options)
            self._task_opened(self._segmenters[kind])
            self._last_ms[kind] = -1
        return self._segmenters[kind]

    def segment(self, image: np.ndarray, time: float = 0.0) -> np.ndarray:
        """Person confidence, float32 HxW in 0..1."""
        h, w = image.shape[:2]
        kind = model_for(w, h)
        first_call = kind not in self._segmenters or self._last_ms[kind] < 0
        segmenter = self._open(kind)
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))
        ms = max(int(time * 1000), self._last_ms[kind] + 1) if self.video_mode else self._last_ms[kind] + 1
        self._last_ms[kind] = ms
        with _native_stderr_silenced() if first_call else contextlib.nullcontext():
            if self.video_mode:
                result = segmenter.segment_for_video(mp_image, ms)
            else:
                result = segmenter.segment(mp_image)
        mask = result.confidence_masks[0].numpy_view()
        return np.array(mask.reshape(h, w), dtype=np.float32)  # a copy: the view dies with the result

    def close(self) -> None:
        """Release MediaPipe's graphs; safe to call twice."""
        segmenters, self._segmenters = getattr(self, "_segmenters", {}), {}
        for segmenter in segmenters.values():
            self._close_task(segmenter)

