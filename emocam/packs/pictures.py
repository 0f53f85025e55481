"""The `pictures` pack kind: any painting or photo as an emotion's style, with no training.

Magenta's arbitrary stylization (Ghiasi et al. 2017) comes as two networks: a predictor that turns a style
picture into a 100-number style vector, and a transform that restyles a frame by a vector. The predictor runs
once per picture (its vector is cached beside the pack, keyed by the picture's sha256); only the transform
runs per frame, and an emotion change blends the vectors, like multistyle26 blends its style weights.

Both networks are exported with fixed sizes (predictor 256x256, transform 384x384) but are fully
convolutional, so their image axes are declared free (`onnx_dims`) and each runs at the real size: the
frame at the processing size (no tiles, seams, letterbox or squashing) and the picture with its short side at
256 px, its aspect kept.

pack.json: {"name": ..., "kind": "pictures", "pictures": {"happy": "pictures/a.jpg",
"sad": {"pictures/b.png": 0.7, "pictures/c.jpg": 0.3}, ...}}. Paths are relative to the pack folder. An
emotion not listed takes neutral's style; when neutral is not listed either, every unlisted emotion takes
the mean of the listed emotions' styles.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import weakref
from pathlib import Path

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.modelstore.manifest import find_model, sha256_file
from emocam.runtime import Network, load_network
from emocam.runtime.base import image_tensor, tensor_image
from emocam.io.sources import read_image
from emocam.packs.base import EditorView, PackKind, StylePack, blend, register

KIND = "pictures"
PREDICT_MODEL, TRANSFORM_MODEL = "arbitrary_predict.onnx", "arbitrary_transform.onnx"
STYLE_INPUT, VECTOR, CONTENT_INPUT = "style_image", "mobilenet_conv/Conv/BiasAdd", "content_image"
TRANSFORM_OUTPUT = "transformer/expand/conv3/conv/Sigmoid"
VECTOR_SIZE = 100
STYLE_SIDE = 256  # the predictor's training size: a picture's short side is scaled to this
MAX_STYLE_ASPECT = 4  # a longer picture is centre-cropped to 4:1 (a strip of sky is still its own style)
MIN_PICTURE_SIDE = 64  # below this a picture holds too little texture to be a style
CACHE_FILE = "style_vectors.json"
Blend = list[tuple[Path, float]]  # pictures and their weights (summing to 1)


def read_picture(path: Path) -> np.ndarray:
    """A style picture as RGB uint8, or EmocamError in one line (missing, not an image, damaged, tiny)."""
    path = Path(path)
    if not path.exists():
        raise EmocamError(f"style picture {path} not found")
    if path.is_dir():
        raise EmocamError(f"style picture {path} is a folder, not an image")
    image = read_image(path)
    h, w = image.shape[:2]
    if min(h, w) < MIN_PICTURE_SIDE:
        raise EmocamError(f"style picture {path} is {w}x{h}: a style picture needs at least "
                          f"{MIN_PICTURE_SIDE} pixels on each side")
    return image


def parse_blend(spec, emotion: str, where: str, base: Path | None = None) -> Blend:
    """A pack.json entry (a path, or {path: weight}) as pictures with weights summing to 1."""
    items = [(spec, 1.0)] if isinstance(spec, str) else list(spec.items()) if isinstance(spec, dict) else None
    try:
        blend = [(Path(p), float(w)) for p, w in items if isinstance(p, str) and p.strip()] if items else None
    except (TypeError, ValueError):
        blend = None
    if not blend or len(blend) != len(items) or any(not np.isfinite(w) or w <= 0 for _, w in blend):
        raise EmocamError(f"{where}: the picture for {emotion} must be a file name or {{file: weight}} "
                          "with positive weights")
    total = sum(w for _, w in blend)
    return [((base / p) if base is not None else p, w / total) for p, w in blend]


class StyleEncoder:
    """The predictor: style vectors of pictures, each computed once and cached beside its pack."""

    def __init__(self) -> None:
        self.runs = 0  # predictor runs so far (the tests count them)
        self.known: dict[str, list[float]] = {}  # this process's vectors by picture sha256 (this predictor)
        self._session = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        """What a cached vector depends on besides the picture: the predictor file and the preprocessing."""
        return f"{sha256_file(find_model(PREDICT_MODEL))}/short-side-{STYLE_SIDE}/aspect-{MAX_STYLE_ASPECT}"

    def encode(self, image: np.ndarray) -> np.ndarray:
        """The [100] style vector of an RGB picture (one predictor run, on the CPU: it runs once per picture)."""
        h, w = image.shape[:2]
        scale = STYLE_SIDE / min(h, w)
        size = (max(STYLE_SIDE, round(w * scale)), max(STYLE_SIDE, round(h * scale)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        limit = STYLE_SIDE * MAX_STYLE_ASPECT
        y0, x0 = max(0, (small.shape[0] - limit) // 2), max(0, (small.shape[1] - limit) // 2)
        small = small[y0:y0 + limit, x0:x0 + limit]
        x = np.ascontiguousarray(small[None], dtype=np.float32) / 255.0
        with self._lock:
            if self._session is None:  # fp32 onnxruntime: the vectors are cached by the predictor's sha256 alone
                self._session = load_network(find_model(PREDICT_MODEL), "cpu-onnxruntime", "fp32",
                                             axes={STYLE_INPUT: {1: "h", 2: "w"}})
            self.runs += 1
            return self._session.run({STYLE_INPUT: x})[0].reshape(VECTOR_SIZE).astype(np.float32)

    def vectors(self, folder: Path, pictures: list[Path]) -> dict[Path, np.ndarray]:
        """Each picture's vector: from `folder`'s cache (or this process's) when its sha256 is there, else
        computed; `folder`'s cache gets what it lacked. A cache that cannot be written (a read-only pack)
        only costs a recomputation in a later process."""
        cache_path = folder / CACHE_FILE
        cache = _read_cache(cache_path, self.key)
        out: dict[Path, np.ndarray] = {}
        added = False
        for path in dict.fromkeys(pictures):
            digest = _digest(path)  # a known sha256 is a picture that decoded well: no need to decode it again
            if digest not in cache:
                if digest not in self.known:
                    self.known[digest] = self.encode(read_picture(path)).tolist()
                cache[digest] = self.known[digest]
                added = True
            self.known.setdefault(digest, cache[digest])
            out[path] = np.asarray(cache[digest], np.float32)
        if added:
            write_json_atomic(cache_path, {"encoder": self.key, "vectors": cache}, quiet=True)
        return out


ENCODER = StyleEncoder()


def _digest(path: Path) -> str:
    """The picture's sha256, or EmocamError in one line (missing, a folder, a device, unreadable)."""
    if not Path(path).is_file():
        read_picture(path)  # raises the reason
    try:
        return sha256_file(path)
    except OSError as exc:
        raise EmocamError(f"cannot read style picture {path}: {exc.strerror}") from None


def _read_cache(path: Path, key: str) -> dict[str, list[float]]:
    try:
        data = json.loads(path.read_text())
        vectors = data["vectors"] if data.get("encoder") == key else {}
        return {k: v for k, v in vectors.items() if isinstance(v, list) and len(v) == VECTOR_SIZE
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) for x in v)}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}  # no cache yet, or one from another predictor: recompute


