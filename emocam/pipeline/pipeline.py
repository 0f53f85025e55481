"""The frame pipeline shared by `emocam render` and the live window: detect, track, classify, smooth, stylize."""
from __future__ import annotations

import time as clock
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emocam.errors import EmocamError
from emocam.pipeline.emotion import DEFAULT_EMOTION_MODEL, EmotionClassifier
from emocam.pipeline.faces import FaceDetector
from emocam.labels import EMOTIONS
from emocam.modelstore.manifest import find_model
from emocam.pipeline.smoothing import EmotionSmoother, FrameEmotion, TrackEmotion
from emocam.pipeline.style import EmotionBlend, Stylizer, load_pack, style_vector
from emocam.pipeline.tracking import Tracker


@dataclass
class Settings:
    """Everything a user can set; the pipeline reads it every frame, so a live change takes effect at once."""

    device: str = "auto"  # auto | cpu | cuda
    pack: str = "default"  # a pack name or folder
    detector: str = "short"  # short | full
    min_confidence: float = 0.5
    emotion_model: Path | None = None  # an exported ONNX from tools.emotion.train; None = the FER model
    smoothing_s: float = 0.4  # EMA time constant of the emotion probabilities
    dwell_s: float = 0.4  # a new emotion must lead for this long before it switches
    margin: float = 0.1  # ... and lead by this much
    hold_s: float = 1.0  # with no face, keep the last emotion this long, then neutral
    policy: str = "largest"  # largest | confident | majority
    blend_s: float = 0.5  # style fade time on an emotion change
    strength: float = 1.0  # 0 = original, 1 = fully stylized
    process_size: int | None = 512  # longest side the style network sees; output keeps the input size
    max_miss_s: float = 0.7  # a face track survives misses this long
    styles: dict[str, int] = field(default_factory=dict)  # per-emotion style index overrides (multistyle packs)


@dataclass
class FaceState:
    """One tracked face in a frame."""

    track_id: int
    box: tuple[float, float, float, float]
    probs: np.ndarray  # smoothed, EMOTIONS order
    emotion: str  # dominant after hysteresis
    seen: bool  # detected in this very frame (False while a track coasts over a miss)


@dataclass
class FrameResult:
    output: np.ndarray
    faces: list[FaceState]
    emotion: str
    style_weights: dict[str, float]
    timings: dict[str, float]
    time: float


# settings that need new detector / models / sessions when they change
_DETECTOR_KEYS = ("detector", "min_confidence")
_MODEL_KEYS = ("device", "emotion_model")
_STYLE_KEYS = ("device", "pack")


