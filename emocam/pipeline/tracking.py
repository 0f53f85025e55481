"""Stable ids for faces across frames: greedy IoU / distance matching; tracks survive short misses."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emocam.pipeline.faces import Face


@dataclass
class Track:
    """One face followed over time."""

    track_id: int
    box: tuple[float, float, float, float]
    score: float
    first_seen: float
    last_seen: float
    seen_now: bool = True
    hits: int = 1
    state: dict = field(default_factory=dict)  # per-track data owned by later stages (e.g. emotion smoothing)

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _match_score(track: Track, face: Face) -> float:
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
    """Keeps tracks of faces; a track missed for longer than `max_miss_s` seconds expires."""

    def __init__(self, max_miss_s: float = 0.7) -> None:
        self.max_miss_s = max_miss_s
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, faces: list[Face], time: float) -> list[Track]:
        """Match this frame's faces to tracks; returns the live tracks (seen now or recently)."""
        pairs = sorted(
            ((_match_score(t, f), ti, fi) for ti, t in enumerate(self.tracks) for fi, f in enumerate(faces)),
            reverse=True,
        )
        used_tracks, used_faces = set(), set()
        for score, ti, fi in pairs:
            if score <= 0 or ti in used_tracks or fi in used_faces:
                continue
            used_tracks.add(ti)
            used_faces.add(fi)
            track, face = self.tracks[ti], faces[fi]
            track.box, track.score, track.last_seen, track.seen_now = face.box, face.score, time, True
            track.hits += 1
        for ti, track in enumerate(self.tracks):
            if ti not in used_tracks:
                track.seen_now = False
        for fi, face in enumerate(faces):
            if fi not in used_faces:
                self.tracks.append(Track(self._next_id, face.box, face.score, time, time))
                self._next_id += 1
        self.tracks = [t for t in self.tracks if time - t.last_seen <= self.max_miss_s]
        return list(self.tracks)

    def reset(self) -> None:
        self.tracks.clear()
