"""Recorder: real H.264 fragmented MP4 through emocam.io.sinks.VideoSink, decoded back with PyAV."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import av
import numpy as np
import pytest

from emocam.errors import EmocamError
from emocam.live.recorder import Recorder


def _frames(n, size=(320, 240)):
    w, h = size
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, : (i * 7) % w] = (200, 80, 30)
        img[(i * 5) % h :, :, 2] = 180
        yield img


def _decode(path):
    with av.open(str(path)) as c:
        frames = [f for f in c.decode(video=0)]
    return frames


def test_recording_decodes_with_size_count_and_timing(tmp_path):
    out = tmp_path / "rec.mp4"
    rec = Recorder(out, (320, 240), 25, queue_frames=64)
    for i, img in enumerate(_frames(50)):
        rec.submit(img, 100.0 + i / 25)
        time.sleep(0.004)
    rec.close()
    assert rec.error is None
    frames = _decode(out)
    assert rec.rate == 30 and rec.dropped == 0  # a constant rate a little above the live 25 fps
    assert len(frames) == rec.frames_written == 50 + rec.repeats
    assert (frames[0].width, frames[0].height) == (320, 240)
    times = np.array([f.time for f in frames])
    assert np.allclose(np.diff(times), 1 / 30, atol=1e-3)
    assert times[-1] - times[0] == pytest.approx(49 / 25, abs=0.02)
    keys = [f.time for f in frames if f.key_frame]
    assert max(np.diff(keys)) <= 1.0 + 1e-3  # a keyframe (a crash-safe fragment) every second


def test_slow_live_rate_still_gets_a_keyframe_every_second(tmp_path):
    out = tmp_path / "slow.mp4"
    rec = Recorder(out, (160, 120), 2.2)  # a CPU-bound live view at ~2 fps
    for i, img in enumerate(_frames(12, (160, 120))):
        rec.submit(img, i / 2.2)
    rec.close()
    frames = _decode(out)
    assert rec.rate == 3 and len(frames) == rec.frames_written
    keys = [f.time for f in frames if f.key_frame]
    assert max(np.diff(keys)) <= 1.0 + 1e-3
    assert frames[-1].time == pytest.approx(11 / 2.2, abs=0.34)


def test_frames_of_another_size_are_letterboxed(tmp_path):
    out = tmp_path / "rec.mp4"
    rec = Recorder(out, (321, 241), 10)  # odd sizes become even for H.264
    rec.submit(np.full((100, 400, 3), 255, np.uint8), 0.0)
    rec.submit(np.full((240, 320, 3), 255, np.uint8), 0.1)
    rec.close()
    frames = _decode(out)
    assert [(f.width, f.height) for f in frames] == [(320, 240)] * 2
    first = frames[0].to_ndarray(format="rgb24")
    assert first[0].mean() < 40 and first[120].mean() > 200  # black bars above a white band


def test_slow_encoder_drops_frames_instead_of_blocking(tmp_path):
    class SlowSink:
        def __init__(self, *a):
            self.n = 0

        def encode(self, rgb, t):
            time.sleep(0.05)
            self.n += 1

        def close(self):
            pass

    rec = Recorder(tmp_path / "x.mp4", (64, 48), 30, queue_frames=4, sink_factory=SlowSink)
    start = time.monotonic()
    for i, img in enumerate(_frames(60, (64, 48))):
        rec.submit(img, i / 30)
    assert time.monotonic() - start < 0.5  # submit never waits for the encoder
    rec.close()
    assert rec.dropped > 0 and rec.frames_written - rec.repeats + rec.dropped == 60


@pytest.mark.parametrize("name, message", [("a.avi", "must name an .mp4"), ("nope/a.mp4", "does not exist")])
def test_bad_paths_are_one_line_errors(tmp_path, name, message):
    with pytest.raises(EmocamError, match=message):
        Recorder(tmp_path / name, (64, 48), 30)


def test_kill_9_keeps_all_but_the_last_second(tmp_path):
    out = tmp_path / "killed.mp4"
    script = textwrap.dedent(f"""
        import time, numpy as np
        from emocam.live.recorder import Recorder
        rec = Recorder({str(out)!r}, (320, 240), 20)
        t0 = time.monotonic()
        i = 0
        while True:
            img = np.zeros((240, 320, 3), np.uint8); img[:, : (i * 7) % 320] = 255
            rec.submit(img, time.monotonic())
            if i == 0: print("started", flush=True)
            i += 1
            time.sleep(0.05)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    started = time.monotonic()
    time.sleep(3.0)
    recorded = time.monotonic() - started
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # a recording takes its name only when it is finished
    frames = _decode(tmp_path / "killed.partial.mp4")  # the crash-safe fragmented file
    assert frames, "nothing playable after kill -9"
    assert frames[-1].time >= recorded - 1.5
    assert len(frames) >= (recorded - 1.5) * 20 * 0.8
