"""Finding and loading packs: by name under the models folders' `packs/`, or by path; each kind parses its own."""
from __future__ import annotations

import json
from pathlib import Path

from emocam.errors import EmocamError
from emocam.modelstore.manifest import model_dirs
from emocam.packs import multistyle, per_emotion, pictures  # noqa: F401 (each registers its kind)
from emocam.packs.base import StylePack, kind_of


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
    name = raw.get("name", folder.name)
    if not isinstance(name, str) or not isinstance(raw.get("description", ""), str):
        raise EmocamError(f"{where}: `name` and `description` must be strings")
    return kind_of(raw.get("kind"), where).parse(raw, folder, where)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")
