"""Without Ray: chunks rendered one after another in this process, with the same renderer Ray workers use."""
from __future__ import annotations

from typing import Callable, Sequence

from emocam.batch.chunks import ChunkSpec
from emocam.batch.worker import ChunkRenderer, ChunkResult
from emocam.errors import EmocamError
from emocam.settings import Settings

OnResult = Callable[[ChunkSpec, "ChunkResult | None", "str | None"], None]
OnProgress = Callable[[int], None]  # frames of chunks in flight (not yet handed to on_result)
Wanted = Callable[[ChunkSpec], bool]

CLUSTER_HINT = ('Ray is not installed: rendering one file after another. For parallel workers and chunked long '
                'videos: pip install -e ".[cluster]"  (or pip install "emocam[cluster]")')


class LocalEngine:
    """One worker: the networks load once, every chunk runs here in turn."""

    description = "1 worker in this process (no Ray)"
    workers = 1

    def __init__(self, settings: Settings, records: bool) -> None:
        self.settings, self.records = settings, records
        self._renderer: ChunkRenderer | None = None
        self.load_s: list[float] = []

    def run(self, specs: Sequence[ChunkSpec], on_result: OnResult, on_progress: OnProgress, wanted: Wanted) -> None:
        for spec in specs:
            if not wanted(spec):
                continue
            try:
                if self._renderer is None:
                    self._renderer = ChunkRenderer(self.settings, self.records)
                    self.load_s.append(self._renderer.load_s)
                result = self._renderer.render(spec, on_progress)
            except EmocamError as exc:
                on_progress(0)
                on_result(spec, None, str(exc))
                continue
            on_progress(0)
            on_result(spec, result, None)

    def close(self) -> None:
        self._renderer = None
