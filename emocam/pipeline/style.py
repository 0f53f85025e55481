"""Style packs (emotion -> style) and the stylizer that restyles whole frames with smooth emotion changes."""
from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.modelstore.manifest import find_model, load_manifest, model_dirs, verify_file
from emocam.modelstore.onnx_graph import onnx_input_names
from emocam.pipeline.picture_style import load_pictures_pack, transform, transform_network
from emocam.pipeline.style_pack import StylePack
from emocam.runtime import Network, load_network

MULTISTYLE_COUNT = 26


def _resolve_file(folder: Path, name: str) -> Path:
    """A pack's model file: beside pack.json (verified when the models manifest lists it), else by find_model."""
    local = folder / name
    if not local.is_file():
        return find_model(name)
    key = f"packs/{folder.name}/{name}"
    return verify_file(local, key) if key in load_manifest() else local


def style_vector(spec, emotion: str, pack: Path) -> np.ndarray:
    """A style index 0-25, or {index: weight} with finite positive weights, as a normalised [26] weight vector."""
    weights = np.zeros(MULTISTYLE_COUNT, np.float32)
    items = list(spec.items()) if isinstance(spec, dict) else [(spec, 1.0)]
    for index, weight in items:
        index = _style_index(index)
        if index is None:
            raise EmocamError(f"{pack}: the style for {emotion} must be an index 0-{MULTISTYLE_COUNT - 1} "
                              f"or {{index: weight}}, got {json.dumps(spec)[:60]}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight <= 0:
            raise EmocamError(f"{pack}: style weights for {emotion} must be finite numbers above 0, got {weight!r}")
        weights[index] += float(weight)
    if not items or not weights.sum() > 0:
        raise EmocamError(f"{pack}: the style for {emotion} is empty")
    return weights / weights.sum()


def _style_index(value) -> int | None:
    """An int (or a string of one, as JSON object keys are) in 0..25, else None (no bool, no 5.5, no -1)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MULTISTYLE_COUNT:
        return None
    return value


def pack_folders() -> dict[str, Path]:
    """Every pack found under <models dir>/packs, by name (earlier models dirs win)."""
    found: dict[str, Path] = {}
    for directory in model_dirs():
        for manifest in sorted((directory / "packs").glob("*/pack.json")):
            found.setdefault(manifest.parent.name, manifest.parent)
    return found


def list_packs() -> list[str]:
    return sorted(pack_folders())


def load_pack(spec: str | Path) -> StylePack:
    """A pack by name (models/packs/NAME), or a path to its folder or pack.json."""
    path = Path(spec)
    if path.suffix == ".json" and path.is_file():
        folder = path.parent
    elif (path / "pack.json").is_file():
        folder = path
    elif str(spec) in pack_folders():
        folder = pack_folders()[str(spec)]
    else:
        raise EmocamError(f"style pack {spec!r} not found; known packs: {', '.join(list_packs()) or 'none'}")
    where = folder / "pack.json"
    try:
        raw = json.loads(where.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise EmocamError(f"cannot read {where}: {getattr(exc, 'strerror', None) or str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise EmocamError(f"{where} must hold a JSON object ({{\"kind\": ..., ...}}), not {type(raw).__name__}")
    kind = raw.get("kind")
    name = raw.get("name", folder.name)
    if not isinstance(name, str) or not isinstance(raw.get("description", ""), str):
        raise EmocamError(f"{where}: `name` and `description` must be strings")
    if kind == "multistyle":
        styles, model = raw.get("styles"), raw.get("model")
        if not isinstance(styles, dict) or not isinstance(model, str) or not model:
            raise EmocamError(f"{where}: a multistyle pack needs `model` (a file name) and `styles` (an object of emotion: style)")
        _check_emotion_keys(styles, "styles", where)
        vectors = {e: style_vector(styles[e], e, folder) for e in EMOTIONS}
        files = {"*": _resolve_file(folder, model)}
    elif kind == "per_emotion":
        models = raw.get("models")
        if not isinstance(models, dict):
            raise EmocamError(f"{where}: a per_emotion pack needs `models` (an object of emotion: file name)")
        _check_emotion_keys(models, "models", where)
        bad = [e for e in EMOTIONS if not isinstance(models[e], str) or not models[e]]
        if bad:
            raise EmocamError(f"{where}: the model for {', '.join(bad)} must be a file name")
        vectors, files = {}, {e: _resolve_file(folder, models[e]) for e in EMOTIONS}
    elif kind == "pictures":  # any painting or photo as an emotion's style (emocam/pipeline/picture_style.py)

        return load_pictures_pack(folder, raw)
    else:
        raise EmocamError(f"{where}: kind must be multistyle, per_emotion or pictures, not {json.dumps(kind)[:40]}")
    for path in dict.fromkeys(files.values()):
        _check_model_inputs(path, kind)
    return StylePack(name, kind, folder, files, vectors, raw.get("description", ""), raw)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _check_emotion_keys(mapping: dict, key: str, where: Path) -> None:
    missing = [e for e in EMOTIONS if e not in mapping]
    unknown = [k for k in mapping if k not in EMOTIONS]
    if missing or unknown:
        problem = f"lacks {', '.join(missing)}" if missing else f"names unknown emotions {', '.join(map(str, unknown))}"
        raise EmocamError(f"{where}: `{key}` {problem} (it needs exactly {', '.join(EMOTIONS)})")


def _check_model_inputs(path: Path, kind: str) -> None:
    """A multistyle network takes `image` and `style_weights`; a per-emotion network takes one image."""
    names = onnx_input_names(path)
    if kind == "multistyle" and set(names) != {"image", "style_weights"}:
        raise EmocamError(f"{path}: a multistyle pack's model must take inputs image and style_weights, not {', '.join(names) or 'none'}")
    if kind == "per_emotion" and len(names) != 1:
        raise EmocamError(f"{path}: a per_emotion pack's model must take one image input, not {', '.join(names) or 'none'}")


def _check_image_input(network: Network, path: Path) -> None:
    """A style network must take [1, 3, H, W] with free H and W (frames come at any size): say so at load,
    naming the file, rather than fail on the first frame."""
    inputs = network.inputs
    image = next((i for i in inputs if i.name == "image"), inputs[0])
    shape = list(image.shape)
    fixed = [d for d in shape[2:] if isinstance(d, int) and d > 0]
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3) or fixed:
        raise EmocamError(f"{path}: a style network must take an image [1, 3, height, width] of any size, "
                          f"but its input {image.name} is {shape}")


class EmotionBlend:
    """Weights over the 7 emotions that fade to a new emotion over `blend_s` seconds (smoothstep)."""

    def __init__(self, blend_s: float = 0.5, emotion: str = "neutral") -> None:
        self.blend_s = blend_s
        self.target = emotion
        self.weights = _onehot(emotion)
        self._start_weights = self.weights.copy()
        self._start_time: float | None = None
        self._first = True

    def update(self, emotion: str, time: float) -> np.ndarray:
        """Weights at `time` while fading towards `emotion`; the very first emotion is taken at once."""
        if self._first:
            self._first, self.target = False, emotion
            self.weights = _onehot(emotion)
        if emotion != self.target:
            self._start_weights, self._start_time, self.target = self.weights.copy(), time, emotion
        goal = _onehot(self.target)
        if self._start_time is None or self.blend_s <= 0:
            self.weights = goal
        else:
            k = min(1.0, max(0.0, (time - self._start_time) / self.blend_s))
            k = k * k * (3 - 2 * k)
            self.weights = (1 - k) * self._start_weights + k * goal
        return self.weights


def _onehot(emotion: str) -> np.ndarray:
    return np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index(emotion)]


MIN_PROCESS_SIDE = 16  # the networks' reflect padding needs at least this many pixels on the short side


def processing_shape(width: int, height: int, longest: int | None) -> tuple[int, int]:
    """(w, h) scaled so the longest side is at most `longest`, both multiples of 4 (the networks downsample by 4).

    The short side never shrinks below MIN_PROCESS_SIDE (a 4000x16 frame is processed at full size)."""
    scale = min(1.0, longest / max(width, height)) if longest else 1.0
    scale = min(1.0, max(scale, MIN_PROCESS_SIDE / max(1, min(width, height))))
    return max(4, int(round(width * scale / 4)) * 4), max(4, int(round(height * scale / 4)) * 4)


class Stylizer:
    """Restyles whole frames with a pack; returns frames at the input size."""

    def __init__(self, pack: StylePack, device: str = "auto", precision: str = "auto") -> None:
        self.pack = pack
        if pack.kind == "pictures":  # the transform with free image axes: it runs at any frame size
            self.networks = {"*": transform_network(pack.models["*"], device, precision)}
        else:
            self.networks = {key: load_network(path, device, precision) for key, path in pack.models.items()}
            for key, path in pack.models.items():
                _check_image_input(self.networks[key], path)
        self.ran = next(iter(self.networks.values())).ran
        self.device = str(self.ran)  # what really runs the style network(s), e.g. "cpu bf16 (openvino)"

    def stylize(self, image: np.ndarray, emotion_weights: np.ndarray, process_size: int | None, strength: float) -> np.ndarray:
        """Whole-frame stylization by the blend of emotions in `emotion_weights` ([7], sums to 1)."""
        if strength <= 0:
            return image
        h, w = image.shape[:2]
        pw, ph = processing_shape(w, h, process_size)
        small = cv2.resize(image, (pw, ph), interpolation=cv2.INTER_AREA) if (pw, ph) != (w, h) else image
        x = np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
        out = self._run(x, emotion_weights)
        result = (np.clip(out[0].transpose(1, 2, 0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        if (pw, ph) != (w, h):
            result = cv2.resize(result, (w, h), interpolation=cv2.INTER_LINEAR)
        if strength < 1:
            result = cv2.addWeighted(result, float(strength), image, float(1 - strength), 0.0)
        return result

    def look(self, emotion_weights: np.ndarray) -> np.ndarray:
        """What the network is asked for: the blended style vector (multistyle and pictures packs), else the
        emotion weights. Emotions that share a style blend into the same look, so a fade between them is no
        change of style (the temporal engine keeps its history through it)."""
        if self.pack.kind in ("multistyle", "pictures"):
            return np.asarray(self._blend(emotion_weights), np.float32)
        return np.asarray(emotion_weights, np.float32)

    def _blend(self, emotion_weights: np.ndarray) -> np.ndarray:
        return sum(float(a) * self.pack.styles[e] for e, a in zip(EMOTIONS, emotion_weights) if a > 0)

    def _run(self, x: np.ndarray, emotion_weights: np.ndarray) -> np.ndarray:
        if self.pack.kind == "multistyle":
            network = self.networks["*"]
            return network.run({"image": x, "style_weights": np.asarray(self._blend(emotion_weights), np.float32)})[0]
        if self.pack.kind == "pictures":  # blend the pictures' style vectors: one transform run, no predictor
            return transform(self.networks["*"], x, self._blend(emotion_weights))
        # one network per emotion: crossfade the outputs of the networks in play
        active = [(e, float(a)) for e, a in zip(EMOTIONS, emotion_weights) if a > 1e-3]
        total = sum(a for _, a in active)
        out = 0.0
        for emotion, a in active:
            network = self.networks[emotion]
            inp = network.inputs[0]
            out = out + (a / total) * network.run({inp.name: x.astype(inp.dtype, copy=False)})[0].astype(np.float32)
        return out
