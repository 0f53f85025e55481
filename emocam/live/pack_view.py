"""What the style editor shows of a pack: each emotion's style (with the user's choices) and thumbnails."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emocam.errors import EmocamError
from emocam.packs.base import KINDS, EditorView, StylePack
from emocam.packs.registry import load_pack


@dataclass
class PackInfo:
    """A pack and what the editor shows of it; what that is, its kind says (PackKind.editor_view)."""

    pack: StylePack
    view: EditorView


def list_packs() -> list[str]:
    from emocam.packs.registry import list_packs as packs

    try:
        return packs()
    except EmocamError:
        return []


def pack_info(name: str, overrides: dict[str, int]) -> PackInfo:
    """Pack `name` as the editor shows it: `overrides` (emotion -> style index) over the pack's own styles."""
    pack = load_pack(name)
    return PackInfo(pack, KINDS[pack.kind].editor_view(pack, overrides))


def thumbnail_jobs(info: PackInfo) -> list[tuple[object, StylePack, np.ndarray]]:
    """(key, pack variant, emotion weights) for one thumbnail each, as the pack's kind lays them out."""
    return KINDS[info.pack.kind].thumbnail_jobs(info.pack)


def picture_thumbnail(path: Path, side: int) -> np.ndarray | None:
    """A small RGB thumbnail of a style picture (decoded at 1/4 size: fast on the GUI thread), or None."""
    import cv2

    try:
        data = np.fromfile(str(path), dtype=np.uint8)
        bgr = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_4) if data.size else None
    except (OSError, cv2.error):
        return None
    if bgr is None:
        return None
    h, w = bgr.shape[:2]
    s = min(h, w)
    crop = bgr[(h - s) // 2:(h + s) // 2, (w - s) // 2:(w + s) // 2]
    return cv2.cvtColor(cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
