"""Expressions as displacements of the rest mesh's points, built from FACS action units.

Units are the rest mesh's: eye distance 1, x to the image's right, y down. Each action unit is a few smooth
"handles" (a landmark, a displacement, a radius, the region it may move), mirrored onto both sides of the face;
a vertex moves by the handles' Gaussian-weighted sum, so neighbouring points always move alike - except across
the lips' seam, where the jaw's drop (AU25/26) parts the lips on purpose (the warp paints the mouth's inside there).
"""
from __future__ import annotations

import base64

import numpy as np

from emocam.expression import rest_data
from emocam.labels import EMOTIONS

REST = np.frombuffer(base64.b64decode("".join(rest_data.REST_F32_B64)), "<f4").reshape(468, 3).astype(np.float64)
MIRROR = np.array(rest_data.MIRROR)

UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER = [95, 88, 178, 87, 14, 317, 402, 318, 324]
UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LOWER_OUTER = [146, 91, 181, 84, 17, 314, 405, 321, 375]
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]

_x, _y = REST[:, 0], REST[:, 1]
_SEAM_Y = float(REST[[13, 14]][:, 1].mean())
_MOUTH_HALF = float(abs(REST[61, 0] - REST[291, 0]) / 2)
_MOUTH_X = float(REST[[61, 291], 0].mean())


def _sig(v: np.ndarray, width: float) -> np.ndarray:
    return 1 / (1 + np.exp(-v / width))


def _regions() -> dict[str, np.ndarray]:
    """Per-vertex 0..1 weights of the regions handles may move."""
    near_mouth = (np.abs(_x - _MOUTH_X) < _MOUTH_HALF + 0.25) & (np.abs(_y - _SEAM_Y) < 0.35)
    upper_lip = near_mouth & (_y < _SEAM_Y - 0.005)
    upper_lip[UPPER_INNER + UPPER_OUTER] = True
    lower = (_y > _SEAM_Y + 0.005)
    lower[UPPER_INNER + UPPER_OUTER] = False
    lower[LOWER_INNER + LOWER_OUTER] = True
    for corner in (61, 291, 78, 308):
        upper_lip[corner], lower[corner] = False, False
    # the jaw drop: the lips part most in the middle (none at the corners), the chin drops whole
    lateral = np.clip(1 - ((_x - _MOUTH_X) / (_MOUTH_HALF * 1.05)) ** 2, 0, 1) ** 0.5
    below = np.clip((_y - _SEAM_Y) / 0.45, 0, 1)
    jaw = lower * np.clip(lateral + (1 - lateral) * below, 0, 1) * np.clip(1.35 - 0.55 * np.abs(_x), 0, 1)
    return {
        "all": np.ones(468),
        "above_eye": _sig(-(_y + 0.06), 0.045),  # brows and upper lids (eye centres are at y = 0)
        "upper_lid": _sig(-(_y + 0.0), 0.012) * _sig(_y + 0.2, 0.03),
        "below_eye": _sig(_y - 0.01, 0.012) * (_y < _SEAM_Y - 0.2),
        "upper_lip": upper_lip.astype(float),
        "lower_lip": (lower & near_mouth).astype(float),
        "jaw": jaw,
    }


REGIONS = _regions()

