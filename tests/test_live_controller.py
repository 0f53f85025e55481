"""The live processing side without a window: paced frames, newest-frame loop, the settings channel,
raw frames when the pipeline cannot be built, and the outputs' state machines."""

import queue
import threading
import time
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from emocam.live.capture import open_live_source, paced_frames
from emocam.live.controller import Controller
from emocam.live.mailbox import Mailbox
from emocam.live.outputs import FAILED, OFF, ON, WAITING, RecordingOutput
from emocam.live.processing import LiveStep
from emocam.io.sources import SAMPLE_CLIP
from emocam.settings import Settings


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


def _count_for(frames, seconds):
    deadline, n = time.monotonic() + seconds, 0
    for _ in frames:
        n += 1
        if time.monotonic() > deadline:
            return n


def test_a_file_is_paced_at_its_own_fps_and_loops():
    source = open_live_source(str(SAMPLE_CLIP))
    frames = paced_frames(source, threading.Event(), threading.Event())
    _count_for(frames, 0.3)
    rate = _count_for(frames, 2.0) / 2.0
    assert 5 <= rate <= 33  # the clip is 30 fps: never decoded flat out (the lower bound allows a busy CPU)
    times = [next(frames).time for _ in range(3)]
    assert times == sorted(times)
    source.close()


def test_a_paused_file_holds_its_frames_back():
    source = open_live_source(str(SAMPLE_CLIP))
    paused, stop = threading.Event(), threading.Event()
    frames = paced_frames(source, paused, stop)
    next(frames)
    paused.set()
    got = []
    reader = threading.Thread(target=lambda: got.extend(frames), daemon=True)
    reader.start()
    time.sleep(1.0)
    assert got == []
    stop.set()
    paused.clear()
    reader.join(timeout=5)
    source.close()


def test_a_picture_keeps_coming_instead_of_ending(tmp_path):
    picture = tmp_path / "face.png"
    cv2.imwrite(str(picture), np.full((120, 160, 3), 128, np.uint8))
    source = open_live_source(str(picture))
    frames = paced_frames(source, threading.Event(), threading.Event())
    times = [next(frames).time for _ in range(3)]
    assert times == sorted(times) and len(set(times)) == 3


class SlowPipeline:
    """Takes 50 + 100 ms a frame (analysis, then styling), like a style network on a slow CPU; counts the
    settings it is given."""

    devices = {"detect": "cpu"}

    def __init__(self, settings, video_mode=True):
        self.settings, self.applied = settings, []

    def analyse(self, image, t):
        time.sleep(0.05)
        return image

    def finish(self, image):
        time.sleep(0.1)
        return SimpleNamespace(output=255 - image, faces=[], emotion="neutral", timings={"stylize": 100.0})

    def apply(self, new):
        self.applied.append(new)
        self.settings = new

    def reset(self):
        pass

    def close(self):
        pass


def _frames_for(controller, seconds):
    out, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        item = controller.view.take()
        if item is not None:
            out.append(item)
        time.sleep(0.01)
    return out


def test_latency_stays_flat_and_settings_are_applied_once(tmp_path):
    controller = Controller(Settings.for_surface("live"), make_pipeline=SlowPipeline)
    controller.start_source(str(SAMPLE_CLIP))
    try:
        shown = _frames_for(controller, 2.0)
        new = Settings.for_surface("live")
        new.strength = 0.5
        controller.apply(new)
        shown += _frames_for(controller, 2.0)
        pipeline = controller.step.pipeline
    finally:
        controller.shutdown()
    assert len(shown) >= 10
    assert all(np.array_equal(item.display, 255 - item.raw) for item in shown)
    assert max(item.latency_ms for item in shown[-5:]) < 400  # one frame of processing and waiting, not seconds
    assert [s.strength for s in pipeline.applied] == [0.5]  # once, when it changed; not per frame


def test_a_failing_pipeline_shows_the_raw_video_with_a_warning():
    def broken(settings, video_mode=True):
        raise RuntimeError("no models")

    controller = Controller(Settings.for_surface("live"), make_pipeline=broken)
    controller.start_source(str(SAMPLE_CLIP))
    try:
        shown = _frames_for(controller, 1.5)
    finally:
        controller.shutdown()
    assert shown and all(item.display is item.raw and item.result is None for item in shown)
    warnings = [e.text for e in controller.events() if e.kind == "warning"]
    assert warnings and "no models" in warnings[0] and "\n" not in warnings[0]


def _item(wall, size=(64, 48)):
    image = np.full((size[1], size[0], 3), 120, np.uint8)
    return SimpleNamespace(image=image, frame=SimpleNamespace(wall=wall))


def test_recording_waits_for_a_measured_rate_then_records(tmp_path):
    lines = []
    recording = RecordingOutput(announce=lines.append)
    recording.start(tmp_path / "rec.mp4")
    assert recording.state == WAITING
    for i in range(10):  # 0.45 s of frames at 20 fps: not yet a second
        recording.write(_item(100 + i * 0.05))
    assert recording.state == WAITING and recording.recorder is None
    for i in range(10, 40):
        recording.write(_item(100 + i * 0.05))
    assert recording.state == ON and lines == [f"emocam: recording to {tmp_path / 'rec.mp4'}"]
    assert recording.recorder.rate == 25  # a little above the measured 20 fps
    recording.stop()
    assert recording.state == OFF and recording.status.startswith("Saved")


