"""Emotion smoothing is measured in seconds: spikes never switch, sustained changes do, at any frame rate."""
from __future__ import annotations

import numpy as np
import pytest

from emocam.labels import EMOTIONS
from emocam.pipeline.faces import Face
from emocam.pipeline.smoothing import EmotionSmoother, FaceSmoothing, FrameEmotion

HAPPY, ANGRY = EMOTIONS.index("happy"), EMOTIONS.index("angry")


def one_hot(index: int, p: float = 0.9) -> np.ndarray:
    probs = np.full(7, (1 - p) / 6)
    probs[index] = p
    return probs


def switch_time(fps: float, change_at: float = 2.0, spike_frames: int = 0) -> float | None:
    """Feed happy, then angry from `change_at` on (or only a spike of a few frames); when does it switch?"""
    smoother = EmotionSmoother(time_constant_s=0.4, dwell_s=0.4, margin=0.1)
    for i in range(int(5 * fps)):
        t = i / fps
        angry = t >= change_at and (spike_frames == 0 or t < change_at + spike_frames / fps)
        if smoother.update(one_hot(ANGRY if angry else HAPPY), t) == ANGRY:
            return t - change_at
    return None


@pytest.mark.parametrize("fps", [15, 30, 60])
def test_one_frame_spike_never_switches(fps):
    assert switch_time(fps, spike_frames=1) is None


@pytest.mark.parametrize("fps", [15, 60])
def test_sustained_change_switches_after_the_dwell_time(fps):
    delay = switch_time(fps)
    assert delay is not None
    assert 0.4 <= delay <= 0.4 + 3 * 0.4  # not before the dwell time; soon after it


def test_switch_time_is_the_same_at_15_and_60_fps():
    assert switch_time(15) == pytest.approx(switch_time(60), abs=1 / 15 + 1e-9)


def test_no_face_holds_then_falls_back_to_neutral():
    frame = FrameEmotion(hold_s=1.0)
    face = smoothed_face(10.0, one_hot(HAPPY), HAPPY)
    assert frame.update([face], 0.0) == "happy"
    assert frame.update([], 0.9) == "happy"
    assert frame.update([], 1.1) == "neutral"


@pytest.mark.parametrize(
    "policy, expected", [("largest", "happy"), ("confident", "angry"), ("majority", "sad")]
)
def test_frame_policies(policy, expected):
    sad = EMOTIONS.index("sad")
    faces = [
        smoothed_face(30.0, one_hot(HAPPY, 0.5), HAPPY),
        smoothed_face(10.0, one_hot(ANGRY, 0.99), ANGRY),
        smoothed_face(np.sqrt(200.0), one_hot(sad, 0.6), sad),
        smoothed_face(np.sqrt(150.0), one_hot(sad, 0.6), sad),
    ]
    assert FrameEmotion(policy).update(faces, 0.0) == expected


def smoothed_face(side: float, probs: np.ndarray, emotion: int) -> Face:
    """A face record as the smoothing stage leaves it: a square box of `side` px."""
    return Face((0.0, 0.0, side, side), 0.9, track_id=1, smoothed=probs, emotion=EMOTIONS[emotion])


def test_smoothing_stage_owns_one_smoother_per_track_and_drops_ended_tracks():
    stage = FaceSmoothing(time_constant_s=0.0, dwell_s=0.0, margin=0.0)
    a = Face((0, 0, 10, 10), 0.9, track_id=1, probs=one_hot(HAPPY))
    b = Face((20, 0, 30, 10), 0.9, track_id=2, probs=one_hot(ANGRY))
    assert [f.emotion for f in stage.update([a, b], 0.0)] == ["happy", "angry"]
    coasting = Face((0, 0, 10, 10), 0.9, track_id=1, seen=False)  # no new probabilities: keeps its emotion
    assert [(f.track_id, f.emotion) for f in stage.update([coasting], 0.1)] == [(1, "happy")]
    fresh = Face((20, 0, 30, 10), 0.9, track_id=2, probs=one_hot(EMOTIONS.index("sad")))
    assert [f.emotion for f in stage.update([fresh], 0.2)] == ["sad"]  # track 2's old state was dropped
