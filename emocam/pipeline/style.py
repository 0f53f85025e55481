"""The style stage: emotion fades (EmotionBlend) and the stylizer that restyles whole frames with a pack."""
from __future__ import annotations

import cv2
import numpy as np

from emocam.labels import EMOTIONS
from emocam.packs.base import KINDS, StylePack


class EmotionBlend:
    """Weights over the 7 emotions that fade to a new emotion over `blend_s` seconds (smoothstep)."""

    def __init__(self, blend_s: float = 0.5, emotion: str = "neutral") -> None:
        self.blend_s = blend_s
        self.target = emotion
        self.weights = _onehot(emotion)
        self._start_weights = self.weights.copy()
        self._start_time: float | None = None
        self._first = True

    def update(self, emotion: str, time: float) -> np.ndarray:
        """Weights at `time` while fading towards `emotion`; the very first emotion is taken at once."""
        if self._first:
            self._first, self.target = False, emotion
            self.weights = _onehot(emotion)
        if emotion != self.target:
            self._start_weights, self._start_time, self.target = self.weights.copy(), time, emotion
        goal = _onehot(self.target)
        if self._start_time is None or self.blend_s <= 0:
            self.weights = goal
        else:
            k = min(1.0, max(0.0, (time - self._start_time) / self.blend_s))
            k = k * k * (3 - 2 * k)
            self.weights = (1 - k) * self._start_weights + k * goal
        return self.weights


def _onehot(emotion: str) -> np.ndarray:
    return np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index(emotion)]


MIN_PROCESS_SIDE = 16  # the networks' reflect padding needs at least this many pixels on the short side


def processing_shape(width: int, height: int, longest: int | None) -> tuple[int, int]:
    """(w, h) scaled so the longest side is at most `longest`, both multiples of 4 (the networks downsample by 4).

    The short side never shrinks below MIN_PROCESS_SIDE (a 4000x16 frame is processed at full size)."""
    scale = min(1.0, longest / max(width, height)) if longest else 1.0
    scale = min(1.0, max(scale, MIN_PROCESS_SIDE / max(1, min(width, height))))
    return max(4, int(round(width * scale / 4)) * 4), max(4, int(round(height * scale / 4)) * 4)


class Stylizer:
    """Restyles whole frames with a pack (through its kind); returns frames at the input size."""

    def __init__(self, pack: StylePack, device: str = "auto", precision: str = "auto") -> None:
        self.pack = pack
        self.kind = KINDS[pack.kind]
        self.networks = self.kind.load(pack, device, precision)
        self.ran = next(iter(self.networks.values())).ran
        self.device = str(self.ran)  # what really runs the style network(s), e.g. "cpu bf16 (openvino)"

    def stylize(self, image: np.ndarray, emotion_weights: np.ndarray, process_size: int | None, strength: float) -> np.ndarray:
        """Whole-frame stylization by the blend of emotions in `emotion_weights` ([7], sums to 1)."""
        if strength <= 0:
            return image
        h, w = image.shape[:2]
        pw, ph = processing_shape(w, h, process_size)
        small = cv2.resize(image, (pw, ph), interpolation=cv2.INTER_AREA) if (pw, ph) != (w, h) else image
        result = self.kind.run(self.pack, self.networks, small, emotion_weights)
        if (pw, ph) != (w, h):
            result = cv2.resize(result, (w, h), interpolation=cv2.INTER_LINEAR)
        if strength < 1:
            result = cv2.addWeighted(result, float(strength), image, float(1 - strength), 0.0)
        return result

    def look(self, emotion_weights: np.ndarray) -> np.ndarray:
        """What the network is asked for (see PackKind.look): the temporal engine follows a change of look."""
        return self.kind.look(self.pack, emotion_weights)
