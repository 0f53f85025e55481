"""The regions stage: with --regions person or background, each person in their own emotion's style.

Present in every pipeline, active only while --regions is not `frame` (then it styles the frame in place of the
style stage, under the same timing "stylize", and adds "regions": its ms outside the style network). Turning it
on builds it anew (the people segmenter); turning it off closes the segmenter.
"""
from __future__ import annotations

from emocam.pipeline.regions import RegionStyler, stylize_regions
from emocam.pipeline.segmentation import PersonSegmenter
from emocam.pipeline.stages.base import Context, FrameState, Stage
from emocam.settings import Settings


class RegionsStage(Stage):
    """Holds the region styler (and its MediaPipe segmenter) while --regions is person or background."""

    timing = "stylize"
    styles = True

    def __init__(self, settings: Settings, context: Context) -> None:
        super().__init__(settings, context)
        self.styler: RegionStyler | None = None
        if settings.regions != "frame":
            self.styler = RegionStyler(PersonSegmenter(context.video_mode))
        self.configure(settings, set())

    @property
    def active(self) -> bool:
        return self.styler is not None

    def needs_rebuild(self, settings: Settings, names: set[str]) -> bool:
        return settings.regions != "frame" and self.styler is None

    def configure(self, settings: Settings, names: set[str]) -> None:
        s = self.settings = settings
        if s.regions == "frame":
            self.close()
            return
        self.styler.mode, self.styler.face_strength, self.styler.blend_s = s.regions, s.face_strength, s.blend_s
        self.styler.temporal_mode = s.temporal

    def run(self, frame: FrameState) -> None:
        s = self.settings
        frame.output, frame.facts, frame.timings["regions"] = stylize_regions(
            self.styler, self.context.networks.stylizer, frame.image, frame.faces, frame.weights, frame.time,
            s.process_size or None, s.strength)

    def reset(self) -> None:
        if self.styler is not None:
            self.styler.reset()

    def close(self) -> None:
        if self.styler is not None:
            self.styler.segmenter.close()
            self.styler = None
