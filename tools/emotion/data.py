"""Labeled face datasets for the emotion CNN: ExpW, FER2013 and a folder per class.

Every format is mapped onto the canonical order `emocam.labels.EMOTIONS`. A dataset is indexed
cheaply (no pixels decoded); `load_images` decodes RGB face crops resized to a square size, the same
preprocessing the app applies before its emotion model (crop, resize, scale onto the model's range).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.pipeline.faces import square_crop  # the app's own face crop: square, margin, edge padding, resize
from emocam.pipeline.sources import read_image

try:
    from emocam.labels import EMOTIONS
except ImportError:  # pragma: no cover - the tuple is the contract
    EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

FORMATS = ("expw", "fer2013", "folder")
SPLITS = ("train", "val", "test")
TRAIN, VAL, TEST = 0, 1, 2
# 70/20/10 as in the seed (section 4.3).
SPLIT_FRACTIONS = (0.7, 0.2, 0.1)
# ExpW and FER2013 both number their expressions in the canonical order.
EXPW_ORDER = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_ORDER = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_USAGE = {"training": TRAIN, "publictest": VAL, "privatetest": TEST}
# Margin around ExpW face boxes, as a share of the box side (the app grows detector boxes likewise).
CROP_MARGIN = 0.1
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

SYNONYMS = {
    "angry": "angry", "anger": "angry", "mad": "angry",
    "disgust": "disgust", "disgusted": "disgust", "disgusting": "disgust",
    "fear": "fear", "fearful": "fear", "afraid": "fear", "scared": "fear",
    "happy": "happy", "happiness": "happy", "joy": "happy", "joyful": "happy",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral", "neutrality": "neutral",
}
# Common emotion classes outside the seven: skipped with a warning.
UNSUPPORTED = ("contempt", "calm", "unknown", "notface", "none", "uncertain")
# Split folder names of a folder dataset laid out as <split>/<class>/.
SPLIT_DIRS = {"train": TRAIN, "training": TRAIN, "val": VAL, "valid": VAL, "validation": VAL,
              "test": TEST, "testing": TEST}


def warn(msg: str) -> None:
    """Print a one-line warning to stderr."""
    print(f"warning: {msg}", file=sys.stderr)


def canonical_label(name: str) -> str | None:
    """The canonical emotion for a class name (case-insensitive, synonyms); None if outside the seven."""
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    return SYNONYMS.get(key)


@dataclass
class EmotionSet:
    """An indexed dataset: one item per face, its canonical label and the dataset's own split if any."""

    name: str
    source: str
    items: list[Any]
    labels: np.ndarray  # int64 canonical index per face
    read: Callable[[Any, int], np.ndarray]  # (item, size) -> RGB uint8 face crop, size x size
    split: np.ndarray | None = None  # int8 TRAIN/VAL/TEST per face when the dataset defines it
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def subset(self, indices: np.ndarray) -> EmotionSet:
        """The faces at `indices`, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        return EmotionSet(
            self.name, self.source, [self.items[i] for i in indices], self.labels[indices], self.read,
            None if self.split is None else self.split[indices], list(self.notes),
        )

    def counts(self) -> np.ndarray:
        """Faces per canonical class."""
        return np.bincount(self.labels, minlength=len(EMOTIONS))


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an RGB crop to size x size (area filter when shrinking, bilinear when enlarging)."""
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    interp = cv2.INTER_AREA if size < min(h, w) else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def load_images(data: EmotionSet, indices: Sequence[int] | np.ndarray | None = None,
                size: int = 128, progress: str | None = None) -> np.ndarray:
    """RGB uint8 crops [N, size, size, 3] of the faces at `indices` (all when None).

    With `progress` (a description), a progress bar goes to stderr.
    """
    idx = np.arange(len(data)) if indices is None else np.asarray(indices, dtype=np.int64)
    out = np.empty((len(idx), size, size, 3), np.uint8)
    # Read in index order so that faces of one ExpW picture are decoded together.
    order = np.argsort(idx, kind="stable")
    if progress:
        from tqdm import tqdm

        order = tqdm(order, desc=progress, unit="face", leave=False, mininterval=1.0)
    for pos in order:
        out[pos] = data.read(data.items[idx[pos]], size)
    return out


# --- ExpW -------------------------------------------------------------------------------------


def _expw_images_dir(label_file: Path) -> Path:
    """The folder of ExpW pictures beside label.lst (origin/, image/origin/, ../image/origin/)."""
    base = label_file.parent
    for cand in (base / "origin", base / "image" / "origin", base / "images",
                 base.parent / "image" / "origin", base.parent / "origin"):
        if cand.is_dir():
            return cand
    raise EmocamError(f"no ExpW picture folder (origin/) beside {label_file}; pass --images DIR")


