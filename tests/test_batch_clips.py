"""Real clips for the batch tests (cut from the bundled sample, re-encoded with a keyframe every half
second and B-frames, audio copied), and the chunk planner on them."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from emocam.batch.chunks import plan_chunks, probe
from emocam.io.sources import SAMPLE_CLIP

KEYFRAME_EVERY = 15  # frames: half a second at the sample's 30 fps


def cut_clip(out: Path, start_s: float, end_s: float, source: Path = SAMPLE_CLIP) -> Path:
    """Frames and audio of `source` in [start_s, end_s), as an ordinary (non-fragmented) MP4."""
    src = av.open(str(source))
    vin, ain = src.streams.video[0], src.streams.audio[0]
    dst = av.open(str(out), "w")
    vout = dst.add_stream("libx264", rate=vin.average_rate)
    vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
    vout.options = {"preset": "ultrafast", "x264-params": f"keyint={KEYFRAME_EVERY}:min-keyint={KEYFRAME_EVERY}:scenecut=0"}
    aout = dst.add_stream_from_template(ain)
    start_pts = None
    for packet in src.demux(vin, ain):
        if packet.stream is ain:
            if packet.dts is None or not start_s <= float(packet.pts * packet.time_base) < end_s:
                continue
            packet.pts -= round(start_s / ain.time_base)
            packet.dts -= round(start_s / ain.time_base)
            packet.stream = aout
            dst.mux(packet)
            continue
        for frame in packet.decode():
            if not start_s <= frame.time < end_s:
                continue
            start_pts = frame.pts if start_pts is None else start_pts
            image = frame.to_ndarray(format="rgb24")
            new = av.VideoFrame.from_ndarray(image, format="rgb24")
            new.pts, new.time_base = frame.pts - start_pts, vin.time_base
            dst.mux(vout.encode(new))
    dst.mux(vout.encode())
    dst.close()
    src.close()
    return out


@pytest.fixture(scope="session")
def sample_cuts(tmp_path_factory) -> dict[str, Path]:
    """Three 1-second clips, and the sample's last 4 seconds (a face that turns away, then two faces), each
    with a keyframe every half second."""
    folder = tmp_path_factory.mktemp("clips")
    clips = {f"clip{i}": cut_clip(folder / f"clip{i}.mp4", 2.0 * i, 2.0 * i + 1.0) for i in range(3)}
    clips["long"] = cut_clip(folder / "long.mp4", 3.0, 7.0)
    return clips


def test_probe_and_plan_cut_at_keyframes_with_warmup(tmp_path):
    clip = cut_clip(tmp_path / "whole.mp4", 0.0, 7.0)
    video = probe(clip)
    assert video.frames == 210
    step = round(Fraction(KEYFRAME_EVERY, 30) / video.time_base)
    assert list(video.keyframes) == [video.pts[0] + i * step for i in range(14)]
    chunks = plan_chunks(video, chunk_s=2.0, warmup_s=1.2)
    assert [c.frames for c in chunks] == [60, 60, 60, 30]
    assert sum(c.frames for c in chunks) == video.frames
    assert [c.first_frame for c in chunks] == [0, 60, 120, 180]
    assert all(c.start_pts in video.keyframes and c.warm_pts in video.keyframes for c in chunks)
    # warm-up: the last keyframe at least 1.2 s before the cut (1.5 s = 45 frames back); none for the first
    assert [c.warmup_frames for c in chunks] == [0, 45, 45, 45]
    assert chunks[-1].end_pts is None and chunks[0].end_pts == chunks[1].start_pts
    assert len(plan_chunks(video, chunk_s=60.0, warmup_s=3.0)) == 1
