"""What a batch renders: inputs from files, folders, globs and list files, and each one's output name."""
from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path
from typing import Sequence

from emocam.errors import EmocamError

# what a folder scan picks up (anything else in the folder is left alone)
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
                  ".wmv", ".flv", ".3gp"}
LIST_SUFFIXES = {".txt", ".list", ".lst"}
OUTPUT_TAG = ".emocam"  # outputs are NAME.emocam.mp4; a folder scan skips them (no restyling of results)


def is_glob(spec: str) -> bool:
    return any(c in spec for c in "*?[") and not os.path.exists(spec)


def is_list_file(spec: str) -> bool:
    return Path(spec).suffix.lower() in LIST_SUFFIXES and os.path.isfile(spec)


def is_video_folder(spec: str) -> bool:
    """A folder with videos in it (a folder of images stays a single image-folder render)."""
    return os.path.isdir(spec) and bool(folder_videos(Path(spec)))


def wants_batch(specs: Sequence[str]) -> bool:
    """Several inputs, or one that names several files (a glob, a list file, a folder of videos)."""
    return len(specs) > 1 or any(is_glob(s) or is_list_file(s) or is_video_folder(s) for s in specs)


def folder_videos(folder: Path) -> list[Path]:
    """Visible regular files with a video suffix, sorted by name; emocam's own outputs are skipped."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise EmocamError(f"cannot read folder {folder}: {exc.strerror}") from None
    return [folder / name for name in names
            if not name.startswith(".") and Path(name).suffix.lower() in VIDEO_SUFFIXES
            and OUTPUT_TAG not in Path(name).stem and os.path.isfile(folder / name)]


def _list_file(path: Path) -> list[Path]:
    """One path per line; blank lines and lines starting with # are skipped; relative to the list's folder."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EmocamError(f"cannot read the list {path}: {getattr(exc, 'strerror', None) or exc}") from None
    paths = [Path(line.strip()).expanduser() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [p if p.is_absolute() else path.parent / p for p in paths]


def expand(specs: Sequence[str]) -> list[Path]:
    """Every input file, in the order given, each once. A path that does not exist is kept: it is
    reported as failed with the rest of the batch, which goes on."""
    found: list[Path] = []
    for spec in specs:
        if is_glob(spec):
            matches = sorted(glob.glob(os.path.expanduser(spec), recursive=True))
            if not matches:
                raise EmocamError(f"no files match {spec}")
            for match in map(Path, matches):  # emocam's own outputs are skipped here too
                found += folder_videos(match) if match.is_dir() else [match] if OUTPUT_TAG not in match.stem else []
        elif is_list_file(spec):
            found += _list_file(Path(spec))
        elif os.path.isdir(spec):
            videos = folder_videos(Path(spec))
            if not videos:
                raise EmocamError(f"folder {spec} holds no videos ({', '.join(sorted(VIDEO_SUFFIXES))})")
            found += videos
        else:
            found.append(Path(spec))
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


def output_names(inputs: Sequence[Path]) -> dict[Path, str]:
    """`NAME.emocam.mp4` per input; inputs that share a name (a/x.mp4, b/x.mp4) get a short tag from their
    full path, so every name is stable from run to run (the journal finds its outputs again)."""
    stems: dict[str, int] = {}
    for path in inputs:
        stems[path.stem.lower()] = stems.get(path.stem.lower(), 0) + 1
    names = {}
    for path in inputs:
        tag = ""
        if stems[path.stem.lower()] > 1:
            tag = "." + hashlib.sha1(os.path.realpath(path).encode()).hexdigest()[:8]
        names[path] = f"{path.stem}{tag}{OUTPUT_TAG}.mp4"
    return names
