"""The expression stage: each face's expression edited before it is classified and styled (timing "expression").

Present in every pipeline, active only while --expression or --expression-from is set; a new mode or source
picture builds the stage anew, so a picture without a face is refused when the setting is made.
"""
from __future__ import annotations

import numpy as np

from emocam.labels import EMOTIONS
from emocam.pipeline.expression import ExpressionEditor
from emocam.pipeline.stages.base import Context, FrameState, Stage
from emocam.settings import Settings


def _wanted(settings: Settings) -> bool:
    return settings.expression != "off" or bool(settings.expression_from)


class ExpressionStage(Stage):
    """Holds the expression editor while an edit is on."""

    timing = "expression"

    def __init__(self, settings: Settings, context: Context) -> None:
        super().__init__(settings, context)
        self.editor: ExpressionEditor | None = None
        if _wanted(settings):
            self.editor = ExpressionEditor(settings.expression, settings.expression_strength,
                                           settings.expression_from, context.video_mode)

    @property
    def active(self) -> bool:
        return self.editor is not None

    def needs_rebuild(self, settings: Settings, names: set[str]) -> bool:
        editor = self.editor
        return _wanted(settings) and (editor is None or editor.source_path != settings.expression_from
                                      or editor.mode != settings.expression)

    def configure(self, settings: Settings, names: set[str]) -> None:
        self.settings = settings
        if not _wanted(settings):
            self.editor = None
        elif self.editor is not None:
            self.editor.strength = settings.expression_strength

    def start(self, frame: FrameState) -> None:
        self.editor.prefetch(frame.image)  # the tracked faces' meshes, while the detector runs

    def run(self, frame: FrameState) -> None:
        own = None
        if self.editor.mode == "amplify" and not self.settings.expression_from:  # each face's own emotion, unedited
            probs = self.context.networks.classifier.classify(frame.image, [f.box for f in frame.faces])
            own = [EMOTIONS[int(np.argmax(p))] for p in probs]
        frame.image = self.editor.edit(frame.image, frame.faces, frame.time, own)

    def reset(self) -> None:
        if self.editor is not None:
            self.editor.reset()