def write_json_atomic(path: Path, data: dict, quiet: bool = False) -> None:
    """Write JSON atomically (a temporary file renamed over the old one): a reader never sees half a file."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a pack is as readable as any file the user writes
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        if "tmp" in locals():
            Path(tmp).unlink(missing_ok=True)
        if not quiet:
            raise EmocamError(f"cannot write {path}: {exc.strerror}") from None


def pack_pictures(raw: dict, folder: Path) -> dict[str, Blend]:
    """The emotions a pack lists and their pictures (paths resolved against the pack folder)."""
    where = folder / "pack.json"
    spec = raw.get("pictures")
    if not isinstance(spec, dict) or not spec:
        raise EmocamError(f"{where}: a pictures pack needs `pictures`: emotion -> picture file")
    unknown = sorted(set(spec) - set(EMOTIONS))
    if unknown:
        raise EmocamError(f"{where}: unknown emotion {', '.join(unknown)} (use {', '.join(EMOTIONS)})")
    return {e: parse_blend(spec[e], e, str(where), folder) for e in EMOTIONS if e in spec}


def fallback_source(listed: set[str]) -> dict[str, str]:
    """Where each unlisted emotion's style comes from: "neutral", or "mean" (of the listed emotions)."""
    source = "neutral" if "neutral" in listed else "mean"
    return {e: source for e in EMOTIONS if e not in listed}


