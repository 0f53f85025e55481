"""Video quality measures shared by the temporal bench and tools.style.evaluate: flicker and sharpness.

* **Warping error** of a clip under a flow method: for each consecutive pair, the optical flow between the
  INPUT frames t and t+1 (so the measure does not depend on the output being measured) maps frame t+1 back onto
  frame t; the error is mean |out_t - warp(out_t+1)| (0..1 scale, mean over RGB) over the pixels whose
  forward and backward flows agree and that stay inside the picture.
* **Flicker** (``flicker_ratio``) = warping error of the output / warping error of the input, on the same pairs and
  the same masks: 1 means the output adds no temporal change the input does not have. Pairs at scene cuts (the
  input's own error over 4x the clip median and over 0.05) are left out: no flow explains a cut.
* Two flow methods, DIS (``cv2.DISOpticalFlow``, medium preset) and Farneback, so a result does not lean on one
  estimator's errors.
* **Sharpness** = mean over frames of the variance of the Laplacian of the grey picture (8-bit scale).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FLOW_METHODS = ("dis", "farneback")
_FARNEBACK = (None, 0.5, 3, 15, 3, 5, 1.2, 0)
CUT_FACTOR, CUT_FLOOR = 4.0, 0.05


def _flow(method: str, a: np.ndarray, b: np.ndarray, dis=None) -> np.ndarray:
    """Flow from grey frame a to grey frame b: a pixel p of a is at p + flow[p] in b."""
    if method == "dis":
        return dis.calc(a, b, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(a, b, *_FARNEBACK)
    raise ValueError(f"unknown flow method {method!r}; use one of {FLOW_METHODS}")


@dataclass
class PairFlow:
    """How to warp frame t+1 onto frame t (remap maps) and where that warp is trusted."""

    maps: np.ndarray  # HxWx2 float32: x, y in frame t+1 of each pixel of frame t
    valid: np.ndarray  # HxW bool: forward-backward consistent and inside the picture


def pair_flows(frames: list[np.ndarray], method: str) -> list[PairFlow]:
    """One PairFlow per consecutive pair of RGB frames, computed on the input frames."""
    grays = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    h, w = grays[0].shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) if method == "dis" else None
    out = []
    for a, b in zip(grays, grays[1:]):
        fw, bw = _flow(method, a, b, dis), _flow(method, b, a, dis)
        mx, my = gx + fw[..., 0], gy + fw[..., 1]
        bw_at = cv2.remap(bw, mx, my, cv2.INTER_LINEAR)
        err = ((fw + bw_at) ** 2).sum(-1)
        ok = err < 0.01 * ((fw ** 2).sum(-1) + (bw_at ** 2).sum(-1)) + 0.5
        ok &= (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        out.append(PairFlow(np.stack([mx, my], -1), ok))
    return out


def pair_errors(frames: list[np.ndarray], flows: list[PairFlow]) -> np.ndarray:
    """Warping error of each consecutive pair (0..1 scale); frames must have the input's size."""
    errs = []
    for flow, a, b in zip(flows, frames, frames[1:]):
        if a.shape[:2] != flow.valid.shape:
            raise ValueError(f"frame size {a.shape[:2]} differs from the flow's {flow.valid.shape}")
        warped = cv2.remap(b, flow.maps[..., 0], flow.maps[..., 1], cv2.INTER_LINEAR)
        diff = np.abs(a.astype(np.float32) - warped.astype(np.float32)).mean(-1) / 255.0
        errs.append(float(diff[flow.valid].mean()) if flow.valid.any() else 0.0)
    return np.asarray(errs, np.float64)


def warping_error(frames: list[np.ndarray], flows: list[PairFlow]) -> float:
    """Mean warping error over all pairs (no cut handling; see ``FlickerReference`` for the ratio)."""
    return float(pair_errors(frames, flows).mean())


def cut_pairs(input_errors: np.ndarray) -> np.ndarray:
    """Pairs at scene cuts: the input's own warping error far above the clip's median."""
    median = float(np.median(input_errors)) if len(input_errors) else 0.0
    return (input_errors > CUT_FACTOR * median) & (input_errors > CUT_FLOOR)


class FlickerReference:
    """An input clip's flows and warping errors, computed once and shared by every output measured on it."""

    def __init__(self, frames: list[np.ndarray], methods: tuple[str, ...] = FLOW_METHODS) -> None:
        self.methods = methods
        self.flows = {m: pair_flows(frames, m) for m in methods}
        self.input_errors = {m: pair_errors(frames, self.flows[m]) for m in methods}
        self.keep = {m: ~cut_pairs(self.input_errors[m]) for m in methods}
        for keep in self.keep.values():
            keep |= ~keep.any()  # all pairs look like cuts: keep them all rather than measure nothing
        self.input_error = {m: float(self.input_errors[m][self.keep[m]].mean()) for m in methods}

    def errors(self, outputs: list[np.ndarray], method: str) -> np.ndarray:
        """Per-pair warping error of an output clip (cut pairs included, for plots)."""
        return pair_errors(outputs, self.flows[method])

    def ratio(self, outputs: list[np.ndarray], method: str) -> float:
        """Flicker: the output's mean warping error over the input's, cut pairs left out."""
        errs = self.errors(outputs, method)
        return float(errs[self.keep[method]].mean()) / max(self.input_error[method], 1e-9)

    def ratios(self, outputs: list[np.ndarray]) -> dict[str, float]:
        return {m: self.ratio(outputs, m) for m in self.methods}


def sharpness(frames: list[np.ndarray]) -> float:
    """Mean variance of the Laplacian of the grey frames (higher = more fine detail)."""
    values = [cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for f in frames]
    return float(np.mean(values))
