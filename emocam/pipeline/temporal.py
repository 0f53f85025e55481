"""The temporal engine: stylize small every frame, keep it steady with flow, bring detail back from the input.

Per-frame stylization flickers (each frame is restyled from scratch) and costs a lot at full size. This stage
wraps a small-picture stylizer (``stylize_small``: RGB uint8 at the processing size -> RGB uint8, same size):

* ``off``: today's behaviour, stylize at the processing size and scale up bilinearly.
* ``guided``: scale up edge-aware: the upscaled stylization plus the full-resolution input's own fine detail
  (what the small picture lost), scaled per pixel by the local gain of the stylization with respect to the input
  brightness (the linear coefficient of a guided filter fitted at the small size). Detail comes from the current
  input every frame, so nothing accumulates.
* ``stable``: blend the network's output with the history (the previous output, carried to the current frame
  by DIS flow on the small inputs), weighted by a confidence that falls where the carried previous input does not
  match the current one (occlusions, fast motion, lighting): no ghost trails. History resets at once on a scene
  cut (too few confident pixels) or a size change. Scaled up bilinearly (``TemporalParams.guided`` for edge-aware;
  on the bench clips it bought ~5% sharpness for ~25% of the network's CPU time, so it is off by default).
* ``keyframe`` (CPU-only speed option, NOT per-frame stylization): the network runs every Nth frame (and on cuts,
  style changes, or when too little of the history is still trusted), blended there like ``stable``; the frames
  in between carry the last output along the composed flow (one resampling). ``info["keyframe"]`` says which
  frames really ran the network.
* ``texture``: nothing is averaged. At keyframes (every Nth frame, as ``keyframe``, and sooner when needed) the
  engine keeps ONE reference picture and the flow from it to the current frame (composed, then re-measured against
  the reference's own input so it does not drift), samples the reference once (bicubic) along that flow, and per
  pixel either shows that carried copy or, where it is not trusted (its input does not match the current one,
  occlusion, margin, outside) or where it no longer looks like the network's output at a coarse scale, the
  network's output itself (a hard choice, softened only along the seams). Between keyframes that output is carried
  along the composed flow, as in ``keyframe``. When too little is carried, a keyframe's output becomes the new
  reference (so no pop); cuts, size and style changes start from the network. Texture is never mixed with a
  shifted copy of itself and never resampled frame after frame, so it stays sharp.

While the style itself changes (an emotion fade; pass what the network is asked for as ``style``: the blended
style vector, or the emotion weights) the history gives way, so the change is neither held back nor ghosted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from emocam.pipeline.overlap import started
from emocam.pipeline.style import processing_shape

MODES = ("off", "guided", "stable", "keyframe", "texture")
DEFAULT_MODE = "stable"
StylizeSmall = Callable[[np.ndarray], np.ndarray]


@dataclass
class TemporalParams:
    """Tuning of the engine (defaults chosen on the clips of tools.temporal.bench; see docs/temporal.md)."""

    guided: bool = False  # stable/keyframe: scale up like `guided` (measured: ~5% sharper, ~25% of the network's CPU)
    radius: int = 2  # guided-filter window radius, in processing-size pixels
    eps: float = 0.03 ** 2  # guided-filter regulariser on the input's local variance (0..1 scale)
    max_gain: float = 2.0  # cap on |detail gain| so noise in flat areas is not blown up
    blend: float = 0.93  # weight of the warped history where it is fully trusted
    sigma: float = 0.12  # input mismatch (0..1) at which the history's confidence is 1/e
    margin: int = 6  # px (processing size) around a mismatch that do not trust the history either: the network
    # sees beyond a pixel, so what moved leaves traces in the styling around it
    strong: float = 0.1  # mismatch (0..1) that counts as something moved or changed, for `margin`
    cut_fraction: float = 0.4  # fewer confident pixels than this: a scene cut, history reset
    keyframe_every: int = 3  # keyframe and texture modes: run the network at least every Nth frame
    keyframe_fraction: float = 0.85  # keyframe, texture: fewer confident pixels than this forces a keyframe
    keep_texture: bool = False  # restore the fine-band contrast blending takes away: sharper, more flicker
    style_tolerance: float = 0.02  # style change per frame (L1, relative to the style's) at which history is dropped
    flow_size: int | None = 384  # flow is computed at most this long side (None: at the processing size); at or
    # under it no resizing: on the bench clips flow at 384 beat flow at 320 scaled up, in flicker and in time
    flow_preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM  # DIS quality (a few ms at 256 px)
    coarse_sigma: float = 3.0  # texture mode: px (processing size) of the blur under which carried and new must agree
    coarse_diff: float = 0.12  # texture mode: coarse difference (0..1, max over channels) above which the network wins
    carry_fraction: float = 0.8  # texture mode: fewer carried pixels than this makes this frame the new reference
    still_carry_fraction: float = 0.95  # ... this, while the picture stands still (a stale reference is refreshed
    still_px: float = 0.1  # at no cost in sharpness): median frame-to-frame motion under this many px
    carry_interp: int = cv2.INTER_CUBIC  # texture mode: how the reference is sampled (once)
    direct: bool = True  # texture mode: re-estimate the flow from the reference's input, starting from the composed one


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def detail_gain(guide_small: np.ndarray, stylized_small: np.ndarray, params: TemporalParams) -> np.ndarray:
    """Per-pixel, per-channel gain a of the local fit stylized ~ a * guide + b (box filtered), HxWx3 float32."""
    size = (2 * params.radius + 1, 2 * params.radius + 1)
    guide = guide_small.astype(np.float32) / 255.0
    p = stylized_small.astype(np.float32) / 255.0
    mean_i = cv2.blur(guide, size)
    var_i = cv2.blur(guide * guide, size) - mean_i * mean_i
    mean_p = cv2.blur(p, size)
    cov = cv2.blur(p * guide[..., None], size) - mean_p * mean_i[..., None]
    gain = cov / (var_i[..., None] + params.eps)
    return np.clip(cv2.blur(gain, size), -params.max_gain, params.max_gain)


def guided_upsample(full: np.ndarray, small: np.ndarray, stylized_small: np.ndarray,
                    params: TemporalParams) -> np.ndarray:
    """Upscaled stylization + gain * (full-size input's detail beyond what the small input holds)."""
    h, w = full.shape[:2]
    gain = cv2.resize(detail_gain(_gray(small), stylized_small, params), (w, h), interpolation=cv2.INTER_LINEAR)
    gray_full = _gray(full).astype(np.float32)
    detail = gray_full - cv2.resize(_gray(small), (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    up = cv2.resize(stylized_small, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    return np.clip(up + gain * detail[..., None], 0, 255).astype(np.uint8)


def keep_texture(blended: np.ndarray, current: np.ndarray, sigma: float = 1.5, most: float = 1.5) -> np.ndarray:
    """Give the blend's fine band the contrast of the network's own output: averaging two textures that do not
    line up exactly lowers their contrast (a blur), which the style would not have. One gain per frame,
    measured, so identical inputs are left alone (gain 1) and the boost is capped at `most`."""
    low = cv2.GaussianBlur(blended, (0, 0), sigma)
    band = blended - low
    want = float((current - cv2.GaussianBlur(current, (0, 0), sigma)).std())
    gain = min(most, max(1.0, want / max(float(band.std()), 1e-6)))
    return low + gain * band


def _channel_max(image: np.ndarray) -> np.ndarray:
    """Per-pixel maximum over the colour channels (numpy's reduction over the last axis is several times slower)."""
    r, g, b = cv2.split(image)
    return cv2.max(cv2.max(r, g), b)


MIN_FLOW_SIDE = 32  # px: the shortest side DIS flow is computed on


class TemporalStyler:
    """Per-stream state: the previous small input and stylization. One instance per video stream."""

    def __init__(self, mode: str = DEFAULT_MODE, params: TemporalParams | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"temporal mode {mode!r}: use one of {', '.join(MODES)}")
        self.mode = mode
        self.params = params or TemporalParams()
        self._dis = cv2.DISOpticalFlow_create(self.params.flow_preset)
        self._grid: np.ndarray | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the history (a new source, a seek, a loop back to the start)."""
        self._prev_small: np.ndarray | None = None
        self._key: np.ndarray | None = None  # the last network output (blended), and how to carry it here
        self._key_maps: np.ndarray | None = None
        self._key_conf: np.ndarray | None = None
        self._since_key = 0
        self._ref: np.ndarray | None = None  # texture mode: the reference picture, its input, and the maps from
        self._ref_small: np.ndarray | None = None  # the current frame into it (None: the reference is the
        self._ref_maps: np.ndarray | None = None  # previous frame)
        self._style: np.ndarray | None = None

    def process(self, full: np.ndarray, stylize_small: StylizeSmall, process_size: int | None,
                style: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        """The stylized frame at the input's size, and info: keyframe (network ran), reset (history dropped),
        confident (fraction of pixels whose history was trusted); texture mode on keyframes also: carried
        (fraction shown from the reference), rekey (this frame's output became the new reference).

        `style` (e.g. the emotion weights) tells the engine when the look itself is changing: while it fades,
        the history gives way (stable) or a keyframe is forced (keyframe), so the change is not held back."""
        style_change = self._style_change(style)
        h, w = full.shape[:2]
        pw, ph = processing_shape(w, h, process_size)
        small = cv2.resize(full, (pw, ph), interpolation=cv2.INTER_AREA) if (pw, ph) != (w, h) else full
        info = {"keyframe": True, "reset": False, "confident": 0.0}
        if self.mode in ("off", "guided"):
            stylized = stylize_small(small)
        elif self.mode == "texture":
            stylized = self._texture(small, stylize_small, info, style_change)
        else:
            stylized = self._temporal(small, stylize_small, info, style_change)
        if (pw, ph) == (w, h):
            return stylized, info
        if self.mode == "guided" or self.params.guided:
            return guided_upsample(full, small, stylized, self.params), info
        return cv2.resize(stylized, (w, h), interpolation=cv2.INTER_LINEAR), info

    # -- history ---------------------------------------------------------------------------------------
    def _style_change(self, style: np.ndarray | None) -> float:
        """L1 distance between this frame's style and the previous frame's, relative to the previous one's L1
        size (emotion weights sum to 1; style vectors of pictures packs have their own scale); 0 when not given."""
        if style is None:
            return 0.0
        style = np.array(style, np.float32)  # a copy: the caller may reuse its array
        previous, self._style = self._style, style
        if previous is None or previous.shape != style.shape:
            return 0.0
        return float(np.abs(style - previous).sum()) / max(float(np.abs(previous).sum()), 1e-6)

    def _history(self, small: np.ndarray, info: dict) -> tuple[np.ndarray, np.ndarray] | None:
        """(maps, confidence) from the previous frame onto this one while the history holds; None (and
        info["reset"]) on a first frame, a new size, or a cut (too few confident pixels)."""
        aligned = None
        if self._key is not None and self._key.shape == small.shape:
            maps, confidence = self._align(small)
            info["confident"] = np.count_nonzero(confidence > 0.5) / confidence.size
            if info["confident"] >= self.params.cut_fraction:
                aligned = maps, confidence
        info["reset"] = aligned is None
        return aligned

    def _network(self, small: np.ndarray, stylize_small: StylizeSmall, style_change: float, every: int):
        """The network's output for this frame, to be called when needed. When the frame is due by count (or first,
        or the look is changing) it is certainly needed, so it starts now on a helper thread, beside the flow,
        which needs only the inputs."""
        if self._key is None or self._since_key + 1 >= every or style_change > 0.0:
            return started(lambda: stylize_small(small))
        return lambda: stylize_small(small)

    def _from_key(self, maps: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Maps and confidence from the last keyframe onto this frame: the flow itself when the key is the previous
        frame, else the flow composed with the key's maps (one resampling of the key, no blur build-up)."""
        if self._since_key == 0:
            return maps, confidence
        key_maps = cv2.remap(self._key_maps, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        key_conf = confidence * cv2.remap(self._key_conf, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return key_maps, key_conf

    def _due(self, key_conf: np.ndarray, style_change: float, every: int) -> bool:
        """Run the network on this frame: by count, while the look changes, or when too little is still trusted."""
        return (self._since_key + 1 >= every or style_change > 0.0
                or np.count_nonzero(key_conf > 0.5) / key_conf.size < self.params.keyframe_fraction)

    def _carry(self, small: np.ndarray, key_maps: np.ndarray, key_conf: np.ndarray, info: dict) -> np.ndarray:
        """A frame between keyframes: the last keyframe's output carried here along the composed flow."""
        self._key_maps, self._key_conf, self._since_key = key_maps, key_conf, self._since_key + 1
        self._prev_small = small
        info["keyframe"] = False
        return cv2.remap(self._key, key_maps, None, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)

    def _temporal(self, small: np.ndarray, stylize_small: StylizeSmall, info: dict, style_change: float) -> np.ndarray:
        """Stable and keyframe share one path: the network's output is blended with the history carried along
        the flow; `stable` runs the network every frame, `keyframe` every Nth frame and carries in between."""
        p = self.params
        every = p.keyframe_every if self.mode == "keyframe" else 1
        network = self._network(small, stylize_small, style_change, every)
        aligned = self._history(small, info)
        if aligned is None:
            return self._new_key(small, network())
        key_maps, key_conf = self._from_key(*aligned)
        if not self._due(key_conf, style_change, every):
            return self._carry(small, key_maps, key_conf, info)
        carried = cv2.remap(self._key, key_maps, None, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        current = network()
        trust = p.blend * max(0.0, 1.0 - style_change / p.style_tolerance)  # the look is changing: follow it
        weight = trust * key_conf  # of the history, per pixel
        if not p.keep_texture:  # weight * carried + (1 - weight) * current, rounded, in one pass
            return self._new_key(small, cv2.blendLinear(carried, current, weight, 1.0 - weight))
        now = current.astype(np.float32)
        blended = keep_texture(now + weight[..., None] * (carried.astype(np.float32) - now), now)
        return self._new_key(small, np.clip(blended + 0.5, 0, 255).astype(np.uint8))

    def _texture(self, small: np.ndarray, stylize_small: StylizeSmall, info: dict, style_change: float) -> np.ndarray:
        """At keyframes: one reference sampled once along the flow composed from it (re-measured against the
        reference's own input), the network's output where it is not trusted. Between keyframes: that output
        carried along the composed flow, as in `keyframe`. Only flow maps are resampled frame after frame; a
        reference pixel is resampled at most twice before it is shown."""
        p = self.params
        network = self._network(small, stylize_small, style_change, p.keyframe_every)
        aligned = self._history(small, info)
        if aligned is None or style_change > 0.0:  # a cut, a new size, or the look is changing: start from the network
            return self._new_reference(small, network())
        maps, confidence = aligned
        key_maps, key_conf = self._from_key(maps, confidence)
        ref_maps = maps if self._ref_maps is None else cv2.remap(  # where each current pixel is in the reference
            self._ref_maps, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if not self._due(key_conf, style_change, p.keyframe_every):
            self._ref_maps = ref_maps
            return self._carry(small, key_maps, key_conf, info)
        current = network()
        if p.direct and self._ref_maps is not None:  # composed flows drift: measure against the reference itself
            grid = self._grid_for(*small.shape[:2])
            ref_maps = self._flow(_gray(small), _gray(self._ref_small), ref_maps - grid) + grid
        # checked against the reference's own input (not only the previous frame's): drift and slow changes show
        ref_in = cv2.remap(self._ref_small, ref_maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        trusted = self._confidence(small, ref_in, ref_maps) > 0.5
        carried = cv2.remap(self._ref, ref_maps, None, p.carry_interp, borderMode=cv2.BORDER_REPLICATE)
        sigma = p.coarse_sigma
        coarse = _channel_max(cv2.absdiff(cv2.GaussianBlur(carried, (0, 0), sigma),
                                          cv2.GaussianBlur(current, (0, 0), sigma)))
        trusted &= coarse < p.coarse_diff * 255
        info["carried"] = np.count_nonzero(trusted) / trusted.size
        weight = cv2.blur(trusted.astype(np.float32), (3, 3))  # hard, but no stair-step seams
        out = cv2.blendLinear(carried, current, weight, 1.0 - weight)
        # too little carried: this output (as shown) is the new reference; on a still picture sooner, or the part
        # of an older reference that no longer fits would be restyled from scratch at every keyframe
        info["rekey"] = info["carried"] < (p.still_carry_fraction if self._still(maps) else p.carry_fraction)
        if info["rekey"]:
            return self._new_reference(small, out)
        self._ref_maps = ref_maps
        return self._new_key(small, out)

    def _still(self, maps: np.ndarray) -> bool:
        """Whether the frame-to-frame flow (remap maps) moves the picture by under `still_px` (median, sampled)."""
        h, w = maps.shape[:2]
        moved = np.abs(maps[::8, ::8] - self._grid_for(h, w)[::8, ::8])
        return float(np.median(moved)) < self.params.still_px

    def _new_reference(self, small: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """Texture mode: this output becomes the reference, with its input; later keyframes are sampled from it and
        checked and flowed against that input, not the last frame's."""
        self._ref, self._ref_small, self._ref_maps = stylized, small, None
        return self._new_key(small, stylized)

    def _new_key(self, small: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """Make this frame's output the keyframe the next frames are carried from."""
        self._key, self._prev_small, self._since_key = stylized, small, 0
        self._key_maps = self._key_conf = None  # the next frame's flow is its map from the key
        return stylized

    def _grid_for(self, h: int, w: int) -> np.ndarray:
        """HxWx2 pixel coordinates (x, y): a flow plus this is a remap map."""
        if self._grid is None or self._grid.shape[:2] != (h, w):
            self._grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), -1)
        return self._grid

    def _flow(self, current: np.ndarray, previous: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        """DIS flow from the current to the previous grey frame, computed at most `flow_size` px long side;
        `start` (a flow at full size) is where DIS starts from."""
        h, w = current.shape[:2]
        if min(h, w) < MIN_FLOW_SIDE:  # DIS's pyramid needs some height: a sliver of a frame is taken as still
            return np.zeros((h, w, 2), np.float32)
        scale = min(1.0, self.params.flow_size / max(h, w)) if self.params.flow_size else 1.0
        scale = max(scale, min(1.0, MIN_FLOW_SIDE / min(h, w)))
        if scale == 1.0:
            return self._dis.calc(current, previous, None if start is None else start.copy())
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        if start is not None:
            start = cv2.resize(start, size, interpolation=cv2.INTER_AREA)
            start[..., 0] *= size[0] / w
            start[..., 1] *= size[1] / h
        flow = self._dis.calc(cv2.resize(current, size, interpolation=cv2.INTER_AREA),
                              cv2.resize(previous, size, interpolation=cv2.INTER_AREA), start)
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
        flow[..., 0] *= w / size[0]
        flow[..., 1] *= h / size[1]
        return flow

    def _align(self, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Remap maps taking the previous small frame onto the current one, and the per-pixel confidence."""
        h, w = small.shape[:2]
        maps = self._flow(_gray(small), _gray(self._prev_small))
        maps += self._grid_for(h, w)
        warped_in = cv2.remap(self._prev_small, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return maps, self._confidence(small, warped_in, maps)

    def _confidence(self, small: np.ndarray, warped_in: np.ndarray, maps: np.ndarray) -> np.ndarray:
        """Per-pixel trust in a picture carried along `maps`, from how well its carried input matches `small`."""
        h, w = small.shape[:2]
        mismatch = _channel_max(cv2.absdiff(small, warped_in)).astype(np.float32) / 255.0
        mismatch = cv2.blur(mismatch, (3, 3))
        inside = (maps[..., 0] >= 0) & (maps[..., 0] <= w - 1) & (maps[..., 1] >= 0) & (maps[..., 1] <= h - 1)
        confidence = np.exp(-(mismatch / self.params.sigma) ** 2) * inside
        if self.params.margin:  # distrust the surroundings of what moved or changed (not of mere noise)
            margin = 2 * self.params.margin + 1
            changed = (mismatch > self.params.strong).astype(np.uint8)
            confidence *= 1 - cv2.dilate(changed, np.ones((margin, margin), np.uint8))
        return confidence.astype(np.float32)
