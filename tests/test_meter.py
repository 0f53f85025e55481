"""The frame-rate meter that the HUD shows and a waiting recording needs before it starts."""

from emocam.live.meter import FpsMeter


def test_measures_a_camera_rate():
    meter = FpsMeter()
    for k in range(61):
        meter.tick(k / 30)
    assert meter.ready()
    assert abs(meter.fps(2.0) - 30) < 1


def test_a_source_slower_than_a_frame_a_second_is_still_measured():
    """On an overloaded machine frames can come 1.5 s apart: the recording must still start (it waits for ready)."""
    meter = FpsMeter(window_s=2.0)
    for k in range(3):
        meter.tick(1.5 * k)
    assert meter.ready()
    assert abs(meter.fps(3.0) - 1 / 1.5) < 0.01


def test_a_stopped_source_decays_towards_zero():
    meter = FpsMeter()
    for k in range(31):
        meter.tick(k / 30)
    assert meter.fps(11.0) < 0.3
