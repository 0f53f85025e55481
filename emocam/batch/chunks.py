"""Where a video is cut: its keyframes, probed from packets without decoding, and the chunk plan.

A chunk is a run of frames between two source keyframes. Its worker starts decoding earlier, at the
last keyframe at least `warmup_s` before the cut, and runs those frames through the pipeline only to
bring tracks, smoothing, fades and temporal state to where a single render would have them; they are
thrown away. Everything is in the source's own integer timestamps, so nothing is lost to rounding.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from emocam.errors import EmocamError
from emocam.io.sources import open_input
from emocam.settings import Settings

MIN_WARMUP_S = 2.0


@dataclass(frozen=True)
class VideoProbe:
    """A video's frame timestamps (sorted) and which of them are keyframes, in the stream's time base."""

    path: Path
    time_base: Fraction
    pts: tuple[int, ...]  # every frame, in presentation order
    keyframes: tuple[int, ...]  # pts of keyframes, sorted

    @property
    def frames(self) -> int:
        return len(self.pts)

    def seconds(self, pts: int) -> float:
        return float((pts - self.pts[0]) * self.time_base)


@dataclass(frozen=True)
class ChunkSpec:
    """One chunk of one video: frames with start_pts <= pts < end_pts kept, from warm_pts on processed."""

    path: str  # the source video (a path every worker can read)
    index: int  # chunk number within the file
    warm_pts: int  # decoding starts at this keyframe; frames before start_pts are warm-up
    start_pts: int
    end_pts: int | None  # None: to the end of the file
    first_frame: int  # index in the file of the first kept frame
    frames: int  # kept frames
    warmup_frames: int


def probe(path: Path) -> VideoProbe:
    """Read every video packet header (no decoding): the frame timestamps and the keyframes."""
    try:
        container = open_input(path)
    except (av.FFmpegError, OSError) as exc:
        raise EmocamError(f"cannot open {path} as a video: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        if not container.streams.video:
            raise EmocamError(f"{path} has no video stream")
        stream = container.streams.video[0]
        pts, keys = [], []
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            pts.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
        time_base = stream.time_base
    except av.FFmpegError as exc:
        raise EmocamError(f"{path} is damaged or truncated: {str(exc).splitlines()[0]}") from None
    finally:
        container.close()
    if not pts:
        raise EmocamError(f"{path} contains no video frames")
    pts.sort()
    keys = sorted(set(keys)) or [pts[0]]
    if keys[0] != pts[0]:
        keys.insert(0, pts[0])  # decoding from the very start is always possible
    return VideoProbe(Path(path), time_base, tuple(pts), tuple(keys))


def auto_warmup(settings: Settings) -> float:
    """A span that lets every time-based state settle: five smoothing time constants (the EMA's memory
    falls below e^-5 < 1%), plus the dwell, the fade and the no-face hold, which each last their length."""
    return max(MIN_WARMUP_S, 5 * settings.smoothing_s + settings.dwell_s + settings.blend_s + settings.hold_s)


def plan_chunks(video: VideoProbe, chunk_s: float, warmup_s: float) -> list[ChunkSpec]:
    """Cut at the first keyframe at least `chunk_s` after the previous cut; each chunk warms up from a
    keyframe at least `warmup_s` before its cut (or from the start of the file)."""
    first = video.pts[0]
    per_chunk = max(1, round(chunk_s / float(video.time_base))) if math.isfinite(chunk_s) else None
    cuts = [first]
    for key in video.keyframes[1:] if per_chunk else ():
        if key - cuts[-1] >= per_chunk:  # the first keyframe at or past the target length
            cuts.append(key)
    chunks = []
    for i, start in enumerate(cuts):
        end = cuts[i + 1] if i + 1 < len(cuts) else None
        warm = start
        if warmup_s > 0:
            k = bisect.bisect_right(video.keyframes, start - round(warmup_s / float(video.time_base))) - 1
            warm = video.keyframes[k] if k >= 0 else first
        first_frame = bisect.bisect_left(video.pts, start)
        last = bisect.bisect_left(video.pts, end) if end is not None else len(video.pts)
        warm_index = bisect.bisect_left(video.pts, warm)
        chunks.append(ChunkSpec(str(video.path), i, warm, start, end, first_frame, last - first_frame,
                                first_frame - warm_index))
    return chunks
