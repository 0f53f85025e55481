"""The detect stage: the frame's faces from the shared detector, each given its track id (timing "detect")."""
from __future__ import annotations

from emocam.pipeline.stages.base import Context, FrameState, Stage
from emocam.pipeline.tracking import Tracker
from emocam.settings import Settings


class DetectStage(Stage):
    """Detects and tracks faces; the tracks outlive a rebuilt detector (the detector is a shared network)."""

    timing = "detect"

    def __init__(self, settings: Settings, context: Context) -> None:
        super().__init__(settings, context)
        self.tracker = Tracker(settings.max_miss_s)

    def configure(self, settings: Settings, names: set[str]) -> None:
        self.settings = settings
        self.tracker.max_miss_s = settings.max_miss_s

    def run(self, frame: FrameState) -> None:
        faces = self.context.networks.detector.detect(frame.image, frame.time)
        frame.faces = self.tracker.update(faces, frame.time)

    def reset(self) -> None:
        self.tracker.reset()
