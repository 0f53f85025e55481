"""The style stage: the whole frame in the style of the frame's emotion weights, steadied by the temporal engine
(timing "stylize"). It also puts the style editor's choices on the pack, for every stage that styles with it."""
from __future__ import annotations

import cv2

from emocam.labels import EMOTIONS
from emocam.packs.base import KINDS
from emocam.pipeline.components import rebuilt_by
from emocam.pipeline.facts import FrameFacts
from emocam.pipeline.stages.base import Context, FrameState, Stage
from emocam.pipeline.temporal import TemporalStyler
from emocam.settings import Settings


class StyleStage(Stage):
    """Stylizes with the shared stylizer through its own temporal engine; idle while the regions stage styles."""

    timing = "stylize"
    styles = True

    def __init__(self, settings: Settings, context: Context) -> None:
        super().__init__(settings, context)
        self.temporal = TemporalStyler(settings.temporal)
        self._choose_styles()

    @property
    def active(self) -> bool:
        return self.settings.regions == "frame"

    def configure(self, settings: Settings, names: set[str]) -> None:
        self.settings = settings
        if "styles" in names or "stylizer" in rebuilt_by(names):  # once per change, never per frame
            self._choose_styles()
        if "temporal" in names:
            self.temporal = TemporalStyler(settings.temporal)

    def _choose_styles(self) -> None:
        """The style editor's choices over the pack's own mapping (for kinds that have styles to choose)."""
        pack = self.context.networks.stylizer.pack
        KINDS[pack.kind].choose_styles(pack, self.settings.styles_for(self.settings.pack))

    def run(self, frame: FrameState) -> None:
        s, stylizer, image, weights = self.settings, self.context.networks.stylizer, frame.image, frame.weights
        if s.strength <= 0:
            frame.output = image
            return
        # the temporal engine decides how the small stylization becomes this frame
        frame.output, temporal = self.temporal.process(
            image, lambda small: stylizer.stylize(small, weights, None, 1.0), s.process_size or None,
            style=stylizer.look(weights))
        if s.strength < 1:  # mixed at full size, so the original's detail stays sharp
            frame.output = cv2.addWeighted(frame.output, float(s.strength), image, float(1 - s.strength), 0.0)
        styles = [e for e, w in zip(EMOTIONS, weights) if w > 1e-4]
        frame.facts = FrameFacts(temporal["keyframe"], temporal["reset"], "frame", styles)

    def reset(self) -> None:
        self.temporal.reset()
