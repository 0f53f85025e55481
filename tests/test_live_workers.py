"""Capture and processing threads: newest-frame mailboxes, pacing, no latency build-up, image sources."""

import queue
import threading
import time
from types import SimpleNamespace

import cv2
import numpy as np

from emocam.live.mailbox import Mailbox
from emocam.live.window import SAMPLE_CLIP
from emocam.live.workers import CaptureWorker, ProcessWorker


def test_mailbox_keeps_the_newest_and_counts_drops():
    box = Mailbox()
    for i in range(5):
        box.put(i)
    assert box.get(timeout=0) == 4 and box.dropped == 4
    assert box.get(timeout=0.01) is None
    threading.Timer(0.05, box.put, args=("late",)).start()
    assert box.get(timeout=2) == "late"
    box.close()
    assert box.get() is None


def _drain(events):
    out = []
    while True:
        try:
            out.append(events.get_nowait())
        except queue.Empty:
            return out


def test_a_file_is_paced_at_its_own_fps():
    box, events = Mailbox(), queue.Queue()
    worker = CaptureWorker(str(SAMPLE_CLIP), box, events)
    worker.start()
    time.sleep(0.5)
    first = worker.frames
    time.sleep(2.0)
    rate = (worker.frames - first) / 2.0
    worker.stop()
    worker.join(timeout=5)
    kinds = [e.kind for e in _drain(events)]
    assert kinds[0] == "opened" and "error" not in kinds
    assert 5 <= rate <= 33  # the clip is 30 fps: never decoded flat out (the lower bound allows a busy CPU)


def test_a_picture_keeps_coming_instead_of_ending(tmp_path):
    picture = tmp_path / "face.png"
    cv2.imwrite(str(picture), np.full((120, 160, 3), 128, np.uint8))
    box, events = Mailbox(), queue.Queue()
    worker = CaptureWorker(str(picture), box, events)
    worker.start()
    times = []
    deadline = time.monotonic() + 4
    while len(times) < 3 and time.monotonic() < deadline:
        frame = box.get(timeout=0.5)
        if frame is not None:
            times.append(frame.time)
    worker.stop()
    assert len(times) == 3 and times == sorted(times) and len(set(times)) == 3
    assert "ended" not in [e.kind for e in _drain(events)]


class SlowPipeline:
    """Takes 150 ms a frame, like a style network on a slow CPU (a test double for emocam.pipeline.pipeline)."""

    devices = {"detect": "cpu"}

    def process(self, image, t):
        time.sleep(0.15)
        return SimpleNamespace(output=255 - image, faces=[], emotion="neutral", timings={"stylize": 150.0})


def test_latency_stays_flat_when_processing_is_slower_than_the_source():
    captured, shown, events = Mailbox(), Mailbox(), queue.Queue()
    capture = CaptureWorker(str(SAMPLE_CLIP), captured, events)
    process = ProcessWorker(captured, shown, events, SlowPipeline)
    process.start()
    capture.start()
    latencies = []
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        item = shown.get(timeout=0.5)
        if item is not None:
            latencies.append(item.latency_ms)
            assert np.array_equal(item.display, 255 - item.raw)
    capture.stop()
    process.stop()
    process.join(timeout=5)
    assert len(latencies) >= 10
    assert max(latencies[-5:]) < 400  # one frame of processing plus a frame of waiting, not seconds
    assert captured.dropped > 2 * len(latencies)  # stale frames were dropped, not queued


def test_a_failing_pipeline_shows_the_raw_video_with_a_warning():
    def broken():
        raise RuntimeError("no models")

    captured, shown, events = Mailbox(), Mailbox(), queue.Queue()
    process = ProcessWorker(captured, shown, events, broken)
    process.start()
    frame = np.zeros((8, 8, 3), np.uint8)
    captured.put(SimpleNamespace(image=frame, time=0.0, index=0, wall=time.monotonic()))
    item = shown.get(timeout=5)
    process.stop()
    assert item is not None and item.display is frame
    warnings = [e.text for e in _drain(events) if e.kind == "warning"]
    assert warnings and "no models" in warnings[0] and "\n" not in warnings[0]
