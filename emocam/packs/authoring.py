"""Making and editing pictures packs on disk (`emocam pack new/set`, the live style editor).

Every picture is read and its style vector computed before anything is written, so a bad picture leaves
the pack as it was. Pictures are copied into the pack's `pictures/` folder under a name that carries their
sha256 (the pack keeps working when the originals move), and pack.json is replaced atomically.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.modelstore.manifest import sha256_file
from emocam.packs.pictures import (ENCODER, KIND, Blend, fallback_source, parse_blend, refresh_loaded,
                                          write_json_atomic)
from emocam.packs.registry import load_pack

PICTURES_FOLDER = "pictures"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def parse_picture_option(text: str, emotion: str) -> Blend:
    """`a.jpg` or `a.jpg:0.7,b.jpg:0.3` (a blend with weights) as pictures with weights summing to 1.

    A whole argument that names an existing file is taken as one picture, even with ':' or ',' in its name."""
    if Path(text).is_file():
        return [(Path(text), 1.0)]
    spec: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        path, sep, weight = item.rpartition(":")
        if not sep or not _is_number(weight):
            path, weight = item, "1"
        if not path:
            raise EmocamError(f"--{emotion} {text!r}: give PICTURE or PICTURE:WEIGHT,PICTURE:WEIGHT")
        spec[path] = spec.get(path, 0.0) + float(weight)
    return parse_blend(spec, emotion, f"--{emotion}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _vectors_for(choices: dict[str, Blend]) -> None:
    """Read every picture and compute its style vector now: a bad picture fails before anything is written."""
    with tempfile.TemporaryDirectory(prefix="emocam-pictures-") as scratch:
        ENCODER.vectors(Path(scratch), [p for blend in choices.values() for p, _ in blend])


def _copy_in(folder: Path, picture: Path) -> str:
    """Copy `picture` into the pack (once per content) and return its name relative to the pack."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", picture.stem)[:40] or "picture"
    name = f"{PICTURES_FOLDER}/{stem}-{sha256_file(picture)[:12]}{picture.suffix.lower()}"
    target = folder / name
    if not target.is_file():
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(picture, target)
    return name


def _entry(folder: Path, blend: Blend):
    names = [(_copy_in(folder, p), round(w, 6)) for p, w in blend]
    return names[0][0] if len(names) == 1 else {n: w for n, w in names}


def _raw(name: str, pictures: dict) -> dict:
    listed = {e: pictures[e] for e in EMOTIONS if e in pictures}
    return {"name": name, "kind": KIND,
            "description": "Pictures as styles (Magenta arbitrary stylization); emocam pack new/set made it.",
            "pictures": listed, "unlisted": fallback_source(set(listed))}


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise EmocamError(f"pack name {name!r}: use letters, digits, '.', '_' or '-' (up to 64, not starting with '.')")
    return name


def new_pack(folder: Path, name: str, choices: dict[str, Blend]) -> Path:
    """Make a pictures pack in `folder` (which must not exist, or be empty); returns the folder."""
    check_name(name)
    if not choices:
        raise EmocamError("give a picture for at least one emotion (e.g. --happy painting.jpg)")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise EmocamError(f"{folder} already exists and is not an empty folder; nothing was changed")
    _vectors_for(choices)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
        scratch.chmod(0o755)
    except OSError as exc:
        raise EmocamError(f"cannot write a pack in {folder.parent}: {exc.strerror}") from None
    try:
        write_json_atomic(scratch / "pack.json", _raw(name, {e: _entry(scratch, b) for e, b in choices.items()}))
        load_pack(scratch)  # fills the vector cache from the copies, and proves the pack loads
        if folder.is_dir():
            folder.rmdir()  # empty (checked above); a race that filled it meanwhile fails here, harmlessly
        scratch.rename(folder)
    except OSError as exc:
        raise EmocamError(f"cannot write the pack {folder}: {exc.strerror}") from None
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return folder


def set_pictures(spec: str | Path, choices: dict[str, Blend]) -> dict:
    """Give emotions of an existing pictures pack (name or folder) new pictures; returns the new pack.json data."""
    pack = load_pack(spec)
    folder = pack.folder
    where = folder / "pack.json"
    if pack.kind != KIND:
        raise EmocamError(f"{where} is a {pack.kind} pack; only a pictures pack takes pictures")
    if not choices:
        raise EmocamError("give a picture for at least one emotion (e.g. --happy painting.jpg)")
    _vectors_for(choices)
    pictures = dict(pack.raw["pictures"])
    try:
        pictures.update({e: _entry(folder, b) for e, b in choices.items()})
    except OSError as exc:
        raise EmocamError(f"cannot copy pictures into {folder}: {exc.strerror}") from None
    raw = {**pack.raw, **_raw(pack.raw.get("name", folder.name), pictures)}
    raw["description"] = pack.raw.get("description", raw["description"])
    write_json_atomic(where, raw)
    refresh_loaded(folder, raw)  # a pipeline running this pack shows the change on its next frame
    return raw
