"""The one per-frame step that render, batch workers, the live window and the bench all call."""
from __future__ import annotations

from typing import Callable

from emocam.pipeline.annotate import Annotator
from emocam.pipeline.loop import Processed
from emocam.pipeline.pipeline import Pipeline
from emocam.io.sources import Frame
from emocam.settings import Settings


def pipeline_step(pipeline: Pipeline, settings: Settings, still: bool = False) -> Callable[[Frame], Processed]:
    """The pipeline, then the overlay when asked for; `still`: unrelated photos, nothing carried between them."""
    annotator = Annotator() if settings.overlay else None

    def step(frame: Frame) -> Processed:
        if still:
            pipeline.reset()  # unrelated photos: no smoothing, fading or holding from one to the next
        result = pipeline.process(frame.image, 0.0 if still else frame.time)
        image = annotator.annotate(result.output, result.faces) if annotator else result.output
        return Processed(frame, result, image)

    return step
