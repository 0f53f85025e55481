"""Apply mesh-point displacements to the picture: one smooth dense field over the face, zero at the face's edge.

The field is the points' displacements spread by normalised Gaussian convolution on a coarse grid (two scales,
so gaps between points are filled smoothly) with zero anchors on a ring around the face, times an elliptic mask
that falls to 0 at the 1.4x face box; the picture is resampled backwards (one fixed-point step inverts the
forward field). Nothing outside the 1.4x box is read or written. Where the lips part, the mouth's dark inside and
teeth are painted between the displaced inner lip contours, shaded by the face's own brightness.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from emocam.expression.facs import FACE_OVAL, LOWER_INNER, UPPER_INNER

ROI_SCALE = 1.4
GRID = 64  # field cells along the box's longer side


def face_roi(xy: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int, tuple[float, ...]]:
    """(x0, y0, x1, y1) of 1.4x the mesh's box clipped to the frame, and the unclipped box (cx, cy, hw, hh)."""
    lo, hi = xy.min(0), xy.max(0)
    cx, cy = (lo + hi) / 2
    hw, hh = (hi - lo) / 2 * ROI_SCALE
    h, w = shape[:2]
    x0, y0 = max(0, int(math.floor(cx - hw))), max(0, int(math.floor(cy - hh)))
    x1, y1 = min(w, int(math.ceil(cx + hw))), min(h, int(math.ceil(cy + hh)))
    return x0, y0, x1, y1, (cx, cy, hw, hh)


MIN_AREA = 0.15  # the warp may squeeze an area to 15% of its size, never fold it over (a tear)


def fold_limit(field: np.ndarray, step: float) -> float:
    """The largest share (1 down to 0.1) of `field` (grid cells `step` pixels apart) whose warp folds nothing:
    the Jacobian's determinant stays >= MIN_AREA everywhere. A strong edit saturates instead of tearing."""
    dxx, dxy = np.gradient(field[..., 0], axis=1) / step, np.gradient(field[..., 0], axis=0) / step
    dyx, dyy = np.gradient(field[..., 1], axis=1) / step, np.gradient(field[..., 1], axis=0) / step
    # det(k) = 1 + k * trace + k^2 * det, for every share at once
    trace, det = (dxx + dyy).ravel(), (dxx * dyy - dxy * dyx).ravel()
    if (1 + trace + det).min() >= MIN_AREA:
        return 1.0  # the usual case: the whole edit folds nothing
    ok = ((1 + _SHARES * trace + _SHARES ** 2 * det).min(axis=1) >= MIN_AREA)
    return round(float(_SHARES[int(np.argmax(ok)), 0]), 1) if ok.any() else 0.1


_SHARES = np.arange(10, 0, -1, dtype=np.float32)[:, None] / 10


