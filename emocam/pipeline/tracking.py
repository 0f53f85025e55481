"""Stable ids for faces across frames: greedy IoU / distance matching; tracks survive short misses."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emocam.pipeline.faces import Face


@dataclass
class _Track:
    """What the tracker remembers of one face: its id, last box and when it was last detected."""

    track_id: int
    box: tuple[float, float, float, float]
    score: float
    last_seen: float


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _match_score(track: _Track, face: Face) -> float:
    """IoU, or for fast motion a score from how close the centres are relative to the face size."""
    overlap = iou(track.box, face.box)
    if overlap > 0:
        return 1.0 + overlap
    tx, ty = (track.box[0] + track.box[2]) / 2, (track.box[1] + track.box[3]) / 2
    fx, fy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    size = max(track.box[2] - track.box[0], face.box[2] - face.box[0])
    distance = np.hypot(tx - fx, ty - fy) / max(size, 1.0)
    return 1.0 - distance if distance < 1.0 else 0.0


class Tracker:
    """Gives each detected face a track id; a track missed for longer than `max_miss_s` seconds expires."""

    def __init__(self, max_miss_s: float = 0.7) -> None:
        self.max_miss_s = max_miss_s
        self._tracks: list[_Track] = []
        self._next_id = 1

    def update(self, faces: list[Face], time: float) -> list[Face]:
        """Sets `track_id` on this frame's faces and returns them plus one unseen record per coasting track."""
        pairs = sorted(
            ((_match_score(t, f), ti, fi) for ti, t in enumerate(self._tracks) for fi, f in enumerate(faces)),
            reverse=True,
        )
        matched: dict[int, int] = {}  # track index -> face index
        for score, ti, fi in pairs:
            if score > 0 and ti not in matched and fi not in matched.values():
                matched[ti] = fi
        for ti, fi in matched.items():
            track, face = self._tracks[ti], faces[fi]
            track.box, track.score, track.last_seen = face.box, face.score, time
            face.track_id, face.seen = track.track_id, True
        for fi, face in enumerate(faces):
            if fi not in matched.values():
                self._tracks.append(_Track(self._next_id, face.box, face.score, time))
                face.track_id, face.seen = self._next_id, True
                self._next_id += 1
        self._tracks = [t for t in self._tracks if time - t.last_seen <= self.max_miss_s]
        coasting = [Face(t.box, t.score, t.track_id, seen=False) for t in self._tracks if t.last_seen != time]
        return sorted(list(faces) + coasting, key=lambda f: f.track_id)  # oldest track first

    def reset(self) -> None:
        self._tracks.clear()