class Pipeline:
    """Turns RGB frames into stylized frames by the smoothed emotion of the faces in them."""

    def __init__(self, settings: Settings | None = None, video_mode: bool = True) -> None:
        self.settings = settings or Settings()
        self.video_mode = video_mode
        self.tracker = Tracker(self.settings.max_miss_s)
        self.frame_emotion = FrameEmotion(self.settings.policy, self.settings.hold_s)
        self.blend = EmotionBlend(self.settings.blend_s)
        self._built: dict[str, tuple] = {}
        self._failed: tuple[tuple, EmocamError] | None = None
        self._last_time: float | None = None
        self._ensure_components()

    # -- components, rebuilt when the settings they depend on change --------------------------------
    def _key(self, names: tuple[str, ...]) -> tuple:
        return tuple(getattr(self.settings, n) for n in names)

    def _ensure_components(self) -> None:
        """Build what the current settings need; a failed build is not retried until the settings change."""
        key = self._key(_DETECTOR_KEYS + _MODEL_KEYS + _STYLE_KEYS)
        if self._failed and self._failed[0] == key:
            raise self._failed[1]
        try:
            self._build_components()
        except EmocamError as exc:
            self._failed = (key, exc)
            raise
        self._failed = None

    def _build_components(self) -> None:
        s = self.settings
        if self._built.get("classifier") != self._key(_MODEL_KEYS):
            path = Path(s.emotion_model) if s.emotion_model else find_model(DEFAULT_EMOTION_MODEL)
            self.classifier = EmotionClassifier(path, s.device)
            self._built["classifier"] = self._key(_MODEL_KEYS)
        if self._built.get("stylizer") != self._key(_STYLE_KEYS):
            self.pack = load_pack(s.pack)
            self.stylizer = Stylizer(self.pack, s.device)
            self._built["stylizer"] = self._key(_STYLE_KEYS)
        # the detector comes last: a MediaPipe detector left unclosed by a failed build can deadlock in
        # its __del__, so it is only made once the models (where device errors arise) are in place
        if self._built.get("detector") != self._key(_DETECTOR_KEYS):
            if "detector" in self._built:
                self.detector.close()
            self.detector = FaceDetector(s.detector, s.min_confidence, self.video_mode)
            self._built["detector"] = self._key(_DETECTOR_KEYS)
        self._apply_style_overrides()
        self.tracker.max_miss_s = s.max_miss_s
        self.frame_emotion.policy, self.frame_emotion.hold_s = s.policy, s.hold_s
        self.blend.blend_s = s.blend_s

    def _apply_style_overrides(self) -> None:
        """The live style editor's choices (emotion -> style index) over the pack's own mapping."""
        if self.pack.kind != "multistyle":
            return
        for emotion in EMOTIONS:
            spec = self.settings.styles.get(emotion, self.pack.raw["styles"][emotion])
            self.pack.styles[emotion] = style_vector(spec, emotion, self.pack.folder)

    @property
    def devices(self) -> dict[str, str]:
        """The device each inference stage really runs on (MediaPipe's detector runs on the CPU)."""
        return {"detect": "cpu", "classify": self.classifier.device, "stylize": self.stylizer.device}

    def reset(self) -> None:
        """Forget faces, their emotions and timing (a new source, a new photo, or a loop back to the start)."""
        self.tracker.reset()
        self.frame_emotion = FrameEmotion(self.settings.policy, self.settings.hold_s)
        self._last_time = None

    # -- the frame step ------------------------------------------------------------------------------
    def process(self, image: np.ndarray, time: float) -> FrameResult:
        """Detect, track, classify, smooth and stylize one RGB frame shown at `time` seconds."""
        self._ensure_components()
        if self._last_time is not None and time < self._last_time:
            self.reset()  # time went backwards: a loop or a new source
        self._last_time = time
        s = self.settings
        timings: dict[str, float] = {}

        started = clock.perf_counter()
        faces = self.detector.detect(image, time)
        tracks = self.tracker.update(faces, time)
        timings["detect"] = (clock.perf_counter() - started) * 1000

        started = clock.perf_counter()
        seen = [t for t in tracks if t.seen_now]
        probs = self.classifier.classify(image, [t.box for t in seen])
        states = []
        for track, p in zip(seen, probs):
            smoother = track.state.setdefault("smoother", EmotionSmoother())
            smoother.time_constant_s, smoother.dwell_s, smoother.margin = s.smoothing_s, s.dwell_s, s.margin
            smoother.update(p, time)
        for track in tracks:
            smoother = track.state.get("smoother")
            if smoother is None or smoother.probs is None:
                continue
            states.append(FaceState(track.track_id, track.box, smoother.probs.astype(np.float32), EMOTIONS[smoother.dominant], track.seen_now))
        frame_faces = [TrackEmotion(_area(f.box), f.probs, EMOTIONS.index(f.emotion)) for f in states]
        emotion = self.frame_emotion.update(frame_faces, time)
        weights = self.blend.update(emotion, time)
        timings["classify"] = (clock.perf_counter() - started) * 1000

        started = clock.perf_counter()
        output = self.stylizer.stylize(image, weights, s.process_size, s.strength)
        timings["stylize"] = (clock.perf_counter() - started) * 1000
        style_weights = {e: round(float(w), 4) for e, w in zip(EMOTIONS, weights) if w > 1e-4}
        return FrameResult(output, states, EMOTIONS[emotion], style_weights, timings, time)

    def close(self) -> None:
        """Release the MediaPipe detector (always call this: MediaPipe's own finaliser can deadlock)."""
        if "detector" in self._built:
            self.detector.close()


def _area(box: tuple[float, float, float, float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])

