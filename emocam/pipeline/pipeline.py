"""The per-frame step shared by render, bench, the live app and batch: detect, track, classify, smooth, stylize.

Components are built once from the settings; `apply` takes a new `Settings` and, for each field that
changed, either rebuilds the component that field names in its schema (`applies`) or passes the new
parameter to its stage. Nothing is re-applied per frame.
"""
from __future__ import annotations

import time as clock
from dataclasses import dataclass, field

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.pipeline.facts import FrameFacts
from emocam.pipeline.components import Components
from emocam.pipeline.faces import Face, FaceDetector
from emocam.pipeline.regions import RegionStyler, stylize_regions
from emocam.pipeline.segmentation import PersonSegmenter
from emocam.pipeline.smoothing import FaceSmoothing, FrameEmotion
from emocam.pipeline.style import EmotionBlend
from emocam.packs.base import KINDS
from emocam.pipeline.temporal import TemporalStyler
from emocam.pipeline.tracking import Tracker
from emocam.settings import Settings, changed, meta


@dataclass
class FrameResult:
    """What the step made of one frame."""

    output: np.ndarray  # stylized, the input's size, no overlay
    faces: list[Face]  # faces with a smoothed emotion (seen now, or coasting over a miss)
    emotion: str  # the frame's emotion (after the policy and hysteresis)
    style_weights: dict[str, float]  # emotion -> weight in use (blends while a change fades)
    timings: dict[str, float]  # stage -> ms
    time: float
    facts: FrameFacts = field(default_factory=FrameFacts)  # per-frame facts of the style stages (keyframe, regions)


# components each kind of change rebuilds; the detector comes last (see `_build`)
_REBUILDS = {"models": ("classifier", "stylizer"), "classifier": ("classifier",), "stylizer": ("stylizer",),
             "detector": ("detector",)}
_ORDER = ("classifier", "stylizer", "detector")


