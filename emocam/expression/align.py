"""Similarity alignment (Umeyama/Procrustes) of face meshes, on the points that expressions do not move."""
from __future__ import annotations

import numpy as np

# forehead, nose bridge and tip, eye corners, temples and upper face outline: still under every expression
RIGID = np.array([10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 362, 263, 234, 454, 127, 356, 93, 323,
                  109, 338, 67, 297, 103, 332, 54, 284, 21, 251, 162, 389])


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(s, R, t) with dst ~ s * src @ R.T + t in the least-squares sense (Umeyama 1991), no reflection."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(len(sig))
    d[-1] = np.sign(np.linalg.det(u @ vt)) or 1.0
    r = u @ np.diag(d) @ vt
    var = (a ** 2).sum() / len(src)
    s = float((sig * d).sum() / var) if var > 0 else 1.0
    return s, r, mu_d - s * mu_s @ r.T


def to_canonical(points: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, tuple[float, np.ndarray, np.ndarray]]:
    """`points` [468, 3] mapped into the rest mesh's frame by the similarity fitted on the rigid points;
    also returns (s, R, t) of canonical -> frame."""
    s, r, t = similarity(rest[RIGID], points[RIGID])
    return (points - t) @ r / s, (s, r, t)
