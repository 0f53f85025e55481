"""Emotion smoothing in seconds, not frames: per-track EMA + hysteresis, and the frame's emotion policy."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from emocam.labels import EMOTIONS, NEUTRAL
from emocam.pipeline.faces import Face

POLICIES = ("largest", "confident", "majority")


class EmotionSmoother:
    """EMA of probabilities with a time constant, plus hysteresis on the dominant emotion.

    The dominant emotion changes only when another one leads it by `margin` in the smoothed
    probabilities, continuously for `dwell_s` seconds; so a one-frame spike never switches it,
    and the behaviour is the same at 15 and 60 fps.
    """

    def __init__(self, time_constant_s: float = 0.4, dwell_s: float = 0.4, margin: float = 0.1) -> None:
        self.time_constant_s = time_constant_s
        self.dwell_s = dwell_s
        self.margin = margin
        self.probs: np.ndarray | None = None
        self.dominant = NEUTRAL
        self._candidate: int | None = None
        self._candidate_since = 0.0
        self._last_time = 0.0

    def update(self, probs: np.ndarray, time: float) -> int:
        """Fold in one observation at `time` seconds; returns the dominant emotion index."""
        probs = np.asarray(probs, dtype=np.float64)
        if self.probs is None:
            self.probs, self.dominant = probs.copy(), int(np.argmax(probs))
        else:
            dt = max(0.0, time - self._last_time)
            alpha = 1.0 - math.exp(-dt / self.time_constant_s) if self.time_constant_s > 0 else 1.0
            self.probs += alpha * (probs - self.probs)
        self._last_time = time
        leader = int(np.argmax(self.probs))
        if leader != self.dominant and self.probs[leader] - self.probs[self.dominant] >= self.margin:
            if self._candidate != leader:
                self._candidate, self._candidate_since = leader, time
            if time - self._candidate_since >= self.dwell_s:
                self.dominant, self._candidate = leader, None
        else:
            self._candidate = None
        return self.dominant


class FaceSmoothing:
    """The smoothing stage: one `EmotionSmoother` per track id, owned here and dropped when its track ends."""

    def __init__(self, time_constant_s: float = 0.4, dwell_s: float = 0.4, margin: float = 0.1) -> None:
        self.params = {"time_constant_s": time_constant_s, "dwell_s": dwell_s, "margin": margin}
        self._smoothers: dict[int, EmotionSmoother] = {}

    def configure(self, time_constant_s: float, dwell_s: float, margin: float) -> None:
        """New parameters for every track, from now on."""
        self.params = {"time_constant_s": time_constant_s, "dwell_s": dwell_s, "margin": margin}
        for smoother in self._smoothers.values():
            smoother.time_constant_s, smoother.dwell_s, smoother.margin = time_constant_s, dwell_s, margin

    def update(self, faces: list[Face], time: float) -> list[Face]:
        """Folds each classified face into its track's smoother; returns the faces that have an emotion yet."""
        self._smoothers = {f.track_id: s for f in faces if (s := self._smoothers.get(f.track_id))}
        for face in faces:
            if face.probs is not None:
                smoother = self._smoothers.setdefault(face.track_id, EmotionSmoother(**self.params))
                smoother.update(face.probs, time)
            smoother = self._smoothers.get(face.track_id)
            if smoother is not None:
                face.smoothed, face.emotion = smoother.probs.astype(np.float32), EMOTIONS[smoother.dominant]
        return [f for f in faces if f.emotion is not None]

    def reset(self) -> None:
        self._smoothers.clear()


class FrameEmotion:
    """Picks the frame's emotion from its faces; with no face, holds the last one, then falls back to neutral."""

    def __init__(self, policy: str = "largest", hold_s: float = 1.0) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}; use one of {', '.join(POLICIES)}")
        self.policy = policy
        self.hold_s = hold_s
        self.emotion = EMOTIONS[NEUTRAL]
        self._last_face_time: float | None = None

    def update(self, faces: list[Face], time: float) -> str:
        """The frame's emotion from its smoothed faces at `time` seconds."""
        if faces:
            self.emotion = self._choose(faces)
            self._last_face_time = time
        elif self._last_face_time is None or time - self._last_face_time > self.hold_s:
            self.emotion = EMOTIONS[NEUTRAL]
        return self.emotion

    def _choose(self, faces: list[Face]) -> str:
        if self.policy == "largest":
            return max(faces, key=lambda f: f.area).emotion
        if self.policy == "confident":
            return max(faces, key=lambda f: float(f.smoothed[EMOTIONS.index(f.emotion)])).emotion
        votes = Counter(f.emotion for f in faces)
        best = max(votes.values())
        tied = {emotion for emotion, n in votes.items() if n == best}
        return max((f for f in faces if f.emotion in tied), key=lambda f: f.area).emotion
