"""The expression stage: before the style network, change each face's expression on its mesh.

Modes (setting `expression`): one of the 7 emotions (that emotion's FACS edit; neutral = back toward the rest
face), `amplify` (each face's own detected emotion, exaggerated), `mirror` (every face takes the largest face's
expression) and, with `expression_from` set, transfer from a picture's face. An expression is carried as the
face's mesh aligned on its rigid points (Procrustes) to the rest mesh, minus the rest mesh; the edit is the
displacement of the mesh points, turned by the face's pose and scaled by its size, then one smooth warp.
Each face's record says what was applied, or why it was skipped (too small, profile, no mesh).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.expression.align import to_canonical
from emocam.expression.facs import DISPLACEMENTS, MOBILE, REST, TEETH
from emocam.expression.warp import paint_mouth, warp
from emocam.labels import EMOTIONS
from emocam.pipeline.faces import Face
from emocam.pipeline.overlap import started
from emocam.pipeline.mesh import MIN_PRESENCE, FaceMesher, Mesh, MeshTracker, mesh_transform_from_points

MODES = ("off", "amplify", "mirror", *EMOTIONS)
MIN_EYE_DIST = 8.0  # pixels: smaller faces are left alone (the mesh is too coarse to edit)
MAX_YAW = math.radians(50)  # beyond this the face is a profile: its far side is hidden, the edit would smear


@dataclass
class Pose:
    """A face's mesh in the rest frame and the similarity (s, R, t) rest -> frame."""

    mesh: Mesh
    deviation: np.ndarray  # [468, 3] aligned mesh minus the rest mesh (rest units)
    s: float
    r: np.ndarray

    @property
    def yaw(self) -> float:
        return math.asin(float(np.clip(abs(self.r[0, 2]), 0, 1)))

    def to_pixels(self, displacement: np.ndarray) -> np.ndarray:
        """Rest-unit displacements [468, 3] -> frame pixels [468, 2] (turned with the head, scaled to the face)."""
        return self.s * (displacement @ self.r.T)[:, :2]


def pose_of(mesh: Mesh) -> Pose:
    canon, (s, r, _) = to_canonical(mesh.points.astype(np.float64), REST)
    return Pose(mesh, canon - REST, s, r)


def source_expression(path: str, mesher: FaceMesher) -> np.ndarray:
    """The expression (deviation from rest, [468, 3]) of the largest face in the picture at `path`."""
    from emocam.pipeline.faces import FaceDetector

    image = cv2.imread(str(Path(path).expanduser()), cv2.IMREAD_COLOR)
    if image is None:
        raise EmocamError(f"--expression-from {path}: not a readable picture")
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    detector = FaceDetector("full", 0.5, video_mode=False)
    try:
        faces = detector.detect(image)
    finally:
        detector.close()
    for face in sorted(faces, key=lambda f: -f.area):
        mesh = mesher.detect(image, face.box, face.keypoints)
        if mesh.presence >= MIN_PRESENCE:
            return pose_of(mesh).deviation
    raise EmocamError(f"--expression-from {path}: no face found in the picture")


