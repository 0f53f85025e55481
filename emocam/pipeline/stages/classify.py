"""The classify stage: each seen face's emotion, smoothed per track, the frame's emotion and the style weights
fading towards it (timing "classify", all four together as the HUD has always shown them)."""
from __future__ import annotations

from emocam.pipeline.smoothing import FaceSmoothing, FrameEmotion
from emocam.pipeline.stages.base import Context, FrameState, Stage
from emocam.pipeline.style import EmotionBlend
from emocam.settings import Settings


class ClassifyStage(Stage):
    """Classifies with the shared classifier; owns the smoothing, the frame's emotion and the fades."""

    timing = "classify"

    def __init__(self, settings: Settings, context: Context) -> None:
        super().__init__(settings, context)
        s = settings
        self.smoothing = FaceSmoothing(s.smoothing_s, s.dwell_s, s.margin)
        self.frame_emotion = FrameEmotion(s.policy, s.hold_s)
        self.blend = EmotionBlend(s.blend_s)

    def configure(self, settings: Settings, names: set[str]) -> None:
        s = self.settings = settings
        self.smoothing.configure(s.smoothing_s, s.dwell_s, s.margin)
        self.frame_emotion.policy, self.frame_emotion.hold_s = s.policy, s.hold_s
        self.blend.blend_s = s.blend_s
        self.context.networks.classifier.margin = s.crop_margin

    def run(self, frame: FrameState) -> None:
        seen = [f for f in frame.faces if f.seen]
        for face, probs in zip(seen, self.context.networks.classifier.classify(frame.image, [f.box for f in seen])):
            face.probs = probs
        frame.faces = self.smoothing.update(frame.faces, frame.time)
        frame.emotion = self.frame_emotion.update(frame.faces, frame.time)
        frame.weights = self.blend.update(frame.emotion, frame.time)

    def reset(self) -> None:
        """Faces and the frame's emotion start over; the fade carries on."""
        self.smoothing.reset()
        self.frame_emotion = FrameEmotion(self.settings.policy, self.settings.hold_s)
