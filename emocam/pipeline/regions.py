"""Region styling: each person in their own emotion's style, the background in the frame's, faces kept recognizable.

Three steps, so a temporal stage can sit before or after the compositing:

1. `RegionStyler.plan` (stateful): the people mask (selfie segmentation), each person's pixels given to the
   nearest tracked face, face ovals from the detector box and keypoints, all feathered and smoothed over time
   per track (a track that disappears fades out; nothing lingers where a person was). It returns a `RegionPlan`:
   per emotion, a weight map (the maps sum to 1), and the amount of style per pixel.
2. The style network runs once per emotion in the plan (not once per person): `plan.styles`.
3. `composite(image, stylized, plan)`: a pure function of the input, the stylized frames and the plan.

Masks are computed at a small working size (MASK_SIDE) and scaled up in the compositing.
"""
from __future__ import annotations

import math
import time as clock
from dataclasses import dataclass, field

import cv2
import numpy as np

from emocam.labels import EMOTIONS
from emocam.pipeline.facts import FrameFacts
from emocam.pipeline.faces import Face
from emocam.pipeline.style import EmotionBlend, processing_shape
from emocam.pipeline.temporal import TemporalStyler

MODES = ("frame", "person", "background")
MASK_SIDE = 256  # longest side of the working masks
MASK_TAU_S = 0.08  # time constant of the mask smoothing: steady edges, no trail once a person has moved on
FADE_S = 0.3  # a new track fades in, a lost track fades out, over this long
OVAL_GROW = (1.15, 1.35)  # face oval half-axes against half the detector box (the box stops at brow and chin)
ASSIGN_SOFTNESS = 0.2  # width of the seam between two people, in face widths
BODY_STRETCH = 3.0  # below the face, distance counts this much less (a body hangs under its face)
PERSON_LOW, PERSON_HIGH = 0.2, 0.6  # selfie confidence mapped to 0..1 over this range (clothes often read ~0.5)
MIN_LAYER_WEIGHT = 0.01  # an emotion whose weight stays under this everywhere is not stylized (end of a fade)


@dataclass
class RegionPlan:
    """Where each style falls in one frame (maps at the working size, float32 0..1)."""

    weights: dict[str, np.ndarray]  # emotion -> map; the maps sum to 1 at every pixel
    amount: np.ndarray  # how much style each pixel takes (before the global strength)
    people: dict[int, dict[str, float]] = field(default_factory=dict)  # track id -> its style (emotion -> weight)

    @property
    def styles(self) -> list[str]:
        """The emotions to stylize with: one network run each."""
        return [e for e in EMOTIONS if e in self.weights]


@dataclass
class _Track:
    """What the styler remembers of one person between frames."""

    region: np.ndarray  # their share of the people mask, smoothed
    oval: np.ndarray  # their face oval, smoothed
    blend: EmotionBlend
    presence: float = 0.0  # fades 0 -> 1 while the track lives, 1 -> 0 once it is gone
    last_time: float = 0.0


def _ema(previous: np.ndarray, current: np.ndarray, dt: float, tau: float) -> np.ndarray:
    a = 1.0 if tau <= 0 or dt <= 0 else 1.0 - math.exp(-dt / tau)
    return previous + np.float32(a) * (current - previous)


