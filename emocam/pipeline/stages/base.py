"""What every stage has: one lifecycle (configure, reset, close, run) and the typed state of the frame it runs on.

`Pipeline` only iterates over its list of stages, so a new stage is its own module plus one entry in
`pipeline.STAGES`; nothing else names it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emocam.labels import EMOTIONS, NEUTRAL
from emocam.pipeline.components import Networks
from emocam.pipeline.faces import Face
from emocam.pipeline.facts import FrameFacts
from emocam.settings import Settings


@dataclass
class Context:
    """What the pipeline gives each stage it builds: the mode and the networks the stages share."""

    video_mode: bool
    networks: Networks  # swapped in place when a change rebuilds one: stages read it when they run


@dataclass
class FrameState:
    """One frame as it goes through the stages; each reads what earlier ones wrote and adds its part."""

    image: np.ndarray  # RGB; the expression stage replaces it with the edited frame
    time: float
    faces: list[Face] = field(default_factory=list)
    emotion: str = EMOTIONS[NEUTRAL]  # the frame's emotion
    weights: np.ndarray = field(default_factory=lambda: np.eye(len(EMOTIONS), dtype=np.float32)[NEUTRAL])
    output: np.ndarray | None = None  # the stylized frame
    facts: FrameFacts = field(default_factory=lambda: FrameFacts(keyframe=False, styles=[]))
    timings: dict[str, float] = field(default_factory=dict)  # timing key -> ms
    restart: bool = False  # time went backwards (a loop, a new source): what carries over starts anew


class Stage:
    """One step of the frame. Built as `Stage(settings, context)`; the pipeline calls the rest in list order."""

    timing = ""  # its key in FrameResult.timings (the HUD's names); "" leaves its run untimed
    styles = False  # True: it styles the frame; `Pipeline.finish` runs it and every stage after it

    def __init__(self, settings: Settings, context: Context) -> None:
        self.settings, self.context = settings, context

    @property
    def active(self) -> bool:
        """Whether it runs on frames now (an optional stage that is off is skipped, with no timing)."""
        return True

    def needs_rebuild(self, settings: Settings, names: set[str]) -> bool:
        """Whether the change of the fields `names` needs this stage built anew; asks only, changes nothing."""
        return False

    def configure(self, settings: Settings, names: set[str]) -> None:
        """Take a change in force: `settings` are the new ones, `names` the fields that changed. Cannot fail
        (what can fail is built in the constructor, which `needs_rebuild` asks for)."""
        self.settings = settings

    def start(self, frame: FrameState) -> None:
        """Begin, on a helper thread, work that needs only the frame's own pixels and this stage's state: it
        overlaps the stages before this one. Called for every active stage of `Pipeline.analyse` before any of
        them runs."""

    def run(self, frame: FrameState) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget what was carried from frame to frame (a new source, a loop back to the start)."""

    def close(self) -> None:
        """Release what must be released explicitly (MediaPipe tasks); safe to call twice."""
