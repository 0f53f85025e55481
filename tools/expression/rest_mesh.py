"""Make the rest (neutral) face mesh that expression edits start from: the mean of the real neutral photos' meshes,
aligned on the rigid points, frontalised, made left-right symmetric and scaled to an eye distance of 1.

    python -m tools.expression.rest_mesh        # writes emocam/expression/rest_data.py
"""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from emocam.expression.align import RIGID, similarity

OUT = Path(__file__).resolve().parents[2] / "emocam" / "expression" / "rest_data.py"


def neutral_meshes() -> list[np.ndarray]:
    """Meshes [468, 3] of the neutral photos (the face nearest the listed centre)."""
    from emocam.pipeline.faces import FaceDetector
    from emocam.pipeline.mesh import FaceMesher
    from tools.expression.faces import labelled_photos

    detector, mesher, out = FaceDetector("full", 0.3, video_mode=False), FaceMesher(), []
    try:
        for _, image, (cx, cy) in labelled_photos("neutral"):
            for f in detector.detect(image):
                if f.box[0] <= cx <= f.box[2] and f.box[1] <= cy <= f.box[3]:
                    m = mesher.detect(image, f.box, f.keypoints)
                    if m.presence > 0.5:
                        out.append(m.points.astype(np.float64))
    finally:
        detector.close()
    return out


def frontal(mean: np.ndarray) -> np.ndarray:
    """Rotate/scale/centre: eye line along x, forehead->chin along y, eye centres' midpoint at 0, eye distance 1."""
    le, re = mean[[33, 133]].mean(0), mean[[263, 362]].mean(0)
    x = (re - le) / np.linalg.norm(re - le)
    y = mean[152] - mean[10]
    y = y - x * (y @ x)
    y /= np.linalg.norm(y)
    r = np.stack([x, y, np.cross(x, y)])
    return (mean - (le + re) / 2) @ r.T / np.linalg.norm(re - le)


def symmetric(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the mesh averaged with its mirror image, the mirror index map) - the map by nearest neighbours."""
    flipped = m * [-1, 1, 1]
    d = ((flipped[:, None, :2] - m[None, :, :2]) ** 2).sum(-1)
    mirror = d.argmin(1)
    return (m + flipped[mirror]) / 2, mirror


def main() -> int:
    meshes = neutral_meshes()
    ref = meshes[0]
    for _ in range(3):
        aligned = []
        for p in meshes:
            s, r, t = similarity(p[RIGID], ref[RIGID])
            aligned.append(s * p @ r.T + t)
        ref = np.mean(aligned, 0)
    rest, mirror = symmetric(frontal(ref))
    blob = base64.b64encode(rest.astype("<f4").tobytes()).decode()
    OUT.write_text(
        '"""The rest face mesh [468, 3] (eye distance 1, eyes\' midpoint at 0, x right, y down), written by\n'
        f'`python -m tools.expression.rest_mesh` from {len(meshes)} real neutral photos; and its mirror map."""\n'
        f"REST_F32_B64 = (\n" + "".join(f'    "{blob[i:i + 100]}"\n' for i in range(0, len(blob), 100)) + ")\n"
        f"MIRROR = {mirror.tolist()}\n")
    print(f"rest mesh from {len(meshes)} neutral faces -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