def load_expw(path: Path, images: Path | None = None, margin: float = CROP_MARGIN) -> EmotionSet:
    """Index ExpW's label.lst: `name face_id top left right bottom confidence label` per line."""
    label_file = path / "label.lst" if path.is_dir() else path
    if not label_file.is_file():
        found = sorted(path.rglob("label.lst"))[:1] if path.is_dir() else []
        if not found:
            raise EmocamError(f"no ExpW label.lst at {path}")
        label_file = found[0]
    image_dir = Path(images) if images is not None else _expw_images_dir(label_file)
    if not image_dir.is_dir():
        raise EmocamError(f"ExpW picture folder {image_dir} does not exist")
    items: list[tuple[str, tuple[int, int, int, int]]] = []
    labels: list[int] = []
    missing: set[str] = set()
    present: dict[str, bool] = {}
    with open(label_file, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 8:
                raise EmocamError(f"{label_file}:{n}: expected 8 fields "
                                  f"(name face_id top left right bottom confidence label), got {len(parts)}")
            try:
                top, left, right, bottom = (int(float(v)) for v in parts[2:6])
                label = int(parts[7])
            except ValueError:
                raise EmocamError(f"{label_file}:{n}: face box and label must be numbers") from None
            if not 0 <= label < len(EXPW_ORDER):
                raise EmocamError(f"{label_file}:{n}: expression label {label} is not 0-6")
            if right <= left or bottom <= top:
                raise EmocamError(f"{label_file}:{n}: empty face box")
            name = parts[0]
            if name not in present:
                present[name] = (image_dir / name).is_file()
            if not present[name]:
                missing.add(name)
                continue
            items.append((str(image_dir / name), (left, top, right, bottom)))
            labels.append(EMOTIONS.index(EXPW_ORDER[label]))
    if not items:
        raise EmocamError(f"{label_file}: no faces with a picture in {image_dir}")
    notes = []
    if missing:
        notes.append(f"{len(missing)} pictures named in {label_file.name} are missing from {image_dir}; "
                     "their faces are skipped")
        warn(notes[-1])

    @lru_cache(maxsize=4)
    def picture(p: str) -> np.ndarray:
        return read_image(p)

    def read(item: tuple[str, tuple[int, int, int, int]], size: int) -> np.ndarray:
        return square_crop(picture(item[0]), item[1], margin, size)

    return EmotionSet("ExpW", str(label_file), items, np.array(labels, np.int64), read, notes=notes)


# --- FER2013 ----------------------------------------------------------------------------------


def load_fer2013(path: Path) -> EmotionSet:
    """Index fer2013.csv (emotion, pixels[, Usage]); Usage gives the split when present."""
    csv_file = path / "fer2013.csv" if path.is_dir() else path
    if not csv_file.is_file():
        raise EmocamError(f"no fer2013.csv at {path}")
    grays: list[np.ndarray] = []
    labels: list[int] = []
    splits: list[int] = []
    with open(csv_file, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        if "emotion" not in header or "pixels" not in header:
            raise EmocamError(f"{csv_file}: header must name the columns emotion and pixels")
        ie, ip = header.index("emotion"), header.index("pixels")
        iu = header.index("usage") if "usage" in header else None
        for n, row in enumerate(reader, 2):
            if not row:
                continue
            try:
                label = int(row[ie])
                pixels = np.array(row[ip].split(), dtype=np.uint8)
            except (ValueError, IndexError):
                raise EmocamError(f"{csv_file}:{n}: emotion must be an integer and pixels numbers 0-255") from None
            if not 0 <= label < len(FER_ORDER):
                raise EmocamError(f"{csv_file}:{n}: emotion {label} is not 0-6")
            side = int(round(np.sqrt(pixels.size)))
            if side * side != pixels.size or side == 0:
                raise EmocamError(f"{csv_file}:{n}: {pixels.size} pixels is not a square image")
            if iu is not None:
                usage = row[iu].strip().lower() if iu < len(row) else ""
                if usage not in FER_USAGE:
                    raise EmocamError(f"{csv_file}:{n}: Usage {usage!r} is not Training, PublicTest or PrivateTest")
                splits.append(FER_USAGE[usage])
            grays.append(pixels.reshape(side, side))
            labels.append(EMOTIONS.index(FER_ORDER[label]))
    if not labels:
        raise EmocamError(f"{csv_file}: no rows")

    def read(gray: np.ndarray, size: int) -> np.ndarray:
        return resize_square(np.repeat(gray[:, :, None], 3, axis=2), size)

    split = np.array(splits, np.int8) if iu is not None else None
    return EmotionSet("FER2013", str(csv_file), grays, np.array(labels, np.int64), read, split)


# --- folder per class -------------------------------------------------------------------------


def _class_dirs(root: Path, skipped: set[str]) -> list[tuple[Path, int]]:
    """(folder, canonical index) for every class folder in root; unknown names are an error."""
    out: list[tuple[Path, int]] = []
    unknown: list[str] = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        label = canonical_label(d.name)
        if label is not None:
            out.append((d, EMOTIONS.index(label)))
        elif d.name.strip().lower() in UNSUPPORTED:
            skipped.add(d.name)
        else:
            unknown.append(d.name)
    if unknown:
        raise EmocamError(f"{root}: class folder(s) {', '.join(unknown)} match none of {', '.join(EMOTIONS)}")
    return out


def load_folder(path: Path) -> EmotionSet:
    """Index a folder per class (<class>/*.png), or <split>/<class>/ with train/val/test split folders."""
    if not path.is_dir():
        raise EmocamError(f"dataset folder {path} does not exist")
    subdirs = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    split_dirs = [(p, SPLIT_DIRS[p.name.lower()]) for p in subdirs if p.name.lower() in SPLIT_DIRS]
    roots = split_dirs if split_dirs else [(path, -1)]
    if split_dirs and len(split_dirs) != len(subdirs):
        other = sorted(p.name for p in subdirs if p.name.lower() not in SPLIT_DIRS)
        raise EmocamError(f"{path}: mixes split folders with other folders ({', '.join(other)})")
    items: list[str] = []
    labels: list[int] = []
    splits: list[int] = []
    skipped: set[str] = set()
    for root, split in roots:
        for d, label in _class_dirs(root, skipped):
            files = sorted(p for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            items += [str(p) for p in files]
            labels += [label] * len(files)
            splits += [split] * len(files)
    notes = []
    if skipped:
        notes.append(f"skipped class folder(s) {', '.join(sorted(skipped))}: not one of {', '.join(EMOTIONS)}")
        warn(notes[-1])
    if not items:
        raise EmocamError(f"{path}: no images in class folders named after {', '.join(EMOTIONS)}")
    split_arr = np.array(splits, np.int8) if split_dirs else None
    def read(p: str, size: int) -> np.ndarray:
        return resize_square(read_image(p), size)

    return EmotionSet("folder", str(path), items, np.array(labels, np.int64), read, split_arr, notes)


# --- format detection and splits --------------------------------------------------------------


def detect_format(path: Path) -> str:
    """Guess the format: *.csv -> fer2013, *.lst -> expw, a folder holding either, else folder."""
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return "fer2013"
        if path.suffix.lower() == ".lst":
            return "expw"
        raise EmocamError(f"{path}: unknown dataset file (expected fer2013 .csv or ExpW label.lst)")
    if not path.is_dir():
        raise EmocamError(f"dataset {path} does not exist")
    if (path / "fer2013.csv").is_file():
        return "fer2013"
    if (path / "label.lst").is_file() or (path / "label" / "label.lst").is_file():
        return "expw"
    return "folder"


def load_dataset(path: str | Path, fmt: str | None = None, images: str | Path | None = None,
                 margin: float = CROP_MARGIN) -> EmotionSet:
    """Index a dataset in any supported format (auto-detected when fmt is None)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise EmocamError(f"dataset {p} does not exist")
    fmt = (fmt or detect_format(p)).lower()
    if fmt == "expw":
        if p.is_dir() and not (p / "label.lst").is_file() and (p / "label" / "label.lst").is_file():
            p = p / "label" / "label.lst"
        return load_expw(p, Path(images) if images else None, margin)
    if images:
        raise EmocamError("--images is only for the ExpW format")
    if fmt == "fer2013":
        return load_fer2013(p)
    if fmt == "folder":
        return load_folder(p)
    raise EmocamError(f"unknown dataset format {fmt!r}; use one of {', '.join(FORMATS)}")


def limit_per_class(data: EmotionSet, limit: int, seed: int) -> EmotionSet:
    """At most `limit` faces per class, chosen at random (seeded); order kept."""
    rng = np.random.default_rng(seed)
    keep: list[np.ndarray] = []
    for c in range(len(EMOTIONS)):
        idx = np.flatnonzero(data.labels == c)
        if len(idx) > limit:
            idx = np.sort(rng.choice(idx, limit, replace=False))
        keep.append(idx)
    return data.subset(np.sort(np.concatenate(keep)))


def stratified_split(labels: np.ndarray, seed: int,
                     fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> np.ndarray:
    """TRAIN/VAL/TEST per sample: each class shuffled (seeded) and cut by the fractions."""
    rng = np.random.default_rng(seed)
    split = np.empty(len(labels), np.int8)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_train = int(round(len(idx) * fractions[0]))
        n_val = int(round(len(idx) * fractions[1]))
        split[idx[:n_train]] = TRAIN
        split[idx[n_train:n_train + n_val]] = VAL
        split[idx[n_train + n_val:]] = TEST
    return split


def assign_split(data: EmotionSet, seed: int) -> np.ndarray:
    """The dataset's own split when it has one (missing val/test parts are cut from train 70:20:10),
    else a seeded, stratified 70/20/10 split."""
    if data.split is None:
        return stratified_split(data.labels, seed)
    split = data.split.copy()
    missing = [s for s in (VAL, TEST) if not np.any(split == s)]
    if missing:
        train = np.flatnonzero(split == TRAIN)
        fr = [SPLIT_FRACTIONS[TRAIN]] + [SPLIT_FRACTIONS[s] if s in missing else 0.0 for s in (VAL, TEST)]
        part = stratified_split(data.labels[train], seed, tuple(f / sum(fr) for f in fr))
        for s in missing:
            split[train[part == s]] = s
    return split
