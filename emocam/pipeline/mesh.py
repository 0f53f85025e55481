"""A 468-point face mesh per face: MediaPipe's face_landmark model (ONNX conversion) on a rotated face crop,
smoothed per track with a One Euro filter so that edits made from it do not jitter.

The landmark model takes a 192x192 RGB crop (0..1) centred on the face, upright, 1.5x the detector's box
(MediaPipe's own ROI for this model); it gives 468 (x, y, z) points in crop pixels and a face-presence logit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.modelstore.manifest import find_model
from emocam.runtime import load_network

MESH_MODEL = "face_landmark.onnx"
CROP = 192
ROI_SCALE = 1.5  # MediaPipe's detection -> landmark ROI scale
MIN_PRESENCE = 0.5


@dataclass
class Mesh:
    """One face's mesh: `points` [468, 3] in frame pixels (z in the same unit, larger = farther), `presence` 0..1."""

    points: np.ndarray
    presence: float

    @property
    def xy(self) -> np.ndarray:
        return self.points[:, :2]


def crop_transform(box: tuple[float, float, float, float], keypoints: np.ndarray | None,
                   scale: float = ROI_SCALE) -> np.ndarray:
    """The 2x3 affine from crop pixels to frame pixels: square, `scale` x the box, rolled like the eyes."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side = max(x1 - x0, y1 - y0) * scale
    angle = 0.0
    if keypoints is not None and len(keypoints) >= 2:
        (ax, ay), (bx, by) = keypoints[0], keypoints[1]  # the eyes, image-left first
        angle = math.atan2(by - ay, bx - ax)
    c, s = math.cos(angle) * side / CROP, math.sin(angle) * side / CROP
    # frame = R * (u - CROP/2) * side/CROP + centre
    return np.array([[c, -s, cx - c * CROP / 2 + s * CROP / 2],
                     [s, c, cy - s * CROP / 2 - c * CROP / 2]], np.float64)


def mesh_transform_from_points(xy: np.ndarray) -> np.ndarray:
    """The crop transform for the next frame from this frame's mesh (MediaPipe tracks the same way): the mesh's
    box and its eye line, which follow the face more closely than the detector's box."""
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    eyes = np.array([xy[33], xy[263]])  # outer eye corners, image-left first
    if eyes[0, 0] > eyes[1, 0]:
        eyes = eyes[::-1]
    return crop_transform((x0, y0, x1, y1), eyes, scale=ROI_SCALE)


def load_mesh_network(device: str = "cpu", threads: int | None = 1):
    """The face mesh network where the chooser plans it (OpenVINO fp32 on a CPU that has it); onnxruntime fp32
    when that runtime cannot compile it (`ran` says which ran)."""
    path = find_model(MESH_MODEL)
    try:
        return load_network(path, device, "fp32", stage="mesh", threads=threads)
    except EmocamError:
        if device != "cpu":
            raise
        return load_network(path, "cpu-onnxruntime", "fp32", stage="mesh", threads=threads)


class FaceMesher:
    """Runs the face landmark ONNX on face boxes; one call per face (the model's batch is fixed at 1)."""

    def __init__(self, device: str = "cpu", threads: int | None = 1) -> None:
        self.network = load_mesh_network(device, threads)
        self.device = str(self.network.ran)
        self.input_name = self.network.inputs[0].name
        sizes = [int(np.prod([d for d in o.shape if isinstance(d, int)])) for o in self.network.outputs]
        self._points = int(np.argmax(sizes))  # the 468x3 points; the smallest output is the face flag
        self._flag = int(np.argmin(sizes))

    def run_crop(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """(468x3 points in crop pixels, presence 0..1) for a 192x192 RGB uint8 crop."""
        x = (crop.astype(np.float32) * (1 / 255.0))[None]
        outputs = self.network.run({self.input_name: x})
        points, flag = outputs[self._points], outputs[self._flag]
        return points.reshape(-1, 3), float(1 / (1 + math.exp(-float(np.ravel(flag)[0]))))

    def mesh(self, image: np.ndarray, transform: np.ndarray) -> Mesh:
        """The mesh of the face that `transform` (crop -> frame) frames."""
        crop = cv2.warpAffine(image, transform, (CROP, CROP), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        local, presence = self.run_crop(crop)
        xy = local[:, :2] @ transform[:, :2].T + transform[:, 2]
        scale = math.hypot(transform[0, 0], transform[1, 0])
        return Mesh(np.column_stack([xy, local[:, 2] * scale]).astype(np.float32), presence)

    def detect(self, image: np.ndarray, box: tuple[float, float, float, float],
               keypoints: np.ndarray | None = None) -> Mesh:
        """The mesh of the face in `box` (the detector's keypoints give its roll), refined once from its own
        points so that a loose or shifted detector box still gives a centred crop."""
        first = self.mesh(image, crop_transform(box, keypoints))
        return self.mesh(image, mesh_transform_from_points(first.xy)) if first.presence >= MIN_PRESENCE else first


class OneEuro:
    """One Euro filter (Casiez et al. 2012) over an array: steady when still, quick when moving.

    `min_cutoff` in Hz; `beta` per (pixel per second), so callers scale it by the face size."""

    def __init__(self, min_cutoff: float = 1.5, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.t: float | None = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        if self.x is None or self.t is None or t <= self.t:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), t
            return x
        dt = t - self.t
        dx = (x - self.x) / dt
        self.dx = self.dx + self._alpha(self.d_cutoff, dt) * (dx - self.dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self.dx)
        self.x = self.x + self._alpha(cutoff, dt) * (x - self.x)
        self.t = t
        return self.x


class MeshTracker:
    """One filtered mesh per track id; the filter's speed term is scaled by the face size (pixels differ by face)."""

    def __init__(self) -> None:
        self.filters: dict[int, OneEuro] = {}

    def smooth(self, track_id: int | None, mesh: Mesh, time: float) -> Mesh:
        if track_id is None:
            return mesh
        size = float(np.ptp(mesh.xy[:, 0])) or 1.0
        f = self.filters.setdefault(track_id, OneEuro())
        f.beta = 8.0 / size  # a face moving one face-width per second is followed with ~9 Hz cutoff
        return Mesh(f(mesh.points, time).astype(np.float32), mesh.presence)

    def forget(self, keep: set[int]) -> None:
        for tid in list(self.filters):
            if tid not in keep:
                del self.filters[tid]

    def reset(self) -> None:
        self.filters.clear()
