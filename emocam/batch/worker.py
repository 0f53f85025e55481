"""Rendering one chunk on a worker whose networks were loaded once.

`ChunkRenderer` is what a Ray actor holds (and what runs in-process without Ray): it loads the emotion
and style networks when it starts and keeps them for every chunk it renders. Each chunk still gets a
fresh `Pipeline` (tracks, smoothing, fades and temporal state start new, exactly as in a single render),
built around the loaded networks; only the MediaPipe detector, which is cheap (~10 ms) and keeps VIDEO
mode timestamps, is made new per chunk.
"""
from __future__ import annotations

import json
import os
import tempfile
import time as clock
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import av

from emocam.batch import scratch
from emocam.batch.chunks import ChunkSpec
from emocam.pipeline.step import pipeline_step
from emocam.errors import EmocamError
from emocam.pipeline.loop import Processed, run_loop
from emocam.pipeline.components import Components
from emocam.pipeline.pipeline import Pipeline
from emocam.pipeline.records import frame_record
from emocam.io.sinks import ENCODER_LOOKAHEAD, VideoSink
from emocam.io.skipped import SkippedPackets, decode_packet
from emocam.io.sources import Frame, VideoFileSource
from emocam.settings import Settings

# frame indices that mark frames outside the chunk's own span: rendered, never kept
WARM_UP = -1  # before the cut: they bring smoothing, fades and temporal history up to where a single render is
LOOKAHEAD = -2  # after the end: only the encoder sees them, so the chunk's last frames are encoded as in one file
Progress = Callable[[int], None]  # frames of this chunk done so far (called after every kept frame)


@dataclass
class ChunkResult:
    """A rendered chunk: its video (H.264 in a fragmented MP4, no audio), records and what it cost."""

    path: str
    index: int
    frames: int
    data: bytes
    records: str | None  # JSON Lines of the kept frames, when asked for
    open_s: float  # opening the source, seeking, a fresh pipeline around the loaded networks
    warmup_s: float  # processing the warm-up frames (rendered and thrown away)
    seconds: float  # the whole chunk, wall clock
    worker: str  # host:pid that rendered it
    skipped_video: int = 0  # damaged packets of the chunk's span, left out (as a single render does)


class _KeptFrames:
    """The chunk's sink: encodes (and records) only frames of its own span; the lookahead frames past its end
    go to the encoder alone."""

    def __init__(self, video: VideoSink, records: list[str] | None, progress: Progress | None,
                 skipped: SkippedPackets) -> None:
        self.video, self.records, self.progress, self.skipped = video, records, progress, skipped
        self.kept = 0
        self.first_kept_at: float | None = None

    def write(self, item: Processed) -> None:
        if item.frame.index == LOOKAHEAD:
            self.video.lookahead(item.image, item.frame.time)
        if item.frame.index < 0:
            return
        if self.first_kept_at is None:
            self.first_kept_at = clock.perf_counter()
        self.video.write(item)
        if self.records is not None:
            self.records.append(json.dumps(frame_record(item, self.skipped)))
        self.kept += 1
        if self.progress:
            self.progress(self.kept)

    def close(self) -> None:
        self.video.close()


def chunk_frames(source: VideoFileSource, spec: ChunkSpec, skipped: SkippedPackets) -> Iterator[Frame]:
    """Decode from the chunk's warm-up keyframe to its end, and the encoder's lookahead past it; frames before
    the cut get index WARM_UP, those after the end LOOKAHEAD.

    A damaged packet is skipped (as in a single render); those of the chunk's own span count in `skipped`."""
    stream = source.video
    if spec.warm_pts > (stream.start_time or 0):
        source.container.seek(spec.warm_pts, stream=stream, backward=True, any_frame=False)
    index = spec.first_frame
    past_end = 0
    warm_up = SkippedPackets()
    try:
        for packet in source.container.demux(stream):
            ours = packet.pts is not None and packet.pts >= spec.start_pts and (
                spec.end_pts is None or packet.pts < spec.end_pts)
            for frame in decode_packet(packet, skipped if ours else warm_up):
                if frame.pts is None or frame.pts < spec.warm_pts:
                    continue
                if spec.end_pts is not None and frame.pts >= spec.end_pts:
                    if past_end == ENCODER_LOOKAHEAD:
                        return
                    past_end += 1
                    yield Frame(frame.to_ndarray(format="rgb24"), float(frame.time), LOOKAHEAD)
                    continue
                keep = frame.pts >= spec.start_pts
                yield Frame(frame.to_ndarray(format="rgb24"), float(frame.time), index if keep else WARM_UP)
                index += keep
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise EmocamError(f"{spec.path} is damaged or truncated: {str(exc).splitlines()[0]}") from None


class ChunkRenderer:
    """Loads the networks once; renders any number of chunks with them."""

    def __init__(self, settings: Settings, records: bool = False) -> None:
        started = clock.perf_counter()
        self.settings = settings
        self.records = records
        self.components = Components(keep=True)  # the networks load once, here, and serve every chunk
        Pipeline(settings, video_mode=True, components=self.components).close()
        scratch.sweep()  # what a killed worker on this machine left behind
        self.load_s = clock.perf_counter() - started
        self.name = f"{os.uname().nodename}:{os.getpid()}"

    def render(self, spec: ChunkSpec, progress: Progress | None = None) -> ChunkResult:
        started = clock.perf_counter()
        source = VideoFileSource(Path(spec.path))
        pipeline = Pipeline(self.settings, video_mode=True, components=self.components)
        records: list[str] | None = [] if self.records else None
        with tempfile.TemporaryDirectory(prefix=scratch.prefix()) as folder:
            out = Path(folder) / f"chunk-{spec.index:05d}.mp4"
            try:
                video = VideoSink(out, source.size, source.rate or source.fps, time_base=source.video.time_base)
                skipped = SkippedPackets()
                kept = _KeptFrames(video, records, progress, skipped)
                opened = clock.perf_counter()
                try:
                    run_loop(chunk_frames(source, spec, skipped), pipeline_step(pipeline, self.settings), [kept])
                finally:
                    kept.close()
            finally:
                pipeline.close()
                source.close()
            if kept.kept + skipped.video != spec.frames:
                raise EmocamError(f"{spec.path} ends early: chunk {spec.index} decoded {kept.kept} of "
                                  f"{spec.frames} frames (damaged or truncated?)")
            data = out.read_bytes()
        done = clock.perf_counter()
        return ChunkResult(spec.path, spec.index, kept.kept, data,
                           "\n".join(records) + "\n" if records else None if records is None else "",
                           opened - started, (kept.first_kept_at or done) - opened, done - started, self.name,
                           skipped.video)