class ExpressionEditor:
    """Edits the faces of a frame; keeps each track's smoothed mesh between frames (video mode)."""

    def __init__(self, mode: str = "off", strength: float = 1.0, source: str = "", video_mode: bool = True) -> None:
        if mode not in MODES:
            raise EmocamError(f"--expression must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode, self.strength, self.video_mode = mode, float(strength), video_mode
        self.mesher = FaceMesher()
        self.source_path = source
        self.source = source_expression(source, self.mesher) if source else None
        self.tracks = MeshTracker()
        self._last: dict[int, Mesh] = {}
        self._prefetch: tuple[np.ndarray, Callable[[], dict[int, Mesh]]] | None = None

    @property
    def active(self) -> bool:
        return self.source is not None or self.mode != "off"

    def reset(self) -> None:
        self._prefetched(None)
        self.tracks.reset()
        self._last.clear()

    def prefetch(self, image: np.ndarray) -> None:
        """Start each tracked face's mesh for `image` on a helper thread (video mode): a tracked face's mesh
        needs only the frame and the track's last mesh, not this frame's detections, so it runs while the
        detector does. `edit` of the same image takes them; the mesher is never used by two threads at once."""
        self._prefetched(None)
        if not self.video_mode or not self._last or not self.active:
            return
        last = dict(self._last)
        self._prefetch = image, started(
            lambda: {tid: self.mesher.mesh(image, mesh_transform_from_points(m.xy)) for tid, m in last.items()})

    def _prefetched(self, image: np.ndarray | None) -> dict[int, Mesh]:
        """The meshes prefetched for `image` (waited for); any other prefetch is waited for and dropped."""
        pending, self._prefetch = self._prefetch, None
        if pending is None:
            return {}
        meshes = pending[1]()
        return meshes if pending[0] is image else {}

    def _mesh(self, image: np.ndarray, face: Face, time: float, prefetched: dict[int, Mesh]) -> Mesh:
        """This frame's mesh of `face`: from its track's last mesh when there is one (one model run, maybe
        prefetched), else from the detector's box; smoothed along the track in video mode."""
        tid = face.track_id if self.video_mode else None
        last = self._last.get(tid) if tid is not None else None
        mesh = prefetched.get(tid) if last is not None else None
        if mesh is None and last is not None:
            mesh = self.mesher.mesh(image, mesh_transform_from_points(last.xy))
        if mesh is None or mesh.presence < MIN_PRESENCE:
            mesh = self.mesher.detect(image, face.box, face.keypoints)
        if tid is not None and mesh.presence >= MIN_PRESENCE:
            self._last[tid] = mesh
            mesh = self.tracks.smooth(tid, mesh, time)
        return mesh

    def _displacement(self, pose: Pose, face: Face, own: str | None, mirror: np.ndarray | None) -> tuple[np.ndarray, str]:
        """Rest-unit displacement for one face and the name of what it applies."""
        if self.source is not None:
            return (self.source - pose.deviation) * MOBILE[:, None], f"from {Path(self.source_path).name}"
        if self.mode == "mirror":
            if mirror is None:
                return np.zeros((468, 3)), "mirror source"
            return (mirror - pose.deviation) * MOBILE[:, None], "mirror"
        target = own if self.mode == "amplify" else self.mode
        if target == "neutral":
            return -pose.deviation * MOBILE[:, None] * 0.8, "neutral"
        return DISPLACEMENTS.get(target or "neutral", np.zeros((468, 3))), target or "none"

    def edit(self, image: np.ndarray, faces: list[Face], time: float,
             own_emotions: list[str | None] | None = None) -> np.ndarray:
        """The frame with every seen face's expression changed; each face's `expression` record filled in.
        `own_emotions` (amplify): each face's detected emotion, in `faces` order."""
        prefetched = self._prefetched(image)
        if not self.active:
            return image
        out = image
        poses: list[tuple[Face, Pose | None, str | None]] = []
        for k, face in enumerate(faces):
            own = own_emotions[k] if own_emotions is not None else None
            if not face.seen:
                face.expression = {"skipped": "not detected this frame"}
                continue
            mesh = self._mesh(image, face, time, prefetched)
            if mesh.presence < MIN_PRESENCE:
                face.expression = {"skipped": "no face mesh"}
                continue
            pose = pose_of(mesh)
            if pose.s < MIN_EYE_DIST:
                face.expression = {"skipped": "too small"}
            elif pose.yaw > MAX_YAW:
                face.expression = {"skipped": "profile"}
            else:
                poses.append((face, pose, own))
        if self.video_mode:
            self.tracks.forget({f.track_id for f in faces if f.track_id is not None})
            self._last = {t: m for t, m in self._last.items() if t in self.tracks.filters or t is None}
        mirror_face = max(poses, key=lambda p: p[0].area)[0] if self.mode == "mirror" and poses else None
        mirror = next((p.deviation for f, p, _ in poses if f is mirror_face), None)
        for face, pose, own in poses:
            if face is mirror_face:
                face.expression = {"applied": "mirror source", "strength": 0.0}
                continue
            disp, name = self._displacement(pose, face, own, mirror)
            if self.strength <= 0 or not np.any(disp):
                face.expression = {"applied": "none", "strength": self.strength}
                continue
            if out is image:
                out = image.copy()
            xy = pose.mesh.xy.astype(np.float64)
            pixels = pose.to_pixels(disp * self.strength)
            patch, roi, share = warp(out, xy, pixels)
            paint_mouth(patch, roi, xy, pixels * share, pose.s, TEETH.get(name, 1.0))
            x0, y0, x1, y1 = roi
            out[y0:y1, x0:x1] = patch
            face.expression = {"applied": name, "strength": round(self.strength, 3)}
            if share < 1:  # the full edit would have folded the picture: it went only this far
                face.expression["limited_to"] = round(self.strength * share, 3)
        return out
