"""The one per-frame step that render, batch workers, the live window and the bench all call."""
from __future__ import annotations

from concurrent.futures import Future, wait
from typing import Callable

from emocam.pipeline.annotate import Annotator
from emocam.pipeline.loop import Processed
from emocam.pipeline.overlap import submit
from emocam.pipeline.pipeline import Pipeline
from emocam.pipeline.stages.base import FrameState
from emocam.io.sources import Frame
from emocam.settings import Settings


def pipeline_step(pipeline: Pipeline, settings: Settings,
                  still: bool = False) -> Callable[[Frame], "Processed | Future[Processed]"]:
    """The pipeline, then the overlay when asked for; `still`: unrelated photos, nothing carried between them.

    On video each frame is styled on a helper thread while the caller analyses the next one (the frame loop's
    writer waits for the returned future): on a CPU the mostly single-threaded analysis fills the core the
    style network leaves idle. Each part keeps its frames in order, so the output is the same."""
    annotator = Annotator() if settings.overlay else None

    def finish(frame: Frame, analysed: FrameState) -> Processed:
        result = pipeline.finish(analysed)
        image = annotator.annotate(result.output, result.faces) if annotator else result.output
        return Processed(frame, result, image)

    if still:
        def photo(frame: Frame) -> Processed:
            pipeline.reset()  # unrelated photos: no smoothing, fading or holding from one to the next
            return finish(frame, pipeline.analyse(frame.image, 0.0))

        return photo

    styling: list[Future] = []  # the frame being styled

    def step(frame: Frame) -> "Future[Processed]":
        analysed = pipeline.analyse(frame.image, frame.time)
        if styling:  # the styling takes one frame at a time
            wait([styling.pop()])
        styling.append(submit(lambda: finish(frame, analysed)))
        return styling[0]

    return step
