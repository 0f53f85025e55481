"""`emocam live` as a real process: --record survives SIGKILL; --duration closes it and --screenshot grabs it."""

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2

from emocam.io.sources import SAMPLE_CLIP

RECORD_SECONDS = 6.0


def _wait_for_line(proc, prefix, timeout):
    """Read stdout lines until one starts with `prefix`; returns it (fails on timeout or exit)."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        if not selector.select(timeout=0.5):
            continue
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith(prefix):
            return line
    raise AssertionError(f"no {prefix!r} line; output: {''.join(seen)[-2000:]}")


def _start(tmp_path, *options, env: dict[str, str] | None = None):
    config = tmp_path / "config"
    config.mkdir()
    (config / "live.json").write_text(json.dumps({"process_size": 256, "device": "cpu"}))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", EMOCAM_CONFIG_DIR=str(config), PYTHONUNBUFFERED="1",
               **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "emocam", "live", "--source", str(SAMPLE_CLIP), *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=Path(__file__).parent.parent,
    )


def test_kill_9_keeps_the_recording_playable(tmp_path):
    out = tmp_path / "live.mp4"
    proc = _start(tmp_path, "--record", str(out))
    try:
        _wait_for_line(proc, "emocam: recording to", timeout=240)  # a loaded machine compiles slowly
        started = time.monotonic()
        time.sleep(RECORD_SECONDS)
        recorded = time.monotonic() - started
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # the recording takes its name only when it is finished
    with av.open(str(tmp_path / "live.partial.mp4")) as container:
        frames = list(container.decode(video=0))
    assert frames, "nothing playable after kill -9"
    assert (frames[0].width, frames[0].height) == (640, 480)
    assert frames[-1].time - frames[0].time >= recorded - 1.5
    assert frames[0].to_ndarray(format="rgb24").std() > 20


def test_duration_closes_the_window_after_a_screenshot(tmp_path):
    shot = tmp_path / "window.png"
    started = time.monotonic()
    proc = _start(tmp_path, "--duration", "8", "--screenshot", str(shot))
    output, _ = proc.communicate(timeout=150)
    assert proc.returncode == 0, output[-2000:]
    assert time.monotonic() - started >= 8
    assert "Traceback" not in output
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[1] >= 700 and image.shape[0] >= 500
    video = image[150:350, 20:300]
    assert video.std() > 20  # the video area (left) is not blank


def test_closing_while_a_pack_loads_waits_for_it(tmp_path):
    """Closed 0.3 s in, while the seven-network pack still compiles on a busy machine (an empty model cache, four
    busy processes): the window waits for the load and exits 0. It used to exit while OpenVINO's threads were
    compiling and abort ("terminate called ...", exit 134) two times in three under this load."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(4)]
    try:
        env_cache = {"EMOCAM_CACHE_DIR": str(tmp_path / "cache")}
        proc = _start(tmp_path, "--duration", "0.3", "--pack", "johnson-distilled", env=env_cache)
        output, _ = proc.communicate(timeout=180)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    assert proc.returncode == 0, output[-2000:]
    assert "Traceback" not in output and "terminate called" not in output