# action unit -> handles (landmark on the image-left side, (outward, down, depth), radius, region)
AUS: dict[str, list[tuple[int, tuple[float, float, float], float, str]]] = {
    "AU1": [(107, (0.0, -0.15, 0.0), 0.2, "above_eye"), (66, (0.0, -0.07, 0.0), 0.2, "above_eye")],
    "AU2": [(105, (0.0, -0.11, 0.0), 0.22, "above_eye"), (70, (0.02, -0.13, 0.0), 0.2, "above_eye")],
    "AU4": [(107, (-0.07, 0.10, 0.0), 0.2, "above_eye"), (105, (-0.03, 0.06, 0.0), 0.22, "above_eye"),
            (9, (0.0, 0.02, 0.0), 0.15, "above_eye")],
    "AU5": [(159, (0.0, -0.045, 0.0), 0.13, "upper_lid")],
    "AU6": [(50, (0.0, -0.07, 0.0), 0.28, "below_eye"), (145, (0.0, -0.025, 0.0), 0.12, "below_eye")],
    "AU7": [(145, (0.0, -0.03, 0.0), 0.12, "below_eye"), (159, (0.0, 0.015, 0.0), 0.12, "upper_lid")],
    "AU9": [(129, (0.0, -0.06, 0.0), 0.15, "all"), (107, (-0.02, 0.04, 0.0), 0.2, "above_eye")],
    "AU10": [(37, (0.0, -0.06, 0.0), 0.22, "upper_lip")],
    "AU12": [(61, (0.08, -0.15, 0.0), 0.26, "all"), (205, (0.03, -0.07, 0.0), 0.3, "all")],  # the cheek rises too
    "AU15": [(61, (-0.01, 0.10, 0.0), 0.24, "all")],
    "AU16": [(84, (0.0, 0.06, 0.0), 0.2, "lower_lip")],
    "AU17": [(17, (0.0, -0.04, 0.0), 0.25, "lower_lip")],
    "AU20": [(61, (0.12, 0.02, 0.0), 0.24, "all")],
    "AU27": [(61, (-0.06, 0.03, 0.0), 0.2, "all")],  # the mouth rounds as the jaw drops (surprise's "O")
    "AU23": [(0, (0.0, 0.025, 0.0), 0.12, "upper_lip"), (17, (0.0, -0.03, 0.0), 0.12, "lower_lip"),
             (61, (-0.03, 0.0, 0.0), 0.2, "all")],
}

# emotion -> (action unit -> intensity, the jaw's drop in eye distances)
RECIPES: dict[str, tuple[dict[str, float], float]] = {
    "happy": ({"AU6": 1.6, "AU12": 1.9, "AU10": 0.6}, 0.15),  # a broad smile: the upper lip lifts off the teeth
    "sad": ({"AU1": 1.2, "AU4": 0.5, "AU15": 1.2, "AU17": 0.8}, 0.0),
    "surprise": ({"AU1": 1.2, "AU2": 1.4, "AU5": 2.2, "AU27": 1.4}, 0.42),
    "angry": ({"AU4": 1.5, "AU5": 0.6, "AU7": 1.0, "AU23": 1.0}, 0.0),
    "fear": ({"AU1": 1.0, "AU2": 0.6, "AU4": 0.6, "AU5": 1.0, "AU7": 0.3, "AU20": 1.0}, 0.22),
    "disgust": ({"AU9": 1.2, "AU10": 1.0, "AU15": 0.6, "AU16": 0.8, "AU4": 0.4}, 0.04),
}


# how much of the teeth the opened mouth shows (surprise: a dark "O", little teeth)
TEETH = {"happy": 1.0, "surprise": 0.0, "fear": 0.8, "disgust": 1.0}


def au_displacement(au: str) -> np.ndarray:
    """[468, 3] displacement of action unit `au` at intensity 1, on both sides of the face."""
    out = np.zeros((468, 3))
    for index, (outward, down, depth), radius, region in AUS[au]:
        for centre in {int(index), int(MIRROR[index])}:
            side = 1.0 if REST[centre, 0] >= 0 else -1.0
            if abs(REST[centre, 0]) < 0.05:  # on the midline: no outward part
                side = 0.0
            d2 = ((REST[:, :2] - REST[centre, :2]) ** 2).sum(1)
            weight = np.exp(-d2 / (2 * radius ** 2)) * REGIONS[region]
            out += weight[:, None] * np.array([outward * side, down, depth])
    return out


def emotion_displacement(emotion: str) -> np.ndarray:
    """[468, 3] displacement (rest-mesh units) that gives `emotion` to a resting face; zeros for neutral."""
    if emotion == "neutral" or emotion not in RECIPES:
        return np.zeros((468, 3))
    units, drop = RECIPES[emotion]
    out = sum((w * au_displacement(au) for au, w in units.items()), np.zeros((468, 3)))
    out[:, 1] += drop * REGIONS["jaw"]
    return out


DISPLACEMENTS = {e: emotion_displacement(e) for e in EMOTIONS}

# the points that carry an expression (transfer and neutral move only these): not the rigid ones, the outline half
MOBILE = np.ones(468)
MOBILE[FACE_OVAL] = 0.5
_chin = [152, 148, 176, 149, 150, 377, 400, 378, 379, 365, 136, 397]
MOBILE[_chin] = 1.0
