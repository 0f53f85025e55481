"""Style thumbnails for the editor, rendered on a small sample picture on a background thread."""

from __future__ import annotations

import queue
import threading

import cv2
import numpy as np

from emocam.live.pack_view import PackInfo, thumbnail_jobs
from emocam.io.sources import SAMPLE_CLIP

SIDE = 112


def sample_picture(side: int = SIDE) -> np.ndarray:
    """A square crop of the bundled sample clip (a face), or a colour gradient when it is missing."""
    try:
        from emocam.io.sources import open_source

        source = open_source(str(SAMPLE_CLIP))
        try:
            image = next(iter(source.frames())).image
        finally:
            source.close()
        h, w = image.shape[:2]
        s = min(h, w)
        crop = image[(h - s) // 2 : (h + s) // 2, (w - s) // 2 : (w + s) // 2]
        return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    except Exception:
        y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
        return (np.dstack([x, y, 1 - x * y]) * 255).astype(np.uint8)


class ThumbnailWorker:
    """`render(info, device)` starts a job (replacing any running one); `take()` yields finished thumbnails."""

    def __init__(self) -> None:
        self._done: "queue.Queue[tuple[int, object, np.ndarray]]" = queue.Queue()
        self._job = 0
        self.thread: threading.Thread | None = None  # the newest job's (the window waits for it at close)
        self._sample: np.ndarray | None = None

    def render(self, info: PackInfo, device: str) -> None:
        self._job += 1
        job = self._job
        self.thread = threading.Thread(target=self._run, args=(job, info, device), name="emocam-thumbs", daemon=True)
        self.thread.start()

    def take(self) -> list[tuple[object, np.ndarray]]:
        """Thumbnails of the current job finished since the last call."""
        out = []
        while True:
            try:
                job, key, image = self._done.get_nowait()
            except queue.Empty:
                return out
            if job == self._job:
                out.append((key, image))

    def stop(self) -> None:
        self._job += 1

    def _run(self, job: int, info: PackInfo, device: str) -> None:
        from emocam.pipeline.style import Stylizer

        # not at a lowered priority, unlike the encoder: OpenVINO's worker threads are started by whichever thread
        # first runs a network and inherit its priority, and started here they ran the live view's own style
        # network at nice 5 too, giving way to the GUI and the decoder in the middle of every frame
        try:
            if self._sample is None:
                self._sample = sample_picture()
            stylizer = None
            for key, variant, weights in thumbnail_jobs(info):
                if job != self._job:
                    return
                if stylizer is None:
                    stylizer = Stylizer(variant, device)
                stylizer.pack = variant
                self._done.put((job, key, stylizer.stylize(self._sample, weights, None, 1.0)))
        except Exception:
            return  # thumbnails are a nicety: the editor still works with names only
