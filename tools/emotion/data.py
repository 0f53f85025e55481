"""A labelled face set for the emotion CNN, in the canonical order `emocam.labels.EMOTIONS`, and its splits.

A set is indexed cheaply (no pixels decoded; the readers are in `tools.emotion.formats`); `load_images`
decodes RGB face crops resized to a square size, the preprocessing the app applies before its emotion model.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from emocam.labels import EMOTIONS  # ExpW and FER2013 number their expressions in this same order

FORMATS = ("expw", "fer2013", "folder")
SPLITS = ("train", "val", "test")
TRAIN, VAL, TEST = 0, 1, 2
# 70/20/10 as in the seed (section 4.3).
SPLIT_FRACTIONS = (0.7, 0.2, 0.1)
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