def face_oval(shape: tuple[int, int], face: Face, scale: float) -> np.ndarray:
    """A feathered ellipse over the face (forehead to chin), tilted with the eye line; float32 0..1."""
    x0, y0, x1, y1 = (v * scale for v in face.box)
    w, h = x1 - x0, y1 - y0
    cx, cy, angle = (x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * h, 0.0
    if face.keypoints is not None:
        eyes = face.keypoints[:2] * scale
        dx, dy = eyes[1] - eyes[0]
        angle = math.degrees(math.atan2(dy, dx)) if abs(dx) > 1e-3 else 0.0
        ears = face.keypoints[4:6] * scale
        w = max(w, float(np.hypot(*(ears[1] - ears[0]))))
    oval = np.zeros(shape, np.float32)
    axes = (max(1, int(round(w / 2 * OVAL_GROW[0]))), max(1, int(round(h / 2 * OVAL_GROW[1]))))
    cv2.ellipse(oval, (int(round(cx)), int(round(cy))), axes, angle, 0, 360, 1.0, -1, cv2.LINE_AA)
    sigma = max(0.8, 0.12 * w)
    return cv2.GaussianBlur(oval, (0, 0), sigma)


def assign_people(person: np.ndarray, faces: list[Face], scale: float) -> list[np.ndarray]:
    """Each face's share of the person mask: pixels go to the nearest face (distance in face sizes, bodies
    stretched downwards), with a soft seam between neighbours. The shares sum to `person` (or 0 without faces)."""
    if not faces:
        return []
    h, w = person.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    scores = []
    for face in faces:
        x0, y0, x1, y1 = (v * scale for v in face.box)
        size = max(1.0, x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        dy = ys - cy
        dy = np.where(dy > 0, dy / BODY_STRETCH, dy)
        scores.append(-np.sqrt((xs - cx) ** 2 + dy ** 2) / (size * ASSIGN_SOFTNESS))
    scores = np.stack(scores)
    shares = np.exp(scores - scores.max(axis=0, keepdims=True))
    shares /= shares.sum(axis=0, keepdims=True)
    return [person * s for s in shares]


class RegionStyler:
    """Plans region styling frame by frame; masks and per-person styles carry over time, per track."""

    def __init__(self, segmenter, mode: str = "person", face_strength: float = 0.3, blend_s: float = 0.5) -> None:
        self.segmenter = segmenter  # a PersonSegmenter (or anything with segment(image, time) -> HxW 0..1)
        self.mode = mode
        self.face_strength = face_strength
        self.blend_s = blend_s
        self.temporal_mode = "off"  # the --temporal mode each style layer goes through (its own history)
        self._tracks: dict[int, _Track] = {}
        self._person: np.ndarray | None = None
        self._last_time: float | None = None
        self._engines: dict[str, TemporalStyler] = {}

    def reset(self) -> None:
        self._tracks.clear()
        self._engines.clear()
        self._person, self._last_time = None, None

    def engines(self, styles: list[str]) -> dict[str, TemporalStyler]:
        """A temporal engine per style on screen (kept while the style stays, dropped when it goes)."""
        self._engines = {e: engine for e, engine in self._engines.items()
                         if e in styles and engine.mode == self.temporal_mode}
        for emotion in styles:
            self._engines.setdefault(emotion, TemporalStyler(self.temporal_mode))
        return self._engines

    def plan(self, image: np.ndarray, faces: list[Face], frame_weights: np.ndarray, time: float) -> RegionPlan:
        """Masks and styles for one frame; `frame_weights` ([7]) is the background's (the frame's) style."""
        h, w = image.shape[:2]
        mw, mh = processing_shape(w, h, MASK_SIDE)
        scale = mw / w
        dt = 0.0 if self._last_time is None else max(0.0, time - self._last_time)
        self._last_time = time
        small = cv2.resize(image, (mw, mh), interpolation=cv2.INTER_AREA)
        person = np.clip((self.segmenter.segment(small, time) - PERSON_LOW) / (PERSON_HIGH - PERSON_LOW), 0.0, 1.0)
        first = self._person is None or self._person.shape != person.shape
        if first:
            self._person, self._tracks = person, {}
        self._person = _ema(self._person, person, dt, MASK_TAU_S)
        self._update_tracks([f for f in faces if f.track_id is not None], dt, time, scale, first)

        frame_weights = np.asarray(frame_weights, np.float32)
        tracks = list(self._tracks.items())
        # ovals only where the segmenter sees a person: a face that has left takes its oval along at once
        ovals = self._union(t.oval * t.presence for _, t in tracks) * np.clip(self._person * 2.0, 0.0, 1.0)
        if self.mode == "background":
            amount = 1.0 - np.maximum(self._person, ovals) * (1.0 - self.face_strength)
            return RegionPlan(self._layers([], frame_weights), amount.astype(np.float32))
        regions = [(t.region * t.presence, t.blend.weights) for _, t in tracks]
        amount = 1.0 - ovals * (1.0 - self.face_strength)
        people = {tid: {e: round(float(v), 4) for e, v in zip(EMOTIONS, t.blend.weights) if v > 1e-4}
                  for tid, t in tracks if t.last_time == time}
        for face in faces:
            face.style = people.get(face.track_id)
        return RegionPlan(self._layers(regions, frame_weights), amount.astype(np.float32), people)

    def _update_tracks(self, faces: list[Face], dt: float, time: float, scale: float, first: bool) -> None:
        """Smooth each live track's region and oval; fade tracks in and out (at once on the first frame, so a
        still is styled fully); drop the faded."""
        shape = self._person.shape
        shares = assign_people(self._person, faces, scale)
        fade = 1.0 if FADE_S <= 0 else dt / FADE_S
        for face, share in zip(faces, shares):
            track = self._tracks.get(face.track_id)
            oval = face_oval(shape, face, scale)
            if track is None:
                track = self._tracks[face.track_id] = _Track(share, oval, EmotionBlend(self.blend_s))
            track.blend.blend_s = self.blend_s
            track.blend.update(face.emotion or "neutral", time)
            track.region = _ema(track.region, share, dt, MASK_TAU_S)
            track.oval = _ema(track.oval, oval, dt, MASK_TAU_S)
            track.presence = 1.0 if first else min(1.0, track.presence + fade)
            track.last_time = time
        for tid in [tid for tid, t in self._tracks.items() if t.last_time != time]:
            track = self._tracks[tid]
            track.presence -= fade
            track.region = np.minimum(track.region, self._person)  # fading, but only where someone still is
            if track.presence <= 0:
                del self._tracks[tid]

    def _union(self, maps) -> np.ndarray:
        out = np.zeros_like(self._person)
        for m in maps:
            np.maximum(out, m, out=out)
        return out

    def _layers(self, regions: list[tuple[np.ndarray, np.ndarray]], frame_weights: np.ndarray) -> dict[str, np.ndarray]:
        """Per emotion, where its style falls: people by their own blend, the rest by the frame's."""
        covered = np.zeros_like(self._person)
        for region, _ in regions:
            covered += region
        background = np.clip(1.0 - covered, 0.0, 1.0)
        scale = np.where(covered > 1.0, 1.0 / np.maximum(covered, 1e-6), 1.0).astype(np.float32)
        layers: dict[str, np.ndarray] = {}
        for i, emotion in enumerate(EMOTIONS):
            layer = background * frame_weights[i]
            for region, weights in regions:
                if weights[i] > 0:
                    layer = layer + region * scale * weights[i]
            if float(layer.max()) > MIN_LAYER_WEIGHT:
                layers[emotion] = layer.astype(np.float32)
        total = sum(layers.values())
        return {e: m / np.maximum(total, 1e-6) for e, m in layers.items()}


def composite(image: np.ndarray, stylized: dict[str, np.ndarray], plan: RegionPlan,
              strength: float = 1.0) -> np.ndarray:
    """The input with each style laid over its region: out = image + amount * strength * (styled - image), where
    styled is the per-pixel weighted mean of the stylized frames (cv2.blendLinear: one pass per style)."""
    h, w = image.shape[:2]

    def full(m: np.ndarray) -> np.ndarray:
        return cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)

    styled, total = None, None
    for emotion in plan.styles:
        weight = full(plan.weights[emotion])
        if styled is None:
            styled, total = stylized[emotion], weight
        else:
            styled = cv2.blendLinear(styled, stylized[emotion], total, weight)
            total = total + weight
    if styled is None:
        return image
    amount = np.clip(full(plan.amount * np.float32(strength)), 0.0, 1.0)
    return cv2.blendLinear(styled, image, amount, 1.0 - amount)


def stylize_regions(styler: RegionStyler, stylizer, image: np.ndarray, faces: list[Face], frame_weights: np.ndarray,
                    time: float, process_size: int | None, strength: float) -> tuple[np.ndarray, FrameFacts, float]:
    """The whole region step for the pipeline: plan, one network run per style in the plan (each through its own
    temporal engine, so --temporal steadies every layer), composite.

    Returns the output, facts for the frame's record, and the ms spent outside the style network."""
    started = clock.perf_counter()
    plan = styler.plan(image, faces, frame_weights, time)
    facts = FrameFacts(keyframe=False, regions=styler.mode, styles=list(plan.styles))
    if strength <= 0:
        return image, facts, (clock.perf_counter() - started) * 1000
    overhead = clock.perf_counter() - started
    stylized = {}
    for emotion, engine in styler.engines(plan.styles).items():
        weights = np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index(emotion)]
        stylized[emotion], engine_facts = engine.process(image, lambda small, w=weights: stylizer.stylize(small, w, None, 1.0),
                                                  process_size, style=weights)
        facts.keyframe = facts.keyframe or engine_facts["keyframe"]
        facts.temporal_reset = facts.temporal_reset or engine_facts["reset"]
    started = clock.perf_counter()
    output = composite(image, stylized, plan, strength)
    return output, facts, (overhead + clock.perf_counter() - started) * 1000
