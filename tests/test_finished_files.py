"""Finished recordings are regular MP4s a browser reads whole; a failed remux loses nothing.

Real pixels: Megamind.avi (opencv-doc, 720x528, the live soak's clip) where installed, else the bundled
clip; a real Recorder / VideoSink writes them, headless Chromium plays them (tests/browser_video.py).
"""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from browser_video import assert_browser_plays_whole, assert_regular_mp4, need_chromium, top_boxes
from emocam.live.recorder import Recorder
from emocam.io.remux import RemuxError, remux_scratch_path, remux_to_regular
from emocam.io.sinks import VideoSink
from emocam.io.sources import SAMPLE_CLIP

MEGAMIND = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")


@pytest.fixture(scope="module")
def clip_frames() -> list[np.ndarray]:
    source = MEGAMIND if MEGAMIND.exists() else SAMPLE_CLIP
    with av.open(str(source)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)][:120]


def _record(path: Path, frames: list[np.ndarray], seconds: float, fps: float = 20.0) -> Recorder:
    """A live recording of `seconds` at `fps`, frames given their wall-clock times as the live view would."""
    h, w = frames[0].shape[:2]
    rec = Recorder(path, (w, h), fps, queue_frames=int(seconds * fps) + 8)
    for i in range(int(seconds * fps)):
        rec.submit(frames[i % len(frames)], 50.0 + i / fps)
    rec.close()
    return rec


def test_a_finished_recording_is_a_regular_mp4_a_browser_reads_whole(clip_frames, tmp_path):
    need_chromium()
    out = tmp_path / "rec.mp4"
    rec = _record(out, clip_frames, 4.0)
    assert rec.error is None and rec.remuxed
    assert out.exists() and not rec.writing.exists() and not remux_scratch_path(out).exists()
    assert_regular_mp4(out)
    seen = assert_browser_plays_whole(out)
    assert seen["true"] == pytest.approx(4.0, abs=0.1)
    assert seen["diff_to_first"] > 3 * seen["pixel_diff"]  # the middle frame, not just any frame


def test_the_fragmented_file_reads_short_in_a_browser(clip_frames, tmp_path):
    """What the remux fixes: the same recording left fragmented reads as its first fragments (1-2 s of 6)."""
    need_chromium()
    from browser_video import browser_view

    h, w = clip_frames[0].shape[:2]
    sink = VideoSink(tmp_path / "frag.mp4", (w, h), 20, low_latency=True)
    for i in range(120):
        sink.encode(clip_frames[i % len(clip_frames)], i / 20)
    sink.close()
    assert "moof" in top_boxes(tmp_path / "frag.mp4")
    assert browser_view(tmp_path / "frag.mp4")["stream_duration"] < 6.0 - 2.0


def test_a_failed_remux_keeps_the_fragmented_file_and_replaces_nothing(clip_frames, tmp_path):
    out = tmp_path / "rec.mp4"
    out.write_bytes(b"an older file the user keeps")
    remux_scratch_path(out).mkdir()  # the remux cannot write its scratch file: a real failure of the copy
    rec = _record(out, clip_frames, 1.5)
    assert not rec.remuxed and "could not make rec.mp4 a regular MP4" in rec.error
    assert str(rec.writing) in rec.error and "\n" not in rec.error
    assert out.read_bytes() == b"an older file the user keeps"
    with av.open(str(rec.writing)) as container:  # the fragmented recording, complete and playable
        assert len(list(container.decode(video=0))) == rec.frames_written


def test_remux_copies_video_and_audio_packet_for_packet(tmp_path):
    with av.open(str(SAMPLE_CLIP)) as source:
        video = source.streams.video[0]
        sink = VideoSink(tmp_path / "frag.mp4", (video.width, video.height), float(video.average_rate),
                         audio=source.streams.audio[0], time_base=video.time_base)
        for packet in source.demux():
            if packet.stream.type == "audio" and packet.dts is not None:
                sink.write_audio(packet)
            elif packet.stream.type == "video":
                for frame in packet.decode():
                    sink.encode(frame.to_ndarray(format="rgb24"), float(frame.time))
        sink.close()

    def packets(path):
        with av.open(str(path)) as container:
            return [(p.stream.type, p.pts, bytes(p)) for p in container.demux() if p.size]

    before = packets(tmp_path / "frag.mp4")
    assert remux_to_regular(tmp_path / "frag.mp4", tmp_path / "out.mp4") == len(before)
    assert not (tmp_path / "frag.mp4").exists()
    assert_regular_mp4(tmp_path / "out.mp4")
    after = packets(tmp_path / "out.mp4")
    key = lambda p: (p[0], p[1])  # noqa: E731 (the muxer may interleave differently)
    assert sorted(after, key=key) == sorted(before, key=key)
    assert sum(1 for p in after if p[0] == "audio") > 300


def test_a_file_that_is_not_a_video_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "bad.partial.mp4"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(RemuxError, match=r"could not make out.mp4 a regular MP4 .*kept in"):
        remux_to_regular(bad, tmp_path / "out.mp4")
    assert bad.exists() and not (tmp_path / "out.mp4").exists()
