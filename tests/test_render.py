"""`emocam render` end to end on the bundled real clip, and every kind of bad input."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest


def emocam(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emocam", *args], capture_output=True, text=True, timeout=timeout)


def decode(path: Path) -> tuple[list[np.ndarray], list[float]]:
    with av.open(str(path)) as container:
        frames = [(f.to_ndarray(format="rgb24"), float(f.time)) for f in container.decode(video=0)]
    return [f for f, _ in frames], [t for _, t in frames]


def audio_times(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [p.pts for p in container.demux(audio=0) if p.size]


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]


@pytest.fixture(scope="module")
def rendered(sample_clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("render") / "styled.mp4"
    records = out.with_suffix(".jsonl")
    done = emocam("render", str(sample_clip), "-o", str(out), "--json", str(records), "--process-size", "160", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    return out, records, done


def test_render_keeps_frames_size_rate_and_audio(rendered, sample_clip):
    out, _, _ = rendered
    src_frames, src_times = decode(sample_clip)
    out_frames, out_times = decode(out)
    assert len(out_frames) == len(src_frames) == 210
    assert out_frames[0].shape == src_frames[0].shape == (480, 640, 3)
    np.testing.assert_allclose(out_times, src_times, atol=1e-3)
    with av.open(str(out)) as container:
        assert float(container.streams.video[0].average_rate) == pytest.approx(30.0, rel=1e-3)
    assert audio_packets(out) == audio_packets(sample_clip)  # copied packet for packet
    assert audio_times(out) == audio_times(sample_clip)  # at the same times: the priming before 0 kept (no 23 ms lag)


def test_a_browser_reads_the_finished_render_whole(rendered):
    """A regular MP4 (index at the front): headless Chromium reads 7.02 s (it read 1.04 s of the fragmented file)."""
    from browser_video import assert_browser_plays_whole, assert_regular_mp4, need_chromium

    out, _, _ = rendered
    assert_regular_mp4(out)
    assert not list(out.parent.glob(".*remux*"))
    need_chromium()
    seen = assert_browser_plays_whole(out)
    assert seen["true"] == pytest.approx(7.02, abs=0.03)


def test_render_restyles_the_pixels(rendered, sample_clip):
    out, _, _ = rendered
    src, _ = decode(sample_clip)
    styled, _ = decode(out)
    differences = [np.abs(a.astype(int) - b).mean() for a, b in zip(src[::30], styled[::30])]
    assert min(differences) > 15


def test_render_json_follows_the_faces(rendered):
    _, records, done = rendered
    frames = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(frames) == 210
    assert frames[30]["emotion"] == "happy" and frames[30]["faces"][0]["emotion"] == "happy"
    assert frames[30]["faces"][0]["track_id"] == 1 and len(frames[30]["faces"][0]["box"]) == 4
    assert frames[140]["faces"] == [] and frames[140]["emotion"] == "neutral"  # no face long enough: neutral
    assert len(frames[200]["faces"]) == 2  # two faces side by side, two tracks
    assert any(0 < w < 1 for f in frames for w in f["style_weights"].values())  # a style change fades
    assert "audio copied" in done.stdout


def test_render_an_image(astronaut, tmp_path):
    import cv2

    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    out = tmp_path / "styled.png"
    done = emocam("render", str(photo), "-o", str(out), "--json", str(tmp_path / "a.jsonl"), "--process-size", "256", "--overlay")
    assert done.returncode == 0, done.stderr
    assert cv2.imread(str(out)).shape == astronaut.shape
    record = json.loads((tmp_path / "a.jsonl").read_text())
    assert record["emotion"] == "happy"


def _zero_frame_video(path: Path, sample_clip: Path) -> None:
    """The sample's header (which promises 210 frames) with no media data after it."""
    data = sample_clip.read_bytes()
    path.write_bytes(data[: data.find(b"mdat") + 4])


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "input not found"),
        ("not_a_video", "cannot open"),
        ("truncated", "ends early"),
        ("zero_frames", "no decodable video frames"),
        ("unwritable", "not a writable folder"),
        ("bad_suffix", "must end in"),
        ("bad_strength", "--strength"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(case, message, tmp_path, sample_clip):
    source, out, extra = sample_clip, tmp_path / "out.mp4", []
    if case == "missing":
        source = tmp_path / "nope.mp4"
    elif case == "not_a_video":
        source = tmp_path / "notes.mp4"
        source.write_text("this is not a video\n")
    elif case == "truncated":
        source = tmp_path / "cut.mp4"
        source.write_bytes(sample_clip.read_bytes()[:150_000])
    elif case == "zero_frames":
        source = tmp_path / "empty.mp4"
        _zero_frame_video(source, sample_clip)
    elif case == "unwritable":
        blocker = tmp_path / "file"
        blocker.write_text("x")
        out = blocker / "out.mp4"
    elif case == "bad_suffix":
        out = tmp_path / "out.txt"
    elif case == "bad_strength":
        extra = ["--strength", "3"]
    done = emocam("render", str(source), "-o", str(out), "--process-size", "96", *extra)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emocam: error:") and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()  # nothing half-written passed off as done
    if case == "zero_frames":
        assert not list(tmp_path.glob("*.partial.*"))


def _start_slow_render(sample_clip: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "emocam", "render", str(sample_clip), "-o", str(out), "--process-size", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_frames(partial: Path, process: subprocess.Popen, min_bytes: int = 150_000, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if partial.exists() and partial.stat().st_size > min_bytes:
            return
        time.sleep(0.2)
    raise AssertionError(f"render wrote too little before the deadline: {process.poll()=}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_render_leaves_a_playable_file(sig, sample_clip, tmp_path):
    out = tmp_path / "styled.mp4"
    partial = tmp_path / "styled.partial.mp4"
    process = _start_slow_render(sample_clip, out)
    _wait_for_frames(partial, process)
    os.kill(process.pid, sig)
    _, stderr = process.communicate(timeout=60)
    assert not out.exists()  # never passed off as done
    frames, _ = decode(partial)  # decodes without error
    assert len(frames) >= 10
    if sig == signal.SIGINT:
        assert process.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr
        assert len(audio_packets(partial)) > 0
