"""The one factory for the pipeline's network-holding parts: the emotion classifier, the stylizer, the detector.

They are held in one `Networks` that several stages share (the classifier serves the expression and classify
stages, the stylizer the style and regions stages), so a change rebuilds each part once. `Pipeline` asks the
factory for each part it (re)builds. A batch worker gives every chunk's pipeline the same factory made with
`keep=True`: the networks then load once per worker and are reused for every chunk with the same settings, with
no subclass of the pipeline. The MediaPipe detector is always made new: it is cheap (~10 ms) and its VIDEO mode
needs timestamps that start again with each chunk.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, TypeVar

from emocam.modelstore.manifest import find_model
from emocam.packs.registry import load_pack
from emocam.pipeline.emotion import DEFAULT_EMOTION_MODEL, EmotionClassifier
from emocam.pipeline.faces import FaceDetector
from emocam.pipeline.style import Stylizer
from emocam.settings import Settings, meta

Part = TypeVar("Part")

# the parts each kind of change (a setting's `applies`) rebuilds; built in ORDER, the detector last (see `build`)
_REBUILDS = {"models": ("classifier", "stylizer"), "classifier": ("classifier",), "stylizer": ("stylizer",),
             "detector": ("detector",)}
ORDER = ("classifier", "stylizer", "detector")


def rebuilt_by(names: Iterable[str]) -> tuple[str, ...]:
    """The parts a change of these settings fields rebuilds (by each field's `applies`), in build order."""
    wanted = {part for name in names for part in _REBUILDS.get(meta(name).applies, ())}
    return tuple(part for part in ORDER if part in wanted)


@dataclass
class Networks:
    """The parts in force; stages read them when they run, so a rebuilt part reaches every stage at once."""

    classifier: EmotionClassifier
    stylizer: Stylizer
    detector: FaceDetector | None

    def swap(self, built: dict[str, object]) -> None:
        """Put newly built parts in force; a replaced detector is closed."""
        if "detector" in built and self.detector is not None:
            self.detector.close()
        for name, part in built.items():
            setattr(self, name, part)

    def close(self) -> None:
        """Release the MediaPipe detector; safe to call twice."""
        if self.detector is not None:
            self.detector.close()
            self.detector = None


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

    def build(self, s: Settings, video_mode: bool, parts: tuple[str, ...] = ORDER) -> dict[str, object]:
        """The named parts, made in ORDER; an error leaves none made. The detector is made last, once the models
        load: a MediaPipe detector left unclosed by a failed build can deadlock in its finaliser."""
        built: dict[str, object] = {}
        if "classifier" in parts:
            built["classifier"] = self.classifier(s)
        if "stylizer" in parts:
            built["stylizer"] = self.stylizer(s)
        if "detector" in parts:
            built["detector"] = self.detector(s, video_mode)
        return built
