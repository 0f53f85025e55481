"""The one factory for the pipeline's network-holding parts: the emotion classifier, the stylizer, the detector.

`Pipeline` asks it for each part it (re)builds. A batch worker gives every chunk's pipeline the same factory made
with `keep=True`: the networks then load once per worker and are reused for every chunk with the same settings,
with no subclass of the pipeline. The MediaPipe detector is always made new: it is cheap (~10 ms) and its VIDEO
mode needs timestamps that start again with each chunk.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

from emocam.modelstore.manifest import find_model
from emocam.packs.registry import load_pack
from emocam.pipeline.emotion import DEFAULT_EMOTION_MODEL, EmotionClassifier
from emocam.pipeline.faces import FaceDetector
from emocam.pipeline.style import Stylizer
from emocam.settings import Settings

Part = TypeVar("Part")


class Components:
    """Makes the classifier, stylizer and detector for a pipeline; with `keep`, loaded networks are reused."""

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self._kept: dict[tuple, object] = {}

    def _made(self, key: tuple, make: Callable[[], Part]) -> Part:
        if not self.keep:
            return make()
        if key not in self._kept:
            self._kept[key] = make()
        return self._kept[key]  # type: ignore[return-value]

    def classifier(self, s: Settings) -> EmotionClassifier:
        path = Path(s.emotion_model) if s.emotion_model else find_model(DEFAULT_EMOTION_MODEL)
        return self._made(("classifier", str(path), s.device, s.precision),
                          lambda: EmotionClassifier(path, s.device, s.crop_margin, s.precision))

    def stylizer(self, s: Settings) -> Stylizer:
        """The pack's stylizer (its pack: `stylizer.pack`)."""
        return self._made(("stylizer", s.pack, s.device, s.precision),
                          lambda: Stylizer(load_pack(s.pack), s.device, s.precision))

    def detector(self, s: Settings, video_mode: bool) -> FaceDetector:
        return FaceDetector(s.detector, s.min_confidence, video_mode)