def dense_field(xy: np.ndarray, disp: np.ndarray, roi: tuple, ellipse: tuple) -> tuple[np.ndarray, float, float]:
    """[gh, gw, 2] float32 forward displacement on a coarse grid over the ROI (node (i, j) at ROI pixel
    (j, i) * step; smooth, zero at and beyond the 1.4x ellipse), the grid's step in pixels, and the share of
    `disp` it carries (below 1 where the full edit would fold the picture)."""
    x0, y0, x1, y1 = roi
    cx, cy, hw, hh = ellipse
    width, height = x1 - x0, y1 - y0
    step = max(width, height) / GRID
    gw, gh = int(math.ceil(width / step)) + 1, int(math.ceil(height / step)) + 1
    # zero anchors on a ring at 1.35x the face box keep the field on the face (room below the chin for the jaw)
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    ring = np.column_stack([cx + hw / ROI_SCALE * 1.35 * np.cos(angles), cy + hh / ROI_SCALE * 1.35 * np.sin(angles)])
    # between the face's outline and the ring the outline's displacement ramps down to zero (a dropped jaw
    # pushes the neck below it down a little instead of squeezing it to a fold)
    oval, oval_d = xy[FACE_OVAL], disp[FACE_OVAL]
    centre = np.array([cx, cy])
    rel = oval - centre
    at_ring = 1.35 / ROI_SCALE / np.maximum(np.sqrt((rel[:, 0] / hw) ** 2 + (rel[:, 1] / hh) ** 2), 1e-6)
    ramps = [(centre + rel * (1 + (np.maximum(at_ring, 1) - 1) * k)[:, None], oval_d * (1 - k)) for k in (0.25, 0.5, 0.75)]
    pts = np.concatenate([xy, ring, *[p for p, _ in ramps]])
    vals = np.concatenate([disp, np.zeros((len(ring), 2)), *[d for _, d in ramps]])
    g = (pts - (x0, y0)) / step
    ok = (g[:, 0] >= 0) & (g[:, 1] >= 0) & (g[:, 0] < gw - 1) & (g[:, 1] < gh - 1)
    g, vals = g[ok], vals[ok]
    i0 = np.floor(g).astype(int)
    f = g - i0
    cells, weights = [], []
    for dy in (0, 1):
        for dx in (0, 1):
            cells.append((i0[:, 1] + dy) * gw + i0[:, 0] + dx)
            weights.append((f[:, 0] if dx else 1 - f[:, 0]) * (f[:, 1] if dy else 1 - f[:, 1]))
    cell, wgt = np.concatenate(cells), np.concatenate(weights)
    vv = np.tile(vals, (4, 1))
    num = np.stack([np.bincount(cell, vv[:, 0] * wgt, gh * gw), np.bincount(cell, vv[:, 1] * wgt, gh * gw),
                    np.bincount(cell, wgt, gh * gw)], axis=1).reshape(gh, gw, 3).astype(np.float32)  # dx, dy, weight
    fine = cv2.GaussianBlur(num, (0, 0), 1.0)
    coarse = cv2.GaussianBlur(num, (0, 0), 4.0)
    total = fine + 0.05 * coarse
    field = total[..., :2] / (total[..., 2:] + 1e-4)
    share = fold_limit(field, step)
    gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float32) * np.float32(step)
    r = np.sqrt(((gx + x0 - cx) / hw) ** 2 + ((gy + y0 - cy) / hh) ** 2)  # 1 at the 1.4x box's ellipse
    mask = np.clip((0.98 - r) / (0.98 - 0.78), 0, 1)
    field = field * (share * mask * mask * (3 - 2 * mask))[..., None]
    return np.ascontiguousarray(field, np.float32), step, share


_GRIDS: dict[tuple[int, int], np.ndarray] = {}


def _pixel_grid(width: int, height: int) -> np.ndarray:
    """[H, W, 2] float32 pixel coordinates, kept per ROI size (a tracked face's size changes little)."""
    grid = _GRIDS.get((width, height))
    if grid is None:
        if len(_GRIDS) > 64:
            _GRIDS.clear()
        gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        grid = _GRIDS[(width, height)] = np.dstack([gx, gy])
    return grid


