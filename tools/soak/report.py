"""The soak's memory record: resident memory over time as a table and CSV, the growth slope, the verdict.

Resident memory (RSS) is what runs a machine out of memory, so it is the measure. It swings by hundreds of MB
with what is loaded (a per-emotion pack holds seven networks) and by a few with an encoder running, so growth
is judged like for like: on the samples taken just after a recording finished, with the first pack loaded (all
samples when there are too few such). The slope is a least-squares line through them after the warm-up, so one
noisy sample neither hides nor invents growth; per recording growth is the slope over recordings per minute.
"""
from __future__ import annotations

import csv
import statistics
import threading
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TextIO

GOAL_MB_PER_HOUR = 50.0


def rss_mb() -> float:
    """Resident memory of this process in MB, from /proc (psutil where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return float("nan")


def native_threads() -> int:
    """Threads of this process, native ones included (an encoder's leftover x264 threads show here)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return threading.active_count()


@dataclass
class Sample:
    """One row of the soak's table."""

    minute: float
    rss_mb: float
    fps: float
    recordings: int  # recordings started so far
    finished: int  # recordings that ended as a regular MP4 under their name
    threads: int
    python_mb: float  # memory Python's allocator traces (tracemalloc), nan when not traced
    recording: str  # the recording's state
    pack: str
    modes: str  # regions/temporal
    kind: str = "interval"  # "interval": on the clock; "stop": just after a recording was finished


class SoakLog:
    """Prints each sample as a table row and appends it to a CSV file as it comes (a killed soak keeps its rows)."""

    def __init__(self, out: TextIO, csv_path: Path | None = None) -> None:
        self.out = out
        self.samples: list[Sample] = []
        self._csv = open(csv_path, "w", newline="") if csv_path else None  # noqa: SIM115 (open for the soak)
        self._writer = csv.DictWriter(self._csv, [f.name for f in fields(Sample)]) if self._csv else None
        if self._writer:
            self._writer.writeheader()
        print(f"{'minute':>7} {'RSS MB':>8} {'fps':>6} {'recs':>5} {'done':>5} {'thr':>4} {'py MB':>7}  {'sample':8} "
              f"{'record':7} pack modes",
              file=out, flush=True)

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)
        print(f"{sample.minute:7.1f} {sample.rss_mb:8.1f} {sample.fps:6.2f} {sample.recordings:5d} "
              f"{sample.finished:5d} {sample.threads:4d} {sample.python_mb:7.1f}  {sample.kind:8} {sample.recording:7} "
              f"{sample.pack} {sample.modes}", file=self.out, flush=True)
        if self._writer and self._csv:
            self._writer.writerow(asdict(sample))
            self._csv.flush()

    def close(self) -> None:
        if self._csv:
            self._csv.close()


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minute, MB) points; 0 with fewer than two distinct minutes."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0


@dataclass
class Verdict:
    """The soak's memory result after the warm-up."""

    start_mb: float
    end_mb: float
    minutes: float
    slope_mb_per_min: float
    per_recording_mb: float
    hour_mb: float  # the slope over an hour: what the goal is judged on
    recordings: int
    passed: bool
    samples: int
    like_for_like: bool

    def lines(self) -> list[str]:
        return [
            f"memory after warm-up: {self.start_mb:.1f} -> {self.end_mb:.1f} MB ({self.end_mb - self.start_mb:+.1f} MB "
            f"over {self.minutes:.1f} min; {self.samples} "
            f"{'samples just after a recording, first pack' if self.like_for_like else 'samples'})",
            f"growth slope: {self.slope_mb_per_min:+.3f} MB/min = {self.hour_mb:+.1f} MB/hour; "
            f"{self.per_recording_mb:+.3f} MB per recording ({self.recordings} recordings)",
            f"goal (at most {GOAL_MB_PER_HOUR:.0f} MB growth per hour): {'PASS' if self.passed else 'FAIL'}",
        ]


def verdict(samples: list[Sample], warmup_min: float, record_every_s: float | None) -> Verdict | None:
    """Growth after `warmup_min` minutes; None when fewer than two samples come after it."""
    steady = [s for s in samples if s.minute >= warmup_min]
    like = [s for s in steady if s.kind == "stop" and s.pack == samples[0].pack]
    steady = like if len(like) >= 3 else steady
    if len(steady) < 2:
        return None
    slope = slope_per_minute([(s.minute, s.rss_mb) for s in steady])
    per_minute = 60.0 / record_every_s if record_every_s else 0.0
    minutes = steady[-1].minute - steady[0].minute
    hour = slope * 60
    # judged on the slope over an hour and, for a soak of an hour or more, on the growth it really had
    measured = steady[-1].rss_mb - steady[0].rss_mb
    passed = hour <= GOAL_MB_PER_HOUR and (minutes < 60 or measured * 60 / minutes <= GOAL_MB_PER_HOUR)
    return Verdict(steady[0].rss_mb, steady[-1].rss_mb, minutes, slope,
                   slope / per_minute if per_minute else float("nan"), hour, samples[-1].recordings, passed,
                   len(steady), steady is like)
