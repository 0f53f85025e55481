"""What a batch tells the user: one progress bar over all workers, a line per finished file, and at the
end a summary table and a JSON report (per file: status, frames, seconds, fps, error line)."""
from __future__ import annotations

import json
import os
import time as clock
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

REPORT_NAME = "emocam-batch-report.json"


@dataclass
class FileReport:
    """One input's outcome. `seconds` is worker time spent on it (warm-up included) plus the join."""

    input: str
    output: str
    status: str = "pending"  # done | skipped (finished by an earlier run) | failed | interrupted
    frames: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    chunks: int = 0
    chunks_rendered: int = 0  # this run
    chunks_reused: int = 0  # finished by an earlier run and verified
    error: str = ""
    skipped_packets: dict[str, int] = field(default_factory=dict)  # damaged packets left out: video, audio
    join_seconds: float = 0.0
    driver_seconds: float = 0.0  # on the driver: storing and checking chunks, joining (serial for the batch)
    chunk_stats: list[dict] = field(default_factory=list)  # per chunk rendered: frames, warm-up, costs, worker


@dataclass
class BatchReport:
    engine: str
    files: list[FileReport] = field(default_factory=list)
    started: float = field(default_factory=clock.time)
    wall_seconds: float = 0.0
    frames_rendered: int = 0
    worker_load_seconds: list[float] = field(default_factory=list)

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status in ("failed", "interrupted")]

    def write(self, path: Path) -> None:
        """Atomically, like the journal."""
        self.wall_seconds = round(clock.time() - self.started, 2)
        data = {k: v for k, v in asdict(self).items() if k != "started"}
        data["fps"] = round(self.frames_rendered / self.wall_seconds, 2) if self.wall_seconds else 0.0
        scratch = path.with_name(f".{path.name}.tmp")
        scratch.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(scratch, path)

    def table(self) -> str:
        rows = [("status", "frames", "seconds", "fps", "file")]
        for f in self.files:
            name = Path(f.input).name + (f": {f.error}" if f.error else "")
            rows.append((f.status, str(f.frames), f"{f.seconds:.1f}", f"{f.fps:.1f}", name))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r[:4], widths)))
                 + "  " + r[4] for r in rows]
        done = sum(f.status in ("done", "skipped") for f in self.files)
        failed = sum(f.status == "failed" for f in self.files)
        stopped = sum(f.status == "interrupted" for f in self.files)
        wall = clock.time() - self.started
        lines.append(f"{done} of {len(self.files)} files done, {failed} failed"
                     f"{f', {stopped} interrupted' if stopped else ''}; {self.frames_rendered} "
                     f"frames rendered in {wall:.1f} s ({self.frames_rendered / wall if wall else 0:.1f} fps) "
                     f"with {self.engine}")
        return "\n".join(lines)


class BatchProgress:
    """One bar for all workers: frames of finished chunks plus what the workers report in flight.

    The bar only moves forward and never past the total: polls of the workers can miss one that is slow
    to answer, and a chunk's frames move from "in flight" to "finished" between two polls."""

    def __init__(self, total: int, file: TextIO | None = None, show: bool | None = None) -> None:
        """`show` None: a bar only on a terminal (the default `file` is stderr)."""
        self.total = total
        self.bar = tqdm(total=total or None, unit="frame", desc="batch", dynamic_ncols=True, file=file,
                        disable=None if show is None else not show)
        self.finished = 0
        self.in_flight = 0

    def _show(self) -> None:
        target = self.finished + self.in_flight
        if self.total:
            target = min(target, self.total)
        if target > self.bar.n:
            self.bar.update(target - self.bar.n)

    def chunk_done(self, frames: int) -> None:
        self.finished += frames
        self.in_flight = max(0, self.in_flight - frames)  # the last poll counted part of this chunk
        self._show()

    def flight(self, frames: int) -> None:
        self.in_flight = frames
        self._show()

    def say(self, line: str) -> None:
        tqdm.write(line)

    def close(self) -> None:
        self.bar.close()
