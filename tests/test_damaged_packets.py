"""A damaged packet is skipped, counted and reported, as ffmpeg does: alone and in a batch, audio and video.

The inputs are real AVIs made on the spot (tests/damaged_avi.py): Megamind.avi's motion as MPEG-4 Part 2
at 23.976 fps with AC-3 stereo, one packet overwritten with noise.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from damaged_avi import MEGAMIND, damaged_avi
from emocam.cli import main

pytestmark = pytest.mark.skipif(not MEGAMIND.is_file(), reason="needs Debian's opencv-doc (Megamind.avi)")
FRAMES = 72


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("damaged")
    return {kind: damaged_avi(folder / f"{kind}.avi", kind, frames=FRAMES) for kind in ("none", "audio", "video")}


def render(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emocam", "render", *args, "--process-size", "128", "--device", "cpu"],
                          capture_output=True, text=True, timeout=600)


def streams(path: Path) -> tuple[list[np.ndarray], float, str]:
    """Decoded frames, seconds of decoded audio and the audio codec of a finished render."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        seconds = sum(f.samples / f.sample_rate for f in container.decode(audio))
        return frames, seconds, audio.codec_context.name


def test_the_damage_is_real(clips):
    """Each damaged clip has exactly one packet its decoder refuses, in the stream it names."""
    for kind, path in clips.items():
        refused = {"audio": 0, "video": 0}
        with av.open(str(path)) as container:
            for packet in container.demux():
                try:
                    packet.decode()
                except av.FFmpegError:
                    refused[packet.stream.type] += 1
        assert refused == {"audio": int(kind == "audio"), "video": int(kind == "video")}


@pytest.mark.parametrize("kind", ["audio", "video"])
def test_a_single_render_skips_the_damaged_packet(clips, kind, tmp_path):
    out, records = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    done = render(str(clips[kind]), "-o", str(out), "--json", str(records))
    assert done.returncode == 0, done.stderr
    assert f"1 {kind} packet skipped (damaged)" in done.stdout
    frames, seconds, codec = streams(out)
    assert len(frames) == FRAMES - (kind == "video")
    assert codec == "aac"  # AC-3 cannot go into MP4 packet for packet: re-encoded, sound kept
    assert seconds == pytest.approx(FRAMES * 1001 / 24000, abs=0.15)
    last = json.loads(records.read_text().splitlines()[-1])
    assert last["skipped_packets"] == {"audio": int(kind == "audio"), "video": int(kind == "video")}
    middle = frames[len(frames) // 2]
    assert middle.std() > 20  # a real picture, not a grey concealment frame


def test_a_batch_skips_them_too_and_names_the_input(clips, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # the local engine: the same chunk code as the Ray workers
    outdir = tmp_path / "batch"
    paths = [str(clips[k]) for k in ("none", "audio", "video")]
    assert main(["render", *paths, "-o", str(outdir), "--process-size", "128", "--device", "cpu"]) == 0
    report = {Path(f["input"]).stem: f for f in json.loads((outdir / "emocam-batch-report.json").read_text())["files"]}
    assert {k: r["status"] for k, r in report.items()} == {"none": "done", "audio": "done", "video": "done"}
    assert report["audio"]["skipped_packets"] == {"video": 0, "audio": 1}
    assert report["video"]["skipped_packets"] == {"video": 1, "audio": 0}
    assert report["video"]["frames"] == FRAMES - 1
    frames, seconds, codec = streams(outdir / "audio.emocam.mp4")
    assert len(frames) == FRAMES and codec == "aac" and seconds > 2.5
    out = capsys.readouterr()
    assert "1 audio packet skipped" in out.out + out.err


def test_a_stream_that_gives_nothing_is_an_error(tmp_path):
    """Only when every audio packet is refused is the audio an error: one line, exit 2, the file named."""
    path = damaged_avi(tmp_path / "all.avi", "audio-all", frames=24)
    done = render(str(path), "-o", str(tmp_path / "o.mp4"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "audio packets decodes" in done.stderr and "all.avi" in done.stderr