def backward_map(field: np.ndarray, step: float, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap's fixed-point maps (CV_16SC2 and its interpolation table) that pull the ROI's pixels along the
    forward grid field scaled up to the ROI: src = x - d(x - d(x)), the fixed-point step of inverting
    x = src + d(src)."""
    gh, gw = field.shape[:2]
    fine = cv2.resize(field, (int(round(gw * step)), int(round(gh * step))), interpolation=cv2.INTER_LINEAR)
    fine = fine[:height, :width]
    if fine.shape[:2] != (height, width):
        fine = cv2.resize(fine, (width, height), interpolation=cv2.INTER_LINEAR)
    grid = _pixel_grid(width, height)
    back = cv2.remap(fine, grid - fine, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.convertMaps(grid - back, None, cv2.CV_16SC2)


def warp(image: np.ndarray, xy: np.ndarray, disp: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int], float]:
    """The ROI of `image` with mesh points `xy` moved by `disp` (pixels), the ROI (x0, y0, x1, y1), and the share
    of `disp` applied (below 1 where the full edit would fold the picture)."""
    x0, y0, x1, y1, ellipse = face_roi(xy, image.shape)
    roi = (x0, y0, x1, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return image[y0:y1, x0:x1].copy(), roi, 0.0
    field, step, share = dense_field(xy, disp, roi, ellipse)
    map1, map2 = backward_map(field, step, x1 - x0, y1 - y0)
    out = cv2.remap(image[y0:y1, x0:x1], map1, map2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out, roi, share


def corner_lift(xy: np.ndarray, disp: np.ndarray, eye_dist: float) -> float:
    """How far the mouth corners are pulled up (eye distances, along the face's up): a smile's AU12."""
    side = xy[291] - xy[61]
    up = np.array([side[1], -side[0]]) / (np.linalg.norm(side) + 1e-6)
    return float((disp[61] + disp[291]) @ up / 2 / eye_dist)


def shade_folds(patch: np.ndarray, roi: tuple, xy: np.ndarray, disp: np.ndarray, eye_dist: float) -> None:
    """Deepen the nasolabial folds as the mouth corners rise (a smile bunches the cheeks against them): a soft
    shadow from each nose wing down and out past the mouth corner, in proportion to the corners' lift."""
    amount = float(np.clip(corner_lift(xy, disp, eye_dist) / 0.25, 0, 1.5))
    if amount < 0.05 or eye_dist < 12:
        return
    moved = xy + disp - roi[:2]
    curves = []
    for wing, corner in ((129, 61), (358, 291)):
        out = moved[wing] - moved[1]
        start = moved[wing] + 0.35 * out
        end = moved[corner] + 0.3 * (moved[corner] - moved[13]) + 0.05 * eye_dist * np.array([0, 1])
        bow = (start + end) / 2 + 0.25 * out
        t = np.linspace(0, 1, 12)[:, None]
        curves.append((1 - t) ** 2 * start + 2 * t * (1 - t) * bow + t ** 2 * end)
    sigma = max(0.7, eye_dist * 0.025)
    pad = int(3 * sigma + eye_dist * 0.03) + 2
    both = np.concatenate(curves)
    h, w = patch.shape[:2]
    bx0, by0 = np.clip(np.floor(both.min(0)).astype(int) - pad, 0, (w, h))
    bx1, by1 = np.clip(np.ceil(both.max(0)).astype(int) + pad, 0, (w, h))
    if bx1 - bx0 < 2 or by1 - by0 < 2:
        return
    shadow = np.zeros((by1 - by0, bx1 - bx0), np.float32)
    for curve in curves:
        cv2.polylines(shadow, [np.round((curve - (bx0, by0)) * 4).astype(np.int32)], False, 1.0,
                      max(1, int(eye_dist * 0.03)), cv2.LINE_AA, shift=2)
    shadow = cv2.GaussianBlur(shadow, (0, 0), sigma)
    gain = 1 - (0.22 * min(amount, 1.0) / max(float(shadow.max()), 1e-6)) * shadow
    sub = patch[by0:by1, bx0:bx1]
    sub[:] = np.clip(sub * gain[..., None], 0, 255).astype(np.uint8)


def paint_mouth(patch: np.ndarray, roi: tuple, xy: np.ndarray, disp: np.ndarray, eye_dist: float,
                teeth_share: float = 1.0) -> bool:
    """Paint the mouth's inside (dark) and teeth between the displaced inner lips where they part further than
    before, and the smile's folds (`shade_folds`); `patch` is the warped ROI, changed in place. Returns whether
    the mouth was painted."""
    shade_folds(patch, roi, xy, disp, eye_dist)
    x0, y0 = roi[0], roi[1]
    moved = xy + disp
    side = xy[308] - xy[78]
    down = np.array([-side[1], side[0]]) / (np.linalg.norm(side) + 1e-6)  # the face's down across the lips
    gap_before = float((xy[14] - xy[13]) @ down)
    gap = float((moved[14] - moved[13]) @ down)
    if gap - gap_before < 0.03 * eye_dist or gap < 2.0:
        return False
    upper = moved[UPPER_INNER] - (x0, y0)
    lower = moved[LOWER_INNER][::-1] - (x0, y0)
    poly = np.concatenate([upper, lower])
    h, w = patch.shape[:2]
    bx0, by0 = np.clip(np.floor(poly.min(0)).astype(int) - 2, 0, None)
    bx1, by1 = np.ceil(poly.max(0)).astype(int) + 3
    bx1, by1 = min(bx1, w), min(by1, h)
    if bx1 - bx0 < 2 or by1 - by0 < 2:
        return False
    sub = patch[by0:by1, bx0:bx1]
    local = poly - (bx0, by0)
    scale = 4
    inside = np.zeros(sub.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(local * scale).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    alpha = cv2.GaussianBlur(inside.astype(np.float32) / 255, (0, 0), max(0.5, eye_dist * 0.01))
    # the mouth's axes: along the lips (corner to corner) and down (perpendicular)
    along = moved[308] - moved[78]
    along /= np.linalg.norm(along) + 1e-6
    down = np.array([-along[1], along[0]])
    centre = (moved[78] + moved[308]) / 2 - (x0 + bx0, y0 + by0)
    half = float(np.linalg.norm(moved[308] - moved[78])) / 2 + 1e-6
    yy, xx = np.mgrid[0:sub.shape[0], 0:sub.shape[1]].astype(np.float32)
    u = ((xx - centre[0]) * along[0] + (yy - centre[1]) * along[1]) / half  # -1..1 corner to corner
    # depth below the upper inner lip, measured along `down`, by interpolating the upper contour's offset
    up_local = upper - (bx0, by0)
    up_u = ((up_local[:, 0] - centre[0]) * along[0] + (up_local[:, 1] - centre[1]) * along[1]) / half
    up_v = (up_local[:, 0] - centre[0]) * down[0] + (up_local[:, 1] - centre[1]) * down[1]
    lo_local = lower - (bx0, by0)
    lo_u = ((lo_local[:, 0] - centre[0]) * along[0] + (lo_local[:, 1] - centre[1]) * along[1]) / half
    lo_v = (lo_local[:, 0] - centre[0]) * down[0] + (lo_local[:, 1] - centre[1]) * down[1]
    v = (xx - centre[0]) * down[0] + (yy - centre[1]) * down[1]
    order_u, order_l = np.argsort(up_u), np.argsort(lo_u)
    top = np.interp(u, up_u[order_u], up_v[order_u])
    bottom = np.interp(u, lo_u[order_l], lo_v[order_l])
    depth = v - top
    opening = np.maximum(bottom - top, 1e-3)
    # lighting: the face's own brightness around the mouth (teeth in a dim picture are dim)
    ring = patch[max(0, by0 - 4):by1 + 4, max(0, bx0 - 4):bx1 + 4].reshape(-1, 3).astype(np.float32)
    light = float(np.clip(np.median(ring.mean(1)) / 150.0, 0.35, 1.15))
    tooth_light = max(light, 0.6)  # teeth stay brighter than the skin around them even in a dim picture
    teeth_h = np.minimum(0.6 * opening, 0.13 * eye_dist) * teeth_share
    lower_h = np.where(opening > 0.15 * eye_dist, np.minimum(0.25 * opening, 0.08 * eye_dist), 0.0) * teeth_share
    corner = np.clip(1 - np.abs(u) ** 3, 0, 1)
    tooth_w = 0.105 * eye_dist / half
    seam = 1 - 0.35 * np.exp(-((((u + tooth_w / 2) % tooth_w) - tooth_w / 2) / (tooth_w * 0.08)) ** 2)
    upper_teeth = (depth < teeth_h) * np.clip((teeth_h - depth) / max(1.0, eye_dist * 0.015), 0, 1)
    lower_teeth = ((bottom - v) < lower_h) * np.clip((lower_h - (bottom - v)) / max(1.0, eye_dist * 0.015), 0, 1)
    teeth = np.clip(upper_teeth + lower_teeth, 0, 1) * (0.45 + 0.55 * corner)
    shade = (0.7 + 0.3 * corner) * seam * tooth_light
    tooth_rgb = np.array([240.0, 229.0, 206.0], np.float32)  # ivory, not paper white
    dark = np.array([52.0, 20.0, 22.0], np.float32) * light * (0.6 + 0.4 * corner)[..., None]
    colour = dark * (1 - teeth[..., None]) + tooth_rgb * (teeth * shade)[..., None]
    a = alpha[..., None]
    sub[:] = np.clip(sub.astype(np.float32) * (1 - a) + colour * a, 0, 255).astype(np.uint8)
    return True
