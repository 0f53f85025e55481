"""Emotion classification: every face of a frame in one batched ONNX call, outputs in EMOTIONS order."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.pipeline.faces import square_crop
from emocam.labels import EMOTIONS
from emocam.runtime import load_network

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
            raw = json.loads(meta["emocam.input"])
            spec = cls(tuple(int(v) for v in raw["size"]), int(raw["channels"]), raw.get("layout", "NHWC"),
                       tuple(float(v) for v in raw["range"]))
        except (KeyError, ValueError, TypeError, AttributeError):
            raise EmocamError(
                f"{path} lacks emocam metadata (emocam.input, emocam.labels); export it with tools.emotion.train"
            ) from None
        lo_hi_ok = len(spec.value_range) == 2 and all(math.isfinite(v) for v in spec.value_range) \
            and spec.value_range[0] < spec.value_range[1]
        if len(spec.size) != 2 or spec.size[0] != spec.size[1] or not 8 <= spec.size[0] <= 1024:
            raise EmocamError(f"{path}: emocam.input size must be a square [S, S] with S from 8 to 1024, got {list(spec.size)}")
        if spec.channels not in (1, 3) or spec.layout not in ("NHWC", "NCHW") or not lo_hi_ok:
            raise EmocamError(f"{path}: unsupported emocam.input (channels 1 or 3, layout NHWC or NCHW, "
                              f"range [lo, hi] with lo < hi), got {raw}")
        return spec

    def check_tensor(self, shape: list, dtype: np.dtype, path: Path) -> None:
        """The model's real input must be what the metadata says: a float [N, ...] tensor of that layout."""
        if dtype != np.float32:
            raise EmocamError(f"{path}: the input is {dtype}; emocam feeds float32 crops")
        s = self.size[0]
        expected = [None, s, s, self.channels] if self.layout == "NHWC" else [None, self.channels, s, s]
        if len(shape) != 4 or any(isinstance(have, int) and want is not None and have != want
                                  for have, want in zip(shape, expected)):
            raise EmocamError(f"{path}: the input shape {shape} does not match its emocam.input metadata "
                              f"({self.layout}, {self.channels} channel(s), {s}x{s})")


class EmotionClassifier:
    """Runs an emotion ONNX model (FER mini-Xception by default) on face boxes of an RGB frame."""

    def __init__(self, path: Path, device: str = "auto", margin: float = 0.1, precision: str = "auto") -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise EmocamError(f"emotion model not found: {self.path}")
        self.network = load_network(self.path, device, precision, stage="classify")
        self.device = str(self.network.ran)  # what really runs it, e.g. "cpu fp32 (onnxruntime)"
        meta = self.network.metadata
        self.spec = InputSpec.from_metadata(meta, self.path)
        try:
            self.labels = [str(name).lower() for name in json.loads(meta["emocam.labels"])]
        except (KeyError, ValueError):
            raise EmocamError(f"{self.path} lacks the emocam.labels metadata") from None
        unknown = [name for name in self.labels if name not in EMOTIONS]
        if unknown:
            raise EmocamError(f"{self.path}: labels {unknown} are not among {', '.join(EMOTIONS)}")
        if not self.labels or len(set(self.labels)) != len(self.labels):
            raise EmocamError(f"{self.path}: emocam.labels must name each emotion at most once, got {self.labels}")
        self._columns = [EMOTIONS.index(name) for name in self.labels]
        self.margin = margin
        inputs, outputs = self.network.inputs, self.network.outputs
        if len(inputs) != 1 or not outputs:
            raise EmocamError(f"{self.path}: an emotion model takes one input (face crops) and gives class scores")
        self.spec.check_tensor(list(inputs[0].shape), inputs[0].dtype, self.path)
        classes = list(outputs[0].shape)
        if len(classes) != 2 or (isinstance(classes[1], int) and classes[1] != len(self.labels)):
            raise EmocamError(f"{self.path}: the output shape {classes} does not match its {len(self.labels)} labels")
        self.input_name = inputs[0].name
        self._trial_run()

    def _trial_run(self) -> None:
        """One blank crop through the model at load, so a model that cannot run fails here in one line."""
        s = self.spec.size[0]
        shape = (1, s, s, self.spec.channels) if self.spec.layout == "NHWC" else (1, self.spec.channels, s, s)
        try:
            out = self.network.run({self.input_name: np.zeros(shape, np.float32)})[0]
        except Exception as exc:  # onnxruntime raises its own exception types for a broken graph
            raise EmocamError(f"{self.path}: the model does not run on a {list(shape)} crop: "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}") from None
        if np.shape(out) != (1, len(self.labels)):
            raise EmocamError(f"{self.path}: the model gives {list(np.shape(out))} for one crop, expected [1, {len(self.labels)}]")

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
        raw = self.network.run({self.input_name: batch})[0]
        probs = np.zeros((len(boxes), len(EMOTIONS)), np.float32)
        probs[:, self._columns] = raw
        total = probs.sum(axis=1, keepdims=True)
        return probs / np.where(total > 0, total, 1.0)