class Pipeline:
    """Turns RGB frames into stylized frames by the smoothed emotion of the faces in them."""

    def __init__(self, settings: Settings | None = None, video_mode: bool = True,
                 components: Components | None = None) -> None:
        self.settings = (settings or Settings()).copy()
        self.video_mode = video_mode
        self.components = components or Components()
        s = self.settings
        self.tracker = Tracker(s.max_miss_s)
        self.smoothing = FaceSmoothing(s.smoothing_s, s.dwell_s, s.margin)
        self.frame_emotion = FrameEmotion(s.policy, s.hold_s)
        self.blend = EmotionBlend(s.blend_s)
        self.temporal = TemporalStyler(s.temporal)
        self.detector: FaceDetector | None = None
        self.regions: RegionStyler | None = None  # only while --regions is person or background
        self._last_time: float | None = None
        self._build(_ORDER)
        self._build_regions()

    # -- components ----------------------------------------------------------------------------------------
    def _build(self, names: tuple[str, ...]) -> None:
        """(Re)build components; on an error none is replaced. The detector is made last, once the models
        load: a MediaPipe detector left unclosed by a failed build can deadlock in its finaliser."""
        s = self.settings
        built: dict[str, object] = {}
        if "classifier" in names:
            built["classifier"] = self.components.classifier(s)
        if "stylizer" in names:
            built["stylizer"] = self.components.stylizer(s)
            built["pack"] = built["stylizer"].pack
        if "detector" in names:
            built["detector"] = self.components.detector(s, self.video_mode)
            if self.detector is not None:
                self.detector.close()
        for name, component in built.items():
            setattr(self, name, component)
        if "stylizer" in names:
            self._apply_styles()

    def _apply_styles(self) -> None:
        """The style editor's choices over the pack's own mapping (for kinds that have styles to choose)."""
        KINDS[self.pack.kind].choose_styles(self.pack, self.settings.styles_for(self.settings.pack))

    def _build_regions(self) -> None:
        """The people segmenter and region styler while --regions is person or background; closed for frame."""
        s = self.settings
        if s.regions == "frame":
            if self.regions is not None:
                self.regions.segmenter.close()
                self.regions = None
            return
        if self.regions is None:
            self.regions = RegionStyler(PersonSegmenter(self.video_mode))
        self.regions.mode, self.regions.face_strength, self.regions.blend_s = s.regions, s.face_strength, s.blend_s
        self.regions.temporal_mode = s.temporal

    def apply(self, new: Settings) -> None:
        """Take new settings: rebuild what a changed field needs, pass parameters to their stages.

        On a failed rebuild the previous settings stay in force and the error is raised."""
        names = changed(self.settings, new)
        if not names:
            return
        rebuild = {c for n in names for c in _REBUILDS.get(meta(n).applies, ())}
        old, self.settings = self.settings, new.copy()
        try:
            self._build(tuple(c for c in _ORDER if c in rebuild))
            self._build_regions()
        except EmocamError:
            self.settings = old
            raise
        s = self.settings
        if "styles" in names and "stylizer" not in rebuild:
            self._apply_styles()
        self.tracker.max_miss_s = s.max_miss_s
        self.smoothing.configure(s.smoothing_s, s.dwell_s, s.margin)
        self.frame_emotion.policy, self.frame_emotion.hold_s = s.policy, s.hold_s
        self.blend.blend_s = s.blend_s
        self.classifier.margin = s.crop_margin
        if "temporal" in names:
            self.temporal = TemporalStyler(s.temporal)

    @property
    def devices(self) -> dict[str, str]:
        """What really runs each inference stage: device, precision and backend (MediaPipe's detector: the CPU)."""
        return {"detect": "cpu (mediapipe)", "classify": self.classifier.device, "stylize": self.stylizer.device}

    def reset(self) -> None:
        """Forget faces, their emotions and timing (a new source, a new photo, or a loop back to the start)."""
        self.tracker.reset()
        self.smoothing.reset()
        self.frame_emotion = FrameEmotion(self.settings.policy, self.settings.hold_s)
        self._last_time = None
        self.temporal.reset()
        if self.regions is not None:
            self.regions.reset()

    # -- the frame step --------------------------------------------------------------------------------------
    def process(self, image: np.ndarray, time: float) -> FrameResult:
        """Detect, track, classify, smooth and stylize one RGB frame shown at `time` seconds."""
        if self._last_time is not None and time < self._last_time:
            self.reset()  # time went backwards: a loop or a new source
        self._last_time = time
        s = self.settings
        timings: dict[str, float] = {}

        started = clock.perf_counter()
        faces = self.tracker.update(self.detector.detect(image, time), time)
        timings["detect"] = (clock.perf_counter() - started) * 1000

        started = clock.perf_counter()
        seen = [f for f in faces if f.seen]
        for face, probs in zip(seen, self.classifier.classify(image, [f.box for f in seen])):
            face.probs = probs
        faces = self.smoothing.update(faces, time)
        emotion = self.frame_emotion.update(faces, time)
        weights = self.blend.update(emotion, time)
        timings["classify"] = (clock.perf_counter() - started) * 1000

        started = clock.perf_counter()
        styles = [e for e, w in zip(EMOTIONS, weights) if w > 1e-4]
        facts = FrameFacts(keyframe=False, styles=[])
        if self.regions is None and s.strength <= 0:
            output = image
        elif self.regions is None:  # the temporal engine decides how the small stylization becomes this frame
            output, temporal = self.temporal.process(
                image, lambda small: self.stylizer.stylize(small, weights, None, 1.0), s.process_size or None,
                style=self.stylizer.look(weights))
            if s.strength < 1:  # mixed at full size, so the original's detail stays sharp
                output = cv2.addWeighted(output, float(s.strength), image, float(1 - s.strength), 0.0)
            facts = FrameFacts(temporal["keyframe"], temporal["reset"], "frame", styles)
        else:
            output, facts, timings["regions"] = stylize_regions(self.regions, self.stylizer, image, faces, weights,
                                                               time, s.process_size or None, s.strength)
        timings["stylize"] = (clock.perf_counter() - started) * 1000
        style_weights = {e: round(float(w), 4) for e, w in zip(EMOTIONS, weights) if w > 1e-4}
        facts.networks = self.devices  # what really ran each network (the JSON records carry it)
        return FrameResult(output, faces, emotion, style_weights, timings, time, facts)

    def close(self) -> None:
        """Release the MediaPipe detector (always call this: MediaPipe's own finaliser can deadlock)."""
        if self.detector is not None:
            self.detector.close()
            self.detector = None
        if self.regions is not None:
            self.regions.segmenter.close()
            self.regions = None
