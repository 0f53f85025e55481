"""The per-frame step shared by render, bench, the live app and batch: one ordered list of stages.

`STAGES` is the only place that names them: `process`, `apply`, `reset` and `close` iterate over it, so a new
stage is its own module under `stages/` plus one entry there. The networks several stages share (classifier,
stylizer, detector) come from the one factory, `Components`. `apply` takes a new `Settings` once, never per
frame: what a changed field needs is built first, and only when all of it is built is anything swapped.
"""
from __future__ import annotations

import time as clock
from dataclasses import dataclass, field

import numpy as np

from emocam.labels import EMOTIONS
from emocam.packs.base import StylePack
from emocam.pipeline.components import Components, Networks, rebuilt_by
from emocam.pipeline.expression import ExpressionEditor
from emocam.pipeline.faces import Face, FaceDetector
from emocam.pipeline.emotion import EmotionClassifier
from emocam.pipeline.facts import FrameFacts
from emocam.pipeline.regions import RegionStyler
from emocam.pipeline.smoothing import FaceSmoothing
from emocam.pipeline.stages.base import Context, FrameState, Stage
from emocam.pipeline.stages.classify import ClassifyStage
from emocam.pipeline.stages.detect import DetectStage
from emocam.pipeline.stages.expression import ExpressionStage
from emocam.pipeline.stages.regions import RegionsStage
from emocam.pipeline.stages.stylize import StyleStage
from emocam.pipeline.style import EmotionBlend, Stylizer
from emocam.pipeline.temporal import TemporalStyler
from emocam.settings import Settings, changed

# the stages in the order a frame meets them (the expression edit comes before classify: the style and its
# emotion follow the edited face; the regions stage and the style stage take turns, by --regions)
STAGES: tuple[type[Stage], ...] = (DetectStage, ExpressionStage, ClassifyStage, RegionsStage, StyleStage)


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


class Pipeline:
    """Turns RGB frames into stylized frames by the smoothed emotion of the faces in them."""

    def __init__(self, settings: Settings | None = None, video_mode: bool = True,
                 components: Components | None = None) -> None:
        self.settings = (settings or Settings()).copy()
        self.video_mode = video_mode
        self.components = components or Components()
        self.networks = Networks(**self.components.build(self.settings, video_mode))
        self.context = Context(video_mode, self.networks)
        self.stages: list[Stage] = []
        try:
            for make in STAGES:
                self.stages.append(make(self.settings, self.context))
        except Exception:  # a stage that failed to build: release what the others hold
            self.close()
            raise
        self._last_time: float | None = None

    def apply(self, new: Settings) -> None:
        """Take new settings: build what the changed fields need (the stages that say so, then the networks, the
        detector last), and only then put it all in force; every stage takes the change.

        On a failed build the previous settings and stages stay in force and the error is raised."""
        names = set(changed(self.settings, new))
        if not names:
            return
        new = new.copy()
        fresh: dict[int, Stage] = {}
        try:
            for i, stage in enumerate(self.stages):
                if stage.needs_rebuild(new, names):
                    fresh[i] = type(stage)(new, self.context)
            built = self.components.build(new, self.video_mode, rebuilt_by(names))
        except Exception:  # nothing is in force yet: close what was built
            for stage in fresh.values():
                stage.close()
            raise
        self.networks.swap(built)
        for i, stage in fresh.items():
            self.stages[i].close()
            self.stages[i] = stage
        self.settings = new
        for stage in self.stages:
            stage.configure(new, names)

    @property
    def devices(self) -> dict[str, str]:
        """What really runs each inference stage: device, precision and backend (MediaPipe's detector: the CPU)."""
        return {"detect": "cpu (mediapipe)", "classify": self.classifier.device, "stylize": self.stylizer.device}

    def reset(self) -> None:
        """Forget faces, their emotions and timing (a new source, a new photo, or a loop back to the start)."""
        self._last_time = None
        for stage in self.stages:
            stage.reset()

    def process(self, image: np.ndarray, time: float) -> FrameResult:
        """Run each active stage, in order, on one RGB frame shown at `time` seconds."""
        return self.finish(self.analyse(image, time))

    def analyse(self, image: np.ndarray, time: float) -> FrameState:
        """The first part of `process`: the stages that read the frame (faces, their edit, their emotions), up to
        the first that styles it. Render and the live view style one frame while they analyse the next: the two
        parts may run on two threads at once, each part's frames in order, never two calls of one part at once."""
        frame = FrameState(image, time)
        if self._last_time is not None and time < self._last_time:  # a loop or a new source: start over; the
            frame.restart = True  # styling stages start over in `finish`, on the thread that runs them
            for stage in self._reading():
                stage.reset()
        self._last_time = time
        reading = [stage for stage in self._reading() if stage.active]
        for stage in reading:
            stage.start(frame)
        self._run(reading, frame)
        return frame

    def finish(self, frame: FrameState) -> FrameResult:
        """The second part of `process`: the stages that style the analysed frame."""
        styling = self.stages[len(self._reading()):]
        if frame.restart:
            for stage in styling:
                stage.reset()
        self._run([stage for stage in styling if stage.active], frame)
        style_weights = {e: round(float(w), 4) for e, w in zip(EMOTIONS, frame.weights) if w > 1e-4}
        frame.facts.networks = self.devices  # what really ran each network (the JSON records carry it)
        output = frame.image if frame.output is None else frame.output
        return FrameResult(output, frame.faces, frame.emotion, style_weights, frame.timings, frame.time, frame.facts)

    def _reading(self) -> list[Stage]:
        """The stages before the first that styles the frame: `analyse` runs them, `finish` the rest."""
        first = next((i for i, stage in enumerate(self.stages) if stage.styles), len(self.stages))
        return self.stages[:first]

    @staticmethod
    def _run(stages: list[Stage], frame: FrameState) -> None:
        for stage in stages:
            started = clock.perf_counter()
            stage.run(frame)
            frame.timings[stage.timing] = (clock.perf_counter() - started) * 1000

    def close(self) -> None:
        """Release the MediaPipe detector, then each stage's own (always call this: MediaPipe's own finaliser can
        deadlock)."""
        self.networks.close()
        for stage in self.stages:
            stage.close()

    # -- the parts, by their old names (tools and tests read them) ------------------------------------------------
    def _stage(self, kind: type[Stage]) -> Stage:
        return next(stage for stage in self.stages if isinstance(stage, kind))

    @property
    def detector(self) -> FaceDetector | None:
        return self.networks.detector

    @property
    def classifier(self) -> EmotionClassifier:
        return self.networks.classifier

    @property
    def stylizer(self) -> Stylizer:
        return self.networks.stylizer

    @property
    def pack(self) -> StylePack:
        return self.networks.stylizer.pack

    @property
    def smoothing(self) -> FaceSmoothing:
        return self._stage(ClassifyStage).smoothing

    @property
    def blend(self) -> EmotionBlend:
        return self._stage(ClassifyStage).blend

    @property
    def temporal(self) -> TemporalStyler:
        return self._stage(StyleStage).temporal

    @property
    def regions(self) -> RegionStyler | None:
        """The region styler while --regions is person or background."""
        return self._stage(RegionsStage).styler

    @property
    def expression(self) -> ExpressionEditor | None:
        """The expression editor while --expression or --expression-from is set."""
        return self._stage(ExpressionStage).editor
