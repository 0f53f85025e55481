"""Emotion classification: every face of a frame in one batched ONNX call, outputs in EMOTIONS order."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.pipeline.faces import square_crop
from emocam.labels import EMOTIONS
from emocam.modelstore.runtime import create_session

DEFAULT_EMOTION_MODEL = "emotion_fer_minixception.onnx"


@dataclass
class InputSpec:
    """How a model wants its face crops: square size, 1 (gray) or 3 (RGB) channels, layout, value range."""

    size: tuple[int, int]
    channels: int
    layout: str
    value_range: tuple[float, float]

    @classmethod
    def from_metadata(cls, meta: dict[str, str], path: Path) -> "InputSpec":
        try:
            spec = json.loads(meta["emocam.input"])
            spec = cls(tuple(spec["size"]), int(spec["channels"]), spec.get("layout", "NHWC"), tuple(spec["range"]))
        except (KeyError, ValueError, TypeError):
            raise EmocamError(
                f"{path} lacks emocam metadata (emocam.input, emocam.labels); export it with tools.emotion.train"
            ) from None
        if spec.channels not in (1, 3) or spec.layout not in ("NHWC", "NCHW"):
            raise EmocamError(f"{path}: unsupported input spec {spec}")
        return spec


class EmotionClassifier:
    """Runs an emotion ONNX model (FER mini-Xception by default) on face boxes of an RGB frame."""

    def __init__(self, path: Path, device: str = "auto", margin: float = 0.1) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise EmocamError(f"emotion model not found: {self.path}")
        self.session, self.device = create_session(self.path, device)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.spec = InputSpec.from_metadata(meta, self.path)
        try:
            self.labels = [str(name).lower() for name in json.loads(meta["emocam.labels"])]
        except (KeyError, ValueError):
            raise EmocamError(f"{self.path} lacks the emocam.labels metadata") from None
        unknown = [name for name in self.labels if name not in EMOTIONS]
        if unknown:
            raise EmocamError(f"{self.path}: labels {unknown} are not among {', '.join(EMOTIONS)}")
        self._columns = [EMOTIONS.index(name) for name in self.labels]
        self.margin = margin
        self.input_name = self.session.get_inputs()[0].name

    def prepare(self, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """One face crop as the model expects it (HWC or CHW float32)."""
        h, _ = self.spec.size
        crop = square_crop(image, box, self.margin, h)
        if self.spec.channels == 1:
            crop = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)[..., None]
        lo, hi = self.spec.value_range
        x = crop.astype(np.float32) * ((hi - lo) / 255.0) + lo
        return x.transpose(2, 0, 1) if self.spec.layout == "NCHW" else x

    def classify(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
        """Probabilities [N, 7] in EMOTIONS order for N face boxes (one batched call)."""
        if not boxes:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        batch = np.stack([self.prepare(image, box) for box in boxes])
        raw = self.session.run(None, {self.input_name: batch})[0]
        probs = np.zeros((len(boxes), len(EMOTIONS)), np.float32)
        probs[:, self._columns] = raw
        total = probs.sum(axis=1, keepdims=True)
        return probs / np.where(total > 0, total, 1.0)