def test_recording_to_a_bad_place_fails_with_the_reason(tmp_path):
    recording = RecordingOutput(announce=lambda line: None)
    recording.start(tmp_path / "gone" / "rec.mp4")
    for i in range(30):
        recording.write(_item(i * 0.05))
    assert recording.state == FAILED and "does not exist" in recording.status
    recording.stop()
    assert recording.state == FAILED  # the reason stays until the next start


@pytest.fixture
def events():
    return queue.Queue()


def test_the_step_keeps_only_the_newest_settings(events):
    step = LiveStep(Settings.for_surface("live"), events, make_pipeline=SlowPipeline)
    frame = SimpleNamespace(image=np.zeros((8, 8, 3), np.uint8), time=0.0, wall=time.monotonic())
    step(frame)
    for strength in (0.2, 0.4, 0.6):
        new = Settings.for_surface("live")
        new.strength = strength
        step.send(new)
    step(frame)
    assert [s.strength for s in step.pipeline.applied] == [0.6]


def test_a_long_running_loop_keeps_only_the_newest_timings():
    """The live view's loop runs for hours: its per-frame timings must not grow without bound."""
    from emocam.pipeline.loop import Processed, run_loop
    from emocam.io.sources import Frame

    image = np.zeros((4, 4, 3), np.uint8)
    frames = (Frame(image, i / 30, i) for i in range(50))
    stats = run_loop(frames, lambda f: Processed(f, None, f.image), [], keep_last=10)
    assert stats.frames == 50 and len(stats.step_ms) == len(stats.read_ms) == len(stats.write_ms) == 10


def test_the_step_styles_one_frame_while_it_analyses_the_next(events, monkeypatch):
    """On real pixels: while overlapping pays, the styler thread styles frame N while the processing thread
    analyses frame N+1; while it does not, each frame is styled before the next is taken. Either way the frames
    come out in order, the same as one after the other."""
    import av
    from rendezvous import Rendezvous

    from emocam.live.capture import Captured
    from emocam.pipeline.pipeline import Pipeline

    with av.open(str(SAMPLE_CLIP)) as container:
        images = [f.to_ndarray(format="rgb24") for _, f in zip(range(8), container.decode(video=0))]
    frames = [Captured(image, i / 30, i, wall=time.monotonic()) for i, image in enumerate(images)]
    settings = Settings.for_surface("live")
    settings.process_size = 64
    serial = Pipeline(settings.copy(), video_mode=True)
    try:
        alone = [serial.process(image, i / 30).output for i, image in enumerate(images)]
    finally:
        serial.close()

    def run(overlap: bool) -> tuple[list, list[bool]]:
        point = Rendezvous()  # met only by an analysis and a styling running at once
        meet, met = point.meet, point.met

        pipeline = Pipeline(settings.copy(), video_mode=True)
        analyse, finish = pipeline.analyse, pipeline.finish
        if overlap:  # analysing frame N (N >= 1) must meet the styling of frame N - 1
            pipeline.analyse = lambda image, t: (t > 0 and meet(), analyse(image, t))[1]
            pipeline.finish = lambda state: (state.time < frames[-1].time and meet(), finish(state))[1]
        monkeypatch.setattr(LiveStep, "overlaps", property(lambda self: overlap))
        step = LiveStep(settings, events, make_pipeline=lambda *args, **kwargs: pipeline)
        try:
            futures = []
            for frame in frames:
                futures.append(step(frame))
                if not overlap:  # styled before the step returned
                    assert futures[-1].done()
            return [f.result() for f in futures], met
        finally:
            step.close()

    for overlap in (True, False):
        handed, met = run(overlap)
        assert [item.frame.index for item in handed] == list(range(8))
        assert all(np.array_equal(item.image, out) for item, out in zip(handed, alone))
        assert [item.overlapped for item in handed] == [overlap] * 8
        assert met == [True] * 2 * 7 * overlap  # each analysis of frames 1-7 ran while the one before was styled


def test_overlapping_pays_only_while_the_styling_is_short():
    """Overlap adds the styler's wait to each frame's latency: worth it only while that wait (styling minus
    analysis) is shorter than the analysis itself. Measured: 320 px with the expression edit, 22 ms styling and
    12-15 ms analysis (overlap: 28 fps instead of 27); full size, 48 ms and 8-14 ms (it would add ~40 ms)."""
    step = LiveStep(Settings.for_surface("live"), queue.Queue())
    try:
        assert not step.overlaps  # nothing measured yet
        step._analysis_s, step._styling_s = 0.013, 0.022
        assert step.overlaps
        step._analysis_s, step._styling_s = 0.010, 0.048
        assert not step.overlaps
    finally:
        step.close()