def emotion_vectors(pictures: dict[str, Blend], vectors: dict[Path, np.ndarray]) -> dict[str, np.ndarray]:
    """A style vector for every emotion: listed ones blend their pictures' vectors, the rest fall back."""
    styles = {e: sum(w * vectors[p] for p, w in blend).astype(np.float32) for e, blend in pictures.items()}
    mean = np.mean([styles[e] for e in pictures], axis=0).astype(np.float32)
    for emotion, source in fallback_source(set(pictures)).items():
        styles[emotion] = styles["neutral"] if source == "neutral" else mean
    return styles


def load_pictures_pack(folder: Path, raw: dict) -> StylePack:
    """A pictures pack with a style vector for each emotion (the predictor runs only for uncached pictures)."""
    pictures = pack_pictures(raw, folder)
    model = raw.get("model", TRANSFORM_MODEL)
    if not isinstance(model, str) or not model:
        raise EmocamError(f"{folder / 'pack.json'}: `model` must be a file name (default {TRANSFORM_MODEL})")
    transform = find_model(model)
    vectors = ENCODER.vectors(folder, [p for blend in pictures.values() for p, _ in blend])
    pack = StylePack(raw.get("name", folder.name), KIND, folder, {"*": transform},
                     emotion_vectors(pictures, vectors), raw.get("description", ""), raw)
    _LOADED.setdefault(folder.resolve(), []).append(weakref.ref(pack))
    return pack


_LOADED: dict[Path, list[weakref.ref]] = {}  # pack folder -> the pictures packs loaded from it in this process


def refresh_loaded(folder: Path, raw: dict) -> int:
    """Give every pack loaded from `folder` in this process the styles of `raw` (its new pack.json) at once.

    A pack in use by a running pipeline then shows an edit (the live style editor's new picture) on its next
    frame, with no reload: its style vectors are replaced in place. Returns how many packs were updated."""
    pictures = pack_pictures(raw, folder)
    styles = emotion_vectors(pictures, ENCODER.vectors(folder, [p for b in pictures.values() for p, _ in b]))
    alive = [pack for ref in _LOADED.get(folder.resolve(), []) if (pack := ref()) is not None]
    _LOADED[folder.resolve()] = [weakref.ref(pack) for pack in alive]
    for pack in alive:
        pack.raw = raw
        pack.styles.update(styles)
    return len(alive)


def transform_network(path: Path, device: str, precision: str = "auto") -> Network:
    """The transform with free image axes (declared once, in the model cache): it runs at any frame size."""
    return load_network(path, device, precision, axes={CONTENT_INPUT: {1: "h", 2: "w"}, TRANSFORM_OUTPUT: {1: "h", 2: "w"}})


def transform(network: Network, x: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Restyle x ([1,3,H,W] float 0..1, H and W multiples of 4) by a [100] style vector; [1,3,H,W] out."""
    feed = {CONTENT_INPUT: np.ascontiguousarray(x.transpose(0, 2, 3, 1)),
            VECTOR: np.asarray(vector, np.float32).reshape(1, 1, 1, VECTOR_SIZE)}
    return network.run(feed)[0].transpose(0, 3, 1, 2)


class Pictures(PackKind):
    name = KIND
    cost = "one transform run per frame; the predictor once per new picture (cached by sha256)"

    def parse(self, raw: dict, folder: Path, where: Path) -> StylePack:
        return load_pictures_pack(folder, raw)

    def load(self, pack: StylePack, device: str, precision: str) -> dict[str, Network]:
        return {"*": transform_network(pack.models["*"], device, precision)}

    def editor_view(self, pack: StylePack, choices: dict[str, int]) -> EditorView:
        """Each emotion's picture(s), or the emotion it follows: pictures are dropped in, not chosen from a list."""
        listed = pack_pictures(pack.raw, pack.folder)
        follows = {e: f"as {s if s == 'neutral' else 'the mean'}" for e, s in fallback_source(set(listed)).items()}
        mapping = {e: " + ".join(p.name for p, _ in listed[e]) if e in listed else follows[e] for e in EMOTIONS}
        return EditorView(mapping, pictures={e: b[0][0] for e, b in listed.items()})

    def run(self, pack: StylePack, networks: dict[str, Network], image: np.ndarray, emotion_weights: np.ndarray) -> np.ndarray:
        """Blend the pictures' style vectors: one transform run, no predictor."""
        return tensor_image(transform(networks["*"], image_tensor(image), blend(pack, emotion_weights)))


register(Pictures())
