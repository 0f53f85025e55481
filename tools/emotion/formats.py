"""The data set formats the emotion tools read: ExpW, FER2013 and a folder per class, onto one `EmotionSet`."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from emocam.errors import EmocamError
from emocam.pipeline.faces import square_crop  # the app's own face crop: square, margin, edge padding, resize
from emocam.io.sources import read_image
from tools.emotion.data import (CROP_MARGIN, EMOTIONS, FER_USAGE, FORMATS, IMAGE_SUFFIXES, SPLIT_DIRS, UNSUPPORTED,
                                EmotionSet, canonical_label, resize_square, warn)


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
            if not 0 <= label < len(EMOTIONS):
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
            labels.append(label)
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
            if not 0 <= label < len(EMOTIONS):
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
            labels.append(label)
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
